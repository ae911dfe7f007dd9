/* mim-presence, black box: the real server binary on loopback, driven by test clients that
 * speak the protocol (test_client.h), one scenario per ctest entry.
 *
 * Usage: test_presence_integration SCENARIO   (the names are in the table at the bottom)
 *
 * Every test starts its own server (fresh temp data dir, --port 0 --discovery-port 0, bound to
 * 127.0.0.1 unless the test says otherwise), so entries run in parallel. Waits are bounded: a test
 * waits for what it expects with a timeout, and where it must show that something did NOT happen it
 * uses tc_sync (a Ping/Pong barrier: the server answers in order) rather than a sleep. The teardown
 * stops the server with SIGTERM and requires exit status 0 (under ASan, a leak makes that fail),
 * and prints the server log, which ctest shows when a test fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mim_discovery.h"
#include "test_client.h"
#include "scenario.h"
#include "server_proc.h"

#define FX_MAX_CLIENTS 64
#define FX_MAX_IDS     8
/* A server that closes a bad connection at once does so well inside this; the deadlines it
 * could otherwise hide behind (handshake 5 s, partial frame 10 s) are longer. */
#define PROMPT_MS 3000

static const uint8_t loopback4[4] = {127, 0, 0, 1};
static const uint8_t loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

struct fx {
    server_proc sp;
    tc_client *clients[FX_MAX_CLIENTS];
    size_t nclients;
    mim_identity *ids[FX_MAX_IDS];
    size_t nids;
    unsigned newcomers; /* names used by assert_server_healthy */
};

/* ---- assertions that say what broke ----------------------------------------------------- */

#define ASSERT_TC(c, call)                                                                         \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != TC_OK)                                                                          \
            fail_msg("%s = %d (%s): %s", #call, rc_, tc_strerror(rc_), tc_error(c));               \
    } while (0)

#define ASSERT_SP(f, call)                                                                         \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            fail_msg("%s failed: %s", #call, (f)->sp.err);                                         \
    } while (0)

#define ASSERT_LOG(f, needle)                                                                      \
    do {                                                                                           \
        if (!sp_wait_log(&(f)->sp, (needle), PROMPT_MS))                                           \
            fail_msg("the server log has no line with \"%s\"", (needle));                          \
    } while (0)

/* rc of a call that waits for the server's verdict: a Mim__ErrorCode (>0), 0 or TC_E*. */
#define ASSERT_VERDICT(c, call, want)                                                              \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != (want))                                                                         \
            fail_msg("%s = %d (%s), want %d: %s", #call, rc_,                                      \
                     rc_ > 0 ? "error code" : tc_strerror(rc_), (int)(want), tc_error(c));         \
    } while (0)

/* ---- fixture ------------------------------------------------------------------------------ */

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    if (sp_init(&f->sp, "presence") != 0)
        fail_msg("sp_init: %s", f->sp.err);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    int status = 0, stop_rc = 0, running = f->sp.pid != 0;
    char st[64], why[sizeof(f->sp.err)] = "";

    for (size_t i = 0; i < f->nclients; i++)
        tc_free(f->clients[i]);
    if (running && (stop_rc = sp_stop(&f->sp, &status)) != 0)
        snprintf(why, sizeof(why), "%s", f->sp.err);
    sp_dump_log(&f->sp, stderr);
    sp_cleanup(&f->sp);
    for (size_t i = 0; i < f->nids; i++)
        mim_identity_free(f->ids[i]);
    free(f);
    if (running) {
        if (stop_rc != 0)
            fail_msg("stopping the server failed: %s", why);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("on SIGTERM the server %s, want exit status 0",
                     sp_status_str(status, st, sizeof(st)));
    }
    return 0;
}

static void fx_start(struct fx *f, const char *const *extra)
{
    ASSERT_SP(f, sp_start(&f->sp, extra));
}

