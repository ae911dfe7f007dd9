/* The table sync's receiving side (cluster_sync.c says what travels): one bus message decoded,
 * checked against its subject and its sender's sequence, and applied to the remote table, with
 * every change told to the local peers. Nothing from the bus is trusted further than the codec
 * (shared/mim_codec_cluster.c) and these checks let it: a bad message is dropped and logged. */
#include "cluster_priv.h"
#include "mim_clock.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* 1 when a login at a_ms on server a_id is newer than one at b_ms on b_id. */
static int newer(uint64_t a_ms, const char *a_id, uint64_t b_ms, const char *b_id)
{
    return a_ms > b_ms || (a_ms == b_ms && strcmp(a_id, b_id) > 0);
}

static uint64_t local_login_ms(const presence_server *srv, const online_entry *e)
{
    const session *s = e->session;
    return (uint64_t)mim_clock_wall_ms() - session_elapsed(uv_now(srv->loop), s->started);
}

static void broadcast(presence_server *srv, Mim__PresenceMsg *m)
{
    out_queue_broadcast(srv, m, NULL);
}

/* A newer login of this name on another server: our peer goes, told why, without a delete (the
 * other server's add replaces the entry everywhere). */
static void evict_local(presence_server *srv, online_entry *local, const uint8_t *pk,
                        const char *where)
{
    session *prev = local->session;
    int same_key = mim_equal_ct(local->identity_pk, pk, MIM_KEY_LEN);

    online_table_remove(&srv->table, local);
    prev->entry = NULL;
    if (same_key)
        session_fail(prev, MIM__ERROR_CODE__ERROR_REPLACED, "replaced by a new login on server %s",
                     where);
    else
        session_fail(prev, MIM__ERROR_CODE__ERROR_NAME_TAKEN,
                     "the name was released by the administrator and taken by another key");
}

static int same_info(const online_entry *e, const Mim__PeerInfo *pi)
{
    return e->addr_len == pi->addr.len && memcmp(e->addr, pi->addr.data, pi->addr.len) == 0 &&
           e->port == pi->port && memcmp(e->identity_pk, pi->identity_pk.data, MIM_KEY_LEN) == 0 &&
           e->status == (int)pi->status &&
           strcmp(e->status_text != NULL ? e->status_text : "", pi->status_text) == 0;
}

/* Decides between a login of pi's name held here (locally or from another member) and this
 * one from member idx. 1: the new one goes in (what it replaces is gone); 0: ignored. */
static int make_room(cluster *c, uint8_t idx, const Mim__ClusterPeer *cp)
{
    const char *from = c->members[idx].server_id, *name = cp->info->name;
    online_entry *local = online_table_find_name(&c->srv->table, name);
    online_entry *remote = online_table_find_name(&c->remote, name);

    if (local != NULL) {
        if (!newer(cp->login_ms, from, local_login_ms(c->srv, local), c->server_id))
            return 0; /* ours is newer: the other server hears our add and gives way */
        evict_local(c->srv, local, cp->info->identity_pk.data, from);
    }
    if (remote != NULL) {
        cluster_remote *r = remote->session;
        if (r->member != idx &&
            !newer(cp->login_ms, from, r->login_ms, c->members[r->member].server_id))
            return 0;
        if (r->member == idx && same_info(remote, cp->info)) {
            r->login_ms = cp->login_ms; /* nothing the local peers would see */
            r->stale = 0;
            return 0;
        }
        cluster_remote_remove(c, remote, 0); /* the add below replaces it at every peer */
    }
    return 1;
}

