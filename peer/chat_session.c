/* A direct, end-to-end encrypted session between two peers (see chat_session.h).
 *
 * The handshake and the transport are mim_channel's (prologue "mim/peer/v1", names in both
 * payloads, MIM_HS_NAME_VALID); this file adds what is peer-to-peer: the initiator's check that
 * it reached whom it dialled, PeerBatch plaintexts in and out, and the per-turn coalescing of
 * outgoing messages into one frame (a uv_idle_t runs once per loop turn while messages wait).
 *
 * Lifetime: the session owns its channel and its idle handle. When the channel reports
 * on_closed, the idle handle is closed; the owner's on_closed runs from that close callback, and
 * the session is freed right after. */
#include "chat_session.h"
#include "mim_buf.h"
#include "mim_channel.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAT_MAX_QUEUED (4u << 20) /* bytes of output queued or waiting for the turn's end */

struct chat_session {
    mim_channel *ch; /* NULL once the channel closed */
    uv_idle_t flush; /* active while `out` holds messages: flushes them once per loop turn */
    uv_loop_t *loop;
    const chat_session_events *ev;
    void *ud;   /* the events' user data (from the config) */
    void *data; /* the owner's bookkeeping pointer */
    int initiator;
    int open;     /* on_open ran */
    int closing;  /* chat_session_close ran, or the channel is gone */
    int flushing; /* the idle handle is active */
    char my_name[MIM_NAME_MAX_BYTES + 1];
    char expect_name[MIM_NAME_MAX_BYTES + 1]; /* initiator: whom we dialled */
    uint8_t expect_pk[MIM_KEY_LEN];           /* ... and the key the presence table gave */
    char peer_name[MIM_NAME_MAX_BYTES + 1];   /* the authenticated remote */
    uint8_t peer_pk[MIM_KEY_LEN];
    int authenticated;
    uint32_t features, peer_features; /* ours and the remote's (HandshakePayload.features) */
    mim_buf out;                      /* PeerBatch elements waiting for the end of the turn */
    uint64_t last_chat; /* uv_now() of the last chat, ack or close, either way (idleness) */
    uint64_t last_rx;   /* uv_now() of the last frame received (liveness) */
    uint64_t ping_at;   /* uv_now() when our unanswered keepalive Ping went; 0: none */
    uint64_t ping_nonce;
    int refuse_close; /* responder: refused politely (chat_session_refuse_with): a CloseReason + 1
                       */
    int close_reason; /* the reason of the last ChatClose received (MIM__CLOSE_REASON__*) */
    char why[192];    /* a refusal reason built here (outlives the callback) */
    char reason[192]; /* why the session closed */
};

static int ch_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                               const char *name, const char **reason);
static void ch_on_open(mim_channel *ch);
static void ch_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final);
static void ch_on_closed(mim_channel *ch, const char *reason);
static void on_flush(uv_idle_t *h);
static void on_flush_closed(uv_handle_t *h);

static const mim_channel_events channel_events = {
    .on_authenticated = ch_on_authenticated,
    .on_open = ch_on_open,
    .on_plaintext = ch_on_plaintext,
    .on_closed = ch_on_closed,
};

/* ---- starting -------------------------------------------------------------------------------- */

static int session_new(const chat_session_config *cfg, int initiator, chat_session **out)
{
    chat_session *cs;

    if (cfg == NULL || cfg->loop == NULL || cfg->id == NULL || cfg->ev == NULL ||
        cfg->my_name == NULL || !mim_name_valid(cfg->my_name, strlen(cfg->my_name)))
        return MIM_EINVAL;
    if ((cs = calloc(1, sizeof(*cs))) == NULL)
        return MIM_ENOMEM;
    cs->loop = cfg->loop;
    cs->ev = cfg->ev;
    cs->ud = cfg->ud;
    cs->initiator = initiator;
    cs->features = cfg->features;
    snprintf(cs->my_name, sizeof(cs->my_name), "%s", cfg->my_name);
    cs->last_chat = cs->last_rx = uv_now(cfg->loop);
    *out = cs;
    return 0;
}

