/* What the terminal and the locale allow (see tui_terminal.h). */
#include "tui_terminal.h"

#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <unistd.h>

int tui_terminal_usable(char *why, size_t cap)
{
    const char *term = getenv("TERM");
    const char *cup;
    int err = 0, can_move;

    if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0) {
        snprintf(why, cap, "this terminal (TERM=%s) cannot move its cursor",
                 term != NULL && term[0] != '\0' ? term : "unset");
        return -1;
    }
    /* With &err, setupterm says nothing on the terminal itself. */
    if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
        snprintf(why, cap, "the terminal type TERM=%.60s is not known here (no terminfo entry)",
                 term);
        return -1;
    }
    cup = tigetstr("cup");
    can_move = cup != NULL && cup != (const char *)-1;
    del_curterm(cur_term); /* initscr sets the terminal up again */
    if (!can_move) {
        snprintf(why, cap, "this terminal (TERM=%.60s) cannot move its cursor", term);
        return -1;
    }
    return 0;
}

int tui_terminal_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs != NULL && strcmp(cs, "UTF-8") == 0;
}
