/* File transfers (issue 15): the receiver's worker. A verified chunk of a single file is written
 * to the .part (pwrite: the page-cache copy, the costliest step of a receive on this project's
 * machines) on a libuv worker thread, so that the loop only decrypts and verifies.
 *
 * The whole-file SHA-256 (the hash file_done reports): with the SHA-256 chain in one stripe
 * (scheme 1, a file of under 8 chunks here, or from a one-CPU sender) it is the last chunk's
 * hash, which the loop checked by hashing that chunk on from the chain's value before it (every
 * chunk is checked that way, each link by the receiver itself): nothing more to hash, whatever
 * the order the chunks came in. With several stripes (each its own SHA-256, hashed in parallel
 * by the sender) or a scheme-0 offer (BLAKE2b chunk hashes), it is hashed here, two ways:
 *  - in stream order, as the chunks are verified (the usual case: one connection brings them
 *    in order): each chunk's buffer is handed to the worker, which writes and hashes it while
 *    the loop receives the next ones; at most XFER_SHA_BUFS chunks wait;
 *  - from where that stopped (a resumed transfer: the start; a refetched chunk; a worker more
 *    than XFER_SHA_BUFS chunks behind) to the end: after the last chunk, the rest of the
 *    written stream is read back from disk on the worker, into the same hash state.
 * The first way only ever hashes the chunk that starts where the hash stands, so the state
 * always covers exactly the stream's first `next` bytes. A chunk the worker cannot take (a
 * folder's, whose files the sink opens as it goes; the queue full) is written by the loop as
 * before, and only handed over for hashing. A chunk the worker writes counts as verified only
 * once the write is done (xfer_receiver_written, on the loop): the bitmap never records a chunk
 * that is not on disk.
 *
 * Ownership: while a job runs (busy) the worker owns the hash state, the job's items and their
 * buffers, and for a read-back the sink (taken from x: x->sink is NULL until the job ends); the
 * loop owns the rest. The worker writes through wfd, its own descriptor of the .part (the sink
 * stays the loop's). An xfer that lets go (xfer_sha_drop: its bulk connection closed, or it is
 * freed) leaves the hasher to the job's end, which frees it without reporting. */
#include "core_transfer_priv.h"
#include "file_io.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Chunks waiting for the worker, and as many in its hands: at most 17 MiB with the assembly
 * buffer (RSS growth < 32 MiB). */
#define XFER_SHA_BUFS 8

/* One verified chunk for the worker. */
typedef struct sha_item {
    uint8_t *buf; /* owned: chunk_size bytes */
    uint32_t k;
    size_t len;
    int write; /* the worker writes it (else the loop has) */
    int hash;  /* it starts at `next`: into the hash state */
    int rc;    /* the write's result */
} sha_item;

struct xfer_sha {
    uv_work_t req;
    mim_core *c;
    xfer *x; /* NULL once x let go: the job's end frees the hasher */
    size_t buf_size;
    mim_sha256_state st;
    int64_t next;  /* the bytes the hash covers (done, or handed to the worker) */
    int64_t total; /* the stream's size (set when finishing) */
    int in_order;  /* 0: stopped at next; the rest is read back at the end */
    int chain;     /* the chain in one stripe: the hash is the last chunk's, none hashed here */
    int busy;      /* a job runs (or its end is being reported) */
    int finishing; /* every chunk is verified: the hash is wanted */
    int wfd;       /* the worker's descriptor of the .part, or -1 */
    size_t writes; /* items to write, queued or in the worker's hands */
    sha_item wait[XFER_SHA_BUFS], work[XFER_SHA_BUFS];
    uint8_t *spare[2 * XFER_SHA_BUFS];
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
    h->chain = xfer_chain_is_sha(x);
    h->in_order = !h->chain;
    h->wfd = -1;
    mim_sha256_init(&h->st);
    return h;
}

static void sha_free(xfer_sha *h)
{
    for (size_t i = 0; i < h->nwait; i++)
        free(h->wait[i].buf);
    for (size_t i = 0; i < h->nwork; i++)
        free(h->work[i].buf);
    for (size_t i = 0; i < h->nspare; i++)
        free(h->spare[i]);
    if (h->wfd >= 0)
        close(h->wfd);
    file_sink_close(h->sink);
    free(h);
}

static void keep_spare(xfer_sha *h, uint8_t *buf)
{
    if (h->nspare < 2 * XFER_SHA_BUFS)
        h->spare[h->nspare++] = buf;
    else
        free(buf);
}

/* The hash stops where it stands: waiting chunks are no longer hashed (those only waiting to
 * be hashed go; those still to be written stay). */
