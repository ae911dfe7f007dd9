/* mim-bench-load: many simulated peers in one libuv process, against one server on 127.0.0.1.
 *
 *   mim-bench-load --proto mim|naive|irc|mqtt --case storm|status|idle --n N --port P
 *                  [--window W] [--reps R] [--driven] [--server-pid PID] [--key-dir DIR]
 *                  [--timeout S]
 *
 * storm   peers log in one after another (at most W in their login at once) and every login
 *         reaches all others; prints the seconds from the first connect until every peer knows
 *         all n-1 others.
 * status  all n log in first (not timed), then R status changes are announced one after
 *         another (100 ms apart), each by a different peer (change k by peer (k-1)*n/R, so R <= n:
 *         mim-presence rate-limits each peer's changes, 1/s with a burst of 5, and would delay or
 *         merge a sixth quick one from the same peer); prints, per change, the seconds until the
 *         last of the n peers (the sender included: the server confirms it) has it.
 *         --driven: prints "ready" once all are logged in, then sends each change only when it
 *         gets a SIGUSR1 (100 ms after it), and ends at the SIGUSR1 after the last one
 *         (tools/bench/run interleaves the protocols' changes this way).
 * idle    prints the server's RSS growth per logged-in idle peer (VmRSS of --server-pid before
 *         the first connect and 1 s after the last login).
 * converge  (issue 18) all n log in first (not timed), then R more peers log in one after
 *         another (100 ms apart); prints, per newcomer, the seconds from its connect until every
 *         peer (n + those before it, on every server) knows it and it knows them all.
 * --ports P1,P2,...  (issue 18, instead of --port): several servers of one cluster; peer i
 *         dials P[i % count], so the peers are spread evenly over the servers.
 *
 * Output: one "result <case> <value>" line per measurement on stdout; errors on stderr, exit 1.
 * Bounded: the whole run stops itself after --timeout seconds (default 300) as a failure. */
#include "load.h"

#include "mim_parse.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum load_case { CASE_STORM, CASE_STATUS, CASE_IDLE, CASE_CONVERGE };
enum load_phase { PHASE_LOGIN, PHASE_SETTLE, PHASE_WAIT, PHASE_STATUS, PHASE_ADD, PHASE_DONE };

/* The engine's own state: one run per process. */
static struct {
    load_ctx ctx;
    enum load_case which;
    enum load_phase phase;
    int reps;
    int driven; /* status: each change waits for a SIGUSR1 (PHASE_WAIT) */
    int go;     /* a SIGUSR1 came before PHASE_WAIT: send as soon as it is reached */
    long server_pid;
    long rss_before_kb;
    uint64_t t0;         /* uv_hrtime() at the start of what is being timed */
    unsigned seq;        /* the status number in flight */
    uv_timer_t timer;    /* settle delays and gaps */
    uv_timer_t timeout;  /* the run's bound */
    uv_signal_t sigusr1; /* --driven only */
} eng;

static void finish(void);

const char *load_peer_name(const load_peer *p, char *buf, size_t len)
{
    snprintf(buf, len, "p%d", p->index);
    return buf;
}

void load_fail(load_ctx *ctx, const load_peer *p, const char *fmt, ...)
{
    va_list ap;

    if (ctx->failed)
        return;
    ctx->failed = 1;
    fprintf(stderr, "mim-bench-load: %s: ", ctx->proto->name);
    if (p != NULL)
        fprintf(stderr, "peer p%d: ", p->index);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    finish();
}

