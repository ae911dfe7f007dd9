/* One message to several peers (issue 16: a room's message, a broadcast): one id, one outbox
 * row per recipient, each copy going out, waiting, being mailed and acked exactly as a 1:1
 * message does. This file stores the copies, builds the ChatMessage of a copy from its row
 * (room and broadcast tags), tags what comes in, and counts deliveries ("delivered to 7 of
 * 9"). Who may send to a room is core_room.c's; who may broadcast is core_broadcast's. */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

int core_text_check(const char *text, size_t len)
{
    if (len == 0)
        return MIM_CORE_EEMPTY;
    if (len > MIM_CHAT_TEXT_MAX)
        return MIM_CORE_ETOO_LONG;
    if (!mim_chat_text_valid(text, len))
        return MIM_CORE_ETEXT;
    return 0;
}

/* The recipients' peer_recs into recs (n slots), without us, blocked names and repeats. The
 * count, or a negative code. */
static int fanout_recipients(mim_core *c, const char *const *to, size_t n, peer_rec **recs)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    size_t nr = 0;

    for (size_t i = 0; i < n; i++) {
        const char *name = mim_core_typed_name(to[i], nfc);
        peer_rec *r;
        size_t j;

        if (name == NULL)
            return MIM_CORE_EBAD_NAME;
        if (strcmp(name, c->name) == 0 || core_is_blocked(c, name))
            continue; /* a blocked member gets nothing from us */
        if ((r = core_peer_get(c, name)) == NULL)
            return MIM_CORE_ESTORE;
        for (j = 0; j < nr && recs[j] != r; j++)
            ;
        if (j == nr)
            recs[nr++] = r;
    }
    return (int)nr;
}

/* Every copy in one transaction: all of them or none. 0 or MIM_CORE_ESTORE. */
static int fanout_insert(mim_core *c, peer_rec **recs, size_t nr, int type, const char *body,
                         size_t len, const core_fanout_tag *tag, const mim_msg_id *id)
{
    const uint8_t *room = tag->kind == MIM_FANOUT_ROOM ? tag->room : NULL;
    int64_t ts = mim_clock_wall_ms();

    if (mim_store_begin(c->st) != 0)
        return MIM_CORE_ESTORE;
    for (size_t i = 0; i < nr; i++) {
        if (mim_store_message_queue(c->st, recs[i]->name, id->bytes, ts, type, body, len, NULL) !=
                0 ||
            mim_store_message_set_fanout(c->st, recs[i]->name, id->bytes, 1, tag->kind, room,
                                         tag->epoch) != 1) {
            mim_store_rollback(c->st);
            return MIM_CORE_ESTORE;
        }
    }
    if (mim_store_commit(c->st) != 0) {
        mim_store_rollback(c->st);
        return MIM_CORE_ESTORE;
    }
    return 0;
}

/* A copy to a peer whose session is open goes out at the loop turn's end: a burst of
 * fan-outs in one turn (a script's) costs each member one flush, not one per copy (each of
 * which walked the copies still in flight). 0 when it cannot wait: core_send_committed's
 * way (on_queued, a dial, the mailbox). */
static int flush_at_turn_end(mim_core *c, peer_rec *r)
{
    if (c->quitting || r->cs == NULL || !chat_session_is_open(r->cs) || r->refused_until != 0 ||
        core_is_held(c, r->name))
        return 0;
    r->conv_open = 1; /* as core_send_committed */
    r->quiet = 0;
    r->first_contact = 0;
    core_flush_at_turn_end(c, r);
    return 1;
}

int core_fanout_store(mim_core *c, const char *const *to, size_t n, int type, const char *body,
                      size_t len, const core_fanout_tag *tag, mim_msg_id *out_id)
{
    peer_rec **recs;
    mim_msg_id id;
    int nr, rc;

    if (c->batching)
        return MIM_CORE_EBAD_VALUE; /* a send batch holds mim_core_send only */
    if ((recs = calloc(n > 0 ? n : 1, sizeof(*recs))) == NULL)
        return MIM_CORE_ESTORE;
    nr = fanout_recipients(c, to, n, recs);
    rc = nr < 0 ? nr : nr == 0 ? MIM_CORE_ENOTHING : 0;
    if (rc == 0) {
        mim_random_bytes(id.bytes, sizeof(id.bytes));
        rc = fanout_insert(c, recs, (size_t)nr, type, body, len, tag, &id);
    }
    if (rc == 0) {
        /* The copies' flushes mark them SENT in one group, not a commit per member. */
        int began = core_group_begin(c);
        if (out_id != NULL)
            *out_id = id; /* the caller's before any event */
        for (int i = 0; i < nr; i++)
            if (!flush_at_turn_end(c, recs[i]))
                (void)core_send_committed(c, recs[i], &id); /* stored: it goes out by itself */
        (void)core_group_end(c, began);
    }
    free(recs);
    return rc;
}

