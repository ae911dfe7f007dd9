/* The window's view model (view_model.h): contacts, conversations, transfers, our state. */
#include "view_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

/* Replaces *slot with a copy of s (kept as it was when out of memory). */
static void replace(char **slot, const char *s)
{
    char *copy = dup_or_empty(s);
    if (copy == NULL)
        return;
    free(*slot);
    *slot = copy;
}

void vm_init(view_model *m)
{
    memset(m, 0, sizeof(*m));
    m->conn = VM_CONN_STARTING;
}

static void conv_free(vm_conv *conv)
{
    for (size_t i = 0; i < conv->n; i++) {
        free(conv->rows[i].from);
        free(conv->rows[i].text);
        free(conv->rows[i].acked_by);
    }
    free(conv->rows);
    memset(conv, 0, sizeof(*conv));
}

static void contact_free(vm_contact *c)
{
    free(c->name);
    free(c->status_text);
    conv_free(&c->conv);
    free(c);
}

static void transfer_free(vm_transfer *t)
{
    free(t->with);
    free(t->name);
    free(t->path);
    free(t->media_type);
    free(t->error);
}

void vm_free(view_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        contact_free(m->c[i]);
    for (size_t i = 0; i < m->nt; i++)
        transfer_free(&m->t[i]);
    free(m->c);
    free(m->t);
    free(m->current);
    vm_init(m);
}

/* Online first, then by name (ASCII case folded, then bytes: a stable order). */
static int contact_before(const vm_contact *a, const vm_contact *b)
{
    int d;

    if (a->online != b->online)
        return a->online;
    d = strcasecmp(a->name, b->name);
    return d != 0 ? d < 0 : strcmp(a->name, b->name) < 0;
}

/* Moves the contact at index i to where the order wants it. */
static void resort(view_model *m, size_t i)
{
    vm_contact *c = m->c[i];

    while (i > 0 && contact_before(c, m->c[i - 1])) {
        m->c[i] = m->c[i - 1];
        m->c[--i] = c;
    }
    while (i + 1 < m->n && contact_before(m->c[i + 1], c)) {
        m->c[i] = m->c[i + 1];
        m->c[++i] = c;
    }
}

static long contact_index(const view_model *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->c[i]->name, name) == 0)
            return (long)i;
    return -1;
}

vm_contact *vm_contact_get(view_model *m, const char *name, int create)
{
    long i = contact_index(m, name);
    vm_contact *c;

    if (i >= 0)
        return m->c[i];
    if (!create || strcmp(name, m->me) == 0)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        vm_contact **grown = realloc(m->c, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        m->c = grown;
        m->cap = cap;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->name = strdup(name)) == NULL ||
        (c->status_text = strdup("")) == NULL) {
        if (c != NULL)
            free(c->name);
        free(c);
        return NULL;
    }
    m->c[m->n++] = c;
    resort(m, m->n - 1);
    return c;
}

void vm_set_online(view_model *m, const char *name, int online)
{
    vm_contact *c = vm_contact_get(m, name, 1);

    if (c == NULL)
        return;
    c->online = online;
    if (!online) {
        c->status = VM_AVAILABLE;
        replace(&c->status_text, "");
        c->conv.typing = 0;
    }
    resort(m, (size_t)contact_index(m, name));
}

void vm_set_status(view_model *m, const char *name, enum vm_status st, const char *text)
{
    vm_contact *c = vm_contact_get(m, name, 1);

    if (c == NULL)
        return;
    c->status = st;
    replace(&c->status_text, text);
}

