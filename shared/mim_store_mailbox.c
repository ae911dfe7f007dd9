/* The presence server's mailbox and the directory's reads of the name registry (see
 * mim_store_mailbox.h). The tables are created by presence migration 3 (mim_store_registry.c). */
#include "mim_store_mailbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_error.h"
#include "mim_store_priv.h"

#define DIR_COLUMNS "name, identity_pk, last_seen_ms"

const struct store_stmt_sql store_mailbox_sql[] = {
    {STMT_NAME_SEEN, "UPDATE names SET last_seen_ms = ?2 WHERE name = ?1"},
    {STMT_DIR_LOOKUP, "SELECT " DIR_COLUMNS " FROM names WHERE name = ?1"},
    /* TEXT compares with BINARY, memcmp: byte order, as DirectoryList promises. */
    {STMT_DIR_PAGE, "SELECT " DIR_COLUMNS " FROM names WHERE name > ?1 ORDER BY name LIMIT ?2"},
    {STMT_MAIL_FIND,
     "SELECT seq, expires_ms FROM mailbox WHERE recipient = ?1 AND sender = ?2 AND id = ?3"},
    {STMT_MAIL_USAGE, "SELECT count(*), coalesce(sum(size), 0) FROM mailbox WHERE recipient = ?1"},
    {STMT_MAIL_INSERT, "INSERT INTO mailbox(recipient, sender, sender_pk, id, sealed, size,"
                       " deposited_ms, expires_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
    {STMT_MAIL_EACH, "SELECT seq, sender, sender_pk, id, sealed, deposited_ms, expires_ms"
                     " FROM mailbox WHERE recipient = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"},
    {STMT_MAIL_TAKE, "DELETE FROM mailbox WHERE seq = ?1 AND recipient = ?2"},
    {STMT_MAIL_EXPIRE, "DELETE FROM mailbox WHERE expires_ms <= ?1"},
    {STMT__COUNT, NULL},
};

static int presence_store(const mim_store *st)
{
    return st != NULL && st->schema->kind == MIM_STORE_PRESENCE;
}

/* ---- the directory ----------------------------------------------------------------------------
 */

/* A registry's transactions (mim_store_begin is the peer's): BEGIN IMMEDIATE, then COMMIT, or
 * store_rollback on any error. */
static int tx_begin(mim_store *st, const char *what)
{
    return store_run(st, STMT_BEGIN, what);
}

static int tx_end(mim_store *st, int rc, const char *what)
{
    if (rc >= 0) {
        int c = store_run(st, STMT_COMMIT, what);
        if (c == 0)
            return rc;
        rc = c;
    }
    store_rollback(st);
    return rc;
}

int mim_store_names_seen(mim_store *st, const mim_name_seen *seen, size_t n)
{
    sqlite3_stmt *q;
    int rc;

    if (!presence_store(st) || (seen == NULL && n > 0))
        return MIM_EINVAL;
    if (n == 0)
        return 0;
    q = st->stmt[STMT_NAME_SEEN];
    if ((rc = tx_begin(st, "seen: begin")) != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (sqlite3_bind_text(q, 1, seen[i].name, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(q, 2, seen[i].at_ms) != SQLITE_OK) {
            store_reset(q);
            rc = store_fail(st, "seen: bind");
        } else {
            rc = store_run(st, STMT_NAME_SEEN, "seen: update");
        }
    }
    return tx_end(st, rc, "seen: commit");
}

/* A registry row (DIR_COLUMNS) into out. 0, or MIM_EDB for a row no migration wrote. */
static int dir_row(mim_store *st, sqlite3_stmt *row, mim_dir_name *out)
{
    if (store_column_name(st, row, 0, out->name, sizeof(out->name)) != 0 ||
        sqlite3_column_bytes(row, 1) != 32)
        return store_fail(st, "directory: a malformed registry row");
    memcpy(out->identity_pk, sqlite3_column_blob(row, 1), 32);
    out->last_seen_ms = sqlite3_column_int64(row, 2);
    return 0;
}

int mim_store_dir_lookup(mim_store *st, const char *name, mim_dir_name *out)
{
    sqlite3_stmt *q;
    int rc;

    if (!presence_store(st) || name == NULL || out == NULL)
        return MIM_EINVAL;
    q = st->stmt[STMT_DIR_LOOKUP];
    if (sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "lookup: bind");
    }
    switch (sqlite3_step(q)) {
    case SQLITE_ROW:
        rc = dir_row(st, q, out);
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "lookup: select");
        break;
    }
    store_reset(q);
    return rc;
}

