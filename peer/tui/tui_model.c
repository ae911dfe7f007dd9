/* The state the terminal interface shows (see tui_model.h). */
#include "tui_model.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
    size_t n = strlen(s != NULL ? s : "");
    char *d = malloc(n + 1);
    if (d != NULL)
        memcpy(d, s != NULL ? s : "", n + 1);
    return d;
}

/* Replaces *slot by a copy of s; keeps the old value when out of memory. */
static void set_str(char **slot, const char *s)
{
    char *d = dup_str(s);
    if (d == NULL)
        return;
    free(*slot);
    *slot = d;
}

void tui_model_init(tui_model *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->conn, sizeof(m->conn), "starting");
}

static void entry_free(tui_entry *e)
{
    free(e->from);
    free(e->text);
}

void tui_conv_free(tui_conv *conv)
{
    for (size_t i = 0; i < conv->n; i++)
        entry_free(&conv->e[i]);
    free(conv->e);
    memset(conv, 0, sizeof(*conv));
}

static void contact_free(tui_contact *c)
{
    free(c->name);
    free(c->status_text);
    free(c->room_members);
    free(c->room_admins);
    tui_conv_free(&c->conv);
    free(c);
}

void tui_model_free(tui_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        contact_free(m->c[i]);
    free(m->c);
    tui_conv_free(&m->console);
    free(m->current);
    free(m->selected);
    memset(m, 0, sizeof(*m));
}

/* Names compared case-insensitively: code point by code point after ICU's simple case folding
 * (u_foldCase, the locale-free fold: "Bob" and "bob", "Émile" and "émile" sort together), then
 * bytewise for names that fold alike, so that the order is total and stable. Names are valid
 * UTF-8 (the wire's rule); a bad byte compares as U+FFFD. */
static int fold_cmp(const char *a, const char *b)
{
    int32_t i = 0, j = 0, la = (int32_t)strlen(a), lb = (int32_t)strlen(b);

    while (i < la && j < lb) {
        UChar32 ca, cb;
        U8_NEXT(a, i, la, ca);
        U8_NEXT(b, j, lb, cb);
        ca = u_foldCase(ca < 0 ? 0xfffd : ca, U_FOLD_CASE_DEFAULT);
        cb = u_foldCase(cb < 0 ? 0xfffd : cb, U_FOLD_CASE_DEFAULT);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    if (i < la || j < lb)
        return i < la ? 1 : -1;
    return strcmp(a, b);
}

/* Rooms first (they are always there), then online, then by name (case folded). */
static int before(const tui_contact *a, const tui_contact *b)
{
    if (a->is_room != b->is_room)
        return a->is_room > b->is_room;
    if (a->online != b->online)
        return a->online > b->online;
    return fold_cmp(a->name, b->name) < 0;
}

/* Puts m->c[i] where it belongs after its online flag changed. */
static void resort(tui_model *m, size_t i)
{
    tui_contact *c = m->c[i];

    while (i > 0 && before(c, m->c[i - 1])) {
        m->c[i] = m->c[i - 1];
        m->c[--i] = c;
    }
    while (i + 1 < m->n && before(m->c[i + 1], c)) {
        m->c[i] = m->c[i + 1];
        m->c[++i] = c;
    }
}

static long index_of(const tui_model *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->c[i]->name, name) == 0)
            return (long)i;
    return -1;
}

tui_contact *tui_model_contact(tui_model *m, const char *name, int create)
{
    long i = index_of(m, name);
    tui_contact *c;

    if (i >= 0)
        return m->c[i];
    if (!create || strcmp(name, m->me) == 0)
        return NULL; /* we are never in our own list */
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        tui_contact **nc = realloc(m->c, cap * sizeof(*nc));
        if (nc == NULL)
            return NULL;
        m->c = nc;
        m->cap = cap;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    if ((c->name = dup_str(name)) == NULL || (c->status_text = dup_str("")) == NULL) {
        contact_free(c);
        return NULL;
    }
    m->c[m->n++] = c;
    resort(m, m->n - 1);
    return c;
}

tui_contact *tui_model_room(tui_model *m, const char *room_id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->c[i]->is_room && strcmp(m->c[i]->room_id, room_id) == 0)
            return m->c[i];
    return NULL;
}

