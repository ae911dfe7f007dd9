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

static const char *const peer_migrations[] = {
    /* 1: contacts and their pins, the server pin, history and outbox. Keys are checked for type
     * as well as length: length() of a TEXT value counts characters, not bytes. */
    "CREATE TABLE contacts("
    " name TEXT NOT NULL PRIMARY KEY,"
    " identity_pk BLOB NOT NULL"
    "  CHECK(typeof(identity_pk) = 'blob' AND length(identity_pk) = 32),"
    " first_seen INTEGER NOT NULL,"
    " verified INTEGER NOT NULL DEFAULT 0 CHECK(verified IN (0, 1)),"
    " pending_pk BLOB"
    "  CHECK(pending_pk IS NULL OR (typeof(pending_pk) = 'blob' AND length(pending_pk) = 32))"
    ");"
    /* A table of its own, with at most one row, rather than a reserved name in contacts: no
     * user name can ever collide with the server's pin. */
    "CREATE TABLE server_pin("
    " id INTEGER PRIMARY KEY CHECK(id = 1),"
    " identity_pk BLOB NOT NULL"
    "  CHECK(typeof(identity_pk) = 'blob' AND length(identity_pk) = 32),"
    " first_seen INTEGER NOT NULL,"
    " pending_pk BLOB"
    "  CHECK(pending_pk IS NULL OR (typeof(pending_pk) = 'blob' AND length(pending_pk) = 32))"
    ");"
    /* AUTOINCREMENT: a seq is never reused, even after the newest row is deleted, so the
     * outbox order can never put a new message before an older one. The body is a BLOB with
     * its explicit length: text may hold any byte, and nothing is lost to a NUL. Exactly once:
     * (peer, id) is unique per direction, so a resend of a received message is dropped by id. */
    "CREATE TABLE messages("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " peer TEXT NOT NULL,"
    " id BLOB NOT NULL CHECK(typeof(id) = 'blob' AND length(id) = 16),"
    " outgoing INTEGER NOT NULL CHECK(outgoing IN (0, 1)),"
    " ts_ms INTEGER NOT NULL,"
    " content_type INTEGER NOT NULL,"
    " body BLOB NOT NULL CHECK(typeof(body) = 'blob'),"
    " state INTEGER NOT NULL"
    "  CHECK((outgoing = 1 AND state IN (0, 1, 2)) OR (outgoing = 0 AND state = 3)),"
    " UNIQUE(peer, id, outgoing)"
    ");"
    /* The outbox: a partial index holding only the messages still to deliver, so finding them
     * costs the same however long the history grows. Queries use it only when their WHERE
     * repeats the index's condition word for word (see STMT_OUTBOX_*). */
    "CREATE INDEX messages_outbox ON messages(peer, seq) WHERE outgoing = 1 AND state IN (0, 1);"
    "CREATE INDEX messages_history ON messages(peer, seq);",
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
    {MIM_STORE_PEER, 0x6d696d71 /* "mimq" */, peer_migrations, (int)ARRAY_LEN(peer_migrations)},
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
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    STMT_CONTACT_SELECT,
    STMT_CONTACT_INSERT,
    STMT_CONTACT_SET_PENDING,
    STMT_CONTACT_TRUST,
    STMT_CONTACT_SET_VERIFIED,
    STMT_CONTACT_EACH,
    STMT_SERVER_SELECT,
    STMT_SERVER_INSERT,
    STMT_SERVER_SET_PENDING,
    STMT_SERVER_TRUST,
    STMT_MSG_QUEUE,
    STMT_MSG_RECEIVE,
    STMT_MSG_SET_STATE,
    STMT_MSG_OUTGOING,
    STMT_OUTBOX_REQUEUE_PEER,
    STMT_OUTBOX_REQUEUE_ALL,
    STMT_OUTBOX_NEXT,
    STMT_OUTBOX_NEXT_PEER,
    STMT_HISTORY,
    STMT__COUNT,
};

/* The SQL below writes message states as numbers. */
_Static_assert(MIM_MSG_QUEUED == 0 && MIM_MSG_SENT == 1 && MIM_MSG_DELIVERED == 2 &&
                   MIM_MSG_RECEIVED == 3,
               "message states are stored as these numbers");

