/* File transfers in the terminal interface (docs/TUI.md, "Files"): /send, /accept, /reject,
 * /files and /files open N, and each transfer as one line of its conversation, rewritten in
 * place as it goes (offered, the progress bar with rate and time left, saved or failed).
 *
 * Each transfer gets a number in this run, in the order the store lists them and then as they
 * come; /files shows it, and /accept N, /reject N and /files open N take it (or the id's 32
 * hex digits). The line of every known transfer is kept here, so that a conversation read from
 * the history later shows the transfer as it stands, not as it was offered. */
#ifndef MIM_TUI_FILES_H
#define MIM_TUI_FILES_H

#include "core.h"

typedef struct tui tui;
struct tui_files; /* the transfers known in this run (tui_files.c) */

/* ---- the core's events (tui.c forwards them) ---- */

/* An offer to us: its line, and, when it waits for a decision, a note in the open view with
 * the commands that decide it. */
void tui_files_offer(tui *t, const mim_core_file_info *f, int accepted);
/* Progress, done, failed or paused: the transfer's line rewritten. */
void tui_files_changed(tui *t, const mim_core_file_info *f);

/* ---- the commands (tui_exec.c) ---- */

/* /send NAME PATH: PATH as typed (tui_path_unquote). */
void tui_files_send(tui *t, const char *name, const char *typed_path);
/* /accept [N|ID], /reject [N|ID]: which is NULL for the one offer that waits. */
void tui_files_decide(tui *t, const char *which, int accept);
/* /files: every transfer, numbered, in the console. */
void tui_files_list(tui *t);
/* /files open N: where transfer N is (or will be) saved; never opened by itself. */
void tui_files_where(tui *t, int n);

/* ---- hooks ---- */

/* At start (tui_attach): the transfers in the store are numbered and their lines kept; offers
 * still waiting are said. */
void tui_files_load(tui *t);
/* The line of the transfer with this message id (hex), or NULL: what the history shows. */
const char *tui_files_line_of(tui *t, const char *id);
/* A state event (on_queued, on_sent) for a message id (hex) to `with` not shown: while /send
 * runs, it is the offer's, which is shown once the core has given its id; after, an offer whose
 * file the core was still reading (shown now). */
void tui_files_unshown_state(tui *t, const char *with, const char *id, int state);
/* Tab: completes the PATH of a /send line; 1 when the cursor was in one (done), 0 else. */
int tui_files_complete(tui *t);
/* Frees what is kept (tui_free). */
void tui_files_free(tui *t);

#endif
