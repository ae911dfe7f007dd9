/* Tab completion on the input line: of a command name at the start of the line, of a contact's
 * name anywhere else. Pure: the candidates come from the caller (tui.c: the command table and
 * the model's contacts).
 *
 * A word is what lies between the last space (or an unclosed '"') and the cursor. One match
 * completes the word and adds a space; a name with a space in it is put in quotes, as the
 * command parser reads it. Several matches extend the word to their longest common prefix. */
#ifndef MIM_TUI_COMPLETE_H
#define MIM_TUI_COMPLETE_H

#include "tui_line.h"

#include <stddef.h>

enum tui_complete_kind {
    TUI_COMPLETE_COMMAND = 1, /* the first word, starting with '/' */
    TUI_COMPLETE_NAME = 2,    /* any other word */
};

/* What the word at the cursor is: TUI_COMPLETE_COMMAND or TUI_COMPLETE_NAME. */
int tui_complete_kind(const tui_line *l);

/* Completes the word at the cursor against cands (n UTF-8 strings). Returns how many
 * candidates match; matched (n entries, may be NULL) gets 1 for each of them, for listing. */
size_t tui_complete(tui_line *l, const char *const *cands, size_t n, unsigned char *matched);

#endif
