/* The words and numbers of file transfers (see tui_files_text.h). */
#include "tui_files_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

char *tui_files_size(int64_t bytes, char out[TUI_FILES_SIZE_LEN])
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)(bytes > 0 ? bytes : 0);
    size_t u = 0;

    if (bytes < 1024) {
        snprintf(out, TUI_FILES_SIZE_LEN, "%" PRId64 " B", bytes > 0 ? bytes : 0);
        return out;
    }
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    /* 9.96 would print as "10.0": one decimal only below what rounds to 10. */
    if (v < 9.95)
        snprintf(out, TUI_FILES_SIZE_LEN, "%.1f %s", v, units[u]);
    else
        snprintf(out, TUI_FILES_SIZE_LEN, "%.0f %s", v, units[u]);
    return out;
}

char *tui_files_rate(double rate, char out[TUI_FILES_SIZE_LEN + 2])
{
    char size[TUI_FILES_SIZE_LEN];

    out[0] = '\0';
    if (rate >= 1 && rate < 9.2e18)
        snprintf(out, TUI_FILES_SIZE_LEN + 2, "%s/s", tui_files_size((int64_t)rate, size));
    return out;
}

char *tui_files_eta(int64_t left, double rate, char out[TUI_FILES_ETA_LEN])
{
    double secs;
    long s;

    out[0] = '\0';
    if (rate <= 0 || left <= 0)
        return out;
    secs = (double)left / rate;
    if (secs < 1) {
        snprintf(out, TUI_FILES_ETA_LEN, "< 1 s");
    } else if (secs >= 100 * 3600.0) {
        snprintf(out, TUI_FILES_ETA_LEN, "> 99 h");
    } else {
        s = (long)(secs + 0.5);
        if (s < 60)
            snprintf(out, TUI_FILES_ETA_LEN, "%ld s", s);
        else if (s < 3600)
            snprintf(out, TUI_FILES_ETA_LEN, "%ld min %02ld s", s / 60, s % 60);
        else
            snprintf(out, TUI_FILES_ETA_LEN, "%ld h %02ld min", s / 3600, s % 3600 / 60);
    }
    return out;
}

/* done of total in whole percent, rounded down (100 only when all of it is there); a total of
 * 0 is 100. */
static int percent_of(int64_t done, int64_t total)
{
    int percent;

    if (total <= 0)
        return 100;
    if (done < 0)
        done = 0;
    if (done > total)
        done = total;
    if (done == total)
        return 100;
    percent = (int)((double)done * 100 / (double)total);
    return percent < 100 ? percent : 99; /* a double rounding up at the very end */
}

char *tui_files_bar(int64_t done, int64_t total, char out[TUI_FILES_BAR_LEN])
{
    int percent = percent_of(done, total), cells;

    cells = percent * TUI_FILES_BAR_COLS / 100;
    out[0] = '[';
    memset(out + 1, '#', (size_t)cells);
    memset(out + 1 + cells, '.', (size_t)(TUI_FILES_BAR_COLS - cells));
    snprintf(out + 1 + TUI_FILES_BAR_COLS, TUI_FILES_BAR_LEN - 1 - TUI_FILES_BAR_COLS, "] %3d%%",
             percent);
    return out;
}

void tui_files_head(const mim_core_file_info *f, char *out, size_t cap)
{
    char size[TUI_FILES_SIZE_LEN];

    tui_files_size(f->size, size);
    if (f->nfiles > 1)
        snprintf(out, cap, "[folder %s, %" PRIu32 " files, %s]", f->name, f->nfiles, size);
    else if (strncmp(f->media_type, "image/", 6) == 0 && f->width > 0 && f->height > 0)
        snprintf(out, cap, "[image %s %" PRIu32 "x%" PRIu32 ", %s]", f->name, f->width, f->height,
                 size);
    else if (strncmp(f->media_type, "image/", 6) == 0)
        snprintf(out, cap, "[image %s, %s]", f->name, size);
    else
        snprintf(out, cap, "[file %s, %s]", f->name, size);
}

const char *tui_files_state_word(const mim_core_file_info *f)
{
    switch (f->state) {
    case MIM_CORE_FILE_OFFERED:
        return f->dir == MIM_CORE_FILE_RECEIVE ? "waiting" : "offered";
    case MIM_CORE_FILE_ACCEPTED:
        return "accepted";
    case MIM_CORE_FILE_RUNNING:
        return "running";
    case MIM_CORE_FILE_PAUSED:
        return "paused";
    case MIM_CORE_FILE_DONE:
        return "done";
    case MIM_CORE_FILE_REJECTED:
        return "rejected";
    default:
        return "failed";
    }
}

/* The running line's tail: the bar, the rate and the time left. */
static void running_tail(const mim_core_file_info *f, char *out, size_t cap)
{
    char bar[TUI_FILES_BAR_LEN], rate[TUI_FILES_SIZE_LEN + 2], eta[TUI_FILES_ETA_LEN];

    tui_files_bar(f->bytes, f->size, bar);
    tui_files_rate(f->rate, rate);
    tui_files_eta(f->size - f->bytes, f->rate, eta);
    snprintf(out, cap, "%s%s%s%s%s", bar, rate[0] != '\0' ? "  " : "", rate,
             eta[0] != '\0' ? ", " : "", eta[0] != '\0' ? eta : "");
    if (eta[0] != '\0' && strlen(out) + 6 < cap)
        strcat(out, " left");
}

char *tui_files_line(const mim_core_file_info *f, int number, char *out, size_t cap)
{
    char head[600], tail[700];
    int receive = f->dir == MIM_CORE_FILE_RECEIVE;

    tui_files_head(f, head, sizeof(head));
    switch (f->state) {
    case MIM_CORE_FILE_OFFERED:
        if (receive && number > 0)
            snprintf(tail, sizeof(tail), "%.130s offers it: /accept %d or /reject %d", f->with,
                     number, number);
        else if (receive)
            snprintf(tail, sizeof(tail), "%.130s offers it: /accept or /reject", f->with);
        else
            snprintf(tail, sizeof(tail), "offered; waits for %.130s to accept", f->with);
        break;
    case MIM_CORE_FILE_ACCEPTED:
        snprintf(tail, sizeof(tail), "accepted; waits for a connection");
        break;
    case MIM_CORE_FILE_RUNNING:
        running_tail(f, tail, sizeof(tail));
        break;
    case MIM_CORE_FILE_PAUSED:
        snprintf(tail, sizeof(tail), "paused at %d%%: %.400s", percent_of(f->bytes, f->size),
                 f->error);
        break;
    case MIM_CORE_FILE_DONE:
        if (receive)
            snprintf(tail, sizeof(tail), "saved: %.600s", f->path);
        else
            snprintf(tail, sizeof(tail), "sent, verified by %.130s", f->with);
        break;
    case MIM_CORE_FILE_REJECTED:
        snprintf(tail, sizeof(tail), "rejected%s%.400s", f->error[0] != '\0' ? ": " : "", f->error);
        break;
    default:
        snprintf(tail, sizeof(tail), "failed: %.400s",
                 f->error[0] != '\0' ? f->error : "(no reason given)");
        break;
    }
    snprintf(out, cap, "%s %s", head, tail);
    return out;
}
