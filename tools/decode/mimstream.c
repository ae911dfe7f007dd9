/* mim streams: frames, handshake, decryption (see mimstream.h). */
#include "mimstream.h"

#include "print.h"

#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_framer.h"
#include "mim_trace.h"

#include <stdlib.h>
#include <string.h>

#define MSG1_LEN MIM_KEY_LEN
#define MSG2_MIN 96 /* e, encrypted s, an empty payload's tag */
#define MSG3_MIN 64 /* encrypted s, an empty payload's tag */
/* The server's payload has no name: its message 2 is 198 bytes, or 200 with the `features` field
 * (28 02) a server offering the mailbox sends (issue 14). A peer's is at least 201 (a name). */
#define PRESENCE_MSG2          198
#define PRESENCE_MSG2_FEATURES 200

enum conn_state {
    ST_UNKNOWN = 0, /* nothing sent yet */
    ST_MSG1,        /* the initiator sent a 32-byte frame; the other side's first frame decides */
    ST_MIM,         /* recognised: decoded */
    ST_OTHER,       /* not mim: ignored */
};

enum kind { KIND_PRESENCE = 0, KIND_PEER = 1 };

typedef struct dir_state {
    uint8_t hdr[2];
    size_t hlen;   /* of the 2 length bytes, how many are in */
    uint8_t *body; /* the frame being read: need bytes, blen of them in */
    size_t need, blen;
    double ts;       /* when the frame's first byte was seen */
    unsigned frames; /* frames completed */
    int dead;        /* after a gap or a frame the protocol forbids */
    mim_stream_rx rx;
    int rx_ready;  /* its stream header was read with the key log's key */
    int rx_failed; /* a frame did not decrypt: the stream cannot be followed */
} dir_state;

struct mimdec {
    mimdec_ctx *ctx;
    unsigned id;
    int family;
    uint8_t addr[2][16];
    uint16_t port[2];
    int interesting; /* on a port of interest: reported even when not mim */
    int state;
    int ini;                     /* the initiator's side */
    int kind;                    /* KIND_*, by message 2's size until H confirms it */
    const mim_keylog_entry *key; /* the key-log line for message 1's e, or NULL */
    uint8_t msg1[MSG1_LEN];
    double msg1_ts;
    uint8_t msg2[MIM_NOISE_MAX_MSG];
    size_t len2;
    dir_state d[2];
};

static uint8_t plain[MIM_FRAME_MAX]; /* one decrypted frame at a time (one thread) */

mimdec *mimdec_new(mimdec_ctx *ctx, const reasm_conn *c)
{
    mimdec *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->ctx = ctx;
    d->id = c->id;
    d->family = c->family;
    memcpy(d->addr, c->addr, sizeof(d->addr));
    memcpy(d->port, c->port, sizeof(d->port));
    d->ini = -1;
    for (size_t i = 0; i < ctx->n_ports; i++)
        if (c->port[0] == ctx->ports[i] || c->port[1] == ctx->ports[i])
            d->interesting = 1;
    return d;
}

static const char *arrow(const mimdec *d, int side)
{
    return side == d->ini ? PR_ARROW_OUT : PR_ARROW_IN;
}

static const char *kind_name(int kind)
{
    return kind == KIND_PRESENCE ? "presence (peer <-> server, PresenceBatch)"
                                 : "peer to peer (PeerBatch)";
}

/* "#ID tcp A -> B what": the connection, initiator first when known. */
static void print_conn(const mimdec *d, const char *what)
{
    char a[PR_ENDPOINT_LEN], b[PR_ENDPOINT_LEN];
    int s = d->ini >= 0 ? d->ini : 0;

    pr_endpoint(a, d->family, d->addr[s], d->port[s]);
    pr_endpoint(b, d->family, d->addr[1 - s], d->port[1 - s]);
    fprintf(d->ctx->out, "#%u tcp %s -> %s %s\n", d->id, a, b, what);
}

static void not_mim(mimdec *d, const char *why)
{
    if (d->interesting)
        print_conn(d, why);
    d->state = ST_OTHER;
}

/* The plaintext of one decrypted frame, as --trace shows it. */
static void show_plaintext(mimdec *d, int side, size_t len)
{
    char text[MIM_TRACE_MAX], err[160] = "";

    if (len == 0) {
        pr_text(d->ctx->out, d->id, "(empty)");
        return;
    }
    if (d->kind == KIND_PRESENCE) {
        Mim__PresenceBatch *b = NULL;
        enum mim_direction dir = side == d->ini ? MIM_FROM_PEER : MIM_FROM_SERVER;
        if (mim_presence_batch_decode(plain, len, dir, &b, err, sizeof(err)) == 0) {
            mim_trace_render(&b->base, text, sizeof(text));
            mim_presence_batch_free(b);
        } else
            snprintf(text, sizeof(text), "not a valid PresenceBatch: %s", err);
    } else {
        Mim__PeerBatch *b = NULL;
        if (mim_peer_batch_decode(plain, len, &b, err, sizeof(err)) == 0) {
            mim_trace_render(&b->base, text, sizeof(text));
            mim_peer_batch_free(b);
        } else
            snprintf(text, sizeof(text), "not a valid PeerBatch: %s", err);
    }
    pr_text(d->ctx->out, d->id, text);
}

