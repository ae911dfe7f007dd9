/* The input keys beyond plain typing: the sequences terminals send for bracketed paste, word
 * movement and Alt-Enter (ncurses is taught them: define_key), a paste gathered and put in the
 * line whole, PageUp reading older history, Ctrl-C, and the passing notes of the status bar.
 * tui.c's on_key hands these keys here. */
#include "tui_priv.h"
#include "tui_screen.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TUI_PASTE_IDLE_MS 500 /* a paste without its end mark ends after this long without keys */

/* Key codes of our own for what terminals send as sequences (define_keys): ncurses returns
 * them as function keys, whatever the terminfo entry knows. */
enum {
    KEY_MIM_PASTE_START = KEY_MAX + 1, /* ESC[200~ */
    KEY_MIM_PASTE_END,                 /* ESC[201~ */
    KEY_MIM_WORD_LEFT,                 /* Alt-b, Ctrl-Left, Alt-Left */
    KEY_MIM_WORD_RIGHT,                /* Alt-f, Ctrl-Right, Alt-Right */
    KEY_MIM_KILL_WORD,                 /* Alt-Backspace */
    KEY_MIM_NEWLINE,                   /* Alt-Enter */
};

static const struct {
    const char *seq;
    int code;
} key_seqs[] = {
    {"\033[200~", KEY_MIM_PASTE_START}, {"\033[201~", KEY_MIM_PASTE_END},
    {"\033b", KEY_MIM_WORD_LEFT},       {"\033f", KEY_MIM_WORD_RIGHT},
    {"\033[1;5D", KEY_MIM_WORD_LEFT},   {"\033[1;5C", KEY_MIM_WORD_RIGHT},
    {"\033[1;3D", KEY_MIM_WORD_LEFT},   {"\033[1;3C", KEY_MIM_WORD_RIGHT},
    {"\033\177", KEY_MIM_KILL_WORD},    {"\033\010", KEY_MIM_KILL_WORD},
    {"\033\r", KEY_MIM_NEWLINE},        {"\033\n", KEY_MIM_NEWLINE},
};

void tui_define_keys(void)
{
    for (size_t i = 0; i < sizeof(key_seqs) / sizeof(key_seqs[0]); i++) {
        define_key(key_seqs[i].seq, 0); /* a code the terminfo entry gave it goes */
        define_key(key_seqs[i].seq, key_seqs[i].code);
    }
}

/* A passing note in the status bar, until the next key. */
void tui_hint(tui *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->m.hint, sizeof(t->m.hint), fmt, ap);
    va_end(ap);
}

/* The candidates of a Tab cycle, the one in the line in brackets: in the status bar, never in
 * a conversation. */
void tui_hint_candidates(tui *t, const char *const *cands, size_t n, const unsigned char *matched)
{
    size_t cap = sizeof(t->m.hint), shown = t->cycle.active ? t->cycle.shown : n;
    char *h = t->m.hint;

    snprintf(h, cap, "Tab:");
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(h);
        if (matched[i] && used + 4 < cap)
            snprintf(h + used, cap - used, i == shown ? " [%s]" : " %s", cands[i]);
    }
}

/* A paste ends: into the line whole, as one message (its newlines are not Enter), or refused
 * whole when it would be over a message's limit. */
static void paste_end(tui *t)
{
    size_t dropped = 0, lines = 1, over;

    t->pasting = 0;
    if (t->paste_extra_bytes > 0) { /* past what is kept: over the limit whatever it holds */
        over = t->paste_extra_bytes + tui_line_bytes(&t->line);
        for (size_t i = 0; i < t->paste_len; i++)
            over += t->paste[i] < 0x80 ? 1 : t->paste[i] < 0x800 ? 2 : 3;
        over -= TUI_LINE_MAX_BYTES;
    } else {
        over = tui_line_paste(&t->line, t->paste, t->paste_len, &dropped);
    }
    if (over > 0) {
        tui_say(t, TUI_ENTRY_WARN,
                "not pasted: %s%zu bytes over the %d-byte limit of a message; paste it in parts",
                t->paste_extra_bytes > 0 ? "about " : "", over, TUI_LINE_MAX_BYTES);
        return;
    }
    for (size_t i = 0; i < t->line.len; i++)
        lines += t->line.buf[i] == L'\n';
    if (t->line.literal)
        tui_hint(t, "pasted text starting with '/': Enter sends it as text, not as a command");
    else if (lines > 1)
        tui_hint(t, "%zu lines: Enter sends them as one message", lines);
    if (dropped > 0) {
        size_t used = strlen(t->m.hint);
        snprintf(t->m.hint + used, sizeof(t->m.hint) - used, "%s%zu control character%s left out",
                 used > 0 ? "; " : "", dropped, dropped == 1 ? "" : "s");
    }
}

