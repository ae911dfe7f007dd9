/* Acknowledging important broadcasts (issue 16), in the peer core. The receiver's user
 * acknowledges (mim_core_ack_broadcast); the acknowledgement is stored as owed to the
 * broadcast's sender and sent (PeerMsg BroadcastAck.read) at every session with it until the
 * sender confirms it (BroadcastAck.confirmed, after writing it down): it survives restarts and
 * lost sessions, and the tick dials the sender while it is online. The sender records who
 * acknowledged which broadcast (on_broadcast_ack once each) and answers every read id with a
 * confirmation, also for ids it does not know (so that nothing is resent forever).
 *
 * Why not the outbox: an acknowledgement is no message (no history entry, nothing to show, no
 * content type an older peer would show as "not supported"), and the outbox's promise
 * (stored, resent until acked) is what the owed rows give here at the cost of one small table.
 * What it does not give: the mailbox (an acknowledgement waits for a direct session). */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <string.h>

typedef struct id_list {
    ProtobufCBinaryData ids[MIM_ACK_MAX_IDS];
    uint8_t bytes[MIM_ACK_MAX_IDS][MIM_MSG_ID_LEN];
    size_t n;
} id_list;

static int collect_id(const uint8_t id[16], void *arg)
{
    id_list *l = arg;

    if (l->n == MIM_ACK_MAX_IDS)
        return 1;
    memcpy(l->bytes[l->n], id, MIM_MSG_ID_LEN);
    l->ids[l->n] = (ProtobufCBinaryData){MIM_MSG_ID_LEN, l->bytes[l->n]};
    l->n++;
    return 0;
}

/* Sends a BroadcastAck of read and/or confirmed ids on cs (only to a peer that has
 * MIM_FEATURE_BROADCAST: an older one would take arm 8 for a protocol error). */
static void send_ack(chat_session *cs, id_list *read, id_list *confirmed)
{
    Mim__PeerMsg m;
    Mim__BroadcastAck body;

    if (!(chat_session_peer_features(cs) & MIM_FEATURE_BROADCAST))
        return;
    mim_broadcast_ack_init(&m, &body, read != NULL ? read->ids : NULL, read != NULL ? read->n : 0,
                           confirmed != NULL ? confirmed->ids : NULL,
                           confirmed != NULL ? confirmed->n : 0);
    if (chat_session_send_msg(cs, &m) != 0)
        mim_log_debug("broadcast acknowledgement to %s not sent: the session is closing",
                      chat_session_peer_name(cs));
}

void core_bcast_acks_send(mim_core *c, peer_rec *r)
{
    static id_list owed; /* the loop thread's: 20 KiB kept off the stack */

    if (r->cs == NULL || !chat_session_is_open(r->cs))
        return;
    owed.n = 0;
    if (mim_store_bcast_owed_each(c->st, r->name, MIM_ACK_MAX_IDS, collect_id, &owed) < 0) {
        mim_log_warn("cannot read the broadcast acknowledgements owed to %s", r->name);
        return;
    }
    if (owed.n > 0)
        send_ack(r->cs, &owed, NULL);
}

int mim_core_ack_broadcast(mim_core *c, const mim_msg_id *id)
{
    char from[MIM_NAME_MAX_BYTES + 1];
    peer_rec *r;
    int rc = mim_store_bcast_important_from(c->st, id->bytes, from);

    if (rc < 0)
        return MIM_CORE_ESTORE;
    if (rc == 0)
        return MIM_CORE_ENOT_IMPORTANT;
    rc = mim_store_bcast_ack_put(c->st, id->bytes, from, 0, mim_clock_wall_ms());
    if (rc < 0)
        return MIM_CORE_ESTORE;
    if (rc == 0)
        return MIM_CORE_ENOTHING; /* acknowledged before */
    if ((r = core_peer_get(c, from)) == NULL)
        return 0; /* stored: the tick sends it */
    if (r->cs != NULL)
        core_bcast_acks_send(c, r);
    else
        core_dial(c, r);
    return 0;
}

/* The sender's side: from acknowledged our broadcasts `read` (each is checked to be an
 * important broadcast of ours to it: else nothing is recorded), and confirmed our own
 * acknowledgements `confirmed`. Every read id is confirmed back. */
void core_on_broadcast_ack(void *ud, chat_session *cs, const Mim__BroadcastAck *a)
{
    static id_list confirm;
    mim_core *c = ud;
    const char *from = chat_session_peer_name(cs);
    int64_t now = mim_clock_wall_ms();

    confirm.n = 0;
    for (size_t i = 0; i < a->n_read; i++) {
        int rc = mim_store_bcast_ack_put(c->st, a->read[i].data, from, 1, now);
        if (rc < 0)
            return; /* not confirmed: it comes again */
        (void)collect_id(a->read[i].data, &confirm);
        if (rc == 1 && c->ev.on_broadcast_ack != NULL) {
            mim_msg_id id = core_msg_id(a->read[i].data);
            c->ev.on_broadcast_ack(c->ud, from, &id);
        }
    }
    for (size_t i = 0; i < a->n_confirmed; i++)
        if (mim_store_bcast_ack_confirm(c->st, a->confirmed[i].data, from) < 0)
            mim_log_warn("cannot mark a broadcast acknowledgement to %s confirmed", from);
    if (confirm.n > 0)
        send_ack(cs, NULL, &confirm);
}

static int dial_owed(const char *peer, int flag, void *arg)
{
    mim_core *c = arg;
    peer_rec *r;

    (void)flag;
    if (core_table_find(c, peer) != NULL && (r = core_peer_get(c, peer)) != NULL && r->cs == NULL)
        core_dial(c, r);
    return 0;
}

void core_bcast_tick(mim_core *c)
{
    if (mim_store_bcast_owed_peers(c->st, dial_owed, c) < 0)
        mim_log_warn("cannot read the peers owed broadcast acknowledgements");
}

typedef struct status_ctx {
    void (*cb)(void *arg, const char *name, int acked);
    void *arg;
    size_t n;
} status_ctx;

static int status_row(const char *peer, int acked, void *arg)
{
    status_ctx *s = arg;

    s->n++;
    s->cb(s->arg, peer, acked);
    return 0;
}

int mim_core_broadcast_status(mim_core *c, const mim_msg_id *id,
                              void (*cb)(void *arg, const char *name, int acked), void *arg)
{
    status_ctx s = {cb, arg, 0};

    if (mim_store_bcast_status(c->st, id->bytes, status_row, &s) < 0)
        return MIM_CORE_ESTORE;
    return s.n > 0 ? 0 : MIM_CORE_ENOT_IMPORTANT;
}
