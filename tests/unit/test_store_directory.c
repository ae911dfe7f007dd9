/* mim_store, peer kind: the copy of the presence server's directory (mim_store_directory.c):
 * rows put and replaced, online first in the listing, the online table's word only for listed
 * names, the prune after a complete listing, and all of it across a reopen. */
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
    return mim_test_store_setup(state, "store-directory", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static mim_directory_entry entry(const char *name, uint8_t key, int online, int64_t seen)
{
    mim_directory_entry e;

    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", name);
    memset(e.identity_pk, key, sizeof(e.identity_pk));
    e.online = online;
    e.last_seen_ms = seen;
    return e;
}

typedef struct listing {
    char names[8][MIM_NAME_MAX_BYTES + 1];
    int online[8];
    size_t n;
} listing;

static int collect(const mim_directory_entry *e, void *arg)
{
    listing *l = arg;

    assert_true(l->n < 8);
    snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", e->name);
    l->online[l->n++] = e->online;
    return 0;
}

static void test_put_get_replace(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    mim_directory_entry e = entry("bob", 0xb0, 0, 1000), got;

    EXPECT_INT(mim_store_directory_get(st, "bob", &got), MIM_ENOENT);
    EXPECT_INT(mim_store_directory_put(st, &e, 10), 0);
    EXPECT_INT(mim_store_directory_get(st, "bob", &got), 0);
    assert_string_equal(got.name, "bob");
    assert_memory_equal(got.identity_pk, e.identity_pk, 32);
    EXPECT_INT(got.online, 0);
    EXPECT_INT(got.last_seen_ms, 1000);
    e = entry("bob", 0xb1, 1, 2000); /* the server's word replaces the old one */
    EXPECT_INT(mim_store_directory_put(st, &e, 20), 0);
    mim_store_close(st);

    st = mim_test_store_open(*state, MIM_STORE_PEER); /* kept across a reopen */
    EXPECT_INT(mim_store_directory_get(st, "bob", &got), 0);
    assert_memory_equal(got.identity_pk, e.identity_pk, 32);
    EXPECT_INT(got.online, 1);
    EXPECT_INT(got.last_seen_ms, 2000);
    EXPECT_INT(mim_store_directory_delete(st, "bob"), 0);
    EXPECT_INT(mim_store_directory_get(st, "bob", &got), MIM_ENOENT);
    mim_store_close(st);
}

static void test_listing_online_first_and_seen(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    const char *names[] = {"dave", "alice", "carol", "bob"};
    listing l = {0};
    mim_directory_entry e, got;

    for (size_t i = 0; i < 4; i++) {
        e = entry(names[i], (uint8_t)i, i == 2, 100);
        EXPECT_INT(mim_store_directory_put(st, &e, 10), 0);
    }
    EXPECT_INT(mim_store_directory_each(st, 8, collect, &l), 0);
    EXPECT_INT(l.n, 4);
    assert_string_equal(l.names[0], "carol"); /* online first, then by name */
    assert_string_equal(l.names[1], "alice");
    assert_string_equal(l.names[3], "dave");
    /* The online table: bob came, carol went; a name never listed has no row to change. */
    EXPECT_INT(mim_store_directory_seen(st, "bob", 1, 500), 1);
    EXPECT_INT(mim_store_directory_seen(st, "carol", 0, 600), 1);
    EXPECT_INT(mim_store_directory_seen(st, "zed", 1, 700), 0);
    EXPECT_INT(mim_store_directory_get(st, "zed", &got), MIM_ENOENT);
    EXPECT_INT(mim_store_directory_get(st, "carol", &got), 0);
    EXPECT_INT(got.online, 0);
    EXPECT_INT(got.last_seen_ms, 600);
    memset(&l, 0, sizeof(l));
    EXPECT_INT(mim_store_directory_each(st, 2, collect, &l), 0); /* the limit holds */
    EXPECT_INT(l.n, 2);
    assert_string_equal(l.names[0], "bob");
    EXPECT_INT(l.online[0], 1);
    mim_store_close(st);
}

static void test_prune_after_a_complete_listing(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    mim_directory_entry e;
    listing l = {0};

    e = entry("gone", 1, 0, 0);
    EXPECT_INT(mim_store_directory_put(st, &e, 100), 0);
    e = entry("kept", 2, 0, 0);
    EXPECT_INT(mim_store_directory_put(st, &e, 100), 0);
    EXPECT_INT(mim_store_directory_put(st, &e, 300), 0); /* listed again by the new listing */
    EXPECT_INT(mim_store_directory_prune(st, 200), 1);
    EXPECT_INT(mim_store_directory_each(st, 8, collect, &l), 0);
    EXPECT_INT(l.n, 1);
    assert_string_equal(l.names[0], "kept");
    mim_store_close(st);
}

static void test_bad_arguments(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    mim_directory_entry e = entry("", 1, 0, 0), got;

    EXPECT_INT(mim_store_directory_put(st, &e, 1), MIM_EINVAL);
    e = entry("bob", 1, 0, -5);
    EXPECT_INT(mim_store_directory_put(st, &e, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_directory_get(st, NULL, &got), MIM_EINVAL);
    EXPECT_INT(mim_store_directory_each(st, 0, collect, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_directory_put(NULL, &e, 1), MIM_EINVAL);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_online_first_and_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_after_a_complete_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
