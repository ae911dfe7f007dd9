/* The peer store's schema: its migrations, kept in order, and the statement tables of its files
 * (mim_store_contacts.c, mim_store_messages.c; a new peer table adds a migration here and its
 * own file beside them), with the name helpers those files share. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

static const char *const peer_migrations[] = {
    /* 1: contacts and their pins, the server pin, history and outbox. Keys are checked for type
     * as well as length: length() of a TEXT value counts characters, not bytes. */
    "CREATE TABLE contacts("
    " name TEXT NOT NULL PRIMARY KEY,"
    " identity_pk BLOB NOT NULL"
    "  CHECK(typeof(identity_pk) = 'blob' AND length(identity_pk) = 32),"
    " first_seen INTEGER NOT NULL,"
    " verified INTEGER NOT NULL DEFAULT 0 CHECK(verified IN (0, 1)),"
    " pending_pk BLOB"
    "  CHECK(pending_pk IS NULL OR (typeof(pending_pk) = 'blob' AND length(pending_pk) = 32))"
    ");"
    /* A table of its own, with at most one row, rather than a reserved name in contacts: no
     * user name can ever collide with the server's pin. */
    "CREATE TABLE server_pin("
    " id INTEGER PRIMARY KEY CHECK(id = 1),"
    " identity_pk BLOB NOT NULL"
    "  CHECK(typeof(identity_pk) = 'blob' AND length(identity_pk) = 32),"
    " first_seen INTEGER NOT NULL,"
    " pending_pk BLOB"
    "  CHECK(pending_pk IS NULL OR (typeof(pending_pk) = 'blob' AND length(pending_pk) = 32))"
    ");"
    /* AUTOINCREMENT: a seq is never reused, even after the newest row is deleted, so the
     * outbox order can never put a new message before an older one. The body is a BLOB with
     * its explicit length: text may hold any byte, and nothing is lost to a NUL. Exactly once:
     * (peer, id) is unique per direction, so a resend of a received message is dropped by id. */
    "CREATE TABLE messages("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " peer TEXT NOT NULL,"
    " id BLOB NOT NULL CHECK(typeof(id) = 'blob' AND length(id) = 16),"
    " outgoing INTEGER NOT NULL CHECK(outgoing IN (0, 1)),"
    " ts_ms INTEGER NOT NULL,"
    " content_type INTEGER NOT NULL,"
    " body BLOB NOT NULL CHECK(typeof(body) = 'blob'),"
    " state INTEGER NOT NULL"
    "  CHECK((outgoing = 1 AND state IN (0, 1, 2)) OR (outgoing = 0 AND state = 3)),"
    " UNIQUE(peer, id, outgoing)"
    ");"
    /* The outbox: a partial index holding only the messages still to deliver, so finding them
     * costs the same however long the history grows. Queries use it only when their WHERE
     * repeats the index's condition word for word (see STMT_OUTBOX_*). */
    "CREATE INDEX messages_outbox ON messages(peer, seq) WHERE outgoing = 1 AND state IN (0, 1);"
    "CREATE INDEX messages_history ON messages(peer, seq);",
    /* 2: when each incoming message was stored (Unix seconds; NULL for those stored before), so
     * that the quota per sender counts the last 24 hours from the store itself, across
     * restarts (issue 12). A partial index: incoming messages only. */
    "ALTER TABLE messages ADD COLUMN rx_s INTEGER;"
    "CREATE INDEX messages_rx ON messages(peer, rx_s) WHERE outgoing = 0;",
    /* 3: full-text search over the history (issue 13): an FTS5 index over the text messages'
     * bodies, kept by mim_store_search.c beside every insert, in the same transaction. External
     * content (the text is read back from messages for snippets, not stored twice), rowid =
     * seq. Case and accents folded ("hello" finds "Héllo"). Filled here from the
     * existing history, text only: FTS5's own 'rebuild' would index every content type. Not
     * kept by triggers: with trusted_schema off (mim_store.c) SQLite refuses a virtual table
     * in a trigger. */
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='seq',"
    " tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO messages_fts(rowid, body) SELECT seq, body FROM messages WHERE content_type = 1;",
    /* 4: what the user has read, a mark per peer (mim_store_read.c says why a mark): read_seq,
     * the last incoming message read; receipt_seq, the last one whose read receipt went out (or
     * was given up: receipts off). What an older version received was shown: it counts as read,
     * and is owed no receipt. */
    "CREATE TABLE read_marks("
    " peer TEXT NOT NULL PRIMARY KEY,"
    " read_seq INTEGER NOT NULL DEFAULT 0,"
    " receipt_seq INTEGER NOT NULL DEFAULT 0"
    ");"
    "INSERT INTO read_marks(peer, read_seq, receipt_seq)"
    " SELECT peer, max(seq), max(seq) FROM messages WHERE outgoing = 0 GROUP BY peer;",
    /* 5: issue 13. seen: the peer's read receipt came for this message of ours (outgoing only).
     * blocked: names whose sessions are refused -- a table of its own, as a name never pinned
     * may be blocked too. settings: what the user chose and a restart keeps (read receipts on
     * or off, our own status and its text), one text value per key (mim_store_settings.c). */
    "ALTER TABLE messages ADD COLUMN seen INTEGER NOT NULL DEFAULT 0"
    " CHECK(seen IN (0, 1) AND (seen = 0 OR outgoing = 1));"
    "CREATE TABLE blocked(name TEXT NOT NULL PRIMARY KEY, since INTEGER NOT NULL);"
    "CREATE TABLE settings(key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);",
    /* 6 (issue 13): the server pin per server address ("host:port" as mim_addr_format writes
     * it), so that the servers of two networks are two pins, not a key-change alarm. The one
     * pin of before was not stored with its address: it becomes the row 'any', which the
     * first server address checked after the upgrade takes over as its own (most likely the
     * server it was pinned with; if not, that server meets the old pin and gets the alarm, as
     * it would have before). */
    "CREATE TABLE server_pins("
    " server TEXT PRIMARY KEY CHECK(typeof(server) = 'text' AND length(server) BETWEEN 1 AND 64),"
    " identity_pk BLOB NOT NULL"
    "  CHECK(typeof(identity_pk) = 'blob' AND length(identity_pk) = 32),"
    " first_seen INTEGER NOT NULL,"
    " pending_pk BLOB"
    "  CHECK(pending_pk IS NULL OR (typeof(pending_pk) = 'blob' AND length(pending_pk) = 32))"
    ");"
    "INSERT INTO server_pins(server, identity_pk, first_seen, pending_pk)"
    " SELECT 'any', identity_pk, first_seen, pending_pk FROM server_pin;"
    "DROP TABLE server_pin;",
    /* 7 (issue 14): the outbox's mailbox side (mim_store_mail.c). deposited_at: when the
     * presence server acknowledged our sealed copy (ms since the epoch), NULL when it holds
     * none; expires_at: when it deletes that copy unless fetched; no_redeposit: the message
     * expired there once (or was refused for good) and waits for a direct session. */
    "ALTER TABLE messages ADD COLUMN deposited_at INTEGER;"
    "ALTER TABLE messages ADD COLUMN expires_at INTEGER;"
    "ALTER TABLE messages ADD COLUMN no_redeposit INTEGER NOT NULL DEFAULT 0"
    " CHECK(no_redeposit IN (0, 1));",
    /* 8 (issue 14): the copy of the presence server's directory (mim_store_directory.c): a
     * cache of the server's word, never a pin. updated_ms: when the server last listed the
     * name (our clock), so that a complete listing can drop the names no longer registered. */
    "CREATE TABLE directory("
    " name TEXT NOT NULL PRIMARY KEY,"
    " identity_pk BLOB NOT NULL"
    "  CHECK(typeof(identity_pk) = 'blob' AND length(identity_pk) = 32),"
    " online INTEGER NOT NULL DEFAULT 0 CHECK(online IN (0, 1)),"
    " last_seen_ms INTEGER NOT NULL DEFAULT 0,"
    " updated_ms INTEGER NOT NULL"
    ");",
    /* 9 (issue 15): file transfers, both directions: one row per offer (mim_store_transfers.c).
     * The data never; the receiver's verified chunks as a bitmap; both sides' chunk hashes. */
    "CREATE TABLE transfers("
    " peer TEXT NOT NULL,"
    " id BLOB NOT NULL CHECK(typeof(id) = 'blob' AND length(id) = 16),"
    " outgoing INTEGER NOT NULL CHECK(outgoing IN (0, 1)),"
    " state INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " path TEXT NOT NULL DEFAULT '',"
    " unique_name TEXT NOT NULL DEFAULT '',"
    " size INTEGER NOT NULL CHECK(size >= 0),"
    " nfiles INTEGER NOT NULL,"
    " folder INTEGER NOT NULL CHECK(folder IN (0, 1)),"
    " media_type TEXT NOT NULL DEFAULT '',"
    " width INTEGER NOT NULL DEFAULT 0,"
    " height INTEGER NOT NULL DEFAULT 0,"
    " chunk_size INTEGER NOT NULL CHECK(chunk_size > 0),"
    " root BLOB NOT NULL CHECK(length(root) = 32),"
    " manifest_hash BLOB,"
    " hashes BLOB,"
    " verified BLOB,"
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '',"
    " sha256 TEXT NOT NULL DEFAULT '',"
    " UNIQUE(peer, id, outgoing)"
    ");",
    /* 10 (issue 14, mailspeed): the messages due for the mailbox (STMT_OUTBOX_MAIL_DUE), apart
     * from the deposited ones that stay in the outbox: without it, each look for the next
     * deposits walked every deposited message of the peer first (quadratic in the outbox). */
    "CREATE INDEX messages_mail_due ON messages(peer, seq) WHERE outgoing = 1 AND state = 0"
    " AND deposited_at IS NULL AND no_redeposit = 0 AND content_type = 1;",
    /* 11 (issue 16): a message sent to several peers (a room's, a broadcast) is one row per
     * copy, all with one id (mim_store_fanout.c). room: the room's 16-byte id; room_epoch: the
     * sender's membership epoch; fanout: 0 a 1:1 message, 1 a room's, 2 a broadcast, 3 an
     * important broadcast. Incoming rows carry the same columns. The partial index counts a
     * message's copies by id ("delivered to 7 of 9") without touching 1:1 history. */
    "ALTER TABLE messages ADD COLUMN room BLOB"
    " CHECK(room IS NULL OR (typeof(room) = 'blob' AND length(room) = 16));"
    "ALTER TABLE messages ADD COLUMN room_epoch INTEGER;"
    "ALTER TABLE messages ADD COLUMN fanout INTEGER NOT NULL DEFAULT 0"
    " CHECK(fanout BETWEEN 0 AND 3);"
    "CREATE INDEX messages_fanout ON messages(id, outgoing) WHERE fanout <> 0;"
    "CREATE INDEX messages_room ON messages(room, seq) WHERE room IS NOT NULL;",
    /* 12 (issue 16): every room's membership log, each change as it came (a packed
     * RoomChange), keyed by its hash (mim_store_rooms.c). The rooms are the rooms of the log:
     * their names and members are replayed from it (peer/room_log.c). */
    "CREATE TABLE room_log("
    " room BLOB NOT NULL CHECK(typeof(room) = 'blob' AND length(room) = 16),"
    " epoch INTEGER NOT NULL CHECK(epoch >= 1),"
    " hash BLOB NOT NULL CHECK(typeof(hash) = 'blob' AND length(hash) = 32),"
    " change BLOB NOT NULL CHECK(typeof(change) = 'blob'),"
    " PRIMARY KEY(room, hash)"
    ");",
    /* 13 (issue 16): acknowledgements of important broadcasts (mim_store_broadcast.c).
     * outgoing 1: `peer` acknowledged our broadcast `id`; outgoing 0: we acknowledged peer's,
     * and confirmed says whether its sender has told us it keeps that (until then it is owed). */
    "CREATE TABLE broadcast_acks("
    " id BLOB NOT NULL CHECK(typeof(id) = 'blob' AND length(id) = 16),"
    " peer TEXT NOT NULL,"
    " outgoing INTEGER NOT NULL CHECK(outgoing IN (0, 1)),"
    " ts_ms INTEGER NOT NULL,"
    " confirmed INTEGER NOT NULL DEFAULT 0 CHECK(confirmed IN (0, 1)),"
    " PRIMARY KEY(id, peer, outgoing)"
    ") WITHOUT ROWID;"
    "CREATE INDEX broadcast_acks_owed ON broadcast_acks(peer)"
    " WHERE outgoing = 0 AND confirmed = 0;",
    /* 14: the messages table rebuilt (SQLite's twelve-step ALTER, no table refers to it) with
     * one CHECK rewritten: "state IN (0, 1, 2)", a list of three, made SQLite build an
     * ephemeral b-tree at every insert and every state change (a page zeroed, a pager opened
     * and cleared: ~34,000 instructions per row, a fifth of a message's cost at both ends).
     * Three equalities say the same without it; test_store_peer checks the statements need
     * none. The rows keep their seq (the search index's rowid) and the AUTOINCREMENT high mark.
     * The indexes are as migrations 1-11 made them. */
    "CREATE TABLE messages_v14("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " peer TEXT NOT NULL,"
    " id BLOB NOT NULL CHECK(typeof(id) = 'blob' AND length(id) = 16),"
    " outgoing INTEGER NOT NULL CHECK(outgoing IN (0, 1)),"
    " ts_ms INTEGER NOT NULL,"
    " content_type INTEGER NOT NULL,"
    " body BLOB NOT NULL CHECK(typeof(body) = 'blob'),"
    " state INTEGER NOT NULL CHECK((outgoing = 1 AND (state = 0 OR state = 1 OR state = 2))"
    "  OR (outgoing = 0 AND state = 3)),"
    " rx_s INTEGER,"
    " seen INTEGER NOT NULL DEFAULT 0 CHECK(seen IN (0, 1) AND (seen = 0 OR outgoing = 1)),"
    " deposited_at INTEGER,"
    " expires_at INTEGER,"
    " no_redeposit INTEGER NOT NULL DEFAULT 0 CHECK(no_redeposit IN (0, 1)),"
    " room BLOB CHECK(room IS NULL OR (typeof(room) = 'blob' AND length(room) = 16)),"
    " room_epoch INTEGER,"
    " fanout INTEGER NOT NULL DEFAULT 0 CHECK(fanout BETWEEN 0 AND 3),"
    " UNIQUE(peer, id, outgoing)"
    ");"
    "INSERT INTO messages_v14(seq, peer, id, outgoing, ts_ms, content_type, body, state, rx_s,"
    " seen, deposited_at, expires_at, no_redeposit, room, room_epoch, fanout)"
    " SELECT seq, peer, id, outgoing, ts_ms, content_type, body, state, rx_s, seen,"
    " deposited_at, expires_at, no_redeposit, room, room_epoch, fanout FROM messages;"
    "DELETE FROM sqlite_sequence WHERE name = 'messages_v14';"
    "INSERT INTO sqlite_sequence(name, seq)"
    " SELECT 'messages_v14', seq FROM sqlite_sequence WHERE name = 'messages';"
    "DROP TABLE messages;"
    "ALTER TABLE messages_v14 RENAME TO messages;"
    "CREATE INDEX messages_outbox ON messages(peer, seq) WHERE outgoing = 1 AND state IN (0, 1);"
    "CREATE INDEX messages_history ON messages(peer, seq);"
    "CREATE INDEX messages_rx ON messages(peer, rx_s) WHERE outgoing = 0;"
    "CREATE INDEX messages_mail_due ON messages(peer, seq) WHERE outgoing = 1 AND state = 0"
    " AND deposited_at IS NULL AND no_redeposit = 0 AND content_type = 1;"
    "CREATE INDEX messages_fanout ON messages(id, outgoing) WHERE fanout <> 0;"
    "CREATE INDEX messages_room ON messages(room, seq) WHERE room IS NOT NULL;",
    /* 15 (issue 14, receipts): the sealed receipts we owe the senders of letters taken from the
     * mailbox, until one is deposited or the ids went as a direct Ack
     * (mim_store_mail_receipts.c). */
    "CREATE TABLE mail_receipts_owed("
    " seq INTEGER PRIMARY KEY,"
    " peer TEXT NOT NULL,"
    " id BLOB NOT NULL CHECK(typeof(id) = 'blob' AND length(id) = 16),"
    " since_ms INTEGER NOT NULL,"
    " UNIQUE(peer, id)"
    ");",
    /* 16 (issue 15, speed): the offer's hash scheme and stripes (FileOffer.hash_scheme,
     * stripe_chunks); the transfers stored before it hashed their chunks with BLAKE2b (0). */
    "ALTER TABLE transfers ADD COLUMN hash_scheme INTEGER NOT NULL DEFAULT 0"
    " CHECK(hash_scheme IN (0, 1));"
    "ALTER TABLE transfers ADD COLUMN stripe_chunks INTEGER NOT NULL DEFAULT 0"
    " CHECK(stripe_chunks >= 0);",
};

