/* The peer core: everything `mim` does, without a user interface.
 *
 * It owns the identity, the store, the connection to mim-presence (presence_client), a TCP
 * listener for direct chat sessions, and at most one kept chat session per peer. A front end
 * (json_api.c, the terminal interface in tui/) calls the command functions below and gets
 * everything that happens through mim_core_events, one callback per event kind. Its insides
 * are cut by job along a message's path (core_priv.h lists the files).
 *
 * Messages: mim_core_send stores the message first (QUEUED, in the outbox), so it is safe from
 * then on; it is written to a session when one is open (SENT), and marked DELIVERED on the ack,
 * which the receiver sends only after its COMMIT. To a peer that is not online, while the
 * presence server has a mailbox (issue 14), it is also sealed to the peer's pinned key and
 * deposited there (DEPOSITED, on_deposited); the peer fetches it at its next login and its
 * sealed receipt makes it DELIVERED. The outbox of a peer goes out in seq order
 * whenever a session with it opens (we dial on demand when the presence table says where it
 * is). A lost session puts its SENT messages back to QUEUED; so does start-up.
 *
 * Trust: the presence table is advisory. Every authenticated session is checked against the
 * pins (accept-new); a changed key refuses the session, reports on_key_changed and holds that
 * contact's outbox (no dialling, no sending) until mim_core_trust.
 *
 * The API is typed: states, verdicts and error codes are enums, message ids are binary
 * (mim_msg_id). The words of the JSON API (docs/JSON-API.md) belong to json_api.c, the texts of
 * the terminal interface to peer/tui/; the core gives them fingerprints, safety numbers and the
 * descriptions of content it cannot show as text of its own. No front end needs mim_crypto.h.
 *
 * All callbacks run on the loop thread. Strings and ids passed to callbacks are valid during
 * the call only. */
#ifndef MIM_PEER_CORE_H
#define MIM_PEER_CORE_H

#include "mim_limits.h"

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
/* What one sender may make us store per 24 hours (issue 12): never reached by chat. */
#define MIM_CORE_QUOTA_MESSAGES 10000
#define MIM_CORE_QUOTA_BYTES    (100ll * 1024 * 1024)
/* After a peer refused our messages (its quota): a single message is tried again this often. */
#define MIM_CORE_QUOTA_RETRY_MS    (10 * 60 * 1000)
#define MIM_CORE_HISTORY_MAX       1000
#define MIM_CORE_DEFAULT_PORT      4242
#define MIM_CORE_FINGERPRINT_LEN   30   /* a fingerprint as text: "xxxx-xxxx-...-xxxx" + NUL */
#define MIM_CORE_SAFETY_NUMBER_LEN 72   /* a safety number: 60 digits + 11 spaces + NUL */
#define MIM_CORE_TEXT_MAX          4096 /* bytes of UTF-8 in a chat text (MIM_CORE_ETOO_LONG) */
#define MIM_CORE_STATUS_TEXT_MAX   128  /* bytes of UTF-8 in a status text */

typedef struct mim_core mim_core;

/* A chat message's id: 16 random bytes, made by the core (mim_core_send), unique per message;
 * acks, the store and every event about the message carry it. */
typedef struct mim_msg_id {
    uint8_t bytes[16];
} mim_msg_id;

#define MIM_MSG_ID_HEX_LEN 33 /* 32 hex digits + NUL */

/* id as 32 lowercase hex digits and a NUL (how the front ends show and key ids). */
void mim_msg_id_hex(const mim_msg_id *id, char out[MIM_MSG_ID_HEX_LEN]);
/* The id that hex (32 hex digits, either case, nothing after) writes: 0 and *out, or -1
 * (msg_id.c: what a user or a script gives back, e.g. to accept a file). */
int mim_msg_id_parse(const char *hex, mim_msg_id *out);

/* Our connection to the presence server, as on_presence reports it. */
typedef enum mim_core_presence {
    MIM_CORE_PRESENCE_CONNECTED = 1,
    MIM_CORE_PRESENCE_DISCONNECTED, /* given up, or logged out (mim_core_logout) */
    MIM_CORE_PRESENCE_RECONNECTING, /* lost: trying again; the table is stale meanwhile */
} mim_core_presence;

/* A user's status: ours (mim_core_status) or a peer's (on_online, on_status). */
typedef enum mim_core_user_status {
    MIM_CORE_AVAILABLE = 0,
    MIM_CORE_AWAY,
    MIM_CORE_BUSY,
} mim_core_user_status;

/* The presence server's key against our pin of it (on_server_key). */
typedef enum mim_core_key_verdict {
    MIM_CORE_KEY_NEW = 0, /* first contact: now pinned */
    MIM_CORE_KEY_MATCH,   /* the pinned key */
    MIM_CORE_KEY_CHANGED, /* another key: warn, until mim_core_trust_server */
} mim_core_key_verdict;

/* Where a message stands (history). Ours: QUEUED (stored, in the outbox), SENT (written to a
 * session), DELIVERED (the peer stored it: acked); theirs: RECEIVED. */
typedef enum mim_core_msg_state {
    MIM_CORE_MSG_QUEUED = 0,
    MIM_CORE_MSG_SENT,
    MIM_CORE_MSG_DELIVERED,
    MIM_CORE_MSG_RECEIVED,
    MIM_CORE_MSG_READ, /* ours, DELIVERED, and the peer's read receipt came (on_read) */
    /* Issue 14: ours, QUEUED, and sealed in the presence server's mailbox (on_deposited). */
    MIM_CORE_MSG_DEPOSITED,
} mim_core_msg_state;

