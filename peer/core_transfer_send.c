/* File transfers (issue 15): the sender's side of a bulk connection, and the dispatch of every
 * bulk connection's events. The sender answers a FileRequest with the manifest and hash list
 * (when asked) and then streams the chunks asked for from the file, a chunk read at a time,
 * while fewer than XFER_WINDOW bytes wait in the connection's queue: a uv_check handle refills
 * it after each loop turn's writes (never a busy loop: the loop sleeps until a write drains). */
#include "core_transfer_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sender_fail(mim_core *c, xfer *x, const char *why)
{
    mim_log_warn("sending %s to %s failed: %s", x->name, x->peer, why);
    if (x->bulk != NULL)
        (void)xfer_send_end(c, x, MIM__FILE_END_CODE__FILE_END_REFUSED, why, NULL);
    xfer_set_state(c, x, MIM_CORE_FILE_FAILED, why);
}

static size_t chunk_bytes(const xfer *x, uint32_t k)
{
    int64_t off = (int64_t)k * x->chunk_size;
    return (size_t)(x->size - off < x->chunk_size ? x->size - off : x->chunk_size);
}

static int send_meta(mim_core *c, xfer *x)
{
    const file_layout *l = file_source_layout(x->src);
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    int rc = 0;

    for (uint32_t i = 0; x->folder && i < l->count && rc == 0;) {
        Mim__FileManifest fm = MIM__FILE_MANIFEST__INIT;
        Mim__FileEntry ents[64], *ptrs[64];
        size_t bytes = 0;
        fm.first = i;
        while (i < l->count && fm.n_entries < 64 && bytes < 32768) {
            mim__file_entry__init(&ents[fm.n_entries]);
            ents[fm.n_entries].path = l->entries[i].path;
            ents[fm.n_entries].size = (uint64_t)l->entries[i].size;
            ptrs[fm.n_entries] = &ents[fm.n_entries];
            bytes += strlen(l->entries[i].path) + 16;
            fm.n_entries++;
            i++;
        }
        fm.entries = ptrs;
        m.body_case = MIM__BULK_MSG__BODY_MANIFEST;
        m.manifest = &fm;
        rc = xfer_send_msg(c, x, &m);
    }
    for (uint32_t k = 0; k < x->nchunks && rc == 0;) {
        Mim__FileHashes fh = MIM__FILE_HASHES__INIT;
        uint32_t n =
            x->nchunks - k < MIM_FILE_PIECE_MAX / 32 ? x->nchunks - k : MIM_FILE_PIECE_MAX / 32;
        fh.first = k;
        fh.hashes = (ProtobufCBinaryData){(size_t)n * 32, x->hashes + (size_t)k * 32};
        m.body_case = MIM__BULK_MSG__BODY_HASHES;
        m.hashes = &fh;
        rc = xfer_send_msg(c, x, &m);
        k += n;
    }
    return rc;
}

static void on_pump(uv_check_t *h);

static void pump_start(mim_core *c)
{
    if (!c->xf->pumping && !c->quitting) {
        c->xf->pumping = 1;
        uv_check_start(&c->xf->pump, on_pump);
    }
}

/* A FileRequest on a connection the peer dialled to us. */
static void sender_request(mim_core *c, chat_session *cs, const Mim__FileRequest *r)
{
    xfer *x = xfer_find(c, chat_session_peer_name(cs), r->id.data, 1);
    int rc;

    if (x == NULL || x->state >= MIM_CORE_FILE_DONE) {
        chat_session_close(cs, "no such transfer");
        return;
    }
    if (x->bulk != NULL && x->bulk != cs)
        xfer_drop_bulk(c, x, "replaced by a new bulk connection");
    x->bulk = cs;
    if (r->reject) {
        mim_log_info("%s rejected %s", x->peer, x->name);
        xfer_set_state(c, x, MIM_CORE_FILE_REJECTED, "rejected by the receiver");
        return;
    }
    if (x->hashes == NULL) {
        sender_fail(c, x, "the chunk hashes are lost from the store");
        return;
    }
    if (x->src == NULL && (rc = file_source_open(x->path, &x->src)) != 0) {
        sender_fail(c, x, "the file cannot be read any more");
        return;
    }
    if (file_source_layout(x->src)->total != x->size) {
        sender_fail(c, x, "the file changed since it was offered");
        return;
    }
    if ((x->buf == NULL && (x->buf = malloc(x->chunk_size)) == NULL) ||
        (r->meta && send_meta(c, x) != 0))
        return; /* closing */
    free(x->ranges);
    x->ranges = NULL;
    x->nranges = x->range_i = 0;
    if (r->n_ranges > 0 && (x->ranges = calloc(r->n_ranges, sizeof(*x->ranges))) == NULL) {
        chat_session_close(cs, "out of memory");
        return;
    }
    for (size_t i = 0; i < r->n_ranges; i++)
        x->ranges[i] = *r->ranges[i];
    x->nranges = r->n_ranges;
    x->next_chunk = x->nranges > 0 ? x->ranges[0].first : 0;
    x->buf_chunk = UINT32_MAX;
    x->piece_off = 0;
    x->streaming = 1;
    if (x->state != MIM_CORE_FILE_RUNNING) {
        x->state = MIM_CORE_FILE_RUNNING;
        xfer_save(c, x);
    }
    pump_start(c);
}

