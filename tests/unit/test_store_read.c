/* mim_store, peer kind: the read marks (mim_store_read.c): unread counts per peer, the unread
 * flag of history rows, a mark that never moves backwards, and all of it across a reopen; the
 * read receipts owed and received; blocked names and settings (mim_store_settings.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_test.h"

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-read", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static mim_store *open_peer(const struct store_fixture *f)
{
    return mim_test_store_open(f, MIM_STORE_PEER);
}

static void receive(mim_store *st, const char *peer, unsigned k)
{
    uint8_t id[16];

    memset(id, 0x3c, sizeof(id));
    id[0] = (uint8_t)k;
    EXPECT_INT(mim_store_message_receive(st, peer, id, 1000 + k, 1, "hi", 2), 1);
}

static void queue(mim_store *st, const char *peer, unsigned k)
{
    uint8_t id[16];

    memset(id, 0x7e, sizeof(id));
    id[0] = (uint8_t)k;
    EXPECT_INT(mim_store_message_queue(st, peer, id, 2000 + k, 1, "yo", 2, NULL), 0);
}

static int64_t unread(mim_store *st, const char *peer)
{
    int64_t n = -1;

    EXPECT_INT(mim_store_unread_count(st, peer, &n), 0);
    return n;
}

/* The history's unread flags, oldest first, as a string of '0' and '1'. */
struct flags {
    char s[32];
    size_t n;
};

static int collect_flag(const mim_message *m, void *arg)
{
    struct flags *f = arg;

    assert_true(f->n + 1 < sizeof(f->s));
    f->s[f->n++] = m->unread ? '1' : '0';
    f->s[f->n] = '\0';
    return 0;
}

static const char *history_flags(mim_store *st, const char *peer, struct flags *f)
{
    memset(f, 0, sizeof(*f));
    EXPECT_INT(mim_store_history_each(st, peer, 100, collect_flag, f), 0);
    return f->s;
}

static void test_unread_counts_and_marks(void **state)
{
    mim_store *st = open_peer(*state);
    struct flags f;
    int64_t seq = -1;

    assert_int_equal(unread(st, "bob"), 0);        /* no messages, no mark */
    EXPECT_INT(mim_store_mark_read(st, "bob"), 0); /* nothing to read: no mark written */
    receive(st, "bob", 1);
    queue(st, "bob", 2); /* ours never count */
    receive(st, "bob", 3);
    receive(st, "carol", 4);
    assert_int_equal(unread(st, "bob"), 2);
    assert_int_equal(unread(st, "carol"), 1);
    assert_string_equal(history_flags(st, "bob", &f), "101");

    EXPECT_INT(mim_store_mark_read(st, "bob"), 1);
    assert_int_equal(unread(st, "bob"), 0);
    assert_int_equal(unread(st, "carol"), 1); /* a mark is per peer */
    assert_string_equal(history_flags(st, "bob", &f), "000");
    EXPECT_INT(mim_store_mark_read(st, "bob"), 0); /* no news: the mark stays */
    EXPECT_INT(mim_store_read_seq(st, "bob", &seq), 0);
    assert_true(seq >= 3);

    receive(st, "bob", 5);
    assert_int_equal(unread(st, "bob"), 1);
    assert_string_equal(history_flags(st, "bob", &f), "0001");
    mim_store_close(st);

    st = open_peer(*state); /* the marks are in the file */
    assert_int_equal(unread(st, "bob"), 1);
    assert_int_equal(unread(st, "carol"), 1);
    assert_string_equal(history_flags(st, "bob", &f), "0001");
    EXPECT_INT(mim_store_mark_read(st, "carol"), 1);
    assert_int_equal(unread(st, "carol"), 0);
    mim_store_close(st);
}

static void test_mark_inside_a_transaction(void **state)
{
    mim_store *st = open_peer(*state);

    receive(st, "bob", 1);
    EXPECT_INT(mim_store_begin(st), 0);
    EXPECT_INT(mim_store_mark_read(st, "bob"), 1);
    EXPECT_INT(mim_store_rollback(st), 0);
    assert_int_equal(unread(st, "bob"), 1); /* rolled back with its transaction */
    mim_store_close(st);
}

static void collect_receipt(const uint8_t id[16], void *arg)
{
    struct flags *f = arg; /* the ids' first bytes, as digits */

    assert_true(f->n + 1 < sizeof(f->s));
    f->s[f->n++] = (char)('0' + id[0]);
    f->s[f->n] = '\0';
}

