/* shared/mim_clock.c: a message time another peer sent, as mim stores and shows it (issue 12,
 * finding 10: 2^64-1 showed as -1). */
#include "mim_clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void test_sane_ms(void **state)
{
    int64_t before, after;
    uint64_t got;
    (void)state;

    /* In range: itself, the limits included. */
    assert_int_equal(mim_clock_sane_ms(0), 0);
    assert_int_equal(mim_clock_sane_ms(1700000000000ull), 1700000000000ull);
    assert_int_equal(mim_clock_sane_ms(MIM_CLOCK_MAX_MS), MIM_CLOCK_MAX_MS);
    /* Beyond: the wall clock now, never negative as an int64. */
    const uint64_t bad[] = {MIM_CLOCK_MAX_MS + 1, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1,
                            UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        before = mim_clock_wall_ms();
        got = mim_clock_sane_ms(bad[i]);
        after = mim_clock_wall_ms();
        assert_true((int64_t)got >= before && (int64_t)got <= after);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sane_ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
