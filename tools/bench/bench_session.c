/* mim-bench-session: mim's own side of the session cases, in one process on 127.0.0.1.
 *
 *   mim-bench-session bulk  [--mib M]   MB/s of plaintext over one encrypted peer channel:
 *       two mim_channels (prologue "mim/peer/v1", the real Noise XX handshake) over loopback
 *       in one loop, the sender sealing 65518-byte plaintexts (one full frame each), the
 *       receiver decrypting them. Timed from the first send to the last byte decrypted.
 *   mim-bench-session small [--msgs M]  messages/s persisted and acknowledged: mim-presence
 *       (in process) and two peer cores (mim_core, the code behind `mim --json`) with their
 *       own stores; a sends M 100-byte messages to b with mim_core_send, in send batches of 256
 *       (mim_core_batch_begin/end, as the JSON API batches the sends of one read); timed until
 *       a has every on_delivered. Includes: a's QUEUED inserts and their commit (one per batch),
 *       the SENT marks, the session's encryption, b's inserts and group COMMIT per frame, b's
 *       Ack, a's DELIVERED marks and their commit.
 *   mim-bench-session rtt   [--msgs M]  send -> delivered round trip of one 100-byte message at a
 *       time, same setup as small; prints p50 and p99.
 *   mim-bench-session read  [--msgs M]  as small, with read receipts on at both cores and b
 *       reading as a front end with the conversation open does: mim_core_mark_read at every
 *       message (a read-mark write and a Receipt each); timed until a has every on_read. Small,
 *       in the same run, is its baseline: receipts off.
 *
 * Prints "result <name> <value>" lines. The session is opened (handshake, dial) by a warm-up
 * message before anything is timed. Bounded: the run fails after --timeout seconds. */
#include "bench_util.h"
#include "core.h"
#include "mim_channel.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_log.h"
#include "server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* small: messages per send batch. The JSON API makes one batch of the send commands of one
 * 64 KiB read: about 480 such commands with a 100-byte text; 256 stays below that. */
#define BENCH_SEND_BATCH 256

static uv_loop_t loop;
static uv_timer_t deadline;
static int failed;

static void fail(const char *why)
{
    if (!failed)
        fprintf(stderr, "mim-bench-session: %s\n", why);
    failed = 1;
    uv_stop(&loop);
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    fail("timed out");
}

/* ---- bulk: two channels in one loop ------------------------------------------------------- */

static struct {
    uv_tcp_t listener;
    mim_identity *a_id, *b_id;
    mim_channel *tx, *rx;
    uv_check_t pump; /* tops the sender's queue up after every poll */
    uv_idle_t kick;  /* keeps the loop from blocking before the first top-up */
    uint8_t *chunk;
    uint64_t total, sent, received;
    uint64_t t0;
    int sending, done, closed;
} bulk;

static int bulk_on_auth(mim_channel *ch, const uint8_t pk[MIM_KEY_LEN], const char *name,
                        const char **reason)
{
    (void)ch;
    (void)pk;
    (void)name;
    (void)reason;
    return 0;
}

static void bulk_pump(uv_check_t *h)
{
    (void)h;
    uv_idle_stop(&bulk.kick);
    while (bulk.sending && bulk.sent < bulk.total &&
           mim_channel_queued(bulk.tx) < BENCH_BULK_HIWAT) {
        if (mim_channel_send(bulk.tx, bulk.chunk, BENCH_CHUNK, 0) != 0) {
            fail("bulk send failed");
            return;
        }
        bulk.sent += BENCH_CHUNK;
    }
}

/* The idle callback only has to exist: an active idle handle makes the poll non-blocking. */
static void on_kick(uv_idle_t *h)
{
    (void)h;
}

static void bulk_on_open(mim_channel *ch)
{
    if (ch != bulk.tx)
        return;
    bulk.sending = 1;
    bulk.t0 = uv_hrtime();
    uv_check_start(&bulk.pump, bulk_pump);
    uv_idle_start(&bulk.kick, on_kick);
}

