/* The cluster's bus connection (cluster.h): options, the NATS connection on the server's libuv
 * loop (cnats' libuv adapter), its subscription drained at the end of each loop turn, the tick
 * that watches the connection (failover, resync) and sends heartbeats, and the shutdown. */
#include "cluster_priv.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_log.h"

#include <nats/adapters/libuv.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cluster_server_id_valid(const char *id)
{
    return mim_cluster_server_id_valid(id);
}

/* One "nats://HOST:PORT" of --cluster (len bytes, not terminated): 1 when well-formed. */
static int url_valid(const char *u, size_t len)
{
    static const char scheme[] = "nats://";
    const char *colon;
    size_t host;

    if (len <= sizeof(scheme) - 1 || len > 255 || strncmp(u, scheme, sizeof(scheme) - 1) != 0)
        return 0;
    u += sizeof(scheme) - 1;
    len -= sizeof(scheme) - 1;
    for (colon = u + len - 1; colon > u && *colon != ':'; colon--)
        ;
    if (*colon != ':')
        return 0;
    host = (size_t)(colon - u);
    if (host == 0 || len - host < 2 || len - host > 6 ||
        strspn(colon + 1, "0123456789") < len - host - 1)
        return 0;
    for (size_t i = 0; i < host; i++)
        if (u[i] <= ' ' || u[i] == '/' || u[i] == '@' || u[i] == ',' || (unsigned char)u[i] >= 127)
            return 0;
    return atoi(colon + 1) >= 1 && atoi(colon + 1) <= 65535;
}

int cluster_urls_valid(const char *urls)
{
    int n = 0;

    for (const char *p = urls;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (n == CLUSTER_URLS_MAX || !url_valid(p, len))
            return 0;
        if (comma == NULL)
            return 1;
        p = comma + 1;
    }
}

int cluster_on(const presence_server *s)
{
    return s->cluster != NULL;
}

int cluster_connected(const presence_server *s)
{
    return s->cluster != NULL && s->cluster->connected;
}

natsConnection *cluster_nats(const presence_server *s)
{
    return s->cluster != NULL ? s->cluster->nc : NULL;
}

jsCtx *cluster_js(const presence_server *s)
{
    return s->cluster != NULL ? s->cluster->js : NULL;
}

const char *cluster_server_id(const presence_server *s)
{
    return s->cluster != NULL ? s->cluster->server_id : NULL;
}

void cluster_bad(cluster *c, const char *what, const char *why)
{
    uint64_t now = uv_now(c->srv->loop);

    c->bad_dropped++;
    if (c->bad_logged != 0 && now - c->bad_logged < CLUSTER_BAD_LOG_MS)
        return;
    c->bad_logged = now;
    mim_log_warn("cluster: dropped a bad bus message (%s: %s); %llu dropped so far", what, why,
                 (unsigned long long)c->bad_dropped);
}

int cluster_publish(cluster *c, const char *subject, Mim__ClusterMsg *m)
{
    mim_buf out = {0};
    natsStatus st;

    m->server_id = c->server_id;
    m->boot_id.data = c->boot_id;
    m->boot_id.len = CLUSTER_BOOT_ID_LEN;
    m->seq = ++c->seq;
    if (mim_cluster_msg_pack(m, &out) != 0) {
        mim_log_error("cluster: out of memory encoding a bus message");
        return -1;
    }
    /* While disconnected, cnats keeps it in its reconnect buffer and sends it on reconnect. */
    st = natsConnection_Publish(c->nc, subject, out.data, (int)out.len);
    mim_buf_free(&out);
    if (st != NATS_OK) {
        mim_log_debug("cluster: publish on %s: %s", subject, natsStatus_GetText(st));
        return -1;
    }
    return 0;
}

/* ---- the loop's side: drain, tick ------------------------------------------------------------ */

/* The bus's messages and the registry's verdicts, applied together: each remote add and each
 * local login reaches every local peer through the output queue, whose writes (one per peer
 * per loop turn) are the cost of a login storm. */
static void apply_now(cluster *c)
{
    natsMsg *msg;

    c->last_apply = uv_now(c->srv->loop);
    for (int i = 0; i < CLUSTER_DRAIN_MAX; i++) {
        if (natsSubscription_NextMsg(&msg, c->sub_bus, 0) != NATS_OK)
            break;
        cluster_sync_receive(c, msg);
    }
    cluster_claims_apply(c);
}

static void on_apply_timer(uv_timer_t *t)
{
    cluster *c = t->data;

    apply_now(c);
    cluster_sync_check(c); /* no check may follow soon when no local peer has output */
}

/* At most one apply per CLUSTER_APPLY_MS: the first after a quiet spell at once, the rest of a
 * burst gathered by the timer, so that a storm's events reach each local peer in a few big
 * writes rather than one write per event (docs/SCALING.md, "The login storm"). */