static vm_row *conv_append(vm_conv *conv)
{
    if (conv->n == VM_CONV_MAX) { /* the oldest goes */
        free(conv->rows[0].from);
        free(conv->rows[0].text);
        free(conv->rows[0].acked_by);
        memmove(conv->rows, conv->rows + 1, (conv->n - 1) * sizeof(*conv->rows));
        conv->n--;
    }
    if (conv->n == conv->cap) {
        size_t cap = conv->cap ? conv->cap * 2 : 32;
        vm_row *grown = realloc(conv->rows, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        conv->rows = grown;
        conv->cap = cap;
    }
    memset(&conv->rows[conv->n], 0, sizeof(*conv->rows));
    return &conv->rows[conv->n];
}

/* Fills the row appended last; 0, or -1 (not kept) when out of memory. */
static int conv_commit(vm_conv *conv, vm_row *r, const char *from, const char *text)
{
    r->from = dup_or_empty(from);
    r->text = dup_or_empty(text);
    if (r->from == NULL || r->text == NULL) {
        free(r->from);
        free(r->text);
        return -1;
    }
    conv->n++;
    return 0;
}

vm_row *vm_add_message(view_model *m, const char *peer, const char *id, int64_t ts_ms,
                       const char *from, const char *text, enum vm_state state, int in_view)
{
    vm_contact *c = vm_contact_get(m, peer, 1);
    vm_row *r;

    if (c == NULL)
        return NULL;
    if (id != NULL && id[0] != '\0' && (r = vm_find_row(&c->conv, id)) != NULL)
        return r; /* already shown (the history read in after it came) */
    if ((r = conv_append(&c->conv)) == NULL)
        return NULL;
    r->kind = VM_ROW_MESSAGE;
    snprintf(r->id, sizeof(r->id), "%s", id != NULL ? id : "");
    r->ts_ms = ts_ms;
    r->state = state;
    r->unread = state == VM_IN && !in_view;
    if (conv_commit(&c->conv, r, from, text) != 0)
        return NULL;
    c->conv.closed = 0; /* someone wrote again */
    if (state == VM_IN) {
        c->conv.typing = 0;
        if (!in_view)
            c->unread++;
    }
    return r;
}

void vm_add_note(view_model *m, const char *peer, int64_t ts_ms, const char *text)
{
    vm_contact *c = vm_contact_get(m, peer, 1);
    vm_row *r;

    if (c == NULL || (r = conv_append(&c->conv)) == NULL)
        return;
    r->kind = VM_ROW_NOTE;
    r->ts_ms = ts_ms;
    (void)conv_commit(&c->conv, r, "", text);
}

vm_row *vm_find_row(vm_conv *conv, const char *id)
{
    for (size_t i = conv->n; i-- > 0;)
        if (strcmp(conv->rows[i].id, id) == 0)
            return &conv->rows[i];
    return NULL;
}

/* How far along a message of ours is: a later report never takes it back. */
static int state_rank(enum vm_state s)
{
    switch (s) {
    case VM_QUEUED:
        return 1;
    case VM_DEPOSITED:
        return 2;
    case VM_SENT:
        return 3;
    case VM_DELIVERED:
        return 4;
    case VM_READ:
        return 5;
    default:
        return 0;
    }
}

int vm_set_state(view_model *m, const char *peer, const char *id, enum vm_state state)
{
    vm_contact *c = vm_contact_get(m, peer, 0);
    vm_row *r = c != NULL ? vm_find_row(&c->conv, id) : NULL;
    int expiry;

    if (r == NULL || r->state == VM_IN)
        return r != NULL;
    expiry = r->state == VM_DEPOSITED && state == VM_QUEUED;
    if (expiry || state_rank(state) > state_rank(r->state))
        r->state = state;
    return 1;
}

void vm_remove_row(view_model *m, const char *peer, const char *id)
{
    vm_contact *c = vm_contact_get(m, peer, 0);
    vm_row *r = c != NULL ? vm_find_row(&c->conv, id) : NULL;
    size_t i;

    if (r == NULL)
        return;
    i = (size_t)(r - c->conv.rows);
    free(r->from);
    free(r->text);
    free(r->acked_by);
    memmove(r, r + 1, (c->conv.n - i - 1) * sizeof(*r));
    c->conv.n--;
}

void vm_open(view_model *m, const char *name)
{
    vm_contact *c = name != NULL ? vm_contact_get(m, name, 1) : NULL;

    free(m->current);
    m->current = c != NULL ? strdup(c->name) : NULL;
    if (m->current != NULL)
        c->unread = 0;
}

vm_contact *vm_current(view_model *m)
{
    return m->current != NULL ? vm_contact_get(m, m->current, 0) : NULL;
}

long vm_first_unread(const vm_contact *c)
{
    for (size_t i = 0; i < c->conv.n; i++)
        if (c->conv.rows[i].unread)
            return (long)i;
    return -1;
}

void vm_mark_seen(vm_contact *c)
{
    for (size_t i = 0; i < c->conv.n; i++)
        c->conv.rows[i].unread = 0;
    c->unread = 0;
}

size_t vm_unread_total(const view_model *m)
{
    size_t total = 0;

    for (size_t i = 0; i < m->n; i++)
        total += m->c[i]->unread;
    return total;
}

vm_transfer *vm_transfer_find(view_model *m, const char *id)
{
    for (size_t i = 0; i < m->nt; i++)
        if (strcmp(m->t[i].id, id) == 0)
            return &m->t[i];
    return NULL;
}

static vm_transfer *transfer_new(view_model *m, const char *id)
{
    vm_transfer *t;

    if (m->nt == m->tcap) {
        size_t cap = m->tcap ? m->tcap * 2 : 8;
        vm_transfer *grown = realloc(m->t, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        m->t = grown;
        m->tcap = cap;
    }
    t = &m->t[m->nt];
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->with = strdup("");
    t->name = strdup("");
    t->path = strdup("");
    t->media_type = strdup("");
    t->error = strdup("");
    if (t->with == NULL || t->name == NULL || t->path == NULL || t->media_type == NULL ||
        t->error == NULL) {
        transfer_free(t);
        return NULL;
    }
    m->nt++;
    return t;
}

vm_transfer *vm_transfer_update(view_model *m, const char *id, const char *with,
                                enum vm_file_dir dir, enum vm_file_state state, const char *name,
                                const char *path, int64_t size, int64_t bytes,
                                const char *media_type, const char *error)
{
    vm_transfer *t = vm_transfer_find(m, id);

    if (t == NULL && (t = transfer_new(m, id)) == NULL)
        return NULL;
    replace(&t->with, with);
    replace(&t->name, name);
    replace(&t->path, path);
    replace(&t->media_type, media_type);
    replace(&t->error, error);
    t->dir = dir;
    t->state = state;
    t->size = size;
    t->bytes = bytes;
    return t;
}

void vm_set_error(view_model *m, const char *message)
{
    snprintf(m->error, sizeof(m->error), "Error: %s", message);
}

void vm_clear_error(view_model *m)
{
    m->error[0] = '\0';
}

int vm_is_room(const char *name)
{
    return name != NULL && name[0] == '#';
}

vm_contact *vm_room_update(view_model *m, const char *id, const char *name, size_t nmembers,
                           int member)
{
    char key[VM_ROOM_KEY_MAX];
    vm_contact *c;

    if ((size_t)snprintf(key, sizeof(key), "#%s", name) >= sizeof(key))
        return NULL;
    if ((c = vm_contact_get(m, key, 1)) == NULL)
        return NULL;
    c->is_room = 1;
    c->known = 1;
    snprintf(c->room_id, sizeof(c->room_id), "%s", id);
    c->nmembers = nmembers;
    c->room_gone = !member;
    return c;
}

int vm_set_fanout(view_model *m, const char *peer, const char *id, uint32_t delivered,
                  uint32_t total)
{
    vm_contact *c = vm_contact_get(m, peer, 0);
    vm_row *r = c != NULL ? vm_find_row(&c->conv, id) : NULL;

    if (r == NULL || r->state == VM_IN)
        return 0;
    if (delivered > r->fan_delivered) /* counts only go up (copies come in any order) */
        r->fan_delivered = delivered;
    r->fan_total = total;
    if (total > 0 && r->fan_delivered >= total)
        r->state = VM_DELIVERED;
    else if (r->state == VM_QUEUED)
        r->state = VM_SENT;
    return 1;
}

vm_row *vm_add_stored(view_model *m, const char *peer, const char *id, int64_t ts_ms,
                      const char *from, const char *text, enum vm_state state, int unread,
                      int broadcast)
{
    vm_row *r = vm_add_message(m, peer, id, ts_ms, from, text, state, 1);

    if (r != NULL) {
        r->unread = unread;
        r->broadcast = broadcast;
    }
    return r;
}

void vm_keep_marks(vm_row *r, const vm_row *live)
{
    if (r == live)
        return;
    if (live->broadcast != 0) /* else the stored mark stays */
        r->broadcast = live->broadcast;
    r->acked = live->acked;
    if (live->fan_delivered > r->fan_delivered) {
        r->fan_delivered = live->fan_delivered;
        r->fan_total = live->fan_total;
    }
}

vm_row *vm_broadcast_sent(view_model *m, const char *id, int64_t ts_ms, const char *text,
                          int important, uint32_t copies)
{
    vm_contact *c = vm_contact_get(m, VM_OWN_BROADCASTS, 1);
    vm_row *r;

    if (c == NULL)
        return NULL;
    c->known = 1;
    c->conv.loaded = 1; /* nothing stored to read in under this name */
    if ((r = vm_add_message(m, VM_OWN_BROADCASTS, id, ts_ms, m->me, text, VM_SENT, 1)) == NULL)
        return NULL;
    r->broadcast = important ? 2 : 1;
    r->fan_total = copies;
    return r;
}

int vm_broadcast_acked(view_model *m, const char *id, const char *from)
{
    vm_contact *c = vm_contact_get(m, VM_OWN_BROADCASTS, 0);
    vm_row *r = c != NULL ? vm_find_row(&c->conv, id) : NULL;
    size_t have, add = strlen(from);
    char *grown;

    if (r == NULL)
        return 0;
    have = r->acked_by != NULL ? strlen(r->acked_by) : 0;
    for (const char *p = r->acked_by; p != NULL && (p = strstr(p, from)) != NULL; p += add)
        if ((p == r->acked_by || p[-1] == ' ') && (p[add] == ',' || p[add] == '\0'))
            return 1; /* named already */
    if ((grown = realloc(r->acked_by, have + add + 3)) == NULL)
        return 1; /* out of memory: not named */
    snprintf(grown + have, add + 3, "%s%s", have > 0 ? ", " : "", from);
    r->acked_by = grown;
    return 1;
}
