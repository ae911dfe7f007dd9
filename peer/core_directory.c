/* The directory in the peer core (issue 14): the presence server's copy of who is registered,
 * kept in the store (mim_store_directory.c) and refreshed by listings, lookups and the online
 * table; `send` to a registered name we never met (the message waits in memory for the lookup,
 * stored only once the server says the name is registered); the key to seal a letter to
 * (core_directory_key, pin on first use); and mim_core_directory / on_directory.
 *
 * The directory is the server's word, as the online table is: a key it lists for a pinned
 * contact is checked against the pin by core_check_listed_key (a different one, from a pinned
 * server, is a key change held until trust), and a name is pinned only when we first use its
 * key. */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* A send to a name being looked up: in memory only, until the answer. */
typedef struct held_send {
    char to[MIM_NAME_MAX_BYTES + 1];
    mim_msg_id id;
    char *text; /* owned */
    size_t len;
} held_send;

/* A lookup in flight. */
typedef struct asked_name {
    char name[MIM_NAME_MAX_BYTES + 1];
    uint64_t at; /* uv_now when asked */
} asked_name;

struct core_directory {
    held_send held[MIM_CORE_LOOKUP_SENDS_MAX];
    size_t nheld;
    asked_name asked[MIM_CORE_LOOKUP_SENDS_MAX];
    size_t nasked;
    int listing; /* mim_core_directory asked the server: on_directory owed */
};

/* ---- the copy, its keys ---------------------------------------------------------------------- */

int core_directory_known(mim_core *c, const char *name)
{
    mim_directory_entry e;
    return mim_store_directory_get(c->st, name, &e) == 0;
}

/* What the server lists for name: kept, and its key checked against a pin (never pinned). */
static void directory_keep(mim_core *c, const mim_directory_entry *e, int64_t now_ms)
{
    if (strcmp(e->name, c->name) == 0)
        return;
    if (mim_store_directory_put(c->st, e, now_ms) < 0)
        mim_log_warn("cannot keep the directory's entry for %s", e->name);
    core_check_listed_key(c, e->name, e->identity_pk);
}

int core_directory_key(mim_core *c, const char *name, uint8_t pk[MIM_KEY_LEN])
{
    mim_contact ct;
    mim_directory_entry e;
    int v;

    if (mim_store_contact_get(c->st, name, &ct) == 0) {
        memcpy(pk, ct.identity_pk, MIM_KEY_LEN);
        return 0;
    }
    if (mim_store_directory_get(c->st, name, &e) != 0)
        return MIM_ENOENT;
    /* First use: pinned now, accept-new, as a session's key would be. */
    v = mim_store_pin_check(c->st, name, e.identity_pk, mim_clock_wall_s());
    if (v < 0)
        return MIM_ENOENT;  /* the store failed (logged): nothing to seal to now */
    if (v == MIM_PIN_NEW) { /* we wrote first: not a contact pinned before this run */
        peer_rec *r = core_peer_get(c, name);
        if (r != NULL)
            r->pinned_this_run = 1;
    }
    if (v == MIM_PIN_CHANGED) /* a pin appeared meanwhile: it decides */
        return mim_store_contact_get(c->st, name, &ct) == 0
                   ? (memcpy(pk, ct.identity_pk, MIM_KEY_LEN), 0)
                   : MIM_ENOENT;
    memcpy(pk, e.identity_pk, MIM_KEY_LEN);
    return 0;
}

void core_directory_seen(mim_core *c, const char *name, int online)
{
    if (mim_store_directory_seen(c->st, name, online, mim_clock_wall_ms()) < 0)
        mim_log_warn("cannot note in the directory's copy that %s is %s", name,
                     online ? "online" : "offline");
}

/* ---- lookups and the sends that wait for them ------------------------------------------------ */

static asked_name *asked_find(struct core_directory *d, const char *name)
{
    for (size_t i = 0; i < d->nasked; i++)
        if (strcmp(d->asked[i].name, name) == 0)
            return &d->asked[i];
    return NULL;
}

static struct core_directory *dir_of(mim_core *c)
{
    if (c->dir == NULL)
        c->dir = calloc(1, sizeof(*c->dir));
    return c->dir;
}