/* Stops the server and requires exit status 0. */
static void fx_stop_ok(struct fx *f)
{
    int status = 0;
    char st[64];

    ASSERT_SP(f, sp_stop(&f->sp, &status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("on SIGTERM the server %s, want exit status 0",
                 sp_status_str(status, st, sizeof(st)));
}

static mim_identity *fx_identity(struct fx *f)
{
    mim_identity *id;

    assert_true(f->nids < FX_MAX_IDS);
    id = mim_identity_generate();
    assert_non_null(id);
    f->ids[f->nids++] = id;
    return id;
}

/* A client (freed by the teardown) using id, or a fresh identity when id is NULL. */
static tc_client *fx_client(struct fx *f, mim_identity *id)
{
    tc_client *c;

    assert_true(f->nclients < FX_MAX_CLIENTS);
    c = tc_new(id);
    assert_non_null(c);
    f->clients[f->nclients++] = c;
    return c;
}

/* Frees c now and gives its slot back, for tests that go through many connections. */
static void fx_release(struct fx *f, tc_client *c)
{
    for (size_t i = 0; i < f->nclients; i++) {
        if (f->clients[i] == c) {
            f->clients[i] = f->clients[--f->nclients];
            tc_free(c);
            return;
        }
    }
    fail_msg("fx_release: not a fixture client");
}

static tc_client *fx_connect(struct fx *f, mim_identity *id)
{
    tc_client *c = fx_client(f, id);
    ASSERT_TC(c, tc_connect(c, f->sp.port));
    return c;
}

/* Connects and completes the handshake, checking the server's key against the ready line. */
static tc_client *fx_handshaken(struct fx *f, mim_identity *id, const char *name)
{
    tc_client *c = fx_connect(f, id);
    ASSERT_TC(c, tc_handshake(c, name));
    assert_string_equal(c->server_fingerprint, f->sp.fingerprint);
    return c;
}

/* A logged-in client: the table has arrived. */
static tc_client *fx_online(struct fx *f, mim_identity *id, const char *name, uint16_t port)
{
    tc_client *c = fx_handshaken(f, id, name);
    ASSERT_TC(c, tc_login(c, name, port));
    return c;
}

/* p is `name` as the server saw it: connected from addr (addr_len 4 or 16 bytes), just online. */
static void check_peer_at(const tc_peer *p, const char *name, uint16_t port, const uint8_t pk[32],
                          const uint8_t *addr, size_t addr_len)
{
    if (p == NULL)
        fail_msg("%s is missing", name);
    assert_string_equal(p->name, name);
    assert_int_equal(p->addr_len, addr_len);
    assert_memory_equal(p->addr, addr, addr_len);
    assert_int_equal(p->port, port);
    assert_memory_equal(p->identity_pk, pk, MIM_KEY_LEN);
    assert_int_equal(p->status, MIM__STATUS__STATUS_AVAILABLE);
    assert_string_equal(p->status_text, "");
}

static void check_peer(const tc_peer *p, const char *name, uint16_t port, const uint8_t pk[32])
{
    check_peer_at(p, name, port, pk, loopback4, sizeof(loopback4));
}

static void expect_add(tc_client *c, const char *name, uint16_t port, const uint8_t pk[32])
{
    const Mim__PresenceMsg *m;
    tc_peer p;

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_ADD, TC_TIMEOUT_MS, &m));
    tc_peer_from_info(&p, m->add->peer);
    check_peer(&p, name, port, pk);
}

static void expect_del(tc_client *c, const char *name)
{
    const Mim__PresenceMsg *m;

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_DEL, TC_TIMEOUT_MS, &m));
    assert_string_equal(m->del->name, name);
}

static void expect_status(tc_client *c, const char *name, int status, const char *text)
{
    const Mim__PresenceMsg *m;

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_STATUS, TC_TIMEOUT_MS, &m));
    assert_string_equal(m->status->name, name);
    assert_int_equal(m->status->status, status);
    assert_string_equal(m->status->text, text);
}

/* Nothing else is pending for c: a Ping gets its Pong as the very next message. */
static void expect_nothing_more(tc_client *c)
{
    ASSERT_TC(c, tc_sync(c, TC_TIMEOUT_MS));
}

/* c is closed by the server within PROMPT_MS, after an Error with code `want` (0: none). */
static void expect_closed(tc_client *c, int want)
{
    ASSERT_VERDICT(c, tc_expect_closed(c, PROMPT_MS), want);
}

/* After an offender was dealt with: the observer is still online and hears nothing it should
 * not have, and a newcomer can still log in (and the observer hears of that). */
