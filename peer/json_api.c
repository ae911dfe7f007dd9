/* The JSON-lines front end (see json_api.h). jansson builds and parses every line: no JSON is
 * assembled by hand, so any text a peer sends is escaped correctly. */
#include "json_api.h"
#include "content.h"
#include "mim_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

struct json_api {
    uv_loop_t *loop;
    mim_core *core; /* NULL once stopped */
    void (*done)(void *ud, int exit_code);
    void *ud;
    int kind; /* uv_handle_type of fd 0 */
    union {
        uv_pipe_t pipe;
        uv_tty_t tty;
    } in;
    int in_open; /* the stream handle is initialised and not closed */
    uv_fs_t fsreq;
    int fs_busy; /* a uv_fs_read is in flight */
    int reading; /* commands are still accepted */
    int stopped; /* the core has stopped */
    int exit_code;
    char *line; /* JSON_API_LINE_MAX + 1 bytes */
    size_t len;
    int skipping; /* an over-long line is being skipped up to its newline */
    char *rbuf;   /* READ_CHUNK bytes */
    json_t *tag;  /* the current command's tag (borrowed), or NULL */
    json_t *tags; /* message id -> tag of its send command */
    /* The send commands of one read share a commit (mim_core_batch_begin); their answers come
     * when the batch ends: at the end of the read, or before any other command's answer. */
    int batching;
    json_t *batch_tags; /* message id -> tag, for the sends of the open batch */
};

/* ---- output ---------------------------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
    json_t *j = json_string(s != NULL ? s : "");
    return j != NULL ? j : json_string("");
}

/* Writes ev (consumed) with the tag, if any, as one line. */
static void emit(json_api *ja, json_t *ev, json_t *tag)
{
    char *s;

    (void)ja;
    if (ev == NULL)
        return;
    if (tag != NULL)
        json_object_set(ev, "tag", tag);
    s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (s == NULL) {
        mim_log_error("cannot encode an event");
        return;
    }
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(s);
}

static json_t *event(const char *name)
{
    return json_pack("{s:s}", "event", name);
}

/* Ends the open send batch: its sends are committed and answered now. */
static void batch_end(json_api *ja)
{
    if (!ja->batching)
        return;
    ja->batching = 0;
    mim_core_batch_end(ja->core);
    json_object_clear(ja->batch_tags);
}

/* An error answers the command being read: the sends of the batch before it are answered
 * first, whatever the error (a bad line, a refused send, a missing field). */
static void emit_error(json_api *ja, const char *code, const char *message)
{
    batch_end(ja);
    emit(ja, json_pack("{s:s,s:s,s:o}", "event", "error", "code", code, "message", jstr(message)),
         ja->tag);
}

/* ---- the words of the JSON API (docs/JSON-API.md) for the core's enums ----------------------- */

static const char *presence_word(mim_core_presence state)
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

static const char *verdict_word(mim_core_key_verdict verdict)
{
    return verdict == MIM_CORE_KEY_NEW     ? "new"
           : verdict == MIM_CORE_KEY_MATCH ? "match"
                                           : "changed";
}

static const char *status_word(mim_core_user_status status)
{
    return status == MIM_CORE_AWAY ? "away" : status == MIM_CORE_BUSY ? "busy" : "available";
}

