/* mim-presence, black box, at its limits (presence_fixture.h): the cap on peers and on queued
 * output, the status rate, admission per address and per second, and the refusals that must still
 * be told.
 *
 * Usage: test_presence_limits SCENARIO   (the names are in the table at the bottom) */
#include "presence_fixture.h"

/* ---- 18-19: caps on peers and on queued output ---------------------------------------------- */

static void server_full(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--max-peers", "2", NULL};
    mim_identity *alice, *carol, *stranger;
    tc_client *a1, *a2, *b, *c, *x;

    alice = fx_identity(f);
    carol = fx_identity(f);
    stranger = fx_identity(f);
    fx_start(f, args);
    a1 = fx_online(f, alice, "alice", 5001);
    b = fx_online(f, NULL, "bob", 5002);
    expect_add(a1, "bob", 5002, b->id->sign_pk);

    /* A third name: refused, and nobody hears of it. */
    c = fx_handshaken(f, carol, "carol");
    ASSERT_VERDICT(c, tc_login(c, "carol", 5003), MIM__ERROR_CODE__ERROR_SERVER_FULL);
    expect_closed(c, 0);
    ASSERT_LOG(f, "server full (2 peers online)");
    expect_nothing_more(a1);
    expect_nothing_more(b);

    /* alice reconnecting while full (same key, same name) replaces her session: not a third. */
    a2 = fx_online(f, alice, "alice", 5011);
    assert_int_equal(a2->ntable, 2);
    check_peer(tc_table_find(a2, "alice"), "alice", 5011, alice->sign_pk);
    expect_closed(a1, MIM__ERROR_CODE__ERROR_REPLACED);
    expect_add(b, "alice", 5011, alice->sign_pk);
    expect_nothing_more(b);
    /* Her name under another key is still NAME_TAKEN: the real reason, not SERVER_FULL. */
    x = fx_handshaken(f, stranger, "alice");
    ASSERT_VERDICT(x, tc_login(x, "alice", 5012), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_closed(x, 0);

    /* bob leaves: carol fits now. */
    ASSERT_TC(b, tc_logout(b));
    expect_closed(b, 0);
    expect_del(a2, "bob");
    c = fx_online(f, carol, "carol", 5003);
    assert_int_equal(c->ntable, 2);
    expect_add(a2, "carol", 5003, carol->sign_pk);

    /* And full again. */
    x = fx_handshaken(f, NULL, "dave");
    ASSERT_VERDICT(x, tc_login(x, "dave", 5004), MIM__ERROR_CODE__ERROR_SERVER_FULL);
    expect_closed(x, 0);
    expect_nothing_more(a2);
    expect_nothing_more(c);
}

/* A 32-character name of 4-byte characters (128 bytes, the most a name may take): emoji from
 * U+1F600 on. */
static void long_name(char out[MIM_NAME_MAX_BYTES + 1])
{
    for (unsigned k = 0; k < MIM_NAME_MAX_CHARS; k++) {
        unsigned cp = 0x1F600 + k;
        out[4 * k] = (char)(0xF0 | (cp >> 18));
        out[4 * k + 1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[4 * k + 2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[4 * k + 3] = (char)(0x80 | (cp & 0x3F));
    }
    out[4 * MIM_NAME_MAX_CHARS] = '\0';
}

/* One round of load, ~1.7 KB of broadcasts to every other peer: `loader` logs in under a
 * 128-byte name, changes its status 5 times (a fresh session's burst) with 128-byte texts, and
 * logs out. Needs --handshake-rate high enough for a login per round.
 *
 * The round ends when `witness` has read the loader's delete, skipping its add and statuses
 * (and answering pings): rounds stay in step, and nothing of a finished load is left on its way
 * to the witness. Returns 1 when a delete for `watch` came by meanwhile (any other message
 * fails). *bytes (may be NULL) grows by the encoded size of what the witness read. */
static int load_round(struct fx *f, mim_identity *loader, unsigned round, tc_client *witness,
                      const char *watch, size_t *bytes)
{
    char name[MIM_NAME_MAX_BYTES + 1], text[MIM_STATUS_TEXT_MAX + 1], desc[200];
    uint64_t deadline;
    const Mim__PresenceMsg *m;
    tc_client *c;
    int seen = 0;

    long_name(name);
    memset(text, 'q', MIM_STATUS_TEXT_MAX);
    text[MIM_STATUS_TEXT_MAX] = '\0';
    c = fx_online(f, loader, name, 6001);
    for (int k = 0; k < 5; k++) {
        char tag[24];
        int n = snprintf(tag, sizeof(tag), "%u:%d:", round, k);
        memcpy(text, tag, (size_t)n); /* distinct, and still 128 bytes */
        ASSERT_TC(c, tc_send_status(c, MIM__STATUS__STATUS_AWAY, text));
    }
    ASSERT_TC(c, tc_logout(c));
    expect_closed(c, 0);
    fx_release(f, c);

    deadline = tc_now_ms() + TC_TIMEOUT_MS;
    for (;;) {
        uint64_t now = tc_now_ms();
        int rc = tc_recv(witness, now >= deadline ? 0 : (int)(deadline - now), &m);
        if (rc != TC_OK)
            fail_msg("round %u: waiting for the loader's delete: %s", round, tc_error(witness));
        if (bytes != NULL)
            *bytes += mim__presence_msg__get_packed_size(m);
        switch (m->body_case) {
        case MIM__PRESENCE_MSG__BODY_PING:
            ASSERT_TC(witness, tc_send_pong(witness, m->ping->nonce));
            break;
        case MIM__PRESENCE_MSG__BODY_ADD:
        case MIM__PRESENCE_MSG__BODY_STATUS:
            break;
        case MIM__PRESENCE_MSG__BODY_DEL:
            if (strcmp(m->del->name, name) == 0)
                return seen;
            if (watch != NULL && strcmp(m->del->name, watch) == 0 && !seen) {
                seen = 1;
                break;
            }
            /* fall through */
        default:
            tc_describe(m, desc, sizeof(desc));
            fail_msg("round %u: unexpected %s", round, desc);
        }
    }
}

/* A logged-in client that will not read: a 4 KB receive window, and a 536-byte MSS, which makes
 * the kernel size the server's send buffer for this connection at ~100 KB instead of MBs. A load
 * then fills the server's side in a hundred rounds rather than thousands. */
static tc_client *fx_online_small_window(struct fx *f, const char *name, uint16_t port)
{
    tc_client *c = fx_client(f, NULL);

    c->rcvbuf = 4096;
    c->mss = 536;
    ASSERT_TC(c, tc_connect(c, f->sp.port));
    ASSERT_TC(c, tc_handshake(c, name));
    ASSERT_TC(c, tc_login(c, name, port));
    return c;
}

/* The load is one key logging in and out as fast as it can: no handshake or churn limits. */
#define LOAD_ARGS       "--handshake-rate", "1000000", "--logins-per-key", "0", "--flap-hold", "0"
#define LOAD_MAX_ROUNDS 10000 /* a load may take this many rounds... */
#define LOAD_MAX_MS     20000 /* ...and this long (~100 rounds and well under 1 s are typical) */

/* A logged-in peer that never reads, while others cause broadcasts, is dropped once more than
 * --max-queued bytes wait for it; the others hear of it and the server goes on. */
static void slow_reader_dropped(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--max-queued", "65538", LOAD_ARGS, NULL};
    tc_client *obs, *slow;
    mim_identity *loader;
    uint64_t t0, took;
    unsigned rounds = 0;
    int dropped = 0;

    fx_start(f, args);
    loader = fx_identity(f);
    obs = observer_online(f);
    slow = fx_online_small_window(f, "slow", 5001);
    expect_add(obs, "slow", 5001, slow->id->sign_pk);

    /* slow reads none of the load; the observer reads all of it. */
    t0 = tc_now_ms();
    while (!dropped && rounds < LOAD_MAX_ROUNDS && tc_now_ms() - t0 < LOAD_MAX_MS)
        dropped = load_round(f, loader, rounds++, obs, "slow", NULL);
    took = tc_now_ms() - t0;
    if (!dropped) {
        const Mim__PresenceMsg *m;
        int rc = tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, TC_TIMEOUT_MS, &m);
        if (rc != TC_OK)
            fail_msg("slow was not dropped after %u rounds in %llu ms (--max-queued 65538): %s",
                     rounds, (unsigned long long)took, tc_error(obs));
        assert_string_equal(m->del->name, "slow");
    }
    print_message("slow dropped after %u rounds, %llu ms\n", rounds, (unsigned long long)took);
    ASSERT_LOG(f, "slow offline: slow reader: more than 65538 bytes queued");

    /* The server is still responsive: the observer's barrier and a newcomer. */
    assert_server_healthy(f, obs);
    /* slow gets what was written before the cut, then the end (no Error: it was not reading). */
    ASSERT_VERDICT(slow, tc_expect_closed(slow, 10000), 0);
}

/* ---- 20: status rate ------------------------------------------------------------------------ */

#define FLOOD_N 200

/* Reads status updates for `name` at c until one carries `want`, for at most timeout_ms: how
 * many came; the first and the last text go to first and last. Anything else fails. */
static unsigned read_statuses_until(tc_client *c, const char *name, const char *want,
                                    int timeout_ms, char *first, char *last)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;
    const Mim__PresenceMsg *m;
    unsigned n = 0;

    first[0] = last[0] = '\0';
    while (n == 0 || strcmp(last, want) != 0) {
        uint64_t now = tc_now_ms();
        int rc = tc_expect(c, MIM__PRESENCE_MSG__BODY_STATUS,
                           now >= deadline ? 0 : (int)(deadline - now), &m);
        if (rc == TC_ETIMEOUT)
            fail_msg("after %u updates the last text is '%s', want '%s' (the latest change, "
                     "merged) within %d ms",
                     n, last, want, timeout_ms);
        ASSERT_TC(c, rc);
        assert_string_equal(m->status->name, name);
        if (n++ == 0)
            snprintf(first, MIM_STATUS_TEXT_MAX + 1, "%s", m->status->text);
        snprintf(last, MIM_STATUS_TEXT_MAX + 1, "%s", m->status->text);
    }
    return n;
}

/* Nothing but pings arrives at c for ms milliseconds (an absence can only be shown over a
 * window; this one is also what lets a status token refill). */
static void expect_quiet_for(tc_client *c, int ms)
{
    uint64_t until = tc_now_ms() + (uint64_t)ms;
    const Mim__PresenceMsg *m;
    char desc[200];

    for (;;) {
        uint64_t now = tc_now_ms();
        int rc;
        if (now >= until)
            return;
        rc = tc_recv(c, (int)(until - now), &m);
        if (rc == TC_ETIMEOUT)
            return;
        ASSERT_TC(c, rc);
        if (m->body_case != MIM__PRESENCE_MSG__BODY_PING) {
            tc_describe(m, desc, sizeof(desc));
            fail_msg("expected nothing for %d ms, got %s", ms, desc);
        }
        ASSERT_TC(c, tc_send_pong(c, m->ping->nonce));
    }
}

static void status_flood_is_rate_limited(void **state)
{
    struct fx *f = *state;
    char text[32], final[32], first[MIM_STATUS_TEXT_MAX + 1], last[MIM_STATUS_TEXT_MAX + 1];
    const Mim__PresenceMsg *m;
    tc_client *obs, *x;
    uint64_t t0, elapsed;
    unsigned n, limit;

    fx_start(f, NULL);
    obs = observer_online(f);
    x = fx_online(f, NULL, "flooder", 5001);
    expect_add(obs, "flooder", 5001, x->id->sign_pk);

    t0 = tc_now_ms();
    for (int i = 0; i < FLOOD_N; i++) {
        snprintf(text, sizeof(text), "flood %03d", i);
        ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_AWAY, text));
    }
    snprintf(final, sizeof(final), "flood %03d", FLOOD_N - 1);

    /* At 1/s, burst 5: the first changes go out at once, the rest merge into the latest. */
    n = read_statuses_until(obs, "flooder", final, 3000, first, last);
    elapsed = tc_now_ms() - t0;
    limit = 5 + (unsigned)(elapsed / 1000 + 1);
    if (n > limit)
        fail_msg("the observer got %u status updates for 200 changes in %llu ms, want <= %u", n,
                 (unsigned long long)elapsed, limit);
    assert_string_equal(first, "flood 000"); /* the burst is not held back */
    /* The sender's copies: the same story. */
    n = read_statuses_until(x, "flooder", final, 3000, first, last);
    if (n > limit)
        fail_msg("the sender got %u status updates, want <= %u", n, limit);

    /* Nothing trails the merged update. The window also gives the bucket a token back. */
    expect_quiet_for(obs, 1100);

    /* A StatusSet equal to the current status is no change: no update for anyone. */
    ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_AWAY, final));
    expect_nothing_more(x); /* the sender would get an update before its Pong */
    expect_nothing_more(obs);

    /* A real change now goes out at once -- the token was there, so the above meant
     * something: the update must come before the Pong for a Ping sent right after it. */
    ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_BUSY, "control"));
    ASSERT_TC(x, tc_send_ping(x, 77));
    expect_status(x, "flooder", MIM__STATUS__STATUS_BUSY, "control");
    ASSERT_TC(x, tc_expect(x, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &m));
    assert_int_equal(m->pong->nonce, 77);
    expect_status(obs, "flooder", MIM__STATUS__STATUS_BUSY, "control");
    expect_nothing_more(obs);
}

