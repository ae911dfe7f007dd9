/* The online table as the presence client keeps it: the full table in chunks, the add, delete
 * and status blocks, the cap at max_table, the address checks, and the convergence once a table
 * is complete, with the grace for entries left unconfirmed by a reconnect (see
 * presence_client.h for the contract, presence_client_priv.h for the state it shares). */
#include "presence_client_priv.h"
#include "mim_addr.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <string.h>

#define PC_SETTLE_MARGIN_MS 1000 /* added to backoff_max for unconfirmed entries */
#define PC_BAD_ADDR_LOGS    5    /* bad table addresses logged per connection */

/* The mark on unconfirmed entries (online_entry.session is opaque to the table). */
static char unconfirmed_mark;
#define UNCONFIRMED ((void *)&unconfirmed_mark)

/* ---- events: none after stop() --------------------------------------------------------------- */

static int is_self(const presence_client *pc, const online_entry *e)
{
    return strcmp(e->name, pc->name) == 0 &&
           mim_equal_ct(e->identity_pk, pc->id->sign_pk, MIM_KEY_LEN);
}

static void emit_online(presence_client *pc, const online_entry *e)
{
    if (!pc->stopping && pc->ev.on_peer_online != NULL)
        pc->ev.on_peer_online(pc->ud, e, is_self(pc, e));
}

static void emit_offline(presence_client *pc, const char *name)
{
    if (!pc->stopping && pc->ev.on_peer_offline != NULL)
        pc->ev.on_peer_offline(pc->ud, name);
}

static void emit_status(presence_client *pc, const online_entry *e)
{
    if (!pc->stopping && pc->ev.on_peer_status != NULL)
        pc->ev.on_peer_status(pc->ud, e);
}

/* ---- the table ------------------------------------------------------------------------------- */

static void entry_from_info(online_entry *e, const Mim__PeerInfo *pi)
{
    memset(e, 0, sizeof(*e));
    e->name = pi->name; /* borrowed from pi: the table copies what it keeps */
    memcpy(e->identity_pk, pi->identity_pk.data, MIM_KEY_LEN);
    memcpy(e->addr, pi->addr.data, pi->addr.len);
    e->addr_len = (uint8_t)pi->addr.len;
    e->port = (uint16_t)pi->port;
    e->status = (int)pi->status;
    e->status_text = pi->status_text;
}

/* 1 when where to reach the peer, or who it is, differs. */
static int entry_moved(const online_entry *a, const online_entry *b)
{
    return a->port != b->port || a->addr_len != b->addr_len ||
           memcmp(a->addr, b->addr, a->addr_len) != 0 ||
           memcmp(a->identity_pk, b->identity_pk, MIM_KEY_LEN) != 0;
}

static int entry_status_differs(const online_entry *a, const online_entry *b)
{
    return a->status != b->status || strcmp(a->status_text, b->status_text) != 0;
}

static void confirm(presence_client *pc, online_entry *e)
{
    if (e->session == UNCONFIRMED) {
        e->session = NULL;
        if (--pc->unconfirmed == 0)
            uv_timer_stop(&pc->settle_timer);
    }
}

static void forget(presence_client *pc, online_table *t, online_entry *e)
{
    if (t == &pc->table)
        confirm(pc, e);
    online_table_remove(t, e);
}

/* An entry from the server (an add, or a table entry when not reporting): replaces the one of
 * that name in t. With report set, tells the owner what changed. 0 or a negative code. */
static int apply_entry(presence_client *pc, online_table *t, const online_entry *n, int report)
{
    online_entry *o = online_table_find_name(t, n->name), *added;
    int rc;

    if (o != NULL && t == &pc->table)
        confirm(pc, o);
    if (o != NULL && memcmp(o->identity_pk, n->identity_pk, MIM_KEY_LEN) == 0) {
        int moved = entry_moved(o, n), status = entry_status_differs(o, n);
        /* Same key: update in place, which keeps the entry's place in the table. */
        memcpy(o->addr, n->addr, sizeof(o->addr));
        o->addr_len = n->addr_len;
        o->port = n->port;
        if ((rc = online_table_set_status(t, o, n->status, n->status_text)) != 0)
            return rc;
        if (report && moved)
            emit_online(pc, o);
        else if (report && status)
            emit_status(pc, o);
        return 0;
    }
    if (o != NULL)
        online_table_remove(t, o); /* another key: the by-key index must follow */
    if (online_table_count(t) >= pc->max_table) {
        /* The server's word is bounded: the excess is dropped, the rest goes on. */
        if (pc->dropped++ == 0)
            mim_log_warn("presence: the table from %s has more than %u entries (mim "
                         "--max-table): the others are dropped",
                         pc->server_str, (unsigned)pc->max_table);
        return 0;
    }
    if ((rc = online_table_add(t, n, &added)) != 0)
        return rc;
    added->session = NULL;
    if (report)
        emit_online(pc, added);
    return 0;
}

static void on_settle(uv_timer_t *t)
{
    presence_client *pc = t->data;
    online_entry *e, *next;

    /* Whoever did not come back within the grace is gone. */
    for (e = online_table_first(&pc->table); e != NULL; e = next) {
        char name[MIM_NAME_MAX_BYTES + 1];
        next = online_table_next(e);
        if (e->session != UNCONFIRMED)
            continue;
        snprintf(name, sizeof(name), "%s", e->name);
        forget(pc, &pc->table, e);
        emit_offline(pc, name);
        if (pc->stopping)
            return;
    }
}

/* The last chunk arrived: the new table replaces the old one, and the owner hears the
 * difference. After a reconnect, names missing from the new table are kept unconfirmed for a
 * while instead of being reported offline at once (see presence_client.h). */