tui_contact *tui_model_add_room(tui_model *m, const char *label, const char *room_id)
{
    tui_contact *c;

    if (index_of(m, label) >= 0 || (c = tui_model_contact(m, label, 1)) == NULL)
        return NULL;
    c->is_room = 1;
    c->known = 1; /* never pruned */
    snprintf(c->room_id, sizeof(c->room_id), "%s", room_id);
    if ((c->room_members = dup_str("")) == NULL || (c->room_admins = dup_str("")) == NULL)
        return NULL; /* freed with the contact */
    resort(m, (size_t)index_of(m, label));
    return c;
}

tui_entry *tui_model_find_entry(tui_model *m, const char *id)
{
    tui_entry *e = tui_conv_find(&m->console, id);

    if (e == NULL)
        e = tui_conv_find(tui_model_view(m), id);
    for (size_t i = 0; i < m->n && m->c[i]->is_room && e == NULL; i++) /* rooms come first */
        e = tui_conv_find(&m->c[i]->conv, id);
    return e;
}

void tui_model_set_online(tui_model *m, const char *name, int online)
{
    tui_contact *c = tui_model_contact(m, name, 1);

    if (c == NULL)
        return;
    c->online = online ? 1 : 0;
    resort(m, (size_t)index_of(m, name));
}

enum tui_presence tui_presence_parse(const char *state)
{
    if (state != NULL && strcmp(state, "away") == 0)
        return TUI_AWAY;
    if (state != NULL && strcmp(state, "busy") == 0)
        return TUI_BUSY;
    return TUI_AVAILABLE;
}

const char *tui_presence_name(enum tui_presence p)
{
    return p == TUI_AWAY ? "away" : p == TUI_BUSY ? "busy" : "available";
}

void tui_model_set_status(tui_model *m, const char *name, const char *state, const char *text)
{
    tui_contact *c = tui_model_contact(m, name, 1);

    if (c == NULL)
        return;
    c->presence = tui_presence_parse(state);
    set_str(&c->status_text, text);
}

enum tui_msg_state tui_msg_state_parse(const char *state)
{
    if (strcmp(state, "queued") == 0)
        return TUI_MSG_QUEUED;
    if (strcmp(state, "sent") == 0)
        return TUI_MSG_SENT;
    if (strcmp(state, "delivered") == 0)
        return TUI_MSG_DELIVERED;
    if (strcmp(state, "read") == 0)
        return TUI_MSG_READ;
    if (strcmp(state, "deposited") == 0)
        return TUI_MSG_DEPOSITED;
    return TUI_MSG_RECEIVED;
}

static int reserve(tui_conv *conv, size_t more)
{
    size_t cap;
    tui_entry *ne;

    if (conv->n + more <= conv->cap)
        return 0;
    cap = conv->cap ? conv->cap : 32;
    while (cap < conv->n + more)
        cap *= 2;
    if ((ne = realloc(conv->e, cap * sizeof(*ne))) == NULL)
        return -1;
    conv->e = ne;
    conv->cap = cap;
    return 0;
}

const char *tui_entry_mark(const tui_entry *e)
{
    if (e->kind != TUI_ENTRY_IN && e->kind != TUI_ENTRY_OUT)
        return "";
    return e->broadcast == 2   ? "[IMPORTANT, to everyone] "
           : e->broadcast == 1 ? "[to everyone] "
                               : "";
}

tui_entry *tui_conv_add(tui_conv *conv, enum tui_entry_kind kind, int64_t ts_ms, const char *from,
                        const char *text, const char *id, enum tui_msg_state state)
{
    tui_entry e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.ts_ms = ts_ms;
    e.state = state;
    if (id != NULL)
        snprintf(e.id, sizeof(e.id), "%s", id);
    if ((from != NULL && (e.from = dup_str(from)) == NULL) || (e.text = dup_str(text)) == NULL) {
        entry_free(&e);
        return NULL;
    }
    if (conv->n == TUI_CONV_MAX) {
        entry_free(&conv->e[0]);
        memmove(conv->e, conv->e + 1, (conv->n - 1) * sizeof(conv->e[0]));
        conv->n--;
    }
    if (reserve(conv, 1) != 0) {
        entry_free(&e);
        return NULL;
    }
    conv->e[conv->n] = e;
    return &conv->e[conv->n++];
}

