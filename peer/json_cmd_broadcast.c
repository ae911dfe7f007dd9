/* The JSON API's broadcast to everyone (issue 16; docs/JSON-API.md, "Broadcast"): the commands
 * broadcast, ack_broadcast and broadcast_status, and the words of their errors. */
#include "json_api_priv.h"

#include <stdio.h>
#include <string.h>

/* The "id" field as a message id: 0 and *id, or -1 (said). */
static int need_id(json_api *ja, json_t *cmd, mim_msg_id *id)
{
    const char *hex;

    if (ja_need_str(ja, cmd, "id", &hex) != 0)
        return -1;
    if (mim_msg_id_parse(hex, id) != 0) {
        ja_error(ja, "bad_field", "'id' must be a broadcast's id: 32 hex digits");
        return -1;
    }
    return 0;
}

/* The broadcast commands' own errors; the rest as any command's. 0 when rc is 0. */
static int check(json_api *ja, int rc)
{
    switch (rc) {
    case MIM_CORE_ENOT_BROADCASTER:
        ja_error(ja, "not_broadcaster",
                 "the presence server lets only the names on its list broadcast");
        return -1;
    case MIM_CORE_ENOBODY:
        ja_error(ja, "nobody_online", "nobody is online to broadcast to");
        return -1;
    case MIM_CORE_ENOT_IMPORTANT:
        ja_error(ja, "unknown_broadcast", "no important broadcast has that id");
        return -1;
    case MIM_CORE_ENOTHING:
        ja_error(ja, "already_acked", "that broadcast is acknowledged already");
        return -1;
    default:
        return ja_check(ja, rc, "");
    }
}

/* broadcast {text, important?}: {"event":"broadcast","id":..,"of":N,"important":b}, then a
 * delivered event (broadcast: true, delivered, of) per copy as each peer stores it. */
void ja_cmd_broadcast(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *text;
    json_t *imp = json_object_get(cmd, "important");
    char hex[MIM_MSG_ID_HEX_LEN];
    mim_msg_id id;
    uint32_t copies = 0;

    if (ja_need_str(ja, cmd, "text", &text) != 0)
        return;
    if (imp != NULL && !json_is_boolean(imp)) {
        ja_error(ja, "bad_field", "'important' must be true or false");
        return;
    }
    if (check(ja, mim_core_broadcast(ja->core, text, json_is_true(imp), &id, &copies)) != 0)
        return;
    mim_msg_id_hex(&id, hex);
    /* The copies' delivered events (on_fanout_delivered) find the command's tag by the id. */
    if (ja->tag != NULL && json_object_size(ja->tags) < JSON_API_TAGS_MAX)
        json_object_set(ja->tags, hex, ja->tag);
    ja_emit(ja,
            json_pack("{s:s,s:s,s:I,s:b}", "event", "broadcast", "id", hex, "of",
                      (json_int_t)copies, "important", json_is_true(imp)),
            ja->tag);
}

/* ack_broadcast {id}: ok; the sender hears broadcast_ack. */
void ja_cmd_ack_broadcast(json_api *ja, json_t *cmd, const char *name)
{
    mim_msg_id id;

    if (need_id(ja, cmd, &id) == 0 && check(ja, mim_core_ack_broadcast(ja->core, &id)) == 0)
        ja_ok(ja, name);
}

typedef struct status_lists {
    json_t *acked, *pending;
} status_lists;

static void status_one(void *arg, const char *peer, int acked)
{
    status_lists *l = arg;

    json_array_append_new(acked ? l->acked : l->pending, ja_str(peer));
}

/* broadcast_status {id}: {"event":"broadcast_status","id":..,"acked":[..],"pending":[..]}. */
void ja_cmd_broadcast_status(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    status_lists l = {json_array(), json_array()};
    char hex[MIM_MSG_ID_HEX_LEN];
    mim_msg_id id;

    if (l.acked == NULL || l.pending == NULL || need_id(ja, cmd, &id) != 0 ||
        check(ja, mim_core_broadcast_status(ja->core, &id, status_one, &l)) != 0) {
        json_decref(l.acked);
        json_decref(l.pending);
        return;
    }
    mim_msg_id_hex(&id, hex);
    ja_emit(ja,
            json_pack("{s:s,s:s,s:o,s:o}", "event", "broadcast_status", "id", hex, "acked", l.acked,
                      "pending", l.pending),
            ja->tag);
}
