/* mim-presence lifecycle: listeners, the sweep timer, the end-of-turn flush, signals, and an
 * orderly shutdown. */
#include "server.h"
#include "cluster.h"
#include "mailbox_js.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim, mallopt */
#endif

void presence_config_defaults(presence_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = PRESENCE_DEFAULT_PORT;
    cfg->discovery_port = PRESENCE_DEFAULT_PORT;
    cfg->max_peers = 10000;
    cfg->admit.max_unauth = 512;
    cfg->admit.max_unauth_per_ip = 64;
    cfg->admit.rate_per_ip = 50;
    cfg->admit.ipv4_prefix = 32;
    cfg->admit.ipv6_prefix = 128;
    cfg->admit.penalty_min_ms = 15000;
    cfg->admit.penalty_max_ms = 300000;
    cfg->admit.logins_per_min_ip = 600;
    cfg->admit.logins_per_min_key = 20;
    cfg->flap_hold_ms = 100;
    cfg->handshake_timeout_ms = 5000;
    cfg->ping_interval_ms = 30000;
    cfg->max_queued = 4u << 20;
    cfg->mailbox = 1;
    cfg->directory_public = 1;
    cfg->mailbox_blob_max = 8192;
    cfg->mailbox_max_count = 1000;
    cfg->mailbox_max_bytes = 8u << 20;
    cfg->mailbox_rate = 20;
    cfg->mailbox_burst = 200;
    cfg->mailbox_expiry_ms = 30ull * 24 * 3600 * 1000;
}

static void on_connection(uv_stream_t *listener, int status)
{
    presence_server *srv = listener->data;
    if (status < 0) {
        mim_log_warn("accept: %s", uv_strerror(status));
        return;
    }
    session_accept(srv, listener);
}

static void on_sweep(uv_timer_t *t)
{
    presence_server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    session *s = srv->sessions;

    while (s != NULL) {
        session *next = s->next; /* a close only frees in its callback, later: still safe */
        session_sweep(s, now);
        s = next;
    }
    admission_sweep(&srv->admit, now);
    mailbox_expire(srv, now);
    directory_flush(srv, now, 0);
}

static void on_trim(uv_timer_t *t)
{
    presence_server *srv = t->data;
#ifdef __GLIBC__
    uint64_t t0 = uv_hrtime();
    int released = malloc_trim(0);
    mim_log_debug("heap trimmed after %u logins and closes in %.2f ms%s", (unsigned)srv->trim_churn,
                  (double)(uv_hrtime() - t0) / 1e6, released ? "" : " (nothing to release)");
#endif
    srv->trim_churn = 0;
}

void presence_server_note_churn(presence_server *srv)
{
#ifndef __GLIBC__
    (void)srv; /* nothing to trim with: no timer to wake the loop for */
    return;
#endif
    if (srv->stopping)
        return;
    if (srv->trim_churn < UINT32_MAX)
        srv->trim_churn++;
    /* Restarted by every login of a storm: it fires once the storm is over. */
    if (srv->trim_churn >= PRESENCE_TRIM_CHURN)
        uv_timer_start(&srv->trim, on_trim, PRESENCE_TRIM_QUIET_MS, 0);
}

static void on_flush(uv_check_t *h)
{
    out_queue_flush_all(h->data);
}

