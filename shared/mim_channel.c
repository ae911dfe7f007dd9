/* An authenticated, encrypted channel over a mim_conn (see mim_channel.h for the contract).
 *
 * A state machine driven by whole frames from the connection:
 *
 *   initiator: CONNECTING --connect--> AWAIT_MSG2 --msg 2, ok--> AWAIT_HEADER --24 bytes--> OPEN
 *   responder: AWAIT_MSG1 --msg 1--> AWAIT_MSG3 --msg 3, ok--> AWAIT_HEADER --24 bytes--> OPEN
 *
 * Closing is flags, not a state: the connection's own closing/draining, plus what we sent. The
 * channel lives in its connection's allocation and ends in the connection's close callback: a
 * running timer is closed there (its own close callback only frees it), on_closed runs, and the
 * memory goes with the connection's. */
#include "mim_channel.h"
#include "mim_conn.h"
#include "mim_error.h"
#include "mim_keylog.h"
#include "mim_log.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum channel_state {
    CH_CONNECTING = 0, /* initiator: the TCP connect is in progress */
    CH_AWAIT_MSG1,     /* responder: accepted, waiting for -> e */
    CH_AWAIT_MSG2,     /* initiator: sent -> e */
    CH_AWAIT_MSG3,     /* responder: sent <- e, ee, s, es */
    CH_AWAIT_HEADER,   /* split done, our stream is up; the remote's stream header is next */
    CH_OPEN,           /* both streams up */
};

/* What only the handshake needs, in one allocation made at start and freed once the remote's
 * stream header is in (the Noise state is wiped at Split(), right when it is done). */
typedef struct channel_hs {
    mim_noise noise;
    mim_buf payload;             /* our HandshakePayload, encoded at start */
    uint8_t rx_key[MIM_KEY_LEN]; /* between Split() and the remote's header only */
    uint64_t started;            /* uv_now() at dial/accept: the handshake deadline's start */
    uint32_t handshake_ms;       /* connect + handshake, until OPEN */
    uint32_t max_frame;          /* framer cap once authenticated (then the conn holds it) */
    size_t max_queued;           /* output cap once authenticated (then the conn holds it) */
} channel_hs;

/* What the handshake proved, kept until the owner has used it (the presence server, to check
 * the Login and fill the peer's table entry) and drops it with mim_channel_drop_proof. */
typedef struct channel_proof {
    uint8_t remote_pk[MIM_KEY_LEN];
    uint8_t remote_sig[MIM_SIG_LEN];
    uint8_t hh[MIM_HASH_LEN];
    uint8_t have_hh;
} channel_proof;

/* Kept small: the presence server holds one per connected peer, thousands of them idle. The
 * timer, the handshake state, the handshake proof, the remote's name and the close reason are
 * allocated only while needed; the remote address and the id are the conn's. */
struct mim_channel {
    mim_conn *conn;    /* the one whose extra bytes hold this channel (CHANNEL_DATA_OFFSET) */
    uv_timer_t *timer; /* deadlines, only while one is pending (see timer_needed) */
    const mim_channel_events *ev;
    void *data;
    channel_hs *hs;           /* the handshake; NULL once the remote's stream header is in */
    channel_proof *proof;     /* from the remote's payload until mim_channel_drop_proof */
    char *remote_name;        /* exact-size copy; NULL ("") until authenticated */
    uint32_t remote_features; /* its HandshakePayload.features */
    char *reason;             /* what on_closed reports, set when closing (NULL: "closed") */
    uint32_t frame_ms;        /* a started frame */
    uint32_t drain_ms;        /* a drain the remote does not finish */
    uint32_t tick_ms;         /* the timer's period: a quarter of the shortest deadline, <= 1 s */
    uint8_t state;            /* enum channel_state */
    uint8_t name_mode;        /* MIM_HS_NAME_* for the remote's payload */
    unsigned initiator : 1;
    unsigned tx_ready : 1;
    unsigned rx_ready : 1;
    unsigned limits_applied : 1; /* the post-handshake caps are in force */
    unsigned final_sent : 1;     /* our TAG_FINAL went out: nothing more may */
    unsigned final_received : 1; /* the remote's TAG_FINAL arrived: a clean close */
    unsigned authenticated : 1;  /* remote_* hold the verified payload */
    unsigned reason_set : 1;     /* ch->reason holds the owner's (or a FINAL's) reason */
    mim_stream_tx tx;            /* our sending stream, once tx_ready */
    mim_stream_rx rx;            /* the remote's stream, once rx_ready */
};

