/* mim_buf: growth, consume, reuse after consume, overflow-checked reserve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_buf.h"
#include "mim_error.h"

#include <string.h>

static void test_zeroed_is_empty(void **state)
{
    (void)state;
    mim_buf b = {0};

    assert_null(b.data);
    assert_int_equal(mim_buf_append(&b, "x", 1), MIM_OK);
    assert_int_equal(b.len, 1);
    mim_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* Reusable after free. */
    assert_int_equal(mim_buf_append_byte(&b, 7), MIM_OK);
    assert_int_equal(b.data[0], 7);
    mim_buf_free(&b);
}

static void test_growth_is_geometric(void **state)
{
    (void)state;
    mim_buf b;
    size_t reallocs = 0;
    size_t last_cap = 0;

    mim_buf_init(&b);
    for (size_t i = 0; i < 100000; i++) {
        assert_int_equal(mim_buf_append_byte(&b, (uint8_t)i), MIM_OK);
        assert_true(b.len <= b.cap);
        if (b.cap != last_cap) {
            /* Every growth at least doubles (after the first allocation). */
            if (last_cap != 0)
                assert_true(b.cap >= 2 * last_cap);
            last_cap = b.cap;
            reallocs++;
        }
    }
    assert_int_equal(b.len, 100000);
    assert_true(reallocs <= 20);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], (uint8_t)i);
    mim_buf_free(&b);
}

static void test_consume_moves_rest_to_front(void **state)
{
    (void)state;
    mim_buf b;

    mim_buf_init(&b);
    assert_int_equal(mim_buf_append(&b, "hello world", 11), MIM_OK);
    mim_buf_consume(&b, 6);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "world", 5);
    mim_buf_consume(&b, 0);
    assert_int_equal(b.len, 5);
    mim_buf_consume(&b, 5);
    assert_int_equal(b.len, 0);
    mim_buf_free(&b);
}

static void test_append_after_consume_reuses_storage(void **state)
{
    (void)state;
    mim_buf b;
    uint8_t chunk[100];
    size_t high_water;

    memset(chunk, 0xab, sizeof(chunk));
    mim_buf_init(&b);
    assert_int_equal(mim_buf_append(&b, chunk, sizeof(chunk)), MIM_OK);
    assert_int_equal(mim_buf_append(&b, chunk, sizeof(chunk)), MIM_OK);
    high_water = b.cap;
    /* A queue: drop one chunk, add one chunk, many times; it must not creep upwards. */
    for (int i = 0; i < 1000; i++) {
        mim_buf_consume(&b, sizeof(chunk));
        chunk[0] = (uint8_t)i;
        assert_int_equal(mim_buf_append(&b, chunk, sizeof(chunk)), MIM_OK);
        assert_int_equal(b.len, 2 * sizeof(chunk));
        assert_int_equal(b.cap, high_water);
        assert_int_equal(b.data[sizeof(chunk)], (uint8_t)i);
    }
    mim_buf_free(&b);
}

static void test_reset_keeps_storage(void **state)
{
    (void)state;
    mim_buf b;
    size_t cap;

    mim_buf_init(&b);
    assert_int_equal(mim_buf_append(&b, "abc", 3), MIM_OK);
    cap = b.cap;
    mim_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_non_null(b.data);
    mim_buf_free(&b);
}

static void test_reserve(void **state)
{
    (void)state;
    mim_buf b;

    mim_buf_init(&b);
    assert_int_equal(mim_buf_reserve(&b, 0), MIM_OK);
    assert_int_equal(mim_buf_reserve(&b, 1000), MIM_OK);
    assert_true(b.cap >= 1000);
    assert_int_equal(b.len, 0);
    mim_buf_free(&b);
}

static void test_reserve_overflow_fails(void **state)
{
    (void)state;
    mim_buf b;
    size_t cap;

    mim_buf_init(&b);
    assert_int_equal(mim_buf_reserve(&b, SIZE_MAX), MIM_EOVERFLOW);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);

    assert_int_equal(mim_buf_append(&b, "0123456789", 10), MIM_OK);
    cap = b.cap;
    assert_int_equal(mim_buf_reserve(&b, SIZE_MAX), MIM_EOVERFLOW);
    assert_int_equal(mim_buf_reserve(&b, SIZE_MAX - 5), MIM_EOVERFLOW);
    /* A failed reserve leaves the buffer as it was. */
    assert_int_equal(b.len, 10);
    assert_int_equal(b.cap, cap);
    assert_memory_equal(b.data, "0123456789", 10);
    assert_int_not_equal(mim_buf_append(&b, b.data, SIZE_MAX), MIM_OK);
    mim_buf_free(&b);
}

static void test_wipe_free(void **state)
{
    (void)state;
    mim_buf b;

    mim_buf_init(&b);
    mim_buf_wipe_free(&b); /* empty: nothing to wipe, must not crash */
    assert_int_equal(mim_buf_append(&b, "secret", 6), MIM_OK);
    mim_buf_wipe_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeroed_is_empty),
        cmocka_unit_test(test_growth_is_geometric),
        cmocka_unit_test(test_consume_moves_rest_to_front),
        cmocka_unit_test(test_append_after_consume_reuses_storage),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_reserve_overflow_fails),
        cmocka_unit_test(test_wipe_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
