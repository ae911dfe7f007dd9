/* File transfers (issue 15), the core's side of them that is not the bulk connection: the
 * commands of core.h, the offer (made by reading the file once for its chunk hashes, stored
 * with its history entry, sent through the outbox), the receiver's accept policy, the store
 * rows and the events. core_transfer_bulk.c moves the bytes. */
#include "core_transfer_priv.h"
#include "content.h"
#include "file_name.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the list and the store ------------------------------------------------------------------ */

xfer *xfer_find(mim_core *c, const char *peer, const uint8_t id[MIM_MSG_ID_LEN], int outgoing)
{
    for (xfer *x = c->xf->list; x != NULL; x = x->next)
        if (x->outgoing == outgoing && memcmp(x->id.bytes, id, MIM_MSG_ID_LEN) == 0 &&
            strcmp(x->peer, peer) == 0)
            return x;
    return NULL;
}

xfer *xfer_of_bulk(mim_core *c, chat_session *cs)
{
    for (xfer *x = c->xf->list; x != NULL; x = x->next)
        if (x->bulk == cs)
            return x;
    return NULL;
}

static size_t bitmap_len(const xfer *x)
{
    return ((size_t)x->nchunks + 7) / 8;
}

static void to_row(const xfer *x, mim_transfer *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->peer, sizeof(t->peer), "%s", x->peer);
    memcpy(t->id, x->id.bytes, 16);
    t->outgoing = x->outgoing;
    t->state = (int)x->state;
    t->ts_ms = x->ts_ms;
    t->name = x->name;
    t->path = x->path;
    t->unique_name = x->unique;
    t->size = x->size;
    t->bytes = x->outgoing ? x->bytes : x->durable_bytes;
    t->nfiles = x->nfiles;
    t->folder = x->folder;
    t->media_type = x->media_type;
    t->width = x->width;
    t->height = x->height;
    t->chunk_size = x->chunk_size;
    memcpy(t->root, x->root, 32);
    t->hash_scheme = x->hash_scheme;
    t->stripe_chunks = x->stripe_chunks;
    t->has_manifest_hash = x->folder;
    memcpy(t->manifest_hash, x->manifest_hash, 32);
    t->hashes = x->outgoing ? x->hashes : NULL; /* a receiver fetches them again */
    t->hashes_len = x->hashes != NULL && x->outgoing ? (size_t)x->nchunks * 32 : 0;
    t->verified = x->outgoing ? x->verified : x->durable;
    t->verified_len = x->verified != NULL ? bitmap_len(x) : 0;
    t->error = x->error;
    t->sha256 = x->sha256;
}

void xfer_save(mim_core *c, xfer *x)
{
    mim_transfer t;

    to_row(x, &t);
    if (mim_store_transfer_update(c->st, &t) != 0)
        mim_log_warn("cannot store the state of a transfer with %s", x->peer);
    x->dirty = 0;
    x->saved_at = uv_now(c->loop);
}

void xfer_scheme_hash(int hash_scheme, uint8_t out[MIM_FILE_HASH_LEN], const void *p, size_t n)
{
    if (hash_scheme == MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN)
        mim_sha256(out, p, n);
    else
        mim_blake2b(out, p, n);
}

int xfer_manifest_hash(int hash_scheme, const file_layout *l, uint8_t out[MIM_FILE_HASH_LEN])
{
    mim_buf man;
    int rc = 0;

    mim_buf_init(&man);
    for (uint32_t i = 0; i < l->count && rc == 0; i++)
        rc = mim_file_manifest_entry_encode(l->entries[i].path, strlen(l->entries[i].path),
                                            (uint64_t)l->entries[i].size, &man);
    xfer_scheme_hash(hash_scheme, out, man.data != NULL ? man.data : (const uint8_t *)"", man.len);
    mim_buf_free(&man);
    return rc;
}

void xfer_save_progress(mim_core *c, xfer *x)
{
    int tx = mim_store_begin_relaxed(c->st) == 0; /* else inside the caller's transaction */

    xfer_save(c, x);
    if (tx && mim_store_commit(c->st) != 0) {
        mim_store_rollback(c->st);
        mim_log_warn("cannot store the progress of a transfer with %s", x->peer);
    }
}

static void xfer_free(xfer *x)
{
    xfer_sha_drop(x);
    xfer_save_drop(x);
    free(x->name);
    free(x->path);
    free(x->unique);
    free(x->media_type);
    free(x->hashes);
    free(x->verified);
    free(x->durable);
    free(x->tries);
    free(x->buf);
    free(x->ranges);
    file_layout_free(&x->manifest);
    free(x);
}

/* A row's string as mim_store_transfer_add reads it: NULL is "" (rows built in memory for an
 * offer leave the fields they do not know yet -- unique_name, error, sha256 -- NULL). */
