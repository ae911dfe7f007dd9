/* End-to-end tests of the sealed receipts (issue 14: "the sender learns `delivered` through the
 * mailbox too"): a receipt the server does not take is owed, kept across restarts, and deposited
 * again, so that the sender learns `delivered` exactly once even when the two are never online
 * together. mim-presence and `mim --json` peers driven through pipes (mim_proc.h,
 * mailbox_env.h), waiting on their events, their logs and the server's table, never sleeping.
 * Each scenario is its own ctest entry (peer/mailbox_<name>):
 *
 *   receipt_refused  --mailbox-max-count 1, and carol fills alice's mailbox: bob takes alice's
 *                    letter, the server refuses his receipt (FULL); he quits; alice takes
 *                    carol's letter (room again) and learns nothing yet; bob's next login
 *                    deposits the receipt he owes; alice's next login reports `delivered`,
 *                    once; bob's later logins and a direct session deposit nothing more */
#include "mailbox_env.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* What bob's log says when the server refuses his receipt (peer/core_mail_receipts.c)... */
#define RECEIPT_REFUSED_LOG "did not take our delivery receipt to alice (mailbox full)"
/* ... and when it takes it. */
#define RECEIPT_DEPOSITED_LOG "a delivery receipt to alice deposited"

static void test_receipt_refused(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *carol = &f->peers[2];
    const char *const one[] = {"--mailbox-max-count", "1", NULL};
    char id[MB_ID_LEN], cid[MB_ID_LEN], st[32];

    mb_server_restart(f, one);
    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "for bob, by the mailbox", "b1", id);
    mp_quit(a);
    mb_start_connected(f, carol); /* alice's mailbox full: bob's receipt will not fit */
    mb_send_deposited(carol, "alice", "for alice", "c1", cid);
    mp_quit(carol);

    /* Bob takes the letter; his receipt is refused, and owed. */
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", id);
    mp_expect_log(b, RECEIPT_REFUSED_LOG);
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    assert_int_equal(mb_mailbox_rows_to(f, "alice"), 1);
    mp_quit(b);

    /* Alice takes carol's letter; no receipt waits for her yet. */
    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "message", "id", cid);
    assert_true(mb_wait_mailbox_to(f, "alice", 0, WAIT_MS));
    round_trip(a, "w");
    assert_int_equal(mp_count(a, "delivered", "id", id), 0);
    assert_int_equal(mb_history_count(a, "bob", id, st), 1);
    assert_string_equal(st, "deposited");
    mp_quit(a);

    /* Bob's next login pays what he owes. */
    mp_restart(b, f->srv.port);
    assert_true(mb_wait_mailbox_to(f, "alice", 1, WAIT_MS));
    mp_expect_log(b, RECEIPT_DEPOSITED_LOG);
    mp_quit(b);

    /* Alice learns it through the mailbox, once. */
    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "delivered", "id", id);
    assert_true(mb_wait_mailbox_to(f, "alice", 0, WAIT_MS));
    assert_int_equal(mb_history_count(a, "bob", id, st), 1);
    assert_string_equal(st, "delivered");

    /* Both online: a direct session, and bob owes nothing more. */
    mp_restart(b, f->srv.port);
    see_each_other(a, b);
    exchange(a, b, "and now directly", "d1", NULL);
    round_trip(a, "w2");
    assert_int_equal(mp_count(a, "delivered", "id", id), 1);
    assert_int_equal(mp_count(b, "message", "id", id), 0); /* shown in an earlier run, once */
    assert_int_equal(pe_file_count(b->log, RECEIPT_DEPOSITED_LOG), 1);
    assert_int_equal(pe_file_count(b->log, RECEIPT_REFUSED_LOG), 1);
    assert_int_equal(mb_mailbox_rows_to(f, "alice"), 0);
    mp_quit(a);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(receipt_refused),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "mailbox");
}