/* One allocation per connection: the mim_conn, then the channel in its extra bytes, then the
 * owner's data_size bytes (the presence server's session): a connection costs one malloc and
 * no pointer or address is kept twice. All of it is freed right after on_closed returns. */
#define CHANNEL_DATA_OFFSET                                                                        \
    ((sizeof(mim_channel) + MIM_CHANNEL_DATA_ALIGN - 1) / MIM_CHANNEL_DATA_ALIGN *                 \
     MIM_CHANNEL_DATA_ALIGN)
static_assert(_Alignof(mim_channel) <= MIM_CONN_EXTRA_ALIGN, "a channel's alignment");
static_assert(MIM_CHANNEL_DATA_ALIGN == MIM_CONN_EXTRA_ALIGN, "the owner's data alignment");

static void on_connect(mim_conn *c, int status);
static void on_frame(mim_conn *c, const uint8_t *frame, size_t len);
static void on_eof(mim_conn *c);
static void on_conn_close(mim_conn *c, const char *reason);
static void on_partial(mim_conn *c);
static void timer_start(mim_channel *ch, uv_timer_t *t);
static void timer_disarm(mim_channel *ch);
static void on_tick(uv_timer_t *t);
static void timer_arm(mim_channel *ch);

static const mim_conn_callbacks channel_callbacks = {
    .on_frame = on_frame,
    .on_eof = on_eof,
    .on_close = on_conn_close,
    .on_connect = on_connect,
    .on_partial = on_partial,
};

/* ---- setup and teardown ---------------------------------------------------------------------- */

static void hs_free(mim_channel *ch)
{
    if (ch->hs == NULL)
        return;
    mim_buf_wipe_free(&ch->hs->payload);
    mim_wipe(ch->hs, sizeof(*ch->hs)); /* the Noise state and the receive key */
    free(ch->hs);
    ch->hs = NULL;
}

static void wipe_secrets(mim_channel *ch)
{
    hs_free(ch);
    mim_stream_tx_wipe(&ch->tx);
    mim_stream_rx_wipe(&ch->rx);
    ch->tx_ready = ch->rx_ready = 0;
}

/* Frees what the channel allocated besides itself (its memory is the conn's). */
static void channel_release(mim_channel *ch)
{
    wipe_secrets(ch);
    mim_channel_drop_proof(ch);
    free(ch->remote_name);
    free(ch->reason);
}

/* Frees the handshake state made for a connection that never came to be. */
static void hs_discard(channel_hs *hs)
{
    mim_buf_wipe_free(&hs->payload);
    mim_wipe(hs, sizeof(*hs));
    free(hs);
}

static const char *channel_reason(const mim_channel *ch)
{
    return ch->reason != NULL ? ch->reason : "closed";
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v != 0 ? v : def;
}

/* Everything that can fail before the connection exists: checks the config, encodes our payload,
 * starts the Noise state and allocates the handshake deadline's timer, so that once the
 * connection is there nothing can fail. */
static int channel_prepare(const mim_channel_config *cfg, int initiator, channel_hs **hs_out,
                           uv_timer_t **timer_out)
{
    const char *name = cfg->my_name != NULL ? cfg->my_name : "";
    channel_hs *hs;
    int rc;

    if (cfg->loop == NULL || cfg->identity == NULL || cfg->prologue == NULL ||
        cfg->events == NULL || cfg->events->on_authenticated == NULL ||
        cfg->events->on_plaintext == NULL || cfg->events->on_closed == NULL)
        return MIM_EINVAL;
    if (cfg->remote_name_mode != MIM_HS_NAME_EMPTY && cfg->remote_name_mode != MIM_HS_NAME_VALID &&
        cfg->remote_name_mode != MIM_HS_NAME_ANY)
        return MIM_EINVAL;
    if (name[0] != '\0' && !mim_name_valid(name, strlen(name)))
        return MIM_EINVAL; /* the remote would refuse it: better said here */
    if (cfg->max_frame_after > MIM_FRAME_MAX || cfg->data_size > SIZE_MAX / 2)
        return MIM_EINVAL;
    if ((hs = calloc(1, sizeof(*hs))) == NULL)
        return MIM_ENOMEM;
    rc = mim_handshake_payload_encode_features(cfg->identity->sign_pk, cfg->identity->static_sig,
                                               name, cfg->my_features, &hs->payload);
    if (rc == 0)
        rc = mim_noise_init(&hs->noise, initiator, cfg->prologue, strlen(cfg->prologue),
                            cfg->identity->dh_sk);
    if (rc == 0 && (*timer_out = malloc(sizeof(**timer_out))) == NULL)
        rc = MIM_ENOMEM;
    hs->started = uv_now(cfg->loop);
    hs->handshake_ms = or_default(cfg->handshake_timeout_ms, MIM_CHANNEL_HANDSHAKE_TIMEOUT_MS);
    hs->max_frame = cfg->max_frame_after != 0 ? (uint32_t)cfg->max_frame_after : MIM_FRAME_MAX;
    hs->max_queued = cfg->max_queued != 0 ? cfg->max_queued : MIM_CHANNEL_DEFAULT_QUEUED;
    if (rc != 0) {
        hs_discard(hs);
        return rc;
    }
    *hs_out = hs;
    return 0;
}

