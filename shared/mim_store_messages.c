/* The peer's messages: the history, exactly once per (peer, id) and direction, and the outbox,
 * the outgoing messages not yet acknowledged, kept across restarts and sent in queue order. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

/* The SQL below writes message states as numbers. */
_Static_assert(MIM_MSG_QUEUED == 0 && MIM_MSG_SENT == 1 && MIM_MSG_DELIVERED == 2 &&
                   MIM_MSG_RECEIVED == 3,
               "message states are stored as these numbers");

const struct store_stmt_sql store_messages_sql[] = {
    /* Queue fails on a duplicate (peer, id); receive ignores one, and only that
     * conflict: any other constraint still fails loudly. */
    {STMT_MSG_QUEUE, "INSERT INTO messages(peer, id, outgoing, ts_ms, content_type, body, state)"
                     " VALUES(?1, ?2, 1, ?3, ?4, ?5, 0)"},
    {STMT_MSG_RECEIVE, "INSERT INTO messages(peer, id, outgoing, ts_ms, content_type, body,"
                       " state, rx_s) VALUES(?1, ?2, 0, ?3, ?4, ?5, 3, ?6)"
                       " ON CONFLICT(peer, id, outgoing) DO NOTHING"},
    /* The quota: what `peer` made us store since ?2 (Unix seconds: 24 hours ago, by the clock
     * that stamped rx_s). The "outgoing = 0" term repeats the partial index's condition
     * (messages_rx). A local note (content type below 0) is ours, not the peer's. */
    {STMT_MSG_RECEIVED_DAY, "SELECT count(*), coalesce(sum(length(body)), 0) FROM messages"
                            " WHERE peer = ?1 AND outgoing = 0"
                            " AND rx_s >= ?2 AND content_type >= 0"},
    /* States only move forward (QUEUED < SENT < DELIVERED), so a late SENT never undoes
     * DELIVERED, and a row already at (or past) the state is not changed: a repeated ack is no
     * news. STMT_MSG_OUTGOING then tells "unchanged" from "not an outgoing message". */
    {STMT_MSG_SET_STATE, "UPDATE messages SET state = ?3"
                         " WHERE peer = ?1 AND id = ?2 AND outgoing = 1"
                         " AND state < ?3"},
    {STMT_MSG_OUTGOING, "SELECT 1 FROM messages"
                        " WHERE peer = ?1 AND id = ?2 AND outgoing = 1"},
    /* The "state IN (0, 1)" terms repeat the partial index's condition so that the planner can
     * use messages_outbox; without them it scans the whole history. */
    {STMT_OUTBOX_REQUEUE_PEER, "UPDATE messages SET state = 0 WHERE peer = ?1 AND outgoing = 1"
                               " AND state IN (0, 1) AND state = 1"},
    {STMT_OUTBOX_REQUEUE_ALL, "UPDATE messages SET state = 0 WHERE outgoing = 1"
                              " AND state IN (0, 1) AND state = 1"},
    /* The outbox is walked one row per query, after the last seq (or name) seen: a callback
     * may change the state of the message it is handed (mark it SENT, or DELIVERED) without
     * disturbing the walk, and every message is seen once, in order. INDEXED BY: messages_history
     * (peer, seq) serves the same terms, and SQLite 3.40's planner took it, walking every message
     * of the conversation after ?2 (all of it when a flush starts) to find the few still queued. */
    {STMT_OUTBOX_NEXT, "SELECT " MESSAGE_COLUMNS " FROM messages INDEXED BY messages_outbox"
                       " WHERE peer = ?1"
                       " AND outgoing = 1 AND state IN (0, 1) AND seq > ?2 ORDER BY seq LIMIT 1"},
    {STMT_OUTBOX_NEXT_PEER, "SELECT peer FROM messages WHERE outgoing = 1 AND state IN (0, 1)"
                            " AND peer > ?1 ORDER BY peer LIMIT 1"},
    /* What is still to deliver to one peer (the terminal interface says it at start and at
     * /quit): a count over the partial index. */
    {STMT_OUTBOX_COUNT, "SELECT count(*) FROM messages WHERE peer = ?1 AND outgoing = 1"
                        " AND state IN (0, 1)"},
    /* The newest `limit` rows, handed out oldest first. The outer sort reads the whole inner
     * result before the first row comes out. */
    {STMT_HISTORY,
     "SELECT " MESSAGE_COLUMNS ", seen, deposited_at IS NOT NULL FROM (SELECT " MESSAGE_COLUMNS
     ", seen, deposited_at FROM messages WHERE peer = ?1 AND room IS NULL"
     " ORDER BY seq DESC LIMIT ?2) ORDER BY seq"},
    {STMT__COUNT, NULL},
};

