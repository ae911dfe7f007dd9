/* What the sealed-mailbox end-to-end tests (test_mailbox_*.c, issue 14) share, over the
 * `mim --json` harness (mim_proc.h): staging a registered but offline recipient, a deposit
 * awaited to its `deposited`, the server restarted with other options on the same port and data
 * dir, counts over a peer's `history`, and the server's mailbox table read and spoiled with
 * SQLite directly (the test plays an attacker with the server's disk).
 *
 * Like mim_proc.h, the functions that take a test's word fail the running cmocka test on a miss;
 * every wait is bounded. */
#ifndef MIM_TEST_MAILBOX_ENV_H
#define MIM_TEST_MAILBOX_ENV_H

#include "mim_proc.h"

#include <stddef.h>

#define MB_ID_LEN 33 /* a message id in hex, NUL included */

/* Starts p and waits until it is logged in at f's server (`presence` connected). */
void mb_start_connected(fixture *f, mp *p);
/* mb_start_connected, then quit: p's name is registered at the server under p's key, and p is
 * offline. */
void mb_register_then_quit(fixture *f, mp *p);
/* a sends text (no JSON escapes needed) to `to`, who is offline: `queued` (tag), then
 * `deposited` for its id. id_out gets the id. Returns the index of the `deposited` event. */
long mb_send_deposited(mp *a, const char *to, const char *text, const char *tag,
                       char id_out[MB_ID_LEN]);
/* a sends text to `to`: its `queued` (tag) arrives; id_out gets the id. */
void mb_send_queued(mp *a, const char *to, const char *text, const char *tag,
                    char id_out[MB_ID_LEN]);

/* Stops f's server (SIGTERM, exit 0), sets its extra options (a NULL-terminated list of at most
 * 7, kept for later restarts; NULL: none) and starts it again on the same port and data dir. */
void mb_server_restart(fixture *f, const char *const *extra);
/* SIGKILLs f's server and starts it again on the same port and data dir. */
void mb_server_kill_restart(fixture *f);

/* Asks p for its history with `with`: how many entries have this id; *state (when not NULL)
 * gets the last one's state ("" when none), at most 31 bytes. */
size_t mb_history_count(mp *p, const char *with, const char *id, char state[32]);

/* ---- the server's database, directly ----------------------------------------------------------
 */

/* Rows in the server's mailbox table (presence.db in f's data dir), or -1 when it cannot be
 * read. The server may run: SQLite's locking keeps the two apart. */
long mb_mailbox_rows(const fixture *f);
/* Rows in the mailbox table for the recipient `to`, or -1. */
long mb_mailbox_rows_to(const fixture *f, const char *to);
/* Waits at most timeout_ms for `to` to have `rows` rows in the mailbox table: 1 when it came to
 * that. */
int mb_wait_mailbox_to(const fixture *f, const char *to, long rows, int timeout_ms);
/* Flips one byte in the middle of the `sealed` column of every row of the mailbox table: the
 * number of rows changed, or -1. Run with the server stopped. */
long mb_spoil_sealed(const fixture *f);
/* Rewrites every row's `sealed` as a mim-mail-v1 letter (mim_seal: the sealed box and signature
 * of senders from before v2) from `from` to `to` (their identity keys read from their data
 * dirs), a chat with the row's message id and this text: the number of rows, or -1. Run with
 * the server stopped. */
long mb_reseal_v1(const fixture *f, const mp *from, const mp *to, const char *text);
/* Waits at most timeout_ms for the mailbox table to have `rows` rows: 1 when it came to that. */
int mb_wait_mailbox_rows(const fixture *f, long rows, int timeout_ms);

#endif
