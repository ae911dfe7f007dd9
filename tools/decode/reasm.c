/* TCP reassembly (see reasm.h). */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct reasm_seg {
    uint32_t seq;
    size_t len;
    double ts;
    struct reasm_seg *next;
    uint8_t data[]; /* len bytes */
};

struct reasm {
    const reasm_events *ev;
    void *ud;
    reasm_conn *bucket[BUCKETS];
    size_t nconns;
    size_t held_total; /* bytes held by every connection */
    unsigned next_id;
};

reasm *reasm_new(const reasm_events *ev, void *ud)
{
    reasm *r = calloc(1, sizeof(*r));

    if (r != NULL) {
        r->ev = ev;
        r->ud = ud;
    }
    return r;
}

/* The same bucket for both directions of a connection. */
static size_t bucket_of(const cap_packet *p)
{
    uint32_t h = 2166136261u;
    size_t alen = p->family == 4 ? 4 : 16;

    for (size_t i = 0; i < alen; i++)
        h = (h ^ (uint32_t)(p->src[i] ^ p->dst[i])) * 16777619u;
    h = (h ^ (uint32_t)(p->sport ^ p->dport)) * 16777619u;
    return h % BUCKETS;
}

/* The side of c that sent p (0 or 1), or -1 when p is not on c. */
static int side_of(const reasm_conn *c, const cap_packet *p)
{
    size_t alen = p->family == 4 ? 4 : 16;

    if (c->family != p->family)
        return -1;
    for (int s = 0; s < 2; s++)
        if (c->port[s] == p->sport && c->port[1 - s] == p->dport &&
            memcmp(c->addr[s], p->src, alen) == 0 && memcmp(c->addr[1 - s], p->dst, alen) == 0)
            return s;
    return -1;
}

static void free_held(reasm *r, reasm_half *h)
{
    while (h->held != NULL) {
        reasm_seg *s = h->held;
        h->held = s->next;
        free(s);
    }
    r->held_total -= h->held_bytes;
    h->held_bytes = 0;
}

/* Delivers the part of [seq, seq + n) that is new, and moves next past it. */
static void deliver(reasm *r, reasm_conn *c, int side, uint32_t seq, const uint8_t *p, size_t n,
                    double ts)
{
    reasm_half *h = &c->half[side];
    int32_t rel = (int32_t)(seq - h->next);

    if (rel > 0 || (size_t) - (int64_t)rel >= n)
        return; /* not reached yet, or old: a retransmission */
    p += -(int64_t)rel;
    n -= (size_t) - (int64_t)rel;
    h->next += (uint32_t)n;
    r->ev->on_data(r->ud, c, side, p, n, ts);
}

/* Delivers the held segments that are now in order. */
static void drain(reasm *r, reasm_conn *c, int side)
{
    reasm_half *h = &c->half[side];

    while (h->held != NULL && (int32_t)(h->held->seq - h->next) <= 0) {
        reasm_seg *s = h->held;
        h->held = s->next;
        h->held_bytes -= s->len;
        r->held_total -= s->len;
        deliver(r, c, side, s->seq, s->data, s->len, s->ts);
        free(s);
    }
}

/* Skips the hole before the first held segment: a gap, then what follows. */
static void skip_hole(reasm *r, reasm_conn *c, int side)
{
    reasm_half *h = &c->half[side];

    if (h->held == NULL)
        return;
    r->ev->on_gap(r->ud, c, side, (uint32_t)(h->held->seq - h->next));
    h->next = h->held->seq;
    drain(r, c, side);
}

/* Holds a segment that starts past next, in sequence order (an exact duplicate is dropped). */
static void hold(reasm *r, reasm_conn *c, int side, const cap_packet *p, uint32_t seq)
{
    reasm_half *h = &c->half[side];
    reasm_seg **pp = &h->held, *s;

    while (*pp != NULL && (int32_t)((*pp)->seq - seq) < 0)
        pp = &(*pp)->next;
    if (*pp != NULL && (*pp)->seq == seq && (*pp)->len >= p->len)
        return;
    if ((s = malloc(sizeof(*s) + p->len)) == NULL)
        return; /* out of memory: the hole stays, and becomes a gap */
    s->seq = seq;
    s->len = p->len;
    s->ts = p->ts;
    memcpy(s->data, p->payload, p->len);
    s->next = *pp;
    *pp = s;
    h->held_bytes += p->len;
    r->held_total += p->len;
    /* A hole that will not fill in time, or too much held in all: given up as a gap. */
    while ((h->held_bytes > REASM_HOLD_MAX || r->held_total > REASM_HOLD_TOTAL) && h->held != NULL)
        skip_hole(r, c, side);
}