/* ---- 22-23: admission ------------------------------------------------------------------------ */

/* Starts a handshake on c: 1 when the server answered message 1 with message 2 (admitted), 0
 * when it closed the connection instead (refused at accept). Anything else fails the test. */
static int hs_admitted(tc_client *c)
{
    uint8_t m1[MIM_KEY_LEN];
    int rc;

    ASSERT_TC(c, tc_hs_msg1(c, m1));
    rc = tc_send_frame(c, m1, sizeof(m1)); /* may meet the close already */
    if (rc == TC_OK)
        rc = tc_hs_read_msg2(c, TC_TIMEOUT_MS);
    if (rc == TC_ECLOSED)
        return 0;
    ASSERT_TC(c, rc);
    return 1;
}

/* c is still open: the server has neither closed it nor sent anything. */
static void assert_open(tc_client *c, const char *what)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, 0);

    if (pr != 0)
        fail_msg("%s: poll = %d, revents 0x%x: the server closed it or sent something", what, pr,
                 (unsigned)pfd.revents);
}

static void admission_per_ip_cap(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--max-unauth-per-ip",
                                "3",
                                "--handshake-rate",
                                "1000",
                                "--handshake-timeout",
                                "30000",
                                NULL};
    tc_client *held[3], *x, *y;

    fx_start(f, args);
    for (int i = 0; i < 3; i++)
        held[i] = fx_connect(f, NULL); /* silent: unauthenticated for the next 30 s */
    x = fx_connect(f, NULL);
    expect_closed(x, 0); /* within PROMPT_MS, far inside the 30 s deadline: refused at once */
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "refused: too many unauthenticated connections from this address");
    /* The server refuses at accept, in order: had it refused one of the first three, that close
     * would have come before the 4th's. */
    assert_open(held[0], "held[0]");
    assert_open(held[1], "held[1]");
    assert_open(held[2], "held[2]");

    /* One of them goes: its place is free again. */
    tc_disconnect(held[0], 0);
    ASSERT_LOG(f, "connection closed during handshake");
    y = fx_connect(f, NULL);
    if (!hs_admitted(y))
        fail_msg("a connection after one of the three left was refused");

    /* The others were admitted for real: one logs in, and its place is freed by the login. */
    ASSERT_TC(held[1], tc_handshake(held[1], "patient"));
    ASSERT_TC(held[1], tc_login(held[1], "patient", 5001));
    x = fx_connect(f, NULL);
    if (!hs_admitted(x))
        fail_msg("a connection after one of the three logged in was refused");
    expect_nothing_more(held[1]);
}

