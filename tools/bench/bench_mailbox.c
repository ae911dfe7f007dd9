/* mim-bench-mailbox: the sealed mailbox's speed (issue 14), in one process on 127.0.0.1:
 * mim-presence (in process, its mailbox limits lifted) and two peer cores (mim_core, the code
 * behind `mim --json`) with their own stores.
 *
 *   mim-bench-mailbox run --dir DIR [--msgs M] [--timeout S]
 *       b logs in once (so its name and key are registered) and quits. a logs in and sends
 *       one warm-up message to b (the directory lookup, the first seal and deposit), then M-1
 *       more, in send batches of 256 as the JSON API batches one read's send commands:
 *       `mailbox_deposit_msgps` is M-1 over the time from the first of them to its last
 *       on_deposited (each: a's QUEUED insert and commit, the seal, the Deposit, the server's
 *       commit and DepositAck, a's DEPOSITED mark). a quits; b starts again with M letters
 *       waiting: `mailbox_fetch_s` is the time from b's mim_core_start to its M-th on_message
 *       (b's store opened, the handshake and login, the table, every MailItem opened, checked
 *       and committed), and `mailbox_fetch_msgps` is M over it.
 *
 * The target compares the fetch with receiving M messages directly: `mim-bench-session
 * small` in the same run of tools/bench/run is that baseline (its M / small_mim_msgps).
 *
 * Prints "result <name> <value>" lines. Bounded: the run fails after --timeout seconds. */
#include "bench_util.h"
#include "core.h"
#include "mim_codec.h"
#include "mim_log.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BENCH_SEND_BATCH 256 /* as bench_session.c: below one 64 KiB read of send commands */

static uv_loop_t loop;
static uv_timer_t deadline;
static int failed;

static void fail(const char *why)
{
    if (!failed)
        fprintf(stderr, "mim-bench-mailbox: %s\n", why);
    failed = 1;
    uv_stop(&loop);
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    fail("timed out");
}

/* The phases of a run, in order. */
enum phase {
    PH_REGISTER, /* b's first login */
    PH_WARMUP,   /* a: the first deposit */
    PH_DEPOSIT,  /* a: the timed deposits */
    PH_FETCH,    /* b: the timed login and fetch */
    PH_DONE,
};

static struct {
    presence_server srv;
    mim_core_config cc;
    char server[64], path_a[4096], path_b[4096];
    mim_core *a, *b;
    enum phase phase;
    long msgs, deposited, fetched;
    uint64_t t0;
    char text[BENCH_SMALL_LEN + 1];
} mb;

/* The cores' user data: tells a's events from b's. */
static int tag_a, tag_b;

static void start_core(mim_core **out, const char *name, const char *dir, void *ud);

static void send_one(void)
{
    if (mim_core_send(mb.a, "b", mb.text, NULL) != 0)
        fail("mim_core_send failed");
}

static void start_deposits(void)
{
    mb.phase = PH_DEPOSIT;
    mb.deposited = 0;
    mb.t0 = uv_hrtime();
    for (long i = 0; i < mb.msgs - 1 && !failed; i++) {
        if (i % BENCH_SEND_BATCH == 0)
            mim_core_batch_begin(mb.a);
        send_one();
        if (i % BENCH_SEND_BATCH == BENCH_SEND_BATCH - 1 || i == mb.msgs - 2)
            mim_core_batch_end(mb.a);
    }
}

static void on_presence(void *ud, mim_core_presence state, const char *server)
{
    (void)server;
    if (state != MIM_CORE_PRESENCE_CONNECTED)
        return;
    if (ud == &tag_b && mb.phase == PH_REGISTER)
        mim_core_quit(mb.b, 0); /* registered: a starts once it has stopped */
    else if (ud == &tag_a && mb.phase == PH_WARMUP)
        send_one();
}

static void on_deposited(void *ud, const char *to, const mim_msg_id *id)
{
    (void)to, (void)id;
    if (ud != &tag_a)
        return;
    if (mb.phase == PH_WARMUP) {
        start_deposits();
        return;
    }
    if (mb.phase != PH_DEPOSIT || ++mb.deposited < mb.msgs - 1)
        return;
    printf("result mailbox_deposit_msgps %.1f\n", (double)(mb.msgs - 1) / bench_seconds(mb.t0));
    fflush(stdout);
    mb.phase = PH_FETCH;
    mim_core_quit(mb.a, 0); /* b starts once a has stopped */
}

