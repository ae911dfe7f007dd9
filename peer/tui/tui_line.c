/* The input line editor (see tui_line.h). */
#include "tui_line.h"
#include "tui_text.h"

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

int tui_line_replace(tui_line *l, size_t from, const wchar_t *s, size_t n)
{
    size_t gone;

    if (from > l->cursor)
        return -1;
    gone = l->cursor - from;
    if (l->len - gone + n > TUI_LINE_MAX)
        return -1;
    memmove(l->buf + from + n, l->buf + l->cursor, (l->len - l->cursor) * sizeof(wchar_t));
    memcpy(l->buf + from, s, n * sizeof(wchar_t));
    l->len = l->len - gone + n;
    l->cursor = from + n;
    l->buf[l->len] = L'\0';
    return 0;
}

/* Removes [from, to) and puts the cursor at from. */
static void cut(tui_line *l, size_t from, size_t to)
{
    memmove(l->buf + from, l->buf + to, (l->len - to) * sizeof(wchar_t));
    l->len -= to - from;
    l->cursor = from;
    l->buf[l->len] = L'\0';
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
    l->len = l->cursor;
    l->buf[l->len] = L'\0';
}

void tui_line_kill_word(tui_line *l)
{
    size_t from = l->cursor;

    while (from > 0 && l->buf[from - 1] == L' ')
        from--;
    while (from > 0 && l->buf[from - 1] != L' ')
        from--;
    cut(l, from, l->cursor);
}

void tui_line_clear(tui_line *l)
{
    l->len = l->cursor = 0;
    l->buf[0] = L'\0';
}

static void show(tui_line *l, const wchar_t *s)
{
    size_t n = wcslen(s);
    memcpy(l->buf, s, (n + 1) * sizeof(wchar_t));
    l->len = l->cursor = n;
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
    }
    l->hist_pos--;
    show(l, l->hist[l->hist_pos]);
}

void tui_line_history_next(tui_line *l)
{
    if (l->hist_pos >= l->nhist)
        return;
    l->hist_pos++;
    if (l->hist_pos == l->nhist) {
        show(l, l->draft != NULL ? l->draft : L"");
        free(l->draft);
        l->draft = NULL;
    } else {
        show(l, l->hist[l->hist_pos]);
    }
}

static void remember(tui_line *l)
{
    wchar_t *d;

    if (l->len == 0 || (l->nhist > 0 && wcscmp(l->hist[l->nhist - 1], l->buf) == 0))
        return;
    if ((d = dup_line(l->buf, l->len)) == NULL)
        return;
    if (l->nhist == TUI_LINE_HISTORY) {
        free(l->hist[0]);
        memmove(l->hist, l->hist + 1, (TUI_LINE_HISTORY - 1) * sizeof(l->hist[0]));
        l->nhist--;
    }
    l->hist[l->nhist++] = d;
}

int tui_line_take(tui_line *l, char *out, size_t cap)
{
    int n = tui_text_to_utf8(l->buf, l->len, out, cap);

    if (n < 0)
        return -1;
    remember(l);
    free(l->draft);
    l->draft = NULL;
    l->hist_pos = l->nhist;
    tui_line_clear(l);
    return n;
}
