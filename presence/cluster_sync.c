/* The table sync (cluster.h). Out: a local peer's add, delete and status change are gathered
 * through the loop turn and published at its end, in one ClusterEvents message (or a few, for
 * a login storm), on mim.cluster.v1.events.<id>. In: the other servers' events change the
 * remote table (the other servers' peers) and go to every local peer through the output queue,
 * with its coalescing per recipient per loop turn. A server that (re)joins publishes a Hello;
 * each other server answers with its table on mim.cluster.v1.table.<the newcomer's id>.
 *
 * One name, two servers (a login on each, or the same identity moving): the later login wins,
 * by its server's wall clock (ties: the greater server id); the loser's server tells its peer
 * REPLACED (the same key) or NAME_TAKEN (another key, after --free-name). A delete or status of
 * a name counts only from the server that holds it: a late delete cannot remove a newer login. */
#include "cluster_priv.h"
#include "mim_clock.h"
#include "mim_codec.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* One event of this turn with room for what it points to, in one allocation. */
typedef struct pending_event {
    Mim__ClusterEvent ev;
    Mim__ClusterPeer peer;
    Mim__PeerInfo info;
    Mim__StatusUpdate status;
    Mim__MailNotice mail;
    uint8_t pk[MIM_KEY_LEN];
    uint8_t addr[16];
    char name[MIM_NAME_MAX_BYTES + 1];
    char text[MIM_STATUS_TEXT_MAX + 1];
} pending_event;