int core_fanout_send(mim_core *c, const char *const *to, size_t n, const char *text, size_t len,
                     const core_fanout_tag *tag, mim_msg_id *out_id)
{
    int rc = core_text_check(text, len);

    if (rc != 0)
        return rc;
    return core_fanout_store(c, to, n, MIM__CONTENT_TYPE__CONTENT_TEXT, text, len, tag, out_id);
}

int core_fanout_broadcast_of(int fanout)
{
    return fanout == MIM_FANOUT_BROADCAST ? 1 : fanout == MIM_FANOUT_IMPORTANT ? 2 : 0;
}

int core_fanout_chat_init(mim_core *c, const mim_message *m, core_fanout_chat *fc)
{
    memset(fc, 0, sizeof(*fc));
    mim__chat_message__init(&fc->chat);
    mim__room_ref__init(&fc->ref);
    fc->chat.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, (uint8_t *)m->id};
    fc->chat.ts_ms = (uint64_t)m->ts_ms;
    fc->chat.sender = c->name;
    fc->chat.type = (Mim__ContentType)m->content_type;
    if (m->content_type == MIM__CONTENT_TYPE__CONTENT_TEXT)
        fc->chat.text = (char *)m->text; /* NUL-terminated by the store */
    else if (core_room_change_body(c, m, fc) != 0)
        return MIM_EINVAL;
    if (m->has_room) {
        fc->ref.id = (ProtobufCBinaryData){sizeof(m->room), (uint8_t *)m->room};
        fc->ref.epoch = m->room_epoch;
        fc->chat.room = &fc->ref;
    }
    fc->chat.broadcast = (uint32_t)core_fanout_broadcast_of(m->fanout);
    return 0;
}

void core_fanout_chat_free(core_fanout_chat *fc)
{
    core_room_change_body_free(fc);
}

int core_fanout_send_copy(mim_core *c, chat_session *cs, const mim_message *m)
{
    Mim__PeerMsg pm = MIM__PEER_MSG__INIT;
    core_fanout_chat fc;
    int rc;

    if (core_fanout_chat_init(c, m, &fc) != 0) {
        mim_log_warn("a copy to %s cannot be read back from the store: sent as nothing", m->peer);
        return mim_store_message_set_state(c->st, m->peer, m->id, MIM_MSG_DELIVERED) < 0 ? -1 : 0;
    }
    pm.body_case = MIM__PEER_MSG__BODY_CHAT;
    pm.chat = &fc.chat;
    rc = chat_session_send_msg(cs, &pm);
    core_fanout_chat_free(&fc);
    return rc;
}

/* What core_report_delivered needs of the copy's row. */
typedef struct copy_row {
    int fanout, type, has_room;
    uint8_t room[16];
} copy_row;

static int read_copy(const mim_message *m, void *arg)
{
    copy_row *row = arg;

    row->fanout = m->fanout;
    row->type = m->content_type;
    row->has_room = m->has_room;
    memcpy(row->room, m->room, sizeof(row->room));
    return 0;
}

int core_fanout_is_room_copy(mim_core *c, const char *to, const uint8_t id[MIM_MSG_ID_LEN])
{
    copy_row row = {0};

    return mim_store_message_get(c->st, to, id, 1, read_copy, &row) == 0 && row.has_room;
}

/* A several-peer message acked in the turn: its row's tags, its counts read after the commit,
 * how many of its copies the turn acked and how many of those were reported. */
typedef struct turn_msg {
    const uint8_t *id; /* in the turn's acks */
    copy_row row;
    uint32_t delivered, total, in_turn, told;
    int counted; /* 1: the counts were read; -1: the count failed (nothing reported) */
} turn_msg;

enum { ACK_PLAIN = -1, ACK_SILENT = -2 };

/* What message of msgs[0..*nmsgs) a's id is a copy of (added when it is new), ACK_PLAIN for
 * one that is not a copy (on_delivered), ACK_SILENT for a membership change (the room's own
 * business, not the user's message). */
static int classify_ack(mim_core *c, const turn_ack *a, turn_msg *msgs, size_t *nmsgs)
{
    copy_row row = {0};

    for (size_t k = 0; k < *nmsgs; k++)
        if (memcmp(msgs[k].id, a->id, MIM_MSG_ID_LEN) == 0) {
            msgs[k].in_turn++; /* every copy carries the same tags: read once */
            return (int)k;
        }
    if (mim_store_message_get(c->st, a->to, a->id, 1, read_copy, &row) != 0 ||
        row.fanout == MIM_FANOUT_NONE || c->ev.on_fanout_delivered == NULL)
        return ACK_PLAIN;
    if (row.type != MIM__CONTENT_TYPE__CONTENT_TEXT)
        return ACK_SILENT;
    msgs[*nmsgs] = (turn_msg){.id = a->id, .row = row, .in_turn = 1};
    return (int)(*nmsgs)++;
}