static void channel_config(const chat_session_config *cfg, chat_session *cs,
                           mim_channel_config *chc)
{
    memset(chc, 0, sizeof(*chc));
    chc->loop = cfg->loop;
    chc->identity = cfg->id;
    chc->prologue = MIM_NOISE_PROLOGUE_PEER;
    chc->my_name = cs->my_name;
    chc->remote_name_mode = MIM_HS_NAME_VALID;
    chc->max_frame_after = MIM_FRAME_MAX;
    chc->max_queued = CHAT_MAX_QUEUED;
    chc->handshake_timeout_ms = CHAT_HANDSHAKE_TIMEOUT_MS;
    chc->frame_timeout_ms = CHAT_FRAME_TIMEOUT_MS;
    chc->events = &channel_events;
    chc->my_features = cfg->features;
    chc->data = cs;
}

/* The channel exists: the idle handle joins it (uv_idle_init cannot fail). */
static void session_started(chat_session *cs)
{
    uv_idle_init(cs->loop, &cs->flush);
    cs->flush.data = cs;
}

int chat_session_dial(const chat_session_config *cfg, const struct sockaddr *addr, const char *name,
                      const uint8_t identity_pk[MIM_KEY_LEN], chat_session **out)
{
    mim_channel_config chc;
    chat_session *cs;
    int rc;

    if (out == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if (addr == NULL || name == NULL || identity_pk == NULL || !mim_name_valid(name, strlen(name)))
        return MIM_EINVAL;
    if ((rc = session_new(cfg, 1, &cs)) != 0)
        return rc;
    snprintf(cs->expect_name, sizeof(cs->expect_name), "%s", name);
    memcpy(cs->expect_pk, identity_pk, MIM_KEY_LEN);
    channel_config(cfg, cs, &chc);
    if ((rc = mim_channel_dial(&chc, addr, &cs->ch)) != 0) {
        free(cs);
        return rc;
    }
    session_started(cs);
    *out = cs;
    return 0;
}

int chat_session_accept(const chat_session_config *cfg, uv_stream_t *listener, chat_session **out)
{
    mim_channel_config chc;
    chat_session *cs;
    int rc;

    if (out == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if (listener == NULL)
        return MIM_EINVAL;
    if ((rc = session_new(cfg, 0, &cs)) != 0)
        return rc;
    channel_config(cfg, cs, &chc);
    if ((rc = mim_channel_accept(&chc, listener, &cs->ch)) != 0) {
        free(cs);
        return rc;
    }
    session_started(cs);
    *out = cs;
    return 0;
}

/* ---- channel events -------------------------------------------------------------------------- */

/* Runs before message 3 for the initiator, after it for the responder. */
static int ch_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                               const char *name, const char **reason)
{
    chat_session *cs = mim_channel_data(ch);
    const char *why = NULL;

    /* The initiator reached whom it dialled, or says nothing more: the name and the key the
     * presence table gave must both be the ones just proved. (Names are valid here, checked
     * by the channel, so they are safe to print.) */
    if (cs->initiator) {
        if (strcmp(name, cs->expect_name) != 0) {
            snprintf(cs->why, sizeof(cs->why), "dialled '%s' but reached '%s'", cs->expect_name,
                     name);
            *reason = cs->why;
            return -1;
        }
        if (!mim_equal_ct(identity_pk, cs->expect_pk, MIM_KEY_LEN)) {
            snprintf(cs->why, sizeof(cs->why), "'%s' proved a key other than the one dialled",
                     name);
            *reason = cs->why;
            return -1;
        }
    }
    snprintf(cs->peer_name, sizeof(cs->peer_name), "%s", name);
    memcpy(cs->peer_pk, identity_pk, MIM_KEY_LEN);
    cs->peer_features = mim_channel_remote_features(ch);
    cs->authenticated = 1;
    if (cs->ev->on_authenticated != NULL &&
        cs->ev->on_authenticated(cs->ud, cs, name, identity_pk, &why) != 0) {
        *reason = why != NULL ? why : "refused";
        if (cs->refuse_close != 0 && !cs->initiator) {
            /* Refused with a reason to tell: the handshake ends, ch_on_open says it and closes. */
            snprintf(cs->why, sizeof(cs->why), "%s", *reason);
            return 0;
        }
        cs->refuse_close = 0;
        return -1;
    }
    cs->refuse_close = 0;
    return 0;
}

static int send_close(chat_session *cs, int reason);

/* A session refused with a reason (chat_session_refuse_with): the ChatClose that says it, and
 * the close. The owner never hears of it as open. */
static void refuse_now(chat_session *cs)
{
    mim_log_info("conn %llu: %s refused (%s): told so", (unsigned long long)mim_channel_id(cs->ch),
                 cs->peer_name, cs->why);
    (void)send_close(cs, cs->refuse_close - 1);
    chat_session_close(cs, cs->why);
}

static void ch_on_open(mim_channel *ch)
{
    chat_session *cs = mim_channel_data(ch);

    cs->open = 1;
    cs->last_chat = cs->last_rx = uv_now(cs->loop);
    if (cs->refuse_close != 0) {
        refuse_now(cs);
        return;
    }
    mim_log_debug("conn %llu: chat session with %s open (%s)",
                  (unsigned long long)mim_channel_id(ch), cs->peer_name,
                  cs->initiator ? "we dialled" : "they dialled");
    if (cs->ev->on_open != NULL)
        cs->ev->on_open(cs->ud, cs);
}

static int queue_msg(chat_session *cs, const Mim__PeerMsg *m);

static void answer_ping(chat_session *cs, uint64_t nonce)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__Pong pong = MIM__PONG__INIT;

    pong.nonce = nonce;
    m.body_case = MIM__PEER_MSG__BODY_PONG;
    m.pong = &pong;
    (void)queue_msg(cs, &m); /* a failure closes the session */
}

