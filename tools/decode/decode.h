/* One run of mim-decode: a capture read packet by packet, its TCP connections reassembled and
 * decoded as mim streams, its discovery datagrams decoded, everything printed in capture order
 * (docs/KEYLOG.md). */
#ifndef MIM_DECODE_H
#define MIM_DECODE_H

#include "keys.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DECODE_MIM_PORT     4242 /* the presence server's TCP and UDP port */
#define DECODE_MAX_PORTS    17   /* 4242 and up to 16 --port */
#define DECODE_MAX_KEY_LOGS 16

typedef struct decode_options {
    const char *capture; /* a pcap or pcapng file, or "-" for stdin */
    const char *key_logs[DECODE_MAX_KEY_LOGS];
    size_t n_key_logs;
    uint16_t ports[DECODE_MAX_PORTS]; /* 4242 first, then each --port */
    size_t n_ports;
} decode_options;

/* Decodes the capture named in o, writing the text to out and warnings to stderr. Returns the
 * exit code: 0 when the capture was read to its end, 1 when it or a key log cannot be read. */
int decode_run(const decode_options *o, FILE *out);
/* The same for a capture held in memory (len bytes at data), with the key log k (may be empty)
 * and the port 4242 only: the fuzz target's door. The exit code. */
int decode_bytes(const uint8_t *data, size_t len, const keys *k, FILE *out);

#endif
