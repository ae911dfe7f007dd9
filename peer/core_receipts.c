/* Inside the peer core: what the user has read (the read marks of the store), and read
 * receipts both ways.
 *
 * Receipts owed are kept in the store (read_marks.receipt_seq), so a message read while its
 * sender is away is receipted when a session with it next opens, after a restart too. Once
 * handed to a session they count as sent; the session keeps them until the peer's Pong
 * (core_unconfirmed.c), and one that ends first (a crossed dial's loser) hands them to the
 * next. With receipts off, what is read is never receipted (not later either, when they are
 * turned on again), and receipts that come are dropped. Receipts go only to a peer whose
 * handshake said it understands them (MIM_FEATURE_RECEIPTS): an older one would close the
 * session on the unknown message. */
#include "core_priv.h"

#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

#define RECEIPTS_SETTING "receipts"

size_t core_unread_count(mim_core *c, const char *name)
{
    int64_t n = 0;

    if (mim_store_unread_count(c->st, name, &n) < 0 || n < 0)
        return 0;
    return (size_t)n;
}

int core_receipts_start(mim_core *c, int receipts)
{
    char v[8];
    int rc;

    if (receipts >= 0) {
        c->receipts_on = receipts != 0;
        return mim_store_setting_set(c->st, RECEIPTS_SETTING, receipts ? "on" : "off");
    }
    rc = mim_store_setting_get(c->st, RECEIPTS_SETTING, v, sizeof(v));
    if (rc < 0 && rc != MIM_EOVERFLOW)
        return rc;
    c->receipts_on = rc != 1 || strcmp(v, "off") != 0; /* on unless turned off */
    return 0;
}

int mim_core_set_receipts(mim_core *c, int on)
{
    if (mim_store_setting_set(c->st, RECEIPTS_SETTING, on ? "on" : "off") != 0)
        return MIM_CORE_ESTORE;
    c->receipts_on = on != 0;
    mim_log_info("read receipts and typing %s", on ? "on" : "off");
    return 0;
}

int mim_core_receipts(const mim_core *c)
{
    return c->receipts_on;
}

/* ---- sending --------------------------------------------------------------------------------- */

typedef struct owed {
    uint8_t (*ids)[MIM_MSG_ID_LEN];
    size_t n, cap;
    int lost; /* out of memory: some were not collected */
} owed;

static void collect_owed(const uint8_t id[16], void *arg)
{
    owed *o = arg;

    if (o->n == o->cap) {
        void *p = core_grow(o->ids, &o->cap, MIM_MSG_ID_LEN);
        if (p == NULL) {
            o->lost = 1;
            return;
        }
        o->ids = p;
    }
    memcpy(o->ids[o->n++], id, MIM_MSG_ID_LEN);
}

/* Receipts off, or an older peer: what is owed is given up (taken without sending). */
static void discard_owed(const uint8_t id[16], void *arg)
{
    (void)id, (void)arg;
}

void core_receipts_send(mim_core *c, peer_rec *r)
{
    owed o = {0};
    int can;

    if (r->cs == NULL || !chat_session_is_open(r->cs)) {
        r->receipts_owed = c->receipts_on; /* kept for the next session */
        return;
    }
    r->receipts_owed = 0;
    can = c->receipts_on && (chat_session_peer_features(r->cs) & MIM_FEATURE_RECEIPTS);
    if (mim_store_receipts_take(c->st, r->name, can ? collect_owed : discard_owed, &o) < 0)
        mim_log_warn("cannot read the receipts owed to %s", r->name);
    if (o.lost)
        mim_log_warn("out of memory: some read receipts to %s are lost", r->name);
    if (o.n > 0 &&
        core_send_receipts_kept(r->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])o.ids, o.n) != 0)
        mim_log_debug("read receipts to %s not sent: the session is closing", r->name);
    free(o.ids);
}

int mim_core_mark_read(mim_core *c, const char *with)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    peer_rec *r;
    int rc;

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (!core_known_peer(c, with))
        return MIM_CORE_EUNKNOWN_PEER;
    if ((rc = mim_store_mark_read(c->st, with)) < 0)
        return MIM_CORE_ESTORE;
    if (rc == 1 && !c->receipts_on) /* never receipted, not even once receipts are on again */
        (void)mim_store_receipts_take(c->st, with, discard_owed, NULL);
    else if (rc == 1 && (r = core_peer_get(c, with)) != NULL) {
        /* Without a session (the messages came through the mailbox) they wait: the next
         * session carries them, and the tick dials one while the sender is online. Not at once:
         * the sender often dials us then (its outbox), and two dials cross (what the replaced
         * session carried goes again on the kept one: core_unconfirmed.c). */
        core_receipts_send(c, r);
    }
    return 0;
}

/* ---- receiving ------------------------------------------------------------------------------- */

void core_on_receipt(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    mim_core *c = ud;

    if (!c->receipts_on)
        return; /* off: the peers' receipts are not shown either */
    if (c->nread_in == c->cap_read_in) {
        void *p = core_grow(c->read_in, &c->cap_read_in, MIM_MSG_ID_LEN);
        if (p == NULL) {
            mim_log_warn("out of memory: a read receipt from %s is lost",
                         chat_session_peer_name(cs));
            return;
        }
        c->read_in = p;
    }
    memcpy(c->read_in[c->nread_in++], id, MIM_MSG_ID_LEN);
    /* Read means stored: when the message went through the mailbox, its sealed receipt may come
     * after this (by the server), so the receipt counts as the ack too (applied first, at the
     * frame's end: apply_delivered, then core_receipts_apply). */
    if (c->ndelivered == c->cap_delivered) {
        void *p = core_grow(c->delivered, &c->cap_delivered, MIM_MSG_ID_LEN);
        if (p == NULL)
            return; /* its read mark waits for the ack, as before the mailbox */
        c->delivered = p;
    }
    memcpy(c->delivered[c->ndelivered++], id, MIM_MSG_ID_LEN);
}

void core_receipts_apply(mim_core *c, chat_session *cs)
{
    const char *peer = chat_session_peer_name(cs);
    int began;
    size_t news = 0;

    if (c->nread_in == 0)
        return;
    began = core_group_begin(c);
    for (size_t i = 0; i < c->nread_in; i++)
        if (mim_store_message_seen(c->st, peer, c->read_in[i]) == 1)
            memmove(c->read_in[news++], c->read_in[i], MIM_MSG_ID_LEN);
    c->nread_in = 0;
    if (!core_group_end(c, began))
        return; /* not kept: shown when the peer says it again (best effort) */
    for (size_t i = 0; i < news; i++) {
        mim_msg_id id = core_msg_id(c->read_in[i]);
        if (c->ev.on_read != NULL)
            c->ev.on_read(c->ud, peer, &id);
    }
}