static void admission_rate(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--handshake-rate",
                                "2",
                                "--max-unauth-per-ip",
                                "100",
                                "--handshake-timeout",
                                "30000",
                                NULL};
    enum { N = 10, BURST = 4 };
    tc_client *c[N];
    int ok[N];
    unsigned late = 0, allowed;
    uint64_t t0, span, deadline, took;
    char verdicts[N + 1];

    fx_start(f, args);
    t0 = tc_now_ms();
    for (int i = 0; i < N; i++)
        c[i] = fx_connect(f, NULL);
    for (int i = 0; i < N; i++) {
        ok[i] = hs_admitted(c[i]);
        verdicts[i] = ok[i] ? '+' : '-';
    }
    verdicts[N] = '\0';
    /* Every accept happened within `span`: at 2 tokens/s, the bucket (4) can have grown by
     * floor(2 * span) more in the meantime -- in practice span is a few ms, so none. */
    span = tc_now_ms() - t0;
    allowed = (unsigned)(2 * span / 1000);
    for (int i = BURST; i < N; i++)
        late += (unsigned)ok[i];
    if (memcmp(verdicts, "++++", BURST) != 0 || late > allowed)
        fail_msg("admitted (+) / refused (-): %s in %llu ms; want ++++ then at most %u +", verdicts,
                 (unsigned long long)span, allowed);
    if (late == N - BURST)
        fail_msg("none of %d quick connections was refused", N);
    ASSERT_LOG(f, "refused: handshakes from this address too fast");

    /* The bucket refills at 2/s: a fresh connection every 100 ms until one is admitted. */
    deadline = tc_now_ms() + 3000;
    for (;;) {
        struct timespec gap = {0, 100 * 1000 * 1000};
        tc_client *n = fx_connect(f, NULL);
        if (hs_admitted(n))
            break;
        fx_release(f, n);
        if (tc_now_ms() >= deadline)
            fail_msg("no connection admitted within 3 s of the burst at 2 handshakes/s");
        nanosleep(&gap, NULL); /* the pace of the poll, not a guess at when it succeeds */
    }
    took = tc_now_ms() - t0;
    /* All 4 tokens went at the burst; one more takes 500 ms at 2/s. */
    if (late == 0 && took < 450)
        fail_msg("admitted again %llu ms after the burst; the bucket refills in 500 ms",
                 (unsigned long long)took);
}