/* ---- rows ------------------------------------------------------------------------------------ */

/* Binds a text body as a BLOB of exactly text_len bytes; an empty body is an empty BLOB, not
 * NULL (sqlite3_bind_blob() makes NULL of a NULL pointer). */
static int store_bind_body(sqlite3_stmt *stmt, int idx, const char *text, size_t text_len)
{
    return sqlite3_bind_blob(stmt, idx, text_len > 0 ? text : "", (int)text_len, SQLITE_STATIC);
}

int store_row_message(mim_store *st, sqlite3_stmt *stmt, mim_message *m)
{
    const void *id;
    const unsigned char *text;
    int rc;

    memset(m, 0, sizeof(*m));
    m->seq = sqlite3_column_int64(stmt, 0);
    rc = store_column_name(st, stmt, 1, m->peer, sizeof(m->peer));
    if (rc < 0)
        return rc;
    id = sqlite3_column_blob(stmt, 2);
    if (id == NULL || sqlite3_column_bytes(stmt, 2) != (int)sizeof(m->id)) {
        mim_log_error("store %s: a stored message id is not 16 bytes", st->path);
        return MIM_EDB;
    }
    memcpy(m->id, id, sizeof(m->id));
    m->outgoing = sqlite3_column_int(stmt, 3);
    m->ts_ms = sqlite3_column_int64(stmt, 4);
    m->content_type = sqlite3_column_int(stmt, 5);
    /* column_text (before column_bytes) on a BLOB gives its bytes unchanged plus a NUL after
     * them: text_len bytes of exactly what was stored, and a C string when it holds no NUL. */
    text = sqlite3_column_text(stmt, 6);
    m->text_len = (size_t)sqlite3_column_bytes(stmt, 6);
    m->text = text != NULL ? (const char *)text : "";
    m->state = sqlite3_column_int(stmt, 7);
    return store_row_fanout(st, stmt, 8, m);
}

/* ---- history and outbox ---------------------------------------------------------------------- */

/* A message to store: what mim_store_message_queue() and mim_store_message_receive() are
 * given. */
struct message_in {
    const char *peer;
    const uint8_t *id; /* 16 bytes */
    int64_t ts_ms;
    int content_type;
    const char *text;
    size_t text_len;
};

/* Binds ?1 the peer's name and ?2 the message id, which every statement keyed by a message
 * takes. */
static int store_bind_peer_id(sqlite3_stmt *stmt, const char *peer, const uint8_t id[16])
{
    int brc = sqlite3_bind_text(stmt, 1, peer, -1, SQLITE_STATIC);

    if (brc == SQLITE_OK)
        brc = sqlite3_bind_blob(stmt, 2, id, 16, SQLITE_STATIC);
    return brc;
}

static int store_message_args_ok(const struct message_in *m)
{
    /* SQLite's own limit on a value is far below INT_MAX; the caller's cap on a message is
     * lower still. This only keeps the int conversion in store_bind_body() exact. */
    return store_name_ok(m->peer) && m->id != NULL && (m->text != NULL || m->text_len == 0) &&
           m->text_len <= 0x7fffffff;
}