static void give_up(xfer_sha *h)
{
    size_t kept = 0;

    if (h->in_order)
        mim_log_debug(
            "the SHA-256 of %s: in stream order up to %lld, the rest read back at the end",
            h->x->name, (long long)h->next);
    h->in_order = 0;
    for (size_t i = 0; i < h->nwait; i++) {
        sha_item it = h->wait[i];
        if (it.hash)
            h->next -= (int64_t)it.len; /* never hashed */
        it.hash = 0;
        if (it.write)
            h->wait[kept++] = it;
        else
            keep_spare(h, it.buf);
    }
    h->nwait = kept;
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
    for (size_t i = 0; i < h->nwork; i++) {
        sha_item *it = &h->work[i];
        /* The writeback is left to the kernel and the fsyncs (once a second on a worker; the
         * last before the rename): starting it at once (sync_file_range) was measured slower
         * over the 1 Gbit/s link (docs/PERFORMANCE.md, "Seventh run"). */
        if (it->write)
            it->rc =
                file_io_pwrite(h->wfd, it->buf, it->len, (int64_t)it->k * (int64_t)h->buf_size);
        if (it->hash)
            mim_sha256_update(&h->st, it->buf, it->len);
    }
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

/* Starts the next job, or ends when the hash is wanted and nothing is left to do. h may be
 * gone when this returns. */
static void kick(xfer_sha *h)
{
    uint8_t raw[MIM_HASH_LEN];

    if (h->busy)
        return;
    if (h->nwait > 0) {
        memcpy(h->work, h->wait, h->nwait * sizeof(*h->wait));
        h->nwork = h->nwait;
        h->nwait = 0;
    } else if (!h->finishing) {
        return;
    } else if (h->chain) { /* every chunk checked: the last one's hash is the file's */
        xfer_chain_sha(h->x, raw);
        mim_hash_hex(h->hex, raw);
        sha_done(h, 0);
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
    h->busy = 1;
    if (uv_queue_work(h->c->loop, &h->req, sha_work, sha_after) != 0) {
        mim_log_warn("cannot start a job on a worker: done on the loop");
        sha_work(&h->req);
        sha_after(&h->req, 0);
    }
}

/* The loop: the items of the job that ended, reported (x may let go of h meanwhile). */
static void report_items(xfer_sha *h)
{
    for (size_t i = 0; i < h->nwork; i++) {
        sha_item it = h->work[i];
        h->work[i].buf = NULL;
        keep_spare(h, it.buf);
        if (!it.write)
            continue;
        h->writes--;
        if (h->x != NULL && it.rc == 0 && h->x->sink != NULL)
            file_sink_written(h->x->sink);
        if (h->x != NULL)
            xfer_receiver_written(h->c, h->x, it.k, it.len, it.rc);
    }
    h->nwork = 0;
}

static void sha_after(uv_work_t *req, int status)
{
    xfer_sha *h = req->data;
    xfer *x;

    if (status < 0) /* never ran: no write was made */
        for (size_t i = 0; i < h->nwork; i++)
            h->work[i].rc = MIM_EIO;
    report_items(h); /* still busy: a drop meanwhile leaves h to us */
    h->busy = 0;
    if ((x = h->x) == NULL) {
        sha_free(h);
        return;
    }
    if (h->sink != NULL) { /* a read-back: the sink goes back to x (unless x opened another) */
        if (x->sink == NULL)
            x->sink = h->sink;
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
    if (h->nwait == 0 && h->writes == 0 && x->end_pending) {
        xfer_receiver_drained(h->c, x); /* may finish: h may be gone */
        return;
    }
    kick(h);
}

/* Queues buf (chunk k, len bytes) for the worker: hashed when it starts where the hash stands. */
static void queue_item(xfer_sha *h, uint8_t *buf, uint32_t k, size_t len, int write)
{
    int hash = h->in_order && (int64_t)k * (int64_t)h->buf_size == h->next;

    if (h->in_order && !hash)
        give_up(h);
    h->wait[h->nwait++] = (sha_item){buf, k, len, write, hash, 0};
    if (hash)
        h->next += (int64_t)len;
    if (write)
        h->writes++;
}

static uint8_t *fresh_buf(xfer_sha *h)
{
    return h->nspare > 0 ? h->spare[--h->nspare] : malloc(h->buf_size);
}

int xfer_sha_write(mim_core *c, xfer *x, uint32_t k, size_t len)
{
    xfer_sha *h = x->sha;
    uint8_t *fresh;

    if (h == NULL && (h = x->sha = sha_new(c, x)) == NULL)
        return 0;
    if (h->finishing || h->nwait == XFER_SHA_BUFS || x->sink == NULL)
        return 0;
    if (h->wfd < 0 && (h->wfd = file_sink_dup_fd(x->sink)) < 0) {
        h->wfd = -1; /* a folder, or no descriptor: the loop writes */
        return 0;
    }
    if ((fresh = fresh_buf(h)) == NULL)
        return 0;
    /* x->buf (the verified chunk) goes to the worker; the receiver assembles into fresh */
    queue_item(h, x->buf, k, len, 1);
    x->buf = fresh;
    kick(h);
    return 1;
}

void xfer_sha_chunk(mim_core *c, xfer *x, uint32_t k, size_t len)
{
    xfer_sha *h = x->sha;
    uint8_t *fresh;

    if (h == NULL && (h = x->sha = sha_new(c, x)) == NULL)
        return; /* out of memory: the end finds no hasher and reads the stream back */
    if (!h->in_order || h->finishing)
        return;
    if ((int64_t)k * x->chunk_size != h->next || h->nwait == XFER_SHA_BUFS ||
        (fresh = fresh_buf(h)) == NULL) {
        give_up(h);
        return;
    }
    /* x->buf (the written chunk) goes to the hasher; the receiver assembles into fresh */
    queue_item(h, x->buf, k, len, 0);
    x->buf = fresh;
    kick(h);
}

int xfer_chain_is_sha(const xfer *x)
{
    return x->hash_scheme == MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN &&
           (x->stripe_chunks == 0 || x->stripe_chunks >= x->nchunks);
}

void xfer_chain_sha(const xfer *x, uint8_t out[MIM_HASH_LEN])
{
    if (x->nchunks > 0)
        memcpy(out, x->hashes + (size_t)(x->nchunks - 1) * 32, MIM_HASH_LEN);
    else
        mim_sha256(out, "", 0); /* the empty stream: no chunk, no list */
}

int xfer_sha_writing(const xfer *x)
{
    return x->sha != NULL && x->sha->writes > 0;
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
