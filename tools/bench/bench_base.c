/* mim-bench-base: the baselines of the session cases, each measured the same way as its mim
 * counterpart in mim-bench-session, in one process on 127.0.0.1.
 *
 *   bulk-tcp     MB/s: plain libuv TCP over loopback in one loop, 65518-byte writes, the
 *                sender's queue topped up to 1 MiB, timed until the receiver has every byte.
 *   bulk-stream  MB/s: crypto_secretstream_xchacha20poly1305 push then pull of each 65518-byte
 *                chunk in one thread, no I/O (the encryption mim's channel does, alone).
 *   small-tcp    messages/s: 100-byte messages, one uv_write each, over loopback; timed until
 *                the receiver has them all.
 *   sqlite       inserts/s: one 100-byte row per transaction (autocommit) into a WAL database
 *                with synchronous = FULL, the durability mim_store uses; for --msgs rows.
 *   rtt-base     round trip: a 100-byte ping over loopback, the receiver commits one row
 *                durably (as sqlite) before it answers, then the pong; p50 and p99.
 *   rtt-base2    the same with a second durable commit, by the sender before its ping: the
 *                floor of mim's round trip, which must store the message before it sends it
 *                and have the receiver store it before it acks (docs/PROTOCOL.md 14.6). Both
 *                commits go to one database here (mim's go to two; the cost is the same).
 *
 * This file calls libsodium and SQLite directly on purpose: a baseline must not go through
 * the code it is compared with. Prints "result <name> <value>" lines. Bounded by --timeout. */
#include "bench_util.h"

#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static uv_timer_t deadline;
static int failed;

static void fail(const char *why)
{
    if (!failed)
        fprintf(stderr, "mim-bench-base: %s\n", why);
    failed = 1;
    uv_stop(&loop);
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    fail("timed out");
}

/* ---- a TCP pair in one loop ------------------------------------------------------------- */

typedef struct tcp_pair {
    uv_tcp_t listener, client, server;
    uv_connect_t creq;
    void (*on_up)(void);                                /* both ends connected */
    void (*on_server_read)(const uint8_t *p, size_t n); /* bytes at the server end */
    void (*on_client_read)(const uint8_t *p, size_t n); /* bytes at the client end */
    int up;
} tcp_pair;

static tcp_pair pair;
static uint8_t read_buf[1 << 17];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)read_buf;
    buf->len = sizeof(read_buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n < 0) {
        if (!failed && !uv_is_closing((uv_handle_t *)s))
            uv_read_stop(s);
        return;
    }
    if (s == (uv_stream_t *)&pair.server && pair.on_server_read != NULL)
        pair.on_server_read((const uint8_t *)buf->base, (size_t)n);
    if (s == (uv_stream_t *)&pair.client && pair.on_client_read != NULL)
        pair.on_client_read((const uint8_t *)buf->base, (size_t)n);
}

static void pair_maybe_up(void)
{
    if (++pair.up == 2)
        pair.on_up();
}

static void on_connection(uv_stream_t *l, int status)
{
    if (status < 0 || uv_accept(l, (uv_stream_t *)&pair.server) != 0) {
        fail("accept failed");
        return;
    }
    uv_tcp_nodelay(&pair.server, 1);
    uv_read_start((uv_stream_t *)&pair.server, on_alloc, on_read);
    pair_maybe_up();
}

static void after_connect(uv_connect_t *req, int status)
{
    (void)req;
    if (status != 0) {
        fail("connect failed");
        return;
    }
    uv_tcp_nodelay(&pair.client, 1);
    uv_read_start((uv_stream_t *)&pair.client, on_alloc, on_read);
    pair_maybe_up();
}

static int pair_open(void)
{
    struct sockaddr_in addr;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    uv_tcp_init(&loop, &pair.listener);
    uv_tcp_init(&loop, &pair.client);
    uv_tcp_init(&loop, &pair.server);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&pair.listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&pair.listener, 8, on_connection) != 0)
        return -1;
    uv_tcp_getsockname(&pair.listener, (struct sockaddr *)&ss, &len);
    return uv_tcp_connect(&pair.creq, &pair.client, (const struct sockaddr *)&ss, after_connect);
}

static void pair_close(void)
{
    uv_close((uv_handle_t *)&pair.listener, NULL);
    uv_close((uv_handle_t *)&pair.client, NULL);
    uv_close((uv_handle_t *)&pair.server, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
}

typedef struct owned_write {
    uv_write_t req;
    uint8_t bytes[];
} owned_write;

static void after_write(uv_write_t *req, int status)
{
    free(req);
    if (status < 0 && status != UV_ECANCELED)
        fail("write failed");
}

/* Writes a copy of n bytes, as mim's connection does (one allocation per frame). */
static void write_copy(uv_tcp_t *t, const uint8_t *p, size_t n)
{
    owned_write *w = malloc(sizeof(*w) + n);
    uv_buf_t b;
    if (w == NULL) {
        fail("out of memory");
        return;
    }
    memcpy(w->bytes, p, n);
    b = uv_buf_init((char *)w->bytes, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)t, &b, 1, after_write) != 0) {
        free(w);
        fail("write failed");
    }
}

