/* mim-presence, black box: the real server binary on loopback, driven by test clients that
 * speak the protocol (test_client.h), one scenario per ctest entry (presence_fixture.h says how):
 * the table and adds, deletes, status, names, ping and deadlines, shutdown, LAN discovery, the
 * listeners. Hostile input is in test_presence_hostile.c; caps, admission and refusals in
 * test_presence_limits.c.
 *
 * Usage: test_presence_integration SCENARIO   (the names are in the table at the bottom) */
#include "presence_fixture.h"

/* ---- 1-2: the table and adds -------------------------------------------------------------- */

static void table_newcomer_sees_all(void **state)
{
    struct fx *f = *state;
    tc_client *a, *b, *c;

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    assert_int_equal(a->ntable, 1); /* the table includes the newcomer itself */
    check_peer(tc_table_find(a, "alice"), "alice", 5001, a->id->sign_pk);

    b = fx_online(f, NULL, "bob", 5002);
    assert_int_equal(b->ntable, 2);

    c = fx_online(f, NULL, "carol", 5003);
    assert_int_equal(c->ntable, 3);
    check_peer(tc_table_find(c, "alice"), "alice", 5001, a->id->sign_pk);
    check_peer(tc_table_find(c, "bob"), "bob", 5002, b->id->sign_pk);
    check_peer(tc_table_find(c, "carol"), "carol", 5003, c->id->sign_pk);
    ASSERT_LOG(f, "carol online from 127.0.0.1");
}

static void add_reaches_others(void **state)
{
    struct fx *f = *state;
    tc_client *a, *b, *c;

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    b = fx_online(f, NULL, "bob", 5002);
    expect_add(a, "bob", 5002, b->id->sign_pk);
    c = fx_online(f, NULL, "carol", 5003);
    expect_add(a, "carol", 5003, c->id->sign_pk);
    expect_add(b, "carol", 5003, c->id->sign_pk);
    /* Exactly one add each, and none to the newcomer about itself. */
    expect_nothing_more(a);
    expect_nothing_more(b);
    expect_nothing_more(c);
}

/* ---- 3: deletes ------------------------------------------------------------------------- */

static void delete_on_abrupt_close(void **state)
{
    struct fx *f = *state;
    tc_client *a, *b, *c;

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    b = fx_online(f, NULL, "bob", 5002);
    c = fx_online(f, NULL, "carol", 5003);
    expect_add(a, "bob", 5002, b->id->sign_pk);
    expect_add(a, "carol", 5003, c->id->sign_pk);
    expect_add(b, "carol", 5003, c->id->sign_pk);

    tc_disconnect(b, 0); /* FIN without a final frame */
    expect_del(a, "bob");
    expect_del(c, "bob");
    tc_disconnect(c, 1); /* RST */
    expect_del(a, "carol");
    expect_nothing_more(a);
    ASSERT_LOG(f, "bob offline: connection lost");
    ASSERT_LOG(f, "carol offline");
}

static void delete_on_logout(void **state)
{
    struct fx *f = *state;
    tc_client *a, *b;
    mim_identity *bob_id;

    fx_start(f, NULL);
    bob_id = fx_identity(f);
    a = fx_online(f, NULL, "alice", 5001);
    b = fx_online(f, bob_id, "bob", 5002);
    expect_add(a, "bob", 5002, bob_id->sign_pk);

    ASSERT_TC(b, tc_logout(b));
    expect_closed(b, 0); /* a clean goodbye is not answered with an Error */
    expect_del(a, "bob");
    expect_nothing_more(a);
    ASSERT_LOG(f, "bob offline: logged out");

    /* The name stays bob's: the same key comes back. */
    b = fx_online(f, bob_id, "bob", 5005);
    expect_add(a, "bob", 5005, bob_id->sign_pk);
}

/* Others hear of a disconnect at once, not whenever the server's loop next wakes up for some
 * other reason (its 1 s sweep timer, when nothing else happens). Two in a row: a delete that
 * only rode on a timer tick could make the first one in time, never both. */
