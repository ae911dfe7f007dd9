/* The room commands (issue 16, core.h "rooms"): create, send, add, remove, admin, leave, list
 * and history. A membership change is made here: signed with our identity key on top of the
 * log's head, taken into our own log first (its checks are ours too), then sent to every
 * member through the outbox as a copy of content type ROOM_CHANGE (core_fanout_store); a new
 * member gets the whole log, so that it can check it itself. */
#include "core_room.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* rm, named by its id (32 hex digits) or by a name no other room of ours has. */
static int room_find(mim_core *c, const char *room, core_room **out)
{
    mim_msg_id id;
    size_t found = 0;

    if (core_rooms_load(c) != 0)
        return MIM_CORE_ESTORE;
    if (room == NULL)
        return MIM_CORE_ENO_ROOM;
    if (strlen(room) == 32 && mim_msg_id_parse(room, &id) == 0 &&
        (*out = core_room_by_id(c, id.bytes)) != NULL && (*out)->cur.epoch > 0)
        return 0;
    for (core_room *rm = c->rooms; rm != NULL; rm = rm->next)
        if (rm->cur.epoch > 0 && strcmp(rm->cur.name, room) == 0 && found++ == 0)
            *out = rm;
    return found == 0 ? MIM_CORE_ENO_ROOM : found > 1 ? MIM_CORE_EROOM_AMBIGUOUS : 0;
}

int core_room_named(mim_core *c, const char *room, const uint8_t **id, const char **name)
{
    core_room *rm;
    int rc = room_find(c, room, &rm);

    if (rc == 0) {
        *id = rm->log.id;
        *name = rm->cur.name;
    }
    return rc;
}

/* The identity key we know for name: its pin, else the presence table's, else the
 * directory's copy. 0, or MIM_CORE_EUNKNOWN_PEER. */
static int key_of(mim_core *c, const char *name, uint8_t pk[32])
{
    mim_contact ct;
    mim_directory_entry de;
    const online_entry *e;

    if (strcmp(name, c->name) == 0)
        memcpy(pk, c->id->sign_pk, 32);
    else if (mim_store_contact_get(c->st, name, &ct) == 0)
        memcpy(pk, ct.identity_pk, 32);
    else if ((e = core_table_find(c, name)) != NULL)
        memcpy(pk, e->identity_pk, 32);
    else if (mim_store_directory_get(c->st, name, &de) == 0)
        memcpy(pk, de.identity_pk, 32);
    else
        return MIM_CORE_EUNKNOWN_PEER;
    return 0;
}

/* Signs ch (author: us) and packs it into *packed (free()). 0 or MIM_CORE_ESTORE. */
static int sign_change(mim_core *c, Mim__RoomChange *ch, uint8_t sig[64], uint8_t **packed,
                       size_t *len)
{
    mim_buf sb;
    int rc;

    mim_buf_init(&sb);
    ch->author = c->name;
    rc = mim_room_change_signed_bytes(ch, &sb);
    if (rc == 0)
        rc = mim_identity_sign(c->id, sb.data, sb.len, sig);
    mim_buf_free(&sb);
    ch->signature = (ProtobufCBinaryData){64, sig};
    if (rc == 0)
        rc = mim_room_change_pack(ch, packed, len);
    return rc == 0 ? 0 : MIM_CORE_ESTORE;
}

/* Every name of a and b (members), without us and without repeats, into names. */
static size_t recipients(mim_core *c, const room_state *a, const room_state *b, const char **names)
{
    size_t n = 0;

    for (int k = 0; k < 2; k++) {
        const room_state *s = k == 0 ? a : b;
        for (size_t i = 0; i < s->n; i++) {
            size_t j = 0;
            while (j < n && strcmp(names[j], s->m[i].name) != 0)
                j++;
            if (j == n && strcmp(s->m[i].name, c->name) != 0)
                names[n++] = s->m[i].name;
        }
    }
    return n;
}

