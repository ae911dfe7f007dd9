/* The JSON API's room commands (issue 16, docs/JSON-API.md "Rooms"): room_create, room_send,
 * room_add, room_remove, room_admin, room_leave, rooms; and the room event. */
#include "json_api_priv.h"

#include <stdlib.h>
#include <string.h>

json_t *ja_room_event(const mim_core_room_info *r)
{
    json_t *members = json_array(), *admins = json_array();

    for (size_t i = 0; members != NULL && i < r->nmembers; i++)
        json_array_append_new(members, ja_str(r->members[i]));
    for (size_t i = 0; admins != NULL && i < r->nadmins; i++)
        json_array_append_new(admins, ja_str(r->admins[i]));
    return json_pack("{s:s,s:s,s:o,s:o?,s:o?,s:I,s:b}", "event", "room", "id", r->id, "room",
                     ja_str(r->name), "members", members, "admins", admins, "epoch",
                     (json_int_t)r->epoch, "member", r->member);
}

int ja_room_check(json_api *ja, int rc, const char *room, const char *who)
{
    char msg[300];

    switch (rc) {
    case MIM_CORE_ENO_ROOM:
        snprintf(msg, sizeof(msg), "no room of yours has the id or name '%.128s'", room);
        ja_error(ja, "unknown_room", msg);
        return -1;
    case MIM_CORE_EROOM_AMBIGUOUS:
        snprintf(msg, sizeof(msg), "several rooms are named '%.128s': give its id", room);
        ja_error(ja, "ambiguous_room", msg);
        return -1;
    case MIM_CORE_ENOT_ADMIN:
        ja_error(ja, "not_admin", "only an admin of the room may do that");
        return -1;
    case MIM_CORE_ENOT_MEMBER:
        snprintf(msg, sizeof(msg), "'%.128s' is not a member of the room", who);
        ja_error(ja, "not_member", msg);
        return -1;
    case MIM_CORE_EROOM_FULL:
        ja_error(ja, "room_full", "a room has at most 100 members");
        return -1;
    case MIM_CORE_EROOM_MEMBER:
        snprintf(msg, sizeof(msg), "'%.128s' is that already", who);
        ja_error(ja, "bad_state", msg);
        return -1;
    case MIM_CORE_ENOTHING:
        ja_error(ja, "bad_state", "the room has no other member");
        return -1;
    default:
        return ja_check(ja, rc, who);
    }
}

/* room_create {room, members}: the room event answers (from inside the call, tagged). */
void ja_cmd_room_create(json_api *ja, json_t *cmd, const char *name)
{
    json_t *arr = json_object_get(cmd, "members");
    const char **members;
    const char *room;
    size_t n, i;
    int rc;

    (void)name;
    if (ja_need_str(ja, cmd, "room", &room) != 0)
        return;
    if (!json_is_array(arr) || (n = json_array_size(arr)) > MIM_CORE_ROOM_MEMBERS_MAX) {
        ja_error(ja, json_is_array(arr) ? "room_full" : "bad_field",
                 "'members' must be an array of at most 100 names");
        return;
    }
    if ((members = calloc(n + 1, sizeof(*members))) == NULL)
        return;
    for (i = 0; i < n && json_is_string(json_array_get(arr, i)); i++)
        members[i] = json_string_value(json_array_get(arr, i));
    if (i < n)
        ja_error(ja, "bad_field", "'members' must be an array of names");
    else if ((rc = mim_core_room_create(ja->core, room, members, n, NULL)) == MIM_CORE_EBAD_VALUE)
        ja_error(ja, "bad_field", "a room's name is 1 to 64 bytes on one line");
    else
        (void)ja_room_check(ja, rc, room, "");
    free(members);
}

/* room_send {room, text}: queued/sent per member, tagged, then delivered with the counts. */
void ja_cmd_room_send(json_api *ja, json_t *cmd, const char *name)
{
    const char *room, *text;
    char hex[MIM_MSG_ID_HEX_LEN];
    mim_msg_id id;
    int rc;

    (void)name;
    if (ja_need_str(ja, cmd, "room", &room) != 0 || ja_need_str(ja, cmd, "text", &text) != 0)
        return;
    /* The events come from inside: the tag is in place for them (sending_file's way). */
    ja->sending_file = 1;
    rc = mim_core_room_send(ja->core, room, text, &id);
    ja->sending_file = 0;
    if (ja_room_check(ja, rc, room, "you") != 0)
        return;
    if (ja->tag != NULL && json_object_size(ja->tags) < JSON_API_TAGS_MAX) {
        mim_msg_id_hex(&id, hex);
        json_object_set(ja->tags, hex, ja->tag);
    }
}

/* room_add / room_remove / room_admin {room, name}; room_leave {room}. */
void ja_cmd_room_change(json_api *ja, json_t *cmd, const char *name)
{
    const char *room, *who = NULL;
    int rc;

    if (ja_need_str(ja, cmd, "room", &room) != 0)
        return;
    if (strcmp(name, "room_leave") != 0 && ja_need_str(ja, cmd, "name", &who) != 0)
        return;
    if (strcmp(name, "room_add") == 0)
        rc = mim_core_room_add(ja->core, room, who);
    else if (strcmp(name, "room_remove") == 0)
        rc = mim_core_room_remove(ja->core, room, who);
    else if (strcmp(name, "room_admin") == 0)
        rc = mim_core_room_admin(ja->core, room, who);
    else
        rc = mim_core_room_leave(ja->core, room);
    if (ja_room_check(ja, rc, room, who != NULL ? who : "you") == 0)
        ja_ok(ja, name);
}

static void room_one(void *arg, const mim_core_room_info *r)
{
    json_t *arr = arg;
    json_t *ev = ja_room_event(r);

    if (ev != NULL)
        json_object_del(ev, "event");
    json_array_append_new(arr, ev);
}

/* rooms: every room, as the room event has it, in one rooms event. */
void ja_cmd_rooms(json_api *ja, json_t *cmd, const char *name)
{
    json_t *arr = json_array();

    (void)cmd, (void)name;
    if (arr == NULL)
        return;
    if (ja_check(ja, mim_core_rooms(ja->core, room_one, arr), "") != 0) {
        json_decref(arr);
        return;
    }
    ja_emit(ja, json_pack("{s:s,s:o}", "event", "rooms", "rooms", arr), ja->tag);
}
