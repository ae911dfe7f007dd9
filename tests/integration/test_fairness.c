/* mim-presence under floods and churn, black box: the real server on loopback, attacked from
 * several 127.x source addresses (the test client binds them), one scenario per ctest entry.
 *
 * Usage: test_fairness_integration SCENARIO   (the names are in the table at the bottom)
 *
 *   flood_newcomer_logs_in   eight addresses hold every handshake slot (the default caps) and
 *                            take back each one they lose; newcomers from a ninth still log in
 *   penalty_for_idle_handshakes  an address whose idle handshakes time out in parallel is
 *                            refused for a while; another address is not
 *   flapping_is_bounded      one key logging in and out as fast as it can: refused with
 *                            SERVER_FULL past its rate, and an observer hears a bounded number
 *   flap_coalesced           a flapping peer's logout and next login: its observer hears nothing
 *   ipv6_same_prefix         two hosts of one IPv6 /64 (in a network namespace of the test's
 *                            own): one filling its cap does not lock the other out
 *
 * Every wait is bounded; every loop is bounded in count and time. */
#define _GNU_SOURCE /* unshare(CLONE_NEWNET): ipv6_same_prefix's network namespace */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>

#include "server_proc.h"
#include "test_client.h"

#define FL_MAX_CLIENTS 600
#define FL_PROMPT_MS   3000

struct fl {
    server_proc sp;
    tc_client *c[FL_MAX_CLIENTS];
    size_t n;
    mim_identity *key; /* a key several connections share (flapping) */
};

#define CHECK_TC(c, call)                                                                          \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != TC_OK)                                                                          \
            fail_msg("%s = %d: %s", #call, rc_, tc_error(c));                                      \
    } while (0)

static int fl_setup(void **state)
{
    struct fl *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    if (sp_init(&f->sp, "fairness") != 0)
        fail_msg("sp_init: %s", f->sp.err);
    assert_non_null(f->key = mim_identity_generate());
    *state = f;
    return 0;
}

/* Frees the clients, stops the server (exit status 0 required: under ASan a leak fails it) and
 * prints its log, which ctest shows when the test fails. */
static int fl_teardown(void **state)
{
    struct fl *f = *state;
    int status = 0, stopped = 0, running = f->sp.pid != 0;
    char st[64];

    for (size_t i = 0; i < f->n; i++)
        tc_free(f->c[i]);
    if (running)
        stopped = sp_stop(&f->sp, &status) == 0;
    sp_dump_log(&f->sp, stderr);
    sp_cleanup(&f->sp);
    mim_identity_free(f->key);
    free(f);
    if (running && (!stopped || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        fail_msg("on SIGTERM the server %s, want exit status 0",
                 stopped ? sp_status_str(status, st, sizeof(st)) : "did not stop");
    return 0;
}

static void fl_start(struct fl *f, const char *const *args)
{
    if (sp_start(&f->sp, args) != 0)
        fail_msg("the server did not start: %s", f->sp.err);
}

/* A client of f (freed by the teardown) connected from src, with id (NULL: a fresh key). */
static tc_client *fl_connect(struct fl *f, const char *src, mim_identity *id)
{
    tc_client *c;

    assert_true(f->n < FL_MAX_CLIENTS);
    assert_non_null(c = tc_new(id));
    f->c[f->n++] = c;
    c->src = src;
    CHECK_TC(c, tc_connect(c, f->sp.port));
    return c;
}

/* Replaces f's client c by a fresh one from the same address, unconnected. */
static tc_client *fl_renew(struct fl *f, tc_client *c)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->c[i] == c) {
            const char *src = c->src;
            tc_free(c);
            assert_non_null(f->c[i] = tc_new(NULL));
            f->c[i]->src = src;
            return f->c[i];
        }
    }
    fail_msg("fl_renew: not a client of the fixture");
    return NULL;
}

/* Sends message 1: 1 when the server answered with message 2 (admitted, now holding a
 * handshake slot), 0 when it closed the connection instead (refused at accept). */