/* The whole log of rm to `to`, a new member, in its order. */
static void send_log(mim_core *c, core_room *rm, const char *to)
{
    core_fanout_tag tag = {.kind = MIM_FANOUT_ROOM};

    memcpy(tag.room, rm->log.id, MIM_ROOM_ID_LEN);
    for (size_t i = 0; i < rm->log.n; i++) {
        tag.epoch = rm->log.e[i].epoch;
        if (core_fanout_store(c, &to, 1, MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE,
                              (const char *)rm->log.e[i].packed, rm->log.e[i].len, &tag, NULL) != 0)
            mim_log_warn("cannot send room %s's log to %s", rm->cur.name, to);
    }
}

/* Takes the signed change into rm's log (on_room), then sends it to the members before and
 * after it (a new member: the whole log instead). 0 or a code. */
static int commit_change(mim_core *c, core_room *rm, const uint8_t *packed, size_t len,
                         uint64_t epoch, const char *new_member)
{
    room_state *before = malloc(sizeof(*before));
    const char **to = malloc(2 * MIM_ROOM_MEMBERS_MAX * sizeof(*to));
    core_fanout_tag tag = {.kind = MIM_FANOUT_ROOM, .epoch = epoch};
    char why[200];
    size_t n;
    int rc;

    if (before == NULL || to == NULL) {
        free(before), free(to);
        return MIM_CORE_ESTORE;
    }
    *before = rm->cur;
    rc = core_room_take(c, rm, packed, len, 1, why, sizeof(why));
    if (rc != 1) {
        mim_log_error("our own room change was refused: %s", rc == MIM_EDB ? "the store" : why);
        free(before), free(to);
        return MIM_CORE_ESTORE;
    }
    memcpy(tag.room, rm->log.id, MIM_ROOM_ID_LEN);
    n = recipients(c, before, new_member != NULL ? before : &rm->cur, to);
    rc = n > 0 ? core_fanout_store(c, to, n, MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE,
                                   (const char *)packed, len, &tag, NULL)
               : 0;
    if (new_member != NULL)
        send_log(c, rm, new_member);
    free(before), free(to);
    return rc == MIM_CORE_ENOTHING ? 0 : rc;
}

int mim_core_room_create(mim_core *c, const char *name, const char *const *members, size_t n,
                         char id_out[MIM_MSG_ID_HEX_LEN])
{
    Mim__RoomChange ch = MIM__ROOM_CHANGE__INIT;
    Mim__RoomMember *mm = calloc(n + 1, sizeof(*mm));
    Mim__RoomMember **mp = calloc(n + 1, sizeof(*mp));
    char(*nfc)[MIM_NAME_MAX_BYTES + 1] = calloc(n + 1, sizeof(*nfc));
    uint8_t(*keys)[32] = calloc(n + 1, sizeof(*keys));
    uint8_t room[MIM_ROOM_ID_LEN], sig[64], *packed = NULL;
    size_t len = 0, k = 0, nlen = name != NULL ? strlen(name) : 0;
    core_room *rm;
    char err[160];
    int rc = mm == NULL || mp == NULL || nfc == NULL || keys == NULL ? MIM_CORE_ESTORE : 0;

    if (rc == 0 && (rc = core_rooms_load(c)) == 0 && n + 1 > MIM_ROOM_MEMBERS_MAX)
        rc = MIM_CORE_EROOM_FULL;
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        const char *who = i == 0 ? c->name : mim_core_typed_name(members[i - 1], nfc[i]);
        size_t j = 0;
        if (who == NULL) {
            rc = MIM_CORE_EBAD_NAME;
            break;
        }
        while (j < k && strcmp(mm[j].name, who) != 0)
            j++;
        if (j < k)
            continue; /* named twice (or us) */
        if ((rc = key_of(c, who, keys[k])) != 0)
            break;
        mim__room_member__init(&mm[k]);
        mm[k].name = (char *)who;
        mm[k].identity_pk = (ProtobufCBinaryData){32, keys[k]};
        mp[k] = &mm[k];
        k++;
    }
    mim_random_bytes(room, sizeof(room));
    ch.room = (ProtobufCBinaryData){sizeof(room), room};
    ch.epoch = 1;
    ch.op = MIM__ROOM_OP__ROOM_CREATE;
    ch.room_name = (char *)(name != NULL ? name : "");
    ch.n_members = k;
    ch.members = mp;
    ch.author = c->name;
    ch.signature = (ProtobufCBinaryData){64, sig};
    memset(sig, 0, sizeof(sig));
    if (rc == 0 && (nlen == 0 || mim_room_change_check(&ch, err, sizeof(err)) != 0))
        rc = MIM_CORE_EBAD_VALUE;
    if (rc == 0)
        rc = sign_change(c, &ch, sig, &packed, &len);
    if (rc == 0 && (rm = core_room_by_id(c, room)) == NULL) {
        rm = calloc(1, sizeof(*rm));
        if (rm == NULL) {
            rc = MIM_CORE_ESTORE;
        } else {
            room_log_init(&rm->log, room);
            rm->next = c->rooms;
            c->rooms = rm;
            rc = commit_change(c, rm, packed, len, 1, NULL);
            if (id_out != NULL)
                core_room_hex(rm, id_out);
        }
    }
    free(packed), free(mm), free(mp), free(nfc), free(keys);
    return rc;
}

