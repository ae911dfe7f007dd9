/* The JSON API's commands (docs/JSON-API.md): each parses its fields and calls the core. */
#include "json_api_priv.h"
#include "content.h"

#include <stdio.h>
#include <string.h>

int ja_need_str(json_api *ja, json_t *cmd, const char *field, const char **out)
{
    json_t *v = json_object_get(cmd, field);
    char msg[96];

    if (v == NULL) {
        snprintf(msg, sizeof(msg), "'%s' is required", field);
        ja_error(ja, "missing_field", msg);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "'%s' must be a string", field);
        ja_error(ja, "bad_field", msg);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* Turns a mim_core command result into an error event; 0 when rc is 0. */
int ja_check(json_api *ja, int rc, const char *who)
{
    char msg[300];

    switch (rc) {
    case 0:
        return 0;
    case MIM_CORE_EUNKNOWN_PEER:
        snprintf(msg, sizeof(msg), "no contact or online peer named '%.128s'", who);
        ja_error(ja, "unknown_peer", msg);
        break;
    case MIM_CORE_ETEXT:
        ja_error(ja, "bad_field",
                 "the text is not UTF-8 or has control characters it may not have");
        break;
    case MIM_CORE_EEMPTY:
        ja_error(ja, "bad_field", "the text is empty");
        break;
    case MIM_CORE_ETOO_LONG: /* send and status say by how much (ja_too_long) */
        ja_error(ja, "text_too_long", "the text is over its limit");
        break;
    case MIM_CORE_ESELF:
        ja_error(ja, "bad_field", "that is your own name");
        break;
    case MIM_CORE_EBAD_NAME:
        ja_error(ja, "bad_field", "not a valid name");
        break;
    case MIM_CORE_ENOTHING:
        snprintf(msg, sizeof(msg), "no new key of '%.128s' waits to be trusted", who);
        ja_error(ja, "bad_field", msg);
        break;
    case MIM_CORE_EFINGERPRINT:
        snprintf(msg, sizeof(msg),
                 "the new key of '%.128s' does not have that fingerprint: nothing trusted", who);
        ja_error(ja, "bad_field", msg);
        break;
    case MIM_CORE_EUNSEEN:
        snprintf(msg, sizeof(msg),
                 "the new key of '%.128s' changed since the last key_changed: nothing trusted; "
                 "check it and pass its fingerprint",
                 who);
        ja_error(ja, "key_unseen", msg);
        break;
    case MIM_CORE_ESTORE:
        ja_error(ja, "store", "the local store failed; the command was not done");
        break;
    case MIM_CORE_EBUSY: /* issue 14 */
        ja_error(ja, "busy", "too many messages wait for their name's lookup; try again later");
        break;
    case MIM_CORE_EBLOCKED:
        snprintf(msg, sizeof(msg), "'%.128s' is blocked: unblock it first", who);
        ja_error(ja, "blocked", msg);
        break;
    default:
        ja_error(ja, "bad_field", "a value is out of range");
        break;
    }
    return -1;
}

/* text_too_long, saying by how many bytes `what` (len bytes) is over its limit of max. */
static void ja_too_long(json_api *ja, const char *what, size_t len, size_t max)
{
    char msg[160];

    snprintf(msg, sizeof(msg), "the %s is %zu bytes over its limit of %zu bytes", what, len - max,
             max);
    ja_error(ja, "text_too_long", msg);
}

void ja_ok(json_api *ja, const char *cmd)
{
    ja_emit(ja, json_pack("{s:s,s:s}", "event", "ok", "cmd", cmd), ja->tag);
}

static void cmd_send(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *to, *text;
    mim_msg_id id;
    char hex[MIM_MSG_ID_HEX_LEN];
    int rc;

    if (ja_need_str(ja, cmd, "to", &to) != 0 || ja_need_str(ja, cmd, "text", &text) != 0)
        return;
    if (!ja->batching) {
        mim_core_batch_begin(ja->core);
        ja->batching = 1;
    }
    /* Inside the batch the send's events wait for its end: its tag is in place by then. */
    rc = mim_core_send(ja->core, to, text, &id);
    if (rc == MIM_CORE_ETOO_LONG) {
        ja_too_long(ja, "text", strlen(text), MIM_CORE_TEXT_MAX);
        return;
    }
    if (rc != 0) {
        (void)ja_check(ja, rc, to); /* after the answers of the sends before it (emit_error) */
        return;
    }
    /* Tags are remembered for delivered (up to the cap) and for the batch's own answers. */
    if (ja->tag != NULL) {
        mim_msg_id_hex(&id, hex);
        if (json_object_size(ja->tags) < JSON_API_TAGS_MAX)
            json_object_set(ja->tags, hex, ja->tag);
        json_object_set(ja->batch_tags, hex, ja->tag);
    }
}

static void who_one(void *arg, const mim_core_peer_info *p)
{
    json_api *ja = arg;
    ja_emit(ja, ja_online_event(p), ja->tag);
}

static void history_one(void *arg, const mim_core_history_item *m)
{
    json_t *arr = arg;
    char hex[MIM_MSG_ID_HEX_LEN], tbuf[16];

    mim_core_msg_meta meta = {.broadcast = m->broadcast};

    mim_msg_id_hex(&m->id, hex);
    json_array_append_new(
        arr,
        ja_fanout_fields(
            json_pack("{s:s,s:I,s:o,s:o,s:o,s:s,s:s,s:b}", "id", hex, "ts", (json_int_t)m->ts_ms,
                      "from", ja_str(m->from), "to", ja_str(m->to), "text", ja_str(m->text),
                      "state", ja_msg_state_word(m->state), "type",
                      content_type_name(m->content_type, tbuf, sizeof(tbuf)), "unread", m->unread),
            &meta)); /* issue 16: "broadcast", "important" as the live message */
}

static void cmd_history(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *with = NULL, *room = NULL;
    json_t *lim = json_object_get(cmd, "limit");
    json_int_t limit = 50;
    json_t *arr;

    if (json_object_get(cmd, "room") != NULL ? ja_need_str(ja, cmd, "room", &room) != 0
                                             : ja_need_str(ja, cmd, "with", &with) != 0)
        return; /* issue 16: a room's history, or one peer's */
    if (lim != NULL) {
        if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
            json_integer_value(lim) > MIM_CORE_HISTORY_MAX) {
            ja_error(ja, "bad_field", "'limit' must be an integer from 1 to 1000");
            return;
        }
        limit = json_integer_value(lim);
    }
    if ((arr = json_array()) == NULL)
        return;
    if (room != NULL
            ? ja_room_check(ja,
                            mim_core_room_history(ja->core, room, (size_t)limit, history_one, arr),
                            room, "")
            : ja_check(ja, mim_core_history(ja->core, with, (size_t)limit, history_one, arr),
                       with)) {
        json_decref(arr);
        return;
    }
    ja_emit(ja,
            json_pack("{s:s,s:o,s:o}", "event", "history", room != NULL ? "room" : "with",
                      ja_str(room != NULL ? room : with), "messages", arr),
            ja->tag);
}

