/* Synthetic captures (see synth.h). */
#include "synth.h"

#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_discovery.h"
#include "mim_framer.h"

#include <stdlib.h>
#include <string.h>

#define SYN_SEQ_C 1000u
#define SYN_SEQ_S 9000u

static void put(synth *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = realloc(s->buf, s->cap);
        if (s->buf == NULL)
            abort();
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put32(synth *s, uint32_t v) /* the pcap header's own byte order: little-endian */
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(s, b, 4);
}

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v & 0xffff);
}

void synth_begin(synth *s, int link)
{
    memset(s, 0, sizeof(*s));
    s->link = link;
    put32(s, 0xa1b2c3d4); /* microsecond pcap */
    put32(s, 2 | 4u << 16);
    put32(s, 0);
    put32(s, 0);
    put32(s, 65535);
    put32(s, (uint32_t)link);
}

void synth_packet(synth *s, int v6, int udp, int from_client, uint16_t cport, uint16_t sport,
                  uint32_t seq, uint8_t flags, const uint8_t *p, size_t n)
{
    uint8_t pkt[14 + 40 + 20 + 2048], *ip, *l4;
    size_t link_len = s->link == SYNTH_ETHERNET ? 14 : 4, ip_len = v6 ? 40 : 20;
    size_t l4_len = udp ? 8 : 20, total = link_len + ip_len + l4_len + n;
    uint8_t a[16] = {0}, b[16] = {0};

    if (n > 2048)
        abort();
    memset(pkt, 0, sizeof(pkt));
    if (s->link == SYNTH_ETHERNET)
        be16(pkt + 12, v6 ? 0x86dd : 0x0800);
    else
        pkt[0] = v6 ? 10 : 2; /* AF_INET6 / AF_INET, host order (little-endian) */
    ip = pkt + link_len;
    l4 = ip + ip_len;
    if (v6) {
        a[15] = from_client ? 1 : 2;
        b[15] = from_client ? 2 : 1;
        ip[0] = 0x60;
        be16(ip + 4, (uint32_t)(l4_len + n));
        ip[6] = udp ? 17 : 6;
        ip[7] = 64;
        memcpy(ip + 8, a, 16);
        memcpy(ip + 24, b, 16);
    } else {
        ip[0] = 0x45;
        be16(ip + 2, (uint32_t)(ip_len + l4_len + n));
        ip[8] = 64;
        ip[9] = udp ? 17 : 6;
        be32(ip + 12, from_client ? 0x7f000001 : 0x7f000002);
        be32(ip + 16, from_client ? 0x7f000002 : 0x7f000001);
    }
    be16(l4, from_client ? cport : sport);
    be16(l4 + 2, from_client ? sport : cport);
    if (udp) {
        be16(l4 + 4, (uint32_t)(8 + n));
    } else {
        be32(l4 + 4, seq);
        l4[12] = 5 << 4;
        l4[13] = flags;
    }
    if (n > 0)
        memcpy(l4 + l4_len, p, n);
    put32(s, 1700000000);
    put32(s, s->usec += 100);
    put32(s, (uint32_t)total);
    put32(s, (uint32_t)total);
    put(s, pkt, total);
}

