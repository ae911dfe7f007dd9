/* The peer's part of the storage door: contacts and their pins, the server pin, the history and
 * the outbox. Open the store with mim_store_open(path, MIM_STORE_PEER, ...); group several
 * changes with mim_store_begin() (mim_store.h). */
#ifndef MIM_STORE_PEER_H
#define MIM_STORE_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "mim_limits.h"
#include "mim_store.h"

/* ---- pins (SSH "accept-new"): mim_store_contacts.c ------------------------------------------ */

enum {
    MIM_PIN_NEW = 0,     /* first contact: the key is now pinned */
    MIM_PIN_MATCH = 1,   /* the pinned key */
    MIM_PIN_CHANGED = 2, /* another key than the pinned one: recorded as pending, NOT pinned */
};

typedef struct mim_contact {
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t identity_pk[32]; /* the pinned key */
    int64_t first_seen;      /* seconds since the epoch */
    int verified;            /* the user compared safety numbers */
    int has_pending;         /* a different key was seen and awaits the user's trust */
    uint8_t pending_pk[32];
} mim_contact;

/* Checks `pk` against the pin for `name`: MIM_PIN_NEW (pinned now), MIM_PIN_MATCH, or
 * MIM_PIN_CHANGED (pending_pk recorded, the old pin kept), or MIM_EDB. MIM_PIN_MATCH drops a
 * pending key: the pinned key proved itself again, so a later trust must not pin the other. */
int mim_store_pin_check(mim_store *st, const char *name, const uint8_t pk[32], int64_t now);
/* 0 and *out, or MIM_ENOENT. */
int mim_store_contact_get(mim_store *st, const char *name, mim_contact *out);
/* The user accepts the pending key: it becomes the pin, `verified` is cleared.
 * MIM_ENOENT when there is no contact or nothing pending. */
int mim_store_contact_trust(mim_store *st, const char *name);
int mim_store_contact_set_verified(mim_store *st, const char *name, int verified);
/* Calls cb for every contact, by name; a non-zero return from cb stops (and is returned). */
int mim_store_contact_each(mim_store *st, int (*cb)(const mim_contact *c, void *arg), void *arg);

/* The presence server's key: the same verdicts as mim_store_pin_check, in a table of its own
 * that no user name can reach, one pin per server address (issue 13): `server` is "host:port"
 * as mim_addr_format writes it (at most 64 bytes), so that two networks' servers are two pins.
 * server NULL is the pin kept from before the upgrade ('any'); the first address checked or
 * trusted without a pin of its own takes that one over. MIM_PIN_CHANGED keeps the old pin until
 * mim_store_server_pin_trust(). */
int mim_store_server_pin_check(mim_store *st, const char *server, const uint8_t pk[32],
                               int64_t now);
int mim_store_server_pin_trust(mim_store *st, const char *server);
/* server's pin (or, while it has none, the one from before the upgrade) as a contact with an
 * empty name: 0 and *out, or MIM_ENOENT before the first contact. */
int mim_store_server_pin_get(mim_store *st, const char *server, mim_contact *out);
/* The pin of the server met most recently for the first time (LAN discovery prefers its
 * answer): 0 and *out, or MIM_ENOENT. */
int mim_store_server_pin_latest(mim_store *st, mim_contact *out);

/* ---- history and outbox: mim_store_messages.c ------------------------------------------------ */

enum mim_msg_state {
    MIM_MSG_QUEUED = 0,    /* outgoing, stored, not yet written to a session */
    MIM_MSG_SENT = 1,      /* outgoing, written to a session, no ack yet */
    MIM_MSG_DELIVERED = 2, /* outgoing, acknowledged by the receiver */
    MIM_MSG_RECEIVED = 3,  /* incoming */
};

typedef struct mim_message {
    int64_t seq;                       /* order in this store (rowid): the outbox sends by it */
    char peer[MIM_NAME_MAX_BYTES + 1]; /* the other party's name */
    uint8_t id[16];                    /* random, chosen by the sender */
    int outgoing;                      /* 1: we sent it, 0: we received it */
    int64_t ts_ms;                     /* sender's timestamp */
    int content_type;                  /* MIM__CONTENT_TYPE__* */
    const char *text;                  /* valid during the callback only */
    size_t text_len;                   /* bytes; text[text_len] is a NUL */
    int state;                         /* enum mim_msg_state */
    int unread;    /* incoming and after the read mark (mim_store_history_each only; else 0) */
    int seen;      /* outgoing, and the peer's read receipt came (mim_store_history_each only) */
    int deposited; /* outgoing, in the server's mailbox (mim_store_history_each only) */
    /* Issue 16: a copy of a message sent to several peers (mim_store_fanout.c). */
    int fanout;          /* MIM_FANOUT_*: 0 for a 1:1 message */
    int has_room;        /* room and room_epoch are set */
    uint8_t room[16];    /* the room's id */
    uint64_t room_epoch; /* the sender's membership epoch of the room */
} mim_message;

