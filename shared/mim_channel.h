/* An authenticated, encrypted channel over one framed connection (mim_conn), for either role.
 *
 * This is the one place where mim runs the Noise XX handshake and the secretstream transport
 * (docs/PROTOCOL.md chapters 3-5) on a live connection: the peer's chat sessions (prologue
 * "mim/peer/v1", names in both payloads), the peer's presence client and the presence server's
 * sessions (prologue "mim/presence/v1", the server's name empty) all stand on it. What travels
 * inside the plaintexts (PeerBatch, PresenceBatch) is the owner's business.
 *
 *   initiator (dial)                                          responder (accept)
 *     -- msg 1: e -------------------------------------------------->
 *     <------------------------------------ msg 2: e, ee, s, es, P ---
 *     on_authenticated (refusal: close, message 3 is never sent)
 *     -- msg 3: s, se, P -------------------------------------------->
 *     -- our stream header ------------------>   on_authenticated (refusal: close, silent)
 *                                  <--------------------- its stream header --
 *     on_open (both streams up)                  on_open (both streams up)
 *     <========== plaintexts both ways: on_plaintext / mim_channel_send ===========>
 *
 * Checks, in order, on the payload of message 2 (initiator) or 3 (responder): the Noise message
 * decrypts (a reflected static key or a low-order point fails it); the HandshakePayload decodes
 * with the configured remote name mode (MIM_HS_NAME_*); its static_sig verifies over the static
 * key this same message delivered (mim_static_sig_verify over mim_noise_remote_static); then the
 * owner decides in on_authenticated. Any failure closes the connection without sending anything
 * more. The Noise state is wiped right after Split(), the receive key once the remote's
 * stream header is in (both freed then); the stream states are wiped when the connection
 * closes. A frame that fails to decrypt closes the
 * connection at once (no FINAL: nothing after it can be trusted).
 *
 * Limits: frames are capped at 1024 bytes (MIM_NOISE_MAX_MSG) and queued output at
 * MIM_CHANNEL_HANDSHAKE_QUEUED until the remote is authenticated, then at the configured
 * maxima. The handshake (TCP connect included, for the initiator) must reach on_open within
 * handshake_timeout_ms; a started frame must complete within frame_timeout_ms; a drain that the
 * other side does not finish is cut after drain_timeout_ms.
 *
 * Lifetime: the channel lives in its mim_conn's allocation (with the owner's data_size bytes, if
 * any: one allocation per connection) and owns, only while a deadline is pending (the
 * handshake, a started frame, a drain), a uv_timer_t: an idle open channel has no timer and never
 * wakes the loop. It closes exactly once; on_closed runs from the connection's close callback
 * (a running timer is being closed then and never fires again), and the channel is freed right
 * after it returns. Until then the pointer stays
 * valid, so every call below may be made from inside any callback (calls on a closing channel are
 * harmless no-ops or return MIM_ECLOSED). No callback ever runs from inside a call the owner made:
 * on_closed always comes later, from the loop. All functions and callbacks run on the loop's
 * thread. */
#ifndef MIM_CHANNEL_H
#define MIM_CHANNEL_H

#include "mim_addr.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_framer.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define MIM_CHANNEL_HANDSHAKE_TIMEOUT_MS 5000  /* connect + handshake, until on_open */
#define MIM_CHANNEL_FRAME_TIMEOUT_MS     10000 /* from a frame's first byte to its last */
#define MIM_CHANNEL_DRAIN_TIMEOUT_MS     5000  /* a closing peer that will not read is cut */
#define MIM_CHANNEL_HANDSHAKE_QUEUED     4096  /* output cap until the remote is authenticated */
#define MIM_CHANNEL_DEFAULT_QUEUED       (4u << 20)
/* The largest plaintext one transport frame can carry: 65535 - 17 = 65518 bytes. */
#define MIM_CHANNEL_MAX_PLAINTEXT (MIM_FRAME_MAX - MIM_STREAM_ABYTES)

typedef struct mim_channel mim_channel;

#define MIM_CHANNEL_DATA_ALIGN 8 /* of the owner's data_size bytes (see mim_channel_config) */