static void assert_server_healthy(struct fx *f, tc_client *observer)
{
    char name[32];
    tc_client *n;

    expect_nothing_more(observer);
    snprintf(name, sizeof(name), "newcomer%u", ++f->newcomers);
    n = fx_online(f, NULL, name, 7000);
    assert_non_null(tc_table_find(n, "observer"));
    expect_add(observer, name, 7000, n->id->sign_pk);
    expect_nothing_more(observer);
}

static tc_client *observer_online(struct fx *f)
{
    return fx_online(f, NULL, "observer", 6000);
}

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

/* ---- 12: hostile input ------------------------------------------------------------------- */

static void hostile_oversized_length(void **state)
{
    struct fx *f = *state;
    uint8_t big[2 + 1025] = {0x04, 0x01}; /* 1025: one over the handshake cap */
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, "\xff\xff", 2));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);

    x = fx_connect(f, NULL);
    (void)tc_send_raw(x, big, sizeof(big)); /* the server may close before taking it all */
    expect_closed(x, 0);
    ASSERT_LOG(f, "frame length over the limit");
    assert_server_healthy(f, obs);
}

static void hostile_garbage(void **state)
{
    struct fx *f = *state;
    static const char http[] = "GET / HTTP/1.1\r\nHost: mim\r\n\r\n";
    uint8_t junk[100];
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, http, sizeof(http) - 1));
    expect_closed(x, 0);

    /* A well-formed frame of 98 random bytes where message 1 (32 bytes) belongs. */
    mim_random_bytes(junk, sizeof(junk));
    junk[0] = 0;
    junk[1] = sizeof(junk) - 2;
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, junk, sizeof(junk)));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "handshake message 1 is 98 bytes");
    assert_server_healthy(f, obs);
}

static void hostile_truncated_frame(void **state)
{
    struct fx *f = *state;
    uint8_t m1[MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG + 2];
    size_t len;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Message 1 minus its last byte, then EOF. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_raw(x, "\x00\x20", 2));
    ASSERT_TC(x, tc_send_raw(x, m1, sizeof(m1) - 1));
    ASSERT_TC(x, tc_shutdown_write(x));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "connection ended inside a frame");

    /* Message 3 minus its last byte, then EOF: no stream header may come back. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, sizeof(m1)));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3 + 2, sizeof(m3) - 2, &len));
    m3[0] = (uint8_t)(len >> 8);
    m3[1] = (uint8_t)len;
    ASSERT_TC(x, tc_send_raw(x, m3, len + 2 - 1));
    ASSERT_TC(x, tc_shutdown_write(x));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    assert_server_healthy(f, obs);
}

static void hostile_dribbled_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t m1[2 + MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG + 2], hdr[2 + MIM_STREAM_HEADER_LEN];
    uint8_t login[1024 + 2];
    size_t len;
    tc_client *obs, *d;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Every byte of the handshake and the login in its own send(): a correct peer on a bad
     * network. This one must succeed. */
    d = fx_connect(f, NULL);
    ASSERT_TC(d, tc_hs_msg1(d, m1 + 2));
    m1[0] = 0;
    m1[1] = MIM_KEY_LEN;
    ASSERT_TC(d, tc_send_dribble(d, m1, sizeof(m1), 1000));
    ASSERT_TC(d, tc_hs_read_msg2(d, TC_TIMEOUT_MS)); /* the server answered message 1 */
    assert_string_equal(d->server_fingerprint, f->sp.fingerprint);

    ASSERT_TC(d, tc_hs_msg3(d, "dribbler", m3 + 2, sizeof(m3) - 2, &len));
    m3[0] = (uint8_t)(len >> 8);
    m3[1] = (uint8_t)len;
    ASSERT_TC(d, tc_send_dribble(d, m3, len + 2, 500));
    hdr[0] = 0;
    hdr[1] = MIM_STREAM_HEADER_LEN;
    memcpy(hdr + 2, d->tx_header, MIM_STREAM_HEADER_LEN);
    ASSERT_TC(d, tc_send_dribble(d, hdr, sizeof(hdr), 500));
    ASSERT_TC(d, tc_hs_read_header(d, TC_TIMEOUT_MS));

    ASSERT_TC(d, tc_build_login(d, "dribbler", 5005, 0, login + 2, sizeof(login) - 2, &len));
    login[0] = (uint8_t)(len >> 8);
    login[1] = (uint8_t)len;
    ASSERT_TC(d, tc_send_dribble(d, login, len + 2, 500));
    ASSERT_TC(d, tc_read_table(d, TC_TIMEOUT_MS));
    assert_int_equal(d->ntable, 2);
    check_peer(tc_table_find(d, "dribbler"), "dribbler", 5005, d->id->sign_pk);
    expect_add(obs, "dribbler", 5005, d->id->sign_pk);
    expect_nothing_more(d);
    assert_server_healthy(f, obs);
}

