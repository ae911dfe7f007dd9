/* The sealed-mailbox tests' shared staging: see mailbox_env.h. */
#include "mailbox_env.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"

#include <jansson.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

void mb_start_connected(fixture *f, mp *p)
{
    start_peer(f, p);
    mp_expect(p, 0, "presence", "state", "connected");
}

void mb_register_then_quit(fixture *f, mp *p)
{
    mb_start_connected(f, p);
    mp_quit(p);
}

void mb_send_queued(mp *a, const char *to, const char *text, const char *tag,
                    char id_out[MB_ID_LEN])
{
    size_t a0 = a->nev;
    json_t *q;
    const char *id;

    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"%s\",\"text\":\"%s\",\"tag\":\"%s\"}", to, text, tag);
    q = mp_expect(a, a0, "queued", "tag", tag);
    id = sfield(q, "id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    snprintf(id_out, MB_ID_LEN, "%s", id);
}

long mb_send_deposited(mp *a, const char *to, const char *text, const char *tag,
                       char id_out[MB_ID_LEN])
{
    size_t a0 = a->nev;
    json_t *d;

    mb_send_queued(a, to, text, tag, id_out);
    d = mp_expect(a, a0, "deposited", "id", id_out);
    assert_string_equal(sfield(d, "to"), to);
    return mp_index_of(a, a0, "deposited", "id", id_out);
}

/* ---- the server ------------------------------------------------------------------------------ */

static void server_set_extra(fixture *f, const char *const *extra)
{
    size_t n = 0;

    memset(f->srv.extra, 0, sizeof(f->srv.extra));
    while (extra != NULL && extra[n] != NULL) {
        assert_true(n + 1 < sizeof(f->srv.extra) / sizeof(f->srv.extra[0]));
        f->srv.extra[n] = extra[n];
        n++;
    }
}

void mb_server_restart(fixture *f, const char *const *extra)
{
    assert_int_equal(pe_server_stop(&f->srv), 0);
    server_set_extra(f, extra);
    if (pe_server_start(&f->srv, f->srv.port) != 0) {
        pe_server_dump_log(&f->srv);
        fail_msg("the server did not start again: %s", f->srv.err);
    }
}

void mb_server_kill_restart(fixture *f)
{
    pe_server_kill(&f->srv);
    if (pe_server_start(&f->srv, f->srv.port) != 0) {
        pe_server_dump_log(&f->srv);
        fail_msg("the server did not start again: %s", f->srv.err);
    }
}

size_t mb_history_count(mp *p, const char *with, const char *id, char state[32])
{
    size_t from = p->nev, n = 0;
    json_t *h, *msgs;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"limit\":1000,\"tag\":\"mb-h\"}", with);
    h = mp_expect(p, from, "history", "tag", "mb-h");
    msgs = json_object_get(h, "messages");
    assert_true(json_is_array(msgs));
    if (state != NULL)
        state[0] = '\0';
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        const json_t *m = json_array_get(msgs, i);
        const char *mid = sfield(m, "id"), *st = sfield(m, "state");
        if (mid == NULL || strcmp(mid, id) != 0)
            continue;
        n++;
        if (state != NULL && st != NULL)
            snprintf(state, 32, "%s", st);
    }
    return n;
}

/* ---- the server's database ------------------------------------------------------------------- */

/* Opens presence.db of f's server (read-write, never created), with a busy timeout so that a
 * running server's transactions are waited for (bounded). NULL when it cannot. */
static sqlite3 *open_presence_db(const fixture *f)
{
    char path[PE_PATH_MAX + 32];
    sqlite3 *db = NULL;

    snprintf(path, sizeof(path), "%s/presence.db", f->srv.data_dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The name of the table with a `sealed` column (the mailbox: mail-server names it; the test
 * does not depend on the name), into out. 0 or -1. */
static int mailbox_table(sqlite3 *db, char out[64])
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE "
                           "'%sealed%' ORDER BY name LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, 64, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The mailbox table's column with the recipient's name (mail-server's schema). */
#define MAILBOX_TO_COLUMN "recipient"

/* count(*) of the mailbox table, of the rows for `to` when it is not NULL; -1 on failure. */
static long count_rows(const fixture *f, const char *to)
{
    sqlite3 *db = open_presence_db(f);
    sqlite3_stmt *st = NULL;
    char table[64], sql[160];
    long n = -1;

    if (db == NULL)
        return -1;
    if (mailbox_table(db, table) == 0) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"%s", table,
                 to != NULL ? " WHERE " MAILBOX_TO_COLUMN " = ?1" : "");
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            (to == NULL || sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC) == SQLITE_OK) &&
            sqlite3_step(st) == SQLITE_ROW)
            n = (long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

long mb_mailbox_rows(const fixture *f)
{
    return count_rows(f, NULL);
}

long mb_mailbox_rows_to(const fixture *f, const char *to)
{
    return count_rows(f, to);
}

/* Makes a row's new sealed blob (into out, *out_len bytes) from its message id and old blob.
 * 0, or -1 to give up (nothing is kept). */
typedef int (*remake_fn)(const void *id, const uint8_t *sealed, size_t len, uint8_t *out,
                         size_t *out_len, void *ctx);

/* Rewrites every row's sealed blob (and size) with remake, by rowid. 0 or -1; *changed counts
 * the rows. */
static int rewrite_rows(sqlite3 *db, const char *table, remake_fn remake, void *ctx, long *changed)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    static uint8_t blob[65536];
    size_t len = 0;
    char sql[160];
    int rc = -1, step = SQLITE_ERROR;

    snprintf(sql, sizeof(sql), "SELECT rowid, id, sealed FROM \"%s\"", table);
    if (sqlite3_prepare_v2(db, sql, -1, &sel, NULL) != SQLITE_OK)
        goto out;
    snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET sealed = ?1, size = ?2 WHERE rowid = ?3", table);
    if (sqlite3_prepare_v2(db, sql, -1, &upd, NULL) != SQLITE_OK)
        goto out;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        int old = sqlite3_column_bytes(sel, 2);
        if (old <= 0 || old > (int)sizeof(blob) || sqlite3_column_bytes(sel, 1) != 16 ||
            remake(sqlite3_column_blob(sel, 1), sqlite3_column_blob(sel, 2), (size_t)old, blob,
                   &len, ctx) != 0)
            goto out;
        sqlite3_bind_blob(upd, 1, blob, (int)len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(upd, 2, (sqlite3_int64)len);
        sqlite3_bind_int64(upd, 3, sqlite3_column_int64(sel, 0));
        if (sqlite3_step(upd) != SQLITE_DONE)
            goto out;
        sqlite3_reset(upd);
        (*changed)++;
    }
    rc = step == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}

