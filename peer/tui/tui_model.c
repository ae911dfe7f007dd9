/* The state the terminal interface shows (see tui_model.h). */
#include "tui_model.h"

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

/* Online first, then by name (bytewise: stable and locale-free). */
static int before(const tui_contact *a, const tui_contact *b)
{
    if (a->online != b->online)
        return a->online > b->online;
    return strcmp(a->name, b->name) < 0;
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
    if (!create)
        return NULL;
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

tui_entry *tui_conv_find(tui_conv *conv, const char *id)
{
    for (size_t i = conv->n; i > 0; i--) /* the newest first: acks are for recent messages */
        if (conv->e[i - 1].id[0] != '\0' && strcmp(conv->e[i - 1].id, id) == 0)
            return &conv->e[i - 1];
    return NULL;
}

void tui_conv_remove(tui_conv *conv, const char *id)
{
    tui_entry *e = tui_conv_find(conv, id);
    size_t i;

    if (e == NULL)
        return;
    i = (size_t)(e - conv->e);
    entry_free(e);
    memmove(conv->e + i, conv->e + i + 1, (conv->n - i - 1) * sizeof(conv->e[0]));
    conv->n--;
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
    m->scroll = 0;
    if (c == NULL)
        return;
    m->current = dup_str(c->name);
    c->unread = 0;
    c->talking = 1;
    set_str(&m->selected, c->name);
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
