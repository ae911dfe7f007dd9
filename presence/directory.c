/* The directory (issue 14): a Lookup of one registered name and a paged DirectoryList of them
 * all, each with its key, whether it is online and when it was last seen; and the record of
 * last-seen times, gathered in memory and written once a second (not a disk write per login).
 *
 * Only a session whose Login set MIM_LOGIN_FEATURE_MAILBOX gets here (session.c checks). A
 * peer's lookups and pages are rate-limited (PRESENCE_DIRECTORY_RATE): with --directory off a
 * peer can learn a name only by guessing it exactly, and only that fast. */
#include "server.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when s may ask the directory now; else s is refused (0). */
static int directory_admit(session *s)
{
    if (mim_rate_take(&s->directory_rate, PRESENCE_DIRECTORY_RATE, PRESENCE_DIRECTORY_BURST,
                      uv_now(s->srv->loop))) {
        /* The logins and logouts held for the next write are written first, so that the
         * answer tells a "last seen" of a moment ago (one write at most per request, and
         * requests are rate-limited). */
        directory_flush(s->srv, uv_now(s->srv->loop), 1);
        return 1;
    }
    session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL,
                 "directory requests faster than %.0f per second", PRESENCE_DIRECTORY_RATE);
    return 0;
}

/* A registry row as the directory shows it: online when the name is in the table with the same
 * key (an online peer's last_seen is its login). */
static void entry_of(presence_server *srv, const mim_dir_name *n, Mim__DirectoryEntry *e)
{
    const online_entry *on = online_table_find_name(&srv->table, n->name);
    int online = on != NULL && memcmp(on->identity_pk, n->identity_pk, 32) == 0;

    mim_directory_entry_init(e, n->name, n->identity_pk, online, (uint64_t)n->last_seen_ms);
}

void directory_lookup(session *s, const Mim__Lookup *l)
{
    Mim__PresenceMsg m;
    Mim__LookupResult res;
    Mim__DirectoryEntry e;
    mim_dir_name n;
    char nfc[MIM_NAME_MAX_BYTES + 1];
    int rc = MIM_ENOENT;

    if (!directory_admit(s))
        return;
    /* The name as a user typed it: put in NFC, the one form names are registered in. A name
     * that is not valid then is not registered either. */
    if (mim_name_nfc(l->name, nfc, sizeof(nfc)) == 0 && mim_name_valid(nfc, strlen(nfc)))
        rc = mim_store_dir_lookup(s->srv->store, nfc, &n);
    if (rc != 0 && rc != MIM_ENOENT)
        mim_log_warn("conn %llu: lookup: the registry failed: %s",
                     (unsigned long long)mim_channel_id(s->ch), mim_strerror(rc));
    if (rc == 0)
        entry_of(s->srv, &n, &e);
    mim_lookup_result_init(&m, &res, l->name, rc == 0 ? &e : NULL);
    (void)out_queue_send(s, &m);
}

/* A page of the listing: names after `after`, at most `limit` (0: PRESENCE_DIRECTORY_PAGE;
 * capped at MIM_DIRECTORY_PAGE_MAX, which any names fit in one frame). */
void directory_list(session *s, const Mim__DirectoryList *l)
{
    presence_server *srv = s->srv;
    size_t want = l->limit == 0 ? PRESENCE_DIRECTORY_PAGE : l->limit;
    Mim__DirectoryEntry e[MIM_DIRECTORY_PAGE_MAX], *ep[MIM_DIRECTORY_PAGE_MAX];
    Mim__DirectoryPage page;
    Mim__PresenceMsg m;
    mim_dir_name *names = NULL;
    int n = 0;

    if (!directory_admit(s))
        return;
    if (want > MIM_DIRECTORY_PAGE_MAX)
        want = MIM_DIRECTORY_PAGE_MAX;
    if (srv->cfg.directory_public) {
        /* One more than asked: whether it exists says whether this page is the last. */
        if ((names = malloc((want + 1) * sizeof(*names))) == NULL) {
            session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "out of memory");
            return;
        }
        n = mim_store_dir_page(srv->store, l->after, names, want + 1);
        if (n < 0) {
            mim_log_warn("conn %llu: directory: the registry failed: %s",
                         (unsigned long long)mim_channel_id(s->ch), mim_strerror(n));
            n = 0; /* an empty last page: the peer sees nothing rather than a closed session */
        }
    }
    for (int i = 0; i < n && (size_t)i < want; i++) {
        entry_of(srv, &names[i], &e[i]);
        ep[i] = &e[i];
    }
    mim_directory_page_init(&m, &page, ep, (size_t)n < want ? (size_t)n : want, (size_t)n <= want,
                            !srv->cfg.directory_public);
    (void)out_queue_send(s, &m);
    free(names);
}

#define SEEN_HELD_MAX 65536 /* logins and logouts held before they are written at once */

void directory_seen(session *s)
{
    presence_server *srv = s->srv;
    mim_name_seen *v;

    if (s->entry == NULL)
        return;
    /* Bounded by the logins the admission rates let through in a second; a storm past that is
     * written now rather than held. */
    if (srv->nseen == SEEN_HELD_MAX)
        directory_flush(srv, uv_now(srv->loop), 1);
    if (srv->nseen == srv->seen_cap) {
        size_t cap = srv->seen_cap != 0 ? srv->seen_cap * 2 : 64;
        if ((v = realloc(srv->seen, cap * sizeof(*v))) == NULL)
            return; /* only "last seen" is older */
        srv->seen = v;
        srv->seen_cap = cap;
    }
    v = &srv->seen[srv->nseen++];
    snprintf(v->name, sizeof(v->name), "%s", s->entry->name);
    v->at_ms = mim_clock_wall_ms();
}

void directory_flush(presence_server *srv, uint64_t now, int force)
{
    int rc;

    if (srv->nseen == 0 || (!force && now - srv->seen_flushed < PRESENCE_SEEN_FLUSH_MS))
        return;
    srv->seen_flushed = now;
    rc = mim_store_names_seen(srv->store, srv->seen, srv->nseen);
    if (rc != 0)
        mim_log_warn("last seen of %zu names not recorded: %s", srv->nseen, mim_strerror(rc));
    srv->nseen = 0;
}
