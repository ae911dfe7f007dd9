/* Drawing with ncurses (see tui_screen.h). */
#include "tui_screen.h"
#include "tui_command.h"
#include "tui_date.h"
#include "tui_terminal.h"
#include "tui_text.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LIST_WIDTH  26 /* columns of the contact list on a wide terminal */
#define MIN_ROWS    8
#define MIN_COLS    40
#define WRAP_MAX    8192 /* wide characters of one drawn entry: prefix + 4096 + state */
#define PAIR_WARN   1
#define PAIR_ME     2
#define PAIR_ONLINE 3
#define PAIR_BANNER 4
#define PAIR_THEM   5
#define INPUT_ROWS  5 /* the input line grows to this many rows, then scrolls within */
/* Bracketed paste on and off (xterm's mode 2004): a paste comes between ESC[200~ and ESC[201~,
 * so that its newlines are not Enter (tui.c reads the marks). */
#define PASTE_ON  "\033[?2004h"
#define PASTE_OFF "\033[?2004l"

static int screen_on;
static int utf8_locale;    /* marks can be drawn as ✓ rather than ASCII */
static int input_rows = 1; /* rows the input line took at the last draw */
static wchar_t wrap_buf[WRAP_MAX];
static size_t row_start[WRAP_MAX + 1];

/* Writes a mode switch to the terminal, between ncurses's own writes (it flushes at refresh). */
static void terminal_mode(const char *seq)
{
    fflush(stdout);
    if (write(STDOUT_FILENO, seq, strlen(seq)) < 0) {
        /* no terminal to tell: nothing to undo either */
    }
}

/* Ctrl-C comes as a key, not SIGINT: with text typed it clears the line (tui_interrupt). Saved
 * as ncurses's program mode; endwin gives back the terminal's own. */
static void no_interrupt_key(void)
{
    struct termios tio;

    if (tcgetattr(STDIN_FILENO, &tio) != 0)
        return;
    tio.c_cc[VINTR] = _POSIX_VDISABLE;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0)
        def_prog_mode();
}

int tui_screen_start(void)
{
    utf8_locale = tui_terminal_utf8();
    if (initscr() == NULL)
        return -1;
    screen_on = 1;
    terminal_mode(PASTE_ON);
    cbreak();
    no_interrupt_key();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE); /* get_wch never blocks: the libuv loop is the only one */
    set_escdelay(50);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(PAIR_WARN, COLOR_RED, -1);
        init_pair(PAIR_ME, COLOR_CYAN, -1);
        init_pair(PAIR_ONLINE, COLOR_GREEN, -1);
        init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
        init_pair(PAIR_THEM, COLOR_YELLOW, -1);
    }
    return 0;
}

void tui_screen_stop(void)
{
    if (!screen_on)
        return;
    screen_on = 0;
    terminal_mode(PASTE_OFF);
    endwin();
}

void tui_screen_resize(void)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
}

void tui_screen_bell(void)
{
    beep();
}

static int list_width(void)
{
    return COLS >= 80 ? LIST_WIDTH : COLS / 3;
}

int tui_screen_page_rows(void)
{
    int rows = LINES - 2 - input_rows; /* the conversation's, below its header */
    return rows > 1 ? rows - 1 : 1;
}

/* Draws n sanitised characters at (y, x), at most maxcols columns: a base character and the
 * combining marks after it go to ncurses together. Returns the columns used. */
static int put_wide(int y, int x, const wchar_t *s, size_t n, int maxcols)
{
    int used = 0;
    size_t i = 0;

    move(y, x);
    while (i < n) {
        size_t j = i + 1;
        int w = tui_text_char_width(s[i]);

        while (j < n && tui_text_char_width(s[j]) == 0 && s[j] != L'\n')
            j++;
        if (used + w > maxcols)
            break;
        if (wcwidth(s[i]) < 0)
            addch('?'); /* never reached for sanitised text; the input line is the user's */
        else
            addnwstr(s + i, (int)(j - i));
        used += w;
        i = j;
    }
    return used;
}

