/* The keys of the terminal front end: which key does what (the line editor, the contact list,
 * Enter, Tab completion), read from the terminal when it is readable (tui_on_input). The keys
 * beyond typing (pastes, words, PageUp, Ctrl-C) are tui_input.c's. */
#include "tui_command.h"
#include "tui_complete.h"
#include "tui_priv.h"
#include "tui_screen.h"
#include "mim_log.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#define HANGUP_READS 64 /* readable without a key this many times in a row: the tty is gone */
#define KEY_CTRL(c)  ((c)&0x1f)

static void complete(tui *t)
{
    const char **cands;
    size_t n, matches;
    unsigned char *matched;

    if (tui_files_complete(t)) /* the PATH of a /send */
        return;
    if (tui_complete_kind(&t->line) == TUI_COMPLETE_COMMAND) {
        cands = (const char **)tui_command_names;
        n = tui_command_count;
    } else if (wcsncmp(t->line.buf, L"/trust-server ", 14) == 0) {
        /* Its argument is the key the warning showed (the only one it would take). */
        if (!t->m.server_key_changed || (cands = malloc(sizeof(*cands))) == NULL)
            return;
        cands[0] = t->m.server_new_fp;
        n = 1;
    } else {
        n = t->m.n;
        if ((cands = malloc((n + 1) * sizeof(*cands))) == NULL)
            return;
        for (size_t i = 0; i < n; i++)
            cands[i] = t->m.c[i]->name;
    }
    matched = calloc(n + 1, 1);
    if (matched != NULL) {
        matches = tui_complete_next(&t->line, &t->cycle, cands, n, matched);
        if (matches > 1)
            tui_hint_candidates(t, cands, n, matched);
    }
    free(matched);
    if (cands != (const char **)tui_command_names)
        free(cands);
}

static void enter(tui *t)
{
    static char line[TUI_INPUT_MAX];
    int literal = t->line.literal;

    if (t->list_focus) {
        long i = tui_model_selected_index(&t->m);
        t->list_focus = 0;
        if (i >= 0)
            tui_open(t, t->m.c[i]->name);
        return;
    }
    if (literal && tui_model_current(&t->m) == NULL) {
        /* Nowhere to send it: kept, rather than lost or run. */
        tui_say(t, TUI_ENTRY_WARN,
                "no conversation is open: the pasted text stays in the line (Tab on an empty "
                "line picks someone; Ctrl-C keeps it in the input history, Up brings it back)");
        return;
    }
    if (tui_line_take(&t->line, line, sizeof(line)) < 0)
        return;
    if (literal)
        tui_send_to_open(t, line);
    else
        tui_exec(t, line);
}

/* A function key (curses KEY_*). */
static void on_function_key(tui *t, wint_t key)
{
    tui_line *l = &t->line;

    if (tui_input_own_key(t, key))
        return;
    switch (key) {
    case KEY_RESIZE:
        break; /* redrawn below */
    case KEY_UP:
        if (t->list_focus)
            tui_model_select_move(&t->m, -1);
        else
            tui_line_history_prev(l);
        break;
    case KEY_DOWN:
        if (t->list_focus)
            tui_model_select_move(&t->m, 1);
        else
            tui_line_history_next(l);
        break;
    case KEY_LEFT:
        tui_line_left(l);
        break;
    case KEY_RIGHT:
        tui_line_right(l);
        break;
    case KEY_HOME:
        tui_line_home(l);
        break;
    case KEY_END:
        tui_line_end(l);
        break;
    case KEY_BACKSPACE:
        tui_line_backspace(l);
        break;
    case KEY_DC:
        tui_line_delete(l);
        break;
    case KEY_PPAGE:
        tui_page_up(t);
        break;
    case KEY_NPAGE:
        t->m.scroll -= tui_screen_page_rows();
        if (t->m.scroll < 0)
            t->m.scroll = 0;
        break;
    case KEY_ENTER:
        enter(t);
        break;
    default:
        break;
    }
}

static void on_key(tui *t, int kind, wint_t key)
{
    tui_line *l = &t->line;

    t->dirty = 1;
    mim_core_input(t->core); /* auto-away ends */
    if (t->pasting) {
        tui_paste_key(t, kind, key);
        return;
    }
    t->m.hint[0] = '\0'; /* a note lasts until the next key */
    if (kind != KEY_CODE_YES && key == L'\t' && !t->list_focus && l->len > 0) {
        complete(t); /* the cycle goes on */
        return;
    }
    t->cycle.active = 0;
    if (kind == KEY_CODE_YES) {
        on_function_key(t, key);
        return;
    }
    switch (key) {
    case L'\r':
    case L'\n':
        enter(t);
        return;
    case L'\t': /* on an empty line (or in the list): to the list and back */
        t->list_focus = !t->list_focus;
        if (t->list_focus && tui_model_selected_index(&t->m) < 0)
            tui_model_select_move(&t->m, 1);
        return;
    case 27: /* Esc */
        t->list_focus = 0;
        return;
    case 127:
    case KEY_CTRL('H'):
        tui_line_backspace(l);
        return;
    case KEY_CTRL('A'):
        tui_line_home(l);
        return;
    case KEY_CTRL('E'):
        tui_line_end(l);
        return;
    case KEY_CTRL('U'):
        tui_line_kill_start(l);
        return;
    case KEY_CTRL('K'):
        tui_line_kill_end(l);
        return;
    case KEY_CTRL('W'):
        tui_line_kill_word(l);
        return;
    case KEY_CTRL('L'):
        clearok(curscr, TRUE);
        return;
    case KEY_CTRL('C'):
        tui_interrupt(t);
        return;
    default:
        break;
    }
    if (iswprint(key)) { /* typing leaves the list */
        t->list_focus = 0;
        if (tui_line_insert(l, (wchar_t)key) != 0)
            tui_line_full(t);
        else if (tui_model_current(&t->m) != NULL && !tui_model_current(&t->m)->is_room &&
                 l->buf[0] != L'/')
            /* A text (not a command) to the open conversation: "typing" (the core sends one at
             * most every MIM_CORE_TYPING_SEND_MS). */
            mim_core_typing(t->core, t->m.current, 1);
    }
}

void tui_on_input(uv_poll_t *h, int status, int events)
{
    tui *t = h->data;
    wint_t key;
    int kind, keys = 0;

    if (status < 0 || (events & UV_DISCONNECT)) {
        mim_log_warn("the terminal is gone: quitting");
        uv_poll_stop(h);
        tui_stop(t);
        return;
    }
    while (t->screen_on && t->core != NULL && (kind = get_wch(&key)) != ERR) {
        keys++;
        on_key(t, kind, key);
    }
    if (keys > 0 && t->screen_on)
        tui_paste_watch(t);
    /* Readable but no key, again and again: the terminal hung up (get_wch hides the EOF). */
    t->idle_reads = keys > 0 ? 0 : t->idle_reads + 1;
    if (t->idle_reads >= HANGUP_READS && t->core != NULL) {
        mim_log_warn("the terminal stopped giving input: quitting");
        uv_poll_stop(h);
        tui_stop(t);
    }
}