/* Not prepared statements: SQLite applies PRAGMA synchronous when it compiles it, so a prepared
 * one would take effect at prepare time, once. */
#define SYNC_FULL   "PRAGMA synchronous = FULL"
#define SYNC_NORMAL "PRAGMA synchronous = NORMAL"

/* The columns every message query returns, in the order store_row_message() reads them. */
#define MESSAGE_COLUMNS "seq, peer, id, outgoing, ts_ms, content_type, body, state"

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
    /* A peer operation that needs a transaction of its own takes a savepoint when the caller
     * already opened one with mim_store_begin() (see store_op_begin()). */
    [STMT_SAVEPOINT] = {MIM_STORE_PEER, "SAVEPOINT mim_op"},
    [STMT_RELEASE] = {MIM_STORE_PEER, "RELEASE mim_op"},
    [STMT_ROLLBACK_TO] = {MIM_STORE_PEER, "ROLLBACK TO mim_op"},
    /* Pins: the contact and server statements take the same parameters (?1 the name, unused
     * for the server; ?2 a key; ?3 a time) so that store_pin_check() serves both. */
    [STMT_CONTACT_SELECT] = {MIM_STORE_PEER, "SELECT name, identity_pk, first_seen, verified,"
                                             " pending_pk FROM contacts WHERE name = ?1"},
    [STMT_CONTACT_INSERT] = {MIM_STORE_PEER, "INSERT INTO contacts(name, identity_pk, first_seen)"
                                             " VALUES(?1, ?2, ?3)"},
    [STMT_CONTACT_SET_PENDING] = {MIM_STORE_PEER,
                                  "UPDATE contacts SET pending_pk = ?2 WHERE name = ?1"},
    [STMT_CONTACT_TRUST] = {MIM_STORE_PEER,
                            "UPDATE contacts SET identity_pk = pending_pk, pending_pk = NULL,"
                            " verified = 0 WHERE name = ?1 AND pending_pk IS NOT NULL"},
    [STMT_CONTACT_SET_VERIFIED] = {MIM_STORE_PEER,
                                   "UPDATE contacts SET verified = ?2 WHERE name = ?1"},
    [STMT_CONTACT_EACH] = {MIM_STORE_PEER, "SELECT name, identity_pk, first_seen, verified,"
                                           " pending_pk FROM contacts ORDER BY name"},
    [STMT_SERVER_SELECT] = {MIM_STORE_PEER, "SELECT NULL, identity_pk, first_seen, 0, pending_pk"
                                            " FROM server_pin WHERE id = 1"},
    [STMT_SERVER_INSERT] = {MIM_STORE_PEER, "INSERT INTO server_pin(id, identity_pk, first_seen)"
                                            " VALUES(1, ?2, ?3)"},
    [STMT_SERVER_SET_PENDING] = {MIM_STORE_PEER,
                                 "UPDATE server_pin SET pending_pk = ?2 WHERE id = 1"},
    [STMT_SERVER_TRUST] = {MIM_STORE_PEER,
                           "UPDATE server_pin SET identity_pk = pending_pk, pending_pk = NULL"
                           " WHERE id = 1 AND pending_pk IS NOT NULL"},
    /* Messages. Queue fails on a duplicate (peer, id); receive ignores one, and only that
     * conflict: any other constraint still fails loudly. */
    [STMT_MSG_QUEUE] = {MIM_STORE_PEER,
                        "INSERT INTO messages(peer, id, outgoing, ts_ms, content_type, body, state)"
                        " VALUES(?1, ?2, 1, ?3, ?4, ?5, 0)"},
    [STMT_MSG_RECEIVE] = {MIM_STORE_PEER,
                          "INSERT INTO messages(peer, id, outgoing, ts_ms, content_type, body,"
                          " state) VALUES(?1, ?2, 0, ?3, ?4, ?5, 3)"
                          " ON CONFLICT(peer, id, outgoing) DO NOTHING"},
    /* States only move forward (QUEUED < SENT < DELIVERED), so a late SENT never undoes
     * DELIVERED, and a row already at (or past) the state is not changed: a repeated ack is no
     * news. STMT_MSG_OUTGOING then tells "unchanged" from "not an outgoing message". */
    [STMT_MSG_SET_STATE] = {MIM_STORE_PEER, "UPDATE messages SET state = ?3"
                                            " WHERE peer = ?1 AND id = ?2 AND outgoing = 1"
                                            " AND state < ?3"},
    [STMT_MSG_OUTGOING] = {MIM_STORE_PEER, "SELECT 1 FROM messages"
                                           " WHERE peer = ?1 AND id = ?2 AND outgoing = 1"},
    /* The "state IN (0, 1)" terms repeat the partial index's condition so that the planner can
     * use messages_outbox; without them it scans the whole history. */
    [STMT_OUTBOX_REQUEUE_PEER] = {MIM_STORE_PEER,
                                  "UPDATE messages SET state = 0 WHERE peer = ?1 AND outgoing = 1"
                                  " AND state IN (0, 1) AND state = 1"},
    [STMT_OUTBOX_REQUEUE_ALL] = {MIM_STORE_PEER, "UPDATE messages SET state = 0 WHERE outgoing = 1"
                                                 " AND state IN (0, 1) AND state = 1"},
    /* The outbox is walked one row per query, after the last seq (or name) seen: a callback
     * may change the state of the message it is handed (mark it SENT, or DELIVERED) without
     * disturbing the walk, and every message is seen once, in order. */
    [STMT_OUTBOX_NEXT] =
        {MIM_STORE_PEER, "SELECT " MESSAGE_COLUMNS " FROM messages WHERE peer = ?1"
                         " AND outgoing = 1 AND state IN (0, 1) AND seq > ?2 ORDER BY seq LIMIT 1"},
    [STMT_OUTBOX_NEXT_PEER] = {MIM_STORE_PEER,
                               "SELECT peer FROM messages WHERE outgoing = 1 AND state IN (0, 1)"
                               " AND peer > ?1 ORDER BY peer LIMIT 1"},
    /* The newest `limit` rows, handed out oldest first. The outer sort reads the whole inner
     * result before the first row comes out. */
    [STMT_HISTORY] = {MIM_STORE_PEER, "SELECT " MESSAGE_COLUMNS " FROM (SELECT " MESSAGE_COLUMNS
                                      " FROM messages WHERE peer = ?1 ORDER BY seq DESC LIMIT ?2)"
                                      " ORDER BY seq"},
};