static void delete_is_prompt(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *c;
    const Mim__PresenceMsg *m;
    char name[16];

    fx_start(f, NULL);
    obs = observer_online(f);
    for (int i = 0; i < 2; i++) {
        uint64_t t0;
        int rc;
        snprintf(name, sizeof(name), "gone%d", i);
        c = fx_online(f, NULL, name, 5001);
        expect_add(obs, name, 5001, c->id->sign_pk);
        t0 = tc_now_ms();
        tc_disconnect(c, 0);
        rc = tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, 300, &m);
        if (rc == TC_ETIMEOUT) {
            rc = tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, TC_TIMEOUT_MS, &m);
            fail_msg("the delete for %s came %llu ms after its disconnect, want < 300 ms%s%s", name,
                     (unsigned long long)(tc_now_ms() - t0), rc == TC_OK ? "" : ": ",
                     rc == TC_OK ? "" : tc_error(obs));
        }
        ASSERT_TC(obs, rc);
        assert_string_equal(m->del->name, name);
    }
    expect_nothing_more(obs);
}

/* ---- 4: status ------------------------------------------------------------------------------ */

static void status_reaches_all(void **state)
{
    struct fx *f = *state;
    tc_client *a, *b, *c, *d;
    const tc_peer *p;

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    b = fx_online(f, NULL, "bob", 5002);
    c = fx_online(f, NULL, "carol", 5003);
    expect_add(a, "bob", 5002, b->id->sign_pk);
    expect_add(a, "carol", 5003, c->id->sign_pk);
    expect_add(b, "carol", 5003, c->id->sign_pk);

    ASSERT_TC(b, tc_send_status(b, MIM__STATUS__STATUS_AWAY, "in a meeting \xe2\x98\x95"));
    expect_status(a, "bob", MIM__STATUS__STATUS_AWAY, "in a meeting \xe2\x98\x95");
    expect_status(b, "bob", MIM__STATUS__STATUS_AWAY, "in a meeting \xe2\x98\x95"); /* sender */
    expect_status(c, "bob", MIM__STATUS__STATUS_AWAY, "in a meeting \xe2\x98\x95");

    /* A newcomer's table carries the status. */
    d = fx_online(f, NULL, "dave", 5004);
    p = tc_table_find(d, "bob");
    assert_non_null(p);
    assert_int_equal(p->status, MIM__STATUS__STATUS_AWAY);
    assert_string_equal(p->status_text, "in a meeting \xe2\x98\x95");

    ASSERT_TC(c, tc_send_status(c, MIM__STATUS__STATUS_BUSY, ""));
    expect_add(a, "dave", 5004, d->id->sign_pk);
    expect_status(a, "carol", MIM__STATUS__STATUS_BUSY, "");
    expect_status(d, "carol", MIM__STATUS__STATUS_BUSY, "");
    expect_add(c, "dave", 5004, d->id->sign_pk);
    expect_status(c, "carol", MIM__STATUS__STATUS_BUSY, "");
    expect_nothing_more(a);
    expect_nothing_more(d);
}

/* ---- 5-8: names ------------------------------------------------------------------------------ */