static void cmd_status(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *state, *text = NULL;
    json_t *t = json_object_get(cmd, "text");
    mim_core_user_status status;
    int rc;

    if (ja_need_str(ja, cmd, "state", &state) != 0)
        return;
    if (t != NULL && ja_need_str(ja, cmd, "text", &text) != 0)
        return;
    /* An unknown state, or the core's refusal of one, is this field's error. */
    rc = ja_status_parse(state, &status) != 0 ? MIM_CORE_EBAD_VALUE
                                              : mim_core_status(ja->core, status, text);
    if (rc == MIM_CORE_EBAD_VALUE)
        ja_error(ja, "bad_field", "'state' must be available, away or busy");
    else if (rc == MIM_CORE_ETOO_LONG && text != NULL)
        ja_too_long(ja, "status text", strlen(text), MIM_CORE_STATUS_TEXT_MAX);
    else if (ja_check(ja, rc, "") == 0)
        ja_ok(ja, "status");
}

static void cmd_verify(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *with;
    char number[MIM_CORE_SAFETY_NUMBER_LEN];
    int new_key;

    if (ja_need_str(ja, cmd, "with", &with) != 0)
        return;
    if (ja_check(ja, mim_core_verify(ja->core, with, number, &new_key), with) != 0)
        return;
    /* new_key: the number is of the changed key that waits for trust, not of the pin. */
    ja_emit(ja,
            json_pack("{s:s,s:o,s:s,s:b}", "event", "safety_number", "with", ja_str(with), "number",
                      number, "new_key", new_key),
            ja->tag);
}