typedef struct mim_channel_events {
    /* The remote proved it holds the static key vouched for by identity_pk, and sent `name`
     * (checked with the configured remote name mode: "" for MIM_HS_NAME_EMPTY). Return 0 to go
     * on, or a negative value to refuse: the channel then closes with *reason (a static or
     * long-lived string) if set. The initiator is asked after message 2, BEFORE it sends
     * message 3, so a refused responder never learns who called; the responder after message 3,
     * before it sends anything on the transport. Required. */
    int (*on_authenticated)(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                            const char *name, const char **reason);
    /* Both streams are up: the remote accepted us too. May be NULL. */
    void (*on_open)(mim_channel *ch);
    /* One decrypted transport frame. final = 1 when it carried TAG_FINAL: the remote sends
     * nothing more, and after this callback returns the channel closes (cleanly: a FINAL of our
     * own, then drain) unless the owner already did. A FINAL may carry an empty plaintext
     * (len 0); an ordinary frame's plaintext is delivered as is, even empty: judging it is the
     * owner's job. p is wiped after the callback: copy what must be kept. Required. */
    void (*on_plaintext)(mim_channel *ch, const uint8_t *p, size_t len, int final);
    /* Exactly once, in the very loop turn the connection is closed (for any reason: nothing can
     * be sent or received any more), from the loop, never from inside a call the owner made.
     * The channel (and its data_size bytes) is freed right after this returns. Required. */
    void (*on_closed)(mim_channel *ch, const char *reason);
} mim_channel_events;

typedef struct mim_channel_config {
    uv_loop_t *loop;
    const mim_identity *identity;     /* ours; only read while dial/accept runs */
    const char *prologue;             /* MIM_NOISE_PROLOGUE_PEER or _PRESENCE; read at start only */
    const char *my_name;              /* the name in our payload; "" or NULL for the server */
    int remote_name_mode;             /* MIM_HS_NAME_EMPTY / _VALID / _ANY: the remote's name */
    size_t max_frame_after;           /* framer cap once the remote is authenticated (0: 65535) */
    size_t max_queued;                /* output cap then (0: MIM_CHANNEL_DEFAULT_QUEUED) */
    uint32_t handshake_timeout_ms;    /* 0: MIM_CHANNEL_HANDSHAKE_TIMEOUT_MS */
    uint32_t frame_timeout_ms;        /* 0: MIM_CHANNEL_FRAME_TIMEOUT_MS */
    uint32_t drain_timeout_ms;        /* 0: MIM_CHANNEL_DRAIN_TIMEOUT_MS */
    const mim_channel_events *events; /* borrowed; must outlive the channel */
    void *data;                       /* the owner's, see mim_channel_data() */
    /* > 0: the channel holds data_size zeroed bytes for its owner in its own allocation (its
     * lifetime: until on_closed has returned), aligned to MIM_CHANNEL_DATA_ALIGN (pointers,
     * 64-bit integers, doubles), and mim_channel_data() returns them (`data` is ignored). For an
     * owner that lives exactly as long as its channel. */
    size_t data_size;
    uint32_t my_features; /* HandshakePayload.features we send (MIM_FEATURE_*); 0: none */
} mim_channel_config;

/* Dials addr as the initiator: message 1 goes out as soon as the TCP connect completes; a
 * failed connect ends in on_closed. Returns 0 and *out (owned by the loop until on_closed),
 * MIM_EINVAL for a bad config (no events, an unencodable name), MIM_ENOMEM, or MIM_EIO when
 * the dial cannot even start; on an error no callback will run and *out is NULL. */
int mim_channel_dial(const mim_channel_config *cfg, const struct sockaddr *addr, mim_channel **out);
/* Accepts a pending connection on `listener` as the responder (call it from the listener's
 * connection callback). Returns as mim_channel_dial; on an error the pending connection has been
 * accepted and closed (never left pending: libuv would stop accepting). */
int mim_channel_accept(const mim_channel_config *cfg, uv_stream_t *listener, mim_channel **out);

