/* What the user has read: one mark per peer, the seq of the last incoming message read.
 *
 * A mark rather than a flag on each message: "read everything from bob" is one row written
 * however long the backlog, and seqs are never reused (AUTOINCREMENT), so "every incoming message
 * up to seq N" stays exact as the history grows. Unread is then "incoming, seq after the mark",
 * a range of the messages_history index. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

const struct store_stmt_sql store_read_sql[] = {
    {STMT_READ_SEQ, "SELECT read_seq FROM read_marks WHERE peer = ?1"},
    /* The mark moves to the newest incoming message, never backwards. No incoming message: no
     * row from the SELECT, nothing written. (The WHERE also keeps the parser from taking ON
     * CONFLICT for a join's ON.) */
    {STMT_READ_MARK, "INSERT INTO read_marks(peer, read_seq)"
                     " SELECT ?1, max(seq) FROM messages WHERE peer = ?1 AND outgoing = 0"
                     " GROUP BY peer"
                     " ON CONFLICT(peer) DO UPDATE SET read_seq = excluded.read_seq"
                     " WHERE excluded.read_seq > read_seq"},
    {STMT_UNREAD_COUNT, "SELECT count(*) FROM messages WHERE peer = ?1 AND outgoing = 0"
                        " AND seq > coalesce((SELECT read_seq FROM read_marks"
                        " WHERE peer = ?1), 0)"},
    {STMT__COUNT, NULL},
};

/* Runs a one-name query that returns one integer: 0 and *out (0 when it returns no row), or
 * MIM_EDB. */
static int store_name_int(mim_store *st, enum store_stmt which, const char *peer, int64_t *out,
                          const char *what)
{
    sqlite3_stmt *stmt = st->stmt[which];
    int rc = 0;

    if (store_bind_name(stmt, peer) != SQLITE_OK) {
        store_reset(stmt);
        return store_fail(st, what);
    }
    *out = 0;
    switch (sqlite3_step(stmt)) {
    case SQLITE_ROW:
        *out = sqlite3_column_int64(stmt, 0);
        break;
    case SQLITE_DONE:
        break;
    default:
        rc = store_fail(st, what);
        break;
    }
    store_reset(stmt);
    return rc;
}

int mim_store_read_seq(mim_store *st, const char *peer, int64_t *seq)
{
    if (!store_is_peer(st) || !store_name_ok(peer) || seq == NULL)
        return MIM_EINVAL;
    return store_name_int(st, STMT_READ_SEQ, peer, seq, "read mark: select");
}

int mim_store_unread_count(mim_store *st, const char *peer, int64_t *count)
{
    if (!store_is_peer(st) || !store_name_ok(peer) || count == NULL)
        return MIM_EINVAL;
    return store_name_int(st, STMT_UNREAD_COUNT, peer, count, "unread: count");
}

int mim_store_mark_read(mim_store *st, const char *peer)
{
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    if (store_bind_name(st->stmt[STMT_READ_MARK], peer) != SQLITE_OK) {
        store_reset(st->stmt[STMT_READ_MARK]);
        return store_fail(st, "read mark: bind");
    }
    rc = store_run(st, STMT_READ_MARK, "read mark: update");
    if (rc < 0)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}
