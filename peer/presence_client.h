/* The peer's connection to mim-presence.
 *
 * It dials the server, runs the Noise XX handshake as initiator (prologue "mim/presence/v1"),
 * checks the server's key against the pin in the store (first use pins it; a different key is
 * reported loudly through on_server_key every time, and the connection goes on: the table is
 * advisory, the peer's own pins decide whom it trusts), logs in with the peer's name and listen
 * port, and keeps a copy of the online table from the full table and the add/delete/status
 * blocks. It answers pings, pings a silent server, and detects a dead one.
 *
 * When the server goes away, the last known table is kept and marked stale; the client
 * reconnects with exponential backoff (0.5 s doubling to 30 s) and full jitter, and when the new
 * table arrives it converges: it reports as offline the peers that vanished, as online the new
 * ones, and the status changes. Direct chats are not its business: they go on meanwhile.
 *
 * After a reconnect, a peer missing from the new table is not reported offline at once: when
 * the server itself restarted, every peer is reconnecting at its own jittered moment, and the
 * first table holds only those already back. Such entries stay in the table, unconfirmed, for
 * backoff_max_ms + 1 s (by then every live peer has retried); one that comes back meanwhile is
 * reported only if its entry changed, the others are then reported offline.
 *
 * A server Error that a reconnect would not cure (NAME_TAKEN, BAD_NAME, BAD_SIGNATURE) stops
 * the reconnecting: on_error reports it with fatal = 1. So does REPLACED: another process
 * logged in with our key and name, and if we reconnected the two would replace each other
 * forever. SERVER_FULL, SHUTTING_DOWN, TIMEOUT and PROTOCOL are retried with the backoff.
 * Only a server whose key is the pin can stop us so: from one whose key differs from the pin
 * (anyone on the LAN can run a server: MIM_PIN_CHANGED), those errors are reported with
 * fatal = 0 and retried with the backoff. A server met for the first time (MIM_PIN_NEW) is
 * pinned by that very handshake, trust on first use: it counts as the pin (treating it as
 * untrusted would only cost one reconnect, which would then meet MIM_PIN_MATCH and stop).
 *
 * The table is the server's word, so it is bounded and checked: at most max_table entries are
 * kept (the excess is dropped and logged once per table), and an entry whose address no peer
 * should be dialled at (mim_addr_peer_ok: unspecified, multicast, broadcast; loopback unless
 * the server itself is on loopback) is dropped with a log line, as if the server had said that
 * peer was offline.
 *
 * States: DISCONNECTED -> CONNECTING (first attempt) -> CONNECTED; a lost connection goes to
 * RECONNECTING and stays there through the attempts until CONNECTED again (or DISCONNECTED
 * after a fatal error). on_state runs only when the state changes.
 *
 * Owned by its creator; all callbacks run on the loop thread, never from inside
 * presence_client_start() or presence_client_set_status(), and none (except done) after
 * presence_client_stop(). A callback may call presence_client_stop(). */
#ifndef MIM_PEER_PRESENCE_CLIENT_H
#define MIM_PEER_PRESENCE_CLIENT_H

#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_online_table.h"
#include "mim_store_peer.h"

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

typedef struct presence_client presence_client;

enum presence_client_state {
    PRESENCE_DISCONNECTED = 0, /* stopped, or given up after a fatal error */
    PRESENCE_CONNECTING = 1,   /* dialling / handshake / login */
    PRESENCE_CONNECTED = 2,    /* logged in, table complete */
    PRESENCE_RECONNECTING = 3, /* lost; waiting for the next attempt (table stale) */
};

