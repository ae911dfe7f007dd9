/* A file sender of the test's own (issue 15): a peer that logs in to the real mim-presence
 * (peer_env.h's pe_peer, a new identity), listens on 127.0.0.1 for the sessions a real `mim`
 * dials to it, and serves its offers over the bulk connections (docs/PROTOCOL.md 14.14.3) --
 * honestly, or lying as the test asks: what a hostile sender can do that mim itself never does
 * (a manifest that escapes, data out of range, a chunk that never matches).
 *
 * It runs its own libuv loop in a thread of its own (started by rs_start, ended by rs_stop), so a
 * test's waits on `mim --json` processes need not drive it; what it saw is read through the rs_*
 * functions (under its lock). Chat sessions dialled to it are served too: each chat message is
 * acknowledged and its text kept (rs_wait_text).
 *
 * The offers are sent by the test (rs_offer_msg, direct_peer.h) before the receiver asks. */
#ifndef MIM_TEST_RAW_SENDER_H
#define MIM_TEST_RAW_SENDER_H

#include "chat_session.h"
#include "peer.pb-c.h"
#include "peer_env.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define RS_MAX_OFFERS   16
#define RS_MAX_SESSIONS 32
#define RS_MAX_TEXTS    16
#define RS_CHUNK        (64u * 1024) /* the smallest chunk size the protocol allows */

/* How the sender answers a request for an offer's chunks. */
enum rs_lie {
    RS_HONEST = 0,   /* what it was asked for, as it hashed it */
    RS_BAD_CHUNK,    /* chunk 0 with one byte flipped, every time it is asked for */
    RS_OUT_OF_RANGE, /* one piece at the offset just past the last chunk, then the rest */
    RS_LONGER,       /* the last chunk with 1000 bytes more than the offer's size */
    RS_NOTHING,      /* no data at all, only "all sent" */
    RS_BAD_HASHES,   /* a hash list with one byte flipped: not the one the root commits to */
    RS_BAD_LAST,     /* the last chunk with one byte flipped, every time it is asked for */
    RS_FAKE_SHA,     /* a list (and root) whose last hash is another file's SHA-256: the chain's
                        final link claims a hash the stream does not have */
};

/* One entry of a folder's manifest, as the sender sends it (anything, for a hostile test). */
typedef struct rs_entry {
    const char *path;
    uint64_t size;
} rs_entry;

typedef struct rs_offer {
    /* the test's (borrowed: they outlive the sender) */
    const char *name;
    int folder;
    const rs_entry *entries; /* a folder's manifest (nentries), else NULL */
    size_t nentries;
    uint64_t size; /* the offer's size (a folder: the test may make it differ from the entries) */
    enum rs_lie lie;
    int scheme; /* FileOffer.hash_scheme: 0 BLAKE2b per chunk (the first version), 1 the chain */
    uint32_t stripe; /* the chain's FileOffer.stripe_chunks (0: one stripe) */
    /* made by rs_add_offer */
    uint8_t id[16], root[32], manifest_hash[32];
    char id_hex[33];
    uint8_t *stream; /* size bytes of a fixed pattern (rs_stream_byte) */
    uint8_t *hashes; /* nchunks * 32 */
    uint32_t nchunks;
    Mim__PeerMsg msg; /* the offer as a chat message (rs_offer_msg) */
    Mim__ChatMessage chat;
    Mim__FileOffer fo;
    /* what the receiver said (under the lock) */
    int requests, ended; /* FileRequests; a FileEnd from the receiver came */
    int end_code;
    char end_error[300];
} rs_offer;

typedef struct raw_sender {
    pe_peer peer; /* its login and identity */
    uv_loop_t loop;
    uv_tcp_t lis;
    uv_async_t stop;
    pthread_t thread;
    pthread_mutex_t lock;
    int port; /* where it listens */
    rs_offer offers[RS_MAX_OFFERS];
    size_t noffers;
    chat_session *sessions[RS_MAX_SESSIONS];
    uint8_t acks[64][16]; /* the chat messages of the frame being received */
    size_t nacks;
    char texts[RS_MAX_TEXTS][256];
    size_t ntexts;
    char err[256]; /* the thread's first complaint, for the test to show */
} raw_sender;

/* Logs in as `name` to the mim-presence at 127.0.0.1:server_port and starts serving. 0 or -1. */
int rs_start(raw_sender *rs, const char *name, int server_port);
/* Ends every session, logs out, stops the thread and frees everything. */
void rs_stop(raw_sender *rs);
/* Adds an offer (o copied in; before the receiver asks for it): its id, stream, hashes, root,
 * manifest hash (of the entries as they are) and the chat message that carries it. The pointer
 * to the sender's copy, or NULL (full). */
rs_offer *rs_add_offer(raw_sender *rs, const rs_offer *o);
/* Byte i of every offer's stream. */
uint8_t rs_stream_byte(uint64_t i);
/* Waits (bounded, timeout_ms) until the receiver sent a FileEnd for o: 1 (its code and error in
 * o->end_code, o->end_error, copied under the lock) or 0. */
int rs_wait_end(raw_sender *rs, rs_offer *o, int timeout_ms);
/* Waits (bounded) until a chat message with this text arrived: 1 or 0. */
int rs_wait_text(raw_sender *rs, const char *text, int timeout_ms);

#endif
