/* File transfers (issue 15): the bulk connection. The receiver dials it (a chat_session with
 * MIM_FEATURE_BULK: the same handshake and identity checks as chat) and asks for the manifest,
 * the hash list and the chunks it still needs; the sender streams them, keeping at most
 * XFER_WINDOW bytes queued (TCP does the flow control; no stop-and-wait), and says when all
 * was sent. The receiver checks every chunk against the hash list the offer's root commits to,
 * writes it at its offset, records it as verified (synced first, on a worker, and stored about
 * once a second: core_transfer_save.c), asks again for what failed, and when all is there
 * hashes the written file (SHA-256), renames the .part and tells the sender. One BulkMsg per
 * frame (docs/PROTOCOL.md 14.7). */
#include "core_transfer_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xfer_send_msg(mim_core *c, xfer *x, const Mim__BulkMsg *m)
{
    int rc = mim_bulk_msg_pack(m, &c->xf->out);

    if (rc == 0)
        rc = chat_session_send_bulk(x->bulk, c->xf->out.data, c->xf->out.len);
    return rc;
}

int xfer_send_end(mim_core *c, xfer *x, Mim__FileEndCode code, const char *error,
                  const uint8_t *sha)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileEnd e = MIM__FILE_END__INIT;

    e.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, x->id.bytes};
    e.code = code;
    e.error = (char *)(error != NULL ? error : "");
    if (sha != NULL)
        e.sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
    m.body_case = MIM__BULK_MSG__BODY_END;
    m.end = &e;
    return xfer_send_msg(c, x, &m);
}

void xfer_drop_bulk(mim_core *c, xfer *x, const char *reason)
{
    (void)c;
    x->streaming = 0;
    if (x->bulk != NULL)
        chat_session_close(x->bulk, reason);
}

static int chunk_verified(const xfer *x, uint32_t k)
{
    return (x->verified[k / 8] >> (k % 8)) & 1;
}

static size_t chunk_len(const xfer *x, uint32_t k)
{
    int64_t off = (int64_t)k * x->chunk_size;
    return (size_t)(x->size - off < x->chunk_size ? x->size - off : x->chunk_size);
}

/* ---- the receiver: dialling and asking --------------------------------------------------------
 */

void xfer_dial(mim_core *c, xfer *x)
{
    const online_entry *e;
    struct sockaddr_storage ss;
    chat_session_config cfg = c->chat_cfg;
    chat_session *cs;

    if (c->quitting || x->outgoing || x->bulk != NULL)
        return;
    if (core_is_blocked(c, x->peer) || core_is_held(c, x->peer))
        return; /* our own check would refuse the session: not dialled (the tick asks again) */
    if ((e = core_table_find(c, x->peer)) == NULL || e->port == 0 ||
        (e->addr_len != 4 && e->addr_len != 16))
        return; /* not online: the tick tries again */
    core_entry_sockaddr(e, &ss);
    cfg.features |= MIM_FEATURE_BULK;
    if (chat_session_dial(&cfg, (struct sockaddr *)&ss, x->peer, e->identity_pk, &cs) != 0)
        return;
    if (core_sess_add(c, cs) == NULL) {
        chat_session_close(cs, "out of memory");
        return;
    }
    x->bulk = cs;
    mim_log_debug("bulk connection to %s for %s", x->peer, x->name);
}

/* Asks for the chunks not verified yet (and, meta, the manifest and hashes). 0, or -1 when
 * nothing is missing. */
static int request_missing(mim_core *c, xfer *x, int meta)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileRequest r = MIM__FILE_REQUEST__INIT;
    Mim__FileRange *ranges = calloc(MIM_FILE_RANGES_MAX, sizeof(*ranges));
    Mim__FileRange *ptrs[MIM_FILE_RANGES_MAX];
    size_t n = 0;
    int rc;

    if (ranges == NULL)
        return MIM_ENOMEM;
    for (uint32_t k = 0; k < x->nchunks && n < MIM_FILE_RANGES_MAX; k++) {
        if (chunk_verified(x, k))
            continue;
        if (n > 0 && ranges[n - 1].first + ranges[n - 1].count == k) {
            ranges[n - 1].count++;
            continue;
        }
        mim__file_range__init(&ranges[n]);
        ranges[n].first = k;
        ranges[n].count = 1;
        ptrs[n] = &ranges[n];
        n++;
    }
    if (n == 0 && !meta) {
        free(ranges);
        return -1;
    }
    r.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, x->id.bytes};
    r.meta = meta;
    r.n_ranges = n;
    r.ranges = ptrs;
    m.body_case = MIM__BULK_MSG__BODY_REQUEST;
    m.request = &r;
    rc = xfer_send_msg(c, x, &m);
    free(ranges);
    return rc;
}

