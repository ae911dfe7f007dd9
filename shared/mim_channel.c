/* An authenticated, encrypted channel over a mim_conn (see mim_channel.h for the contract).
 *
 * A state machine driven by whole frames from the connection:
 *
 *   initiator: CONNECTING --connect--> AWAIT_MSG2 --msg 2, ok--> AWAIT_HEADER --24 bytes--> OPEN
 *   responder: AWAIT_MSG1 --msg 1--> AWAIT_MSG3 --msg 3, ok--> AWAIT_HEADER --24 bytes--> OPEN
 *
 * Closing is flags, not a state: the connection's own closing/draining, plus what we sent. The
 * channel is freed in the close callback of its timer, which is closed from the close callback
 * of its connection: so both handles are gone when on_closed runs. */
#include "mim_channel.h"
#include "mim_conn.h"
#include "mim_error.h"
#include "mim_log.h"

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

struct mim_channel {
    uv_timer_t timer; /* deadlines; closed once the conn is closed, then the channel is freed */
    mim_conn *conn;   /* NULL once its close callback ran */
    const mim_channel_events *ev;
    void *data;
    enum channel_state state;
    int initiator;
    int name_mode;               /* MIM_HS_NAME_* for the remote's payload */
    size_t max_frame;            /* framer cap once authenticated */
    size_t max_queued;           /* output cap once authenticated */
    uint32_t handshake_ms;       /* connect + handshake, until OPEN */
    uint32_t frame_ms;           /* a started frame */
    uint32_t drain_ms;           /* a drain the remote does not finish */
    uint64_t started;            /* uv_now() at dial/accept */
    mim_noise *hs;               /* the handshake; NULL once split (wiped) */
    mim_buf payload;             /* our HandshakePayload, encoded at start */
    mim_stream_tx tx;            /* our sending stream, once tx_ready */
    mim_stream_rx rx;            /* the remote's stream, once rx_ready */
    uint8_t rx_key[MIM_KEY_LEN]; /* between Split() and the remote's header only */
    int tx_ready, rx_ready;
    int limits_applied; /* the post-handshake caps are in force */
    int final_sent;     /* our TAG_FINAL went out: nothing more may */
    int final_received; /* the remote's TAG_FINAL arrived: a clean close */
    int authenticated;  /* remote_* hold the verified payload */
    int have_hh;
    int reason_set; /* ch->reason holds the owner's (or a FINAL's) reason */
    uint8_t remote_pk[MIM_KEY_LEN];
    uint8_t remote_sig[MIM_SIG_LEN];
    char remote_name[MIM_NAME_MAX_BYTES + 1];
    uint8_t hh[MIM_HASH_LEN];
    uint64_t id; /* the conn's id, kept for logs after it is gone */
    struct sockaddr_storage remote;
    char remote_str[MIM_ADDR_STRLEN];
    char reason[160];
};

static void on_connect(mim_conn *c, int status);
static void on_frame(mim_conn *c, const uint8_t *frame, size_t len);
static void on_eof(mim_conn *c);
static void on_conn_close(mim_conn *c, const char *reason);
static void on_timer_closed(uv_handle_t *h);
static void on_tick(uv_timer_t *t);

static const mim_conn_callbacks channel_callbacks = {
    .on_frame = on_frame,
    .on_eof = on_eof,
    .on_close = on_conn_close,
    .on_connect = on_connect,
};

/* ---- setup and teardown ---------------------------------------------------------------------- */

static void wipe_secrets(mim_channel *ch)
{
    if (ch->hs != NULL) {
        mim_noise_wipe(ch->hs);
        free(ch->hs);
        ch->hs = NULL;
    }
    mim_stream_tx_wipe(&ch->tx);
    mim_stream_rx_wipe(&ch->rx);
    mim_wipe(ch->rx_key, sizeof(ch->rx_key));
    mim_buf_wipe_free(&ch->payload);
    ch->tx_ready = ch->rx_ready = 0;
}

static void channel_free(mim_channel *ch)
{
    wipe_secrets(ch);
    mim_wipe(ch->hh, sizeof(ch->hh));
    free(ch);
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v != 0 ? v : def;
}

/* Everything that does not need the connection: checks the config, encodes our payload and
 * starts the Noise state. */
