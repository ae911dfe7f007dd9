/* What the storage door's files share and nobody else sees: the handle, the prepared statements
 * of every program's tables, the schema record a program registers, and the statement helpers.
 * Only the mim_store*.c files include this header (and through it <sqlite3.h>). */
#ifndef MIM_STORE_PRIV_H
#define MIM_STORE_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "mim_limits.h"
#include "mim_store.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- prepared statements ---------------------------------------------------------------------
 *
 * Prepared once at open and kept: the name operations run on every login. One enum for every
 * program, so the handle holds them all in one array; a store prepares only those its schema
 * lists (a registry has no messages table to prepare against). */

enum store_stmt {
    /* mim_store.c: transactions, every kind */
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    /* mim_store.c: an operation's own savepoint inside the caller's transaction, peer only */
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    /* mim_store_registry.c */
    STMT_NAME_SELECT,
    STMT_NAME_INSERT,
    STMT_NAME_DELETE,
    STMT_NAME_COUNT,
    STMT_NAME_LOOKALIKE,
    /* mim_store_mailbox.c (issue 14): the directory's reads and the mailbox */
    STMT_NAME_SEEN,
    STMT_DIR_LOOKUP,
    STMT_DIR_PAGE,
    STMT_MAIL_FIND,
    STMT_MAIL_USAGE,
    STMT_MAIL_INSERT,
    STMT_MAIL_EACH,
    STMT_MAIL_TAKE,
    STMT_MAIL_EXPIRE,
    /* mim_store_contacts.c */
    STMT_CONTACT_SELECT,
    STMT_CONTACT_INSERT,
    STMT_CONTACT_SET_PENDING,
    STMT_CONTACT_TRUST,
    STMT_CONTACT_SET_VERIFIED,
    STMT_CONTACT_EACH,
    STMT_SERVER_SELECT,
    STMT_SERVER_INSERT,
    STMT_SERVER_SET_PENDING,
    STMT_SERVER_TRUST,
    STMT_SERVER_CLAIM,
    STMT_SERVER_LATEST,
    /* mim_store_messages.c */
    STMT_MSG_QUEUE,
    STMT_MSG_RECEIVE,
    STMT_MSG_RECEIVED_DAY,
    STMT_MSG_SET_STATE,
    STMT_MSG_OUTGOING,
    STMT_OUTBOX_REQUEUE_PEER,
    STMT_OUTBOX_REQUEUE_ALL,
    STMT_OUTBOX_NEXT,
    STMT_OUTBOX_NEXT_PEER,
    STMT_OUTBOX_COUNT,
    STMT_HISTORY,
    /* mim_store_search.c */
    STMT_SEARCH_INDEX,
    STMT_SEARCH_UNDO,
    STMT_SEARCH_ALL,
    STMT_SEARCH_PEER,
    STMT_SEARCH_ROOM, /* issue 16: search one room */
    /* mim_store_read.c */
    STMT_READ_SEQ,
    STMT_READ_MARK,
    STMT_UNREAD_COUNT,
    STMT_MSG_SET_SEEN,
    STMT_RECEIPTS_DUE,
    STMT_RECEIPTS_DONE,
    /* mim_store_settings.c */
    STMT_BLOCK_ADD,
    STMT_BLOCK_DEL,
    STMT_BLOCK_GET,
    STMT_SETTING_GET,
    STMT_SETTING_SET,
    /* mim_store_directory.c */
    STMT_DIR_PUT,
    STMT_DIR_GET,
    STMT_DIR_DELETE,
    STMT_DIR_SEEN,
    STMT_DIR_EACH,
    STMT_DIR_PRUNE,
    /* mim_store_mail.c (issue 14): the peer's outbox, its mailbox side */
    STMT_OUTBOX_MAIL_DUE,
    STMT_OUTBOX_MAIL_DEPOSITED,
    STMT_OUTBOX_MAIL_NO_REDEPOSIT,
    STMT_OUTBOX_MAIL_EXPIRED,
    STMT_OUTBOX_MAIL_EXPIRE,
    /* mim_store_fanout.c (issue 16): the copies of a room's message or a broadcast */
    STMT_FANOUT_SET,
    STMT_FANOUT_GET,
    STMT_FANOUT_COUNT,
    STMT__COUNT,
};

