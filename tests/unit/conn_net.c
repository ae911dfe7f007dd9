/* The mim_conn test harness (see conn_net.h). */
#include "conn_net.h"

/* ---- helpers ----------------------------------------------------------------------------- */

int send_seq(mim_conn *c, size_t len, size_t seq)
{
    uint8_t *p = malloc(len);
    int rc;
    assert_non_null(p);
    mim_test_fill(p, len, seq);
    rc = mim_conn_send(c, p, len);
    free(p);
    return rc;
}

void raw_close(net *n)
{
    if (n->raw_open)
        loopback_close((uv_handle_t *)&n->raw);
}

/* ---- mim_conn callbacks: count, record, call the test's hook ----------------------------- */

static void on_frame(mim_conn *c, const uint8_t *frame, size_t len)
{
    endpoint *e = c->data;
    size_t idx = (size_t)e->frames++;

    if (c != e->conn)
        note(e, "%s: on_frame for a conn that is not ours", e->name);
    if (idx < MAX_EXPECTED)
        e->frame_iter[idx] = e->n->lb.iter;
    if (idx >= e->nexpect)
        note(e, "%s: unexpected frame %zu (%zu bytes)", e->name, idx, len);
    else if (len != e->expect[idx])
        note(e, "%s: frame %zu is %zu bytes, want %zu", e->name, idx, len, e->expect[idx]);
    else if (!mim_test_matches(frame, len, idx))
        note(e, "%s: frame %zu (%zu bytes) has the wrong contents", e->name, idx, len);
    if (e->on_frame_hook != NULL)
        e->on_frame_hook(e, frame, len);
    if (e->close_when_done && (size_t)e->frames == e->nexpect)
        mim_conn_close(c, "got all %d frames", e->frames);
}

static void on_eof(mim_conn *c)
{
    endpoint *e = c->data;
    e->eofs++;
    if (e->on_eof_hook != NULL)
        e->on_eof_hook(e);
    else
        mim_conn_close(c, "eof seen");
}

static void on_close(mim_conn *c, const char *reason)
{
    endpoint *e = c->data;
    if (c != e->conn)
        note(e, "%s: on_close for a conn that is not ours", e->name);
    e->closes++;
    snprintf(e->reason, sizeof(e->reason), "%s", reason != NULL ? reason : "(null)");
    e->conn = NULL;
    if (e->on_close_hook != NULL)
        e->on_close_hook(e);
}

static void maybe_start(net *n)
{
    if (++n->sides_up == 2 && !n->ready) {
        n->ready = 1;
        if (n->start != NULL)
            n->start(n);
    }
}

static void on_connect(mim_conn *c, int status)
{
    endpoint *e = c->data;
    e->connects++;
    e->connect_status = status;
    if (status == 0)
        maybe_start(e->n);
}

static void on_partial(mim_conn *c)
{
    endpoint *e = c->data;
    e->partials++;
    if (c->partial_since == 0)
        note(e, "%s: on_partial with partial_since 0", e->name);
}

const mim_conn_callbacks callbacks = {on_frame, on_eof, on_close, on_connect, on_partial};
const mim_conn_callbacks callbacks_no_eof = {on_frame, NULL, on_close, on_connect, on_partial};

/* ---- the raw side ------------------------------------------------------------------------ */

void raw_send(net *n, const void *p, size_t len)
{
    loopback_write((uv_stream_t *)&n->raw, p, len, &n->raw_write_err);
}

/* Appends one frame of `len` bytes with contents for `seq` to out; returns its size. */
size_t put_frame(uint8_t *out, size_t len, size_t seq)
{
    mim_frame_header(out, len);
    mim_test_fill(out + MIM_FRAME_HEADER_LEN, len, seq);
    return MIM_FRAME_HEADER_LEN + len;
}

void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    net *n = h->data;
    (void)suggested;
    buf->base = (char *)n->raw_in + n->raw_in_len;
    buf->len = sizeof(n->raw_in) - n->raw_in_len;
}

void raw_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    net *n = s->data;
    (void)buf;
    if (nread > 0) {
        n->raw_in_len += (size_t)nread;
        if (n->raw_in_len == sizeof(n->raw_in)) {
            n->raw_read_err = UV_ENOBUFS;
            raw_close(n);
        }
    } else if (nread == UV_EOF) {
        n->raw_eof = 1;
        raw_close(n);
    } else if (nread < 0) {
        n->raw_read_err = (int)nread;
        raw_close(n);
    }
}

static void raw_up(net *n)
{
    n->raw.data = n;
    if (n->raw_read)
        assert_int_equal(uv_read_start((uv_stream_t *)&n->raw, raw_alloc, raw_on_read), 0);
    maybe_start(n);
}

