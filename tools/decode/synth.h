/* Synthetic captures for mim-decode's fuzz seeds, its unit test and its benchmark: a pcap file in
 * memory holding a mim connection whose handshake messages have the right sizes (their bytes are a
 * pattern: the decoder only checks sizes and hashes them) and whose transport frames are real
 * secretstream messages under keys the matching key-log line gives, cut into TCP segments sent in
 * order, reordered or retransmitted; and LAN discovery datagrams. */
#ifndef MIM_DECODE_SYNTH_H
#define MIM_DECODE_SYNTH_H

#include "mim_keylog.h"

#include <stddef.h>
#include <stdint.h>

#define SYNTH_TEXT "synthetic status text" /* the client's StatusSet text */

enum synth_link { SYNTH_ETHERNET = 1, SYNTH_NULL = 0 }; /* pcap link types */
enum synth_order {
    SYNTH_IN_ORDER = 0,
    SYNTH_REORDERED = 1, /* two client segments swapped, one sent twice, one overlapping */
    SYNTH_CUT = 2,       /* the server's last frame is cut short: the capture ends in it */
};

typedef struct synth {
    uint8_t *buf; /* the pcap file (malloc'd; synth_free) */
    size_t len, cap;
    int link;
    uint32_t usec;
} synth;

/* An empty capture of this link type (its 24-byte global header). */
void synth_begin(synth *s, int link);
/* One TCP segment or UDP datagram from a to b (IPv6 when v6; ports a_port, b_port). */
void synth_packet(synth *s, int v6, int udp, int from_client, uint16_t cport, uint16_t sport,
                  uint32_t seq, uint8_t flags, const uint8_t *p, size_t n);
/* A whole presence connection from client port cport to server port sport: SYN, the
 * handshake, both stream headers, `frames` StatusSets (SYNTH_TEXT) from the client and the
 * server's Ping, in segments of at most seg bytes, in the given order, then FINs. Each cport
 * gives another ephemeral key and other keys; *en gets the connection's key-log line. */
void synth_connection(synth *s, int v6, uint16_t cport, uint16_t sport, size_t seg, int order,
                      size_t frames, mim_keylog_entry *en);
/* A discovery probe and its answer (server port 4242). */
void synth_discovery(synth *s);
void synth_free(synth *s);

#endif
