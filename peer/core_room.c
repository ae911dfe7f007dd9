/* Rooms (issue 16): every room's membership log in memory (loaded from the store on first
 * use), what comes in checked against it, and on_room when a room changes. The commands are
 * core_room_cmd.c's; the log's rules are peer/room_log.c's; the copies are core_fanout.c's.
 *
 * Who may post: a room's message is admitted when its sender is a member at the epoch it
 * claims (when we know that epoch) AND at our newest epoch: once we know of a removal, the
 * removed member's messages are refused whatever epoch they claim. A message for a room we do
 * not know, or from a non-member, is dropped (acked, logged). Membership changes are consumed
 * here: added to the log (and the store) when they pass room_log_add, never stored as
 * messages.
 *
 * Out of order (they travel over different pairs' sessions): a message for a room we do not
 * know yet, or claiming an epoch we do not have yet, and a change whose prev we lack, may
 * depend on a change still on its way. They are answered CORE_ROOM_LATER (refused, not acked):
 * the sender keeps them and tries again, so nothing is lost. Once we have the epoch a message
 * claims, a non-member's message is refused for good (acked, dropped). */
#include "core_priv.h"
#include "core_room.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* A change to forward once the receive transaction is committed (core_room_forward). */
typedef struct core_room_fwd {
    struct core_room_fwd *next;
    uint8_t room[MIM_ROOM_ID_LEN];
    uint64_t epoch;
    char author[MIM_NAME_MAX_BYTES + 1], from[MIM_NAME_MAX_BYTES + 1];
    size_t len;
    uint8_t packed[]; /* len bytes */
} core_room_fwd;

static core_room *room_new(mim_core *c, const uint8_t id[MIM_ROOM_ID_LEN])
{
    core_room *rm = calloc(1, sizeof(*rm));

    if (rm == NULL)
        return NULL;
    room_log_init(&rm->log, id);
    rm->next = c->rooms;
    c->rooms = rm;
    return rm;
}

static int load_one(const uint8_t room[16], const uint8_t *change, size_t len, void *arg)
{
    mim_core *c = arg;
    core_room *rm = core_room_by_id(c, room);
    char why[160];

    if (rm == NULL && (rm = room_new(c, room)) == NULL)
        return MIM_ENOMEM;
    if (room_log_add(&rm->log, change, len, 1, NULL, why, sizeof(why)) < 0)
        mim_log_warn("a stored room change is not taken again: %s", why);
    return 0;
}

/* The rooms, loaded on first use. 0 or MIM_CORE_ESTORE. */
int core_rooms_load(mim_core *c)
{
    if (c->rooms_loaded)
        return 0;
    c->rooms_loaded = 1;
    if (mim_store_room_changes_each(c->st, load_one, c) != 0)
        return MIM_CORE_ESTORE;
    for (core_room *rm = c->rooms; rm != NULL; rm = rm->next)
        core_room_refresh(c, rm, 0);
    return 0;
}

void core_room_free(mim_core *c)
{
    core_room_forward(c, 0);
    while (c->rooms != NULL) {
        core_room *rm = c->rooms;
        c->rooms = rm->next;
        room_log_free(&rm->log);
        free(rm);
    }
}

core_room *core_room_by_id(mim_core *c, const uint8_t id[MIM_ROOM_ID_LEN])
{
    for (core_room *rm = c->rooms; rm != NULL; rm = rm->next)
        if (memcmp(rm->log.id, id, MIM_ROOM_ID_LEN) == 0)
            return rm;
    return NULL;
}

const char *core_room_name(mim_core *c, const uint8_t room[16])
{
    core_room *rm;

    if (core_rooms_load(c) != 0 || (rm = core_room_by_id(c, room)) == NULL)
        return NULL;
    return rm->cur.name[0] != '\0' ? rm->cur.name : NULL;
}

void core_room_hex(const core_room *rm, char out[MIM_MSG_ID_HEX_LEN])
{
    mim_msg_id id = core_msg_id(rm->log.id);

    mim_msg_id_hex(&id, out);
}

/* on_room for rm as it is now. */
static void report_room(mim_core *c, const core_room *rm)
{
    const char *members[MIM_ROOM_MEMBERS_MAX], *admins[MIM_ROOM_MEMBERS_MAX];
    char hex[MIM_MSG_ID_HEX_LEN];
    mim_core_room_info ri = {.id = hex,
                             .name = rm->cur.name,
                             .members = members,
                             .admins = admins,
                             .epoch = rm->cur.epoch,
                             .member = rm->member};

    if (c->ev.on_room == NULL)
        return;
    core_room_hex(rm, hex);
    core_room_info(rm, &ri, members, admins);
    c->ev.on_room(c->ud, &ri);
}