static void bulk_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    (void)p;
    (void) final;
    if (ch != bulk.rx)
        return;
    bulk.received += len;
    if (bulk.received >= bulk.total && !bulk.done) {
        double s = bench_seconds(bulk.t0);
        bulk.done = 1;
        printf("result bulk_mim_MBps %.1f\n", (double)bulk.total / 1e6 / s);
        fflush(stdout);
        uv_check_stop(&bulk.pump);
        mim_channel_abort(bulk.tx, "done");
        mim_channel_abort(bulk.rx, "done");
        uv_close((uv_handle_t *)&bulk.listener, NULL);
        uv_close((uv_handle_t *)&bulk.pump, NULL);
        uv_close((uv_handle_t *)&bulk.kick, NULL);
        uv_close((uv_handle_t *)&deadline, NULL);
    }
}

static void bulk_on_closed(mim_channel *ch, const char *reason)
{
    (void)ch;
    if (!bulk.done)
        fail(reason);
}

static const mim_channel_events bulk_events = {
    .on_authenticated = bulk_on_auth,
    .on_open = bulk_on_open,
    .on_plaintext = bulk_on_plaintext,
    .on_closed = bulk_on_closed,
};

static void bulk_cfg(mim_channel_config *cfg, const mim_identity *id, const char *name)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->loop = &loop;
    cfg->identity = id;
    cfg->prologue = MIM_NOISE_PROLOGUE_PEER;
    cfg->my_name = name;
    cfg->remote_name_mode = MIM_HS_NAME_VALID;
    cfg->max_queued = 2 * BENCH_BULK_HIWAT + (1u << 17);
    cfg->events = &bulk_events;
}

static void bulk_on_connection(uv_stream_t *l, int status)
{
    mim_channel_config cfg;
    if (status < 0 || bulk.rx != NULL)
        return;
    bulk_cfg(&cfg, bulk.b_id, "b");
    if (mim_channel_accept(&cfg, l, &bulk.rx) != 0)
        fail("accept failed");
}

static int run_bulk(uint64_t mib)
{
    struct sockaddr_storage ss;
    struct sockaddr_in addr;
    mim_channel_config cfg;
    int len = sizeof(ss);

    bulk.total = mib << 20;
    bulk.a_id = mim_identity_generate();
    bulk.b_id = mim_identity_generate();
    bulk.chunk = calloc(1, BENCH_CHUNK);
    if (bulk.a_id == NULL || bulk.b_id == NULL || bulk.chunk == NULL)
        return 1;
    uv_tcp_init(&loop, &bulk.listener);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&bulk.listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&bulk.listener, 8, bulk_on_connection) != 0)
        return 1;
    uv_tcp_getsockname(&bulk.listener, (struct sockaddr *)&ss, &len);
    uv_check_init(&loop, &bulk.pump);
    uv_idle_init(&loop, &bulk.kick);
    bulk_cfg(&cfg, bulk.a_id, "a");
    if (mim_channel_dial(&cfg, (const struct sockaddr *)&ss, &bulk.tx) != 0)
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    mim_identity_free(bulk.a_id);
    mim_identity_free(bulk.b_id);
    free(bulk.chunk);
    return failed || !bulk.done;
}

/* ---- small and rtt: a presence server and two peer cores in one loop ---------------------- */

static struct {
    presence_server srv;
    mim_core *a, *b;
    int a_sees_b, b_sees_a, stopped;
    int rtt;          /* 1: one message at a time */
    int read;         /* 1: receipts on, b reads each message, timed until every on_read */
    long reads;       /* on_read at a, in the timed phase */
    long msgs;        /* to time */
    long warmup_left; /* messages before timing starts */
    long sent, delivered;
    uint64_t t0, t_msg;
    double *lat; /* rtt: seconds per message */
    char text[BENCH_SMALL_LEN + 1];
} pc;

static void pc_stop(void);
/* The cores' user data: tells a's events from b's. */
static int tag_a, tag_b;

static void pc_send_one(void)
{
    pc.t_msg = uv_hrtime();
    if (mim_core_send(pc.a, "b", pc.text, NULL) != 0)
        fail("mim_core_send failed");
    pc.sent++;
}

