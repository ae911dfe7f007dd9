/* Rooms in the peer store (issue 16): the membership logs, a row per change, and a room's
 * history. Rare statements (a membership change, a history read), prepared when used. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

int mim_store_room_change_add(mim_store *st, const uint8_t room[16], uint64_t epoch,
                              const uint8_t hash[32], const uint8_t *change, size_t len)
{
    sqlite3_stmt *q = NULL;
    int rc;

    if (!store_is_peer(st) || room == NULL || hash == NULL || change == NULL || len == 0 ||
        len > 0x7fffffff || epoch == 0 || epoch > INT64_MAX)
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO room_log(room, epoch, hash, change) VALUES(?1, ?2, ?3, ?4)"
                           " ON CONFLICT(room, hash) DO NOTHING",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_bind_blob(q, 1, room, 16, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (int64_t)epoch) != SQLITE_OK ||
        sqlite3_bind_blob(q, 3, hash, 32, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 4, change, (int)len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_DONE)
        rc = store_fail(st, "room log: insert");
    else
        rc = sqlite3_changes(st->db) > 0;
    sqlite3_finalize(q);
    return rc;
}

int mim_store_room_changes_each(mim_store *st,
                                int (*cb)(const uint8_t room[16], const uint8_t *change, size_t len,
                                          void *arg),
                                void *arg)
{
    sqlite3_stmt *q = NULL;
    int rc = 0, step;

    if (!store_is_peer(st) || cb == NULL)
        return MIM_EINVAL;
    if (sqlite3_prepare_v2(st->db, "SELECT room, change FROM room_log ORDER BY room, epoch, hash",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "room log: select");
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        const void *room = sqlite3_column_blob(q, 0);
        const void *change = sqlite3_column_blob(q, 1);
        int n = sqlite3_column_bytes(q, 1);
        if (room != NULL && sqlite3_column_bytes(q, 0) == 16 && change != NULL && n > 0)
            rc = cb(room, change, (size_t)n, arg);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_fail(st, "room log: step");
    sqlite3_finalize(q);
    return rc;
}

int mim_store_room_history_each(mim_store *st, const uint8_t room[16], size_t limit,
                                int (*cb)(const mim_message *m, void *arg), void *arg)
{
    sqlite3_stmt *q = NULL;
    int rc = 0, step;

    if (!store_is_peer(st) || room == NULL || cb == NULL)
        return MIM_EINVAL;
    /* Our copies share one id: the first of them stands for the message. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " MESSAGE_COLUMNS " FROM messages WHERE seq IN"
                           " (SELECT min(seq) FROM messages WHERE room = ?1 AND content_type = 1"
                           " GROUP BY id, outgoing ORDER BY 1 DESC LIMIT ?2) ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_bind_blob(q, 1, room, 16, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (int64_t)limit) != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_fail(st, "room history: select");
    }
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        mim_message m;
        if ((rc = store_row_message(st, q, &m)) == 0)
            rc = cb(&m, arg);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_fail(st, "room history: step");
    sqlite3_finalize(q);
    return rc;
}
