/* A direct, end-to-end encrypted session between two peers.
 *
 * One TCP connection, dialled by one peer (the initiator) and accepted by the other's listener
 * (the responder). Noise XX with prologue "mim/peer/v1" (docs/PROTOCOL.md), each side's
 * HandshakePayload carrying its identity key, static-key signature and name; then one
 * secretstream per direction carrying PeerBatch plaintexts.
 *
 * Who is on the other end is decided before anything is said:
 *  - the initiator knows whom it dialled (name and the key the presence table gave); after
 *    message 2 it checks that the responder proves that name and key, then asks its owner
 *    (on_authenticated: the pins) -- all BEFORE sending message 3, so a wrong peer never learns
 *    who is calling;
 *  - the responder accepts nothing until message 3 verifies, then asks its owner the same.
 * A refusal closes the session; nothing else happens on it.
 *
 * The session does not store anything: on_message hands each chat message to the owner, which
 * stores it; at the end of each received frame on_batch_end lets the owner COMMIT once and then
 * acknowledge the whole batch with chat_session_send_ack (group commit: ack only after commit).
 * A decrypt failure or malformed message closes the session at once; the owner's outbox still
 * holds everything unacknowledged.
 *
 * Frames: 1 KiB cap during the handshake, 64 KiB after; the handshake must finish within 5 s;
 * a started frame within 10 s; an idle session is the owner's to close (chat_session_idle_ms).
 * Owned by libuv once started: freed after on_closed returns. All callbacks on the loop. */
#ifndef MIM_PEER_CHAT_SESSION_H
#define MIM_PEER_CHAT_SESSION_H

#include "mim_codec.h"
#include "mim_crypto.h"

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define CHAT_HANDSHAKE_TIMEOUT_MS 5000
#define CHAT_FRAME_TIMEOUT_MS     10000

typedef struct chat_session chat_session;

