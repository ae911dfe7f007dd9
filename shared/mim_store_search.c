/* The peer's search index: an FTS5 table over the text messages' bodies (migration 3 in
 * mim_store_peer.c), an entry added beside each message stored, and the search itself, newest
 * first with a snippet. Only a mim_search_query (quoted terms, mim_search_query.c) reaches
 * MATCH: user text never does. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_search_query.h"
#include "mim_store_priv.h"

/* The message columns of MESSAGE_COLUMNS, from the messages table of the join (the index has a
 * body column of its own), then the snippet: column MESSAGE_NCOLUMNS. Snippets hold up to 16
 * tokens. */
#define SEARCH_SELECT                                                                              \
    "SELECT m.seq, m.peer, m.id, m.outgoing, m.ts_ms, m.content_type, m.body, m.state,"            \
    " m.room, m.room_epoch, m.fanout,"                                                             \
    " snippet(messages_fts, 0, char(2), char(3), '\u2026', 16)"                                    \
    " FROM messages_fts JOIN messages AS m ON m.seq = messages_fts.rowid"                          \
    " WHERE messages_fts MATCH ?1"
/* Newest first by the index's own rowid order (rowid = seq): FTS5 walks its matches in that
 * order, so LIMIT stops the walk and only the rows returned get a snippet. */
#define SEARCH_ORDER " ORDER BY messages_fts.rowid DESC LIMIT ?2"

_Static_assert(MIM_STORE_SNIPPET_ON == 2 && MIM_STORE_SNIPPET_OFF == 3,
               "the snippet's markers are char(2) and char(3) in SEARCH_SELECT");

const struct store_stmt_sql store_search_sql[] = {
    {STMT_SEARCH_INDEX, "INSERT INTO messages_fts(rowid, body) VALUES(?1, ?2)"},
    {STMT_SEARCH_UNDO, "DELETE FROM messages WHERE seq = ?1"},
    {STMT_SEARCH_ALL, SEARCH_SELECT SEARCH_ORDER},
    {STMT_SEARCH_PEER, SEARCH_SELECT " AND m.peer = ?3" SEARCH_ORDER},
    /* Issue 16: a room's rows only; our copies share one id, and the first of them stands for
     * the message (as in mim_store_room_history_each), found through messages_fanout. */
    {STMT_SEARCH_ROOM, SEARCH_SELECT
     " AND m.room = ?3 AND m.seq = (SELECT min(c.seq) FROM messages AS c"
     " WHERE c.id = m.id AND c.outgoing = m.outgoing AND c.fanout <> 0)" SEARCH_ORDER},
    {STMT__COUNT, NULL},
};

int store_search_ready(mim_store *st)
{
    /* Debian 12's libsqlite3 has FTS5 built in; a SQLite without it cannot hold the index, and
     * the migration would fail with a less helpful "no such module". */
    if (!sqlite3_compileoption_used("ENABLE_FTS5")) {
        mim_log_error("store %s: this SQLite (%s) has no FTS5, which the history's search index "
                      "needs; install a SQLite built with it (Debian's libsqlite3-0 is)",
                      st->path, sqlite3_libversion());
        return MIM_EDB;
    }
    return 0;
}

int store_search_index(mim_store *st, int64_t seq, int content_type, const char *text,
                       size_t text_len)
{
    sqlite3_stmt *ins = st->stmt[STMT_SEARCH_INDEX];
    int rc;

    if (content_type != 1) /* MIM__CONTENT_TYPE__CONTENT_TEXT: the store has no codec */
        return 0;
    /* Bound as the messages row holds it (a BLOB of text_len bytes): the index must get the
     * same value back when FTS5 reads the row for a snippet. */
    if (sqlite3_bind_int64(ins, 1, seq) != SQLITE_OK ||
        sqlite3_bind_blob(ins, 2, text_len > 0 ? text : "", (int)text_len, SQLITE_STATIC) !=
            SQLITE_OK) {
        store_reset(ins);
        rc = store_fail(st, "search index: bind");
    } else {
        rc = store_run(st, STMT_SEARCH_INDEX, "search index: insert");
    }
    if (rc < 0) {
        /* Not stored then: the message goes too, and the caller's transaction holds neither. */
        if (sqlite3_bind_int64(st->stmt[STMT_SEARCH_UNDO], 1, seq) != SQLITE_OK ||
            store_run(st, STMT_SEARCH_UNDO, "search index: undo") < 0)
            store_reset(st->stmt[STMT_SEARCH_UNDO]);
    }
    return rc;
}

struct search_visit {
    int (*cb)(const mim_message *m, const char *snippet, void *arg);
    void *arg;
};

static int visit_hit(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    const struct search_visit *v = ctx;
    const unsigned char *snippet;
    mim_message m;
    int rc = store_row_message(st, row, &m);

    if (rc != 0)
        return rc;
    snippet = sqlite3_column_text(row, MESSAGE_NCOLUMNS);
    return v->cb(&m, snippet != NULL ? (const char *)snippet : "", v->arg);
}

/* Runs statement which (one of STMT_SEARCH_*) with q and limit bound, and ?3 to peer (a name)
 * or room (16 bytes) when either is not NULL. */
static int search_run(mim_store *st, enum store_stmt which, const struct mim_search_query *q,
                      size_t limit, const char *peer, const uint8_t room[16],
                      struct search_visit *v)
{
    sqlite3_stmt *sel;
    int rc = store_stmt_idle(st, which);

    if (rc < 0)
        return rc;
    sel = st->stmt[which];
    if (sqlite3_bind_text(sel, 1, q->expr, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(sel, 2, limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit) !=
            SQLITE_OK ||
        (peer != NULL && sqlite3_bind_text(sel, 3, peer, -1, SQLITE_STATIC) != SQLITE_OK) ||
        (room != NULL && sqlite3_bind_blob(sel, 3, room, 16, SQLITE_STATIC) != SQLITE_OK)) {
        store_reset(sel);
        return store_fail(st, "search: bind");
    }
    return store_walk(st, sel, "search: select", visit_hit, v);
}

int mim_store_search(mim_store *st, const struct mim_search_query *q, const char *peer,
                     size_t limit, int (*cb)(const mim_message *m, const char *snippet, void *arg),
                     void *arg)
{
    struct search_visit v = {cb, arg};

    if (!store_is_peer(st) || q == NULL || q->nterms <= 0 || cb == NULL ||
        (peer != NULL && !store_name_ok(peer)))
        return MIM_EINVAL;
    return search_run(st, peer != NULL ? STMT_SEARCH_PEER : STMT_SEARCH_ALL, q, limit, peer, NULL,
                      &v);
}

int mim_store_search_room(mim_store *st, const struct mim_search_query *q, const uint8_t room[16],
                          size_t limit,
                          int (*cb)(const mim_message *m, const char *snippet, void *arg),
                          void *arg)
{
    struct search_visit v = {cb, arg};

    if (!store_is_peer(st) || q == NULL || q->nterms <= 0 || cb == NULL || room == NULL)
        return MIM_EINVAL;
    return search_run(st, STMT_SEARCH_ROOM, q, limit, NULL, room, &v);
}