static void on_message(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                       const char *text, const mim_core_msg_meta *meta)
{
    double s;
    (void)from, (void)id, (void)ts_ms, (void)text, (void)meta;
    if (ud != &tag_b || mb.phase != PH_FETCH || ++mb.fetched < mb.msgs)
        return;
    s = bench_seconds(mb.t0);
    printf("result mailbox_fetch_s %.6f\nresult mailbox_fetch_msgps %.1f\n", s,
           (double)mb.msgs / s);
    fflush(stdout);
    mb.phase = PH_DONE;
    uv_close((uv_handle_t *)&deadline, NULL);
    mim_core_quit(mb.b, 0);
}

static void on_error(void *ud, mim_core_error code, const char *message, int fatal)
{
    (void)code;
    fprintf(stderr, "mim-bench-mailbox: core %s error: %s\n", ud == &tag_a ? "a" : "b", message);
    if (fatal)
        fail("fatal core error");
}

/* A core has stopped: the next phase starts, or the server stops at the end. */
static void on_stopped(void *ud, int exit_code)
{
    (void)exit_code;
    if (ud == &tag_b && mb.phase == PH_REGISTER) {
        mb.phase = PH_WARMUP;
        start_core(&mb.a, "a", mb.path_a, &tag_a);
    } else if (ud == &tag_a && mb.phase == PH_FETCH) {
        mb.fetched = 0;
        mb.t0 = uv_hrtime();
        start_core(&mb.b, "b", mb.path_b, &tag_b);
    } else if (ud == &tag_b && mb.phase == PH_DONE) {
        presence_server_stop(&mb.srv);
    }
}

static const mim_core_events events = {
    .on_presence = on_presence,
    .on_deposited = on_deposited,
    .on_message = on_message,
    .on_error = on_error,
    .on_stopped = on_stopped,
};

static void start_core(mim_core **out, const char *name, const char *dir, void *ud)
{
    mb.cc.name = name;
    mb.cc.data_dir = dir;
    if (mim_core_start(out, &mb.cc, &events, ud) != 0)
        fail("mim_core_start failed");
}

/* The server, its mailbox limits lifted above what one run deposits. */
static int start_server(const char *dir)
{
    presence_config cfg;
    char path[4096];

    snprintf(path, sizeof(path), "%s/presence", dir);
    (void)mkdir(path, 0700);
    presence_config_defaults(&cfg);
    cfg.binds[0] = "127.0.0.1";
    cfg.nbinds = 1;
    cfg.port = 0;
    cfg.discovery_port = -1;
    cfg.data_dir = path;
    cfg.mailbox_max_count = (uint32_t)mb.msgs + 16;
    cfg.mailbox_max_bytes = (uint64_t)(mb.msgs + 16) * MIM_MAIL_SEALED_MAX;
    cfg.mailbox_rate = 1000000; /* the option's largest: the rate is not what is measured */
    cfg.mailbox_burst = 1000000;
    if (presence_server_start(&mb.srv, &loop, &cfg) != 0)
        return -1;
    snprintf(mb.server, sizeof(mb.server), "127.0.0.1:%d", mb.srv.port);
    return 0;
}

static int run(long msgs, const char *dir)
{
    mb.msgs = msgs;
    memset(mb.text, 'x', BENCH_SMALL_LEN);
    (void)mkdir(dir, 0700);
    snprintf(mb.path_a, sizeof(mb.path_a), "%s/a", dir);
    snprintf(mb.path_b, sizeof(mb.path_b), "%s/b", dir);
    if (start_server(dir) != 0)
        return 1;
    memset(&mb.cc, 0, sizeof(mb.cc));
    mb.cc.loop = &loop;
    mb.cc.server = mb.server;
    mb.cc.receipts = 0; /* as bench_session's small: its baseline */
    mb.phase = PH_REGISTER;
    start_core(&mb.b, "b", mb.path_b, &tag_b);
    uv_run(&loop, UV_RUN_DEFAULT);
    presence_server_free(&mb.srv);
    return failed || mb.phase != PH_DONE;
}

int main(int argc, char **argv)
{
    bench_args args;
    int rc;

    if (bench_parse_args(argc, argv, "dir", &args) != 0 || strcmp(args.mode, "run") != 0 ||
        args.path == NULL || args.msgs < 2) {
        fprintf(stderr, "usage: mim-bench-mailbox run --dir DIR [--msgs M (>= 2)] "
                        "[--timeout S]\n");
        return 2;
    }
    if (mim_crypto_init() != 0)
        return 1;
    mim_log_set_level(MIM_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)args.timeout_s * 1000, 0);
    rc = run(args.msgs, args.path);
    if (failed)
        return 1; /* handles may be left open: the process ends here anyway */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "mim-bench-mailbox: handles left open\n");
    return rc;
}