static int hs_start(tc_client *c)
{
    uint8_t m1[MIM_KEY_LEN];
    int rc;

    CHECK_TC(c, tc_hs_msg1(c, m1));
    rc = tc_send_frame(c, m1, sizeof(m1));
    if (rc == TC_OK)
        rc = tc_hs_read_msg2(c, TC_TIMEOUT_MS);
    if (rc == TC_ECLOSED)
        return 0;
    CHECK_TC(c, rc);
    return 1;
}

/* 1 when the server has closed c (or sent it something: an idle flood connection is told
 * nothing but its close). */
static int server_closed(const tc_client *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

    return poll(&pfd, 1, 0) != 0;
}

/* ---- #3: handshake slots cannot be starved -------------------------------------------------- */

enum { FLOOD_SOURCES = 8, FLOOD_PER_SOURCE = 64, NEWCOMERS = 10, TRIES = 4 };
static const char *const flood_src[FLOOD_SOURCES] = {"127.0.0.2", "127.0.0.3", "127.0.0.4",
                                                     "127.0.0.5", "127.0.0.6", "127.0.0.7",
                                                     "127.0.0.8", "127.0.0.9"};

/* Every flood connection the server closed is opened again (one pass: a reconnect may evict
 * another flood connection, which the next pass takes back). Returns how many came back. */
static unsigned flood_refill(struct fl *f, tc_client **flood, size_t n)
{
    unsigned back = 0;

    for (size_t i = 0; i < n; i++) {
        if (!server_closed(flood[i]))
            continue;
        flood[i] = fl_renew(f, flood[i]);
        CHECK_TC(flood[i], tc_connect(flood[i], f->sp.port));
        back += (unsigned)hs_start(flood[i]);
    }
    return back;
}

/* One login attempt from 127.0.0.10: 1 when it logged in, 0 when the server closed it first. */
static int newcomer_try(struct fl *f, unsigned k)
{
    char name[32];
    tc_client *c = fl_connect(f, "127.0.0.10", NULL);
    int rc;

    snprintf(name, sizeof(name), "newcomer%u", k);
    rc = tc_handshake(c, name);
    if (rc == TC_OK)
        rc = tc_login(c, name, 5000);
    if (rc == TC_ECLOSED)
        return 0;
    CHECK_TC(c, rc);
    return 1;
}

/* The finding: 8 addresses x 64 idle handshakes fill the default 512 slots, and every newcomer
 * was refused (measured 0/40). Now a newcomer evicts the oldest handshake of the address holding
 * the most, so each of 10 newcomers logs in within 4 tries, while the flood takes back every
 * slot it loses between them. */
static void flood_newcomer_logs_in(void **state)
{
    struct fl *f = *state;
    /* The default caps; a handshake deadline long enough that the flood never times out. */
    const char *const args[] = {"--handshake-timeout", "60000", NULL};
    tc_client *flood[FLOOD_SOURCES * FLOOD_PER_SOURCE], *extra;
    unsigned ok = 0, tries = 0, worst = 0;
    uint64_t t0 = tc_now_ms();

    fl_start(f, args);
    for (size_t i = 0; i < FLOOD_SOURCES * FLOOD_PER_SOURCE; i++) {
        flood[i] = fl_connect(f, flood_src[i % FLOOD_SOURCES], NULL);
        if (!hs_start(flood[i]))
            fail_msg("flood connection %zu from %s was refused while filling", i, flood[i]->src);
    }
    /* Full: one more from a flood address is refused (that address holds as many as anyone). */
    extra = fl_connect(f, flood_src[0], NULL);
    if (hs_start(extra))
        fail_msg("a 65th handshake from %s was admitted", flood_src[0]);
    for (unsigned k = 0; k < NEWCOMERS; k++) {
        unsigned t = 0;
        int in = 0;
        while (!in && t < TRIES) {
            t++;
            in = newcomer_try(f, k);
            (void)flood_refill(f, flood, FLOOD_SOURCES * FLOOD_PER_SOURCE);
        }
        tries += t;
        ok += (unsigned)in;
        worst = t > worst ? t : worst;
        if (tc_now_ms() - t0 > 40000)
            break;
    }
    print_message("newcomers logged in: %u of %u, in %u tries (worst %u), %llu ms\n", ok, NEWCOMERS,
                  tries, worst, (unsigned long long)(tc_now_ms() - t0));
    if (ok != NEWCOMERS)
        fail_msg("under a flood of idle handshakes from 8 addresses, %u of %u newcomers logged in "
                 "(%u tries, at most %d each)",
                 ok, NEWCOMERS, tries, TRIES);
    if (!sp_wait_log(&f->sp, "evicted (127.0.0.", FL_PROMPT_MS))
        fail_msg("no flood connection was evicted");
}

