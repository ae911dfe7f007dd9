/* File transfers in the peer store (issue 15): a row per offer (mim_store_peer.h). Rare
 * statements (an offer, a state change, the verified bitmap about once a second), so each is
 * prepared when used rather than kept in the store's statement table. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

#define TRANSFER_COLS                                                                              \
    "peer, id, outgoing, state, ts_ms, name, path, unique_name, size, nfiles, folder,"             \
    " media_type, width, height, chunk_size, root, manifest_hash, hashes, verified, bytes,"        \
    " error, sha256, hash_scheme, stripe_chunks"

static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static int blob_or_null(sqlite3_stmt *q, int col, const void *p, size_t n)
{
    if (p == NULL)
        return sqlite3_bind_null(q, col);
    return sqlite3_bind_blob(q, col, n ? p : "", (int)n, SQLITE_STATIC);
}

/* Binds the mutable columns (state ?1, path ?2, unique ?3, bytes ?4, hashes ?5, verified ?6,
 * error ?7, sha256 ?8). */
static int bind_mutable(sqlite3_stmt *q, const mim_transfer *t)
{
    int rc = sqlite3_bind_int(q, 1, t->state);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 2, str_or_empty(t->path), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 3, str_or_empty(t->unique_name), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 4, t->bytes);
    if (rc == SQLITE_OK)
        rc = blob_or_null(q, 5, t->hashes, t->hashes_len);
    if (rc == SQLITE_OK)
        rc = blob_or_null(q, 6, t->verified, t->verified_len);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 7, str_or_empty(t->error), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 8, str_or_empty(t->sha256), -1, SQLITE_STATIC);
    return rc;
}

/* The key (peer ?9, id ?10, outgoing ?11). */
static int bind_key(sqlite3_stmt *q, const char *peer, const uint8_t id[16], int outgoing)
{
    int rc = sqlite3_bind_text(q, 9, peer, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(q, 10, id, 16, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(q, 11, outgoing != 0);
    return rc;
}

/* The immutable columns (?12 on). */
static int bind_offer(sqlite3_stmt *q, const mim_transfer *t)
{
    int rc = sqlite3_bind_int64(q, 12, t->ts_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 13, str_or_empty(t->name), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 14, t->size);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 15, t->nfiles);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(q, 16, t->folder != 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q, 17, str_or_empty(t->media_type), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 18, t->width);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 19, t->height);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 20, t->chunk_size);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(q, 21, t->root, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = blob_or_null(q, 22, t->has_manifest_hash ? t->manifest_hash : NULL, 32);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(q, 23, t->hash_scheme);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 24, t->stripe_chunks);
    return rc;
}

static int run_write(mim_store *st, const char *sql, const mim_transfer *t, int with_offer,
                     const char *what)
{
    sqlite3_stmt *q = NULL;
    int rc = store_tx_check(st);

    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, what);
    rc = bind_mutable(q, t);
    if (rc == SQLITE_OK)
        rc = bind_key(q, t->peer, t->id, t->outgoing);
    if (rc == SQLITE_OK && with_offer)
        rc = bind_offer(q, t);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_CONSTRAINT) {
        sqlite3_finalize(q);
        return MIM_EEXIST;
    }
    if (rc != SQLITE_DONE) {
        rc = store_fail(st, what);
        sqlite3_finalize(q);
        return rc;
    }
    sqlite3_finalize(q);
    return sqlite3_changes(st->db) > 0 ? 0 : MIM_ENOENT;
}

int mim_store_transfer_add(mim_store *st, const mim_transfer *t)
{
    if (!store_is_peer(st) || !store_name_ok(t->peer))
        return MIM_EINVAL;
    return run_write(st,
                     "INSERT INTO transfers(state, path, unique_name, bytes, hashes, verified,"
                     " error, sha256, peer, id, outgoing, ts_ms, name, size, nfiles, folder,"
                     " media_type, width, height, chunk_size, root, manifest_hash, hash_scheme,"
                     " stripe_chunks)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                     " ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
                     t, 1, "transfer: insert");
}

int mim_store_transfer_update(mim_store *st, const mim_transfer *t)
{
    if (!store_is_peer(st) || !store_name_ok(t->peer))
        return MIM_EINVAL;
    return run_write(st,
                     "UPDATE transfers SET state = ?1, path = ?2, unique_name = ?3, bytes = ?4,"
                     " hashes = ?5, verified = ?6, error = ?7, sha256 = ?8"
                     " WHERE peer = ?9 AND id = ?10 AND outgoing = ?11",
                     t, 0, "transfer: update");
}

