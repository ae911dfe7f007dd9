/* Inside the file-transfer engine (issue 15): the state core_transfer.c (commands, offers, the
 * store, events) and core_transfer_bulk.c (the bulk connection: sending and receiving the
 * bytes) share. Included by those two files only.
 *
 * Every transfer in the store that is not finished (DONE, REJECTED, FAILED) has an xfer here,
 * loaded at start and made by an offer. Each side runs at most one bulk connection per
 * transfer: the receiver dials it (it knows what it still needs) once the offer is accepted,
 * whenever the sender is online, until the transfer ends. */
#ifndef MIM_PEER_CORE_TRANSFER_PRIV_H
#define MIM_PEER_CORE_TRANSFER_PRIV_H

#include "core_priv.h"
#include "file_sink.h"
#include "file_source.h"

#define XFER_WINDOW         (2u << 20) /* bytes a sender keeps queued on its bulk connection */
#define XFER_CHUNK_TRIES    3          /* a chunk failing verification this often: FAILED */
#define XFER_PROGRESS_MS    250        /* progress events at most 4/s per transfer */
#define XFER_SAVE_MS        1000       /* the verified bitmap stored at most once a second */
#define XFER_PAUSE_RETRY_MS 10000      /* a paused transfer (disk full) tries again */
#define XFER_STALL_MS       60000 /* a receiver's bulk connection silent this long: redialled */

typedef struct xfer_sha xfer_sha;   /* core_transfer_sha.c */
typedef struct xfer_sync xfer_sync; /* core_transfer_save.c */

typedef struct xfer {
    struct xfer *next;
    char peer[MIM_NAME_MAX_BYTES + 1];
    mim_msg_id id;
    int outgoing;
    mim_core_file_state state;
    int64_t ts_ms;
    char *name, *path, *unique, *media_type; /* owned, never NULL */
    int64_t size, bytes;
    uint32_t nfiles, width, height, chunk_size, nchunks;
    int folder;
    uint8_t root[MIM_FILE_HASH_LEN], manifest_hash[MIM_FILE_HASH_LEN];
    int hash_scheme;        /* FileOffer.hash_scheme: how hashes and root are checked */
    uint32_t stripe_chunks; /* FileOffer.stripe_chunks: the chain's stripes (0: one) */
    uint8_t *hashes;        /* nchunks * 32 bytes, owned; NULL until known (receiver: fetched) */
    uint8_t *verified;      /* receiver: bitmap of (nchunks + 7) / 8 bytes, owned */
    uint8_t *durable;       /* receiver: the part of verified known to be on disk (synced), the same
                               size, owned: what the store holds (core_transfer_save.c) */
    int64_t durable_bytes;  /* receiver: the bytes of those chunks */
    char error[MIM_FILE_ERROR_MAX + 1];
    char sha256[MIM_SHA256_HEX_LEN];
    int dirty;         /* sender: bytes changed since the last store update */
    uint64_t saved_at; /* uv_now of the last store update */
    int tell_reject;   /* receiver: the sender still has to hear of our reject */
    int held; /* receiver: an offer from a newcomer kept quiet, not reported until the user turns
                 to it (core_transfer_show_held) */
    uint64_t retry_at; /* paused: uv_now when to try again */
    /* the bulk connection, and what runs over it */
    chat_session *bulk;
    file_source *src;     /* sender */
    file_sink *sink;      /* receiver */
    file_layout manifest; /* receiver: the folder's manifest as fetched (or the one file) */
    uint32_t hashes_got;  /* receiver: hashes fetched on this connection */
    uint8_t *buf;         /* a chunk: the sender's read buffer, the receiver's assembly */
    uint32_t buf_chunk;   /* the chunk in buf (sender: read; receiver: being assembled) */
    size_t buf_len;       /* bytes in buf */
    /* sender: the ranges requested, and where in them it is */
    Mim__FileRange *ranges;
    size_t nranges, range_i;
    uint32_t next_chunk; /* the next chunk to send (inside ranges[range_i]) */
    size_t piece_off;    /* inside the chunk in buf */
    int streaming;       /* sender: ranges left to send */
    int64_t sent;        /* sender: bytes handed to the connection on it */
    uint8_t *tries;      /* receiver: failures per chunk (nchunks bytes) */
    xfer_sha *sha;       /* receiver: the worker writing and hashing chunks, or NULL */
    xfer_sync *sync;     /* receiver: the save whose fsync runs on a worker, or NULL */
    int end_pending;     /* receiver: the sender's end came while chunks were being written */
    int64_t pass_start;  /* receiver: bytes verified when the last request went */
    int idle_passes;     /* receiver: requests in a row that brought nothing new */
    uint64_t progress_at, rate_at;
    int64_t rate_bytes;
    double rate;
} xfer;

