/* mim_conn: a framed libuv TCP connection, tested on a real loop over 127.0.0.1.
 *
 * Each test builds a `net` on the loopback harness (loopback.h): its listener accepts one
 * connection (as a mim_conn or as a raw uv_tcp_t that a test drives byte by byte), a client
 * (likewise) dials it, and the harness's guard timer ends the test if it fires. Callbacks only
 * count and record; assertions run after the loop, once every handle is closed and uv_loop_close()
 * has returned 0. Nothing sleeps: steps that must wait for the other side are driven from callbacks
 * or from a check handle that looks at the state after each loop iteration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "loopback.h"
#include "mim_conn.h"
#include "mim_error.h"

#define MAX_EXPECTED 512

typedef struct net net;
typedef struct endpoint endpoint;

/* One mim_conn side and what happened to it. */
struct endpoint {
    net *n;
    const char *name; /* "client" / "server", for messages */
    mim_conn *conn;   /* NULL before it exists and once on_close ran */
    int connects;
    int connect_status;
    int frames;
    int eofs;
    int closes;
    int partials; /* on_partial calls */
    char reason[160];
    char error[256]; /* first thing that went wrong inside a callback */
    /* What this side expects to receive: sizes, with contents from mim_test_fill(seq = index). */
    size_t expect[MAX_EXPECTED];
    size_t nexpect;
    int close_when_done;               /* mim_conn_close once all expected frames arrived */
    uint64_t frame_iter[MAX_EXPECTED]; /* loop iteration each frame arrived in */
    void (*on_frame_hook)(endpoint *e, const uint8_t *frame, size_t len);
    void (*on_eof_hook)(endpoint *e); /* default: mim_conn_close(c, "eof seen") */
    void (*on_close_hook)(endpoint *e);
};

struct net {
    loopback lb; /* the loop, the listener, the guard; lb.iter counts loop iterations */
    endpoint client, server;
    const mim_conn_callbacks *server_cb;
    size_t server_max_frame, server_max_queued;
    size_t client_max_frame, client_max_queued;

    /* The raw side, when a test wants to write or withhold exact bytes. */
    int raw_server;        /* accept into `raw` instead of a mim_conn */
    int raw_client;        /* dial with `raw` instead of a mim_conn */
    int raw_read;          /* read on `raw`, collecting bytes into raw_in */
    int raw_client_rcvbuf; /* when not 0, the raw client's SO_RCVBUF, set before connecting */
    uv_tcp_t raw;
    int raw_open;
    uv_connect_t raw_connect;
    uv_shutdown_t raw_shutdown_req;
    uint8_t raw_in[1 << 18];
    size_t raw_in_len;
    int raw_eof;       /* 1 after EOF */
    int raw_read_err;  /* a negative UV_E* from a failed read */
    int raw_write_err; /* a negative UV_E* from a failed write */

    int ready; /* both sides connected: start() has run */
    int sides_up;
    void (*start)(net *n);
    void (*on_check)(net *n);
    int phase; /* for tests that step through stages */
    int count; /* free for tests */
};

/* ---- helpers ----------------------------------------------------------------------------- */

/* The first failure seen in a callback, kept for the assertion after the loop. */
#define note(who, ...) mim_test_note((who)->error, sizeof((who)->error), __VA_ARGS__)

static int send_seq(mim_conn *c, size_t len, size_t seq)
{
    uint8_t *p = malloc(len);
    int rc;
    assert_non_null(p);
    mim_test_fill(p, len, seq);
    rc = mim_conn_send(c, p, len);
    free(p);
    return rc;
}

static void raw_close(net *n)
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

static const mim_conn_callbacks callbacks = {on_frame, on_eof, on_close, on_connect, on_partial};
static const mim_conn_callbacks callbacks_no_eof = {on_frame, NULL, on_close, on_connect,
                                                    on_partial};

/* ---- the raw side ------------------------------------------------------------------------ */

static void raw_send(net *n, const void *p, size_t len)
{
    loopback_write((uv_stream_t *)&n->raw, p, len, &n->raw_write_err);
}

/* Appends one frame of `len` bytes with contents for `seq` to out; returns its size. */
static size_t put_frame(uint8_t *out, size_t len, size_t seq)
{
    mim_frame_header(out, len);
    mim_test_fill(out + MIM_FRAME_HEADER_LEN, len, seq);
    return MIM_FRAME_HEADER_LEN + len;
}

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    net *n = h->data;
    (void)suggested;
    buf->base = (char *)n->raw_in + n->raw_in_len;
    buf->len = sizeof(n->raw_in) - n->raw_in_len;
}

static void raw_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
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

static void raw_shutdown(net *n)
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

static void net_init(net *n)
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
static void net_run(net *n)
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

