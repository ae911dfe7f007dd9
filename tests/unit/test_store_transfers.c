/* The transfers table of the peer store (issue 15, mim_store_transfers.c): a row per offer and
 * direction, its mutable part updated, read back one or all, never a duplicate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_test.h"

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-transfers", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static void sample(mim_transfer *t, uint8_t id_seed, int outgoing)
{
    static const uint8_t hashes[64] = {1, 2, 3};
    static const uint8_t bits[1] = {0x01};

    memset(t, 0, sizeof(*t));
    snprintf(t->peer, sizeof(t->peer), "bob");
    memset(t->id, id_seed, sizeof(t->id));
    t->outgoing = outgoing;
    t->ts_ms = 1700000000000;
    t->name = "report.pdf";
    t->path = "/home/alice/report.pdf";
    t->size = 1500000;
    t->nfiles = 1;
    t->chunk_size = 1 << 20;
    memset(t->root, 0xab, sizeof(t->root));
    t->hash_scheme = 1; /* the SHA-256 chain */
    t->hashes = hashes;
    t->hashes_len = sizeof(hashes);
    t->verified = bits;
    t->verified_len = sizeof(bits);
}

typedef struct seen {
    int n;
    mim_transfer last;
    char name[64], error[64], sha[80];
    uint8_t verified[4];
    size_t verified_len, hashes_len;
} seen;

static int keep(const mim_transfer *t, void *arg)
{
    seen *s = arg;

    s->n++;
    s->last = *t;
    snprintf(s->name, sizeof(s->name), "%s", t->name);
    snprintf(s->error, sizeof(s->error), "%s", t->error);
    snprintf(s->sha, sizeof(s->sha), "%s", t->sha256);
    s->verified_len = t->verified_len;
    s->hashes_len = t->hashes_len;
    if (t->verified_len <= sizeof(s->verified))
        memcpy(s->verified, t->verified, t->verified_len);
    return 0;
}

static void test_add_get_update(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    mim_transfer t;
    seen s = {0};
    static const uint8_t bits[1] = {0x03};

    sample(&t, 7, 1);
    EXPECT_INT(mim_store_transfer_add(st, &t), 0);
    EXPECT_INT(mim_store_transfer_add(st, &t), MIM_EEXIST);
    t.outgoing = 0;    /* the same id the other way is another transfer */
    t.hash_scheme = 0; /* ... and a scheme-0 offer's row keeps its scheme */
    EXPECT_INT(mim_store_transfer_add(st, &t), 0);
    memset(&s, 0, sizeof(s));
    EXPECT_INT(mim_store_transfer_get(st, "bob", t.id, 0, keep, &s), 0);
    assert_int_equal(s.last.hash_scheme, 0);
    t.hash_scheme = 2; /* no such scheme: the CHECK refuses the row */
    memset(t.id, 0x77, sizeof(t.id));
    assert_int_not_equal(mim_store_transfer_add(st, &t), 0);
    t.hash_scheme = 1;
    memset(t.id, 7, sizeof(t.id));
    memset(&s, 0, sizeof(s));
    EXPECT_INT(mim_store_transfer_get(st, "bob", t.id, 1, keep, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last.hash_scheme, 1);
    assert_string_equal(s.name, "report.pdf");
    assert_int_equal(s.last.size, 1500000);
    assert_int_equal(s.hashes_len, 64);
    assert_int_equal(s.verified_len, 1);
    assert_int_equal(s.verified[0], 0x01);

    t.outgoing = 1;
    t.state = 4;
    t.bytes = 1500000;
    t.verified = bits;
    t.error = "";
    t.sha256 = "ab12";
    EXPECT_INT(mim_store_transfer_update(st, &t), 0);
    memset(&s, 0, sizeof(s));
    EXPECT_INT(mim_store_transfer_get(st, "bob", t.id, 1, keep, &s), 0);
    assert_int_equal(s.last.state, 4);
    assert_int_equal(s.verified[0], 0x03);
    assert_string_equal(s.sha, "ab12");

    memset(t.id, 9, sizeof(t.id));
    EXPECT_INT(mim_store_transfer_update(st, &t), MIM_ENOENT);
    EXPECT_INT(mim_store_transfer_get(st, "bob", t.id, 1, keep, &s), MIM_ENOENT);
    mim_store_close(st);
}

static void test_each_in_order(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    mim_transfer t;
    seen s = {0};

    for (uint8_t i = 1; i <= 3; i++) {
        sample(&t, i, i % 2);
        t.name = i == 3 ? "last" : "first";
        EXPECT_INT(mim_store_transfer_add(st, &t), 0);
    }
    EXPECT_INT(mim_store_transfer_each(st, keep, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.name, "last"); /* oldest first: the last one seen is the newest */
    mim_store_close(st);
    /* a restart keeps them */
    st = mim_test_store_open(*state, MIM_STORE_PEER);
    memset(&s, 0, sizeof(s));
    EXPECT_INT(mim_store_transfer_each(st, keep, &s), 0);
    assert_int_equal(s.n, 3);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_in_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
