/* A plain libuv TCP connection for the load client (see load_tcp.h). */
#include "load_tcp.h"

#include <stdlib.h>
#include <string.h>

typedef struct tcp_write {
    uv_write_t req;
    uint8_t bytes[];
} tcp_write;

/* One loop thread: every read lands here first, then is appended to its connection. */
static uint8_t read_buf[65536];
static int closing_all;

static void on_closed(uv_handle_t *h)
{
    load_tcp *t = h->data;
    if (t->peer->state == t)
        t->peer->state = NULL;
    free(t->in);
    free(t);
}

void load_tcp_close(load_tcp *t)
{
    if (t->closing)
        return;
    t->closing = 1;
    uv_close((uv_handle_t *)&t->tcp, on_closed);
}

static void fail(load_tcp *t, const char *why)
{
    if (!closing_all)
        load_fail(t->peer->ctx, t->peer, "%s", why);
    load_tcp_close(t);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)read_buf;
    buf->len = sizeof(read_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    load_tcp *t = s->data;
    long used;

    if (t->closing || nread == 0)
        return;
    if (nread < 0) {
        fail(t, nread == UV_EOF ? "server closed the connection" : uv_strerror((int)nread));
        return;
    }
    if (t->len + (size_t)nread > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        uint8_t *in;
        while (cap < t->len + (size_t)nread)
            cap *= 2;
        if ((in = realloc(t->in, cap)) == NULL) {
            fail(t, "out of memory");
            return;
        }
        t->in = in;
        t->cap = cap;
    }
    memcpy(t->in + t->len, buf->base, (size_t)nread);
    t->len += (size_t)nread;
    used = t->ops->on_input(t, t->in, t->len);
    if (used < 0) {
        fail(t, "malformed input from the server");
        return;
    }
    if (t->closing)
        return;
    memmove(t->in, t->in + used, t->len - (size_t)used);
    t->len -= (size_t)used;
}

static void after_connect(uv_connect_t *req, int status)
{
    load_tcp *t = req->handle->data;

    if (status == UV_ECANCELED || t->closing)
        return;
    if (status != 0) {
        fail(t, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&t->tcp, 1);
    if (uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read) != 0) {
        fail(t, "cannot read");
        return;
    }
    t->ops->on_connected(t);
}

int load_tcp_open(load_peer *p, const load_tcp_ops *ops)
{
    load_tcp *t = calloc(1, sizeof(*t));
    struct sockaddr_in addr;

    if (t == NULL)
        return -1;
    t->peer = p;
    t->ops = ops;
    uv_tcp_init(p->ctx->loop, &t->tcp);
    t->tcp.data = t;
    p->state = t;
    uv_ip4_addr("127.0.0.1", p->ctx->port, &addr);
    if (uv_tcp_connect(&t->connect_req, &t->tcp, (const struct sockaddr *)&addr, after_connect) !=
        0) {
        load_tcp_close(t);
        return -1;
    }
    return 0;
}

static void after_write(uv_write_t *req, int status)
{
    load_tcp *t = req->handle->data;
    free(req);
    if (status < 0 && status != UV_ECANCELED && !t->closing)
        fail(t, uv_strerror(status));
}

int load_tcp_write(load_tcp *t, const void *data, size_t n)
{
    tcp_write *w;
    uv_buf_t b;

    if (t->closing || (w = malloc(sizeof(*w) + n)) == NULL)
        return -1;
    memcpy(w->bytes, data, n);
    b = uv_buf_init((char *)w->bytes, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&t->tcp, &b, 1, after_write) != 0) {
        free(w);
        fail(t, "write failed");
        return -1;
    }
    return 0;
}

void load_tcp_close_all(load_ctx *ctx)
{
    closing_all = 1;
    for (int i = 0; i < ctx->n; i++)
        if (ctx->peers[i].state != NULL)
            load_tcp_close(ctx->peers[i].state);
}
