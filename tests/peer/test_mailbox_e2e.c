/* End-to-end tests of the sealed mailbox (issue 14) with real processes: mim-presence and
 * `mim --json` peers driven through pipes (mim_proc.h, mailbox_env.h), waiting on their events,
 * never sleeping. Each scenario is its own ctest entry (peer/mailbox_<name>):
 *
 *   deliver_once   alice writes to bob -- registered, never met, offline -- and gets
 *                  `deposited`; she quits; bob starts and gets the message exactly once; alice
 *                  starts later and gets `delivered` (bob's sealed receipt, from her mailbox)
 *   server_killed  the server SIGKILLed right after a deposit's `deposited`, restarted on the
 *                  same data dir: bob still gets the message
 *   restarts       bob offline, alice restarted (once SIGKILLed), bob SIGKILLed right after his
 *                  messages, both restarted again, with and without the other online: every
 *                  message shown exactly once, counted over every run and in the history
 *   old_peer       a peer of the version before the mailbox (the tests' raw presence client:
 *                  no Login feature bit) stays logged in through mailbox traffic and never gets
 *                  a new message kind, even with mail waiting for it */
#include "mailbox_env.h"
#include "test_client.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The PresenceMsg arms of issue 14 are 11..18 (docs/PROTOCOL.md): a peer that did not set the
 * Login feature bit must never get one. */
#define FIRST_MAILBOX_ARM 11

/* A message of p with this id: it must come within WAIT_MS; returns its text. */
static const char *expect_message(mp *p, const char *id, const char *from)
{
    json_t *msg = mp_expect(p, 0, "message", "id", id);
    assert_string_equal(sfield(msg, "from"), from);
    return sfield(msg, "text");
}

/* Alice writes to bob, registered but never met and offline; bob gets it once; alice, started
 * after bob has gone again, gets `delivered`. */
static void test_deliver_once(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[MB_ID_LEN], st[32];

    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "sealed for you", "m1", id);
    assert_int_equal(mb_history_count(a, "bob", id, st), 1);
    assert_string_equal(st, "deposited");
    assert_int_equal(mp_count(a, "sent", "id", id), 0);
    assert_int_equal(mb_mailbox_rows(f), 1);
    mp_quit(a);

    mp_restart(b, f->srv.port);
    assert_string_equal(expect_message(b, id, "alice"), "sealed for you");
    /* Bob took his item and deposited his sealed receipt for alice in its place. */
    assert_true(mb_wait_mailbox_rows(f, 1, WAIT_MS));
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    assert_true(mb_wait_mailbox_to(f, "alice", 1, WAIT_MS));
    round_trip(b, "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    assert_int_equal(mb_history_count(b, "alice", id, NULL), 1);
    mp_quit(b);

    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "delivered", "id", id);
    assert_int_equal(mb_history_count(a, "bob", id, st), 1);
    assert_string_equal(st, "delivered");
    assert_true(mb_wait_mailbox_rows(f, 0, WAIT_MS));
    round_trip(a, "w");
    assert_int_equal(mp_count(a, "delivered", "id", id), 1);
    mp_quit(a);
}

/* The server is SIGKILLed right after it acknowledged a deposit: the deposit was committed
 * before the acknowledgement, so bob still gets the message from the restarted server. */
static void test_server_killed(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[MB_ID_LEN];

    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "survives the crash", "k1", id);
    mb_server_kill_restart(f);
    assert_int_equal(mb_mailbox_rows(f), 1);
    mp_quit(a); /* not there to send it directly: only the mailbox can deliver it */

    mp_restart(b, f->srv.port);
    assert_string_equal(expect_message(b, id, "alice"), "survives the crash");
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    round_trip(b, "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    assert_int_equal(mb_history_count(b, "alice", id, NULL), 1);
    mp_quit(b);
}

#define NMSG 3

/* Adds p's `message` events of each id to seen[] (before a restart drops them). */
static void tally(const mp *p, char ids[NMSG][MB_ID_LEN], size_t seen[NMSG])
{
    for (size_t i = 0; i < NMSG; i++)
        seen[i] += mp_count(p, "message", "id", ids[i]);
}

/* Bob's next run: the messages of the run before are counted (a restart drops them), then he
 * starts again. With nothing left for him at the server (his mailbox empty) and a round trip
 * done, every message of this run has come. */
static void bob_run(fixture *f, mp *b, char ids[NMSG][MB_ID_LEN], size_t seen[NMSG])
{
    tally(b, ids, seen);
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "presence", "state", "connected");
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    round_trip(b, "w");
}

/* alice comes and goes while bob is away, once SIGKILLed: her messages stay deposited and are
 * not deposited again. */
