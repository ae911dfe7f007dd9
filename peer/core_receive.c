/* Receiving, in the peer core. It is a group commit: the first chat message of a frame opens a
 * transaction, every message of the frame is stored in it (duplicates included: they are acked
 * again), and on_batch_end commits, THEN acks the frame's ids and reports the new messages. A
 * failed store or commit rolls back and closes the session without acking: the sender keeps the
 * messages in its outbox and sends them again later. Acks that come in move our own messages
 * to DELIVERED. */
#include "core_priv.h"
#include "content.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

static int push_id(uint8_t (**ids)[MIM_MSG_ID_LEN], size_t *n, size_t *cap, const uint8_t *id)
{
    if (*n == *cap) {
        void *p = core_grow(*ids, cap, MIM_MSG_ID_LEN);
        if (p == NULL)
            return -1;
        *ids = p;
    }
    memcpy((*ids)[(*n)++], id, MIM_MSG_ID_LEN);
    return 0;
}

static int push_ack(mim_core *c, const uint8_t *id)
{
    return push_id(&c->acks, &c->nacks, &c->cap_acks, id);
}

static int push_rx(mim_core *c, const Mim__ChatMessage *m)
{
    rx_item *it;
    char desc[CONTENT_DESCRIBE_MAX];

    if (c->nrx == c->cap_rx) {
        void *p = core_grow(c->rx, &c->cap_rx, sizeof(rx_item));
        if (p == NULL)
            return -1;
        c->rx = p;
    }
    it = &c->rx[c->nrx];
    it->id = core_msg_id(m->id.data);
    it->ts_ms = (int64_t)m->ts_ms;
    it->type = (int)m->type;
    it->has_room = m->room != NULL;
    if (it->has_room)
        memcpy(it->room, m->room->id.data, sizeof(it->room));
    it->broadcast = (int)m->broadcast;
    if (m->type != MIM__CONTENT_TYPE__CONTENT_TEXT)
        content_describe(m, desc, sizeof(desc));
    if ((it->text = strdup(m->type == MIM__CONTENT_TYPE__CONTENT_TEXT ? m->text : desc)) == NULL)
        return -1;
    c->nrx++;
    return 0;
}

/* Received messages this store keeps from one sender in 24 hours (issue 12): a sender over
 * either limit is refused (its messages stay in its outbox) instead of filling the disk. The
 * count comes from the store (durable across restarts), again at most every QUOTA_RECOUNT_MS;
 * in between, what was stored is added up here. A refusal also waits that long before the
 * next recount, so the messages that follow it in the sender's order are refused too. */
#define QUOTA_RECOUNT_MS (60u * 1000u)
#define RX_REFUSED       2

/* 1: r may make us store one more message; 0: over its quota; negative: the store failed. */
static int quota_allows(mim_core *c, peer_rec *r)
{
    uint64_t now = uv_now(c->loop);
    int rc;

    if (r == NULL || (c->quota_messages == 0 && c->quota_bytes == 0))
        return 1;
    if (!r->quota_valid || now - r->quota_at >= QUOTA_RECOUNT_MS) {
        if ((rc = mim_store_received_day(c->st, r->name, &r->quota_msgs, &r->quota_bytes)) != 0)
            return rc;
        r->quota_valid = 1;
        r->quota_at = now;
    }
    if ((c->quota_messages == 0 || r->quota_msgs < c->quota_messages) &&
        (c->quota_bytes == 0 || r->quota_bytes < c->quota_bytes)) {
        r->quota_refusing = 0;
        return 1;
    }
    r->quota_at = now;
    if (!r->quota_refusing)
        mim_log_warn("%s is over its quota (%lld messages, %lld bytes in 24 hours): its "
                     "messages are refused, not stored (it keeps them)",
                     r->name, (long long)r->quota_msgs, (long long)r->quota_bytes);
    r->quota_refusing = 1;
    return 0;
}

/* Stores one received message (in the frame's transaction): text as its text; anything else
 * as the whole ChatMessage, packed, for a later version to read. 1 new, 0 a duplicate,
 * RX_REFUSED when r is over its quota (nothing stored), or a negative code. */
static int store_received(mim_core *c, peer_rec *r, const char *peer, const Mim__ChatMessage *m)
{
    uint8_t *packed = NULL;
    const char *body = m->text;
    size_t n = strlen(m->text);
    int rc;

    if ((rc = quota_allows(c, r)) <= 0)
        return rc < 0 ? rc : RX_REFUSED;
    if (m->type != MIM__CONTENT_TYPE__CONTENT_TEXT) {
        if ((rc = mim_chat_message_pack(m, &packed, &n)) != 0)
            return rc;
        body = (const char *)packed;
    }
    rc = mim_store_message_receive(c->st, peer, m->id.data, (int64_t)m->ts_ms, (int)m->type, body,
                                   n);
    free(packed);
    if (rc == 1 && r != NULL) {
        r->quota_msgs++;
        r->quota_bytes += (int64_t)n;
    }
    return rc;
}