static void pc_start_timed(void)
{
    pc.sent = pc.delivered = pc.reads = 0;
    pc.t0 = uv_hrtime();
    if (pc.rtt) {
        pc_send_one();
        return;
    }
    /* In send batches, as the JSON API does with the send commands of one read. */
    for (long i = 0; i < pc.msgs && !failed; i++) {
        if (i % BENCH_SEND_BATCH == 0)
            mim_core_batch_begin(pc.a);
        pc_send_one();
        if (i % BENCH_SEND_BATCH == BENCH_SEND_BATCH - 1 || i == pc.msgs - 1)
            mim_core_batch_end(pc.a);
    }
}

static void pc_on_online(void *ud, const mim_core_peer_info *p)
{
    if (ud == &tag_a && strcmp(p->name, "b") == 0)
        pc.a_sees_b = 1;
    if (ud == &tag_b && strcmp(p->name, "a") == 0)
        pc.b_sees_a = 1;
    if (pc.a_sees_b && pc.b_sees_a && pc.warmup_left > 0 && pc.sent == 0)
        pc_send_one(); /* the warm-up: dials and opens the session */
}

/* The warm-up goes on, or the timed phase starts. */
static void pc_warmup_step(void)
{
    if (--pc.warmup_left > 0)
        pc_send_one();
    else
        pc_start_timed();
}

/* read: b has the conversation open, so every message it gets is read at once. */
static void pc_on_message(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                          const char *text, const mim_core_msg_meta *meta)
{
    (void)id, (void)ts_ms, (void)text, (void)meta;
    if (pc.read && ud == &tag_b && !pc.stopped && mim_core_mark_read(pc.b, from) != 0)
        fail("mim_core_mark_read failed");
}

static void pc_on_read(void *ud, const char *to, const mim_msg_id *id)
{
    (void)to, (void)id;
    if (!pc.read || ud != &tag_a || pc.stopped)
        return;
    if (pc.warmup_left > 0) { /* in read mode the warm-up waits for each read */
        pc_warmup_step();
        return;
    }
    if (++pc.reads < pc.msgs)
        return;
    printf("result small_read_msgps %.1f\n", (double)pc.msgs / bench_seconds(pc.t0));
    fflush(stdout);
    pc_stop();
}

static void pc_on_delivered(void *ud, const char *to, const mim_msg_id *id)
{
    (void)to;
    (void)id;
    if (ud != &tag_a || pc.stopped)
        return;
    if (pc.read) { /* its reads drive the warm-up and end the timing */
        pc.delivered++;
        return;
    }
    if (pc.warmup_left > 0) {
        pc_warmup_step();
        return;
    }
    if (pc.rtt)
        pc.lat[pc.delivered] = bench_seconds(pc.t_msg);
    pc.delivered++;
    if (pc.delivered < pc.msgs) {
        if (pc.rtt)
            pc_send_one();
        return;
    }
    if (pc.rtt) {
        double p50 = bench_quantile(pc.lat, (size_t)pc.msgs, 0.5);
        double p99 = bench_quantile(pc.lat, (size_t)pc.msgs, 0.99);
        printf("result rtt_mim_p50_ms %.3f\nresult rtt_mim_p99_ms %.3f\n", p50 * 1e3, p99 * 1e3);
    } else {
        printf("result small_mim_msgps %.1f\n", (double)pc.msgs / bench_seconds(pc.t0));
    }
    fflush(stdout);
    pc_stop();
}

static void pc_on_error(void *ud, mim_core_error code, const char *message, int fatal)
{
    static const char *const words[] = {[MIM_CORE_ERROR_STORE] = "store",
                                        [MIM_CORE_ERROR_SERVER] = "server",
                                        [MIM_CORE_ERROR_NAME_TAKEN] = "name_taken"};
    (void)ud;
    fprintf(stderr, "mim-bench-session: core error %s: %s\n",
            (size_t)code < sizeof(words) / sizeof(words[0]) ? words[code] : "?", message);
    if (fatal)
        fail("fatal core error");
}