/* Stores an outgoing message as QUEUED: it is in the outbox until acknowledged, across
 * restarts. *seq (may be NULL) gets its order. MIM_EEXIST for a duplicate (peer, id). */
int mim_store_message_queue(mim_store *st, const char *peer, const uint8_t id[16], int64_t ts_ms,
                            int content_type, const char *text, size_t text_len, int64_t *seq);
/* Moves an outgoing message to SENT or DELIVERED (never backwards: DELIVERED stays). 1 when the
 * message moved, 0 when it was already at (or past) that state (a repeated ack: no news),
 * MIM_ENOENT when (peer, id) is not an outgoing message, or another negative code. */
int mim_store_message_set_state(mim_store *st, const char *peer, const uint8_t id[16], int state);
/* Every SENT message to `peer` (to anyone when NULL) goes back to QUEUED (a session was lost
 * before the ack; and at start-up). */
int mim_store_outbox_requeue(mim_store *st, const char *peer);
/* Stores an incoming message: 1 when it is new (show it), 0 when (peer, id) was already
 * received (a resend: drop it, but still ack it), or a negative code. */
int mim_store_message_receive(mim_store *st, const char *peer, const uint8_t id[16], int64_t ts_ms,
                              int content_type, const char *text, size_t text_len);
/* What `peer` made us store in the last 24 hours (by the time each was stored): *count
 * messages of *bytes bytes in all (bodies as stored). 0, or a negative code. */
int mim_store_received_day(mim_store *st, const char *peer, int64_t *count, int64_t *bytes);
/* The outbox for `peer`: outgoing messages not yet DELIVERED, in seq order, at most `limit`.
 * cb as in mim_store_contact_each; it may set the state of the message it is given. */
int mim_store_outbox_each(mim_store *st, const char *peer, size_t limit,
                          int (*cb)(const mim_message *m, void *arg), void *arg);
/* How many messages to `peer` are in the outbox (not yet DELIVERED). 0 and *count, or a
 * negative code. */
int mim_store_outbox_count(mim_store *st, const char *peer, int64_t *count);
/* Names with something in the outbox, in name order. */
int mim_store_outbox_peers(mim_store *st, int (*cb)(const char *peer, void *arg), void *arg);
/* The last `limit` messages with `peer`, oldest first. */
int mim_store_history_each(mim_store *st, const char *peer, size_t limit,
                           int (*cb)(const mim_message *m, void *arg), void *arg);

/* ---- search: mim_store_search.c --------------------------------------------------------------
 *
 * Every text message (content type 1) is in a full-text index, kept with the message in the
 * same savepoint (mim_store_message_queue, mim_store_message_receive) and built for the history
 * that was there before (the migration). Words are matched case- and accent-blind. */

struct mim_search_query; /* mim_search_query.h: the only way in to MATCH */

/* What the snippet puts around each matched word: two control characters that chat text can
 * never hold (mim_chat_text_valid), so a caller can split them off without ambiguity. */
#define MIM_STORE_SNIPPET_ON  '\x02'
#define MIM_STORE_SNIPPET_OFF '\x03'

/* Calls cb for the newest `limit` text messages matching q (with `peer` only, or with anyone
 * when peer is NULL), newest first (by seq): the message and a snippet of its text around the
 * matches, each matched word between MIM_STORE_SNIPPET_ON and _OFF, cut text marked with an
 * ellipsis. Both are valid during the call only. A non-zero return from cb stops (and is
 * returned). 0, MIM_EINVAL, or MIM_EDB. */
int mim_store_search(mim_store *st, const struct mim_search_query *q, const char *peer,
                     size_t limit, int (*cb)(const mim_message *m, const char *snippet, void *arg),
                     void *arg);
/* Issue 16: as mim_store_search, over room's messages only (its 16-byte id), each of ours once
 * whatever its copies (the first copy's row). */
int mim_store_search_room(mim_store *st, const struct mim_search_query *q, const uint8_t room[16],
                          size_t limit,
                          int (*cb)(const mim_message *m, const char *snippet, void *arg),
                          void *arg);

/* ---- what the user has read: mim_store_read.c ------------------------------------------------ */

