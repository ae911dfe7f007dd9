/* mim_store_mailbox: the presence server's mailbox and the directory's reads, on a real SQLite
 * file in a fresh temporary directory: the limits, idempotence, deposit order, taking only one's
 * own letters, expiry, last seen and paging in byte order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_error.h"
#include "mim_store_mailbox.h"
#include "mim_store_registry.h"
#include "mim_test.h"

static const uint8_t key_a[32] = {0xa1, 0xa2, [31] = 0xaf};
static const uint8_t key_b[32] = {0xb1, 0xb2, [31] = 0xbf};
static const uint8_t key_c[32] = {0xc1, 0xc2, [31] = 0xcf};

static int setup(void **state)
{
    return mim_test_store_setup(state, "mailbox", "presence.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

/* A registry with alice, bob and carol. */
static mim_store *open_registry(const struct store_fixture *f)
{
    mim_store *st = mim_test_store_open(f, MIM_STORE_PRESENCE);

    EXPECT_INT(mim_store_name_claim(st, "alice", key_a, 1), MIM_NAME_REGISTERED);
    EXPECT_INT(mim_store_name_claim(st, "bob", key_b, 1), MIM_NAME_REGISTERED);
    EXPECT_INT(mim_store_name_claim(st, "carol", key_c, 1), MIM_NAME_REGISTERED);
    return st;
}

static uint8_t blob[4096];

/* A deposit from `from` to `to` of len bytes with id byte `idb`, at now, expiring at exp. */
static mim_mail_deposit letter(const char *from, const char *to, uint8_t idb, size_t len,
                               int64_t now, int64_t exp)
{
    static uint8_t ids[256][16];
    mim_mail_deposit d = {.to = to,
                          .from = from,
                          .from_pk = strcmp(from, "alice") == 0 ? key_a : key_c,
                          .id = ids[idb],
                          .sealed = blob,
                          .sealed_len = len,
                          .now_ms = now,
                          .expires_ms = exp};

    memset(ids[idb], idb, 16);
    for (size_t i = 0; i < len; i++)
        blob[i] = (uint8_t)(idb + i);
    return d;
}

static const mim_mail_limits roomy = {.max_count = 100, .max_bytes = 1 << 20};

static int deposit(mim_store *st, const char *from, const char *to, uint8_t idb, size_t len,
                   const mim_mail_limits *lim, uint64_t *seq)
{
    mim_mail_deposit d = letter(from, to, idb, len, 1000, 5000);
    int64_t exp = 0;
    uint64_t s = 0;
    int rc = mim_store_mail_deposit(st, &d, lim, &s, &exp);

    if (seq != NULL)
        *seq = s;
    if (rc == MIM_MAIL_STORED || rc == MIM_MAIL_DUPLICATE)
        EXPECT_INT(exp, 5000);
    return rc;
}

struct seen_rows {
    uint64_t seq[16];
    uint8_t idb[16];
    size_t n;
};

static int collect(const mim_mail_row *r, void *ctx)
{
    struct seen_rows *s = ctx;

    assert_true(s->n < 16);
    assert_true(r->sealed_len > 0);
    assert_int_equal(r->sealed[0], r->id[0]); /* the letter's bytes came back whole */
    s->seq[s->n] = r->seq;
    s->idb[s->n++] = r->id[0];
    return 0;
}