int core_directory_lookup(mim_core *c, const char *name)
{
    struct core_directory *d = dir_of(c);
    int rc;

    if (d == NULL)
        return MIM_ENOMEM;
    if (c->pc == NULL || !presence_client_has_directory(c->pc))
        return MIM_ESTATE;
    if (asked_find(d, name) != NULL)
        return 0;
    if (d->nasked == MIM_CORE_LOOKUP_SENDS_MAX)
        return MIM_EOVERFLOW;
    if ((rc = presence_client_lookup(c->pc, name)) != 0)
        return rc;
    snprintf(d->asked[d->nasked].name, sizeof(d->asked[0].name), "%s", name);
    d->asked[d->nasked++].at = uv_now(c->loop);
    return 0;
}

int core_directory_send_later(mim_core *c, const char *to, const char *text, size_t len,
                              mim_msg_id *id)
{
    struct core_directory *d = dir_of(c);
    held_send *h;
    int rc;

    if (d == NULL)
        return MIM_CORE_ESTORE;
    if (d->nheld == MIM_CORE_LOOKUP_SENDS_MAX)
        return MIM_CORE_EBUSY;
    if ((rc = core_directory_lookup(c, to)) != 0)
        return rc == MIM_EOVERFLOW ? MIM_CORE_EBUSY : MIM_CORE_EUNKNOWN_PEER;
    h = &d->held[d->nheld];
    if ((h->text = malloc(len + 1)) == NULL)
        return MIM_CORE_ESTORE;
    memcpy(h->text, text, len + 1);
    h->len = len;
    snprintf(h->to, sizeof(h->to), "%s", to);
    mim_random_bytes(h->id.bytes, sizeof(h->id.bytes));
    if (id != NULL)
        *id = h->id;
    d->nheld++;
    mim_log_debug("a message to %s waits for its lookup", to);
    return 0;
}

/* The sends held for `to` (all of them when to is NULL) leave the list, in order: stored
 * (registered 1) or failed with why. */
static void release_held(mim_core *c, const char *to, int registered, mim_core_lookup_fail why)
{
    struct core_directory *d = c->dir;
    held_send *out = malloc((d->nheld > 0 ? d->nheld : 1) * sizeof(*out));
    size_t kept = 0, nout = 0;

    if (out == NULL) {
        mim_log_error("out of memory: the sends waiting for a lookup wait longer");
        return;
    }
    /* Taken out of the list before any event runs: a handler may send (adding to the list) or
     * log out (releasing it again). */
    for (size_t i = 0; i < d->nheld; i++) {
        if (to != NULL && strcmp(d->held[i].to, to) != 0)
            d->held[kept++] = d->held[i];
        else
            out[nout++] = d->held[i];
    }
    d->nheld = kept;
    for (size_t i = 0; i < nout; i++) {
        if (registered)
            core_send_stored(c, out[i].to, out[i].text, out[i].len, &out[i].id);
        else if (c->ev.on_lookup_failed != NULL)
            c->ev.on_lookup_failed(c->ud, out[i].to, &out[i].id, why);
        free(out[i].text);
    }
    free(out);
}

void core_on_lookup(void *ud, const char *name, const mim_directory_entry *e)
{
    mim_core *c = ud;
    struct core_directory *d = c->dir;
    asked_name *a = d != NULL ? asked_find(d, name) : NULL;

    if (a == NULL) {
        mim_log_info("presence: an answer for %s, which we did not look up: ignored", name);
        return;
    }
    *a = d->asked[--d->nasked];
    if (e != NULL) {
        directory_keep(c, e, mim_clock_wall_ms());
    } else {
        mim_log_info("presence: %s is not registered", name);
        (void)mim_store_directory_delete(c->st, name);
    }
    release_held(c, name, e != NULL, MIM_CORE_LOOKUP_NOT_REGISTERED);
}

void core_directory_tick(mim_core *c)
{
    struct core_directory *d = c->dir;
    uint64_t now = uv_now(c->loop);

    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nasked;) {
        if (now - d->asked[i].at < MIM_CORE_LOOKUP_TIMEOUT_MS) {
            i++;
            continue;
        }
        char name[MIM_NAME_MAX_BYTES + 1];
        snprintf(name, sizeof(name), "%s", d->asked[i].name);
        d->asked[i] = d->asked[--d->nasked];
        mim_log_warn("presence: no answer to the lookup of %s", name);
        release_held(c, name, 0, MIM_CORE_LOOKUP_NO_ANSWER);
    }
}

/* ---- the listing ----------------------------------------------------------------------------- */

/* One row of the answer, with the text its view points to. */
typedef struct answer_row {
    mim_directory_entry e;
    char fp[MIM_FINGERPRINT_LEN];
} answer_row;

