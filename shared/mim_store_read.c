/* What the user has read: one mark per peer, the seq of the last incoming message read; the read
 * receipts owed (a second mark, receipt_seq), and the receipts the peers sent us (seen).
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
    /* A local note (content type below 0: the "key changed" line) is nobody's message: never
     * unread, never receipted. */
    {STMT_UNREAD_COUNT, "SELECT count(*) FROM messages WHERE peer = ?1 AND outgoing = 0"
                        " AND content_type >= 0 AND seq > coalesce((SELECT read_seq"
                        " FROM read_marks WHERE peer = ?1), 0)"},
    /* A receipt says the peer read one of ours: only a delivered message (the ack comes before
     * any receipt), and news only once. */
    {STMT_MSG_SET_SEEN, "UPDATE messages SET seen = 1 WHERE peer = ?1 AND id = ?2"
                        " AND outgoing = 1 AND state = 2 AND seen = 0"},
    /* Receipts owed: read (up to read_seq) and not yet receipted (after receipt_seq). */
    {STMT_RECEIPTS_DUE, "SELECT m.id FROM messages m JOIN read_marks r ON r.peer = m.peer"
                        " WHERE m.peer = ?1 AND m.outgoing = 0 AND m.content_type >= 0"
                        " AND m.seq > r.receipt_seq"
                        " AND m.seq <= r.read_seq ORDER BY m.seq"},
    {STMT_RECEIPTS_DONE, "UPDATE read_marks SET receipt_seq = read_seq WHERE peer = ?1"
                         " AND receipt_seq < read_seq"},
    {STMT__COUNT, NULL},
};

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

int mim_store_message_seen(mim_store *st, const char *peer, const uint8_t id[16])
{
    sqlite3_stmt *upd;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || id == NULL)
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    upd = st->stmt[STMT_MSG_SET_SEEN];
    if (store_bind_name(upd, peer) != SQLITE_OK ||
        sqlite3_bind_blob(upd, 2, id, 16, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "seen: bind");
    }
    rc = store_run(st, STMT_MSG_SET_SEEN, "seen: update");
    if (rc < 0)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

struct receipts_visit {
    void (*cb)(const uint8_t id[16], void *arg);
    void *arg;
};

static int visit_receipt(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    const struct receipts_visit *v = ctx;
    const void *id = sqlite3_column_blob(row, 0);

    if (id == NULL || sqlite3_column_bytes(row, 0) != 16) {
        mim_log_error("store %s: a stored message id is not 16 bytes", st->path);
        return MIM_EDB;
    }
    v->cb(id, v->arg);
    return 0;
}

int mim_store_receipts_take(mim_store *st, const char *peer,
                            void (*cb)(const uint8_t id[16], void *arg), void *arg)
{
    struct receipts_visit v = {cb, arg};
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_RECEIPTS_DUE);
    if (rc < 0)
        return rc;
    rc = store_op_begin(st, "receipts");
    if (rc < 0)
        return rc;
    if (store_bind_name(st->stmt[STMT_RECEIPTS_DUE], peer) != SQLITE_OK) {
        store_reset(st->stmt[STMT_RECEIPTS_DUE]);
        rc = store_fail(st, "receipts: bind");
    } else {
        rc = store_walk(st, st->stmt[STMT_RECEIPTS_DUE], "receipts: select", visit_receipt, &v);
    }
    if (rc == 0 && store_bind_name(st->stmt[STMT_RECEIPTS_DONE], peer) != SQLITE_OK) {
        store_reset(st->stmt[STMT_RECEIPTS_DONE]);
        rc = store_fail(st, "receipts: bind");
    } else if (rc == 0) {
        rc = store_run(st, STMT_RECEIPTS_DONE, "receipts: update");
    }
    return store_op_end(st, rc, "receipts");
}