/* Ends c: what is held is delivered after its gap, then the owner hears of the end. */
static void conn_end(reasm *r, reasm_conn *c)
{
    reasm_conn **pp = &r->bucket[c->bucket];

    for (int s = 0; s < 2; s++)
        while (c->half[s].held != NULL)
            skip_hole(r, c, s);
    r->ev->on_end(r->ud, c);
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free_held(r, &c->half[0]);
    free_held(r, &c->half[1]);
    free(c);
    r->nconns--;
}

static reasm_conn *conn_new(reasm *r, const cap_packet *p, size_t b)
{
    reasm_conn *c;
    size_t alen = p->family == 4 ? 4 : 16;
    int s0 = (p->flags & (CAP_SYN | CAP_ACK)) == (CAP_SYN | CAP_ACK) ? 1 : 0; /* SYN-ACK */

    if (r->nconns >= REASM_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->id = ++r->next_id;
    c->family = p->family;
    memcpy(c->addr[s0], p->src, alen);
    memcpy(c->addr[1 - s0], p->dst, alen);
    c->port[s0] = p->sport;
    c->port[1 - s0] = p->dport;
    c->bucket = b;
    c->next = r->bucket[b];
    r->bucket[b] = c;
    r->nconns++;
    r->ev->on_new(r->ud, c, p);
    return c;
}

static reasm_conn *conn_find(reasm *r, const cap_packet *p, int *side)
{
    size_t b = bucket_of(p);
    reasm_conn *c;

    for (c = r->bucket[b]; c != NULL; c = c->next)
        if ((*side = side_of(c, p)) >= 0)
            break;
    /* A new SYN on the ports of a connection that had started: the ports were reused. */
    if (c != NULL && (p->flags & (CAP_SYN | CAP_ACK)) == CAP_SYN && c->half[*side].started &&
        c->half[*side].next != p->seq + 1) {
        conn_end(r, c);
        c = NULL;
    }
    if (c == NULL && (c = conn_new(r, p, b)) != NULL)
        *side = side_of(c, p);
    return c;
}

int reasm_packet(reasm *r, const cap_packet *p)
{
    reasm_conn *c;
    reasm_half *h;
    uint32_t seq = p->seq;
    int side;

    if ((c = conn_find(r, p, &side)) == NULL)
        return 1;
    h = &c->half[side];
    if (p->flags & CAP_SYN) {
        seq++; /* the SYN takes one sequence number; data with it (TFO) comes after */
        if (!h->started) {
            h->started = 1;
            h->next = seq;
        }
    }
    if (c->ignored) {
        free_held(r, &c->half[0]);
        free_held(r, &c->half[1]);
    } else if (p->len + p->cut > 0) {
        if (!h->started) { /* the capture began inside the connection */
            h->started = 1;
            h->next = seq;
        }
        if ((int32_t)(seq - h->next) > 0)
            hold(r, c, side, p, seq);
        else
            deliver(r, c, side, seq, p->payload, p->len, p->ts);
        drain(r, c, side);
        if (p->cut > 0 && h->next == seq + (uint32_t)p->len) { /* the snap length cut it */
            r->ev->on_gap(r->ud, c, side, p->cut);
            h->next += (uint32_t)p->cut;
            drain(r, c, side);
        }
    }
    if (p->flags & CAP_FIN)
        h->fin = 1;
    if ((p->flags & CAP_RST) ||
        (c->half[0].fin && c->half[1].fin && !c->half[0].held && !c->half[1].held))
        conn_end(r, c);
    return 0;
}

void reasm_finish(reasm *r)
{
    for (size_t b = 0; b < BUCKETS; b++)
        while (r->bucket[b] != NULL) {
            conn_end(r, r->bucket[b]);
        }
}

void reasm_free(reasm *r)
{
    if (r == NULL)
        return;
    reasm_finish(r);
    free(r);
}
