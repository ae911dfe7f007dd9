/* The presence client's directory messages (issue 14): a Lookup of one name and a listing of
 * the whole directory out, their LookupResult and DirectoryPages in. Only with a server whose
 * handshake offered them (MIM_FEATURE_MAILBOX); an older server never sees them.
 *
 * The listing asks page after page (each DirectoryList starts after the last name received)
 * and keeps what came in pc->dir until the last page, then reports it once. The server is not
 * trusted to end it: at most MIM_STORE_DIRECTORY_MAX names are kept (the rest is not asked
 * for: the report says it is incomplete), and a page that does not move forward (a first name
 * not after the last one, or an empty page that is not the last) ends the channel, as any
 * other breach of the protocol. The codec has checked each page on its own (names valid and
 * ascending, keys of 32 bytes, at most MIM_DIRECTORY_PAGE_MAX entries). */
#include "presence_client_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int presence_client_has_directory(const presence_client *pc)
{
    return pc->phase == PC_ONLINE &&
           (presence_client_server_features(pc) & MIM_FEATURE_MAILBOX) != 0;
}

int presence_client_lookup(presence_client *pc, const char *name)
{
    Mim__PresenceMsg m;
    Mim__Lookup body;

    if (!presence_client_has_directory(pc))
        return MIM_ESTATE;
    mim_lookup_init(&m, &body, name);
    return pc_send_batch(pc, (const Mim__PresenceMsg *const[]){&m}, 1);
}

static int ask_page(presence_client *pc)
{
    Mim__PresenceMsg m;
    Mim__DirectoryList body;

    mim_directory_list_init(&m, &body, pc->dir.after, 0);
    return pc_send_batch(pc, (const Mim__PresenceMsg *const[]){&m}, 1);
}

int presence_client_directory_list(presence_client *pc)
{
    int rc;

    if (!presence_client_has_directory(pc))
        return MIM_ESTATE;
    if (pc->dir.listing)
        return 0; /* one listing at a time: its report answers this call too */
    pc->dir.after[0] = '\0';
    pc->dir.n = 0;
    if ((rc = ask_page(pc)) == 0)
        pc->dir.listing = 1;
    return rc;
}

void pc_directory_reset(presence_client *pc)
{
    free(pc->dir.entries);
    memset(&pc->dir, 0, sizeof(pc->dir));
}

/* The codec checked the entry: a valid name and a 32-byte key. */
static void entry_of(mim_directory_entry *out, const Mim__DirectoryEntry *e)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", e->name);
    memcpy(out->identity_pk, e->identity_pk.data, sizeof(out->identity_pk));
    out->online = e->online;
    out->last_seen_ms = e->last_seen_ms > INT64_MAX ? INT64_MAX : (int64_t)e->last_seen_ms;
}

static void lookup_result(presence_client *pc, const Mim__LookupResult *r)
{
    mim_directory_entry e;

    if (r->entry != NULL && strcmp(r->entry->name, r->name) != 0) {
        pc_end_channel(pc, 0, "a lookup result for %s names %s", r->name, r->entry->name);
        return;
    }
    if (r->entry != NULL)
        entry_of(&e, r->entry);
    if (pc->ev.on_lookup != NULL)
        pc->ev.on_lookup(pc->ud, r->name, r->entry != NULL ? &e : NULL);
}

static void listing_done(presence_client *pc, int complete, int refused)
{
    pc->dir.listing = 0;
    if (pc->ev.on_directory != NULL)
        pc->ev.on_directory(pc->ud, pc->dir.entries, pc->dir.n, complete, refused);
    pc_directory_reset(pc);
}

/* Appends the page's entries; 0, or -1 when the cap is reached (the rest is not kept). */
static int keep_page(presence_client *pc, const Mim__DirectoryPage *p)
{
    for (size_t i = 0; i < p->n_entries; i++) {
        if (pc->dir.n == MIM_STORE_DIRECTORY_MAX) {
            mim_log_warn("presence: the directory has more than %d names: the rest is not kept",
                         MIM_STORE_DIRECTORY_MAX);
            return -1;
        }
        if (pc->dir.n == pc->dir.cap) {
            size_t ncap = pc->dir.cap ? 2 * pc->dir.cap : MIM_DIRECTORY_PAGE_MAX;
            void *np = realloc(pc->dir.entries, ncap * sizeof(*pc->dir.entries));
            if (np == NULL)
                return -1;
            pc->dir.entries = np;
            pc->dir.cap = ncap;
        }
        entry_of(&pc->dir.entries[pc->dir.n++], p->entries[i]);
    }
    return 0;
}

static void directory_page(presence_client *pc, const Mim__DirectoryPage *p)
{
    if (!pc->dir.listing) {
        pc_end_channel(pc, 0, "a directory page nobody asked for");
        return;
    }
    if (p->refused) {
        listing_done(pc, 1, 1);
        return;
    }
    if ((p->n_entries == 0 && !p->last) ||
        (p->n_entries > 0 && strcmp(p->entries[0]->name, pc->dir.after) <= 0)) {
        pc_end_channel(pc, 0, "a directory page that does not move on after '%s'", pc->dir.after);
        return;
    }
    if (keep_page(pc, p) != 0) {
        listing_done(pc, 0, 0);
        return;
    }
    if (p->last) {
        listing_done(pc, 1, 0);
        return;
    }
    snprintf(pc->dir.after, sizeof(pc->dir.after), "%s", p->entries[p->n_entries - 1]->name);
    if (ask_page(pc) != 0)
        pc_end_channel(pc, 0, "cannot ask for the next directory page");
}

int pc_directory_msg(presence_client *pc, const Mim__PresenceMsg *m)
{
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_LOOKUP_RESULT:
        lookup_result(pc, m->lookup_result);
        return 1;
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE:
        directory_page(pc, m->directory_page);
        return 1;
    default:
        return 0;
    }
}
