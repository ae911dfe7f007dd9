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
 *   mail_live        bob online on s1: a letter deposited for him through s0 reaches him at
 *                    once (the bus's MailNotice), no new login; then one through s1 and one
 *                    through s0 again, each once, in the stream's order
 *   mail_stream_limit  the stream itself holds the count per recipient (racing deposits
 *                    through two servers cannot pass it): s0 counts to 5, s1 (started last)
 *                    set the stream's limit to 3, and s0's fourth deposit is MAILBOX_FULL
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
    return cf_online_ex(f, server, id, name, TC_LOGIN_MAILBOX)->c;
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
    cf_start_cluster(f, 2, NULL);
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
    cf_start_cluster(f, 2, two);
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

static void mail_live(void **state)
{
    cluster_fixture *f = *state;
    mim_identity *a = mim_identity_generate(), *b = mim_identity_generate();
    mim_identity *c = mim_identity_generate();
    tc_client *alice, *bob, *carol;
    uint64_t seq[3];

    assert_true(a != NULL && b != NULL && c != NULL);
    cf_start_cluster(f, 2, NULL);
    bob = mail_online(f, 1, b, "bob");
    alice = mail_online(f, 0, a, "alice");
    carol = mail_online(f, 1, c, "carol");
    deposit(alice, "bob", 1, MIM__DEPOSIT_RESULT__DEPOSIT_OK); /* through s0, bob on s1 */
    seq[0] = expect_item(bob, "alice", a->sign_pk, 1);
    deposit(carol, "bob", 2, MIM__DEPOSIT_RESULT__DEPOSIT_OK); /* through bob's own server */
    seq[1] = expect_item(bob, "carol", c->sign_pk, 2);
    deposit(alice, "bob", 3, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    seq[2] = expect_item(bob, "alice", a->sign_pk, 3);
    assert_true(seq[0] < seq[1] && seq[1] < seq[2]);
    assert_int_equal(tc_sync(bob, TC_TIMEOUT_MS), TC_OK); /* each once: nothing more came */
    mim_identity_free(a);
    mim_identity_free(b);
    mim_identity_free(c);
}

/* Racing deposits through two servers can each pass their server's own count (both read 2 of
 * 3, both store): the stream's own limit per recipient refuses the one too many. Made
 * deterministic with two limits: s1, started last, sets the stream's limit to 3; s0 counts to 5
 * itself, as a server would that counted before a racing deposit landed, and the stream says
 * no for it. */
static void mail_stream_limit(void **state)
{
    static const char *const five[] = {"--mailbox-max-count", "5", NULL};
    static const char *const three[] = {"--mailbox-max-count", "3", NULL};
    cluster_fixture *f = *state;
    mim_identity *a = mim_identity_generate(), *b = mim_identity_generate();
    mim_identity *c = mim_identity_generate();
    tc_client *alice, *carol;

    assert_true(a != NULL && b != NULL && c != NULL);
    cf_start_server(f, 0, five);
    assert_true(sp_wait_log(&f->sp[0], "shared through the JetStream stream", TC_TIMEOUT_MS));
    cf_start_server(f, 1, three);
    cf_wait_joined(f);
    visit(f, 0, b, "bob");
    carol = mail_online(f, 1, c, "carol");
    deposit(carol, "bob", 1, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    assert_true(sp_wait_log(&f->sp[1], "holds at most 3 letters per recipient", TC_TIMEOUT_MS));
    alice = mail_online(f, 0, a, "alice");
    deposit(alice, "bob", 2, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(alice, "bob", 3, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(alice, "bob", 4, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL); /* s0 said 3 < 5 */
    deposit(carol, "bob", 5, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL);
    deposit(alice, "bob", 2, MIM__DEPOSIT_RESULT__DEPOSIT_OK); /* a repeat is no new letter */
    mim_identity_free(a);
    mim_identity_free(b);
    mim_identity_free(c);
}

#define CLUSTER_TEST(fn) cmocka_unit_test_setup_teardown(fn, cf_setup, cf_teardown)

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    CLUSTER_TEST(mail_shared),
    CLUSTER_TEST(mail_limits),
    CLUSTER_TEST(mail_live),
    CLUSTER_TEST(mail_stream_limit),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "cluster-mail");
}