static void apply_add(cluster *c, uint8_t idx, const Mim__ClusterPeer *cp)
{
    const Mim__PeerInfo *pi = cp->info;
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;
    online_entry e;
    cluster_remote *r;

    if (!make_room(c, idx, cp))
        return;
    if (online_table_count(&c->remote) >= CLUSTER_MAX_REMOTE ||
        (r = calloc(1, sizeof(*r))) == NULL) {
        cluster_bad(c, "add", "too many remote peers, or out of memory");
        return;
    }
    memset(&e, 0, sizeof(e));
    e.name = pi->name;
    e.status_text = pi->status_text;
    memcpy(e.identity_pk, pi->identity_pk.data, MIM_KEY_LEN);
    memcpy(e.addr, pi->addr.data, pi->addr.len);
    e.addr_len = (uint8_t)pi->addr.len;
    e.port = (uint16_t)pi->port;
    e.status = pi->status;
    e.session = r;
    r->member = idx;
    r->login_ms = cp->login_ms;
    if (online_table_add(&c->remote, &e, NULL) != 0) {
        free(r);
        cluster_bad(c, "add", "cannot add to the table");
        return;
    }
    c->members[idx].npeers++;
    add.peer = (Mim__PeerInfo *)pi;
    m.body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m.add = &add;
    broadcast(c->srv, &m);
}

/* The entry of name when member idx holds it, else NULL. */
static online_entry *held_by(cluster *c, uint8_t idx, const char *name)
{
    online_entry *e = online_table_find_name(&c->remote, name);
    return e != NULL && ((cluster_remote *)e->session)->member == idx ? e : NULL;
}

static void apply_status(cluster *c, uint8_t idx, Mim__StatusUpdate *st)
{
    online_entry *e = held_by(c, idx, st->name);
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;

    if (e == NULL || online_table_set_status(&c->remote, e, st->status, st->text) != 0)
        return;
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS;
    m.status = st;
    broadcast(c->srv, &m);
}

static void apply_events(cluster *c, uint8_t idx, const Mim__ClusterEvents *evs)
{
    for (size_t i = 0; i < evs->n_events; i++) {
        const Mim__ClusterEvent *ev = evs->events[i];
        online_entry *e;
        switch (ev->kind_case) {
        case MIM__CLUSTER_EVENT__KIND_ADD:
            apply_add(c, idx, ev->add);
            break;
        case MIM__CLUSTER_EVENT__KIND_DEL:
            if ((e = held_by(c, idx, ev->del)) != NULL)
                cluster_remote_remove(c, e, 1);
            break;
        case MIM__CLUSTER_EVENT__KIND_STATUS:
            apply_status(c, idx, ev->status);
            break;
        case MIM__CLUSTER_EVENT__KIND_MAIL: /* a hint only: the letter is read from the stream */
            mailbox_notice(c->srv, ev->mail->to, ev->mail->seq);
            break;
        default: /* the codec let none other through */
            break;
        }
    }
}

/* A chunk of member idx's table: the first marks its peers stale, each peer in it is fresh,
 * and after the last the stale ones -- gone while we were not listening -- are deleted. */
static void apply_table(cluster *c, uint8_t idx, const Mim__ClusterTable *t)
{
    online_entry *e, *next;

    if (t->first)
        for (e = online_table_first(&c->remote); e != NULL; e = online_table_next(e))
            if (((cluster_remote *)e->session)->member == idx)
                ((cluster_remote *)e->session)->stale = 1;
    for (size_t i = 0; i < t->n_peers; i++)
        apply_add(c, idx, t->peers[i]);
    if (!t->last)
        return;
    for (e = online_table_first(&c->remote); e != NULL; e = next) {
        cluster_remote *r = e->session;
        next = online_table_next(e);
        if (r->member == idx && r->stale)
            cluster_remote_remove(c, e, 1);
    }
}

/* The subject m must come on: its kind and its sender's id (a table: the receiver's id). *ours
 * is set for a table addressed to us; tables for other servers are only counted. 1 when the
 * subject fits the body. */
