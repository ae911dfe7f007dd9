/* Socket address helpers: parsing "HOST", "HOST:PORT", "[V6]:PORT" and printing addresses. */
#ifndef MIM_ADDR_H
#define MIM_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MIM_ADDR_STRLEN 64 /* "[v6 address]:port" and NUL */

/* Parses a numeric IPv4 or IPv6 address with an optional port ("10.0.0.1", "10.0.0.1:4242",
 * "::1", "[::1]:4242") into *out; default_port is used when none is given. 0 or MIM_EINVAL. */
int mim_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out);
/* "1.2.3.4:5" or "[::1]:5", always NUL-terminated. */
void mim_addr_format(const struct sockaddr *sa, char out[MIM_ADDR_STRLEN]);
/* Copies the raw IP bytes (4 or 16, network order) of sa into out; returns the count, or 0.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is returned as its 4 IPv4 bytes. */
size_t mim_addr_raw(const struct sockaddr *sa, uint8_t out[16]);
uint16_t mim_addr_port(const struct sockaddr *sa);

#endif
