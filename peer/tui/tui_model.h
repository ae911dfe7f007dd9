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
    TUI_ENTRY_MARKER, /* "--- new messages ---": above the first unread message */
};

#define TUI_MARKER_TEXT "--- new messages ---"

enum tui_msg_state {
    TUI_MSG_NONE = 0, /* ours, not yet stored */
    TUI_MSG_QUEUED,
    TUI_MSG_SENT,
    TUI_MSG_DELIVERED,
    TUI_MSG_RECEIVED,
    TUI_MSG_READ,      /* ours, and the peer's read receipt came */
    TUI_MSG_DEPOSITED, /* ours, queued, in the server's mailbox (issue 14) */
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
    int unread; /* IN: not read yet (came while its conversation was not open, or stored so) */
    /* Issue 16: a copy per member (a room's message of ours, a broadcast): the copies
     * delivered so far of fan_total, drawn "delivered to 7 of 9" (fan_total 0: one copy). */
    uint32_t fan_done, fan_total;
    int broadcast; /* IN and OUT, issue 16: 0, 1 a broadcast, 2 an important one (live or stored):
                    * its mark before the text (tui_entry_mark) */
} tui_entry;

/* What the store holds before a conversation's first message shown (the line over it). */
enum tui_older {
    TUI_OLDER_UNKNOWN = 0, /* not read from the store (the console) */
    TUI_OLDER_MORE,        /* older messages are stored: PageUp at the top reads them */
    TUI_OLDER_NONE,        /* the first message of the conversation is shown */
    TUI_OLDER_CAPPED,      /* older ones may be stored, past the most read at once */
};

typedef struct tui_conv {
    tui_entry *e; /* oldest first */
    size_t n, cap;
    int loaded;           /* the stored history was read in */
    enum tui_older older; /* set by whoever reads the store (tui.c) */
    size_t asked;         /* the stored messages last asked for (the last `asked`) */
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
    int known;         /* a contact of the store, or met in a session: can be written to offline */
    int typing;        /* they are typing to us (the core's on_typing) */
    int closed;        /* they closed the conversation: greyed until either side writes */
    tui_conv conv;
    /* Issue 16: a room's row ("#lab", name its display name after a '#'): the fields below are
     * its own (tui_rooms.c fills them); online, status and keys mean nothing for it. */
    int is_room;
    char room_id[TUI_ID_LEN]; /* its id, 32 hex digits: what the core is told */
    size_t nmembers;          /* we included */
    int room_gone;            /* we are no longer a member: greyed, nothing more comes */
    char *room_members;       /* the members when last told, one per line ("" before) */
    char *room_admins;        /* the admins, likewise */
} tui_contact;

typedef struct tui_model {
    tui_contact **c; /* rooms, then online, then by name (case folded; never ourselves) */
    size_t n, cap;
    tui_conv console;
    char *current;   /* the open conversation's name; NULL: the console */
    char *selected;  /* the list cursor's name; NULL: none */
    int scroll;      /* rows the open view is scrolled up from its end */
    int scroll_fix;  /* entries added to the scrolled-up view since the last draw: the draw
                        adds their rows to scroll, so that what is read stays in place */
    int new_below;   /* messages that came into the open view while it was scrolled up */
    int land_marker; /* the next draw scrolls so that the "new messages" marker is on top */
    int list_focus;  /* the contact list has the keys (drawn with a cursor) */
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
    char hint[600]; /* a passing note in the status bar (completion candidates, a limit); "" */
    int view_top;   /* set by the drawing: the top of the open view is on the screen */
} tui_model;

void tui_model_init(tui_model *m);
void tui_model_free(tui_model *m);

/* Issue 16: the room with this id (32 hex digits), or NULL. */
tui_contact *tui_model_room(tui_model *m, const char *room_id);
/* Adds the room's row, named label ("#lab"): NULL when the label is taken, or out of memory. */
tui_contact *tui_model_add_room(tui_model *m, const char *label, const char *room_id);
/* The entry with message id `id` in the console, the open view or a room's conversation (a
 * room's line of ours, a broadcast's line), or NULL. Not the other people's conversations:
 * a broadcast's copies each look, and there may be many. */