/* m refused (not stored, not acked): its sender keeps it and sends it again later. */
static int refuse(mim_core *c, const Mim__ChatMessage *m)
{
    if (push_id(&c->refusing, &c->nrefusing, &c->cap_refusing, m->id.data) != 0)
        c->txn_failed = 1;
    return c->txn_failed ? MIM_ENOMEM : RX_REFUSED;
}

/* core_rx_store, for a message that came on session s (NULL: from the mailbox). */
static int rx_store(mim_core *c, sess *s, peer_rec *r, const char *peer, const Mim__ChatMessage *m)
{
    int rc, offer = 0;

    if (c->txn_failed)
        return MIM_EDB;
    if (!c->txn_open) {
        if (mim_store_begin(c->st) != 0) {
            c->txn_failed = 1;
            return MIM_EDB;
        }
        c->txn_open = 1;
    }
    /* Issue 16: a room's message from a non-member, a forged membership change...: dropped,
     * and acked all the same, so that its sender does not send it again forever. One that
     * overtook the change it depends on: refused, so that its sender tries again later, and
     * so is every later copy of that room on this session until it comes again (the
     * sender's order, core_room_hold.c). */
    if (core_room_hold_check(s, m))
        return refuse(c, m);
    if ((rc = core_fanout_admit(c, r, peer, m)) == MIM_EDB || rc == MIM_ENOMEM) {
        c->txn_failed = 1; /* not acked: it comes again */
        return rc;
    }
    if (rc == CORE_ROOM_LATER) {
        core_room_hold_start(s, peer, m);
        return refuse(c, m);
    }
    if (rc < 0) {
        if (push_ack(c, m->id.data) != 0)
            c->txn_failed = 1;
        return c->txn_failed ? MIM_ENOMEM : 0;
    }
    rc = store_received(c, r, peer, m);
    if (rc == 1 && core_fanout_tag_received(c, peer, m) != 0)
        rc = MIM_EDB;
    if (rc == RX_REFUSED)
        return refuse(c, m);
    if (rc == 1 && (offer = core_transfer_offer_received(c, peer, m)) < 0)
        rc = offer;
    if (rc < 0 || push_ack(c, m->id.data) != 0 ||
        (rc == 1 && offer == 0 && content_is_shown(m) && !core_room_is_change(m) &&
         push_rx(c, m) != 0))
        c->txn_failed = 1;
    return c->txn_failed ? (rc < 0 ? rc : MIM_ENOMEM) : rc;
}

int core_rx_store(mim_core *c, peer_rec *r, const char *peer, const Mim__ChatMessage *m)
{
    return rx_store(c, NULL, r, peer, m);
}

void core_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);

    (void)rx_store(c, s, s != NULL ? s->rec : NULL, chat_session_peer_name(cs), m);
}

void core_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    mim_core *c = ud;

    /* Applied at the frame's end, outside the receive transaction (a rollback of that must
     * not undo a delivery that was already reported). */
    (void)cs;
    if (push_id(&c->delivered, &c->ndelivered, &c->cap_delivered, id) != 0)
        mim_log_warn("out of memory: an ack from %s is lost", chat_session_peer_name(cs));
}

void core_on_refused(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    mim_core *c = ud;

    if (push_id(&c->refused, &c->nrefused, &c->cap_refused, id) != 0)
        mim_log_warn("out of memory: a refusal from %s is lost", chat_session_peer_name(cs));
}

/* After a refusal: nothing goes out to r for a while, then one message at a time until one is
 * acked. Only room copies refused (issue 16: they overtook a membership change that is still
 * on its way): a short backoff, doubling, not reported to the user; else (its quota)
 * MIM_CORE_QUOTA_RETRY_MS, reported (1). */