/* Draws UTF-8 text from the network or the user, made safe, at most maxcols columns. */
static int put_text(int y, int x, const char *utf8, int maxcols)
{
    static wchar_t w[1024];
    size_t n = tui_text_sanitize(utf8, strlen(utf8), 0, w, sizeof(w) / sizeof(w[0]));
    return put_wide(y, x, w, n, maxcols);
}

static void fill_row(int y, int x, int cols)
{
    move(y, x);
    for (int i = 0; i < cols; i++)
        addch(' ');
}

/* ---- the contact list ------------------------------------------------------------------------ */

/* A row's attributes: base, reversed for the cursor's row while the list has the keys, bold
 * for the open conversation's. */
static attr_t row_attr(const tui_model *m, const tui_contact *c, attr_t base, int selected)
{
    if (selected && m->list_focus)
        return base | A_REVERSE;
    if (m->current != NULL && strcmp(m->current, c->name) == 0)
        return base | A_BOLD;
    return base;
}

/* "[2] " in bold at x when c has unread lines, then back to attr; the columns used. */
static int put_unread(int y, int x, const tui_contact *c, attr_t attr, int width)
{
    char line[32];
    int used;

    if (c->unread <= 0)
        return 0;
    snprintf(line, sizeof(line), "[%d] ", c->unread);
    attron(A_BOLD);
    used = put_text(y, x, line, width - x);
    attrset(attr);
    return used;
}

/* Issue 16: a room's row, "  [2] #lab (9 members)", in the same columns as a contact's (its
 * marks' two columns blank); greyed once we are out of it. */
static void draw_room(const tui_model *m, const tui_contact *c, int y, int width, int selected)
{
    char line[64];
    int x = 0;
    attr_t attr = row_attr(m, c, c->room_gone ? A_DIM : A_NORMAL, selected);

    attrset(attr);
    fill_row(y, 0, width);
    x += put_text(y, x, "  ", 2);
    x += put_unread(y, x, c, attr, width);
    x += put_text(y, x, c->name, width - x);
    if (c->room_gone)
        snprintf(line, sizeof(line), " (you are not in it)");
    else
        snprintf(line, sizeof(line), " (%zu member%s)", c->nmembers, c->nmembers == 1 ? "" : "s");
    if (x < width)
        put_text(y, x, line, width - x);
    attrset(A_NORMAL);
}

/* One row of the list: the marks and the unread count first, then the name and the status, so
 * that a narrow list cuts the status and the name, never what needs attention. */
static void draw_contact(const tui_model *m, const tui_contact *c, int y, int width, int selected)
{
    char line[512];
    const char *state = !c->online                     ? "offline"
                        : c->presence != TUI_AVAILABLE ? tui_presence_name(c->presence)
                                                       : "";
    int x = 0;
    /* closed: MIM's grey */
    attr_t attr = row_attr(m, c, c->online && !c->closed ? A_NORMAL : A_DIM, selected);

    attrset(attr);
    fill_row(y, 0, width);
    if (c->online && has_colors() && !(attr & A_REVERSE))
        attron(COLOR_PAIR(PAIR_ONLINE));
    x += put_text(y, x, c->online ? (c->presence == TUI_AVAILABLE ? "+" : "~") : " ", 1);
    attrset(attr);
    x += put_text(y, x, c->verified ? (utf8_locale ? "\u2713" : "v") : " ", 1);
    if (c->key_pending) {
        attron(A_BOLD);
        x += put_text(y, x, "!", 1);
        attrset(attr);
    }
    x += put_unread(y, x, c, attr, width);
    x += put_text(y, x, c->name, width - x);
    const char *text = c->online ? c->status_text : ""; /* an old status says nothing */
    if (state[0] != '\0' || text[0] != '\0')
        snprintf(line, sizeof(line), " (%s%s%s)", state,
                 state[0] != '\0' && text[0] != '\0' ? ": " : "", text);
    else
        line[0] = '\0';
    if (x < width)
        put_text(y, x, line, width - x);
    attrset(A_NORMAL);
}