/* Receipts owed: what was read since the last take, once; and the receipts that came for ours. */
static void test_receipts_owed_and_seen(void **state)
{
    mim_store *st = open_peer(*state);
    struct flags f = {0};
    uint8_t ours[16];

    receive(st, "bob", 1);
    receive(st, "bob", 2);
    EXPECT_INT(mim_store_receipts_take(st, "bob", collect_receipt, &f), 0);
    assert_string_equal(f.s, ""); /* nothing read yet */
    EXPECT_INT(mim_store_mark_read(st, "bob"), 1);
    receive(st, "bob", 3); /* after the mark: not owed */
    EXPECT_INT(mim_store_receipts_take(st, "bob", collect_receipt, &f), 0);
    assert_string_equal(f.s, "12");
    memset(&f, 0, sizeof(f));
    EXPECT_INT(mim_store_receipts_take(st, "bob", collect_receipt, &f), 0);
    assert_string_equal(f.s, ""); /* taken once */

    queue(st, "bob", 9);
    memset(ours, 0x7e, sizeof(ours));
    ours[0] = 9;
    EXPECT_INT(mim_store_message_seen(st, "bob", ours), 0); /* not delivered yet */
    EXPECT_INT(mim_store_message_set_state(st, "bob", ours, MIM_MSG_DELIVERED), 1);
    EXPECT_INT(mim_store_message_seen(st, "bob", ours), 1);
    EXPECT_INT(mim_store_message_seen(st, "bob", ours), 0);   /* no news */
    EXPECT_INT(mim_store_message_seen(st, "carol", ours), 0); /* not to carol */
    mim_store_close(st);
}

/* A local note (content type below 0: the "key changed" line the core writes into a history)
 * is nobody's message: not unread, not receipted, not under the sender's quota. */
static void test_local_note_is_nobodys(void **state)
{
    mim_store *st = open_peer(*state);
    struct flags f = {0};
    uint8_t id[16];
    int64_t count = -1, bytes = -1;

    receive(st, "bob", 1);
    memset(id, 0x5a, sizeof(id));
    EXPECT_INT(mim_store_message_receive(st, "bob", id, 1500, -1, "the key of bob changed", 22), 1);
    receive(st, "bob", 2);
    EXPECT_INT(unread(st, "bob"), 2);
    assert_string_equal(history_flags(st, "bob", &f), "101");
    EXPECT_INT(mim_store_received_day(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 2);
    EXPECT_INT(bytes, 4);
    EXPECT_INT(mim_store_mark_read(st, "bob"), 1);
    memset(&f, 0, sizeof(f));
    EXPECT_INT(mim_store_receipts_take(st, "bob", collect_receipt, &f), 0);
    assert_string_equal(f.s, "12"); /* the note's id never goes to bob */
    mim_store_close(st);
}

/* Blocked names and settings, across a reopen. */
static void test_blocked_and_settings(void **state)
{
    mim_store *st = open_peer(*state);
    char v[8];

    EXPECT_INT(mim_store_is_blocked(st, "mallory"), 0);
    EXPECT_INT(mim_store_block_set(st, "mallory", 1, 100), 1);
    EXPECT_INT(mim_store_block_set(st, "mallory", 1, 200), 0);
    EXPECT_INT(mim_store_setting_get(st, "receipts", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    EXPECT_INT(mim_store_setting_set(st, "receipts", "off"), 0);
    EXPECT_INT(mim_store_setting_set(st, "status_text", "a text too long"), 0);
    mim_store_close(st);

    st = open_peer(*state);
    EXPECT_INT(mim_store_is_blocked(st, "mallory"), 1);
    EXPECT_INT(mim_store_is_blocked(st, "bob"), 0);
    EXPECT_INT(mim_store_setting_get(st, "receipts", v, sizeof(v)), 1);
    assert_string_equal(v, "off");
    EXPECT_INT(mim_store_setting_get(st, "status_text", v, sizeof(v)), MIM_EOVERFLOW);
    EXPECT_INT(mim_store_block_set(st, "mallory", 0, 300), 1);
    EXPECT_INT(mim_store_is_blocked(st, "mallory"), 0);
    EXPECT_INT(mim_store_block_set(st, "mallory", 0, 300), 0);
    mim_store_close(st);
}

static void test_bad_arguments(void **state)
{
    mim_store *st = open_peer(*state);
    int64_t n;

    EXPECT_INT(mim_store_mark_read(st, ""), MIM_EINVAL);
    EXPECT_INT(mim_store_mark_read(NULL, "bob"), MIM_EINVAL);
    EXPECT_INT(mim_store_unread_count(st, NULL, &n), MIM_EINVAL);
    EXPECT_INT(mim_store_read_seq(st, "bob", NULL), MIM_EINVAL);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unread_counts_and_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_inside_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts_owed_and_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_note_is_nobodys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_and_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
