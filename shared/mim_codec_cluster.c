/* The cluster bus's messages (issue 18, proto/cluster.proto): packing, and decoding with the
 * same checks as a peer's frames. A bus message is network input: another server, or anyone
 * who can publish on the bus, may send anything. A PeerInfo or StatusUpdate inside is checked
 * by the presence codec's own rules (as in a server's PeerAdd and StatusUpdate). */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <string.h>

/* 1 for 1-64 bytes of [A-Za-z0-9_-]: the rule of --server-id (it is part of bus subjects). */
int mim_cluster_server_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > MIM_CLUSTER_SERVER_ID_MAX)
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A PeerInfo, by the rules of a server's PeerAdd. */
static int check_info(Mim__PeerInfo *pi, char *err, size_t errlen)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;

    if (pi == NULL)
        return mim_codec_fail(err, errlen, "cluster peer without its info");
    add.peer = pi;
    m.body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m.add = &add;
    return mim_presence_msg_validate(&m, MIM_FROM_SERVER, err, errlen);
}

static int check_peer(const Mim__ClusterPeer *p, char *err, size_t errlen)
{
    if (p == NULL)
        return mim_codec_fail(err, errlen, "empty cluster peer");
    return check_info(p->info, err, errlen);
}

static int check_event(const Mim__ClusterEvent *e, char *err, size_t errlen)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;

    switch (e->kind_case) {
    case MIM__CLUSTER_EVENT__KIND_ADD:
        return check_peer(e->add, err, errlen);
    case MIM__CLUSTER_EVENT__KIND_DEL:
        if (!mim_name_valid(e->del, strlen(e->del)))
            return mim_codec_fail(err, errlen, "cluster delete: invalid name");
        return 0;
    case MIM__CLUSTER_EVENT__KIND_STATUS:
        m.body_case = MIM__PRESENCE_MSG__BODY_STATUS;
        m.status = e->status;
        return mim_presence_msg_validate(&m, MIM_FROM_SERVER, err, errlen);
    case MIM__CLUSTER_EVENT__KIND_MAIL:
        if (e->mail == NULL || !mim_name_valid(e->mail->to, strlen(e->mail->to)))
            return mim_codec_fail(err, errlen, "cluster mail notice: invalid name");
        if (e->mail->seq == 0)
            return mim_codec_fail(err, errlen, "cluster mail notice: seq 0");
        return 0;
    default:
        return mim_codec_fail(err, errlen, "cluster event of no known kind (%d)",
                              (int)e->kind_case);
    }
}

static int check_body(const Mim__ClusterMsg *m, char *err, size_t errlen)
{
    int rc;

    switch (m->body_case) {
    case MIM__CLUSTER_MSG__BODY_EVENTS:
        if (m->events->n_events == 0 || m->events->n_events > MIM_CLUSTER_EVENTS_MAX)
            return mim_codec_fail(err, errlen, "%zu cluster events (1-%d)", m->events->n_events,
                                  MIM_CLUSTER_EVENTS_MAX);
        for (size_t i = 0; i < m->events->n_events; i++)
            if ((rc = check_event(m->events->events[i], err, errlen)) != 0)
                return rc;
        return 0;
    case MIM__CLUSTER_MSG__BODY_TABLE:
        if (m->table->n_peers > MIM_CLUSTER_EVENTS_MAX)
            return mim_codec_fail(err, errlen, "%zu peers in a table chunk (at most %d)",
                                  m->table->n_peers, MIM_CLUSTER_EVENTS_MAX);
        for (size_t i = 0; i < m->table->n_peers; i++)
            if ((rc = check_peer(m->table->peers[i], err, errlen)) != 0)
                return rc;
        return 0;
    case MIM__CLUSTER_MSG__BODY_HELLO:
    case MIM__CLUSTER_MSG__BODY_HEARTBEAT:
        return 0;
    default:
        return mim_codec_fail(err, errlen, "cluster message of no known body (%d)",
                              (int)m->body_case);
    }
}

int mim_cluster_msg_decode(const uint8_t *p, size_t len, Mim__ClusterMsg **out, char *err,
                           size_t errlen)
{
    Mim__ClusterMsg *m;
    int rc;

    *out = NULL;
    if (len > MIM_CLUSTER_MSG_MAX)
        return mim_codec_fail(err, errlen, "cluster message of %zu bytes (at most %d)", len,
                              MIM_CLUSTER_MSG_MAX);
    if ((m = mim__cluster_msg__unpack(NULL, len, p)) == NULL)
        return mim_codec_fail(err, errlen, "cluster message does not parse");
    if ((rc = mim_codec_canonical(&m->base, p, len, err, errlen)) != 0)
        ; /* one encoding per message, as on the peers' wire (docs/PROTOCOL.md 6.1) */
    else if (!mim_cluster_server_id_valid(m->server_id))
        rc = mim_codec_fail(err, errlen, "cluster message: invalid server id");
    else if (m->boot_id.len != MIM_CLUSTER_BOOT_ID_LEN)
        rc = mim_codec_fail(err, errlen, "cluster message: boot id of %zu bytes", m->boot_id.len);
    else
        rc = check_body(m, err, errlen);
    if (rc != 0) {
        mim__cluster_msg__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}

void mim_cluster_msg_free(Mim__ClusterMsg *m)
{
    if (m != NULL)
        mim__cluster_msg__free_unpacked(m, NULL);
}

int mim_cluster_msg_pack(const Mim__ClusterMsg *m, mim_buf *out)
{
    size_t n = mim__cluster_msg__get_packed_size(m);

    mim_buf_reset(out);
    if (mim_buf_reserve(out, n) != 0)
        return MIM_ENOMEM;
    out->len = mim__cluster_msg__pack(m, out->data);
    return 0;
}
