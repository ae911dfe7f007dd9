/* File transfers (issue 15): the offer. The sender reads the file or folder once for its chunk
 * hashes (the SHA-256 chain, root) and its manifest (manifest_hash), stores the offer as a history
 * entry in the outbox with its transfer row, and sends it as a ChatMessage with a FileOffer when
 * the outbox goes out. The receiver stores the row with the message (the same transaction), decides
 * by its policy, and reports the offer after the commit. */
#include "core_transfer_priv.h"
#include "file_name.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_media.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The offer's history line: "file report.pdf (1234 bytes)", "image cat.png 640x480 (...)". */
static void offer_text(const mim_transfer *t, char *out, size_t len)
{
    const char *kind = t->folder ? "folder" : t->media_type[0] != '\0' ? "image" : "file";

    if (t->width > 0)
        snprintf(out, len, "[%s %s %ux%u, %lld bytes]", kind, t->name, t->width, t->height,
                 (long long)t->size);
    else
        snprintf(out, len, "[%s %s, %lld bytes%s]", kind, t->name, (long long)t->size,
                 t->folder ? ", a folder" : "");
    mim_utf8_cut(out);
}

/* Checks of a send: the name as mim_core_send checks it. */
static int check_to(mim_core *c, const char **to, char nfc[MIM_NAME_MAX_BYTES + 1])
{
    if ((*to = mim_core_typed_name(*to, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (strcmp(*to, c->name) == 0)
        return MIM_CORE_ESELF;
    if (!core_known_peer(c, *to))
        return MIM_CORE_EUNKNOWN_PEER;
    if (core_is_blocked(c, *to))
        return MIM_CORE_EBLOCKED;
    return 0;
}

/* Stores the offer (history + transfer row, one transaction) and its xfer. */
static int store_offer(mim_core *c, mim_transfer *t, int type, const uint8_t *hashes, uint32_t n,
                       xfer **out)
{
    char text[MIM_CHAT_TEXT_MAX];
    int rc;

    offer_text(t, text, sizeof(text));
    t->hashes = hashes;
    t->hashes_len = (size_t)n * 32;
    if (mim_store_begin(c->st) != 0)
        return MIM_CORE_ESTORE;
    rc = mim_store_message_queue(c->st, t->peer, t->id, t->ts_ms, type, text, strlen(text), NULL);
    if (rc == 0)
        rc = mim_store_transfer_add(c->st, t);
    if (rc != 0 || mim_store_commit(c->st) != 0) {
        mim_store_rollback(c->st);
        return MIM_CORE_ESTORE;
    }
    return (*out = xfer_from_row(c, t)) != NULL ? 0 : MIM_CORE_ESTORE;
}

/* A send_file's reading of its file on libuv workers: the chunk hashes, the root and the
 * manifest hash, that the loop must not wait for and that delay the offer (~0.75 ms per MiB of
 * SHA-256 on one core). So the stream is cut into stripes of consecutive chunks, each its own
 * SHA-256 chain (docs/PROTOCOL.md 14.14.1) hashed on its own worker with its own reader and 1 MiB
 * buffer, up to OFFER_STRIPES_MAX at once. The job owns its strings, src, the readers and the
 * hashes; it is on c->xf->offers until its last stripe's end runs. Each stripe writes only its
 * own chunks' hashes; the stripe that finishes last (j->left) computes the root and the
 * manifest hash. A core that stops meanwhile sets cancel (the workers stop at the next chunk)
 * and, once freed, c to NULL: the end only frees. */
#define OFFER_STRIPES_MAX 4
#define OFFER_STRIPE_MIN  4 /* chunks a stripe gets at least (a small file: one stripe) */

typedef struct offer_stripe {
    uv_work_t req;
    offer_job *j;
    file_source_reader *reader; /* owned; NULL: the stripe reads through j->src */
    uint32_t first, count;      /* its chunks */
    int rc;
} offer_stripe;

struct offer_job {
    offer_job *next;
    mim_core *c;
    atomic_int cancel;
    atomic_int left;   /* stripes still hashing */
    atomic_int failed; /* a stripe failed or never started: no roots (its hashes unwritten) */
    mim_transfer t;    /* strings: name, path below; hashes once read */
    char *name, *path;
    mim_media_info media;
    file_source *src;
    uint8_t *hashes; /* n * 32 bytes (+ 1: never a malloc(0)) */
    uint32_t n;
    offer_stripe stripes[OFFER_STRIPES_MAX];
    int nstripes, running; /* running: stripes whose end has not run (loop thread) */
};

static void offer_job_free(offer_job *j)
{
    for (int i = 0; i < OFFER_STRIPES_MAX; i++)
        file_source_reader_close(j->stripes[i].reader);
    file_source_close(j->src);
    free(j->hashes);
    free(j->name);
    free(j->path);
    free(j);
}

/* The root over the chunk hashes and, for a folder, the hash of its manifest. */
static int offer_roots(offer_job *j)
{
    xfer_scheme_hash(j->t.hash_scheme, j->t.root, j->hashes, (size_t)j->n * 32);
    return xfer_manifest_hash(j->t.hash_scheme, file_source_layout(j->src), j->t.manifest_hash);
}

/* Chunk k's hash into j->hashes: the chain's link (st: the stripe's SHA-256 so far; the stripe's
 * last chunk gets the final hash), or for a first-version peer (scheme 0) its BLAKE2b-256. */
static int hash_chunk(offer_job *j, const offer_stripe *s, mim_sha256_state *st, uint32_t k,
                      const uint8_t *buf, size_t len)
{
    uint8_t *out = j->hashes + (size_t)k * 32;

    if (j->t.hash_scheme != MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN) {
        mim_blake2b(out, buf, len);
        return 0;
    }
    mim_sha256_update(st, buf, len);
    if (k + 1 == s->first + s->count) {
        mim_sha256_final(st, out);
        return 0;
    }
    return mim_sha256_chain_value(st, out) == 0 ? 0 : MIM_EINVAL; /* chunk_size % 64: never */
}

/* A worker: the stripe's chunks, read and hashed in order (stops with MIM_ESTATE once cancel is
 * set); the last stripe to finish then makes the roots. */
static void offer_hash_stripe(uv_work_t *req)
{
    offer_stripe *s = req->data;
    offer_job *j = s->j;
    const file_layout *l = file_source_layout(j->src);
    uint32_t chunk = j->t.chunk_size;
    uint8_t *buf = malloc(chunk);
    mim_sha256_state st;

    s->rc = buf == NULL ? MIM_ENOMEM : 0;
    mim_sha256_init(&st);
    for (uint32_t k = s->first; k < s->first + s->count && s->rc == 0; k++) {
        int64_t off = (int64_t)k * chunk, got;
        size_t want = (size_t)(l->total - off < chunk ? l->total - off : chunk);
        if (atomic_load(&j->cancel)) {
            s->rc = MIM_ESTATE; /* the core stops */
            break;
        }
        got = s->reader != NULL ? file_source_reader_read(s->reader, off, buf, want)
                                : file_source_read(j->src, off, buf, want);
        if (got != (int64_t)want)
            s->rc = got < 0 ? (int)got : MIM_ECHANGED;
        else
            s->rc = hash_chunk(j, s, &st, k, buf, want);
    }
    mim_wipe(&st, sizeof(st)); /* (the file's bytes are not secret; tidy all the same) */
    free(buf);
    if (s->rc != 0)
        atomic_store(&j->failed, 1);
    /* every other stripe's hashes were written before its decrement: the last sees them all */
    if (atomic_fetch_sub(&j->left, 1) == 1 && !atomic_load(&j->failed) && offer_roots(j) != 0)
        s->rc = MIM_EOVERFLOW;
}

/* The offer could not be made after send_file returned: the front ends hear it as failed. */
static void offer_failed(mim_core *c, const offer_job *j, const char *why)
{
    mim_core_file_info f = {0};

    mim_log_warn("offering %s to %s failed: %s", j->name, j->t.peer, why);
    memcpy(f.id.bytes, j->t.id, MIM_MSG_ID_LEN);
    f.with = j->t.peer;
    f.dir = MIM_CORE_FILE_SEND;
    f.state = MIM_CORE_FILE_FAILED;
    f.name = j->name;
    f.path = j->path;
    f.size = j->t.size;
    f.nfiles = j->t.nfiles;
    f.media_type = j->media.type;
    f.width = j->media.width;
    f.height = j->media.height;
    f.sha256 = "";
    f.error = why;
    if (c->ev.on_file_failed != NULL)
        c->ev.on_file_failed(c->ud, &f);
}

/* The loop: a stripe ended; once all have, the offer is stored and sent (or fails). */
static void offer_stripe_done(uv_work_t *req, int status)
{
    offer_stripe *s = req->data;
    offer_job *j = s->j;
    mim_core *c = j->c;
    peer_rec *r;
    xfer *x;
    int rc = 0;

    if (status < 0 && s->rc == 0)
        s->rc = MIM_ESTATE; /* cancelled before it ran */
    if (--j->running > 0)
        return;
    for (int i = 0; i < j->nstripes && rc == 0; i++)
        rc = j->stripes[i].rc;
    if (c != NULL)
        for (offer_job **p = &c->xf->offers; *p != NULL; p = &(*p)->next)
            if (*p == j) {
                *p = j->next;
                break;
            }
    if (c == NULL || c->quitting || atomic_load(&j->cancel)) {
        offer_job_free(j);
        return;
    }
    file_source_close(j->src); /* closed before the store work */
    j->src = NULL;
    if (rc != 0) {
        offer_failed(c, j, "the file changed or could not be read while hashed");
    } else if ((r = core_peer_get(c, j->t.peer)) == NULL ||
               (rc = store_offer(c, &j->t,
                                 j->media.type[0] != '\0' ? MIM__CONTENT_TYPE__CONTENT_IMAGE
                                                          : MIM__CONTENT_TYPE__CONTENT_FILE,
                                 j->hashes, j->n, &x)) != 0) {
        offer_failed(c, j, "the offer could not be stored");
    } else {
        mim_log_info("offering %s (%lld bytes, %u chunks, %s) to %s", x->name, (long long)x->size,
                     x->nchunks,
                     x->hash_scheme == MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN
                         ? "the SHA-256 chain"
                         : "BLAKE2b chunks, for a first-version peer",
                     x->peer);
        (void)core_send_committed(c, r, &x->id);
    }
    offer_job_free(j);
}

/* The job for src (moved in) to `to`: everything but what the hashing finds. */
static offer_job *offer_job_new(mim_core *c, const char *to, const char *path, file_source *src)
{
    offer_job *j = calloc(1, sizeof(*j));

    if (j == NULL || (j->name = strdup(file_source_name(src))) == NULL ||
        (j->path = strdup(path)) == NULL) {
        if (j != NULL)
            free(j->name);
        free(j);
        file_source_close(src);
        return NULL;
    }
    j->c = c;
    j->src = src;
    j->media.type = "";
    if (!file_source_is_folder(src))
        file_source_media(src, &j->media);
    snprintf(j->t.peer, sizeof(j->t.peer), "%s", to);
    mim_random_bytes(j->t.id, sizeof(j->t.id));
    j->t.outgoing = 1;
    j->t.state = MIM_CORE_FILE_OFFERED;
    j->t.ts_ms = mim_clock_wall_ms();
    j->t.name = j->name;
    j->t.path = j->path;
    j->t.size = file_source_layout(src)->total;
    j->t.nfiles = file_source_layout(src)->count;
    j->t.folder = file_source_is_folder(src);
    j->t.has_manifest_hash = j->t.folder;
    j->t.media_type = j->media.type;
    j->t.width = j->media.width;
    j->t.height = j->media.height;
    j->t.chunk_size = MIM_FILE_CHUNK_SIZE; /* a multiple of 64: the chain's blocks */
    j->t.hash_scheme = MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN;
    return j;
}

/* Cuts j's chunks into stripes and queues them: 0, or a code when none could start (j is then
 * the caller's to free). A later stripe that cannot start fails the offer at the end. With the
 * chain the stripes are FileOffer.stripe_chunks long; a first-version peer's BLAKE2b list has no
 * stripes on the wire (each chunk hashed alone), so any cut gives the same list. */
static int offer_job_start(mim_core *c, offer_job *j)
{
    uint64_t count = mim_file_chunk_count((uint64_t)j->t.size, j->t.chunk_size);
    uint32_t per, first = 0;
    int n = (int)uv_available_parallelism();

    if (count > UINT32_MAX || (j->hashes = malloc(count * 32 + 1)) == NULL)
        return MIM_ENOMEM;
    j->n = (uint32_t)count;
    if (n > OFFER_STRIPES_MAX)
        n = OFFER_STRIPES_MAX;
    if ((uint64_t)n > count / OFFER_STRIPE_MIN)
        n = (int)(count / OFFER_STRIPE_MIN);
    j->nstripes = n < 1 ? 1 : n;
    per = (uint32_t)((count + (uint64_t)j->nstripes - 1) / (uint64_t)j->nstripes);
    j->nstripes = per > 0 ? (int)((count + per - 1) / per) : 1; /* no empty stripe at the end */
    j->t.stripe_chunks = /* 0: one stripe, the whole stream (and always with BLAKE2b) */
        j->nstripes > 1 && j->t.hash_scheme == MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN ? per
                                                                                             : 0;
    for (int i = 0; i < j->nstripes; i++, first += per) {
        offer_stripe *s = &j->stripes[i];
        s->req.data = s;
        s->j = j;
        s->first = first < j->n ? first : j->n;
        s->count = j->n - s->first < per ? j->n - s->first : per;
    }
    atomic_store(&j->left, j->nstripes);
    for (int i = 0; i < j->nstripes; i++) {
        offer_stripe *s = &j->stripes[i];
        if ((i > 0 && file_source_reader_open(j->src, &s->reader) != 0) ||
            uv_queue_work(c->loop, &s->req, offer_hash_stripe, offer_stripe_done) != 0) {
            if (i == 0)
                return MIM_ENOMEM;
            s->rc = MIM_ENOMEM; /* not started: counted as ended */
            atomic_store(&j->failed, 1);
            atomic_fetch_sub(&j->left, 1);
            continue;
        }
        j->running++;
    }
    return 0;
}

/* The chain (scheme 1), unless the recipient's session says it is of the first version (files,
 * but not the chain): then BLAKE2b per chunk, which it checks. Unknown (no session): the chain,
 * and a first-version peer then fails the transfer when it checks the hash list (PROTOCOL.md
 * 14.14.1). */
static int hash_scheme_for(mim_core *c, const char *to)
{
    peer_rec *r = core_peer_get(c, to);
    uint32_t f = r != NULL && r->cs != NULL ? chat_session_peer_features(r->cs) : 0;

    if ((f & MIM_FEATURE_FILES) && !(f & MIM_FEATURE_FILE_CHAIN))
        return MIM__FILE_HASH_SCHEME__FILE_HASH_BLAKE2B;
    return MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN;
}

/* Checks what can be checked at once, then reads the file on a worker: the offer is stored and
 * goes out (on_queued / on_sent with *id) when that ends, or on_file_failed says why not. */
int mim_core_send_file(mim_core *c, const char *to, const char *path, mim_msg_id *id)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    file_source *src = NULL;
    offer_job *j;
    int rc;

    if (c->batching || c->quitting)
        return MIM_CORE_EBAD_VALUE;
    if ((rc = check_to(c, &to, nfc)) != 0)
        return rc;
    if (core_peer_get(c, to) == NULL)
        return MIM_CORE_ESTORE;
    if ((rc = file_source_open(path, &src)) != 0)
        return rc == MIM_EOVERFLOW ? MIM_CORE_ETOO_BIG : MIM_CORE_ENO_FILE;
    if (strlen(file_source_name(src)) > MIM_FILE_NAME_BYTES ||
        (uint64_t)file_source_layout(src)->total >= MIM_FILE_MAX_SIZE) {
        file_source_close(src);
        return MIM_CORE_ETOO_BIG;
    }
    if ((j = offer_job_new(c, to, path, src)) == NULL)
        return MIM_CORE_ESTORE; /* out of memory */
    j->t.hash_scheme = hash_scheme_for(c, to);
    if (offer_job_start(c, j) != 0) {
        offer_job_free(j);
        return MIM_CORE_ESTORE; /* out of memory */
    }
    j->next = c->xf->offers;
    c->xf->offers = j;
    if (id != NULL)
        memcpy(id->bytes, j->t.id, MIM_MSG_ID_LEN);
    return 0;
}

/* The core stops: running offer jobs stop at their next chunk and, once the core is freed
 * (gone), only free themselves. */
void core_transfer_offers_stop(mim_core *c, int gone)
{
    for (offer_job *j = c->xf->offers; j != NULL; j = j->next) {
        atomic_store(&j->cancel, 1);
        if (gone)
            j->c = NULL;
    }
    if (gone)
        c->xf->offers = NULL;
}

int core_transfer_send_offer(mim_core *c, chat_session *cs, const mim_message *m)
{
    xfer *x = xfer_find(c, m->peer, m->id, 1);
    Mim__PeerMsg pm = MIM__PEER_MSG__INIT;
    Mim__ChatMessage cm = MIM__CHAT_MESSAGE__INIT;
    Mim__FileOffer fo = MIM__FILE_OFFER__INIT;

    if (x == NULL) { /* finished or failed meanwhile: still delivered, as history */
        mim_log_debug("an offer to %s without its transfer: sent as text", m->peer);
        return chat_session_send_chat(cs, m->id, (uint64_t)m->ts_ms, m->text, m->text_len);
    }
    fo.name = x->name;
    fo.size = (uint64_t)x->size;
    fo.file_count = x->nfiles;
    fo.folder = x->folder;
    fo.media_type = x->media_type;
    fo.width = x->width;
    fo.height = x->height;
    fo.chunk_size = x->chunk_size;
    fo.root = (ProtobufCBinaryData){32, x->root};
    fo.hash_scheme = (Mim__FileHashScheme)x->hash_scheme;
    fo.stripe_chunks = x->stripe_chunks;
    if (x->folder)
        fo.manifest_hash = (ProtobufCBinaryData){32, x->manifest_hash};
    cm.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, x->id.bytes};
    cm.ts_ms = (uint64_t)x->ts_ms;
    cm.sender = c->name;
    cm.type = m->content_type;
    cm.text = "";
    cm.offer = &fo;
    pm.body_case = MIM__PEER_MSG__BODY_CHAT;
    pm.chat = &cm;
    return chat_session_send_msg(cs, &pm);
}

/* ---- the receiver -----------------------------------------------------------------------------
 */

/* The policy: over max_size rejected; from a contact pinned before this run, whose key is not
 * in question, up to auto_accept accepted; the rest (someone new) waits. */
static mim_core_file_state decide(mim_core *c, const char *peer, const Mim__FileOffer *o,
                                  const char **why)
{
    peer_rec *r = core_peer_find(c, peer);
    mim_contact ct;
    int known = mim_store_contact_get(c->st, peer, &ct) == 0 && !ct.has_pending &&
                (r == NULL || !r->pinned_this_run);

    *why = NULL;
    if (o->size > (uint64_t)c->xf->max_size) {
        *why = "larger than the largest file accepted (--max-file-size)";
        return MIM_CORE_FILE_REJECTED;
    }
    if (c->xf->download_dir[0] == '\0') {
        *why = "no download directory";
        return MIM_CORE_FILE_REJECTED;
    }
    if (known && o->size <= (uint64_t)c->xf->auto_accept)
        return MIM_CORE_FILE_ACCEPTED;
    return MIM_CORE_FILE_OFFERED;
}

int core_transfer_offer_received(mim_core *c, const char *peer, const Mim__ChatMessage *m)
{
    const Mim__FileOffer *o = m->offer;
    mim_transfer t = {0};
    const char *why;
    core_xfers *xf = c->xf;
    xfer *x;
    int rc;

    if (o == NULL ||
        (m->type != MIM__CONTENT_TYPE__CONTENT_FILE && m->type != MIM__CONTENT_TYPE__CONTENT_IMAGE))
        return 0;
    snprintf(t.peer, sizeof(t.peer), "%s", peer);
    memcpy(t.id, m->id.data, 16);
    t.state = (int)decide(c, peer, o, &why);
    t.error = why;
    t.ts_ms = (int64_t)m->ts_ms;
    t.name = o->name;
    t.size = (int64_t)o->size;
    t.nfiles = o->file_count;
    t.folder = o->folder;
    t.media_type = o->media_type;
    t.width = o->width;
    t.height = o->height;
    t.chunk_size = o->chunk_size;
    memcpy(t.root, o->root.data, 32);
    t.hash_scheme = (int)o->hash_scheme; /* 0 or 1: mim_file_offer_check */
    t.stripe_chunks = o->stripe_chunks;
    if ((t.has_manifest_hash = o->folder))
        memcpy(t.manifest_hash, o->manifest_hash.data, 32);
    if ((rc = mim_store_transfer_add(c->st, &t)) != 0)
        return rc == MIM_EEXIST ? 1 : rc;
    if (xf->npending == xf->cap_pending) {
        void *p = core_grow(xf->pending, &xf->cap_pending, sizeof(*xf->pending));
        if (p == NULL)
            return MIM_ENOMEM;
        xf->pending = p;
    }
    if ((x = xfer_from_row(c, &t)) == NULL)
        return MIM_ENOMEM;
    x->tell_reject = t.state == MIM_CORE_FILE_REJECTED;
    xf->pending[xf->npending++] = x;
    return 1;
}

/* x (an offer received) to the front ends: file_offer, and file_failed when our policy
 * rejected it. */
static void report_offer(mim_core *c, xfer *x)
{
    mim_core_file_info f;
    xfer_info_buf b;

    xfer_info(c, x, &f, &b);
    if (c->ev.on_file_offer != NULL)
        c->ev.on_file_offer(c->ud, &f, x->state == MIM_CORE_FILE_ACCEPTED);
    if (x->state == MIM_CORE_FILE_REJECTED && c->ev.on_file_failed != NULL)
        c->ev.on_file_failed(c->ud, &f);
}

void core_transfer_offers_commit(mim_core *c, int committed)
{
    core_xfers *xf = c->xf;

    for (size_t i = 0; i < xf->npending; i++) {
        xfer *x = xf->pending[i];
        peer_rec *r = core_peer_find(c, x->peer);
        if (!committed) { /* the row is gone with the rollback: the resend brings it again */
            xfer_discard(c, x);
            continue;
        }
        /* A newcomer kept quiet (an offer counts as its writing, core_newcomer_quiet): its
         * offer is held like its messages, shown when the user turns to it; never accepted by
         * itself (it was pinned in this run); a rejection is still told to its sender. */
        x->held = r != NULL && core_newcomer_quiet(c, r);
        mim_log_info("%s offers %s (%lld bytes): %s%s", x->peer, x->name, (long long)x->size,
                     x->state == MIM_CORE_FILE_ACCEPTED   ? "accepted"
                     : x->state == MIM_CORE_FILE_REJECTED ? x->error
                                                          : "waits for a decision",
                     x->held ? " (a newcomer kept quiet: not shown yet)" : "");
        if (!x->held)
            report_offer(c, x);
        if (x->state != MIM_CORE_FILE_OFFERED)
            xfer_dial(c, x);
    }
    xf->npending = 0;
}

void core_transfer_show_held(mim_core *c, const char *name)
{
    for (xfer *x = c->xf != NULL ? c->xf->list : NULL; x != NULL; x = x->next)
        if (x->held && strcmp(x->peer, name) == 0) {
            x->held = 0;
            report_offer(c, x);
        }
}
