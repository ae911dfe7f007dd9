/* Drawing with ncurses (see tui_screen.h). */
#include "tui_screen.h"
#include "tui_text.h"

#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

static int screen_on;
static int utf8_locale; /* marks can be drawn as ✓ rather than ASCII */
static wchar_t wrap_buf[WRAP_MAX];
static size_t row_start[WRAP_MAX + 1];

int tui_screen_start(void)
{
    const char *cs = nl_langinfo(CODESET);

    utf8_locale = cs != NULL && strcmp(cs, "UTF-8") == 0;
    if (initscr() == NULL)
        return -1;
    screen_on = 1;
    cbreak();
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
    int rows = LINES - 3;
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

static void draw_contact(const tui_model *m, const tui_contact *c, int y, int width, int selected)
{
    char line[512];
    const char *state = !c->online                     ? "offline"
                        : c->presence != TUI_AVAILABLE ? tui_presence_name(c->presence)
                                                       : "";
    int x = 0;
    attr_t attr = c->online && !c->closed ? A_NORMAL : A_DIM; /* closed: MIM's grey */

    (void)m;
    if (selected)
        attr |= A_REVERSE;
    attrset(attr);
    fill_row(y, 0, width);
    if (c->online && has_colors() && !selected)
        attron(COLOR_PAIR(PAIR_ONLINE));
    x += put_text(y, x, c->online ? (c->presence == TUI_AVAILABLE ? "+" : "~") : " ", 1);
    attrset(attr);
    x += put_text(y, x, c->verified ? (utf8_locale ? "\u2713" : "v") : " ", 1);
    if (c->key_pending) {
        attron(A_BOLD);
        x += put_text(y, x, "!", 1);
        attrset(attr);
    }
    x += put_text(y, x, c->name, width - x);
    const char *text = c->online ? c->status_text : ""; /* an old status says nothing */
    if (state[0] != '\0' || text[0] != '\0')
        snprintf(line, sizeof(line), " (%s%s%s)", state,
                 state[0] != '\0' && text[0] != '\0' ? ": " : "", text);
    else
        line[0] = '\0';
    if (x < width)
        x += put_text(y, x, line, width - x);
    if (c->unread > 0 && x < width) {
        snprintf(line, sizeof(line), " [%d]", c->unread);
        attron(A_BOLD);
        put_text(y, x, line, width - x);
    }
    attrset(A_NORMAL);
}

static void draw_list(const tui_model *m, int rows, int width)
{
    long sel = tui_model_selected_index(m);
    long first = 0;

    attrset(A_BOLD);
    fill_row(0, 0, width);
    put_text(0, 0, "Contacts", width);
    attrset(A_NORMAL);
    if (sel >= rows - 1)
        first = sel - (rows - 2); /* keep the cursor in sight */
    for (long i = first; i < (long)m->n && (int)(i - first) + 1 < rows; i++)
        draw_contact(m, m->c[i], (int)(i - first) + 1, width, i == sel);
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
    default:
        return "";
    }
}

/* The entry as one wide string (time, sender, text, state), sanitised: its length. *head_cols
 * gets the columns of the time and sender (the indent of its wrapped rows). */
static size_t entry_text(const tui_entry *e, wchar_t *out, size_t cap, int *head_cols)
{
    char head[200] = "";
    size_t n = 0;

    if (e->ts_ms > 0) {
        time_t t = (time_t)(e->ts_ms / 1000);
        struct tm tm;
        if (localtime_r(&t, &tm) != NULL)
            strftime(head, sizeof(head), "%H:%M ", &tm);
    }
    if (e->from != NULL) {
        size_t hl = strlen(head);
        snprintf(head + hl, sizeof(head) - hl, "%.130s: ", e->from);
    } else if (e->kind == TUI_ENTRY_INFO || e->kind == TUI_ENTRY_WARN) {
        size_t hl = strlen(head);
        snprintf(head + hl, sizeof(head) - hl, "%s", e->kind == TUI_ENTRY_WARN ? "!! " : "-- ");
    }
    n = tui_text_sanitize(head, strlen(head), 0, out, cap);
    *head_cols = tui_text_width(out, n);
    n += tui_text_sanitize(e->text, strlen(e->text), TUI_TEXT_KEEP_NEWLINE, out + n, cap - n);
    if (e->kind == TUI_ENTRY_OUT) {
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
    default:
        return A_DIM;
    }
}

/* Draws the view bottom-up into rows [top, bottom) at x, cols wide, skipping m->scroll rows.
 * Returns 1 when m->scroll was past the oldest entry: it is clamped, and the rows must be
 * drawn again. */