static void expect_sizes(endpoint *e, const size_t *sizes, size_t count)
{
    assert_true(count <= MAX_EXPECTED);
    if (count > 0)
        memcpy(e->expect, sizes, count * sizeof(*sizes));
    e->nexpect = count;
}

/* ---- frames arrive whole and in order ---------------------------------------------------- */

static size_t order_sizes[2 + 4 + 300 + 2];
static size_t order_count;

static void start_send_in_order(net *n)
{
    for (size_t i = 0; i < order_count; i++) {
        int rc = send_seq(n->client.conn, order_sizes[i], i);
        if (rc != 0) {
            note(&n->client, "send of frame %zu (%zu bytes): %d", i, order_sizes[i], rc);
            break;
        }
    }
}

static void test_frames_whole_and_in_order(void **state)
{
    net n;
    (void)state;

    /* The edges of one- and two-byte lengths, the largest frame, then many small ones that
     * the kernel hands over together, and big ones again. */
    static const size_t head[] = {1, 2, 255, 256, 65535, 3};
    order_count = 0;
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        order_sizes[order_count++] = head[i];
    for (size_t i = 0; i < 300; i++)
        order_sizes[order_count++] = i % 50 + 1;
    order_sizes[order_count++] = 65535;
    order_sizes[order_count++] = 1000;

    net_init(&n);
    expect_sizes(&n.server, order_sizes, order_count);
    n.server.close_when_done = 1;
    n.start = start_send_in_order;
    net_run(&n);

    EXPECT_INT(n.server.frames, order_count);
    EXPECT_INT(n.server.eofs, 0);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.server.reason, "got all 308 frames");
    EXPECT_INT(n.client.connects, 1);
    EXPECT_INT(n.client.connect_status, 0);
    EXPECT_INT(n.client.frames, 0);
    EXPECT_INT(n.client.eofs, 1); /* the server closed at a frame boundary */
    EXPECT_INT(n.client.closes, 1);
    assert_string_equal(n.client.reason, "eof seen");
    /* The 300 small frames were sent in one loop turn: the reader got many per read. */
    size_t same = 0;
    for (size_t i = 7; i < 306; i++)
        same += n.server.frame_iter[i] == n.server.frame_iter[i - 1];
    if (same < 100)
        fail_msg("only %zu of 299 small frames arrived in the same loop turn as the one before",
                 same);
}

/* Raw client: 100 frames in one write (one read), then a frame split at its header and
 * inside its body, each piece sent only after the server has consumed the previous one. */
#define COALESCED 100
#define SPLIT_LEN 3000

static void start_coalesced(net *n)
{
    uint8_t buf[COALESCED * (MIM_FRAME_HEADER_LEN + 37) + 1];
    size_t len = 0;

    for (size_t i = 0; i < COALESCED; i++)
        len += put_frame(buf + len, i % 37 + 1, i);
    /* The first header byte of the split frame rides along. */
    buf[len++] = (uint8_t)(SPLIT_LEN >> 8);
    raw_send(n, buf, len);
    n->phase = 1;
}

static void check_coalesced(net *n)
{
    mim_conn *c = n->server.conn;
    uint8_t buf[SPLIT_LEN + 64];
    size_t len;

    if (c == NULL)
        return;
    if (n->phase == 1 && n->server.frames == COALESCED) {
        /* One header byte is buffered: the conn knows a partial frame is waiting. */
        if (c->partial_since == 0) {
            note(&n->server, "partial_since is 0 with one header byte buffered");
        } else {
            if (mim_conn_partial_age(c, c->partial_since + 7) != 7)
                note(&n->server, "partial age %llu, want 7",
                     (unsigned long long)mim_conn_partial_age(c, c->partial_since + 7));
            if (mim_conn_partial_age(c, c->partial_since - 1) != 0)
                note(&n->server, "partial age is not 0 for a clock before partial_since");
        }
        buf[0] = (uint8_t)(SPLIT_LEN & 0xff);
        mim_test_fill(buf + 1, 1000, COALESCED);
        raw_send(n, buf, 1 + 1000);
        n->phase = 2;
    } else if (n->phase == 2 && c->framer.in_body && c->framer.body.len == 1000) {
        if (n->server.partials != 1)
            note(&n->server, "%d on_partial calls for one partial frame", n->server.partials);
        /* The rest of the body, and one more frame right behind it. */
        mim_test_fill(buf, SPLIT_LEN, COALESCED);
        memmove(buf, buf + 1000, SPLIT_LEN - 1000);
        len = SPLIT_LEN - 1000;
        len += put_frame(buf + len, 5, COALESCED + 1);
        raw_send(n, buf, len);
        n->phase = 3;
    }
}

