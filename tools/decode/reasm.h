/* TCP reassembly for mim-decode: segments of a capture, in any order, retransmitted or
 * overlapping, into each direction's byte stream in order (by sequence number), with a bounded
 * buffer per direction. A hole that never fills (a segment the capture missed, a short snap
 * length) is reported as a gap: the bytes after it are delivered, but a framed protocol cannot
 * be followed across it. */
#ifndef MIM_DECODE_REASM_H
#define MIM_DECODE_REASM_H

#include "capture.h"

#include <stddef.h>
#include <stdint.h>

#define REASM_HOLD_MAX   (1u << 20)  /* out-of-order bytes held per direction */
#define REASM_HOLD_TOTAL (64u << 20) /* and in all: past it, the hole in hand becomes a gap */
#define REASM_CONNS_MAX  65536       /* connections tracked at once */

typedef struct reasm_seg reasm_seg;

typedef struct reasm_half {
    uint32_t next;   /* the sequence number of the next byte in order */
    int started;     /* next is known (a SYN, or the first data segment) */
    int fin;         /* a FIN was seen */
    reasm_seg *held; /* segments past a hole, sorted by sequence number */
    size_t held_bytes;
} reasm_half;

/* One TCP connection. Side 0 is the one that sent the SYN, when the capture has it, else the
 * sender of the first segment seen. */
typedef struct reasm_conn {
    unsigned id; /* 1, 2, ... in the order connections were first seen */
    int family;
    uint8_t addr[2][16];
    uint16_t port[2];
    reasm_half half[2];
    void *user;    /* the owner's (on_new sets it, on_end frees it) */
    int ignored;   /* set by the owner: its bytes are of no use (not mim), so none are kept */
    size_t bucket; /* reasm.c's: its hash chain */
    struct reasm_conn *next;
} reasm_conn;

typedef struct reasm_events {
    /* A new connection, from its first packet pkt. */
    void (*on_new)(void *ud, reasm_conn *c, const cap_packet *pkt);
    /* n bytes of side's stream, in order. */
    void (*on_data)(void *ud, reasm_conn *c, int side, const uint8_t *p, size_t n, double ts);
    /* bytes of side's stream are missing here. */
    void (*on_gap)(void *ud, reasm_conn *c, int side, uint64_t bytes);
    /* The connection ended (RST, both FINs, a new SYN on its ports, or the end of the capture);
     * it is freed after this returns. */
    void (*on_end)(void *ud, reasm_conn *c);
} reasm_events;

typedef struct reasm reasm;

/* NULL when out of memory. ev is borrowed. */
reasm *reasm_new(const reasm_events *ev, void *ud);
/* One TCP segment (pkt->proto == CAP_TCP). Returns 1 when a connection was not tracked because
 * REASM_CONNS_MAX are, else 0. */
int reasm_packet(reasm *r, const cap_packet *pkt);
/* The end of the capture: holes are reported as gaps, held bytes delivered, every connection
 * ended. */
void reasm_finish(reasm *r);
void reasm_free(reasm *r);

#endif