struct mim_store {
    sqlite3 *db;
    const struct store_schema *schema;
    char *path; /* for log lines */
    sqlite3_stmt *stmt[STMT__COUNT];
    int in_tx; /* mim_store_begin() opened a transaction that is not yet committed or rolled back */
    int relaxed; /* that transaction came from mim_store_begin_relaxed(): synchronous is NORMAL */
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
    rc = store_exec(st, SYNC_FULL, "synchronous");
    if (rc == 0)
        rc = store_exec(st, "PRAGMA foreign_keys = ON", "foreign_keys");
    /* The name registry is read once per login, by name: a small cache (16 KiB, 4 pages) keeps
     * the b-trees' roots and lets the leaves come from the OS's page cache (a pread each), so
     * the server's memory does not grow with every name it has ever looked up (SQLite's default
     * is 2 MiB). */
    if (rc == 0 && st->schema->kind == MIM_STORE_PRESENCE)
        rc = store_exec(st, "PRAGMA cache_size = -16", "cache_size");

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

/* ---- peer: helpers --------------------------------------------------------------------------- */

/* The longest name the peer stores, in bytes: mim_contact.name and mim_message.peer hold it
 * with its NUL. */
#define STORE_NAME_MAX 128
_Static_assert(sizeof(((mim_contact *)0)->name) == STORE_NAME_MAX + 1, "contact name size");
_Static_assert(sizeof(((mim_message *)0)->peer) == STORE_NAME_MAX + 1, "message peer size");

static int store_name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strnlen(name, STORE_NAME_MAX + 1);
    return n > 0 && n <= STORE_NAME_MAX;
}

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

