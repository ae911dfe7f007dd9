/* Inside the terminal front end: the state shared by tui.c (events, keys, life cycle) and
 * tui_exec.c (the commands). Not for other files. */
#ifndef MIM_TUI_PRIV_H
#define MIM_TUI_PRIV_H

#include "tui.h"
#include "tui_attention.h"
#include "tui_line.h"
#include "tui_model.h"

#include <stdarg.h>

#define TUI_INPUT_MAX (4 * TUI_LINE_MAX + 1) /* bytes of the line as UTF-8 */

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
    int handles_open;    /* of in, winch and redraw: closed ones are counted down */
    int attached;        /* tui_attach ran: the handles exist */
    int screen_on;       /* the terminal is ours */
    int dirty;           /* a redraw is due */
    int list_focus;      /* Up/Down/Enter pick from the contact list */
    int idle_reads;      /* readable with no key, in a row: the terminal hung up */
    int stopped;         /* the core has stopped */
    int exit_code;
    char *log_path;
    char fatal[300];
    tui_attention att; /* bell, title, notifications */
    int quit_asked;    /* /quit said what is still queued: the next /quit quits */
};

/* Adds a grey line (TUI_ENTRY_INFO), a loud one (TUI_ENTRY_WARN) or command output
 * (TUI_ENTRY_TEXT, drawn without a time) to the open view. */
void tui_say(tui *t, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds a line to the open view without moving it: a view scrolled up stays where it is (what
 * comes by itself, unlike command output, never yanks the view to the bottom). */
void tui_note(tui *t, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads the last `limit` stored messages with name into *out (initialised here): 0, or -1. */
int tui_read_history(tui *t, const char *name, size_t limit, tui_conv *out);
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

#endif
