/* One TCP connection's two byte streams, decoded as mim (docs/PROTOCOL.md chapters 3-5): the
 * frames, the three handshake messages, the stream headers and the encrypted messages; with the
 * connection's key-log line, the plaintexts (PresenceBatch or PeerBatch) rendered by
 * mim_trace_render. Every byte here is untrusted: frames are checked against the protocol's
 * sizes before anything is kept, and a connection that breaks them is reported, not followed.
 *
 * Recognition (a peer's port is not fixed): the first side to send is the initiator; its first
 * frame must be 32 bytes (`00 20`, message 1) and the other side's first frame 96 to 1024 bytes
 * (message 2). Only then is the connection printed; a connection on a port of interest is
 * reported even when it is not mim. */
#ifndef MIM_DECODE_MIMSTREAM_H
#define MIM_DECODE_MIMSTREAM_H

#include "keys.h"
#include "reasm.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mimdec_ctx {
    FILE *out;
    const keys *keys;      /* may be empty */
    const uint16_t *ports; /* ports of interest: 4242 and each --port */
    size_t n_ports;
    size_t warnings;  /* counted by pr_warn */
    size_t mim_conns; /* connections recognised */
    size_t decrypted; /* frames decrypted */
} mimdec_ctx;

typedef struct mimdec mimdec;

/* A decoder for connection c (its addresses are copied). NULL when out of memory. */
mimdec *mimdec_new(mimdec_ctx *ctx, const reasm_conn *c);
/* n bytes of side's stream (side as in reasm_conn), in order, the last of them seen at ts. */
void mimdec_data(mimdec *d, int side, const uint8_t *p, size_t n, double ts);
/* bytes of side's stream are missing: that side is not decoded any further. */
void mimdec_gap(mimdec *d, int side, uint64_t bytes);
/* 1 when nothing more of the connection will be decoded (not mim, or both sides broken): its
 * bytes need not be kept. */
int mimdec_done(const mimdec *d);
/* The connection ended: a frame cut short is reported; d is freed (NULL is fine). */
void mimdec_end(mimdec *d);

#endif