static void coalesced_frame_hook(endpoint *e, const uint8_t *frame, size_t len)
{
    (void)frame;
    (void)len;
    if (e->conn != NULL && mim_conn_partial_age(e->conn, uv_now(&e->n->lb.loop) + 1000) != 0 &&
        e->frames == COALESCED + 2)
        note(e, "partial age not 0 after the last frame completed");
}

static void test_coalesced_and_split_frames(void **state)
{
    net n;
    size_t sizes[COALESCED + 2];
    (void)state;

    for (size_t i = 0; i < COALESCED; i++)
        sizes[i] = i % 37 + 1;
    sizes[COALESCED] = SPLIT_LEN;
    sizes[COALESCED + 1] = 5;

    net_init(&n);
    n.raw_client = 1;
    n.raw_read = 1;
    expect_sizes(&n.server, sizes, COALESCED + 2);
    n.server.close_when_done = 1;
    n.server.on_frame_hook = coalesced_frame_hook;
    n.start = start_coalesced;
    n.on_check = check_coalesced;
    net_run(&n);

    EXPECT_INT(n.phase, 3);
    EXPECT_INT(n.server.frames, COALESCED + 2);
    EXPECT_INT(n.server.partials, 1); /* once, when the split frame's first byte came */
    EXPECT_INT(n.server.closes, 1);
    EXPECT_INT(n.server.eofs, 0);
    /* All of the first write's frames came out of one read. */
    for (size_t i = 1; i < COALESCED; i++)
        if (n.server.frame_iter[i] != n.server.frame_iter[0])
            fail_msg("frame %zu arrived in loop turn %llu, frame 0 in %llu", i,
                     (unsigned long long)n.server.frame_iter[i],
                     (unsigned long long)n.server.frame_iter[0]);
    /* The split frame needed later turns. */
    assert_true(n.server.frame_iter[COALESCED] > n.server.frame_iter[0]);
    /* The server closed at a boundary with nothing unread: the raw client saw a clean EOF. */
    EXPECT_INT(n.raw_eof, 1);
    EXPECT_INT(n.raw_read_err, 0);
    EXPECT_INT(n.raw_write_err, 0);
}

/* ---- zero-copy sends --------------------------------------------------------------------- */

static void start_zero_copy(net *n)
{
    mim_conn *c = n->client.conn;
    uint8_t one = 0;
    uint8_t *p;

    assert_null(mim_conn_frame_new(0));
    assert_null(mim_conn_frame_new(MIM_FRAME_MAX + 1));
    mim_conn_frame_discard(NULL);
    p = mim_conn_frame_new(100);
    assert_non_null(p);
    mim_conn_frame_discard(p); /* never sent: ASan would report a leak */

    EXPECT_INT(mim_conn_send(c, &one, 0), MIM_EINVAL);
    {
        uint8_t *big = calloc(1, MIM_FRAME_MAX + 1);
        assert_non_null(big);
        EXPECT_INT(mim_conn_send(c, big, MIM_FRAME_MAX + 1), MIM_EINVAL);
        free(big);
    }

    p = mim_conn_frame_new(MIM_FRAME_MAX);
    assert_non_null(p);
    mim_test_fill(p, MIM_FRAME_MAX, 0); /* writes every payload byte: ASan checks the room */
    EXPECT_INT(mim_conn_frame_send(c, p), 0);
    p = mim_conn_frame_new(1);
    assert_non_null(p);
    mim_test_fill(p, 1, 1);
    EXPECT_INT(mim_conn_frame_send(c, p), 0);
    p = mim_conn_frame_new(700);
    assert_non_null(p);
    mim_test_fill(p, 700, 2);
    EXPECT_INT(mim_conn_frame_send(c, p), 0);
    n->phase = 1;
}

static void test_zero_copy_send(void **state)
{
    static const size_t sizes[] = {MIM_FRAME_MAX, 1, 700};
    net n;
    (void)state;

    net_init(&n);
    expect_sizes(&n.server, sizes, 3);
    n.server.close_when_done = 1;
    n.start = start_zero_copy;
    net_run(&n);

    EXPECT_INT(n.phase, 1);
    EXPECT_INT(n.server.frames, 3);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_INT(n.client.closes, 1);
}

/* ---- closing exactly once ---------------------------------------------------------------- */

static void start_three_frames(net *n)
{
    for (size_t i = 0; i < 3; i++)
        EXPECT_INT(send_seq(n->client.conn, 10, i), 0);
}

