/* The input line: a line editor over wide characters with a cursor and a history of the lines
 * entered (up/down walk it; the line being typed is kept as a draft meanwhile). Pure: the keys
 * are mapped to these calls by tui.c, and the screen reads buf, len and cursor.
 *
 * The line may hold newlines (Alt-Enter, or a paste): it is one message, as the protocol
 * allows. It holds at most TUI_LINE_MAX_BYTES bytes as UTF-8, a message's limit: what would
 * grow it past that is refused whole, and the caller says by how much.
 *
 * Owned by its user: tui_line_init, then tui_line_free for the history's memory. */
#ifndef MIM_TUI_LINE_H
#define MIM_TUI_LINE_H

#include <stddef.h>
#include <wchar.h>

#define TUI_LINE_MAX       4096 /* wide characters in the line (a chat text is <= 4096 bytes) */
#define TUI_LINE_MAX_BYTES 4096 /* bytes of the line as UTF-8: MIM_CHAT_TEXT_MAX */
#define TUI_LINE_HISTORY   100  /* lines remembered; the oldest goes first */

typedef struct tui_line {
    wchar_t buf[TUI_LINE_MAX + 1]; /* NUL-terminated */
    size_t len;
    size_t cursor;                                /* 0..len */
    wchar_t *hist[TUI_LINE_HISTORY];              /* oldest first, each malloc'd */
    unsigned char hist_literal[TUI_LINE_HISTORY]; /* that line was literal (a pasted '/') */
    size_t nhist;
    size_t hist_pos; /* the entry shown; nhist: the draft (the line being typed) */
    wchar_t *draft;  /* saved when the walk leaves the draft; NULL otherwise */
    int draft_literal;
    int literal; /* a paste put a '/' first: the line is text, never a command */
} tui_line;

void tui_line_init(tui_line *l);
void tui_line_free(tui_line *l);

/* Inserts c at the cursor: 0, or -1 when the line is full (nothing changes). */
int tui_line_insert(tui_line *l, wchar_t c);
/* Inserts n characters at the cursor, all or none: 0, or the bytes (UTF-8) by which the line
 * would be over TUI_LINE_MAX_BYTES (nothing changes). */
size_t tui_line_insert_text(tui_line *l, const wchar_t *s, size_t n);
/* A bracketed paste: s (n characters as the terminal sent them) made fit for a message -- CR
 * and CR LF become newlines, a tab stays, other controls are dropped (*dropped counts them;
 * may be NULL), in place in s -- and inserted all or none, as tui_line_insert_text. A paste that
 * puts a '/' at the start of the line makes it literal (sent as text, not run as a command). */
size_t tui_line_paste(tui_line *l, wchar_t *s, size_t n, size_t *dropped);
/* Bytes of the line as UTF-8 (what a character that cannot be encoded would take: 3). */
size_t tui_line_bytes(const tui_line *l);
/* Replaces the characters [from, cursor) with s (n characters); the cursor ends after them:
 * 0, or -1 when the line would be over TUI_LINE_MAX (nothing changes). For completion. */
int tui_line_replace(tui_line *l, size_t from, const wchar_t *s, size_t n);
void tui_line_backspace(tui_line *l); /* the character before the cursor */
void tui_line_delete(tui_line *l);    /* the character under the cursor */
void tui_line_left(tui_line *l);
void tui_line_right(tui_line *l);
void tui_line_home(tui_line *l);
void tui_line_end(tui_line *l);
void tui_line_kill_start(tui_line *l); /* Ctrl-U: everything before the cursor */
void tui_line_kill_end(tui_line *l);   /* Ctrl-K: everything from the cursor on */
void tui_line_kill_word(tui_line *l);  /* Ctrl-W: the word before the cursor, and its spaces */
void tui_line_word_left(tui_line *l);  /* Alt-b: to the start of this or the previous word */
void tui_line_word_right(tui_line *l); /* Alt-f: to the end of this or the next word */
void tui_line_clear(tui_line *l);
/* Ctrl-C: a line with text is cleared (and kept in the history, so Up brings it back): 1; an
 * empty line is left alone: 0 (the caller quits). */
int tui_line_interrupt(tui_line *l);

/* Up: the previous history entry (the draft is kept); at the oldest, nothing changes. */
void tui_line_history_prev(tui_line *l);
/* Down: the next entry, and after the newest the draft again. */
void tui_line_history_next(tui_line *l);

/* Enter: writes the line as UTF-8 into out (cap bytes, NUL included), adds it to the history
 * (unless empty or the same as the newest entry), and clears the line. Returns the bytes
 * written, or -1 when out is too small (then nothing changes). */
int tui_line_take(tui_line *l, char *out, size_t cap);

#endif