/* The status a word names: 0 and *out, or -1 for no status. */
static int status_parse(const char *word, mim_core_user_status *out)
{
    static const mim_core_user_status all[] = {MIM_CORE_AVAILABLE, MIM_CORE_AWAY, MIM_CORE_BUSY};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(word, status_word(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

static const char *msg_state_word(mim_core_msg_state state)
{
    switch (state) {
    case MIM_CORE_MSG_QUEUED:
        return "queued";
    case MIM_CORE_MSG_SENT:
        return "sent";
    case MIM_CORE_MSG_DELIVERED:
        return "delivered";
    default:
        return "received";
    }
}

static const char *error_word(mim_core_error code)
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
    emit(ja,
         json_pack("{s:s,s:o,s:s,s:i}", "event", "ready", "name", jstr(name), "fingerprint",
                   fingerprint, "listen_port", (int)listen_port),
         NULL);
}

static void on_presence(void *ud, mim_core_presence state, const char *server)
{
    emit(ud,
         json_pack("{s:s,s:s,s:o}", "event", "presence", "state", presence_word(state), "server",
                   jstr(server)),
         NULL);
}

static void on_server_key(void *ud, const char *fingerprint, mim_core_key_verdict verdict,
                          const char *old_fingerprint)
{
    json_t *ev = json_pack("{s:s,s:s,s:s}", "event", "server_key", "fingerprint", fingerprint,
                           "verdict", verdict_word(verdict));
    if (ev != NULL && old_fingerprint != NULL)
        json_object_set_new(ev, "old_fingerprint", jstr(old_fingerprint));
    emit(ud, ev, NULL);
}

static json_t *online_event(const mim_core_peer_info *p)
{
    return json_pack("{s:s,s:o,s:s,s:i,s:s,s:s,s:o}", "event", "online", "name", jstr(p->name),
                     "addr", p->addr, "port", (int)p->port, "fingerprint", p->fingerprint, "status",
                     status_word(p->status), "text", jstr(p->text));
}

static void on_online(void *ud, const mim_core_peer_info *p)
{
    emit(ud, online_event(p), NULL);
}

static void on_offline(void *ud, const char *name)
{
    emit(ud, json_pack("{s:s,s:o}", "event", "offline", "name", jstr(name)), NULL);
}

static void on_status(void *ud, const char *name, mim_core_user_status status, const char *text)
{
    emit(ud,
         json_pack("{s:s,s:o,s:s,s:o}", "event", "status", "name", jstr(name), "state",
                   status_word(status), "text", jstr(text)),
         NULL);
}

static void on_message(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                       const char *text)
{
    char hex[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(id, hex);
    emit(ud,
         json_pack("{s:s,s:o,s:s,s:I,s:o,s:s}", "event", "message", "from", jstr(from), "id", hex,
                   "ts", (json_int_t)ts_ms, "text", jstr(text), "type", "text"),
         NULL);
}

/* An image, a file or a later version's content: a message event all the same (a script that
 * only reads "text" still sees that something came), with supported: false. */
static void on_unsupported(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                           int content_type, const char *description)
{
    char hex[MIM_MSG_ID_HEX_LEN], tbuf[16];

    mim_msg_id_hex(id, hex);
    emit(ud,
         json_pack("{s:s,s:o,s:s,s:I,s:o,s:s,s:b}", "event", "message", "from", jstr(from), "id",
                   hex, "ts", (json_int_t)ts_ms, "text", jstr(description), "type",
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
    ev = json_pack("{s:s,s:o,s:s}", "event", name, "to", jstr(to), "id", id);

    emit(ja, ev, tag);
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

/* The batch's commit failed: the send's answer is the error it would have had on its own. */
static void on_send_failed(void *ud, const char *to, const mim_msg_id *mid)
{
    json_api *ja = ud;
    char id[MIM_MSG_ID_HEX_LEN];
    json_t *tag;

    (void)to;
    mim_msg_id_hex(mid, id);
    tag = json_object_get(ja->batch_tags, id);
    emit(ja,
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
    emit(ud,
         json_pack("{s:s,s:s,s:o,s:s,s:s}", "event", "error", "code", "quota", "to", jstr(to), "id",
                   id, "message",
                   "the peer refused it: over its quota for you; it stays queued and is tried "
                   "again later"),
         NULL);
}

static void on_key_changed(void *ud, const char *name, const char *old_fp, const char *new_fp)
{
    emit(ud,
         json_pack("{s:s,s:o,s:s,s:s}", "event", "key_changed", "name", jstr(name),
                   "old_fingerprint", old_fp, "new_fingerprint", new_fp),
         NULL);
}

static void on_chat_opened(void *ud, const char *with)
{
    emit(ud, json_pack("{s:s,s:o}", "event", "chat_opened", "with", jstr(with)), NULL);
}

static void on_chat_closed(void *ud, const char *with)
{
    emit(ud, json_pack("{s:s,s:o}", "event", "chat_closed", "with", jstr(with)), NULL);
}

static void stop_reading(json_api *ja);

static void on_error(void *ud, mim_core_error code, const char *message, int fatal)
{
    json_api *ja = ud;
    emit(ja,
         json_pack("{s:s,s:s,s:o,s:b}", "event", "error", "code", error_word(code), "message",
                   jstr(message), "fatal", fatal != 0),
         NULL);
    if (fatal)
        stop_reading(ja); /* the core is stopping by itself */
}

static void on_in_closed(uv_handle_t *h)
{
    (void)h;
}

static void maybe_done(json_api *ja)
{
    if (!ja->stopped || ja->fs_busy || ja->in_open)
        return;
    if (ja->done != NULL) {
        void (*done)(void *, int) = ja->done;
        ja->done = NULL;
        done(ja->ud, ja->exit_code);
    }
}

static void on_in_closed_done(uv_handle_t *h)
{
    json_api *ja = h->data;
    on_in_closed(h);
    maybe_done(ja);
}

static void on_stopped(void *ud, int exit_code)
{
    json_api *ja = ud;

    ja->core = NULL;
    ja->stopped = 1;
    ja->exit_code = exit_code;
    stop_reading(ja);
    if (ja->in_open && !uv_is_closing((uv_handle_t *)&ja->in)) {
        uv_close((uv_handle_t *)&ja->in, on_in_closed_done);
        ja->in_open = 0; /* closing: maybe_done runs from its callback */
        return;
    }
    maybe_done(ja);
}

static const mim_core_events core_events = MIM_CORE_EVENTS_BY_NAME;

const mim_core_events *json_api_core_events(void)
{
    return &core_events;
}

/* ---- commands -------------------------------------------------------------------------------- */

/* A required string field: 0 and *out, or -1 after an error event. */
static int need_str(json_api *ja, json_t *cmd, const char *field, const char **out)
{
    json_t *v = json_object_get(cmd, field);
    char msg[96];

    if (v == NULL) {
        snprintf(msg, sizeof(msg), "'%s' is required", field);
        emit_error(ja, "missing_field", msg);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "'%s' must be a string", field);
        emit_error(ja, "bad_field", msg);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* Turns a mim_core command result into an error event; 0 when rc is 0. */
static int check(json_api *ja, int rc, const char *who)
{
    char msg[300];

    switch (rc) {
    case 0:
        return 0;
    case MIM_CORE_EUNKNOWN_PEER:
        snprintf(msg, sizeof(msg), "no contact or online peer named '%.128s'", who);
        emit_error(ja, "unknown_peer", msg);
        break;
    case MIM_CORE_ETEXT:
        emit_error(ja, "text_too_long",
                   "the text is empty, too long, or has control characters it may not have");
        break;
    case MIM_CORE_EBAD_NAME:
        emit_error(ja, "bad_field", "not a valid name");
        break;
    case MIM_CORE_ENOTHING:
        snprintf(msg, sizeof(msg), "no new key of '%.128s' waits to be trusted", who);
        emit_error(ja, "bad_field", msg);
        break;
    case MIM_CORE_EFINGERPRINT:
        snprintf(msg, sizeof(msg),
                 "the new key of '%.128s' does not have that fingerprint: nothing trusted", who);
        emit_error(ja, "bad_field", msg);
        break;
    case MIM_CORE_EUNSEEN:
        snprintf(msg, sizeof(msg),
                 "the new key of '%.128s' changed since the last key_changed: nothing trusted; "
                 "check it and pass its fingerprint",
                 who);
        emit_error(ja, "key_unseen", msg);
        break;
    case MIM_CORE_ESTORE:
        emit_error(ja, "store", "the local store failed; the command was not done");
        break;
    default:
        emit_error(ja, "bad_field", "a value is out of range");
        break;
    }
    return -1;
}

static void emit_ok(json_api *ja, const char *cmd)
{
    emit(ja, json_pack("{s:s,s:s}", "event", "ok", "cmd", cmd), ja->tag);
}

static void cmd_send(json_api *ja, json_t *cmd)
{
    const char *to, *text;
    mim_msg_id id;
    char hex[MIM_MSG_ID_HEX_LEN];
    int rc;

    if (need_str(ja, cmd, "to", &to) != 0 || need_str(ja, cmd, "text", &text) != 0)
        return;
    if (!ja->batching) {
        mim_core_batch_begin(ja->core);
        ja->batching = 1;
    }
    /* Inside the batch the send's events wait for its end: its tag is in place by then. */
    rc = mim_core_send(ja->core, to, text, &id);
    if (rc != 0) {
        (void)check(ja, rc, to); /* after the answers of the sends before it (emit_error) */
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
    emit(ja, online_event(p), ja->tag);
}

static void history_one(void *arg, const mim_core_history_item *m)
{
    json_t *arr = arg;
    char hex[MIM_MSG_ID_HEX_LEN], tbuf[16];

    mim_msg_id_hex(&m->id, hex);
    json_array_append_new(arr, json_pack("{s:s,s:I,s:o,s:o,s:o,s:s,s:s}", "id", hex, "ts",
                                         (json_int_t)m->ts_ms, "from", jstr(m->from), "to",
                                         jstr(m->to), "text", jstr(m->text), "state",
                                         msg_state_word(m->state), "type",
                                         content_type_name(m->content_type, tbuf, sizeof(tbuf))));
}

static void cmd_history(json_api *ja, json_t *cmd)
{
    const char *with;
    json_t *lim = json_object_get(cmd, "limit");
    json_int_t limit = 50;
    json_t *arr;

    if (need_str(ja, cmd, "with", &with) != 0)
        return;
    if (lim != NULL) {
        if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
            json_integer_value(lim) > MIM_CORE_HISTORY_MAX) {
            emit_error(ja, "bad_field", "'limit' must be an integer from 1 to 1000");
            return;
        }
        limit = json_integer_value(lim);
    }
    if ((arr = json_array()) == NULL)
        return;
    if (check(ja, mim_core_history(ja->core, with, (size_t)limit, history_one, arr), with) != 0) {
        json_decref(arr);
        return;
    }
    emit(ja, json_pack("{s:s,s:o,s:o}", "event", "history", "with", jstr(with), "messages", arr),
         ja->tag);
}

static void cmd_status(json_api *ja, json_t *cmd)
{
    const char *state, *text = NULL;
    json_t *t = json_object_get(cmd, "text");
    mim_core_user_status status;
    int rc;

    if (need_str(ja, cmd, "state", &state) != 0)
        return;
    if (t != NULL && need_str(ja, cmd, "text", &text) != 0)
        return;
    /* An unknown state, or the core's refusal of one, is this field's error. */
    rc = status_parse(state, &status) != 0 ? MIM_CORE_EBAD_VALUE
                                           : mim_core_status(ja->core, status, text);
    if (rc == MIM_CORE_EBAD_VALUE)
        emit_error(ja, "bad_field", "'state' must be available, away or busy");
    else if (check(ja, rc, "") == 0)
        emit_ok(ja, "status");
}

static void cmd_verify(json_api *ja, json_t *cmd)
{
    const char *with;
    char number[MIM_CORE_SAFETY_NUMBER_LEN];

    if (need_str(ja, cmd, "with", &with) != 0)
        return;
    if (check(ja, mim_core_verify(ja->core, with, number), with) != 0)
        return;
    emit(ja,
         json_pack("{s:s,s:o,s:s}", "event", "safety_number", "with", jstr(with), "number", number),
         ja->tag);
}

/* The optional "fingerprint" of trust and trust_server: *fp NULL when absent. 0, or -1 (said). */
static int opt_fingerprint(json_api *ja, json_t *cmd, const char **fp)
{
    *fp = NULL;
    if (json_object_get(cmd, "fingerprint") == NULL)
        return 0;
    return need_str(ja, cmd, "fingerprint", fp);
}

/* trust_server {fingerprint?}: accept the presence server's changed key. */
static void cmd_trust_server(json_api *ja, json_t *cmd)
{
    const char *fp;

    if (opt_fingerprint(ja, cmd, &fp) != 0)
        return;
    if (check(ja, mim_core_trust_server(ja->core, fp), "the server") == 0)
        emit_ok(ja, "trust_server");
}

static void cmd_with(json_api *ja, json_t *cmd, const char *name)
{
    const char *with;
    int rc;

    if (need_str(ja, cmd, "with", &with) != 0)
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
            emit_error(ja, "missing_field", "'value' is required");
            return;
        }
        if (!json_is_boolean(v)) {
            emit_error(ja, "bad_field", "'value' must be true or false");
            return;
        }
        rc = mim_core_verified(ja->core, with, json_is_true(v));
    }
    if (check(ja, rc, with) == 0)
        emit_ok(ja, name);
}

static void do_quit(json_api *ja)
{
    stop_reading(ja);
    if (ja->core != NULL)
        mim_core_quit(ja->core, 0);
}

static void handle_line(json_api *ja, const char *line, size_t len)
{
    json_error_t err;
    json_t *cmd, *c;
    const char *name;
    char msg[300];

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return; /* an empty line is no command */
    ja->tag = NULL;
    cmd = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    c = json_is_object(cmd) ? json_object_get(cmd, "cmd") : NULL;
    if (!json_is_string(c) || strcmp(json_string_value(c), "send") != 0)
        batch_end(ja); /* the answers of the sends before this command come first */
    if (cmd == NULL || !json_is_object(cmd)) {
        if (cmd == NULL)
            snprintf(msg, sizeof(msg), "not JSON: %s", err.text);
        else
            snprintf(msg, sizeof(msg), "a command is a JSON object");
        emit_error(ja, "bad_json", msg);
        json_decref(cmd);
        return;
    }
    ja->tag = json_object_get(cmd, "tag");
    if (ja->tag != NULL) {
        /* Tags are remembered (send) and repeated: their size is capped. */
        char *t = json_dumps(ja->tag, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t n = t != NULL ? strlen(t) : (size_t)-1;
        free(t);
        if (n > JSON_API_TAG_MAX) {
            ja->tag = NULL; /* not repeated */
            snprintf(msg, sizeof(msg), "'tag' is over %d bytes of JSON", JSON_API_TAG_MAX);
            emit_error(ja, "bad_field", msg);
            json_decref(cmd);
            return;
        }
    }
    if (c == NULL) {
        emit_error(ja, "missing_field", "'cmd' is required");
    } else if (!json_is_string(c)) {
        emit_error(ja, "bad_field", "'cmd' must be a string");
    } else if (strcmp(name = json_string_value(c), "send") == 0) {
        cmd_send(ja, cmd);
    } else if (strcmp(name, "who") == 0) {
        mim_core_who(ja->core, who_one, ja);
        emit(ja, event("who_end"), ja->tag);
    } else if (strcmp(name, "status") == 0) {
        cmd_status(ja, cmd);
    } else if (strcmp(name, "history") == 0) {
        cmd_history(ja, cmd);
    } else if (strcmp(name, "verify") == 0) {
        cmd_verify(ja, cmd);
    } else if (strcmp(name, "trust") == 0 || strcmp(name, "verified") == 0 ||
               strcmp(name, "close") == 0) {
        cmd_with(ja, cmd, name);
    } else if (strcmp(name, "trust_server") == 0) {
        cmd_trust_server(ja, cmd);
    } else if (strcmp(name, "quit") == 0) {
        do_quit(ja);
    } else {
        snprintf(msg, sizeof(msg), "no command '%.64s'", name);
        emit_error(ja, "unknown_command", msg);
    }
    ja->tag = NULL;
    json_decref(cmd);
}

/* ---- stdin ----------------------------------------------------------------------------------- */

static void feed(json_api *ja, const char *p, size_t n)
{
    while (n > 0 && ja->reading) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - p) : n;

        if (!ja->skipping) {
            if (ja->len + take > JSON_API_LINE_MAX) {
                char msg[96];
                snprintf(msg, sizeof(msg), "a command line over %d bytes was skipped",
                         JSON_API_LINE_MAX);
                ja->tag = NULL;
                emit_error(ja, "bad_json", msg);
                ja->skipping = 1;
                ja->len = 0;
            } else {
                memcpy(ja->line + ja->len, p, take);
                ja->len += take;
            }
        }
        if (nl == NULL)
            break;
        if (!ja->skipping)
            handle_line(ja, ja->line, ja->len);
        ja->skipping = 0;
        ja->len = 0;
        p = nl + 1;
        n -= take + 1;
    }
    batch_end(ja); /* a read's sends: one commit */
}

static void at_eof(json_api *ja)
{
    if (!ja->reading)
        return;
    if (ja->len > 0 && !ja->skipping)
        handle_line(ja, ja->line, ja->len); /* a last line without its newline */
    batch_end(ja);
    ja->len = 0;
    mim_log_debug("end of input: quitting");
    do_quit(ja);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    json_api *ja = h->data;
    (void)suggested;
    *buf = uv_buf_init(ja->rbuf, READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    json_api *ja = s->data;

    if (nread > 0)
        feed(ja, buf->base, (size_t)nread);
    else if (nread < 0) {
        if (nread != UV_EOF)
            mim_log_warn("stdin: %s", uv_strerror((int)nread));
        at_eof(ja);
    }
}

static void start_fs_read(json_api *ja);

static void on_fs_read(uv_fs_t *req)
{
    json_api *ja = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    ja->fs_busy = 0;
    if (n > 0 && ja->reading) {
        feed(ja, ja->rbuf, (size_t)n);
        start_fs_read(ja);
    } else if (ja->reading) {
        at_eof(ja);
    }
    maybe_done(ja);
}

static void start_fs_read(json_api *ja)
{
    uv_buf_t b = uv_buf_init(ja->rbuf, READ_CHUNK);

    if (!ja->reading)
        return;
    ja->fsreq.data = ja;
    if (uv_fs_read(ja->loop, &ja->fsreq, 0, &b, 1, -1, on_fs_read) != 0) {
        at_eof(ja);
        return;
    }
    ja->fs_busy = 1;
}

static void stop_reading(json_api *ja)
{
    if (!ja->reading)
        return;
    ja->reading = 0;
    if (ja->in_open)
        uv_read_stop((uv_stream_t *)&ja->in);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

json_api *json_api_new(uv_loop_t *loop, void (*done)(void *ud, int exit_code), void *ud)
{
    json_api *ja = calloc(1, sizeof(*ja));

    if (ja == NULL)
        return NULL;
    ja->loop = loop;
    ja->done = done;
    ja->ud = ud;
    ja->line = malloc(JSON_API_LINE_MAX + 1);
    ja->rbuf = malloc(READ_CHUNK);
    ja->tags = json_object();
    ja->batch_tags = json_object();
    if (ja->line == NULL || ja->rbuf == NULL || ja->tags == NULL || ja->batch_tags == NULL) {
        json_api_free(ja);
        return NULL;
    }
    return ja;
}

int json_api_attach(json_api *ja, mim_core *core)
{
    int rc;

    ja->core = core;
    ja->reading = 1;
    ja->kind = uv_guess_handle(0);
    switch (ja->kind) {
    case UV_TTY:
        if ((rc = uv_tty_init(ja->loop, &ja->in.tty, 0, 1)) != 0)
            return rc;
        break;
    case UV_NAMED_PIPE:
    case UV_TCP:
        if ((rc = uv_pipe_init(ja->loop, &ja->in.pipe, 0)) != 0)
            return rc;
        if ((rc = uv_pipe_open(&ja->in.pipe, 0)) != 0) {
            ja->in_open = 1;
            ja->in.pipe.data = ja;
            uv_close((uv_handle_t *)&ja->in, on_in_closed);
            ja->in_open = 0;
            return rc;
        }
        break;
    default: /* a file, /dev/null: read through the thread pool */
        start_fs_read(ja);
        return 0;
    }
    ja->in_open = 1;
    ((uv_handle_t *)&ja->in)->data = ja;
    if ((rc = uv_read_start((uv_stream_t *)&ja->in, on_alloc, on_read)) != 0)
        return rc;
    return 0;
}

void json_api_quit(json_api *ja)
{
    do_quit(ja);
}

void json_api_free(json_api *ja)
{
    if (ja == NULL)
        return;
    json_decref(ja->tags);
    json_decref(ja->batch_tags);
    free(ja->line);
    free(ja->rbuf);
    free(ja);
}