static void after_raw_connect(uv_connect_t *req, int status)
{
    net *n = req->data;
    if (status != 0) {
        n->raw_write_err = status;
        raw_close(n);
        return;
    }
    raw_up(n);
}

static void after_raw_shutdown(uv_shutdown_t *req, int status)
{
    net *n = req->data;
    if (status < 0 && status != UV_ECANCELED && n->raw_write_err == 0)
        n->raw_write_err = status;
}

void raw_shutdown(net *n)
{
    n->raw_shutdown_req.data = n;
    assert_int_equal(uv_shutdown(&n->raw_shutdown_req, (uv_stream_t *)&n->raw, after_raw_shutdown),
                     0);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void on_connection(uv_stream_t *listener, int status)
{
    net *n = listener->data;
    int rc;

    if (status != 0) {
        note(&n->server, "listen callback status %s", uv_strerror(status));
        return;
    }
    if (n->raw_server) {
        assert_int_equal(uv_tcp_init(&n->lb.loop, &n->raw), 0);
        n->raw_open = 1;
        rc = uv_accept(listener, (uv_stream_t *)&n->raw);
        if (rc != 0)
            note(&n->server, "uv_accept: %s", uv_strerror(rc));
        else
            raw_up(n);
    } else {
        rc = mim_conn_accept(listener, n->server_cb, &n->server, n->server_max_frame,
                             n->server_max_queued, 0, &n->server.conn);
        if (rc != 0)
            note(&n->server, "mim_conn_accept: %d", rc);
        else
            maybe_start(n);
    }
    /* One connection per test. */
    uv_close((uv_handle_t *)listener, NULL);
}

static void on_check(loopback *lb)
{
    net *n = lb->data;
    if (n->on_check != NULL)
        n->on_check(n);
}

/* Fires only if the test hangs: closes everything so that the loop ends (the harness closes
 * the listener) and the test fails with a description of where it stood. */
static void on_guard(loopback *lb)
{
    net *n = lb->data;
    if (n->client.conn != NULL)
        mim_conn_close(n->client.conn, "test timed out");
    if (n->server.conn != NULL)
        mim_conn_close(n->server.conn, "test timed out");
    raw_close(n);
}

void net_init(net *n)
{
    memset(n, 0, sizeof(*n));
    n->client.n = n;
    n->client.name = "client";
    n->server.n = n;
    n->server.name = "server";
    n->server_cb = &callbacks;
    n->server_max_frame = MIM_FRAME_MAX;
    n->client_max_frame = MIM_FRAME_MAX;
    n->server_max_queued = 1u << 20;
    n->client_max_queued = 1u << 20;

    loopback_init(&n->lb, on_connection, n);
    n->lb.on_guard = on_guard;
    n->lb.on_check = on_check;
}

/* Dials the listener (the raw handle or a mim_conn), runs the loop until every handle the
 * test opened is closed, then closes the loop and checks that nothing went wrong inside a
 * callback. */
void net_run(net *n)
{
    int rc;

    if (n->raw_client) {
        assert_int_equal(uv_tcp_init_ex(&n->lb.loop, &n->raw, AF_INET), 0);
        n->raw_open = 1;
        if (n->raw_client_rcvbuf != 0)
            assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&n->raw, &n->raw_client_rcvbuf), 0);
        n->raw_connect.data = n;
        assert_int_equal(uv_tcp_connect(&n->raw_connect, &n->raw,
                                        (const struct sockaddr *)&n->lb.addr, after_raw_connect),
                         0);
    } else {
        rc = mim_conn_connect(&n->lb.loop, (const struct sockaddr *)&n->lb.addr, &callbacks,
                              &n->client, n->client_max_frame, n->client_max_queued, 0,
                              &n->client.conn);
        assert_int_equal(rc, 0);
        assert_non_null(n->client.conn);
    }

    rc = loopback_run(&n->lb);

    if (n->lb.timed_out)
        fail_msg("timed out after %d ms (phase %d): client frames %d eofs %d closes %d "
                 "\"%s\"; server frames %d eofs %d closes %d \"%s\"; raw in %zu eof %d",
                 LOOPBACK_GUARD_MS, n->phase, n->client.frames, n->client.eofs, n->client.closes,
                 n->client.reason, n->server.frames, n->server.eofs, n->server.closes,
                 n->server.reason, n->raw_in_len, n->raw_eof);
    EXPECT_INT(rc, 0);
    if (n->client.error[0] != '\0')
        fail_msg("%s", n->client.error);
    if (n->server.error[0] != '\0')
        fail_msg("%s", n->server.error);
    EXPECT_INT(n->ready, 1);
}

void expect_sizes(endpoint *e, const size_t *sizes, size_t count)
{
    assert_true(count <= MAX_EXPECTED);
    if (count > 0)
        memcpy(e->expect, sizes, count * sizeof(*sizes));
    e->nexpect = count;
}
