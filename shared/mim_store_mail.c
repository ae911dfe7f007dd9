/* The peer's outbox, its mailbox side (issue 14): which outgoing messages are in the presence
 * server's mailbox (deposited_at, expires_at: the server deletes its copy then), and which must
 * not be deposited again (no_redeposit: expired once, or refused for good by the server). A
 * deposited message stays in the outbox, QUEUED or SENT: a direct session sends it again, and
 * the first ack -- direct, or the sealed receipt -- makes it DELIVERED. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

/* Every WHERE repeats the outbox index's condition ("outgoing = 1 AND state IN (0, 1)"), so
 * that the planner uses messages_outbox (mim_store_messages.c says why). */
const struct store_stmt_sql store_mail_sql[] = {
    /* A QUEUED message to deposit: never deposited, or back from an expiry it is not. Its
     * terms imply messages_mail_due's (peer migration 10), which the planner then uses. */
    {STMT_OUTBOX_MAIL_DUE, "SELECT " MESSAGE_COLUMNS " FROM messages WHERE peer = ?1"
                           " AND outgoing = 1 AND state IN (0, 1) AND state = 0"
                           " AND deposited_at IS NULL AND no_redeposit = 0 AND content_type = 1"
                           " AND seq > ?2"
                           " ORDER BY seq LIMIT 1"},
    {STMT_OUTBOX_MAIL_DEPOSITED,
     "UPDATE messages SET deposited_at = ?3, expires_at = ?4"
     " WHERE peer = ?1 AND id = ?2 AND outgoing = 1 AND state IN (0, 1) AND state = 0"},
    {STMT_OUTBOX_MAIL_NO_REDEPOSIT, "UPDATE messages SET no_redeposit = 1"
                                    " WHERE peer = ?1 AND id = ?2 AND outgoing = 1"
                                    " AND state IN (0, 1)"},
    {STMT_OUTBOX_MAIL_EXPIRED, "SELECT peer, id FROM messages WHERE outgoing = 1"
                               " AND state IN (0, 1) AND deposited_at IS NOT NULL"
                               " AND expires_at <= ?1 ORDER BY seq LIMIT 1"},
    {STMT_OUTBOX_MAIL_EXPIRE, "UPDATE messages SET deposited_at = NULL, expires_at = NULL,"
                              " no_redeposit = 1 WHERE peer = ?1 AND id = ?2 AND outgoing = 1"
                              " AND state IN (0, 1)"},
    {STMT__COUNT, NULL},
};

static int bind_peer_id(sqlite3_stmt *stmt, const char *peer, const uint8_t id[16])
{
    int brc = sqlite3_bind_text(stmt, 1, peer, -1, SQLITE_STATIC);
    return brc == SQLITE_OK ? sqlite3_bind_blob(stmt, 2, id, 16, SQLITE_STATIC) : brc;
}

int mim_store_mail_due_each(mim_store *st, const char *peer, size_t limit,
                            int (*cb)(const mim_message *m, void *arg), void *arg)
{
    sqlite3_stmt *next;
    mim_message m;
    int64_t after = 0;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || cb == NULL)
        return MIM_EINVAL;
    if ((rc = store_stmt_idle(st, STMT_OUTBOX_MAIL_DUE)) < 0)
        return rc;
    next = st->stmt[STMT_OUTBOX_MAIL_DUE];
    /* One row per query, after the last seq seen: cb may change the row it is handed. */
    for (size_t n = 0; n < limit && rc == 0; n++) {
        int step;
        if (sqlite3_bind_text(next, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(next, 2, after) != SQLITE_OK) {
            rc = store_fail(st, "mail due: bind");
            break;
        }
        if ((step = sqlite3_step(next)) == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, "mail due: select");
            break;
        }
        if ((rc = store_row_message(st, next, &m)) == 0) {
            after = m.seq;
            rc = cb(&m, arg);
        }
        store_reset(next);
    }
    store_reset(next);
    return rc;
}

/* Runs an UPDATE on (peer, id) with two more integers (?3, ?4; ignored when the statement has
 * none): 1 when a row changed, 0 when none, or MIM_EDB. */
static int update_peer_id(mim_store *st, enum store_stmt which, const char *peer,
                          const uint8_t id[16], const int64_t *more, int nmore, const char *what)
{
    sqlite3_stmt *upd = st->stmt[which];
    int rc, brc;

    if (!store_is_peer(st) || !store_name_ok(peer) || id == NULL)
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    brc = bind_peer_id(upd, peer, id);
    for (int i = 0; i < nmore && brc == SQLITE_OK; i++)
        brc = sqlite3_bind_int64(upd, 3 + i, more[i]);
    if (brc != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, what);
    }
    if ((rc = store_run(st, which, what)) < 0)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

int mim_store_mail_deposited(mim_store *st, const char *peer, const uint8_t id[16], int64_t now_ms,
                             int64_t expires_at_ms)
{
    const int64_t more[2] = {now_ms, expires_at_ms};
    return update_peer_id(st, STMT_OUTBOX_MAIL_DEPOSITED, peer, id, more, 2, "mail deposited");
}

int mim_store_mail_no_redeposit(mim_store *st, const char *peer, const uint8_t id[16])
{
    return update_peer_id(st, STMT_OUTBOX_MAIL_NO_REDEPOSIT, peer, id, NULL, 0,
                          "mail no redeposit");
}

int mim_store_mail_expire_next(mim_store *st, int64_t now_ms, char peer[MIM_NAME_MAX_BYTES + 1],
                               uint8_t id[16])
{
    sqlite3_stmt *sel;
    const void *blob;
    int rc;

    if (!store_is_peer(st) || peer == NULL || id == NULL)
        return MIM_EINVAL;
    if ((rc = store_stmt_idle(st, STMT_OUTBOX_MAIL_EXPIRED)) < 0)
        return rc;
    sel = st->stmt[STMT_OUTBOX_MAIL_EXPIRED];
    if (sqlite3_bind_int64(sel, 1, now_ms) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "mail expired: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = store_column_name(st, sel, 0, peer, MIM_NAME_MAX_BYTES + 1);
        blob = sqlite3_column_blob(sel, 1);
        if (rc == 0 && (blob == NULL || sqlite3_column_bytes(sel, 1) != 16))
            rc = store_fail(st, "mail expired: a stored id is not 16 bytes");
        if (rc == 0)
            memcpy(id, blob, 16);
        break;
    case SQLITE_DONE:
        store_reset(sel);
        return 0;
    default:
        rc = store_fail(st, "mail expired: select");
        break;
    }
    store_reset(sel);
    if (rc < 0)
        return rc;
    rc = update_peer_id(st, STMT_OUTBOX_MAIL_EXPIRE, peer, id, NULL, 0, "mail expire");
    return rc < 0 ? rc : 1;
}