typedef struct presence_client_events {
    /* The connection state changed. `server` is "host:port". */
    void (*on_state)(void *ud, enum presence_client_state state, const char *server);
    /* The server's key was checked against its pin: MIM_PIN_NEW, MIM_PIN_MATCH or
     * MIM_PIN_CHANGED (old_pk is the pinned key then, else NULL). Called at every handshake,
     * before message 3. */
    void (*on_server_key)(void *ud, int verdict, const uint8_t pk[32], const uint8_t *old_pk);
    /* A peer is online (from the table or an add), or its entry changed (address, port or key:
     * an add for a name already online replaces it). Our own entry is reported too, flagged. */
    void (*on_peer_online)(void *ud, const online_entry *e, int is_self);
    void (*on_peer_offline)(void *ud, const char *name);
    void (*on_peer_status)(void *ud, const online_entry *e);
    /* The server sent an Error. fatal = 1 when reconnecting cannot help. */
    void (*on_error)(void *ud, int code, const char *message, int fatal);
    /* Issue 14, the mailbox (presence_client_mail.c); may be NULL. The server's answers to our
     * Deposits, and the MailItems, of one batch from the server, each kind all at once (so
     * that the owner writes them in one commit), the acks first. Valid during the call only. */
    void (*on_deposit_acks)(void *ud, const Mim__DepositAck *const *acks, size_t n);
    void (*on_mail)(void *ud, const Mim__MailItem *const *items, size_t n);
    /* Issue 14 (presence_client_directory.c). The answer to a lookup of `name`: e, or NULL when
     * the name is not registered. */
    void (*on_lookup)(void *ud, const char *name, const mim_directory_entry *e);
    /* The answer to presence_client_directory_list: n entries in name order (byte order);
     * complete 0: cut at MIM_STORE_DIRECTORY_MAX; refused: the directory is private. Not
     * called when the connection ends first. */
    void (*on_directory)(void *ud, const mim_directory_entry *e, size_t n, int complete,
                         int refused);
    /* Issue 16 (presence_client_bcast.c); may be NULL. The server's broadcaster list, its
     * signature verified under our pin of the server's key. Valid during the call only. */
    void (*on_broadcasters)(void *ud, const Mim__BroadcasterList *l);
} presence_client_events;

#define PRESENCE_CLIENT_MAX_SERVERS 8 /* mim --server A,B,...: at most this many */

typedef struct presence_client_config {
    uv_loop_t *loop;
    const mim_identity *id; /* borrowed; outlives the client */
    const char *name;       /* copied */
    uint16_t listen_port;
    struct sockaddr_storage server; /* the server, when nservers is 0 */
    /* Issue 18: the servers of one cluster (mim --server A,B), used instead of `server` when
     * nservers > 0. The first is dialled first; a lost connection or a failed attempt moves to
     * the next at once (after a jitter of at most backoff_min_ms, so that the peers of a server
     * that died do not all arrive together); after a full round without a login, the list
     * starts over from its first server after the backoff. Each address has its own pin. */
    struct sockaddr_storage servers[PRESENCE_CLIENT_MAX_SERVERS];
    size_t nservers;
    mim_store *store;          /* borrowed: the server pin */
    uint32_t ping_interval_ms; /* 30000 by default (0 = default) */
    uint32_t backoff_min_ms;   /* 500 by default */
    uint32_t backoff_max_ms;   /* 30000 by default */
    uint32_t max_table;        /* entries kept from the server; 0: PRESENCE_TABLE_MAX_DEFAULT */
} presence_client_config;

/* The server's own --max-peers default: a table this long is a full server, and costs about
 * 300 bytes an entry (3 MB). A larger LAN sets mim --max-table. */
#define PRESENCE_TABLE_MAX_DEFAULT 10000
#define PRESENCE_TABLE_MAX_LIMIT   1000000 /* the largest --max-table (about 300 MB) */

/* Creates the client and starts connecting. 0, MIM_EINVAL (a missing loop, identity, store or
 * server, an invalid name, listen_port 0, backoff_min_ms > backoff_max_ms) or MIM_ENOMEM. */
int presence_client_start(presence_client **out, const presence_client_config *cfg,
                          const presence_client_events *ev, void *ud);
/* Sets our status (MIM__STATUS__*) and text; sent now if logged in, else with the next Login.
 * 0, or MIM_EINVAL for a status outside 1..3 or a text that is not a valid status text. */
