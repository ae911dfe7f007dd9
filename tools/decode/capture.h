/* The capture side of mim-decode: a pcap or pcapng file read record by record (libpcap), and
 * each record's link layer, IPv4/IPv6 and TCP/UDP headers parsed into a typed packet. The
 * parser (cap_parse) is pure: it sees untrusted bytes and is fuzzed (tests/fuzz/fuzz_decode.c). */
#ifndef MIM_DECODE_CAPTURE_H
#define MIM_DECODE_CAPTURE_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CAP_TCP = 6, CAP_UDP = 17 };
enum { CAP_FIN = 0x01, CAP_SYN = 0x02, CAP_RST = 0x04, CAP_ACK = 0x10 };

/* One TCP segment or UDP datagram. Its payload points into the record (valid until the next
 * cap_next). */
typedef struct cap_packet {
    double ts;                /* seconds since the capture's first record */
    int family;               /* 4 or 6 */
    int proto;                /* CAP_TCP or CAP_UDP */
    uint8_t src[16], dst[16]; /* IPv4 addresses in the first 4 bytes */
    uint16_t sport, dport;
    uint32_t seq;  /* TCP only */
    uint8_t flags; /* TCP only: CAP_* */
    const uint8_t *payload;
    size_t len; /* payload bytes captured */
    size_t cut; /* payload bytes the packet had beyond those (a short snap length) */
} cap_packet;

enum { CAP_PKT_OK = 0, CAP_PKT_SKIP = 1, CAP_PKT_BAD = -1 };

/* Parses one record of link type dlt (DLT_*), caplen bytes at p. CAP_PKT_OK and *out for TCP or
 * UDP over IPv4/IPv6; CAP_PKT_SKIP for anything else (ARP, ICMP, an IP fragment, an unknown link
 * type: *why says what); CAP_PKT_BAD when the headers are malformed (*why says how). */
int cap_parse(int dlt, const uint8_t *p, size_t caplen, cap_packet *out, const char **why);
/* 1 when mim-decode reads this link type. */
int cap_link_supported(int dlt);

typedef struct cap_reader {
    pcap_t *pcap;
    int dlt;
    int have_t0;
    double t0;
    size_t records;
} cap_reader;

/* Opens a capture: path ("-" is stdin), or f (a FILE of pcap bytes, taken over: closed by
 * cap_close or, on a failure, here) when path is NULL. 0, or -1 with the reason in err (errlen
 * bytes): not pcap/pcapng, an unsupported link type, no such file. */
int cap_open(cap_reader *r, const char *path, FILE *f, char *err, size_t errlen);
/* The next record: 1 with its parse result in *kind (CAP_PKT_*; *pkt filled when OK, *why
 * otherwise), 0 at the end, -1 when the file is cut or corrupt (err holds libpcap's reason). */
int cap_next(cap_reader *r, cap_packet *pkt, int *kind, const char **why, char *err, size_t errlen);
void cap_close(cap_reader *r);

#endif