static int refused_backoff(mim_core *c, peer_rec *r, const char *peer, size_t n)
{
    uint64_t now = uv_now(c->loop);
    int rooms = 1;

    for (size_t i = 0; i < n && rooms; i++)
        rooms = core_fanout_is_room_copy(c, peer, c->refused[i]);
    r->probe = 1;
    if (rooms && r->refused_until > now)
        return 0; /* copies in flight when the first refusal came: the same wait */
    if (rooms) {
        r->room_retry_ms = r->room_retry_ms == 0                            ? CORE_ROOM_RETRY_MIN_MS
                           : r->room_retry_ms >= CORE_ROOM_RETRY_MAX_MS / 2 ? CORE_ROOM_RETRY_MAX_MS
                                                                            : 2 * r->room_retry_ms;
        mim_log_info("%s asks again later for %zu room message(s) (out of order): in %u ms", peer,
                     n, (unsigned)r->room_retry_ms);
        r->refused_until = now + r->room_retry_ms;
        return 0;
    }
    if (r->refused_until == 0)
        mim_log_warn("%s refused %zu of our messages (over its quota): they stay in the "
                     "outbox; one is tried again every %d minutes",
                     peer, n, MIM_CORE_QUOTA_RETRY_MS / 60000);
    r->refused_until = now + MIM_CORE_QUOTA_RETRY_MS;
    return 1;
}

/* The frame's refusals (the peer is over its quota for us, or a room's copy came out of
 * order): each message of ours stays in the outbox, back to QUEUED, and waits
 * (refused_backoff); a quota's refusal is reported. */
static void apply_refused(mim_core *c, chat_session *cs, sess *s)
{
    const char *peer = chat_session_peer_name(cs);
    peer_rec *r = s != NULL ? s->rec : NULL;
    size_t n = 0;
    int began;

    if (c->nrefused == 0)
        return;
    began = core_group_begin(c);
    /* Ours (an outgoing message, not yet delivered) or not: a SENT one stays SENT here. */
    for (size_t i = 0; i < c->nrefused; i++)
        if (mim_store_message_set_state(c->st, peer, c->refused[i], MIM_MSG_SENT) >= 0)
            memmove(c->refused[n++], c->refused[i], MIM_MSG_ID_LEN);
    c->nrefused = 0;
    if (n == 0) {
        (void)core_group_end(c, began);
        return;
    }
    if (mim_store_outbox_requeue(c->st, peer) != 0)
        mim_log_warn("cannot requeue the outbox for %s", peer);
    (void)core_group_end(c, began); /* lost: the session's end requeues them anyway */
    if (r != NULL && !refused_backoff(c, r, peer, n))
        return;
    for (size_t i = 0; i < n; i++) {
        mim_msg_id id = core_msg_id(c->refused[i]);
        if (c->ev.on_send_refused != NULL)
            c->ev.on_send_refused(c->ud, peer, &id);
    }
}

/* The frame's acks: noted for the loop turn's end (core_delivered.c), where they move to
 * DELIVERED in one commit with every other frame's of the turn, and are reported once that is
 * committed. A frame with read receipts or refusals applies the turn's at once: its receipts
 * need the DELIVERED marks first, and its refusals' requeue comes after them, as it always did. */
static void apply_delivered(mim_core *c, chat_session *cs, sess *s)
{
    peer_rec *r = s != NULL ? s->rec : NULL;

    if (c->ndelivered == 0) {
        /* Earlier frames' acks of this turn still come before this frame's receipts and
         * refusals (a refusal's backoff and probe must not be reset by them afterwards). */
        if ((c->nread_in > 0 || c->nrefused > 0) && c->nturn_acks > 0)
            core_delivered_apply(c);
        return;
    }
    if (r == NULL)
        r = core_peer_get(c, chat_session_peer_name(cs));
    for (size_t i = 0; i < c->ndelivered && r != NULL; i++)
        core_delivered_note(c, r, c->delivered[i]);
    if (r == NULL) /* out of memory: stays SENT, the resend is acked again */
        mim_log_warn("out of memory: acks from %s are lost", chat_session_peer_name(cs));
    c->ndelivered = 0;
    if (c->nread_in > 0 || c->nrefused > 0)
        core_delivered_apply(c);
}

void core_on_chat_close(void *ud, chat_session *cs)
{
    sess *s = chat_session_data(cs);

    /* The frame's messages are shown at its end (after the commit): the close comes after them,
     * as the sender said it. */
    (void)ud;
    if (s != NULL)
        s->close_pending = 1;
}

/* The peer refused our messages with a reason (issue 13): on_waiting once per reason, until
 * one of ours is delivered (apply_delivered forgets it). */
static void report_waiting(mim_core *c, peer_rec *r, const char *peer, int wire_reason)
{
    mim_core_wait_reason why = wire_reason == MIM__CLOSE_REASON__CLOSE_KEY_NOT_ACCEPTED
                                   ? MIM_CORE_WAIT_KEY_NOT_ACCEPTED
                                   : MIM_CORE_WAIT_OTHER;

    mim_log_info("%s keeps our messages waiting (close reason %d)", peer, wire_reason);
    if (r != NULL && r->waiting_told == (int)why + 1)
        return;
    if (r != NULL)
        r->waiting_told = (int)why + 1;
    if (c->ev.on_waiting != NULL)
        c->ev.on_waiting(c->ud, peer, why);
}

