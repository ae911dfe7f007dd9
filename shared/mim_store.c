/* The only door to SQLite (see mim_store.h). Everything SQL lives in this file: the schemas and
 * their migrations, the pragmas every store runs with, and the prepared statements. */
#include "mim_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mim_error.h"
#include "mim_log.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* How long a statement waits for a lock held by another process (an admin command) before it
 * gives up with SQLITE_BUSY. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* ---- schemas ---------------------------------------------------------------------------------
 *
 * migrations[i] takes a file from user_version i to i + 1, so the newest version a program
 * knows is the length of its kind's list. Never edit or reorder a migration that has shipped:
 * files in the field are already past it. To change a schema, append one. A new store kind
 * (the peer's) adds its enum value in mim_store.h, a list here and a row in store_schemas. */

static const char *const presence_migrations[] = {
    /* 1: the name registry, first come first served. */
    "CREATE TABLE names("
    " name TEXT NOT NULL PRIMARY KEY,"
    " identity_pk BLOB NOT NULL CHECK(length(identity_pk) = 32),"
    " registered_at INTEGER NOT NULL"
    ");",
};

struct store_schema {
    enum mim_store_kind kind;
    /* PRAGMA application_id, written with the first migration, so that a store of one kind (or
     * some other program's SQLite file) is never taken for a store of another. */
    int32_t application_id;
    const char *const *migrations;
    int nmigrations;
};

static const struct store_schema store_schemas[] = {
    {MIM_STORE_PRESENCE, 0x6d696d70 /* "mimp" */, presence_migrations,
     (int)ARRAY_LEN(presence_migrations)},
};

/* ---- prepared statements -------------------------------------------------------------------
 *
 * Prepared once at open and kept: the name operations run on every login. */

enum store_stmt {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_NAME_SELECT,
    STMT_NAME_INSERT,
    STMT_NAME_DELETE,
    STMT_NAME_COUNT,
    STMT__COUNT,
};

static const struct {
    int kind; /* the store kind that has the tables it uses; 0 for every kind */
    const char *sql;
} store_stmt_sql[STMT__COUNT] = {
    /* IMMEDIATE takes the write lock at once, so a read-then-write transaction can never fail
     * half-way with SQLITE_BUSY when another connection wrote in between. */
    [STMT_BEGIN] = {0, "BEGIN IMMEDIATE"},
    [STMT_COMMIT] = {0, "COMMIT"},
    [STMT_ROLLBACK] = {0, "ROLLBACK"},
    [STMT_NAME_SELECT] = {MIM_STORE_PRESENCE, "SELECT identity_pk FROM names WHERE name = ?1"},
    [STMT_NAME_INSERT] = {MIM_STORE_PRESENCE,
                          "INSERT INTO names(name, identity_pk, registered_at) VALUES(?1, ?2, ?3)"},
    [STMT_NAME_DELETE] = {MIM_STORE_PRESENCE, "DELETE FROM names WHERE name = ?1"},
    [STMT_NAME_COUNT] = {MIM_STORE_PRESENCE, "SELECT count(*) FROM names"},
};

struct mim_store {
    sqlite3 *db;
    const struct store_schema *schema;
    char *path; /* for log lines */
    sqlite3_stmt *stmt[STMT__COUNT];
};

/* ---- helpers --------------------------------------------------------------------------------- */

/* Logs the connection's last SQLite error and returns MIM_EDB. */
static int store_fail(const mim_store *st, const char *what)
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
static void store_reset(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Runs a prepared statement that returns no rows. */
static int store_run(mim_store *st, enum store_stmt which, const char *what)
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
static void store_rollback(mim_store *st)
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

/* Creates the file with mode 0600 before SQLite sees it: SQLite would create it with 0644, and
 * it gives the -wal and -shm files the mode of the database file, so this covers all three. */
static int store_create_file(const char *path)
{
    struct stat sb;
    int fd;

    /* O_EXCL so an existing file (or a symlink planted in its place) is never touched here. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
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
    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0)
        mim_log_warn("store %s: readable by group or others (mode %03o); chmod 600 advised", path,
                     (unsigned)(sb.st_mode & 0777));
    return 0;
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
    rc = store_exec(st, "PRAGMA synchronous = FULL", "synchronous");
    if (rc == 0)
        rc = store_exec(st, "PRAGMA foreign_keys = ON", "foreign_keys");

cleanup:
    sqlite3_finalize(stmt);
    return rc;
}

static int store_prepare(mim_store *st)
{
    size_t i;

    for (i = 0; i < STMT__COUNT; i++) {
        if (store_stmt_sql[i].kind != 0 && store_stmt_sql[i].kind != (int)st->schema->kind)
            continue;
        if (sqlite3_prepare_v3(st->db, store_stmt_sql[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               &st->stmt[i], NULL) != SQLITE_OK)
            return store_fail(st, store_stmt_sql[i].sql);
    }
    return 0;
}

static const struct store_schema *store_schema_find(enum mim_store_kind kind)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(store_schemas); i++)
        if (store_schemas[i].kind == kind)
            return &store_schemas[i];
    return NULL;
}

/* ---- open / close ---------------------------------------------------------------------------- */

int mim_store_open(const char *path, enum mim_store_kind kind, mim_store **out)
{
    const struct store_schema *schema = store_schema_find(kind);
    mim_store *st = NULL;
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

    rc = store_create_file(path);
    if (rc < 0)
        goto cleanup;
    /* NOFOLLOW: a symlink put where the store should be must not redirect it (and could name a
     * file that SQLite would then create with its default mode). One thread uses a store. */
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        if (st->db != NULL)
            rc = store_fail(st, "open");
        else
            rc = MIM_ENOMEM;
        goto cleanup;
    }
    rc = store_configure(st);
    if (rc == 0)
        rc = store_migrate(st);
    if (rc == 0)
        rc = store_prepare(st);

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

/* ---- presence: the name registry ------------------------------------------------------------- */

int mim_store_name_claim(mim_store *st, const char *name, const uint8_t identity_pk[32],
                         int64_t now)
{
    sqlite3_stmt *sel, *ins;
    int rc;

    if (st == NULL || name == NULL || identity_pk == NULL || st->schema->kind != MIM_STORE_PRESENCE)
        return MIM_EINVAL;
    sel = st->stmt[STMT_NAME_SELECT];
    ins = st->stmt[STMT_NAME_INSERT];

    /* Look and insert in one write transaction: two servers (or a server and an admin command)
     * claiming the same free name at once must not both get MIM_NAME_REGISTERED. */
    rc = store_run(st, STMT_BEGIN, "claim: begin");
    if (rc < 0)
        return rc;

    if (sqlite3_bind_text(sel, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = store_fail(st, "claim: bind");
        goto cleanup;
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        /* A public key is no secret: a plain memcmp leaks nothing worth hiding. */
        rc = sqlite3_column_bytes(sel, 0) == 32 &&
                     memcmp(sqlite3_column_blob(sel, 0), identity_pk, 32) == 0
                 ? MIM_NAME_SAME_KEY
                 : MIM_ETAKEN;
        break;
    case SQLITE_DONE:
        rc = MIM_NAME_REGISTERED;
        break;
    default:
        rc = store_fail(st, "claim: select");
        break;
    }
    store_reset(sel);
    if (rc != MIM_NAME_REGISTERED)
        goto cleanup; /* nothing was written: the rollback below just ends the transaction */

    if (sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(ins, 2, identity_pk, 32, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(ins, 3, now) != SQLITE_OK) {
        store_reset(ins);
        rc = store_fail(st, "claim: bind");
        goto cleanup;
    }
    rc = store_run(st, STMT_NAME_INSERT, "claim: insert");
    if (rc == 0)
        rc = store_run(st, STMT_COMMIT, "claim: commit");
    if (rc == 0)
        return MIM_NAME_REGISTERED;

cleanup:
    store_rollback(st);
    return rc;
}

int mim_store_name_free(mim_store *st, const char *name)
{
    sqlite3_stmt *del;
    int rc;

    if (st == NULL || name == NULL || st->schema->kind != MIM_STORE_PRESENCE)
        return MIM_EINVAL;
    del = st->stmt[STMT_NAME_DELETE];
    if (sqlite3_bind_text(del, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(del);
        return store_fail(st, "free: bind");
    }
    rc = store_run(st, STMT_NAME_DELETE, "free: delete");
    if (rc < 0)
        return rc;
    /* One statement in autocommit mode: its change count is this delete's alone. */
    return sqlite3_changes(st->db) > 0 ? 0 : MIM_ENOENT;
}

int64_t mim_store_name_count(mim_store *st)
{
    sqlite3_stmt *cnt;
    int64_t n;

    if (st == NULL || st->schema->kind != MIM_STORE_PRESENCE)
        return MIM_EINVAL;
    cnt = st->stmt[STMT_NAME_COUNT];
    if (sqlite3_step(cnt) != SQLITE_ROW) {
        n = store_fail(st, "count");
    } else {
        n = sqlite3_column_int64(cnt, 0);
    }
    store_reset(cnt);
    return n;
}