static void name_taken(void **state)
{
    struct fx *f = *state;
    tc_client *a, *x, *b;

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    x = fx_handshaken(f, NULL, "alice"); /* another key */
    ASSERT_VERDICT(x, tc_login(x, "alice", 5099), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_closed(x, 0);
    ASSERT_LOG(f, "name 'alice' is registered to another key");

    /* alice is untouched: no add, no delete, and she still hears of others. */
    expect_nothing_more(a);
    b = fx_online(f, NULL, "bob", 5002);
    expect_add(a, "bob", 5002, b->id->sign_pk);
    assert_int_equal(b->ntable, 2);
    check_peer(tc_table_find(b, "alice"), "alice", 5001, a->id->sign_pk);
}

static void session_replaced(void **state)
{
    struct fx *f = *state;
    tc_client *a1, *a2, *b;
    mim_identity *alice;

    fx_start(f, NULL);
    alice = fx_identity(f);
    a1 = fx_online(f, alice, "alice", 5001);
    b = fx_online(f, NULL, "bob", 5002);
    expect_add(a1, "bob", 5002, b->id->sign_pk);

    a2 = fx_online(f, alice, "alice", 5009); /* same key, new connection */
    assert_int_equal(a2->ntable, 2);
    assert_int_equal(tc_table_count(a2, "alice"), 1);
    check_peer(tc_table_find(a2, "alice"), "alice", 5009, alice->sign_pk);

    expect_closed(a1, MIM__ERROR_CODE__ERROR_REPLACED);
    /* bob sees the new entry as an add, and -- once the old session is gone -- no delete. */
    expect_add(b, "alice", 5009, alice->sign_pk);
    expect_nothing_more(b);
    ASSERT_LOG(f, "replaced by a new login");

    /* The new session is the live one. */
    ASSERT_TC(a2, tc_send_status(a2, MIM__STATUS__STATUS_BUSY, "back"));
    expect_status(b, "alice", MIM__STATUS__STATUS_BUSY, "back");
    expect_status(a2, "alice", MIM__STATUS__STATUS_BUSY, "back");
    ASSERT_TC(a2, tc_logout(a2));
    expect_del(b, "alice");
    expect_nothing_more(b);
}

static void registry_survives_restart(void **state)
{
    struct fx *f = *state;
    mim_identity *key_a, *key_b;
    char fp[MIM_FINGERPRINT_LEN];
    tc_client *a, *x;

    fx_start(f, NULL);
    key_a = fx_identity(f);
    key_b = fx_identity(f);
    a = fx_online(f, key_a, "alice", 5001);
    ASSERT_TC(a, tc_logout(a));
    expect_closed(a, 0);
    snprintf(fp, sizeof(fp), "%s", f->sp.fingerprint);

    ASSERT_SP(f, sp_restart(&f->sp)); /* requires exit status 0 */
    assert_string_equal(f->sp.fingerprint, fp);
    ASSERT_LOG(f, "loaded server key");

    x = fx_handshaken(f, key_b, "alice");
    assert_string_equal(x->server_fingerprint, fp);
    ASSERT_VERDICT(x, tc_login(x, "alice", 5002), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_closed(x, 0);
    a = fx_online(f, key_a, "alice", 5003);
    check_peer(tc_table_find(a, "alice"), "alice", 5003, key_a->sign_pk);
}

static void free_name_releases(void **state)
{
    struct fx *f = *state;
    mim_identity *key_a, *key_b;
    tc_client *a, *b;
    int status = -1;

    fx_start(f, NULL);
    key_a = fx_identity(f);
    key_b = fx_identity(f);
    a = fx_online(f, key_a, "alice", 5001);
    ASSERT_TC(a, tc_logout(a));
    expect_closed(a, 0);
    fx_stop_ok(f);

    ASSERT_SP(f, sp_free_name(&f->sp, "alice", &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ASSERT_SP(f, sp_free_name(&f->sp, "nobody", &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1); /* documented: not registered */

    fx_start(f, NULL);
    b = fx_online(f, key_b, "alice", 5002); /* the name is free: key B registers it */
    check_peer(tc_table_find(b, "alice"), "alice", 5002, key_b->sign_pk);
    ASSERT_LOG(f, "listen port 5002 (name registered)");
    a = fx_handshaken(f, key_a, "alice"); /* and now it is B's */
    ASSERT_VERDICT(a, tc_login(a, "alice", 5001), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_closed(a, 0);
    expect_nothing_more(b);
}

/* The admin frees a name while its owner is online: the next key to log in with it takes it,
 * and the old owner is told NAME_TAKEN (not REPLACED: it is not a reconnect). */
static void free_name_while_running(void **state)
{
    struct fx *f = *state;
    mim_identity *key_a, *key_b;
    tc_client *a, *b, *obs;
    int status = -1;

    fx_start(f, NULL);
    key_a = fx_identity(f);
    key_b = fx_identity(f);
    obs = observer_online(f);
    a = fx_online(f, key_a, "alice", 5001);
    expect_add(obs, "alice", 5001, key_a->sign_pk);

    ASSERT_SP(f, sp_free_name(&f->sp, "alice", &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    b = fx_online(f, key_b, "alice", 5002);
    assert_int_equal(tc_table_count(b, "alice"), 1);
    check_peer(tc_table_find(b, "alice"), "alice", 5002, key_b->sign_pk);
    expect_closed(a, MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_add(obs, "alice", 5002, key_b->sign_pk); /* the entry changes hands: no delete */
    expect_nothing_more(obs);

    /* And key A is now the stranger. */
    a = fx_handshaken(f, key_a, "alice");
    ASSERT_VERDICT(a, tc_login(a, "alice", 5001), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_closed(a, 0);
    expect_nothing_more(b);
}

/* ---- 9-11: ping, keepalive, deadlines --------------------------------------------------- */

static void ping_pong(void **state)
{
    struct fx *f = *state;
    Mim__PresenceMsg m[3] = {MIM__PRESENCE_MSG__INIT, MIM__PRESENCE_MSG__INIT,
                             MIM__PRESENCE_MSG__INIT};
    Mim__Ping p[3] = {MIM__PING__INIT, MIM__PING__INIT, MIM__PING__INIT};
    const Mim__PresenceMsg *mp[3], *got;
    uint8_t frame[256];
    size_t len;
    tc_client *a;

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    ASSERT_TC(a, tc_send_ping(a, 42));
    ASSERT_TC(a, tc_expect(a, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &got));
    assert_int_equal(got->pong->nonce, 42);

    /* Three pings in one batch: three pongs, in order. */
    for (int i = 0; i < 3; i++) {
        p[i].nonce = 0xfeedull << 32 | (uint64_t)i;
        m[i].body_case = MIM__PRESENCE_MSG__BODY_PING;
        m[i].ping = &p[i];
        mp[i] = &m[i];
    }
    ASSERT_TC(a, tc_seal(a, mp, 3, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    ASSERT_TC(a, tc_send_frame(a, frame, len));
    for (int i = 0; i < 3; i++) {
        ASSERT_TC(a, tc_expect(a, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &got));
        assert_int_equal(got->pong->nonce, p[i].nonce);
    }
    expect_nothing_more(a);
}

static void keepalive_drops_silent_peer(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--ping-interval", "200", NULL};
    const Mim__PresenceMsg *m;
    tc_client *quiet, *live;
    uint64_t t0, took, until;
    unsigned pings_before;

    fx_start(f, args);
    quiet = fx_online(f, NULL, "quiet", 5001); /* never reads nor answers */
    t0 = tc_now_ms();
    live = fx_online(f, NULL, "live", 5002);

    /* live answers every ping (tc_expect does) while waiting for quiet to be dropped: dead
     * after 3 silent intervals (600 ms), plus a sweep tick. */
    expect_del(live, "quiet");
    took = tc_now_ms() - t0;
    if (took < 500 || took > 4000)
        fail_msg("quiet was dropped after %llu ms, want ~600-1000", (unsigned long long)took);
    expect_closed(quiet, MIM__ERROR_CODE__ERROR_TIMEOUT);
    ASSERT_LOG(f, "quiet offline: no traffic for");

    /* live stays online for many more intervals, answering the pings it gets. */
    pings_before = live->pings_answered;
    until = tc_now_ms() + 1500;
    for (;;) {
        uint64_t now = tc_now_ms();
        int rc;
        char desc[200];
        if (now >= until)
            break;
        rc = tc_recv(live, (int)(until - now), &m);
        if (rc == TC_ETIMEOUT)
            break;
        ASSERT_TC(live, rc);
        if (m->body_case != MIM__PRESENCE_MSG__BODY_PING) {
            tc_describe(m, desc, sizeof(desc));
            fail_msg("live got %s while answering pings", desc);
        }
        ASSERT_TC(live, tc_send_pong(live, m->ping->nonce));
    }
    if (live->pings_answered - pings_before < 3)
        fail_msg("live answered %u pings in 1.5 s at a 200 ms interval, want >= 3",
                 live->pings_answered - pings_before);
    expect_nothing_more(live);
}

static void handshake_deadline(void **state)
{
    struct fx *f = *state;
    const char *const args[] = {"--handshake-timeout", "300", NULL};
    uint8_t m1[MIM_KEY_LEN];
    tc_client *silent, *half, *nologin, *ok;
    uint64_t t0, took;

    fx_start(f, args);
    /* Connected, sends nothing. */
    silent = fx_connect(f, NULL);
    t0 = tc_now_ms();
    expect_closed(silent, 0);
    took = tc_now_ms() - t0;
    if (took < 200)
        fail_msg("closed after %llu ms, before the 300 ms deadline", (unsigned long long)took);
    assert_int_equal(silent->discarded, 0);
    ASSERT_LOG(f, "not completed within 300 ms");

    /* Stops after message 2. */
    half = fx_connect(f, NULL);
    ASSERT_TC(half, tc_hs_msg1(half, m1));
    ASSERT_TC(half, tc_send_frame(half, m1, sizeof(m1)));
    ASSERT_TC(half, tc_hs_read_msg2(half, TC_TIMEOUT_MS));
    expect_closed(half, 0);

    /* Finishes the handshake but never logs in: with the transport up, it is told why. */
    nologin = fx_handshaken(f, NULL, "lazy");
    expect_closed(nologin, MIM__ERROR_CODE__ERROR_TIMEOUT);

    /* An honest client is quick enough. */
    ok = fx_online(f, NULL, "prompt", 5001);
    expect_nothing_more(ok);
}

/* ---- 13: shutdown ------------------------------------------------------------------------- */

static void sigterm_with_clients(void **state)
{
    struct fx *f = *state;
    uint8_t m1[MIM_KEY_LEN];
    tc_client *a, *b, *h;
    int status = -1;
    char st[64];

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    b = fx_online(f, NULL, "bob", 5002);
    expect_add(a, "bob", 5002, b->id->sign_pk);
    h = fx_connect(f, NULL); /* mid-handshake */
    ASSERT_TC(h, tc_hs_msg1(h, m1));
    ASSERT_TC(h, tc_send_frame(h, m1, sizeof(m1)));
    ASSERT_TC(h, tc_hs_read_msg2(h, TC_TIMEOUT_MS));

    ASSERT_SP(f, sp_signal(&f->sp, SIGTERM));
    expect_closed(a, MIM__ERROR_CODE__ERROR_SHUTTING_DOWN);
    expect_closed(b, MIM__ERROR_CODE__ERROR_SHUTTING_DOWN);
    expect_closed(h, 0);
    ASSERT_SP(f, sp_wait(&f->sp, SP_STOP_TIMEOUT_MS, &status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("on SIGTERM the server %s, want exit status 0",
                 sp_status_str(status, st, sizeof(st)));
    ASSERT_LOG(f, "received SIGTERM, shutting down");
    ASSERT_LOG(f, "stopped");
}

/* A peer that neither reads its Error nor closes cannot hold the shutdown up for longer than
 * the drain deadline (5 s). */
static void sigterm_with_silent_client(void **state)
{
    struct fx *f = *state;
    tc_client *a;
    uint64_t t0, took;
    int status = -1;
    char st[64];

    fx_start(f, NULL);
    a = fx_online(f, NULL, "alice", 5001);
    t0 = tc_now_ms();
    ASSERT_SP(f, sp_signal(&f->sp, SIGTERM));
    ASSERT_SP(f, sp_wait(&f->sp, SP_STOP_TIMEOUT_MS, &status));
    took = tc_now_ms() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("on SIGTERM the server %s, want exit status 0",
                 sp_status_str(status, st, sizeof(st)));
    if (took > 8000)
        fail_msg("the server took %llu ms to stop, want the 5 s drain deadline at most",
                 (unsigned long long)took);
    /* What it sent is still there to read. */
    expect_closed(a, MIM__ERROR_CODE__ERROR_SHUTTING_DOWN);
}

/* ---- 14-15: LAN discovery ------------------------------------------------------------------ */

static int udp_open(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    return fd;
}

static void udp_send(int fd, int port, const void *p, size_t n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
}

/* One datagram within timeout_ms: its length, or -1 when none came. */
static ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) != 1)
        return -1;
    return recv(fd, buf, cap, 0);
}

static void discovery_answers_probe(void **state)
{
    struct fx *f = *state;
    uint8_t probe[MIM_DISCOVERY_LEN], nonce[MIM_DISCOVERY_NONCE_LEN], buf[512], pk[32];
    char fp[MIM_FINGERPRINT_LEN];
    uint16_t port = 0;
    ssize_t n;
    tc_client *a;
    int fd;

    fx_start(f, NULL);
    fd = udp_open();
    mim_random_bytes(nonce, sizeof(nonce));
    mim_discovery_probe_encode(probe, nonce);
    udp_send(fd, f->sp.discovery_port, probe, sizeof(probe));
    n = udp_recv(fd, buf, sizeof(buf), TC_TIMEOUT_MS);
    close(fd);
    if (n < 0)
        fail_msg("no answer to a probe on UDP port %d", f->sp.discovery_port);
    assert_int_equal(n, MIM_DISCOVERY_LEN); /* never bigger than the probe */
    assert_int_equal(mim_discovery_answer_decode(buf, (size_t)n, nonce, &port, pk), 0);
    assert_int_equal(port, f->sp.port);
    mim_fingerprint(pk, fp);
    assert_string_equal(fp, f->sp.fingerprint);
    /* The same key the handshake proves. */
    a = fx_handshaken(f, NULL, "alice");
    assert_memory_equal(a->server_pk, pk, sizeof(pk));
}

static void discovery_ignores_malformed(void **state)
{
    struct fx *f = *state;
    uint8_t bad[5][MIM_DISCOVERY_LEN], probe[MIM_DISCOVERY_LEN], buf[512], pk[32];
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN];
    uint16_t port;
    ssize_t n;
    int fd;

    fx_start(f, NULL);
    for (int i = 0; i < 5; i++) {
        uint8_t bn[MIM_DISCOVERY_NONCE_LEN];
        memset(bn, 0xb0 + i, sizeof(bn));
        mim_discovery_probe_encode(bad[i], bn);
    }
    bad[0][3] = '!'; /* an answer, not a probe: answering it could loop two servers */
    bad[1][4] = 2;   /* unknown version */
    bad[2][6] = 1;   /* reserved byte set */
    bad[3][40] = 1;  /* padding not zero */
    fd = udp_open();
    for (int i = 0; i < 4; i++)
        udp_send(fd, f->sp.discovery_port, bad[i], MIM_DISCOVERY_LEN);
    udp_send(fd, f->sp.discovery_port, bad[4], MIM_DISCOVERY_LEN - 1); /* short */
    udp_send(fd, f->sp.discovery_port, "MIM?", 4);

    /* Datagrams on loopback are handled in order: the first answer must be to this probe. */
    mim_random_bytes(nonce, sizeof(nonce));
    mim_discovery_probe_encode(probe, nonce);
    udp_send(fd, f->sp.discovery_port, probe, sizeof(probe));
    n = udp_recv(fd, buf, sizeof(buf), TC_TIMEOUT_MS);
    if (n < 0)
        fail_msg("no answer to a valid probe after malformed ones");
    if (mim_discovery_answer_decode(buf, (size_t)n, nonce, &port, pk) != 0)
        fail_msg("the first datagram back (%zd bytes) is not the answer to the valid probe", n);
    /* And nothing trails it (a bounded wait: this checks an absence). */
    n = udp_recv(fd, buf, sizeof(buf), 300);
    close(fd);
    assert_int_equal(n, -1);
    ASSERT_LOG(f, "not a probe");
}

static void discover_tool(void **state)
{
    struct fx *f = *state;
    char to[64], out[512], want[256], st[64];
    int status = -1, fd;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);

    fx_start(f, NULL);
    snprintf(to, sizeof(to), "127.0.0.1:%d", f->sp.discovery_port);
    {
        const char *argv[] = {MIM_DISCOVER_BIN, "--to", to, "--timeout", "5000", NULL};
        ASSERT_SP(f, sp_run(&f->sp, argv, 10000, out, sizeof(out), &status));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("mim-discover %s, want 0; printed '%s'", sp_status_str(status, st, sizeof(st)),
                 out);
    snprintf(want, sizeof(want), "server 127.0.0.1 port %d fingerprint %s\n", f->sp.port,
             f->sp.fingerprint);
    assert_string_equal(out, want);

    /* Nobody on that port: exit status 1 and nothing on stdout. A just-closed socket's port is
     * unlikely to be reused within the 300 ms. */
    fd = udp_open();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);
    snprintf(to, sizeof(to), "127.0.0.1:%d", ntohs(sin.sin_port));
    {
        const char *argv[] = {MIM_DISCOVER_BIN, "--to", to, "--timeout", "300", NULL};
        ASSERT_SP(f, sp_run(&f->sp, argv, 10000, out, sizeof(out), &status));
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_string_equal(out, "");
}

/* ---- 16-17: listeners ---------------------------------------------------------------------- */

/* 1 when this host has ::1 (some containers have no IPv6, not even on loopback). */
static int have_ipv6_loopback(void)
{
    struct sockaddr_in6 sin6;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    if (fd < 0)
        return 0;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    close(fd);
    return ok;
}

/* A logged-in client connected to host (a numeric address). */
static tc_client *fx_online_via(struct fx *f, const char *host, const char *name, uint16_t port)
{
    tc_client *c = fx_client(f, NULL);

    ASSERT_TC(c, tc_connect_addr(c, host, f->sp.port));
    ASSERT_TC(c, tc_handshake(c, name));
    assert_string_equal(c->server_fingerprint, f->sp.fingerprint);
    ASSERT_TC(c, tc_login(c, name, port));
    return c;
}

/* No --bind: the server's default listens on :: (IPv6 only) and 0.0.0.0, on one port, and each
 * peer's table entry carries the address family it came from. */
static void default_dual_stack_bind(void **state)
{
    struct fx *f = *state;
    const Mim__PresenceMsg *m;
    tc_client *four, *six;
    tc_peer got;

    if (!have_ipv6_loopback())
        skip();
    ASSERT_SP(f, sp_set_bind(&f->sp, NULL));
    /* :: takes a free port, then 0.0.0.0 must get the same one: something else may grab it
     * in between (rarely), and the server then exits. Try again on another port. */
    for (int attempt = 1;; attempt++) {
        if (sp_start(&f->sp, NULL) == 0)
            break;
        if (attempt == 3 || !sp_log_contains(&f->sp, "cannot listen on 0.0.0.0"))
            fail_msg("sp_start (attempt %d): %s", attempt, f->sp.err);
    }
    ASSERT_LOG(f, "listening on :: port");
    ASSERT_LOG(f, "listening on 0.0.0.0 port");

    four = fx_online_via(f, "127.0.0.1", "four", 5004);
    six = fx_online_via(f, "::1", "six", 5006);
    assert_int_equal(six->ntable, 2);
    check_peer_at(tc_table_find(six, "four"), "four", 5004, four->id->sign_pk, loopback4, 4);
    check_peer_at(tc_table_find(six, "six"), "six", 5006, six->id->sign_pk, loopback6, 16);

    ASSERT_TC(four, tc_expect(four, MIM__PRESENCE_MSG__BODY_ADD, TC_TIMEOUT_MS, &m));
    tc_peer_from_info(&got, m->add->peer);
    check_peer_at(&got, "six", 5006, six->id->sign_pk, loopback6, 16);
    expect_nothing_more(four);
    expect_nothing_more(six);
}

/* --bind ::1 alone: IPv6 clients get in, and nothing listens on IPv4. */
static void ipv6_bind_only(void **state)
{
    struct fx *f = *state;
    const char *const binds[] = {"::1", NULL};
    tc_client *six, *four;
    int rc;

    if (!have_ipv6_loopback())
        skip();
    ASSERT_SP(f, sp_set_bind(&f->sp, binds));
    fx_start(f, NULL);
    ASSERT_LOG(f, "listening on ::1 port");
    assert_false(sp_log_contains(&f->sp, "listening on 0.0.0.0"));

    six = fx_online_via(f, "::1", "six", 5006);
    assert_int_equal(six->ntable, 1);
    check_peer_at(tc_table_find(six, "six"), "six", 5006, six->id->sign_pk, loopback6, 16);

    four = fx_client(f, NULL);
    rc = tc_connect(four, f->sp.port);
    if (rc == TC_OK)
        fail_msg("an IPv4 connection to 127.0.0.1:%d was accepted by a server bound to ::1 only",
                 f->sp.port);
    if (rc != TC_EIO || strstr(tc_error(four), "refused") == NULL)
        fail_msg("IPv4 connect = %d (%s): %s, want connection refused", rc, tc_strerror(rc),
                 tc_error(four));
    expect_nothing_more(six);
}

/* ---- the table ------------------------------------------------------------------------------ */

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    PRESENCE_TEST(table_newcomer_sees_all),
    PRESENCE_TEST(add_reaches_others),
    PRESENCE_TEST(delete_on_abrupt_close),
    PRESENCE_TEST(delete_on_logout),
    PRESENCE_TEST(delete_is_prompt),
    PRESENCE_TEST(status_reaches_all),
    PRESENCE_TEST(name_taken),
    PRESENCE_TEST(session_replaced),
    PRESENCE_TEST(registry_survives_restart),
    PRESENCE_TEST(free_name_releases),
    PRESENCE_TEST(free_name_while_running),
    PRESENCE_TEST(ping_pong),
    PRESENCE_TEST(keepalive_drops_silent_peer),
    PRESENCE_TEST(handshake_deadline),
    PRESENCE_TEST(sigterm_with_clients),
    PRESENCE_TEST(sigterm_with_silent_client),
    PRESENCE_TEST(discovery_answers_probe),
    PRESENCE_TEST(discovery_ignores_malformed),
    PRESENCE_TEST(discover_tool),
    PRESENCE_TEST(default_dual_stack_bind),
    PRESENCE_TEST(ipv6_bind_only),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "integration");
}