static void alice_comes_and_goes(fixture *f, mp *a)
{
    mp_quit(a);
    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "presence", "state", "connected");
    mp_kill9(a);
    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "presence", "state", "connected");
    round_trip(a, "w");
    assert_int_equal(mp_count(a, "deposited", NULL, NULL), 0);
    assert_int_equal(mb_mailbox_rows(f), NMSG);
    mp_quit(a);
}

/* Bob offline, alice and bob restarted several times, once each SIGKILLed: every message is
 * shown exactly once over all of bob's runs, and his history holds it once. */
static void test_restarts(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char ids[NMSG][MB_ID_LEN], tag[8], text[16];
    size_t seen[NMSG] = {0};

    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    for (size_t i = 0; i < NMSG; i++) {
        snprintf(tag, sizeof(tag), "r%zu", i);
        snprintf(text, sizeof(text), "letter %zu", i);
        mb_send_deposited(a, "bob", text, tag, ids[i]);
    }
    alice_comes_and_goes(f, a);

    /* bob gets them and is killed at once, maybe before he told the server he took them. */
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", ids[NMSG - 1]);
    mp_kill9(b);
    bob_run(f, b, ids, seen);
    mp_quit(b);
    bob_run(f, b, ids, seen);

    /* alice meets bob: her messages are delivered (receipt or direct), bob sees nothing new. */
    mp_restart(a, f->srv.port);
    for (size_t i = 0; i < NMSG; i++)
        mp_expect(a, 0, "delivered", "id", ids[i]);
    round_trip(b, "w2");
    mp_quit(a);
    mp_quit(b);
    bob_run(f, b, ids, seen);
    tally(b, ids, seen);
    for (size_t i = 0; i < NMSG; i++) {
        if (seen[i] != 1)
            fail_msg("message %zu (%s) was shown %zu times over bob's runs", i, ids[i], seen[i]);
        assert_int_equal(mb_history_count(b, "alice", ids[i], NULL), 1);
    }
    mp_quit(b);
}

/* Reads what the old client gets until a Ping round trip (tc_sync) completes, failing the test
 * on a mailbox arm, an Error or a closed connection. */
static void old_peer_drain(tc_client *c)
{
    const Mim__PresenceMsg *m;
    int rc;

    while ((rc = tc_recv(c, 300, &m)) == TC_OK) {
        char what[128];
        tc_describe(m, what, sizeof(what));
        if ((int)m->body_case >= FIRST_MAILBOX_ARM || m->body_case == MIM__PRESENCE_MSG__BODY_ERROR)
            fail_msg("the old peer got %s", what);
        if (m->body_case == MIM__PRESENCE_MSG__BODY_PING)
            assert_int_equal(tc_send_pong(c, m->ping->nonce), TC_OK);
    }
    assert_int_equal(rc, TC_ETIMEOUT);
    if (tc_sync(c, TC_TIMEOUT_MS) != TC_OK)
        fail_msg("the old peer's connection: %s", tc_error(c));
}

/* An old peer next to mailbox traffic: logged in all along, never a new arm, never an error;
 * mail deposited for it waits at the server and is not pushed to it at its next login. */
static void test_old_peer(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    mim_identity *carol_id = mim_identity_generate(); /* both of carol's connections show it */
    tc_client *carol, *carol2;
    char id[MB_ID_LEN], id_c[MB_ID_LEN];

    assert_non_null(carol_id);
    carol = tc_new(carol_id);
    assert_non_null(carol);
    assert_int_equal(tc_connect(carol, f->srv.port), TC_OK);
    assert_int_equal(tc_handshake(carol, "carol"), TC_OK);
    assert_int_equal(tc_login(carol, "carol", 9), TC_OK);

    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "for bob", "o1", id);
    mp_restart(b, f->srv.port);
    expect_message(b, id, "alice");
    mp_expect(a, 0, "delivered", "id", id);
    old_peer_drain(carol);

    /* Mail for the old peer itself: deposited while it is away, never pushed to it. */
    assert_int_equal(tc_logout(carol), TC_OK);
    mp_expect(a, 0, "offline", "name", "carol");
    mb_send_deposited(a, "carol", "for carol", "o2", id_c);
    carol2 = tc_new(carol_id);
    assert_non_null(carol2);
    assert_int_equal(tc_connect(carol2, f->srv.port), TC_OK);
    assert_int_equal(tc_handshake(carol2, "carol"), TC_OK);
    assert_int_equal(tc_login(carol2, "carol", 9), TC_OK);
    old_peer_drain(carol2);
    assert_true(mb_wait_mailbox_to(f, "carol", 1, WAIT_MS));
    mp_quit(a);
    mp_quit(b);
    old_peer_drain(carol2);
    tc_free(carol);
    tc_free(carol2);
    mim_identity_free(carol_id);
}

static const pe_test tests[] = {
    PE_SCENARIO(deliver_once),
    PE_SCENARIO(server_killed),
    PE_SCENARIO(restarts),
    PE_SCENARIO(old_peer),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "mailbox");
}