/* Connections held in parallel until they time out charge their address; past --penalty-min
 * it is refused until the charge has run out. Another address is not affected. */
static void penalty_for_idle_handshakes(void **state)
{
    struct fl *f = *state;
    enum { IDLE = 8 };
    const char *const args[] = {
        "--handshake-timeout", "500", "--penalty-min", "1000", "--penalty-max", "4000", NULL};
    tc_client *idle[IDLE], *c;
    uint64_t deadline;

    fl_start(f, args);
    for (int i = 0; i < IDLE; i++) {
        idle[i] = fl_connect(f, "127.0.0.2", NULL);
        if (!hs_start(idle[i]))
            fail_msg("idle handshake %d refused before any penalty", i);
    }
    /* Each is closed at its 500 ms deadline: 8 x 0.5 s charged, capped at 4 s. */
    for (int i = 0; i < IDLE; i++)
        if (tc_expect_closed(idle[i], TC_TIMEOUT_MS) < 0)
            fail_msg("idle handshake %d not closed at its deadline: %s", i, tc_error(idle[i]));
    c = fl_connect(f, "127.0.0.2", NULL);
    if (hs_start(c))
        fail_msg("127.0.0.2 was admitted right after 8 of its handshakes timed out together");
    if (!sp_wait_log(&f->sp, "refused: this address is penalised", FL_PROMPT_MS))
        fail_msg("the refusal does not say the address is penalised");
    c = fl_connect(f, "127.0.0.3", NULL);
    if (!hs_start(c))
        fail_msg("127.0.0.3 was refused: the penalty of 127.0.0.2 spilled over");
    /* The charge runs out within 4 s: a try every 200 ms until admitted, bounded. */
    deadline = tc_now_ms() + 8000;
    for (;;) {
        struct timespec gap = {0, 200 * 1000 * 1000};
        c = fl_connect(f, "127.0.0.2", NULL);
        if (hs_start(c))
            break;
        if (tc_now_ms() >= deadline)
            fail_msg("127.0.0.2 still refused 8 s after its penalty of at most 4 s");
        nanosleep(&gap, NULL); /* the pace of the polling, not a guess at when it succeeds */
    }
}

/* ---- #8: login/logout churn --------------------------------------------------------------------
 */

/* Reads what obs is sent about `who` (whose logins and logouts are over) until `who` is offline
 * in its view and a Ping sent then is answered with nothing after it: how many adds and deletes
 * of `who` it got. (Only a delete can still be on its way, held back: while `who` is online.) */
static unsigned count_churn(tc_client *obs, const char *who)
{
    const Mim__PresenceMsg *m;
    unsigned n = 0;
    int online = 0, pinged = 0;
    uint64_t nonce = 0, deadline = tc_now_ms() + 10000;

    for (;;) {
        uint64_t now = tc_now_ms();
        if (!online && !pinged) {
            CHECK_TC(obs, tc_send_ping(obs, nonce = now));
            pinged = 1;
        }
        CHECK_TC(obs, tc_recv(obs, now >= deadline ? 0 : (int)(deadline - now), &m));
        if (m->body_case == MIM__PRESENCE_MSG__BODY_PING) {
            CHECK_TC(obs, tc_send_pong(obs, m->ping->nonce));
        } else if (m->body_case == MIM__PRESENCE_MSG__BODY_PONG && m->pong->nonce == nonce) {
            pinged = 0;
            if (!online)
                return n;
        } else if (m->body_case == MIM__PRESENCE_MSG__BODY_ADD &&
                   strcmp(m->add->peer->name, who) == 0) {
            n++;
            online = 1;
        } else if (m->body_case == MIM__PRESENCE_MSG__BODY_DEL && strcmp(m->del->name, who) == 0) {
            n++;
            online = 0;
        } else {
            char d[160];
            tc_describe(m, d, sizeof(d));
            fail_msg("the observer got %s", d);
        }
    }
}