/* The connection exists: the channel is set up in its extra bytes (zeroed) and the handshake
 * deadline starts. */
static mim_channel *channel_init(const mim_channel_config *cfg, int initiator, mim_conn *conn,
                                 channel_hs *hs, uv_timer_t *timer)
{
    mim_channel *ch = mim_conn_extra(conn);

    ch->conn = conn;
    ch->hs = hs;
    ch->ev = cfg->events;
    ch->data = cfg->data_size > 0 ? (char *)ch + CHANNEL_DATA_OFFSET : cfg->data;
    ch->initiator = initiator;
    ch->state = initiator ? CH_CONNECTING : CH_AWAIT_MSG1;
    ch->name_mode = cfg->remote_name_mode;
    ch->frame_ms = or_default(cfg->frame_timeout_ms, MIM_CHANNEL_FRAME_TIMEOUT_MS);
    ch->drain_ms = or_default(cfg->drain_timeout_ms, MIM_CHANNEL_DRAIN_TIMEOUT_MS);
    /* Ticks a few times per shortest deadline, so each is met within a quarter of itself. */
    ch->tick_ms = hs->handshake_ms;
    if (ch->tick_ms > ch->frame_ms)
        ch->tick_ms = ch->frame_ms;
    if (ch->tick_ms > ch->drain_ms)
        ch->tick_ms = ch->drain_ms;
    ch->tick_ms /= 4;
    if (ch->tick_ms == 0)
        ch->tick_ms = 1;
    if (ch->tick_ms > 1000)
        ch->tick_ms = 1000;
    timer_start(ch, timer);
    return ch;
}

/* Starts the timer t (allocated, not yet initialised) for ch. */
static void timer_start(mim_channel *ch, uv_timer_t *t)
{
    uv_timer_init(ch->conn->tcp.loop, t);
    t->data = ch;
    uv_timer_start(t, on_tick, ch->tick_ms, ch->tick_ms);
    ch->timer = t;
}

