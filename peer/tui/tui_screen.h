/* Drawing the terminal interface with ncurses (wide-character API): the contact list on the
 * left, the open conversation (or the console) on the right, a status bar and the input line
 * at the bottom. It only reads the model and the line editor; every text from the model goes
 * through tui_text_sanitize before it reaches ncurses.
 *
 * tui_screen_start/stop own the terminal (initscr ... endwin); tui_screen_draw redraws
 * everything (cheap enough at chat speed, and it makes a resize just another draw). */
#ifndef MIM_TUI_SCREEN_H
#define MIM_TUI_SCREEN_H

#include "tui_line.h"
#include "tui_model.h"

/* Takes the terminal: cbreak, no echo, keypad, non-blocking reads. 0, or -1 when the
 * terminal cannot be set up (nothing is left changed then). */
int tui_screen_start(void);
/* Gives the terminal back as it was. Idempotent. */
void tui_screen_stop(void);
/* The terminal changed size: rows and cols from the terminal, then a redraw is due. */
void tui_screen_resize(void);
/* Redraws the whole screen. m->scroll is clamped to what there is to scroll. */
void tui_screen_draw(tui_model *m, const tui_line *l);
/* Rows of the conversation area (for PageUp/PageDown). */
int tui_screen_page_rows(void);
/* Rows that the open view's entries after entry `index` take on screen now (wrapped as drawn):
 * what m->scroll must be for that entry to end on the bottom row. 0 with no screen. */
int tui_screen_rows_after(tui_model *m, size_t index);
/* Rings the terminal bell. */
void tui_screen_bell(void);

#endif
