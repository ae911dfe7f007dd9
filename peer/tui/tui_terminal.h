/* What the terminal and the locale allow, asked before the screen is taken. A terminal that
 * cannot move its cursor (TERM=dumb, no TERM, a type terminfo does not know) cannot show the
 * full-screen interface: mim refuses it with words pointing to --json. A locale that is not
 * UTF-8 gets the interface with ASCII marks, and a warning. */
#ifndef MIM_TUI_TERMINAL_H
#define MIM_TUI_TERMINAL_H

#include <stddef.h>

/* 0 when the terminal on stdout can run the interface; else -1 and why (a sentence naming
 * TERM) in out (cap bytes). */
int tui_terminal_usable(char *why, size_t cap);
/* 1 when the locale's character set (LC_CTYPE, after setlocale) is UTF-8. */
int tui_terminal_utf8(void);

#endif
