/* The storage door's common part: opening a store (the file, its pragmas, its migrations, its
 * prepared statements), closing it, and the transactions every program's tables run in. The
 * programs' tables live beside it: mim_store_registry.c (the presence server), mim_store_peer.c,
 * mim_store_contacts.c and mim_store_messages.c (the peer). */
#include "mim_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

/* How long a statement waits for a lock held by another process (an admin command) before it
 * gives up with SQLITE_BUSY. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Every kind of store this program can open, found by mim_store_open()'s kind. */
static const struct store_schema *const store_schemas[] = {
    &store_registry_schema,
    &store_peer_schema,
};

/* Not prepared statements: SQLite applies PRAGMA synchronous when it compiles it, so a prepared
 * one would take effect at prepare time, once. */
#define SYNC_FULL   "PRAGMA synchronous = FULL"
#define SYNC_NORMAL "PRAGMA synchronous = NORMAL"

const struct store_stmt_sql store_tx_sql[] = {
    /* IMMEDIATE takes the write lock at once, so a read-then-write transaction can never fail
     * half-way with SQLITE_BUSY when another connection wrote in between. */
    {STMT_BEGIN, "BEGIN IMMEDIATE"},
    {STMT_COMMIT, "COMMIT"},
    {STMT_ROLLBACK, "ROLLBACK"},
    {STMT__COUNT, NULL},
};

/* A peer operation that needs a transaction of its own takes a savepoint when the caller
 * already opened one with mim_store_begin() (see store_op_begin()). */
const struct store_stmt_sql store_savepoint_sql[] = {
    {STMT_SAVEPOINT, "SAVEPOINT mim_op"},
    {STMT_RELEASE, "RELEASE mim_op"},
    {STMT_ROLLBACK_TO, "ROLLBACK TO mim_op"},
    {STMT__COUNT, NULL},
};

/* ---- helpers --------------------------------------------------------------------------------- */

/* Logs the connection's last SQLite error and returns MIM_EDB. */
int store_fail(const mim_store *st, const char *what)
{
    mim_log_error("store %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
    return MIM_EDB;
}

static int store_exec(mim_store *st, const char *sql, const char *what)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(st, what);
    return 0;
}

/* Makes a statement ready for its next use. Clearing the bindings matters: they point into the
 * caller's memory (SQLITE_STATIC), which is gone once the call returns. */
void store_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Runs a prepared statement that returns no rows. */
int store_run(mim_store *st, enum store_stmt which, const char *what)
{
    sqlite3_stmt *stmt = st->stmt[which];
    int rc = 0;

    if (sqlite3_step(stmt) != SQLITE_DONE)
        rc = store_fail(st, what);
    store_reset(stmt);
    return rc;
}

/* Ends the open transaction, if any, without its changes. SQLite may have rolled back already
 * (some errors do that), in which case there is nothing left to do. */
void store_rollback(mim_store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        store_run(st, STMT_ROLLBACK, "rollback");
}

/* Reads an integer pragma such as "PRAGMA user_version" (not prepared: used at open only). */
static int store_pragma_int(mim_store *st, const char *sql, int *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return store_fail(st, sql);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *out = sqlite3_column_int(stmt, 0);
    else
        rc = store_fail(st, sql);
    sqlite3_finalize(stmt);
    return rc;
}

/* An existing store file (the database, or its -wal, -shm or -journal) must be ours and private:
 * a symlink or another user's file is refused; one that group or others could read is set to
 * 0600, and the log says so (a copy of the history may already have been read: the user should
 * know). A missing file is fine. */
static int store_secure_one(const char *path)
{
    struct stat sb;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        mim_log_error("store %s: %s", path,
                      errno == ELOOP ? "is a symbolic link; refused: put the file itself there"
                                     : strerror(errno));
        return errno == ELOOP ? MIM_EPERM : MIM_EDB;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        mim_log_error("store %s: not a regular file", path);
        rc = MIM_EDB;
    } else if (sb.st_uid != geteuid()) {
        mim_log_error("store %s: owned by another user (uid %u); refused", path,
                      (unsigned)sb.st_uid);
        rc = MIM_EPERM;
    } else if ((sb.st_mode & 077) != 0) {
        if (fchmod(fd, 0600) == 0) {
            mim_log_warn("store %s was readable by group or others (mode %03o); set to 0600", path,
                         (unsigned)(sb.st_mode & 0777));
        } else {
            mim_log_error("store %s: readable by group or others and cannot chmod it: %s", path,
                          strerror(errno));
            rc = MIM_EPERM;
        }
    }
    close(fd);
    return rc;
}