/* Seals len bytes of plaintext (1..MIM_CHANNEL_MAX_PLAINTEXT; 0 only with final) into one
 * transport frame and queues it now. final = 1 seals it with TAG_FINAL: nothing may be sent
 * after it, and the channel drains and closes (a mim_channel_close() that follows only sets
 * the reason on_closed reports). Returns 0; MIM_ESTATE before our sending stream is up (it is
 * up when on_open runs; an initiator's, slightly earlier, right after message 3);
 * MIM_ECLOSED when closing or after a FINAL; MIM_EINVAL for a bad length; or MIM_EOVERFLOW /
 * MIM_ENOMEM / MIM_EIO, after which the channel is closing (a sealed frame that is not sent
 * would desynchronise the stream, so a failure past the checks always closes). */
int mim_channel_send(mim_channel *ch, const void *plaintext, size_t len, int final);
/* Ends the channel: when our sending stream is up, an empty FINAL frame, then a drain (what is
 * queued is delivered, the remote's EOF awaited, bounded by drain_timeout_ms); before that, the
 * connection simply closes. reason (may be NULL) is what on_closed reports, unless the
 * connection had already failed. Idempotent; safe from inside callbacks. */
void mim_channel_close(mim_channel *ch, const char *reason);
/* Closes the connection at once, without a FINAL and without flushing queued frames: for a
 * remote that broke the protocol. Idempotent. */
void mim_channel_abort(mim_channel *ch, const char *reason);

/* Raises or lowers the caps set by max_frame_after / max_queued (for example the presence
 * server keeps 1 KiB frames until the Login). Takes effect once the remote is authenticated
 * if called earlier. 0 keeps a value. */
void mim_channel_set_limits(mim_channel *ch, size_t max_frame, size_t max_queued);

/* 1 when both streams are up and the channel is not closing. */
int mim_channel_is_open(const mim_channel *ch);
/* 1 when mim_channel_send may be called now (our stream is up, no FINAL sent, not closing). */
int mim_channel_can_send(const mim_channel *ch);
int mim_channel_is_initiator(const mim_channel *ch);
/* 1 when a FINAL frame arrived: the remote closed cleanly (else a close was a loss). */
int mim_channel_got_final(const mim_channel *ch);
/* The authenticated remote: valid from on_authenticated on (the key and signature are NULL
 * before, and after mim_channel_drop_proof; the name is "" before). */
const uint8_t *mim_channel_remote_identity(const mim_channel *ch);
const uint8_t *mim_channel_remote_static_sig(const mim_channel *ch);
const char *mim_channel_remote_name(const mim_channel *ch);
/* The remote's HandshakePayload.features (MIM_FEATURE_*): 0 before on_authenticated, and from
 * older versions. */
uint32_t mim_channel_remote_features(const mim_channel *ch);
/* The handshake hash (h after message 3, MIM_HASH_LEN bytes): NULL until message 3 was read
 * (responder: already in on_authenticated) or written (initiator: from on_open, or right after
 * on_authenticated returns). The presence client signs it in its Login. */
const uint8_t *mim_channel_handshake_hash(const mim_channel *ch);
/* Forgets the remote's identity key, static signature and the handshake hash (all read NULL
 * after it; the name stays) once the owner no longer needs them: the presence server keeps
 * thousands of idle channels and needs these 128 bytes only to check the Login (the identity
 * key is copied into the peer's table entry). Idempotent. */
void mim_channel_drop_proof(mim_channel *ch);
/* The connection's id (for logs) and the remote address as accepted or dialled (a sockaddr_in
 * or sockaddr_in6, valid as long as the channel). */
uint64_t mim_channel_id(const mim_channel *ch);
const struct sockaddr *mim_channel_remote_addr(const mim_channel *ch);
/* The remote address as text ("1.2.3.4:5", "[::1]:5"), formatted into the caller's buf (the
 * channel keeps no string of it); returns buf, for use in a log call. */
const char *mim_channel_remote_str(const mim_channel *ch, char buf[MIM_ADDR_STRLEN]);
/* Bytes queued for writing and not yet written (0 once closed). */
size_t mim_channel_queued(const mim_channel *ch);
void *mim_channel_data(const mim_channel *ch);
void mim_channel_set_data(mim_channel *ch, void *data);

#endif
