/* online_table: the presence server's list of who is online. Pure data, so plain unit tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mim_error.h"
#include "mim_online_table.h"

static int some_session; /* any object: the table only carries the pointer */

/* An entry for `name` whose key is derived from `n`, so that every test entry is distinct. Its
 * strings point to `name` and to a status text in static storage (the table copies both). */
static online_entry make_entry(const char *name, uint32_t n)
{
    static char texts[8][ONLINE_STATUS_TEXT_MAX + 1];
    static unsigned next;
    char *text = texts[next++ % 8];
    online_entry e;
    size_t i;

    memset(&e, 0, sizeof(e));
    e.name = name;
    for (i = 0; i < sizeof(e.identity_pk); i++)
        e.identity_pk[i] = (uint8_t)(n >> (8 * (i % 4))) ^ (uint8_t)(i * 37);
    e.addr[0] = 192;
    e.addr[1] = 168;
    e.addr[2] = 1;
    e.addr[3] = (uint8_t)n;
    e.addr_len = 4;
    e.port = (uint16_t)(40000 + n);
    e.status = 1;
    snprintf(text, ONLINE_STATUS_TEXT_MAX + 1, "hello from %s", name);
    e.status_text = text;
    e.session = &some_session;
    return e;
}

/* Checks that iteration yields exactly `names`, in that order, and agrees with count. */
static void assert_order(const online_table *t, const char *const *names, size_t n)
{
    const online_entry *e = online_table_first(t);
    size_t i;

    for (i = 0; i < n; i++) {
        assert_non_null(e);
        assert_string_equal(e->name, names[i]);
        e = online_table_next(e);
    }
    assert_null(e);
    assert_int_equal(online_table_count(t), n);
}

static void test_add_find_remove(void **state)
{
    online_table t;
    online_entry in = make_entry("alice", 1);
    online_entry *out = NULL, *e;
    void *session = in.session;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    assert_int_equal(online_table_count(&t), 0);
    assert_null(online_table_first(&t));
    assert_null(online_table_find_name(&t, "alice"));

    assert_int_equal(online_table_add(&t, &in, &out), 0);
    assert_non_null(out);
    assert_ptr_not_equal(out, &in); /* a copy, owned by the table */
    memset(&in, 0, sizeof(in));     /* the caller's struct is not used after add */

    e = online_table_find_name(&t, "alice");
    assert_ptr_equal(e, out);
    assert_string_equal(e->name, "alice");
    assert_int_equal(e->addr_len, 4);
    assert_int_equal(e->addr[3], 1);
    assert_int_equal(e->port, 40001);
    assert_int_equal(e->status, 1);
    assert_string_equal(e->status_text, "hello from alice");
    assert_ptr_equal(e->session, session);
    assert_null(online_table_find_name(&t, "alic"));
    assert_null(online_table_find_name(&t, "alicee"));
    assert_int_equal(online_table_count(&t), 1);

    online_table_remove(&t, e);
    assert_int_equal(online_table_count(&t), 0);
    assert_null(online_table_find_name(&t, "alice"));
    assert_null(online_table_first(&t));

    /* The name can come back after leaving. */
    in = make_entry("alice", 1);
    assert_int_equal(online_table_add(&t, &in, NULL), 0);
    assert_non_null(online_table_find_name(&t, "alice"));
    online_table_free(&t); /* frees the remaining entry (ASan checks) */
}

static void test_duplicate_name_rejected(void **state)
{
    online_table t;
    online_entry a = make_entry("alice", 1);
    online_entry again = make_entry("alice", 2); /* same name, another key */
    online_entry *first = NULL, *out = NULL;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    assert_int_equal(online_table_add(&t, &a, &first), 0);
    out = first;
    assert_int_equal(online_table_add(&t, &again, &out), MIM_EEXIST);
    assert_null(out);
    assert_int_equal(online_table_count(&t), 1);
    assert_ptr_equal(online_table_find_name(&t, "alice"), first);
    assert_ptr_equal(online_table_find_key(&t, a.identity_pk), first);
    assert_null(online_table_find_key(&t, again.identity_pk));
    online_table_free(&t);
}

static void test_insertion_order_survives_removals(void **state)
{
    static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
    online_table t;
    online_entry e;
    size_t i;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    for (i = 0; i < 6; i++) {
        e = make_entry(names[i], (uint32_t)i);
        assert_int_equal(online_table_add(&t, &e, NULL), 0);
    }
    assert_order(&t, names, 6);

    online_table_remove(&t, online_table_find_name(&t, "b")); /* middle */
    online_table_remove(&t, online_table_find_name(&t, "a")); /* head */
    online_table_remove(&t, online_table_find_name(&t, "f")); /* tail */
    {
        static const char *const want[] = {"c", "d", "e"};
        assert_order(&t, want, 3);
    }

    e = make_entry("a", 100); /* a comeback goes to the end */
    assert_int_equal(online_table_add(&t, &e, NULL), 0);
    e = make_entry("g", 101);
    assert_int_equal(online_table_add(&t, &e, NULL), 0);
    online_table_remove(&t, online_table_find_name(&t, "d"));
    {
        static const char *const want[] = {"c", "e", "a", "g"};
        assert_order(&t, want, 4);
    }

    online_table_remove(&t, online_table_find_name(&t, "c"));
    online_table_remove(&t, online_table_find_name(&t, "e"));
    online_table_remove(&t, online_table_find_name(&t, "a"));
    online_table_remove(&t, online_table_find_name(&t, "g"));
    assert_order(&t, NULL, 0);
    online_table_free(&t);
}