/* What went wrong, for on_error (the message says the rest). */
typedef enum mim_core_error {
    MIM_CORE_ERROR_STORE = 0,    /* the local store failed */
    MIM_CORE_ERROR_SERVER,       /* the presence server refused us, or cannot be reached */
    MIM_CORE_ERROR_NAME_TAKEN,   /* the presence server has someone else by our name */
    MIM_CORE_ERROR_NEW_CONTACTS, /* more new contacts wrote than are shown a minute: who */
} mim_core_error;

/* Why a peer keeps our messages waiting (on_waiting): the reason it gave when it closed. */
typedef enum mim_core_wait_reason {
    MIM_CORE_WAIT_OTHER = 0,            /* a reason this version does not know */
    MIM_CORE_WAIT_KEY_NOT_ACCEPTED = 1, /* it has another key pinned for us: until it trusts ours */
} mim_core_wait_reason;

/* A message's content type is the wire's number (peer.proto ContentType): text, an image, a
 * file, or a type of a later version; content_type_name (content.h) names it. */
#define MIM_CORE_CONTENT_TEXT 1
/* A local entry of the history, never sent and never indexed for search: the contact's key
 * changed (its text says from which fingerprint to which). Written when a new pending key is
 * recorded. */
#define MIM_CORE_CONTENT_KEY_CHANGE (-1)

/* One entry of the online table, as reported. */
typedef struct mim_core_peer_info {
    const char *name;
    const char *addr; /* numeric, no port */
    uint16_t port;
    const char *fingerprint;
    mim_core_user_status status;
    const char *text;
} mim_core_peer_info;

/* One message of the history. */
typedef struct mim_core_history_item {
    mim_msg_id id;
    int64_t ts_ms;
    const char *from, *to;
    const char *text; /* text, or the description of what this version cannot show */
    mim_core_msg_state state;
    int content_type; /* MIM_CORE_CONTENT_TEXT, or another (content_type_name) */
    int unread;       /* 1: a received message not yet read (mim_core_mark_read) */
    int broadcast;    /* issue 16: 0 none, 1 a broadcast, 2 an important one (as the live meta) */
} mim_core_history_item;

/* Issue 14 (directory): one registered name, as the presence server's directory says. */
typedef struct mim_core_directory_entry {
    const char *name;
    const char *fingerprint; /* of its key in the directory (advisory: pins decide) */
    int online;
    int64_t last_seen_ms; /* its last login or logout (the server's clock, ms); 0 unknown */
} mim_core_directory_entry;

/* Why a send to a name being looked up was not stored (on_lookup_failed). */
typedef enum mim_core_lookup_fail {
    MIM_CORE_LOOKUP_NOT_REGISTERED = 0, /* the server says nobody has that name */
    MIM_CORE_LOOKUP_NO_ANSWER,          /* the server went away, or did not answer in time */
} mim_core_lookup_fail;
struct mim_core_file_info; /* file transfers, below */
struct mim_core_room_info; /* rooms, below */

/* Issue 16: what kind of several-peer message a copy belongs to (mim_core_fanout_delivery). */
typedef enum mim_core_fanout_kind {
    MIM_CORE_FANOUT_ROOM = 1,      /* a room's message */
    MIM_CORE_FANOUT_BROADCAST = 2, /* a broadcast to everyone online */
    MIM_CORE_FANOUT_IMPORTANT = 3, /* an important broadcast */
} mim_core_fanout_kind;

/* Issue 16: what on_message says beyond a 1:1 message (NULL for a 1:1 message). */
typedef struct mim_core_msg_meta {
    const char *room_id;   /* 32 hex digits of the room's id, or NULL: not a room's */
    const char *room_name; /* the room's name as we know it, or NULL (unknown, or no room) */
    int broadcast;         /* 0 none, 1 a broadcast, 2 an important broadcast */
} mim_core_msg_meta;

/* Issue 16: one copy of a several-peer message was delivered (on_fanout_delivered). */
typedef struct mim_core_fanout_delivery {
    const char *to;        /* the copy's recipient */
    const mim_msg_id *id;  /* the message's id: the same for every copy */
    int kind;              /* mim_core_fanout_kind */
    const char *room_id;   /* 32 hex digits, or NULL */
    const char *room_name; /* or NULL */
    uint32_t delivered;    /* copies delivered so far, this one included */
    uint32_t total;        /* copies in all */
} mim_core_fanout_delivery;