static void test_deposit_limits_and_idempotence(void **state)
{
    mim_store *st = open_registry(*state);
    mim_mail_limits lim = {.max_count = 3, .max_bytes = 1000};
    uint64_t s1, s2, count, bytes;

    EXPECT_INT(deposit(st, "alice", "bob", 1, 400, &lim, &s1), MIM_MAIL_STORED);
    EXPECT_INT(deposit(st, "alice", "bob", 1, 400, &lim, &s2), MIM_MAIL_DUPLICATE);
    EXPECT_INT(s2, s1); /* the same letter, nothing new */
    /* The same id from another sender is another letter. */
    EXPECT_INT(deposit(st, "carol", "bob", 1, 400, &lim, &s2), MIM_MAIL_STORED);
    assert_true(s2 > s1);
    EXPECT_INT(mim_store_mail_count(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 2);
    EXPECT_INT(bytes, 800);
    EXPECT_INT(deposit(st, "alice", "bob", 2, 201, &lim, NULL), MIM_MAIL_FULL); /* bytes */
    EXPECT_INT(deposit(st, "alice", "bob", 2, 200, &lim, NULL), MIM_MAIL_STORED);
    EXPECT_INT(deposit(st, "alice", "bob", 3, 1, &lim, NULL), MIM_MAIL_FULL); /* count */
    /* A duplicate of a waiting letter is still OK when the mailbox is full. */
    EXPECT_INT(deposit(st, "alice", "bob", 2, 200, &lim, NULL), MIM_MAIL_DUPLICATE);
    EXPECT_INT(deposit(st, "alice", "carol", 3, 1, &lim, NULL), MIM_MAIL_STORED); /* her own */
    EXPECT_INT(deposit(st, "alice", "nobody", 4, 10, &lim, NULL), MIM_ENOENT);
    EXPECT_INT(mim_store_mail_count(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 3);
    EXPECT_INT(bytes, 1000);
    mim_store_close(st);
}

/* A frame's deposits in one transaction: each answered as alone, later ones seeing earlier
 * ones (the dedup and the limits hold inside the group); an invalid one refuses them all. */
static void test_deposit_all_in_one_commit(void **state)
{
    mim_store *st = open_registry(*state);
    mim_mail_limits lim = {.max_count = 2, .max_bytes = 1000};
    mim_mail_deposit d[5] = {
        letter("alice", "bob", 1, 10, 1000, 5000),    letter("alice", "bob", 1, 10, 1000, 5000),
        letter("alice", "nobody", 2, 10, 1000, 5000), letter("alice", "bob", 3, 10, 1000, 5000),
        letter("alice", "bob", 4, 10, 1000, 5000),
    };
    mim_mail_outcome out[5];
    uint64_t count, bytes;

    EXPECT_INT(mim_store_mail_deposit_all(st, d, 5, &lim, out), 0);
    EXPECT_INT(out[0].result, MIM_MAIL_STORED);
    EXPECT_INT(out[0].expires_ms, 5000);
    EXPECT_INT(out[1].result, MIM_MAIL_DUPLICATE);
    EXPECT_INT(out[1].seq, out[0].seq);
    EXPECT_INT(out[2].result, MIM_ENOENT);
    EXPECT_INT(out[3].result, MIM_MAIL_STORED);
    assert_true(out[3].seq > out[0].seq);
    EXPECT_INT(out[4].result, MIM_MAIL_FULL); /* the count, with the group's own two */
    EXPECT_INT(mim_store_mail_count(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 2);
    d[1].sealed_len = 0;
    d[0] = letter("alice", "carol", 5, 10, 1000, 5000);
    EXPECT_INT(mim_store_mail_deposit_all(st, d, 2, &lim, out), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_count(st, "carol", &count, &bytes), 0);
    EXPECT_INT(count, 0); /* nothing of a refused group */
    EXPECT_INT(mim_store_mail_deposit_all(st, d, 0, &lim, out), MIM_EINVAL);
    mim_store_close(st);
}

static void test_each_in_order_and_take_own(void **state)
{
    const struct store_fixture *f = *state;
    mim_store *st = open_registry(f);
    struct seen_rows rows = {0};
    uint64_t seqs[3], count, bytes;

    EXPECT_INT(deposit(st, "alice", "bob", 10, 10, &roomy, &seqs[0]), MIM_MAIL_STORED);
    EXPECT_INT(deposit(st, "alice", "carol", 11, 10, &roomy, &seqs[1]), MIM_MAIL_STORED);
    EXPECT_INT(deposit(st, "carol", "bob", 12, 10, &roomy, &seqs[2]), MIM_MAIL_STORED);
    EXPECT_INT(mim_store_mail_each(st, "bob", 0, 10, collect, &rows), 2);
    EXPECT_INT(rows.idb[0], 10);
    EXPECT_INT(rows.idb[1], 12);
    /* After a seq, and at most max. */
    rows.n = 0;
    EXPECT_INT(mim_store_mail_each(st, "bob", seqs[0], 1, collect, &rows), 1);
    EXPECT_INT(rows.seq[0], seqs[2]);

    /* carol naming bob's letters deletes only hers. */
    EXPECT_INT(mim_store_mail_take(st, "carol", seqs, 3), 1);
    EXPECT_INT(mim_store_mail_count(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 2);
    EXPECT_INT(mim_store_mail_take(st, "bob", seqs, 3), 2);
    EXPECT_INT(mim_store_mail_take(st, "bob", seqs, 3), 0); /* gone already */
    EXPECT_INT(mim_store_mail_count(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 0);
    EXPECT_INT(bytes, 0);

    /* A seq is never used twice (AUTOINCREMENT), even after the newest letter was taken. */
    mim_store_close(st);
    st = mim_test_store_open(f, MIM_STORE_PRESENCE);
    EXPECT_INT(deposit(st, "alice", "bob", 13, 10, &roomy, &seqs[0]), MIM_MAIL_STORED);
    assert_true(seqs[0] > seqs[2]);
    mim_store_close(st);
}

static void test_expire(void **state)
{
    mim_store *st = open_registry(*state);
    mim_mail_deposit d1 = letter("alice", "bob", 20, 10, 1000, 2000);
    mim_mail_deposit d2;
    uint64_t seq, count, bytes;
    int64_t exp;

    EXPECT_INT(mim_store_mail_deposit(st, &d1, &roomy, &seq, &exp), MIM_MAIL_STORED);
    d2 = letter("alice", "bob", 21, 10, 1000, 3000);
    EXPECT_INT(mim_store_mail_deposit(st, &d2, &roomy, &seq, &exp), MIM_MAIL_STORED);
    EXPECT_INT(mim_store_mail_expire(st, 1999), 0);
    EXPECT_INT(mim_store_mail_expire(st, 2000), 1);
    EXPECT_INT(mim_store_mail_count(st, "bob", &count, &bytes), 0);
    EXPECT_INT(count, 1);
    EXPECT_INT(mim_store_mail_expire(st, 10000), 1);
    EXPECT_INT(mim_store_mail_expire(st, 10000), 0);
    mim_store_close(st);
}

static void test_directory_reads(void **state)
{
    mim_store *st = open_registry(*state);
    mim_dir_name page[4], one;
    mim_name_seen seen[3] = {{"bob", 111}, {"alice", 222}, {"bob", 333}};

    EXPECT_INT(mim_store_name_claim(st, "Zo\xc3\xab", key_a, 1), MIM_NAME_REGISTERED);
    EXPECT_INT(mim_store_dir_lookup(st, "bob", &one), 0);
    assert_string_equal(one.name, "bob");
    assert_memory_equal(one.identity_pk, key_b, 32);
    EXPECT_INT(one.last_seen_ms, 0); /* unknown until a login or logout is recorded */
    EXPECT_INT(mim_store_dir_lookup(st, "nobody", &one), MIM_ENOENT);

    EXPECT_INT(mim_store_names_seen(st, seen, 3), 0);
    EXPECT_INT(mim_store_dir_lookup(st, "bob", &one), 0);
    EXPECT_INT(one.last_seen_ms, 333); /* the last one wins */

    /* Byte order: "Zo\xc3\xab" (0x5a) before the lower-case names. */
    EXPECT_INT(mim_store_dir_page(st, "", page, 2), 2);
    assert_string_equal(page[0].name, "Zo\xc3\xab");
    assert_string_equal(page[1].name, "alice");
    EXPECT_INT(page[1].last_seen_ms, 222);
    EXPECT_INT(mim_store_dir_page(st, "alice", page, 4), 2);
    assert_string_equal(page[0].name, "bob");
    assert_string_equal(page[1].name, "carol");
    EXPECT_INT(mim_store_dir_page(st, "carol", page, 4), 0);
    mim_store_close(st);
}

static void test_bad_arguments(void **state)
{
    mim_store *st = open_registry(*state);
    mim_mail_deposit d = letter("alice", "bob", 30, 10, 1, 2);
    uint64_t seq;
    int64_t exp;

    d.sealed_len = 0;
    EXPECT_INT(mim_store_mail_deposit(st, &d, &roomy, &seq, &exp), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_deposit(NULL, &d, &roomy, &seq, &exp), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_each(st, NULL, 0, 1, collect, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_mail_take(st, "bob", NULL, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_names_seen(st, NULL, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_names_seen(st, NULL, 0), 0);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deposit_limits_and_idempotence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deposit_all_in_one_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_in_order_and_take_own, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