/* One message of a checked batch, to the owner (or answered here: Ping, Pong). */
static void dispatch_msg(chat_session *cs, Mim__PeerMsg *m)
{
    switch (m->body_case) {
    case MIM__PEER_MSG__BODY_CHAT:
        if (m->chat->ts_ms > MIM_CLOCK_MAX_MS) { /* kept, at the time of receipt */
            mim_log_warn("chat: %s sent a message time out of range (%llu ms): the time of "
                         "receipt is used",
                         cs->peer_name, (unsigned long long)m->chat->ts_ms);
            m->chat->ts_ms = mim_clock_sane_ms(m->chat->ts_ms);
        }
        if (cs->ev->on_message != NULL)
            cs->ev->on_message(cs->ud, cs, m->chat);
        break;
    case MIM__PEER_MSG__BODY_ACK:
        for (size_t j = 0; j < m->ack->n_ids && !cs->closing; j++)
            if (cs->ev->on_ack != NULL)
                cs->ev->on_ack(cs->ud, cs, m->ack->ids[j].data);
        for (size_t j = 0; j < m->ack->n_refused && !cs->closing; j++)
            if (cs->ev->on_refused != NULL)
                cs->ev->on_refused(cs->ud, cs, m->ack->refused[j].data);
        break;
    case MIM__PEER_MSG__BODY_RECEIPT:
        for (size_t j = 0; j < m->receipt->n_read && !cs->closing; j++)
            if (cs->ev->on_receipt != NULL)
                cs->ev->on_receipt(cs->ud, cs, m->receipt->read[j].data);
        break;
    case MIM__PEER_MSG__BODY_TYPING:
        if (cs->ev->on_typing != NULL)
            cs->ev->on_typing(cs->ud, cs, m->typing->typing != 0);
        break;
    case MIM__PEER_MSG__BODY_CLOSE:
        cs->close_reason = (int)m->close->reason;
        if (cs->ev->on_chat_close != NULL)
            cs->ev->on_chat_close(cs->ud, cs);
        break;
    case MIM__PEER_MSG__BODY_PING:
        answer_ping(cs, m->ping->nonce);
        break;
    case MIM__PEER_MSG__BODY_PONG:
        if (cs->ping_at != 0 && m->pong->nonce == cs->ping_nonce)
            cs->ping_at = 0; /* answered (any frame counts as alive anyway) */
        if (cs->ev->on_pong != NULL)
            cs->ev->on_pong(cs->ud, cs, m->pong->nonce);
        break;
    case MIM__PEER_MSG__BODY_BROADCAST_ACK: /* issue 16 */
        if (cs->ev->on_broadcast_ack != NULL)
            cs->ev->on_broadcast_ack(cs->ud, cs, m->broadcast_ack);
        break;
    default:
        break; /* the decoder refuses anything else */
    }
}

