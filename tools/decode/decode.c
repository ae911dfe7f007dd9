/* One run of mim-decode (see decode.h): records from capture.c, TCP through reasm.c into a
 * mimstream.c decoder per connection, UDP on a port of interest decoded as LAN discovery. */
#include "decode.h"

#include "capture.h"
#include "keys.h"
#include "mimstream.h"
#include "print.h"
#include "reasm.h"

#include "mim_discovery.h"

#include <string.h>

typedef struct run {
    mimdec_ctx ctx;
    size_t bad_packets;
    size_t untracked; /* TCP segments of connections over REASM_CONNS_MAX */
} run;

static void on_new(void *ud, reasm_conn *c, const cap_packet *pkt)
{
    run *r = ud;

    (void)pkt;
    c->user = mimdec_new(&r->ctx, c);
    if (c->user == NULL)
        pr_warn(&r->ctx.warnings, "#%u: out of memory: not decoded", c->id);
}

static void on_data(void *ud, reasm_conn *c, int side, const uint8_t *p, size_t n, double ts)
{
    (void)ud;
    if (c->user != NULL) {
        mimdec_data(c->user, side, p, n, ts);
        c->ignored = mimdec_done(c->user); /* reasm keeps nothing more for it */
    }
}

static void on_gap(void *ud, reasm_conn *c, int side, uint64_t bytes)
{
    (void)ud;
    if (c->user != NULL) {
        mimdec_gap(c->user, side, bytes);
        c->ignored = mimdec_done(c->user);
    }
}

static void on_end(void *ud, reasm_conn *c)
{
    (void)ud;
    mimdec_end(c->user);
    c->user = NULL;
}

static const reasm_events reasm_ev = {on_new, on_data, on_gap, on_end};

static int port_of_interest(const mimdec_ctx *ctx, uint16_t port)
{
    for (size_t i = 0; i < ctx->n_ports; i++)
        if (ctx->ports[i] == port)
            return 1;
    return 0;
}

/* A discovery port is not fixed either (--discovery-port): a datagram on a port of interest, or
 * one of 56 bytes that starts with "MIM?" or "MIM!". */
static int looks_like_discovery(const run *r, const cap_packet *p)
{
    if (port_of_interest(&r->ctx, p->sport) || port_of_interest(&r->ctx, p->dport))
        return 1;
    return p->len == MIM_DISCOVERY_LEN &&
           (memcmp(p->payload, "MIM?", 4) == 0 || memcmp(p->payload, "MIM!", 4) == 0);
}

/* A UDP datagram on a port of interest: a discovery probe or answer (PROTOCOL.md 10). */
static void discovery(run *r, const cap_packet *p)
{
    char a[PR_ENDPOINT_LEN], b[PR_ENDPOINT_LEN], hex[2 * MIM_KEY_LEN + 4];
    char fp[MIM_FINGERPRINT_LEN];
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], pk[MIM_KEY_LEN];
    uint16_t port;
    FILE *out = r->ctx.out;

    pr_endpoint(a, p->family, p->src, p->sport);
    pr_endpoint(b, p->family, p->dst, p->dport);
    fprintf(out, "udp %.6f %s -> %s ", p->ts, a, b);
    if (mim_discovery_probe_decode(p->payload, p->len, nonce) == 0) {
        pr_hex(hex, sizeof(hex), nonce, sizeof(nonce));
        fprintf(out, "discovery probe, nonce %s\n", hex);
    } else if (p->len == MIM_DISCOVERY_LEN &&
               mim_discovery_answer_decode(p->payload, p->len, p->payload + 8, &port, pk) == 0) {
        pr_hex(hex, sizeof(hex), pk, sizeof(pk));
        mim_fingerprint(pk, fp);
        fprintf(out, "discovery answer: server TCP port %u, key %s (fingerprint %s)\n",
                (unsigned)port, hex, fp);
    } else {
        pr_hex(hex, sizeof(hex), p->payload, p->len < 16 ? p->len : 16);
        fprintf(out, "not a discovery datagram (%zu bytes: %s%s)\n", p->len, hex,
                p->len > 16 ? "..." : "");
    }
}

