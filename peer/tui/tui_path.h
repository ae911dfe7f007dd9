/* File paths on the input line: /send NAME PATH reads PATH as typed (tui_path_unquote), and Tab
 * completes it from the file system (tui_path_complete). Pure but for reading directories.
 *
 * PATH is the rest of the line. It may be written in double quotes ("my file.pdf"), or with a
 * backslash before a space, a quote or a backslash (my\ file.pdf); spaces inside an unquoted
 * path are kept as they are (/send bob my file.pdf), spaces at its end are not. A leading "~"
 * or "~/" is the home directory. Completion writes names back in the backslash form. */
#ifndef MIM_TUI_PATH_H
#define MIM_TUI_PATH_H

#include "tui_line.h"

#include <stddef.h>

#define TUI_PATH_MAX  4096 /* bytes of a path, NUL included (PATH_MAX) */
#define TUI_PATH_LIST 200  /* directory entries a Tab looks at: the rest are not offered */

/* PATH as typed (UTF-8) into the path it names, in out (cap bytes), with "~" made home (may be
 * NULL: then "~" stays). 0, or -1 with *why set: an unclosed quote, a backslash at the end,
 * nothing, or too long. */
int tui_path_unquote(const char *typed, const char *home, char *out, size_t cap, const char **why);

/* Where the PATH of a "/send NAME PATH" line starts in l (a name written in full, and a space
 * after it), when the cursor is in it; else -1 (another line, or the cursor still in the
 * command or the name). */
long tui_path_word_start(const tui_line *l);

/* Completes the path between start and the cursor: one match replaces it with the match,
 * followed by '/' (a directory: Tab goes on inside it) or a space; several extend it to their
 * longest common part, and their names (at most what fits in hint, two spaces apart, "..."
 * when cut) go into hint (cap bytes; "" otherwise). Hidden entries only when the typed name
 * starts with a dot. Returns how many entries match (0: nothing changes). */
size_t tui_path_complete(tui_line *l, size_t start, const char *home, char *hint, size_t cap);

#endif