static void close_thrice_in_frame(endpoint *e, const uint8_t *frame, size_t len)
{
    mim_conn *c = e->conn;
    (void)frame;
    (void)len;

    mim_conn_close(c, "first close, frame %d", e->frames);
    if (e->closes != 0)
        note(e, "on_close ran inside mim_conn_close: it must wait for libuv's close callback");
    mim_conn_close(c, "second close");
    mim_conn_close(c, "third close");
    /* Closing: sends refused, a drain is a no-op. */
    if (mim_conn_send(c, "x", 1) != MIM_ECLOSED)
        note(e, "mim_conn_send after close did not return MIM_ECLOSED");
    uint8_t *p = mim_conn_frame_new(4);
    if (p == NULL || mim_conn_frame_send(c, p) != MIM_ECLOSED) /* frees p either way */
        note(e, "mim_conn_frame_send after close did not return MIM_ECLOSED");
    mim_conn_drain(c, "late drain");
}

static void close_thrice_at_eof(endpoint *e)
{
    mim_conn_close(e->conn, "client close 1");
    mim_conn_close(e->conn, "client close 2");
    mim_conn_close(e->conn, "client close 3");
}

static void test_close_exactly_once(void **state)
{
    static const size_t sizes[] = {10, 10, 10};
    net n;
    (void)state;

    net_init(&n);
    expect_sizes(&n.server, sizes, 3);
    n.server.on_frame_hook = close_thrice_in_frame;
    n.client.on_eof_hook = close_thrice_at_eof;
    n.start = start_three_frames;
    net_run(&n);

    /* The three frames came in one read, but none is delivered after the close. */
    EXPECT_INT(n.server.frames, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.server.reason, "first close, frame 1");
    EXPECT_INT(n.client.eofs, 1);
    EXPECT_INT(n.client.closes, 1);
    assert_string_equal(n.client.reason, "client close 1");
}

/* ---- the output cap ---------------------------------------------------------------------- */

#define CAP_QUEUED    (64 * 1024)
#define CAP_FRAME     4096
#define CAP_MAX_SENDS 100000 /* 400 MB: far beyond any socket buffer */

static void start_flood(net *n)
{
    mim_conn *c = n->client.conn;
    int rc = 0;
    int sent = 0;

    while (sent < CAP_MAX_SENDS && (rc = send_seq(c, CAP_FRAME, (size_t)sent)) == 0)
        sent++;
    n->count = sent;
    if (rc != MIM_EOVERFLOW) {
        note(&n->client, "after %d sends: rc %d, want MIM_EOVERFLOW (%d)", sent, rc, MIM_EOVERFLOW);
    } else {
        size_t q = mim_conn_queued(c);
        if (q > CAP_QUEUED)
            note(&n->client, "queued %zu bytes, over the cap of %d", q, CAP_QUEUED);
        if (q + MIM_FRAME_HEADER_LEN + CAP_FRAME <= CAP_QUEUED)
            note(&n->client, "refused with room left: queued %zu", q);
        /* Still refused, still open: the owner decides what to do with a slow reader. */
        if (send_seq(c, CAP_FRAME, 0) != MIM_EOVERFLOW)
            note(&n->client, "a second send past the cap was not refused");
        if (n->client.closes != 0 || c->closing)
            note(&n->client, "the cap closed the connection by itself");
        n->phase = 1;
    }
    mim_conn_close(c, "slow reader");
}

static void close_raw_after(endpoint *e)
{
    raw_close(e->n);
}

static void test_output_cap(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.raw_server = 1; /* accepts and never reads */
    n.client_max_queued = CAP_QUEUED;
    n.start = start_flood;
    n.client.on_close_hook = close_raw_after;
    net_run(&n);

    EXPECT_INT(n.phase, 1);
    assert_true(n.count > 0); /* the kernel took some before the queue grew */
    EXPECT_INT(n.client.closes, 1);
    assert_string_equal(n.client.reason, "slow reader");
}

/* ---- input caps and endings -------------------------------------------------------------- */

static void start_over_max(net *n)
{
    EXPECT_INT(send_seq(n->client.conn, 1000, 0), 0); /* exactly the maximum: fine */
    EXPECT_INT(send_seq(n->client.conn, 1001, 1), 0);
    EXPECT_INT(send_seq(n->client.conn, 10, 2), 0);
}

static void test_frame_over_receiver_max(void **state)
{
    static const size_t sizes[] = {1000};
    net n;
    (void)state;

    net_init(&n);
    n.server_max_frame = 1000;
    expect_sizes(&n.server, sizes, 1);
    n.start = start_over_max;
    net_run(&n);

    EXPECT_INT(n.server.frames, 1);
    EXPECT_INT(n.server.eofs, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "limit");
    EXPECT_INT(n.client.closes, 1);
}

/* Raw bytes to a mim_conn server, then (optionally) the client's FIN. */
static const uint8_t *raw_script;
static size_t raw_script_len;
static int raw_script_fin;

