/* What the JSON API's files share (json_api.c: stdin, output and life cycle; json_events.c: the
 * core's events as JSON; json_commands.c and json_cmd_*.c: the commands). Private to them. */
#ifndef MIM_PEER_JSON_API_PRIV_H
#define MIM_PEER_JSON_API_PRIV_H

#include "json_api.h"

#include <jansson.h>

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
    json_t *batch_tags;     /* message id -> tag, for the sends of the open batch */
    json_t *directory_tags; /* issue 14: the tags of the directory commands awaiting the answer */
    /* send_file runs: its queued/sent (from inside the core call) answer the current command. */
    int sending_file;
};

/* ---- output (json_api.c) --------------------------------------------------------------------- */

/* A JSON string of s (NULL is ""); never NULL unless out of memory twice. */
json_t *ja_str(const char *s);
/* Writes ev (consumed) with the tag, if any, as one line. */
void ja_emit(json_api *ja, json_t *ev, json_t *tag);
/* {"event": name}. */
json_t *ja_event(const char *name);
/* Ends the open send batch: its sends are committed and answered now. */
void ja_batch_end(json_api *ja);
/* An error event answering the current command (after the open batch's answers). */
void ja_error(json_api *ja, const char *code, const char *message);
/* Stops reading commands (quit, end of input, a fatal error). */
void ja_stop_reading(json_api *ja);
/* The core has stopped: closes stdin, then calls done. */
void ja_core_stopped(json_api *ja, int exit_code);
/* The quit command: stops reading and asks the core to quit. */
void ja_quit(json_api *ja);

/* ---- the words of the JSON API (json_events.c; docs/JSON-API.md) ------------------------------
 */

const char *ja_presence_word(mim_core_presence state);
const char *ja_verdict_word(mim_core_key_verdict verdict);
const char *ja_status_word(mim_core_user_status status);
/* The status a word names: 0 and *out, or -1 for no status. */
int ja_status_parse(const char *word, mim_core_user_status *out);
const char *ja_msg_state_word(mim_core_msg_state state);
const char *ja_error_word(mim_core_error code);
/* The "online" event of one peer (also the who command's answer). */
json_t *ja_online_event(const mim_core_peer_info *p);

/* ---- commands (json_commands.c) -------------------------------------------------------------- */

/* A command's handler: cmd is the parsed line (borrowed), name its "cmd". It answers with
 * events (ja_ok, ja_error, ...) itself. */
typedef void json_cmd_fn(json_api *ja, json_t *cmd, const char *name);

typedef struct json_cmd {
    const char *name;
    json_cmd_fn *run;
} json_cmd;

/* The command named name, or NULL. */
const json_cmd *json_cmd_find(const char *name);

/* A required string field: 0 and *out, or -1 after an error event. */
int ja_need_str(json_api *ja, json_t *cmd, const char *field, const char **out);
/* Turns a mim_core command result into an error event; 0 when rc is 0. */
int ja_check(json_api *ja, int rc, const char *who);
/* {"event":"ok","cmd":cmd}. */
void ja_ok(json_api *ja, const char *cmd);

/* ---- search (json_cmd_search.c) -------------------------------------------------------------- */

json_cmd_fn ja_cmd_search;

/* ---- everyday commands (json_cmd_everyday.c) ------------------------------------------------- */

json_cmd_fn ja_cmd_read, ja_cmd_typing, ja_cmd_receipts, ja_cmd_block;

/* ---- contacts and the presence server (json_cmd_contacts.c) ---------------------------------- */

json_cmd_fn ja_cmd_contacts, ja_cmd_login;

/* ---- the directory (json_cmd_directory.c, issue 14) ------------------------------------------ */

json_cmd_fn ja_cmd_directory;
/* The `directory` event(s) answering the directory commands waiting. */
void ja_directory_answer(json_api *ja, const mim_core_directory_entry *e, size_t n, int is_private);
/* A send that waited for a lookup: the error event, with the send's tag. */
void ja_lookup_failed(json_api *ja, const char *to, const mim_msg_id *id, mim_core_lookup_fail why);

/* ---- files (json_cmd_files.c; the words in json_events.c) ---------------------------------- */

json_cmd_fn ja_cmd_send_file, ja_cmd_accept_file, ja_cmd_files;
/* "send" / "receive". */
const char *ja_file_dir_word(mim_core_file_dir dir);
/* "offered", "accepted", "running", "paused", "done", "rejected", "failed". */
const char *ja_file_state_word(mim_core_file_state state);
/* The event `event` (file_offer, file_progress, file_done, file_failed, file_paused) about f;
 * accepted: file_offer's. NULL when out of memory. */
json_t *ja_file_event(const char *event, const mim_core_file_info *f, int accepted);
/* ---- broadcast to everyone (json_cmd_broadcast.c, issue 16) -------------------------------- */
json_cmd_fn ja_cmd_broadcast, ja_cmd_ack_broadcast, ja_cmd_broadcast_status;

/* json_cmd_rooms.c (issue 16) */
json_cmd_fn ja_cmd_room_create, ja_cmd_room_send, ja_cmd_room_change, ja_cmd_rooms;
/* The room event (on_room; each entry of rooms without "event"). */
json_t *ja_room_event(const mim_core_room_info *r);
/* ja_check with the room errors: room names the room, who the member. 0, or -1 after the
 * error event. */
int ja_room_check(json_api *ja, int rc, const char *room, const char *who);
/* json_events.c (issue 16): into ev, a message's "room", "broadcast": true and "important":
 * true from meta (NULL: nothing); ev (NULL stays NULL). The live message event and the
 * history and search answers say it the same way. */
json_t *ja_fanout_fields(json_t *ev, const mim_core_msg_meta *meta);

#endif