typedef struct mim_core_events {
    void (*on_ready)(void *ud, const char *name, const char *fingerprint, uint16_t listen_port);
    /* server: "host:port" (may be ""). */
    void (*on_presence)(void *ud, mim_core_presence state, const char *server);
    /* old_fingerprint: the pinned key's, for MIM_CORE_KEY_CHANGED; else NULL. */
    void (*on_server_key)(void *ud, const char *fingerprint, mim_core_key_verdict verdict,
                          const char *old_fingerprint);
    void (*on_online)(void *ud, const mim_core_peer_info *p);
    void (*on_offline)(void *ud, const char *name);
    void (*on_status)(void *ud, const char *name, mim_core_user_status status, const char *text);
    /* meta: a room's message or a broadcast (issue 16); NULL for a 1:1 message. */
    void (*on_message)(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                       const char *text, const mim_core_msg_meta *meta);
    void (*on_queued)(void *ud, const char *to, const mim_msg_id *id);
    void (*on_sent)(void *ud, const char *to, const mim_msg_id *id);
    void (*on_delivered)(void *ud, const char *to, const mim_msg_id *id);
    void (*on_key_changed)(void *ud, const char *name, const char *old_fingerprint,
                           const char *new_fingerprint);
    void (*on_chat_opened)(void *ud, const char *with);
    void (*on_chat_closed)(void *ud, const char *with);
    /* A problem not caused by a command; message is one line for the user. fatal = 1: the core
     * stops by itself (on_stopped follows with exit_code 1). */
    void (*on_error)(void *ud, mim_core_error code, const char *message, int fatal);
    /* mim_core_quit (or a fatal error) finished: every handle is closed. The loop can end. */
    void (*on_stopped)(void *ud, int exit_code);
    /* A message this version cannot show (an image, a file, a later version's content type),
     * stored and acknowledged like text; description is one line saying what it was
     * (content_describe). May be NULL: on_message then gets the description as its text. */
    void (*on_unsupported)(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                           int content_type, const char *description);
    /* A message accepted inside a send batch was not stored after all: the batch's commit
     * failed (mim_core_batch_end). Nothing of it was sent; it is not in the outbox. */
    void (*on_send_failed)(void *ud, const char *to, const mim_msg_id *id);
    /* `to` refused to store this message: we are over its quota (bytes or messages per day).
     * It stays in the outbox; one message is tried again every MIM_CORE_QUOTA_RETRY_MS (and at
     * the next start), and all go out once one is accepted. */
    void (*on_send_refused)(void *ud, const char *to, const mim_msg_id *id);
    /* `to` has seen our message (its read receipt): the mark after on_delivered. Only while
     * read receipts are on (mim_core_set_receipts), once per message. */
    void (*on_read)(void *ud, const char *to, const mim_msg_id *id);
    /* `with` is typing to us (typing 1), or stopped (0): said by it, or by its message, or
     * by the core when a typing 1 was not renewed for MIM_CORE_TYPING_LAPSE_MS. Only while
     * read receipts are on (the same switch). */
    void (*on_typing)(void *ud, const char *with, int typing);
    /* Issue 13. `to` is online and we have messages for it, but our dial failed: reason is one
     * line ("connection refused to 127.0.0.1:9, retrying in 5 s"). Told on the first failure
     * and when the reason changes, not on every retry; a session that opens starts afresh. */
    void (*on_unreachable)(void *ud, const char *to, const char *reason);
    /* Issue 13. `to` keeps our messages from going out for a reason it told us (ChatClose's
     * reason): they stay queued and are tried again. Told once, until one of ours is delivered. */
    void (*on_waiting)(void *ud, const char *to, mim_core_wait_reason reason);
    /* Issue 14 (directory). The answer to mim_core_directory: every registered name (n of e),
     * online first, then by name; is_private: the server keeps its directory private (only
     * the names looked up by this peer are listed). */
    void (*on_directory)(void *ud, const mim_core_directory_entry *e, size_t n, int is_private);
    /* Issue 14 (directory). A send to a name being looked up (mim_core_send) was not stored:
     * the server says `to` is not registered, or gave no answer. */
    void (*on_lookup_failed)(void *ud, const char *to, const mim_msg_id *id,
                             mim_core_lookup_fail why);
    /* Issue 14, the sealed mailbox (core_mailbox.c). `to` was not online, so our message was
     * sealed to its key and the presence server stored it: it is delivered at `to`'s next login
     * (on_delivered then, through a sealed receipt or directly). It stays in the outbox: a
     * direct session sends it again, and the receiver keeps it once. */
    void (*on_deposited)(void *ud, const char *to, const mim_msg_id *id);
    /* The server's copy expired before `to` fetched it: the message is back in the outbox
     * (QUEUED) and waits for a direct session; it is not deposited again. */
    void (*on_expired)(void *ud, const char *to, const mim_msg_id *id);
    /* Issue 15, file transfers (mim_core_file_info below). Called only when non-NULL. */
    /* Receive side: an offer came; accepted = 1 when the policy took it (a pinned contact,
     * up to auto_accept_bytes), else it waits for mim_core_accept_file / _reject_file. */
    void (*on_file_offer)(void *ud, const struct mim_core_file_info *f, int accepted);
    /* Bytes verified (receive) or acknowledged (send) went up: at most ~4/s per transfer. */
    void (*on_file_progress)(void *ud, const struct mim_core_file_info *f);
    /* Both sides: every chunk verified, the whole-file SHA-256 computed from the written file
     * (f->sha256), the .part renamed (f->path). */
    void (*on_file_done)(void *ud, const struct mim_core_file_info *f);
    /* FAILED (f->error says why) or REJECTED (by either side). */
    void (*on_file_failed)(void *ud, const struct mim_core_file_info *f);
    /* PAUSED (f->error says why: the disk is full ...); it goes on by itself when it can. */
    void (*on_file_paused)(void *ud, const struct mim_core_file_info *f);
    /* Issue 16: a copy of a room's message or of a broadcast was delivered: INSTEAD of
     * on_delivered, with how many of its copies are delivered now. */
    void (*on_fanout_delivered)(void *ud, const mim_core_fanout_delivery *d);
    /* Issue 16: a room we are (or were) in changed: created, a member added, removed, made an
     * admin, left; r->member 0: we are no longer in it (removed, or we left). */
    void (*on_room)(void *ud, const struct mim_core_room_info *r);
    /* Issue 16: `from` acknowledged our important broadcast `id` (mim_core_ack_broadcast on its
     * side): once per peer and broadcast. mim_core_broadcast_status lists who has and who not. */
    void (*on_broadcast_ack)(void *ud, const char *from, const mim_msg_id *id);
} mim_core_events;

