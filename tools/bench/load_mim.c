/* The mim protocol for the load client: each simulated peer dials mim-presence through the
 * project's own mim_channel (the real Noise XX handshake, static-key signature check and
 * secretstream), then sends the real signed Login (mim_login_sign) and counts what it learns.
 *
 * Identities: one key file per simulated peer under --key-dir, made on the first run and loaded
 * on later ones (outside the timed part), so the names stay registered to the same keys and a
 * run measures the everyday login of known names.
 *
 * Reading: a TableChunk, StatusUpdate, Ping or Error is fully decoded (protobuf-c). A PeerAdd,
 * the bulk of a storm, is counted from its element header only: the client side is not what is
 * measured, and a full decode of n^2/2 adds in this one process would make it the bottleneck.
 * Every frame is still decrypted and authenticated by the channel. */
#include "load.h"
#include "mim_buf.h"
#include "mim_channel.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_log.h"
#include "presence.pb-c.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct mim_peer {
    load_peer *peer;
    mim_channel *ch; /* NULL once closed */
    char name[16];
} mim_peer;

static mim_identity **identities; /* one per simulated peer, owned here */
static int nidentities;
static int stopping;

static int mim_prepare(load_ctx *ctx)
{
    char path[4096];

    if (mim_crypto_init() != 0 || ctx->key_dir == NULL)
        return -1;
    mim_log_set_level(MIM_LOG_WARN);
    (void)mkdir(ctx->key_dir, 0700);
    if ((identities = calloc((size_t)ctx->n, sizeof(*identities))) == NULL)
        return -1;
    nidentities = ctx->n;
    for (int i = 0; i < ctx->n; i++) {
        int created;
        snprintf(path, sizeof(path), "%s/p%d.key", ctx->key_dir, i);
        if (mim_identity_load_or_create(path, &identities[i], &created) != 0) {
            fprintf(stderr, "mim-bench-load: cannot load or create %s\n", path);
            return -1;
        }
    }
    return 0;
}

static int send_msg(mim_peer *mp, const Mim__PresenceMsg *m)
{
    mim_buf b = {0};
    int rc = mim_presence_batch_append(&b, m);
    if (rc == 0)
        rc = mim_channel_send(mp->ch, b.data, b.len, 0);
    mim_buf_free(&b);
    return rc;
}

static int on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                            const char *name, const char **reason)
{
    (void)ch;
    (void)identity_pk;
    (void)name;
    (void)reason;
    return 0; /* the bench's own server: nothing to pin */
}

/* The Login, signed over the handshake hash, exactly as the peer's presence client sends it. */
static void on_open(mim_channel *ch)
{
    mim_peer *mp = mim_channel_data(ch);
    const mim_identity *id = identities[mp->peer->index];
    uint8_t sig[MIM_SIG_LEN];
    Mim__PresenceMsg m;
    Mim__Login login;
    const uint16_t port = 40000;

    if (mim_login_sign(id, mim_channel_handshake_hash(ch), mp->name, strlen(mp->name), port, sig) !=
        0) {
        load_fail(mp->peer->ctx, mp->peer, "cannot sign the login");
        return;
    }
    mim_login_init(&m, &login, mp->name, port, id->sign_pk, id->static_sig, sig, 0);
    if (send_msg(mp, &m) != 0)
        load_fail(mp->peer->ctx, mp->peer, "cannot send the login");
}

/* Reads a protobuf varint; 0 or -1 past the end. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static void on_full_msg(mim_peer *mp, const uint8_t *el, size_t len)
{
    load_peer *p = mp->peer;
    Mim__PresenceMsg *m = mim__presence_msg__unpack(NULL, len, el);

    if (m == NULL) {
        load_fail(p->ctx, p, "malformed message from the server");
        return;
    }
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_TABLE: {
        long others = 0;
        for (size_t i = 0; i < m->table->n_peers; i++)
            if (strcmp(m->table->peers[i]->name, mp->name) != 0)
                others++;
        load_knows(p, others);
        if (m->table->last)
            load_logged_in(p);
        break;
    }
    case MIM__PRESENCE_MSG__BODY_STATUS: {
        unsigned seq;
        /* Only the bench's changes ("s<seq>", each from its own sender) are counted. */
        if (m->status->name[0] == 'p' && sscanf(m->status->text, "s%u", &seq) == 1)
            load_status_seen(p, seq);
        break;
    }
    case MIM__PRESENCE_MSG__BODY_PING: {
        Mim__PresenceMsg r;
        Mim__Pong pong;
        mim_presence_pong_init(&r, &pong, m->ping->nonce);
        (void)send_msg(mp, &r);
        break;
    }
    case MIM__PRESENCE_MSG__BODY_ERROR:
        load_fail(p->ctx, p, "server error %d: %s", (int)m->error->code, m->error->message);
        break;
    default:
        break;
    }
    mim__presence_msg__free_unpacked(m, NULL);
}