void xfer_receiver_open(mim_core *c, xfer *x)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileRequest r = MIM__FILE_REQUEST__INIT;

    if (x->tell_reject) {
        r.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, x->id.bytes};
        r.reject = 1;
        m.body_case = MIM__BULK_MSG__BODY_REQUEST;
        m.request = &r;
        if (xfer_send_msg(c, x, &m) == 0)
            x->tell_reject = 0;
        chat_session_close(x->bulk, "rejected");
        return;
    }
    free(x->hashes);
    x->hashes = NULL;
    x->hashes_got = 0;
    file_layout_free(&x->manifest);
    x->buf_len = 0;
    x->pass_start = x->bytes;
    x->idle_passes = 0;
    x->end_pending = 0;
    if (x->buf == NULL)
        x->buf = malloc(x->chunk_size);
    if (x->tries == NULL)
        x->tries = calloc(x->nchunks + 1, 1);
    if (x->buf == NULL || x->tries == NULL || request_missing(c, x, 1) < 0) {
        chat_session_close(x->bulk, "out of memory");
        return;
    }
    if (x->state != MIM_CORE_FILE_RUNNING) {
        x->state = MIM_CORE_FILE_RUNNING;
        xfer_save(c, x);
    }
    mim_log_info("receiving %s from %s: %lld of %lld bytes verified before", x->name, x->peer,
                 (long long)x->bytes, (long long)x->size);
}

/* ---- the receiver: what arrives ---------------------------------------------------------------
 */

void xfer_receiver_fail(mim_core *c, xfer *x, const char *why)
{
    mim_log_warn("transfer of %s from %s failed: %s", x->name, x->peer, why);
    if (x->bulk != NULL)
        (void)xfer_send_end(c, x, MIM__FILE_END_CODE__FILE_END_FAILED, why, NULL);
    if (x->sink != NULL) {
        file_sink_remove(x->sink);
        file_sink_close(x->sink);
        x->sink = NULL;
    }
    xfer_set_state(c, x, MIM_CORE_FILE_FAILED, why);
}

static void receiver_pause(mim_core *c, xfer *x, const char *why)
{
    mim_log_warn("transfer of %s from %s paused: %s", x->name, x->peer, why);
    x->retry_at = uv_now(c->loop) + XFER_PAUSE_RETRY_MS;
    xfer_drop_bulk(c, x, "paused");
    xfer_set_state(c, x, MIM_CORE_FILE_PAUSED, why);
}

/* The layout the sink needs: the one file, or a copy of the fetched manifest. */
static int sink_layout(const xfer *x, file_layout *l)
{
    file_layout_init(l);
    if (!x->folder)
        return file_layout_add(l, x->name, strlen(x->name), x->size);
    for (uint32_t i = 0; i < x->manifest.count; i++) {
        const file_layout_entry *e = &x->manifest.entries[i];
        int rc = file_layout_add(l, e->path, strlen(e->path), e->size);
        if (rc != 0) {
            file_layout_free(l);
            return rc;
        }
    }
    return 0;
}

