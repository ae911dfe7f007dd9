/* What the window shows, kept apart from how GTK draws it: the contacts (online first, status,
 * unread counts, verified and key-change marks, offline ones with when they were last seen),
 * the messages of each conversation with their states, the transfers, our own state (name,
 * status, the server's connection and key) and the last error.
 *
 * Filled by core_bridge.c from the core's events; read by the window files, which ask
 * view_text.c for the words. Plain C (no GTK), so that it is tested on its own
 * (tests/unit/test_gtk_view_model.c). Strings are copied in. Out of memory, an addition is
 * dropped: the view misses a row, nothing breaks. */
#ifndef MIM_GTK_VIEW_MODEL_H
#define MIM_GTK_VIEW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define VM_ID_LEN       33   /* a message id in hex, NUL included */
#define VM_FP_LEN       64   /* a fingerprint, NUL included */
#define VM_CONV_MAX     2000 /* rows kept per conversation; the oldest go first */
#define VM_ERROR_MAX    600  /* "Error: " and one line */
#define VM_ROOM_KEY_MAX 80   /* "#" and a room's name (at most 64 bytes), NUL included */

enum vm_state {
    VM_IN = 0, /* theirs: no mark */
    VM_QUEUED,
    VM_SENT,
    VM_DELIVERED,
    VM_READ,
    VM_DEPOSITED,
};

enum vm_status { VM_AVAILABLE = 0, VM_AWAY, VM_BUSY };

enum vm_row_kind {
    VM_ROW_MESSAGE = 0, /* a message, ours or theirs */
    VM_ROW_FILE,        /* a file or image offer: its transfer has the same id */
    VM_ROW_NOTE,        /* a grey line: a key change, a failed send, "closed the chat" */
};

typedef struct vm_row {
    enum vm_row_kind kind;
    char id[VM_ID_LEN]; /* "" for a note */
    int64_t ts_ms;
    char *from; /* the sender's name ("" for a note) */
    char *text;
    enum vm_state state; /* VM_IN for theirs and for notes */
    int unread;          /* theirs, not read yet */
    /* Issue 16: ours to a room, its copies delivered of all (0 of 0: not a room's). */
    uint32_t fan_delivered, fan_total;
    int broadcast; /* theirs: 0 none, 1 a broadcast, 2 an important one */
    int acked;     /* an important broadcast we acknowledged */
    /* Issue 16, our own broadcast (VM_OWN_BROADCASTS' rows, broadcast 1 or 2 there): who
     * acknowledged our important one, "bob, carol" (malloc'd, NULL: nobody yet). */
    char *acked_by;
} vm_row;

typedef struct vm_conv {
    vm_row *rows; /* oldest first */
    size_t n, cap;
    int loaded; /* the stored history was read in */
    int closed; /* they closed the conversation: greyed until someone writes */
    int typing; /* they are typing to us */
} vm_conv;

typedef struct vm_contact {
    char *name;
    int online;
    enum vm_status status;
    char *status_text; /* "" when none */
    int verified;
    int key_pending;        /* a changed key waits for Trust */
    char new_fp[VM_FP_LEN]; /* that key's fingerprint */
    size_t unread;
    int64_t last_seen_ms; /* offline: from the directory; 0 unknown */
    int known;            /* a contact of the store (not only the directory) */
    vm_conv conv;
    /* Issue 16: a room, named "#NAME" in this list (vm_is_room); its id and member count. */
    int is_room;
    char room_id[VM_ID_LEN];
    size_t nmembers;
    int room_gone; /* we are no longer in it: greyed */
} vm_contact;

enum vm_file_dir { VM_FILE_SEND = 0, VM_FILE_RECEIVE };

enum vm_file_state {
    VM_FILE_OFFERED = 0,
    VM_FILE_ACCEPTED,
    VM_FILE_RUNNING,
    VM_FILE_PAUSED,
    VM_FILE_DONE,
    VM_FILE_REJECTED,
    VM_FILE_FAILED,
};

typedef struct vm_transfer {
    char id[VM_ID_LEN];
    char *with, *name, *path, *media_type, *error;
    enum vm_file_dir dir;
    enum vm_file_state state;
    int64_t size, bytes;
} vm_transfer;

enum vm_conn { VM_CONN_STARTING = 0, VM_CONN_CONNECTED, VM_CONN_RECONNECTING, VM_CONN_OFFLINE };

typedef struct view_model {
    vm_contact **c; /* online first, then by name; never ourselves */
    size_t n, cap;
    vm_transfer *t; /* oldest first */
    size_t nt, tcap;
    char *current; /* the open conversation's name, or NULL */
    char me[129];
    char fingerprint[VM_FP_LEN];
    enum vm_conn conn;
    char server[80];
    char server_fp[VM_FP_LEN]; /* the server's key, once it answered */
    int server_key_changed;    /* not the pinned key, until Trust server */
    enum vm_status my_status;
    char my_text[129];
    char error[VM_ERROR_MAX]; /* "Error: ..." or "" */
} view_model;