/* Reads chunk k into x->buf (the test hook may flip a byte). 0, or a code. */
static int read_chunk(mim_core *c, xfer *x, uint32_t k)
{
    size_t n = chunk_bytes(x, k);
    int64_t got;

    if (k >= x->nchunks)
        return MIM_EINVAL;
    got = file_source_read(x->src, (int64_t)k * x->chunk_size, x->buf, n);
    if (got != (int64_t)n)
        return got < 0 ? (int)got : MIM_ECHANGED;
    if (c->xf->corrupt_chunk >= 0 && (uint32_t)c->xf->corrupt_chunk == k) {
        x->buf[n / 2] ^= 0x5a; /* MIM_TEST_CORRUPT_CHUNK: once */
        c->xf->corrupt_chunk = -1;
        mim_log_warn("test hook: chunk %u of %s sent corrupted", k, x->name);
    }
    x->buf_chunk = k;
    x->piece_off = 0;
    return 0;
}

/* Sends the next piece, or the end. 0: go on; 1: nothing more to send; < 0 failed. */
static int send_piece(mim_core *c, xfer *x)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileData d = MIM__FILE_DATA__INIT;
    size_t n;
    int rc;

    if (x->buf_chunk == x->next_chunk && x->piece_off == chunk_bytes(x, x->next_chunk)) {
        if (++x->next_chunk >= x->ranges[x->range_i].first + x->ranges[x->range_i].count &&
            ++x->range_i < x->nranges)
            x->next_chunk = x->ranges[x->range_i].first;
    }
    if (x->range_i >= x->nranges) {
        x->streaming = 0;
        (void)xfer_send_end(c, x, MIM__FILE_END_CODE__FILE_END_SENT, NULL, NULL);
        return 1;
    }
    if (x->buf_chunk != x->next_chunk && (rc = read_chunk(c, x, x->next_chunk)) != 0) {
        sender_fail(c, x,
                    rc == MIM_ECHANGED ? "the file changed since it was offered"
                                       : "the file cannot be read any more");
        return rc;
    }
    n = chunk_bytes(x, x->next_chunk) - x->piece_off;
    if (n > MIM_FILE_PIECE_MAX)
        n = MIM_FILE_PIECE_MAX;
    d.offset = (uint64_t)x->next_chunk * x->chunk_size + x->piece_off;
    d.data = (ProtobufCBinaryData){n, x->buf + x->piece_off};
    m.body_case = MIM__BULK_MSG__BODY_DATA;
    m.data = &d;
    if ((rc = xfer_send_msg(c, x, &m)) != 0)
        return rc;
    x->piece_off += n;
    x->sent += (int64_t)n;
    return 0;
}

static void on_pump(uv_check_t *h)
{
    mim_core *c = h->data;
    int active = 0;

    for (xfer *x = c->xf->list, *next; x != NULL; x = next) {
        next = x->next; /* a failure frees x */
        if (!x->outgoing || !x->streaming || x->bulk == NULL)
            continue;
        while (x->streaming && chat_session_queued(x->bulk) < XFER_WINDOW)
            if (send_piece(c, x) != 0)
                break;
        if (x->streaming) {
            active = 1;
            x->bytes = x->sent - (int64_t)chat_session_queued(x->bulk);
            if (x->bytes < 0)
                x->bytes = 0;
            x->dirty = 1;
            xfer_progress(c, x, 0);
        }
    }
    if (!active) {
        c->xf->pumping = 0;
        uv_check_stop(h);
    }
}

