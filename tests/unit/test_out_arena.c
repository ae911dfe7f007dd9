/* out_arena: where the presence server's output of one loop turn lives. Pure memory handling,
 * so plain unit tests: slices grow in place or move with their bytes, the moved-from bytes are
 * wiped, a reset frees nothing while a batch still holds a slice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mim_error.h"
#include "mim_framer.h"
#include "out_arena.h"

static void fill(out_slice *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b->data[b->len + i] = (uint8_t)(seed + i);
    b->len += n;
}

static int holds(const uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed + i))
            return 0;
    return 1;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* The newest slice grows where it is; an older one moves, keeps its bytes, and leaves zeros. */
static void test_grow_in_place_and_by_moving(void **state)
{
    out_arena a;
    out_slice x = {0}, y = {0};
    uint8_t *x_first, *y_first;
    (void)state;

    out_arena_init(&a);
    assert_int_equal(out_arena_reserve(&a, &x, 10), MIM_OK);
    assert_true(x.cap >= OUT_ARENA_MIN_SLICE);
    fill(&x, 10, 1);
    assert_int_equal(out_arena_reserve(&a, &y, 20), MIM_OK);
    fill(&y, 20, 50);
    assert_int_equal(a.live, 2);

    /* y is the newest: it grows in place. */
    y_first = y.data;
    assert_int_equal(out_arena_reserve(&a, &y, 1000), MIM_OK);
    assert_ptr_equal(y.data, y_first);
    assert_true(y.cap >= 1020);
    assert_true(holds(y.data, 20, 50));

    /* x is not: it moves to a new slice with its bytes, and its old bytes are wiped. */
    x_first = x.data;
    assert_int_equal(out_arena_reserve(&a, &x, 1000), MIM_OK);
    assert_ptr_not_equal(x.data, x_first);
    assert_true(x.cap >= 1010);
    assert_int_equal(x.len, 10);
    assert_true(holds(x.data, 10, 1));
    assert_true(all_zero(x_first, 10));
    assert_true(holds(y.data, 20, 50)); /* untouched by x's move */
    assert_int_equal(a.live, 2);

    /* Room already there: nothing moves. */
    x_first = x.data;
    assert_int_equal(out_arena_reserve(&a, &x, 5), MIM_OK);
    assert_ptr_equal(x.data, x_first);

    out_arena_drop(&a, &x);
    out_arena_drop(&a, &y);
    assert_null(x.data);
    assert_int_equal(x.len, 0);
    assert_int_equal(x.cap, 0);
    assert_int_equal(a.live, 0);
    assert_int_equal(out_arena_reset(&a), 0);
    assert_null(a.head);
}

/* Dropping the newest slice gives its space back at once; dropping wipes; an empty drop is a
 * no-op. */
static void test_drop(void **state)
{
    out_arena a;
    out_slice x = {0}, y = {0};
    uint8_t *p;
    (void)state;

    out_arena_init(&a);
    assert_int_equal(out_arena_reserve(&a, &x, 100), MIM_OK);
    fill(&x, 100, 7);
    p = x.data;
    out_arena_drop(&a, &x);
    assert_true(all_zero(p, 100));
    out_arena_drop(&a, &x); /* already empty */
    assert_int_equal(a.live, 0);
    assert_int_equal(out_arena_reserve(&a, &y, 100), MIM_OK);
    assert_ptr_equal(y.data, p); /* the same space again */
    out_arena_drop(&a, &y);
    assert_int_equal(out_arena_reset(&a), 0);
}

/* A reset while a batch still holds a slice frees nothing and says how many are left. */
static void test_reset_refuses_with_live_batches(void **state)
{
    out_arena a;
    out_slice x = {0}, y = {0};
    (void)state;

    out_arena_init(&a);
    assert_int_equal(out_arena_reserve(&a, &x, 10), MIM_OK);
    assert_int_equal(out_arena_reserve(&a, &y, 10), MIM_OK);
    fill(&x, 10, 3);
    out_arena_drop(&a, &y);
    assert_int_equal(out_arena_reset(&a), 1);
    assert_non_null(a.head);
    assert_true(holds(x.data, 10, 3)); /* still valid */
    out_arena_drop(&a, &x);
    assert_int_equal(out_arena_reset(&a), 0);
    assert_null(a.head);
    assert_int_equal(out_arena_reset(&a), 0); /* an empty arena resets too */
}

/* Many batches fill more than one block; a frame-sized batch fits; more than a frame does not. */
static void test_blocks_and_limits(void **state)
{
    enum { N = 2000 };
    static out_slice b[N];
    out_arena a;
    out_slice big = {0};
    (void)state;

    out_arena_init(&a);
    for (size_t i = 0; i < N; i++) {
        memset(&b[i], 0, sizeof(b[i]));
        assert_int_equal(out_arena_reserve(&a, &b[i], 200), MIM_OK);
        fill(&b[i], 200, (uint8_t)i);
    }
    assert_true(out_arena_blocks(&a) >= 2); /* 2000 x 200 bytes do not fit one 256 KiB block */
    for (size_t i = 0; i < N; i++)
        assert_true(holds(b[i].data, 200, (uint8_t)i));

    assert_int_equal(out_arena_reserve(&a, &big, MIM_FRAME_MAX), MIM_OK);
    fill(&big, MIM_FRAME_MAX, 9);
    assert_int_equal(out_arena_reserve(&a, &big, 1), MIM_EOVERFLOW);
    assert_int_equal(big.len, MIM_FRAME_MAX); /* unchanged */
    assert_true(holds(big.data, MIM_FRAME_MAX, 9));

    out_arena_drop(&a, &big);
    for (size_t i = 0; i < N; i++)
        out_arena_drop(&a, &b[i]);
    assert_int_equal(out_arena_reset(&a), 0);
    assert_int_equal(out_arena_blocks(&a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_in_place_and_by_moving),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_reset_refuses_with_live_batches),
        cmocka_unit_test(test_blocks_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