/* ---- 24-25: refusals that must still be told ------------------------------------------------- */

/* The send and receive queues of the IPv4 TCP socket from local port lport to remote port rport,
 * in ESTABLISHED state, as /proc/net/tcp shows them (tx: written, not acked; rx: received, not
 * read): 0, or -1 when there is no such socket. */
static int tcp_queues(int lport, int rport, unsigned long *tx, unsigned long *rx)
{
    FILE *fp = fopen("/proc/net/tcp", "r");
    char line[512];
    int rc = -1;

    if (fp == NULL)
        return -1;
    while (rc != 0 && fgets(line, sizeof(line), fp) != NULL) {
        unsigned la, lp, ra, rp, st;
        unsigned long txq, rxq;
        if (sscanf(line, " %*u: %x:%x %x:%x %x %lx:%lx", &la, &lp, &ra, &rp, &st, &txq, &rxq) ==
                7 &&
            (int)lp == lport && (int)rp == rport && st == 1) {
            *tx = txq;
            *rx = rxq;
            rc = 0;
        }
    }
    fclose(fp);
    return rc;
}

static int local_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    return ntohs(sin.sin_port);
}

/* A refused batch in a FINAL frame: the goodbye must not swallow the reason, even when the
 * reply cannot be written at once. */
static void final_frame_with_refused_login(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--max-queued", "33554432", LOAD_ARGS, NULL};
    uint8_t frame[1024];
    size_t len, sent = 0;
    tc_client *a, *x, *full;
    mim_identity *loader;
    unsigned long tx_server = 0, rx_client = 0;
    uint64_t t0;
    unsigned rounds = 0;
    int full_port;

    fx_start(f, args);
    loader = fx_identity(f);
    a = fx_online(f, NULL, "alice", 5001);

    /* 1. A Login for a taken name, sealed FINAL: Error NAME_TAKEN, then the close. */
    x = fx_handshaken(f, NULL, "alice"); /* another key */
    ASSERT_TC(x, tc_build_login(x, "alice", 5099, TC_LOGIN_FINAL, frame, sizeof(frame), &len));
    ASSERT_TC(x, tc_send_frame(x, frame, len));
    ASSERT_VERDICT(x, tc_read_table(x, PROMPT_MS), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    assert_true(x->got_final); /* in the server's own final frame */
    expect_closed(x, 0);
    ASSERT_LOG(f, "name 'alice' is registered to another key");
    expect_nothing_more(a);

    /* 2. The same while the reply cannot be written at once: the peer stopped reading, and the
     *    server holds more for it than the kernel would take, so the Error has to wait in the
     *    server's own queue -- where closing on the FINAL frame (instead of draining) would
     *    cancel it. The load goes on until a round leaves both kernel queues of the connection
     *    as they were: what the server sent in that round (at least the loader's add, flushed
     *    with the loader's table) is then in its own queue. A second Login, sealed FINAL, is
     *    refused. */
    full = fx_online_small_window(f, "stuffed", 5002);
    expect_add(a, "stuffed", 5002, full->id->sign_pk);
    full_port = local_port(full->fd);
    t0 = tc_now_ms();
    for (;;) {
        unsigned long tx, rx, unused;
        if (tcp_queues(f->sp.port, full_port, &tx, &unused) != 0 ||
            tcp_queues(full_port, f->sp.port, &unused, &rx) != 0)
            fail_msg("no ESTABLISHED 127.0.0.1:%d <-> :%d in /proc/net/tcp", f->sp.port, full_port);
        if (rounds > 0 && tx == tx_server && rx == rx_client)
            break;
        tx_server = tx;
        rx_client = rx;
        if (rounds == LOAD_MAX_ROUNDS || tc_now_ms() - t0 > LOAD_MAX_MS)
            fail_msg("the server's kernel still takes more for stuffed after %u rounds in %llu "
                     "ms (%lu bytes queued there, %lu at stuffed)",
                     rounds, (unsigned long long)(tc_now_ms() - t0), tx, rx);
        if (load_round(f, loader, rounds++, a, "stuffed", &sent))
            fail_msg("stuffed was dropped during the load (--max-queued 32 MiB): %s",
                     sp_log_contains(&f->sp, "slow reader") ? "as a slow reader" : "see the log");
    }
    print_message("load: %zu bytes in %u rounds, %llu ms; %lu bytes in the server's kernel "
                  "queue, %lu in stuffed's\n",
                  sent, rounds, (unsigned long long)(tc_now_ms() - t0), tx_server, rx_client);
    ASSERT_TC(full,
              tc_build_login(full, "stuffed", 5002, TC_LOGIN_FINAL, frame, sizeof(frame), &len));
    ASSERT_TC(full, tc_send_frame(full, frame, len));
    /* Everything queued before it, then the Error, then the end. */
    ASSERT_VERDICT(full, tc_expect_closed(full, 10000), MIM__ERROR_CODE__ERROR_PROTOCOL);
    ASSERT_LOG(f, "stuffed offline: second Login");
    expect_del(a, "stuffed");
    expect_nothing_more(a);
}

/* A handshake up to the server's stream header with `name` in message 3; the server's verdict
 * is then tc_expect_closed's. */
static tc_client *fx_handshaken_raw(struct fx *f, const char *name)
{
    uint8_t m1[MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG];
    size_t len;
    tc_client *x = fx_connect(f, NULL);

    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, sizeof(m1)));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, name, m3, sizeof(m3), &len));
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    ASSERT_TC(x, tc_send_frame(x, x->tx_header, sizeof(x->tx_header)));
    ASSERT_TC(x, tc_hs_read_header(x, TC_TIMEOUT_MS)); /* the transport comes up first */
    return x;
}