static const char *tag_name(int tag)
{
    switch (tag) {
    case MIM_STREAM_TAG_MESSAGE:
        return "";
    case MIM_STREAM_TAG_REKEY:
        return ", tag REKEY";
    case MIM_STREAM_TAG_FINAL:
        return ", tag FINAL (clean close)";
    default:
        return ", tag not allowed in mim";
    }
}

/* An encrypted message: decrypted when the stream's header was read with a key. */
static void transport_frame(mimdec *d, int side, const uint8_t *f, size_t len)
{
    dir_state *ds = &d->d[side];
    size_t mlen = 0;
    int tag = 0;

    if (len < MIM_STREAM_ABYTES) {
        pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side),
                "frame %zu: too short for an encrypted message", len);
        ds->dead = 1;
        return;
    }
    if (!ds->rx_ready || ds->rx_failed) {
        pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side), "frame %zu: encrypted message", len);
        return;
    }
    if (mim_stream_rx_open(&ds->rx, f, len, plain, &mlen, &tag) != 0) {
        pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side),
                "frame %zu: encrypted message that does NOT decrypt", len);
        pr_warn(&d->ctx->warnings,
                "#%u: a frame does not decrypt with the key log's key (modified, missing or "
                "reordered frames): the rest of this direction is not decrypted",
                d->id);
        ds->rx_failed = 1;
        return;
    }
    d->ctx->decrypted++;
    pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side),
            "frame %zu: encrypted message, %zu bytes of plaintext%s", len, mlen, tag_name(tag));
    show_plaintext(d, side, mlen);
    mim_wipe(plain, mlen);
}

/* A side's stream header: its stream is opened with K1 (initiator) or K2 when the key log has
 * the connection. */
static void header_frame(mimdec *d, int side, const uint8_t *f, size_t len)
{
    dir_state *ds = &d->d[side];

    if (len != MIM_STREAM_HEADER_LEN) {
        pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side),
                "frame %zu: expected the 24-byte stream header", len);
        ds->dead = 1;
        return;
    }
    pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side), "frame %zu: stream header", len);
    if (d->key != NULL &&
        mim_stream_rx_init(&ds->rx, side == d->ini ? d->key->k1 : d->key->k2, f) == 0)
        ds->rx_ready = 1;
}

/* Message 3 completes the handshake: H recomputed, and checked against the key log's line,
 * tells the kind for sure. */
static void msg3_frame(mimdec *d, int side, const uint8_t *f, size_t len)
{
    static const char *const prologue[2] = {MIM_NOISE_PROLOGUE_PRESENCE, MIM_NOISE_PROLOGUE_PEER};
    dir_state *ds = &d->d[side];
    uint8_t h[MIM_HASH_LEN];

    if (len < MSG3_MIN || len > MIM_NOISE_MAX_MSG) {
        pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side),
                "frame %zu: not a handshake message 3 (64..1024 bytes)", len);
        ds->dead = 1;
        return;
    }
    pr_line(d->ctx->out, d->id, ds->ts, arrow(d, side), "frame %zu: handshake message 3 (-> s, se)",
            len);
    if (d->key == NULL)
        return;
    for (int k = 0; k < 2; k++)
        if (mim_keylog_handshake_hash(prologue[k], d->msg1, MSG1_LEN, d->msg2, d->len2, f, len,
                                      h) == 0 &&
            mim_equal_ct(h, d->key->h, MIM_HASH_LEN)) {
            d->kind = k;
            pr_line(d->ctx->out, d->id, ds->ts, "   ",
                    "handshake hash matches the key log: %s, decrypting", kind_name(k));
            return;
        }
    pr_warn(&d->ctx->warnings,
            "#%u: the key log's line for this connection has another handshake hash: not "
            "decrypted",
            d->id);
    d->key = NULL;
}

/* One complete frame of side, in a recognised connection. */
static void mim_frame(mimdec *d, int side, const uint8_t *f, size_t len)
{
    unsigned n = d->d[side].frames; /* frames of this side before this one */

    if (side == d->ini && n == 1)
        msg3_frame(d, side, f, len);
    else if ((side == d->ini && n == 2) || (side != d->ini && n == 1))
        header_frame(d, side, f, len);
    else
        transport_frame(d, side, f, len);
}