static int nstopped;
static void pc_on_stopped(void *ud, int exit_code)
{
    (void)ud;
    (void)exit_code;
    if (++nstopped == 2)
        presence_server_stop(&pc.srv);
}

static void pc_stop(void)
{
    if (pc.stopped)
        return;
    pc.stopped = 1;
    uv_close((uv_handle_t *)&deadline, NULL);
    mim_core_quit(pc.a, 0);
    mim_core_quit(pc.b, 0);
}

static const mim_core_events pc_events = {
    .on_online = pc_on_online,
    .on_delivered = pc_on_delivered,
    .on_message = pc_on_message,
    .on_read = pc_on_read,
    .on_error = pc_on_error,
    .on_stopped = pc_on_stopped,
};

static int run_cores(int rtt, int read, long msgs, const char *dir)
{
    presence_config cfg;
    mim_core_config cc;
    char server[64], path_srv[4096], path_a[4096], path_b[4096];

    pc.rtt = rtt;
    pc.read = read;
    pc.msgs = msgs;
    pc.warmup_left = 10;
    memset(pc.text, 'x', BENCH_SMALL_LEN);
    if (rtt && (pc.lat = calloc((size_t)msgs, sizeof(*pc.lat))) == NULL)
        return 1;
    snprintf(path_srv, sizeof(path_srv), "%s/presence", dir);
    snprintf(path_a, sizeof(path_a), "%s/a", dir);
    snprintf(path_b, sizeof(path_b), "%s/b", dir);
    (void)mkdir(dir, 0700);
    (void)mkdir(path_srv, 0700);
    presence_config_defaults(&cfg);
    cfg.binds[0] = "127.0.0.1";
    cfg.nbinds = 1;
    cfg.port = 0;
    cfg.discovery_port = -1;
    cfg.data_dir = path_srv;
    if (presence_server_start(&pc.srv, &loop, &cfg) != 0)
        return 1;
    snprintf(server, sizeof(server), "127.0.0.1:%d", pc.srv.port);
    memset(&cc, 0, sizeof(cc));
    cc.loop = &loop;
    cc.server = server;
    cc.receipts = read; /* off (0), as kept, for small and rtt */
    cc.name = "a";
    cc.data_dir = path_a;
    if (mim_core_start(&pc.a, &cc, &pc_events, &tag_a) != 0)
        return 1;
    cc.name = "b";
    cc.data_dir = path_b;
    if (mim_core_start(&pc.b, &cc, &pc_events, &tag_b) != 0)
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    presence_server_free(&pc.srv);
    free(pc.lat);
    return failed || !pc.stopped;
}

int main(int argc, char **argv)
{
    bench_args args;
    const char *mode, *dir;
    long mib, msgs, timeout_s;
    int rc;

    if (bench_parse_args(argc, argv, "dir", &args) != 0 ||
        (strcmp(args.mode, "bulk") != 0 && args.path == NULL)) {
        fprintf(stderr, "usage: mim-bench-session bulk [--mib M] | small|rtt|read --dir DIR "
                        "[--msgs M]  [--timeout S]\n");
        return 2;
    }
    mode = args.mode;
    dir = args.path;
    mib = args.mib;
    msgs = args.msgs;
    timeout_s = args.timeout_s;
    if (mim_crypto_init() != 0)
        return 1;
    mim_log_set_level(MIM_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)timeout_s * 1000, 0);
    if (strcmp(mode, "bulk") == 0)
        rc = run_bulk((uint64_t)mib);
    else if (strcmp(mode, "small") == 0)
        rc = run_cores(0, 0, msgs, dir);
    else if (strcmp(mode, "rtt") == 0)
        rc = run_cores(1, 0, msgs, dir);
    else if (strcmp(mode, "read") == 0)
        rc = run_cores(0, 1, msgs, dir);
    else
        return 2;
    if (failed)
        return 1; /* handles may be left open: the process ends here anyway */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "mim-bench-session: handles left open\n");
    return rc;
}