struct page_walk {
    mim_dir_name *out;
    size_t n;
};

static int page_visit(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    struct page_walk *w = ctx;
    int rc = dir_row(st, row, &w->out[w->n]);

    if (rc == 0)
        w->n++;
    return rc;
}

int mim_store_dir_page(mim_store *st, const char *after, mim_dir_name *out, size_t max)
{
    struct page_walk w = {.out = out, .n = 0};
    sqlite3_stmt *q;
    int rc;

    if (!presence_store(st) || after == NULL || out == NULL || max > 100000)
        return MIM_EINVAL;
    q = st->stmt[STMT_DIR_PAGE];
    if (sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)max) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "directory page: bind");
    }
    rc = store_walk(st, q, "directory page: select", page_visit, &w);
    return rc != 0 ? rc : (int)w.n;
}

/* ---- the mailbox ------------------------------------------------------------------------------
 */

/* Inside the deposit's transaction: is (to, from, id) waiting already? 1 and *seq,
 * *expires_ms; 0; or MIM_EDB. */
static int mail_find(mim_store *st, const mim_mail_deposit *d, uint64_t *seq, int64_t *expires_ms)
{
    sqlite3_stmt *q = st->stmt[STMT_MAIL_FIND];
    int rc;

    if (sqlite3_bind_text(q, 1, d->to, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(q, 2, d->from, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 3, d->id, 16, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "deposit: bind find");
    }
    switch (sqlite3_step(q)) {
    case SQLITE_ROW:
        *seq = (uint64_t)sqlite3_column_int64(q, 0);
        *expires_ms = sqlite3_column_int64(q, 1);
        rc = 1;
        break;
    case SQLITE_DONE:
        rc = 0;
        break;
    default:
        rc = store_fail(st, "deposit: find");
        break;
    }
    store_reset(q);
    return rc;
}

/* 1 when `to` is registered, 0 when not, MIM_EDB. */
static int mail_registered(mim_store *st, const char *to)
{
    mim_dir_name n;
    int rc = mim_store_dir_lookup(st, to, &n);

    return rc == 0 ? 1 : rc == MIM_ENOENT ? 0 : rc;
}

int mim_store_mail_count(mim_store *st, const char *to, uint64_t *count, uint64_t *bytes)
{
    sqlite3_stmt *q;
    int rc = 0;

    if (!presence_store(st) || to == NULL || count == NULL || bytes == NULL)
        return MIM_EINVAL;
    q = st->stmt[STMT_MAIL_USAGE];
    if (sqlite3_bind_text(q, 1, to, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "mailbox usage: bind");
    }
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = store_fail(st, "mailbox usage: select");
    } else {
        *count = (uint64_t)sqlite3_column_int64(q, 0);
        *bytes = (uint64_t)sqlite3_column_int64(q, 1);
    }
    store_reset(q);
    return rc;
}

static int mail_insert(mim_store *st, const mim_mail_deposit *d, uint64_t *seq)
{
    sqlite3_stmt *q = st->stmt[STMT_MAIL_INSERT];
    int rc;

    if (sqlite3_bind_text(q, 1, d->to, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(q, 2, d->from, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 3, d->from_pk, 32, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 4, d->id, 16, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 5, d->sealed, (int)d->sealed_len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 6, (sqlite3_int64)d->sealed_len) != SQLITE_OK ||
        sqlite3_bind_int64(q, 7, d->now_ms) != SQLITE_OK ||
        sqlite3_bind_int64(q, 8, d->expires_ms) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "deposit: bind insert");
    }
    rc = store_run(st, STMT_MAIL_INSERT, "deposit: insert");
    if (rc == 0)
        *seq = (uint64_t)sqlite3_last_insert_rowid(st->db);
    return rc;
}