static int subject_fits(const cluster *c, const char *subject, const Mim__ClusterMsg *m, int *ours)
{
    char want[sizeof(CLUSTER_SUBJECT_PREFIX) + 8 + CLUSTER_SERVER_ID_MAX];
    const char *kind = m->body_case == MIM__CLUSTER_MSG__BODY_EVENTS      ? "events"
                       : m->body_case == MIM__CLUSTER_MSG__BODY_HEARTBEAT ? "hb"
                       : m->body_case == MIM__CLUSTER_MSG__BODY_HELLO     ? "hello"
                                                                          : "table";

    *ours = 0;
    if (m->body_case == MIM__CLUSTER_MSG__BODY_TABLE) {
        size_t n = strlen(CLUSTER_SUBJECT_PREFIX "table.");
        if (strncmp(subject, CLUSTER_SUBJECT_PREFIX "table.", n) != 0)
            return 0;
        *ours = strcmp(subject + n, c->server_id) == 0;
        return 1;
    }
    snprintf(want, sizeof(want), CLUSTER_SUBJECT_PREFIX "%s.%s", kind, m->server_id);
    return strcmp(subject, want) == 0;
}

static void dispatch(cluster *c, cluster_member *mb, const Mim__ClusterMsg *m, int ours)
{
    uint8_t idx = (uint8_t)(mb - c->members);

    switch (m->body_case) {
    case MIM__CLUSTER_MSG__BODY_EVENTS:
        apply_events(c, idx, m->events);
        break;
    case MIM__CLUSTER_MSG__BODY_TABLE:
        if (ours)
            apply_table(c, idx, m->table);
        break;
    case MIM__CLUSTER_MSG__BODY_HELLO:
        cluster_sync_send_table(c, m->server_id);
        break;
    default: /* a heartbeat: being heard was all it had to say */
        break;
    }
}

void cluster_sync_receive(cluster *c, natsMsg *msg)
{
    const char *subject = natsMsg_GetSubject(msg);
    Mim__ClusterMsg *m = NULL;
    cluster_member *mb;
    char err[160];
    int ours, fresh;

    if (mim_cluster_msg_decode((const uint8_t *)natsMsg_GetData(msg),
                               (size_t)natsMsg_GetDataLength(msg), &m, err, sizeof(err)) != 0) {
        cluster_bad(c, "does not decode", err);
        goto done;
    }
    if (!subject_fits(c, subject, m, &ours)) {
        cluster_bad(c, m->server_id, "its subject does not fit its body or sender");
        goto done;
    }
    if (strcmp(m->server_id, c->server_id) == 0) { /* no echo: not us, a second server */
        cluster_bad(c, m->server_id, "another server uses our server id (--server-id)");
        goto done;
    }
    if ((mb = cluster_member_heard(c, m->server_id, m->boot_id.data, uv_now(c->srv->loop),
                                   &fresh)) == NULL) {
        cluster_bad(c, m->server_id, "more servers than we keep track of");
        goto done;
    }
    /* A server we had not heard (or had timed out), or a gap in its sequence (NATS lost some
     * of its messages, or we did): ask for the tables again. */
    if (fresh || m->seq != mb->seq + 1)
        c->hello_wanted = 1;
    mb->seq = m->seq;
    dispatch(c, mb, m, ours);
done:
    mim_cluster_msg_free(m);
    natsMsg_Destroy(msg);
}

online_entry *cluster_walk_first(const presence_server *srv)
{
    online_entry *e = online_table_first(&srv->table);

    if (e == NULL && srv->cluster != NULL)
        e = online_table_first(&srv->cluster->remote);
    return e;
}

online_entry *cluster_walk_next(const presence_server *srv, const online_entry *e)
{
    online_entry *next = online_table_next(e);

    if (next == NULL && srv->cluster != NULL && online_table_find_name(&srv->table, e->name) == e)
        next = online_table_first(&srv->cluster->remote);
    return next;
}

void cluster_forget_remote(presence_server *srv, const char *name)
{
    online_entry *e;

    if (srv->cluster != NULL && (e = online_table_find_name(&srv->cluster->remote, name)) != NULL)
        cluster_remote_remove(srv->cluster, e, 0);
}
