/* File transfers (issue 15): the receiver's saves. The store records a chunk as verified only
 * once its bytes are on disk: a restart resumes from the store, and a chunk recorded there but
 * lost with the page cache (a power cut) would never be fetched again. So a save is an fsync of
 * what was written, then the bitmap stored. That fsync blocks for as long as the disk takes to
 * write what the transfer dirtied (0.17-0.25 s, once a second, receiving 1 GiB on this
 * project's machines); on the loop it would stop every socket and every decryption meanwhile,
 * so the periodic save syncs on a libuv worker.
 *
 * A save snapshots x->verified and x->bytes when it starts and takes the files written since the
 * last sync (file_sink_flush_begin: descriptors of the job's own, the sink stays the loop's);
 * the worker fsyncs them; back on the loop the snapshot becomes x->durable, which is what
 * xfer_save stores -- never the chunks verified meanwhile, which are not known durable (nor are
 * they when a state change stores the row). At most one save runs per transfer; one asked for
 * meanwhile runs when it ends.
 *
 * The connection closing and the core being freed save synchronously, on the loop
 * (xfer_save_verified_now): once each, not once a second, and at the core's end a worker's
 * save would finish after the store is closed.
 *
 * Ownership: the job (xfer_sync) owns its snapshot and its flush; while it runs the worker
 * touches only the flush. x->sync points at the job while it runs; an xfer that lets go
 * (xfer_save_drop: freed, its .part started over or finished) clears job->x, and the job's end
 * then only frees it. */
#include "core_transfer_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

struct xfer_sync {
    uv_work_t req;
    mim_core *c;
    xfer *x;                /* NULL once x let go: the end only frees the job */
    file_sink_flush *flush; /* owned: the files to sync */
    uint8_t *verified;      /* owned: the snapshot, x->verified when the save started ... */
    int64_t bytes;          /* ... and x->bytes */
    int rc;                 /* the flush's result (written by the worker) */
    int again;              /* another save was asked for meanwhile */
};

static size_t bitmap_len(const xfer *x)
{
    return ((size_t)x->nchunks + 7) / 8;
}

/* 1 while verified chunks are neither stored nor being synced to be. */
static int save_due(const xfer *x)
{
    return !x->outgoing && x->bytes > (x->sync != NULL ? x->sync->bytes : x->durable_bytes);
}

/* The snapshot (bitmap, bytes) is on disk: it is x's durable part now, stored. A snapshot older
 * than what x holds as durable (a synchronous save came meanwhile), or a transfer over, keeps
 * what the store has. Verified chunks only accumulate (a start over lets go of the save), so
 * more bytes is a larger set. */
static void store_durable(mim_core *c, xfer *x, const uint8_t *verified, int64_t bytes)
{
    if (bytes <= x->durable_bytes || x->state >= MIM_CORE_FILE_DONE)
        return;
    if (verified != x->durable)
        memcpy(x->durable, verified, bitmap_len(x));
    x->durable_bytes = bytes;
    xfer_save_progress(c, x);
}

static void sync_free(xfer_sync *j)
{
    file_sink_flush_end(j->flush, MIM_EIO); /* (NULL once ended: nothing) */
    free(j->verified);
    free(j);
}

static void sync_work(uv_work_t *req)
{
    xfer_sync *j = req->data;

    j->rc = file_sink_flush_run(j->flush);
}

static void after_sync(uv_work_t *req, int status)
{
    xfer_sync *j = req->data;
    mim_core *c = j->c;
    xfer *x = j->x;
    int rc = status < 0 ? MIM_EIO : j->rc; /* (never ran: nothing is known synced) */
    int again = j->again;

    file_sink_flush_end(j->flush, rc); /* a failed flush's files are unsynced again */
    j->flush = NULL;
    if (x == NULL) {
        sync_free(j);
        return;
    }
    x->sync = NULL;
    if (rc == 0)
        store_durable(c, x, j->verified, j->bytes);
    sync_free(j);
    if (rc != 0)
        xfer_receiver_sync_failed(c, x, rc);
    else if (again)
        xfer_save_verified(c, x);
}

/* A new job holding the snapshot of x, or NULL (out of memory). */
static xfer_sync *sync_new(mim_core *c, xfer *x)
{
    xfer_sync *j = calloc(1, sizeof(*j));

    if (j == NULL || (j->verified = malloc(bitmap_len(x))) == NULL) {
        free(j);
        return NULL;
    }
    j->req.data = j;
    j->c = c;
    j->x = x;
    memcpy(j->verified, x->verified, bitmap_len(x));
    j->bytes = x->bytes;
    return j;
}

void xfer_save_verified(mim_core *c, xfer *x)
{
    xfer_sync *j;
    int rc;

    if (!save_due(x))
        return;
    if (x->sync != NULL) {
        x->sync->again = 1;
        return;
    }
    if (x->sink == NULL)
        return;                    /* a read-back holds it: file_sink_finish makes all durable */
    x->saved_at = uv_now(c->loop); /* the next periodic one a second after this one starts */
    if ((j = sync_new(c, x)) == NULL)
        return; /* out of memory: the next save tries again */
    if ((rc = file_sink_flush_begin(x->sink, &j->flush)) != 0) {
        sync_free(j);
        mim_log_warn("cannot sync %s: %s", x->name, mim_strerror(rc));
        return;
    }
    if (j->flush == NULL) { /* nothing written since the last sync: all durable already */
        store_durable(c, x, j->verified, j->bytes);
        sync_free(j);
        return;
    }
    x->sync = j;
    if (uv_queue_work(c->loop, &j->req, sync_work, after_sync) != 0) {
        mim_log_warn("cannot start a job on a worker: synced on the loop");
        sync_work(&j->req);
        after_sync(&j->req, 0);
    }
}

void xfer_save_verified_now(mim_core *c, xfer *x)
{
    int rc;

    if (x->outgoing || x->sink == NULL || x->bytes <= x->durable_bytes)
        return;
    if ((rc = file_sink_sync(x->sink)) == 0) { /* (also the files a running save took) */
        store_durable(c, x, x->verified, x->bytes);
        return;
    }
    /* Not known durable (on a full disk, writeback may have dropped them): fetched again. */
    mim_log_warn("cannot sync %s: %s; the chunks since the last save are fetched again", x->name,
                 mim_strerror(rc));
    xfer_save_drop(x);
    memcpy(x->verified, x->durable, bitmap_len(x));
    x->bytes = x->durable_bytes;
}

void xfer_save_reset(xfer *x)
{
    xfer_save_drop(x);
    memcpy(x->durable, x->verified, bitmap_len(x));
    x->durable_bytes = x->bytes;
}

void xfer_save_drop(xfer *x)
{
    if (x->sync == NULL)
        return;
    x->sync->x = NULL; /* it runs: its end frees it */
    x->sync = NULL;
}