/* A change of op about `name` (key: for ADD) on top of rm's head, signed and committed. */
static int change_member(mim_core *c, core_room *rm, Mim__RoomOp op, const char *name,
                         const uint8_t *key)
{
    Mim__RoomChange ch = MIM__ROOM_CHANGE__INIT;
    Mim__RoomMember mm = MIM__ROOM_MEMBER__INIT;
    Mim__RoomMember *mp = &mm;
    uint8_t prev[MIM_ROOM_HASH_LEN], sig[64], *packed = NULL;
    uint64_t head;
    size_t len = 0;
    int rc;

    if (room_log_head(&rm->log, &head, prev) != 0)
        return MIM_CORE_ENO_ROOM;
    mm.name = (char *)name;
    if (key != NULL)
        mm.identity_pk = (ProtobufCBinaryData){32, (uint8_t *)key};
    ch.room = (ProtobufCBinaryData){MIM_ROOM_ID_LEN, rm->log.id};
    ch.epoch = head + 1;
    ch.prev = (ProtobufCBinaryData){sizeof(prev), prev};
    ch.op = op;
    ch.n_members = 1;
    ch.members = &mp;
    if ((rc = sign_change(c, &ch, sig, &packed, &len)) != 0)
        return rc;
    rc = commit_change(c, rm, packed, len, head + 1, op == MIM__ROOM_OP__ROOM_ADD ? name : NULL);
    free(packed);
    return rc;
}