static int store_is_peer(const mim_store *st)
{
    return st != NULL && st->schema->kind == MIM_STORE_PEER;
}

/* SQLite rolls a transaction back by itself after some errors (a full disk, an I/O error).
 * Inside mim_store_begin() that would let later writes run, and commit, one by one while the
 * caller believes them part of its group: refuse them until the caller ends the transaction. */
static int store_tx_check(mim_store *st)
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
static int store_op_begin(mim_store *st, const char *what)
{
    int rc = store_tx_check(st);

    if (rc < 0)
        return rc;
    return store_run(st, st->in_tx ? STMT_SAVEPOINT : STMT_BEGIN, what);
}

/* Ends what store_op_begin() started: keeps its changes when rc >= 0 (and returns rc, or the
 * commit's error), drops them otherwise (and returns rc). */
static int store_op_end(mim_store *st, int rc, const char *what)
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

/* Binds ?1 to a name, unless name is NULL (the server pin's statements have no ?1). */
static int store_bind_name(sqlite3_stmt *stmt, const char *name)
{
    if (name == NULL)
        return SQLITE_OK;
    return sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
}

/* Binds a text body as a BLOB of exactly text_len bytes; an empty body is an empty BLOB, not
 * NULL (sqlite3_bind_blob() makes NULL of a NULL pointer). */
static int store_bind_body(sqlite3_stmt *stmt, int idx, const char *text, size_t text_len)
{
    return sqlite3_bind_blob(stmt, idx, text_len > 0 ? text : "", (int)text_len, SQLITE_STATIC);
}

/* Copies a TEXT column of at most 128 bytes into a 129-byte buffer. MIM_EDB for anything else
 * (a file edited by hand). */
static int store_column_name(mim_store *st, sqlite3_stmt *stmt, int col, char *out, size_t outlen)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    int n = sqlite3_column_bytes(stmt, col);

    if (text == NULL || n <= 0 || (size_t)n >= outlen) {
        mim_log_error("store %s: a stored name is empty or too long (%d bytes)", st->path, n);
        return MIM_EDB;
    }
    memcpy(out, text, (size_t)n);
    out[n] = '\0';
    return 0;
}

/* Reads a 32-byte key column into out: 1 when present, 0 when NULL, MIM_EDB when malformed. */
static int store_column_key(mim_store *st, sqlite3_stmt *stmt, int col, uint8_t out[32])
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
        memset(out, 0, 32);
        return 0;
    }
    if (sqlite3_column_bytes(stmt, col) != 32 || sqlite3_column_blob(stmt, col) == NULL) {
        mim_log_error("store %s: a stored key is not 32 bytes", st->path);
        return MIM_EDB;
    }
    memcpy(out, sqlite3_column_blob(stmt, col), 32);
    return 1;
}

/* A contact row (name, identity_pk, first_seen, verified, pending_pk); the server pin's row has
 * a NULL name, left empty. */
static int store_row_contact(mim_store *st, sqlite3_stmt *stmt, mim_contact *c)
{
    int rc;

    memset(c, 0, sizeof(*c));
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        rc = store_column_name(st, stmt, 0, c->name, sizeof(c->name));
        if (rc < 0)
            return rc;
    }
    rc = store_column_key(st, stmt, 1, c->identity_pk);
    if (rc == 0) {
        mim_log_error("store %s: a pin without a key", st->path);
        return MIM_EDB;
    }
    if (rc < 0)
        return rc;
    c->first_seen = sqlite3_column_int64(stmt, 2);
    c->verified = sqlite3_column_int(stmt, 3) != 0;
    rc = store_column_key(st, stmt, 4, c->pending_pk);
    if (rc < 0)
        return rc;
    c->has_pending = rc;
    return 0;
}

/* A message row (MESSAGE_COLUMNS). m->text points into the statement: valid until its next
 * step or reset. */