/* One PresenceBatch: `repeated PresenceMsg msgs = 1`, each element tagged 0x0a. The oneof's
 * first tag says which message an element is: 0x1a PeerAdd, 0x22 PeerDelete. */
static void on_plaintext(mim_channel *ch, const uint8_t *pl, size_t len, int final)
{
    mim_peer *mp = mim_channel_data(ch);
    const uint8_t *q = pl, *end = pl + len;

    (void) final;
    while (q < end && !mp->peer->ctx->failed) {
        uint64_t tag, elen;
        if (varint(&q, end, &tag) != 0 || tag != 0x0a || varint(&q, end, &elen) != 0 ||
            elen > (uint64_t)(end - q) || elen == 0) {
            load_fail(mp->peer->ctx, mp->peer, "malformed batch from the server");
            return;
        }
        if (q[0] == 0x1a)
            load_knows(mp->peer, 1);
        else if (q[0] == 0x22)
            load_knows(mp->peer, -1);
        else
            on_full_msg(mp, q, (size_t)elen);
        q += elen;
    }
}

static void on_closed(mim_channel *ch, const char *reason)
{
    mim_peer *mp = mim_channel_data(ch);

    if (!stopping)
        load_fail(mp->peer->ctx, mp->peer, "session closed: %s", reason);
    mp->peer->state = NULL;
    free(mp);
}

static const mim_channel_events events = {
    .on_authenticated = on_authenticated,
    .on_open = on_open,
    .on_plaintext = on_plaintext,
    .on_closed = on_closed,
};

static int mim_start(load_peer *p)
{
    mim_peer *mp = calloc(1, sizeof(*mp));
    mim_channel_config cfg;
    struct sockaddr_in addr;

    if (mp == NULL)
        return -1;
    mp->peer = p;
    load_peer_name(p, mp->name, sizeof(mp->name));
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = p->ctx->loop;
    cfg.identity = identities[p->index];
    cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    cfg.my_name = mp->name;
    cfg.remote_name_mode = MIM_HS_NAME_EMPTY;
    cfg.max_queued = 64u << 20;
    cfg.handshake_timeout_ms = 120000; /* a storm queues handshakes: the run's bound rules */
    cfg.events = &events;
    cfg.data = mp;
    uv_ip4_addr("127.0.0.1", load_peer_port(p), &addr);
    if (mim_channel_dial(&cfg, (const struct sockaddr *)&addr, &mp->ch) != 0) {
        free(mp);
        return -1;
    }
    p->state = mp;
    return 0;
}

static int mim_send_status(load_peer *p, unsigned seq)
{
    mim_peer *mp = p->state;
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__StatusSet st = MIM__STATUS_SET__INIT;
    char text[32];

    if (mp == NULL)
        return -1;
    snprintf(text, sizeof(text), "s%u", seq);
    st.status = MIM__STATUS__STATUS_AWAY;
    st.text = text;
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m.status_set = &st;
    return send_msg(mp, &m) == 0 ? 0 : -1;
}

static void mim_stop_all(load_ctx *ctx)
{
    stopping = 1;
    for (int i = 0; i < ctx->n; i++) {
        mim_peer *mp = ctx->peers[i].state;
        if (mp != NULL && mp->ch != NULL)
            mim_channel_abort(mp->ch, "bench over");
    }
    /* The channels read their identity only while dialling: all of that is over. */
    for (int i = 0; i < nidentities; i++)
        mim_identity_free(identities[i]);
    free(identities);
    identities = NULL;
    nidentities = 0;
}

const load_proto load_proto_mim = {
    .name = "mim",
    .prepare = mim_prepare,
    .start = mim_start,
    .send_status = mim_send_status,
    .stop_all = mim_stop_all,
};