static void draw_list(const tui_model *m, int rows, int width)
{
    long sel = tui_model_selected_index(m);
    size_t below, first = tui_model_list_window(m, rows > 1 ? (size_t)(rows - 1) : 0, &below);
    int y = 1;
    char hint[64];

    attrset(A_BOLD | (m->list_focus ? A_REVERSE : A_NORMAL));
    fill_row(0, 0, width);
    /* The title says when the list has the keys, and which keys. */
    put_text(0, 0,
             m->list_focus ? (utf8_locale ? "Contacts \u2195 Enter, Esc" : "Contacts: Enter, Esc")
                           : "Contacts",
             width);
    attrset(A_NORMAL);
    for (size_t i = first; i < m->n && y < rows - (below > 0 ? 1 : 0); i++, y++)
        (m->c[i]->is_room ? draw_room : draw_contact)(m, m->c[i], y, width, (long)i == sel);
    if (below > 0) {
        snprintf(hint, sizeof(hint), "%s %zu more", utf8_locale ? "\u2193" : "v", below);
        attrset(A_DIM);
        put_text(rows - 1, 0, hint, width);
        attrset(A_NORMAL);
    }
}

/* ---- the conversation ------------------------------------------------------------------------ */

static const char *state_label(enum tui_msg_state s)
{
    switch (s) {
    case TUI_MSG_QUEUED:
        return " (queued)";
    case TUI_MSG_SENT:
        return " (sent)";
    case TUI_MSG_DELIVERED:
        return " (delivered)";
    case TUI_MSG_READ:
        return " (read)";
    case TUI_MSG_DEPOSITED:
        return " (in the mailbox)";
    default:
        return "";
    }
}

/* The entry as one wide string (time, sender, text, state), sanitised: its length. *head_cols
 * gets the columns of the time and sender (the indent of its wrapped rows). */
static size_t entry_text(const tui_entry *e, int64_t now_ms, wchar_t *out, size_t cap,
                         int *head_cols)
{
    char head[200] = "";
    size_t n = 0;

    if (e->ts_ms > 0) { /* the time today, the full date before */
        tui_date_time_column(e->ts_ms, now_ms, head);
        snprintf(head + strlen(head), sizeof(head) - strlen(head), " ");
    }
    if (e->from != NULL) {
        size_t hl = strlen(head);
        snprintf(head + hl, sizeof(head) - hl, "%.130s: ", e->from);
    } else if (e->kind == TUI_ENTRY_INFO || e->kind == TUI_ENTRY_WARN) {
        size_t hl = strlen(head);
        snprintf(head + hl, sizeof(head) - hl, "%s", e->kind == TUI_ENTRY_WARN ? "!! " : "-- ");
    }
    /* Issue 16: a broadcast to everyone, live or from the history, marked before its text. */
    snprintf(head + strlen(head), sizeof(head) - strlen(head), "%s", tui_entry_mark(e));
    n = tui_text_sanitize(head, strlen(head), 0, out, cap);
    *head_cols = tui_text_width(out, n);
    n += tui_text_sanitize(e->text, strlen(e->text), TUI_TEXT_KEEP_NEWLINE, out + n, cap - n);
    if (e->fan_total > 0 && e->fan_done > 0) { /* issue 16: a copy per member */
        char lab[64];
        snprintf(lab, sizeof(lab), " (delivered to %u of %u)", (unsigned)e->fan_done,
                 (unsigned)e->fan_total);
        n += tui_text_sanitize(lab, strlen(lab), 0, out + n, cap - n);
    } else if (e->kind == TUI_ENTRY_OUT) {
        const char *lab = state_label(e->state);
        n += tui_text_sanitize(lab, strlen(lab), 0, out + n, cap - n);
    }
    return n;
}

/* Splits s into rows of at most cols columns, the rows after the first indent columns
 * narrower (and at each '\n'): row_start[0..rows] are the offsets, newlines are skipped when
 * drawn. A row breaks after its last space when it has one (words stay whole), else mid-word
 * (a word longer than the row). Returns the number of rows (>= 1). */
