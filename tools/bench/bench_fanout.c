/* mim-bench-fanout: the sender's side of one message to many (issue 16), in one process on
 * 127.0.0.1: mim-presence (in process), the sender -- a real peer core (mim_core, the code
 * behind `mim --json`) with its own store -- and N simulated members. Each member logs in to
 * the server like the load client's peers (mim_channel, the signed Login, with its own port),
 * listens, accepts the sender's chat session (chat_session: the real Noise XX handshake and
 * secretstream) and acknowledges every ChatMessage at the end of its frame without storing it:
 * what is measured is the sender's cost (its stored copies, their commits, sealing, the acks'
 * DELIVERED marks and counts), the members being as cheap as the load client's peers.
 *
 *   mim-bench-fanout room --dir DIR [--msgs M]   N = 100 members. The 1:1 rate: M 100-byte
 *       messages to one member with mim_core_send (send batches of 256, as the JSON API makes
 *       them), timed until every on_delivered. The fan-out rate: M / 100 broadcasts of 100
 *       bytes to the 100 members (a room's copies take the same path: core_fanout_send, one
 *       outbox row per member), timed until every on_fanout_delivered: member-deliveries
 *       acknowledged per second. Both over sessions already open (a warm-up message first).
 *   mim-bench-fanout online --dir DIR --n N      one broadcast to N members online (sessions
 *       not open yet: the N dials and handshakes are part of it), timed from the call to the
 *       last on_fanout_delivered; then a second one over the open sessions.
 *
 * Prints "result <name> <value>" lines. Bounded: the run fails after --timeout seconds. */
#include "bench_meter.h"
#include "bench_util.h"
#include "chat_session.h"
#include "core.h"
#include "mim_buf.h"
#include "mim_channel.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_log.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define FO_BATCH   256  /* 1:1 sends per send batch */
#define FO_ROOM    100  /* members of the room case */
#define FO_MAX_IDS 1024 /* ids a member acks at the end of one frame */

typedef struct member {
    char name[16];
    mim_identity *id;
    mim_channel *presence;
    uv_tcp_t listener;
    uint16_t port;
    chat_session_config cfg;
    uint8_t ids[FO_MAX_IDS][MIM_MSG_ID_LEN];
    size_t nids;
    int logged_in; /* its table came */
} member;

static uv_loop_t loop;
static uv_timer_t deadline;
static int failed, stopping;
static presence_server srv;
static mim_core *sender;
static member *members;
static int nmembers, nonline, nlogged, ncores_stopped;
static long member_closes; /* sessions a member saw end before the bench did (dials retried) */
static int start_sender(void);
static long want, got; /* deliveries awaited / seen in the phase being timed */
static uint64_t t0;
static int phase; /* see run_phase */
static long msgs = 5000;
static char text[BENCH_SMALL_LEN + 1];
static bench_meter meter; /* the timed phase's CPU time and instructions */

static void fail(const char *why)
{
    if (!failed)
        fprintf(stderr, "mim-bench-fanout: %s\n", why);
    failed = 1;
    uv_stop(&loop);
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    fail("timed out");
}

/* ---- a member: the presence login, then the chat sessions it accepts ---------------------- */

static int m_on_auth(void *ud, chat_session *cs, const char *name, const uint8_t pk[MIM_KEY_LEN],
                     const char **reason)
{
    (void)ud, (void)cs, (void)name, (void)pk, (void)reason;
    return 0;
}

static void m_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    member *mb = ud;

    (void)cs;
    if (mb->nids < FO_MAX_IDS)
        memcpy(mb->ids[mb->nids++], m->id.data, MIM_MSG_ID_LEN);
}

static void m_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    (void)ud, (void)cs, (void)id;
}

static void m_on_batch_end(void *ud, chat_session *cs)
{
    member *mb = ud;

    if (mb->nids > 0 &&
        chat_session_send_ack(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])mb->ids, mb->nids) != 0 &&
        !stopping)
        fail("a member cannot ack");
    mb->nids = 0;
}

static void m_on_closed(void *ud, chat_session *cs, const char *reason)
{
    (void)ud, (void)cs;
    if (!stopping && member_closes++ == 0)
        fprintf(stderr,
                "mim-bench-fanout: a member's session closed: %s (the sender dials "
                "again; counted in fanout_member_closes)\n",
                reason);
}

static const chat_session_events m_events = {
    .on_authenticated = m_on_auth,
    .on_message = m_on_message,
    .on_ack = m_on_ack,
    .on_batch_end = m_on_batch_end,
    .on_closed = m_on_closed,
};