/* store_secure_one for the database and the files SQLite keeps beside it. */
static int store_secure_files(const char *path)
{
    static const char *const sidecars[] = {"", "-wal", "-shm", "-journal"};
    char side[4096];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < ARRAY_LEN(sidecars); i++) {
        if (snprintf(side, sizeof(side), "%s%s", path, sidecars[i]) >= (int)sizeof(side))
            return MIM_EDB;
        rc = store_secure_one(side);
    }
    return rc;
}

/* Creates the file with mode 0600 before SQLite sees it: SQLite would create it with 0644, and
 * it gives the -wal and -shm files the mode of the database file, so this covers all three. */
static int store_create_file(const char *path)
{
    int fd;

    /* O_EXCL so an existing file (or a symlink planted in its place) is never touched here. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        /* The umask can only remove bits; a umask such as 0277 would leave the file unwritable. */
        if (fchmod(fd, 0600) != 0) {
            mim_log_error("store %s: chmod: %s", path, strerror(errno));
            close(fd);
            return MIM_EDB;
        }
        close(fd);
        return 0;
    }
    if (errno != EEXIST) {
        mim_log_error("store %s: create: %s", path, strerror(errno));
        return MIM_EDB;
    }
    return store_secure_files(path);
}

/* Reads user_version and application_id and checks that this program can use the file. */
static int store_check_version(mim_store *st, int *version)
{
    const struct store_schema *schema = st->schema;
    int app_id = 0;
    int rc;

    rc = store_pragma_int(st, "PRAGMA user_version", version);
    if (rc == 0)
        rc = store_pragma_int(st, "PRAGMA application_id", &app_id);
    if (rc < 0)
        return rc;
    /* application_id 0 is a new file (or a foreign one that the first migration will trip on). */
    if ((app_id != 0 && app_id != schema->application_id) || (app_id == 0 && *version != 0)) {
        mim_log_error("store %s: not a store of this kind (application_id 0x%08x)", st->path,
                      (unsigned)app_id);
        return MIM_EINVAL;
    }
    if (*version < 0 || *version > schema->nmigrations) {
        mim_log_error("store %s: schema version %d is newer than this program knows (%d)", st->path,
                      *version, schema->nmigrations);
        return MIM_EINVAL;
    }
    return 0;
}

/* Applies the migration after *version in its own transaction, and advances *version. */
static int store_migrate_one(mim_store *st, int *version)
{
    const struct store_schema *schema = st->schema;
    char sql[64];
    int rc;

    rc = store_exec(st, "BEGIN IMMEDIATE", "begin migration");
    if (rc < 0)
        return rc;
    /* Look again under the write lock: another process (an admin command) may have migrated
     * the file since we read its version. */
    rc = store_check_version(st, version);
    if (rc < 0 || *version == schema->nmigrations)
        goto cleanup;
    rc = store_exec(st, schema->migrations[*version], "migration");
    if (rc < 0)
        goto cleanup;
    if (*version == 0) {
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", (int)schema->application_id);
        rc = store_exec(st, sql, "set application_id");
        if (rc < 0)
            goto cleanup;
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", *version + 1);
    rc = store_exec(st, sql, "set user_version");
    if (rc < 0)
        goto cleanup;
    rc = store_exec(st, "COMMIT", "commit migration");
    if (rc < 0)
        goto cleanup;
    *version += 1;
    mim_log_info("store %s: schema migrated to version %d", st->path, *version);

cleanup:
    if (!sqlite3_get_autocommit(st->db) &&
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        store_fail(st, "rollback migration");
    return rc;
}

static int store_migrate(mim_store *st)
{
    int version = 0;
    int rc;

    rc = store_check_version(st, &version);
    while (rc == 0 && version < st->schema->nmigrations)
        rc = store_migrate_one(st, &version);
    return rc;
}

/* The connection settings every store runs with. */
static int store_configure(mim_store *st)
{
    sqlite3_stmt *stmt = NULL;
    const char *mode;
    int rc = 0;

    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    /* Hardening: the file may have been edited by hand; no schema trick in it may run SQL
     * functions with side effects or corrupt the file through writable_schema. */
    sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

    /* WAL lets an admin command read and write while the server runs. The pragma answers with
     * the mode actually in force, which is not WAL on a file system without shared memory. */
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK)
        return store_fail(st, "journal_mode");
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = store_fail(st, "journal_mode");
        goto cleanup;
    }
    mode = (const char *)sqlite3_column_text(stmt, 0);
    if (mode == NULL || strcmp(mode, "wal") != 0) {
        mim_log_error("store %s: journal_mode is %s, not wal", st->path, mode ? mode : "unknown");
        rc = MIM_EDB;
        goto cleanup;
    }
    /* FULL: a transaction is on disk when COMMIT returns, so whatever was acknowledged after it
     * survives a power cut (in WAL mode NORMAL could lose the last commits). */
    rc = store_exec(st, SYNC_FULL, "synchronous");
    if (rc == 0)
        rc = store_exec(st, "PRAGMA foreign_keys = ON", "foreign_keys");
    /* The settings of the store's kind, such as the registry's small page cache. */
    if (rc == 0 && st->schema->pragma != NULL)
        rc = store_exec(st, st->schema->pragma, st->schema->pragma);

cleanup:
    sqlite3_finalize(stmt);
    return rc;
}