/* One statement's text. A table of these ends with a NULL sql. */
struct store_stmt_sql {
    enum store_stmt which;
    const char *sql;
};

/* The statements of each file, for the schemas to list. */
extern const struct store_stmt_sql store_tx_sql[];        /* mim_store.c, every kind */
extern const struct store_stmt_sql store_savepoint_sql[]; /* mim_store.c, the peer */
extern const struct store_stmt_sql store_registry_sql[];  /* mim_store_registry.c */
extern const struct store_stmt_sql store_mailbox_sql[];   /* mim_store_mailbox.c */
extern const struct store_stmt_sql store_contacts_sql[];  /* mim_store_contacts.c */
extern const struct store_stmt_sql store_messages_sql[];  /* mim_store_messages.c */
extern const struct store_stmt_sql store_search_sql[];    /* mim_store_search.c */
extern const struct store_stmt_sql store_read_sql[];      /* mim_store_read.c */
extern const struct store_stmt_sql store_settings_sql[];  /* mim_store_settings.c */
extern const struct store_stmt_sql store_directory_sql[]; /* mim_store_directory.c */
extern const struct store_stmt_sql store_mail_sql[];      /* mim_store_mail.c (issue 14) */
extern const struct store_stmt_sql store_fanout_sql[];    /* mim_store_fanout.c (issue 16) */

/* ---- schemas ---------------------------------------------------------------------------------
 *
 * migrations[i] takes a file from user_version i to i + 1, so the newest version a program
 * knows is the length of its kind's list. Never edit or reorder a migration that has shipped:
 * files in the field are already past it. To change a schema, append one. A new store kind adds
 * its enum value in mim_store.h, a schema record in its own file and a row in mim_store.c's
 * list of schemas. */

struct store_schema {
    enum mim_store_kind kind;
    /* PRAGMA application_id, written with the first migration, so that a store of one kind (or
     * some other program's SQLite file) is never taken for a store of another. */
    int32_t application_id;
    const char *const *migrations;
    int nmigrations;
    const char *pragma; /* run after the common ones at every open, or NULL */
    /* Registers the kind's own SQL functions (or checks for the SQLite features its schema
     * needs) at every open, before the migrations run (one may use them), or NULL. 0 or
     * MIM_EDB. */
    int (*functions)(struct mim_store *st);
    const struct store_stmt_sql *const *stmts; /* the statement tables to prepare, NULL-ended */
};

extern const struct store_schema store_registry_schema; /* mim_store_registry.c */
extern const struct store_schema store_peer_schema;     /* mim_store_peer.c */

struct mim_store {
    sqlite3 *db;
    const struct store_schema *schema;
    char *path;                      /* for log lines */
    sqlite3_stmt *stmt[STMT__COUNT]; /* NULL for the statements of another kind */
    int in_tx; /* mim_store_begin() opened a transaction that is not yet committed or rolled back */
    int relaxed; /* that transaction came from mim_store_begin_relaxed(): synchronous is NORMAL */
};

/* ---- helpers (mim_store.c) ------------------------------------------------------------------- */

/* Logs the connection's last SQLite error and returns MIM_EDB. */
int store_fail(const mim_store *st, const char *what);
/* Makes a statement ready for its next use. Clearing the bindings matters: they point into the
 * caller's memory (SQLITE_STATIC), which is gone once the call returns. */
void store_reset(sqlite3_stmt *stmt);
/* Runs a prepared statement that returns no rows: 0 or MIM_EDB (logged with `what`). */
int store_run(mim_store *st, enum store_stmt which, const char *what);
/* Ends the open transaction, if any, without its changes. SQLite may have rolled back already
 * (some errors do that), in which case there is nothing left to do. */
