/* mim_conn: a framed libuv TCP connection, tested on a real loop over 127.0.0.1 (the harness is
 * conn_net.h): frames arrive whole and in order, zero-copy sends, closing exactly once, the
 * output cap. Input caps, endings, draining and refusals are in test_conn_limits.c. */
#include "conn_net.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_whole_and_in_order),
        cmocka_unit_test(test_coalesced_and_split_frames),
        cmocka_unit_test(test_zero_copy_send),
        cmocka_unit_test(test_close_exactly_once),
        cmocka_unit_test(test_output_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
