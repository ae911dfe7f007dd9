/* The presence server's tables: the name registry, first come first served, where a new name
 * that looks like a registered one (the same UTS #39 skeleton) is refused. Its schema (the
 * migrations, kept in order), its statements and the name operations. */
#include "mim_store_registry.h"

#include <stdio.h>
#include <string.h>

#include "mim_error.h"
#include "mim_name.h"
#include "mim_store_priv.h"

static const char *const presence_migrations[] = {
    /* 1: the name registry, first come first served. */
    "CREATE TABLE names("
    " name TEXT NOT NULL PRIMARY KEY,"
    " identity_pk BLOB NOT NULL CHECK(length(identity_pk) = 32),"
    " registered_at INTEGER NOT NULL"
    ");",
    /* 2: each name's confusable skeleton (UTS #39, mim_name_skeleton), so that a new name that
     * looks like a registered one is refused. The names already registered get theirs here,
     * from the SQL function registry_functions() defines; look-alikes among them all stay. */
    "ALTER TABLE names ADD COLUMN skeleton TEXT;"
    "UPDATE names SET skeleton = mim_name_skeleton(name);"
    "CREATE INDEX names_by_skeleton ON names(skeleton);",
    /* 3 (issue 14): each name's last login or logout, for the directory (0: unknown), and the
     * sealed mailbox (mim_store_mailbox.c). seq is AUTOINCREMENT so that a seq is never used
     * twice: a late MailTaken can only ever delete the letter it names. */
    "ALTER TABLE names ADD COLUMN last_seen_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE mailbox("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " recipient TEXT NOT NULL,"
    " sender TEXT NOT NULL,"
    " sender_pk BLOB NOT NULL CHECK(length(sender_pk) = 32),"
    " id BLOB NOT NULL CHECK(length(id) = 16),"
    " sealed BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " deposited_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " UNIQUE(recipient, sender, id)"
    ");"
    "CREATE INDEX mailbox_by_recipient ON mailbox(recipient, seq);"
    "CREATE INDEX mailbox_by_expiry ON mailbox(expires_ms);",
};

const struct store_stmt_sql store_registry_sql[] = {
    {STMT_NAME_SELECT, "SELECT identity_pk FROM names WHERE name = ?1"},
    {STMT_NAME_INSERT, "INSERT INTO names(name, identity_pk, registered_at, skeleton)"
                       " VALUES(?1, ?2, ?3, ?4)"},
    {STMT_NAME_DELETE, "DELETE FROM names WHERE name = ?1"},
    {STMT_NAME_COUNT, "SELECT count(*) FROM names"},
    {STMT_NAME_LOOKALIKE, "SELECT name FROM names WHERE skeleton = ?1 AND name <> ?2 LIMIT 1"},
    {STMT__COUNT, NULL},
};

static const struct store_stmt_sql *const registry_stmts[] = {store_tx_sql, store_registry_sql,
                                                              store_mailbox_sql, NULL};

/* mim_name_skeleton(name) in SQL, for migration 2: NULL for a value that is no name. */
static void sql_skeleton(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char sk[MIM_NAME_SKELETON_MAX];
    const unsigned char *name = sqlite3_value_text(argv[0]);
    int len = sqlite3_value_bytes(argv[0]);

    (void)argc;
    if (name == NULL || len > MIM_NAME_MAX_BYTES ||
        mim_name_skeleton((const char *)name, (size_t)len, sk, sizeof(sk)) != 0)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_text(ctx, sk, -1, SQLITE_TRANSIENT);
}

/* DIRECTONLY: the function serves the migration's own statement, never a view or trigger that a
 * hand-edited file could carry. */
