/* Dates in a conversation: the time column of a line ("14:02" today, "2026-11-30 14:02" on an
 * earlier day) and the day named on the separator line drawn where the day changes
 * ("Tuesday 1 December 2026"). Local time (TZ), the names in the locale's language (LC_TIME).
 * Pure apart from reading the time zone. */
#ifndef MIM_TUI_DATE_H
#define MIM_TUI_DATE_H

#include <stddef.h>
#include <stdint.h>

#define TUI_DATE_MAX 64 /* bytes of any text below, NUL included */

/* 1 when a and b (milliseconds since the epoch) fall on the same local day. */
int tui_date_same_day(int64_t a_ms, int64_t b_ms);
/* The time column of a line stamped ts_ms, drawn at now_ms: the time alone on the same day,
 * the full date and the time on any other (an earlier day, or a sender's clock ahead). */
void tui_date_time_column(int64_t ts_ms, int64_t now_ms, char out[TUI_DATE_MAX]);
/* The day of ts_ms in words, for the separator: "Tuesday 1 December 2026". */
void tui_date_day_name(int64_t ts_ms, char out[TUI_DATE_MAX]);
/* Issue 14, /directory: when someone offline was last seen (seen_ms; 0 unknown), said at
 * now_ms: "last seen just now", "... 5 min ago", "... 3 h ago", "... 2 d ago", then the date
 * ("last seen 2026-11-30"); "never seen" when unknown. */
void tui_date_last_seen(int64_t seen_ms, int64_t now_ms, char out[TUI_DATE_MAX]);

#endif