/* The optional "fingerprint" of trust and trust_server: *fp NULL when absent. 0, or -1 (said). */
static int opt_fingerprint(json_api *ja, json_t *cmd, const char **fp)
{
    *fp = NULL;
    if (json_object_get(cmd, "fingerprint") == NULL)
        return 0;
    return ja_need_str(ja, cmd, "fingerprint", fp);
}

/* trust_server {fingerprint?}: accept the presence server's changed key. */
static void cmd_trust_server(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *fp;

    if (opt_fingerprint(ja, cmd, &fp) != 0)
        return;
    if (ja_check(ja, mim_core_trust_server(ja->core, fp), "the server") == 0)
        ja_ok(ja, "trust_server");
}

static void cmd_with(json_api *ja, json_t *cmd, const char *name)
{
    const char *with;
    int rc;

    if (ja_need_str(ja, cmd, "with", &with) != 0)
        return;
    if (strcmp(name, "trust") == 0) {
        const char *fp;
        if (opt_fingerprint(ja, cmd, &fp) != 0)
            return;
        rc = mim_core_trust(ja->core, with, fp);
    } else if (strcmp(name, "close") == 0) {
        rc = mim_core_close_chat(ja->core, with);
    } else { /* verified */
        json_t *v = json_object_get(cmd, "value");
        if (v == NULL) {
            ja_error(ja, "missing_field", "'value' is required");
            return;
        }
        if (!json_is_boolean(v)) {
            ja_error(ja, "bad_field", "'value' must be true or false");
            return;
        }
        rc = mim_core_verified(ja->core, with, json_is_true(v));
    }
    if (ja_check(ja, rc, with) == 0)
        ja_ok(ja, name);
}

static void cmd_who(json_api *ja, json_t *cmd, const char *name)
{
    (void)cmd, (void)name;
    mim_core_who(ja->core, who_one, ja);
    ja_emit(ja, ja_event("who_end"), ja->tag);
}

static void cmd_quit(json_api *ja, json_t *cmd, const char *name)
{
    (void)cmd, (void)name;
    ja_quit(ja);
}

static const json_cmd commands[] = {
    {"send", cmd_send},
    {"who", cmd_who},
    {"status", cmd_status},
    {"history", cmd_history},
    {"room_create", ja_cmd_room_create}, /* issue 16: json_cmd_rooms.c */
    {"room_send", ja_cmd_room_send},
    {"room_add", ja_cmd_room_change},
    {"room_remove", ja_cmd_room_change},
    {"room_admin", ja_cmd_room_change},
    {"room_leave", ja_cmd_room_change},
    {"rooms", ja_cmd_rooms},
    {"verify", cmd_verify},
    {"trust", cmd_with},
    {"verified", cmd_with},
    {"close", cmd_with},
    {"trust_server", cmd_trust_server},
    {"quit", cmd_quit},
    {"search", ja_cmd_search},
    /* everyday (json_cmd_everyday.c) */
    {"read", ja_cmd_read},
    {"typing", ja_cmd_typing},
    {"receipts", ja_cmd_receipts},
    {"block", ja_cmd_block},
    {"unblock", ja_cmd_block},
    /* contacts and the presence server (json_cmd_contacts.c) */
    {"contacts", ja_cmd_contacts},
    {"login", ja_cmd_login},
    {"logout", ja_cmd_login},
    /* the directory (json_cmd_directory.c, issue 14) */
    {"directory", ja_cmd_directory},
    /* files (json_cmd_files.c) */
    {"send_file", ja_cmd_send_file},
    {"accept_file", ja_cmd_accept_file},
    {"reject_file", ja_cmd_accept_file},
    {"files", ja_cmd_files},
    /* broadcast to everyone (json_cmd_broadcast.c, issue 16) */
    {"broadcast", ja_cmd_broadcast},
    {"ack_broadcast", ja_cmd_ack_broadcast},
    {"broadcast_status", ja_cmd_broadcast_status},
};

const json_cmd *json_cmd_find(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}