static const struct store_stmt_sql *const peer_stmts[] = {
    store_tx_sql,   store_savepoint_sql, store_contacts_sql, store_messages_sql,  store_search_sql,
    store_read_sql, store_settings_sql,  store_mail_sql,     store_directory_sql, store_fanout_sql,
    NULL,
};

const struct store_schema store_peer_schema = {
    .kind = MIM_STORE_PEER,
    .application_id = 0x6d696d71, /* "mimq" */
    .migrations = peer_migrations,
    .nmigrations = (int)ARRAY_LEN(peer_migrations),
    .pragma = NULL,
    .functions = store_search_ready,
    .stmts = peer_stmts,
};

/* ---- names ----------------------------------------------------------------------------------- */

_Static_assert(sizeof(((mim_contact *)0)->name) == MIM_NAME_MAX_BYTES + 1, "contact name size");
_Static_assert(sizeof(((mim_message *)0)->peer) == MIM_NAME_MAX_BYTES + 1, "message peer size");

int store_name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strnlen(name, MIM_NAME_MAX_BYTES + 1);
    return n > 0 && n <= MIM_NAME_MAX_BYTES;
}

int store_bind_name(sqlite3_stmt *stmt, const char *name)
{
    if (name == NULL)
        return SQLITE_OK;
    return sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
}

/* Names are at most MIM_NAME_MAX_BYTES bytes, so out is MIM_NAME_MAX_BYTES + 1 bytes
 * (mim_contact.name and mim_message.peer hold one with its NUL). */
int store_column_name(mim_store *st, sqlite3_stmt *stmt, int col, char *out, size_t outlen)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    int n = sqlite3_column_bytes(stmt, col);

    if (text == NULL || n <= 0 || (size_t)n >= outlen) {
        mim_log_error("store %s: a stored name is empty or too long (%d bytes)", st->path, n);
        return MIM_EDB;
    }
    memcpy(out, text, (size_t)n);
    out[n] = '\0';
    return 0;
}

/* Runs a one-name query that returns one integer: 0 and *out (0 when it returns no row), or
 * MIM_EDB. */
int store_name_int(mim_store *st, enum store_stmt which, const char *peer, int64_t *out,
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
