/* Numbers and sizes from text (shared/mim_parse.c): what each reads, and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"
#include "mim_parse.h"

#define PIB (1ll << 50)

static long long size_of(const char *s)
{
    long long v = -7;
    EXPECT_INT(mim_parse_size(s, 0, PIB, &v), 0);
    return v;
}

static void test_sizes(void **state)
{
    (void)state;
    EXPECT_INT(size_of("0"), 0);
    EXPECT_INT(size_of("512"), 512);
    EXPECT_INT(size_of("512B"), 512);
    EXPECT_INT(size_of("4k"), 4096);
    EXPECT_INT(size_of("100M"), 100ll * 1024 * 1024);
    EXPECT_INT(size_of("100MB"), 100ll * 1024 * 1024);
    EXPECT_INT(size_of("64GiB"), 64ll << 30);
    EXPECT_INT(size_of("2t"), 2ll << 40);
    EXPECT_INT(size_of("1024T"), PIB);
}

static void test_bad_sizes(void **state)
{
    static const char *const bad[] = {"",
                                      "M",
                                      "-1",
                                      "+5",
                                      " 5",
                                      "5 ",
                                      "1.5G",
                                      "5X",
                                      "5MM",
                                      "5Mi",
                                      "5iB",
                                      "5MBs",
                                      "0x10",
                                      "1025T",
                                      "99999999999999999999",
                                      "9000000000000000000T"};
    long long v = -7;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mim_parse_size(bad[i], 0, PIB, &v) == 0)
            fail_msg("'%s' was read as %lld", bad[i], v);
        EXPECT_INT(v, -7); /* untouched */
    }
    EXPECT_INT(mim_parse_size("0", 1, PIB, &v) != 0, 1); /* under the minimum */
}

static void test_numbers(void **state)
{
    long long v = 0;
    (void)state;
    EXPECT_INT(mim_parse_number("42", 0, 100, &v), 0);
    EXPECT_INT(v, 42);
    EXPECT_INT(mim_parse_number("42k", 0, 100, &v) != 0, 1); /* a size is no number */
    EXPECT_INT(mim_parse_number("101", 0, 100, &v) != 0, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
