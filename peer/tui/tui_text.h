/* Safe text for the terminal: everything the interface draws that came from the network (names,
 * status texts, messages) or from a file goes through tui_text_sanitize first, so no byte of it
 * reaches the terminal as a control character or the start of an escape sequence.
 *
 * The UTF-8 decoding here is our own (strict: no overlong forms, no surrogates, nothing above
 * U+10FFFF), so what counts as a character does not depend on the locale; only the widths come
 * from wcwidth(3), i.e. from LC_CTYPE (set it with setlocale first). Pure: no I/O. */
#ifndef MIM_TUI_TEXT_H
#define MIM_TUI_TEXT_H

#include <stddef.h>
#include <wchar.h>

#define TUI_TEXT_KEEP_NEWLINE 1 /* flag: keep '\n' (the caller breaks lines there) */

/* Decodes one UTF-8 character of s (len > 0 bytes): its code point and the bytes it took, or
 * -1 and *used = 1 for a byte that does not start a valid character. */
long tui_text_decode(const char *s, size_t len, size_t *used);

/* Turns UTF-8 `s` (len bytes) into at most cap - 1 wide characters plus a NUL (cap > 0), safe
 * to draw: C0 controls and DEL in caret notation (ESC -> "^[", so an escape sequence shows as
 * text), a tab as a space, '\n' kept under TUI_TEXT_KEEP_NEWLINE (else "^J"); C1 controls,
 * bidirectional overrides, invalid UTF-8 and anything wcwidth calls unprintable as the
 * replacement character (U+FFFD, or '?' where the locale cannot show it); a combining mark with
 * nothing to combine with gets a space before it. Returns the wide characters written; what
 * does not fit is cut, never half a caret pair. */
size_t tui_text_sanitize(const char *s, size_t len, int flags, wchar_t *out, size_t cap);

/* One character the user typed or pasted (never a control but '\n' and '\t': tui_line keeps
 * them out), as it may be drawn: a tab as a space, '\n' as it is (the caller breaks there),
 * what tui_text_sanitize would replace as the replacement character. One for one, so the
 * cursor's place stays the same. */
wchar_t tui_text_safe_char(wchar_t c);

/* Columns that n sanitised characters take (wcwidth; 1 for anything it does not know). */
int tui_text_width(const wchar_t *s, size_t n);
/* Columns of one sanitised character: 0 (combining), 1 or 2. */
int tui_text_char_width(wchar_t c);

/* Encodes n wide characters as UTF-8 into out (cap bytes, NUL included): the bytes written
 * (without the NUL), or -1 when it does not fit or a character is not a Unicode scalar value. */
int tui_text_to_utf8(const wchar_t *s, size_t n, char *out, size_t cap);
/* Decodes UTF-8 s into wide characters as they are (no sanitising; invalid bytes become
 * U+FFFD): at most cap - 1 and a NUL; returns the count. For completing names. */
size_t tui_text_from_utf8(const char *s, wchar_t *out, size_t cap);

#endif
