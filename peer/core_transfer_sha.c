/* File transfers (issue 15): the receiver's whole-file SHA-256 (the hash file_done reports),
 * computed on a libuv worker thread so that the loop never hashes and the receive never waits
 * for it. Two ways to the same hash:
 *  - in stream order, as the chunks are verified and written (the usual case: one connection
 *    brings them in order): each written chunk's buffer is handed to the worker, which hashes
 *    it while the loop receives the next ones; at most XFER_SHA_BUFS chunks wait;
 *  - from where that stopped (a resumed transfer: the start; a refetched chunk; a worker more
 *    than XFER_SHA_BUFS chunks behind) to the end: after the last chunk, the rest of the
 *    written stream is read back from disk on the worker, into the same hash state.
 * The first way only ever takes the chunk that starts where the hash stands, so the state
 * always covers exactly the stream's first `next` bytes.
 *
 * Ownership: while a job runs (busy) the worker owns the hash state, the job's buffers and, for
 * a read-back, the sink (taken from x: x->sink is NULL until the job ends); the loop owns the
 * rest. An xfer that lets go while a job runs (xfer_sha_drop) leaves the hasher to the job's
 * end, which frees it (and closes the sink it held). */
#include "core_transfer_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* Chunks waiting for the worker, and as many being hashed: at most 17 MiB with the assembly
 * buffer (RSS growth < 32 MiB). */
#define XFER_SHA_BUFS 8

struct xfer_sha {
    uv_work_t req;
    mim_core *c;
    xfer *x; /* NULL once x let go: the job's end frees the hasher */
    size_t buf_size;
    mim_sha256_state st;
    int64_t next;  /* the bytes the hash covers (done, or handed to the worker) */
    int64_t total; /* the stream's size (set when finishing) */
    int in_order;  /* 0: stopped at next; the rest is read back at the end */
    int busy;      /* a job runs */
    int finishing; /* every chunk is verified: the hash is wanted */
    uint8_t *wait[XFER_SHA_BUFS], *work[XFER_SHA_BUFS], *spare[2 * XFER_SHA_BUFS];
    size_t wait_len[XFER_SHA_BUFS], work_len[XFER_SHA_BUFS];
    size_t nwait, nwork, nspare;
    file_sink *sink; /* a read-back job's */
    int rc;
    char hex[MIM_SHA256_HEX_LEN];
};

static xfer_sha *sha_new(mim_core *c, xfer *x)
{
    xfer_sha *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->req.data = h;
    h->c = c;
    h->x = x;
    h->buf_size = x->chunk_size;
    h->in_order = 1;
    mim_sha256_init(&h->st);
    return h;
}

static void sha_free(xfer_sha *h)
{
    for (size_t i = 0; i < h->nwait; i++)
        free(h->wait[i]);
    for (size_t i = 0; i < h->nwork; i++)
        free(h->work[i]);
    for (size_t i = 0; i < h->nspare; i++)
        free(h->spare[i]);
    file_sink_close(h->sink);
    free(h);
}

static void give_up(xfer_sha *h)
{
    if (h->in_order)
        mim_log_debug(
            "the SHA-256 of %s: in stream order up to %lld, the rest read back at the end",
            h->x->name, (long long)h->next);
    h->in_order = 0;
    for (size_t i = 0; i < h->nwait; i++) {
        h->next -= (int64_t)h->wait_len[i]; /* never hashed */
        free(h->wait[i]);
    }
    h->nwait = 0;
}

/* The worker: the written stream from h->next to its end, into the hash state. */
static int read_back(xfer_sha *h)
{
    uint8_t *buf = malloc(h->buf_size);
    int64_t off = h->next, got = 0;

    if (buf == NULL)
        return MIM_ENOMEM;
    while (off < h->total && (got = file_sink_read(h->sink, off, buf, h->buf_size)) > 0) {
        mim_sha256_update(&h->st, buf, (size_t)got);
        off += got;
    }
    free(buf);
    return off == h->total ? 0 : got < 0 ? (int)got : MIM_EIO;
}

static void sha_work(uv_work_t *req)
{
    xfer_sha *h = req->data;

    if (h->sink != NULL) {
        h->rc = read_back(h);
        return;
    }
    for (size_t i = 0; i < h->nwork; i++)
        mim_sha256_update(&h->st, h->work[i], h->work_len[i]);
}

static void sha_after(uv_work_t *req, int status);