/* The mim_core_events of a front end that handles every event, with file-local handlers named
 * as the fields (on_ready, on_presence, ...): one list for all front ends, so that an event
 * added above is a compile error in each of them until it is handled. */
#define MIM_CORE_EVENTS_BY_NAME                                                                    \
    {                                                                                              \
        .on_ready = on_ready, .on_presence = on_presence, .on_server_key = on_server_key,          \
        .on_online = on_online, .on_offline = on_offline, .on_status = on_status,                  \
        .on_message = on_message, .on_queued = on_queued, .on_sent = on_sent,                      \
        .on_delivered = on_delivered, .on_key_changed = on_key_changed,                            \
        .on_chat_opened = on_chat_opened, .on_chat_closed = on_chat_closed, .on_error = on_error,  \
        .on_stopped = on_stopped, .on_unsupported = on_unsupported,                                \
        .on_send_failed = on_send_failed, .on_send_refused = on_send_refused, .on_read = on_read,  \
        .on_typing = on_typing, .on_unreachable = on_unreachable, .on_waiting = on_waiting,        \
        .on_directory = on_directory, .on_lookup_failed = on_lookup_failed,                        \
        .on_deposited = on_deposited, .on_expired = on_expired, .on_file_offer = on_file_offer,    \
        .on_file_progress = on_file_progress, .on_file_done = on_file_done,                        \
        .on_file_failed = on_file_failed, .on_file_paused = on_file_paused,                        \
        .on_fanout_delivered = on_fanout_delivered, .on_room = on_room,                            \
        .on_broadcast_ack = on_broadcast_ack,                                                      \
    }

typedef struct mim_core_config {
    uv_loop_t *loop;
    const char *name;        /* valid name (mim_name_valid) */
    const char *data_dir;    /* created 0700 if missing */
    const char *server;      /* "HOST[:PORT]" numeric, or NULL: LAN discovery */
    uint16_t listen_port;    /* 0: any free port */
    uint16_t advertise_port; /* the port told to the presence server; 0: the listen port */
    uint32_t keepalive_ms;   /* chat-session keepalive (chat_session_keepalive); 0: default */
    uint16_t discovery_port; /* 0: MIM_CORE_DEFAULT_PORT */
    uint32_t max_table;      /* entries kept from the server's table; 0: the client's default */
    /* What one sender may make us store per 24 hours; beyond, its messages are refused (it
     * keeps them and retries). 0: the default (MIM_CORE_QUOTA_*); negative: no quota. */
    int64_t quota_messages, quota_bytes;
    /* Read receipts and typing (issue 13): -1 as kept in the store (on, the first time); 0 off,
     * 1 on (and kept). */
    int receipts;
    /* Away after this long without input (mim_core_input), back on input; 0: never. */
    uint32_t auto_away_ms;
    /* Issue 13 (may be NULL): set to 1 when the core stops because the presence server it
     * trusts has our name under another key (fatal name_taken), for main's clean-up. */
    int *name_taken_out;
    /* Issue 15, file transfers. download_dir: where received files go; NULL:
     * $XDG_DOWNLOAD_DIR (xdg-user-dirs) or ~/Downloads, + "/mim". auto_accept_bytes: offers
     * from a pinned contact up to this size are accepted by themselves; -1 the default
     * (MIM_CORE_AUTO_ACCEPT_DEFAULT), 0 never. max_file_size: offers above it are rejected;
     * 0 the default (MIM_CORE_MAX_FILE_DEFAULT). */
    const char *download_dir;
    int64_t auto_accept_bytes;
    int64_t max_file_size;
} mim_core_config;

/* Once per process, before any other call: readies the crypto library. 0, or -1. */
int mim_core_global_init(void);
/* Loads or creates the identity, opens the store, requeues SENT messages, starts listening,
 * reports on_ready (from inside this call), and starts reaching the presence server. 0, or a
 * negative MIM_E* code (logged; nothing is left running, *out is NULL). */
int mim_core_start(mim_core **out, const mim_core_config *cfg, const mim_core_events *ev, void *ud);
/* Stops everything (logout, close the sessions and the listener); on_stopped(exit_code) runs
 * from the loop when the last handle is closed, then the core is freed. Idempotent. */
void mim_core_quit(mim_core *c, int exit_code);

/* Command results: 0, or one of these (the front end turns them into error codes). A peer name
 * given to a command may be in any Unicode form: it is put in NFC, then checked and looked up. */
enum {
    MIM_CORE_EUNKNOWN_PEER = -100, /* no contact and not online */
    MIM_CORE_ETEXT = -101,         /* not valid chat text */
    MIM_CORE_EBAD_NAME = -102,     /* not a valid name */
    MIM_CORE_ESTORE = -103,        /* the store failed */
    MIM_CORE_EBAD_VALUE = -104,    /* a value out of range */
    MIM_CORE_ENOTHING = -105,      /* nothing to do (trust without a pending key) */
    MIM_CORE_EFINGERPRINT = -106,  /* trust: the pending key has another fingerprint */
    MIM_CORE_EUNSEEN = -107,       /* trust without a fingerprint: the pending key is not the
                                      one last shown (key_changed, the contacts list) */
    MIM_CORE_EBLOCKED = -108,      /* send to (or typing to) a blocked name */
    MIM_CORE_ESELF = -109,         /* a command about another peer was given our own name */
    MIM_CORE_EEMPTY = -110,        /* an empty chat text */
    MIM_CORE_ETOO_LONG = -111,     /* a text over its limit (MIM_CHAT_TEXT_MAX, or
                                      MIM_STATUS_TEXT_MAX for a status): the front end says by
                                      how many bytes */
    MIM_CORE_EBUSY = -120,         /* issue 14: too many sends wait for a lookup; try later */
};