/* Checks m and binds it to an insert (STMT_MSG_QUEUE or STMT_MSG_RECEIVE), ready to step:
 * 0, MIM_EINVAL, or the store's error (a bind failure is logged with `what`). */
static int store_message_bind_insert(mim_store *st, enum store_stmt which,
                                     const struct message_in *m, const char *what)
{
    sqlite3_stmt *ins;
    int brc;
    int rc;

    if (!store_is_peer(st) || !store_message_args_ok(m))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    ins = st->stmt[which];
    brc = store_bind_peer_id(ins, m->peer, m->id);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int64(ins, 3, m->ts_ms);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int(ins, 4, m->content_type);
    if (brc == SQLITE_OK)
        brc = store_bind_body(ins, 5, m->text, m->text_len);
    if (brc != SQLITE_OK) {
        store_reset(ins);
        return store_fail(st, what);
    }
    return 0;
}

/* The insert of mim_store_message_queue() and its index entry, inside its op. */
static int store_queue_insert(mim_store *st, const struct message_in *m, int64_t *seq)
{
    sqlite3_stmt *ins;
    int rc;

    rc = store_message_bind_insert(st, STMT_MSG_QUEUE, m, "queue: bind");
    if (rc < 0)
        return rc;
    ins = st->stmt[STMT_MSG_QUEUE];
    if (sqlite3_step(ins) == SQLITE_DONE) {
        rc = 0;
        *seq = sqlite3_last_insert_rowid(st->db);
    } else if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE) {
        rc = MIM_EEXIST; /* the caller's mistake (an id reused), not the store's: no log */
    } else {
        rc = store_fail(st, "queue: insert");
    }
    store_reset(ins);
    if (rc == 0)
        rc = store_search_index(st, *seq, m->content_type, m->text, m->text_len);
    return rc;
}

/* The message and its index entry together or not at all, without a savepoint (FTS5 writes its
 * pending index out at every savepoint: a segment per message made storing 3 times slower,
 * docs/PERFORMANCE.md): inside the caller's transaction, store_search_index takes the row out
 * again when it fails; outside one, in a transaction of its own. */
static int store_insert_op_begin(mim_store *st, int *own, const char *what)
{
    *own = !st->in_tx;
    return *own ? store_op_begin(st, what) : 0;
}

static int store_insert_op_end(mim_store *st, int own, int rc, const char *what)
{
    return own ? store_op_end(st, rc, what) : rc;
}

int mim_store_message_queue(mim_store *st, const char *peer, const uint8_t id[16], int64_t ts_ms,
                            int content_type, const char *text, size_t text_len, int64_t *seq)
{
    const struct message_in m = {peer, id, ts_ms, content_type, text, text_len};
    int64_t row = 0;
    int own, rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    /* Inside a send batch, a failure leaves the batch's transaction as it was. */
    rc = store_insert_op_begin(st, &own, "queue: begin");
    if (rc < 0)
        return rc;
    rc = store_insert_op_end(st, own, store_queue_insert(st, &m, &row), "queue: end");
    if (rc == 0 && seq != NULL)
        *seq = row;
    return rc;
}

int mim_store_message_set_state(mim_store *st, const char *peer, const uint8_t id[16], int state)
{
    sqlite3_stmt *upd, *sel;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || id == NULL ||
        (state != MIM_MSG_SENT && state != MIM_MSG_DELIVERED))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    upd = st->stmt[STMT_MSG_SET_STATE];
    if (store_bind_peer_id(upd, peer, id) != SQLITE_OK ||
        sqlite3_bind_int(upd, 3, state) != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "set state: bind");
    }
    rc = store_run(st, STMT_MSG_SET_STATE, "set state: update");
    if (rc < 0)
        return rc;
    if (sqlite3_changes(st->db) > 0)
        return 1;
    sel = st->stmt[STMT_MSG_OUTGOING];
    if (store_bind_peer_id(sel, peer, id) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "set state: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = 0; /* already at (or past) that state */
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "set state: select");
        break;
    }
    store_reset(sel);
    return rc;
}