/* The receiver's end. With the SHA-256 chain the sender knows the file's hash itself (the last
 * link, or the empty stream's): a receiver reporting another did not write what was sent. */
static void sender_end(mim_core *c, xfer *x, const Mim__FileEnd *e)
{
    uint8_t own[MIM_HASH_LEN];

    if (e->code != MIM__FILE_END_CODE__FILE_END_DONE) {
        char why[MIM_FILE_ERROR_MAX + 32];
        snprintf(why, sizeof(why), "the receiver gave up: %s", e->error);
        xfer_set_state(c, x, MIM_CORE_FILE_FAILED, why);
        return;
    }
    if (xfer_chain_is_sha(x) && (x->hashes != NULL || x->nchunks == 0)) {
        xfer_chain_sha(x, own);
        if (memcmp(own, e->sha256.data, sizeof(own)) != 0) {
            mim_log_warn("%s reports a SHA-256 for %s that is not the file's", x->peer, x->name);
            xfer_set_state(c, x, MIM_CORE_FILE_FAILED,
                           "the receiver reports a SHA-256 that is not the file's");
            return;
        }
    }
    mim_hash_hex(x->sha256, e->sha256.data); /* 32 bytes: mim_bulk_msg_decode */
    x->bytes = x->size;
    mim_log_info("%s received %s, sha256 %s", x->peer, x->name, x->sha256);
    xfer_set_state(c, x, MIM_CORE_FILE_DONE, NULL);
}

/* ---- every bulk connection --------------------------------------------------------------------
 */

void core_transfer_bulk_open(mim_core *c, chat_session *cs)
{
    xfer *x = xfer_of_bulk(c, cs);

    if (chat_session_is_initiator(cs) && x != NULL)
        xfer_receiver_open(c, x);
    /* (the sender waits for the request) */
}

void core_transfer_on_bulk(void *ud, chat_session *cs, const uint8_t *p, size_t len)
{
    mim_core *c = ud;
    Mim__BulkMsg *m = NULL;
    xfer *x = xfer_of_bulk(c, cs);
    char err[160];

    if (mim_bulk_msg_decode(p, len, &m, err, sizeof(err)) != 0) {
        mim_log_warn("bulk connection with %s: %s", chat_session_peer_name(cs), err);
        if (x != NULL && !x->outgoing && x->state == MIM_CORE_FILE_RUNNING)
            xfer_receiver_fail(c, x, "the sender broke the protocol");
        chat_session_close(cs, "protocol violation");
        return;
    }
    if (chat_session_is_initiator(cs)) {
        /* (after a failure or a pause the connection is closing: what still comes is dropped) */
        if (x != NULL && x->state == MIM_CORE_FILE_RUNNING)
            xfer_receiver_msg(c, x, m);
    } else if (m->body_case == MIM__BULK_MSG__BODY_REQUEST) {
        sender_request(c, cs, m->request);
    } else if (m->body_case == MIM__BULK_MSG__BODY_END && x != NULL &&
               memcmp(m->end->id.data, x->id.bytes, MIM_MSG_ID_LEN) == 0) {
        sender_end(c, x, m->end);
    } else {
        chat_session_close(cs, "protocol violation: not a request");
    }
    mim_bulk_msg_free(m);
}

void core_transfer_bulk_closed(mim_core *c, chat_session *cs, const char *reason)
{
    xfer *x = c->xf != NULL ? xfer_of_bulk(c, cs) : NULL;

    if (x == NULL)
        return;
    x->bulk = NULL;
    x->streaming = 0;
    mim_log_info("bulk connection with %s for %s closed: %s", x->peer, x->name, reason);
    /* chunks still being written are not recorded: fetched again on the next connection */
    xfer_sha_drop(x);
    x->end_pending = 0;
    /* what was verified is stored once synced: on the loop (once per connection, not per
     * second), as the sink closes now */
    xfer_save_verified_now(c, x);
    file_sink_close(x->sink);
    x->sink = NULL;
    file_source_close(x->src);
    x->src = NULL;
    if (x->state >= MIM_CORE_FILE_DONE && !x->tell_reject) {
        xfer_discard(c, x);
        return;
    }
    if (x->state == MIM_CORE_FILE_RUNNING) {
        x->state = MIM_CORE_FILE_ACCEPTED; /* the receiver dials again at the next tick */
        xfer_save(c, x);
    }
}