/* The close of this frame, if any, after its messages. */
static void report_close(mim_core *c, chat_session *cs, sess *s)
{
    if (s == NULL || !s->close_pending)
        return;
    s->close_pending = 0;
    if (chat_session_close_reason(cs) != MIM__CLOSE_REASON__CLOSE_USER) {
        report_waiting(c, s->rec, chat_session_peer_name(cs), chat_session_close_reason(cs));
        return; /* not the user's close: the conversation stays as it is */
    }
    if (s->rec != NULL && s->rec->cs == cs)
        s->rec->conv_open = 0;
    if (c->ev.on_chat_closed != NULL)
        c->ev.on_chat_closed(c->ud, chat_session_peer_name(cs));
}

/* A received message, shown: text through on_message; what cannot be shown through
 * on_unsupported when the front end has it, else as its description through on_message. */
static void report_message(mim_core *c, const char *peer, const rx_item *it)
{
    mim_core_msg_meta meta;
    char room_hex[MIM_MSG_ID_HEX_LEN];

    if (it->type != MIM__CONTENT_TYPE__CONTENT_TEXT && c->ev.on_unsupported != NULL)
        c->ev.on_unsupported(c->ud, peer, &it->id, it->ts_ms, it->type, it->text);
    else if (c->ev.on_message != NULL)
        c->ev.on_message(c->ud, peer, &it->id, it->ts_ms, it->text,
                         core_fanout_meta(c, it, &meta, room_hex));
}

void core_rx_reset(mim_core *c)
{
    for (size_t i = 0; i < c->nrx; i++)
        free(c->rx[i].text);
    c->nrx = 0;
    c->nacks = 0;
    c->nrefusing = 0;
    c->txn_open = 0;
    c->txn_failed = 0;
}

int core_rx_commit(mim_core *c)
{
    if (!c->txn_failed && (!c->txn_open || mim_store_commit(c->st) == 0)) {
        core_room_forward(c, 1);
        return 0;
    }
    core_room_forward(c, 0);
    if (c->txn_open)
        mim_store_rollback(c->st);
    core_report_error(c, MIM_CORE_ERROR_STORE, "cannot store received messages", 0);
    return MIM_EDB;
}

void core_rx_show(mim_core *c, peer_rec *r, const char *peer, size_t from, size_t to)
{
    if (to > from && r != NULL && !r->conv_open && !core_newcomer_quiet(c, r)) {
        r->conv_open = 1;
        if (c->ev.on_chat_opened != NULL)
            c->ev.on_chat_opened(c->ud, peer);
    }
    if (to > from && r != NULL)
        core_typing_over(c, r); /* its message ends its typing */
    for (size_t i = from; i < to && (r == NULL || !r->quiet); i++)
        report_message(c, peer, &c->rx[i]);
}

void core_on_batch_end(void *ud, chat_session *cs)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r = s != NULL ? s->rec : NULL;
    const char *peer = chat_session_peer_name(cs);

    if (c->txn_open || c->txn_failed) {
        if (core_rx_commit(c) != 0) {
            mim_log_error("cannot store messages from %s: not acknowledged", peer);
            if (r != NULL)
                r->quota_valid = 0; /* counted what was rolled back */
            chat_session_close(cs, "the store failed");
            core_transfer_offers_commit(c, 0);
            core_rx_reset(c);
            apply_delivered(c, cs, s);
            core_receipts_apply(c, cs);
            apply_refused(c, cs, s);
            report_close(c, cs, s);
            return;
        }
        /* Durable now: acknowledge, then show. */
        if (c->nacks > 0 &&
            chat_session_send_ack(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])c->acks, c->nacks) != 0)
            mim_log_debug("acks to %s not sent: the session is closing", peer);
        if (c->nrefusing > 0 &&
            chat_session_send_refused(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])c->refusing,
                                      c->nrefusing) != 0)
            mim_log_debug("refusals to %s not sent: the session is closing", peer);
        core_rx_show(c, r, peer, 0, c->nrx);
        core_transfer_offers_commit(c, 1);
        core_rx_reset(c);
    }
    apply_delivered(c, cs, s);
    core_receipts_apply(c, cs);
    apply_refused(c, cs, s);
    report_close(c, cs, s);
    if (r != NULL && r->want_flush && r->cs == cs)
        core_flush(c, r);
}