/* Opens the .part again, or makes it. 0, or a code (ENOSPC: pause; else fail). */
static int ensure_sink(mim_core *c, xfer *x)
{
    file_layout l;
    int rc;

    if (x->sink != NULL)
        return 0;
    if ((rc = file_sink_prepare_dir(c->xf->download_dir)) != 0)
        return rc;
    if (x->unique[0] != '\0') {
        if ((rc = sink_layout(x, &l)) != 0)
            return rc;
        rc = file_sink_reopen(c->xf->download_dir, x->unique, x->folder, &l, &x->sink);
        if (rc == 0)
            return 0;
        mim_log_warn("the .part of %s is gone or changed: starting over", x->name);
        memset(x->verified, 0, ((size_t)x->nchunks + 7) / 8);
        x->bytes = 0;
        xfer_save_reset(x); /* (a save of the old .part still running is let go) */
    }
    if ((rc = sink_layout(x, &l)) != 0)
        return rc;
    if ((rc = file_sink_create(c->xf->download_dir, x->name, strlen(x->name), x->folder, &l,
                               &x->sink)) != 0)
        return rc;
    free(x->unique);
    x->unique = strdup(file_sink_unique_name(x->sink));
    if (x->unique == NULL)
        return MIM_ENOMEM;
    xfer_save(c, x);
    return 0;
}

/* The meta is all in (hashes, and a folder's manifest): checked against the offer. */
static void meta_complete(mim_core *c, xfer *x)
{
    uint8_t h[MIM_FILE_HASH_LEN];
    int rc;

    xfer_scheme_hash(x->hash_scheme, h, x->hashes, (size_t)x->nchunks * 32);
    if (memcmp(h, x->root, sizeof(h)) != 0) {
        xfer_receiver_fail(c, x, "the hash list does not match the offer");
        return;
    }
    if (x->folder) {
        if (xfer_manifest_hash(x->hash_scheme, &x->manifest, h) != 0 || /* (out of memory) */
            memcmp(h, x->manifest_hash, sizeof(h)) != 0 || x->manifest.total != x->size ||
            x->manifest.count != x->nfiles) {
            xfer_receiver_fail(c, x, "the folder's manifest does not match the offer");
            return;
        }
    }
    if ((rc = ensure_sink(c, x)) == MIM_ENOSPC)
        receiver_pause(c, x, "the disk is full: paused, tried again every 10 s");
    else if (rc != 0)
        xfer_receiver_fail(c, x,
                           rc == MIM_EINVAL ? "a path in the folder is not acceptable"
                                            : "cannot write to the download directory");
}

static void on_manifest(mim_core *c, xfer *x, const Mim__FileManifest *m)
{
    if (!x->folder || m->first != x->manifest.count ||
        x->manifest.count + m->n_entries > x->nfiles) {
        xfer_receiver_fail(c, x, "the sender sent a manifest out of order");
        return;
    }
    for (size_t i = 0; i < m->n_entries; i++)
        if (file_layout_add(&x->manifest, m->entries[i]->path, strlen(m->entries[i]->path),
                            (int64_t)m->entries[i]->size) != 0) {
            xfer_receiver_fail(c, x, "the folder's manifest is not acceptable");
            return;
        }
}

static void on_hashes(mim_core *c, xfer *x, const Mim__FileHashes *h)
{
    size_t n = h->hashes.len / 32;

    if (x->hashes == NULL && (x->hashes = malloc((size_t)x->nchunks * 32 + 1)) == NULL) {
        chat_session_close(x->bulk, "out of memory");
        return;
    }
    if (h->first != x->hashes_got || (uint64_t)h->first + n > x->nchunks ||
        (x->folder && x->manifest.count != x->nfiles)) {
        xfer_receiver_fail(c, x, "the sender sent a hash list out of order");
        return;
    }
    memcpy(x->hashes + (size_t)h->first * 32, h->hashes.data, h->hashes.len);
    x->hashes_got += (uint32_t)n;
    if (x->hashes_got == x->nchunks)
        meta_complete(c, x);
}

void xfer_receiver_sync_failed(mim_core *c, xfer *x, int rc)
{
    if (rc == MIM_ENOSPC && x->state == MIM_CORE_FILE_RUNNING)
        receiver_pause(c, x, "the disk is full: paused, tried again every 10 s");
    else if (rc != MIM_ENOSPC)
        mim_log_warn("cannot sync %s: %s; saved later", x->name, mim_strerror(rc));
}