int mim_channel_dial(const mim_channel_config *cfg, const struct sockaddr *addr, mim_channel **out)
{
    channel_hs *hs;
    uv_timer_t *timer;
    mim_conn *conn;
    int rc;

    if (out == NULL || addr == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if ((rc = channel_prepare(cfg, 1, &hs, &timer)) != 0)
        return rc;
    rc =
        mim_conn_connect(cfg->loop, addr, &channel_callbacks, NULL, MIM_NOISE_MAX_MSG,
                         MIM_CHANNEL_HANDSHAKE_QUEUED, CHANNEL_DATA_OFFSET + cfg->data_size, &conn);
    if (rc != 0) { /* the conn closes itself without callbacks */
        hs_discard(hs);
        free(timer);
        return rc;
    }
    conn->data = *out = channel_init(cfg, 1, conn, hs, timer);
    return 0;
}

int mim_channel_accept(const mim_channel_config *cfg, uv_stream_t *listener, mim_channel **out)
{
    channel_hs *hs;
    uv_timer_t *timer;
    mim_conn *conn;
    int rc;

    if (out == NULL || listener == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if ((rc = channel_prepare(cfg, 0, &hs, &timer)) != 0) {
        mim_conn_reject(listener); /* else libuv would stop accepting on it */
        return rc;
    }
    rc = mim_conn_accept(listener, &channel_callbacks, NULL, MIM_NOISE_MAX_MSG,
                         MIM_CHANNEL_HANDSHAKE_QUEUED, CHANNEL_DATA_OFFSET + cfg->data_size, &conn);
    if (rc != 0) {
        hs_discard(hs);
        free(timer);
        return rc;
    }
    conn->data = *out = channel_init(cfg, 0, conn, hs, timer);
    return 0;
}

/* The connection is closed (from its close callback: the loop). A running timer is closed too
 * (its close callback only frees it), and the channel ends now: its memory goes with the conn's
 * right after this returns. */
static void on_conn_close(mim_conn *c, const char *reason)
{
    mim_channel *ch = c->data;

    if (!ch->reason_set) {
        ch->reason_set = 1;
        ch->reason = strdup(reason); /* the conn's copy goes with it */
    }
    wipe_secrets(ch);
    mim_log_debug("conn %llu: channel closed: %s", (unsigned long long)c->id, channel_reason(ch));
    if (ch->timer != NULL)
        timer_disarm(ch);
    ch->ev->on_closed(ch, channel_reason(ch));
    channel_release(ch);
}

/* ---- closing --------------------------------------------------------------------------------- */

static int conn_usable(const mim_channel *ch)
{
    return !ch->conn->closing;
}

/* Records the reason on_closed will report, unless one is already kept. */
static void keep_reason(mim_channel *ch, const char *reason)
{
    if (ch->reason_set)
        return;
    ch->reason_set = 1;
    ch->reason = strdup(reason != NULL ? reason : "closed"); /* NULL reports "closed" */
}

/* Begins the conn's drain, whose deadline needs the timer. */
static void channel_drain(mim_channel *ch, const char *reason)
{
    mim_conn_drain(ch->conn, "%s", reason);
    timer_arm(ch);
}

/* Seals one frame and queues it. Any failure after the checks closes the connection: a frame
 * sealed but not sent would leave the remote's stream one message behind ours. */
static int seal_and_send(mim_channel *ch, const uint8_t *p, size_t len, int tag)
{
    mim_conn *c = ch->conn;
    size_t flen = len + MIM_STREAM_ABYTES;
    uint8_t *frame;
    int rc;

    if (mim_conn_queued(c) + MIM_FRAME_HEADER_LEN + flen > c->max_queued) {
        mim_conn_close(c, "slow reader: more than %zu bytes queued", c->max_queued);
        return MIM_EOVERFLOW;
    }
    if ((frame = mim_conn_frame_new(flen)) == NULL) {
        mim_conn_close(c, "out of memory sealing a frame");
        return MIM_ENOMEM;
    }
    if ((rc = mim_stream_tx_seal(&ch->tx, p, len, tag, frame)) != 0) {
        mim_conn_frame_discard(frame);
        mim_conn_close(c, "sealing failed: %s", mim_strerror(rc));
        return rc;
    }
    if ((rc = mim_conn_frame_send(c, frame)) != 0) {
        mim_conn_close(c, "write failed: %s", mim_strerror(rc));
        return rc;
    }
    if (tag == MIM_STREAM_TAG_FINAL)
        ch->final_sent = 1;
    return 0;
}

void mim_channel_close(mim_channel *ch, const char *reason)
{
    if (!conn_usable(ch))
        return;
    keep_reason(ch, reason);
    if (ch->conn->draining)
        return; /* our FINAL is already out */
    if (ch->tx_ready && !ch->final_sent && seal_and_send(ch, NULL, 0, MIM_STREAM_TAG_FINAL) == 0) {
        channel_drain(ch, channel_reason(ch));
        return;
    }
    mim_conn_close(ch->conn, "%s", channel_reason(ch));
}

void mim_channel_abort(mim_channel *ch, const char *reason)
{
    if (!conn_usable(ch))
        return;
    keep_reason(ch, reason);
    mim_conn_close(ch->conn, "%s", channel_reason(ch));
}

/* ---- the handshake --------------------------------------------------------------------------- */

/* The remote is authenticated (the handshake state still exists): its caps take over. */
static void apply_limits(mim_channel *ch)
{
    ch->limits_applied = 1;
    mim_framer_set_max(&ch->conn->framer, ch->hs->max_frame);
    ch->conn->max_queued = ch->hs->max_queued;
}

/* Checks the remote's payload and asks the owner. 0 to go on; -1 when the connection is
 * closing. */
static int check_remote(mim_channel *ch, const uint8_t *payload, size_t plen)
{
    Mim__HandshakePayload *hp = NULL;
    const char *why = NULL;
    char err[128];
    int rc;

    if (mim_handshake_payload_decode(payload, plen, ch->name_mode, &hp, err, sizeof(err)) != 0) {
        mim_conn_close(ch->conn, "handshake payload rejected: %s", err);
        return -1;
    }
    /* The identity key vouches for the Noise static key the remote just proved it holds. */
    if (mim_static_sig_verify(hp->identity_pk.data, mim_noise_remote_static(&ch->hs->noise),
                              hp->static_sig.data) != 0) {
        mim_handshake_payload_free(hp);
        mim_conn_close(ch->conn, "handshake: static key not signed by the identity key");
        return -1;
    }
    ch->remote_name = strdup(hp->name); /* the decoder bounds it (MIM_NAME_MAX_BYTES) */
    ch->remote_features = hp->features;
    if (ch->remote_name != NULL && ch->proof == NULL)
        ch->proof = calloc(1, sizeof(*ch->proof)); /* the responder's holds h already */
    if (ch->proof != NULL) {
        memcpy(ch->proof->remote_pk, hp->identity_pk.data, MIM_KEY_LEN);
        memcpy(ch->proof->remote_sig, hp->static_sig.data, MIM_SIG_LEN);
    }
    mim_handshake_payload_free(hp);
    if (ch->remote_name == NULL || ch->proof == NULL) {
        mim_conn_close(ch->conn, "out of memory keeping the remote's payload");
        return -1;
    }
    ch->authenticated = 1;

    rc = ch->ev->on_authenticated(ch, ch->proof->remote_pk, ch->remote_name, &why);
    if (!conn_usable(ch))
        return -1; /* the owner closed it from the callback */
    if (rc != 0) {
        keep_reason(ch, why != NULL ? why : "remote refused");
        mim_conn_close(ch->conn, "%s", channel_reason(ch));
        return -1;
    }
    return 0;
}

/* --key-log (docs/KEYLOG.md): this connection's line, when the key log is on. Both ends write
 * the same line; E is the initiator's ephemeral key, ours or the remote's. */
static void log_keys(const mim_channel *ch, const mim_noise_cipher *c1, const mim_noise_cipher *c2)
{
    const mim_noise *noise = &ch->hs->noise;
    mim_keylog_entry en;

    if (!mim_keylog_enabled())
        return;
    memcpy(en.e, ch->initiator ? noise->e_pk : noise->re, MIM_KEY_LEN);
    memcpy(en.h, mim_noise_handshake_hash(noise), MIM_HASH_LEN);
    memcpy(en.k1, c1->k, MIM_KEY_LEN);
    memcpy(en.k2, c2->k, MIM_KEY_LEN);
    mim_keylog_write(&en);
    mim_wipe(&en, sizeof(en));
}

/* Split(): keys our stream, sends its header, keeps the receive key for the remote's header,
 * and wipes the handshake. */
static void start_transport(mim_channel *ch)
{
    uint8_t header[MIM_STREAM_HEADER_LEN];
    mim_noise_cipher c1, c2;
    int rc;

    rc = mim_noise_split(&ch->hs->noise, &c1, &c2);
    if (rc == 0)
        log_keys(ch, &c1, &c2);
    mim_noise_wipe(&ch->hs->noise);
    mim_buf_wipe_free(&ch->hs->payload); /* both payloads have been sent or read */
    /* c1 carries initiator -> responder, c2 the other way. */
    if (rc == 0) {
        memcpy(ch->hs->rx_key, ch->initiator ? c2.k : c1.k, MIM_KEY_LEN);
        rc = mim_stream_tx_init(&ch->tx, ch->initiator ? c1.k : c2.k, header);
    }
    mim_wipe(&c1, sizeof(c1));
    mim_wipe(&c2, sizeof(c2));
    if (rc == 0)
        rc = mim_conn_send(ch->conn, header, sizeof(header));
    if (rc != 0) {
        mim_conn_close(ch->conn, "transport setup failed: %s", mim_strerror(rc));
        return;
    }
    ch->tx_ready = 1;
    ch->state = CH_AWAIT_HEADER;
    apply_limits(ch);
}

static void send_msg1(mim_channel *ch)
{
    uint8_t out[MIM_NOISE_MAX_MSG];
    size_t out_len;
    int rc;

    rc = mim_noise_write(&ch->hs->noise, NULL, 0, out, sizeof(out), &out_len);
    if (rc == 0)
        rc = mim_conn_send(ch->conn, out, out_len);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 1 failed: %s", mim_strerror(rc));
        return;
    }
    ch->state = CH_AWAIT_MSG2;
}

static void on_connect(mim_conn *c, int status)
{
    mim_channel *ch = c->data;
    if (status == 0 && ch->state == CH_CONNECTING)
        send_msg1(ch); /* on failure the conn closes itself and reports why */
}

static void handle_msg1(mim_channel *ch, const uint8_t *frame, size_t len)
{
    uint8_t out[MIM_NOISE_MAX_MSG];
    size_t out_len, plen;
    int rc;

    /* Message 1 is `e` with an empty payload: exactly 32 bytes. */
    if (len != MIM_KEY_LEN) {
        mim_conn_close(ch->conn, "handshake message 1 is %zu bytes, not %d", len, MIM_KEY_LEN);
        return;
    }
    rc = mim_noise_read(&ch->hs->noise, frame, len, out, sizeof(out), &plen);
    if (rc == 0)
        rc = mim_noise_write(&ch->hs->noise, ch->hs->payload.data, ch->hs->payload.len, out,
                             sizeof(out), &out_len);
    if (rc == 0)
        rc = mim_conn_send(ch->conn, out, out_len);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 1 or 2 failed: %s", mim_strerror(rc));
        return;
    }
    ch->state = CH_AWAIT_MSG3;
}