static const char *row_str(const char *s)
{
    return s != NULL ? s : "";
}

/* A new xfer from a row (copied; its NULL strings read as ""), added to the list. NULL when out
 * of memory. */
xfer *xfer_from_row(mim_core *c, const mim_transfer *t)
{
    xfer *x = calloc(1, sizeof(*x));
    uint64_t n;

    if (x == NULL)
        return NULL;
    snprintf(x->peer, sizeof(x->peer), "%s", t->peer);
    memcpy(x->id.bytes, t->id, 16);
    x->outgoing = t->outgoing;
    x->state = (mim_core_file_state)t->state;
    x->ts_ms = t->ts_ms;
    x->name = strdup(row_str(t->name));
    x->path = strdup(row_str(t->path));
    x->unique = strdup(row_str(t->unique_name));
    x->media_type = strdup(row_str(t->media_type));
    x->size = t->size;
    x->bytes = t->bytes;
    x->nfiles = t->nfiles;
    x->folder = t->folder;
    x->width = t->width;
    x->height = t->height;
    x->chunk_size = t->chunk_size;
    n = mim_file_chunk_count((uint64_t)t->size, t->chunk_size);
    x->nchunks = (uint32_t)n;
    memcpy(x->root, t->root, 32);
    x->hash_scheme = t->hash_scheme;
    x->stripe_chunks = t->stripe_chunks;
    memcpy(x->manifest_hash, t->manifest_hash, 32);
    snprintf(x->error, sizeof(x->error), "%s", row_str(t->error));
    snprintf(x->sha256, sizeof(x->sha256), "%s", row_str(t->sha256));
    x->verified = calloc(bitmap_len(x) + 1, 1);
    x->durable = calloc(bitmap_len(x) + 1, 1);
    if (x->verified != NULL && x->durable != NULL && t->verified != NULL &&
        t->verified_len == bitmap_len(x)) {
        memcpy(x->verified, t->verified, t->verified_len);
        memcpy(x->durable, t->verified, t->verified_len); /* the store has what is durable */
    }
    x->durable_bytes = x->bytes;
    if (t->hashes != NULL && t->hashes_len == (size_t)n * 32 && (x->hashes = malloc(n * 32 + 1)))
        memcpy(x->hashes, t->hashes, t->hashes_len);
    if (x->name == NULL || x->path == NULL || x->unique == NULL || x->media_type == NULL ||
        x->verified == NULL || x->durable == NULL || n > UINT32_MAX) {
        xfer_free(x);
        return NULL;
    }
    x->next = c->xf->list;
    c->xf->list = x;
    return x;
}

static void xfer_unlink(mim_core *c, xfer *x)
{
    for (xfer **p = &c->xf->list; *p != NULL; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            return;
        }
}

void xfer_discard(mim_core *c, xfer *x)
{
    xfer_unlink(c, x);
    file_source_close(x->src);
    file_sink_close(x->sink);
    xfer_free(x);
}

/* ---- what the front ends see ----------------------------------------------------------------- */

_Static_assert(sizeof(((xfer_info_buf *)0)->name) >= FILE_NAME_BUF, "a safe name fits");
typedef xfer_info_buf info_buf;

static void fill_info(const mim_transfer *t, mim_core_file_info *f, info_buf *b)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->id.bytes, t->id, 16);
    f->with = t->peer;
    f->dir = t->outgoing ? MIM_CORE_FILE_SEND : MIM_CORE_FILE_RECEIVE;
    f->state = (mim_core_file_state)t->state;
    if (t->outgoing)
        snprintf(b->name, sizeof(b->name), "%s", t->name);
    else
        file_name_safe(t->name, strlen(t->name), b->name);
    f->name = b->name;
    f->path = t->path;
    f->size = t->size;
    f->bytes = t->bytes;
    f->nfiles = t->nfiles;
    f->media_type = t->media_type;
    f->width = t->width;
    f->height = t->height;
    f->sha256 = t->sha256;
    f->error = t->error;
}

void xfer_info(mim_core *c, const xfer *x, mim_core_file_info *f, info_buf *b)
{
    mim_transfer t;

    to_row(x, &t);
    fill_info(&t, f, b);
    f->with = x->peer;   /* t (and its peer) dies with this call; x outlives the event */
    f->bytes = x->bytes; /* a receiver's verified, some not yet stored (t has the durable) */
    if (!x->outgoing && x->state != MIM_CORE_FILE_DONE) {
        /* where it will be saved: the .part's final name */
        if (x->sink != NULL)
            snprintf(b->path, sizeof(b->path), "%s", file_sink_path(x->sink));
        else
            snprintf(b->path, sizeof(b->path), "%s/%s", c->xf->download_dir, b->name);
        f->path = b->path;
    }
    f->rate = x->state == MIM_CORE_FILE_RUNNING ? x->rate : 0;
}

