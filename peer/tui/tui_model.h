/* What the terminal interface shows, kept apart from how it is drawn: the contacts (online or
 * not, status, verified, unread count, a pending key change), one conversation per contact,
 * the console (what concerns no one contact: help, /who, errors), which conversation is open,
 * the list cursor, the scroll position, and our own state for the status bar.
 *
 * Filled by tui.c from the core's events; read by tui_screen.c. Pure (no terminal, no core),
 * so it is tested on its own. Strings are copied in (UTF-8 as received, sanitised only when
 * drawn). Out of memory, an addition is dropped: the view misses a line, nothing breaks. */
#ifndef MIM_TUI_MODEL_H
#define MIM_TUI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define TUI_CONV_MAX 2000 /* entries kept per conversation; the oldest go first */
#define TUI_ID_LEN   33   /* a message id in hex, NUL included */

enum tui_entry_kind {
    TUI_ENTRY_IN = 1, /* a message from them */
    TUI_ENTRY_OUT,    /* a message of ours, with its state */
    TUI_ENTRY_INFO,   /* a grey line: opened, closed, went offline, command output */
    TUI_ENTRY_WARN,   /* a loud line: a key change, an error */
    TUI_ENTRY_TEXT,   /* command output to read (/help, /who): no time, no mark */
};

enum tui_msg_state {
    TUI_MSG_NONE = 0, /* ours, not yet stored */
    TUI_MSG_QUEUED,
    TUI_MSG_SENT,
    TUI_MSG_DELIVERED,
    TUI_MSG_RECEIVED,
};

enum tui_presence {
    TUI_AVAILABLE = 0,
    TUI_AWAY,
    TUI_BUSY,
};

typedef struct tui_entry {
    enum tui_entry_kind kind;
    int64_t ts_ms; /* 0: no time shown */
    char id[TUI_ID_LEN];
    enum tui_msg_state state;
    char *from; /* IN and OUT: the sender's name */
    char *text;
} tui_entry;

typedef struct tui_conv {
    tui_entry *e; /* oldest first */
    size_t n, cap;
    int loaded; /* the stored history was read in */
} tui_conv;

typedef struct tui_contact {
    char *name;
    int online;
    enum tui_presence presence;
    char *status_text; /* "" when none */
    int verified;      /* safety numbers compared */
    int unread;        /* messages that came while their conversation was not open */
    int talking;       /* the conversation was opened in this run */
    int announce;      /* say "NAME is talking to you" above their next message */
    int key_pending;   /* its key changed: messages held until /trust */
    char new_fp[64];   /* the changed key's fingerprint (key_pending) */
    int closed;        /* they closed the conversation: greyed until either side writes */
    tui_conv conv;
} tui_contact;

typedef struct tui_model {
    tui_contact **c; /* online first, then by name */
    size_t n, cap;
    tui_conv console;
    char *current;  /* the open conversation's name; NULL: the console */
    char *selected; /* the list cursor's name; NULL: none */
    int scroll;     /* rows the open view is scrolled up from its end */
    char me[129];
    char fingerprint[64];
    char server[80];
    char conn[16];      /* "connected", "reconnecting", "unreachable", "disconnected", "starting" */
    int ever_connected; /* to the presence server, in this run: else a retry is "unreachable" */
    int logged_out;
    int server_key_changed; /* the server's key is not the pinned one, until /trust-server */
    char server_new_fp[64]; /* that key's fingerprint (server_key_changed) */
    enum tui_presence my_presence;
    char my_text[129];
} tui_model;

void tui_model_init(tui_model *m);
void tui_model_free(tui_model *m);

/* The contact named name, or NULL; with create, a new (offline) one is added if missing (NULL
 * only when out of memory). */
tui_contact *tui_model_contact(tui_model *m, const char *name, int create);
/* Online or offline, with a status: the list is kept in order. */
void tui_model_set_online(tui_model *m, const char *name, int online);
void tui_model_set_status(tui_model *m, const char *name, const char *state, const char *text);
/* "available" / "away" / "busy" and back. */
enum tui_presence tui_presence_parse(const char *state);
const char *tui_presence_name(enum tui_presence p);

/* Appends an entry to conv; text and from are copied (from may be NULL). NULL when out of
 * memory. The oldest entry goes when conv holds TUI_CONV_MAX. */
tui_entry *tui_conv_add(tui_conv *conv, enum tui_entry_kind kind, int64_t ts_ms, const char *from,
                        const char *text, const char *id, enum tui_msg_state state);
/* Adds a line (INFO or WARN) just before the entry with message id `id` (at the end when
 * there is none): what announces a message goes above it even when the message came first
 * from the stored history. 0, or -1 when out of memory. */
int tui_conv_insert_before(tui_conv *conv, const char *id, enum tui_entry_kind kind, int64_t ts_ms,
                           const char *text);
/* The entry with this message id, or NULL. */
tui_entry *tui_conv_find(tui_conv *conv, const char *id);
/* Drops the entry with this id (a send the core refused). */
void tui_conv_remove(tui_conv *conv, const char *id);
/* Moves the messages of from (the history, oldest first) in front of what conv has and are not
 * in it already (by id): from is emptied. */
void tui_conv_merge_history(tui_conv *conv, tui_conv *from);
void tui_conv_free(tui_conv *conv);
enum tui_msg_state tui_msg_state_parse(const char *state);

/* Opens name's conversation (NULL: the console): its unread count goes to 0, the scroll to
 * the end, and the list cursor to it. */
void tui_model_open(tui_model *m, const char *name);
/* The open conversation's contact (NULL: the console is open). */
tui_contact *tui_model_current(tui_model *m);
/* The open view's entries: the current contact's conversation, or the console. */
tui_conv *tui_model_view(tui_model *m);
/* Moves the list cursor by delta rows (clamped). */
void tui_model_select_move(tui_model *m, int delta);
/* The index of the list cursor's contact, or -1. */
long tui_model_selected_index(const tui_model *m);

#endif