static void converge(presence_client *pc)
{
    online_table old = pc->table;
    int reconnect = pc->have_table;
    online_entry *e;
    int rc = 0;

    pc->table = pc->incoming;
    pc->unconfirmed = 0;
    if ((rc = online_table_init(&pc->incoming)) != 0) {
        pc->incoming = old; /* freed with the connection */
        pc_end_channel(pc, 0, "out of memory");
        return;
    }
    for (e = online_table_first(&pc->table); e != NULL; e = online_table_next(e))
        e->session = NULL;
    if (reconnect) {
        for (e = online_table_first(&old); e != NULL && rc == 0; e = online_table_next(e)) {
            online_entry *kept;
            if (online_table_find_name(&pc->table, e->name) != NULL ||
                online_table_count(&pc->table) >= pc->max_table)
                continue;
            if ((rc = online_table_add(&pc->table, e, &kept)) == 0) {
                kept->session = UNCONFIRMED;
                pc->unconfirmed++;
            }
        }
    }
    pc->have_table = 1;
    pc_went_online(pc);

    /* Offline: in the old table, in neither the new one nor kept. */
    for (e = online_table_first(&old); e != NULL && !pc->stopping; e = online_table_next(e))
        if (online_table_find_name(&pc->table, e->name) == NULL)
            emit_offline(pc, e->name);
    /* Online: new or moved; status: the rest, changed. */
    for (e = online_table_first(&pc->table); e != NULL && !pc->stopping; e = online_table_next(e)) {
        online_entry *o = online_table_find_name(&old, e->name);
        if (e->session == UNCONFIRMED)
            continue;
        if (o == NULL || entry_moved(o, e))
            emit_online(pc, e);
        else if (entry_status_differs(o, e))
            emit_status(pc, e);
    }
    online_table_free(&old);
    if (rc != 0 && !pc_halted(pc))
        pc_end_channel(pc, 0, "cannot keep the table: %s", mim_strerror(rc));
}

void pc_table_settle_start(presence_client *pc)
{
    if (pc->unconfirmed > 0)
        uv_timer_start(&pc->settle_timer, on_settle,
                       (uint64_t)pc->backoff_max_ms + PC_SETTLE_MARGIN_MS, 0);
}

/* ---- presence messages ----------------------------------------------------------------------- */

/* 1 when e may be kept: an address a peer can be dialled at (mim_addr_peer_ok). Otherwise
 * the entry is logged and, like a delete, takes the name out of t (reported offline when
 * report is set): the peer is somewhere we will not dial. */
static int entry_checked(presence_client *pc, online_table *t, const online_entry *e, int report)
{
    online_entry *o;

    if (mim_addr_peer_ok(e->addr, e->addr_len, pc->server_loopback))
        return 1;
    /* A few lines per connection: a table of such entries must not flood the log. */
    if (pc->bad_addrs++ < PC_BAD_ADDR_LOGS)
        mim_log_warn("presence: the server %s gave %s an address no peer is dialled at "
                     "(unspecified, multicast, broadcast, or loopback from a remote server): "
                     "entry dropped%s",
                     pc->server_str, e->name,
                     pc->bad_addrs == PC_BAD_ADDR_LOGS ? " (further ones are not logged)" : "");
    if ((o = online_table_find_name(t, e->name)) != NULL) {
        forget(pc, t, o);
        if (report)
            emit_offline(pc, e->name);
    }
    return 0;
}

void pc_table_chunk(presence_client *pc, const Mim__TableChunk *tc)
{
    int rc = 0;

    if (pc->phase != PC_AWAIT_TABLE) {
        pc_end_channel(pc, 0, "a table chunk after the table was complete");
        return;
    }
    for (size_t i = 0; i < tc->n_peers && rc == 0; i++) {
        online_entry e;
        entry_from_info(&e, tc->peers[i]);
        if (entry_checked(pc, &pc->incoming, &e, 0))
            rc = apply_entry(pc, &pc->incoming, &e, 0);
    }
    if (rc != 0) {
        pc_end_channel(pc, 0, "cannot keep the table: %s", mim_strerror(rc));
        return;
    }
    if (tc->last)
        converge(pc);
}

void pc_table_add(presence_client *pc, const Mim__PeerInfo *pi)
{
    int online = pc->phase == PC_ONLINE;
    online_entry e;
    int rc;

    entry_from_info(&e, pi);
    if (!entry_checked(pc, online ? &pc->table : &pc->incoming, &e, online))
        return;
    rc = apply_entry(pc, online ? &pc->table : &pc->incoming, &e, online);
    if (rc != 0 && !pc_halted(pc))
        pc_end_channel(pc, 0, "cannot keep the table: %s", mim_strerror(rc));
}

void pc_table_del(presence_client *pc, const char *name)
{
    int online = pc->phase == PC_ONLINE;
    online_table *t = online ? &pc->table : &pc->incoming;
    online_entry *e = online_table_find_name(t, name);

    if (e == NULL)
        return; /* unknown: nothing to do */
    forget(pc, t, e);
    if (online)
        emit_offline(pc, name);
}

void pc_table_status(presence_client *pc, const Mim__StatusUpdate *up)
{
    int online = pc->phase == PC_ONLINE;
    online_table *t = online ? &pc->table : &pc->incoming;
    online_entry *e = online_table_find_name(t, up->name);

    if (e == NULL)
        return;
    if (e->status == (int)up->status && strcmp(e->status_text, up->text) == 0)
        return;
    if (online_table_set_status(t, e, (int)up->status, up->text) != 0)
        return; /* cannot happen: the codec checked the text's length */
    if (online)
        emit_status(pc, e);
}