/* Stores a message to `to` under a new random id (*id, when id is not NULL), then on_queued
 * (no open session yet: it will go out by itself) and/or on_sent (written to the session),
 * from inside this call (outside a batch). A front end that must know the id before its first
 * event sends inside a batch.
 * A name we have never heard of (no contact, not online, nothing queued, not in the copy of the
 * directory), issue 14: with a presence server that offers the directory, the send returns 0
 * and the id at once, and the message waits in memory (not stored yet) while the name is
 * looked up; when the server answers that it is registered, the message is stored and
 * on_queued follows (then it goes out, or into the server's mailbox, like any other);
 * otherwise on_lookup_failed, and nothing was stored. At most MIM_CORE_LOOKUP_SENDS_MAX sends
 * wait so (beyond: MIM_CORE_EBUSY). Without such a server: MIM_CORE_EUNKNOWN_PEER at once. */
int mim_core_send(mim_core *c, const char *to, const char *text, mim_msg_id *id);
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
/* Our status, told to the presence server (now, and at every login); text may be NULL.
 * MIM_CORE_EBAD_VALUE for a status out of the enum. */
int mim_core_status(mim_core *c, mim_core_user_status status, const char *text);
/* The last `limit` messages with `with`, oldest first. */
int mim_core_history(mim_core *c, const char *with, size_t limit,
                     void (*cb)(void *arg, const mim_core_history_item *m), void *arg);
/* The 60-digit safety number with `with`: of its pending new key when one waits for
 * mim_core_trust (*new_key = 1: say so, the user checks that key before trusting it), else of
 * its pinned key, else of its online key (*new_key = 0). MIM_CORE_ESELF for our own name. */
int mim_core_verify(mim_core *c, const char *with, char out[MIM_CORE_SAFETY_NUMBER_LEN],
                    int *new_key);
/* Accepts `with`'s pending key; its held outbox goes out. fingerprint (may be NULL): the
 * pending key must have this fingerprint, else MIM_CORE_EFINGERPRINT and nothing is trusted.
 * Without one, the pending key must be the one last reported (on_key_changed, or the
 * contacts list in this run), else MIM_CORE_EUNSEEN and nothing is trusted. */
int mim_core_trust(mim_core *c, const char *with, const char *fingerprint);
int mim_core_verified(mim_core *c, const char *with, int value);
/* Accepts the presence server's changed key (on_server_key said "changed"): it becomes the pin,
 * and later connections to it no longer warn. fingerprint (may be NULL) as for mim_core_trust.
 * MIM_CORE_ENOTHING when no changed key is pending. */
int mim_core_trust_server(mim_core *c, const char *fingerprint);
/* Tells `with` we closed the conversation (if a session is open). */
int mim_core_close_chat(mim_core *c, const char *with);

const char *mim_core_name(const mim_core *c);
/* A peer's name as a user typed it, put in Unicode NFC (the form names have on the wire), in
 * out: out, or NULL when it is no valid name in any form. The commands above that take a name
 * do this themselves; a front end that looks names up in lists of its own uses it first. */
const char *mim_core_typed_name(const char *typed, char out[MIM_NAME_MAX_BYTES + 1]);

/* ---- contacts, logout and login (the terminal interface) --------------------------------------
 */