static void ch_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    chat_session *cs = mim_channel_data(ch);
    Mim__PeerBatch *b = NULL;
    char err[160];

    cs->last_rx = uv_now(cs->loop);
    if (cs->refuse_close != 0)
        return; /* refused: nothing it says reaches the owner */
    if (len == 0) {
        if (!final)
            mim_channel_abort(ch, "protocol violation: empty frame");
        return; /* an empty FINAL: the channel closes */
    }
    if (chat_session_is_bulk(cs)) { /* issue 15: a bulk connection's frames are the owner's */
        if (cs->ev->on_bulk == NULL)
            mim_channel_abort(ch, "protocol violation: a bulk connection");
        else
            cs->ev->on_bulk(cs->ud, cs, p, len);
        return;
    }
    if (mim_peer_batch_decode(p, len, &b, err, sizeof(err)) != 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "protocol violation: %s", err);
        mim_channel_abort(ch, msg);
        return;
    }
    /* The whole batch is checked before any of it is acted on. */
    for (size_t i = 0; i < b->n_msgs; i++) {
        const Mim__PeerMsg *m = b->msgs[i];
        mim_trace(cs->peer_name, cs->my_name, &m->base);
        if (m->body_case == MIM__PEER_MSG__BODY_CHAT && strcmp(m->chat->sender, cs->peer_name)) {
            mim_peer_batch_free(b);
            mim_channel_abort(ch, "protocol violation: a chat message from someone else");
            return;
        }
    }
    for (size_t i = 0; i < b->n_msgs && !cs->closing; i++) {
        Mim__PeerMsg *m = b->msgs[i];
        if (m->body_case != MIM__PEER_MSG__BODY_PING && m->body_case != MIM__PEER_MSG__BODY_PONG)
            cs->last_chat = cs->last_rx;
        dispatch_msg(cs, m);
    }
    mim_peer_batch_free(b);
    /* Even when the owner closed meanwhile: what it stored must still be committed. */
    if (cs->ev->on_batch_end != NULL)
        cs->ev->on_batch_end(cs->ud, cs);
}

static void ch_on_closed(mim_channel *ch, const char *reason)
{
    chat_session *cs = mim_channel_data(ch);

    cs->ch = NULL;
    cs->open = 0;
    cs->closing = 1;
    snprintf(cs->reason, sizeof(cs->reason), "%s", reason);
    mim_buf_wipe_free(&cs->out); /* never sent: the owner's outbox still has it */
    uv_idle_stop(&cs->flush);
    uv_close((uv_handle_t *)&cs->flush, on_flush_closed);
}

static void on_flush_closed(uv_handle_t *h)
{
    chat_session *cs = h->data;
    if (cs->ev->on_closed != NULL)
        cs->ev->on_closed(cs->ud, cs, cs->reason);
    mim_wipe(cs, sizeof(*cs));
    free(cs);
}