static size_t wrap(const wchar_t *s, size_t n, int cols, int indent)
{
    int first_cols = cols;

    size_t rows = 0, i = 0, space = 0; /* space: just after the row's last space, 0: none */
    int used = 0, after_space = 0;     /* after_space: the columns from there to i */

    row_start[rows++] = 0;
    while (i < n && rows < WRAP_MAX) {
        int w = s[i] == L'\n' ? 0 : tui_text_char_width(s[i]);
        if (rows == 2 && cols == first_cols)
            cols = first_cols - indent; /* the first row is done */
        if (s[i] == L'\n') {
            row_start[rows++] = i + 1;
            used = after_space = 0;
            space = 0;
        } else if (used + w > cols && used > 0 && s[i] != L' ') {
            if (space > row_start[rows - 1]) { /* the word goes down whole */
                row_start[rows++] = space;
                used = after_space + w;
            } else {
                row_start[rows++] = i;
                used = w;
            }
            space = 0;
            after_space = w;
        } else {
            used += w; /* a space past the edge hangs there, drawn clipped */
            after_space = s[i] == L' ' ? 0 : after_space + w;
            if (s[i] == L' ')
                space = i + 1;
        }
        i++;
    }
    row_start[rows] = n;
    return rows;
}

static attr_t entry_attr(const tui_model *m, const tui_entry *e)
{
    switch (e->kind) {
    case TUI_ENTRY_OUT:
        return has_colors() ? COLOR_PAIR(PAIR_ME) : A_NORMAL;
    case TUI_ENTRY_IN:
        return e->from != NULL && strcmp(e->from, m->me) != 0 && has_colors()
                   ? COLOR_PAIR(PAIR_THEM)
                   : A_NORMAL;
    case TUI_ENTRY_WARN:
        return A_BOLD | (has_colors() ? COLOR_PAIR(PAIR_WARN) : A_REVERSE);
    case TUI_ENTRY_TEXT:
        return A_NORMAL;
    case TUI_ENTRY_MARKER:
        return A_BOLD;
    default:
        return A_DIM;
    }
}

/* The rows of the view drawn bottom-up: the next one goes at y - 1 unless rows are still to
 * be skipped (the view is scrolled up by that many). */
typedef struct view_rows {
    int y, top, x, cols;
    int skip;
} view_rows;

/* Takes the next row up: 1 when it is to be drawn (at vr->y), 0 when it is skipped. */
static int next_row(view_rows *vr)
{
    if (vr->skip > 0) {
        vr->skip--;
        return 0;
    }
    vr->y--;
    return 1;
}

/* A line of the view's own (a day, the top of the history), dim and bold, on one row. */
static void view_note(view_rows *vr, const char *text)
{
    char line[300];
    const char *bar = utf8_locale ? "\u2500\u2500" : "--";

    if (vr->y <= vr->top || !next_row(vr))
        return;
    snprintf(line, sizeof(line), "%s %s %s", bar, text, bar);
    attrset(A_BOLD);
    put_text(vr->y, vr->x, line, vr->cols);
    attrset(A_NORMAL);
}

/* The newest entry before index i with a time, or NULL. */
static const tui_entry *dated_before(const tui_conv *v, size_t i)
{
    while (i > 0)
        if (v->e[--i].ts_ms > 0)
            return &v->e[i];
    return NULL;
}

/* The line over the oldest entry: whether older messages are stored. */
static void view_top_note(const tui_model *m, const tui_conv *v, view_rows *vr)
{
    char text[200];

    switch (v->older) {
    case TUI_OLDER_MORE:
        view_note(vr, "older messages: PageUp");
        break;
    case TUI_OLDER_NONE:
        snprintf(text, sizeof(text), "the beginning of the conversation with %.130s",
                 m->current != NULL ? m->current : "");
        view_note(vr, text);
        break;
    case TUI_OLDER_CAPPED:
        snprintf(text, sizeof(text), "older messages stay in the store (%d at most are shown)",
                 TUI_HISTORY_MAX);
        view_note(vr, text);
        break;
    default:
        break;
    }
}