void vm_init(view_model *m);
void vm_free(view_model *m);

/* The contact named name, or NULL; with create, a new offline one is added when missing
 * (never ourselves: NULL). */
vm_contact *vm_contact_get(view_model *m, const char *name, int create);
/* Online or offline (the list keeps its order); status and text when online. */
void vm_set_online(view_model *m, const char *name, int online);
void vm_set_status(view_model *m, const char *name, enum vm_status st, const char *text);

/* A message came from `from` (or our own, `out`): appended to from's (or to's) conversation.
 * Theirs count as unread unless their conversation is open (in_view). The other side's close
 * greying ends. NULL when out of memory. */
vm_row *vm_add_message(view_model *m, const char *peer, const char *id, int64_t ts_ms,
                       const char *from, const char *text, enum vm_state state, int in_view);
/* A grey line in peer's conversation. */
void vm_add_note(view_model *m, const char *peer, int64_t ts_ms, const char *text);
/* Our message id to peer moved on to state (queued -> sent -> delivered -> read, or
 * deposited): 1 when the row was found. A state never goes back from delivered/read, except
 * an expiry (deposited -> queued). */
int vm_set_state(view_model *m, const char *peer, const char *id, enum vm_state state);
/* Drops the row with this id (a send the core did not store). */
void vm_remove_row(view_model *m, const char *peer, const char *id);
vm_row *vm_find_row(vm_conv *conv, const char *id);

/* Opens name's conversation: its unread count goes to 0 (the rows keep their unread flag
 * until vm_mark_seen, so the view can scroll to the first). NULL: none open. */
void vm_open(view_model *m, const char *name);
vm_contact *vm_current(view_model *m);
/* The index of the first unread row of c's conversation, or -1. */
long vm_first_unread(const vm_contact *c);
void vm_mark_seen(vm_contact *c);
size_t vm_unread_total(const view_model *m);

/* A transfer as the core reports it (created on first sight, updated after). */
vm_transfer *vm_transfer_update(view_model *m, const char *id, const char *with,
                                enum vm_file_dir dir, enum vm_file_state state, const char *name,
                                const char *path, int64_t size, int64_t bytes,
                                const char *media_type, const char *error);
vm_transfer *vm_transfer_find(view_model *m, const char *id);

/* ---- rooms and broadcasts (issue 16) ---- */
/* 1 when name is a room's entry in the list ("#NAME"; people's names have no '#'). */
int vm_is_room(const char *name);
/* The room (on_room, mim_core_rooms) into the list as "#NAME": created, or its member count
 * and whether we are still in it updated. NULL when out of memory or the name too long. */
vm_contact *vm_room_update(view_model *m, const char *id, const char *name, size_t nmembers,
                           int member);
/* Our message id in the room's conversation (peer "#NAME"): delivered of total copies; all
 * delivered makes it VM_DELIVERED. 1 when the row was found. */
int vm_set_fanout(view_model *m, const char *peer, const char *id, uint32_t delivered,
                  uint32_t total);

/* A message of the stored history into peer's conversation (as vm_add_message, read), with
 * its unread mark and its broadcast mark (0, 1, 2 as vm_row.broadcast), which the store keeps:
 * after a restart a broadcast is marked as it was live. NULL when out of memory. */
vm_row *vm_add_stored(view_model *m, const char *peer, const char *id, int64_t ts_ms,
                      const char *from, const char *text, enum vm_state state, int unread,
                      int broadcast);

/* Our own broadcasts (issue 16) are rows of one list entry of their own, under this name
 * (a space: never a peer's or a room's name); it has no stored history to read in. */
#define VM_OWN_BROADCASTS "Your broadcasts"
/* We broadcast text (id, important or not) to `copies` peers online: its row, ours, SENT,
 * "delivered to 0 of copies". NULL when out of memory. Deliveries: vm_set_fanout on
 * VM_OWN_BROADCASTS. */
vm_row *vm_broadcast_sent(view_model *m, const char *id, int64_t ts_ms, const char *text,
                          int important, uint32_t copies);
/* `from` acknowledged our important broadcast id: named on its row. 1 when the row was found
 * (a repeat is not named twice). */
int vm_broadcast_acked(view_model *m, const char *id, const char *from);

/* Into r, the same message as shown before (live): its broadcast mark, acknowledgement and
 * delivered counts, which the stored history does not carry. */
void vm_keep_marks(vm_row *r, const vm_row *live);

/* The last error, shown until the next one or vm_clear_error: "Error: " + message. */
void vm_set_error(view_model *m, const char *message);
void vm_clear_error(view_model *m);

#endif
