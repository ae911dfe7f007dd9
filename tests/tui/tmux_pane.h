/* A driver for end-to-end tests of mim's terminal interface: each `mim` runs in its own tmux
 * session (a pane of a fixed size) on a private tmux server (-S SOCKET, -f /dev/null), keys are
 * typed with send-keys, and the screen is read with capture-pane -p. Waits poll the screen
 * until a text shows up, bounded by a deadline; a miss fails the running cmocka test with the
 * last screen printed.
 *
 * The pane runs `mim --name N --server 127.0.0.1:PORT --data-dir D --log-level debug` in the
 * C.UTF-8 locale, then writes mim's exit status to D.exit, so tests can check how it ended. */
#ifndef MIM_TEST_TMUX_PANE_H
#define MIM_TEST_TMUX_PANE_H

#include <stddef.h>

#define TP_PATH_MAX   512
#define TP_SCREEN_MAX 65536
#define TP_WAIT_MS    20000 /* for a text that should show up */

typedef struct tmux_pane {
    char socket[TP_PATH_MAX]; /* the private tmux server */
    char name[64];            /* the session, and mim's --name */
    char dir[TP_PATH_MAX];    /* mim's data dir */
    char exit_file[TP_PATH_MAX + 8];
    char screen[TP_SCREEN_MAX]; /* the last capture */
} tmux_pane;

/* Fills p: the tmux socket is tmp/tmux.sock, the data dir tmp/name. Starts nothing. */
void tp_init(tmux_pane *p, const char *tmp, const char *name);
/* Starts mim in a new detached session of cols x rows against the server on port. */
void tp_start(tmux_pane *p, int port, int cols, int rows);
/* tp_start with env (shell assignments, e.g. "TERM=dumb LANG=C"; "" for none) put after the
 * locale's, so they win; with hold, the pane stays after mim ends (its last screen can be
 * read; the teardown's tp_kill_server ends it). */
void tp_start_env(tmux_pane *p, int port, int cols, int rows, const char *env, int hold);
/* Pastes text into the pane as a terminal does (tmux paste-buffer -p: bracketed, when the
 * program asked for it; its newlines as CR). */
void tp_paste(tmux_pane *p, const char *text);
/* tp_start with more: env ("NAME=value ..." before the command; "" for none) and args (more
 * options after mim's own; "" for none), both put into the pane's shell command as they are. */
void tp_start_with(tmux_pane *p, int port, int cols, int rows, const char *env, const char *args);
/* Captures the screen with its attributes as escape sequences (capture-pane -e) into p->screen:
 * 0, or -1. */
int tp_capture_attrs(tmux_pane *p);
/* Appends everything mim writes to its terminal from now on to the file at path (pipe-pane -O):
 * for what leaves no mark on the screen (the bell, the title sequence). */
void tp_pipe_output(tmux_pane *p, const char *path);
/* Types text literally (no key names), then Enter when enter is set. */
void tp_type(tmux_pane *p, const char *text, int enter);
/* Sends one key by its tmux name ("Tab", "Up", "PageUp", ...). */
void tp_key(tmux_pane *p, const char *key);
/* Captures the screen into p->screen: 0, or -1 when the session is gone. */
int tp_capture(tmux_pane *p);
/* Waits (bounded) until the screen holds text; fails the test otherwise. */
void tp_expect(tmux_pane *p, const char *text);
/* Waits (bounded) until row `row` (0-based) of the screen holds text; fails the test
 * otherwise. */
void tp_expect_row(tmux_pane *p, int row, const char *text);
/* The row (0-based) of the last capture that holds text, or -1. */
int tp_row_of(const tmux_pane *p, const char *text);
/* Row `row` of the last capture into out (NUL-terminated; "" when there is no such row). */
void tp_row(const tmux_pane *p, int row, char *out, size_t cap);
/* Resizes the window to cols x rows. */
void tp_resize(tmux_pane *p, int cols, int rows);
/* A tmux format of the pane (e.g. "#{pane_title}") into out. */
void tp_format(tmux_pane *p, const char *format, char *out, size_t cap);
/* Sends signal sig to the mim running in the pane (the child of the pane's shell). */
void tp_signal(tmux_pane *p, int sig);
/* Waits (bounded) for mim to end and returns its exit status; fails the test if it does not. */
int tp_wait_exit(tmux_pane *p);
/* Kills the private tmux server, whatever runs in it (teardown). */
void tp_kill_server(const char *tmp);

#endif
