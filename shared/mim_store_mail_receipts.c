/* The sealed receipts a peer owes (issue 14; mim_store_peer.h): the letters it took from the
 * mailbox whose senders have not yet been told `delivered`. A few statements per batch of
 * letters or per tick, so each is prepared when used rather than kept in the store's statement
 * table. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

/* Prepares sql: 0 and *out, or MIM_EDB (logged with what). */
static int prepare(mim_store *st, const char *sql, sqlite3_stmt **out, const char *what)
{
    *out = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
        return store_fail(st, what);
    }
    return 0;
}

/* Binds ?1 peer and ?2 id, steps q (a write) and resets it: 0 or MIM_EDB. */
static int write_pair(mim_store *st, sqlite3_stmt *q, const char *peer, const uint8_t *id,
                      const char *what)
{
    int rc = SQLITE_OK;

    if (sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 2, id, 16, SQLITE_STATIC) != SQLITE_OK ||
        (rc = sqlite3_step(q)) != SQLITE_DONE) {
        store_reset(q);
        return store_fail(st, what);
    }
    store_reset(q);
    return 0;
}

int mim_store_mail_receipts_owe(mim_store *st, const mim_owed_receipt *rows, size_t n,
                                int64_t now_ms)
{
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st) || (rows == NULL && n > 0))
        return MIM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!store_name_ok(rows[i].peer) || rows[i].id == NULL)
            return MIM_EINVAL;
    if (n == 0)
        return 0;
    if ((rc = store_tx_check(st)) < 0 ||
        (rc = prepare(st,
                      "INSERT INTO mail_receipts_owed(peer, id, since_ms) VALUES(?1, ?2, ?3)"
                      " ON CONFLICT DO NOTHING",
                      &q, "receipts owed: insert")) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (sqlite3_bind_int64(q, 3, now_ms) != SQLITE_OK)
            rc = store_fail(st, "receipts owed: bind");
        else
            rc = write_pair(st, q, rows[i].peer, rows[i].id, "receipts owed: insert");
    }
    sqlite3_finalize(q);
    return rc;
}

int mim_store_mail_receipts_drop(mim_store *st, const char *peer, const uint8_t (*ids)[16],
                                 size_t n)
{
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || (ids == NULL && n > 0))
        return MIM_EINVAL;
    if (n == 0)
        return 0;
    if ((rc = store_tx_check(st)) < 0 ||
        (rc = prepare(st, "DELETE FROM mail_receipts_owed WHERE peer = ?1 AND id = ?2", &q,
                      "receipts owed: delete")) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = write_pair(st, q, peer, ids[i], "receipts owed: delete");
    sqlite3_finalize(q);
    return rc;
}

int mim_store_mail_receipts_each(mim_store *st, const char *peer, size_t limit,
                                 int (*cb)(const char *peer, const uint8_t id[16], void *arg),
                                 void *arg)
{
    sqlite3_stmt *q;
    int rc, step = SQLITE_DONE, stop = 0;

    if (!store_is_peer(st) || cb == NULL || (peer != NULL && !store_name_ok(peer)))
        return MIM_EINVAL;
    if ((rc = prepare(st,
                      "SELECT peer, id FROM mail_receipts_owed WHERE ?1 IS NULL OR peer = ?1"
                      " ORDER BY peer, seq LIMIT ?2",
                      &q, "receipts owed: select")) < 0)
        return rc;
    if ((peer != NULL ? sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(q, 1)) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)(limit > INT64_MAX ? INT64_MAX : limit)) !=
            SQLITE_OK) {
        sqlite3_finalize(q);
        return store_fail(st, "receipts owed: bind");
    }
    while (!stop && (step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(q, 0);
        const void *id = sqlite3_column_blob(q, 1);
        if (p != NULL && id != NULL && sqlite3_column_bytes(q, 1) == 16)
            stop = cb(p, id, arg); /* (the table's CHECK keeps ids 16 bytes) */
    }
    sqlite3_finalize(q);
    if (stop)
        return stop;
    return step == SQLITE_DONE ? 0 : store_fail(st, "receipts owed: select");
}

int mim_store_mail_receipts_prune(mim_store *st, int64_t before_ms, size_t keep)
{
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0 ||
        (rc = prepare(st,
                      "DELETE FROM mail_receipts_owed WHERE since_ms < ?1 OR seq NOT IN"
                      " (SELECT seq FROM mail_receipts_owed ORDER BY seq DESC LIMIT ?2)",
                      &q, "receipts owed: prune")) < 0)
        return rc;
    if (sqlite3_bind_int64(q, 1, before_ms) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)(keep > INT64_MAX ? INT64_MAX : keep)) !=
            SQLITE_OK ||
        sqlite3_step(q) != SQLITE_DONE) {
        sqlite3_finalize(q);
        return store_fail(st, "receipts owed: prune");
    }
    sqlite3_finalize(q);
    return sqlite3_changes(st->db);
}
