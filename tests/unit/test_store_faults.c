/* Fault injection in the peer store: a failing write, a full disk, a failed fsync at EVERY
 * step of the send and receive transactions, with exactly-once checked after each.
 *
 * A wrapping SQLite VFS, registered as the default in this test process only (production code
 * is untouched; only this test file includes <sqlite3.h> outside the store), counts the
 * I/O steps -- xWrite, xSync, xTruncate and the sync file-controls -- and fails the Nth with
 * SQLITE_FULL or SQLITE_IOERR_*. Two stores (a sender's and a receiver's) then run the peer
 * core's transactions in its order (peer/core_send.c, peer/core_receive.c):
 *   send       BEGIN; queue the messages; COMMIT            (mim_core_batch_end: a failed commit
 *                                                          reports on_send_failed: not accepted)
 *   flush      relaxed BEGIN; QUEUED -> SENT; COMMIT        (the frames go out whatever the
 *                                                          marks' commit does: they are hints)
 *   receive    BEGIN; store each (dedup); COMMIT; ack only if the COMMIT succeeded
 *   delivered  relaxed BEGIN; SENT -> DELIVERED; COMMIT
 * For every N up to the number of steps of a fault-free run, and every kind of fault, the run is
 * made with step N failing, both stores are closed and reopened ("the process restarted"), and:
 *   - every message whose send committed is in the outbox or DELIVERED; one whose send failed
 *     is nowhere (neither side);
 *   - every message the receiver acked is in its store; no message is stored twice;
 *   - a failed receive commit sent no ack (nothing it held became DELIVERED);
 * then recovery (SENT -> QUEUED at start, resend until the outbox is empty, bounded) delivers
 * every accepted message exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_test.h"

#define NMSG       6   /* messages per send batch */
#define MAX_STEPS  400 /* bound on the steps of one fault-free run (checked) */
#define MAX_ROUNDS 2   /* recovery rounds: resend, receive, ack */
#define SENDER     "alice"
#define RECEIVER   "bob"

/* ---- the faulty VFS ----------------------------------------------------------------------------
 */

enum fault_kind { FAULT_WRITE_FULL, FAULT_WRITE_IOERR, FAULT_SYNC_IOERR, FAULT_KINDS };
#define TEXT 1 /* content type: text, which the search index holds too */

static const char *const kind_names[] = {"write: disk full", "write: I/O error", "sync: I/O error"};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static long steps;     /* I/O steps counted since the counter was armed */
static long fail_at;   /* the step that fails (1-based); 0: none */
static int armed;      /* count (and fail) only while the transactions run */
static int fail_kind;  /* enum fault_kind */
static int failed;     /* the fault was injected */
static long survivors; /* runs where a send reported failed was there after the restart */

typedef struct fault_file {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct, szOsFile of the real VFS */
} fault_file;

/* 1 when this step must fail as `kind` says (kind: write or sync). */
static int step(int is_sync)
{
    if (!armed)
        return 0;
    steps++;
    if (steps != fail_at)
        return 0;
    if ((fail_kind == FAULT_SYNC_IOERR) != is_sync)
        return 0; /* this kind fails the other sort of step: count it, do it */
    failed = 1;
    return 1;
}

static int f_close(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xClose(ff->real);
}

static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xRead(ff->real, p, n, off);
}

