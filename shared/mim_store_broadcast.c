/* Acknowledgements of important broadcasts in the peer store (issue 16; mim_store_peer.h):
 * who acknowledged our broadcasts, and the acknowledgements we owe until their sender confirms
 * them. Rare statements (a user's key press, a handful per broadcast), so each is prepared
 * when used rather than kept in the store's statement table. The copies of a broadcast are
 * rows of `messages` (fanout 2 or 3, the fan-out core's), which this file only reads. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

/* Prepares sql and binds ?1 id (16 bytes, or none when NULL) and ?2 peer (or none). */
static int prepare(mim_store *st, const char *sql, const uint8_t *id, const char *peer,
                   sqlite3_stmt **out, const char *what)
{
    sqlite3_stmt *q = NULL;
    int rc = SQLITE_OK;

    *out = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, what);
    if (id != NULL)
        rc = sqlite3_bind_blob(q, 1, id, 16, SQLITE_STATIC);
    if (rc == SQLITE_OK && peer != NULL)
        rc = sqlite3_bind_text(q, 2, peer, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_fail(st, what);
    }
    *out = q;
    return 0;
}

/* Runs a write: 1 when it changed a row, 0 when not, or MIM_EDB. */
static int run_write(mim_store *st, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);

    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_fail(st, what);
    return sqlite3_changes(st->db) > 0;
}

/* Theirs acknowledged: only for a copy of an important broadcast of ours to that peer. */
static const char ack_of_ours_sql[] =
    "INSERT INTO broadcast_acks(id, peer, outgoing, ts_ms) SELECT ?1, ?2, ?3, ?4"
    " WHERE EXISTS(SELECT 1 FROM messages"
    "  WHERE id = ?1 AND peer = ?2 AND outgoing = 1 AND fanout = 3)"
    " ON CONFLICT DO NOTHING";
static const char ack_of_theirs_sql[] =
    "INSERT INTO broadcast_acks(id, peer, outgoing, ts_ms) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT DO NOTHING";

int mim_store_bcast_ack_put(mim_store *st, const uint8_t id[16], const char *peer, int outgoing,
                            int64_t ts_ms)
{
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer))
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0 ||
        (rc = prepare(st, outgoing ? ack_of_ours_sql : ack_of_theirs_sql, id, peer, &q,
                      "broadcast ack: insert")) < 0)
        return rc;
    if (sqlite3_bind_int(q, 3, outgoing != 0) != SQLITE_OK ||
        sqlite3_bind_int64(q, 4, ts_ms) != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_fail(st, "broadcast ack: bind");
    }
    return run_write(st, q, "broadcast ack: insert");
}

int mim_store_bcast_ack_confirm(mim_store *st, const uint8_t id[16], const char *peer)
{
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer))
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0 ||
        (rc = prepare(st,
                      "UPDATE broadcast_acks SET confirmed = 1"
                      " WHERE id = ?1 AND peer = ?2 AND outgoing = 0 AND confirmed = 0",
                      id, peer, &q, "broadcast ack: confirm")) < 0)
        return rc;
    return run_write(st, q, "broadcast ack: confirm");
}

/* Steps q, calling row(q, arg) per row until it returns non-zero; finalizes q. 0, the
 * callback's value, or MIM_EDB. */
static int each_row(mim_store *st, sqlite3_stmt *q, int (*row)(sqlite3_stmt *q, void *arg),
                    void *arg, const char *what)
{
    int rc, stop = 0;

    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
        stop = row(q, arg);
    sqlite3_finalize(q);
    if (stop)
        return stop;
    return rc == SQLITE_DONE ? 0 : store_fail(st, what);
}

typedef struct id_rows {
    int (*cb)(const uint8_t id[16], void *arg);
    void *arg;
} id_rows;

static int id_row(sqlite3_stmt *q, void *arg)
{
    id_rows *r = arg;
    const void *id = sqlite3_column_blob(q, 0);

    if (id == NULL || sqlite3_column_bytes(q, 0) != 16)
        return 0; /* the table's CHECK keeps this from happening */
    return r->cb(id, r->arg);
}

int mim_store_bcast_owed_each(mim_store *st, const char *peer, size_t limit,
                              int (*cb)(const uint8_t id[16], void *arg), void *arg)
{
    id_rows r = {cb, arg};
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer))
        return MIM_EINVAL;
    if ((rc = prepare(st,
                      "SELECT id FROM broadcast_acks WHERE peer = ?2 AND outgoing = 0"
                      " AND confirmed = 0 ORDER BY ts_ms LIMIT ?3",
                      NULL, peer, &q, "broadcast ack: owed")) < 0)
        return rc;
    if (sqlite3_bind_int64(q, 3, (sqlite3_int64)limit) != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_fail(st, "broadcast ack: bind");
    }
    return each_row(st, q, id_row, &r, "broadcast ack: owed");
}

typedef struct name_rows {
    int (*cb)(const char *peer, int flag, void *arg);
    void *arg;
} name_rows;

static int name_row(sqlite3_stmt *q, void *arg)
{
    name_rows *r = arg;
    const char *peer = (const char *)sqlite3_column_text(q, 0);

    return peer != NULL ? r->cb(peer, sqlite3_column_int(q, 1), r->arg) : 0;
}

int mim_store_bcast_owed_peers(mim_store *st, int (*cb)(const char *peer, int flag, void *arg),
                               void *arg)
{
    name_rows r = {cb, arg};
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if ((rc = prepare(st,
                      "SELECT DISTINCT peer, 1 FROM broadcast_acks"
                      " WHERE outgoing = 0 AND confirmed = 0",
                      NULL, NULL, &q, "broadcast ack: owed peers")) < 0)
        return rc;
    return each_row(st, q, name_row, &r, "broadcast ack: owed peers");
}

int mim_store_bcast_status(mim_store *st, const uint8_t id[16],
                           int (*cb)(const char *peer, int acked, void *arg), void *arg)
{
    name_rows r = {cb, arg};
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if ((rc = prepare(st,
                      "SELECT m.peer, a.peer IS NOT NULL FROM messages m"
                      " LEFT JOIN broadcast_acks a"
                      "  ON a.id = m.id AND a.peer = m.peer AND a.outgoing = 1"
                      " WHERE m.id = ?1 AND m.outgoing = 1 AND m.fanout = 3 ORDER BY m.peer",
                      id, NULL, &q, "broadcast status")) < 0)
        return rc;
    return each_row(st, q, name_row, &r, "broadcast status");
}

int mim_store_bcast_important_from(mim_store *st, const uint8_t id[16],
                                   char peer[MIM_NAME_MAX_BYTES + 1])
{
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if ((rc = prepare(st,
                      "SELECT peer FROM messages WHERE id = ?1 AND outgoing = 0 AND fanout = 3"
                      " LIMIT 1",
                      id, NULL, &q, "broadcast: find")) < 0)
        return rc;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = store_column_name(st, q, 0, peer, MIM_NAME_MAX_BYTES + 1) == 0 ? 1 : MIM_EDB;
    else
        rc = rc == SQLITE_DONE ? 0 : store_fail(st, "broadcast: find");
    sqlite3_finalize(q);
    return rc;
}