/* Draws one entry's rows bottom-up, and over it the day's separator when the entry before it
 * is of another day. */
static void draw_entry(tui_model *m, const tui_conv *v, size_t i, int64_t now_ms, view_rows *vr)
{
    const tui_entry *e = &v->e[i], *prev = e->ts_ms > 0 ? dated_before(v, i) : NULL;
    int indent;
    size_t n = entry_text(e, now_ms, wrap_buf, WRAP_MAX, &indent), rows;

    if (indent > vr->cols / 3)
        indent = 0; /* a narrow view: every column for the text */
    rows = wrap(wrap_buf, n, vr->cols, indent);
    attrset(entry_attr(m, e));
    for (size_t r = rows; r > 0 && vr->y > vr->top; r--) {
        size_t from = row_start[r - 1], to = row_start[r];
        if (!next_row(vr))
            continue;
        if (to > from && wrap_buf[to - 1] == L'\n')
            to--;
        put_wide(vr->y, r > 1 ? vr->x + indent : vr->x, wrap_buf + from, to - from,
                 r > 1 ? vr->cols - indent : vr->cols);
    }
    attrset(A_NORMAL);
    if (prev != NULL && !tui_date_same_day(prev->ts_ms, e->ts_ms)) {
        char day[TUI_DATE_MAX];
        tui_date_day_name(e->ts_ms, day);
        view_note(vr, day);
    }
}

/* Draws the view bottom-up into rows [top, bottom) at x, cols wide, skipping m->scroll rows;
 * over the oldest entry, a line on what older messages the store has. Sets m->view_top when
 * the top of it all is on the screen. Returns 1 when m->scroll was past the top: it is
 * clamped, and the rows must be drawn again. */
static int draw_view(tui_model *m, int top, int bottom, int x, int cols)
{
    tui_conv *v = tui_model_view(m);
    view_rows vr = {bottom, top, x, cols, m->scroll};
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    size_t i = v->n;

    while (i > 0 && vr.y > top)
        draw_entry(m, v, --i, now_ms, &vr);
    if (i == 0 && vr.y > top)
        view_top_note(m, v, &vr);
    m->view_top = i == 0 && vr.y >= top && vr.skip == 0;
    if (i == 0 && m->scroll > 0 && vr.y > top) {
        /* Scrolled past the top: rows are left empty there. Scroll back so the top sits on the
         * top row. */
        int unused = (vr.y - top) + vr.skip;
        m->scroll = m->scroll > unused ? m->scroll - unused : 0;
        return 1;
    }
    return 0;
}

/* The rows entry i of v takes in a view cols wide, wrapped as draw_entry wraps it, with the day's
 * separator over it when the day changes there. */
static size_t entry_rows(const tui_conv *v, size_t i, int64_t now_ms, int cols)
{
    const tui_entry *e = &v->e[i], *prev = e->ts_ms > 0 ? dated_before(v, i) : NULL;
    int indent;
    size_t n = entry_text(e, now_ms, wrap_buf, WRAP_MAX, &indent), rows;

    if (indent > cols / 3)
        indent = 0; /* as draw_entry does */
    rows = wrap(wrap_buf, n, cols, indent);
    if (prev != NULL && !tui_date_same_day(prev->ts_ms, e->ts_ms))
        rows++; /* the day's separator */
    return rows;
}

int tui_screen_rows_after(tui_model *m, size_t index)
{
    tui_conv *v = tui_model_view(m);
    int cols = COLS - list_width() - 1, rows = 0; /* the conversation's width (tui_screen_draw) */
    int64_t now_ms = (int64_t)time(NULL) * 1000;

    if (!screen_on || cols < 1)
        return 0;
    for (size_t i = index + 1; i < v->n; i++)
        rows += (int)entry_rows(v, i, now_ms, cols);
    return rows;
}

/* Before the view is drawn in nrows rows: what came into a scrolled-up view since the last
 * draw goes below it (scroll grows by its rows), and a conversation just opened lands with its
 * "new messages" marker on the top row (or at the end, when all that follows the marker fits). */
