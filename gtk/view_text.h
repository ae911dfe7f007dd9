/* The words the window shows for the view model (view_model.h): a contact's row, a message's
 * row with its state, the date lines, the title, the server's state, a transfer, and the core's
 * command refusals. The accessible names of docs/GTK.md come from here, so the tests of the
 * window and the unit tests read the same text. Plain C. */
#ifndef MIM_GTK_VIEW_TEXT_H
#define MIM_GTK_VIEW_TEXT_H

#include "view_model.h"

#include <stddef.h>
#include <stdint.h>

#define VM_TEXT_MAX 8400 /* room for any text below (a chat text is at most 4096 bytes) */

const char *vm_state_word(enum vm_state s); /* "queued", "sent", ...; "" for VM_IN */
const char *vm_status_word(enum vm_status s);
const char *vm_conn_word(enum vm_conn c); /* "connected", "reconnecting", ... */

/* "bob, available", "bob, away: at lunch", "carol, offline, last seen 5 min ago", then
 * ", 2 unread", ", verified", ", key changed" as they apply. A room (issue 16): "#lab, 3
 * members" (", you are no longer in it"), then unread. */
void vm_contact_text(const vm_contact *c, int64_t now_ms, char *out, size_t len);
/* "SENDER: TEXT (STATE)" for ours, "SENDER: TEXT" for theirs, the text of a note; ours to a
 * room once a copy is delivered: "SENDER: TEXT (delivered to 7 of 9)"; a broadcast of theirs:
 * "SENDER: TEXT (broadcast)", "(important broadcast)", "(important broadcast, acknowledged)". */
void vm_row_text(const vm_row *r, char *out, size_t len);
/* 1 when a date line goes above the row stamped ts_ms after one stamped prev_ms (0: none). */
int vm_needs_date_line(int64_t prev_ms, int64_t ts_ms);
/* "Today", "Yesterday", else the day in words ("Tuesday 1 December 2026"). */
void vm_date_text(int64_t ts_ms, int64_t now_ms, char *out, size_t len);
/* "mim — NAME", or "(N) mim — NAME" with N unread. */
void vm_title(const view_model *m, char *out, size_t len);
/* "report.pdf: 1.2 MB of 3.4 MB", "... done", "... waits for you", "... failed: why". */
void vm_transfer_text(const vm_transfer *t, char *out, size_t len);
/* 0..1 of the transfer done. */
double vm_transfer_fraction(const vm_transfer *t);
/* A command the core refused (MIM_CORE_E* or a negative MIM_E*), in words about `who`. */
void vm_refusal_text(int rc, const char *who, char *out, size_t len);
/* 1 for an image/... media type. */
int vm_is_image(const vm_transfer *t);

#endif
