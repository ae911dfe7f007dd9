/* Sending, in the peer core: the outbox goes out in seq order on a peer's open session (up to
 * MIM_CORE_FLUSH_WINDOW in flight), the send batch stores many sends in one commit, and a peer
 * with a waiting outbox is dialled when the presence table says where it is. */
#include "core_priv.h"
#include "mim_error.h"
#include "mim_clock.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

typedef struct flush_ctx {
    mim_core *c;
    peer_rec *r;
    size_t next; /* the batch's first message to r not seen sent yet (nbatch: none) */
} flush_ctx;

/* The batch's first message to r at index i or after it; c->nbatch when there is none. */
static size_t batch_next_for(const mim_core *c, const peer_rec *r, size_t i)
{
    while (i < c->nbatch && c->batch[i].r != r)
        i++;
    return i;
}

static int flush_one(const mim_message *m, void *arg)
{
    flush_ctx *f = arg;
    mim_core *c = f->c;
    mim_msg_id id = core_msg_id(m->id);

    if (m->state != MIM_MSG_QUEUED)
        return f->r->probe; /* in flight on this session already (a probe: the one) */
    if ((m->fanout != MIM_FANOUT_NONE ? core_fanout_send_copy(c, f->r->cs, m) /* issue 16 */
         : m->content_type == MIM__CONTENT_TYPE__CONTENT_TEXT
             ? chat_session_send_chat(f->r->cs, m->id, (uint64_t)m->ts_ms, m->text, m->text_len)
             : core_transfer_send_offer(c, f->r->cs, m)) != 0)
        return 1; /* the session is closing: the rest waits */
    if (mim_store_message_set_state(c->st, m->peer, m->id, MIM_MSG_SENT) < 0)
        mim_log_warn("cannot mark a message to %s sent", m->peer);
    /* The outbox goes in seq order and the batch's messages to r are its newest, in the same
     * order: each one sent is the next one the batch expects, or an older message. */
    if (f->next < c->nbatch && memcmp(c->batch[f->next].id.bytes, m->id, MIM_MSG_ID_LEN) == 0) {
        c->batch[f->next].sent = 1;
        f->next = batch_next_for(c, f->r, f->next + 1);
    }
    if (c->ev.on_sent != NULL)
        c->ev.on_sent(c->ud, m->peer, &id);
    return f->r->probe; /* after a refusal: one message, until one is acked */
}

/* A group of state changes in one transaction: one fsync instead of one per message. Losing
 * the group is harmless (SENT is only a hint: start-up and a lost session turn it back to
 * QUEUED; a DELIVERED lost goes back to SENT and the resend is acked again), so a failed begin
 * simply leaves each change its own commit. */
int core_group_begin(mim_core *c)
{
    return mim_store_begin_relaxed(c->st) == 0;
}

int core_group_end(mim_core *c, int began)
{
    if (began && mim_store_commit(c->st) != 0) {
        mim_store_rollback(c->st);
        mim_log_warn("cannot store message states: they will be redone");
        return 0;
    }
    return 1;
}

/* `arr`, an array of *cap elements of `size` bytes, reallocated with room for more (doubling,
 * from 16; *cap updated). NULL when out of memory: arr and *cap are unchanged then. */
void *core_grow(void *arr, size_t *cap, size_t size)
{
    size_t ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(arr, ncap * size);

    if (p != NULL)
        *cap = ncap;
    return p;
}

/* Sends what waits for r (up to the window) on its open session. */
void core_flush(mim_core *c, peer_rec *r)
{
    flush_ctx f = {c, r, batch_next_for(c, r, 0)};
    int began;

    r->want_flush = 0;
    if (c->quitting || r->cs == NULL || !chat_session_is_open(r->cs) || core_is_held(c, r->name))
        return;
    if (r->refused_until != 0)
        return; /* it refused our messages (its quota): the tick tries again later */
    began = core_group_begin(c);
    if (mim_store_outbox_each(c->st, r->name, MIM_CORE_FLUSH_WINDOW, flush_one, &f) < 0)
        mim_log_warn("cannot read the outbox for %s", r->name);
    (void)core_group_end(c, began);
}