static void settle_scroll(tui_model *m, int nrows, int cols)
{
    tui_conv *v = tui_model_view(m);
    size_t rows = 0, i = v->n;
    int64_t now_ms = (int64_t)time(NULL) * 1000;

    if (m->scroll_fix > 0 && m->scroll > 0)
        for (size_t k = v->n > (size_t)m->scroll_fix ? v->n - (size_t)m->scroll_fix : 0; k < v->n;
             k++)
            m->scroll += (int)entry_rows(v, k, now_ms, cols);
    m->scroll_fix = 0;
    if (m->land_marker) {
        m->land_marker = 0;
        while (i > 0) {
            rows += entry_rows(v, --i, now_ms, cols);
            if (v->e[i].kind == TUI_ENTRY_MARKER)
                break;
        }
        if (v->n > 0 && v->e[i].kind == TUI_ENTRY_MARKER)
            m->scroll = rows > (size_t)nrows ? (int)(rows - (size_t)nrows) : 0;
    }
    if (m->scroll == 0)
        m->new_below = 0; /* at the end: nothing new is below */
}

/* A loud block (white on red, or reversed) from row y, text wrapped at word boundaries, on
 * rows before `bottom` (one is left for the conversation): returns the row after it. */
static int draw_banner(int y, int bottom, int x, int cols, const char *text)
{
    size_t n = tui_text_sanitize(text, strlen(text), 0, wrap_buf, WRAP_MAX);
    size_t rows = wrap(wrap_buf, n, cols - 2, 0); /* a margin on both sides */

    attrset(A_BOLD | (has_colors() ? COLOR_PAIR(PAIR_BANNER) : A_REVERSE));
    for (size_t r = 0; r < rows && y < bottom - 1; r++, y++) {
        fill_row(y, x, cols);
        put_wide(y, x + 1, wrap_buf + row_start[r], row_start[r + 1] - row_start[r], cols - 2);
    }
    attrset(A_NORMAL);
    return y;
}

static void draw_conversation(tui_model *m, int rows, int x, int cols)
{
    tui_contact *c = tui_model_current(m);
    char head[512];
    int top = 1;

    attrset(A_BOLD);
    fill_row(0, x, cols);
    if (c == NULL) {
        put_text(0, x, "mim -- Tab to the list on the left (arrows, Enter) or /msg NAME; /help",
                 cols);
    } else if (c->is_room) { /* issue 16 */
        snprintf(head, sizeof(head), "%s -- ", c->name);
        if (c->room_gone)
            snprintf(head + strlen(head), sizeof(head) - strlen(head), "you are not in it");
        else
            snprintf(head + strlen(head), sizeof(head) - strlen(head), "%zu members:", c->nmembers);
        /* The members are kept one per line: here "alice, bob". */
        for (const char *p = c->room_gone ? NULL : c->room_members; p != NULL && *p != '\0';) {
            const char *nl = strchr(p, '\n');
            int len = nl != NULL ? (int)(nl - p) : (int)strlen(p);
            size_t hl = strlen(head);
            snprintf(head + hl, sizeof(head) - hl, " %.*s%s", len, p, nl != NULL ? "," : "");
            p = nl != NULL ? nl + 1 : NULL;
        }
        put_text(0, x, head, cols);
    } else {
        snprintf(head, sizeof(head), "%s%s%s%s%s%s", c->name, c->verified ? " (verified)" : "",
                 !c->online ? " (offline)" : "",
                 c->online && c->presence != TUI_AVAILABLE ? " -- " : "",
                 c->online && c->presence != TUI_AVAILABLE ? tui_presence_name(c->presence) : "",
                 c->closed ? " (closed by them)" : "");
        if (c->closed)
            attrset(A_DIM); /* greyed until either side writes again */
        put_text(0, x, head, cols);
    }
    attrset(A_NORMAL);
    /* Loud, and on top of whatever is open: they stay until the key is trusted. */
    if (m->server_key_changed) {
        snprintf(head, sizeof(head),
                 "!! THE PRESENCE SERVER'S KEY HAS CHANGED: its list of who is online may be "
                 "false. New key %.60s: ask whoever runs the server, then /trust-server",
                 m->server_new_fp);
        top = draw_banner(top, rows, x, cols, head);
    }
    if (c != NULL && c->key_pending) {
        snprintf(head, sizeof(head),
                 "!! THE KEY OF %.130s HAS CHANGED: messages to them are held. %s%.60s%scheck "
                 "it with them, then /trust %.130s",
                 c->name, c->new_fp[0] != '\0' ? "New key " : "", c->new_fp,
                 c->new_fp[0] != '\0' ? ": " : "", c->name);
        top = draw_banner(top, rows, x, cols, head);
    }
    settle_scroll(m, rows - top, cols);
    if (draw_view(m, top, rows, x, cols)) {
        for (int y = top; y < rows; y++)
            fill_row(y, x, cols);
        draw_view(m, top, rows, x, cols);
    }
    if (m->scroll > 0) {
        if (m->new_below > 0) /* messages came while the view was scrolled up */
            snprintf(head, sizeof(head), "-- %d new below (PageDown) --", m->new_below);
        else
            snprintf(head, sizeof(head), "-- %d more below (PageDown) --", m->scroll);
        attrset(A_REVERSE);
        put_text(rows - 1, x + (cols > 32 ? cols - 32 : 0), head, cols > 32 ? 32 : cols);
        attrset(A_NORMAL);
    }
}