static int channel_new(const mim_channel_config *cfg, int initiator, mim_channel **out)
{
    const char *name = cfg->my_name != NULL ? cfg->my_name : "";
    mim_channel *ch;
    int rc;

    *out = NULL;
    if (cfg->loop == NULL || cfg->identity == NULL || cfg->prologue == NULL ||
        cfg->events == NULL || cfg->events->on_authenticated == NULL ||
        cfg->events->on_plaintext == NULL || cfg->events->on_closed == NULL)
        return MIM_EINVAL;
    if (cfg->remote_name_mode != MIM_HS_NAME_EMPTY && cfg->remote_name_mode != MIM_HS_NAME_VALID &&
        cfg->remote_name_mode != MIM_HS_NAME_ANY)
        return MIM_EINVAL;
    if (name[0] != '\0' && !mim_name_valid(name, strlen(name)))
        return MIM_EINVAL; /* the remote would refuse it: better said here */
    if (cfg->max_frame_after > MIM_FRAME_MAX)
        return MIM_EINVAL;
    if ((ch = calloc(1, sizeof(*ch))) == NULL)
        return MIM_ENOMEM;
    ch->ev = cfg->events;
    ch->data = cfg->data;
    ch->initiator = initiator;
    ch->state = initiator ? CH_CONNECTING : CH_AWAIT_MSG1;
    ch->name_mode = cfg->remote_name_mode;
    ch->max_frame = cfg->max_frame_after != 0 ? cfg->max_frame_after : MIM_FRAME_MAX;
    ch->max_queued = cfg->max_queued != 0 ? cfg->max_queued : MIM_CHANNEL_DEFAULT_QUEUED;
    ch->handshake_ms = or_default(cfg->handshake_timeout_ms, MIM_CHANNEL_HANDSHAKE_TIMEOUT_MS);
    ch->frame_ms = or_default(cfg->frame_timeout_ms, MIM_CHANNEL_FRAME_TIMEOUT_MS);
    ch->drain_ms = or_default(cfg->drain_timeout_ms, MIM_CHANNEL_DRAIN_TIMEOUT_MS);
    ch->started = uv_now(cfg->loop);

    rc = mim_handshake_payload_encode(cfg->identity->sign_pk, cfg->identity->static_sig, name,
                                      &ch->payload);
    if (rc == 0 && (ch->hs = calloc(1, sizeof(*ch->hs))) == NULL)
        rc = MIM_ENOMEM;
    if (rc == 0)
        rc = mim_noise_init(ch->hs, initiator, cfg->prologue, strlen(cfg->prologue),
                            cfg->identity->dh_sk);
    if (rc != 0) {
        channel_free(ch);
        return rc;
    }
    *out = ch;
    return 0;
}

/* The connection exists: remember who it is with and start the deadline timer. */
static void channel_started(mim_channel *ch, uv_loop_t *loop)
{
    uint32_t tick = ch->handshake_ms;

    ch->id = ch->conn->id;
    memcpy(&ch->remote, &ch->conn->remote, sizeof(ch->remote));
    memcpy(ch->remote_str, ch->conn->remote_str, sizeof(ch->remote_str));
    /* Ticks a few times per shortest deadline, so each is met within a quarter of itself. */
    if (tick > ch->frame_ms)
        tick = ch->frame_ms;
    if (tick > ch->drain_ms)
        tick = ch->drain_ms;
    tick /= 4;
    if (tick == 0)
        tick = 1;
    if (tick > 1000)
        tick = 1000;
    uv_timer_init(loop, &ch->timer);
    ch->timer.data = ch;
    uv_timer_start(&ch->timer, on_tick, tick, tick);
}