static double seconds_since(uint64_t t0)
{
    return (double)(uv_hrtime() - t0) / 1e9;
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Starts peers while the login window has room. */
static void start_more(load_ctx *ctx)
{
    while (!ctx->failed && ctx->next_start < ctx->n && ctx->in_login < ctx->window) {
        load_peer *p = &ctx->peers[ctx->next_start++];
        p->started = 1;
        ctx->in_login++;
        if (ctx->proto->start(p) != 0) {
            load_fail(ctx, p, "cannot start");
            return;
        }
    }
}

void load_logged_in(load_peer *p)
{
    load_ctx *ctx = p->ctx;

    if (p->logged_in)
        return;
    p->logged_in = 1;
    ctx->in_login--;
    ctx->nlogged++;
    start_more(ctx);
    ctx->on_progress(ctx);
}

void load_knows(load_peer *p, long delta)
{
    load_ctx *ctx = p->ctx;

    p->knows += delta;
    if (!p->complete && p->knows >= ctx->n - 1) {
        p->complete = 1;
        ctx->ncomplete++;
        ctx->on_progress(ctx);
    }
}

void load_status_seen(load_peer *p, unsigned seq)
{
    load_ctx *ctx = p->ctx;

    if (seq <= p->status_seen)
        return;
    p->status_seen = seq;
    if (seq == ctx->status_want) {
        ctx->nstatus++;
        ctx->on_progress(ctx);
    }
}

int load_peer_port(const load_peer *p)
{
    const load_ctx *ctx = p->ctx;
    return ctx->nports > 0 ? ctx->ports[p->index % ctx->nports] : ctx->port;
}

/* ---- the cases -------------------------------------------------------------------------- */

static int everyone_in(const load_ctx *ctx)
{
    /* MQTT has no membership to learn: logged in is all there is. */
    if (ctx->proto == &load_proto_mqtt)
        return ctx->nlogged == ctx->n;
    return ctx->nlogged == ctx->n && ctx->ncomplete == ctx->n;
}

static void send_next_status(uv_timer_t *t)
{
    load_ctx *ctx = &eng.ctx;
    load_peer *sender;
    (void)t;

    eng.seq++;
    /* A different peer per change (reps <= n), spread over the list: none of them is rate-limited
     * by mim-presence, so every change is broadcast at once. */
    sender = &ctx->peers[(long)(eng.seq - 1) * ctx->n / eng.reps];
    ctx->status_want = eng.seq;
    ctx->nstatus = 0;
    eng.phase = PHASE_STATUS;
    eng.t0 = uv_hrtime();
    if (ctx->proto->send_status(sender, eng.seq) != 0)
        load_fail(ctx, sender, "cannot send a status");
}

/* --driven: the driver's SIGUSR1 starts the next change, 100 ms later as without --driven (the
 * other protocols' changes between two of ours may take less: without the gap a server with
 * Nagle's algorithm on, as mosquitto by default, can wait for a delayed ACK of the previous
 * one); the SIGUSR1 after the last change ends the run, so that no client closes its
 * connections (work for its server) while another protocol is still being measured. */
static void go(void)
{
    if ((int)eng.seq >= eng.reps) {
        finish();
        return;
    }
    eng.phase = PHASE_SETTLE;
    uv_timer_start(&eng.timer, send_next_status, 100, 0);
}

/* --driven: waits for the next SIGUSR1 (or goes on at once if it came early). */
static void wait_for_go(void)
{
    eng.phase = PHASE_WAIT;
    if (eng.go) {
        eng.go = 0;
        go();
    }
}

static void on_sigusr1(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    if (eng.phase == PHASE_WAIT)
        go();
    else if (eng.phase != PHASE_DONE)
        eng.go = 1;
}

/* converge: the next newcomer logs in; every peer must learn of it again. */
static void next_add(uv_timer_t *t)
{
    load_ctx *ctx = &eng.ctx;
    (void)t;

    for (int i = 0; i < ctx->n; i++)
        ctx->peers[i].complete = 0;
    ctx->ncomplete = 0;
    ctx->n++;
    eng.seq++;
    eng.phase = PHASE_ADD;
    eng.t0 = uv_hrtime();
    start_more(ctx);
}

static void after_settle(uv_timer_t *t)
{
    load_ctx *ctx = &eng.ctx;
    long after;

    if (eng.which == CASE_STATUS && eng.driven) {
        printf("ready\n");
        fflush(stdout);
        wait_for_go();
        return;
    }
    if (eng.which == CASE_STATUS) {
        send_next_status(t);
        return;
    }
    if (eng.which == CASE_CONVERGE) {
        next_add(t);
        return;
    }
    /* CASE_IDLE */
    after = rss_kb(eng.server_pid);
    if (after < 0 || eng.rss_before_kb < 0) {
        load_fail(ctx, NULL, "cannot read VmRSS of pid %ld", eng.server_pid);
        return;
    }
    printf("result idle_bytes_per_peer %.1f\n",
           (double)(after - eng.rss_before_kb) * 1024.0 / (double)ctx->n);
    printf("info rss_before_kb %ld rss_after_kb %ld\n", eng.rss_before_kb, after);
    fflush(stdout);
    finish();
}

static void on_progress(load_ctx *ctx)
{
    if (ctx->failed || eng.phase == PHASE_DONE)
        return;
    switch (eng.phase) {
    case PHASE_LOGIN:
        if (!everyone_in(ctx))
            return;
        if (eng.which == CASE_STORM) {
            printf("result storm %.6f\n", seconds_since(eng.t0));
            fflush(stdout);
            finish();
            return;
        }
        /* Let the last adds and any keepalive settle before the next measurement. */
        eng.phase = PHASE_SETTLE;
        uv_timer_start(&eng.timer, after_settle, eng.which == CASE_IDLE ? 1000 : 300, 0);
        return;
    case PHASE_STATUS:
        if (ctx->nstatus < ctx->n)
            return;
        printf("result status %.6f\n", seconds_since(eng.t0));
        fflush(stdout);
        if (eng.driven) {
            wait_for_go();
            return;
        }
        if ((int)eng.seq >= eng.reps) {
            finish();
            return;
        }
        eng.phase = PHASE_SETTLE;
        uv_timer_start(&eng.timer, send_next_status, 100, 0);
        return;
    case PHASE_ADD:
        if (ctx->nlogged < ctx->n || ctx->ncomplete < ctx->n)
            return;
        printf("result converge %.6f\n", seconds_since(eng.t0));
        fflush(stdout);
        if ((int)eng.seq >= eng.reps) {
            finish();
            return;
        }
        eng.phase = PHASE_SETTLE;
        uv_timer_start(&eng.timer, next_add, 100, 0);
        return;
    default:
        return;
    }
}

static void on_timeout(uv_timer_t *t)
{
    load_ctx *ctx = &eng.ctx;
    (void)t;
    load_fail(ctx, NULL, "timed out: %d started, %d logged in, %d complete, %d/%d have status %u",
              ctx->next_start, ctx->nlogged, ctx->ncomplete, ctx->nstatus, ctx->n,
              ctx->status_want);
}

/* Ends the run: every connection and the engine's timers close, so uv_run returns. */
static void finish(void)
{
    if (eng.phase == PHASE_DONE)
        return;
    eng.phase = PHASE_DONE;
    uv_timer_stop(&eng.timer);
    uv_timer_stop(&eng.timeout);
    uv_close((uv_handle_t *)&eng.timer, NULL);
    uv_close((uv_handle_t *)&eng.timeout, NULL);
    if (eng.driven) {
        uv_signal_stop(&eng.sigusr1);
        uv_close((uv_handle_t *)&eng.sigusr1, NULL);
    }
    eng.ctx.proto->stop_all(&eng.ctx);
}

/* 5000 sockets need more than the usual soft limit of 1024 descriptors. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: mim-bench-load --proto mim|naive|irc|mqtt --case storm|status|idle "
                    "--n N --port P [--window W] [--reps R] [--driven] [--server-pid PID] "
                    "[--key-dir DIR] [--timeout S]\n"
                    "       (issue 18: --case converge; --ports P1,P2,... instead of --port)\n");
}

/* --ports P1,P2,...: into ctx->ports. 0 or -1. */
static int parse_ports(const char *arg)
{
    load_ctx *ctx = &eng.ctx;
    char buf[128], *save = NULL;
    long long v;

    if (strlen(arg) >= sizeof(buf))
        return -1;
    strcpy(buf, arg);
    ctx->nports = 0;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (ctx->nports == 8 || mim_parse_number(t, 1, 65535, &v) != 0)
            return -1;
        ctx->ports[ctx->nports++] = (int)v;
    }
    return ctx->nports > 0 ? 0 : -1;
}

