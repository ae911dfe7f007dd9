/* Capture records into typed packets (see capture.h). */
#include "capture.h"

#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100

/* libpcap's numbers, where a header might lack one (they are fixed by the pcap format). */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int cap_link_supported(int dlt)
{
    return dlt == DLT_NULL || dlt == DLT_LOOP || dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL ||
           dlt == DLT_LINUX_SLL2 || dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6;
}

/* The offset of the IP header in a record of link type dlt, or -1 (*why set). */
static long link_offset(int dlt, const uint8_t *p, size_t caplen, const char **why)
{
    size_t off;
    uint16_t type;

    switch (dlt) {
    case DLT_NULL: /* a 4-byte address family, then IP: the version nibble says which */
    case DLT_LOOP:
        off = 4;
        break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        off = 0;
        break;
    case DLT_EN10MB:
        if (caplen < 14)
            return *why = "short Ethernet header", -1;
        type = be16(p + 12);
        off = 14;
        if (type == ETH_VLAN) {
            if (caplen < 18)
                return *why = "short VLAN header", -1;
            type = be16(p + 16);
            off = 18;
        }
        if (type != ETH_IPV4 && type != ETH_IPV6)
            return *why = "not IP", -1;
        break;
    case DLT_LINUX_SLL: /* 16 bytes, the protocol last */
        if (caplen < 16)
            return *why = "short Linux cooked header", -1;
        off = 16;
        break;
    case DLT_LINUX_SLL2: /* 20 bytes, the protocol first */
        if (caplen < 20)
            return *why = "short Linux cooked v2 header", -1;
        off = 20;
        break;
    default:
        return *why = "unsupported link type", -1;
    }
    if (off > caplen)
        return *why = "short link header", -1;
    return (long)off;
}

/* IPv4 at p (n bytes captured): the transport header's offset, protocol and length. */
static int parse_ipv4(const uint8_t *p, size_t n, cap_packet *out, size_t *off, size_t *total,
                      const char **why)
{
    size_t ihl;

    if (n < 20)
        return *why = "short IPv4 header", CAP_PKT_BAD;
    ihl = (size_t)(p[0] & 0x0f) * 4;
    *total = be16(p + 2);
    if (ihl < 20 || ihl > n || *total < ihl)
        return *why = "bad IPv4 header length", CAP_PKT_BAD;
    if ((be16(p + 6) & 0x3fff) != 0) /* MF or an offset: a fragment */
        return *why = "IPv4 fragment (not reassembled)", CAP_PKT_SKIP;
    out->family = 4;
    out->proto = p[9];
    memset(out->src, 0, sizeof(out->src));
    memset(out->dst, 0, sizeof(out->dst));
    memcpy(out->src, p + 12, 4);
    memcpy(out->dst, p + 16, 4);
    *off = ihl;
    return CAP_PKT_OK;
}

/* IPv6 at p: the same, past the extension headers mim's traffic may carry. */
static int parse_ipv6(const uint8_t *p, size_t n, cap_packet *out, size_t *off, size_t *total,
                      const char **why)
{
    int next;
    size_t o = 40;

    if (n < 40)
        return *why = "short IPv6 header", CAP_PKT_BAD;
    *total = 40 + (size_t)be16(p + 4);
    next = p[6];
    for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60); i++) {
        if (o + 8 > n)
            return *why = "short IPv6 extension header", CAP_PKT_BAD;
        next = p[o];
        o += 8 + (size_t)p[o + 1] * 8;
    }
    if (next == 44)
        return *why = "IPv6 fragment (not reassembled)", CAP_PKT_SKIP;
    if (o > n || o > *total)
        return *why = "bad IPv6 extension headers", CAP_PKT_BAD;
    out->family = 6;
    out->proto = next;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    *off = o;
    return CAP_PKT_OK;
}