/* A frame (length + body) appended to a direction's bytes. */
static void frame(synth *dir, const uint8_t *body, size_t n)
{
    uint8_t hdr[2];

    mim_frame_header(hdr, n);
    put(dir, hdr, 2);
    put(dir, body, n);
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* One sealed batch of m, as a frame of dir. */
static void sealed(synth *dir, mim_stream_tx *tx, const Mim__PresenceMsg *m)
{
    mim_buf plain = {0};
    uint8_t ct[512];

    if (mim_presence_batch_append(&plain, m) != 0 || plain.len + MIM_STREAM_ABYTES > sizeof(ct) ||
        mim_stream_tx_seal(tx, plain.data, plain.len, MIM_STREAM_TAG_MESSAGE, ct) != 0)
        abort();
    frame(dir, ct, plain.len + MIM_STREAM_ABYTES);
    mim_buf_free(&plain);
}

/* The two directions' bytes of a presence connection. */
static void connection_bytes(synth *c, synth *sv, uint16_t cport, size_t frames,
                             mim_keylog_entry *en)
{
    uint8_t msg2[198], msg3[171], hdr[MIM_STREAM_HEADER_LEN];
    Mim__PresenceMsg m1 = MIM__PRESENCE_MSG__INIT, m2 = MIM__PRESENCE_MSG__INIT;
    Mim__StatusSet ss = MIM__STATUS_SET__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    mim_stream_tx tc, ts;

    uint8_t seed = (uint8_t)(cport * 5);

    pattern(en->e, sizeof(en->e), 1);
    be16(en->e + 30, cport); /* one connection, one line */
    pattern(msg2, sizeof(msg2), 2);
    pattern(msg3, sizeof(msg3), 3);
    pattern(en->k1, sizeof(en->k1), (uint8_t)(4 + seed));
    pattern(en->k2, sizeof(en->k2), (uint8_t)(5 + seed));
    if (mim_keylog_handshake_hash(MIM_NOISE_PROLOGUE_PRESENCE, en->e, 32, msg2, sizeof(msg2), msg3,
                                  sizeof(msg3), en->h) != 0)
        abort();
    frame(c, en->e, 32);
    frame(sv, msg2, sizeof(msg2));
    frame(c, msg3, sizeof(msg3));
    mim_stream_tx_init(&tc, en->k1, hdr);
    frame(c, hdr, sizeof(hdr));
    mim_stream_tx_init(&ts, en->k2, hdr);
    frame(sv, hdr, sizeof(hdr));
    ss.status = MIM__STATUS__STATUS_BUSY;
    ss.text = (char *)SYNTH_TEXT;
    m1.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m1.status_set = &ss;
    for (size_t i = 0; i < frames; i++)
        sealed(c, &tc, &m1);
    ping.nonce = 42;
    m2.body_case = MIM__PRESENCE_MSG__BODY_PING;
    m2.ping = &ping;
    sealed(sv, &ts, &m2);
    mim_stream_tx_wipe(&tc);
    mim_stream_tx_wipe(&ts);
}

/* Emits dir's bytes [from, to) in segments of seg bytes from one side. */
static void segments(synth *s, int v6, uint16_t cport, uint16_t sport, int client, const synth *dir,
                     size_t from, size_t to, size_t seg)
{
    uint32_t isn = client ? SYN_SEQ_C + 1 : SYN_SEQ_S + 1;

    for (size_t o = from; o < to; o += seg) {
        size_t n = to - o < seg ? to - o : seg;
        synth_packet(s, v6, 0, client, cport, sport, isn + (uint32_t)o, 0x18, dir->buf + o, n);
    }
}

void synth_connection(synth *s, int v6, uint16_t cport, uint16_t sport, size_t seg, int order,
                      size_t frames, mim_keylog_entry *en)
{
    synth c = {0}, sv = {0};
    size_t c1 = 34, s1 = 200; /* message 1 and message 2 with their length bytes */

    connection_bytes(&c, &sv, cport, frames, en);
    synth_packet(s, v6, 0, 1, cport, sport, SYN_SEQ_C, 0x02, NULL, 0);
    synth_packet(s, v6, 0, 0, cport, sport, SYN_SEQ_S, 0x12, NULL, 0);
    segments(s, v6, cport, sport, 1, &c, 0, c1, seg);
    segments(s, v6, cport, sport, 0, &sv, 0, s1, seg);
    if (order == SYNTH_REORDERED) {
        size_t mid = c1 + (c.len - c1) / 2;
        segments(s, v6, cport, sport, 1, &c, mid, c.len, seg);  /* the second half first */
        segments(s, v6, cport, sport, 1, &c, c1, mid + 5, seg); /* then the first, overlapping it */
        segments(s, v6, cport, sport, 1, &c, c1, c1 + 10, seg); /* and a retransmission */
    } else {
        segments(s, v6, cport, sport, 1, &c, c1, c.len, seg);
    }
    segments(s, v6, cport, sport, 0, &sv, s1, order == SYNTH_CUT ? sv.len - 7 : sv.len, seg);
    if (order != SYNTH_CUT) {
        synth_packet(s, v6, 0, 1, cport, sport, SYN_SEQ_C + 1 + (uint32_t)c.len, 0x11, NULL, 0);
        synth_packet(s, v6, 0, 0, cport, sport, SYN_SEQ_S + 1 + (uint32_t)sv.len, 0x11, NULL, 0);
    }
    free(c.buf);
    free(sv.buf);
}

void synth_discovery(synth *s)
{
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], pk[32], d[MIM_DISCOVERY_LEN];

    pattern(nonce, sizeof(nonce), 9);
    pattern(pk, sizeof(pk), 10);
    mim_discovery_probe_encode(d, nonce);
    synth_packet(s, 0, 1, 1, 50000, 4242, 0, 0, d, sizeof(d));
    mim_discovery_answer_encode(d, nonce, 4242, pk);
    synth_packet(s, 0, 1, 0, 50000, 4242, 0, 0, d, sizeof(d));
}

void synth_free(synth *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
}
