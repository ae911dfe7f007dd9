/* The peer's copy of the presence server's directory (issue 14): every registered name it
 * listed or answered a lookup for, with its key, whether it was online and when it was last
 * seen. A cache, nothing more: the server's word, kept so that `send` to a registered name
 * that is offline knows the name (and a key to seal to) without asking again, and so that the
 * contact list can show who is registered. Trust never comes from here: a key is pinned only
 * through the contacts' pins (mim_store_contacts.c), by the core. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

const struct store_stmt_sql store_directory_sql[] = {
    {STMT_DIR_PUT, "INSERT INTO directory(name, identity_pk, online, last_seen_ms, updated_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO UPDATE SET"
                   " identity_pk = excluded.identity_pk, online = excluded.online,"
                   " last_seen_ms = excluded.last_seen_ms, updated_ms = excluded.updated_ms"},
    {STMT_DIR_GET, "SELECT name, identity_pk, online, last_seen_ms FROM directory"
                   " WHERE name = ?1"},
    {STMT_DIR_DELETE, "DELETE FROM directory WHERE name = ?1"},
    /* The online table's word: only for a name the directory listed (no row: no change). */
    {STMT_DIR_SEEN, "UPDATE directory SET online = ?2, last_seen_ms = ?3 WHERE name = ?1"},
    {STMT_DIR_EACH, "SELECT name, identity_pk, online, last_seen_ms FROM directory"
                    " ORDER BY online DESC, name LIMIT ?1"},
    {STMT_DIR_PRUNE, "DELETE FROM directory WHERE updated_ms < ?1"},
    {STMT__COUNT, NULL},
};

static int dir_bind_entry(sqlite3_stmt *stmt, const mim_directory_entry *e, int64_t now_ms)
{
    int rc = store_bind_name(stmt, e->name);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(stmt, 2, e->identity_pk, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(stmt, 3, e->online ? 1 : 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(stmt, 4, e->last_seen_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(stmt, 5, now_ms);
    return rc;
}

int mim_store_directory_put(mim_store *st, const mim_directory_entry *e, int64_t now_ms)
{
    int rc;

    if (!store_is_peer(st) || e == NULL || !store_name_ok(e->name) || e->last_seen_ms < 0)
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    if (dir_bind_entry(st->stmt[STMT_DIR_PUT], e, now_ms) != SQLITE_OK) {
        store_reset(st->stmt[STMT_DIR_PUT]);
        return store_fail(st, "directory: bind");
    }
    return store_run(st, STMT_DIR_PUT, "directory: insert");
}

/* A row (name, identity_pk, online, last_seen_ms) into *e. 0 or MIM_EDB. */
static int dir_row(mim_store *st, sqlite3_stmt *stmt, mim_directory_entry *e)
{
    int rc = store_column_name(st, stmt, 0, e->name, sizeof(e->name));

    if (rc < 0)
        return rc;
    if (sqlite3_column_bytes(stmt, 1) != 32 || sqlite3_column_blob(stmt, 1) == NULL) {
        mim_log_error("store %s: a directory key is not 32 bytes", st->path);
        return MIM_EDB;
    }
    memcpy(e->identity_pk, sqlite3_column_blob(stmt, 1), 32);
    e->online = sqlite3_column_int(stmt, 2) != 0;
    e->last_seen_ms = sqlite3_column_int64(stmt, 3);
    return 0;
}

int mim_store_directory_get(mim_store *st, const char *name, mim_directory_entry *out)
{
    sqlite3_stmt *sel;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name) || out == NULL)
        return MIM_EINVAL;
    sel = st->stmt[STMT_DIR_GET];
    if (store_bind_name(sel, name) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "directory: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = dir_row(st, sel, out);
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "directory: select");
        break;
    }
    store_reset(sel);
    return rc;
}

int mim_store_directory_delete(mim_store *st, const char *name)
{
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    if (store_bind_name(st->stmt[STMT_DIR_DELETE], name) != SQLITE_OK) {
        store_reset(st->stmt[STMT_DIR_DELETE]);
        return store_fail(st, "directory: bind");
    }
    return store_run(st, STMT_DIR_DELETE, "directory: delete");
}

int mim_store_directory_seen(mim_store *st, const char *name, int online, int64_t when_ms)
{
    sqlite3_stmt *up;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    up = st->stmt[STMT_DIR_SEEN];
    if (store_bind_name(up, name) != SQLITE_OK || sqlite3_bind_int(up, 2, online ? 1 : 0) ||
        sqlite3_bind_int64(up, 3, when_ms) != SQLITE_OK) {
        store_reset(up);
        return store_fail(st, "directory: bind");
    }
    rc = store_run(st, STMT_DIR_SEEN, "directory: seen");
    return rc < 0 ? rc : sqlite3_changes(st->db) > 0;
}

int mim_store_directory_each(mim_store *st, size_t limit,
                             int (*cb)(const mim_directory_entry *e, void *arg), void *arg)
{
    sqlite3_stmt *sel;
    mim_directory_entry e;
    int rc = 0, step;

    if (!store_is_peer(st) || cb == NULL || limit == 0 || limit > INT64_MAX)
        return MIM_EINVAL;
    if ((rc = store_stmt_idle(st, STMT_DIR_EACH)) < 0)
        return rc;
    sel = st->stmt[STMT_DIR_EACH];
    if (sqlite3_bind_int64(sel, 1, (int64_t)limit) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "directory: bind");
    }
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        if ((rc = dir_row(st, sel, &e)) < 0 || (rc = cb(&e, arg)) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_fail(st, "directory: each");
    store_reset(sel);
    return rc;
}

int mim_store_directory_prune(mim_store *st, int64_t before_ms)
{
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    if (sqlite3_bind_int64(st->stmt[STMT_DIR_PRUNE], 1, before_ms) != SQLITE_OK) {
        store_reset(st->stmt[STMT_DIR_PRUNE]);
        return store_fail(st, "directory: bind");
    }
    rc = store_run(st, STMT_DIR_PRUNE, "directory: prune");
    return rc < 0 ? rc : sqlite3_changes(st->db);
}