int tui_conv_insert_before(tui_conv *conv, const char *id, enum tui_entry_kind kind, int64_t ts_ms,
                           const char *text)
{
    tui_entry *at = tui_conv_find(conv, id);
    size_t i = at != NULL ? (size_t)(at - conv->e) : conv->n, before = conv->n;
    tui_entry e;

    if (tui_conv_add(conv, kind, ts_ms, NULL, text, NULL, TUI_MSG_NONE) == NULL)
        return -1;
    if (conv->n == before && i > 0)
        i--; /* the add dropped the oldest entry: everything moved up one */
    if (i > conv->n - 1)
        i = conv->n - 1;
    e = conv->e[conv->n - 1];
    memmove(conv->e + i + 1, conv->e + i, (conv->n - 1 - i) * sizeof(conv->e[0]));
    conv->e[i] = e;
    return 0;
}

int tui_entry_set_text(tui_entry *e, const char *text)
{
    char *copy = strdup(text);

    if (copy == NULL)
        return -1;
    free(e->text);
    e->text = copy;
    return 0;
}

tui_entry *tui_conv_find(tui_conv *conv, const char *id)
{
    for (size_t i = conv->n; i > 0; i--) /* the newest first: acks are for recent messages */
        if (conv->e[i - 1].id[0] != '\0' && strcmp(conv->e[i - 1].id, id) == 0)
            return &conv->e[i - 1];
    return NULL;
}

static void remove_at(tui_conv *conv, size_t i)
{
    entry_free(&conv->e[i]);
    memmove(conv->e + i, conv->e + i + 1, (conv->n - i - 1) * sizeof(conv->e[0]));
    conv->n--;
}

void tui_conv_remove(tui_conv *conv, const char *id)
{
    tui_entry *e = tui_conv_find(conv, id);

    if (e != NULL)
        remove_at(conv, (size_t)(e - conv->e));
}

void tui_conv_merge_history(tui_conv *conv, tui_conv *from)
{
    tui_conv merged;

    memset(&merged, 0, sizeof(merged));
    if (reserve(&merged, from->n + conv->n) != 0) {
        tui_conv_free(from);
        return;
    }
    for (size_t i = 0; i < from->n; i++) {
        if (tui_conv_find(conv, from->e[i].id) != NULL) {
            entry_free(&from->e[i]);
            continue;
        }
        merged.e[merged.n++] = from->e[i];
    }
    if (conv->n > 0) /* conv->e may be NULL then, and memcpy must not see it */
        memcpy(merged.e + merged.n, conv->e, conv->n * sizeof(conv->e[0]));
    merged.n += conv->n;
    /* The entries moved: free only the arrays. */
    free(from->e);
    memset(from, 0, sizeof(*from));
    free(conv->e);
    merged.loaded = 1;
    /* Over the cap only when both were full; drop the oldest. */
    while (merged.n > TUI_CONV_MAX) {
        entry_free(&merged.e[0]);
        memmove(merged.e, merged.e + 1, (merged.n - 1) * sizeof(merged.e[0]));
        merged.n--;
    }
    *conv = merged;
}

void tui_model_open(tui_model *m, const char *name)
{
    tui_contact *c = name != NULL ? tui_model_contact(m, name, 1) : NULL;

    if (name != NULL && c == NULL)
        return;
    free(m->current);
    m->current = NULL;
    m->scroll = m->scroll_fix = m->new_below = m->land_marker = 0;
    if (c != NULL) {
        m->current = dup_str(c->name);
        c->unread = 0;
        c->talking = 1;
        set_str(&m->selected, c->name);
    }
    tui_model_prune(m); /* the conversation left may have been all that kept someone listed */
}

tui_contact *tui_model_current(tui_model *m)
{
    return m->current != NULL ? tui_model_contact(m, m->current, 0) : NULL;
}

tui_conv *tui_model_view(tui_model *m)
{
    tui_contact *c = tui_model_current(m);
    return c != NULL ? &c->conv : &m->console;
}

long tui_model_selected_index(const tui_model *m)
{
    return m->selected != NULL ? index_of(m, m->selected) : -1;
}