/* ---- bulk-tcp and small-tcp ---------------------------------------------------------------- */

static struct {
    uv_check_t pump;
    uv_idle_t kick;
    uint8_t *chunk;
    size_t chunk_len;
    uint64_t total, sent, received;
    uint64_t t0;
    int small, done;
} flow;

static void flow_pump(uv_check_t *h)
{
    (void)h;
    uv_idle_stop(&flow.kick);
    while (flow.sent < flow.total &&
           uv_stream_get_write_queue_size((uv_stream_t *)&pair.client) < BENCH_BULK_HIWAT) {
        write_copy(&pair.client, flow.chunk, flow.chunk_len);
        flow.sent += flow.chunk_len;
    }
}

static void on_kick(uv_idle_t *h)
{
    (void)h;
}

static void flow_up(void)
{
    flow.t0 = uv_hrtime();
    uv_check_start(&flow.pump, flow_pump);
    uv_idle_start(&flow.kick, on_kick);
}

static void flow_read(const uint8_t *p, size_t n)
{
    (void)p;
    flow.received += n;
    if (flow.received >= flow.total && !flow.done) {
        double s = bench_seconds(flow.t0);
        flow.done = 1;
        if (flow.small)
            printf("result small_tcp_msgps %.1f\n", (double)(flow.total / BENCH_SMALL_LEN) / s);
        else
            printf("result bulk_tcp_MBps %.1f\n", (double)flow.total / 1e6 / s);
        fflush(stdout);
        uv_close((uv_handle_t *)&flow.pump, NULL);
        uv_close((uv_handle_t *)&flow.kick, NULL);
        pair_close();
    }
}

static int run_flow(int small, uint64_t total)
{
    flow.small = small;
    flow.chunk_len = small ? BENCH_SMALL_LEN : BENCH_CHUNK;
    flow.total = total / flow.chunk_len * flow.chunk_len;
    if ((flow.chunk = calloc(1, flow.chunk_len)) == NULL)
        return 1;
    uv_check_init(&loop, &flow.pump);
    uv_idle_init(&loop, &flow.kick);
    pair.on_up = flow_up;
    pair.on_server_read = flow_read;
    if (pair_open() != 0)
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    free(flow.chunk);
    return failed || !flow.done;
}

/* ---- bulk-stream ----------------------------------------------------------------------------- */

static int run_stream(uint64_t total)
{
    unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_state tx, rx;
    size_t clen = BENCH_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
    uint8_t *plain = calloc(1, BENCH_CHUNK), *cipher = malloc(clen), *out = malloc(BENCH_CHUNK);
    uint64_t done = 0, t0;
    int rc = 1;

    if (plain == NULL || cipher == NULL || out == NULL)
        goto out;
    crypto_secretstream_xchacha20poly1305_keygen(key);
    crypto_secretstream_xchacha20poly1305_init_push(&tx, header, key);
    if (crypto_secretstream_xchacha20poly1305_init_pull(&rx, header, key) != 0)
        goto out;
    t0 = uv_hrtime();
    while (done < total) {
        unsigned long long mlen;
        unsigned char tag;
        crypto_secretstream_xchacha20poly1305_push(&tx, cipher, NULL, plain, BENCH_CHUNK, NULL, 0,
                                                   0);
        if (crypto_secretstream_xchacha20poly1305_pull(&rx, out, &mlen, &tag, cipher, clen, NULL,
                                                       0) != 0)
            goto out;
        done += BENCH_CHUNK;
    }
    printf("result bulk_stream_MBps %.1f\n", (double)done / 1e6 / bench_seconds(t0));
    rc = 0;
out:
    free(plain);
    free(cipher);
    free(out);
    return rc;
}

/* ---- sqlite and rtt-base --------------------------------------------------------------------- */

static sqlite3 *db;
static sqlite3_stmt *ins;