static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    fault_file *ff = (fault_file *)f;
    if (step(0))
        return fail_kind == FAULT_WRITE_FULL ? SQLITE_FULL : SQLITE_IOERR_WRITE;
    return ff->real->pMethods->xWrite(ff->real, p, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    fault_file *ff = (fault_file *)f;
    if (step(0))
        return fail_kind == FAULT_WRITE_FULL ? SQLITE_FULL : SQLITE_IOERR_TRUNCATE;
    return ff->real->pMethods->xTruncate(ff->real, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    fault_file *ff = (fault_file *)f;
    (void)ff, (void)flags;
    if (step(1))
        return SQLITE_IOERR_FSYNC;
    /* Not passed on: the restart this test models is a process's (the page cache survives),
     * and some hundred real fsyncs would make it slow on a busy disk. */
    return SQLITE_OK;
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xFileSize(ff->real, size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xLock(ff->real, lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xUnlock(ff->real, lock);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xCheckReservedLock(ff->real, out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    fault_file *ff = (fault_file *)f;
    /* The commit's sync announcements are steps of the transaction too. */
    if ((op == SQLITE_FCNTL_SYNC || op == SQLITE_FCNTL_COMMIT_PHASETWO) && step(1))
        return SQLITE_IOERR_FSYNC;
    return ff->real->pMethods->xFileControl(ff->real, op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xSectorSize(ff->real);
}

static int f_device_characteristics(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xDeviceCharacteristics(ff->real);
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xShmMap(ff->real, pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xShmLock(ff->real, offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    ff->real->pMethods->xShmBarrier(ff->real);
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xShmUnmap(ff->real, delete_flag);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xFetch(ff->real, off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xUnfetch(ff->real, off, p);
}

static const sqlite3_io_methods fault_io = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_file_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_reserved,
    .xFileControl = f_file_control,
    .xSectorSize = f_sector_size,
    .xDeviceCharacteristics = f_device_characteristics,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    fault_file *ff = (fault_file *)f;
    int rc;

    (void)vfs;
    ff->real = (sqlite3_file *)(ff + 1);
    rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
    /* The real methods must be v3 (WAL's shared memory, mmap) for this wrapper to stand in. */
    ff->base.pMethods = ff->real->pMethods != NULL ? &fault_io : NULL;
    if (ff->real->pMethods != NULL)
        assert_true(ff->real->pMethods->iVersion >= 3);
    return rc;
}

static void install_fault_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(real_vfs);
    fault_vfs = *real_vfs; /* every other method is the real one's, with its pAppData */
    fault_vfs.zName = "mim-fault";
    fault_vfs.szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile;
    fault_vfs.xOpen = f_open;
    fault_vfs.pNext = NULL;
    assert_int_equal(sqlite3_vfs_register(&fault_vfs, 1), SQLITE_OK);
}

/* ---- the two stores and the core's transactions -----------------------------------------------
 */

typedef struct world {
    char dir[512], spath[600], rpath[600];
    mim_store *s, *r;
    uint8_t ids[NMSG][16];
    int accepted;           /* the send batch committed */
    uint8_t wire[NMSG][16]; /* what the flush put on the wire this round */
    size_t nwire;
    int acked[NMSG]; /* the receiver acked ids[i] (after a successful commit) */
    int survived;    /* the send's commit failed (fsync) but the batch is there */
} world;

static void open_stores(world *w)
{
    EXPECT_INT(mim_store_open(w->spath, MIM_STORE_PEER, &w->s), 0);
    EXPECT_INT(mim_store_open(w->rpath, MIM_STORE_PEER, &w->r), 0);
}

static void close_stores(world *w)
{
    mim_store_close(w->s);
    mim_store_close(w->r);
    w->s = w->r = NULL;
}

static void world_init(world *w, unsigned salt)
{
    memset(w, 0, sizeof(*w));
    mkdir(MIM_TEST_TMP, 0700);
    snprintf(w->dir, sizeof(w->dir), "%s/store-faults-XXXXXX", MIM_TEST_TMP);
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->spath, sizeof(w->spath), "%s/sender.db", w->dir);
    snprintf(w->rpath, sizeof(w->rpath), "%s/receiver.db", w->dir);
    for (unsigned i = 0; i < NMSG; i++) {
        memset(w->ids[i], 0x33, 16);
        w->ids[i][0] = (uint8_t)i;
        w->ids[i][1] = (uint8_t)salt;
        w->ids[i][2] = (uint8_t)(salt >> 8);
    }
    open_stores(w);
}

static void world_free(world *w)
{
    DIR *d = opendir(w->dir);
    struct dirent *e;
    char p[1200];

    close_stores(w);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", w->dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    assert_int_equal(rmdir(w->dir), 0);
}

/* mim_core_send x NMSG inside a batch, then mim_core_batch_end. */
static void do_send(world *w)
{
    int ok = mim_store_begin(w->s) == 0;

    for (unsigned i = 0; ok && i < NMSG; i++) {
        char text[32];
        snprintf(text, sizeof(text), "message %u", i);
        ok = mim_store_message_queue(w->s, RECEIVER, w->ids[i], 1000 + i, TEXT, text, strlen(text),
                                     NULL) == 0;
    }
    if (ok && mim_store_commit(w->s) == 0) {
        w->accepted = 1;
        return;
    }
    (void)mim_store_rollback(w->s); /* on_send_failed: the user is told, nothing is queued */
}

static int flush_one(const mim_message *m, void *arg)
{
    world *w = arg;

    if (m->state != MIM_MSG_QUEUED || w->nwire >= NMSG)
        return 0;
    memcpy(w->wire[w->nwire++], m->id, 16); /* chat_session_send_chat: on the wire */
    (void)mim_store_message_set_state(w->s, m->peer, m->id, MIM_MSG_SENT);
    return 0;
}

/* core_flush: the outbox in order, marked SENT in one relaxed group. */
static void do_flush(world *w)
{
    int began = mim_store_begin_relaxed(w->s) == 0;

    w->nwire = 0;
    (void)mim_store_outbox_each(w->s, RECEIVER, 128, flush_one, w);
    if (began && mim_store_commit(w->s) != 0)
        (void)mim_store_rollback(w->s);
}

static int id_index(const world *w, const uint8_t id[16])
{
    for (int i = 0; i < NMSG; i++)
        if (memcmp(w->ids[i], id, 16) == 0)
            return i;
    return -1;
}

/* core_on_message + core_on_batch_end; then core_on_ack + apply_delivered at the sender. */
static void do_receive_and_ack(world *w)
{
    int ok = w->nwire > 0 && mim_store_begin(w->r) == 0;
    int began;

    for (size_t i = 0; ok && i < w->nwire; i++) {
        char text[32];
        snprintf(text, sizeof(text), "message %d", id_index(w, w->wire[i]));
        ok = mim_store_message_receive(w->r, SENDER, w->wire[i], 1000 + id_index(w, w->wire[i]),
                                       TEXT, text, strlen(text)) >= 0;
    }
    if (w->nwire == 0)
        return;
    if (!ok || mim_store_commit(w->r) != 0) {
        (void)mim_store_rollback(w->r); /* not durable: no ack */
        return;
    }
    for (size_t i = 0; i < w->nwire; i++)
        w->acked[id_index(w, w->wire[i])] = 1;
    began = mim_store_begin_relaxed(w->s) == 0;
    for (size_t i = 0; i < w->nwire; i++)
        (void)mim_store_message_set_state(w->s, RECEIVER, w->wire[i], MIM_MSG_DELIVERED);
    if (began && mim_store_commit(w->s) != 0)
        (void)mim_store_rollback(w->s); /* the resend is acked again */
}

/* ---- what the stores hold ----------------------------------------------------------------------
 */

typedef struct tally {
    const world *w;
    int count[NMSG]; /* rows per id */
    int state[NMSG]; /* the last row's state */
    int foreign;     /* rows with an id we never made */
} tally;

static int tally_one(const mim_message *m, void *arg)
{
    tally *t = arg;
    int i = id_index(t->w, m->id);

    if (i < 0) {
        t->foreign++;
        return 0;
    }
    t->count[i]++;
    t->state[i] = m->state;
    return 0;
}

static void tally_history(const world *w, mim_store *st, const char *peer, tally *t)
{
    memset(t, 0, sizeof(*t));
    t->w = w;
    assert_true(mim_store_history_each(st, peer, 1000, tally_one, t) >= 0);
    EXPECT_INT(t->foreign, 0);
}

/* The exactly-once invariants after a failure and a restart; `where` names the fault. A failed
 * fsync leaves a commit's fate unknown (its WAL frames may be complete on disk: SQLite cannot
 * tell, and neither can we), so after a sync fault a send reported failed may still be there
 * after the restart: then all of its batch, once (w->survived), and it must be delivered
 * exactly once like any other. After a failed WRITE it must be nowhere. */
static void check_after_fault(world *w, const char *where, int sync_fault)
{
    tally s, r;

    tally_history(w, w->s, RECEIVER, &s);
    tally_history(w, w->r, SENDER, &r);
    for (int i = 0; i < NMSG; i++) {
        if (r.count[i] > 1 || s.count[i] > 1)
            fail_msg("%s: message %d stored %d times (receiver), %d (sender)", where, i, r.count[i],
                     s.count[i]);
        if (!w->accepted && s.count[i] != 0 && sync_fault)
            w->survived = 1;
        else if (!w->accepted && (s.count[i] != 0 || r.count[i] != 0))
            fail_msg("%s: message %d's send failed, yet it is stored", where, i);
        if (w->accepted && s.count[i] != 1)
            fail_msg("%s: message %d was accepted and is not in the sender's store", where, i);
        if (w->acked[i] && r.count[i] != 1)
            fail_msg("%s: message %d was acked and is not in the receiver's store", where, i);
        if (s.count[i] == 1 && s.state[i] == MIM_MSG_DELIVERED && r.count[i] != 1)
            fail_msg("%s: message %d is DELIVERED but the receiver does not hold it", where, i);
        if (s.count[i] == 1 && s.state[i] == MIM_MSG_DELIVERED && !w->acked[i])
            fail_msg("%s: message %d is DELIVERED without an ack", where, i);
    }
}

/* Start-up and resends, with no fault: everything accepted ends delivered, once. */
static void recover_and_check(world *w, const char *where)
{
    tally s, r;

    EXPECT_INT(mim_store_outbox_requeue(w->s, NULL), 0); /* as mim_core_start does */
    for (int round = 0; round < MAX_ROUNDS; round++) {
        do_flush(w);
        do_receive_and_ack(w);
    }
    tally_history(w, w->s, RECEIVER, &s);
    tally_history(w, w->r, SENDER, &r);
    for (int i = 0; i < NMSG; i++) {
        int want = w->accepted || w->survived ? 1 : 0;
        if (r.count[i] != want)
            fail_msg("%s: after recovery the receiver holds message %d %d times, not %d", where, i,
                     r.count[i], want);
        if (want && s.state[i] != MIM_MSG_DELIVERED)
            fail_msg("%s: after recovery message %d is in state %d, not DELIVERED", where, i,
                     s.state[i]);
    }
}

/* The search index holds exactly the stored messages, after a fault and the recovery: FTS5's
 * own integrity check against the messages table it indexes (every message here is text, so
 * every row must be in the index and nothing else). */
static void check_search_index(const char *path, const char *where)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db,
                     "INSERT INTO messages_fts(messages_fts, rank) VALUES('integrity-check', 1)",
                     NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: the search index of %s does not match its history: %s", where, path, err);
    sqlite3_close(db);
}

/* One run of the four transactions with step `n` failing as `kind` (n = 0: no fault); returns
 * the steps counted. */
static long run_once(long n, int kind, unsigned salt)
{
    world w;
    char where[96];
    long counted;

    world_init(&w, salt);
    steps = 0, fail_at = n, fail_kind = kind, failed = 0, armed = 1;
    do_send(&w);
    do_flush(&w);
    do_receive_and_ack(&w);
    armed = 0;
    counted = steps;
    snprintf(where, sizeof(where), "step %ld (%s)", n, kind_names[kind]);
    close_stores(&w); /* the process restarts */
    open_stores(&w);
    check_after_fault(&w, where, kind == FAULT_SYNC_IOERR);
    if (w.survived)
        survivors++;
    recover_and_check(&w, where);
    close_stores(&w);
    check_search_index(w.spath, where);
    check_search_index(w.rpath, where);
    open_stores(&w);
    world_free(&w);
    return counted;
}

static void test_fault_free_run_is_exactly_once(void **state)
{
    long total;

    (void)state;
    total = run_once(0, FAULT_WRITE_FULL, 0);
    /* Four transactions, two of them synced: several steps each. */
    assert_true(total >= 8);
    assert_true(total <= MAX_STEPS);
}

/* Every step of the send, flush, receive and ack transactions, each kind of fault. */
static void test_every_step_fails_once(void **state)
{
    long total = run_once(0, FAULT_WRITE_FULL, 1);
    long injected[FAULT_KINDS] = {0};
    unsigned salt = 2;

    (void)state;
    assert_true(total <= MAX_STEPS);
    for (int kind = 0; kind < FAULT_KINDS; kind++) {
        for (long n = 1; n <= total; n++) {
            (void)run_once(n, kind, salt++);
            injected[kind] += failed;
        }
    }
    /* The loop did inject faults of every kind (a wrapper that never fails proves nothing). */
    for (int kind = 0; kind < FAULT_KINDS; kind++)
        if (injected[kind] == 0)
            fail_msg("no %s fault was ever injected", kind_names[kind]);
    print_message("%ld steps per run; faults injected: %ld, %ld, %ld; sends reported failed "
                  "that survived a failed fsync: %ld\n",
                  total, injected[FAULT_WRITE_FULL], injected[FAULT_WRITE_IOERR],
                  injected[FAULT_SYNC_IOERR], survivors);
}

/* A fault in the receive transaction alone keeps the sender's message undelivered: the failed
 * commit sent no ack (the check that would catch an ack before the COMMIT). */
static void test_failed_receive_commit_sends_no_ack(void **state)
{
    world w;
    long before;
    int saw_unacked = 0;

    (void)state;
    /* The steps before the receive: send + flush, counted on a fault-free run. */
    world_init(&w, 900);
    steps = 0, fail_at = 0, failed = 0, armed = 1;
    do_send(&w);
    do_flush(&w);
    before = steps;
    do_receive_and_ack(&w);
    armed = 0;
    world_free(&w);
    for (long n = before + 1; n <= before + 6; n++) {
        world_init(&w, (unsigned)(901 + n));
        steps = 0, fail_at = n, fail_kind = FAULT_WRITE_IOERR, failed = 0, armed = 1;
        do_send(&w);
        do_flush(&w);
        do_receive_and_ack(&w);
        armed = 0;
        if (failed && !w.acked[0]) {
            tally s;
            saw_unacked = 1;
            tally_history(&w, w.s, RECEIVER, &s);
            for (int i = 0; i < NMSG; i++)
                assert_int_not_equal(s.state[i], MIM_MSG_DELIVERED);
        }
        world_free(&w);
    }
    assert_true(saw_unacked); /* some fault did hit the receive's commit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_free_run_is_exactly_once),
        cmocka_unit_test(test_every_step_fails_once),
        cmocka_unit_test(test_failed_receive_commit_sends_no_ack),
    };

    install_fault_vfs();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