/* Prepares the statements the store's schema lists, and those only: the other kinds' tables are
 * not in this file. */
static int store_prepare(mim_store *st)
{
    const struct store_stmt_sql *const *table;
    const struct store_stmt_sql *q;

    for (table = st->schema->stmts; *table != NULL; table++) {
        for (q = *table; q->sql != NULL; q++) {
            if (sqlite3_prepare_v3(st->db, q->sql, -1, SQLITE_PREPARE_PERSISTENT,
                                   &st->stmt[q->which], NULL) != SQLITE_OK)
                return store_fail(st, q->sql);
        }
    }
    return 0;
}

static const struct store_schema *store_schema_find(enum mim_store_kind kind)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(store_schemas); i++)
        if (store_schemas[i]->kind == kind)
            return store_schemas[i];
    return NULL;
}

/* ---- open / close ---------------------------------------------------------------------------- */

/* Opens st->path with SQLite, then its settings, its migrations and its statements. */
static int store_open_db(mim_store *st)
{
    int rc;

    /* NOFOLLOW: a symlink put where the store should be must not redirect it (and could name a
     * file that SQLite would then create with its default mode). SQLite refuses a symlink
     * anywhere in the path with it: the programs give a resolved data dir (mim_datadir.c). One
     * thread uses a store. */
    if (sqlite3_open_v2(st->path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK)
        return st->db != NULL ? store_fail(st, "open") : MIM_ENOMEM;
    rc = store_configure(st);
    if (rc == 0 && st->schema->functions != NULL)
        rc = st->schema->functions(st);
    if (rc == 0)
        rc = store_migrate(st);
    if (rc == 0)
        rc = store_prepare(st);
    return rc;
}

int mim_store_open(const char *path, enum mim_store_kind kind, mim_store **out)
{
    const struct store_schema *schema = store_schema_find(kind);
    mim_store *st = NULL;
    mode_t old_mask;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL || schema == NULL)
        return MIM_EINVAL;

    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return MIM_ENOMEM;
    st->schema = schema;
    st->path = strdup(path);
    if (st->path == NULL) {
        rc = MIM_ENOMEM;
        goto cleanup;
    }

    /* Whatever SQLite creates while the store opens (the -wal, -shm or a -journal) is for the
     * owner alone, whatever the user's umask; the programs are single-threaded here. */
    old_mask = umask(077);
    rc = store_create_file(path);
    if (rc == 0)
        rc = store_open_db(st);
    umask(old_mask);

cleanup:
    if (rc < 0) {
        mim_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void mim_store_close(mim_store *st)
{
    size_t i;

    if (st == NULL)
        return;
    for (i = 0; i < STMT__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    /* Every statement is finalized, so this cannot fail with SQLITE_BUSY; the last connection
     * to close checkpoints the WAL into the database file. */
    if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
        store_fail(st, "close");
    free(st->path);
    free(st);
}

int mim_store_schema_version(mim_store *st)
{
    int version = 0;
    int rc;

    if (st == NULL)
        return MIM_EINVAL;
    rc = store_pragma_int(st, "PRAGMA user_version", &version);
    return rc < 0 ? rc : version;
}

/* ---- transactions ---------------------------------------------------------------------------- */

/* Back to FULL after a relaxed transaction. If that fails the connection stays at NORMAL, and
 * every later commit could be lost to a power cut: such a store is not trusted any more. */
static void store_end_relaxed(mim_store *st)
{
    if (!st->relaxed)
        return;
    if (store_exec(st, SYNC_FULL, "synchronous") == 0)
        st->relaxed = 0;
    else
        mim_log_error("store %s: cannot go back to synchronous=FULL", st->path);
}

int store_is_peer(const mim_store *st)
{
    return st != NULL && st->schema->kind == MIM_STORE_PEER;
}

/* SQLite rolls a transaction back by itself after some errors (a full disk, an I/O error).
 * Inside mim_store_begin() that would let later writes run, and commit, one by one while the
 * caller believes them part of its group: refuse them until the caller ends the transaction. */
int store_tx_check(mim_store *st)
{
    if (!st->in_tx && st->relaxed) {
        store_end_relaxed(st); /* a failed return to FULL, tried again */
        if (st->relaxed)
            return MIM_EDB;
    }
    if (st->in_tx && sqlite3_get_autocommit(st->db)) {
        mim_log_error("store %s: the open transaction was rolled back after an error", st->path);
        return MIM_EDB;
    }
    return 0;
}

/* Starts an operation that must be atomic on its own (read, then write): a write transaction,
 * or a savepoint inside the caller's transaction. IMMEDIATE takes the write lock before the
 * read, so another connection cannot change the row in between. */
int store_op_begin(mim_store *st, const char *what)
{
    int rc = store_tx_check(st);

    if (rc < 0)
        return rc;
    return store_run(st, st->in_tx ? STMT_SAVEPOINT : STMT_BEGIN, what);
}

/* Ends what store_op_begin() started: keeps its changes when rc >= 0 (and returns rc, or the
 * commit's error), drops them otherwise (and returns rc). */
int store_op_end(mim_store *st, int rc, const char *what)
{
    int err;

    if (st->in_tx) {
        if (rc < 0 && !sqlite3_get_autocommit(st->db))
            store_run(st, STMT_ROLLBACK_TO, what);
        /* RELEASE removes the savepoint either way (after ROLLBACK TO it keeps nothing). */
        if (!sqlite3_get_autocommit(st->db)) {
            err = store_run(st, STMT_RELEASE, what);
            if (rc >= 0 && err < 0)
                rc = err;
        }
        return rc;
    }
    if (rc >= 0) {
        err = store_run(st, STMT_COMMIT, what);
        if (err == 0)
            return rc;
        rc = err;
    }
    store_rollback(st);
    return rc;
}
/* Both kinds of transaction. synchronous can only change outside a transaction: a relaxed one
 * sets it before BEGIN, and store_end_relaxed() puts it back to FULL once the transaction has
 * ended, whichever way it ended. */
static int store_begin(mim_store *st, int relaxed)
{
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if (st->in_tx)
        return MIM_ESTATE;
    if ((rc = store_tx_check(st)) != 0)
        return rc;
    if (relaxed) {
        if ((rc = store_exec(st, SYNC_NORMAL, "synchronous")) != 0)
            return rc;
        st->relaxed = 1;
    }
    if ((rc = store_run(st, STMT_BEGIN, "begin")) != 0) {
        store_end_relaxed(st);
        return rc;
    }
    st->in_tx = 1;
    return 0;
}

int mim_store_begin(mim_store *st)
{
    return store_begin(st, 0);
}

int mim_store_begin_relaxed(mim_store *st)
{
    return store_begin(st, 1);
}

int mim_store_synchronous(mim_store *st)
{
    int level = -1;
    int rc;

    if (st == NULL)
        return MIM_EINVAL;
    rc = store_pragma_int(st, "PRAGMA synchronous", &level);
    return rc < 0 ? rc : level;
}

/* On failure nothing of the transaction is kept: the caller must not acknowledge any of it. */
int mim_store_commit(mim_store *st)
{
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if (!st->in_tx)
        return MIM_ESTATE;
    st->in_tx = 0;
    /* If SQLite rolled the transaction back after an error, COMMIT fails ("no transaction is
     * active"): the right answer, since part of the group is lost. */
    rc = store_run(st, STMT_COMMIT, "commit");
    if (rc < 0)
        store_rollback(st);
    store_end_relaxed(st);
    return rc;
}

int mim_store_rollback(mim_store *st)
{
    int rc = 0;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if (!st->in_tx)
        return MIM_ESTATE;
    st->in_tx = 0;
    if (!sqlite3_get_autocommit(st->db)) /* else SQLite has rolled it back already */
        rc = store_run(st, STMT_ROLLBACK, "rollback");
    store_end_relaxed(st);
    return rc;
}

/* ---- walking a statement's rows -------------------------------------------------------------- */

/* A statement still running belongs to an iteration whose callback is calling back in: running
 * it again would pull the rows out from under that iteration. */
int store_stmt_idle(mim_store *st, enum store_stmt which)
{
    if (sqlite3_stmt_busy(st->stmt[which])) {
        mim_log_error("store %s: an iteration was re-entered from its own callback", st->path);
        return MIM_ESTATE;
    }
    return 0;
}

/* Steps stmt (bound, idle) through its rows, calling visit on each; stops at the first
 * non-zero value visit returns and returns it. A step error is MIM_EDB, logged with `what`.
 * Resets stmt on every path. */
int store_walk(mim_store *st, sqlite3_stmt *stmt, const char *what,
               int (*visit)(mim_store *st, sqlite3_stmt *row, void *ctx), void *ctx)
{
    int rc = 0;

    for (;;) {
        int step = sqlite3_step(stmt);

        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, what);
            break;
        }
        if ((rc = visit(st, stmt, ctx)) != 0)
            break;
    }
    store_reset(stmt);
    return rc;
}