void xfer_progress(mim_core *c, xfer *x, int force)
{
    uint64_t now = uv_now(c->loop);
    mim_core_file_info f;
    info_buf b;

    if (now - x->rate_at >= 1000) {
        x->rate = x->rate_at == 0
                      ? 0
                      : (double)(x->bytes - x->rate_bytes) * 1000.0 / (double)(now - x->rate_at);
        x->rate_at = now;
        x->rate_bytes = x->bytes;
    }
    if (x->dirty && now - x->saved_at >= XFER_SAVE_MS && x->outgoing)
        xfer_save_progress(c, x);
    if (!force && now - x->progress_at < XFER_PROGRESS_MS)
        return;
    x->progress_at = now;
    if (c->ev.on_file_progress == NULL)
        return;
    xfer_info(c, x, &f, &b);
    c->ev.on_file_progress(c->ud, &f);
}

void xfer_set_state(mim_core *c, xfer *x, mim_core_file_state state, const char *error)
{
    mim_core_file_info f;
    info_buf b;

    x->state = state;
    snprintf(x->error, sizeof(x->error), "%s", error != NULL ? error : "");
    mim_utf8_cut(x->error);
    xfer_save(c, x);
    xfer_info(c, x, &f, &b);
    if (state == MIM_CORE_FILE_DONE && c->ev.on_file_done != NULL)
        c->ev.on_file_done(c->ud, &f);
    else if ((state == MIM_CORE_FILE_FAILED || state == MIM_CORE_FILE_REJECTED) &&
             c->ev.on_file_failed != NULL)
        c->ev.on_file_failed(c->ud, &f);
    else if (state == MIM_CORE_FILE_PAUSED && c->ev.on_file_paused != NULL)
        c->ev.on_file_paused(c->ud, &f);
    if (state >= MIM_CORE_FILE_DONE && !x->tell_reject) {
        xfer_drop_bulk(c, x, error != NULL ? error : "transfer over");
        if (x->bulk == NULL) { /* else freed when its connection is gone */
            xfer_discard(c, x);
        }
    }
}

/* ---- start, stop, tick ----------------------------------------------------------------------- */

static int load_one(const mim_transfer *t, void *arg)
{
    mim_core *c = arg;
    xfer *x;

    if (t->state >= MIM_CORE_FILE_DONE)
        return 0;
    if ((x = xfer_from_row(c, t)) == NULL)
        return MIM_ENOMEM;
    if (x->state == MIM_CORE_FILE_RUNNING)
        x->state = MIM_CORE_FILE_ACCEPTED; /* it goes on at the next connection */
    return 0;
}

int core_transfer_start(mim_core *c, const mim_core_config *cfg)
{
    const char *corrupt = getenv("MIM_TEST_CORRUPT_CHUNK");
    int rc;

    if ((c->xf = calloc(1, sizeof(*c->xf))) == NULL)
        return MIM_ENOMEM;
    c->xf->auto_accept =
        cfg->auto_accept_bytes < 0 ? MIM_CORE_AUTO_ACCEPT_DEFAULT : cfg->auto_accept_bytes;
    c->xf->max_size = cfg->max_file_size > 0 ? cfg->max_file_size : MIM_CORE_MAX_FILE_DEFAULT;
    c->xf->corrupt_chunk = corrupt != NULL ? atoi(corrupt) : -1;
    c->xf->exit_after = getenv("MIM_TEST_EXIT_AFTER_CHUNKS") != NULL
                            ? atoi(getenv("MIM_TEST_EXIT_AFTER_CHUNKS"))
                            : 0;
    if ((rc = file_sink_download_dir(cfg->download_dir, c->xf->download_dir,
                                     sizeof(c->xf->download_dir))) != 0) {
        mim_log_warn("no download directory (no HOME?): received files cannot be saved");
        c->xf->download_dir[0] = '\0';
    }
    uv_check_init(c->loop, &c->xf->pump);
    c->xf->pump.data = c;
    if ((rc = mim_store_transfer_each(c->st, load_one, c)) != 0) {
        mim_log_error("cannot read the transfers from the store");
        return rc == MIM_ENOMEM ? rc : MIM_EDB;
    }
    return 0;
}

static void on_pump_closed(uv_handle_t *h)
{
    mim_core *c = h->data;
    c->closing_handles--;
    core_maybe_finish(c);
}

void core_transfer_stop(mim_core *c)
{
    if (c->xf == NULL || uv_is_closing((uv_handle_t *)&c->xf->pump))
        return;
    core_transfer_offers_stop(c, 0);
    c->closing_handles++;
    uv_close((uv_handle_t *)&c->xf->pump, on_pump_closed);
}