tui_entry *tui_model_find_entry(tui_model *m, const char *id);

/* The contact named name, or NULL; with create, a new (offline) one is added if missing (NULL
 * when out of memory, and for our own name: we are never in the list). */
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
/* Issue 16: what follows a broadcast's text on its line, live and in the history alike:
 * " (broadcast)", " (important broadcast)", or "" for any other entry. */
const char *tui_entry_mark(const tui_entry *e);
/* Adds a line (INFO or WARN) just before the entry with message id `id` (at the end when
 * there is none): what announces a message goes above it even when the message came first
 * from the stored history. 0, or -1 when out of memory. */
int tui_conv_insert_before(tui_conv *conv, const char *id, enum tui_entry_kind kind, int64_t ts_ms,
                           const char *text);
/* The entry with this message id, or NULL. */
tui_entry *tui_conv_find(tui_conv *conv, const char *id);
/* Puts a copy of text in place of e's text (a file transfer's line, updated as it goes): 0, or
 * -1 when out of memory (e keeps its text). */
int tui_entry_set_text(tui_entry *e, const char *text);
/* Drops the entry with this id (a send the core refused). */
void tui_conv_remove(tui_conv *conv, const char *id);
/* Moves the messages of from (the history, oldest first) in front of what conv has and are not
 * in it already (by id): from is emptied. */
void tui_conv_merge_history(tui_conv *conv, tui_conv *from);
void tui_conv_free(tui_conv *conv);
enum tui_msg_state tui_msg_state_parse(const char *state);

/* Opens name's conversation (NULL: the console): its unread count goes to 0, the scroll to
 * the end, and the list cursor to it (tui_model_mark_new places the marker, once the history
 * is in). Contacts nobody can write to any more leave the list (tui_model_prune). */
void tui_model_open(tui_model *m, const char *name);
/* The open conversation's contact (NULL: the console is open). */
tui_contact *tui_model_current(tui_model *m);
/* The open view's entries: the current contact's conversation, or the console. */
tui_conv *tui_model_view(tui_model *m);
/* The conversation conv got one more entry (message: a message, else a line). When conv is the
 * open view and the view is scrolled up, it stays where it is: scroll_fix counts the entry (the
 * draw adds its rows to scroll), and a message counts in new_below ("N new below"). */
void tui_model_grew(tui_model *m, const tui_conv *conv, int message);
/* Puts the "new messages" marker above the first unread entry of c's conversation (an older
 * marker goes) and clears the unread flags; when placed, the next draw lands on it
 * (land_marker). 1 when placed, 0 when nothing was unread. */
int tui_model_mark_new(tui_model *m, tui_contact *c);
/* Takes the "new messages" marker away when the first message under it is the one with this
 * id (what just came, in view: nothing before it was unread). */
void tui_model_unmark(tui_model *m, tui_contact *c, const char *id);
/* The unread messages of every contact (the terminal title shows it). */
int tui_model_unread_total(const tui_model *m);
/* Drops the contacts nobody can write to: offline, not known, and not the open conversation. */
void tui_model_prune(tui_model *m);
/* The contact list in `rows` rows: the index of the contact on the first row, so that the
 * cursor is in sight; *below gets how many contacts follow the last row shown (the last row
 * then holds the hint "N more" instead of a contact). */
size_t tui_model_list_window(const tui_model *m, size_t rows, size_t *below);
/* The start of text as one line, for a line or a notification naming its sender: newlines
 * and tabs as spaces, at most max bytes (cut at a space when one is in the second half, never
 * inside a character), "..." added when cut. out has room for max + 4 bytes. */
void tui_first_words(const char *text, char *out, size_t max);

/* Moves the list cursor by delta rows (clamped). */
void tui_model_select_move(tui_model *m, int delta);
/* The index of the list cursor's contact, or -1. */
long tui_model_selected_index(const tui_model *m);

#endif