typedef struct answer {
    mim_core *c;
    answer_row *rows;
    size_t n, cap;
    int connected; /* the online table is current: it says who is online */
} answer;

static int answer_add(const mim_directory_entry *e, void *arg)
{
    answer *a = arg;

    if (strcmp(e->name, a->c->name) == 0)
        return 0; /* never ourselves, as who */
    if (a->n == a->cap) {
        void *p = core_grow(a->rows, &a->cap, sizeof(*a->rows));
        if (p == NULL)
            return MIM_ENOMEM;
        a->rows = p;
    }
    a->rows[a->n].e = *e;
    a->rows[a->n].e.online = a->connected && core_table_find(a->c, e->name) != NULL;
    mim_fingerprint(e->identity_pk, a->rows[a->n].fp);
    a->n++;
    return 0;
}

static int online_first(const void *x, const void *y)
{
    const answer_row *a = x, *b = y;

    if (a->e.online != b->e.online)
        return b->e.online - a->e.online;
    return strcmp(a->e.name, b->e.name);
}

/* on_directory with the copy in the store: online first (by the online table, when connected),
 * then by name. 0, or MIM_CORE_ESTORE. */
static int answer_from_copy(mim_core *c, int is_private)
{
    answer a = {.c = c};
    mim_core_directory_entry *view = NULL;
    int rc;

    a.connected = c->pc != NULL && presence_client_state(c->pc) == PRESENCE_CONNECTED;
    rc = mim_store_directory_each(c->st, MIM_STORE_DIRECTORY_MAX, answer_add, &a);
    if (rc == 0 && a.n > 0 && (view = calloc(a.n, sizeof(*view))) == NULL)
        rc = MIM_ENOMEM;
    if (rc != 0) {
        free(a.rows);
        return MIM_CORE_ESTORE;
    }
    if (a.n > 0)
        qsort(a.rows, a.n, sizeof(*a.rows), online_first);
    for (size_t i = 0; i < a.n; i++)
        view[i] = (mim_core_directory_entry){.name = a.rows[i].e.name,
                                             .fingerprint = a.rows[i].fp,
                                             .online = a.rows[i].e.online,
                                             .last_seen_ms = a.rows[i].e.last_seen_ms};
    if (c->ev.on_directory != NULL)
        c->ev.on_directory(c->ud, view, a.n, is_private);
    free(view);
    free(a.rows);
    return 0;
}

int mim_core_directory(mim_core *c)
{
    struct core_directory *d = dir_of(c);

    if (d == NULL)
        return MIM_CORE_ESTORE;
    if (d->listing)
        return 0; /* the answer under way answers this call too */
    if (c->pc != NULL && presence_client_directory_list(c->pc) == 0) {
        d->listing = 1;
        return 0;
    }
    return answer_from_copy(c, 0);
}

void core_on_directory_list(void *ud, const mim_directory_entry *e, size_t n, int complete,
                            int refused)
{
    mim_core *c = ud;
    int64_t now = mim_clock_wall_ms();
    int began = core_group_begin(c);

    for (size_t i = 0; i < n; i++)
        directory_keep(c, &e[i], now);
    /* Names a complete listing no longer has were freed at the server: forgotten here too. */
    if (complete && !refused && mim_store_directory_prune(c->st, now) < 0)
        mim_log_warn("cannot drop the names the directory no longer lists");
    (void)core_group_end(c, began);
    if (c->dir == NULL || !c->dir->listing)
        return;
    c->dir->listing = 0;
    if (answer_from_copy(c, refused) != 0)
        core_report_error(c, MIM_CORE_ERROR_STORE, "cannot read the directory's copy", 0);
}

void core_directory_lost(mim_core *c)
{
    struct core_directory *d = c->dir;

    if (d == NULL)
        return;
    d->nasked = 0;
    release_held(c, NULL, 0, MIM_CORE_LOOKUP_NO_ANSWER);
    if (d->listing) {
        d->listing = 0;
        if (answer_from_copy(c, 0) != 0)
            core_report_error(c, MIM_CORE_ERROR_STORE, "cannot read the directory's copy", 0);
    }
}

void core_directory_free(mim_core *c)
{
    if (c->dir == NULL)
        return;
    for (size_t i = 0; i < c->dir->nheld; i++)
        free(c->dir->held[i].text);
    free(c->dir);
    c->dir = NULL;
}