static void test_find_by_key(void **state)
{
    online_table t;
    online_entry a = make_entry("alice", 1), b = make_entry("bob", 2);
    online_entry other = make_entry("nobody", 3);
    online_entry *ea, *eb;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    assert_int_equal(online_table_add(&t, &a, &ea), 0);
    assert_int_equal(online_table_add(&t, &b, &eb), 0);
    assert_ptr_equal(online_table_find_key(&t, a.identity_pk), ea);
    assert_ptr_equal(online_table_find_key(&t, b.identity_pk), eb);
    assert_null(online_table_find_key(&t, other.identity_pk));

    online_table_remove(&t, ea);
    assert_null(online_table_find_key(&t, a.identity_pk));
    assert_ptr_equal(online_table_find_key(&t, b.identity_pk), eb);
    online_table_free(&t);
}

/* The table allows one key under two names (the registry is what prevents it). */
static void test_same_key_two_names(void **state)
{
    online_table t;
    online_entry a = make_entry("alice", 1), a2 = make_entry("alice2", 1);
    online_entry *ea, *ea2, *found;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    assert_int_equal(online_table_add(&t, &a, &ea), 0);
    assert_int_equal(online_table_add(&t, &a2, &ea2), 0);
    assert_int_equal(online_table_count(&t), 2);
    found = online_table_find_key(&t, a.identity_pk);
    assert_true(found == ea || found == ea2);

    online_table_remove(&t, ea2);
    assert_ptr_equal(online_table_find_key(&t, a.identity_pk), ea);
    online_table_remove(&t, ea);
    assert_null(online_table_find_key(&t, a.identity_pk));
    online_table_free(&t);
}

#define MANY 5000

static void test_many_entries_grow_then_empty(void **state)
{
    online_table t;
    online_entry e, *found;
    char name[32];
    size_t i, n;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    for (i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "user-%zu", i);
        e = make_entry(name, (uint32_t)i);
        assert_int_equal(online_table_add(&t, &e, NULL), 0);
        /* load factor at most 1, bucket count a power of two */
        assert_true(t.count <= t.nbuckets);
        assert_int_equal(t.nbuckets & (t.nbuckets - 1), 0);
    }
    assert_int_equal(online_table_count(&t), MANY);

    /* Every entry is reachable by both indexes after all the rehashing, and in order. */
    for (i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "user-%zu", i);
        e = make_entry(name, (uint32_t)i);
        found = online_table_find_name(&t, name);
        assert_non_null(found);
        assert_ptr_equal(online_table_find_key(&t, e.identity_pk), found);
        assert_memory_equal(found->identity_pk, e.identity_pk, 32);
    }
    n = 0;
    for (found = online_table_first(&t); found != NULL; found = online_table_next(found)) {
        snprintf(name, sizeof(name), "user-%zu", n++);
        assert_string_equal(found->name, name);
    }
    assert_int_equal(n, MANY);

    /* Remove the odd ones, then the even ones, checking the rest stays findable. */
    for (i = 1; i < MANY; i += 2) {
        snprintf(name, sizeof(name), "user-%zu", i);
        online_table_remove(&t, online_table_find_name(&t, name));
    }
    assert_int_equal(online_table_count(&t), MANY / 2);
    for (i = 0; i < MANY; i += 2) {
        snprintf(name, sizeof(name), "user-%zu", i);
        found = online_table_find_name(&t, name);
        assert_non_null(found);
        online_table_remove(&t, found);
    }
    assert_int_equal(online_table_count(&t), 0);
    assert_null(online_table_first(&t));
    online_table_free(&t);
}

static void test_set_status(void **state)
{
    online_table t;
    online_entry in = make_entry("alice", 1), *e;
    char text[ONLINE_STATUS_TEXT_MAX + 2];

    (void)state;
    assert_int_equal(online_table_init(&t), 0);
    assert_int_equal(online_table_add(&t, &in, &e), 0);

    assert_int_equal(online_table_set_status(&t, e, 2, "away"), 0);
    assert_int_equal(e->status, 2);
    assert_string_equal(e->status_text, "away");

    memset(text, 'x', ONLINE_STATUS_TEXT_MAX + 1);
    text[ONLINE_STATUS_TEXT_MAX + 1] = '\0';
    assert_int_equal(online_table_set_status(&t, e, 3, text), MIM_EINVAL);
    assert_int_equal(e->status, 2); /* unchanged on failure */
    assert_string_equal(e->status_text, "away");

    text[ONLINE_STATUS_TEXT_MAX] = '\0'; /* exactly the maximum fits */
    assert_int_equal(online_table_set_status(&t, e, 3, text), 0);
    assert_int_equal(strlen(e->status_text), ONLINE_STATUS_TEXT_MAX);

    assert_int_equal(online_table_set_status(&t, e, 0, NULL), 0);
    assert_string_equal(e->status_text, "");
    online_table_free(&t);
}