static void report_copy(mim_core *c, const turn_ack *a, turn_msg *m)
{
    mim_msg_id id = core_msg_id(a->id);
    mim_core_fanout_delivery d = {.to = a->to, .id = &id, .kind = m->row.fanout};
    char room_hex[MIM_MSG_ID_HEX_LEN];

    if (m->counted == 0)
        m->counted = mim_store_fanout_count(c->st, m->id, &m->delivered, &m->total) == 0 ? 1 : -1;
    if (m->counted < 0)
        return;
    /* The count includes every copy of the turn: the ones not reported yet come off it. */
    m->told++;
    d.delivered =
        m->delivered >= m->in_turn - m->told ? m->delivered - (m->in_turn - m->told) : m->told;
    d.total = m->total;
    if (m->row.has_room) {
        mim_msg_id rid = core_msg_id(m->row.room);
        mim_msg_id_hex(&rid, room_hex);
        d.room_id = room_hex;
        d.room_name = core_room_name(c, m->row.room);
    }
    c->ev.on_fanout_delivered(c->ud, &d);
}

#define TURN_MSGS_LOCAL 8 /* messages counted without an allocation */

void core_report_delivered_turn(mim_core *c, turn_ack *acks, size_t n)
{
    turn_msg local[TURN_MSGS_LOCAL];
    turn_msg *msgs = n <= TURN_MSGS_LOCAL ? local : calloc(n, sizeof(*msgs));
    size_t nmsgs = 0;

    if (msgs == NULL) { /* out of memory: in small parts (each reported, its counts read each) */
        for (size_t i = 0; i < n; i += TURN_MSGS_LOCAL)
            core_report_delivered_turn(c, acks + i,
                                       n - i < TURN_MSGS_LOCAL ? n - i : TURN_MSGS_LOCAL);
        return;
    }
    for (size_t i = 0; i < n; i++)
        acks[i].copy_of = classify_ack(c, &acks[i], msgs, &nmsgs);
    for (size_t i = 0; i < n; i++) {
        mim_msg_id id = core_msg_id(acks[i].id);
        if (acks[i].copy_of >= 0)
            report_copy(c, &acks[i], &msgs[acks[i].copy_of]);
        else if (acks[i].copy_of == ACK_PLAIN && c->ev.on_delivered != NULL)
            c->ev.on_delivered(c->ud, acks[i].to, &id);
    }
    if (msgs != local)
        free(msgs);
}

void core_report_delivered(mim_core *c, const char *to, const mim_msg_id *id)
{
    turn_ack a = {.to = to};

    memcpy(a.id, id->bytes, MIM_MSG_ID_LEN);
    core_report_delivered_turn(c, &a, 1);
}

int core_fanout_admit(mim_core *c, peer_rec *r, const char *from, const Mim__ChatMessage *m)
{
    if (m->room != NULL)
        return core_room_admit(c, r, from, m);
    if (m->broadcast != 0)
        return core_broadcast_admit(c, from, m); /* bcast's: the broadcaster list */
    return 0;
}

int core_fanout_tag_received(mim_core *c, const char *from, const Mim__ChatMessage *m)
{
    int kind = m->room != NULL     ? MIM_FANOUT_ROOM
               : m->broadcast == 2 ? MIM_FANOUT_IMPORTANT
               : m->broadcast == 1 ? MIM_FANOUT_BROADCAST
                                   : MIM_FANOUT_NONE;

    if (kind == MIM_FANOUT_NONE)
        return 0;
    return mim_store_message_set_fanout(c->st, from, m->id.data, 0, kind,
                                        m->room != NULL ? m->room->id.data : NULL,
                                        m->room != NULL ? m->room->epoch : 0) < 0
               ? MIM_EDB
               : 0;
}

const mim_core_msg_meta *core_fanout_meta(mim_core *c, const rx_item *it, mim_core_msg_meta *meta,
                                          char room_hex[MIM_MSG_ID_HEX_LEN])
{
    if (!it->has_room && it->broadcast == 0)
        return NULL;
    memset(meta, 0, sizeof(*meta));
    meta->broadcast = it->broadcast;
    if (it->has_room) {
        mim_msg_id rid = core_msg_id(it->room);
        mim_msg_id_hex(&rid, room_hex);
        meta->room_id = room_hex;
        meta->room_name = core_room_name(c, it->room);
    }
    return meta;
}
