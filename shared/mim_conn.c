/* A framed libuv TCP connection (see mim_conn.h for the contract). */
#include "mim_conn.h"
#include "mim_error.h"
#include "mim_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One outgoing frame: the write request and the bytes it sends live in one allocation, freed
 * by after_write whatever the status. */
typedef struct conn_write {
    uv_write_t req;
    size_t len;      /* header + payload */
    uint8_t bytes[]; /* 2-byte header, then the payload */
} conn_write;

/* All reads on this process's single loop thread land here: libuv calls alloc_cb and then
 * read_cb for one stream before moving on, and the framer copies out whatever it must keep. */
static uint8_t shared_read_buf[65536];
static uint64_t next_conn_id = 1;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_closed(uv_handle_t *h);
static void after_write(uv_write_t *req, int status);
static void after_connect(uv_connect_t *req, int status);
static void conn_stop_reading(mim_conn *c);
static void drain_maybe_close(mim_conn *c);

/* Copies the address into the compact form (a sockaddr_in or sockaddr_in6). */
static void addr_keep(mim_conn_addr *out, const struct sockaddr *sa)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET6)
        memcpy(&out->in6, sa, sizeof(out->in6));
    else if (sa->sa_family == AF_INET)
        memcpy(&out->in4, sa, sizeof(out->in4));
    else
        out->sa.sa_family = sa->sa_family; /* never for TCP; formats as unknown */
}

/* Records why the connection ends, once: an exact-size copy, made only now. Without memory
 * for it, on_close reports a generic reason. */