static void handle_msg2(mim_channel *ch, const uint8_t *frame, size_t len)
{
    uint8_t payload[MIM_NOISE_MAX_MSG];
    uint8_t out[MIM_NOISE_MAX_MSG];
    size_t plen, out_len;
    int rc;

    rc = mim_noise_read(&ch->hs->noise, frame, len, payload, sizeof(payload), &plen);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 2 rejected: %s", mim_strerror(rc));
        return;
    }
    /* Checked and accepted BEFORE message 3: a refused responder never learns who we are. */
    if (check_remote(ch, payload, plen) != 0)
        return;
    rc = mim_noise_write(&ch->hs->noise, ch->hs->payload.data, ch->hs->payload.len, out,
                         sizeof(out), &out_len);
    if (rc == 0 && ch->proof != NULL) { /* NULL only if the owner dropped it already */
        memcpy(ch->proof->hh, mim_noise_handshake_hash(&ch->hs->noise), MIM_HASH_LEN);
        ch->proof->have_hh = 1;
    }
    if (rc == 0)
        rc = mim_conn_send(ch->conn, out, out_len);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 3 failed: %s", mim_strerror(rc));
        return;
    }
    start_transport(ch);
}

static void handle_msg3(mim_channel *ch, const uint8_t *frame, size_t len)
{
    uint8_t payload[MIM_NOISE_MAX_MSG];
    size_t plen;
    int rc;

    rc = mim_noise_read(&ch->hs->noise, frame, len, payload, sizeof(payload), &plen);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 3 rejected: %s", mim_strerror(rc));
        return;
    }
    if ((ch->proof = calloc(1, sizeof(*ch->proof))) == NULL) {
        mim_conn_close(ch->conn, "out of memory keeping the handshake hash");
        return;
    }
    memcpy(ch->proof->hh, mim_noise_handshake_hash(&ch->hs->noise), MIM_HASH_LEN);
    ch->proof->have_hh = 1;
    if (check_remote(ch, payload, plen) != 0)
        return;
    start_transport(ch);
}

