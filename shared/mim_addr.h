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

/* 1 when the raw address (4 or 16 bytes, network order; an IPv4-mapped IPv6 address is judged
 * as its IPv4 address) is a loopback address: 127.0.0.0/8 or ::1. */
int mim_addr_raw_is_loopback(const uint8_t *addr, size_t len);
/* 1 when a presence server's table may send a peer to this address (4 or 16 bytes): not
 * unspecified (0.0.0.0/8, ::), not multicast (224.0.0.0/4, ff00::/8), not broadcast or reserved
 * (240.0.0.0/4, 255.255.255.255 included), and loopback only when allow_loopback is set (the
 * server itself was reached on loopback). A subnet's directed broadcast (x.y.z.255 on a /24)
 * cannot be told from a host without the netmask: it passes. 0 otherwise, and for a length
 * other than 4 or 16. */
int mim_addr_peer_ok(const uint8_t *addr, size_t len, int allow_loopback);

#endif