static void start_raw_script(net *n)
{
    if (raw_script_len > 0)
        raw_send(n, raw_script, raw_script_len);
    if (raw_script_fin)
        raw_shutdown(n);
}

/* Runs the script against a fresh server; the raw client reads until the server hangs up. */
static void run_raw_script(net *n, const mim_conn_callbacks *server_cb, size_t max_frame,
                           const uint8_t *bytes, size_t len, int fin, const size_t *sizes,
                           size_t nsizes)
{
    raw_script = bytes;
    raw_script_len = len;
    raw_script_fin = fin;
    net_init(n);
    expect_sizes(&n->server, sizes, nsizes);
    n->raw_client = 1;
    n->raw_read = 1;
    n->server_cb = server_cb;
    n->server_max_frame = max_frame;
    n->start = start_raw_script;
    net_run(n);
}

static void test_hostile_headers(void **state)
{
    net n;
    (void)state;

    /* A header announcing more than the maximum closes before any body arrives. */
    static const uint8_t huge[] = {0xff, 0xff};
    run_raw_script(&n, &callbacks, 1024, huge, sizeof(huge), 0, NULL, 0);
    EXPECT_INT(n.server.frames, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "limit");
    EXPECT_CONTAINS(n.server.reason, "ffff"); /* the sanitized sample of the input */
    assert_true(n.raw_eof || n.raw_read_err != 0);

    /* No mim frame is empty. */
    static const uint8_t empty[] = {0x00, 0x00, 0x00, 0x01, 0x41};
    run_raw_script(&n, &callbacks, 1024, empty, sizeof(empty), 0, NULL, 0);
    EXPECT_INT(n.server.frames, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "empty");

    /* Terminal escapes in the input reach the reason only as hex. */
    static const uint8_t esc[] = {0xff, 0x1b, '[', '2', 'J'};
    run_raw_script(&n, &callbacks, 1024, esc, sizeof(esc), 0, NULL, 0);
    EXPECT_INT(n.server.closes, 1);
    assert_null(strchr(n.server.reason, 0x1b));
}

static void test_eof_inside_frame(void **state)
{
    net n;
    (void)state;

    /* Header for 10 bytes, then 5 of them, then FIN. */
    static const uint8_t half_body[] = {0x00, 0x0a, 1, 2, 3, 4, 5};
    run_raw_script(&n, &callbacks, 1024, half_body, sizeof(half_body), 1, NULL, 0);
    EXPECT_INT(n.server.frames, 0);
    EXPECT_INT(n.server.eofs, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "frame");
    EXPECT_INT(n.raw_eof, 1);

    /* Half a header: one byte, then FIN. */
    static const uint8_t half_header[] = {0x00};
    run_raw_script(&n, &callbacks, 1024, half_header, sizeof(half_header), 1, NULL, 0);
    EXPECT_INT(n.server.eofs, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "frame");

    /* A whole frame, then half of the next: the first is delivered, then the close. */
    uint8_t one_and_half[2 + 20 + 2 + 3];
    size_t len = put_frame(one_and_half, 20, 0);
    len += put_frame(one_and_half + len, 3, 1) - 1; /* the last body byte never comes */
    static const size_t first[] = {20};
    run_raw_script(&n, &callbacks, 1024, one_and_half, len, 1, first, 1);
    EXPECT_INT(n.server.frames, 1);
    EXPECT_INT(n.server.eofs, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "frame");
}

static int eof_seen_open;

static void eof_then_close(endpoint *e)
{
    /* on_eof leaves the conn open: the owner decides. */
    eof_seen_open = e->conn != NULL && e->closes == 0 && !e->conn->closing;
    mim_conn_close(e->conn, "peer left after %d frames", e->frames);
}

static void test_clean_eof(void **state)
{
    static const size_t sizes[] = {20, 3};
    uint8_t two[2 + 20 + 2 + 3];
    size_t len;
    net n;
    (void)state;

    len = put_frame(two, 20, 0);
    len += put_frame(two + len, 3, 1);

    raw_script = two;
    raw_script_len = len;
    raw_script_fin = 1;
    eof_seen_open = 0;
    net_init(&n);
    n.raw_client = 1;
    n.raw_read = 1;
    n.start = start_raw_script;
    expect_sizes(&n.server, sizes, 2);
    n.server.on_eof_hook = eof_then_close;
    net_run(&n);
    EXPECT_INT(n.server.frames, 2);
    EXPECT_INT(n.server.eofs, 1);
    EXPECT_INT(eof_seen_open, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.server.reason, "peer left after 2 frames");
    EXPECT_INT(n.raw_eof, 1);

    /* FIN with nothing sent at all is a clean EOF too. */
    raw_script_len = 0;
    net_init(&n);
    n.raw_client = 1;
    n.raw_read = 1;
    n.start = start_raw_script;
    net_run(&n);
    EXPECT_INT(n.server.frames, 0);
    EXPECT_INT(n.server.eofs, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.server.reason, "eof seen");

    /* Without an on_eof callback the conn closes itself. */
    run_raw_script(&n, &callbacks_no_eof, 1024, two, 0, 1, NULL, 0);
    EXPECT_INT(n.server.eofs, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "closed");
}