/* A recipient's registration and mailbox usage during one group: looked up and counted once by
 * its first deposit (a COUNT and SUM over its letters), then kept up to date by the group's inserts
 * -- not counted again per deposit, which made a frame of n deposits to one recipient cost n scans
 * of its mailbox. */
typedef struct mail_usage {
    const char *to; /* NULL: not counted yet */
    int registered; /* to is a registered name (looked up once per group too) */
    uint64_t count, bytes;
} mail_usage;

/* to's entry in usage (n entries at most: one per deposit of the group), counted on first use. */
static int usage_get(mim_store *st, mail_usage *usage, size_t n, const char *to, mail_usage **out)
{
    size_t i = 0;
    int rc;

    while (i < n && usage[i].to != NULL && strcmp(usage[i].to, to) != 0)
        i++;
    if (i == n)
        return MIM_EINVAL; /* not reached: one entry per deposit */
    if (usage[i].to == NULL) {
        if ((rc = mail_registered(st, to)) < 0)
            return rc;
        usage[i].registered = rc;
        if ((rc = mim_store_mail_count(st, to, &usage[i].count, &usage[i].bytes)) != 0)
            return rc;
        usage[i].to = to;
    }
    *out = &usage[i];
    return 0;
}

/* The deposit's checks and insert, inside its transaction; u is its recipient's usage. */
static int mail_deposit_tx(mim_store *st, const mim_mail_deposit *d, const mim_mail_limits *lim,
                           mail_usage *u, uint64_t *seq, int64_t *expires_ms)
{
    int rc;

    if (!u->registered)
        return MIM_ENOENT;
    if ((rc = mail_find(st, d, seq, expires_ms)) != 0)
        return rc == 1 ? MIM_MAIL_DUPLICATE : rc;
    if (u->count >= lim->max_count || u->bytes + d->sealed_len > lim->max_bytes)
        return MIM_MAIL_FULL;
    if ((rc = mail_insert(st, d, seq)) != 0)
        return rc;
    u->count++;
    u->bytes += d->sealed_len;
    *expires_ms = d->expires_ms;
    return MIM_MAIL_STORED;
}

static int deposit_valid(const mim_mail_deposit *d)
{
    return d->to != NULL && d->from != NULL && d->from_pk != NULL && d->id != NULL &&
           d->sealed != NULL && d->sealed_len > 0 && d->sealed_len <= INT32_MAX;
}

int mim_store_mail_deposit_all(mim_store *st, const mim_mail_deposit *d, size_t n,
                               const mim_mail_limits *lim, mim_mail_outcome *out)
{
    mail_usage *usage;
    int rc = 0;

    if (!presence_store(st) || d == NULL || lim == NULL || out == NULL || n == 0)
        return MIM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!deposit_valid(&d[i]))
            return MIM_EINVAL;
    /* Look and insert in one write transaction, committed with synchronous=FULL: the
     * DepositAcks that follow promise the letters survive a crash. (When nothing was written
     * the commit just ends the transaction.) A later deposit sees the earlier ones: the
     * (to, from, id) dedup and the limits hold within the group. */
    if ((usage = calloc(n, sizeof(*usage))) == NULL)
        return MIM_ENOMEM;
    if ((rc = tx_begin(st, "deposit: begin")) != 0) {
        free(usage);
        return rc;
    }
    for (size_t i = 0; i < n && rc >= 0; i++) {
        mail_usage *u = NULL;
        out[i] = (mim_mail_outcome){0};
        out[i].result = usage_get(st, usage, n, d[i].to, &u);
        if (out[i].result == 0)
            out[i].result = mail_deposit_tx(st, &d[i], lim, u, &out[i].seq, &out[i].expires_ms);
        if (out[i].result < 0 && out[i].result != MIM_ENOENT)
            rc = out[i].result; /* the database failed: nothing of the group is kept */
    }
    free(usage);
    return tx_end(st, rc, "deposit: commit");
}

int mim_store_mail_deposit(mim_store *st, const mim_mail_deposit *d, const mim_mail_limits *lim,
                           uint64_t *seq, int64_t *expires_ms)
{
    mim_mail_outcome o;
    int rc;

    if (seq == NULL || expires_ms == NULL)
        return MIM_EINVAL;
    if ((rc = mim_store_mail_deposit_all(st, d, 1, lim, &o)) != 0)
        return rc;
    *seq = o.seq;
    *expires_ms = o.expires_ms;
    return o.result;
}

