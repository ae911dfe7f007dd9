/* mim-decode's text: addresses, the lines of a connection and its frames, warnings (on stderr,
 * counted). Bytes from the capture reach the output only as hex or through mim_trace_render,
 * which escapes every control character. */
#ifndef MIM_DECODE_PRINT_H
#define MIM_DECODE_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PR_ENDPOINT_LEN 56    /* "[ipv6]:port" and its NUL */
#define PR_ARROW_OUT    " ->" /* initiator -> responder */
#define PR_ARROW_IN     "<- " /* responder -> initiator */

/* "127.0.0.1:4242" or "[::1]:4242". family 4 or 6; IPv4 in the first 4 bytes of addr. */
void pr_endpoint(char out[PR_ENDPOINT_LEN], int family, const uint8_t *addr, uint16_t port);
/* Lowercase hex of the first n bytes of p, cut with "..." to fit out (len bytes). */
void pr_hex(char *out, size_t len, const uint8_t *p, size_t n);
/* One line of connection id: "#ID TIME ARROW " then fmt. */
void pr_line(FILE *out, unsigned id, double ts, const char *arrow, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The text under a frame (a decrypted batch), indented. */
void pr_text(FILE *out, unsigned id, const char *text);
/* "mim-decode: warning: ..." on stderr; counts into *count. */
void pr_warn(size_t *count, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