typedef struct offer_job offer_job; /* core_transfer_offer.c: a send_file being hashed */

typedef struct core_xfers {
    xfer *list;
    char download_dir[4096];
    int64_t auto_accept, max_size;
    uv_check_t pump; /* runs the senders while any streams */
    int pumping;
    mim_buf out;    /* a packed BulkMsg */
    xfer **pending; /* offers stored in the frame being received: reported after its commit */
    size_t npending, cap_pending;
    int exit_after;    /* test hook (MIM_TEST_EXIT_AFTER_CHUNKS): the receiver stores what it
                          verified and _exits (as a SIGKILL would stop it) after this many chunks
                          in this run; 0 none */
    offer_job *offers; /* send_files whose file a worker reads (hashes) */
    int corrupt_chunk; /* test hook (MIM_TEST_CORRUPT_CHUNK): the sender flips a byte of this
                          chunk the first time it sends it; -1 none */
} core_xfers;

/* ---- core_transfer.c ---- */
/* The offer's hash of bytes (root, manifest_hash) under FileOffer.hash_scheme: SHA-256 for the
 * chain (1), else BLAKE2b-256 (the first version's). */
void xfer_scheme_hash(int hash_scheme, uint8_t out[MIM_FILE_HASH_LEN], const void *p, size_t n);
/* The manifest_hash of layout l (FileManifest's encoding, each entry in order, under the
 * scheme): both the sender's offer and the receiver's check. 0, or MIM_ENOMEM (out written, but
 * over a part). Thread-safe (the offer's runs on a worker). */
int xfer_manifest_hash(int hash_scheme, const file_layout *l, uint8_t out[MIM_FILE_HASH_LEN]);
typedef struct xfer_info_buf {
    char name[256];
    char path[4096 + 256];
} xfer_info_buf;
/* x as the front ends see it (strings in x and b). */
void xfer_info(mim_core *c, const xfer *x, mim_core_file_info *f, xfer_info_buf *b);
/* Takes x out of the list and frees it (its connection, source and sink closed first). */
void xfer_discard(mim_core *c, xfer *x);
xfer *xfer_from_row(mim_core *c, const mim_transfer *t);
xfer *xfer_find(mim_core *c, const char *peer, const uint8_t id[MIM_MSG_ID_LEN], int outgoing);
xfer *xfer_of_bulk(mim_core *c, chat_session *cs);
/* Writes x's mutable state to the store (now): a receiver's progress as far as it is durable
 * (x->durable, x->durable_bytes), never chunks verified but perhaps not on disk yet. */
void xfer_save(mim_core *c, xfer *x);
/* The same for progress alone (a sender's bytes, a receiver's synced bitmap), in a relaxed
 * transaction (mim_store_begin_relaxed: the WAL is written, not synced, so the loop does not wait
 * on a disk busy with the file's own writeback; a power cut may drop it, and the transfer then
 * fetches those chunks again). */
void xfer_save_progress(mim_core *c, xfer *x);
/* x moves to state (error: one line, or NULL): stored; the event that goes with it. */
void xfer_set_state(mim_core *c, xfer *x, mim_core_file_state state, const char *error);
void xfer_progress(mim_core *c, xfer *x, int force);
/* Ends x's bulk connection and what it held open (the source, the sink). */
void xfer_drop_bulk(mim_core *c, xfer *x, const char *reason);

/* ---- core_transfer_bulk.c ---- */
/* The receiver dials x's sender when it is online (x accepted, or a reject to tell). */
void xfer_dial(mim_core *c, xfer *x);
/* One BulkMsg on x's connection: 0 or a code (the connection is then closing). */
int xfer_send_msg(mim_core *c, xfer *x, const Mim__BulkMsg *m);
int xfer_send_end(mim_core *c, xfer *x, Mim__FileEndCode code, const char *error,
                  const uint8_t *sha);
