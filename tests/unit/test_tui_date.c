/* The terminal interface's dates: the time column (the time today, the full date before) and
 * the day on the separator line, in fixed time zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tui_date.h"

#include <stdlib.h>
#include <time.h>

#define DEC_1_0000  1796083200000LL /* 2026-12-01 00:00:00 UTC, a Tuesday */
#define DEC_1_1402  1796133720000LL /* 2026-12-01 14:02 UTC */
#define NOV_30_1402 1796047320000LL /* 2026-11-30 14:02 UTC */
#define NOV_30_2330 1796081400000LL /* 2026-11-30 23:30 UTC: 00:30 on 1 December in CET */
#define NOV_30_2200 1796076000000LL /* 2026-11-30 22:00 UTC: 23:00 on 30 November in CET */

static void in_zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static void test_same_day(void **state)
{
    (void)state;
    in_zone("UTC0");
    assert_true(tui_date_same_day(DEC_1_0000, DEC_1_1402));
    assert_true(tui_date_same_day(DEC_1_0000 + 86399999, DEC_1_0000));
    assert_false(tui_date_same_day(DEC_1_0000 - 1, DEC_1_0000)); /* 23:59:59.999 the day before */
    assert_false(tui_date_same_day(NOV_30_2330, DEC_1_0000));
    /* Local days: in CET 23:30 UTC is already the next day, 22:00 UTC is not. */
    in_zone("CET-1");
    assert_true(tui_date_same_day(NOV_30_2330, DEC_1_1402));
    assert_false(tui_date_same_day(NOV_30_2200, NOV_30_2330));
}

static void test_time_column(void **state)
{
    char out[TUI_DATE_MAX];
    (void)state;
    in_zone("UTC0");
    tui_date_time_column(DEC_1_0000 + 60000, DEC_1_1402, out);
    assert_string_equal(out, "00:01"); /* today: the time */
    tui_date_time_column(NOV_30_1402, DEC_1_1402, out);
    assert_string_equal(out, "2026-11-30 14:02"); /* yesterday: the full date */
    tui_date_time_column(DEC_1_1402, NOV_30_1402, out);
    assert_string_equal(out, "2026-12-01 14:02"); /* a sender's clock ahead: dated too */
    in_zone("CET-1");
    tui_date_time_column(NOV_30_2330, DEC_1_1402, out);
    assert_string_equal(out, "00:30");
}

static void test_day_name(void **state)
{
    char out[TUI_DATE_MAX];
    (void)state;
    in_zone("UTC0");
    tui_date_day_name(DEC_1_1402, out);
    assert_string_equal(out, "Tuesday 1 December 2026"); /* no leading zero */
    tui_date_day_name(NOV_30_2330, out);
    assert_string_equal(out, "Monday 30 November 2026");
    in_zone("CET-1");
    tui_date_day_name(NOV_30_2330, out);
    assert_string_equal(out, "Tuesday 1 December 2026");
}

/* Issue 14: "last seen" in /directory, from just now to a date. */
static void test_last_seen(void **state)
{
    char out[TUI_DATE_MAX];
    (void)state;
    in_zone("UTC0");
    tui_date_last_seen(0, DEC_1_1402, out);
    assert_string_equal(out, "never seen");
    tui_date_last_seen(DEC_1_1402 - 30000, DEC_1_1402, out);
    assert_string_equal(out, "last seen just now");
    tui_date_last_seen(DEC_1_1402 + 5000, DEC_1_1402, out); /* the server's clock ahead */
    assert_string_equal(out, "last seen just now");
    tui_date_last_seen(DEC_1_1402 - 5 * 60000, DEC_1_1402, out);
    assert_string_equal(out, "last seen 5 min ago");
    tui_date_last_seen(DEC_1_1402 - 3 * 3600000LL - 1000, DEC_1_1402, out);
    assert_string_equal(out, "last seen 3 h ago");
    tui_date_last_seen(NOV_30_1402, DEC_1_1402, out);
    assert_string_equal(out, "last seen 1 d ago");
    tui_date_last_seen(NOV_30_1402 - 10 * 86400000LL, DEC_1_1402, out);
    assert_string_equal(out, "last seen 2026-11-20");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_day),
        cmocka_unit_test(test_time_column),
        cmocka_unit_test(test_day_name),
        cmocka_unit_test(test_last_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