static void conn_set_reason(mim_conn *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void conn_set_reason(mim_conn *c, const char *fmt, va_list ap)
{
    char buf[160];

    if (c->reason != NULL)
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    c->reason = strdup(buf);
}

/* The owner's extra bytes start here, MIM_CONN_EXTRA_ALIGN-aligned. */
#define CONN_EXTRA_OFFSET                                                                          \
    ((sizeof(mim_conn) + MIM_CONN_EXTRA_ALIGN - 1) / MIM_CONN_EXTRA_ALIGN * MIM_CONN_EXTRA_ALIGN)
static_assert(_Alignof(mim_conn) <= MIM_CONN_EXTRA_ALIGN, "a conn's alignment");

static mim_conn *conn_new(uv_loop_t *loop, size_t max_frame, size_t max_queued, size_t extra)
{
    mim_conn *c;

    if (extra > SIZE_MAX - CONN_EXTRA_OFFSET)
        return NULL;
    if ((c = calloc(1, CONN_EXTRA_OFFSET + extra)) == NULL)
        return NULL;
    if (uv_tcp_init(loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->id = next_conn_id++;
    c->max_queued = max_queued;
    mim_framer_init(&c->framer, max_frame);
    return c;
}

static int conn_start(mim_conn *c)
{
    int rc;
    uv_tcp_nodelay(&c->tcp, 1); /* frames are small and latency matters more than packets */
    if ((rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) != 0)
        return rc;
    c->reading = 1;
    return 0;
}

static void on_rejected_closed(uv_handle_t *h)
{
    free(h);
}

void mim_conn_reject(uv_stream_t *server)
{
    uv_tcp_t *t = malloc(sizeof(*t));

    if (t == NULL) {
        mim_log_error("accept: out of memory even to refuse a connection");
        return;
    }
    uv_tcp_init(server->loop, t);
    if (uv_accept(server, (uv_stream_t *)t) != 0)
        mim_log_warn("accept failed while refusing a connection");
    uv_close((uv_handle_t *)t, on_rejected_closed);
}

void *mim_conn_extra(mim_conn *c)
{
    return (char *)c + CONN_EXTRA_OFFSET;
}

int mim_conn_accept(uv_stream_t *server, const mim_conn_callbacks *cb, void *data, size_t max_frame,
                    size_t max_queued, size_t extra, mim_conn **out)
{
    mim_conn *c = conn_new(server->loop, max_frame, max_queued, extra);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc;

    *out = NULL;
    if (c == NULL) {
        mim_conn_reject(server);
        return MIM_ENOMEM;
    }
    if ((rc = uv_accept(server, (uv_stream_t *)&c->tcp)) != 0 ||
        (rc = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) != 0 ||
        (rc = conn_start(c)) != 0) {
        /* The owner never saw this conn: close it without callbacks. */
        mim_log_warn("accept failed: %s", uv_strerror(rc));
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return MIM_EIO;
    }
    addr_keep(&c->remote, (struct sockaddr *)&ss);
    c->cb = cb;
    c->data = data;
    *out = c;
    return 0;
}

int mim_conn_connect(uv_loop_t *loop, const struct sockaddr *addr, const mim_conn_callbacks *cb,
                     void *data, size_t max_frame, size_t max_queued, size_t extra, mim_conn **out)
{
    mim_conn *c = conn_new(loop, max_frame, max_queued, extra);
    uv_connect_t *req;
    int rc;

    *out = NULL;
    if (c == NULL)
        return MIM_ENOMEM;
    if ((req = malloc(sizeof(*req))) == NULL) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return MIM_ENOMEM;
    }
    addr_keep(&c->remote, addr);
    if ((rc = uv_tcp_connect(req, &c->tcp, addr, after_connect)) != 0) {
        char str[MIM_ADDR_STRLEN];
        mim_addr_format(addr, str);
        mim_log_warn("connect to %s failed: %s", str, uv_strerror(rc));
        free(req);
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return MIM_EIO;
    }
    c->cb = cb;
    c->data = data;
    *out = c;
    return 0;
}

static void after_connect(uv_connect_t *req, int status)
{
    mim_conn *c = req->handle->data;
    int rc;

    free(req); /* only the handle was needed from it */
    if (status == UV_ECANCELED || c->closing)
        return; /* closed while connecting: on_close reports it */
    if (status == 0 && (rc = conn_start(c)) != 0)
        status = rc;
    if (c->cb->on_connect != NULL)
        c->cb->on_connect(c, status);
    if (status != 0)
        mim_conn_close(c, "connect failed: %s", uv_strerror(status));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)shared_read_buf;
    buf->len = sizeof(shared_read_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mim_conn *c = s->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left;

    if (c->closing)
        return;
    if (c->draining) { /* input is discarded; only the peer's end matters now */
        if (nread < 0) {
            c->peer_done = 1;
            conn_stop_reading(c);
            drain_maybe_close(c);
        }
        return;
    }
    if (nread == UV_EOF) {
        if (!mim_framer_idle(&c->framer))
            mim_conn_close(c, "connection ended inside a frame");
        else if (c->cb->on_eof != NULL)
            c->cb->on_eof(c);
        else
            mim_conn_close(c, "connection closed by peer");
        return;
    }
    if (nread < 0) {
        mim_conn_close(c, "read failed: %s", uv_strerror((int)nread));
        return;
    }

    left = (size_t)nread;
    while (left > 0 && !c->closing && !c->draining) {
        const uint8_t *frame;
        size_t used, flen;
        int rc = mim_framer_feed(&c->framer, p, left, &used, &frame, &flen);
        if (rc < 0) {
            char sample[64];
            mim_log_sample(sample, sizeof(sample), p, left);
            mim_conn_close(c, "%s (input %s)", mim_strerror(rc), sample);
            return;
        }
        p += used;
        left -= used;
        if (rc == MIM_FRAMER_FRAME) {
            c->partial_since = 0;
            c->cb->on_frame(c, frame, flen);
        }
    }
    if (c->closing || c->draining)
        return;
    if (mim_framer_idle(&c->framer)) {
        /* Nothing is promised to anyone any more: an idle connection keeps no buffer. */
        mim_framer_release(&c->framer);
    } else if (c->partial_since == 0) {
        c->partial_since = uv_now(s->loop);
        if (c->cb->on_partial != NULL)
            c->cb->on_partial(c);
    }
}

static void on_closed(uv_handle_t *h)
{
    mim_conn *c = h->data;
    if (c->cb != NULL && c->cb->on_close != NULL)
        c->cb->on_close(c, c->reason != NULL ? c->reason : "closed");
    mim_framer_free(&c->framer);
    free(c->reason);
    free(c);
}

static void conn_stop_reading(mim_conn *c)
{
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

void mim_conn_close(mim_conn *c, const char *fmt, ...)
{
    va_list ap;

    if (c->closing)
        return;
    c->closing = 1;
    va_start(ap, fmt);
    conn_set_reason(c, fmt, ap); /* a no-op after a drain: it already recorded why */
    va_end(ap);
    conn_stop_reading(c);
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Lingering close. Closing a socket with unread input makes the kernel answer with a reset and
 * drop what we still had queued -- the very Error frame a drain exists to deliver. So a draining
 * connection keeps reading (and discarding) until the peer's EOF, and closes once both its own
 * shutdown has completed and the peer is done. The owner's deadline bounds the wait. */
static void drain_maybe_close(mim_conn *c)
{
    if (c->shutdown_done && (c->peer_done || !c->reading))
        mim_conn_close(c, "drained");
}

static void after_shutdown(uv_shutdown_t *req, int status)
{
    mim_conn *c = req->handle->data;

    free(req);
    if (c->closing)
        return;
    c->shutdown_done = 1;
    if (status < 0)
        mim_conn_close(c, "drained");
    else
        drain_maybe_close(c);
}

void mim_conn_drain(mim_conn *c, const char *fmt, ...)
{
    uv_shutdown_t *req;
    va_list ap;

    if (c->closing || c->draining)
        return;
    va_start(ap, fmt);
    conn_set_reason(c, fmt, ap);
    va_end(ap);
    c->draining = 1;
    c->drain_since = uv_now(c->tcp.loop);
    if ((req = malloc(sizeof(*req))) == NULL) {
        mim_conn_close(c, "drained");
        return;
    }
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, after_shutdown) != 0) {
        free(req);
        mim_conn_close(c, "drained");
    }
}

uint8_t *mim_conn_frame_new(size_t len)
{
    conn_write *w;
    if (len == 0 || len > MIM_FRAME_MAX)
        return NULL;
    w = malloc(sizeof(*w) + MIM_FRAME_HEADER_LEN + len);
    if (w == NULL)
        return NULL;
    w->len = MIM_FRAME_HEADER_LEN + len;
    mim_frame_header(w->bytes, len);
    return w->bytes + MIM_FRAME_HEADER_LEN;
}

static conn_write *write_of(uint8_t *payload)
{
    return (conn_write *)(void *)(payload - MIM_FRAME_HEADER_LEN - offsetof(conn_write, bytes));
}

void mim_conn_frame_discard(uint8_t *payload)
{
    if (payload != NULL)
        free(write_of(payload));
}

int mim_conn_frame_send(mim_conn *c, uint8_t *payload)
{
    conn_write *w = write_of(payload);
    uv_buf_t b;
    int rc;

    if (c->closing || c->draining) {
        free(w);
        return MIM_ECLOSED;
    }
    if (mim_conn_queued(c) + w->len > c->max_queued) {
        free(w);
        return MIM_EOVERFLOW;
    }
    b = uv_buf_init((char *)w->bytes, (unsigned int)w->len);
    /* Written at once when the socket has room (an idle peer's always has): the frame is freed
     * here rather than a loop turn later, so a broadcast to thousands reuses one block instead
     * of holding one per recipient -- less work, and no heap grown and left full of holes.
     * (uv_try_write refuses while anything is queued, which keeps the frames in order.) */
    rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (rc == (int)w->len) {
        free(w);
        return 0;
    }
    if (rc < 0 && rc != UV_EAGAIN) {
        free(w);
        mim_conn_close(c, "write failed: %s", uv_strerror(rc));
        return MIM_EIO;
    }
    if (rc > 0)
        b = uv_buf_init(b.base + rc, b.len - (unsigned int)rc);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, after_write) != 0) {
        free(w);
        return MIM_EIO;
    }
    return 0;
}

int mim_conn_send(mim_conn *c, const void *payload, size_t len)
{
    uint8_t *p = mim_conn_frame_new(len);
    if (p == NULL)
        return len == 0 || len > MIM_FRAME_MAX ? MIM_EINVAL : MIM_ENOMEM;
    memcpy(p, payload, len);
    return mim_conn_frame_send(c, p);
}

static void after_write(uv_write_t *req, int status)
{
    conn_write *w = (conn_write *)req;
    mim_conn *c = req->handle->data;

    free(w);
    /* After a close, writes finish with UV_ECANCELED: they only free their bytes. */
    if (status < 0 && status != UV_ECANCELED && !c->closing)
        mim_conn_close(c, "write failed: %s", uv_strerror(status));
}

size_t mim_conn_queued(const mim_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

uint64_t mim_conn_partial_age(const mim_conn *c, uint64_t now)
{
    if (c->draining || c->partial_since == 0 || now < c->partial_since)
        return 0;
    return now - c->partial_since;
}