void tui_model_select_move(tui_model *m, int delta)
{
    long i = tui_model_selected_index(m);

    if (m->n == 0)
        return;
    if (i < 0)
        i = delta > 0 ? -1 : (long)m->n;
    i += delta;
    if (i < 0)
        i = 0;
    if (i >= (long)m->n)
        i = (long)m->n - 1;
    set_str(&m->selected, m->c[i]->name);
}

/* ---- attention: unread, the "new messages" marker, the scrolled-up view ----------------------
 */

void tui_model_grew(tui_model *m, const tui_conv *conv, int message)
{
    if (conv != tui_model_view(m) || m->scroll <= 0)
        return;
    m->scroll_fix++;
    if (message)
        m->new_below++;
}

int tui_model_mark_new(tui_model *m, tui_contact *c)
{
    tui_conv *conv = &c->conv;
    size_t first = conv->n, before;
    tui_entry marker;

    for (size_t i = conv->n; i > 0; i--)
        if (conv->e[i - 1].kind == TUI_ENTRY_MARKER)
            remove_at(conv, i - 1);
    first = conv->n;
    for (size_t i = 0; i < conv->n; i++) {
        if (conv->e[i].unread && first == conv->n)
            first = i;
        conv->e[i].unread = 0;
    }
    if (first == conv->n)
        return 0;
    /* Added at the end, then moved above the first unread (at the cap, the add drops the
     * oldest entry: the first unread moved up one). */
    before = conv->n;
    if (tui_conv_add(conv, TUI_ENTRY_MARKER, 0, NULL, TUI_MARKER_TEXT, NULL, TUI_MSG_NONE) == NULL)
        return 0;
    if (conv->n == before && first > 0)
        first--;
    marker = conv->e[conv->n - 1];
    memmove(conv->e + first + 1, conv->e + first, (conv->n - 1 - first) * sizeof(conv->e[0]));
    conv->e[first] = marker;
    m->land_marker = 1;
    return 1;
}

void tui_model_unmark(tui_model *m, tui_contact *c, const char *id)
{
    tui_conv *conv = &c->conv;

    for (size_t i = 0; i < conv->n; i++) {
        if (conv->e[i].kind != TUI_ENTRY_MARKER)
            continue;
        for (size_t k = i + 1; k < conv->n; k++) {
            if (conv->e[k].kind != TUI_ENTRY_IN)
                continue; /* the "is talking to you" line between */
            if (strcmp(conv->e[k].id, id) == 0) {
                remove_at(conv, i);
                m->land_marker = 0;
            }
            return;
        }
        return;
    }
}

int tui_model_unread_total(const tui_model *m)
{
    int total = 0;

    for (size_t i = 0; i < m->n; i++)
        total += m->c[i]->unread;
    return total;
}

void tui_model_prune(tui_model *m)
{
    size_t kept = 0;

    for (size_t i = 0; i < m->n; i++) {
        tui_contact *c = m->c[i];
        int open = m->current != NULL && strcmp(m->current, c->name) == 0;
        if (c->online || c->known || open)
            m->c[kept++] = c;
        else
            contact_free(c);
    }
    m->n = kept;
}

size_t tui_model_list_window(const tui_model *m, size_t rows, size_t *below)
{
    long sel = tui_model_selected_index(m);
    size_t s = sel >= 0 ? (size_t)sel : 0, shown, first;

    *below = 0;
    if (m->n <= rows)
        return 0;
    if (rows < 2) /* no room for a hint: the cursor's row alone */
        return rows == 1 ? s : 0;
    shown = rows - 1; /* the last row says how many more */
    first = s >= shown ? s + 1 - shown : 0;
    if (m->n - first <= rows) /* the rest fits: no hint, the list ends on the last row */
        return m->n - rows;
    *below = m->n - first - shown;
    return first;
}

void tui_first_words(const char *text, char *out, size_t max)
{
    size_t n = strlen(text), cut = n, space = 0;

    if (n > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
            cut--; /* never inside a character */
        for (size_t i = cut; i > max / 2; i--)
            if (text[i - 1] == ' ' || text[i - 1] == '\n') {
                space = i - 1;
                break;
            }
        if (space > 0)
            cut = space;
    }
    for (size_t i = 0; i < cut; i++)
        out[i] = text[i] == '\n' || text[i] == '\t' || text[i] == '\r' ? ' ' : text[i];
    memcpy(out + cut, cut < n ? "..." : "", cut < n ? 4 : 1);
}