static void handle_header(mim_channel *ch, const uint8_t *frame, size_t len)
{
    int rc;

    if (len != MIM_STREAM_HEADER_LEN) {
        mim_conn_close(ch->conn, "stream header is %zu bytes, not %d", len, MIM_STREAM_HEADER_LEN);
        return;
    }
    rc = mim_stream_rx_init(&ch->rx, ch->hs->rx_key, frame);
    hs_free(ch); /* the receive key with it */
    if (rc != 0) {
        mim_conn_close(ch->conn, "stream header rejected: %s", mim_strerror(rc));
        return;
    }
    ch->rx_ready = 1;
    ch->state = CH_OPEN;
    if (mim_log_get_level() >= MIM_LOG_DEBUG) {
        char addr[MIM_ADDR_STRLEN];
        mim_log_debug("conn %llu: channel open (%s, %s)", (unsigned long long)ch->conn->id,
                      ch->initiator ? "initiator" : "responder", mim_channel_remote_str(ch, addr));
    }
    if (ch->ev->on_open != NULL)
        ch->ev->on_open(ch);
}

/* ---- the transport --------------------------------------------------------------------------- */

static void handle_transport(mim_channel *ch, const uint8_t *frame, size_t len)
{
    uint8_t plain[MIM_FRAME_MAX];
    size_t plen;
    int tag, rc, final;

    if (len < MIM_STREAM_ABYTES) {
        mim_stream_rx_wipe(&ch->rx);
        mim_conn_close(ch->conn, "transport frame of %zu bytes is too short", len);
        return;
    }
    rc = mim_stream_rx_open(&ch->rx, frame, len, plain, &plen, &tag);
    if (rc != 0) {
        /* Modified, replayed, reordered or truncated: nothing after this can be trusted. */
        mim_stream_rx_wipe(&ch->rx);
        mim_conn_close(ch->conn, "decryption failed: frame modified, replayed or out of order");
        return;
    }
    final = tag == MIM_STREAM_TAG_FINAL;
    if (final)
        ch->final_received = 1;
    ch->ev->on_plaintext(ch, plain, plen, final);
    mim_wipe(plain, plen);
    if (final)
        mim_channel_close(ch, "closed by the remote");
}