void core_room_info(const core_room *rm, mim_core_room_info *ri, const char **members,
                    const char **admins)
{
    for (size_t i = 0; i < rm->cur.n; i++) {
        members[ri->nmembers++] = rm->cur.m[i].name;
        if (rm->cur.m[i].admin)
            admins[ri->nadmins++] = rm->cur.m[i].name;
    }
}

void core_room_refresh(mim_core *c, core_room *rm, int report)
{
    room_log_state(&rm->log, UINT64_MAX, &rm->cur);
    rm->member = room_state_find(&rm->cur, c->name) != NULL;
    if (report)
        report_room(c, rm);
}

int core_room_rooms(mim_core *c, void (*cb)(void *arg, const mim_core_room_info *r), void *arg)
{
    const char *members[MIM_ROOM_MEMBERS_MAX], *admins[MIM_ROOM_MEMBERS_MAX];
    char hex[MIM_MSG_ID_HEX_LEN];

    if (core_rooms_load(c) != 0)
        return MIM_CORE_ESTORE;
    for (core_room *rm = c->rooms; rm != NULL; rm = rm->next) {
        mim_core_room_info ri = {.id = hex,
                                 .name = rm->cur.name,
                                 .members = members,
                                 .admins = admins,
                                 .epoch = rm->cur.epoch,
                                 .member = rm->member};
        if (rm->cur.epoch == 0)
            continue; /* no create (yet) */
        core_room_hex(rm, hex);
        core_room_info(rm, &ri, members, admins);
        cb(arg, &ri);
    }
    return 0;
}

int core_room_take(mim_core *c, core_room *rm, const uint8_t *packed, size_t len, int report,
                   char *why, size_t whylen)
{
    uint8_t hash[MIM_ROOM_HASH_LEN];
    int rc = room_log_add(&rm->log, packed, len, 0, hash, why, whylen);

    if (rc != 1)
        return rc;
    for (size_t i = 0; i < rm->log.n; i++)
        if (memcmp(rm->log.e[i].hash, hash, MIM_ROOM_HASH_LEN) == 0 &&
            mim_store_room_change_add(c->st, rm->log.id, rm->log.e[i].epoch, hash, packed, len) < 0)
            return MIM_EDB; /* in the log, not stored: the message is not acked, comes again */
    core_room_refresh(c, rm, report);
    return 1;
}

/* A change we took from `from` (new to us) waits to be forwarded when we are an admin: the
 * admin that added a member concurrently with it is the one that can tell that member. */
static void forward_later(mim_core *c, const core_room *rm, const char *from, const char *author,
                          uint64_t epoch, const uint8_t *packed, size_t len)
{
    const room_member *me = room_state_find(&rm->cur, c->name);
    core_room_fwd *f;

    if (me == NULL || !me->admin || strcmp(author, c->name) == 0)
        return;
    if ((f = calloc(1, sizeof(*f) + len)) == NULL) {
        mim_log_warn("out of memory: a room change from %s is not forwarded", from);
        return;
    }
    memcpy(f->room, rm->log.id, MIM_ROOM_ID_LEN);
    f->epoch = epoch;
    snprintf(f->author, sizeof(f->author), "%s", author);
    snprintf(f->from, sizeof(f->from), "%s", from);
    memcpy(f->packed, packed, len);
    f->len = len;
    f->next = c->room_fwd;
    c->room_fwd = f;
}

/* One pending change out to rm's members but us, its author and its sender. */
static void forward_one(mim_core *c, const core_room_fwd *f)
{
    core_room *rm = core_room_by_id(c, f->room);
    const char *to[MIM_ROOM_MEMBERS_MAX];
    core_fanout_tag tag = {.kind = MIM_FANOUT_ROOM, .epoch = f->epoch};
    size_t n = 0;

    if (rm == NULL)
        return;
    for (size_t i = 0; i < rm->cur.n; i++) {
        const char *name = rm->cur.m[i].name;
        if (strcmp(name, c->name) != 0 && strcmp(name, f->author) != 0 &&
            strcmp(name, f->from) != 0)
            to[n++] = name;
    }
    memcpy(tag.room, f->room, MIM_ROOM_ID_LEN);
    if (n > 0 && core_fanout_store(c, to, n, MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE,
                                   (const char *)f->packed, f->len, &tag, NULL) != 0)
        mim_log_warn("room %s: a change from %s could not be forwarded", rm->cur.name, f->from);
}