/* Every message received from `peer` so far counts as read. 1 when the mark moved (something
 * was unread), 0 when not, or a negative code. */
int mim_store_mark_read(mim_store *st, const char *peer);
/* Incoming messages from `peer` after its read mark. 0 and *count, or a negative code. */
int mim_store_unread_count(mim_store *st, const char *peer, int64_t *count);
/* The seq of the last message from `peer` read (0: none). 0 and *seq, or a negative code. */
int mim_store_read_seq(mim_store *st, const char *peer, int64_t *seq);
/* The read receipts owed to `peer`: cb for each message read since the last call, in order,
 * then they count as receipted (whether or not cb could send them: receipts are best effort).
 * 0, or a negative code. */
int mim_store_receipts_take(mim_store *st, const char *peer,
                            void (*cb)(const uint8_t id[16], void *arg), void *arg);
/* `peer` read our message `id` (its receipt): 1 when that is news, 0 when it was known or id is
 * no delivered message of ours, or a negative code. */
int mim_store_message_seen(mim_store *st, const char *peer, const uint8_t id[16]);

/* ---- blocked names and settings: mim_store_settings.c ---------------------------------------- */

/* Blocks (blocked 1) or unblocks `name`: 1 when that changed something, 0 when not. */
int mim_store_block_set(mim_store *st, const char *name, int blocked, int64_t now);
/* 1 when `name` is blocked, 0 when not, or a negative code. */
int mim_store_is_blocked(mim_store *st, const char *name);
/* The setting `key` into out (cap bytes, NUL-terminated): 1, or 0 when it was never set (out is
 * ""), or a negative code (MIM_EOVERFLOW: longer than cap - 1). */
int mim_store_setting_get(mim_store *st, const char *key, char *out, size_t cap);
int mim_store_setting_set(mim_store *st, const char *key, const char *value);

/* ---- the directory's copy (issue 14): mim_store_directory.c ----------------------------------
 *
 * What the presence server said of a registered name (a listing, a lookup) and what its online
 * table showed since: a cache of the server's word, never a pin (the core pins through
 * mim_store_pin_check). */

#define MIM_STORE_DIRECTORY_MAX 100000 /* names kept from one listing (the client's cap too) */

typedef struct mim_directory_entry {
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t identity_pk[32];
    int online;           /* online when last heard of */
    int64_t last_seen_ms; /* its last login or logout, ms since the epoch; 0 unknown */
} mim_directory_entry;

/* Adds or replaces e's row; now_ms marks it listed now (mim_store_directory_prune). */
int mim_store_directory_put(mim_store *st, const mim_directory_entry *e, int64_t now_ms);
/* 0 and *out, or MIM_ENOENT. */
int mim_store_directory_get(mim_store *st, const char *name, mim_directory_entry *out);
/* The server says `name` is not registered (any more). 0, or a negative code. */
int mim_store_directory_delete(mim_store *st, const char *name);
/* The online table saw `name` come (online 1) or go (0) at when_ms: 1 when its row changed, 0
 * when the name has no row, or a negative code. */
int mim_store_directory_seen(mim_store *st, const char *name, int online, int64_t when_ms);
/* cb for at most `limit` rows, online first, then by name (bytes); a non-zero return from cb
 * stops (and is returned). */
int mim_store_directory_each(mim_store *st, size_t limit,
                             int (*cb)(const mim_directory_entry *e, void *arg), void *arg);
/* A complete listing ended: drops the rows it did not list (put before before_ms). The number
 * dropped, or a negative code. */
int mim_store_directory_prune(mim_store *st, int64_t before_ms);
/* ---- the outbox's mailbox side (issue 14): mim_store_mail.c ---------------------------------- */

/* The QUEUED messages to `peer` still to deposit (never deposited, not barred from it), in seq
 * order, at most limit; cb as in mim_store_outbox_each. */
int mim_store_mail_due_each(mim_store *st, const char *peer, size_t limit,
                            int (*cb)(const mim_message *m, void *arg), void *arg);
/* The server holds our sealed copy of (peer, id) since now_ms, until expires_at_ms. 1 when the
 * message was marked, 0 when it is no longer in the outbox (delivered meanwhile), or < 0. */
int mim_store_mail_deposited(mim_store *st, const char *peer, const uint8_t id[16], int64_t now_ms,
                             int64_t expires_at_ms);