/* Dials r when it has something to send, is online with an address, and is not held. */
void core_maybe_dial(mim_core *c, peer_rec *r)
{
    if (r->refused_until == 0 && core_outbox_nonempty(c, r->name))
        core_dial(c, r);
}

void core_dial(mim_core *c, peer_rec *r)
{
    const online_entry *e;
    struct sockaddr_storage ss;
    chat_session *cs;
    int rc;

    if (c->quitting || r->cs != NULL || r->dialing != NULL)
        return;
    if ((e = core_table_find(c, r->name)) == NULL || e->port == 0 ||
        (e->addr_len != 4 && e->addr_len != 16))
        return;
    if (core_is_held(c, r->name))
        return;
    core_entry_sockaddr(e, &ss);
    rc = chat_session_dial(&c->chat_cfg, (struct sockaddr *)&ss, r->name, e->identity_pk, &cs);
    if (rc != 0) {
        mim_log_warn("cannot dial %s: %s", r->name, mim_strerror(rc));
        return;
    }
    if (core_sess_add(c, cs) == NULL) {
        chat_session_close(cs, "out of memory");
        return;
    }
    r->dialing = cs;
    mim_addr_format((const struct sockaddr *)&ss, r->dial_addr);
    mim_log_debug("dialling %s at %s", r->name, r->dial_addr);
}

void core_dial_failed(mim_core *c, peer_rec *r, const char *why)
{
    static const char prefix[] = "connect failed: ";
    char reason[sizeof(r->unreachable)];

    if (c->quitting || core_table_find(c, r->name) == NULL || !core_outbox_nonempty(c, r->name))
        return; /* gone offline, or nothing waits: not news */
    if (strncmp(why, prefix, sizeof(prefix) - 1) == 0)
        why += sizeof(prefix) - 1; /* the reason is what the user needs, not where it arose */
    snprintf(reason, sizeof(reason), "%s to %s, retrying in %d s", why, r->dial_addr,
             MIM_CORE_TICK_MS / 1000);
    if (strcmp(reason, r->unreachable) == 0)
        return; /* the same again: told already */
    snprintf(r->unreachable, sizeof(r->unreachable), "%s", reason);
    mim_log_info("cannot reach %s: %s", r->name, reason);
    if (c->ev.on_unreachable != NULL)
        c->ev.on_unreachable(c->ud, r->name, reason);
}

int core_redial_one(const char *peer, void *arg)
{
    mim_core *c = arg;
    peer_rec *r;
    if (core_table_find(c, peer) != NULL && (r = core_peer_get(c, peer)) != NULL)
        core_maybe_dial(c, r);
    return 0;
}

void mim_core_batch_begin(mim_core *c)
{
    c->batching = 1;
}

/* The batch's messages are durable: each is written to its session (on_sent) or waits for one
 * (on_queued, and a dial). Returns 0, or MIM_CORE_ESTORE when the commit failed: then none of
 * them was stored. */
static int batch_finish(mim_core *c)
{
    int rc = 0;

    c->batching = 0;
    if (c->batch_tx) {
        c->batch_tx = 0;
        if (mim_store_commit(c->st) != 0)
            rc = MIM_CORE_ESTORE;
        else
            mim_log_debug("%zu messages stored in one commit", c->nbatch);
    }
    for (size_t i = 0; i < c->nbatch && rc == 0; i++) {
        send_item *it = &c->batch[i];
        if (batch_next_for(c, it->r, 0) == i) /* the first of the batch to it->r */
            core_flush(c, it->r);
        if (!it->sent) {
            if (c->ev.on_queued != NULL)
                c->ev.on_queued(c->ud, it->r->name, &it->id);
            core_maybe_dial(c, it->r);
            if (batch_next_for(c, it->r, 0) == i)
                core_mailbox_kick(c, it->r); /* issue 14: not online: to its mailbox */
        }
    }
    return rc;
}

