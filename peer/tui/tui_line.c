/* The input line editor (see tui_line.h). */
#include "tui_line.h"
#include "tui_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void tui_line_init(tui_line *l)
{
    memset(l, 0, sizeof(*l));
}

void tui_line_free(tui_line *l)
{
    for (size_t i = 0; i < l->nhist; i++)
        free(l->hist[i]);
    free(l->draft);
    l->nhist = 0;
    l->draft = NULL;
}

int tui_line_insert(tui_line *l, wchar_t c)
{
    return tui_line_replace(l, l->cursor, &c, 1);
}

/* Bytes of c in UTF-8 (what tui_text_to_utf8 writes; 3, U+FFFD's, for what it refuses). */
static size_t char_bytes(wchar_t c)
{
    uint32_t u = (uint32_t)c;
    return u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 || u > 0x10FFFF ? 3 : 4;
}

static size_t text_bytes(const wchar_t *s, size_t n)
{
    size_t b = 0;
    for (size_t i = 0; i < n; i++)
        b += char_bytes(s[i]);
    return b;
}

size_t tui_line_bytes(const tui_line *l)
{
    return text_bytes(l->buf, l->len);
}

/* Bytes over TUI_LINE_MAX_BYTES once [from, cursor) is replaced by n characters of s: 0 when
 * it fits (and in TUI_LINE_MAX characters). */
static size_t over_by(const tui_line *l, size_t from, const wchar_t *s, size_t n)
{
    size_t bytes =
        tui_line_bytes(l) - text_bytes(l->buf + from, l->cursor - from) + text_bytes(s, n);

    if (bytes > TUI_LINE_MAX_BYTES)
        return bytes - TUI_LINE_MAX_BYTES;
    return l->len - (l->cursor - from) + n > TUI_LINE_MAX ? 1 : 0;
}

int tui_line_replace(tui_line *l, size_t from, const wchar_t *s, size_t n)
{
    size_t gone;

    if (from > l->cursor || over_by(l, from, s, n) > 0)
        return -1;
    gone = l->cursor - from;
    memmove(l->buf + from + n, l->buf + l->cursor, (l->len - l->cursor) * sizeof(wchar_t));
    memcpy(l->buf + from, s, n * sizeof(wchar_t));
    l->len = l->len - gone + n;
    l->cursor = from + n;
    l->buf[l->len] = L'\0';
    return 0;
}

size_t tui_line_insert_text(tui_line *l, const wchar_t *s, size_t n)
{
    size_t over = over_by(l, l->cursor, s, n);

    if (over == 0)
        tui_line_replace(l, l->cursor, s, n);
    return over;
}

/* What a paste may put in a message: CR (and CR LF) as a newline, a tab, no other control. */
static size_t paste_clean(wchar_t *s, size_t n, size_t *dropped)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)s[i];
        if (c == '\r') {
            s[o++] = L'\n';
            if (i + 1 < n && s[i + 1] == L'\n')
                i++;
        } else if (c == '\n' || c == '\t') {
            s[o++] = (wchar_t)c;
        } else if (c < 0x20 || (c >= 0x7F && c < 0xA0) || (c >= 0xD800 && c <= 0xDFFF) ||
                   c > 0x10FFFF) {
            (*dropped)++;
        } else {
            s[o++] = (wchar_t)c;
        }
    }
    return o;
}

size_t tui_line_paste(tui_line *l, wchar_t *s, size_t n, size_t *dropped)
{
    size_t none = 0, at = l->cursor, over;

    n = paste_clean(s, n, dropped != NULL ? dropped : &none);
    over = tui_line_insert_text(l, s, n);
    if (over == 0 && at == 0 && n > 0 && s[0] == L'/')
        l->literal = 1;
    return over;
}

/* Removes [from, to) and puts the cursor at from. */
static void cut(tui_line *l, size_t from, size_t to)
{
    memmove(l->buf + from, l->buf + to, (l->len - to) * sizeof(wchar_t));
    l->len -= to - from;
    l->cursor = from;
    l->buf[l->len] = L'\0';
    if (l->len == 0)
        l->literal = 0; /* emptied: what is typed next is read afresh */
}

void tui_line_backspace(tui_line *l)
{
    if (l->cursor > 0)
        cut(l, l->cursor - 1, l->cursor);
}

void tui_line_delete(tui_line *l)
{
    if (l->cursor < l->len) {
        size_t at = l->cursor;
        cut(l, at, at + 1);
    }
}

void tui_line_left(tui_line *l)
{
    if (l->cursor > 0)
        l->cursor--;
}