/* ---- draining ---------------------------------------------------------------------------- */

static const size_t drain_sizes[] = {MIM_FRAME_MAX, 10, 20000, 1};

static void start_ask_drain(net *n)
{
    EXPECT_INT(send_seq(n->client.conn, 4, 0), 0);
}

static void drain_on_request(endpoint *e, const uint8_t *frame, size_t len)
{
    mim_conn *c = e->conn;
    (void)frame;
    (void)len;

    for (size_t i = 0; i < sizeof(drain_sizes) / sizeof(drain_sizes[0]); i++)
        if (send_seq(c, drain_sizes[i], i) != 0)
            note(e, "send of drain frame %zu failed", i);
    mim_conn_drain(c, "done after %d", e->frames);
    if (e->closes != 0 || c->closing)
        note(e, "mim_conn_drain closed at once");
    if (!c->draining)
        note(e, "draining not set after mim_conn_drain");
    mim_conn_drain(c, "second drain"); /* no-op: the first reason stays */
    if (mim_conn_send(c, "late", 4) != MIM_ECLOSED)
        note(e, "mim_conn_send while draining did not return MIM_ECLOSED");
}

static void test_drain_delivers_then_closes(void **state)
{
    static const size_t ask[] = {4};
    net n;
    (void)state;

    net_init(&n);
    expect_sizes(&n.server, ask, 1);
    n.server.on_frame_hook = drain_on_request;
    expect_sizes(&n.client, drain_sizes, sizeof(drain_sizes) / sizeof(drain_sizes[0]));
    n.start = start_ask_drain;
    net_run(&n);

    EXPECT_INT(n.server.frames, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.server.reason, "done after 1");
    /* The peer got every queued frame, then a clean EOF (not a reset). */
    EXPECT_INT(n.client.frames, sizeof(drain_sizes) / sizeof(drain_sizes[0]));
    EXPECT_INT(n.client.eofs, 1);
    EXPECT_INT(n.client.closes, 1);
    assert_string_equal(n.client.reason, "eof seen");
}

/* A slow peer: its receive buffer is tiny and it reads nothing until the server's conn has
 * closed, so most of what the drain flushed is still in the server's kernel send buffer when
 * the server calls close(). That is fine as long as close() sends a FIN: the kernel delivers
 * the rest. The peer sends its request and then its own FIN (like a client that says Logout
 * and hangs up), so a server that lingers until the peer's FIN is not kept waiting. */
#define SLOW_FRAMES 2

static void start_ask_slowly(net *n)
{
    uint8_t buf[MIM_FRAME_HEADER_LEN + 4000];

    raw_send(n, buf, put_frame(buf, 4, 0));
    /* Optionally keep sending (a client pipelining, or a flood that earned an Error): the
     * server stops reading when it drains, so these bytes stay unread in its socket. */
    for (int i = 0; i < n->count; i++)
        raw_send(n, buf, put_frame(buf, 4000, (size_t)i + 1));
    raw_shutdown(n);
}

static void drain_big_on_request(endpoint *e, const uint8_t *frame, size_t len)
{
    mim_conn *c = e->conn;
    int sndbuf = 256 * 1024;
    (void)frame;
    (void)len;

    /* Room in the kernel for everything, so the shutdown completes without the peer reading. */
    if (uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf) != 0)
        note(e, "cannot set the send buffer size");
    for (size_t i = 0; i < SLOW_FRAMES; i++)
        if (send_seq(c, MIM_FRAME_MAX, i) != 0)
            note(e, "send of drain frame %zu failed", i);
    mim_conn_drain(c, "bye");
}

static void start_reading_raw(endpoint *e)
{
    net *n = e->n;
    if (n->raw_open && !uv_is_closing((uv_handle_t *)&n->raw))
        assert_int_equal(uv_read_start((uv_stream_t *)&n->raw, raw_alloc, raw_on_read), 0);
}

/* Counts the whole, correct frames of MIM_FRAME_MAX bytes at the start of what raw read. */
static int raw_frames_received(const net *n)
{
    size_t pos = 0;
    int frames = 0;

    while (n->raw_in_len - pos >= MIM_FRAME_HEADER_LEN + MIM_FRAME_MAX) {
        const uint8_t *p = n->raw_in + pos;
        if (((size_t)p[0] << 8 | p[1]) != MIM_FRAME_MAX ||
            !mim_test_matches(p + MIM_FRAME_HEADER_LEN, MIM_FRAME_MAX, (size_t)frames))
            break;
        frames++;
        pos += MIM_FRAME_HEADER_LEN + MIM_FRAME_MAX;
    }
    return frames;
}