/* Every record of the capture. 0 at its end, -1 when it is cut or corrupt (said). */
static int read_all(run *r, cap_reader *cr, reasm *ra, const char *name)
{
    char err[PCAP_ERRBUF_SIZE + 64];
    const char *why;
    cap_packet pkt;
    int kind, rc;

    while ((rc = cap_next(cr, &pkt, &kind, &why, err, sizeof(err))) == 1) {
        if (kind == CAP_PKT_BAD) {
            if (r->bad_packets++ < 5)
                pr_warn(&r->ctx.warnings, "record %zu: %s: skipped", cr->records, why);
        } else if (kind == CAP_PKT_OK && pkt.proto == CAP_TCP) {
            if (reasm_packet(ra, &pkt) != 0 && r->untracked++ == 0)
                pr_warn(&r->ctx.warnings,
                        "more than %d TCP connections at once: later ones are not decoded",
                        REASM_CONNS_MAX);
        } else if (kind == CAP_PKT_OK && pkt.proto == CAP_UDP && looks_like_discovery(r, &pkt)) {
            discovery(r, &pkt);
        }
    }
    if (rc < 0)
        fprintf(stderr, "mim-decode: %s: the capture is cut or corrupt after record %zu: %s\n",
                name, cr->records, err);
    return rc;
}

/* Decodes the capture open in cr. The exit code. */
static int decode_capture(run *r, cap_reader *cr, const char *name)
{
    reasm *ra = reasm_new(&reasm_ev, r);
    int rc;

    if (ra == NULL) {
        fprintf(stderr, "mim-decode: out of memory\n");
        return 1;
    }
    rc = read_all(r, cr, ra, name);
    reasm_free(ra); /* ends every connection: cut frames are reported */
    if (r->bad_packets > 5)
        pr_warn(&r->ctx.warnings, "%zu malformed records skipped in all", r->bad_packets);
    fprintf(r->ctx.out, "%zu records, %zu mim connections, %zu frames decrypted, %zu warnings\n",
            cr->records, r->ctx.mim_conns, r->ctx.decrypted, r->ctx.warnings);
    return rc < 0 ? 1 : 0;
}

int decode_run(const decode_options *o, FILE *out)
{
    char err[PCAP_ERRBUF_SIZE + 4200];
    cap_reader cr;
    keys k = {0};
    run r;
    int rc;

    memset(&r, 0, sizeof(r));
    for (size_t i = 0, before = 0; i < o->n_key_logs; i++, before = k.n) {
        if (keys_load(&k, o->key_logs[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "mim-decode: cannot read the key log %s\n", err);
            keys_free(&k);
            return 1;
        }
        if (k.n == before) /* a wrong file, most likely: say so rather than decrypt nothing */
            pr_warn(&r.ctx.warnings, "the key log %s has no MIM_SESSION line", o->key_logs[i]);
    }
    keys_ready(&k);
    if (cap_open(&cr, strcmp(o->capture, "-") == 0 ? NULL : o->capture, stdin, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "mim-decode: %s: %s\n", o->capture, err);
        keys_free(&k);
        return 1;
    }
    r.ctx.out = out;
    r.ctx.keys = &k;
    r.ctx.ports = o->ports;
    r.ctx.n_ports = o->n_ports;
    rc = decode_capture(&r, &cr, o->capture);
    cap_close(&cr);
    keys_free(&k);
    return rc;
}

int decode_bytes(const uint8_t *data, size_t len, const keys *k, FILE *out)
{
    static const uint16_t ports[1] = {DECODE_MIM_PORT};
    char err[PCAP_ERRBUF_SIZE + 64];
    FILE *f = fmemopen((void *)data, len, "rb");
    cap_reader cr;
    run r;
    int rc;

    if (f == NULL)
        return 1;
    if (cap_open(&cr, NULL, f, err, sizeof(err)) != 0)
        return 1; /* f is closed */
    memset(&r, 0, sizeof(r));
    r.ctx.out = out;
    r.ctx.keys = k;
    r.ctx.ports = ports;
    r.ctx.n_ports = 1;
    rc = decode_capture(&r, &cr, "(memory)");
    cap_close(&cr);
    return rc;
}