static void on_check(uv_check_t *h)
{
    cluster *c = h->data;
    uint64_t now = uv_now(c->srv->loop), since = now - c->last_apply;
    int pending = 0;

    if (c->claims_done > 0 || natsSubscription_GetPending(c->sub_bus, &pending, NULL) != NATS_OK ||
        pending > 0) {
        if (since >= CLUSTER_APPLY_MS)
            apply_now(c);
        else if (!uv_is_active((uv_handle_t *)&c->apply_timer))
            uv_timer_start(&c->apply_timer, on_apply_timer, CLUSTER_APPLY_MS - since, 0);
    }
    cluster_sync_check(c);
}

static void heartbeat(cluster *c, uint64_t now)
{
    Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
    Mim__ClusterHeartbeat hb = MIM__CLUSTER_HEARTBEAT__INIT;
    char subject[sizeof(CLUSTER_SUBJECT_PREFIX) + 4 + CLUSTER_SERVER_ID_MAX];

    c->last_hb = now;
    hb.peers = (uint32_t)online_table_count(&c->srv->table);
    m.body_case = MIM__CLUSTER_MSG__BODY_HEARTBEAT;
    m.heartbeat = &hb;
    snprintf(subject, sizeof(subject), CLUSTER_SUBJECT_PREFIX "hb.%s", c->server_id);
    (void)cluster_publish(c, subject, &m);
}

/* The connection's state, read each tick (cnats reports it on its own threads; polling it here
 * keeps everything on the loop). A reconnect -- to the same NATS node or, after a failover, to
 * another -- may have lost bus messages both ways: we ask for everyone's table again, and the
 * others, who timed us out meanwhile, ask for ours when they hear us (cluster_members.c). */
static void watch_connection(cluster *c)
{
    int now_up = natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
    uint64_t reconnects = 0;
    natsStatistics *stats = NULL;
    static const uint64_t none = 0;

    if (natsStatistics_Create(&stats) == NATS_OK &&
        natsConnection_GetStats(c->nc, stats) == NATS_OK)
        natsStatistics_GetCounts(stats, NULL, NULL, NULL, NULL, &reconnects);
    natsStatistics_Destroy(stats);
    if (now_up && (!c->connected || reconnects != c->reconnects)) {
        char url[256] = "?";
        natsConnection_GetConnectedUrl(c->nc, url, sizeof(url));
        mim_log_info("cluster: bus connected (%s)%s", url,
                     c->reconnects != none || !c->connected ? "; resyncing tables" : "");
        c->hello_wanted = 1;
        if (!c->connected)
            cluster_names_open(c);
    } else if (!now_up && c->connected) {
        mim_log_warn("cluster: bus unreachable: own peers stay; new names are refused until it "
                     "is back");
    }
    c->connected = now_up;
    c->reconnects = reconnects;
}

static void on_tick(uv_timer_t *t)
{
    cluster *c = t->data;
    uint64_t now = uv_now(c->srv->loop);

    watch_connection(c);
    cluster_members_expire(c, now);
    if (!c->connected)
        return;
    if (c->hello_wanted && (c->last_hello == 0 || now - c->last_hello >= CLUSTER_HELLO_MIN_MS))
        cluster_sync_hello(c);
    if (now - c->last_hb >= CLUSTER_HEARTBEAT_MS)
        heartbeat(c, now);
}

/* ---- start and stop ---------------------------------------------------------------------------
 */

/* The host name, cut to the characters an id may have ("presence" when none is left). */
static void default_id(char *id, size_t cap)
{
    char host[256] = "";
    size_t n = 0;

    gethostname(host, sizeof(host) - 1);
    for (const char *p = host; *p != '\0' && n + 1 < cap; p++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", *p) &&
            *p != '\0')
            id[n++] = *p;
    id[n] = '\0';
    if (n == 0)
        snprintf(id, cap, "presence");
}