static void run_drain_to_slow_peer(net *n, int extra_frames)
{
    static const size_t ask[] = {4};

    net_init(n);
    n->raw_client = 1;
    n->raw_client_rcvbuf = 4096;
    n->count = extra_frames;
    n->server_max_queued = 4u << 20;
    expect_sizes(&n->server, ask, 1);
    n->server.on_frame_hook = drain_big_on_request;
    n->server.on_close_hook = start_reading_raw;
    n->start = start_ask_slowly;
    net_run(n);
    EXPECT_INT(n->server.frames, 1);
    EXPECT_INT(n->server.closes, 1);
    assert_string_equal(n->server.reason, "bye");
}

static void test_drain_reaches_slow_peer(void **state)
{
    net n;
    (void)state;

    run_drain_to_slow_peer(&n, 0);
    EXPECT_INT(raw_frames_received(&n), SLOW_FRAMES);
    EXPECT_INT(n.raw_in_len, SLOW_FRAMES * (MIM_FRAME_HEADER_LEN + MIM_FRAME_MAX));
    EXPECT_INT(n.raw_read_err, 0);
    EXPECT_INT(n.raw_eof, 1);
}

/* The same, but the peer sent more after the request that made the server drain. Bytes left
 * unread in a socket at close() make Linux send a reset instead of a FIN and throw away the
 * send queue: the frames the drain promised to deliver (the last Error) are lost. A drain has
 * to keep reading and discarding until the peer's FIN (a "lingering close") before close(). */
static void test_drain_reaches_slow_peer_that_kept_sending(void **state)
{
    net n;
    int frames;
    (void)state;

    run_drain_to_slow_peer(&n, 30);
    frames = raw_frames_received(&n);
    if (frames != SLOW_FRAMES || n.raw_eof != 1)
        fail_msg("peer received %d of %d drained frames (%zu of %d bytes), then %s", frames,
                 SLOW_FRAMES, n.raw_in_len, SLOW_FRAMES * (MIM_FRAME_HEADER_LEN + MIM_FRAME_MAX),
                 n.raw_eof ? "EOF" : uv_strerror(n.raw_read_err));
}

/* ---- refusing a pending connection ----------------------------------------------------------- */

/* An owner that cannot take a connection (out of memory) rejects it: the client sees its end,
 * and the listener goes on accepting (a connection left pending would stop libuv from reading
 * the listener again). */
typedef struct reject_net {
    loopback lb;
    uv_tcp_t c1, c2;
    uv_connect_t r1, r2;
    int rejected, accepted, c1_end, c2_connected;
} reject_net;

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void reject_close_all(reject_net *rn)
{
    loopback_close((uv_handle_t *)&rn->lb.listener);
    loopback_close((uv_handle_t *)&rn->c1);
    loopback_close((uv_handle_t *)&rn->c2);
}

static void reject_maybe_done(reject_net *rn)
{
    if (rn->c1_end && rn->accepted)
        reject_close_all(rn);
}

static void reject_on_connection(uv_stream_t *l, int status)
{
    reject_net *rn = l->data;
    uv_tcp_t *t;

    if (status != 0)
        return;
    if (rn->rejected == 0) {
        rn->rejected++;
        mim_conn_reject(l);
        return;
    }
    t = malloc(sizeof(*t));
    assert_non_null(t);
    uv_tcp_init(l->loop, t);
    if (uv_accept(l, (uv_stream_t *)t) == 0)
        rn->accepted++;
    uv_close((uv_handle_t *)t, free_handle);
    reject_maybe_done(rn);
}

static void reject_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char b[256];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(b, sizeof(b));
}

static void reject_c1_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    reject_net *rn = s->data;
    (void)buf;
    if (nread < 0) { /* EOF or a reset: either way the server let go of it */
        rn->c1_end = 1;
        uv_read_stop(s);
        reject_maybe_done(rn);
    }
}

static void reject_c2_connected(uv_connect_t *req, int status)
{
    reject_net *rn = req->data;
    if (status == 0)
        rn->c2_connected = 1;
}

static void reject_c1_connected(uv_connect_t *req, int status)
{
    reject_net *rn = req->data;
    if (status != 0)
        return;
    uv_read_start((uv_stream_t *)&rn->c1, reject_alloc, reject_c1_read);
    /* The second client only now, so that the first is the one rejected. */
    rn->r2.data = rn;
    uv_tcp_connect(&rn->r2, &rn->c2, (const struct sockaddr *)&rn->lb.addr, reject_c2_connected);
}