/* ---- sending --------------------------------------------------------------------------------- */

/* Seals what waits in `out` into one frame. A failure has closed the channel. */
static int flush_now(chat_session *cs)
{
    int rc;

    if (cs->flushing) {
        uv_idle_stop(&cs->flush);
        cs->flushing = 0;
    }
    if (cs->out.len == 0)
        return 0;
    rc = cs->ch != NULL ? mim_channel_send(cs->ch, cs->out.data, cs->out.len, 0) : MIM_ECLOSED;
    mim_wipe(cs->out.data, cs->out.len);
    mim_buf_reset(&cs->out);
    if (cs->out.cap > 4096)
        mim_buf_free(&cs->out); /* a burst should not stay allocated while idle */
    return rc;
}

static void on_flush(uv_idle_t *h)
{
    chat_session *cs = h->data;
    (void)flush_now(cs);
}

static int can_send(const chat_session *cs)
{
    return cs->ch != NULL && cs->open && !cs->closing && mim_channel_can_send(cs->ch);
}

/* Appends one message to this turn's batch; a batch that would outgrow a frame is sealed
 * first, so a message never straddles two frames. */
static int queue_msg(chat_session *cs, const Mim__PeerMsg *m)
{
    mim_buf el = {0};
    int rc;

    if (!can_send(cs))
        return MIM_ESTATE;
    mim_trace(cs->my_name, cs->peer_name, &m->base);
    if ((rc = mim_peer_batch_append(&el, m)) != 0) {
        mim_buf_free(&el);
        return rc;
    }
    if (el.len > MIM_CHANNEL_MAX_PLAINTEXT) {
        mim_buf_wipe_free(&el);
        return MIM_EINVAL; /* cannot happen with the codec's limits */
    }
    if (cs->out.len + el.len > MIM_CHANNEL_MAX_PLAINTEXT && (rc = flush_now(cs)) != 0) {
        mim_buf_wipe_free(&el);
        return rc;
    }
    if (mim_channel_queued(cs->ch) + cs->out.len + el.len > CHAT_MAX_QUEUED) {
        mim_buf_wipe_free(&el);
        mim_channel_abort(cs->ch, "slow reader: output cap reached");
        return MIM_EOVERFLOW;
    }
    rc = mim_buf_append(&cs->out, el.data, el.len);
    mim_buf_wipe_free(&el);
    /* Keepalives do not keep a session from being idle; everything else does. */
    if (rc == 0 && m->body_case != MIM__PEER_MSG__BODY_PING &&
        m->body_case != MIM__PEER_MSG__BODY_PONG)
        cs->last_chat = uv_now(cs->loop);
    if (rc != 0) {
        mim_channel_abort(cs->ch, "out of memory queueing output");
        return rc;
    }
    if (!cs->flushing) {
        uv_idle_start(&cs->flush, on_flush);
        cs->flushing = 1;
    }
    return 0;
}

int chat_session_send_chat(chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN], uint64_t ts_ms,
                           const char *text, size_t text_len)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    char buf[MIM_CHAT_TEXT_MAX + 1];
    int rc;

    if (!can_send(cs))
        return MIM_ESTATE;
    if (id == NULL || text == NULL || !mim_chat_text_valid(text, text_len))
        return MIM_EINVAL;
    memcpy(buf, text, text_len); /* protobuf-c wants a NUL-terminated string */
    buf[text_len] = '\0';
    c.id.data = (uint8_t *)id;
    c.id.len = MIM_MSG_ID_LEN;
    c.ts_ms = ts_ms;
    c.sender = cs->my_name;
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = buf;
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    rc = queue_msg(cs, &m);
    mim_wipe(buf, text_len);
    return rc;
}

