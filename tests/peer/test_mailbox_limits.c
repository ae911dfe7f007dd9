/* End-to-end tests of the sealed mailbox's refusals (issue 14) with real processes: what the
 * server will not keep and what the recipient will not accept, and that the sender's message is
 * never lost by them. mim-presence and `mim --json` peers driven through pipes (mim_proc.h,
 * mailbox_env.h), waiting on their events, never sleeping. Each scenario is its own ctest entry
 * (peer/mailbox_<name>):
 *
 *   altered_blob  a byte of the sealed blob flipped in the server's database: bob refuses the
 *                 letter (his log says why), shows nothing, and takes the item all the same, so
 *                 it is not fetched again at his next login
 *   full          a mailbox of 2 (--mailbox-max-count 2): the third deposit is refused, the
 *                 message stays `queued` and is delivered directly when bob comes online; the
 *                 two deposited ones come from the mailbox; each once
 *   expiry        --mailbox-expiry 2s: the message comes back to alice's outbox (`expired`,
 *                 history `queued`), is not deposited again, and is delivered directly later
 *   v1_letter     the waiting letter replaced in the server's database by a mim-mail-v1 one
 *                 (sealed box and signature, as senders from before v2 made): bob opens,
 *                 checks and shows it once, and alice learns `delivered` */
#include "mailbox_env.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* What bob's log says when he refuses a letter from the mailbox (peer/core_mailbox_rx.c). */
#define REFUSED_LOG "refused, not shown"
/* What alice's log says when the server refuses a deposit for a full mailbox. */
#define FULL_LOG "(mailbox full)"

/* A byte flipped in the server's database: refused, not shown, not refetched. */
static void test_altered_blob(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[MB_ID_LEN];
    int refusals;

    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "do not touch", "t1", id);
    mp_quit(a);
    assert_int_equal(pe_server_stop(&f->srv), 0);
    assert_int_equal(mb_spoil_sealed(f), 1);
    assert_int_equal(pe_server_start(&f->srv, f->srv.port), 0);

    mp_restart(b, f->srv.port);
    mp_expect_log(b, REFUSED_LOG);
    /* Taken all the same: the server deletes it. */
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    round_trip(b, "w");
    assert_int_equal(mp_count(b, "message", NULL, NULL), 0);
    assert_int_equal(mp_count(b, "message", "id", id), 0);
    refusals = pe_file_count(b->log, REFUSED_LOG);
    assert_int_equal(refusals, 1);

    /* The next login fetches nothing: no second refusal, still nothing shown. */
    mp_quit(b);
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "presence", "state", "connected");
    round_trip(b, "w");
    {
        mp *only[1] = {b};
        mp_pump_all(only, 1, ABSENT_MS);
    }
    assert_int_equal(pe_file_count(b->log, REFUSED_LOG), refusals);
    assert_int_equal(mp_count(b, "message", NULL, NULL), 0);
    assert_int_equal(mb_mailbox_rows(f), 0);
    mp_quit(b);
}

/* A full mailbox refuses the third deposit: that message stays queued, and is delivered
 * directly once bob is online; the first two come from the mailbox. */
static void test_full(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    const char *const two[] = {"--mailbox-max-count", "2", NULL};
    char id1[MB_ID_LEN], id2[MB_ID_LEN], id3[MB_ID_LEN], st[32];

    mb_server_restart(f, two);
    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "first", "f1", id1);
    mb_send_deposited(a, "bob", "second", "f2", id2);
    mb_send_queued(a, "bob", "third", "f3", id3);
    mp_expect_log(a, FULL_LOG);
    round_trip(a, "w");
    assert_int_equal(mp_count(a, "deposited", "id", id3), 0);
    assert_int_equal(mb_history_count(a, "bob", id3, st), 1);
    assert_string_equal(st, "queued");
    assert_int_equal(mb_mailbox_rows_to(f, "bob"), 2);

    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", id1);
    mp_expect(b, 0, "message", "id", id2);
    mp_expect(b, 0, "message", "id", id3);
    mp_expect(a, 0, "delivered", "id", id1);
    mp_expect(a, 0, "delivered", "id", id2);
    mp_expect(a, 0, "delivered", "id", id3);
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    round_trip(b, "w");
    assert_int_equal(mp_count(b, "message", "id", id1), 1);
    assert_int_equal(mp_count(b, "message", "id", id2), 1);
    assert_int_equal(mp_count(b, "message", "id", id3), 1);
    assert_int_equal(mb_history_count(a, "bob", id3, st), 1);
    assert_string_equal(st, "delivered");
    mp_quit(a);
    mp_quit(b);
}

/* An expired deposit: back in alice's outbox, not deposited again, delivered directly later. */
static void test_expiry(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    const char *const quick[] = {"--mailbox-expiry", "2s", NULL};
    char id[MB_ID_LEN], st[32];
    json_t *ex;
    long i_dep;

    mb_server_restart(f, quick);
    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    i_dep = mb_send_deposited(a, "bob", "not for long", "e1", id);
    ex = mp_expect(a, (size_t)i_dep, "expired", "id", id);
    assert_string_equal(sfield(ex, "to"), "bob");
    assert_int_equal(mb_history_count(a, "bob", id, st), 1);
    assert_string_equal(st, "queued");
    /* The server deleted its copy at the same time, and alice does not deposit it again. */
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS));
    {
        mp *only[1] = {a};
        mp_pump_all(only, 1, ABSENT_MS);
    }
    assert_int_equal(mp_count(a, "deposited", "id", id), 1);
    assert_int_equal(mb_mailbox_rows_to(f, "bob"), 0);

    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", id);
    mp_expect(a, 0, "delivered", "id", id);
    round_trip(b, "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    assert_int_equal(mb_history_count(a, "bob", id, st), 1);
    assert_string_equal(st, "delivered");
    mp_quit(a);
    mp_quit(b);
}

/* A letter sealed as v1 by an older alice is still opened, checked and shown, once. */
static void test_v1_letter(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[MB_ID_LEN];

    mb_register_then_quit(f, b);
    mb_start_connected(f, a);
    mb_send_deposited(a, "bob", "sealed anew", "t1", id);
    mp_quit(a);
    assert_int_equal(pe_server_stop(&f->srv), 0);
    assert_int_equal(mb_reseal_v1(f, a, b, "from an older alice"), 1);
    assert_int_equal(pe_server_start(&f->srv, f->srv.port), 0);

    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "text", "from an older alice");
    assert_true(mb_wait_mailbox_to(f, "bob", 0, WAIT_MS)); /* taken */
    round_trip(b, "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    assert_int_equal(pe_file_count(b->log, REFUSED_LOG), 0);
    /* bob's receipt (v2) reaches alice through the mailbox. */
    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "delivered", "id", id);
    mp_quit(a);
    mp_quit(b);
}

static const pe_test tests[] = {
    PE_SCENARIO(altered_blob),
    PE_SCENARIO(full),
    PE_SCENARIO(expiry),
    PE_SCENARIO(v1_letter),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "mailbox");
}