static int store_row_message(mim_store *st, sqlite3_stmt *stmt, mim_message *m)
{
    const void *id;
    const unsigned char *text;
    int rc;

    memset(m, 0, sizeof(*m));
    m->seq = sqlite3_column_int64(stmt, 0);
    rc = store_column_name(st, stmt, 1, m->peer, sizeof(m->peer));
    if (rc < 0)
        return rc;
    id = sqlite3_column_blob(stmt, 2);
    if (id == NULL || sqlite3_column_bytes(stmt, 2) != (int)sizeof(m->id)) {
        mim_log_error("store %s: a stored message id is not 16 bytes", st->path);
        return MIM_EDB;
    }
    memcpy(m->id, id, sizeof(m->id));
    m->outgoing = sqlite3_column_int(stmt, 3);
    m->ts_ms = sqlite3_column_int64(stmt, 4);
    m->content_type = sqlite3_column_int(stmt, 5);
    /* column_text (before column_bytes) on a BLOB gives its bytes unchanged plus a NUL after
     * them: text_len bytes of exactly what was stored, and a C string when it holds no NUL. */
    text = sqlite3_column_text(stmt, 6);
    m->text_len = (size_t)sqlite3_column_bytes(stmt, 6);
    m->text = text != NULL ? (const char *)text : "";
    m->state = sqlite3_column_int(stmt, 7);
    return 0;
}

/* ---- peer: transactions ---------------------------------------------------------------------- */

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

/* ---- peer: pins ------------------------------------------------------------------------------ */

struct pin_stmts {
    enum store_stmt select, insert, set_pending;
};

static const struct pin_stmts contact_pin_stmts = {STMT_CONTACT_SELECT, STMT_CONTACT_INSERT,
                                                   STMT_CONTACT_SET_PENDING};
static const struct pin_stmts server_pin_stmts = {STMT_SERVER_SELECT, STMT_SERVER_INSERT,
                                                  STMT_SERVER_SET_PENDING};

/* Sets (pk) or clears (pk NULL) the pending key of a pin. */
static int store_pin_set_pending(mim_store *st, enum store_stmt which, const char *name,
                                 const uint8_t *pk)
{
    sqlite3_stmt *upd = st->stmt[which];
    int brc = store_bind_name(upd, name);

    if (brc == SQLITE_OK)
        brc = pk != NULL ? sqlite3_bind_blob(upd, 2, pk, 32, SQLITE_STATIC)
                         : sqlite3_bind_null(upd, 2);
    if (brc != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "pin: bind");
    }
    return store_run(st, which, "pin: set pending");
}

/* The body of a pin check, inside store_op_begin(). */
static int store_pin_check_locked(mim_store *st, const struct pin_stmts *q, const char *name,
                                  const uint8_t pk[32], int64_t now)
{
    sqlite3_stmt *sel = st->stmt[q->select];
    sqlite3_stmt *ins = st->stmt[q->insert];
    mim_contact pin;
    int rc;

    if (store_bind_name(sel, name) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "pin: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = store_row_contact(st, sel, &pin);
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "pin: select");
        break;
    }
    store_reset(sel);

    if (rc == MIM_ENOENT) {
        if (store_bind_name(ins, name) != SQLITE_OK ||
            sqlite3_bind_blob(ins, 2, pk, 32, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(ins, 3, now) != SQLITE_OK) {
            store_reset(ins);
            return store_fail(st, "pin: bind");
        }
        rc = store_run(st, q->insert, "pin: insert");
        return rc < 0 ? rc : MIM_PIN_NEW;
    }
    if (rc < 0)
        return rc;

    /* Public keys are no secret: a plain memcmp leaks nothing worth hiding. */
    if (memcmp(pin.identity_pk, pk, 32) == 0) {
        /* The pinned key is back: forget a key seen in between. Left pending, a later "trust"
         * (given to get the held outbox moving, say) would pin that other key, perhaps an
         * impostor's, in place of the one that just proved itself. */
        if (pin.has_pending) {
            rc = store_pin_set_pending(st, q->set_pending, name, NULL);
            if (rc < 0)
                return rc;
        }
        return MIM_PIN_MATCH;
    }
    if (!pin.has_pending || memcmp(pin.pending_pk, pk, 32) != 0) {
        rc = store_pin_set_pending(st, q->set_pending, name, pk);
        if (rc < 0)
            return rc;
    }
    return MIM_PIN_CHANGED;
}