int chat_session_send_msg(chat_session *cs, const Mim__PeerMsg *m)
{
    char err[160];

    if (!can_send(cs))
        return MIM_ESTATE;
    if (m == NULL || mim_peer_msg_validate(m, err, sizeof(err)) != 0)
        return MIM_EINVAL;
    if (m->body_case == MIM__PEER_MSG__BODY_CHAT && strcmp(m->chat->sender, cs->my_name) != 0)
        return MIM_EINVAL; /* the remote would refuse the whole batch */
    return queue_msg(cs, m);
}

/* What a list of ids says: acks and refusals go in Ack messages, read receipts in Receipts. */
enum id_list_kind { IDS_ACKED, IDS_REFUSED, IDS_READ };

/* n ids of one kind, in messages of at most MIM_ACK_MAX_IDS (= MIM_RECEIPT_MAX_IDS) ids. */
static int send_id_list(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n,
                        enum id_list_kind kind)
{
    ProtobufCBinaryData *bin;
    size_t chunk = n < MIM_ACK_MAX_IDS ? n : MIM_ACK_MAX_IDS;
    int rc = 0;

    if (!can_send(cs))
        return MIM_ESTATE;
    if (n == 0)
        return 0;
    if (ids == NULL)
        return MIM_EINVAL;
    if ((bin = malloc(chunk * sizeof(*bin))) == NULL)
        return MIM_ENOMEM;
    /* At most MIM_ACK_MAX_IDS ids per Ack: the receiver refuses more. */
    for (size_t done = 0; rc == 0 && done < n; done += chunk) {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__Ack a = MIM__ACK__INIT;
        Mim__Receipt r = MIM__RECEIPT__INIT;
        size_t k = n - done < MIM_ACK_MAX_IDS ? n - done : MIM_ACK_MAX_IDS;
        for (size_t i = 0; i < k; i++) {
            bin[i].data = (uint8_t *)ids[done + i];
            bin[i].len = MIM_MSG_ID_LEN;
        }
        if (kind == IDS_READ) {
            r.read = bin;
            r.n_read = k;
            m.body_case = MIM__PEER_MSG__BODY_RECEIPT;
            m.receipt = &r;
        } else {
            if (kind == IDS_REFUSED) {
                a.refused = bin;
                a.n_refused = k;
            } else {
                a.ids = bin;
                a.n_ids = k;
            }
            m.body_case = MIM__PEER_MSG__BODY_ACK;
            m.ack = &a;
        }
        rc = queue_msg(cs, &m);
    }
    free(bin);
    return rc;
}

int chat_session_send_ack(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    return send_id_list(cs, ids, n, IDS_ACKED);
}

int chat_session_send_refused(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    return send_id_list(cs, ids, n, IDS_REFUSED);
}

_Static_assert(MIM_RECEIPT_MAX_IDS == MIM_ACK_MAX_IDS, "send_id_list cuts both lists alike");

int chat_session_send_receipt(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    if (!(cs->peer_features & MIM_FEATURE_RECEIPTS))
        return MIM_ESTATE;
    return send_id_list(cs, ids, n, IDS_READ);
}

int chat_session_send_typing(chat_session *cs, int typing)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__Typing t = MIM__TYPING__INIT;

    if (!(cs->peer_features & MIM_FEATURE_RECEIPTS))
        return MIM_ESTATE;
    t.typing = typing != 0;
    m.body_case = MIM__PEER_MSG__BODY_TYPING;
    m.typing = &t;
    return queue_msg(cs, &m);
}

uint32_t chat_session_peer_features(const chat_session *cs)
{
    return cs->peer_features;
}

static int send_close(chat_session *cs, int reason)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatClose c = MIM__CHAT_CLOSE__INIT;

    c.reason = (Mim__CloseReason)reason;
    m.body_case = MIM__PEER_MSG__BODY_CLOSE;
    m.close = &c;
    return queue_msg(cs, &m);
}

int chat_session_send_close(chat_session *cs)
{
    return send_close(cs, MIM__CLOSE_REASON__CLOSE_USER);
}