/* The receiver's bulk connection opened: the request; and what arrives on it. */
void xfer_receiver_open(mim_core *c, xfer *x);
void xfer_receiver_msg(mim_core *c, xfer *x, const Mim__BulkMsg *m);
/* The receiver gives up on x (why: one line): the sender is told, the .part removed. */
void xfer_receiver_fail(mim_core *c, xfer *x, const char *why);

/* Chunk k (len bytes, verified) was written (rc 0) or not (a code): recorded as verified, or
 * the transfer pauses (disk full) or fails. Ignored once x is not running or its sink is gone
 * (the chunk is fetched again). */
void xfer_receiver_written(mim_core *c, xfer *x, uint32_t k, size_t len, int rc);
/* No write is pending any more: a sender's end that waited for them is handled now. */
void xfer_receiver_drained(mim_core *c, xfer *x);

/* The receiver's SHA-256 is known (rc 0, hex) or failed (rc a code): renames the .part and
 * tells the sender, when x's connection and sink are still there (else the next pass ends). */
void xfer_receiver_hashed(mim_core *c, xfer *x, int rc, const char hex[MIM_SHA256_HEX_LEN]);

/* A save's fsync failed (rc): a full disk pauses x, as a failed write does; otherwise what was
 * verified stays unsaved until a later save syncs it. */
void xfer_receiver_sync_failed(mim_core *c, xfer *x, int rc);

/* ---- core_transfer_save.c: the receiver's verified chunks into the store once durable ---- */
/* The periodic save: what is verified now is synced on a worker, then stored (from a later
 * loop turn); a disk full pauses x. While a save runs, one asked for runs when it ends. */
void xfer_save_verified(mim_core *c, xfer *x);
/* The same on the loop, blocking until synced (the connection closing, the core being freed,
 * the exit test hook: once each, not once a second): everything verified, stored if synced. */
void xfer_save_verified_now(mim_core *c, xfer *x);
/* x's .part is new (starting over) or finished: verified, as it stands, is durable (zero, or
 * all synced by file_sink_finish). A save running for the old state is let go. */
void xfer_save_reset(xfer *x);
/* x lets go of its save (a running one finishes and frees itself without storing anything). */
void xfer_save_drop(xfer *x);

/* ---- core_transfer_offer.c ---- */
/* The core stops (gone 0) or is being freed (gone 1): the offers being hashed stop early and
 * are dropped; once gone, their jobs only free themselves when they end. */
void core_transfer_offers_stop(mim_core *c, int gone);

/* ---- core_transfer_sha.c: the receiver's writes and whole-file SHA-256, off the loop ---- */
/* 1 when x's last chunk hash is the whole stream's SHA-256: the chain in one stripe. */
int xfer_chain_is_sha(const xfer *x);
/* That hash (x->hashes known, or no chunk at all): the last link, or the empty stream's. */
void xfer_chain_sha(const xfer *x, uint8_t out[MIM_HASH_LEN]);
/* Chunk k (len bytes, in x->buf) is verified: 1 when a worker takes it (x->buf is then the
 * worker's and x gets another buffer; xfer_receiver_written follows from a later loop turn),
 * 0 when the loop must write it (a folder; the worker too far behind; out of memory). */
int xfer_sha_write(mim_core *c, xfer *x, uint32_t k, size_t len);
/* Chunk k (len bytes, in x->buf) is verified and written by the loop: hashed on a worker when
 * it is the next in stream order (x->buf is then the hasher's and x gets another buffer). */
void xfer_sha_chunk(mim_core *c, xfer *x, uint32_t k, size_t len);
/* 1 while chunks handed to xfer_sha_write are not yet reported written. */
int xfer_sha_writing(const xfer *x);
/* Every chunk is verified: xfer_receiver_hashed follows, now or from a later loop turn (a job
 * may read the stream back: x->sink is NULL meanwhile). 0 or MIM_ENOMEM. */
int xfer_sha_finish(mim_core *c, xfer *x);
/* x lets go of its worker (a running job finishes and frees it; chunks not yet reported
 * written are not recorded as verified: they are fetched again). */
void xfer_sha_drop(xfer *x);

#endif