void core_transfer_free(mim_core *c)
{
    if (c->xf == NULL)
        return;
    core_transfer_offers_stop(c, 1);
    while (c->xf->list != NULL) {
        xfer *x = c->xf->list;
        c->xf->list = x->next;
        /* A receiver's verified chunks only once their data is durable: synced here, on the
         * loop (once, at the end; a save on a worker would finish after the store closed). */
        if (x->outgoing && x->dirty)
            xfer_save(c, x);
        else
            xfer_save_verified_now(c, x);
        file_source_close(x->src);
        file_sink_close(x->sink);
        xfer_free(x);
    }
    mim_buf_free(&c->xf->out);
    free(c->xf->pending);
    free(c->xf);
    c->xf = NULL;
}

void core_transfer_peer_blocked(mim_core *c, const char *name)
{
    char why[MIM_NAME_MAX_BYTES + 80];

    snprintf(why, sizeof(why), "paused: %s is blocked; it goes on once unblocked", name);
    for (xfer *x = c->xf != NULL ? c->xf->list : NULL; x != NULL; x = x->next) {
        if (strcmp(x->peer, name) != 0)
            continue;
        if (x->bulk != NULL)
            xfer_drop_bulk(c, x, "blocked");
        /* Said, not silent: each side's next connection (after the unblock) runs it again. */
        if (x->state == MIM_CORE_FILE_RUNNING || x->state == MIM_CORE_FILE_ACCEPTED) {
            x->retry_at = 0; /* the tick dials as soon as the block is lifted */
            xfer_set_state(c, x, MIM_CORE_FILE_PAUSED, why);
        }
    }
}

void core_transfer_tick(mim_core *c)
{
    uint64_t now = uv_now(c->loop);

    if (c->xf == NULL || c->quitting)
        return;
    for (xfer *x = c->xf->list; x != NULL; x = x->next) {
        if (x->dirty && x->outgoing) /* (a receiver's only after an fsync: core_transfer_save.c) */
            xfer_save(c, x);
        if (!x->outgoing && x->bulk != NULL && chat_session_silent_ms(x->bulk) >= XFER_STALL_MS)
            chat_session_close(x->bulk, "stalled: nothing from the sender"); /* dialled again */
        if (x->outgoing || x->bulk != NULL)
            continue;
        if (x->state == MIM_CORE_FILE_PAUSED && now < x->retry_at)
            continue;
        if (x->state == MIM_CORE_FILE_ACCEPTED || x->state == MIM_CORE_FILE_PAUSED ||
            x->tell_reject)
            xfer_dial(c, x);
    }
}

/* ---- the commands ------------------------------------------------------------------------------
 */

static xfer *find_offered(mim_core *c, const mim_msg_id *id)
{
    for (xfer *x = c->xf->list; x != NULL; x = x->next)
        if (!x->outgoing && x->state == MIM_CORE_FILE_OFFERED &&
            memcmp(x->id.bytes, id->bytes, MIM_MSG_ID_LEN) == 0)
            return x;
    return NULL;
}

int mim_core_accept_file(mim_core *c, const mim_msg_id *id)
{
    xfer *x = find_offered(c, id);

    if (x == NULL)
        return MIM_CORE_ENO_TRANSFER;
    x->held = 0; /* the user found it (the files list) and decided: nothing left to show */
    x->state = MIM_CORE_FILE_ACCEPTED;
    xfer_save(c, x);
    mim_log_info("accepted %s from %s", x->name, x->peer);
    xfer_dial(c, x);
    return 0;
}

int mim_core_reject_file(mim_core *c, const mim_msg_id *id)
{
    xfer *x = find_offered(c, id);

    if (x == NULL)
        return MIM_CORE_ENO_TRANSFER;
    x->held = 0;
    x->tell_reject = 1;
    xfer_set_state(c, x, MIM_CORE_FILE_REJECTED, "rejected");
    xfer_dial(c, x);
    return 0;
}

typedef struct files_ctx {
    mim_core *c;
    void (*cb)(void *arg, const mim_core_file_info *f);
    void *arg;
} files_ctx;

static int files_one(const mim_transfer *t, void *arg)
{
    files_ctx *fc = arg;
    xfer *x = xfer_find(fc->c, t->peer, t->id, t->outgoing);
    mim_core_file_info f;
    info_buf b;

    if (x != NULL)
        xfer_info(fc->c, x, &f, &b);
    else
        fill_info(t, &f, &b);
    fc->cb(fc->arg, &f);
    return 0;
}

int mim_core_files(mim_core *c, void (*cb)(void *arg, const mim_core_file_info *f), void *arg)
{
    files_ctx fc = {c, cb, arg};

    return mim_store_transfer_each(c->st, files_one, &fc) == 0 ? 0 : MIM_CORE_ESTORE;
}
