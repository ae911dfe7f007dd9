/* The shared mailbox of a cluster (issue 18), black box: three nats-server processes
 * (nats_cluster.h), two mim-presence servers with --cluster, test clients that log in with the
 * mailbox feature. The letters are opaque bytes (the servers never open them). One scenario per
 * ctest entry (cluster/<scenario>):
 *
 *   mail_shared      a letter deposited through s0 is fetched through s1, in deposit order;
 *                    MailTaken through s1 deletes it for s0 too
 *   mail_limits      the per-recipient count is the cluster's: with --mailbox-max-count 2, one
 *                    letter through s0 and one through s1 (which knows bob, registered through
 *                    s0, from the cluster's names bucket) fill bob's mailbox, and a third
 *                    through either is MAILBOX_FULL
 *
 * Usage: test_cluster_mail SCENARIO. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster_fixture.h"
#include "scenario.h"

#include <stdio.h>
#include <string.h>

#define LETTER_LEN 300

/* A client of server `server` logged in as name with the mailbox feature (kept in f->cl, freed
 * by the teardown). */
static tc_client *mail_online(cluster_fixture *f, int server, mim_identity *id, const char *name)
{
    cf_client *cl;
    int rc;

    assert_true(f->ncl < CF_CLIENTS);
    cl = &f->cl[f->ncl++];
    memset(cl, 0, sizeof(*cl));
    cl->server = server;
    assert_non_null(cl->c = tc_new(id));
    if ((rc = tc_connect(cl->c, f->sp[server].port)) != TC_OK ||
        (rc = tc_handshake(cl->c, name)) != TC_OK)
        fail_msg("handshake as \"%s\": %s: %s", name, tc_strerror(rc), tc_error(cl->c));
    assert_true(cl->c->server_features & MIM_FEATURE_MAILBOX);
    if ((rc = tc_login_ex(cl->c, name, 5000, TC_LOGIN_MAILBOX)) != 0)
        fail_msg("login as \"%s\" on s%d: %s: %s", name, server, tc_strerror(rc), tc_error(cl->c));
    return cl->c;
}

/* name with key id logs in on server and out again: registered (on that server too). */
static void visit(cluster_fixture *f, int server, mim_identity *id, const char *name)
{
    tc_client *c = mail_online(f, server, id, name);

    assert_int_equal(tc_logout(c), TC_OK);
    assert_int_equal(tc_expect_closed(c, TC_TIMEOUT_MS), 0);
}

static void fill(uint8_t id[MIM_MSG_ID_LEN], uint8_t letter[LETTER_LEN], uint8_t seed)
{
    for (size_t i = 0; i < MIM_MSG_ID_LEN; i++)
        id[i] = (uint8_t)(seed + i);
    for (size_t i = 0; i < LETTER_LEN; i++)
        letter[i] = (uint8_t)(seed * 7 + i);
}

/* The next message of kind want, skipping the table's news (a login on the other server
 * reaches this one's peers at any moment): *out, or the test fails. */
static void expect_arm(tc_client *c, Mim__PresenceMsg__BodyCase want, const Mim__PresenceMsg **out)
{
    for (;;) {
        int rc = tc_recv(c, TC_TIMEOUT_MS, out);
        if (rc != TC_OK)
            fail_msg("waiting for message %d: %s: %s", (int)want, tc_strerror(rc), tc_error(c));
        if ((*out)->body_case == want)
            return;
        if ((*out)->body_case == MIM__PRESENCE_MSG__BODY_PING) {
            assert_int_equal(tc_send_pong(c, (*out)->ping->nonce), TC_OK);
            continue;
        }
        if ((*out)->body_case != MIM__PRESENCE_MSG__BODY_ADD &&
            (*out)->body_case != MIM__PRESENCE_MSG__BODY_DEL &&
            (*out)->body_case != MIM__PRESENCE_MSG__BODY_STATUS)
            fail_msg("message %d instead of %d", (int)(*out)->body_case, (int)want);
    }
}

/* Deposits letter `seed` for `to`; the DepositAck must say want. */
static void deposit(tc_client *c, const char *to, uint8_t seed, Mim__DepositResult want)
{
    uint8_t id[MIM_MSG_ID_LEN], letter[LETTER_LEN];
    const Mim__PresenceMsg *r;
    Mim__PresenceMsg m;
    Mim__Deposit d;

    fill(id, letter, seed);
    mim_deposit_init(&m, &d, to, id, letter, LETTER_LEN);
    assert_int_equal(tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE), TC_OK);
    expect_arm(c, MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK, &r);
    assert_memory_equal(r->deposit_ack->id.data, id, MIM_MSG_ID_LEN);
    if (r->deposit_ack->result != want)
        fail_msg("deposit %u to %s: %s, want %s", seed, to,
                 mim_deposit_result_str(r->deposit_ack->result), mim_deposit_result_str(want));
}