/* (peer, id) is not to be deposited again (the server refused it for good). 1, 0 or < 0. */
int mim_store_mail_no_redeposit(mim_store *st, const char *peer, const uint8_t id[16]);
/* The next deposited message whose copy expired by now_ms: no longer deposited, and not to be
 * deposited again; its peer and id out. 1 (one expired: call again), 0 (none left), or < 0. */
int mim_store_mail_expire_next(mim_store *st, int64_t now_ms, char peer[MIM_NAME_MAX_BYTES + 1],
                               uint8_t id[16]);
/* ---- file transfers (issue 15): mim_store_transfers.c -----------------------------------------
 *
 * One row per offer, each direction, keyed by (peer, id, outgoing): its state (a
 * mim_core_file_state value, the core's), what the offer said, where it is on disk, the chunk
 * hashes (a sender's, and a receiver's once fetched and checked), and the receiver's verified
 * chunks as a bitmap (bit i of byte i / 8: chunk i). Never the data. */
typedef struct mim_transfer {
    char peer[MIM_NAME_MAX_BYTES + 1];
    uint8_t id[16];
    int outgoing;
    int state;
    int64_t ts_ms;
    const char *name;        /* the offer's name (received: as offered) */
    const char *path;        /* sender: the source; receiver: the final path once done */
    const char *unique_name; /* receiver: file_sink_unique_name, once the sink exists */
    int64_t size, bytes;
    uint32_t nfiles;
    int folder;
    const char *media_type;
    uint32_t width, height, chunk_size;
    uint8_t root[32];
    int hash_scheme; /* FileOffer.hash_scheme: 0 BLAKE2b chunks, 1 the SHA-256 chain */
    uint32_t stripe_chunks; /* FileOffer.stripe_chunks: chunks per chain (0: one chain) */
    int has_manifest_hash;
    uint8_t manifest_hash[32];
    const uint8_t *hashes; /* NULL or hashes_len bytes */
    size_t hashes_len;
    const uint8_t *verified; /* NULL or verified_len bytes */
    size_t verified_len;
    const char *error, *sha256;
} mim_transfer;

/* Inserts a new transfer (strings NULL are ""). MIM_EEXIST when (peer, id, outgoing) is
 * there already, else 0 or MIM_EDB. */
int mim_store_transfer_add(mim_store *st, const mim_transfer *t);
/* Writes the mutable part of t (state, path, unique_name, bytes, hashes, verified, error,
 * sha256) to its row. 0, MIM_ENOENT, MIM_EDB. */
int mim_store_transfer_update(mim_store *st, const mim_transfer *t);
/* One transfer: cb(row) once, from inside. 0, MIM_ENOENT, MIM_EDB, or cb's non-zero return. */
int mim_store_transfer_get(mim_store *st, const char *peer, const uint8_t id[16], int outgoing,
                           int (*cb)(const mim_transfer *t, void *arg), void *arg);
/* Every transfer, oldest first (by insertion). cb as above; a non-zero return stops. */
int mim_store_transfer_each(mim_store *st, int (*cb)(const mim_transfer *t, void *arg), void *arg);

/* ---- fan-out (issue 16): mim_store_fanout.c ------------------------------------------------
 *
 * A message to several peers (a room's, a broadcast) is one row per copy, every copy with the
 * same id: the outbox, the mailbox and the acks treat each copy as a 1:1 message. These columns
 * say which logical message a row is a copy of, on both sides. */

enum {
    MIM_FANOUT_NONE = 0,      /* a 1:1 message */
    MIM_FANOUT_ROOM = 1,      /* a room's message or membership change */
    MIM_FANOUT_BROADCAST = 2, /* a broadcast to everyone online */
    MIM_FANOUT_IMPORTANT = 3, /* an important broadcast (the receivers acknowledge it) */
};

/* Tags the row (peer, id, outgoing) as a copy of kind `fanout`, of room `room` (NULL: none) at
 * `epoch`. Inside the transaction that inserted it. 1 tagged, 0 no such row, or < 0. */
int mim_store_message_set_fanout(mim_store *st, const char *peer, const uint8_t id[16],
                                 int outgoing, int fanout, const uint8_t room[16], uint64_t epoch);
/* Our copies of message `id` (outgoing, fan-out): *total of them, *delivered DELIVERED. 0, or
 * < 0. */
int mim_store_fanout_count(mim_store *st, const uint8_t id[16], uint32_t *delivered,
                           uint32_t *total);
/* The row (peer, id, outgoing) itself, as cb sees it once (no seen/deposited). 0, MIM_ENOENT,
 * MIM_EDB, or cb's non-zero return. */
int mim_store_message_get(mim_store *st, const char *peer, const uint8_t id[16], int outgoing,
                          int (*cb)(const mim_message *m, void *arg), void *arg);