/* The common checks of add, remove and admin: the room, we its admin, the name. */
static int admin_cmd(mim_core *c, const char *room, const char *typed, Mim__RoomOp op)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    const room_member *me, *t;
    uint8_t key[32];
    core_room *rm;
    const char *name;
    int rc;

    if ((rc = room_find(c, room, &rm)) != 0)
        return rc;
    if ((name = mim_core_typed_name(typed, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if ((me = room_state_find(&rm->cur, c->name)) == NULL)
        return MIM_CORE_ENOT_MEMBER;
    if (!me->admin)
        return MIM_CORE_ENOT_ADMIN;
    t = room_state_find(&rm->cur, name);
    if (op == MIM__ROOM_OP__ROOM_ADD) {
        if (t != NULL)
            return MIM_CORE_EROOM_MEMBER;
        if (rm->cur.n >= MIM_ROOM_MEMBERS_MAX)
            return MIM_CORE_EROOM_FULL;
        if ((rc = key_of(c, name, key)) != 0)
            return rc;
    } else if (t == NULL) {
        return MIM_CORE_ENOT_MEMBER;
    } else if (op == MIM__ROOM_OP__ROOM_ADMIN && t->admin) {
        return MIM_CORE_EROOM_MEMBER;
    } else if (op == MIM__ROOM_OP__ROOM_REMOVE && strcmp(name, c->name) == 0) {
        return MIM_CORE_ESELF; /* leave instead */
    }
    return change_member(c, rm, op, name, op == MIM__ROOM_OP__ROOM_ADD ? key : NULL);
}

int mim_core_room_add(mim_core *c, const char *room, const char *name)
{
    return admin_cmd(c, room, name, MIM__ROOM_OP__ROOM_ADD);
}

int mim_core_room_remove(mim_core *c, const char *room, const char *name)
{
    return admin_cmd(c, room, name, MIM__ROOM_OP__ROOM_REMOVE);
}

int mim_core_room_admin(mim_core *c, const char *room, const char *name)
{
    return admin_cmd(c, room, name, MIM__ROOM_OP__ROOM_ADMIN);
}

int mim_core_room_leave(mim_core *c, const char *room)
{
    core_room *rm;
    int rc;

    if ((rc = room_find(c, room, &rm)) != 0)
        return rc;
    if (!rm->member)
        return MIM_CORE_ENOT_MEMBER;
    return change_member(c, rm, MIM__ROOM_OP__ROOM_LEAVE, c->name, NULL);
}

int mim_core_room_send(mim_core *c, const char *room, const char *text, mim_msg_id *id)
{
    const char *to[MIM_ROOM_MEMBERS_MAX];
    core_fanout_tag tag = {.kind = MIM_FANOUT_ROOM};
    core_room *rm;
    size_t n = 0;
    int rc;

    if ((rc = room_find(c, room, &rm)) != 0)
        return rc;
    if (!rm->member)
        return MIM_CORE_ENOT_MEMBER;
    for (size_t i = 0; i < rm->cur.n; i++)
        if (strcmp(rm->cur.m[i].name, c->name) != 0)
            to[n++] = rm->cur.m[i].name;
    memcpy(tag.room, rm->log.id, MIM_ROOM_ID_LEN);
    tag.epoch = rm->cur.epoch;
    return core_fanout_send(c, to, n, text, strlen(text), &tag, id);
}

int mim_core_rooms(mim_core *c, void (*cb)(void *arg, const mim_core_room_info *r), void *arg)
{
    return core_room_rooms(c, cb, arg);
}

typedef struct room_hist {
    mim_core *c;
    const core_room *rm;
    void (*cb)(void *arg, const mim_core_history_item *m);
    void *arg;
} room_hist;

static int room_hist_one(const mim_message *m, void *arg)
{
    room_hist *h = arg;
    mim_core_history_item it = {.id = core_msg_id(m->id), .ts_ms = m->ts_ms, .text = m->text};

    it.from = m->outgoing ? h->c->name : m->peer;
    it.to = m->outgoing ? h->rm->cur.name : h->c->name;
    it.content_type = m->content_type;
    it.state = (mim_core_msg_state)m->state; /* the store's states are the API's first four */
    h->cb(h->arg, &it);
    return 0;
}

int mim_core_room_history(mim_core *c, const char *room, size_t limit,
                          void (*cb)(void *arg, const mim_core_history_item *m), void *arg)
{
    core_room *rm;
    room_hist h = {c, NULL, cb, arg};
    int rc;

    if (limit == 0 || limit > MIM_CORE_HISTORY_MAX)
        return MIM_CORE_EBAD_VALUE;
    if ((rc = room_find(c, room, &rm)) != 0)
        return rc;
    h.rm = rm;
    return mim_store_room_history_each(c->st, rm->log.id, limit, room_hist_one, &h) < 0
               ? MIM_CORE_ESTORE
               : 0;
}
