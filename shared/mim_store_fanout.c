/* The copies of a message sent to several peers (issue 16): which room or broadcast a row
 * belongs to, and how many of a message's copies are delivered. Every copy is an ordinary row
 * of the messages table (mim_store_messages.c inserts it); this file only tags and counts. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

const struct store_stmt_sql store_fanout_sql[] = {
    {STMT_FANOUT_SET, "UPDATE messages SET fanout = ?4, room = ?5, room_epoch = ?6"
                      " WHERE peer = ?1 AND id = ?2 AND outgoing = ?3"},
    {STMT_FANOUT_GET, "SELECT " MESSAGE_COLUMNS " FROM messages"
                      " WHERE peer = ?1 AND id = ?2 AND outgoing = ?3"},
    /* "fanout <> 0" repeats the partial index's condition (messages_fanout). */
    {STMT_FANOUT_COUNT, "SELECT count(*), coalesce(sum(state = 2), 0) FROM messages"
                        " WHERE id = ?1 AND outgoing = 1 AND fanout <> 0"},
    {STMT__COUNT, NULL},
};

int store_row_fanout(mim_store *st, sqlite3_stmt *stmt, int col, mim_message *m)
{
    const void *room = sqlite3_column_blob(stmt, col);

    (void)st;
    m->has_room = room != NULL && sqlite3_column_bytes(stmt, col) == (int)sizeof(m->room);
    if (m->has_room)
        memcpy(m->room, room, sizeof(m->room));
    m->room_epoch = (uint64_t)sqlite3_column_int64(stmt, col + 1);
    m->fanout = sqlite3_column_int(stmt, col + 2);
    return 0;
}

/* Binds ?1 peer, ?2 id, ?3 outgoing. */
static int bind_key(sqlite3_stmt *q, const char *peer, const uint8_t id[16], int outgoing)
{
    int rc = sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(q, 2, id, 16, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(q, 3, outgoing != 0);
    return rc;
}

int mim_store_message_set_fanout(mim_store *st, const char *peer, const uint8_t id[16],
                                 int outgoing, int fanout, const uint8_t room[16], uint64_t epoch)
{
    sqlite3_stmt *q;
    int brc, rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || id == NULL || fanout < MIM_FANOUT_NONE ||
        fanout > MIM_FANOUT_IMPORTANT || epoch > INT64_MAX)
        return MIM_EINVAL;
    if ((rc = store_tx_check(st)) < 0)
        return rc;
    q = st->stmt[STMT_FANOUT_SET];
    brc = bind_key(q, peer, id, outgoing);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int(q, 4, fanout);
    if (brc == SQLITE_OK)
        brc = room != NULL ? sqlite3_bind_blob(q, 5, room, 16, SQLITE_STATIC)
                           : sqlite3_bind_null(q, 5);
    if (brc == SQLITE_OK)
        brc = room != NULL ? sqlite3_bind_int64(q, 6, (int64_t)epoch) : sqlite3_bind_null(q, 6);
    if (brc != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE) {
        store_reset(q);
        return store_fail(st, "fanout: tag");
    }
    rc = sqlite3_changes(st->db) > 0;
    store_reset(q);
    return rc;
}

int mim_store_fanout_count(mim_store *st, const uint8_t id[16], uint32_t *delivered,
                           uint32_t *total)
{
    sqlite3_stmt *q;
    int rc = 0;

    if (!store_is_peer(st) || id == NULL)
        return MIM_EINVAL;
    q = st->stmt[STMT_FANOUT_COUNT];
    if (sqlite3_bind_blob(q, 1, id, 16, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = store_fail(st, "fanout: count");
    } else {
        *total = (uint32_t)sqlite3_column_int64(q, 0);
        *delivered = (uint32_t)sqlite3_column_int64(q, 1);
    }
    store_reset(q);
    return rc;
}

struct get_visit {
    int (*cb)(const mim_message *m, void *arg);
    void *arg;
    int found;
};

static int visit_get(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    struct get_visit *g = ctx;
    mim_message m;
    int rc = store_row_message(st, row, &m);

    g->found = 1;
    return rc != 0 ? rc : g->cb(&m, g->arg);
}

int mim_store_message_get(mim_store *st, const char *peer, const uint8_t id[16], int outgoing,
                          int (*cb)(const mim_message *m, void *arg), void *arg)
{
    struct get_visit g = {cb, arg, 0};
    sqlite3_stmt *q;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || id == NULL || cb == NULL)
        return MIM_EINVAL;
    if ((rc = store_stmt_idle(st, STMT_FANOUT_GET)) < 0)
        return rc;
    q = st->stmt[STMT_FANOUT_GET];
    if (bind_key(q, peer, id, outgoing) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "message: bind");
    }
    rc = store_walk(st, q, "message: select", visit_get, &g);
    return rc == 0 && !g.found ? MIM_ENOENT : rc;
}