/* The hash is known (rc 0) or could not be computed: x hears of it, the hasher goes. */
static void sha_done(xfer_sha *h, int rc)
{
    char hex[MIM_SHA256_HEX_LEN];
    mim_core *c = h->c;
    xfer *x = h->x;

    memcpy(hex, h->hex, sizeof(hex));
    x->sha = NULL;
    sha_free(h);
    xfer_receiver_hashed(c, x, rc, hex);
}

/* Starts the next job, or ends when the hash is wanted and nothing is left to hash. */
static void kick(xfer_sha *h)
{
    uint8_t raw[MIM_HASH_LEN];
    int rc;

    if (h->busy)
        return;
    if (h->nwait > 0) {
        memcpy(h->work, h->wait, h->nwait * sizeof(*h->wait));
        memcpy(h->work_len, h->wait_len, h->nwait * sizeof(*h->wait_len));
        h->nwork = h->nwait;
        h->nwait = 0;
    } else if (!h->finishing) {
        return;
    } else if (h->in_order) {
        mim_sha256_final(&h->st, raw);
        mim_hash_hex(h->hex, raw);
        sha_done(h, 0);
        return;
    } else if (h->x->sink != NULL) {
        h->sink = h->x->sink; /* the worker's until the job ends */
        h->x->sink = NULL;
    } else {
        sha_done(h, MIM_ESTATE);
        return;
    }
    if ((rc = uv_queue_work(h->c->loop, &h->req, sha_work, sha_after)) != 0) {
        mim_log_warn("cannot start a hashing job: %s", uv_strerror(rc));
        for (size_t i = 0; i < h->nwork; i++)
            free(h->work[i]);
        h->nwork = 0;
        if (h->sink != NULL) {
            h->x->sink = h->sink;
            h->sink = NULL;
        }
        give_up(h);
        if (h->finishing)
            sha_done(h, MIM_EIO);
        return;
    }
    h->busy = 1;
}

static void sha_after(uv_work_t *req, int status)
{
    xfer_sha *h = req->data;

    h->busy = 0;
    for (size_t i = 0; i < h->nwork; i++) {
        if (h->nspare < 2 * XFER_SHA_BUFS && h->in_order)
            h->spare[h->nspare++] = h->work[i];
        else
            free(h->work[i]);
    }
    h->nwork = 0;
    if (h->x == NULL) {
        sha_free(h);
        return;
    }
    if (h->sink != NULL) { /* a read-back: the sink goes back to x (unless x opened another) */
        if (h->x->sink == NULL)
            h->x->sink = h->sink;
        else
            file_sink_close(h->sink);
        h->sink = NULL;
        if (status == 0 && h->rc == 0) {
            uint8_t raw[MIM_HASH_LEN];
            mim_sha256_final(&h->st, raw);
            mim_hash_hex(h->hex, raw);
        }
        sha_done(h, status < 0 ? MIM_EIO : h->rc);
        return;
    }
    kick(h);
}

void xfer_sha_chunk(mim_core *c, xfer *x, uint32_t k, size_t len)
{
    xfer_sha *h = x->sha;
    uint8_t *fresh;

    if (h == NULL && (h = x->sha = sha_new(c, x)) == NULL)
        return; /* out of memory: the end finds no hasher and reads the stream back */
    if (!h->in_order || h->finishing)
        return;
    if ((int64_t)k * x->chunk_size != h->next || h->nwait == XFER_SHA_BUFS) {
        give_up(h);
        return;
    }
    fresh = h->nspare > 0 ? h->spare[--h->nspare] : malloc(h->buf_size);
    if (fresh == NULL) {
        give_up(h);
        return;
    }
    /* x->buf (the written chunk) goes to the hasher; the receiver assembles into fresh */
    h->wait[h->nwait] = x->buf;
    h->wait_len[h->nwait++] = len;
    x->buf = fresh;
    h->next += (int64_t)len;
    kick(h);
}

int xfer_sha_finish(mim_core *c, xfer *x)
{
    xfer_sha *h = x->sha;

    if (h == NULL && (h = x->sha = sha_new(c, x)) == NULL)
        return MIM_ENOMEM;
    if (h->finishing)
        return 0; /* already on its way */
    h->finishing = 1;
    h->total = x->size;
    if (h->next != x->size)
        give_up(h);
    kick(h);
    return 0;
}

void xfer_sha_drop(xfer *x)
{
    xfer_sha *h = x->sha;

    if (h == NULL)
        return;
    x->sha = NULL;
    if (h->busy)
        h->x = NULL;
    else
        sha_free(h);
}