static void hostile_wrong_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t m1[MIM_KEY_LEN + 1], m3[MIM_NOISE_MAX_MSG];
    size_t len;
    tc_client *obs, *x;
    mim_identity *other;

    fx_start(f, NULL);
    obs = observer_online(f);
    other = fx_identity(f);

    /* Message 1 one byte too long, and one byte too short. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    m1[MIM_KEY_LEN] = 0;
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN + 1));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "handshake message 1 is 33 bytes, not 32");
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN - 1));
    expect_closed(x, 0);

    /* Message 3 with one bit flipped: it must not decrypt, and no stream header comes back. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3, sizeof(m3), &len));
    m3[len / 2] ^= 0x10;
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "handshake message 3 rejected");

    /* Message 3 whose payload claims another identity than the one that signed our Noise
     * static key. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    mim_identity_free(x->id); /* x owned it; `other` is the fixture's */
    x->id = other;
    x->owns_id = 0;
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3, sizeof(m3), &len));
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "static key not signed by the identity key");

    /* A stream header of the wrong size. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3, sizeof(m3), &len));
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    ASSERT_TC(x, tc_send_frame(x, x->tx_header, MIM_STREAM_HEADER_LEN - 1));
    expect_closed(x, 0);
    ASSERT_LOG(f, "stream header is 23 bytes");
    assert_server_healthy(f, obs);
}

static void hostile_login_before_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t login[1024];
    size_t len;
    tc_client *obs, *sizer, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Learn the exact size of a real login frame... */
    sizer = fx_handshaken(f, NULL, "mallory");
    ASSERT_TC(sizer, tc_build_login(sizer, "mallory", 5666, 0, login, sizeof(login), &len));
    tc_disconnect(sizer, 0);
    /* ...and send that many random bytes as the very first frame. */
    mim_random_bytes(login, len);
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_frame(x, login, len));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);

    /* A valid encrypted message that is not a Login, right after the handshake. */
    x = fx_handshaken(f, NULL, "mallory");
    ASSERT_TC(x, tc_send_ping(x, 1));
    expect_closed(x, MIM__ERROR_CODE__ERROR_PROTOCOL);
    ASSERT_LOG(f, "expected Login first");
    assert_server_healthy(f, obs);
}

static void hostile_zero_length_frame(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, "\x00\x00", 2));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "empty frame");

    /* From a peer that is online: closed, and the others told. */
    x = fx_online(f, NULL, "zero", 5001);
    expect_add(obs, "zero", 5001, x->id->sign_pk);
    ASSERT_TC(x, tc_send_raw(x, "\x00\x00", 2));
    expect_closed(x, 0);
    expect_del(obs, "zero");
    assert_server_healthy(f, obs);
}

