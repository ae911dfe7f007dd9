/* Full-text search over the stored history (mim_core_search): the store's matches as the API's
 * items, each snippet's match markers turned into byte ranges of a plain snippet, so that no
 * front end ever sees (or has to strip) a control character. */
#include "core_priv.h"

#include "mim_log.h"
#include "mim_search_query.h"

#include <stdlib.h>

typedef struct search_ctx {
    mim_core *c;
    void (*cb)(void *arg, const mim_core_search_item *it);
    void *arg;
    const char *room_name; /* searching a room: its name (the `to` of ours), else NULL */
} search_ctx;

/* Copies snippet into plain without its markers, noting where each marked word lies there.
 * plain has room for strlen(snippet) + 1 bytes: the copy only drops bytes. Markers are single
 * bytes (control characters), so dropping them never splits a UTF-8 character. */
static void snippet_plain(const char *snippet, char *plain, mim_core_search_item *it)
{
    size_t o = 0;
    int open = 0;

    it->nmarks = 0;
    for (const char *p = snippet; *p != '\0'; p++) {
        if (*p == MIM_STORE_SNIPPET_ON) {
            open = it->nmarks < MIM_CORE_SEARCH_MARKS;
            if (open)
                it->marks[it->nmarks].start = o;
        } else if (*p == MIM_STORE_SNIPPET_OFF) {
            if (open && o > it->marks[it->nmarks].start)
                it->marks[it->nmarks++].end = o;
            open = 0;
        } else {
            plain[o++] = *p;
        }
    }
    plain[o] = '\0';
}

static int search_one(const mim_message *m, const char *snippet, void *arg)
{
    search_ctx *s = arg;
    mim_core_search_item it;
    char *plain = malloc(strlen(snippet) + 1);

    if (plain == NULL)
        return MIM_CORE_ESTORE;
    memset(&it, 0, sizeof(it));
    it.id = core_msg_id(m->id);
    it.ts_ms = m->ts_ms;
    it.from = m->outgoing ? s->c->name : m->peer;
    it.peer = m->outgoing && s->room_name != NULL ? s->room_name : m->peer;
    it.to = m->outgoing ? it.peer : s->c->name;
    it.text = m->text;
    it.broadcast = core_fanout_broadcast_of(m->fanout); /* issue 16: as the live message */
    snippet_plain(snippet, plain, &it);
    it.snippet = plain;
    s->cb(s->arg, &it);
    free(plain);
    return 0;
}

int mim_core_search(mim_core *c, const struct mim_search_query *q, const char *with, size_t limit,
                    void (*cb)(void *arg, const mim_core_search_item *it), void *arg)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    search_ctx s = {c, cb, arg, NULL};
    int rc;

    if (q == NULL || q->nterms <= 0 || limit == 0 || limit > MIM_CORE_SEARCH_MAX || cb == NULL)
        return MIM_CORE_EBAD_VALUE;
    if (with != NULL) {
        if ((with = mim_core_typed_name(with, nfc)) == NULL)
            return MIM_CORE_EBAD_NAME;
        if (!core_known_peer(c, with))
            return MIM_CORE_EUNKNOWN_PEER;
    }
    rc = mim_store_search(c->st, q, with, limit, search_one, &s);
    if (rc < 0) { /* the store's error, or out of memory (search_one) */
        mim_log_warn("search failed: the store could not answer it");
        return MIM_CORE_ESTORE;
    }
    return 0;
}

int mim_core_search_room(mim_core *c, const struct mim_search_query *q, const char *room,
                         size_t limit, void (*cb)(void *arg, const mim_core_search_item *it),
                         void *arg)
{
    search_ctx s = {c, cb, arg, NULL};
    const uint8_t *id;
    int rc;

    if (q == NULL || q->nterms <= 0 || limit == 0 || limit > MIM_CORE_SEARCH_MAX || cb == NULL)
        return MIM_CORE_EBAD_VALUE;
    if ((rc = core_room_named(c, room, &id, &s.room_name)) != 0)
        return rc;
    if (mim_store_search_room(c->st, q, id, limit, search_one, &s) < 0) {
        mim_log_warn("search failed: the store could not answer it");
        return MIM_CORE_ESTORE;
    }
    return 0;
}