void core_room_forward(mim_core *c, int commit)
{
    core_room_fwd *list = NULL;

    while (c->room_fwd != NULL) { /* oldest first: the list is newest first */
        core_room_fwd *f = c->room_fwd;
        c->room_fwd = f->next;
        f->next = list;
        list = f;
    }
    while (list != NULL) {
        core_room_fwd *f = list;
        list = f->next;
        if (commit)
            forward_one(c, f);
        free(f);
    }
}

/* A membership change from `from`: into the log when it passes, else refused (logged). The
 * key the log gives its author, when the author is `from`, must be the one pinned for it. */
static int admit_change(mim_core *c, const char *from, const Mim__ChatMessage *m)
{
    core_room *rm = core_room_by_id(c, m->room->id.data);
    const Mim__RoomChange *ch = m->change;
    uint8_t *packed = NULL;
    size_t len = 0;
    char why[200] = "";
    int rc, made = 0;
    mim_contact ct;

    if (rm == NULL && ch->op != MIM__ROOM_OP__ROOM_CREATE) {
        mim_log_info("a change of a room we do not know (yet), from %s: asked again later", from);
        return CORE_ROOM_LATER;
    }
    if (rm == NULL && (made = 1, rm = room_new(c, m->room->id.data)) == NULL)
        return MIM_ENOMEM;
    if (mim_room_change_pack(ch, &packed, &len) != 0)
        return MIM_ENOMEM;
    rc = core_room_take(c, rm, packed, len, 1, why, sizeof(why));
    if (rc == 1)
        forward_later(c, rm, from, ch->author, ch->epoch, packed, len);
    free(packed);
    if (rc == 1 && strcmp(ch->author, from) == 0 && mim_store_contact_get(c->st, from, &ct) == 0) {
        const room_member *a = room_state_find(&rm->cur, from);
        if (a != NULL && !mim_equal_ct(a->pk, ct.identity_pk, 32))
            mim_log_warn("room %s: %s's key in the log is not its pinned key", rm->cur.name, from);
    }
    if (rc == ROOM_LOG_LATER)
        mim_log_info("a room change from %s, asked again later: %s", from, why);
    else if (rc < 0 && rc != MIM_EDB)
        mim_log_warn("a room change from %s refused: %s", from, why);
    if (made && rm->log.n == 0) { /* refused create: forget the empty room */
        c->rooms = rm->next;
        room_log_free(&rm->log);
        free(rm);
    }
    if (rc == MIM_EDB || rc == ROOM_LOG_LATER)
        return rc == MIM_EDB ? MIM_EDB : CORE_ROOM_LATER;
    return CORE_ROOM_REFUSED; /* consumed either way */
}

int core_room_admit(mim_core *c, peer_rec *r, const char *from, const Mim__ChatMessage *m)
{
    core_room *rm;
    room_state *at;
    int ok;

    (void)r;
    if (core_rooms_load(c) != 0)
        return MIM_EDB;
    if (m->type == MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE)
        return admit_change(c, from, m);
    if ((rm = core_room_by_id(c, m->room->id.data)) == NULL) {
        mim_log_info("a message from %s for a room we do not know (yet): asked again later", from);
        return CORE_ROOM_LATER;
    }
    ok = room_state_find(&rm->cur, from) != NULL && rm->member;
    if (!ok && rm->member && m->room->epoch > rm->cur.epoch) {
        mim_log_info("room %s: a message from %s at epoch %llu, ours is %llu: asked again later",
                     rm->cur.name, from, (unsigned long long)m->room->epoch,
                     (unsigned long long)rm->cur.epoch);
        return CORE_ROOM_LATER;
    }
    if (ok && m->room->epoch < rm->cur.epoch) {
        if ((at = malloc(sizeof(*at))) == NULL)
            return MIM_ENOMEM;
        room_log_state(&rm->log, m->room->epoch, at);
        ok = room_state_find(at, from) != NULL;
        free(at);
    }
    if (!ok)
        mim_log_warn("room %s: a message from %s, not a member at epoch %llu: refused",
                     rm->cur.name, from, (unsigned long long)m->room->epoch);
    return ok ? 0 : CORE_ROOM_REFUSED;
}

int core_room_is_change(const Mim__ChatMessage *m)
{
    return m->type == MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE;
}

int core_room_change_body(mim_core *c, const mim_message *m, core_fanout_chat *fc)
{
    Mim__RoomChange *ch;
    char err[160];

    (void)c;
    if (m->content_type != MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE ||
        mim_room_change_decode((const uint8_t *)m->text, m->text_len, &ch, err, sizeof(err)) != 0)
        return -1;
    fc->owned = ch;
    fc->chat.change = ch;
    return 0;
}

void core_room_change_body_free(core_fanout_chat *fc)
{
    mim_room_change_free(fc->owned);
    fc->owned = NULL;
}