/* The next message is the MailItem of letter `seed` from `from` (key pk): its seq. */
static uint64_t expect_item(tc_client *c, const char *from, const uint8_t pk[32], uint8_t seed)
{
    uint8_t id[MIM_MSG_ID_LEN], letter[LETTER_LEN];
    const Mim__PresenceMsg *r;

    fill(id, letter, seed);
    expect_arm(c, MIM__PRESENCE_MSG__BODY_MAIL_ITEM, &r);
    assert_string_equal(r->mail_item->from, from);
    assert_memory_equal(r->mail_item->from_pk.data, pk, 32);
    assert_memory_equal(r->mail_item->id.data, id, MIM_MSG_ID_LEN);
    assert_int_equal(r->mail_item->sealed.len, LETTER_LEN);
    assert_memory_equal(r->mail_item->sealed.data, letter, LETTER_LEN);
    return r->mail_item->seq;
}

static void mail_shared(void **state)
{
    cluster_fixture *f = *state;
    mim_identity *a = mim_identity_generate(), *b = mim_identity_generate();
    tc_client *alice, *bob;
    uint64_t seq[2];

    assert_non_null(a);
    assert_non_null(b);
    cf_start_server(f, 0, NULL);
    cf_start_server(f, 1, NULL);
    cf_wait_joined(f);
    visit(f, 0, b, "bob");
    alice = mail_online(f, 0, a, "alice");
    deposit(alice, "bob", 1, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(alice, "bob", 2, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(alice, "bob", 1, MIM__DEPOSIT_RESULT__DEPOSIT_OK); /* again: not stored twice */

    bob = mail_online(f, 1, b, "bob"); /* through the other server */
    seq[0] = expect_item(bob, "alice", a->sign_pk, 1);
    seq[1] = expect_item(bob, "alice", a->sign_pk, 2);
    assert_true(seq[1] > seq[0]);
    assert_int_equal(tc_sync(bob, TC_TIMEOUT_MS), TC_OK); /* nothing more: no duplicate */
    {
        Mim__PresenceMsg m;
        Mim__MailTaken t;
        mim_mail_taken_init(&m, &t, seq, 2);
        assert_int_equal(tc_send_msg(bob, &m, MIM_STREAM_TAG_MESSAGE), TC_OK);
    }
    assert_int_equal(tc_sync(bob, TC_TIMEOUT_MS), TC_OK); /* the take is done by the Pong */
    assert_int_equal(tc_logout(bob), TC_OK);
    assert_int_equal(tc_expect_closed(bob, TC_TIMEOUT_MS), 0);

    bob = mail_online(f, 0, b, "bob"); /* taken through s1: gone for s0 too */
    assert_int_equal(tc_sync(bob, TC_TIMEOUT_MS), TC_OK);
    mim_identity_free(a);
    mim_identity_free(b);
}

static void mail_limits(void **state)
{
    static const char *const two[] = {"--mailbox-max-count", "2", NULL};
    cluster_fixture *f = *state;
    mim_identity *a = mim_identity_generate(), *b = mim_identity_generate();
    mim_identity *c = mim_identity_generate();
    tc_client *alice, *carol;

    assert_true(a != NULL && b != NULL && c != NULL);
    cf_start_server(f, 0, two);
    cf_start_server(f, 1, two);
    cf_wait_joined(f);
    visit(f, 0, b, "bob"); /* s1 knows bob from the cluster's names bucket only */
    alice = mail_online(f, 0, a, "alice");
    carol = mail_online(f, 1, c, "carol");
    deposit(alice, "bob", 1, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(carol, "bob", 2, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(alice, "bob", 3, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL);
    deposit(carol, "bob", 4, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL);
    mim_identity_free(a);
    mim_identity_free(b);
    mim_identity_free(c);
}

#define CLUSTER_TEST(fn) cmocka_unit_test_setup_teardown(fn, cf_setup, cf_teardown)

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    CLUSTER_TEST(mail_shared),
    CLUSTER_TEST(mail_limits),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "cluster-mail");
}