/* The finding: 60 logins/s from one client became 120 messages to every observer. Now the key
 * may log in 20 times a minute (burst 20, the default): past that it is told SERVER_FULL, and
 * what the observer hears is bounded by twice the logins let through. */
static void flapping_is_bounded(void **state)
{
    struct fl *f = *state;
    enum { ATTEMPTS = 60 };
    unsigned in = 0, refused = 0, heard, allowed;
    uint64_t t0, took;
    tc_client *obs, *c;

    fl_start(f, NULL);
    obs = fl_connect(f, NULL, NULL);
    CHECK_TC(obs, tc_handshake(obs, "observer"));
    CHECK_TC(obs, tc_login(obs, "observer", 6000));
    t0 = tc_now_ms();
    for (int i = 0; i < ATTEMPTS && tc_now_ms() - t0 < 20000; i++) {
        int rc;
        c = fl_connect(f, NULL, f->key);
        CHECK_TC(c, tc_handshake(c, "flapper"));
        rc = tc_login(c, "flapper", 5001);
        if (rc == MIM__ERROR_CODE__ERROR_SERVER_FULL) {
            if (strstr(c->error_text, "too many logins with this key; try again in") == NULL)
                fail_msg("refused with \"%s\"", c->error_text);
            refused++;
        } else {
            CHECK_TC(c, rc);
            in++;
            CHECK_TC(c, tc_logout(c));
        }
        (void)tc_expect_closed(c, TC_TIMEOUT_MS);
    }
    took = tc_now_ms() - t0;
    /* 20 at once, then one every 3 s. */
    allowed = 20 + (unsigned)(took / 3000) + 1;
    heard = in > 0 ? count_churn(obs, "flapper") : 0;
    print_message("%u logins let in, %u refused in %llu ms; the observer heard %u adds/deletes\n",
                  in, refused, (unsigned long long)took, heard);
    if (in > allowed || heard > 2 * allowed)
        fail_msg("%d logins and logouts in %llu ms: %u let in (want <= %u), the observer heard %u "
                 "adds and deletes (want <= %u)",
                 ATTEMPTS, (unsigned long long)took, in, allowed, heard, 2 * allowed);
    if (refused == 0)
        fail_msg("none of %d quick logins with one key was refused", ATTEMPTS);
}

/* A flapping peer (its key logged in a moment ago) logs out on one connection and in on
 * another, back to back, from the same address with the same listen port: the observer holds
 * that very entry already and hears nothing; then its final logout, once. */
static void flap_coalesced(void **state)
{
    struct fl *f = *state;
    /* A long hold, so that the test does not depend on the machine's speed. */
    const char *const args[] = {"--flap-hold", "1000", NULL};
    const Mim__PresenceMsg *m;
    uint8_t frame[1024];
    size_t len;
    tc_client *obs, *a, *b;

    fl_start(f, args);
    obs = fl_connect(f, NULL, NULL);
    CHECK_TC(obs, tc_handshake(obs, "observer"));
    CHECK_TC(obs, tc_login(obs, "observer", 6000));
    for (int i = 0; i < 2; i++) { /* two logins: the second is flapping */
        a = fl_connect(f, NULL, f->key);
        CHECK_TC(a, tc_handshake(a, "flapper"));
        CHECK_TC(a, tc_login(a, "flapper", 5001));
        CHECK_TC(obs, tc_expect(obs, MIM__PRESENCE_MSG__BODY_ADD, TC_TIMEOUT_MS, &m));
        assert_string_equal(m->add->peer->name, "flapper");
        if (i == 1)
            break;
        CHECK_TC(a, tc_logout(a));
        CHECK_TC(obs, tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, TC_TIMEOUT_MS, &m));
    }
    b = fl_connect(f, NULL, f->key);
    CHECK_TC(b, tc_handshake(b, "flapper"));
    CHECK_TC(b, tc_build_login(b, "flapper", 5001, 0, frame, sizeof(frame), &len));
    CHECK_TC(a, tc_logout(a));
    CHECK_TC(b, tc_send_frame(b, frame, len));
    CHECK_TC(b, tc_read_table(b, TC_TIMEOUT_MS));
    /* The next thing the observer hears of flapper is b's logout, and only that. */
    CHECK_TC(b, tc_logout(b));
    CHECK_TC(obs, tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, TC_TIMEOUT_MS, &m));
    assert_string_equal(m->del->name, "flapper");
    CHECK_TC(obs, tc_sync(obs, TC_TIMEOUT_MS));
}