/* The command line into eng (and *proto, *which, *timeout_s); 0, or -1 after the usage line. */
static int parse_args(int argc, char **argv, const char **proto, const char **which,
                      long long *timeout_s)
{
    static const struct option opts[] = {
        {"proto", required_argument, NULL, 'P'},      {"case", required_argument, NULL, 'c'},
        {"n", required_argument, NULL, 'n'},          {"port", required_argument, NULL, 'p'},
        {"window", required_argument, NULL, 'w'},     {"reps", required_argument, NULL, 'r'},
        {"server-pid", required_argument, NULL, 's'}, {"key-dir", required_argument, NULL, 'k'},
        {"timeout", required_argument, NULL, 't'},    {"driven", no_argument, NULL, 'd'},
        {"ports", required_argument, NULL, 'q'},      {NULL, 0, NULL, 0},
    };
    load_ctx *ctx = &eng.ctx;
    long long n = 0, port = 0, window = 64, reps = 5, pid = 0;
    int c, ok = 1;

    while (ok && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'P')
            *proto = optarg;
        else if (c == 'c')
            *which = optarg;
        else if (c == 'k')
            ctx->key_dir = optarg;
        else if (c == 'd')
            eng.driven = 1;
        else if (c == 'n')
            ok = mim_parse_number(optarg, 2, 100000, &n) == 0;
        else if (c == 'p')
            ok = mim_parse_number(optarg, 1, 65535, &port) == 0;
        else if (c == 'w')
            ok = mim_parse_number(optarg, 1, INT_MAX, &window) == 0;
        else if (c == 'r')
            ok = mim_parse_number(optarg, 1, 100, &reps) == 0;
        else if (c == 's')
            ok = mim_parse_number(optarg, LONG_MIN, LONG_MAX, &pid) == 0;
        else if (c == 't')
            ok = mim_parse_number(optarg, 1, 3600, timeout_s) == 0;
        else if (c == 'q')
            ok = parse_ports(optarg) == 0;
        else
            ok = 0;
    }
    if (!ok || *proto == NULL || *which == NULL || n == 0 || (port == 0 && ctx->nports == 0)) {
        usage();
        return -1;
    }
    ctx->n = (int)n;
    ctx->port = (int)port;
    ctx->window = (int)window;
    eng.reps = (int)reps;
    eng.server_pid = (long)pid;
    return 0;
}