/* ---- acknowledgements of important broadcasts (issue 16): mim_store_broadcast.c -------------
 *
 * outgoing 1: `peer` acknowledged our broadcast `id`; outgoing 0: we acknowledged peer's
 * broadcast `id`, owed to it (sent at every session) until it confirms. */

/* Records an acknowledgement (outgoing 1: only when id is an important broadcast of ours with a
 * copy to peer). 1 new, 0 already there (or not ours), MIM_EINVAL, MIM_EDB. */
int mim_store_bcast_ack_put(mim_store *st, const uint8_t id[16], const char *peer, int outgoing,
                            int64_t ts_ms);
/* peer confirmed our acknowledgement of its broadcast id: no longer owed. 1, 0 (not owed), or
 * < 0. */
int mim_store_bcast_ack_confirm(mim_store *st, const uint8_t id[16], const char *peer);
/* The acknowledgements owed to peer, oldest first, at most limit: cb(id) each; a non-zero
 * return stops (and is returned). 0 or MIM_EDB. */
int mim_store_bcast_owed_each(mim_store *st, const char *peer, size_t limit,
                              int (*cb)(const uint8_t id[16], void *arg), void *arg);
/* Every peer we owe an acknowledgement: cb(peer, 1) each (as above). */
int mim_store_bcast_owed_peers(mim_store *st, int (*cb)(const char *peer, int flag, void *arg),
                               void *arg);
/* Our important broadcast id: cb(peer, acked) for each of its copies, by name (none: not an
 * important broadcast of ours). As above. */
int mim_store_bcast_status(mim_store *st, const uint8_t id[16],
                           int (*cb)(const char *peer, int acked, void *arg), void *arg);
/* Who sent us the important broadcast id: 1 and peer, 0 when we received none by that id. */
int mim_store_bcast_important_from(mim_store *st, const uint8_t id[16],
                                   char peer[MIM_NAME_MAX_BYTES + 1]);

/* ---- rooms' membership logs (issue 16): mim_store_rooms.c ----------------------------------- */

/* Keeps one change of room's log (its packed RoomChange, len bytes). 1 new, 0 there already, or
 * < 0. */
int mim_store_room_change_add(mim_store *st, const uint8_t room[16], uint64_t epoch,
                              const uint8_t hash[32], const uint8_t *change, size_t len);
/* Every change of every room, by room, epoch and hash: cb(room, change, len, arg); a non-zero
 * return stops (and is returned). */
int mim_store_room_changes_each(mim_store *st,
                                int (*cb)(const uint8_t room[16], const uint8_t *change,
                                          size_t len, void *arg),
                                void *arg);
/* The newest `limit` text messages of room (one row per message: our copies count once),
 * oldest first; cb as in mim_store_history_each (no unread/seen marks). */
int mim_store_room_history_each(mim_store *st, const uint8_t room[16], size_t limit,
                                int (*cb)(const mim_message *m, void *arg), void *arg);

/* ---- sealed receipts owed (issue 14): mim_store_mail_receipts.c -------------------------------
 *
 * The letters we took from the mailbox whose sender has not yet been told `delivered`: kept in
 * the receive transaction that stores the letters, dropped once our sealed receipt is deposited
 * (DepositAck OK) or the ids went as an Ack on a direct session. */
typedef struct mim_owed_receipt {
    const char *peer;  /* the letter's sender */
    const uint8_t *id; /* 16 bytes: its message id */
} mim_owed_receipt;

/* Owes receipts for the n (peer, id) pairs (one already owed stays as it is). 0 or < 0. */
int mim_store_mail_receipts_owe(mim_store *st, const mim_owed_receipt *rows, size_t n,
                                int64_t now_ms);
/* No longer owes peer the n ids. 0 or < 0. */
int mim_store_mail_receipts_drop(mim_store *st, const char *peer, const uint8_t (*ids)[16],
                                 size_t n);
/* cb(peer, id) for at most limit receipts owed, by peer then age; only peer's when peer is not
 * NULL. A non-zero return from cb stops (and is returned); else 0 or < 0. */
int mim_store_mail_receipts_each(mim_store *st, const char *peer, size_t limit,
                                 int (*cb)(const char *peer, const uint8_t id[16], void *arg),
                                 void *arg);
/* The bound: drops the receipts owed since before before_ms and all but the newest keep. The
 * number dropped, or < 0. */
int mim_store_mail_receipts_prune(mim_store *st, int64_t before_ms, size_t keep);

#endif