/* ---- the table ------------------------------------------------------------------------------ */

#define FAIRNESS_TEST(fn) cmocka_unit_test_setup_teardown(fn, fl_setup, fl_teardown)

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
/* ---- #4: IPv6 sources are keyed per address ------------------------------------------------ */

/* Two addresses of one /64 (a LAN: every host shares its /64, and fe80::/64). The test moves
 * into a network namespace of its own (root only; skipped elsewhere) and gives its loopback
 * both, so nothing outside the test sees them. */
#define V6_NET "fd00:6d69:6d::"

static void ipv6_same_prefix(void **state)
{
    struct fl *f = *state;
    const char *const binds[] = {V6_NET "1", NULL};
    const char *const args[] = {"--max-unauth-per-ip", "2", "--handshake-timeout", "60000", NULL};
    tc_client *c[4];

    if (unshare(CLONE_NEWNET) != 0) {
        print_message("no network namespace of our own (%s): skipped\n", strerror(errno));
        skip();
    }
    if (system("ip link set lo up && ip -6 addr add " V6_NET "1/64 dev lo nodad && "
               "ip -6 addr add " V6_NET "2/64 dev lo nodad") != 0)
        fail_msg("cannot give the namespace's loopback two addresses of one /64 (ip)");
    assert_int_equal(sp_set_bind(&f->sp, binds), 0);
    fl_start(f, args);
    for (int i = 0; i < 4; i++) {
        assert_non_null(c[i] = tc_new(NULL));
        f->c[f->n++] = c[i];
        c[i]->src = i < 3 ? V6_NET "1" : V6_NET "2";
        CHECK_TC(c[i], tc_connect_addr(c[i], V6_NET "1", f->sp.port));
    }
    /* Host 1 fills its cap of 2; a third from it is refused, as ever. */
    if (!hs_start(c[0]) || !hs_start(c[1]))
        fail_msg("host 1's first two handshakes were refused");
    if (hs_start(c[2]))
        fail_msg("a third handshake from host 1 was admitted (cap 2)");
    /* Host 2 of the same /64 is another source: admitted (it shared host 1's key before). */
    if (!hs_start(c[3]))
        fail_msg("host 2 was refused: its /64 neighbour's cap locked it out");
}

static const struct CMUnitTest tests[] = {
    FAIRNESS_TEST(flood_newcomer_logs_in), FAIRNESS_TEST(penalty_for_idle_handshakes),
    FAIRNESS_TEST(flapping_is_bounded),    FAIRNESS_TEST(flap_coalesced),
    FAIRNESS_TEST(ipv6_same_prefix),
};

int main(int argc, char **argv)
{
    size_t n = sizeof(tests) / sizeof(tests[0]);

    for (size_t i = 0; argc == 2 && i < n; i++) {
        if (strcmp(tests[i].name, argv[1]) == 0) {
            cmocka_set_test_filter(argv[1]);
            return cmocka_run_group_tests_name("fairness", tests, NULL, NULL);
        }
    }
    fprintf(stderr, "Usage: test_fairness_integration SCENARIO\nScenarios:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %s\n", tests[i].name);
    return 2;
}