static int store_pin_check(mim_store *st, const struct pin_stmts *q, const char *name,
                           const uint8_t pk[32], int64_t now)
{
    int rc = store_op_begin(st, "pin: begin");

    if (rc < 0)
        return rc;
    rc = store_pin_check_locked(st, q, name, pk, now);
    return store_op_end(st, rc, "pin: end");
}

/* Runs a one-statement update keyed by an optional name; MIM_ENOENT when no row matched. */
static int store_update_one(mim_store *st, enum store_stmt which, const char *name,
                            const char *what)
{
    int rc = store_tx_check(st);

    if (rc < 0)
        return rc;
    if (store_bind_name(st->stmt[which], name) != SQLITE_OK) {
        store_reset(st->stmt[which]);
        return store_fail(st, what);
    }
    rc = store_run(st, which, what);
    if (rc < 0)
        return rc;
    /* sqlite3_changes() counts the rows this statement matched, changed in value or not. */
    return sqlite3_changes(st->db) > 0 ? 0 : MIM_ENOENT;
}

int mim_store_pin_check(mim_store *st, const char *name, const uint8_t pk[32], int64_t now)
{
    if (!store_is_peer(st) || !store_name_ok(name) || pk == NULL)
        return MIM_EINVAL;
    return store_pin_check(st, &contact_pin_stmts, name, pk, now);
}

/* Reads one pin: a contact's (select = STMT_CONTACT_SELECT, name set) or the server's
 * (STMT_SERVER_SELECT, name NULL). 0 and *out, MIM_ENOENT, or MIM_EDB. */
static int store_pin_get(mim_store *st, enum store_stmt which, const char *name, mim_contact *out)
{
    sqlite3_stmt *sel = st->stmt[which];
    int rc;

    if (store_bind_name(sel, name) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "pin: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = store_row_contact(st, sel, out);
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "pin: select");
        break;
    }
    store_reset(sel);
    return rc;
}

int mim_store_contact_get(mim_store *st, const char *name, mim_contact *out)
{
    if (!store_is_peer(st) || !store_name_ok(name) || out == NULL)
        return MIM_EINVAL;
    return store_pin_get(st, STMT_CONTACT_SELECT, name, out);
}

int mim_store_server_pin_get(mim_store *st, mim_contact *out)
{
    if (!store_is_peer(st) || out == NULL)
        return MIM_EINVAL;
    return store_pin_get(st, STMT_SERVER_SELECT, NULL, out);
}

int mim_store_contact_trust(mim_store *st, const char *name)
{
    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    return store_update_one(st, STMT_CONTACT_TRUST, name, "contact: trust");
}

int mim_store_contact_set_verified(mim_store *st, const char *name, int verified)
{
    sqlite3_stmt *upd;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    upd = st->stmt[STMT_CONTACT_SET_VERIFIED];
    if (sqlite3_bind_int(upd, 2, verified != 0) != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "contact: bind");
    }
    return store_update_one(st, STMT_CONTACT_SET_VERIFIED, name, "contact: set verified");
}

/* A statement still running belongs to an iteration whose callback is calling back in: running
 * it again would pull the rows out from under that iteration. */