static void m_on_connection(uv_stream_t *l, int status)
{
    member *mb = l->data;
    chat_session *cs;

    if (status < 0 || chat_session_accept(&mb->cfg, l, &cs) != 0)
        fail("a member cannot accept");
}

static int p_on_auth(mim_channel *ch, const uint8_t pk[MIM_KEY_LEN], const char *name,
                     const char **reason)
{
    (void)ch, (void)pk, (void)name, (void)reason;
    return 0; /* the bench's own server */
}

static void p_on_open(mim_channel *ch)
{
    member *mb = mim_channel_data(ch);
    uint8_t sig[MIM_SIG_LEN];
    Mim__PresenceMsg m;
    Mim__Login login;
    mim_buf b = {0};

    if (mim_login_sign(mb->id, mim_channel_handshake_hash(ch), mb->name, strlen(mb->name), mb->port,
                       sig) != 0) {
        fail("cannot sign a login");
        return;
    }
    mim_login_init(&m, &login, mb->name, mb->port, mb->id->sign_pk, mb->id->static_sig, sig, 0);
    if (mim_presence_batch_append(&b, &m) != 0 || mim_channel_send(ch, b.data, b.len, 0) != 0)
        fail("cannot send a login");
    mim_buf_free(&b);
}

/* The first batch from the server is the member's table: it is logged in. The sender starts
 * once every member is (a thousand logins at once would otherwise delay its own past its
 * login deadline). */
static void p_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    member *mb = mim_channel_data(ch);

    (void)p, (void)len, (void) final;
    if (mb->logged_in)
        return;
    mb->logged_in = 1;
    if (++nlogged == nmembers && start_sender() != 0)
        fail("cannot start the sender");
}

static void p_on_closed(mim_channel *ch, const char *reason)
{
    member *mb = mim_channel_data(ch);

    mb->presence = NULL;
    if (!stopping)
        fprintf(stderr, "mim-bench-fanout: a member's presence closed: %s\n", reason);
}

static const mim_channel_events p_events = {
    .on_authenticated = p_on_auth,
    .on_open = p_on_open,
    .on_plaintext = p_on_plaintext,
    .on_closed = p_on_closed,
};

static int member_start(member *mb, int i)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got_addr;
    int len = sizeof(got_addr);
    mim_channel_config pc;

    snprintf(mb->name, sizeof(mb->name), "m%d", i);
    if ((mb->id = mim_identity_generate()) == NULL)
        return -1;
    uv_tcp_init(&loop, &mb->listener);
    mb->listener.data = mb;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&mb->listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&mb->listener, 16, m_on_connection) != 0 ||
        uv_tcp_getsockname(&mb->listener, (struct sockaddr *)&got_addr, &len) != 0)
        return -1;
    mb->port = ntohs(((struct sockaddr_in *)&got_addr)->sin_port);
    mb->cfg = (chat_session_config){.loop = &loop,
                                    .id = mb->id,
                                    .my_name = mb->name,
                                    .ev = &m_events,
                                    .ud = mb,
                                    .features = MIM_FEATURE_BROADCAST};
    memset(&pc, 0, sizeof(pc));
    pc.loop = &loop;
    pc.identity = mb->id;
    pc.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    pc.my_name = mb->name;
    pc.remote_name_mode = MIM_HS_NAME_EMPTY;
    pc.max_queued = 8u << 20;
    pc.handshake_timeout_ms = 60000;
    pc.events = &p_events;
    pc.data = mb;
    uv_ip4_addr("127.0.0.1", srv.port, &addr);
    return mim_channel_dial(&pc, (const struct sockaddr *)&addr, &mb->presence);
}

/* ---- the sender and the phases ------------------------------------------------------------ */

enum { P_ONLINE = 0, P_WARM, P_ONE, P_FAN, P_COLD, P_AGAIN, P_DONE };
static int room_mode;

static void stop_all(void)
{
    if (stopping)
        return;
    stopping = 1;
    uv_close((uv_handle_t *)&deadline, NULL);
    mim_core_quit(sender, 0);
}

static void send_batches(const char *to, long n)
{
    mim_msg_id id;

    for (long done = 0; done < n && !failed;) {
        mim_core_batch_begin(sender);
        for (long k = 0; k < FO_BATCH && done < n; k++, done++)
            if (mim_core_send(sender, to, text, &id) != 0)
                fail("a send was refused");
        mim_core_batch_end(sender);
    }
}

/* The broadcasts of the phase and the last count each one reported: every copy's report must
 * say one more than the one before (the counts are true, none lost or told twice). Owned. */
static struct sent_bcast {
    mim_msg_id id;
    uint32_t delivered;
} * bcasts;
static long nbcasts;