/* A key inside a paste: kept for paste_end (what is past TUI_PASTE_MAX only counted). */
void tui_paste_key(tui *t, int kind, wint_t key)
{
    if (kind == KEY_CODE_YES) {
        if (key == KEY_MIM_PASTE_END)
            paste_end(t);
        return; /* a sequence inside a paste: not text */
    }
    if (t->paste_len < TUI_PASTE_MAX)
        t->paste[t->paste_len++] = (wchar_t)key;
    else
        t->paste_extra_bytes += key < 0x80 ? 1 : key < 0x800 ? 2 : key < 0x10000 ? 3 : 4;
}

/* No key for TUI_PASTE_IDLE_MS inside a paste: its end mark is not coming. What came is
 * pasted (the end mark would have done the same), and the note says why. */
static void on_paste_idle(uv_timer_t *h)
{
    tui *t = h->data;
    size_t used;

    if (!t->pasting)
        return;
    paste_end(t);
    used = strlen(t->m.hint);
    snprintf(t->m.hint + used, sizeof(t->m.hint) - used,
             "%sthe paste had no end mark: it ended after %d ms without keys", used > 0 ? "; " : "",
             TUI_PASTE_IDLE_MS);
    t->dirty = 1;
}

void tui_paste_watch(tui *t)
{
    if (t->pasting)
        uv_timer_start(&t->paste_idle, on_paste_idle, TUI_PASTE_IDLE_MS, 0);
    else
        uv_timer_stop(&t->paste_idle);
}

/* PageUp: a page up; at the top of a conversation with older messages stored, they are read
 * in above first. */
void tui_page_up(tui *t)
{
    tui_contact *c = tui_model_current(&t->m);

    if (t->m.view_top && c != NULL && c->conv.older == TUI_OLDER_MORE &&
        tui_load_history(t, c, c->conv.asked + TUI_PAGE_OLDER) != 0)
        tui_say_refusal(t, MIM_CORE_ESTORE, c->name);
    t->m.scroll += tui_screen_page_rows();
}

void tui_line_full(tui *t)
{
    tui_hint(t, "the line is full: a message holds at most %d bytes", TUI_LINE_MAX_BYTES);
}

/* Our own keys (key_seqs): 1 when key was one. */
int tui_input_own_key(tui *t, wint_t key)
{
    tui_line *l = &t->line;

    switch (key) {
    case KEY_MIM_PASTE_START:
        t->pasting = 1;
        t->paste_len = t->paste_extra_bytes = 0;
        t->list_focus = 0;
        return 1;
    case KEY_MIM_PASTE_END:
        return 1; /* an end without a start: nothing */
    case KEY_MIM_WORD_LEFT:
        tui_line_word_left(l);
        return 1;
    case KEY_MIM_WORD_RIGHT:
        tui_line_word_right(l);
        return 1;
    case KEY_MIM_KILL_WORD:
        tui_line_kill_word(l);
        return 1;
    case KEY_MIM_NEWLINE:
        if (tui_line_insert(l, L'\n') != 0)
            tui_line_full(t);
        return 1;
    case KEY_F(2): /* issue 16: acknowledge the oldest important broadcast waiting */
        tui_broadcast_ack(t, NULL);
        return 1;
    default:
        return 0;
    }
}

/* Ctrl-C: a line with text is cleared first; on an empty line, quit (as /quit). */
void tui_interrupt(tui *t)
{
    if (tui_line_interrupt(&t->line))
        tui_hint(t, "line cleared (Up brings it back); Ctrl-C on an empty line quits");
    else
        tui_stop(t);
}