static int draw_view(tui_model *m, int top, int bottom, int x, int cols)
{
    tui_conv *v = tui_model_view(m);
    int y = bottom, skip = m->scroll;
    size_t i = v->n;

    while (i > 0 && y > top) {
        const tui_entry *e = &v->e[--i];
        int indent;
        size_t n = entry_text(e, wrap_buf, WRAP_MAX, &indent);
        size_t rows;

        if (indent > cols / 3)
            indent = 0; /* a narrow view: every column for the text */
        rows = wrap(wrap_buf, n, cols, indent);

        attrset(entry_attr(m, e));
        for (size_t r = rows; r > 0 && y > top; r--) {
            size_t from = row_start[r - 1], to = row_start[r];
            if (skip > 0) {
                skip--;
                continue;
            }
            if (to > from && wrap_buf[to - 1] == L'\n')
                to--;
            y--;
            put_wide(y, r > 1 ? x + indent : x, wrap_buf + from, to - from,
                     r > 1 ? cols - indent : cols);
        }
    }
    attrset(A_NORMAL);
    if (i == 0 && m->scroll > 0 && y > top) {
        /* Scrolled past the oldest entry: rows are left empty at the top. Scroll back so the
         * oldest entry sits on the top row. */
        int unused = (y - top) + skip;
        m->scroll = m->scroll > unused ? m->scroll - unused : 0;
        return 1;
    }
    return 0;
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
        put_text(0, x, "mim -- pick someone on the left (arrows, Enter) or /msg NAME; /help", cols);
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
    if (draw_view(m, top, rows, x, cols)) {
        for (int y = top; y < rows; y++)
            fill_row(y, x, cols);
        draw_view(m, top, rows, x, cols);
    }
    if (m->scroll > 0) {
        snprintf(head, sizeof(head), "-- %d more below (PageDown) --", m->scroll);
        attrset(A_REVERSE);
        put_text(rows - 1, x + (cols > 32 ? cols - 32 : 0), head, cols > 32 ? 32 : cols);
        attrset(A_NORMAL);
    }
}

/* ---- the bottom lines ------------------------------------------------------------------------ */

static void draw_status_bar(const tui_model *m, int y)
{
    char bar[600];
    const char *conn = m->logged_out                          ? "logged out (/login)"
                       : strcmp(m->conn, "reconnecting") == 0 ? "reconnecting (stale table)"
                                                              : m->conn;

    /* The connection state goes first: on a narrow terminal it is what must still show. */
    snprintf(bar, sizeof(bar), " %.130s [%s%s%.60s] | %s%s | server %s | key %s | /help", m->me,
             tui_presence_name(m->my_presence), m->my_text[0] != '\0' ? ": " : "", m->my_text, conn,
             m->server_key_changed ? " (SERVER KEY CHANGED)" : "",
             m->server[0] != '\0' ? m->server : "(LAN discovery)", m->fingerprint);
    attrset(A_REVERSE);
    fill_row(y, 0, COLS);
    put_text(y, 0, bar, COLS);
    attrset(A_NORMAL);
}

static void draw_input(const tui_model *m, const tui_line *l, int y)
{
    char prompt[200];
    static wchar_t wp[256];
    size_t pn, start = l->cursor;
    int pw, room, used = 0, cx;

    snprintf(prompt, sizeof(prompt), "%.130s> ", m->current != NULL ? m->current : "mim");
    pn = tui_text_sanitize(prompt, strlen(prompt), 0, wp, sizeof(wp) / sizeof(wp[0]));
    fill_row(y, 0, COLS);
    pw = put_wide(y, 0, wp, pn, COLS / 2);
    room = COLS - pw - 1;
    /* Scroll sideways so the cursor stays in sight. */
    while (start > 0 && used + tui_text_char_width(l->buf[start - 1]) <= room) {
        used += tui_text_char_width(l->buf[start - 1]);
        start--;
    }
    cx = pw + put_wide(y, pw, l->buf + start, l->cursor - start, room);
    put_wide(y, cx, l->buf + l->cursor, l->len - l->cursor, COLS - cx - 1);
    move(y, cx);
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
    int lw, rows;

    if (!screen_on)
        return;
    erase();
    if (LINES < MIN_ROWS || COLS < MIN_COLS) {
        draw_too_small();
        return;
    }
    lw = list_width();
    rows = LINES - 2;
    draw_list(m, rows, lw);
    mvvline(0, lw, ACS_VLINE, rows);
    draw_conversation(m, rows, lw + 1, COLS - lw - 1);
    draw_status_bar(m, LINES - 2);
    draw_input(m, l, LINES - 1);
    curs_set(1);
    refresh();
}
