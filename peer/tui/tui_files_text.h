/* The words and numbers of file transfers in the terminal interface (docs/TUI.md, "Files"):
 * sizes, rates, time left, a progress bar, and the one line a transfer shows in its
 * conversation ("[image cat.png 640x480, 120 KB] saved: /home/ann/Downloads/mim/cat.png").
 * Pure: no terminal, no core calls, so each form is unit-tested (test_tui_files_text.c).
 *
 * Sizes count in powers of 1024 with the short names (KB, MB, GB, TB), as --auto-accept and
 * --max-file-size read them. */
#ifndef MIM_TUI_FILES_TEXT_H
#define MIM_TUI_FILES_TEXT_H

#include "core.h"

#include <stddef.h>
#include <stdint.h>

#define TUI_FILES_SIZE_LEN 16 /* "1023.9 KB" and bigger: room for any int64_t */
#define TUI_FILES_BAR_COLS 20 /* the bar's cells between its brackets */
#define TUI_FILES_BAR_LEN  (TUI_FILES_BAR_COLS + 16) /* the bar and its percent, NUL included */
#define TUI_FILES_ETA_LEN  32
#define TUI_FILES_LINE_MAX 1200 /* a transfer's line, NUL included (names <= 255 bytes, paths) */

/* bytes as "0 B", "999 B", "1.0 KB", "9.9 MB", "120 KB", "64 GB": one decimal under 10 units,
 * none above (the unit changes at 1024). A negative size is "0 B". Returns out. */
char *tui_files_size(int64_t bytes, char out[TUI_FILES_SIZE_LEN]);
/* bytes per second as "12 MB/s" ("" for a rate of 0 or less: none measured yet). Returns out. */
char *tui_files_rate(double rate, char out[TUI_FILES_SIZE_LEN + 2]);
/* The time the rest takes at rate: "< 1 s", "42 s", "3 min 05 s", "2 h 07 min", "" when the
 * rate is 0 or less (unknown) or nothing is left, "> 99 h" beyond. Returns out. */
char *tui_files_eta(int64_t left, double rate, char out[TUI_FILES_ETA_LEN]);
/* done of total as a bar of TUI_FILES_BAR_COLS cells, "[#######.............]" (done cells '#',
 * the rest '.'), with the percent after it: "[####................]  21%". A total of 0 is
 * full. Returns out. */
char *tui_files_bar(int64_t done, int64_t total, char out[TUI_FILES_BAR_LEN]);

/* The head of a transfer's line: "[file report.pdf, 2.1 MB]", "[folder photos, 12 files, 3.0
 * MB]" or "[image cat.png 640x480, 120 KB]". */
void tui_files_head(const mim_core_file_info *f, char *out, size_t cap);
/* A transfer's whole line in its conversation, by its state: the head, then
 *   waiting (an offer to us):  "bob offers it: /accept N or /reject N"
 *   offered (ours):            "offered; waits for bob to accept"
 *   accepted:                  "accepted; waits for a connection"
 *   running:                   the bar, the rate and the time left
 *   paused:                    "paused at 40%: <error>"
 *   done:                      "saved: PATH" (receive) or "sent, verified" (send)
 *   rejected, failed:          "rejected" or "failed: <error>"
 * number: the transfer's number in /files (0: none given). Returns out. */
char *tui_files_line(const mim_core_file_info *f, int number, char *out, size_t cap);
/* The state as a word for /files: "waiting", "offered", "accepted", "running", "paused",
 * "done", "rejected", "failed". */
const char *tui_files_state_word(const mim_core_file_info *f);

#endif