/* The protocol and the case asked for, into ctx->proto and eng.which. 0, or -1 (said). */
static int choose(const char *proto, const char *which)
{
    load_ctx *ctx = &eng.ctx;

    if (strcmp(proto, "mim") == 0)
        ctx->proto = &load_proto_mim;
    else if (strcmp(proto, "naive") == 0)
        ctx->proto = &load_proto_naive;
    else if (strcmp(proto, "irc") == 0)
        ctx->proto = &load_proto_irc;
    else if (strcmp(proto, "mqtt") == 0)
        ctx->proto = &load_proto_mqtt;
    else {
        usage();
        return -1;
    }
    if (strcmp(which, "storm") == 0 && ctx->proto != &load_proto_mqtt)
        eng.which = CASE_STORM;
    else if (strcmp(which, "status") == 0 && eng.reps <= ctx->n)
        eng.which = CASE_STATUS;
    else if (strcmp(which, "idle") == 0 && eng.server_pid > 0)
        eng.which = CASE_IDLE;
    else if (strcmp(which, "converge") == 0 && ctx->proto == &load_proto_mim)
        eng.which = CASE_CONVERGE;
    else {
        fprintf(stderr,
                "mim-bench-load: case %s does not apply to %s (idle needs "
                "--server-pid, status --reps <= --n)\n",
                which, proto);
        return -1;
    }
    return 0;
}

/* Runs the case over a loop of its own until it ends or times out. The exit code. */
static int run(const char *proto, long long timeout_s)
{
    load_ctx *ctx = &eng.ctx;
    uv_loop_t loop;

    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    /* converge: the newcomers' places follow the n (ctx->n grows as each logs in). */
    int total = ctx->n + (eng.which == CASE_CONVERGE ? eng.reps : 0);
    if ((ctx->peers = calloc((size_t)total, sizeof(*ctx->peers))) == NULL)
        return 1;
    for (int i = 0; i < total; i++) {
        ctx->peers[i].ctx = ctx;
        ctx->peers[i].index = i;
    }
    uv_loop_init(&loop);
    ctx->loop = &loop;
    ctx->on_progress = on_progress;
    /* Identities and the like are made here, before anything is timed (for every peer). */
    {
        int n = ctx->n;
        ctx->n = total;
        if (ctx->proto->prepare != NULL && ctx->proto->prepare(ctx) != 0) {
            fprintf(stderr, "mim-bench-load: %s: preparation failed\n", proto);
            return 1;
        }
        ctx->n = n;
    }
    uv_timer_init(&loop, &eng.timer);
    uv_timer_init(&loop, &eng.timeout);
    uv_timer_start(&eng.timeout, on_timeout, (uint64_t)timeout_s * 1000, 0);
    eng.driven = eng.driven && eng.which == CASE_STATUS;
    if (eng.driven) {
        uv_signal_init(&loop, &eng.sigusr1);
        uv_signal_start(&eng.sigusr1, on_sigusr1, SIGUSR1);
    }
    if (eng.which == CASE_IDLE)
        eng.rss_before_kb = rss_kb(eng.server_pid);
    eng.phase = PHASE_LOGIN;
    eng.t0 = uv_hrtime();
    start_more(ctx);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "mim-bench-load: handles left open at exit\n");
    free(ctx->peers);
    return ctx->failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *proto = NULL, *which = NULL;
    long long timeout_s = 300;

    if (parse_args(argc, argv, &proto, &which, &timeout_s) != 0 || choose(proto, which) != 0)
        return 2;
    return run(proto, timeout_s);
}