void mim_core_batch_end(mim_core *c)
{
    size_t n = c->nbatch;

    if (batch_finish(c) != 0) {
        mim_log_error("cannot store %zu message%s: none was sent", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            if (c->ev.on_send_failed != NULL)
                c->ev.on_send_failed(c->ud, c->batch[i].r->name, &c->batch[i].id);
        }
    }
    c->nbatch = 0;
}

/* Stores the message (its checks done) under new_id and, outside a batch, reports it; in a
 * batch the report waits for mim_core_batch_end. 0, or MIM_CORE_ESTORE. */
static int queue_message(mim_core *c, peer_rec *r, const char *text, size_t len,
                         const mim_msg_id *new_id)
{
    int alone = !c->batching;
    int rc;

    r->typing_sent_at = 0; /* the message ends our typing, there too */
    if (c->nbatch == c->cap_batch) {
        void *p = core_grow(c->batch, &c->cap_batch, sizeof(*c->batch));
        if (p == NULL)
            return MIM_CORE_ESTORE;
        c->batch = p;
    }
    /* A send on its own commits on its own (its insert is its transaction). */
    if (!alone && !c->batch_tx) {
        if (mim_store_begin(c->st) != 0)
            return MIM_CORE_ESTORE;
        c->batch_tx = 1;
    }
    if (mim_store_message_queue(c->st, r->name, new_id->bytes, mim_clock_wall_ms(),
                                MIM__CONTENT_TYPE__CONTENT_TEXT, text, len, NULL) != 0)
        return MIM_CORE_ESTORE; /* the batch's transaction is still good (a savepoint) */
    r->conv_open = 1;
    core_newcomer_shown(c, r); /* the user turned to it */
    r->first_contact = 0;
    c->batch[c->nbatch++] = (send_item){.r = r, .id = *new_id};
    if (!alone)
        return 0;
    rc = batch_finish(c);
    c->nbatch = 0;
    return rc;
}

int mim_core_send(mim_core *c, const char *to, const char *text, mim_msg_id *id)
{
    size_t len = strlen(text);
    char nfc[MIM_NAME_MAX_BYTES + 1];
    mim_msg_id new_id;
    peer_rec *r;
    int rc;

    if ((to = mim_core_typed_name(to, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (strcmp(to, c->name) == 0)
        return MIM_CORE_ESELF;
    if ((rc = core_text_check(text, len)) != 0)
        return rc;
    if (core_is_blocked(c, to))
        return MIM_CORE_EBLOCKED;
    /* Issue 14: a registered name we never met is looked up first (core_directory.c). */
    if (!core_known_peer(c, to) && !core_directory_known(c, to))
        return core_directory_send_later(c, to, text, len, id);
    if ((r = core_peer_get(c, to)) == NULL)
        return MIM_CORE_ESTORE;
    mim_random_bytes(new_id.bytes, sizeof(new_id.bytes));
    /* The id is the caller's before any event (outside a batch they come from inside). */
    if (id != NULL)
        *id = new_id;
    rc = queue_message(c, r, text, len, &new_id);
    return rc;
}

void core_send_stored(mim_core *c, const char *to, const char *text, size_t len,
                      const mim_msg_id *id)
{
    peer_rec *r = core_peer_get(c, to);

    if (r != NULL && queue_message(c, r, text, len, id) == 0)
        return;
    mim_log_error("cannot store the message to %s that waited for its lookup", to);
    if (c->ev.on_send_failed != NULL)
        c->ev.on_send_failed(c->ud, to, id);
}

/* Issue 15: a message stored outside mim_core_send (a file offer, committed already) goes out
 * like a send alone: on_sent, or on_queued and a dial. */
int core_send_committed(mim_core *c, peer_rec *r, const mim_msg_id *id)
{
    int rc;

    if (c->nbatch == c->cap_batch) {
        void *p = core_grow(c->batch, &c->cap_batch, sizeof(*c->batch));
        if (p == NULL)
            return MIM_CORE_ESTORE;
        c->batch = p;
    }
    r->conv_open = 1;
    core_newcomer_shown(c, r);
    r->first_contact = 0;
    c->batch[c->nbatch++] = (send_item){.r = r, .id = *id};
    rc = batch_finish(c);
    c->nbatch = 0;
    return rc;
}