/* TCP or UDP at p (n bytes captured of total). */
static int parse_transport(const uint8_t *p, size_t n, size_t total, cap_packet *out,
                           const char **why)
{
    size_t hl;

    if (out->proto == CAP_TCP) {
        if (n < 20)
            return *why = "short TCP header", CAP_PKT_BAD;
        hl = (size_t)(p[12] >> 4) * 4;
        if (hl < 20 || hl > n || hl > total)
            return *why = "bad TCP header length", CAP_PKT_BAD;
        out->seq = be32(p + 4);
        out->flags = p[13];
    } else if (out->proto == CAP_UDP) {
        if (n < 8)
            return *why = "short UDP header", CAP_PKT_BAD;
        hl = 8;
        if (be16(p + 4) >= 8 && be16(p + 4) < total)
            total = be16(p + 4); /* the UDP length, when it is the tighter one */
    } else {
        return *why = "neither TCP nor UDP", CAP_PKT_SKIP;
    }
    out->sport = be16(p);
    out->dport = be16(p + 2);
    out->payload = p + hl;
    out->len = (n < total ? n : total) - hl;
    out->cut = total - hl - out->len;
    return CAP_PKT_OK;
}

int cap_parse(int dlt, const uint8_t *p, size_t caplen, cap_packet *out, const char **why)
{
    long loff = link_offset(dlt, p, caplen, why);
    size_t off, total, n;
    int rc;

    if (loff < 0)
        return dlt == DLT_EN10MB && strcmp(*why, "not IP") == 0 ? CAP_PKT_SKIP : CAP_PKT_BAD;
    p += loff;
    n = caplen - (size_t)loff;
    if (n < 1)
        return *why = "no IP header", CAP_PKT_BAD;
    if (p[0] >> 4 == 4)
        rc = parse_ipv4(p, n, out, &off, &total, why);
    else if (p[0] >> 4 == 6)
        rc = parse_ipv6(p, n, out, &off, &total, why);
    else
        return *why = "neither IPv4 nor IPv6", CAP_PKT_SKIP;
    if (rc != CAP_PKT_OK)
        return rc;
    /* The IP length bounds the packet (Ethernet pads short frames); the capture may hold less. */
    return parse_transport(p + off, (n < total ? n : total) - off, total - off, out, why);
}

int cap_open(cap_reader *r, const char *path, FILE *f, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";

    memset(r, 0, sizeof(*r));
    r->pcap = path != NULL ? pcap_open_offline(path, perr) : pcap_fopen_offline(f, perr);
    if (r->pcap == NULL) {
        if (f != NULL && f != stdin) /* taken over: closed on every path */
            fclose(f);
        snprintf(err, errlen, "not a pcap or pcapng capture, or cannot be read (%s)", perr);
        return -1;
    }
    r->dlt = pcap_datalink(r->pcap);
    if (!cap_link_supported(r->dlt)) {
        snprintf(err, errlen, "link type %s (%d) is not one mim-decode reads",
                 pcap_datalink_val_to_name(r->dlt) ? pcap_datalink_val_to_name(r->dlt) : "?",
                 r->dlt);
        pcap_close(r->pcap);
        r->pcap = NULL;
        return -1;
    }
    return 0;
}

int cap_next(cap_reader *r, cap_packet *pkt, int *kind, const char **why, char *err, size_t errlen)
{
    struct pcap_pkthdr *hdr;
    const u_char *data;
    double ts;
    int rc = pcap_next_ex(r->pcap, &hdr, &data);

    if (rc == PCAP_ERROR_BREAK)
        return 0;
    if (rc != 1) {
        snprintf(err, errlen, "%s", pcap_geterr(r->pcap));
        return -1;
    }
    r->records++;
    ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6;
    if (!r->have_t0) {
        r->have_t0 = 1;
        r->t0 = ts;
    }
    memset(pkt, 0, sizeof(*pkt));
    *why = "";
    *kind = cap_parse(r->dlt, data, hdr->caplen, pkt, why);
    pkt->ts = ts - r->t0;
    return 1;
}

void cap_close(cap_reader *r)
{
    if (r->pcap != NULL)
        pcap_close(r->pcap);
    r->pcap = NULL;
}