int cluster_split_urls(const char *urls, char **out)
{
    int n = 0;

    for (const char *p = urls; n < CLUSTER_URLS_MAX;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if ((out[n] = strndup(p, len)) == NULL)
            return MIM_ENOMEM;
        n++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return n;
}

/* The connection options: the adapter, endless reconnects (every URL in turn, in the order
 * given: the failover), quick detection of a dead node, and no echo of our own messages. */
static natsStatus make_options(cluster *c)
{
    natsStatus st = natsOptions_Create(&c->opts);

    if (st == NATS_OK)
        st = natsOptions_SetServers(c->opts, (const char **)c->urls, c->nurls);
    if (st == NATS_OK)
        st = natsOptions_SetEventLoop(c->opts, c->srv->loop, natsLibuv_Attach, natsLibuv_Read,
                                      natsLibuv_Write, natsLibuv_Detach);
    if (st == NATS_OK)
        st = natsOptions_SetMaxReconnect(c->opts, -1);
    if (st == NATS_OK)
        st = natsOptions_SetReconnectWait(c->opts, 200);
    if (st == NATS_OK)
        st = natsOptions_SetRetryOnFailedConnect(c->opts, true, NULL, NULL);
    if (st == NATS_OK)
        st = natsOptions_SetTimeout(c->opts, 1000);
    if (st == NATS_OK)
        st = natsOptions_SetPingInterval(c->opts, 1000);
    if (st == NATS_OK)
        st = natsOptions_SetMaxPingsOut(c->opts, 2);
    if (st == NATS_OK)
        st = natsOptions_SetNoEcho(c->opts, true);
    if (st == NATS_OK) /* the order given: the first is this server's node, the rest failover */
        st = natsOptions_SetNoRandomize(c->opts, true);
    if (st == NATS_OK)
        st = natsOptions_SetName(c->opts, c->server_id);
    return st;
}

static natsStatus connect_bus(cluster *c)
{
    natsStatus st;

    natsLibuv_Init();
    natsLibuv_SetThreadLocalLoop(c->srv->loop);
    if ((st = make_options(c)) != NATS_OK)
        return st;
    st = natsConnection_Connect(&c->nc, c->opts);
    if (st == NATS_NOT_YET_CONNECTED) {
        mim_log_warn("cluster: no NATS server answers yet; retrying in the background");
        st = NATS_OK;
    }
    if (st == NATS_OK)
        st = natsConnection_SubscribeSync(&c->sub_bus, c->nc, CLUSTER_SUBJECT_PREFIX ">");
    if (st == NATS_OK) /* far more than a burst of a few thousand logins */
        st = natsSubscription_SetPendingLimits(c->sub_bus, 1000000, 512 << 20);
    if (st == NATS_OK) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = CLUSTER_KV_TIMEOUT_MS; /* a registry call waits this long, on a worker */
        st = natsConnection_JetStream(&c->js, c->nc, &jo);
    }
    return st;
}

int cluster_start(presence_server *srv, const char *urls, const char *server_id)
{
    cluster *c = calloc(1, sizeof(*c));
    natsStatus st;
    int rc;

    if (c == NULL)
        return MIM_ENOMEM;
    srv->cluster = c;
    c->srv = srv;
    if (server_id != NULL)
        snprintf(c->server_id, sizeof(c->server_id), "%s", server_id);
    else
        default_id(c->server_id, sizeof(c->server_id));
    mim_random_bytes(c->boot_id, sizeof(c->boot_id));
    /* Each claim blocks a worker for a few NATS round trips (cluster_names.c): libuv's 4 let a
     * storm's logins queue for them. Read by libuv at the first uv_queue_work, which is ours. */
    (void)setenv("UV_THREADPOOL_SIZE", CLUSTER_WORKERS, 0);
    uv_mutex_init(&c->kv_lock);
    if ((rc = online_table_init(&c->remote)) != 0)
        return rc;
    uv_check_init(srv->loop, &c->check);
    uv_timer_init(srv->loop, &c->tick);
    uv_timer_init(srv->loop, &c->apply_timer);
    c->check.data = c->tick.data = c->apply_timer.data = c;
    c->handles_open = 1;
    if ((rc = cluster_split_urls(urls, c->urls)) < 0)
        return rc;
    c->nurls = rc;
    /* The names bucket is replicated on three NATS nodes when there are three to use. */
    c->kv_replicas = c->nurls >= 3 ? 3 : 1;
    if ((st = connect_bus(c)) != NATS_OK) {
        mim_log_error("cluster: cannot use NATS at %s: %s", urls, natsStatus_GetText(st));
        return MIM_EIO;
    }
    c->hello_wanted = 1;
    uv_check_start(&c->check, on_check);
    uv_timer_start(&c->tick, on_tick, 0, CLUSTER_TICK_MS);
    mim_log_info("cluster: server id %s, bus %s", c->server_id, urls);
    return 0;
}

void cluster_stop(presence_server *srv)
{
    cluster *c = srv->cluster;

    if (c == NULL || c->stopping)
        return;
    /* Our peers leave now, not when the others time us out: their deletes go out with the
     * close (which writes what is buffered). */
    if (c->nc != NULL && c->connected) {
        for (online_entry *e = online_table_first(&srv->table); e != NULL; e = online_table_next(e))
            cluster_note_del(srv, e->name);
        cluster_sync_check(c);
    }
    c->stopping = 1;
    if (c->handles_open) {
        uv_close((uv_handle_t *)&c->check, NULL);
        uv_close((uv_handle_t *)&c->tick, NULL);
        uv_close((uv_handle_t *)&c->apply_timer, NULL);
    }
    /* The close detaches the adapter, which closes its loop handles on this loop. */
    if (c->nc != NULL)
        natsConnection_Close(c->nc);
}

void cluster_free(presence_server *srv)
{
    cluster *c = srv->cluster;

    if (c == NULL)
        return;
    cluster_sync_free(c);
    cluster_names_free(c);
    natsSubscription_Destroy(c->sub_bus);
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
    natsOptions_Destroy(c->opts);
    for (int i = 0; i < c->nurls; i++)
        free(c->urls[i]);
    uv_mutex_destroy(&c->kv_lock);
    free(c);
    srv->cluster = NULL;
    /* cnats' own threads and global state: one cluster per process, gone with it. */
    nats_CloseAndWait(2000);
}