static void reject_guard(loopback *lb)
{
    reject_close_all(lb->data);
}

static void test_reject_keeps_listening(void **state)
{
    reject_net rn;
    (void)state;

    memset(&rn, 0, sizeof(rn));
    loopback_init(&rn.lb, reject_on_connection, &rn);
    rn.lb.on_guard = reject_guard; /* bounds the test */
    uv_tcp_init(&rn.lb.loop, &rn.c1);
    uv_tcp_init(&rn.lb.loop, &rn.c2);
    rn.c1.data = rn.c2.data = &rn;
    rn.r1.data = &rn;
    assert_int_equal(
        uv_tcp_connect(&rn.r1, &rn.c1, (const struct sockaddr *)&rn.lb.addr, reject_c1_connected),
        0);
    EXPECT_INT(loopback_run(&rn.lb), 0);

    EXPECT_INT(rn.lb.timed_out, 0);
    EXPECT_INT(rn.rejected, 1);
    EXPECT_INT(rn.c1_end, 1);
    EXPECT_INT(rn.accepted, 1);
}

/* ---- connect failure --------------------------------------------------------------------- */

static void test_connect_refused(void **state)
{
    uv_loop_t loop;
    struct sockaddr_in addr;
    endpoint e;
    mim_conn *c = NULL;
    (void)state;

    /* A port that was just free: bind, learn it, close. */
    assert_int_equal(uv_loop_init(&loop), 0);
    loopback_unused_addr(&loop, &addr);

    memset(&e, 0, sizeof(e));
    e.name = "client";
    assert_int_equal(mim_conn_connect(&loop, (const struct sockaddr *)&addr, &callbacks, &e,
                                      MIM_FRAME_MAX, 1024, 100, &c),
                     0);
    e.conn = c;
    {
        /* The owner's extra bytes: aligned, zeroed, all of them writable (ASan
         * checks the size). */
        uint8_t *x = mim_conn_extra(c), zero[100] = {0};
        EXPECT_INT((uintptr_t)x % MIM_CONN_EXTRA_ALIGN, 0);
        assert_memory_equal(x, zero, sizeof(zero));
        memset(x, 0xab, sizeof(zero));
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* nothing else is open: ends when the conn is closed */
    EXPECT_INT(uv_loop_close(&loop), 0);

    EXPECT_INT(e.connects, 1);
    EXPECT_INT(e.connect_status, UV_ECONNREFUSED);
    EXPECT_INT(e.closes, 1);
    EXPECT_CONTAINS(e.reason, "connect");
    EXPECT_INT(e.frames, 0);
    if (e.error[0] != '\0')
        fail_msg("%s", e.error);
}

static void on_connection_unused(uv_stream_t *listener, int status)
{
    (void)listener;
    (void)status; /* the listener is closed before the loop runs */
}

/* Closed before the connect finished: the connect is cancelled, on_connect never runs, and
 * on_close reports the reason given. */
static void test_close_while_connecting(void **state)
{
    uv_loop_t loop;
    uv_tcp_t listener;
    struct sockaddr_in addr;
    endpoint e;
    mim_conn *c = NULL;
    (void)state;

    assert_int_equal(uv_loop_init(&loop), 0);
    loopback_listen(&loop, &listener, &addr, on_connection_unused, NULL);

    memset(&e, 0, sizeof(e));
    e.name = "client";
    assert_int_equal(mim_conn_connect(&loop, (const struct sockaddr *)&addr, &callbacks, &e,
                                      MIM_FRAME_MAX, 1024, 0, &c),
                     0);
    e.conn = c;
    mim_conn_close(c, "changed my mind");
    mim_conn_close(c, "twice");
    EXPECT_INT(e.closes, 0); /* not from inside mim_conn_close */
    uv_close((uv_handle_t *)&listener, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_INT(uv_loop_close(&loop), 0);

    EXPECT_INT(e.connects, 0);
    EXPECT_INT(e.closes, 1);
    assert_string_equal(e.reason, "changed my mind");
    if (e.error[0] != '\0')
        fail_msg("%s", e.error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_whole_and_in_order),
        cmocka_unit_test(test_coalesced_and_split_frames),
        cmocka_unit_test(test_zero_copy_send),
        cmocka_unit_test(test_close_exactly_once),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_frame_over_receiver_max),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_eof_inside_frame),
        cmocka_unit_test(test_clean_eof),
        cmocka_unit_test(test_drain_delivers_then_closes),
        cmocka_unit_test(test_drain_reaches_slow_peer),
        cmocka_unit_test(test_drain_reaches_slow_peer_that_kept_sending),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_reject_keeps_listening),
        cmocka_unit_test(test_close_while_connecting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
