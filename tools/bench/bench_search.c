/* mim-bench-search: the search index's cost and its speed (tools/bench/README.md).
 *
 *   mim-bench-search store --dir D [--msgs M]   messages/s stored through the peer store in
 *       durable transactions of 256 (as the receive group commit does): text, which is indexed,
 *       against a content type that is stored the same way but not indexed -- the A/B of the
 *       index on the persisted-messages path, same run, same code otherwise.
 *   mim-bench-search query --dir D [--msgs N]   a store of N text messages (made when D has
 *       none yet, kept for the next runs), then the latency of
 *       mim_store_search for a rare and a common word (the newest 20), against a LIKE '%word%'
 *       scan of the same file in SQLite itself (the baseline: no index).
 *
 * Prints "result NAME VALUE" lines for tools/bench/run. The baseline uses SQLite directly, on
 * purpose: it must not share the code it is compared with. */
#include "bench_util.h"
#include "mim_search_query.h"
#include "mim_store_peer.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define TX_MSGS      256  /* messages per durable transaction (a receive frame at most) */
#define QUERY_RUNS   50   /* searches timed per word */
#define RARE_EVERY   1000 /* one message in this many holds the rare word */
#define CONTENT_LATE 3    /* a later version's content type: stored like text, not indexed */

static const char *const vocab[] = {
    "meeting", "lunch",  "today",   "tomorrow", "project", "deadline", "coffee", "build",
    "server",  "review", "please",  "thanks",   "report",  "office",   "later",  "morning",
    "call",    "test",   "release", "bug",      "fixed",   "client",   "design", "notes",
    "agenda",  "room",   "week",    "friday",   "monday",  "update",   "plan",   "draft",
};

/* Message i's text, ~100 bytes of words from vocab (the rare word in one of RARE_EVERY). */
static size_t message_text(size_t i, char *out, size_t cap)
{
    uint32_t x = (uint32_t)i * 2654435761u + 12345u;
    size_t o = 0;

    if (i % RARE_EVERY == 7)
        o += (size_t)snprintf(out, cap, "zebracorn ");
    while (o < BENCH_SMALL_LEN - 12) {
        x = x * 1103515245u + 12345u;
        o += (size_t)snprintf(out + o, cap - o, "%s ", vocab[(x >> 16) % 32]);
    }
    out[--o] = '\0';
    return o;
}

static mim_store *open_store(const char *dir, const char *file)
{
    char path[1024];
    mim_store *st = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (mim_store_open(path, MIM_STORE_PEER, &st) != 0) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    return st;
}

/* Stores msgs messages of `type` in transactions of TX_MSGS (durable, or relaxed): msgs/s. */
static double fill(mim_store *st, long msgs, int type, int relaxed)
{
    static long next_id; /* ids unique across calls: a store is filled twice */
    uint64_t t0 = uv_hrtime();
    char text[200];
    uint8_t id[16] = {0};

    for (long i = 0; i < msgs;) {
        if ((relaxed ? mim_store_begin_relaxed(st) : mim_store_begin(st)) != 0)
            exit(1);
        for (long k = 0; k < TX_MSGS && i < msgs; k++, i++) {
            size_t n = message_text((size_t)i, text, sizeof(text));
            long uid = next_id++;
            memcpy(id, &uid, sizeof(uid));
            if (mim_store_message_receive(st, "bob", id, i, type, text, n) != 1)
                exit(1);
        }
        if (mim_store_commit(st) != 0)
            exit(1);
    }
    return (double)msgs / bench_seconds(t0);
}

static int count_hit(const mim_message *m, const char *snippet, void *arg)
{
    (void)m, (void)snippet;
    ++*(int *)arg;
    return 0;
}

/* The median latency (ms) of QUERY_RUNS mim searches for word (the newest 20). */
static double time_mim(mim_store *st, const char *word)
{
    double ms[QUERY_RUNS];
    mim_search_query q;

    if (mim_search_query_parse(word, strlen(word), &q) != 0)
        exit(1);
    for (int r = 0; r < QUERY_RUNS; r++) {
        uint64_t t0 = uv_hrtime();
        int hits = 0;
        if (mim_store_search(st, &q, NULL, 20, count_hit, &hits) != 0 || hits == 0)
            exit(1);
        ms[r] = bench_seconds(t0) * 1e3;
    }
    return bench_quantile(ms, QUERY_RUNS, 0.5);
}

/* The same with a LIKE scan in SQLite itself (ASCII case folded only: a scan's best case). */
static double time_like(const char *path, const char *word)
{
    double ms[QUERY_RUNS];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char pattern[64];

    snprintf(pattern, sizeof(pattern), "%%%s%%", word);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT seq, body FROM messages WHERE content_type = 1 AND"
                           " CAST(body AS TEXT) LIKE ?1 ORDER BY seq DESC LIMIT 20",
                           -1, &s, NULL) != SQLITE_OK)
        exit(1);
    for (int r = 0; r < QUERY_RUNS; r++) {
        uint64_t t0 = uv_hrtime();
        int hits = 0;
        sqlite3_bind_text(s, 1, pattern, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW)
            hits++;
        sqlite3_reset(s);
        if (hits == 0)
            exit(1);
        ms[r] = bench_seconds(t0) * 1e3;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return bench_quantile(ms, QUERY_RUNS, 0.5);
}

int main(int argc, char **argv)
{
    bench_args a;
    char path[1024];

    if (bench_parse_args(argc, argv, "dir", &a) != 0 || a.path == NULL ||
        (strcmp(a.mode, "store") != 0 && strcmp(a.mode, "query") != 0)) {
        fprintf(stderr, "usage: mim-bench-search store|query --dir D [--msgs M]\n");
        return 2;
    }
    mkdir(a.path, 0700);
    if (strcmp(a.mode, "store") == 0) {
        mim_store *idx = open_store(a.path, "indexed.db"), *plain = open_store(a.path, "plain.db");
        /* Interleaved halves, so that a noisy neighbour hits both alike. */
        double i1 = fill(idx, a.msgs / 2, 1, 0), p1 = fill(plain, a.msgs / 2, CONTENT_LATE, 0);
        double p2 = fill(plain, a.msgs / 2, CONTENT_LATE, 0), i2 = fill(idx, a.msgs / 2, 1, 0);
        printf("result store_indexed_msgps %.1f\nresult store_plain_msgps %.1f\n", (i1 + i2) / 2,
               (p1 + p2) / 2);
        mim_store_close(idx);
        mim_store_close(plain);
        return 0;
    }
    {
        struct stat sb;
        mim_store *st;

        snprintf(path, sizeof(path), "%s/query.db", a.path);
        if (stat(path, &sb) != 0) { /* a new history; else the one an earlier run made */
            st = open_store(a.path, "query.db");
            fill(st, a.msgs, 1, 1);
        } else {
            st = open_store(a.path, "query.db");
        }
        printf("result search_rare_mim_ms %.3f\n", time_mim(st, "zebracorn"));
        printf("result search_rare_like_ms %.3f\n", time_like(path, "zebracorn"));
        printf("result search_common_mim_ms %.3f\n", time_mim(st, "deadline"));
        printf("result search_common_like_ms %.3f\n", time_like(path, "deadline"));
        mim_store_close(st);
    }
    return 0;
}