static const char *col_text(sqlite3_stmt *q, int col)
{
    const unsigned char *s = sqlite3_column_text(q, col);
    return s != NULL ? (const char *)s : "";
}

static void col_blob(sqlite3_stmt *q, int col, const uint8_t **p, size_t *n)
{
    *p = sqlite3_column_type(q, col) == SQLITE_NULL ? NULL : sqlite3_column_blob(q, col);
    *n = *p != NULL ? (size_t)sqlite3_column_bytes(q, col) : 0;
}

/* A row as a mim_transfer (views into the row: valid until the next step). */
static int read_row(mim_store *st, sqlite3_stmt *q, mim_transfer *t)
{
    const uint8_t *p;
    size_t n;

    memset(t, 0, sizeof(*t));
    if (store_column_name(st, q, 0, t->peer, sizeof(t->peer)) != 0)
        return MIM_EDB;
    col_blob(q, 1, &p, &n);
    if (p == NULL || n != 16)
        return MIM_EDB;
    memcpy(t->id, p, 16);
    t->outgoing = sqlite3_column_int(q, 2);
    t->state = sqlite3_column_int(q, 3);
    t->ts_ms = sqlite3_column_int64(q, 4);
    t->name = col_text(q, 5);
    t->path = col_text(q, 6);
    t->unique_name = col_text(q, 7);
    t->size = sqlite3_column_int64(q, 8);
    t->nfiles = (uint32_t)sqlite3_column_int64(q, 9);
    t->folder = sqlite3_column_int(q, 10);
    t->media_type = col_text(q, 11);
    t->width = (uint32_t)sqlite3_column_int64(q, 12);
    t->height = (uint32_t)sqlite3_column_int64(q, 13);
    t->chunk_size = (uint32_t)sqlite3_column_int64(q, 14);
    col_blob(q, 15, &p, &n);
    if (p == NULL || n != 32)
        return MIM_EDB;
    memcpy(t->root, p, 32);
    col_blob(q, 16, &p, &n);
    if ((t->has_manifest_hash = p != NULL && n == 32))
        memcpy(t->manifest_hash, p, 32);
    col_blob(q, 17, &t->hashes, &t->hashes_len);
    col_blob(q, 18, &t->verified, &t->verified_len);
    t->bytes = sqlite3_column_int64(q, 19);
    t->error = col_text(q, 20);
    t->sha256 = col_text(q, 21);
    t->hash_scheme = sqlite3_column_int(q, 22);
    t->stripe_chunks = (uint32_t)sqlite3_column_int64(q, 23);
    return 0;
}

static int walk(mim_store *st, sqlite3_stmt *q, int (*cb)(const mim_transfer *t, void *arg),
                void *arg, int *rows)
{
    mim_transfer t;
    int rc = 0, step;

    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        if ((rc = read_row(st, q, &t)) != 0)
            break;
        (*rows)++;
        rc = cb(&t, arg);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_fail(st, "transfer: select");
    sqlite3_finalize(q);
    return rc;
}

int mim_store_transfer_get(mim_store *st, const char *peer, const uint8_t id[16], int outgoing,
                           int (*cb)(const mim_transfer *t, void *arg), void *arg)
{
    sqlite3_stmt *q = NULL;
    int rows = 0, rc;

    if (!store_is_peer(st) || !store_name_ok(peer))
        return MIM_EINVAL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " TRANSFER_COLS " FROM transfers"
                           " WHERE peer = ?1 AND id = ?2 AND outgoing = ?3",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "transfer: prepare");
    if (sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 2, id, 16, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(q, 3, outgoing != 0) != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_fail(st, "transfer: bind");
    }
    rc = walk(st, q, cb, arg, &rows);
    return rc == 0 && rows == 0 ? MIM_ENOENT : rc;
}

int mim_store_transfer_each(mim_store *st, int (*cb)(const mim_transfer *t, void *arg), void *arg)
{
    sqlite3_stmt *q = NULL;
    int rows = 0;

    if (!store_is_peer(st))
        return MIM_EINVAL;
    if (sqlite3_prepare_v2(st->db, "SELECT " TRANSFER_COLS " FROM transfers ORDER BY rowid", -1, &q,
                           NULL) != SQLITE_OK)
        return store_fail(st, "transfer: prepare");
    return walk(st, q, cb, arg, &rows);
}