int presence_client_set_status(presence_client *pc, int status, const char *text);
/* Logs out (a Logout in a FINAL frame) if connected, closes everything, and calls done(ud)
 * (done may be NULL) when the last handle is closed; then the client is freed. No event
 * callback runs after this call; pc must not be used after it. */
void presence_client_stop(presence_client *pc, void (*done)(void *ud));

enum presence_client_state presence_client_state(const presence_client *pc);
/* The last known table (stale while not CONNECTED). */
const online_table *presence_client_table(const presence_client *pc);
int presence_client_table_stale(const presence_client *pc);

/* LAN discovery: broadcasts a probe (255.255.255.255 and, if possible, ff02::1) on `port` and
 * calls cb once: with the chosen answer's address (the answer's TCP port filled in) and its
 * identity key, or with status < 0 when nothing answered within timeout_ms (MIM_ENOENT) or no
 * probe could be sent (MIM_EIO). `to`, when not NULL, is asked instead of broadcasting (tests
 * use 127.0.0.1); its port is ignored, `port` is used. A probe that gets no answer is sent
 * again, with a new nonce, after timeout_ms / 2. cb runs from the loop once the sockets are
 * closed (so the loop can be closed right after it); server and pk are valid during cb only.
 * The choice (mim_discovery_prefer): an answer with the key `pin` (the pinned server's; NULL
 * when none is pinned) is taken at once; another one is taken only if no answer with the pin
 * comes within PRESENCE_DISCOVER_PREFER_MS of it (whatever the timeout):
 * anyone on the LAN can answer, and the first to answer must not win over the pinned server.
 * Without a pin, the first answer is taken at once.
 * Returns 0 (cb will run), or MIM_EINVAL / MIM_ENOMEM (cb will not run). */
#define PRESENCE_DISCOVER_PREFER_MS 500
typedef void (*presence_discover_cb)(void *ud, int status, const struct sockaddr *server,
                                     const uint8_t pk[32]);
int presence_discover(uv_loop_t *loop, const struct sockaddr *to, uint16_t port,
                      uint32_t timeout_ms, const uint8_t *pin, presence_discover_cb cb, void *ud);

/* The server dialled now, or last (issue 18: one of the list). */
const struct sockaddr *presence_client_server(const presence_client *pc);

/* Why the last connection to the server, or attempt, ended ("connect failed: connection
 * refused"); "" before any ended. Valid until the next loop turn. */
const char *presence_client_last_close(const presence_client *pc);

/* ---- the directory (issue 14): presence_client_directory.c ---------------------------------- */

/* 1 when the client is ONLINE with a server that offers the directory (and the mailbox). */
int presence_client_has_directory(const presence_client *pc);
/* Asks for one name (on_lookup answers). 0, MIM_ESTATE (see has_directory), or an error. */
int presence_client_lookup(presence_client *pc, const char *name);
/* Asks for the whole directory, page after page (on_directory answers once; a listing under
 * way answers this call too). 0, MIM_ESTATE, or an error. */
int presence_client_directory_list(presence_client *pc);
/* ---- issue 14: the directory and the mailbox -------------------------------------------------
 *
 * Our Login sets MIM_LOGIN_FEATURE_MAILBOX: the server may send us the arms lookup_result,
 * directory_page, deposit_ack and mail_item. We send ours (lookup, directory_list, deposit,
 * mail_taken) only to a server whose handshake has MIM_FEATURE_MAILBOX; an older server never
 * sees them. */

/* The server's HandshakePayload.features (MIM_FEATURE_*) on the current connection, from its
 * Login on; 0 while not logged in (connecting, reconnecting, stopped). */
uint32_t presence_client_server_features(const presence_client *pc);
/* Sends issue 14's peer -> server arms in msgs (n of them) as one batch in one frame: a sealed
 * receipt's Deposit and its MailTaken go together. 0; MIM_ESTATE when not logged in or the
 * server lacks MIM_FEATURE_MAILBOX (nothing sent); MIM_EINVAL for another arm; or the code of
 * a failed send (the channel is then closing: the owner hears on_state). */
int presence_client_send_mail(presence_client *pc, const Mim__PresenceMsg *const *msgs, size_t n);

#endif
