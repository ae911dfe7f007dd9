/* Liveness (cluster.h): the other servers heard on the bus, by server id and boot id. A server
 * silent for CLUSTER_DEAD_MS (it sends a heartbeat every CLUSTER_HEARTBEAT_MS) is dead: its
 * peers are deleted here and every local peer is told. A server heard with a new boot id has
 * restarted: the old boot's peers go at once, so a restart leaves no ghosts. A server first
 * heard (or heard again after it timed out) is asked for its table. */
#include "cluster_priv.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

static void broadcast_del(presence_server *srv, const char *name)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerDelete del = MIM__PEER_DELETE__INIT;

    del.name = (char *)name; /* protobuf-c's fields are not const; packing only reads them */
    m.body_case = MIM__PRESENCE_MSG__BODY_DEL;
    m.del = &del;
    out_queue_broadcast(srv, &m, NULL);
}

void cluster_remote_remove(cluster *c, online_entry *e, int tell)
{
    cluster_remote *r = e->session;

    if (r->member < CLUSTER_MAX_MEMBERS && c->members[r->member].npeers > 0)
        c->members[r->member].npeers--;
    if (tell)
        broadcast_del(c->srv, e->name); /* before the removal frees the name */
    online_table_remove(&c->remote, e);
    free(r);
}

void cluster_member_drop_peers(cluster *c, cluster_member *m)
{
    uint8_t idx = (uint8_t)(m - c->members);
    online_entry *e = online_table_first(&c->remote), *next;
    size_t n = 0;

    for (; e != NULL; e = next) {
        next = online_table_next(e);
        if (((cluster_remote *)e->session)->member == idx) {
            cluster_remote_remove(c, e, 1);
            n++;
        }
    }
    if (n > 0)
        mim_log_info("cluster: %zu peers of server %s deleted", n, m->server_id);
}

cluster_member *cluster_member_heard(cluster *c, const char *server_id, const uint8_t *boot_id,
                                     uint64_t now, int *fresh)
{
    cluster_member *free_slot = NULL;

    *fresh = 0;
    for (int i = 0; i < CLUSTER_MAX_MEMBERS; i++) {
        cluster_member *m = &c->members[i];
        if (!m->used) {
            if (free_slot == NULL)
                free_slot = m;
            continue;
        }
        if (strcmp(m->server_id, server_id) != 0)
            continue;
        if (memcmp(m->boot_id, boot_id, CLUSTER_BOOT_ID_LEN) != 0) {
            mim_log_info("cluster: server %s restarted: its old peers go", server_id);
            cluster_member_drop_peers(c, m);
            memcpy(m->boot_id, boot_id, CLUSTER_BOOT_ID_LEN);
            m->seq = 0;
            *fresh = 1;
        }
        m->last_heard = now;
        return m;
    }
    if (free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    snprintf(free_slot->server_id, sizeof(free_slot->server_id), "%s", server_id);
    memcpy(free_slot->boot_id, boot_id, CLUSTER_BOOT_ID_LEN);
    free_slot->last_heard = now;
    *fresh = 1;
    mim_log_info("cluster: server %s joined", server_id);
    return free_slot;
}

void cluster_members_expire(cluster *c, uint64_t now)
{
    for (int i = 0; i < CLUSTER_MAX_MEMBERS; i++) {
        cluster_member *m = &c->members[i];
        if (!m->used || now - m->last_heard < CLUSTER_DEAD_MS)
            continue;
        mim_log_warn("cluster: server %s silent for %llu ms: taken for dead", m->server_id,
                     (unsigned long long)(now - m->last_heard));
        cluster_member_drop_peers(c, m);
        m->used = 0;
    }
}

void cluster_members_free(cluster *c)
{
    online_entry *e = online_table_first(&c->remote), *next;

    for (; e != NULL; e = next) {
        next = online_table_next(e);
        free(e->session);
    }
    online_table_free(&c->remote);
}