void chat_session_refuse_with(chat_session *cs, int reason)
{
    if (!cs->initiator && !cs->open)
        cs->refuse_close = reason + 1;
}

int chat_session_close_reason(const chat_session *cs)
{
    return cs->close_reason;
}

int chat_session_send_ping(chat_session *cs, uint64_t nonce)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__Ping ping = MIM__PING__INIT;

    ping.nonce = nonce;
    m.body_case = MIM__PEER_MSG__BODY_PING;
    m.ping = &ping;
    return queue_msg(cs, &m);
}

void chat_session_close(chat_session *cs, const char *reason)
{
    if (cs->ch == NULL || cs->closing)
        return;
    cs->closing = 1;
    /* What this turn queued (a ChatClose, acks) goes out before the FINAL. */
    if (flush_now(cs) != 0)
        return; /* the channel is closing already */
    mim_channel_close(cs->ch, reason != NULL ? reason : "closed");
}

/* ---- accessors ------------------------------------------------------------------------------- */

int chat_session_is_open(const chat_session *cs)
{
    return cs->ch != NULL && cs->open && !cs->closing && mim_channel_is_open(cs->ch);
}

int chat_session_is_initiator(const chat_session *cs)
{
    return cs->initiator;
}

const struct sockaddr *chat_session_remote_addr(const chat_session *cs)
{
    return cs->ch != NULL ? mim_channel_remote_addr(cs->ch) : NULL;
}

const char *chat_session_peer_name(const chat_session *cs)
{
    return cs->authenticated ? cs->peer_name : NULL;
}

const uint8_t *chat_session_peer_key(const chat_session *cs)
{
    return cs->authenticated ? cs->peer_pk : NULL;
}

static uint64_t since(const chat_session *cs, uint64_t t)
{
    uint64_t now = uv_now(cs->loop);
    return now > t ? now - t : 0;
}

uint64_t chat_session_idle_ms(const chat_session *cs)
{
    return since(cs, cs->last_chat);
}

uint64_t chat_session_silent_ms(const chat_session *cs)
{
    return since(cs, cs->last_rx);
}

int chat_session_keepalive(chat_session *cs, uint32_t interval_ms)
{
    uint64_t silent;

    if (interval_ms == 0 || !chat_session_is_open(cs))
        return 0;
    silent = chat_session_silent_ms(cs);
    if (silent >= 2 * (uint64_t)interval_ms) {
        snprintf(cs->why, sizeof(cs->why), "no answer to keepalive for %llu ms",
                 (unsigned long long)silent);
        mim_channel_abort(cs->ch, cs->why);
        return 1;
    }
    /* One Ping per silence: its Pong (or anything else) ends the silence. */
    if (silent >= interval_ms && (cs->ping_at == 0 || cs->ping_at < cs->last_rx)) {
        mim_random_bytes(&cs->ping_nonce, sizeof(cs->ping_nonce));
        if (chat_session_send_ping(cs, cs->ping_nonce) == 0)
            cs->ping_at = uv_now(cs->loop);
    }
    return 0;
}

void chat_session_set_data(chat_session *cs, void *data)
{
    cs->data = data;
}

void *chat_session_data(const chat_session *cs)
{
    return cs->data;
}

/* ---- bulk connections (issue 15) ------------------------------------------------------------- */

int chat_session_is_bulk(const chat_session *cs)
{
    return ((cs->features | cs->peer_features) & MIM_FEATURE_BULK) != 0;
}

int chat_session_send_bulk(chat_session *cs, const void *p, size_t len)
{
    if (cs->ch == NULL || cs->closing || !cs->open || !chat_session_is_bulk(cs))
        return MIM_ESTATE;
    cs->last_chat = uv_now(cs->loop);
    return mim_channel_send(cs->ch, p, len, 0);
}

size_t chat_session_queued(const chat_session *cs)
{
    return cs->ch != NULL ? mim_channel_queued(cs->ch) : 0;
}