static int db_open(const char *path)
{
    char *err = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     "CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
                     NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO m (body) VALUES (?)", -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "mim-bench-base: sqlite: %s\n", err != NULL ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* One durable commit of one 100-byte row. */
static int db_insert(const uint8_t *body)
{
    int rc;
    sqlite3_bind_blob(ins, 1, body, BENCH_SMALL_LEN, SQLITE_STATIC);
    rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void db_close(void)
{
    sqlite3_finalize(ins);
    sqlite3_close(db);
}

static int run_sqlite(const char *path, long rows)
{
    uint8_t body[BENCH_SMALL_LEN] = {0};
    uint64_t t0;

    if (db_open(path) != 0)
        return 1;
    t0 = uv_hrtime();
    for (long i = 0; i < rows; i++)
        if (db_insert(body) != 0) {
            db_close();
            return 1;
        }
    printf("result sqlite_insert_ps %.1f\n", (double)rows / bench_seconds(t0));
    db_close();
    return 0;
}

static struct {
    long n, done;
    int commits; /* 1: rtt-base, 2: rtt-base2 */
    size_t have_srv, have_cli;
    uint64_t t_ping;
    double *lat;
    uint8_t msg[BENCH_SMALL_LEN];
} rtt;

static void rtt_ping(void)
{
    rtt.t_ping = uv_hrtime();
    if (rtt.commits == 2 && db_insert(rtt.msg) != 0) {
        fail("sqlite insert failed");
        return;
    }
    write_copy(&pair.client, rtt.msg, sizeof(rtt.msg));
}

static void rtt_server_read(const uint8_t *p, size_t n)
{
    (void)p;
    rtt.have_srv += n;
    while (rtt.have_srv >= BENCH_SMALL_LEN) {
        rtt.have_srv -= BENCH_SMALL_LEN;
        if (db_insert(rtt.msg) != 0) {
            fail("sqlite insert failed");
            return;
        }
        write_copy(&pair.server, rtt.msg, sizeof(rtt.msg));
    }
}

static void rtt_client_read(const uint8_t *p, size_t n)
{
    (void)p;
    rtt.have_cli += n;
    while (rtt.have_cli >= BENCH_SMALL_LEN && rtt.done < rtt.n) {
        rtt.have_cli -= BENCH_SMALL_LEN;
        rtt.lat[rtt.done++] = bench_seconds(rtt.t_ping);
        if (rtt.done < rtt.n) {
            rtt_ping();
            continue;
        }
        printf("result rtt_base%s_p50_ms %.3f\n", rtt.commits == 2 ? "2" : "",
               bench_quantile(rtt.lat, (size_t)rtt.n, 0.5) * 1e3);
        printf("result rtt_base%s_p99_ms %.3f\n", rtt.commits == 2 ? "2" : "",
               bench_quantile(rtt.lat, (size_t)rtt.n, 0.99) * 1e3);
        fflush(stdout);
        pair_close();
    }
}

static int run_rtt(const char *path, long n, int commits)
{
    rtt.n = n;
    rtt.commits = commits;
    if ((rtt.lat = calloc((size_t)n, sizeof(*rtt.lat))) == NULL || db_open(path) != 0)
        return 1;
    pair.on_up = rtt_ping;
    pair.on_server_read = rtt_server_read;
    pair.on_client_read = rtt_client_read;
    if (pair_open() != 0)
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    db_close();
    free(rtt.lat);
    return failed || rtt.done < rtt.n;
}

int main(int argc, char **argv)
{
    bench_args args;
    const char *mode, *path;
    long mib, msgs, timeout_s;
    int rc;

    if (bench_parse_args(argc, argv, "db", &args) != 0 ||
        ((strcmp(args.mode, "sqlite") == 0 || strncmp(args.mode, "rtt-base", 8) == 0) &&
         args.path == NULL)) {
        fprintf(stderr, "usage: mim-bench-base bulk-tcp|bulk-stream [--mib M] | small-tcp "
                        "[--msgs M] | sqlite|rtt-base|rtt-base2 --db FILE [--msgs M]  "
                        "[--timeout S]\n");
        return 2;
    }
    mode = args.mode;
    path = args.path;
    mib = args.mib;
    msgs = args.msgs;
    timeout_s = args.timeout_s;
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)timeout_s * 1000, 0);
    if (strcmp(mode, "bulk-tcp") == 0) {
        rc = run_flow(0, (uint64_t)mib << 20);
    } else if (strcmp(mode, "small-tcp") == 0) {
        rc = run_flow(1, (uint64_t)msgs * BENCH_SMALL_LEN);
    } else if (strcmp(mode, "bulk-stream") == 0 || strcmp(mode, "sqlite") == 0) {
        uv_close((uv_handle_t *)&deadline, NULL); /* no loop: the count bounds it */
        rc = mode[0] == 'b' ? run_stream((uint64_t)mib << 20) : run_sqlite(path, msgs);
        uv_run(&loop, UV_RUN_DEFAULT);
    } else if (strcmp(mode, "rtt-base") == 0 || strcmp(mode, "rtt-base2") == 0) {
        rc = run_rtt(path, msgs, mode[8] == '2' ? 2 : 1);
    } else {
        return 2;
    }
    if (failed)
        return 1;
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "mim-bench-base: handles left open\n");
    return rc;
}