int mim_channel_dial(const mim_channel_config *cfg, const struct sockaddr *addr, mim_channel **out)
{
    mim_channel *ch;
    int rc;

    if (out == NULL || addr == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if ((rc = channel_new(cfg, 1, &ch)) != 0)
        return rc;
    rc = mim_conn_connect(cfg->loop, addr, &channel_callbacks, ch, MIM_NOISE_MAX_MSG,
                          MIM_CHANNEL_HANDSHAKE_QUEUED, &ch->conn);
    if (rc != 0) { /* the conn closes itself without callbacks */
        channel_free(ch);
        return rc;
    }
    channel_started(ch, cfg->loop);
    *out = ch;
    return 0;
}

int mim_channel_accept(const mim_channel_config *cfg, uv_stream_t *listener, mim_channel **out)
{
    mim_channel *ch;
    int rc;

    if (out == NULL || listener == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if ((rc = channel_new(cfg, 0, &ch)) != 0)
        return rc;
    rc = mim_conn_accept(listener, &channel_callbacks, ch, MIM_NOISE_MAX_MSG,
                         MIM_CHANNEL_HANDSHAKE_QUEUED, &ch->conn);
    if (rc != 0) {
        channel_free(ch);
        return rc;
    }
    channel_started(ch, cfg->loop);
    *out = ch;
    return 0;
}

static void on_conn_close(mim_conn *c, const char *reason)
{
    mim_channel *ch = c->data;

    ch->conn = NULL;
    if (!ch->reason_set)
        snprintf(ch->reason, sizeof(ch->reason), "%s", reason);
    wipe_secrets(ch);
    mim_log_debug("conn %llu: channel closed: %s", (unsigned long long)ch->id, ch->reason);
    uv_close((uv_handle_t *)&ch->timer, on_timer_closed);
    if (ch->ev->on_conn_closed != NULL)
        ch->ev->on_conn_closed(ch, ch->reason);
}

static void on_timer_closed(uv_handle_t *h)
{
    mim_channel *ch = h->data;
    ch->ev->on_closed(ch, ch->reason);
    channel_free(ch);
}

/* ---- closing --------------------------------------------------------------------------------- */

static int conn_usable(const mim_channel *ch)
{
    return ch->conn != NULL && !ch->conn->closing;
}

/* Records the reason on_closed will report, unless one is already kept. */
static void keep_reason(mim_channel *ch, const char *reason)
{
    if (ch->reason_set)
        return;
    ch->reason_set = 1;
    snprintf(ch->reason, sizeof(ch->reason), "%s", reason != NULL ? reason : "closed");
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
        mim_conn_drain(ch->conn, "%s", ch->reason);
        return;
    }
    mim_conn_close(ch->conn, "%s", ch->reason);
}

void mim_channel_abort(mim_channel *ch, const char *reason)
{
    if (!conn_usable(ch))
        return;
    keep_reason(ch, reason);
    mim_conn_close(ch->conn, "%s", ch->reason);
}

/* ---- the handshake --------------------------------------------------------------------------- */

static void apply_limits(mim_channel *ch)
{
    ch->limits_applied = 1;
    mim_framer_set_max(&ch->conn->framer, ch->max_frame);
    ch->conn->max_queued = ch->max_queued;
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
    if (mim_static_sig_verify(hp->identity_pk.data, mim_noise_remote_static(ch->hs),
                              hp->static_sig.data) != 0) {
        mim_handshake_payload_free(hp);
        mim_conn_close(ch->conn, "handshake: static key not signed by the identity key");
        return -1;
    }
    memcpy(ch->remote_pk, hp->identity_pk.data, MIM_KEY_LEN);
    memcpy(ch->remote_sig, hp->static_sig.data, MIM_SIG_LEN);
    snprintf(ch->remote_name, sizeof(ch->remote_name), "%s", hp->name);
    mim_handshake_payload_free(hp);
    ch->authenticated = 1;

    rc = ch->ev->on_authenticated(ch, ch->remote_pk, ch->remote_name, &why);
    if (!conn_usable(ch))
        return -1; /* the owner closed it from the callback */
    if (rc != 0) {
        keep_reason(ch, why != NULL ? why : "remote refused");
        mim_conn_close(ch->conn, "%s", ch->reason);
        return -1;
    }
    return 0;
}

/* Split(): keys our stream, sends its header, keeps the receive key for the remote's header,
 * and wipes the handshake. */
static void start_transport(mim_channel *ch)
{
    uint8_t header[MIM_STREAM_HEADER_LEN];
    mim_noise_cipher c1, c2;
    int rc;

    rc = mim_noise_split(ch->hs, &c1, &c2);
    mim_noise_wipe(ch->hs);
    free(ch->hs);
    ch->hs = NULL;
    mim_buf_wipe_free(&ch->payload); /* both payloads have been sent or read */
    /* c1 carries initiator -> responder, c2 the other way. */
    if (rc == 0) {
        memcpy(ch->rx_key, ch->initiator ? c2.k : c1.k, MIM_KEY_LEN);
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

    rc = mim_noise_write(ch->hs, NULL, 0, out, sizeof(out), &out_len);
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
    rc = mim_noise_read(ch->hs, frame, len, out, sizeof(out), &plen);
    if (rc == 0)
        rc = mim_noise_write(ch->hs, ch->payload.data, ch->payload.len, out, sizeof(out), &out_len);
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

    rc = mim_noise_read(ch->hs, frame, len, payload, sizeof(payload), &plen);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 2 rejected: %s", mim_strerror(rc));
        return;
    }
    /* Checked and accepted BEFORE message 3: a refused responder never learns who we are. */
    if (check_remote(ch, payload, plen) != 0)
        return;
    rc = mim_noise_write(ch->hs, ch->payload.data, ch->payload.len, out, sizeof(out), &out_len);
    if (rc == 0) {
        memcpy(ch->hh, mim_noise_handshake_hash(ch->hs), MIM_HASH_LEN);
        ch->have_hh = 1;
        rc = mim_conn_send(ch->conn, out, out_len);
    }
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

    rc = mim_noise_read(ch->hs, frame, len, payload, sizeof(payload), &plen);
    if (rc != 0) {
        mim_conn_close(ch->conn, "handshake message 3 rejected: %s", mim_strerror(rc));
        return;
    }
    memcpy(ch->hh, mim_noise_handshake_hash(ch->hs), MIM_HASH_LEN);
    ch->have_hh = 1;
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
    rc = mim_stream_rx_init(&ch->rx, ch->rx_key, frame);
    mim_wipe(ch->rx_key, sizeof(ch->rx_key));
    if (rc != 0) {
        mim_conn_close(ch->conn, "stream header rejected: %s", mim_strerror(rc));
        return;
    }
    ch->rx_ready = 1;
    ch->state = CH_OPEN;
    mim_log_debug("conn %llu: channel open (%s, %s)", (unsigned long long)ch->id,
                  ch->initiator ? "initiator" : "responder", ch->remote_str);
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

static void on_tick(uv_timer_t *t)
{
    mim_channel *ch = t->data;
    mim_conn *c = ch->conn;
    uint64_t now = uv_now(t->loop);

    if (c == NULL || c->closing)
        return;
    if (c->draining) {
        if (now - c->drain_since >= ch->drain_ms)
            mim_conn_close(c, "drain not finished within %u ms", (unsigned)ch->drain_ms);
        return;
    }
    if (ch->state != CH_OPEN && now - ch->started >= ch->handshake_ms) {
        mim_conn_close(c, "handshake not completed within %u ms", (unsigned)ch->handshake_ms);
        return;
    }
    if (mim_conn_partial_age(c, now) >= ch->frame_ms)
        mim_conn_close(c, "frame not completed within %u ms", (unsigned)ch->frame_ms);
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
        mim_conn_drain(ch->conn, "closed after our final frame");
    return rc;
}

void mim_channel_set_limits(mim_channel *ch, size_t max_frame, size_t max_queued)
{
    if (max_frame != 0 && max_frame <= MIM_FRAME_MAX)
        ch->max_frame = max_frame;
    if (max_queued != 0)
        ch->max_queued = max_queued;
    if (ch->limits_applied && conn_usable(ch))
        apply_limits(ch);
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
    return ch->authenticated ? ch->remote_pk : NULL;
}

const uint8_t *mim_channel_remote_static_sig(const mim_channel *ch)
{
    return ch->authenticated ? ch->remote_sig : NULL;
}

const char *mim_channel_remote_name(const mim_channel *ch)
{
    return ch->remote_name; /* "" until authenticated */
}

const uint8_t *mim_channel_handshake_hash(const mim_channel *ch)
{
    return ch->have_hh ? ch->hh : NULL;
}

uint64_t mim_channel_id(const mim_channel *ch)
{
    return ch->id;
}

const struct sockaddr *mim_channel_remote_addr(const mim_channel *ch)
{
    return (const struct sockaddr *)&ch->remote;
}

const char *mim_channel_remote_str(const mim_channel *ch)
{
    return ch->remote_str;
}

size_t mim_channel_queued(const mim_channel *ch)
{
    return ch->conn != NULL ? mim_conn_queued(ch->conn) : 0;
}

void *mim_channel_data(const mim_channel *ch)
{
    return ch->data;
}

void mim_channel_set_data(mim_channel *ch, void *data)
{
    ch->data = data;
}