/* rewrite_rows over the mailbox table, in one transaction: the number of rows, or -1. */
static long rewrite_sealed(const fixture *f, remake_fn remake, void *ctx)
{
    sqlite3 *db = open_presence_db(f);
    char table[64];
    long changed = 0;
    int ok;

    if (db == NULL)
        return -1;
    ok = mailbox_table(db, table) == 0 &&
         sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    if (ok && rewrite_rows(db, table, remake, ctx, &changed) == 0)
        ok = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    else
        ok = 0;
    sqlite3_close(db); /* rolls back what is not committed */
    return ok ? changed : -1;
}

/* One byte in the middle flipped. */
static int spoil_one(const void *id, const uint8_t *sealed, size_t len, uint8_t *out,
                     size_t *out_len, void *ctx)
{
    (void)id, (void)ctx;
    memcpy(out, sealed, len);
    out[len / 2] ^= 0x01;
    *out_len = len;
    return 0;
}

long mb_spoil_sealed(const fixture *f)
{
    return rewrite_sealed(f, spoil_one, NULL);
}

/* ---- a letter from before mim-mail-v2 -------------------------------------------------------- */

/* The identity in p's data dir (owned: mim_identity_free), or NULL. */
static mim_identity *load_identity(const mp *p)
{
    char path[PE_PATH_MAX + 32];
    mim_identity *id = NULL;

    snprintf(path, sizeof(path), "%s/identity.key", p->dir);
    return mim_identity_load(path, &id) == 0 ? id : NULL;
}

/* A mim-mail-v1 blob of a chat letter with id and text, from `from` to `to` (mim_seal, the
 * sealed box and signature older senders made), into blob. 0 or -1. */
static int v1_blob(const mp *from, const mim_identity *fid, const mp *to, const mim_identity *tid,
                   const void *id, const char *text, uint8_t blob[MIM_SEAL_BLOB_MAX], size_t *len)
{
    Mim__MailLetter l = MIM__MAIL_LETTER__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    mim_buf b = {0};
    int rc;

    l.from = (char *)from->name;
    l.from_pk = (ProtobufCBinaryData){MIM_KEY_LEN, (uint8_t *)fid->sign_pk};
    l.to = (char *)to->name;
    l.to_pk = (ProtobufCBinaryData){MIM_KEY_LEN, (uint8_t *)tid->sign_pk};
    c.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, (uint8_t *)id};
    c.ts_ms = 1764633600000ull;
    c.sender = (char *)from->name;
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = (char *)text;
    l.body_case = MIM__MAIL_LETTER__BODY_CHAT;
    l.chat = &c;
    rc = mim_letter_encode(&l, &b) == 0 &&
                 mim_seal(fid, tid->sign_pk, b.data, b.len, blob, MIM_SEAL_BLOB_MAX, len) == 0
             ? 0
             : -1;
    mim_buf_free(&b);
    return rc;
}

struct reseal {
    const mp *from, *to;
    const mim_identity *fid, *tid;
    const char *text;
};

/* The row's letter made again as v1, its message id kept. */
static int reseal_one(const void *id, const uint8_t *sealed, size_t len, uint8_t *out,
                      size_t *out_len, void *ctx)
{
    const struct reseal *r = ctx;

    (void)sealed, (void)len;
    return v1_blob(r->from, r->fid, r->to, r->tid, id, r->text, out, out_len);
}

long mb_reseal_v1(const fixture *f, const mp *from, const mp *to, const char *text)
{
    mim_identity *fid = load_identity(from), *tid = load_identity(to);
    struct reseal r = {from, to, fid, tid, text};
    long n = fid != NULL && tid != NULL ? rewrite_sealed(f, reseal_one, &r) : -1;

    mim_identity_free(fid);
    mim_identity_free(tid);
    return n;
}

/* Waits at most timeout_ms for count_rows(f, to) to be rows: 1 when it came to that. */
static int wait_rows(const fixture *f, const char *to, long rows, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        struct timespec tick = {0, 20 * 1000 * 1000};
        if (count_rows(f, to) == rows)
            return 1;
        if (now_ms() >= deadline)
            return 0;
        /* The server's commit is in another process with nothing to wait on: a bounded poll. */
        nanosleep(&tick, NULL);
    }
}

int mb_wait_mailbox_rows(const fixture *f, long rows, int timeout_ms)
{
    return wait_rows(f, NULL, rows, timeout_ms);
}

int mb_wait_mailbox_to(const fixture *f, const char *to, long rows, int timeout_ms)
{
    return wait_rows(f, to, rows, timeout_ms);
}