static void on_frame(mim_conn *c, const uint8_t *frame, size_t len)
{
    mim_channel *ch = c->data;

    switch (ch->state) {
    case CH_CONNECTING:
        /* Cannot happen: reading starts only once connected. */
        mim_conn_close(c, "frame before the connection was up");
        break;
    case CH_AWAIT_MSG1:
        handle_msg1(ch, frame, len);
        break;
    case CH_AWAIT_MSG2:
        handle_msg2(ch, frame, len);
        break;
    case CH_AWAIT_MSG3:
        handle_msg3(ch, frame, len);
        break;
    case CH_AWAIT_HEADER:
        handle_header(ch, frame, len);
        break;
    case CH_OPEN:
        handle_transport(ch, frame, len);
        break;
    }
}

static void on_eof(mim_conn *c)
{
    mim_channel *ch = c->data;
    mim_conn_close(c, ch->state == CH_OPEN ? "connection lost (EOF without a final frame)"
                                           : "connection closed during handshake");
}

/* ---- deadlines ------------------------------------------------------------------------------- */

/* The timer runs only while a deadline is pending: the handshake (until OPEN), a started frame
 * (the conn's partial_since) or a drain. An idle open channel has none: its timer is closed
 * and freed, so thousands of idle channels neither wake the loop nor keep a uv_timer_t. */
static int timer_needed(const mim_channel *ch)
{
    const mim_conn *c = ch->conn;
    /* (partial_since shares its storage with drain_since: read only when not draining) */
    return !c->closing && (ch->state != CH_OPEN || c->draining || c->partial_since != 0);
}

static void on_timer_freed(uv_handle_t *h)
{
    free(h);
}

/* A deadline begins: makes sure the timer runs. Without memory for it, the connection closes
 * rather than run without the deadline. */
static void timer_arm(mim_channel *ch)
{
    uv_timer_t *t;

    if (ch->timer != NULL || !conn_usable(ch))
        return;
    if ((t = malloc(sizeof(*t))) == NULL) {
        mim_conn_close(ch->conn, "out of memory for a deadline timer");
        return;
    }
    timer_start(ch, t);
}

/* No deadline is pending: the timer goes (its close callback only frees it). */
static void timer_disarm(mim_channel *ch)
{
    uv_timer_t *t = ch->timer;

    ch->timer = NULL;
    t->data = NULL;
    uv_close((uv_handle_t *)t, on_timer_freed);
}

static void on_partial(mim_conn *c)
{
    timer_arm(c->data);
}