static void on_signal(uv_signal_t *h, int signum)
{
    presence_server *srv = h->data;
    mim_log_info("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    presence_server_stop(srv);
}

/* Binds one listener. For "::" it asks for IPV6_V6ONLY so that "0.0.0.0" can share the port. */
static int listen_on(presence_server *srv, const char *addr_s, int port)
{
    struct sockaddr_storage ss;
    uv_tcp_t *l = &srv->listeners[srv->nlisteners];
    unsigned flags;
    int rc;

    if (mim_addr_parse(addr_s, (uint16_t)port, &ss) != 0) {
        mim_log_error("--bind %s: not a numeric IPv4 or IPv6 address", addr_s);
        return MIM_EINVAL;
    }
    if (port == 0) { /* mim_addr_parse would refuse an explicit :0 */
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = 0;
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
    }
    flags = ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
    uv_tcp_init(srv->loop, l);
    l->data = srv;
    srv->nlisteners++;
    if ((rc = uv_tcp_bind(l, (struct sockaddr *)&ss, flags)) != 0 ||
        (rc = uv_listen((uv_stream_t *)l, 511, on_connection)) != 0) {
        mim_log_error("cannot listen on %s port %d: %s", addr_s, port, uv_strerror(rc));
        return rc;
    }
    if (srv->port == 0) {
        struct sockaddr_storage got;
        int len = sizeof(got);
        uv_tcp_getsockname(l, (struct sockaddr *)&got, &len);
        srv->port = mim_addr_port((struct sockaddr *)&got);
    }
    mim_log_info("listening on %s port %d", addr_s, srv->port);
    return 0;
}

static int open_listeners(presence_server *srv)
{
    const presence_config *cfg = &srv->cfg;
    int rc;

    srv->port = cfg->port;
    if (cfg->nbinds > 0) {
        for (int i = 0; i < cfg->nbinds; i++)
            if ((rc = listen_on(srv, cfg->binds[i], srv->port)) != 0)
                return rc;
        return 0;
    }
    /* Default: every IPv6 and IPv4 address, on the same port. A host without IPv6 still
     * serves IPv4. */
    rc = listen_on(srv, "::", srv->port);
    if (rc != 0) {
        /* The failed handle is closing in its slot; listen_on takes the next one. */
        mim_log_warn("no IPv6 listener; serving IPv4 only");
        srv->port = cfg->port;
    }
    return listen_on(srv, "0.0.0.0", srv->port);
}

/* The data dir resolved and locked, the key loaded (or made) and the registry opened, in
 * mim_datadir's order: nothing is written until everything could be opened. */
static int open_identity_and_store(presence_server *srv)
{
    static const mim_datadir_files files = {"presence.key", "presence.db", MIM_STORE_PRESENCE};
    int rc;

    if ((rc = mim_datadir_open(&srv->datadir, srv->cfg.data_dir, &files)) != 0)
        return rc; /* said */
    srv->cfg.data_dir = srv->datadir.path;
    srv->id = srv->datadir.id;
    srv->store = srv->datadir.st;
    srv->datadir.id = NULL;
    srv->datadir.st = NULL;
    mim_fingerprint(srv->id->sign_pk, srv->fingerprint);
    mim_log_info("%s server key %s/presence.key, fingerprint %s",
                 srv->datadir.key_created ? "created" : "loaded", srv->datadir.path,
                 srv->fingerprint);
    return 0;
}

int presence_server_start(presence_server *srv, uv_loop_t *loop, const presence_config *cfg)
{
    uint64_t tick;
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->datadir.lock_fd = -1; /* not locked yet: presence_server_free must not close fd 0 */
    srv->loop = loop;
    srv->cfg = *cfg;
    out_arena_init(&srv->out);
#ifdef __GLIBC__
    /* A fixed mmap threshold (glibc's default rises to the size of the last mapped block freed):
     * the output arena's 256 KiB blocks are then always mapped and unmapped, never carved from
     * the heap, where a freed one would stay resident. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    /* Handles first: whatever fails below, presence_server_stop() can then close them all. */
    uv_timer_init(loop, &srv->sweep);
    uv_timer_init(loop, &srv->trim);
    uv_timer_init(loop, &srv->held_timer);
    uv_timer_init(loop, &srv->mail_pump);
    uv_check_init(loop, &srv->flush_check);
    uv_idle_init(loop, &srv->flush_wake);
    uv_signal_init(loop, &srv->sig_int);
    uv_signal_init(loop, &srv->sig_term);
    srv->sweep.data = srv->trim.data = srv->held_timer.data = srv->flush_check.data = srv;
    srv->mail_pump.data = srv;
    srv->flush_wake.data = srv->sig_int.data = srv->sig_term.data = srv;

    if ((rc = online_table_init(&srv->table)) != 0 ||
        (rc = admission_init(&srv->admit, &cfg->admit)) != 0 || (rc = open_listeners(srv)) != 0 ||
        (rc = open_identity_and_store(srv)) != 0 || (rc = broadcasters_start(srv)) != 0)
        return rc; /* listeners first: an address or port it cannot have creates no key or db */
    if (cfg->cluster_urls != NULL &&
        (rc = cluster_start(srv, cfg->cluster_urls, cfg->server_id)) != 0)
        return rc;
    if (cfg->cluster_urls != NULL && cfg->mailbox && /* issue 18: the shared mailbox */
        (rc = mailbox_js_open(&srv->mailjs, cfg->cluster_urls, cfg->mailbox_expiry_ms,
                              cfg->mailbox_blob_max, cfg->mailbox_max_count)) != 0)
        return rc;
    if (cfg->discovery_port >= 0 && discovery_start(srv) != 0)
        mim_log_warn("LAN discovery is off: peers must be given the server's address");

    /* The Login deadline and keepalive are checked a few times per handshake timeout and per
     * ping interval, and at least once a second. */
    tick = cfg->handshake_timeout_ms / 4;
    if (tick > cfg->ping_interval_ms / 4)
        tick = cfg->ping_interval_ms / 4;
    if (tick > 1000)
        tick = 1000;
    if (tick < 10)
        tick = 10;
    uv_timer_start(&srv->sweep, on_sweep, tick, tick);
    uv_check_start(&srv->flush_check, on_flush);
    uv_signal_start(&srv->sig_int, on_signal, SIGINT);
    uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
    return 0;
}

void presence_server_stop(presence_server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    for (int i = 0; i < srv->nlisteners; i++)
        if (!uv_is_closing((uv_handle_t *)&srv->listeners[i]))
            uv_close((uv_handle_t *)&srv->listeners[i], NULL);
    discovery_stop(srv);
    cluster_stop(srv);
    uv_signal_stop(&srv->sig_int);
    uv_signal_stop(&srv->sig_term);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);

    /* Tell everyone, then let their last frames drain; each channel cuts off a peer that will
     * not read, and the flush check keeps flushing. */
    for (session *s = srv->sessions; s != NULL; s = s->next) {
        if (s->ch == NULL)
            continue;
        if (s->state == SESSION_ONLINE)
            session_fail(s, MIM__ERROR_CODE__ERROR_SHUTTING_DOWN, "server shutting down");
        else
            mim_channel_abort(s->ch, "server shutting down"); /* no FINAL, no Error */
    }
    presence_server_poll_done(srv);
}