void xfer_receiver_written(mim_core *c, xfer *x, uint32_t k, size_t len, int rc)
{
    if (x->state != MIM_CORE_FILE_RUNNING || x->sink == NULL)
        return; /* paused or failed meanwhile: not recorded, fetched again */
    if (rc != 0) {
        if (rc == MIM_ENOSPC)
            receiver_pause(c, x, "the disk is full: paused, tried again every 10 s");
        else
            xfer_receiver_fail(c, x, "cannot write the file");
        return;
    }
    if (chunk_verified(x, k))
        return; /* a chunk sent twice */
    x->verified[k / 8] |= (uint8_t)(1u << (k % 8));
    x->bytes += (int64_t)len;
    if (uv_now(c->loop) - x->saved_at >= XFER_SAVE_MS)
        xfer_save_verified(c, x); /* synced on a worker, stored from a later loop turn */
    if (c->xf->exit_after > 0 && --c->xf->exit_after == 0) {
        xfer_save_verified_now(c, x);
        mim_log_warn("test hook: exiting after the chunks asked for");
        _exit(9);
    }
    if (x->state == MIM_CORE_FILE_RUNNING)
        xfer_progress(c, x, 0);
}

/* Chunk k (len bytes in x->buf) against the hash list: scheme 1 hashes it on from its stripe's
 * link before it (any chunk alone, in any order; a stripe's first from the initial state),
 * scheme 0 hashes it alone. */
static int chunk_matches(const xfer *x, uint32_t k, size_t len)
{
    const uint8_t *want = x->hashes + (size_t)k * 32;
    uint8_t h[MIM_FILE_HASH_LEN];

    if (x->hash_scheme == MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN) {
        uint32_t stripe = x->stripe_chunks > 0 ? x->stripe_chunks : x->nchunks;
        uint32_t at = k % stripe; /* the chunk's place in its stripe */
        return mim_file_chain_check(at > 0 ? want - 32 : NULL, (uint64_t)at * x->chunk_size, x->buf,
                                    len, k + 1 == x->nchunks || at + 1 == stripe, want);
    }
    mim_blake2b(h, x->buf, len);
    return memcmp(h, want, sizeof(h)) == 0;
}

static void chunk_complete(mim_core *c, xfer *x)
{
    uint32_t k = x->buf_chunk;
    size_t len = chunk_len(x, k);
    int rc;

    x->buf_len = 0;
    if (!chunk_matches(x, k, len)) {
        char why[128];
        mim_log_warn("chunk %u of %s from %s failed verification: it is fetched again", k, x->name,
                     x->peer);
        if (++x->tries[k] >= XFER_CHUNK_TRIES) {
            snprintf(why, sizeof(why), "chunk %u failed verification %d times", k,
                     XFER_CHUNK_TRIES);
            xfer_receiver_fail(c, x, why);
        }
        return;
    }
    if (chunk_verified(x, k) || xfer_sha_write(c, x, k, len))
        return; /* (a worker writes it: xfer_receiver_written follows) */
    rc = file_sink_write(x->sink, (int64_t)k * x->chunk_size, x->buf, len);
    if (rc == 0)
        xfer_sha_chunk(c, x, k, len);
    xfer_receiver_written(c, x, k, len, rc);
}

static void on_data(mim_core *c, xfer *x, const Mim__FileData *d)
{
    uint64_t k = d->offset / x->chunk_size, within = d->offset % x->chunk_size;

    if (x->sink == NULL || k >= x->nchunks ||
        (within != 0 && (k != x->buf_chunk || within != x->buf_len)) ||
        within + d->data.len > chunk_len(x, (uint32_t)k)) {
        xfer_receiver_fail(c, x, "the sender sent data out of range");
        return;
    }
    x->buf_chunk = (uint32_t)k;
    memcpy(x->buf + within, d->data.data, d->data.len);
    x->buf_len = within + d->data.len;
    if (x->buf_len == chunk_len(x, (uint32_t)k))
        chunk_complete(c, x);
}