static void hostile_tampered_transport(void **state)
{
    struct fx *f = *state;
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    const Mim__PresenceMsg *mp = &m, *got;
    uint8_t frame[256];
    size_t len;
    tc_client *obs, *t;

    fx_start(f, NULL);
    obs = observer_online(f);
    m.body_case = MIM__PRESENCE_MSG__BODY_PING;
    m.ping = &ping;
    ping.nonce = 7;

    /* One ciphertext bit flipped. */
    t = fx_online(f, NULL, "tamper", 5001);
    expect_add(obs, "tamper", 5001, t->id->sign_pk);
    ASSERT_TC(t, tc_seal(t, &mp, 1, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    frame[len / 2] ^= 0x01;
    ASSERT_TC(t, tc_send_frame(t, frame, len));
    expect_closed(t, 0);
    expect_del(obs, "tamper");
    ASSERT_LOG(f, "tamper offline: decryption failed");

    /* A replayed frame: the first copy is answered, the second closes the connection. */
    t = fx_online(f, NULL, "replay", 5002);
    expect_add(obs, "replay", 5002, t->id->sign_pk);
    ASSERT_TC(t, tc_seal(t, &mp, 1, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    ASSERT_TC(t, tc_send_frame(t, frame, len));
    ASSERT_TC(t, tc_expect(t, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &got));
    assert_int_equal(got->pong->nonce, 7);
    ASSERT_TC(t, tc_send_frame(t, frame, len));
    expect_closed(t, 0);
    expect_del(obs, "replay");

    /* A transport frame shorter than the secretstream overhead. */
    t = fx_online(f, NULL, "short", 5003);
    expect_add(obs, "short", 5003, t->id->sign_pk);
    ASSERT_TC(t, tc_send_frame(t, frame, MIM_STREAM_ABYTES - 1));
    expect_closed(t, 0);
    expect_del(obs, "short");
    assert_server_healthy(f, obs);
}

static void hostile_bad_login(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_handshaken(f, NULL, "forger");
    ASSERT_VERDICT(x, tc_login_ex(x, "forger", 5001, TC_LOGIN_BAD_SIG),
                   MIM__ERROR_CODE__ERROR_BAD_SIGNATURE);
    expect_closed(x, 0);
    ASSERT_LOG(f, "login signature does not verify");

    /* A Login for another name than the handshake's. */
    x = fx_handshaken(f, NULL, "carol");
    ASSERT_VERDICT(x, tc_login(x, "dave", 5001), MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_closed(x, 0);
    ASSERT_LOG(f, "login name differs from handshake");

    /* A second Login on a session already online. */
    x = fx_online(f, NULL, "twice", 5002);
    expect_add(obs, "twice", 5002, x->id->sign_pk);
    ASSERT_VERDICT(x, tc_login(x, "twice", 5002), MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_closed(x, 0);
    expect_del(obs, "twice");
    assert_server_healthy(f, obs); /* and nobody heard of forger or dave */
}

static void hostile_bad_status(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;
    char longtext[MIM_STATUS_TEXT_MAX + 2];

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_online(f, NULL, "noisy", 5001);
    expect_add(obs, "noisy", 5001, x->id->sign_pk);
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_AWAY, longtext));
    expect_closed(x, MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_del(obs, "noisy"); /* and no status update */

    x = fx_online(f, NULL, "escape", 5002);
    expect_add(obs, "escape", 5002, x->id->sign_pk);
    ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_AWAY, "\x1b[2Jgotcha"));
    expect_closed(x, MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_del(obs, "escape");
    ASSERT_LOG(f, "malformed message");
    assert_server_healthy(f, obs);
}

/* Names the server refuses, sent in message 3: with the transport up it says BAD_NAME. */
static void hostile_bad_name(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        " lead",                             /* space at an end */
        "tab\there",                         /* control character */
        "zero\xe2\x80\x8bwidth",             /* U+200B zero-width space */
        "\xc3\x28",                          /* not UTF-8 */
        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 characters */
        "",                                  /* empty */
    };
    uint8_t m1[MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG];
    size_t len;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        x = fx_connect(f, NULL);
        ASSERT_TC(x, tc_hs_msg1(x, m1));
        ASSERT_TC(x, tc_send_frame(x, m1, sizeof(m1)));
        ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
        ASSERT_TC(x, tc_hs_msg3(x, bad[i], m3, sizeof(m3), &len));
        ASSERT_TC(x, tc_send_frame(x, m3, len));
        ASSERT_TC(x, tc_send_frame(x, x->tx_header, sizeof(x->tx_header)));
        ASSERT_TC(x, tc_hs_read_header(x, TC_TIMEOUT_MS));
        if (tc_expect_closed(x, PROMPT_MS) != MIM__ERROR_CODE__ERROR_BAD_NAME)
            fail_msg("name #%zu (\"%s\"): want Error BAD_NAME then close, got %d: %s", i, bad[i],
                     x->error_code, tc_error(x));
    }
    assert_server_healthy(f, obs);
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

/* ---- 21: frame caps and deadlines ------------------------------------------------------------ */

static void prelogin_frame_cap(void **state)
{
    struct fx *f = *state;
    enum { NPINGS = 200 };
    Mim__PresenceMsg m[NPINGS];
    Mim__Ping p[NPINGS];
    const Mim__PresenceMsg *mp[NPINGS], *got;
    static uint8_t frame[8192];
    size_t len;
    tc_client *obs, *x, *y;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Transport up, no Login yet: the 1024-byte cap still holds. The length alone must do it:
     * with no body sent, a server that took the length would wait (and we would time out). */
    x = fx_handshaken(f, NULL, "eager");
    ASSERT_TC(x, tc_send_raw(x, "\x07\xd0", 2)); /* 2000 */
    expect_closed(x, 0);
    ASSERT_LOG(f, "frame length over the limit");

    /* Logged in, the same 2000 bytes are a frame like any other: a batch of pings. */
    y = fx_online(f, NULL, "bigbatch", 5001);
    expect_add(obs, "bigbatch", 5001, y->id->sign_pk);
    for (int i = 0; i < NPINGS; i++) {
        mim__presence_msg__init(&m[i]);
        mim__ping__init(&p[i]);
        p[i].nonce = 0x5eed000000000000ull | (uint64_t)i;
        m[i].body_case = MIM__PRESENCE_MSG__BODY_PING;
        m[i].ping = &p[i];
        mp[i] = &m[i];
    }
    ASSERT_TC(y, tc_seal(y, mp, NPINGS, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    if (len < 2000)
        fail_msg("the batch of %d pings is %zu bytes, want >= 2000", NPINGS, len);
    ASSERT_TC(y, tc_send_frame(y, frame, len));
    for (int i = 0; i < NPINGS; i++) {
        ASSERT_TC(y, tc_expect(y, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &got));
        assert_int_equal(got->pong->nonce, p[i].nonce);
    }
    expect_nothing_more(y);
    assert_server_healthy(f, obs);
}

/* A frame begun and never finished: cut after 10 s (the server checks about once a second). */
static void frame_completion_deadline(void **state)
{
    struct fx *f = *state;
    uint8_t part[2 + 10] = {0, 100};
    const Mim__PresenceMsg *m;
    tc_client *obs, *x;
    uint64_t t0, took;

    fx_start(f, NULL);
    obs = observer_online(f);
    x = fx_online(f, NULL, "stalled", 5001);
    expect_add(obs, "stalled", 5001, x->id->sign_pk);

    mim_random_bytes(part + 2, sizeof(part) - 2);
    ASSERT_TC(x, tc_send_raw(x, part, sizeof(part))); /* 12 of 102 bytes, then nothing */
    t0 = tc_now_ms();
    ASSERT_TC(obs, tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, 15000, &m));
    took = tc_now_ms() - t0;
    assert_string_equal(m->del->name, "stalled");
    if (took < 9000)
        fail_msg("the partial frame was cut after %llu ms, before its 10 s",
                 (unsigned long long)took);
    expect_closed(x, 0);
    ASSERT_LOG(f, "stalled offline: frame not completed within 10000 ms");
    assert_server_healthy(f, obs);
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

#define PRESENCE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

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
    PRESENCE_TEST(hostile_oversized_length),
    PRESENCE_TEST(hostile_garbage),
    PRESENCE_TEST(hostile_truncated_frame),
    PRESENCE_TEST(hostile_dribbled_handshake),
    PRESENCE_TEST(hostile_wrong_handshake),
    PRESENCE_TEST(hostile_login_before_handshake),
    PRESENCE_TEST(hostile_zero_length_frame),
    PRESENCE_TEST(hostile_tampered_transport),
    PRESENCE_TEST(hostile_bad_login),
    PRESENCE_TEST(hostile_bad_status),
    PRESENCE_TEST(hostile_bad_name),
    PRESENCE_TEST(sigterm_with_clients),
    PRESENCE_TEST(sigterm_with_silent_client),
    PRESENCE_TEST(discovery_answers_probe),
    PRESENCE_TEST(discovery_ignores_malformed),
    PRESENCE_TEST(discover_tool),
    PRESENCE_TEST(default_dual_stack_bind),
    PRESENCE_TEST(ipv6_bind_only),
    PRESENCE_TEST(server_full),
    PRESENCE_TEST(slow_reader_dropped),
    PRESENCE_TEST(status_flood_is_rate_limited),
    PRESENCE_TEST(prelogin_frame_cap),
    PRESENCE_TEST(frame_completion_deadline),
    PRESENCE_TEST(admission_per_ip_cap),
    PRESENCE_TEST(admission_rate),
    PRESENCE_TEST(final_frame_with_refused_login),
    PRESENCE_TEST(bad_name_error),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "integration");
}
