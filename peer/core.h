/* The peer core: everything `mim` does, without a user interface.
 *
 * It owns the identity, the store, the connection to mim-presence (presence_client), a TCP
 * listener for direct chat sessions, and at most one kept chat session per peer. A front end
 * (json_api.c now, a terminal interface later) calls the command functions below and gets
 * everything that happens through mim_core_events, one callback per event kind of
 * docs/JSON-API.md.
 *
 * Messages: mim_core_send stores the message first (QUEUED, in the outbox), so it is safe from
 * then on; it is written to a session when one is open (SENT), and marked DELIVERED on the ack,
 * which the receiver sends only after its COMMIT. The outbox of a peer goes out in seq order
 * whenever a session with it opens (we dial on demand when the presence table says where it
 * is). A lost session puts its SENT messages back to QUEUED; so does start-up.
 *
 * Trust: the presence table is advisory. Every authenticated session is checked against the
 * pins (accept-new); a changed key refuses the session, reports on_key_changed and holds that
 * contact's outbox (no dialling, no sending) until mim_core_trust.
 *
 * All callbacks run on the loop thread. Strings passed to callbacks are valid during the call
 * only. */
#ifndef MIM_PEER_CORE_H
#define MIM_PEER_CORE_H

#include "mim_crypto.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define MIM_CORE_IDLE_CLOSE_MS (5 * 60 * 1000) /* an idle session closes; reopens on demand */
#define MIM_CORE_TICK_MS       5000            /* idle check, redial of unreachable outboxes */
/* Chat sessions: a Ping after 30 s of silence, taken for dead after 60 (--keepalive). */
#define MIM_CORE_KEEPALIVE_MS     30000
#define MIM_CORE_KEEPALIVE_MIN_MS 200
#define MIM_CORE_DISCOVER_MS      3000 /* one LAN discovery attempt */
#define MIM_CORE_FLUSH_WINDOW     128  /* messages in flight (SENT, unacked) per peer */
#define MIM_CORE_HISTORY_MAX      1000
#define MIM_CORE_DEFAULT_PORT     4242
#define MIM_CORE_ID_HEX_LEN       33 /* 32 hex digits + NUL */

typedef struct mim_core mim_core;

/* One entry of the online table, as reported. */
typedef struct mim_core_peer_info {
    const char *name;
    const char *addr; /* numeric, no port */
    uint16_t port;
    const char *fingerprint;
    const char *status; /* "available", "away", "busy" */
    const char *text;
} mim_core_peer_info;

/* One message of the history. */
typedef struct mim_core_history_item {
    const char *id; /* hex */
    int64_t ts_ms;
    const char *from, *to;
    const char *text;  /* text, or the description of what this version cannot show */
    const char *state; /* "queued", "sent", "delivered", "received" */
    const char *type;  /* "text", "image", "file", "type-N" (content.h) */
} mim_core_history_item;

typedef struct mim_core_events {
    void (*on_ready)(void *ud, const char *name, const char *fingerprint, uint16_t listen_port);
    /* state: "connected", "disconnected", "reconnecting"; server "host:port". */
    void (*on_presence)(void *ud, const char *state, const char *server);
    /* verdict: "new", "match", "changed" (old_fingerprint set then, else NULL). */
    void (*on_server_key)(void *ud, const char *fingerprint, const char *verdict,
                          const char *old_fingerprint);
    void (*on_online)(void *ud, const mim_core_peer_info *p);
    void (*on_offline)(void *ud, const char *name);
    void (*on_status)(void *ud, const char *name, const char *state, const char *text);
    void (*on_message)(void *ud, const char *from, const char *id, int64_t ts_ms, const char *text);
    void (*on_queued)(void *ud, const char *to, const char *id);
    void (*on_sent)(void *ud, const char *to, const char *id);
    void (*on_delivered)(void *ud, const char *to, const char *id);
    void (*on_key_changed)(void *ud, const char *name, const char *old_fingerprint,
                           const char *new_fingerprint);
    void (*on_chat_opened)(void *ud, const char *with);
    void (*on_chat_closed)(void *ud, const char *with);
    /* A problem not caused by a command (code as in docs/JSON-API.md). fatal = 1: the core
     * stops by itself (on_stopped follows with exit_code 1). */
    void (*on_error)(void *ud, const char *code, const char *message, int fatal);
    /* mim_core_quit (or a fatal error) finished: every handle is closed. The loop can end. */
    void (*on_stopped)(void *ud, int exit_code);
    /* A message this version cannot show (an image, a file, a later version's content type:
     * type as content_type_name), stored and acknowledged like text; description is one line
     * saying what it was (content_describe). May be NULL: on_message then gets the
     * description as its text. */
    void (*on_unsupported)(void *ud, const char *from, const char *id, int64_t ts_ms,
                           const char *type, const char *description);
    /* A message accepted inside a send batch was not stored after all: the batch's commit
     * failed (mim_core_batch_end). Nothing of it was sent; it is not in the outbox. */
    void (*on_send_failed)(void *ud, const char *to, const char *id);
} mim_core_events;

typedef struct mim_core_config {
    uv_loop_t *loop;
    const char *name;        /* valid name (mim_name_valid) */
    const char *data_dir;    /* created 0700 if missing */
    const char *server;      /* "HOST[:PORT]" numeric, or NULL: LAN discovery */
    uint16_t listen_port;    /* 0: any free port */
    uint16_t advertise_port; /* the port told to the presence server; 0: the listen port */
    uint32_t keepalive_ms;   /* chat-session keepalive (chat_session_keepalive); 0: default */
    uint16_t discovery_port; /* 0: MIM_CORE_DEFAULT_PORT */
} mim_core_config;

