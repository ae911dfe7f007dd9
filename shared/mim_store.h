/* The only door to SQLite. No other file in mim includes <sqlite3.h>.
 *
 * A store is one SQLite file opened in WAL mode with synchronous=FULL (anything acknowledged is
 * on disk) and a busy timeout, so an admin command can use the file while the server runs. Its
 * schema is versioned with PRAGMA user_version; mim_store_open() applies every missing
 * migration for the store's kind in one transaction each, and refuses a file newer than this
 * program knows (MIM_EINVAL). */
#ifndef MIM_STORE_H
#define MIM_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mim_store mim_store;

enum mim_store_kind {
    MIM_STORE_PRESENCE = 1, /* mim-presence: the name registry */
    MIM_STORE_PEER = 2,     /* mim: contacts and pins, the server pin, history and outbox */
};

/* Opens (creating if needed, mode 0600) the store at `path`. On success *out is owned by the
 * caller (mim_store_close). Errors: MIM_EDB (log says why), MIM_EINVAL (unknown schema). */
int mim_store_open(const char *path, enum mim_store_kind kind, mim_store **out);
void mim_store_close(mim_store *st);
/* The schema version the file is at now. */
int mim_store_schema_version(mim_store *st);

/* ---- presence: the name registry, first come first served ----------------------------------- */

enum {
    MIM_NAME_REGISTERED = 0, /* the name was free: now bound to pk */
    MIM_NAME_SAME_KEY = 1,   /* the name was already bound to this same pk */
};

/* Binds `name` to `identity_pk` if it is free. Returns MIM_NAME_REGISTERED, MIM_NAME_SAME_KEY,
 * MIM_ETAKEN (bound to another key), or MIM_EDB. `now` is seconds since the epoch. */
int mim_store_name_claim(mim_store *st, const char *name, const uint8_t identity_pk[32],
                         int64_t now);
/* Unbinds `name` (the admin's way to free a name). 0 or MIM_ENOENT or MIM_EDB. */
int mim_store_name_free(mim_store *st, const char *name);
/* How many names are registered, or a negative MIM_E* code. */
int64_t mim_store_name_count(mim_store *st);

/* ---- peer: transactions (group commit) -------------------------------------------------------
 * A peer stores a burst of received messages in one transaction, then acknowledges them all:
 * an ack is only ever sent after the COMMIT that made its message durable. Not nested. */
int mim_store_begin(mim_store *st);
/* The same, for changes that may be lost to a power cut but never to a crash: the commit writes
 * the WAL without syncing it (synchronous=NORMAL for this transaction only). The WAL is a log,
 * so the next full commit (or checkpoint) syncs this one with it, and a power cut can only drop
 * it together with every commit after it. Used for the SENT and DELIVERED marks, which the
 * protocol redoes when they are lost (docs/PROTOCOL.md 14.6). */
int mim_store_begin_relaxed(mim_store *st);
/* The connection's PRAGMA synchronous now (1 NORMAL, 2 FULL), or a negative code: for tests and
 * diagnostics. */
int mim_store_synchronous(mim_store *st);
int mim_store_commit(mim_store *st);
int mim_store_rollback(mim_store *st);

/* ---- peer: pins (SSH "accept-new") ----------------------------------------------------------- */

enum {
    MIM_PIN_NEW = 0,     /* first contact: the key is now pinned */
    MIM_PIN_MATCH = 1,   /* the pinned key */
    MIM_PIN_CHANGED = 2, /* another key than the pinned one: recorded as pending, NOT pinned */
};

typedef struct mim_contact {
    char name[129];
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

/* The presence server's key: the same verdicts as mim_store_pin_check, under a reserved
 * pin that no user name can take. MIM_PIN_CHANGED keeps the old pin until
 * mim_store_server_pin_trust(). */
int mim_store_server_pin_check(mim_store *st, const uint8_t pk[32], int64_t now);
int mim_store_server_pin_trust(mim_store *st);
/* The server's pin as a contact with an empty name: 0 and *out, or MIM_ENOENT before the first
 * contact. */
int mim_store_server_pin_get(mim_store *st, mim_contact *out);

/* ---- peer: history and outbox -------------------------------------------------------------- */

enum mim_msg_state {
    MIM_MSG_QUEUED = 0,    /* outgoing, stored, not yet written to a session */
    MIM_MSG_SENT = 1,      /* outgoing, written to a session, no ack yet */
    MIM_MSG_DELIVERED = 2, /* outgoing, acknowledged by the receiver */
    MIM_MSG_RECEIVED = 3,  /* incoming */
};

typedef struct mim_message {
    int64_t seq;      /* order in this store (rowid): the outbox sends by it */
    char peer[129];   /* the other party's name */
    uint8_t id[16];   /* random, chosen by the sender */
    int outgoing;     /* 1: we sent it, 0: we received it */
    int64_t ts_ms;    /* sender's timestamp */
    int content_type; /* MIM__CONTENT_TYPE__* */
    const char *text; /* valid during the callback only */
    size_t text_len;  /* bytes; text[text_len] is a NUL */
    int state;        /* enum mim_msg_state */
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
/* The outbox for `peer`: outgoing messages not yet DELIVERED, in seq order, at most `limit`.
 * cb as in mim_store_contact_each; it may set the state of the message it is given. */
int mim_store_outbox_each(mim_store *st, const char *peer, size_t limit,
                          int (*cb)(const mim_message *m, void *arg), void *arg);
/* Names with something in the outbox, in name order. */
int mim_store_outbox_peers(mim_store *st, int (*cb)(const char *peer, void *arg), void *arg);
/* The last `limit` messages with `peer`, oldest first. */
int mim_store_history_each(mim_store *st, const char *peer, size_t limit,
                           int (*cb)(const mim_message *m, void *arg), void *arg);

#endif
