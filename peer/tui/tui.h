/* The terminal front end of `mim` (no --json, on a terminal): a full-screen ncurses interface
 * over the peer core, as json_api.c is the JSON one. It only reads the core's state (events,
 * mim_core_who/history/contacts) and sends it commands; it never touches the network.
 *
 * Keys are read from fd 0 through a uv_poll_t with ncurses in non-blocking mode, so the core's
 * libuv loop stays the only loop. Logs must not go to the screen: the caller sends stderr to a
 * log file (log_path, shown by /help) before tui_attach.
 *
 * Use: tui_new, mim_core_start with tui_core_events() and the tui as user data, then
 * tui_attach (takes the terminal). When the core has stopped, the terminal is given back and
 * done(ud, exit_code) runs; tui_free after the loop has ended. */
#ifndef MIM_TUI_H
#define MIM_TUI_H

#include "core.h"
#include "tui_attention.h"

#include <uv.h>

typedef struct tui tui;

/* log_path is copied. NULL when out of memory. */
tui *tui_new(uv_loop_t *loop, const char *log_path, void (*done)(void *ud, int exit_code),
             void *ud);
/* The bell (--bell) and desktop notifications (--notify: notify-send is looked for now); before
 * tui_attach. Without it, every message not in view rings and no notification is shown. */
void tui_set_attention(tui *t, enum tui_bell_mode bell, int notify);
/* The events to give mim_core_start, with the tui as their user data. */
const mim_core_events *tui_core_events(void);
/* Takes the terminal and starts reading keys: 0, or -1 (the core is told to quit then). */
int tui_attach(tui *t, mim_core *core);
/* An orderly quit (a signal, /quit). */
void tui_quit(tui *t);
/* The last fatal error's message (to print once the terminal is back), or NULL. */
const char *tui_fatal_message(const tui *t);
void tui_free(tui *t);

#endif