static pending_event *new_event(cluster *c)
{
    pending_event *p;

    if (c->nevents == c->events_cap) {
        size_t cap = c->events_cap ? c->events_cap * 2 : 64;
        Mim__ClusterEvent **ev = realloc(c->events, cap * sizeof(*ev));
        if (ev == NULL)
            return NULL;
        c->events = ev;
        c->events_cap = cap;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    mim__cluster_event__init(&p->ev);
    c->events[c->nevents++] = &p->ev; /* ev is p's first member: freeing it frees p */
    return p;
}

/* The wall-clock time of a local peer's login (its connection's accept, close enough). */
static uint64_t local_login_ms(const presence_server *srv, const online_entry *e)
{
    const session *s = e->session;
    uint64_t ago = session_elapsed(uv_now(srv->loop), s->started);
    return (uint64_t)mim_clock_wall_ms() - ago;
}

/* p's peer and info from e (copies: e may be gone before the turn ends). */
static void fill_peer(pending_event *p, const online_entry *e, uint64_t login_ms)
{
    snprintf(p->name, sizeof(p->name), "%s", e->name);
    snprintf(p->text, sizeof(p->text), "%s", e->status_text != NULL ? e->status_text : "");
    memcpy(p->pk, e->identity_pk, MIM_KEY_LEN);
    memcpy(p->addr, e->addr, sizeof(p->addr));
    mim_peer_info_init(&p->info, p->name, p->addr, e->addr_len, e->port, p->pk, e->status, p->text);
    mim__cluster_peer__init(&p->peer);
    p->peer.info = &p->info;
    p->peer.login_ms = login_ms;
}

void cluster_note_add(presence_server *srv, const online_entry *e)
{
    cluster *c = srv->cluster;
    pending_event *p;

    if (c == NULL || c->stopping || (p = new_event(c)) == NULL)
        return;
    fill_peer(p, e, local_login_ms(srv, e));
    p->ev.kind_case = MIM__CLUSTER_EVENT__KIND_ADD;
    p->ev.add = &p->peer;
}

void cluster_note_del(presence_server *srv, const char *name)
{
    cluster *c = srv->cluster;
    pending_event *p;

    if (c == NULL || c->stopping || (p = new_event(c)) == NULL)
        return;
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->ev.kind_case = MIM__CLUSTER_EVENT__KIND_DEL;
    p->ev.del = p->name;
}

void cluster_note_status(presence_server *srv, const online_entry *e)
{
    cluster *c = srv->cluster;
    pending_event *p;

    if (c == NULL || c->stopping || (p = new_event(c)) == NULL)
        return;
    snprintf(p->name, sizeof(p->name), "%s", e->name);
    snprintf(p->text, sizeof(p->text), "%s", e->status_text != NULL ? e->status_text : "");
    mim__status_update__init(&p->status);
    p->status.name = p->name;
    p->status.status = (Mim__Status)e->status;
    p->status.text = p->text;
    p->ev.kind_case = MIM__CLUSTER_EVENT__KIND_STATUS;
    p->ev.status = &p->status;
}

void cluster_note_mail(presence_server *srv, const char *name, uint64_t seq)
{
    cluster *c = srv->cluster;
    pending_event *p;

    if (c == NULL || c->stopping || (p = new_event(c)) == NULL)
        return;
    snprintf(p->name, sizeof(p->name), "%s", name);
    mim__mail_notice__init(&p->mail);
    p->mail.to = p->name;
    p->mail.seq = seq;
    p->ev.kind_case = MIM__CLUSTER_EVENT__KIND_MAIL;
    p->ev.mail = &p->mail;
}

static void free_events(cluster *c)
{
    for (size_t i = 0; i < c->nevents; i++)
        free(c->events[i]);
    c->nevents = 0;
}

void cluster_sync_check(cluster *c)
{
    char subject[sizeof(CLUSTER_SUBJECT_PREFIX) + 8 + CLUSTER_SERVER_ID_MAX];

    if (c->nevents == 0)
        return;
    snprintf(subject, sizeof(subject), CLUSTER_SUBJECT_PREFIX "events.%s", c->server_id);
    for (size_t at = 0; at < c->nevents; at += MIM_CLUSTER_EVENTS_MAX) {
        Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
        Mim__ClusterEvents evs = MIM__CLUSTER_EVENTS__INIT;
        evs.events = c->events + at;
        evs.n_events =
            c->nevents - at < MIM_CLUSTER_EVENTS_MAX ? c->nevents - at : MIM_CLUSTER_EVENTS_MAX;
        m.body_case = MIM__CLUSTER_MSG__BODY_EVENTS;
        m.events = &evs;
        (void)cluster_publish(c, subject, &m);
    }
    free_events(c);
}

void cluster_sync_hello(cluster *c)
{
    Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
    Mim__ClusterHello hello = MIM__CLUSTER_HELLO__INIT;
    char subject[sizeof(CLUSTER_SUBJECT_PREFIX) + 8 + CLUSTER_SERVER_ID_MAX];

    c->hello_wanted = 0;
    c->last_hello = uv_now(c->srv->loop);
    m.body_case = MIM__CLUSTER_MSG__BODY_HELLO;
    m.hello = &hello;
    snprintf(subject, sizeof(subject), CLUSTER_SUBJECT_PREFIX "hello.%s", c->server_id);
    (void)cluster_publish(c, subject, &m);
}

/* Our own table for server `to`, in chunks of at most MIM_CLUSTER_EVENTS_MAX peers. */
void cluster_sync_send_table(cluster *c, const char *to)
{
    char subject[sizeof(CLUSTER_SUBJECT_PREFIX) + 8 + CLUSTER_SERVER_ID_MAX];
    online_entry *e = online_table_first(&c->srv->table);
    int first = 1;

    snprintf(subject, sizeof(subject), CLUSTER_SUBJECT_PREFIX "table.%s", to);
    do {
        Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
        Mim__ClusterTable t = MIM__CLUSTER_TABLE__INIT;
        pending_event *chunk = calloc(MIM_CLUSTER_EVENTS_MAX, sizeof(*chunk));
        Mim__ClusterPeer *peers[MIM_CLUSTER_EVENTS_MAX];

        if (chunk == NULL)
            return;
        for (; e != NULL && t.n_peers < MIM_CLUSTER_EVENTS_MAX; e = online_table_next(e)) {
            fill_peer(&chunk[t.n_peers], e, local_login_ms(c->srv, e));
            peers[t.n_peers] = &chunk[t.n_peers].peer;
            t.n_peers++;
        }
        t.peers = peers;
        t.first = first;
        t.last = e == NULL;
        m.body_case = MIM__CLUSTER_MSG__BODY_TABLE;
        m.table = &t;
        (void)cluster_publish(c, subject, &m);
        free(chunk);
        first = 0;
    } while (e != NULL);
}

void cluster_sync_free(cluster *c)
{
    free_events(c);
    free(c->events);
    c->events = NULL;
    c->events_cap = 0;
    cluster_members_free(c);
}