static int registry_functions(mim_store *st)
{
    if (sqlite3_create_function_v2(st->db, "mim_name_skeleton", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                   sql_skeleton, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(st, "create function mim_name_skeleton");
    return 0;
}

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
    .functions = registry_functions,
    .stmts = registry_stmts,
};

/* ---- presence: the name registry ------------------------------------------------------------- */

/* The registered name other than `name` whose skeleton is `sk`, copied into like (cap bytes;
 * may be NULL): 1 when there is one, 0 when none, MIM_EDB. */
static int lookalike_find(mim_store *st, const char *name, const char *sk, char *like, size_t cap)
{
    sqlite3_stmt *q = st->stmt[STMT_NAME_LOOKALIKE];
    int rc;

    if (sqlite3_bind_text(q, 1, sk, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "lookalike: bind");
    }
    switch (sqlite3_step(q)) {
    case SQLITE_ROW:
        if (like != NULL && cap > 0)
            snprintf(like, cap, "%s", (const char *)sqlite3_column_text(q, 0));
        rc = 1;
        break;
    case SQLITE_DONE:
        rc = 0;
        break;
    default:
        rc = store_fail(st, "lookalike: select");
        break;
    }
    store_reset(q);
    return rc;
}

/* The claim's first look, inside its transaction: whose is `name`? MIM_NAME_SAME_KEY,
 * MIM_ETAKEN, MIM_NAME_REGISTERED when it is free, or MIM_EDB. */
static int claim_owner(mim_store *st, const char *name, const uint8_t identity_pk[32])
{
    sqlite3_stmt *sel = st->stmt[STMT_NAME_SELECT];
    int rc;

    if (sqlite3_bind_text(sel, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "claim: bind");
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
    return rc;
}

int mim_store_name_claim(mim_store *st, const char *name, const uint8_t identity_pk[32],
                         int64_t now)
{
    sqlite3_stmt *ins;
    char sk[MIM_NAME_SKELETON_MAX];
    int rc;

    if (st == NULL || name == NULL || identity_pk == NULL || st->schema->kind != MIM_STORE_PRESENCE)
        return MIM_EINVAL;
    ins = st->stmt[STMT_NAME_INSERT];

    /* Look and insert in one write transaction: two servers (or a server and an admin command)
     * claiming the same free name, or two look-alikes, at once must not both get
     * MIM_NAME_REGISTERED. */
    rc = store_run(st, STMT_BEGIN, "claim: begin");
    if (rc < 0)
        return rc;
    rc = claim_owner(st, name, identity_pk);
    if (rc != MIM_NAME_REGISTERED)
        goto cleanup; /* nothing was written: the rollback below just ends the transaction */
    /* A new name: only now is its skeleton needed (a reconnect, the common case, skips it). */
    rc = mim_name_skeleton(name, strlen(name), sk, sizeof(sk));
    if (rc == 0 && (rc = lookalike_find(st, name, sk, NULL, 0)) == 1)
        rc = MIM_NAME_LOOKALIKE;
    if (rc != 0)
        goto cleanup;

    if (sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(ins, 2, identity_pk, 32, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(ins, 3, now) != SQLITE_OK ||
        sqlite3_bind_text(ins, 4, sk, -1, SQLITE_STATIC) != SQLITE_OK) {
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

int mim_store_name_owner(mim_store *st, const char *name, const uint8_t identity_pk[32])
{
    if (st == NULL || name == NULL || identity_pk == NULL || st->schema->kind != MIM_STORE_PRESENCE)
        return MIM_EINVAL;
    return claim_owner(st, name, identity_pk);
}

int mim_store_name_lookalike(mim_store *st, const char *name, char *like, size_t cap)
{
    char sk[MIM_NAME_SKELETON_MAX];
    int rc;

    if (st == NULL || name == NULL || like == NULL || cap == 0 ||
        st->schema->kind != MIM_STORE_PRESENCE)
        return MIM_EINVAL;
    rc = mim_name_skeleton(name, strlen(name), sk, sizeof(sk));
    if (rc == 0)
        rc = lookalike_find(st, name, sk, like, cap);
    return rc == 0 ? MIM_ENOENT : rc == 1 ? 0 : rc;
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
