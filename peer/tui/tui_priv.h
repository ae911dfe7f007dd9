/* Inside the terminal front end: the state shared by tui.c (events, keys, life cycle) and
 * tui_exec.c (the commands). Not for other files. */
#ifndef MIM_TUI_PRIV_H
#define MIM_TUI_PRIV_H

#include "tui.h"
#include "tui_complete.h"
#include "tui_files.h"
#include "tui_attention.h"
#include "tui_line.h"
#include "tui_model.h"

#include <stdarg.h>
#include <wchar.h>

#define TUI_INPUT_MAX     (4 * TUI_LINE_MAX + 1) /* bytes of the line as UTF-8 */
#define TUI_PASTE_MAX     (2 * TUI_LINE_MAX)     /* characters of a paste kept; the rest counted */
#define TUI_PAGE_OLDER    50                     /* stored messages PageUp at the top reads more */
#define TUI_BCAST_WAITING 16 /* important broadcasts kept waiting for F2 (older: /ack ID) */

/* Issue 16 (tui_broadcast.c): the important broadcasts received that wait for the user's F2. */
typedef struct tui_bcast {
    struct {
        mim_msg_id id;
        char from[MIM_NAME_MAX_BYTES + 1];
    } waiting[TUI_BCAST_WAITING]; /* oldest first */
    size_t nwaiting;
} tui_bcast;

struct tui {
    uv_loop_t *loop;
    mim_core *core; /* NULL once stopped */
    void (*done)(void *ud, int exit_code);
    void *ud;
    tui_model m;
    tui_line line;
    uv_poll_t in;        /* fd 0 readable */
    uv_signal_t winch;   /* the terminal was resized */
    uv_prepare_t redraw; /* draws before the loop waits, when dirty */
    int handles_open;    /* of in, winch, redraw and paste_idle: closed ones are counted down */
    int attached;        /* tui_attach ran: the handles exist */
    int screen_on;       /* the terminal is ours */
    int dirty;           /* a redraw is due */
    int list_focus;      /* Up/Down/Enter pick from the contact list */
    int idle_reads;      /* readable with no key, in a row: the terminal hung up */
    int stopped;         /* the core has stopped */
    int exit_code;
    char *log_path;
    char fatal[300];
    /* Input and reading (tui.c's keys): */
    tui_complete_cycle cycle;     /* Tab after Tab */
    int pasting;                  /* between the paste marks ESC[200~ and ESC[201~ */
    wchar_t paste[TUI_PASTE_MAX]; /* the paste so far */
    size_t paste_len;
    size_t paste_extra_bytes; /* what came past TUI_PASTE_MAX, in UTF-8 bytes (it is refused) */
    uv_timer_t paste_idle;    /* ends a paste whose end mark never comes (TUI_PASTE_IDLE_MS) */
    struct tui_search_hits *search; /* the last /search's results, for /open; NULL: none */
    tui_attention att;              /* bell, title, notifications */
    int quit_asked;                 /* /quit said what is still queued: the next /quit quits */
    struct tui_files *files;        /* file transfers (tui_files.c); NULL until the first */
    tui_bcast bcast;                /* issue 16: important broadcasts to acknowledge */
    /* Issue 16, rooms (tui_rooms.c): */
    int room_by_us;      /* a room change of ours runs: its on_room says "you ..." */
    int room_sending;    /* mim_core_room_send runs: its copies' states go to room_send_state */
    int room_send_state; /* the best state of the copies so far (TUI_MSG_*) */
    char chat_opening[MIM_NAME_MAX_BYTES + 1]; /* on_chat_opened waits for what it was for:
                                                  a room's message does not open a 1:1 view */
};

/* A loud line about someone (a key change, a refusal): in their conversation, and in the open
 * view too when that is another, so that it is seen. */
void tui_say_about(tui *t, tui_contact *c, int kind, const char *text);
/* Adds a grey line (TUI_ENTRY_INFO), a loud one (TUI_ENTRY_WARN) or command output
 * (TUI_ENTRY_TEXT, drawn without a time) to the open view. */
