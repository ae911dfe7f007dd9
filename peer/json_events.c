/* The core's events as JSON-API events (docs/JSON-API.md), and the API's words for the core's
 * enums. */
#include "json_api_priv.h"
#include "content.h"
#include "mim_log.h"

#include <string.h>

const char *ja_presence_word(mim_core_presence state)
{
    switch (state) {
    case MIM_CORE_PRESENCE_CONNECTED:
        return "connected";
    case MIM_CORE_PRESENCE_RECONNECTING:
        return "reconnecting";
    default:
        return "disconnected";
    }
}

const char *ja_verdict_word(mim_core_key_verdict verdict)
{
    return verdict == MIM_CORE_KEY_NEW     ? "new"
           : verdict == MIM_CORE_KEY_MATCH ? "match"
                                           : "changed";
}

const char *ja_status_word(mim_core_user_status status)
{
    return status == MIM_CORE_AWAY ? "away" : status == MIM_CORE_BUSY ? "busy" : "available";
}

/* The status a word names: 0 and *out, or -1 for no status. */
int ja_status_parse(const char *word, mim_core_user_status *out)
{
    static const mim_core_user_status all[] = {MIM_CORE_AVAILABLE, MIM_CORE_AWAY, MIM_CORE_BUSY};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(word, ja_status_word(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

const char *ja_msg_state_word(mim_core_msg_state state)
{
    switch (state) {
    case MIM_CORE_MSG_QUEUED:
        return "queued";
    case MIM_CORE_MSG_SENT:
        return "sent";
    case MIM_CORE_MSG_DELIVERED:
        return "delivered";
    case MIM_CORE_MSG_READ:
        return "read";
    case MIM_CORE_MSG_DEPOSITED:
        return "deposited"; /* issue 14 */
    default:
        return "received";
    }
}

const char *ja_error_word(mim_core_error code)
{
    switch (code) {
    case MIM_CORE_ERROR_STORE:
        return "store";
    case MIM_CORE_ERROR_NAME_TAKEN:
        return "name_taken";
    case MIM_CORE_ERROR_NEW_CONTACTS:
        return "new_contacts";
    default:
        return "server";
    }
}

/* ---- core events ----------------------------------------------------------------------------- */

static void on_ready(void *ud, const char *name, const char *fingerprint, uint16_t listen_port)
{
    json_api *ja = ud;
    ja_emit(ja,
            json_pack("{s:s,s:o,s:s,s:i}", "event", "ready", "name", ja_str(name), "fingerprint",
                      fingerprint, "listen_port", (int)listen_port),
            NULL);
}

static void on_presence(void *ud, mim_core_presence state, const char *server)
{
    ja_emit(ud,
            json_pack("{s:s,s:s,s:o}", "event", "presence", "state", ja_presence_word(state),
                      "server", ja_str(server)),
            NULL);
}

static void on_server_key(void *ud, const char *fingerprint, mim_core_key_verdict verdict,
                          const char *old_fingerprint)
{
    json_t *ev = json_pack("{s:s,s:s,s:s}", "event", "server_key", "fingerprint", fingerprint,
                           "verdict", ja_verdict_word(verdict));
    if (ev != NULL && old_fingerprint != NULL)
        json_object_set_new(ev, "old_fingerprint", ja_str(old_fingerprint));
    ja_emit(ud, ev, NULL);
}

json_t *ja_online_event(const mim_core_peer_info *p)
{
    return json_pack("{s:s,s:o,s:s,s:i,s:s,s:s,s:o}", "event", "online", "name", ja_str(p->name),
                     "addr", p->addr, "port", (int)p->port, "fingerprint", p->fingerprint, "status",
                     ja_status_word(p->status), "text", ja_str(p->text));
}

static void on_online(void *ud, const mim_core_peer_info *p)
{
    ja_emit(ud, ja_online_event(p), NULL);
}

static void on_offline(void *ud, const char *name)
{
    ja_emit(ud, json_pack("{s:s,s:o}", "event", "offline", "name", ja_str(name)), NULL);
}

static void on_status(void *ud, const char *name, mim_core_user_status status, const char *text)
{
    ja_emit(ud,
            json_pack("{s:s,s:o,s:s,s:o}", "event", "status", "name", ja_str(name), "state",
                      ja_status_word(status), "text", ja_str(text)),
            NULL);
}

/* Issue 16: a message's "room" (its name when known, else its id) and "broadcast": true. */
json_t *ja_fanout_fields(json_t *ev, const mim_core_msg_meta *meta)
{
    if (ev == NULL || meta == NULL)
        return ev;
    if (meta->room_id != NULL)
        json_object_set_new(ev, "room",
                            ja_str(meta->room_name != NULL ? meta->room_name : meta->room_id));
    if (meta->broadcast != 0)
        json_object_set_new(ev, "broadcast", json_true());
    if (meta->broadcast == 2) /* issue 16: ack_broadcast {id} is asked for */
        json_object_set_new(ev, "important", json_true());
    return ev;
}

static void on_message(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                       const char *text, const mim_core_msg_meta *meta)
{
    char hex[MIM_MSG_ID_HEX_LEN];
    json_t *ev;

    mim_msg_id_hex(id, hex);
    ev = json_pack("{s:s,s:o,s:s,s:I,s:o,s:s}", "event", "message", "from", ja_str(from), "id", hex,
                   "ts", (json_int_t)ts_ms, "text", ja_str(text), "type", "text");
    ja_emit(ud, ja_fanout_fields(ev, meta), NULL); /* issue 16: "room", "broadcast" */
}

/* An image, a file or a later version's content: a message event all the same (a script that
 * only reads "text" still sees that something came), with supported: false. */
static void on_unsupported(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                           int content_type, const char *description)
{
    char hex[MIM_MSG_ID_HEX_LEN], tbuf[16];

    mim_msg_id_hex(id, hex);
    ja_emit(ud,
            json_pack("{s:s,s:o,s:s,s:I,s:o,s:s,s:b}", "event", "message", "from", ja_str(from),
                      "id", hex, "ts", (json_int_t)ts_ms, "text", ja_str(description), "type",
                      content_type_name(content_type, tbuf, sizeof(tbuf)), "supported", 0),
            NULL);
}

/* queued, sent, delivered: tagged with their send command's tag. */
static void emit_msg_state(json_api *ja, const char *name, const char *to, const mim_msg_id *mid,
                           int last)
{
    char id[MIM_MSG_ID_HEX_LEN];
    json_t *tag, *ev;

    mim_msg_id_hex(mid, id);
    tag = json_object_get(ja->tags, id);

    /* The answer to a send of the batch: its tag is at hand even when the memory is full. */
    if (tag == NULL)
        tag = json_object_get(ja->batch_tags, id);
    if (tag == NULL && ja->sending_file)
        tag = ja->tag; /* send_file's answer, from inside its call */
    ev = json_pack("{s:s,s:o,s:s}", "event", name, "to", ja_str(to), "id", id);

    ja_emit(ja, ev, tag);
    if (last && tag != NULL)
        json_object_del(ja->tags, id);
}

static void on_queued(void *ud, const char *to, const mim_msg_id *id)
{
    emit_msg_state(ud, "queued", to, id, 0);
}

static void on_sent(void *ud, const char *to, const mim_msg_id *id)
{
    emit_msg_state(ud, "sent", to, id, 0);
}

static void on_delivered(void *ud, const char *to, const mim_msg_id *id)
{
    emit_msg_state(ud, "delivered", to, id, 1);
}

static void on_read(void *ud, const char *to, const mim_msg_id *id)
{
    emit_msg_state(ud, "read", to, id, 0);
}

/* Issue 16: a room changed (or was created, or left): tagged with the command that changed it
 * when it comes from inside one. */
static void on_room(void *ud, const mim_core_room_info *r)
{
    json_api *ja = ud;

    ja_emit(ja, ja_room_event(r), ja->tag);
}

/* Issue 16: a copy of a room's message or of a broadcast delivered, with the counts; the tag
 * is dropped with the last copy. */
static void on_fanout_delivered(void *ud, const mim_core_fanout_delivery *d)
{
    json_api *ja = ud;
    char id[MIM_MSG_ID_HEX_LEN];
    json_t *tag, *ev;

    mim_msg_id_hex(d->id, id);
    tag = json_object_get(ja->tags, id);
    ev = json_pack("{s:s,s:o,s:s}", "event", "delivered", "to", ja_str(d->to), "id", id);
    if (ev != NULL && d->room_id != NULL)
        json_object_set_new(ev, "room", ja_str(d->room_name != NULL ? d->room_name : d->room_id));
    if (ev != NULL && d->kind != MIM_CORE_FANOUT_ROOM)
        json_object_set_new(ev, "broadcast", json_true());
    if (ev != NULL) {
        json_object_set_new(ev, "delivered", json_integer(d->delivered));
        json_object_set_new(ev, "of", json_integer(d->total));
    }
    ja_emit(ja, ev, tag);
    if (tag != NULL && d->delivered >= d->total)
        json_object_del(ja->tags, id);
}

static void on_typing(void *ud, const char *with, int typing)
{
    ja_emit(ud,
            json_pack("{s:s,s:o,s:b}", "event", "typing", "with", ja_str(with), "typing", typing),
            NULL);
}

/* The batch's commit failed: the send's answer is the error it would have had on its own. */
static void on_send_failed(void *ud, const char *to, const mim_msg_id *mid)
{
    json_api *ja = ud;
    char id[MIM_MSG_ID_HEX_LEN];
    json_t *tag;

    (void)to;
    mim_msg_id_hex(mid, id);
    tag = json_object_get(ja->batch_tags, id);
    ja_emit(ja,
            json_pack("{s:s,s:s,s:s,s:s}", "event", "error", "code", "store", "message",
                      "the local store failed; the message was not stored or sent", "id", id),
            tag);
    json_object_del(ja->tags, id);
}

/* The peer refused to store the message (we are over its quota): it stays in the outbox. */
static void on_send_refused(void *ud, const char *to, const mim_msg_id *mid)
{
    char id[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(mid, id);
    ja_emit(ud,
            json_pack("{s:s,s:s,s:o,s:s,s:s}", "event", "error", "code", "quota", "to", ja_str(to),
                      "id", id, "message",
                      "the peer refused it: over its quota for you; it stays queued and is tried "
                      "again later"),
            NULL);
}

static void on_key_changed(void *ud, const char *name, const char *old_fp, const char *new_fp)
{
    ja_emit(ud,
            json_pack("{s:s,s:o,s:s,s:s}", "event", "key_changed", "name", ja_str(name),
                      "old_fingerprint", old_fp, "new_fingerprint", new_fp),
            NULL);
}

static void on_chat_opened(void *ud, const char *with)
{
    ja_emit(ud, json_pack("{s:s,s:o}", "event", "chat_opened", "with", ja_str(with)), NULL);
}

static void on_chat_closed(void *ud, const char *with)
{
    ja_emit(ud, json_pack("{s:s,s:o}", "event", "chat_closed", "with", ja_str(with)), NULL);
}

static void on_error(void *ud, mim_core_error code, const char *message, int fatal)
{
    json_api *ja = ud;
    ja_emit(ja,
            json_pack("{s:s,s:s,s:o,s:b}", "event", "error", "code", ja_error_word(code), "message",
                      ja_str(message), "fatal", fatal != 0),
            NULL);
    if (fatal)
        ja_stop_reading(ja); /* the core is stopping by itself */
}

static void on_stopped(void *ud, int exit_code)
{
    ja_core_stopped(ud, exit_code);
}

static void on_unreachable(void *ud, const char *to, const char *reason)
{
    ja_emit(ud,
            json_pack("{s:s,s:o,s:o}", "event", "unreachable", "to", ja_str(to), "reason",
                      ja_str(reason)),
            NULL);
}

/* Issue 14: the answers of the directory (json_cmd_directory.c). */
static void on_directory(void *ud, const mim_core_directory_entry *e, size_t n, int is_private)
{
    ja_directory_answer(ud, e, n, is_private);
}

static void on_lookup_failed(void *ud, const char *to, const mim_msg_id *id,
                             mim_core_lookup_fail why)
{
    ja_lookup_failed(ud, to, id, why);
}

static void on_waiting(void *ud, const char *to, mim_core_wait_reason reason)
{
    ja_emit(ud,
            json_pack("{s:s,s:o,s:s}", "event", "waiting", "to", ja_str(to), "reason",
                      reason == MIM_CORE_WAIT_KEY_NOT_ACCEPTED ? "key_not_accepted" : "other"),
            NULL);
}

/* Issue 14: the message is in the server's mailbox; or its copy there expired (queued again).
 * Neither is the message's last event: delivered follows. */
static void on_deposited(void *ud, const char *to, const mim_msg_id *id)
{
    emit_msg_state(ud, "deposited", to, id, 0);
}

static void on_expired(void *ud, const char *to, const mim_msg_id *id)
{
    emit_msg_state(ud, "expired", to, id, 0);
}

/* ---- files (issue 15; the events themselves are built in json_cmd_files.c) ------------------ */

const char *ja_file_dir_word(mim_core_file_dir dir)
{
    return dir == MIM_CORE_FILE_RECEIVE ? "receive" : "send";
}

const char *ja_file_state_word(mim_core_file_state state)
{
    switch (state) {
    case MIM_CORE_FILE_OFFERED:
        return "offered";
    case MIM_CORE_FILE_ACCEPTED:
        return "accepted";
    case MIM_CORE_FILE_RUNNING:
        return "running";
    case MIM_CORE_FILE_PAUSED:
        return "paused";
    case MIM_CORE_FILE_DONE:
        return "done";
    case MIM_CORE_FILE_REJECTED:
        return "rejected";
    default:
        return "failed";
    }
}

static void on_file_offer(void *ud, const mim_core_file_info *f, int accepted)
{
    ja_emit(ud, ja_file_event("file_offer", f, accepted), NULL);
}

static void on_file_progress(void *ud, const mim_core_file_info *f)
{
    ja_emit(ud, ja_file_event("file_progress", f, 0), NULL);
}

static void on_file_done(void *ud, const mim_core_file_info *f)
{
    ja_emit(ud, ja_file_event("file_done", f, 0), NULL);
}

static void on_file_failed(void *ud, const mim_core_file_info *f)
{
    ja_emit(ud, ja_file_event("file_failed", f, 0), NULL);
}

static void on_file_paused(void *ud, const mim_core_file_info *f)
{
    ja_emit(ud, ja_file_event("file_paused", f, 0), NULL);
}

/* Issue 16: {"event":"broadcast_ack","from":..,"id":..}: from acknowledged our important
 * broadcast. */
static void on_broadcast_ack(void *ud, const char *from, const mim_msg_id *id)
{
    char hex[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(id, hex);
    ja_emit(ud,
            json_pack("{s:s,s:o,s:s}", "event", "broadcast_ack", "from", ja_str(from), "id", hex),
            NULL);
}

static const mim_core_events core_events = MIM_CORE_EVENTS_BY_NAME;

const mim_core_events *json_api_core_events(void)
{
    return &core_events;
}