/* No raw `byte` in the server log. */
static void assert_log_lacks_byte(struct fx *f, int byte)
{
    long at = sp_log_find_byte(&f->sp, byte);

    if (at == -2)
        fail_msg("cannot read the server log %s", f->sp.log_path);
    if (at >= 0)
        fail_msg("the server log has a raw 0x%02x byte at offset %ld", (unsigned)byte, at);
}

/* Escape sequences in the handshake name: BAD_NAME over the transport, and the admin's terminal
 * never sees the escape -- the log shows the name's bytes in hex, never the name. */
static void bad_name_error(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_handshaken_raw(f, "\x1b[31mevil"); /* ESC [ 31 m: red */
    ASSERT_VERDICT(x, tc_expect_closed(x, PROMPT_MS), MIM__ERROR_CODE__ERROR_BAD_NAME);
    ASSERT_LOG(f, "invalid name in handshake (bytes 1b5b33316d6576696c)");
    ASSERT_LOG(f, "refusing -: ERROR_BAD_NAME");
    assert_log_lacks_byte(f, 0x1b);
    /* Not even defused: the log's own filter would turn the ESC into '?' and leave the rest. */
    assert_false(sp_log_contains(&f->sp, "[31mevil"));

    /* The 8-bit CSI (0x9b), which the log's control filter does not cover. */
    x = fx_handshaken_raw(f, "\x9b"
                             "31mevil");
    ASSERT_VERDICT(x, tc_expect_closed(x, PROMPT_MS), MIM__ERROR_CODE__ERROR_BAD_NAME);
    ASSERT_LOG(f, "invalid name in handshake (bytes 9b33316d6576696c)");
    assert_log_lacks_byte(f, 0x9b);
    assert_server_healthy(f, obs);
}

/* ---- the table ------------------------------------------------------------------------------ */

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    PRESENCE_TEST(server_full),
    PRESENCE_TEST(slow_reader_dropped),
    PRESENCE_TEST(status_flood_is_rate_limited),
    PRESENCE_TEST(admission_per_ip_cap),
    PRESENCE_TEST(admission_rate),
    PRESENCE_TEST(final_frame_with_refused_login),
    PRESENCE_TEST(bad_name_error),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "integration");
}