/* ---- the bottom lines ------------------------------------------------------------------------ */

static void draw_status_bar(const tui_model *m, int y)
{
    char bar[600], typing[160] = "";
    const tui_contact *cur = tui_model_current((tui_model *)m);
    const char *conn = m->logged_out                          ? "logged out (/login)"
                       : strcmp(m->conn, "reconnecting") == 0 ? "reconnecting (stale table)"
                                                              : m->conn;

    if (cur != NULL && cur->typing)
        snprintf(typing, sizeof(typing), "%.130s is typing | ", cur->name);
    if (m->hint[0] != '\0') { /* a passing note (candidates, a limit): until the next key */
        attrset(A_REVERSE | A_BOLD);
        fill_row(y, 0, COLS);
        put_text(y, 0, m->hint, COLS);
        attrset(A_NORMAL);
        return;
    }
    /* The connection state goes first: on a narrow terminal it is what must still show. */
    snprintf(bar, sizeof(bar), " %s%.130s [%s%s%.60s] | %s%s | server %s | key %s | /help", typing,
             m->me, tui_presence_name(m->my_presence), m->my_text[0] != '\0' ? ": " : "",
             m->my_text, conn, m->server_key_changed ? " (SERVER KEY CHANGED)" : "",
             m->server[0] != '\0' ? m->server : "(LAN discovery)", m->fingerprint);
    attrset(A_REVERSE);
    fill_row(y, 0, COLS);
    put_text(y, 0, bar, COLS);
    attrset(A_NORMAL);
}

/* Lays out n characters (the prompt, then the line) in rows of cols - 1 columns (the last is
 * the cursor's, after a full row), a new row at each '\n': row_start[0..rows] as wrap does.
 * *cur_row and *cur_col get where character `cursor` (or the end) is. Returns the rows. */
static size_t input_layout(const wchar_t *s, size_t n, size_t cursor, int cols, size_t *cur_row,
                           int *cur_col)
{
    size_t rows = 0;
    int used = 0;

    row_start[rows++] = 0;
    *cur_row = 0;
    *cur_col = 0;
    for (size_t i = 0; i < n && rows < WRAP_MAX; i++) {
        int w = s[i] == L'\n' ? 0 : tui_text_char_width(s[i]);
        if (s[i] != L'\n' && used + w > cols - 1 && used > 0) {
            row_start[rows++] = i;
            used = 0;
        }
        if (i == cursor) {
            *cur_row = rows - 1;
            *cur_col = used;
        }
        used += w;
        if (s[i] == L'\n') {
            row_start[rows++] = i + 1;
            used = 0;
        }
    }
    if (cursor >= n) {
        *cur_row = rows - 1;
        *cur_col = used;
    }
    row_start[rows] = n;
    return rows;
}