int mim_store_outbox_requeue(mim_store *st, const char *peer)
{
    int rc;

    if (!store_is_peer(st) || (peer != NULL && !store_name_ok(peer)))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    if (peer == NULL)
        return store_run(st, STMT_OUTBOX_REQUEUE_ALL, "requeue");
    if (store_bind_name(st->stmt[STMT_OUTBOX_REQUEUE_PEER], peer) != SQLITE_OK) {
        store_reset(st->stmt[STMT_OUTBOX_REQUEUE_PEER]);
        return store_fail(st, "requeue: bind");
    }
    return store_run(st, STMT_OUTBOX_REQUEUE_PEER, "requeue");
}

/* The insert of mim_store_message_receive() and its index entry, inside its op: 1 (new), 0
 * (a resend), or a negative code. */
static int store_receive_insert(mim_store *st, const struct message_in *m)
{
    int rc;

    rc = store_message_bind_insert(st, STMT_MSG_RECEIVE, m, "receive: bind");
    if (rc < 0)
        return rc;
    /* When it was stored, for the quota (bound here: strftime in the statement cost each insert
     * about a microsecond, a few per cent of the receive path). */
    if (sqlite3_bind_int64(st->stmt[STMT_MSG_RECEIVE], 6, mim_clock_wall_s()) != SQLITE_OK) {
        store_reset(st->stmt[STMT_MSG_RECEIVE]);
        return store_fail(st, "receive: bind");
    }
    rc = store_run(st, STMT_MSG_RECEIVE, "receive: insert");
    if (rc < 0)
        return rc;
    /* DO NOTHING on the (peer, id) conflict: no row changed means a resend. */
    if (sqlite3_changes(st->db) == 0)
        return 0;
    rc = store_search_index(st, sqlite3_last_insert_rowid(st->db), m->content_type, m->text,
                            m->text_len);
    return rc < 0 ? rc : 1;
}

int mim_store_message_receive(mim_store *st, const char *peer, const uint8_t id[16], int64_t ts_ms,
                              int content_type, const char *text, size_t text_len)
{
    const struct message_in m = {peer, id, ts_ms, content_type, text, text_len};
    int own, rc;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    rc = store_insert_op_begin(st, &own, "receive: begin");
    if (rc < 0)
        return rc;
    return store_insert_op_end(st, own, store_receive_insert(st, &m), "receive: end");
}

int mim_store_received_day(mim_store *st, const char *peer, int64_t *count, int64_t *bytes)
{
    sqlite3_stmt *stmt = st->stmt[STMT_MSG_RECEIVED_DAY];
    int rc;

    if (!store_name_ok(peer))
        return MIM_EINVAL;
    if (store_bind_name(stmt, peer) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, mim_clock_wall_s() - 86400) != SQLITE_OK) {
        store_reset(stmt);
        return store_fail(st, "received today: bind");
    }
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        store_reset(stmt);
        return store_fail(st, "received today: select");
    }
    *count = sqlite3_column_int64(stmt, 0);
    *bytes = sqlite3_column_int64(stmt, 1);
    store_reset(stmt);
    return 0;
}

/* LIMIT takes a signed 64-bit value. */
static sqlite3_int64 store_limit(size_t limit)
{
    return limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit;
}

int mim_store_outbox_count(mim_store *st, const char *peer, int64_t *count)
{
    sqlite3_stmt *stmt;
    int rc = 0;

    if (!store_is_peer(st) || !store_name_ok(peer) || count == NULL)
        return MIM_EINVAL;
    stmt = st->stmt[STMT_OUTBOX_COUNT];
    *count = 0;
    if (store_bind_name(stmt, peer) != SQLITE_OK)
        rc = store_fail(st, "outbox count: bind");
    else if (sqlite3_step(stmt) == SQLITE_ROW)
        *count = sqlite3_column_int64(stmt, 0);
    else
        rc = store_fail(st, "outbox count: select");
    store_reset(stmt);
    return rc;
}