void tui_line_right(tui_line *l)
{
    if (l->cursor < l->len)
        l->cursor++;
}

void tui_line_home(tui_line *l)
{
    l->cursor = 0;
}

void tui_line_end(tui_line *l)
{
    l->cursor = l->len;
}

void tui_line_kill_start(tui_line *l)
{
    cut(l, 0, l->cursor);
}

void tui_line_kill_end(tui_line *l)
{
    cut(l, l->cursor, l->len);
    l->cursor = l->len;
}

/* What separates words: a space, a tab, a newline. */
static int is_space(wchar_t c)
{
    return c == L' ' || c == L'\t' || c == L'\n';
}

/* Where the word before `at` starts (its spaces after it skipped first). */
static size_t word_start_before(const tui_line *l, size_t at)
{
    while (at > 0 && is_space(l->buf[at - 1]))
        at--;
    while (at > 0 && !is_space(l->buf[at - 1]))
        at--;
    return at;
}

void tui_line_kill_word(tui_line *l)
{
    cut(l, word_start_before(l, l->cursor), l->cursor);
}

void tui_line_word_left(tui_line *l)
{
    l->cursor = word_start_before(l, l->cursor);
}

void tui_line_word_right(tui_line *l)
{
    size_t at = l->cursor;

    while (at < l->len && is_space(l->buf[at]))
        at++;
    while (at < l->len && !is_space(l->buf[at]))
        at++;
    l->cursor = at;
}

void tui_line_clear(tui_line *l)
{
    l->len = l->cursor = 0;
    l->buf[0] = L'\0';
    l->literal = 0;
}

static void show(tui_line *l, const wchar_t *s, int literal)
{
    size_t n = wcslen(s);
    memcpy(l->buf, s, (n + 1) * sizeof(wchar_t));
    l->len = l->cursor = n;
    l->literal = literal; /* a pasted "/quit" recalled is still text */
}

static wchar_t *dup_line(const wchar_t *s, size_t n)
{
    wchar_t *d = malloc((n + 1) * sizeof(wchar_t));
    if (d != NULL) {
        memcpy(d, s, n * sizeof(wchar_t));
        d[n] = L'\0';
    }
    return d;
}

void tui_line_history_prev(tui_line *l)
{
    if (l->hist_pos == 0 || l->nhist == 0)
        return;
    if (l->hist_pos == l->nhist) {
        free(l->draft);
        if ((l->draft = dup_line(l->buf, l->len)) == NULL)
            return; /* out of memory: stay on the draft rather than lose it */
        l->draft_literal = l->literal;
    }
    l->hist_pos--;
    show(l, l->hist[l->hist_pos], l->hist_literal[l->hist_pos]);
}

void tui_line_history_next(tui_line *l)
{
    if (l->hist_pos >= l->nhist)
        return;
    l->hist_pos++;
    if (l->hist_pos == l->nhist) {
        show(l, l->draft != NULL ? l->draft : L"", l->draft != NULL && l->draft_literal);
        free(l->draft);
        l->draft = NULL;
    } else {
        show(l, l->hist[l->hist_pos], l->hist_literal[l->hist_pos]);
    }
}

static void remember(tui_line *l)
{
    wchar_t *d;

    if (l->len == 0)
        return;
    if (l->nhist > 0 && wcscmp(l->hist[l->nhist - 1], l->buf) == 0) {
        l->hist_literal[l->nhist - 1] = (unsigned char)l->literal; /* as it went last */
        return;
    }
    if ((d = dup_line(l->buf, l->len)) == NULL)
        return;
    if (l->nhist == TUI_LINE_HISTORY) {
        free(l->hist[0]);
        memmove(l->hist, l->hist + 1, (TUI_LINE_HISTORY - 1) * sizeof(l->hist[0]));
        memmove(l->hist_literal, l->hist_literal + 1, TUI_LINE_HISTORY - 1);
        l->nhist--;
    }
    l->hist_literal[l->nhist] = (unsigned char)l->literal;
    l->hist[l->nhist++] = d;
}

/* The line is done with (sent, or cleared by Ctrl-C): into the history, and a new empty line. */
static void finish(tui_line *l)
{
    remember(l);
    free(l->draft);
    l->draft = NULL;
    l->hist_pos = l->nhist;
    tui_line_clear(l);
}

int tui_line_interrupt(tui_line *l)
{
    if (l->len == 0)
        return 0;
    finish(l);
    return 1;
}

int tui_line_take(tui_line *l, char *out, size_t cap)
{
    int n = tui_text_to_utf8(l->buf, l->len, out, cap);

    if (n < 0)
        return -1;
    finish(l);
    return n;
}