/* Once the last session is gone, close the timer and check handles so the loop can end. */
void presence_server_poll_done(presence_server *srv)
{
    if (!srv->stopping || srv->nsessions > 0)
        return;
    if (!uv_is_closing((uv_handle_t *)&srv->sweep)) {
        uv_close((uv_handle_t *)&srv->sweep, NULL);
        uv_close((uv_handle_t *)&srv->trim, NULL);
        uv_close((uv_handle_t *)&srv->held_timer, NULL);
        uv_close((uv_handle_t *)&srv->mail_pump, NULL);
        uv_close((uv_handle_t *)&srv->flush_check, NULL);
        uv_close((uv_handle_t *)&srv->flush_wake, NULL);
    }
}

void presence_server_free(presence_server *srv)
{
    if (out_arena_reset(&srv->out) != 0)
        mim_log_error("internal error: output batches left at exit");
    churn_free(srv);
    mailbox_free(srv);
    mailbox_js_close(srv->mailjs);
    srv->mailjs = NULL;
    cluster_free(srv);
    presence_broadcasters_free(&srv->bcast);
    if (srv->store != NULL)
        directory_flush(srv, 0, 1); /* the logouts of the shutdown */
    free(srv->seen);
    srv->seen = NULL;
    online_table_free(&srv->table);
    admission_free(&srv->admit);
    mim_store_close(srv->store);
    srv->store = NULL;
    mim_identity_free(srv->id);
    srv->id = NULL;
    mim_datadir_release(&srv->datadir);
}