int mim_store_outbox_each(mim_store *st, const char *peer, size_t limit,
                          int (*cb)(const mim_message *m, void *arg), void *arg)
{
    sqlite3_stmt *next;
    mim_message m;
    int64_t after = 0; /* seq starts at 1 */
    size_t n;
    int rc = 0;

    if (!store_is_peer(st) || !store_name_ok(peer) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_OUTBOX_NEXT);
    if (rc < 0)
        return rc;
    next = st->stmt[STMT_OUTBOX_NEXT];
    for (n = 0; n < limit && rc == 0; n++) {
        int step;

        if (sqlite3_bind_text(next, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(next, 2, after) != SQLITE_OK) {
            rc = store_fail(st, "outbox: bind");
            break;
        }
        step = sqlite3_step(next);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, "outbox: select");
            break;
        }
        rc = store_row_message(st, next, &m);
        if (rc == 0) {
            after = m.seq;
            rc = cb(&m, arg);
        }
        store_reset(next);
    }
    store_reset(next);
    return rc;
}

int mim_store_outbox_peers(mim_store *st, int (*cb)(const char *peer, void *arg), void *arg)
{
    sqlite3_stmt *next;
    char peer[MIM_NAME_MAX_BYTES + 1] = ""; /* every name sorts after "" */
    int rc = 0;

    if (!store_is_peer(st) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_OUTBOX_NEXT_PEER);
    if (rc < 0)
        return rc;
    next = st->stmt[STMT_OUTBOX_NEXT_PEER];
    while (rc == 0) {
        int step;

        if (sqlite3_bind_text(next, 1, peer, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            rc = store_fail(st, "outbox peers: bind");
            break;
        }
        step = sqlite3_step(next);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_fail(st, "outbox peers: select");
            break;
        }
        rc = store_column_name(st, next, 0, peer, sizeof(peer));
        /* The name is copied: the statement is done before the callback runs. */
        store_reset(next);
        if (rc == 0)
            rc = cb(peer, arg);
    }
    store_reset(next);
    return rc;
}

/* The history's callback, and the read mark that tells which rows are unread. */
struct history_visit {
    int (*cb)(const mim_message *m, void *arg);
    void *arg;
    int64_t read_seq;
};

static int visit_history(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    const struct history_visit *h = ctx;
    mim_message m;
    int rc = store_row_message(st, row, &m);

    if (rc != 0)
        return rc;
    m.unread = !m.outgoing && m.content_type >= 0 && m.seq > h->read_seq; /* a local note: never */
    m.seen = sqlite3_column_int(row, MESSAGE_NCOLUMNS) != 0; /* after MESSAGE_COLUMNS */
    m.deposited = sqlite3_column_int(row, MESSAGE_NCOLUMNS + 1) != 0;
    return h->cb(&m, h->arg);
}

int mim_store_history_each(mim_store *st, const char *peer, size_t limit,
                           int (*cb)(const mim_message *m, void *arg), void *arg)
{
    struct history_visit h = {cb, arg, 0};
    sqlite3_stmt *hist;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(peer) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_HISTORY);
    if (rc < 0)
        return rc;
    rc = mim_store_read_seq(st, peer, &h.read_seq);
    if (rc < 0)
        return rc;
    hist = st->stmt[STMT_HISTORY];
    if (sqlite3_bind_text(hist, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(hist, 2, store_limit(limit)) != SQLITE_OK) {
        store_reset(hist);
        return store_fail(st, "history: bind");
    }
    return store_walk(st, hist, "history: select", visit_history, &h);
}
