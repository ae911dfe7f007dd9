/* The presence server's tables: the name registry, first come first served. Its schema (the
 * migrations, kept in order), its statements and the name operations. */
#include "mim_store_registry.h"

#include <string.h>

#include "mim_error.h"
#include "mim_store_priv.h"

static const char *const presence_migrations[] = {
    /* 1: the name registry, first come first served. */
    "CREATE TABLE names("
    " name TEXT NOT NULL PRIMARY KEY,"
    " identity_pk BLOB NOT NULL CHECK(length(identity_pk) = 32),"
    " registered_at INTEGER NOT NULL"
    ");",
};

const struct store_stmt_sql store_registry_sql[] = {
    {STMT_NAME_SELECT, "SELECT identity_pk FROM names WHERE name = ?1"},
    {STMT_NAME_INSERT, "INSERT INTO names(name, identity_pk, registered_at) VALUES(?1, ?2, ?3)"},
    {STMT_NAME_DELETE, "DELETE FROM names WHERE name = ?1"},
    {STMT_NAME_COUNT, "SELECT count(*) FROM names"},
    {STMT__COUNT, NULL},
};

static const struct store_stmt_sql *const registry_stmts[] = {store_tx_sql, store_registry_sql,
                                                              NULL};

const struct store_schema store_registry_schema = {
    .kind = MIM_STORE_PRESENCE,
    .application_id = 0x6d696d70, /* "mimp" */
    .migrations = presence_migrations,
    .nmigrations = (int)ARRAY_LEN(presence_migrations),
    /* The name registry is read once per login, by name: a small cache (16 KiB, 4 pages) keeps
     * the b-trees' roots and lets the leaves come from the OS's page cache (a pread each), so
     * the server's memory does not grow with every name it has ever looked up (SQLite's default
     * is 2 MiB). */
    .pragma = "PRAGMA cache_size = -16",
    .stmts = registry_stmts,
};

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