static void test_bad_entries_rejected(void **state)
{
    online_table t;
    char name[MIM_NAME_MAX_BYTES + 2], text[ONLINE_STATUS_TEXT_MAX + 2];
    online_entry e, *out = NULL;

    (void)state;
    assert_int_equal(online_table_init(&t), 0);

    /* One byte over MIM_NAME_MAX_BYTES: over-long. */
    memset(name, 'n', MIM_NAME_MAX_BYTES + 1);
    name[MIM_NAME_MAX_BYTES + 1] = '\0';
    e = make_entry(name, 1);
    assert_int_equal(online_table_add(&t, &e, &out), MIM_EINVAL);
    assert_null(out);
    /* Exactly MIM_NAME_MAX_BYTES bytes fits, and is kept whole. */
    name[MIM_NAME_MAX_BYTES] = '\0';
    assert_int_equal(online_table_add(&t, &e, &out), 0);
    assert_non_null(out);
    assert_ptr_not_equal(out->name, name);
    assert_string_equal(out->name, name);
    assert_ptr_equal(online_table_find_name(&t, name), out);

    e = make_entry("", 2);
    assert_int_equal(online_table_add(&t, &e, NULL), MIM_EINVAL);

    e = make_entry("bob", 3);
    memset(text, 't', ONLINE_STATUS_TEXT_MAX + 1);
    text[ONLINE_STATUS_TEXT_MAX + 1] = '\0';
    e.status_text = text;
    assert_int_equal(online_table_add(&t, &e, NULL), MIM_EINVAL);
    e.name = NULL;
    assert_int_equal(online_table_add(&t, &e, NULL), MIM_EINVAL);

    e = make_entry("carol", 4);
    e.addr_len = 17;
    assert_int_equal(online_table_add(&t, &e, NULL), MIM_EINVAL);

    assert_int_equal(online_table_count(&t), 1);
    online_table_free(&t);
}

/* A caller's own entry linked in place: found and iterated like a copy, in insertion order with
 * the table's copies; its name is borrowed (not copied), its status text is the table's; removing
 * it unlinks it and frees only the text (the struct is the caller's, checked by ASan: a free of
 * it would be an invalid free of a stack object). */
static void test_link_in_place(void **state)
{
    online_table t;
    online_entry mine, other = make_entry("bob", 2);
    char name[] = "alice";
    (void)state;

    assert_int_equal(online_table_init(&t), 0);
    mine = make_entry(name, 1);
    assert_int_equal(online_table_add(&t, &other, NULL), 0);
    assert_int_equal(online_table_link(&t, &mine), 0);
    assert_ptr_equal(online_table_find_name(&t, "alice"), &mine);
    assert_ptr_equal(online_table_find_key(&t, mine.identity_pk), &mine);
    assert_ptr_equal(mine.name, name); /* borrowed */
    assert_string_equal(mine.status_text, "hello from alice");
    assert_ptr_equal(online_table_next(online_table_first(&t)), &mine);
    assert_int_equal(online_table_count(&t), 2);

    /* The same name again, linked or added: refused, nothing linked. */
    {
        online_entry again = make_entry("alice", 3);
        assert_int_equal(online_table_link(&t, &again), MIM_EEXIST);
        assert_int_equal(online_table_add(&t, &again, NULL), MIM_EEXIST);
    }
    assert_int_equal(online_table_set_status(&t, &mine, 2, "away for lunch"), 0);
    assert_string_equal(mine.status_text, "away for lunch");

    online_table_remove(&t, &mine);
    assert_null(online_table_find_name(&t, "alice"));
    assert_int_equal(online_table_count(&t), 1);
    assert_string_equal(name, "alice"); /* the borrowed name was never written to */

    /* Linked again after removal; then the table is freed with it still in (text freed only). */
    mine = make_entry(name, 1);
    assert_int_equal(online_table_link(&t, &mine), 0);
    online_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_remove),
        cmocka_unit_test(test_duplicate_name_rejected),
        cmocka_unit_test(test_insertion_order_survives_removals),
        cmocka_unit_test(test_find_by_key),
        cmocka_unit_test(test_same_key_two_names),
        cmocka_unit_test(test_many_entries_grow_then_empty),
        cmocka_unit_test(test_set_status),
        cmocka_unit_test(test_bad_entries_rejected),
        cmocka_unit_test(test_link_in_place),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
