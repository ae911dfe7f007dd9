#include "mim_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest line written, newline included; longer messages are cut and end in "...". */
#define MIM_LOG_LINE_MAX   2048
#define MIM_LOG_SAMPLE_MAX 16

static const char *log_program = "mim";
static int log_level = MIM_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void mim_log_set_program(const char *name)
{
    if (name != NULL && name[0] != '\0')
        log_program = name;
}

void mim_log_set_level(int level)
{
    if (level < MIM_LOG_ERROR)
        level = MIM_LOG_ERROR;
    if (level > MIM_LOG_DEBUG)
        level = MIM_LOG_DEBUG;
    log_level = level;
}

int mim_log_get_level(void)
{
    return log_level;
}

int mim_log_parse_level(const char *s)
{
    if (s == NULL)
        return -1;
    for (int i = MIM_LOG_ERROR; i <= MIM_LOG_DEBUG; i++) {
        if (strcmp(s, level_names[i]) == 0)
            return i;
    }
    return -1;
}

/* Writes "2026-11-22T03:30:00.123Z" into out; returns its length (0 if the clock failed). */
static size_t format_time(char *out, size_t outlen)
{
    struct timespec ts;
    struct tm tm;
    int n;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL)
        return 0;
    n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L);
    if (n < 0 || (size_t)n >= outlen)
        return 0;
    return (size_t)n;
}

void mim_log(int level, const char *fmt, ...)
{
    char line[MIM_LOG_LINE_MAX];
    size_t pos;
    size_t start;
    int n;
    va_list ap;
    int saved_errno = errno; /* callers often log and then look at errno */

    if (level > log_level)
        return;
    if (level < MIM_LOG_ERROR)
        level = MIM_LOG_ERROR;
    if (level > MIM_LOG_DEBUG)
        level = MIM_LOG_DEBUG;

    pos = format_time(line, sizeof(line));
    n = snprintf(line + pos, sizeof(line) - pos, "%s%s[%ld] %s: ", pos > 0 ? " " : "", log_program,
                 (long)getpid(), level_names[level]);
    if (n < 0)
        goto out;
    pos += (size_t)n;
    if (pos > sizeof(line) - 5)
        pos = sizeof(line) - 5;

    start = pos;
    va_start(ap, fmt);
    n = vsnprintf(line + pos, sizeof(line) - pos - 1, fmt, ap); /* keep a byte for '\n' */
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(line) - pos - 1) {
        pos = sizeof(line) - 2;
        memcpy(line + pos - 3, "...", 3);
    } else {
        pos += (size_t)n;
    }
    /* One event, one line: a newline or escape sequence in a message (a name, a path) must
     * not forge log lines or drive the terminal. */
    for (size_t i = start; i < pos; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = '?';
    }
    line[pos++] = '\n';

    /* A single write per line so lines from concurrent processes never interleave. */
    fwrite(line, 1, pos, stderr);
    fflush(stderr);
out:
    errno = saved_errno;
}

void mim_log_sample(char *out, size_t outlen, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t room;
    size_t shown = n < MIM_LOG_SAMPLE_MAX ? n : MIM_LOG_SAMPLE_MAX;
    int cut = shown < n;
    size_t pos = 0;

    if (out == NULL || outlen == 0)
        return;
    room = outlen - 1;
    if (shown * 2 > room)
        cut = 1;
    if (cut) {
        /* Keep room for the "..." that says there was more; a reader must not take a short
         * sample for the whole input. */
        size_t fit = room >= 3 ? (room - 3) / 2 : room / 2;
        if (shown > fit)
            shown = fit;
    }
    for (size_t i = 0; i < shown; i++) {
        out[pos++] = hex[p[i] >> 4];
        out[pos++] = hex[p[i] & 0x0f];
    }
    if (cut && pos + 3 <= room) {
        memcpy(out + pos, "...", 3);
        pos += 3;
    }
    out[pos] = '\0';
}
