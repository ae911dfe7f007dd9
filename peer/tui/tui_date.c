/* Dates in a conversation (see tui_date.h). */
#include "tui_date.h"

#include <stdio.h>
#include <time.h>

/* ts_ms as local time: 0, or -1 (out of range). Milliseconds before the epoch round down. */
static int local(int64_t ts_ms, struct tm *tm)
{
    time_t t = (time_t)(ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000);
    return localtime_r(&t, tm) != NULL ? 0 : -1;
}

int tui_date_same_day(int64_t a_ms, int64_t b_ms)
{
    struct tm a, b;

    if (local(a_ms, &a) != 0 || local(b_ms, &b) != 0)
        return 1; /* no day to tell apart: no separator */
    return a.tm_year == b.tm_year && a.tm_yday == b.tm_yday;
}

void tui_date_time_column(int64_t ts_ms, int64_t now_ms, char out[TUI_DATE_MAX])
{
    struct tm tm;

    out[0] = '\0';
    if (local(ts_ms, &tm) != 0)
        return;
    strftime(out, TUI_DATE_MAX, tui_date_same_day(ts_ms, now_ms) ? "%H:%M" : "%Y-%m-%d %H:%M", &tm);
}

void tui_date_day_name(int64_t ts_ms, char out[TUI_DATE_MAX])
{
    struct tm tm;
    char weekday[24], month[24];

    out[0] = '\0';
    if (local(ts_ms, &tm) != 0)
        return;
    /* The day of the month without a leading zero ("1 December"), which %d would add. */
    if (strftime(weekday, sizeof(weekday), "%A", &tm) == 0 ||
        strftime(month, sizeof(month), "%B %Y", &tm) == 0)
        return;
    snprintf(out, TUI_DATE_MAX, "%s %d %s", weekday, tm.tm_mday, month);
}

void tui_date_last_seen(int64_t seen_ms, int64_t now_ms, char out[TUI_DATE_MAX])
{
    int64_t ago = (now_ms - seen_ms) / 1000;
    struct tm tm;

    if (seen_ms <= 0 || local(seen_ms, &tm) != 0) {
        snprintf(out, TUI_DATE_MAX, "never seen");
        return;
    }
    if (ago < 60) /* also a server clock a little ahead of ours */
        snprintf(out, TUI_DATE_MAX, "last seen just now");
    else if (ago < 3600)
        snprintf(out, TUI_DATE_MAX, "last seen %d min ago", (int)(ago / 60));
    else if (ago < 24 * 3600)
        snprintf(out, TUI_DATE_MAX, "last seen %d h ago", (int)(ago / 3600));
    else if (ago < 7 * 24 * 3600)
        snprintf(out, TUI_DATE_MAX, "last seen %d d ago", (int)(ago / (24 * 3600)));
    else
        strftime(out, TUI_DATE_MAX, "last seen %Y-%m-%d", &tm);
}