/* A contact we have dealt with, as mim_core_contacts lists it. */
typedef struct mim_core_contact_info {
    const char *name;
    const char *fingerprint; /* of the pinned key; "" for a peer with only queued messages */
    int verified;            /* the user compared safety numbers (mim_core_verified) */
    int key_pending;         /* a changed key waits for mim_core_trust */
    const char *pending_fingerprint; /* of that changed key; "" when none */
    size_t unread;                   /* messages received from it and not yet read */
    size_t queued;               /* our messages to it still in the outbox (not yet delivered) */
    int online;                  /* in the presence table now */
    mim_core_user_status status; /* when online; else MIM_CORE_AVAILABLE */
    const char *status_text;     /* when online; else "" */
    int blocked;                 /* mim_core_block: its sessions are refused */
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

/* ---- search (core_search.c) ------------------------------------------------------------------
 */

struct mim_search_query; /* mim_search_query.h: what the user typed, parsed by the front end */

#define MIM_CORE_SEARCH_MAX   200 /* results of one search */
#define MIM_CORE_SEARCH_MARKS 16  /* matched words marked in one snippet (more are unmarked) */

/* One text message found by mim_core_search. */
typedef struct mim_core_search_item {
    mim_msg_id id;
    int64_t ts_ms;
    const char *from, *to;
    const char *peer;    /* the other party (from or to) */
    const char *text;    /* the whole message */
    const char *snippet; /* a cut of text around the matches (an ellipsis where cut), plain */
    size_t nmarks;
    struct {
        size_t start, end; /* bytes of snippet, [start, end): one matched word */
    } marks[MIM_CORE_SEARCH_MARKS];
    int broadcast; /* issue 16: 0 none, 1 a broadcast, 2 an important one (as the live meta) */
} mim_core_search_item;

/* Full-text search over the stored history (text messages, case and accents folded, the last
 * word of q also as a prefix): the newest `limit` (1 to MIM_CORE_SEARCH_MAX) matches, newest
 * first, with `with` only (NULL: with anyone), one cb each, from inside this call. 0,
 * MIM_CORE_EBAD_VALUE (limit, or an empty q), MIM_CORE_EBAD_NAME, MIM_CORE_EUNKNOWN_PEER (with
 * is nobody we know), or MIM_CORE_ESTORE. */
int mim_core_search(mim_core *c, const struct mim_search_query *q, const char *with, size_t limit,
                    void (*cb)(void *arg, const mim_core_search_item *it), void *arg);
/* Issue 16: as mim_core_search, over room's messages only (room: its id or name; each of ours
 * once, `to` and `peer` the room's name for ours). 0, MIM_CORE_EBAD_VALUE, MIM_CORE_ENO_ROOM,
 * MIM_CORE_EROOM_AMBIGUOUS, MIM_CORE_ESTORE. */
int mim_core_search_room(mim_core *c, const struct mim_search_query *q, const char *room,
                         size_t limit, void (*cb)(void *arg, const mim_core_search_item *it),
                         void *arg);

/* ---- unread state, read receipts (core_receipts.c) --------------------------------------------
 */

/* Every message received from `with` so far counts as read (kept in the store: unread counts
 * survive a restart). 0, MIM_CORE_EBAD_NAME, MIM_CORE_EUNKNOWN_PEER or MIM_CORE_ESTORE. */
int mim_core_mark_read(mim_core *c, const char *with);
/* Read receipts and typing, both ways, Signal-style: off means we neither send them nor show
 * the peers' (on_read, on_typing). Kept in the store. 0 or MIM_CORE_ESTORE. */
int mim_core_set_receipts(mim_core *c, int on);
int mim_core_receipts(const mim_core *c);

/* ---- typing, blocking, auto-away (core_everyday.c) ------------------------------------------- */

#define MIM_CORE_TYPING_SEND_MS  3000 /* at most one "typing" per peer this often */
#define MIM_CORE_TYPING_LAPSE_MS 6000 /* a "typing" not renewed in this time has stopped */

/* The user is typing to `with` (typing 1: sent at most once per MIM_CORE_TYPING_SEND_MS; the
 * calls in between are dropped) or stopped (0: sent only after a 1). Nothing is sent while
 * receipts are off, to a peer without an open session, or to an older version. 0, or
 * MIM_CORE_EBAD_NAME, MIM_CORE_EUNKNOWN_PEER, MIM_CORE_EBLOCKED. */
int mim_core_typing(mim_core *c, const char *with, int typing);
/* Blocks (blocked 1) or unblocks `name`, kept in the store: a blocked name's sessions are
 * refused once its handshake proves the name (an open one is closed now), nothing from it is
 * stored or shown, and sending to it is MIM_CORE_EBLOCKED. 0, MIM_CORE_EBAD_NAME,
 * MIM_CORE_ESELF (our own name), MIM_CORE_ENOTHING (already so), MIM_CORE_ESTORE. */
int mim_core_block(mim_core *c, const char *name, int blocked);
/* The user did something (a key, a command): auto-away ends, its clock starts again. */
void mim_core_input(mim_core *c);

/* ---- the directory (issue 14, core_directory.c) -------------------------------------------- */

#define MIM_CORE_LOOKUP_SENDS_MAX  256   /* sends waiting for their name's lookup */
#define MIM_CORE_LOOKUP_TIMEOUT_MS 10000 /* a lookup not answered by then: on_lookup_failed */

/* Asks the presence server for its whole directory (all pages, at most
 * MIM_STORE_DIRECTORY_MAX names): on_directory answers once, later, from the loop, and the
 * copy in the store is refreshed (names no longer listed are dropped). Without a server that
 * offers the directory (none connected, or an older one): on_directory answers from inside
 * this call with the copy kept in the store, everyone offline (nobody is known online). A
 * call while a listing is under way gets the same answer. 0, or MIM_CORE_ESTORE. */
int mim_core_directory(mim_core *c);
/* ---- files, folders and images (issue 15: core_transfer*.c) -------------------------------
 *
 * A transfer is an offer (a ChatMessage of content type file or image, through the outbox like
 * a message: one history entry on each side, the same id) and then the bytes, streamed over a
 * second encrypted connection to the same peer once the receiver accepted. The receiver
 * verifies every chunk against the hash list the offer commits to and records what it has
 * verified (not the data) in its store: after any interruption the transfer goes on from
 * there by itself when both sides are back. docs/PROTOCOL.md chapter 14 has the wire. */

#define MIM_CORE_AUTO_ACCEPT_DEFAULT (100ll * 1024 * 1024)
#define MIM_CORE_MAX_FILE_DEFAULT    (64ll * 1024 * 1024 * 1024)

/* Command results of the file commands (beside the ones above). */
enum {
    MIM_CORE_ENO_FILE = -121,     /* send_file: the path cannot be read (or is no file/folder) */
    MIM_CORE_ENO_TRANSFER = -122, /* accept/reject: no such transfer waiting for a decision */
    MIM_CORE_ETOO_BIG = -123,     /* send_file: over the limits of the wire (file count, size) */
};

typedef enum mim_core_file_dir { MIM_CORE_FILE_SEND = 0, MIM_CORE_FILE_RECEIVE } mim_core_file_dir;

typedef enum mim_core_file_state {
    MIM_CORE_FILE_OFFERED = 0, /* receive: waits for accept/reject; send: offer not answered */
    MIM_CORE_FILE_ACCEPTED,    /* accepted, waiting for a connection */
    MIM_CORE_FILE_RUNNING,
    MIM_CORE_FILE_PAUSED, /* error says why (the disk is full ...) */
    MIM_CORE_FILE_DONE,
    MIM_CORE_FILE_REJECTED,
    MIM_CORE_FILE_FAILED,
} mim_core_file_state;

/* One transfer, as the events and mim_core_files report it. Strings valid during the call. */
typedef struct mim_core_file_info {
    mim_msg_id id;    /* the offer's message id: the same on both sides */
    const char *with; /* the other party */
    mim_core_file_dir dir;
    mim_core_file_state state;
    const char *name;       /* file or folder name (safe form on the receiving side) */
    const char *path;       /* send: the source path; receive: where it is (or will be) saved */
    int64_t size, bytes;    /* total; verified (receive) or acknowledged (send) so far */
    uint32_t nfiles;        /* 1 for a file */
    const char *media_type; /* "image/png", ... or "" */
    uint32_t width, height; /* images; else 0 */
    const char *sha256;     /* 64 hex digits once DONE, else "" */
    const char *error;      /* PAUSED / FAILED: one line; else "" */
    double rate;            /* bytes/s over the last seconds (RUNNING), else 0 */
} mim_core_file_info;

/* Offers the file or folder at `path` to `to`: reads it once (the chunk hashes), then stores
 * the offer like mim_core_send (*id; on_queued / on_sent from inside this call). 0,
 * MIM_CORE_ENO_FILE, MIM_CORE_ETOO_BIG, or an error of mim_core_send (EBAD_NAME,
 * EUNKNOWN_PEER, EBLOCKED, ESELF, ESTORE). Not inside a send batch. */
int mim_core_send_file(mim_core *c, const char *to, const char *path, mim_msg_id *id);
/* Accepts (or rejects) a received offer that waits for a decision (OFFERED). 0,
 * MIM_CORE_ENO_TRANSFER, or MIM_CORE_ESTORE. */
int mim_core_accept_file(mim_core *c, const mim_msg_id *id);
int mim_core_reject_file(mim_core *c, const mim_msg_id *id);
/* Calls cb for every transfer in the store, both directions, oldest first. 0 or
 * MIM_CORE_ESTORE. */
int mim_core_files(mim_core *c, void (*cb)(void *arg, const mim_core_file_info *f), void *arg);

/* ---- finding a server before the core starts (issue 17, core_find_server.c) ---------------- */

/* status 0: server is the answer's "host:port", fingerprint its key's; else status < 0
 * (MIM_ENOENT: nobody answered in time) and both NULL. Valid during the call. */
typedef void (*mim_core_found_cb)(void *ud, int status, const char *server,
                                  const char *fingerprint);
/* Asks `address` (numeric "HOST[:PORT]": the discovery probe goes to that port number on UDP)
 * or, when NULL or "", the LAN (broadcast, port MIM_CORE_DEFAULT_PORT) for a presence server;
 * cb runs once, from the loop. The answer is not authenticated: the fingerprint is for the
 * user to compare (the core pins the key it meets at login). Needs no mim_core (a first-run
 * assistant asks before the identity exists). 0 (cb will run), MIM_EINVAL (address),
 * MIM_ENOMEM. */
int mim_core_find_server(uv_loop_t *loop, const char *address, uint32_t timeout_ms,
                         mim_core_found_cb cb, void *ud);

/* ---- rooms (issue 16: core_room.c, core_room_cmd.c) -----------------------------------------
 *
 * A room: an id (16 random bytes, shown as 32 hex digits), a display name, members (at most
 * MIM_CORE_ROOM_MEMBERS_MAX) and admins (its creator first). Its membership is a log of
 * changes signed by an admin's identity key and chained by hash and epoch, kept by every
 * member; a room's message goes to each member over the pairwise sessions (core_fanout.c).
 * docs/PROTOCOL.md "Rooms" has the wire and the merge rule. A room is named to a command by its
 * id or by its name when no other room of ours has that name. */

#define MIM_CORE_ROOM_MEMBERS_MAX 100

enum {
    MIM_CORE_ENO_ROOM = -124,        /* no room of ours has that id or name */
    MIM_CORE_EROOM_AMBIGUOUS = -125, /* several rooms have that name: use the id */
    MIM_CORE_ENOT_ADMIN = -126,      /* the change needs an admin of the room */
    MIM_CORE_ENOT_MEMBER = -127,     /* we (or the name given) are not a member of the room */
    MIM_CORE_EROOM_FULL = -128,      /* MIM_CORE_ROOM_MEMBERS_MAX members */
    MIM_CORE_EROOM_MEMBER = -129,    /* add: a member already; admin: an admin already */
};

typedef struct mim_core_room_info {
    const char *id;             /* 32 hex digits */
    const char *name;           /* its display name */
    const char *const *members; /* nmembers names, we included while we are a member */
    size_t nmembers;
    const char *const *admins;
    size_t nadmins;
    uint64_t epoch; /* its membership epoch (the log's) */
    int member;     /* we are a member */
} mim_core_room_info;

/* Creates a room named `name` (1..64 bytes, one line) with us (its admin) and the members
 * (each a contact or online: their keys go into the room's log); they are told. *id_out (may
 * be NULL): the room's id as 32 hex digits. on_room from inside. 0, MIM_CORE_EBAD_VALUE (the
 * name), MIM_CORE_EBAD_NAME, MIM_CORE_EUNKNOWN_PEER (a member whose key we do not know),
 * MIM_CORE_EROOM_FULL, MIM_CORE_ESTORE. */
int mim_core_room_create(mim_core *c, const char *name, const char *const *members, size_t n,
                         char id_out[MIM_MSG_ID_HEX_LEN]);
/* Sends text to every other member of room (by id or name), one copy each under one id (*id):
 * on_queued / on_sent per copy, then on_fanout_delivered per copy. 0, MIM_CORE_ENO_ROOM,
 * MIM_CORE_EROOM_AMBIGUOUS, MIM_CORE_ENOT_MEMBER, the text's errors, MIM_CORE_ENOTHING (no
 * other member), MIM_CORE_ESTORE. */
int mim_core_room_send(mim_core *c, const char *room, const char *text, mim_msg_id *id);
/* Membership changes (we must be an admin; leave: a member): the change is signed, kept in
 * the log and sent to every member (a new member also gets the whole log; a removed one is
 * told). on_room from inside. 0, MIM_CORE_ENO_ROOM, MIM_CORE_EROOM_AMBIGUOUS,
 * MIM_CORE_ENOT_ADMIN, MIM_CORE_ENOT_MEMBER, MIM_CORE_EROOM_FULL, MIM_CORE_EROOM_MEMBER,
 * MIM_CORE_EBAD_NAME, MIM_CORE_EUNKNOWN_PEER (add: no key for the name), MIM_CORE_ESTORE. */
int mim_core_room_add(mim_core *c, const char *room, const char *name);
int mim_core_room_remove(mim_core *c, const char *room, const char *name);
int mim_core_room_admin(mim_core *c, const char *room, const char *name);
int mim_core_room_leave(mim_core *c, const char *room);
/* Calls cb for every room we are or were in, from inside. 0 or MIM_CORE_ESTORE. */
int mim_core_rooms(mim_core *c, void (*cb)(void *arg, const mim_core_room_info *r), void *arg);
/* The last `limit` text messages of room, oldest first (ours once, whatever the copies; `to`
 * is the room's name for ours). 0, MIM_CORE_ENO_ROOM, MIM_CORE_EROOM_AMBIGUOUS,
 * MIM_CORE_ESTORE. */
int mim_core_room_history(mim_core *c, const char *room, size_t limit,
                          void (*cb)(void *arg, const mim_core_history_item *m), void *arg);
/* ---- broadcast to everyone (issue 16: core_broadcast.c, core_broadcast_ack.c) ------------
 *
 * A broadcast goes to every peer online now (the presence table), one stored copy each under
 * one id, through the outbox like a room's message; receivers see it marked as a broadcast.
 * The presence server may restrict who broadcasts (mim-presence --broadcasters): it signs the
 * list with its key, we keep it (checked against our pin of that key), and we refuse a
 * broadcast from anyone it does not name. An important broadcast asks each receiver's user to
 * acknowledge it; the sender hears on_broadcast_ack. */
enum {
    MIM_CORE_ENOT_BROADCASTER = -130, /* the server's broadcaster list does not name us */
    MIM_CORE_ENOBODY = -131,          /* broadcast: nobody is online */
    MIM_CORE_ENOT_IMPORTANT = -132,   /* no important broadcast by that id (received, for
                                         ack_broadcast; ours, for broadcast_status) */
};

/* Sends text to every peer online now but the blocked (the presence table), one stored copy
 * each under one new id (*id), important: the receivers are asked to acknowledge it. Each copy
 * then goes as mim_core_send's (on_sent, or on_queued and a dial), and on_fanout_delivered
 * counts them as they are delivered. *copies (may be NULL): how many were stored. 0,
 * MIM_CORE_ENOT_BROADCASTER, MIM_CORE_ENOBODY, a text's errors (EEMPTY, ETOO_LONG, ETEXT),
 * MIM_CORE_ESTORE. Not inside a send batch. */
int mim_core_broadcast(mim_core *c, const char *text, int important, mim_msg_id *id,
                       uint32_t *copies);
/* 1 when the broadcaster list we keep lets us broadcast (none, or an open one: anyone; or the
 * test-only environment MIM_TEST_BROADCAST_UNCHECKED=1, which the receivers still refuse). */
int mim_core_may_broadcast(const mim_core *c);
/* The user acknowledges the important broadcast id that we received: stored, then sent to its
 * sender now or at the next session with it, until it confirms. 0, MIM_CORE_ENOT_IMPORTANT,
 * MIM_CORE_ENOTHING (acknowledged before), MIM_CORE_ESTORE. */
int mim_core_ack_broadcast(mim_core *c, const mim_msg_id *id);
/* Our important broadcast id: cb(name, acked) for every peer it went to, by name, from inside
 * the call. 0, MIM_CORE_ENOT_IMPORTANT, MIM_CORE_ESTORE. */
int mim_core_broadcast_status(mim_core *c, const mim_msg_id *id,
                              void (*cb)(void *arg, const char *name, int acked), void *arg);

#endif