/* Message 2 arrived: the connection is mim. Its line, then the two handshake messages so far. */
static void recognise(mimdec *d, int side, const uint8_t *f, size_t len)
{
    char e[2 * MSG1_LEN + 4];

    memcpy(d->msg2, f, len);
    d->len2 = len;
    d->state = ST_MIM;
    d->kind = len == PRESENCE_MSG2 || len == PRESENCE_MSG2_FEATURES ? KIND_PRESENCE : KIND_PEER;
    d->key = keys_find(d->ctx->keys, d->msg1);
    d->ctx->mim_conns++;
    print_conn(d, kind_name(d->kind));
    pr_hex(e, sizeof(e), d->msg1, MSG1_LEN);
    pr_line(d->ctx->out, d->id, d->msg1_ts, arrow(d, d->ini),
            "frame %d: handshake message 1 (-> e), e %s%s", MSG1_LEN, e,
            d->key != NULL ? " (in the key log)" : "");
    pr_line(d->ctx->out, d->id, d->d[side].ts, arrow(d, side),
            "frame %zu: handshake message 2 (<- e, ee, s, es)", len);
}

/* A frame's length is known (its 2 bytes are in): recognition looks no further. */
static void frame_header(mimdec *d, int side)
{
    size_t need = d->d[side].need;

    if (d->state == ST_UNKNOWN) {
        d->ini = side; /* the responder never speaks first */
        if (need != MSG1_LEN)
            not_mim(d, "not mim (the first frame is not a 32-byte handshake message 1)");
    } else if (d->state == ST_MSG1) {
        if (side == d->ini)
            not_mim(d, "not mim (the initiator sent again before message 2)");
        else if (need < MSG2_MIN || need > MIM_NOISE_MAX_MSG)
            not_mim(d, "not mim (the answer is not a handshake message 2)");
    } else if (d->state == ST_MIM && need == 0) {
        pr_line(d->ctx->out, d->id, d->d[side].ts, arrow(d, side),
                "frame 0: an empty frame (a protocol error)");
        d->d[side].dead = 1;
    }
}

static void frame_done(mimdec *d, int side, const uint8_t *f, size_t len)
{
    if (d->state == ST_UNKNOWN) {
        memcpy(d->msg1, f, MSG1_LEN);
        d->msg1_ts = d->d[side].ts;
        d->state = ST_MSG1;
    } else if (d->state == ST_MSG1) {
        recognise(d, side, f, len);
    } else if (d->state == ST_MIM) {
        mim_frame(d, side, f, len);
    }
    d->d[side].frames++;
}

void mimdec_data(mimdec *d, int side, const uint8_t *p, size_t n, double ts)
{
    dir_state *ds = &d->d[side];

    while (n > 0 && d->state != ST_OTHER && !ds->dead) {
        if (ds->hlen < 2) {
            if (ds->hlen == 0)
                ds->ts = ts;
            ds->hdr[ds->hlen++] = *p++;
            n--;
            if (ds->hlen < 2)
                continue;
            ds->need = (size_t)ds->hdr[0] << 8 | ds->hdr[1];
            ds->blen = 0;
            frame_header(d, side);
            if (d->state == ST_OTHER || ds->dead)
                break;
            if ((ds->body = malloc(ds->need)) == NULL) {
                pr_warn(&d->ctx->warnings, "#%u: out of memory", d->id);
                ds->dead = 1;
                break;
            }
        }
        size_t take = ds->need - ds->blen < n ? ds->need - ds->blen : n;
        memcpy(ds->body + ds->blen, p, take);
        ds->blen += take;
        p += take;
        n -= take;
        if (ds->blen == ds->need) {
            frame_done(d, side, ds->body, ds->need);
            free(ds->body);
            ds->body = NULL;
            ds->hlen = 0;
        }
    }
}

void mimdec_gap(mimdec *d, int side, uint64_t bytes)
{
    dir_state *ds = &d->d[side];

    if (ds->dead || d->state == ST_OTHER)
        return;
    if (d->state == ST_MIM)
        pr_warn(&d->ctx->warnings,
                "#%u: %llu bytes %s are missing from the capture: the rest of that direction "
                "is not decoded",
                d->id, (unsigned long long)bytes,
                side == d->ini ? "initiator -> responder" : "responder -> initiator");
    else
        d->state = ST_OTHER; /* not recognised yet: cannot be */
    ds->dead = 1;
}

int mimdec_done(const mimdec *d)
{
    return d->state == ST_OTHER || (d->d[0].dead && d->d[1].dead);
}

void mimdec_end(mimdec *d)
{
    if (d == NULL)
        return;
    for (int s = 0; s < 2; s++) {
        dir_state *ds = &d->d[s];
        if (d->state == ST_MIM && !ds->dead && ds->hlen > 0)
            pr_warn(&d->ctx->warnings,
                    "#%u: the capture ends inside a frame from the %s (%zu of %zu bytes): the "
                    "connection was cut or the capture stopped",
                    d->id, s == d->ini ? "initiator" : "responder", ds->hlen < 2 ? 0 : ds->blen,
                    ds->hlen < 2 ? 0 : ds->need);
        free(ds->body);
        mim_stream_rx_wipe(&ds->rx);
    }
    if (d->state == ST_MSG1 && d->interesting)
        print_conn(d, "handshake message 1 only: no answer in the capture");
    free(d);
}
