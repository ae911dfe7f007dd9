/* What the cluster's files share (cluster.h says which file does what). Loop thread only,
 * except where a field says otherwise. */
#ifndef MIM_PRESENCE_CLUSTER_PRIV_H
#define MIM_PRESENCE_CLUSTER_PRIV_H

#include "cluster.h"
#include "server.h"
#include "cluster.pb-c.h"

#include <uv.h>

#define CLUSTER_SUBJECT_PREFIX "mim.cluster.v1."
#define CLUSTER_BOOT_ID_LEN    16
#define CLUSTER_TICK_MS        250  /* connection state, heartbeats, liveness */
#define CLUSTER_HEARTBEAT_MS   1000 /* a heartbeat this often */
#define CLUSTER_DEAD_MS        3500 /* a server silent this long is dead: its peers are deleted */
#define CLUSTER_MAX_MEMBERS    64   /* other servers remembered at once */
#define CLUSTER_MAX_REMOTE     1000000 /* peers of other servers in the table, at most */
#define CLUSTER_HELLO_MIN_MS   1000    /* Hellos (table requests) at most this often */
#define CLUSTER_DRAIN_MAX      4096    /* bus messages handled per loop turn, at most */
#define CLUSTER_KV_BUCKET      "mim_names"
#define CLUSTER_KV_TIMEOUT_MS  2000 /* a registry call's wait for NATS */
#define CLUSTER_BAD_LOG_MS     1000 /* bad bus messages: one log line per second at most */
#define CLUSTER_APPLY_MS       20   /* bus messages and verdicts applied at most this often */
#define CLUSTER_WORKERS        "16" /* libuv's pool (UV_THREADPOOL_SIZE): claims in flight */

/* Another server heard on the bus. Its peers are in the remote table (cluster.remote), each
 * entry's `session` a cluster_remote naming this member by index. */
typedef struct cluster_member {
    char server_id[CLUSTER_SERVER_ID_MAX + 1];
    uint8_t boot_id[CLUSTER_BOOT_ID_LEN];
    uint64_t last_heard; /* uv_now() */
    uint64_t seq;        /* the last seq heard from this boot */
    uint32_t npeers;     /* its entries in our table */
    uint8_t used;
} cluster_member;

typedef struct cluster {
    presence_server *srv;
    char server_id[CLUSTER_SERVER_ID_MAX + 1];
    uint8_t boot_id[CLUSTER_BOOT_ID_LEN];
    uint64_t seq; /* of the last message published */
    char *urls[CLUSTER_URLS_MAX];
    int nurls;
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub_bus;   /* mim.cluster.v1.> : everything the servers publish */
    natsSubscription *sub_inbox; /* our inbox: tables answering our Hello */
    char inbox[128];
    uv_check_t check; /* drains the subscriptions and publishes the turn's events */
    uv_timer_t tick;
    uv_timer_t apply_timer; /* the next apply, in a burst (cluster.c: on_check) */
    uint64_t last_apply;    /* uv_now() of the last */
    int handles_open;
    int connected;       /* as of the last tick */
    uint64_t reconnects; /* cnats' count, as of the last tick: a change means a reconnect */
    online_table remote; /* the other servers' peers; each entry's session is a cluster_remote */
    uint64_t last_hb;    /* uv_now() of our last heartbeat */
    uint64_t last_hello; /* uv_now() of our last Hello */
    int hello_wanted;    /* a Hello goes out at the next chance */
    uint64_t bad_logged, bad_dropped;
    cluster_member members[CLUSTER_MAX_MEMBERS];
    /* this turn's events, published by the check (cluster_sync.c) */
    Mim__ClusterEvent **events;
    size_t nevents, events_cap;
    /* the name registry (cluster_names.c): its bucket, opened on a worker thread */
    uv_mutex_t kv_lock; /* guards kv (workers open it) */
    kvStore *kv;
    int kv_replicas;
    size_t claims_running;        /* worker jobs in flight: the loop stays until they end */
    struct cluster_claim *claims; /* those jobs, each for a SESSION_CLAIMING session */
    size_t claims_done;           /* of those, answered and waiting for the next apply */
    uint64_t claims_total, claims_ms_total, claims_ms_max; /* answered, and their wait */
    int stopping;
} cluster;

static inline cluster *cluster_of(const presence_server *s)
{
    return s->cluster;
}

/* cluster.c */
/* urls (valid: cluster_urls_valid) split into out[CLUSTER_URLS_MAX] (each malloc'd): how many,
 * or MIM_ENOMEM (what was split is in out; the caller frees it). */
int cluster_split_urls(const char *urls, char **out);
/* Publishes m (its server_id, boot_id and seq are filled in here) on subject. 0 or -1. */
int cluster_publish(cluster *c, const char *subject, Mim__ClusterMsg *m);
/* A bad bus message: counted, logged at most once per CLUSTER_BAD_LOG_MS. */
void cluster_bad(cluster *c, const char *what, const char *why);

/* cluster_sync.c */
void cluster_sync_check(cluster *c);                 /* the check: publish this turn's events */
void cluster_sync_receive(cluster *c, natsMsg *msg); /* one bus message (taken) */
void cluster_sync_hello(cluster *c);                 /* ask everyone for their tables */
void cluster_sync_send_table(cluster *c, const char *to); /* our table, for server `to` */
void cluster_sync_free(cluster *c);

/* What the table keeps for a peer of another server (the `session` of its entry). */
typedef struct cluster_remote {
    uint64_t login_ms; /* its server's wall clock at the login */
    uint8_t member;    /* index in cluster.members */
    uint8_t stale;     /* not (yet) in the table its server is sending us */
} cluster_remote;

/* cluster_members.c */
/* The member for a message's sender, created or renewed (a new boot id drops the old boot's
 * peers first); NULL when the table of members is full. */
cluster_member *cluster_member_heard(cluster *c, const char *server_id, const uint8_t *boot_id,
                                     uint64_t now, int *fresh);
/* Removes every entry of m from the table, telling the local peers (PeerDelete). */
void cluster_member_drop_peers(cluster *c, cluster_member *m);
/* Removes a remote entry (and its cluster_remote); tell: local peers get a PeerDelete. */
void cluster_remote_remove(cluster *c, online_entry *e, int tell);
void cluster_members_free(cluster *c); /* the remote table */
/* The tick: members silent for CLUSTER_DEAD_MS are dropped with their peers. */
void cluster_members_expire(cluster *c, uint64_t now);

/* cluster_names.c */
void cluster_names_free(cluster *c);
/* Finishes the logins whose verdicts came back since the last apply (cluster.c). */
void cluster_claims_apply(cluster *c);
/* Opens (or makes) the names bucket on a worker, ahead of the first login. */
void cluster_names_open(cluster *c);
/* The names bucket, opened or made on first use; NULL when NATS is not connected or refuses.
 * Any thread (it blocks: never on the loop). */
kvStore *cluster_kv(cluster *c);
/* A name's two keys in the bucket: "n.<hex of the name>" and "s.<hex of SHA-256 of its
 * skeleton>" (caps: 2 + 2 * MIM_NAME_MAX_BYTES + 1 and 2 + 2 * MIM_HASH_LEN + 1). */
void cluster_name_keys(const char *name, char *name_key, char *skel_key);

#endif
