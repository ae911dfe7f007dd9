/* The output queue: queueing and coalescing each session's output.
 *
 * Messages bound for one session during a loop turn are appended to its `out` buffer as
 * PresenceBatch elements; at the end of the turn (a uv_check handle) each buffer is sealed by
 * the session's channel into as few encrypted frames as fit, one write each. A broadcast encodes
 * its message once and appends the same bytes to every recipient: only the encryption is per
 * connection. */
#include "server.h"
#include "mim_error.h"
#include "mim_log.h"

#include <assert.h>
#include <string.h>

/* Does nothing: an active idle handle only makes the loop poll without blocking, so the check
 * handle that follows the poll flushes output queued from close callbacks at once. */
static void on_flush_wake(uv_idle_t *h)
{
    (void)h;
}

static void flush_list_add(session *s)
{
    presence_server *srv = s->srv;
    if (s->flush_queued)
        return;
    if (srv->flush_head == NULL)
        uv_idle_start(&srv->flush_wake, on_flush_wake);
    s->flush_queued = 1;
    s->flush_prev = NULL;
    s->flush_next = srv->flush_head;
    if (srv->flush_head != NULL)
        srv->flush_head->flush_prev = s;
    srv->flush_head = s;
}

void out_queue_forget(session *s)
{
    if (!s->flush_queued)
        return;
    if (s->flush_prev != NULL)
        s->flush_prev->flush_next = s->flush_next;
    else
        s->srv->flush_head = s->flush_next;
    if (s->flush_next != NULL)
        s->flush_next->flush_prev = s->flush_prev;
    s->flush_prev = s->flush_next = NULL;
    s->flush_queued = 0;
}

int out_queue_flush(session *s, int final)
{
    int rc;

    out_queue_forget(s);
    if (s->ch == NULL || s->out.len == 0) {
        out_arena_drop(&s->srv->out, &s->out);
        return 0;
    }
    /* The channel seals it; any failure past its checks (a slow reader, no memory) closes the
     * channel with its own reason. */
    rc = mim_channel_send(s->ch, s->out.data, s->out.len, final);
    /* Dropped, not kept for the next turn: most peers are idle most of the time. */
    out_arena_drop(&s->srv->out, &s->out);
    if (rc == MIM_ESTATE || rc == MIM_EINVAL) {
        /* A bug (queue_element checks both), but never a silent one. */
        mim_log_error("conn %llu: cannot send %s", (unsigned long long)mim_channel_id(s->ch),
                      mim_strerror(rc));
        mim_channel_abort(s->ch, "internal error: unsendable output");
    }
    return rc;
}

int out_queue_room(session *s, size_t len)
{
    int rc;

    if (s->ch == NULL || !mim_channel_can_send(s->ch))
        return MIM_ECLOSED;
    if (len > PRESENCE_MAX_PLAINTEXT) {
        /* A bug (callers size their messages to fit), but never a silent one. */
        mim_log_error("conn %llu: message of %zu bytes cannot fit a frame",
                      (unsigned long long)mim_channel_id(s->ch), len);
        mim_channel_abort(s->ch, "internal error: oversized message");
        return MIM_EOVERFLOW;
    }
    if (s->out.len + len > PRESENCE_MAX_PLAINTEXT) {
        if ((rc = out_queue_flush(s, 0)) != 0)
            return rc;
    }
    if ((rc = out_arena_reserve(&s->srv->out, &s->out, len)) != 0) {
        mim_channel_abort(s->ch, "out of memory queueing output");
        return rc;
    }
    flush_list_add(s);
    return 0;
}

/* Appends an encoded element to s's batch, sealing the batch first when it would outgrow one
 * frame. */
static int queue_element(session *s, const uint8_t *el, size_t len)
{
    int rc = out_queue_room(s, len);
    if (rc != 0)
        return rc;
    /* out_queue_room made the room (and len fits a frame). */
    assert(s->out.len + len <= s->out.cap);
    memcpy(s->out.data + s->out.len, el, len);
    s->out.len += (uint32_t)len;
    return 0;
}

int out_queue_send(session *s, const Mim__PresenceMsg *m)
{
    mim_buf el = {0};
    int rc = mim_presence_batch_append(&el, m);
    if (rc == 0)
        rc = queue_element(s, el.data, el.len);
    mim_buf_free(&el);
    return rc;
}

void out_queue_broadcast(presence_server *srv, const Mim__PresenceMsg *m, const session *except)
{
    mim_buf el = {0};

    if (mim_presence_batch_append(&el, m) != 0) {
        mim_log_error("broadcast: out of memory encoding a message");
        return;
    }
    for (online_entry *e = online_table_first(&srv->table); e != NULL; e = online_table_next(e)) {
        session *s = e->session;
        if (s != except)
            (void)queue_element(s, el.data, el.len); /* a failure closes only that session */
    }
    mim_buf_free(&el);
}

void out_queue_flush_all(presence_server *srv)
{
    size_t left;

    while (srv->flush_head != NULL)
        (void)out_queue_flush(srv->flush_head, 0);
    uv_idle_stop(&srv->flush_wake);
    /* Every batch is out: the turn's output memory goes back at once. */
    if ((left = out_arena_reset(&srv->out)) != 0)
        mim_log_error("internal error: %zu batches left after the flush", left);
}
