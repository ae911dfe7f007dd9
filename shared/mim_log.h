/* Logging: one line per event on stderr, never stdout (stdout is for machine-readable output).
 *
 *   2026-11-22T03:30:00.123Z mim-presence[1234] info: conn 7 closed: frame too big
 *
 * Never pass secrets to these functions. Use mim_log_sample() for bytes from the network: it
 * renders them as hex so nothing a peer sends reaches the terminal raw. */
#ifndef MIM_LOG_H
#define MIM_LOG_H

#include <stddef.h>
#include <stdint.h>

enum mim_log_level {
    MIM_LOG_ERROR = 0,
    MIM_LOG_WARN = 1,
    MIM_LOG_INFO = 2,
    MIM_LOG_DEBUG = 3,
};

/* Program name shown in each line (not copied: pass a string literal or argv[0]). */
void mim_log_set_program(const char *name);
void mim_log_set_level(int level);
int mim_log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns the level or -1. */
int mim_log_parse_level(const char *s);

void mim_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mim_log_error(...) mim_log(MIM_LOG_ERROR, __VA_ARGS__)
#define mim_log_warn(...)  mim_log(MIM_LOG_WARN, __VA_ARGS__)
#define mim_log_info(...)  mim_log(MIM_LOG_INFO, __VA_ARGS__)
#define mim_log_debug(...) mim_log(MIM_LOG_DEBUG, __VA_ARGS__)

/* Writes at most 16 bytes of `p` as lowercase hex ("0a1b..." plus "..." when cut) into out,
 * always NUL-terminated. For logging a sanitized sample of bad input. */
void mim_log_sample(char *out, size_t outlen, const uint8_t *p, size_t n);

#endif
