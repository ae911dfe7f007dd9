/* The LAN discovery datagrams (UDP, port 4242 by default). Pure encode/decode, no I/O.
 *
 * A peer sends a probe (broadcast on the LAN, or unicast); the server answers with its TCP
 * port and identity key. The probe is exactly as long as the answer, so the server can never
 * be used to amplify traffic. The answer is not authenticated: it only says where to connect;
 * the handshake then proves the key, and the peer checks it against its pin.
 *
 *   probe  (56 bytes): "MIM?" | version=1 | 3 zero bytes | nonce (16) | 32 zero bytes
 *   answer (56 bytes): "MIM!" | version=1 | 1 zero byte | tcp port (2, big-endian) |
 *                      the probe's nonce (16) | server identity key (32) */
#ifndef MIM_DISCOVERY_H
#define MIM_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#define MIM_DISCOVERY_LEN       56
#define MIM_DISCOVERY_NONCE_LEN 16
#define MIM_DISCOVERY_VERSION   1

void mim_discovery_probe_encode(uint8_t out[MIM_DISCOVERY_LEN],
                                const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN]);
/* 0 and the nonce when p is a well-formed probe, else MIM_EINVAL. */
int mim_discovery_probe_decode(const uint8_t *p, size_t len,
                               uint8_t nonce[MIM_DISCOVERY_NONCE_LEN]);
void mim_discovery_answer_encode(uint8_t out[MIM_DISCOVERY_LEN],
                                 const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], uint16_t port,
                                 const uint8_t identity_pk[32]);
/* 0 with port and key when p is a well-formed answer to `nonce`, else MIM_EINVAL. */
int mim_discovery_answer_decode(const uint8_t *p, size_t len,
                                const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], uint16_t *port,
                                uint8_t identity_pk[32]);

/* Which answer the peer takes (anyone on the LAN can answer; only the pinned server's answer
 * is worth waiting for). For an answer with key pk, given the pinned key (NULL when none) and
 * whether an earlier answer is already held as the fallback:
 *   MIM_DISCOVERY_TAKE      take it now (it carries the pin, or there is no pin to wait for);
 *   MIM_DISCOVERY_FALLBACK  hold it, and take it if no answer with the pin comes in a while;
 *   MIM_DISCOVERY_IGNORE    an earlier answer is held already: the first fallback stays. */
enum { MIM_DISCOVERY_IGNORE = 0, MIM_DISCOVERY_FALLBACK = 1, MIM_DISCOVERY_TAKE = 2 };
int mim_discovery_prefer(const uint8_t *pin, const uint8_t pk[32], int have_fallback);

#endif
