/* mim_store, peer kind: the sealed receipts owed (mim_store_mail_receipts.c, issue 14): owed
 * once per (peer, id), listed by peer then age (all, or one peer's, at most a limit), dropped,
 * kept across a reopen, bounded by age and count; bad arguments refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_test.h"

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-mail-receipts", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

/* What mim_store_mail_receipts_each listed: "peer:k" per row (k: the id's first byte). */
typedef struct listing {
    char text[512];
    size_t n;
} listing;

static int list_row(const char *peer, const uint8_t id[16], void *arg)
{
    listing *l = arg;
    size_t used = strlen(l->text);

    snprintf(l->text + used, sizeof(l->text) - used, "%s%s:%u", used ? " " : "", peer, id[0]);
    l->n++;
    return 0;
}

static const char *list(mim_store *st, const char *peer, size_t limit, listing *l)
{
    memset(l, 0, sizeof(*l));
    EXPECT_INT(mim_store_mail_receipts_each(st, peer, limit, list_row, l), 0);
    return l->text;
}

static void make_id(uint8_t id[16], unsigned k)
{
    memset(id, 0x5a, 16);
    id[0] = (uint8_t)k;
}

static void test_owe_list_drop(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    uint8_t ids[4][16];
    mim_owed_receipt rows[5];
    listing l;

    for (unsigned k = 0; k < 4; k++)
        make_id(ids[k], k + 1);
    rows[0] = (mim_owed_receipt){"bob", ids[0]};
    rows[1] = (mim_owed_receipt){"alice", ids[1]};
    rows[2] = (mim_owed_receipt){"bob", ids[2]};
    rows[3] = (mim_owed_receipt){"bob", ids[0]}; /* twice in one call: once */
    rows[4] = (mim_owed_receipt){"alice", ids[3]};
    EXPECT_INT(mim_store_mail_receipts_owe(st, rows, 5, 1000), 0);
    EXPECT_INT(mim_store_mail_receipts_owe(st, rows, 2, 2000), 0); /* owed already */
    assert_string_equal(list(st, NULL, 100, &l), "alice:2 alice:4 bob:1 bob:3");
    assert_string_equal(list(st, "bob", 100, &l), "bob:1 bob:3");
    assert_string_equal(list(st, NULL, 3, &l), "alice:2 alice:4 bob:1");

    EXPECT_INT(mim_store_mail_receipts_drop(st, "bob", (const uint8_t(*)[16])ids, 1), 0);
    EXPECT_INT(mim_store_mail_receipts_drop(st, "carol", (const uint8_t(*)[16])ids, 4), 0);
    assert_string_equal(list(st, NULL, 100, &l), "alice:2 alice:4 bob:3");
    mim_store_close(st);

    st = mim_test_store_open(*state, MIM_STORE_PEER); /* durable */
    assert_string_equal(list(st, NULL, 100, &l), "alice:2 alice:4 bob:3");
    mim_store_close(st);
}

static void test_prune_bounds(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    uint8_t ids[6][16];
    mim_owed_receipt row;
    listing l;

    for (unsigned k = 0; k < 6; k++) {
        make_id(ids[k], k + 1);
        row = (mim_owed_receipt){"bob", ids[k]};
        EXPECT_INT(mim_store_mail_receipts_owe(st, &row, 1, 1000 * (k + 1)), 0);
    }
    EXPECT_INT(mim_store_mail_receipts_prune(st, 2500, 100), 2); /* the two older than 2.5 s */
    assert_string_equal(list(st, NULL, 100, &l), "bob:3 bob:4 bob:5 bob:6");
    EXPECT_INT(mim_store_mail_receipts_prune(st, 0, 3), 1); /* the newest 3 stay */
    assert_string_equal(list(st, NULL, 100, &l), "bob:4 bob:5 bob:6");
    EXPECT_INT(mim_store_mail_receipts_prune(st, 0, 3), 0);
    mim_store_close(st);
}

static void test_bad_arguments(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    uint8_t id[16];
    mim_owed_receipt bad = {"", id};
    listing l;

    make_id(id, 1);
    EXPECT_INT(mim_store_mail_receipts_owe(st, &bad, 1, 0), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_receipts_owe(st, NULL, 1, 0), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_receipts_drop(st, "", (const uint8_t(*)[16])id, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_receipts_each(st, NULL, 10, NULL, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_receipts_each(st, "", 10, list_row, &l), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_receipts_owe(st, NULL, 0, 0), 0); /* nothing to do */
    assert_string_equal(list(st, NULL, 10, &l), "");
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_owe_list_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
