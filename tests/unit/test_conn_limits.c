/* mim_conn at its limits, on a real loop over 127.0.0.1 (the harness is conn_net.h): input caps
 * and hostile headers, endings (EOF inside a frame, a clean EOF), draining to slow peers, refusing
 * a pending connection, connect failures. */
#include "conn_net.h"

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