static int store_stmt_idle(mim_store *st, enum store_stmt which)
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
static int store_walk(mim_store *st, sqlite3_stmt *stmt, const char *what,
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

/* Row visitors: convert the row, then hand it to the caller's callback. */
struct contact_visit {
    int (*cb)(const mim_contact *c, void *arg);
    void *arg;
};

static int visit_contact(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    const struct contact_visit *v = ctx;
    mim_contact c;
    int rc = store_row_contact(st, row, &c);
    return rc != 0 ? rc : v->cb(&c, v->arg);
}

struct message_visit {
    int (*cb)(const mim_message *m, void *arg);
    void *arg;
};

static int visit_message(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    const struct message_visit *v = ctx;
    mim_message m;
    int rc = store_row_message(st, row, &m);
    return rc != 0 ? rc : v->cb(&m, v->arg);
}

int mim_store_contact_each(mim_store *st, int (*cb)(const mim_contact *c, void *arg), void *arg)
{
    struct contact_visit v = {cb, arg};
    int rc;

    if (!store_is_peer(st) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_CONTACT_EACH);
    if (rc < 0)
        return rc;
    return store_walk(st, st->stmt[STMT_CONTACT_EACH], "contact: each", visit_contact, &v);
}

int mim_store_server_pin_check(mim_store *st, const uint8_t pk[32], int64_t now)
{
    if (!store_is_peer(st) || pk == NULL)
        return MIM_EINVAL;
    return store_pin_check(st, &server_pin_stmts, NULL, pk, now);
}

int mim_store_server_pin_trust(mim_store *st)
{
    if (!store_is_peer(st))
        return MIM_EINVAL;
    return store_update_one(st, STMT_SERVER_TRUST, NULL, "server pin: trust");
}

/* ---- peer: history and outbox ---------------------------------------------------------------- */

/* Binds the parameters message_queue and message_receive share. */
static int store_bind_message(sqlite3_stmt *stmt, const char *peer, const uint8_t id[16],
                              int64_t ts_ms, int content_type, const char *text, size_t text_len)
{
    int brc = sqlite3_bind_text(stmt, 1, peer, -1, SQLITE_STATIC);

    if (brc == SQLITE_OK)
        brc = sqlite3_bind_blob(stmt, 2, id, 16, SQLITE_STATIC);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int64(stmt, 3, ts_ms);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int(stmt, 4, content_type);
    if (brc == SQLITE_OK)
        brc = store_bind_body(stmt, 5, text, text_len);
    return brc;
}

static int store_message_args_ok(const char *peer, const uint8_t id[16], const char *text,
                                 size_t text_len)
{
    /* SQLite's own limit on a value is far below INT_MAX; the caller's cap on a message is
     * lower still. This only keeps the int conversion in store_bind_body() exact. */
    return store_name_ok(peer) && id != NULL && (text != NULL || text_len == 0) &&
           text_len <= 0x7fffffff;
}

int mim_store_message_queue(mim_store *st, const char *peer, const uint8_t id[16], int64_t ts_ms,
                            int content_type, const char *text, size_t text_len, int64_t *seq)
{
    sqlite3_stmt *ins;
    int rc;

    if (!store_is_peer(st) || !store_message_args_ok(peer, id, text, text_len))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    ins = st->stmt[STMT_MSG_QUEUE];
    if (store_bind_message(ins, peer, id, ts_ms, content_type, text, text_len) != SQLITE_OK) {
        store_reset(ins);
        return store_fail(st, "queue: bind");
    }
    if (sqlite3_step(ins) == SQLITE_DONE) {
        rc = 0;
        if (seq != NULL)
            *seq = sqlite3_last_insert_rowid(st->db);
    } else if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE) {
        rc = MIM_EEXIST; /* the caller's mistake (an id reused), not the store's: no log */
    } else {
        rc = store_fail(st, "queue: insert");
    }
    store_reset(ins);
    return rc;
}