void tui_say(tui *t, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds a line to the open view without moving it: a view scrolled up stays where it is (what
 * comes by itself, unlike command output, never yanks the view to the bottom). */
void tui_note(tui *t, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads the last `limit` stored messages with name into *out (initialised here): 0, or -1. */
int tui_read_history(tui *t, const char *name, size_t limit, tui_conv *out);
/* Reads the last `want` stored messages with c (at most MIM_CORE_HISTORY_MAX) into its
 * conversation: those not shown yet go above, and c->conv.older says what is stored before
 * them. 0, or -1 (the store failed; nothing changes). */
int tui_load_history(tui *t, tui_contact *c, size_t want);
/* The messages of c read so far count as read (mim_core_mark_read: the count survives a
 * restart, and the sender gets read receipts). tui_history.c. */
void tui_mark_read(tui *t, const tui_contact *c);
/* Sends text (a pasted line: never a command) to the open conversation. */
void tui_send_to_open(tui *t, const char *text);
/* ---- the keys: tui_keys.c ---- */
/* The terminal is readable: its keys, each to the line, the list or a command. */
void tui_on_input(uv_poll_t *h, int status, int events);
/* ---- the input keys beyond typing: tui_input.c ---- */
/* Teaches ncurses the sequences of paste marks, word movement and Alt-Enter (after initscr). */
void tui_define_keys(void);
/* One of those keys (a function key code): done, 1; another key, 0. */
int tui_input_own_key(tui *t, wint_t key);
/* A key while a paste comes in (t->pasting): kept, or the paste's end. */
void tui_paste_key(tui *t, int kind, wint_t key);
/* After the keys of one read: while a paste comes in, (re)starts t->paste_idle, which ends the
 * paste when no key came for TUI_PASTE_IDLE_MS (a terminal that never sends ESC[201~ would
 * otherwise have every later key taken as pasted text). */
void tui_paste_watch(tui *t);
/* PageUp: older stored messages read in at the top of a conversation, and a page up. */
void tui_page_up(tui *t);
/* Ctrl-C: a line with text is cleared; on an empty line, quit. */
void tui_interrupt(tui *t);
/* A passing note in the status bar, until the next key. */
void tui_hint(tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The note when a typed key does not fit in the line. */
void tui_line_full(tui *t);
/* The candidates of a Tab cycle in the status bar (the one in the line in brackets). */
void tui_hint_candidates(tui *t, const char *const *cands, size_t n, const unsigned char *matched);

/* Opens name's conversation (NULL: the console), reading its history the first time. */
void tui_open(tui *t, const char *name);
/* Runs one line of input: a command or a message to the open conversation. */
void tui_exec(tui *t, const char *line);
/* The core's refusal of a command (a MIM_CORE_E* code; who: the name it was about), in words. */
void tui_say_refusal(tui *t, int rc, const char *who);
/* What is still in the outbox, for whom, into out ("3 messages are still queued: 2 for bob, 1
 * for carol"): the total (0: nothing queued, out is ""). */
size_t tui_queued_summary(tui *t, char *out, size_t cap);
/* Stops: the core quits, on_stopped ends the rest. */
void tui_stop(tui *t);
/* The core's user status as the model's, and back. */
enum tui_presence tui_presence_of(mim_core_user_status status);
mim_core_user_status tui_core_status(enum tui_presence p);

/* ---- search (tui_search.c) ------------------------------------------------------------------ */

/* /search [--with NAME] WORDS: the results, numbered, newest first, in the console. */
void tui_search_run(tui *t, const char *with, const char *words);
/* Issue 16: with room (its id or name) instead: that room's messages only (not for /open). */
void tui_search_in(tui *t, const char *with, const char *room, const char *words);
/* /open N: result N's conversation, scrolled to the message. */
void tui_search_open(tui *t, int n);
/* Frees the results kept for /open (tui_free). */
void tui_search_free(tui *t);

/* ---- the directory (tui_directory.c, issue 14) ---------------------------------------------- */

/* /directory: asks the core; the answer (tui_directory_show) goes to the console. */
void tui_directory_run(tui *t);
/* on_directory: everyone registered, online first, the others with "last seen". */
void tui_directory_show(tui *t, const mim_core_directory_entry *e, size_t n, int is_private);
/* on_lookup_failed: the message shown when typed is taken back, and why. */
void tui_lookup_failed(tui *t, const char *to, const mim_msg_id *id, mim_core_lookup_fail why);

/* ---- broadcast to everyone (tui_broadcast.c, issue 16) ------------------------------------- */

/* /all TEXT (important 0), /all! TEXT (1): to every peer online now. */
void tui_broadcast_send(tui *t, const char *text, int important);
/* The commands: /ack [ID] (ack 1: text the ID or NULL), else /all or /all! (text, important). */
void tui_broadcast_exec(tui *t, int ack, const char *text, int important);
/* An important broadcast came from `from`: it waits for F2 (or /ack). */
void tui_broadcast_received(tui *t, const char *from, const mim_msg_id *id);
/* F2 or /ack (which NULL or ""): the oldest waiting one is acknowledged; /ack ID: that one. */
void tui_broadcast_ack(tui *t, const char *which);
/* on_broadcast_ack: from has read our important broadcast id (k of n). */
void tui_broadcast_acked(tui *t, const char *from, const mim_msg_id *id);

#endif