struct mail_walk {
    int (*visit)(const mim_mail_row *row, void *ctx);
    void *ctx;
    int n;
};

static int mail_visit(mim_store *st, sqlite3_stmt *q, void *ctx)
{
    struct mail_walk *w = ctx;
    mim_mail_row r;
    int rc;

    r.seq = (uint64_t)sqlite3_column_int64(q, 0);
    r.from = (const char *)sqlite3_column_text(q, 1);
    r.from_pk = sqlite3_column_blob(q, 2);
    r.id = sqlite3_column_blob(q, 3);
    r.sealed = sqlite3_column_blob(q, 4);
    r.sealed_len = (size_t)sqlite3_column_bytes(q, 4);
    r.deposited_ms = sqlite3_column_int64(q, 5);
    r.expires_ms = sqlite3_column_int64(q, 6);
    /* The CHECKs guarantee the sizes; a hand-edited file without them gets a clear error. */
    if (r.from == NULL || sqlite3_column_bytes(q, 2) != 32 || sqlite3_column_bytes(q, 3) != 16 ||
        r.sealed == NULL || r.sealed_len == 0)
        return store_fail(st, "mailbox: a malformed row");
    if ((rc = w->visit(&r, w->ctx)) != 0)
        return rc;
    w->n++;
    return 0;
}

int mim_store_mail_each(mim_store *st, const char *to, uint64_t after_seq, size_t max,
                        int (*visit)(const mim_mail_row *row, void *ctx), void *ctx)
{
    struct mail_walk w = {.visit = visit, .ctx = ctx, .n = 0};
    sqlite3_stmt *q;
    int rc;

    if (!presence_store(st) || to == NULL || visit == NULL || max > 100000 || after_seq > INT64_MAX)
        return MIM_EINVAL;
    if ((rc = store_stmt_idle(st, STMT_MAIL_EACH)) != 0)
        return rc;
    q = st->stmt[STMT_MAIL_EACH];
    if (sqlite3_bind_text(q, 1, to, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)after_seq) != SQLITE_OK ||
        sqlite3_bind_int64(q, 3, (sqlite3_int64)max) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "mailbox: bind each");
    }
    rc = store_walk(st, q, "mailbox: each", mail_visit, &w);
    return rc != 0 ? rc : w.n;
}

int mim_store_mail_take(mim_store *st, const char *to, const uint64_t *seqs, size_t n)
{
    sqlite3_stmt *q;
    int rc, deleted = 0;

    if (!presence_store(st) || to == NULL || (seqs == NULL && n > 0) || n > 100000)
        return MIM_EINVAL;
    q = st->stmt[STMT_MAIL_TAKE];
    if ((rc = tx_begin(st, "take: begin")) != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (seqs[i] > INT64_MAX)
            continue; /* no such seq */
        if (sqlite3_bind_int64(q, 1, (sqlite3_int64)seqs[i]) != SQLITE_OK ||
            sqlite3_bind_text(q, 2, to, -1, SQLITE_STATIC) != SQLITE_OK) {
            store_reset(q);
            rc = store_fail(st, "take: bind");
        } else if ((rc = store_run(st, STMT_MAIL_TAKE, "take: delete")) == 0) {
            deleted += sqlite3_changes(st->db);
        }
    }
    return tx_end(st, rc == 0 ? deleted : rc, "take: commit");
}

int64_t mim_store_mail_expire(mim_store *st, int64_t now_ms)
{
    sqlite3_stmt *q;
    int rc;

    if (!presence_store(st))
        return MIM_EINVAL;
    q = st->stmt[STMT_MAIL_EXPIRE];
    if (sqlite3_bind_int64(q, 1, now_ms) != SQLITE_OK) {
        store_reset(q);
        return store_fail(st, "expire: bind");
    }
    /* One statement in autocommit mode: its change count is this delete's alone. */
    rc = store_run(st, STMT_MAIL_EXPIRE, "expire: delete");
    return rc != 0 ? rc : sqlite3_changes(st->db);
}