void xfer_receiver_hashed(mim_core *c, xfer *x, int rc, const char hex[MIM_SHA256_HEX_LEN])
{
    uint8_t raw[32];

    if (x->bulk == NULL || x->sink == NULL)
        return; /* the connection went meanwhile: the next one's pass ends it */
    if (rc != 0 || file_sink_finish(x->sink) != 0) {
        xfer_receiver_fail(c, x, "cannot read back or rename the received file");
        return;
    }
    for (int i = 0; i < 32; i++)
        sscanf(hex + 2 * i, "%2hhx", &raw[i]);
    free(x->path);
    x->path = strdup(file_sink_path(x->sink));
    if (x->path == NULL)
        x->path = strdup("");
    snprintf(x->sha256, sizeof(x->sha256), "%s", hex);
    x->bytes = x->size;
    xfer_save_reset(x); /* all synced by file_sink_finish */
    file_sink_close(x->sink);
    x->sink = NULL;
    mim_log_info("received %s from %s: %lld bytes, sha256 %s", x->path, x->peer, (long long)x->size,
                 hex);
    (void)xfer_send_end(c, x, MIM__FILE_END_CODE__FILE_END_DONE, NULL, raw);
    xfer_set_state(c, x, MIM_CORE_FILE_DONE, NULL);
}

/* Every chunk is verified: the SHA-256 (on a worker) and then xfer_receiver_hashed. */
static void receiver_finish(mim_core *c, xfer *x)
{
    if (xfer_sha_finish(c, x) != 0)
        xfer_receiver_fail(c, x, "out of memory");
}

/* The sender sent all that was asked, and every chunk that came is written: ask for what is
 * still missing, or finish. */
static void receiver_pass_end(mim_core *c, xfer *x)
{
    xfer_save_verified(c, x);
    /* A pass that verified nothing new, again and again: the sender does not send what is
     * asked (a bad chunk is counted in tries; this is for a sender that skips). */
    x->idle_passes = x->bytes == x->pass_start ? x->idle_passes + 1 : 0;
    if (x->idle_passes >= XFER_CHUNK_TRIES) {
        xfer_receiver_fail(c, x, "the sender does not send the chunks asked for");
        return;
    }
    x->pass_start = x->bytes;
    if (request_missing(c, x, 0) == -1)
        receiver_finish(c, x);
}

void xfer_receiver_drained(mim_core *c, xfer *x)
{
    if (!x->end_pending)
        return;
    x->end_pending = 0;
    if (x->state == MIM_CORE_FILE_RUNNING && x->bulk != NULL && x->sink != NULL)
        receiver_pass_end(c, x);
}

static void receiver_end(mim_core *c, xfer *x, const Mim__FileEnd *e)
{
    if (e->code != MIM__FILE_END_CODE__FILE_END_SENT) {
        char why[MIM_FILE_ERROR_MAX + 32];
        snprintf(why, sizeof(why), "the sender gave up: %s", e->error);
        xfer_receiver_fail(c, x, why);
        return;
    }
    if (x->sink == NULL && x->nchunks == 0 && (!x->folder || x->manifest.count == x->nfiles)) {
        meta_complete(c, x); /* an empty stream has no hash list: its meta is complete now */
        if (x->state != MIM_CORE_FILE_RUNNING)
            return; /* failed or paused there */
    }
    if (x->sink == NULL) {
        xfer_receiver_fail(c, x, "the sender ended before its hash list");
        return;
    }
    if (xfer_sha_writing(x))
        x->end_pending = 1; /* the pass ends when the worker has written all */
    else
        receiver_pass_end(c, x);
}

void xfer_receiver_msg(mim_core *c, xfer *x, const Mim__BulkMsg *m)
{
    switch (m->body_case) {
    case MIM__BULK_MSG__BODY_MANIFEST:
        on_manifest(c, x, m->manifest);
        break;
    case MIM__BULK_MSG__BODY_HASHES:
        on_hashes(c, x, m->hashes);
        break;
    case MIM__BULK_MSG__BODY_DATA:
        on_data(c, x, m->data);
        break;
    case MIM__BULK_MSG__BODY_END:
        if (memcmp(m->end->id.data, x->id.bytes, MIM_MSG_ID_LEN) != 0)
            xfer_receiver_fail(c, x, "the sender ended another transfer");
        else
            receiver_end(c, x, m->end);
        break;
    default:
        xfer_receiver_fail(c, x, "the sender sent a request");
        break;
    }
}
