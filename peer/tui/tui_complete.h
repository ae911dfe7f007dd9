/* Tab completion on the input line: of a command name at the start of the line, of a contact's
 * name anywhere else. Pure: the candidates come from the caller (tui.c: the command table and
 * the model's contacts).
 *
 * A word is what lies between the last space (or an unclosed '"') and the cursor. One match
 * completes the word and adds a space; a name with a space in it is put in quotes, as the
 * command parser reads it. Several matches extend the word to their longest common prefix
 * (tui_complete), or are put in the word one after the other, a Tab each (tui_complete_next). */
#ifndef MIM_TUI_COMPLETE_H
#define MIM_TUI_COMPLETE_H

#include "tui_line.h"

#include <stddef.h>

enum tui_complete_kind {
    TUI_COMPLETE_COMMAND = 1, /* the first word, starting with '/' */
    TUI_COMPLETE_NAME = 2,    /* any other word */
};

#define TUI_COMPLETE_WORD_MAX 256 /* wide characters of a word or candidate (names are <= 32) */

/* A Tab cycle through several candidates: kept by the caller between Tabs; any other key ends
 * it (active = 0). */
typedef struct tui_complete_cycle {
    int active;
    size_t start;                          /* where the word being cycled starts in the line */
    int quoted;                            /* it follows an unclosed '"' */
    wchar_t prefix[TUI_COMPLETE_WORD_MAX]; /* what was typed before the first Tab */
    size_t plen;
    size_t shown; /* the index in cands of the candidate in the line now */
} tui_complete_cycle;

/* What the word at the cursor is: TUI_COMPLETE_COMMAND or TUI_COMPLETE_NAME. */
int tui_complete_kind(const tui_line *l);

/* Completes the word at the cursor against cands (n UTF-8 strings). Returns how many
 * candidates match; matched (n entries, may be NULL) gets 1 for each of them, for listing. */
size_t tui_complete(tui_line *l, const char *const *cands, size_t n, unsigned char *matched);

/* Tab with cycling: one match completes the word as tui_complete does; with several, this Tab
 * puts the first of them in the word (quoted if it has a space, no space after it) and each
 * next Tab of the cycle *cy the next one, round and round, the typed prefix kept in *cy.
 * Returns how many candidates match the typed prefix (0: nothing changes, the cycle ends);
 * matched as in tui_complete; cy->shown is the one in the line while cy->active. */
size_t tui_complete_next(tui_line *l, tui_complete_cycle *cy, const char *const *cands, size_t n,
                         unsigned char *matched);

#endif