static void broadcast_n(long n)
{
    uint32_t copies;
    void *p = realloc(bcasts, (size_t)n * sizeof(*bcasts));

    if (p == NULL) {
        fail("out of memory");
        return;
    }
    bcasts = p;
    nbcasts = 0;
    for (long k = 0; k < n && !failed; k++, nbcasts++) {
        bcasts[k].delivered = 0;
        if (mim_core_broadcast(sender, text, 0, &bcasts[k].id, &copies) != 0 ||
            copies != (uint32_t)nmembers)
            fail("a broadcast was refused, or did not go to every member");
    }
}

static void check_count(const mim_core_fanout_delivery *d)
{
    for (long k = 0; k < nbcasts; k++) {
        if (memcmp(bcasts[k].id.bytes, d->id->bytes, sizeof(d->id->bytes)) != 0)
            continue;
        if ((d->total != (uint32_t)nmembers || d->delivered != ++bcasts[k].delivered) && !failed) {
            fprintf(stderr, "mim-bench-fanout: %s's copy reported %u of %u, after %u\n", d->to,
                    d->delivered, d->total, bcasts[k].delivered - 1);
            fail("a copy's count is wrong");
        }
        return;
    }
    fail("a delivery of no broadcast of this phase");
}

/* Starts phase p: its deliveries awaited, its clock, its sends. */
static void run_phase(int p)
{
    phase = p;
    got = 0;
    t0 = uv_hrtime();
    bench_meter_start(&meter);
    switch (p) {
    case P_WARM: /* opens every session: one message to m0, one broadcast */
        want = 1 + nmembers;
        send_batches("m0", 1);
        broadcast_n(1);
        break;
    case P_ONE:
        want = msgs;
        send_batches("m0", msgs);
        break;
    case P_FAN:
        want = (msgs / nmembers) * nmembers;
        broadcast_n(msgs / nmembers);
        break;
    case P_COLD:
    case P_AGAIN:
        want = nmembers;
        broadcast_n(1);
        break;
    default:
        stop_all();
        break;
    }
}

static double one_rate, one_cpu_us, one_instr;

/* The phase's cost per delivery: CPU microseconds, and instructions where they are counted. */
static void print_cost(const char *name, long n, double *cpu_us, double *instr)
{
    *cpu_us = meter.cpu_s * 1e6 / (double)n;
    *instr = (double)meter.instr / (double)n;
    printf("result %s_cpu_us %.1f\n", name, *cpu_us);
    if (meter.instr > 0)
        printf("result %s_instr %.0f\n", name, *instr);
}

/* The phase being timed has every delivery it waited for. */
static void phase_done(void)
{
    double s = bench_seconds(t0), cpu_us, instr;
    char name[64];

    bench_meter_stop(&meter);
    switch (phase) {
    case P_WARM:
        run_phase(P_ONE);
        return;
    case P_ONE:
        one_rate = (double)msgs / s;
        printf("result fanout_one_msgps %.1f\n", one_rate);
        print_cost("fanout_one_per_msg", msgs, &one_cpu_us, &one_instr);
        run_phase(P_FAN);
        return;
    case P_FAN:
        printf("result fanout_room%d_deliveries_ps %.1f\n", nmembers, (double)want / s);
        printf("result fanout_room%d_ratio %.3f\n", nmembers, (double)want / s / one_rate);
        snprintf(name, sizeof(name), "fanout_room%d_per_delivery", nmembers);
        print_cost(name, want, &cpu_us, &instr);
        /* The ratio of rates that the CPU time alone allows: load-proof, unlike the wall's. */
        printf("result fanout_room%d_cpu_ratio %.3f\n", nmembers, one_cpu_us / cpu_us);
        if (instr > 0)
            printf("result fanout_room%d_instr_ratio %.3f\n", nmembers, one_instr / instr);
        break;
    case P_COLD:
        printf("result fanout_online%d_cold_s %.4f\n", nmembers, s);
        run_phase(P_AGAIN);
        return;
    case P_AGAIN:
        printf("result fanout_online%d_warm_s %.4f\n", nmembers, s);
        printf("result fanout_member_closes %ld\n", member_closes);
        break;
    default:
        break;
    }
    fflush(stdout);
    run_phase(P_DONE);
}

static void count_delivery(void)
{
    if (++got == want && phase != P_ONLINE)
        phase_done();
}

static void s_on_online(void *ud, const mim_core_peer_info *p)
{
    (void)ud;
    if (p->name[0] == 'm' && ++nonline == nmembers)
        run_phase(room_mode ? P_WARM : P_COLD);
}