/* Loads or creates the identity, opens the store, requeues SENT messages, starts listening,
 * reports on_ready (from inside this call), and starts reaching the presence server. 0, or a
 * negative MIM_E* code (logged; nothing is left running, *out is NULL). */
int mim_core_start(mim_core **out, const mim_core_config *cfg, const mim_core_events *ev, void *ud);
/* Stops everything (logout, close the sessions and the listener); on_stopped(exit_code) runs
 * from the loop when the last handle is closed, then the core is freed. Idempotent. */
void mim_core_quit(mim_core *c, int exit_code);

/* Command results: 0, or one of these (the front end turns them into error codes). */
enum {
    MIM_CORE_EUNKNOWN_PEER = -100, /* no contact and not online */
    MIM_CORE_ETEXT = -101,         /* not valid chat text */
    MIM_CORE_EBAD_NAME = -102,     /* not a valid name */
    MIM_CORE_ESTORE = -103,        /* the store failed */
    MIM_CORE_EBAD_VALUE = -104,    /* a value out of range */
    MIM_CORE_ENOTHING = -105,      /* nothing to do (trust without a pending key) */
    MIM_CORE_EFINGERPRINT = -106,  /* trust: the pending key has another fingerprint */
};

/* Stores a message to `to` with the caller's random id (16 bytes), then on_queued (no open
 * session yet: it will go out by itself) and/or on_sent (written to the session). To a name
 * we have never heard of (no contact, not online): MIM_CORE_EUNKNOWN_PEER. */
int mim_core_send(mim_core *c, const char *to, const char *text, const uint8_t id[16]);
/* A send batch: the messages of the mim_core_send calls between begin and end are stored in one
 * transaction, one commit for all (the JSON API wraps the send commands of one read in a batch).
 * Inside a batch, mim_core_send checks the message and inserts it, and returns 0 or an error at
 * once; its on_queued or on_sent comes from mim_core_batch_end, after the commit, or
 * on_send_failed if that commit fails. Call nothing but mim_core_send in between (no loop turn
 * either). Not nested. */
void mim_core_batch_begin(mim_core *c);
void mim_core_batch_end(mim_core *c);
/* Calls cb for every peer online now (ourselves excluded). */
void mim_core_who(mim_core *c, void (*cb)(void *arg, const mim_core_peer_info *p), void *arg);
/* state: "available", "away" or "busy"; text may be NULL. */
int mim_core_status(mim_core *c, const char *state, const char *text);
/* The last `limit` messages with `with`, oldest first. */
int mim_core_history(mim_core *c, const char *with, size_t limit,
                     void (*cb)(void *arg, const mim_core_history_item *m), void *arg);
/* The 60-digit safety number with `with` (its pinned key, else its online key). */
int mim_core_verify(mim_core *c, const char *with, char out[MIM_SAFETY_NUMBER_LEN]);
/* Accepts `with`'s pending key; its held outbox goes out. fingerprint (may be NULL): the
 * pending key must have this fingerprint, else MIM_CORE_EFINGERPRINT and nothing is trusted. */
int mim_core_trust(mim_core *c, const char *with, const char *fingerprint);
int mim_core_verified(mim_core *c, const char *with, int value);
/* Accepts the presence server's changed key (on_server_key said "changed"): it becomes the pin,
 * and later connections to it no longer warn. fingerprint (may be NULL) as for mim_core_trust.
 * MIM_CORE_ENOTHING when no changed key is pending. */
int mim_core_trust_server(mim_core *c, const char *fingerprint);
/* Tells `with` we closed the conversation (if a session is open). */
int mim_core_close_chat(mim_core *c, const char *with);

const char *mim_core_name(const mim_core *c);
/* A message id as 32 lowercase hex digits and a NUL. */
void mim_core_id_hex(const uint8_t id[16], char out[MIM_CORE_ID_HEX_LEN]);

/* ---- contacts, logout and login (the terminal interface) --------------------------------------
 */

/* A contact we have dealt with, as mim_core_contacts lists it. */
typedef struct mim_core_contact_info {
    const char *name;
    const char *fingerprint; /* of the pinned key; "" for a peer with only queued messages */
    int verified;            /* the user compared safety numbers (mim_core_verified) */
    int key_pending;         /* a changed key waits for mim_core_trust */
    const char *pending_fingerprint; /* of that changed key; "" when none */
} mim_core_contact_info;

/* Calls cb for every pinned contact, by name, then for every peer that has queued messages and
 * no pin yet; online or not. 0, or MIM_CORE_ESTORE. */
int mim_core_contacts(mim_core *c, void (*cb)(void *arg, const mim_core_contact_info *ci),
                      void *arg);
/* Leaves the presence server (a Logout: peers see us go) and stays away until mim_core_login.
 * Reports on_offline for every peer that was online and on_presence("disconnected") from
 * inside the call. Open chat sessions, history and mim_core_send go on (messages to peers with
 * no open session stay queued: the table is empty). 0, or MIM_CORE_ENOTHING when already
 * logged out or quitting. */
int mim_core_logout(mim_core *c);
/* Comes back after mim_core_logout: the server (or LAN discovery) is reached as at start-up.
 * 0, or MIM_CORE_ENOTHING when not logged out. */
int mim_core_login(mim_core *c);

#endif
