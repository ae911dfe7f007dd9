/* The fixture of mim-presence's black-box scenarios (test_presence*.c): each scenario starts its
 * own server (fresh temp data dir, --port 0 --discovery-port 0, bound to 127.0.0.1 unless the test
 * says otherwise), so entries run in parallel, and drives it with test clients (test_client.h).
 * Waits are bounded: a test waits for what it expects with a timeout, and where it must show that
 * something did NOT happen it uses tc_sync (a Ping/Pong barrier: the server answers in order)
 * rather than a sleep. The teardown stops the server with SIGTERM and requires exit status 0
 * (under ASan, a leak makes that fail), and prints the server log, which ctest shows when a test
 * fails. */
#ifndef MIM_TEST_PRESENCE_FIXTURE_H
#define MIM_TEST_PRESENCE_FIXTURE_H

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

extern const uint8_t loopback4[4];
extern const uint8_t loopback6[16];

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

/* ---- the fixture (presence_fixture.c) ------------------------------------------------------- */

#define PRESENCE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int fx_setup(void **state);

int fx_teardown(void **state);

void fx_start(struct fx *f, const char *const *extra);

/* Stops the server and requires exit status 0. */
void fx_stop_ok(struct fx *f);

mim_identity *fx_identity(struct fx *f);

/* A client (freed by the teardown) using id, or a fresh identity when id is NULL. */
tc_client *fx_client(struct fx *f, mim_identity *id);

/* Frees c now and gives its slot back, for tests that go through many connections. */
void fx_release(struct fx *f, tc_client *c);

tc_client *fx_connect(struct fx *f, mim_identity *id);

/* Connects and completes the handshake, checking the server's key against the ready line. */
tc_client *fx_handshaken(struct fx *f, mim_identity *id, const char *name);

/* A logged-in client: the table has arrived. */
tc_client *fx_online(struct fx *f, mim_identity *id, const char *name, uint16_t port);

/* p is `name` as the server saw it: connected from addr (addr_len 4 or 16 bytes), just online. */
void check_peer_at(const tc_peer *p, const char *name, uint16_t port, const uint8_t pk[32],
                   const uint8_t *addr, size_t addr_len);

void check_peer(const tc_peer *p, const char *name, uint16_t port, const uint8_t pk[32]);

void expect_add(tc_client *c, const char *name, uint16_t port, const uint8_t pk[32]);

void expect_del(tc_client *c, const char *name);

void expect_status(tc_client *c, const char *name, int status, const char *text);

/* Nothing else is pending for c: a Ping gets its Pong as the very next message. */
void expect_nothing_more(tc_client *c);

/* c is closed by the server within PROMPT_MS, after an Error with code `want` (0: none). */
void expect_closed(tc_client *c, int want);

/* After an offender was dealt with: the observer is still online and hears nothing it should
 * not have, and a newcomer can still log in (and the observer hears of that). */
void assert_server_healthy(struct fx *f, tc_client *observer);

tc_client *observer_online(struct fx *f);

#endif