typedef struct chat_session_events {
    /* The remote proved `name` and `identity_pk` (and, for the initiator, they are the ones it
     * dialled). Return 0 to go on, or a negative value to refuse (the session closes with
     * `reason` if set: a string that outlives the call). For the initiator this runs before
     * message 3 is sent. */
    int (*on_authenticated)(void *ud, chat_session *cs, const char *name,
                            const uint8_t identity_pk[MIM_KEY_LEN], const char **reason);
    /* Both streams are up: messages can be sent. */
    void (*on_open)(void *ud, chat_session *cs);
    /* A validated chat message (its sender equals the authenticated name). */
    void (*on_message)(void *ud, chat_session *cs, const Mim__ChatMessage *m);
    /* The remote committed the message with this id. */
    void (*on_ack)(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
    /* The remote refused to store the message with this id (over its quota for us): it stays
     * ours to send again later. May be NULL. */
    void (*on_refused)(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
    /* The remote user closed the conversation (the session stays open). */
    void (*on_chat_close)(void *ud, chat_session *cs);
    /* The end of one received frame: commit what on_message stored, then ack it. Runs after
     * every frame whose batch was accepted, even if the owner closed the session meanwhile (no
     * more messages are delivered then, but what was stored must still be committed). A batch
     * with a malformed message, or a chat message whose sender is not the authenticated name,
     * is refused whole: nothing of it is delivered and the session closes. */
    void (*on_batch_end)(void *ud, chat_session *cs);
    /* Exactly once, when the connection is gone; cs is freed right after. */
    void (*on_closed)(void *ud, chat_session *cs, const char *reason);
    /* The remote user has seen our message with this id (a Receipt). May be NULL. */
    void (*on_receipt)(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
    /* The remote user is typing (1) or stopped (0) (a Typing). May be NULL. */
    void (*on_typing)(void *ud, chat_session *cs, int typing);
    /* Issue 15: on a bulk connection (chat_session_is_bulk), each frame's plaintext (len > 0),
     * undecoded: never a PeerBatch there. NULL: a bulk connection is refused (closed). */
    void (*on_bulk)(void *ud, chat_session *cs, const uint8_t *p, size_t len);
    /* Issue 16: a BroadcastAck (checked by the codec). May be NULL. */
    void (*on_broadcast_ack)(void *ud, chat_session *cs, const Mim__BroadcastAck *a);
    /* A Pong (to our keepalive's Ping or to chat_session_send_ping's): the remote has read
     * every frame we sent before that Ping. May be NULL. */
    void (*on_pong)(void *ud, chat_session *cs, uint64_t nonce);
} chat_session_events;

typedef struct chat_session_config {
    uv_loop_t *loop;
    const mim_identity *id; /* borrowed, outlives the session */
    const char *my_name;    /* copied */
    const chat_session_events *ev;
    void *ud;
    uint32_t features; /* MIM_FEATURE_* told to the remote in our handshake payload */
} chat_session_config;

/* Dials `addr` expecting `name` with `identity_pk` (from the presence table). */
int chat_session_dial(const chat_session_config *cfg, const struct sockaddr *addr, const char *name,
                      const uint8_t identity_pk[MIM_KEY_LEN], chat_session **out);
/* Accepts a pending connection on `listener` as responder. */
int chat_session_accept(const chat_session_config *cfg, uv_stream_t *listener, chat_session **out);

/* Queue messages (coalesced into one frame per loop turn, as the server does). 0, or
 * MIM_ESTATE before on_open / after close, MIM_EINVAL for a text that is not valid chat text
 * (mim_chat_text_valid: 1..4096 bytes of UTF-8, no control characters but newline and tab),
 * MIM_EOVERFLOW when the output cap is reached (the session is then closed). Acks are split
 * into Ack messages of at most MIM_ACK_MAX_IDS ids; n = 0 sends nothing. */
int chat_session_send_chat(chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN], uint64_t ts_ms,
                           const char *text, size_t text_len);
/* Any peer message, checked as the remote will check it (mim_peer_msg_validate; a chat
 * message's sender must be my_name): for content this version does not send by itself (images,
 * files) and for tests. 0, MIM_ESTATE, MIM_EINVAL, or as chat_session_send_chat. */
int chat_session_send_msg(chat_session *cs, const Mim__PeerMsg *m);
int chat_session_send_ack(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n);
/* The same for ids NOT stored (Ack.refused: the sender is over our quota), sent in their own
 * Ack messages so that an old peer, which requires ids, closes the session (and resends later)
 * rather than mistaking them for acks. */
int chat_session_send_refused(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n);
int chat_session_send_close(chat_session *cs);
/* Read receipts for n ids (Receipt messages of at most MIM_RECEIPT_MAX_IDS ids), and typing on
 * or off: only to a remote that has MIM_FEATURE_RECEIPTS (chat_session_peer_features), else
 * MIM_ESTATE and nothing is sent (an older peer would close the session). As the acks
 * otherwise. */
int chat_session_send_receipt(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n);
int chat_session_send_typing(chat_session *cs, int typing);
/* The remote's HandshakePayload.features (valid from on_authenticated on; 0 before). */
uint32_t chat_session_peer_features(const chat_session *cs);

/* From inside on_authenticated, before refusing (returning -1) a session the remote dialled:
 * the refusal is told instead of silent. The handshake finishes, a ChatClose with `reason` (a
 * MIM__CLOSE_REASON__*) is sent, and the session closes; nothing the remote sends reaches the
 * owner, which gets no on_open (only on_closed). Ignored for a session we dialled. */
void chat_session_refuse_with(chat_session *cs, int reason);
/* The reason (MIM__CLOSE_REASON__*) of the last ChatClose received; 0 (CLOSE_USER) if none: for
 * on_chat_close. */
int chat_session_close_reason(const chat_session *cs);
/* A keepalive; the remote answers with a Pong carrying the same nonce (this session answers
 * the remote's pings by itself). Pings and Pongs do not count as activity for
 * chat_session_idle_ms; any frame received counts for chat_session_silent_ms. */
int chat_session_send_ping(chat_session *cs, uint64_t nonce);
/* The keepalive, called now and then (at least every interval_ms / 2) by the owner: after
 * interval_ms without a frame from the remote, one Ping; after 2 * interval_ms, the remote is
 * taken for gone and the session is aborted (no FINAL, no drain: on_closed follows at once,
 * and the owner's outbox gets back what was not acknowledged). Returns 1 when it aborted the
 * session. interval_ms 0: nothing. */
int chat_session_keepalive(chat_session *cs, uint32_t interval_ms);
/* Ends the session: what this turn queued is sent first, then a FINAL frame if open, then
 * drain and close. Idempotent. */
void chat_session_close(chat_session *cs, const char *reason);

int chat_session_is_open(const chat_session *cs);
int chat_session_is_initiator(const chat_session *cs);
/* The authenticated remote (valid from on_authenticated on). */
const char *chat_session_peer_name(const chat_session *cs);
/* The remote's socket address (NULL once the connection is closed). */
const struct sockaddr *chat_session_remote_addr(const chat_session *cs);
const uint8_t *chat_session_peer_key(const chat_session *cs);
/* Milliseconds since a chat message, ack or close was sent or received (keepalives excluded):
 * the owner closes an idle session. */
uint64_t chat_session_idle_ms(const chat_session *cs);
/* Milliseconds since the last frame from the remote (anything, keepalives included). */
uint64_t chat_session_silent_ms(const chat_session *cs);
/* The owner's pointer, for its own bookkeeping. */
void chat_session_set_data(chat_session *cs, void *data);
void *chat_session_data(const chat_session *cs);

/* ---- bulk connections (issue 15) ----
 * A session whose dialler set MIM_FEATURE_BULK in its features (the config's, for a dial) is a
 * bulk connection: the same handshake and checks, then its frames carry the owner's bytes
 * (on_bulk, chat_session_send_bulk; one BulkMsg each) instead of PeerBatches. */
int chat_session_is_bulk(const chat_session *cs);
/* One frame of len bytes (1..MIM_CHANNEL_MAX_PLAINTEXT), sent now: 0, MIM_ESTATE (not open, or
 * not a bulk connection), or mim_channel_send's error (the session then closes). */
int chat_session_send_bulk(chat_session *cs, const void *p, size_t len);
/* Bytes queued for writing (the sender's window). */
size_t chat_session_queued(const chat_session *cs);

#endif