/* The prompt and the line, made safe to draw, into wrap_buf: the characters written. */
static size_t input_text(const tui_model *m, const tui_line *l, size_t *prompt_len)
{
    char prompt[200];
    size_t n;

    snprintf(prompt, sizeof(prompt), "%.130s> ", m->current != NULL ? m->current : "mim");
    n = tui_text_sanitize(prompt, strlen(prompt), 0, wrap_buf, 256);
    *prompt_len = n;
    for (size_t i = 0; i < l->len && n + 1 < WRAP_MAX; i++)
        wrap_buf[n++] = tui_text_safe_char(l->buf[i]);
    return n;
}

/* The rows the input line takes at most: INPUT_ROWS, fewer on a short terminal. */
static int input_rows_max(void)
{
    int most = LINES - MIN_ROWS + 2;
    return most < 1 ? 1 : most > INPUT_ROWS ? INPUT_ROWS : most;
}

/* Lays the input line out in wrap_buf and row_start: how many rows it shows (its window starts
 * at *first, the cursor at *cur_row, *cur_col). */
static int input_window(const tui_model *m, const tui_line *l, size_t *first, size_t *cur_row,
                        int *cur_col)
{
    size_t pn, n = input_text(m, l, &pn);
    size_t rows = input_layout(wrap_buf, n, pn + l->cursor, COLS, cur_row, cur_col);
    size_t show = rows < (size_t)input_rows_max() ? rows : (size_t)input_rows_max();

    /* The window keeps the cursor's row in sight, and the end when it can. */
    *first = *cur_row + 1 > show ? *cur_row + 1 - show : 0;
    return (int)show;
}

/* Draws the input line from row y down, as input_window laid it out. */
static void draw_input(size_t first, int show, size_t cur_row, int cur_col, int y)
{
    for (int r = 0; r < show; r++) {
        size_t from = row_start[first + (size_t)r], to = row_start[first + (size_t)r + 1];
        if (to > from && wrap_buf[to - 1] == L'\n')
            to--;
        fill_row(y + r, 0, COLS);
        put_wide(y + r, 0, wrap_buf + from, to - from, COLS - 1);
    }
    move(y + (int)(cur_row - first), cur_col);
}

/* What a terminal under MIN_COLS x MIN_ROWS shows instead, wrapped into what there is. */
static void draw_too_small(void)
{
    static const char text[] = "mim: the terminal is too small (40x8 at least)";
    size_t n = tui_text_sanitize(text, sizeof(text) - 1, 0, wrap_buf, WRAP_MAX);
    size_t rows = wrap(wrap_buf, n, COLS, 0);

    for (size_t r = 0; r < rows && (int)r < LINES; r++)
        put_wide((int)r, 0, wrap_buf + row_start[r], row_start[r + 1] - row_start[r], COLS);
    curs_set(0);
    refresh();
}

void tui_screen_draw(tui_model *m, const tui_line *l)
{
    int lw, rows, cur_col, cy, cx;
    size_t first, cur_row;

    if (!screen_on)
        return;
    erase();
    if (LINES < MIN_ROWS || COLS < MIN_COLS) {
        draw_too_small();
        return;
    }
    lw = list_width();
    input_rows = input_window(m, l, &first, &cur_row, &cur_col);
    draw_input(first, input_rows, cur_row, cur_col, LINES - input_rows);
    rows = LINES - 1 - input_rows;
    draw_list(m, rows, lw);
    /* ASCII outside UTF-8: the line-drawing set is not there in every terminal then. */
    mvvline(0, lw, utf8_locale ? ACS_VLINE : '|', rows);
    /* wrap_buf and row_start are the conversation's from here: the cursor is placed already. */
    getyx(stdscr, cy, cx);
    draw_conversation(m, rows, lw + 1, COLS - lw - 1);
    draw_status_bar(m, rows);
    move(cy, cx);
    curs_set(1);
    refresh();
}