int mim_store_message_set_state(mim_store *st, const char *peer, const uint8_t id[16], int state)
{
    sqlite3_stmt *upd, *sel;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || id == NULL ||
        (state != MIM_MSG_SENT && state != MIM_MSG_DELIVERED))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    upd = st->stmt[STMT_MSG_SET_STATE];
    if (sqlite3_bind_text(upd, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(upd, 2, id, 16, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(upd, 3, state) != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "set state: bind");
    }
    rc = store_run(st, STMT_MSG_SET_STATE, "set state: update");
    if (rc < 0)
        return rc;
    if (sqlite3_changes(st->db) > 0)
        return 1;
    sel = st->stmt[STMT_MSG_OUTGOING];
    if (sqlite3_bind_text(sel, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(sel, 2, id, 16, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "set state: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = 0; /* already at (or past) that state */
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "set state: select");
        break;
    }
    store_reset(sel);
    return rc;
}

int mim_store_outbox_requeue(mim_store *st, const char *peer)
{
    int rc;

    if (!store_is_peer(st) || (peer != NULL && !store_name_ok(peer)))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    if (peer == NULL)
        return store_run(st, STMT_OUTBOX_REQUEUE_ALL, "requeue");
    if (store_bind_name(st->stmt[STMT_OUTBOX_REQUEUE_PEER], peer) != SQLITE_OK) {
        store_reset(st->stmt[STMT_OUTBOX_REQUEUE_PEER]);
        return store_fail(st, "requeue: bind");
    }
    return store_run(st, STMT_OUTBOX_REQUEUE_PEER, "requeue");
}

int mim_store_message_receive(mim_store *st, const char *peer, const uint8_t id[16], int64_t ts_ms,
                              int content_type, const char *text, size_t text_len)
{
    sqlite3_stmt *ins;
    int rc;

    if (!store_is_peer(st) || !store_message_args_ok(peer, id, text, text_len))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    ins = st->stmt[STMT_MSG_RECEIVE];
    if (store_bind_message(ins, peer, id, ts_ms, content_type, text, text_len) != SQLITE_OK) {
        store_reset(ins);
        return store_fail(st, "receive: bind");
    }
    rc = store_run(st, STMT_MSG_RECEIVE, "receive: insert");
    if (rc < 0)
        return rc;
    /* DO NOTHING on the (peer, id) conflict: no row changed means a resend. */
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* LIMIT takes a signed 64-bit value. */
static sqlite3_int64 store_limit(size_t limit)
{
    return limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit;
}

int mim_store_outbox_each(mim_store *st, const char *peer, size_t limit,
                          int (*cb)(const mim_message *m, void *arg), void *arg)
{
    sqlite3_stmt *next;
    mim_message m;
    int64_t after = 0; /* seq starts at 1 */
    size_t n;
    int rc = 0;

    if (!store_is_peer(st) || !store_name_ok(peer) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_OUTBOX_NEXT);
    if (rc < 0)
        return rc;
    next = st->stmt[STMT_OUTBOX_NEXT];
    for (n = 0; n < limit && rc == 0; n++) {
        int step;

        if (sqlite3_bind_text(next, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(next, 2, after) != SQLITE_OK) {
            rc = store_fail(st, "outbox: bind");
            break;
        }
        step = sqlite3_step(next);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, "outbox: select");
            break;
        }
        rc = store_row_message(st, next, &m);
        if (rc == 0) {
            after = m.seq;
            rc = cb(&m, arg);
        }
        store_reset(next);
    }
    store_reset(next);
    return rc;
}

int mim_store_outbox_peers(mim_store *st, int (*cb)(const char *peer, void *arg), void *arg)
{
    sqlite3_stmt *next;
    char peer[STORE_NAME_MAX + 1] = ""; /* every name sorts after "" */
    int rc = 0;

    if (!store_is_peer(st) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_OUTBOX_NEXT_PEER);
    if (rc < 0)
        return rc;
    next = st->stmt[STMT_OUTBOX_NEXT_PEER];
    while (rc == 0) {
        int step;

        if (sqlite3_bind_text(next, 1, peer, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            rc = store_fail(st, "outbox peers: bind");
            break;
        }
        step = sqlite3_step(next);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, "outbox peers: select");
            break;
        }
        rc = store_column_name(st, next, 0, peer, sizeof(peer));
        /* The name is copied: the statement is done before the callback runs. */
        store_reset(next);
        if (rc == 0)
            rc = cb(peer, arg);
    }
    store_reset(next);
    return rc;
}

int mim_store_history_each(mim_store *st, const char *peer, size_t limit,
                           int (*cb)(const mim_message *m, void *arg), void *arg)
{
    struct message_visit v = {cb, arg};
    sqlite3_stmt *hist;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_HISTORY);
    if (rc < 0)
        return rc;
    hist = st->stmt[STMT_HISTORY];
    if (sqlite3_bind_text(hist, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(hist, 2, store_limit(limit)) != SQLITE_OK) {
        store_reset(hist);
        return store_fail(st, "history: bind");
    }
    return store_walk(st, hist, "history: select", visit_message, &v);
}