static void s_on_delivered(void *ud, const char *to, const mim_msg_id *id)
{
    (void)ud, (void)to, (void)id;
    count_delivery();
}

static void s_on_fanout_delivered(void *ud, const mim_core_fanout_delivery *d)
{
    (void)ud;
    check_count(d);
    count_delivery();
}

static void s_on_error(void *ud, mim_core_error code, const char *message, int fatal)
{
    (void)ud, (void)code;
    fprintf(stderr, "mim-bench-fanout: core error: %s\n", message);
    if (fatal)
        fail("fatal core error");
}

static void on_member_closed(uv_handle_t *h)
{
    (void)h;
}

static void s_on_stopped(void *ud, int exit_code)
{
    (void)ud, (void)exit_code;
    ncores_stopped = 1;
    for (int i = 0; i < nmembers; i++) {
        if (members[i].presence != NULL)
            mim_channel_abort(members[i].presence, "bench over");
        uv_close((uv_handle_t *)&members[i].listener, on_member_closed);
    }
    presence_server_stop(&srv);
}

static const mim_core_events s_events = {
    .on_online = s_on_online,
    .on_delivered = s_on_delivered,
    .on_fanout_delivered = s_on_fanout_delivered,
    .on_error = s_on_error,
    .on_stopped = s_on_stopped,
};

static int start_server(const char *dir)
{
    presence_config cfg;
    char path[4096];

    snprintf(path, sizeof(path), "%s/presence", dir);
    (void)mkdir(dir, 0700);
    (void)mkdir(path, 0700);
    presence_config_defaults(&cfg);
    cfg.binds[0] = "127.0.0.1";
    cfg.nbinds = 1;
    cfg.port = 0;
    cfg.discovery_port = -1;
    cfg.data_dir = path;
    cfg.max_peers = 100000;
    cfg.admit.max_unauth = cfg.admit.max_unauth_per_ip = 100000;
    cfg.admit.rate_per_ip = 1000000;
    cfg.admit.logins_per_min_ip = cfg.admit.logins_per_min_key = 0;
    cfg.handshake_timeout_ms = 120000;
    cfg.ping_interval_ms = 3600000; /* the members answer no Ping: keep them for the whole run */
    cfg.max_queued = 64u << 20;
    return presence_server_start(&srv, &loop, &cfg);
}

static const char *run_dir;

static int start_sender(void)
{
    mim_core_config cc;
    char server[64], path[4096];

    snprintf(server, sizeof(server), "127.0.0.1:%d", srv.port);
    snprintf(path, sizeof(path), "%s/sender", run_dir);
    memset(&cc, 0, sizeof(cc));
    cc.loop = &loop;
    cc.server = server;
    cc.name = "sender";
    cc.data_dir = path;
    cc.max_table = 100000;
    return mim_core_start(&sender, &cc, &s_events, NULL);
}

static int run(const char *dir)
{
    run_dir = dir;
    if (start_server(dir) != 0 || (members = calloc((size_t)nmembers, sizeof(*members))) == NULL)
        return 1;
    for (int i = 0; i < nmembers; i++)
        if (member_start(&members[i], i) != 0)
            return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    presence_server_free(&srv);
    for (int i = 0; i < nmembers; i++)
        mim_identity_free(members[i].id);
    free(members);
    return failed || !stopping;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    bench_args args;

    if (bench_parse_args(argc, argv, "dir", &args) != 0 || args.path == NULL ||
        (strcmp(args.mode, "room") != 0 && strcmp(args.mode, "online") != 0)) {
        fprintf(stderr, "usage: mim-bench-fanout room --dir DIR [--msgs M] | online --dir DIR "
                        "--msgs N  [--timeout S]\n");
        return 2;
    }
    room_mode = strcmp(args.mode, "room") == 0;
    nmembers = room_mode ? FO_ROOM : (int)args.msgs; /* online: --msgs is N, the members */
    if (room_mode)
        msgs = args.msgs;
    if (nmembers < 1 || nmembers > 5000 || msgs < FO_ROOM)
        return 2;
    /* Five descriptors per member (its presence connection and the server's end, its
     * listener, the chat session's two ends) and the sender's. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(text, 'x', BENCH_SMALL_LEN);
    if (mim_crypto_init() != 0)
        return 1;
    mim_log_set_level(MIM_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    bench_meter_init(&meter);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)args.timeout_s * 1000, 0);
    if (run(args.path) != 0 || failed)
        return 1;
    bench_meter_close(&meter);
    free(bcasts);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "mim-bench-fanout: handles left open\n");
    return 0;
}