static void on_tick(uv_timer_t *t)
{
    mim_channel *ch = t->data;
    mim_conn *c = ch->conn;
    uint64_t now = uv_now(t->loop);

    if (c->closing)
        return; /* the conn's close callback closes the timer */
    if (c->draining) {
        if (now - c->drain_since >= ch->drain_ms)
            mim_conn_close(c, "drain not finished within %u ms", (unsigned)ch->drain_ms);
        return;
    }
    if (ch->state != CH_OPEN && ch->hs != NULL && now - ch->hs->started >= ch->hs->handshake_ms) {
        mim_conn_close(c, "handshake not completed within %u ms", (unsigned)ch->hs->handshake_ms);
        return;
    }
    if (mim_conn_partial_age(c, now) >= ch->frame_ms) {
        mim_conn_close(c, "frame not completed within %u ms", (unsigned)ch->frame_ms);
        return;
    }
    if (!timer_needed(ch))
        timer_disarm(ch);
}

/* ---- sending and accessors ------------------------------------------------------------------- */

int mim_channel_send(mim_channel *ch, const void *plaintext, size_t len, int final)
{
    int rc;

    if (!conn_usable(ch) || ch->conn->draining || ch->final_sent)
        return MIM_ECLOSED;
    if (!ch->tx_ready)
        return MIM_ESTATE;
    if (len > MIM_CHANNEL_MAX_PLAINTEXT || (len == 0 && !final) || (len > 0 && plaintext == NULL))
        return MIM_EINVAL;
    rc = seal_and_send(ch, plaintext, len, final ? MIM_STREAM_TAG_FINAL : MIM_STREAM_TAG_MESSAGE);
    if (rc == 0 && final)
        channel_drain(ch, "closed after our final frame");
    return rc;
}

void mim_channel_set_limits(mim_channel *ch, size_t max_frame, size_t max_queued)
{
    int frame_ok = max_frame != 0 && max_frame <= MIM_FRAME_MAX;

    if (!ch->limits_applied) { /* kept for the moment the remote is authenticated */
        if (ch->hs != NULL && frame_ok)
            ch->hs->max_frame = (uint32_t)max_frame;
        if (ch->hs != NULL && max_queued != 0)
            ch->hs->max_queued = max_queued;
        return;
    }
    if (!conn_usable(ch))
        return;
    if (frame_ok)
        mim_framer_set_max(&ch->conn->framer, max_frame);
    if (max_queued != 0)
        ch->conn->max_queued = max_queued;
}

int mim_channel_is_open(const mim_channel *ch)
{
    return ch->state == CH_OPEN && conn_usable(ch) && !ch->conn->draining;
}

int mim_channel_can_send(const mim_channel *ch)
{
    return ch->tx_ready && !ch->final_sent && conn_usable(ch) && !ch->conn->draining;
}

int mim_channel_is_initiator(const mim_channel *ch)
{
    return ch->initiator;
}

int mim_channel_got_final(const mim_channel *ch)
{
    return ch->final_received;
}

const uint8_t *mim_channel_remote_identity(const mim_channel *ch)
{
    return ch->authenticated && ch->proof != NULL ? ch->proof->remote_pk : NULL;
}

const uint8_t *mim_channel_remote_static_sig(const mim_channel *ch)
{
    return ch->authenticated && ch->proof != NULL ? ch->proof->remote_sig : NULL;
}

uint32_t mim_channel_remote_features(const mim_channel *ch)
{
    return ch->remote_features;
}

const char *mim_channel_remote_name(const mim_channel *ch)
{
    return ch->remote_name != NULL ? ch->remote_name : ""; /* "" until authenticated */
}

const uint8_t *mim_channel_handshake_hash(const mim_channel *ch)
{
    return ch->proof != NULL && ch->proof->have_hh ? ch->proof->hh : NULL;
}

void mim_channel_drop_proof(mim_channel *ch)
{
    if (ch->proof == NULL)
        return;
    mim_wipe(ch->proof, sizeof(*ch->proof));
    free(ch->proof);
    ch->proof = NULL;
}

uint64_t mim_channel_id(const mim_channel *ch)
{
    return ch->conn->id;
}

const struct sockaddr *mim_channel_remote_addr(const mim_channel *ch)
{
    return &ch->conn->remote.sa;
}

const char *mim_channel_remote_str(const mim_channel *ch, char buf[MIM_ADDR_STRLEN])
{
    mim_addr_format(&ch->conn->remote.sa, buf);
    return buf;
}

size_t mim_channel_queued(const mim_channel *ch)
{
    return conn_usable(ch) ? mim_conn_queued(ch->conn) : 0;
}

void *mim_channel_data(const mim_channel *ch)
{
    return ch->data;
}

void mim_channel_set_data(mim_channel *ch, void *data)
{
    ch->data = data;
}