void store_rollback(mim_store *st);
/* 1 when st is an open peer store. */
int store_is_peer(const mim_store *st);
/* Refuses a write inside mim_store_begin() once SQLite has rolled that transaction back on its
 * own (MIM_EDB), and retries a failed return to synchronous=FULL. 0 when the write may run. */
int store_tx_check(mim_store *st);
/* Starts an operation that must be atomic on its own (read, then write): a write transaction,
 * or a savepoint inside the caller's transaction. */
int store_op_begin(mim_store *st, const char *what);
/* Ends what store_op_begin() started: keeps its changes when rc >= 0 (and returns rc, or the
 * commit's error), drops them otherwise (and returns rc). */
int store_op_end(mim_store *st, int rc, const char *what);
/* MIM_ESTATE (logged) when the statement is still running: an iteration's callback called back
 * in, and running it again would pull the rows out from under that iteration. Else 0. */
int store_stmt_idle(mim_store *st, enum store_stmt which);
/* Steps stmt (bound, idle) through its rows, calling visit on each; stops at the first
 * non-zero value visit returns and returns it. A step error is MIM_EDB, logged with `what`.
 * Resets stmt on every path. */
int store_walk(mim_store *st, sqlite3_stmt *stmt, const char *what,
               int (*visit)(mim_store *st, sqlite3_stmt *row, void *ctx), void *ctx);

/* ---- peer names (mim_store_peer.c) ------------------------------------------------------------
 */

/* 1 when name is 1 to MIM_NAME_MAX_BYTES bytes. */
int store_name_ok(const char *name);
/* Binds ?1 to a name, unless name is NULL (the server pin's statements have no ?1). */
int store_bind_name(sqlite3_stmt *stmt, const char *name);
/* Copies a TEXT column of at most outlen - 1 bytes into out with its NUL. MIM_EDB for anything
 * else (a file edited by hand). */
int store_column_name(mim_store *st, sqlite3_stmt *stmt, int col, char *out, size_t outlen);
/* Runs a statement that takes a name (?1) and returns one integer: 0 and *out (0 when it
 * returns no row), or MIM_EDB (logged with `what`). */
int store_name_int(mim_store *st, enum store_stmt which, const char *peer, int64_t *out,
                   const char *what);

/* ---- message rows (mim_store_messages.c) ----------------------------------------------------
 */

struct mim_message;
/* The columns every message query returns, in the order store_row_message() reads them. */
#define MESSAGE_COLUMNS                                                                            \
    "seq, peer, id, outgoing, ts_ms, content_type, body, state, room, room_epoch, fanout"
#define MESSAGE_NCOLUMNS 11 /* the columns after them start here */
/* A message row (MESSAGE_COLUMNS, from column 0). m->text points into the statement: valid
 * until its next step or reset. */
int store_row_message(mim_store *st, sqlite3_stmt *stmt, struct mim_message *m);
/* Issue 16 (mim_store_fanout.c): m's room, room_epoch and fanout from columns col.. col + 2. */
int store_row_fanout(mim_store *st, sqlite3_stmt *stmt, int col, struct mim_message *m);

/* ---- the search index (mim_store_search.c) ---------------------------------------------------
 */

/* The peer schema's check at open: SQLite has FTS5 (compiled in), or MIM_EDB with a clear log. */
int store_search_ready(mim_store *st);
/* Indexes the message just inserted as row seq (text content only; other types are not
 * indexed: 0). Called by the inserts of mim_store_messages.c right after the message's row, in
 * a transaction: when the index entry cannot be stored, the row is deleted again, so a message
 * and its index entry are stored together or not at all. 0 or MIM_EDB. */
int store_search_index(mim_store *st, int64_t seq, int content_type, const char *text,
                       size_t text_len);

#endif
