/* Inside the peer core: the state shared by its files, and the functions one file offers the
 * others. Not for other files (front ends see core.h only).
 *
 * The core's rooms, along a message's path:
 *   core.c           the event tables, start and stop, the tick, the commands on contacts
 *   core_roster.c    which peer, which session: peer_rec and sess, who may open a session
 *   core_send.c      the outbox, the send batch, dialling
 *   core_receive.c   the receive group commit, acks, what is shown
 *   core_listener.c  incoming sessions and their admission
 *   core_presence.c  the presence client and LAN discovery, as events and commands
 * Each .c includes this header only; the functions below are their only ways in.
 *
 * Bookkeeping: one peer_rec per name we have dealt with in this run (the kept session, a dial
 * in progress, whether the conversation is open), and one sess node per live chat_session
 * (authenticated or not), so that quitting can close them all and wait for them. */
#ifndef MIM_PEER_CORE_PRIV_H
#define MIM_PEER_CORE_PRIV_H

#include "core.h"
#include "chat_session.h"
#include "mim_crypto.h"
#include "mim_admission.h"
#include "mim_addr.h"
#include "mim_codec.h"
#include "mim_rate.h"
#include "mim_store_peer.h"
#include "presence_client.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct peer_rec {
    struct peer_rec *next;
    char name[MIM_NAME_MAX_BYTES + 1];
    chat_session *cs;      /* the kept, authenticated session (NULL: none) */
    chat_session *dialing; /* our dial, until it is authenticated or closed */
    int conv_open;         /* we talked in this run (chat_opened said, or we sent) */
    int want_flush;        /* acks came in: room in the window */
    /* The last key-change alarm reported for this name (rate limit, and what `trust` without a
     * fingerprint may accept): its pending key and uv_now(); alarm_seen 0: none this run. */
    int alarm_seen;
    uint8_t alarm_pk[MIM_KEY_LEN];
    uint64_t alarm_ms;
    /* The quota of what this peer makes us store: its last 24 hours as counted from the store
     * at quota_at (uv_now), plus what was stored since. */
    int quota_valid, quota_refusing;
    int64_t quota_msgs, quota_bytes;
    uint64_t quota_at;
    /* It refused our messages (its quota): nothing goes out before refused_until (uv_now),
     * then one message at a time (probe) until one is acked. */
    uint64_t refused_until;
    int probe;
    uint32_t room_retry_ms; /* issue 16: it refused a room's copy (out of order): the backoff */
    /* First contacts (pinned at first sight in this run) are shown at most NEWCOMERS_PER_MIN a
     * minute; beyond that one is quiet: stored and acked, not shown, until the user turns to it
     * (sends to it, or reads its history). */
    int first_contact, quiet;
    int pinned_this_run; /* issue 15: its key was pinned in this run (its offers wait) */
    /* Typing (core_everyday.c): ours, last sent at typing_sent_at (uv_now; 0: not typing); its,
     * shown until typing_until (uv_now; 0: not typing), its changes shown at typing_rate. */
    uint64_t typing_sent_at, typing_until;
    mim_rate typing_rate;
    int typing_rate_set;
    /* Our dials (issue 13): the address of the last one, and the unreachable reason last told
     * (on_unreachable; "" none since the last session opened). */
    char dial_addr[MIM_ADDR_STRLEN];
    char unreachable[200];
    int waiting_told; /* a mim_core_wait_reason + 1 told by on_waiting; 0: none */
    /* Read receipts wait for a session with it (the messages came through the mailbox, or the
     * session closed): the tick dials it while it is online (core_receipts.c). */
    int receipts_owed;
    /* The mailbox (issue 14, core_mailbox.c): no deposit to it before mail_retry_at (uv_now;
     * the server said FULL, RATE or UNAVAILABLE), told once (mail_told) until one is taken. */
    uint64_t mail_retry_at;
    int mail_told;
    /* Issue 14 (core_unconfirmed.c): acks and read receipts a session ended without
     * confirming, for the next open session; owned (NULL: none). */
    struct core_unconfirmed *resend;
} peer_rec;

typedef struct sess {
    struct sess *next, *prev;
    chat_session *cs;
    peer_rec *rec;      /* set once authenticated and accepted */
    int close_pending;  /* a chat close came in this frame: reported after its messages */
    admission_slot adm; /* incoming: its place in the admission caps until it opens or closes */
    /* Issue 14 (core_unconfirmed.c): acks and read receipts sent on it, until its Pong; owned
     * (NULL: none). */
    struct core_unconfirmed *unconf;
    /* Issue 16 (core_room_hold.c): the rooms whose copies from this peer are held back on
     * this session (one was refused for later); owned, freed with the session. */
    struct core_room_hold *holds;
} sess;

typedef struct rx_item {
    mim_msg_id id;
    int64_t ts_ms;
    int type;   /* MIM__CONTENT_TYPE__*: not TEXT is reported as unsupported */
    char *text; /* the text, or the description of what cannot be shown */
    /* Issue 16: a room's message (has_room) or a broadcast (broadcast, its wire value). */
    int has_room, broadcast;
    uint8_t room[16];
} rx_item;

/* An ack of the loop turn (core_delivered.c): our message id to `to`, DELIVERED at the turn's
 * end. */
typedef struct turn_ack {
    peer_rec *r;    /* the acking peer (NULL when only `to` is known: the mailbox's receipts) */
    const char *to; /* its name (r->name, or the caller's) */
    uint8_t id[MIM_MSG_ID_LEN];
    int copy_of; /* core_report_delivered_turn's: the message of the turn it is a copy of */
} turn_ack;

/* A message of the send batch, in the order of the sends. */
typedef struct send_item {
    peer_rec *r;
    mim_msg_id id;
    int sent; /* the flush after the commit wrote it to the session */
} send_item;

struct mim_core {
    uv_loop_t *loop;
    mim_core_events ev;
    void *ud;
    char name[MIM_NAME_MAX_BYTES + 1];
    char fingerprint[MIM_FINGERPRINT_LEN];
    mim_identity *id;
    mim_store *st;
    chat_session_config chat_cfg;

    uv_tcp_t lis4, lis6;
    admission admit; /* caps on incoming sessions still in their handshake */
    int lis6_on;
    uint16_t listen_port;
    uint16_t advertise_port; /* 0: listen_port */
    uint32_t keepalive_ms;   /* chat sessions: a Ping after this much silence */
    uint64_t last_slow_tick; /* uv_now() of the last idle check and redial */
    uv_timer_t tick;
    uv_timer_t disc_retry;

    presence_client *pc;
    struct sockaddr_storage server;
    uint16_t discovery_port;
    /* presence_client_config.max_table (mim --max-table) */
    uint32_t max_table;
    int discovering; /* a presence_discover is in flight (its cb always runs) */
    int my_status;   /* MIM__STATUS__*, 0: never set */
    char my_status_text[MIM_STATUS_TEXT_MAX + 1];
    int logged_out;                 /* mim_core_logout: no presence client until mim_core_login */
    int *name_taken_out;            /* mim_core_config's: set on a fatal name_taken */
    int presence_ever;              /* connected to the presence server once in this run */
    char presence_unreachable[200]; /* the first-start "cannot reach" last told; "" none */
    /* The presence server's key matched our pin (or was pinned now) at its last handshake: only
     * then does its table vouch for a changed key of a contact. */
    int server_pinned;

    /* New contacts shown in the minute since newcomers_at, and those kept quiet (their names, for
     * the summary that core_newcomers_tick reports). */
    uint64_t newcomers_at;
    int newcomers_shown, newcomers_quiet;
    char newcomers_names[160];

    peer_rec *peers;
    sess *sessions;
    int quitting;
    int exit_code;
    int closing_handles; /* uv_close pending, presence client stopping */

    /* the frame being received (group commit) */
    int txn_open;
    int txn_failed;
    uint8_t (*acks)[MIM_MSG_ID_LEN];
    size_t nacks, cap_acks;
    rx_item *rx;
    size_t nrx, cap_rx;
    uint8_t (*delivered)[MIM_MSG_ID_LEN]; /* ids the frame acked: applied after the commit */
    size_t ndelivered, cap_delivered;
    uint8_t (*refusing)[MIM_MSG_ID_LEN]; /* ids of the frame we refuse (its sender's quota) */
    size_t nrefusing, cap_refusing;
    uint8_t (*refused)[MIM_MSG_ID_LEN]; /* ids of ours the frame says were refused */
    size_t nrefused, cap_refused;
    /* Issue 16: the acks of the loop turn, applied in one commit by turn_end (core_delivered.c). */
    turn_ack *turn_acks;
    size_t nturn_acks, cap_turn_acks;
    uv_check_t turn_end;
    uv_idle_t turn_wake; /* active with turn_end: the loop's poll does not block meanwhile (an
                          * embedding loop, mim-gtk's, sleeps by uv_backend_timeout, which
                          * counts idle handles but not check handles) */
    int64_t quota_messages, quota_bytes; /* per sender per 24 h; 0: none */

    /* The send batch (mim_core_batch_begin): its messages are inserted in one transaction and
     * reported after its commit. Only mim_core_send runs inside a batch, so no loop turn
     * passes between begin and end and the peer_recs stay. */
    int batching;
    int batch_tx; /* that transaction is open */
    send_item *batch;
    size_t nbatch, cap_batch;

    /* Issue 13 (core_receipts.c, core_everyday.c). receipts_on: read receipts and typing, both
     * ways. read_in: the ids the frame's receipts name, applied at its end. everyday: a 1 s
     * timer for typing lapses and auto-away. auto_away: we went away by ourselves (and come
     * back on input); last_input: uv_now of the user's last input. */
    int receipts_on;
    uint8_t (*read_in)[MIM_MSG_ID_LEN];
    size_t nread_in, cap_read_in;
    uv_timer_t everyday;
    uint32_t auto_away_ms;
    int auto_away;
    uint64_t last_input;
    /* --server (core_resolve.c): one entry, or several (issue 18: --server A,B or repeated),
     * each an address or a host name resolved at the start (host "" once resolved, or when it
     * was an address; addr's ss_family 0 until then). A name that does not resolve is fatal;
     * the presence client gets the addresses in the list's order. */
    struct core_server_entry {
        char host[254];
        uint16_t port;
        struct sockaddr_storage addr;
    } servers[PRESENCE_CLIENT_MAX_SERVERS];
    size_t nservers;
    size_t resolve_at; /* the entry being resolved */
    uv_getaddrinfo_t resolve_req;
    int resolving; /* resolve_req is in flight (its callback always runs) */
    /* Issue 14 (core_directory.c): its lookups in flight, the sends waiting for them, a
     * listing under way; made on first use, owned, freed by core_directory_free. */
    struct core_directory *dir;
    /* Issue 14 (core_mailbox.c): our Deposits awaiting their DepositAck on this connection to
     * the server (forgotten when it ends: not marked, so deposited again, which the server
     * takes as the same deposit). */
    struct mail_pending *mail_pending;
    size_t nmail_pending, cap_mail_pending;
    /* The mailbox letters' pair keys (mim-mail-v2): made on first use, owned, wiped and freed
     * by core_mailbox_free (before the identity they borrow). */
    mim_mail_keys *mail_keys;
    /* Issue 14 (core_mail_receipts.c): the sealed receipts we deposited and their backoff;
     * made on first use, owned, freed by core_mail_receipts_free. */
    struct core_mail_receipts *mail_receipts;
    /* Issue 15: the file-transfer engine's state (core_transfer_priv.h); NULL before start. */
    struct core_xfers *xf;
    /* Issue 16 (core_room.c): the rooms and their logs, loaded on first use; owned. */
    struct core_room *rooms;
    /* Issue 16 (core_room.c): changes taken in the open receive transaction that we forward
     * to the other members once it is committed (core_room_forward); owned. */
    struct core_room_fwd *room_fwd;
    int rooms_loaded;
    /* Issue 16: the broadcaster list we keep (core_broadcast.c); NULL before start. */
    struct core_bcast *bc;
};

/* ---- core.c ---------------------------------------------------------------------------------- */

/* A MIM__STATUS__* value of the wire as the API's status (available for anything unknown). */
mim_core_user_status core_status_of(int wire_status);
/* on_error, when the front end has it. */
void core_report_error(mim_core *c, mim_core_error code, const char *message, int fatal);
/* The id of the store and the wire (MIM_MSG_ID_LEN bytes) as the API's. */
static inline mim_msg_id core_msg_id(const uint8_t *bytes)
{
    mim_msg_id id;
    memcpy(id.bytes, bytes, sizeof(id.bytes));
    return id;
}
/* While quitting: frees the core once nothing is left open (after on_stopped). */
void core_maybe_finish(mim_core *c);

/* ---- core_roster.c: which peer, which session ------------------------------------------------ */

peer_rec *core_peer_find(mim_core *c, const char *name);
/* The peer_rec of name, made if missing; NULL when out of memory. */
peer_rec *core_peer_get(mim_core *c, const char *name);
/* name's entry in the presence table; NULL when not online (or no presence client). */
const online_entry *core_table_find(mim_core *c, const char *name);
/* Notes that the user was shown name's pending key pk (an alarm, or the contacts list): a
 * `trust` without a fingerprint accepts that key only. */
void core_alarm_seen(mim_core *c, const char *name, const uint8_t pk[MIM_KEY_LEN]);
/* Whether what r sends is kept from the screen now: a first contact past the rate of new
 * contacts shown (the first one kept quiet is reported at once, the rest by the tick). */
int core_newcomer_quiet(mim_core *c, peer_rec *r);
/* The user turned to r (wrote to it, read its history): no longer quiet; what was held of it
 * (its file offers) is reported. */
void core_newcomer_shown(mim_core *c, peer_rec *r);
/* The summary of the new contacts kept quiet, once their minute is over. */
void core_newcomers_tick(mim_core *c);
/* A contact whose key changed is held until the user trusts the new key. */
int core_is_held(mim_core *c, const char *name);
int core_outbox_nonempty(mim_core *c, const char *name);
/* A contact, online, or with queued messages. */
int core_known_peer(mim_core *c, const char *name);
/* Tracks cs (chat_session_data points to the node); NULL when out of memory. */
sess *core_sess_add(mim_core *c, chat_session *cs);
/* An incoming session stops counting against the admission caps (it opened, or closed). */
void core_sess_leave_unauth(mim_core *c, sess *s, int opened);
void core_sess_remove(mim_core *c, sess *s);
/* A table entry's address and port as a sockaddr. */
void core_entry_sockaddr(const online_entry *e, struct sockaddr_storage *ss);
/* The presence table shows e: a contact listed with another key than its pin, by a pinned
 * server, is a key change now (pending, outbox held, key_changed, the history line), not only
 * when it next dials us. */
void core_check_table_key(mim_core *c, const online_entry *e);
/* The same for a key any word of the server lists for name (its table, its directory): a
 * contact listed with another key than its pin, by a pinned server, is a key change now. */
void core_check_listed_key(mim_core *c, const char *name, const uint8_t pk[MIM_KEY_LEN]);
int core_on_authenticated(void *ud, chat_session *cs, const char *name,
                          const uint8_t identity_pk[MIM_KEY_LEN], const char **reason);
void core_on_open(void *ud, chat_session *cs);
void core_on_closed(void *ud, chat_session *cs, const char *reason);

/* ---- core_send.c: the outbox, the send batch, dialling --------------------------------------- */

/* `arr`, an array of *cap elements of `size` bytes, reallocated with room for more (doubling,
 * from 16; *cap updated). NULL when out of memory: arr and *cap are unchanged then. */
void *core_grow(void *arr, size_t *cap, size_t size);
/* A group of message state changes in one relaxed transaction: begin returns whether it
 * opened; end commits it (0 when that failed: the changes are lost, and will be redone). */
int core_group_begin(mim_core *c);
int core_group_end(mim_core *c, int began);
/* Sends what waits for r (up to the window) on its open session. */
void core_flush(mim_core *c, peer_rec *r);
/* Dials r when it has something to send, is online with an address, and is not held. */
void core_maybe_dial(mim_core *c, peer_rec *r);
/* Dials r when it is online with an address and not held, whatever it has to send (read
 * receipts owed, core_receipts.c). */
void core_dial(mim_core *c, peer_rec *r);
/* r's dial ended before its handshake (why: the connection's reason): on_unreachable, unless
 * it is the reason told last. */
void core_dial_failed(mim_core *c, peer_rec *r, const char *why);
/* Stores a message that waited in memory for its name's lookup (core_directory.c) under its
 * id, outside a batch: on_queued or on_sent from inside, or on_send_failed. */
void core_send_stored(mim_core *c, const char *to, const char *text, size_t len,
                      const mim_msg_id *id);
/* Issue 15: a message stored and committed by the caller goes out as a send alone would. */
int core_send_committed(mim_core *c, peer_rec *r, const mim_msg_id *id);
/* mim_store_outbox_peers callback (arg: the core): dials peer if it is online. */
int core_redial_one(const char *peer, void *arg);

/* ---- core_receive.c: group commit, acks, what is shown --------------------------------------- */

void core_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m);
void core_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
void core_on_refused(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
void core_on_chat_close(void *ud, chat_session *cs);
void core_on_batch_end(void *ud, chat_session *cs);
/* Forgets the frame being received (its texts freed, its transaction flags cleared). */
void core_rx_reset(mim_core *c);

/* Issue 14, the mailbox's use of the receive path (core_mailbox.c): a received message stored
 * in the group's transaction (opened by the first): 1 new, 0 a duplicate, 2 refused (its
 * sender's quota: nothing stored), or < 0 (the group fails). New ones that are shown are
 * appended to c->rx. */
int core_rx_store(mim_core *c, peer_rec *r, const char *peer, const Mim__ChatMessage *m);
/* Commits the group: 0, or < 0 (rolled back, logged, on_error told; nothing of it may be
 * acknowledged). */
int core_rx_commit(mim_core *c);
/* Shows c->rx[from, to), all from peer (r), as a frame's messages are shown. */
void core_rx_show(mim_core *c, peer_rec *r, const char *peer, size_t from, size_t to);

/* ---- core_listener.c: incoming sessions ------------------------------------------------------ */

/* Sets up the admission caps and listens on port (0: any) on IPv4, and IPv6 when the host has
 * it. 0, or a negative MIM_E* code (logged). */
int core_start_listener(mim_core *c, uint16_t port);

/* ---- core_presence.c: the presence server ---------------------------------------------------- */

/* Starts the presence client with c->server (nothing when logged out); a failure is fatal. */
void core_start_presence(mim_core *c);
/* Looks for the presence server on the LAN, again and again until one answers. */
void core_start_discovery(mim_core *c);

/* ---- core_receipts.c: unread state, read receipts -------------------------------------------- */

/* Messages received from name and not yet read (0 when the store fails: logged there). */
size_t core_unread_count(mim_core *c, const char *name);
/* Takes the receipts switch from the config (or the store). 0, or MIM_EDB. */
int core_receipts_start(mim_core *c, int receipts);
/* A read receipt came: applied at the frame's end (core_receipts_apply). */
void core_on_receipt(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
/* The frame's read receipts: our messages marked seen, on_read for each that is news. */
void core_receipts_apply(mim_core *c, chat_session *cs);
/* Sends the read receipts owed to r on its open session (or gives them up: receipts off, an
 * older peer). */
void core_receipts_send(mim_core *c, peer_rec *r);

/* ---- core_resolve.c: --server as a host name ------------------------------------------------ */

/* --server HOST[:PORT][,HOST[:PORT]...] (issue 18: the servers of one cluster, at most
 * PRESENCE_CLIENT_MAX_SERVERS): each an address or a host name to resolve; c->server is the
 * first address. 0 or MIM_EINVAL (logged). */
int core_server_parse(mim_core *c, const char *server);
/* Starts the presence client, after resolving the host name first if there is one. */
void core_server_start(mim_core *c);
/* Quitting: a resolution in flight is cancelled (core_maybe_finish waits for it). */
void core_server_stop(mim_core *c);

/* ---- core_everyday.c: blocking, typing, auto-away, the settings kept in the store ------------ */

/* Fills what ci says of name's state now: unread, online, status, blocked. */
void core_contact_state(mim_core *c, const char *name, mim_core_contact_info *ci);
/* 1 when name is blocked (a store failure counts as not blocked: logged). */
int core_is_blocked(mim_core *c, const char *name);
void core_on_typing(void *ud, chat_session *cs, int typing);
/* r's typing is over (its message came, or its session closed): on_typing 0 if it was on. */
void core_typing_over(mim_core *c, peer_rec *r);
/* Loads our status from the store (before the presence server is reached) and starts the 1 s
 * timer (typing lapses, auto-away). 0, or a negative code. */
int core_everyday_start(mim_core *c, const mim_core_config *cfg);
/* mim_core_status was given this status by the user: kept in the store; auto-away is over. */
void core_status_chosen(mim_core *c);

/* ---- core_directory.c: the directory (issue 14) ---------------------------------------------- */

/* 1 when the copy of the directory has name (a registered name we may write to). */
int core_directory_known(mim_core *c, const char *name);
/* The key to seal to for name: its pin, else the directory's (pinned now: accept-new). 0 and
 * pk, or MIM_ENOENT (not registered, or not known yet: core_directory_lookup asks). A contact
 * whose key change waits for trust gives its old pin: the caller checks core_is_held, as the
 * flush does. */
int core_directory_key(mim_core *c, const char *name, uint8_t pk[MIM_KEY_LEN]);
/* Asks the server for name (the copy is refreshed when it answers). 0, MIM_ESTATE (no server
 * offering the directory), MIM_EOVERFLOW (too many lookups in flight), or an error. */
int core_directory_lookup(mim_core *c, const char *name);
/* mim_core_send to a name nobody knows: held in memory while it is looked up (0 and *id),
 * MIM_CORE_EUNKNOWN_PEER without a server offering the directory, MIM_CORE_EBUSY. */
int core_directory_send_later(mim_core *c, const char *to, const char *text, size_t len,
                              mim_msg_id *id);
/* The online table saw name go (online 0): its row in the copy says so, last seen now. Who is
 * online the table itself says (a write per login of a full table would cost a sync each). */
void core_directory_seen(mim_core *c, const char *name, int online);
/* The presence client's answers (presence_client_events). */
void core_on_lookup(void *ud, const char *name, const mim_directory_entry *e);
void core_on_directory_list(void *ud, const mim_directory_entry *e, size_t n, int complete,
                            int refused);
/* The slow tick: lookups unanswered for MIM_CORE_LOOKUP_TIMEOUT_MS fail their sends. */
void core_directory_tick(mim_core *c);
/* The presence connection is gone: lookups fail their sends, a listing answers from the copy. */
void core_directory_lost(mim_core *c);
void core_directory_free(mim_core *c);
/* ---- core_mailbox.c: the sealed mailbox (issue 14) ------------------------------------------- */

/* Deposits what waits for r (to the mailbox) if r is not online, has a pin, is not held, and
 * the server has a mailbox; else nothing. */
void core_mailbox_kick(mim_core *c, peer_rec *r);
/* Every slow tick and at login: expiries (on_expired), then the deposits due for every outbox. */
void core_mailbox_tick(mim_core *c);
/* The presence connection ended: the deposits awaiting an answer are forgotten. */
void core_mailbox_reset(mim_core *c);
void core_mailbox_free(mim_core *c);
/* Fills l's envelope (from us, to `to` under to_pk), encodes it and seals it into blob
 * (*blob_len bytes). 0 or a negative code. */
int core_mail_seal(mim_core *c, Mim__MailLetter *l, const char *to,
                   const uint8_t to_pk[MIM_KEY_LEN], uint8_t blob[MIM_SEAL_BLOB_MAX],
                   size_t *blob_len);
/* The pair keys of our letters (made on first use); NULL when out of memory. */
mim_mail_keys *core_mail_keys(mim_core *c);
/* presence_client_events.on_deposit_acks (core_presence.c registers it): the DEPOSITED marks
 * in one relaxed group (like SENT), on_deposited after its commit. */
void core_on_deposit_acks(void *ud, const Mim__DepositAck *const *acks, size_t n);

/* ---- core_mailbox_rx.c: letters from the mailbox (issue 14) ---------------------------------- */

/* presence_client_events.on_mail: one batch's MailItems, checked, stored in one commit, shown,
 * receipted and taken. */
void core_on_mail(void *ud, const Mim__MailItem *const *items, size_t n);
/* ---- core_mail_receipts.c: the sealed receipts we owe (issue 14) ----------------------------- */

#define MIM_RECEIPT_IDS_MAX 256 /* ids in one sealed receipt: it fits the 8 KiB bucket */

/* Seals a receipt for the n ids (owed already, in the store) to `to`, whose key is to_pk, into
 * the Deposit m (its blob valid until the next call), awaiting its DepositAck. 0; MIM_EBUSY
 * when too many await theirs (it stays owed: deposited later); or a code. */
int core_mail_receipt_seal(mim_core *c, const char *to, const uint8_t to_pk[MIM_KEY_LEN],
                           const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n, Mim__PresenceMsg *m,
                           Mim__Deposit *dep);
/* The Deposit just sealed did not go out (the connection is going). */
void core_mail_receipt_unsent(mim_core *c);
/* 1 when ack answers one of our receipts (handled: paid, or kept for later), else 0. */
int core_mail_receipts_on_ack(mim_core *c, const Mim__DepositAck *ack);
/* Logged in to a mailbox: the receipts owed are deposited, unless answers are awaited or the
 * backoff runs. */
void core_mail_receipts_tick(mim_core *c);
/* r's session opened: the receipts owed to r go as an Ack on it, and are paid. */
void core_mail_receipts_direct(mim_core *c, peer_rec *r);
/* The server connection ended: the answers awaited are forgotten, the backoff too. */
void core_mail_receipts_reset(mim_core *c);
void core_mail_receipts_free(mim_core *c);

/* ---- core_unconfirmed.c: acks and read receipts until the peer has read them (issue 14) ----- */

/* An Ack (or read receipts) of ids on cs, kept with the session until the peer's Pong says it
 * read them; a session that ends first hands them to the next one. As chat_session_send_*. */
int core_send_ack_kept(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n);
int core_send_receipts_kept(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n);
/* chat_session_events.on_pong. */
void core_on_pong(void *ud, chat_session *cs, uint64_t nonce);
/* s is ending: what it kept goes to its peer's next session (at once, if r->cs is open). */
void core_unconfirmed_closed(mim_core *c, sess *s);
/* r's session is open: what an ended one kept goes on it. */
void core_unconfirmed_resend(mim_core *c, peer_rec *r);
void core_unconfirmed_free(struct core_unconfirmed *u);

/* ---- core_transfer*.c: files, folders and images (issue 15) --------------------------------- */

/* Loads the unfinished transfers, the download directory and the policy. 0 or a code. */
int core_transfer_start(mim_core *c, const mim_core_config *cfg);
/* Quitting: its handles close (core_maybe_finish waits through closing_handles). */
void core_transfer_stop(mim_core *c);
void core_transfer_free(mim_core *c);
/* Every MIM_CORE_TICK_MS: dials for accepted transfers, retries paused ones. */
void core_transfer_tick(mim_core *c);
/* The outbox flush meets a message that is not text: sends it as its offer on cs. 0, or < 0
 * (the session is closing, or the transfer is gone: logged). */
int core_transfer_send_offer(mim_core *c, chat_session *cs, const mim_message *m);
/* Inside the receive transaction: m (new, from peer) carries a FileOffer: its transfer row.
 * 1 when it was an offer (not to be shown as unsupported), 0 when not, < 0 the store failed. */
int core_transfer_offer_received(mim_core *c, const char *peer, const Mim__ChatMessage *m);
/* After the frame's commit: the offers it stored are reported (and accepted ones started);
 * after a rollback: forgotten. */
void core_transfer_offers_commit(mim_core *c, int committed);
/* Bulk connections (chat_session_is_bulk): authenticated, open, a frame, closed. */
void core_transfer_bulk_open(mim_core *c, chat_session *cs);
void core_transfer_on_bulk(void *ud, chat_session *cs, const uint8_t *p, size_t len);
void core_transfer_bulk_closed(mim_core *c, chat_session *cs, const char *reason);
/* name was just blocked: its bulk connections close and its running transfers are PAUSED with
 * the reason (file_paused); they go on after the unblock (the tick does not dial a blocked
 * peer, and its dials are refused). */
void core_transfer_peer_blocked(mim_core *c, const char *name);
/* The user turned to name, a newcomer kept quiet: its offers held since are reported now. */
void core_transfer_show_held(mim_core *c, const char *name);

/* ---- core_fanout.c: one message, a copy per recipient (issue 16) ---------------------------- */

/* What kind of several-peer message a fan-out is: kind MIM_FANOUT_* (mim_store_peer.h), the
 * room and the sender's epoch of it (kind MIM_FANOUT_ROOM; else ignored). */
typedef struct core_fanout_tag {
    int kind;
    uint8_t room[16];
    uint64_t epoch;
} core_fanout_tag;

/* The checks of a chat text to send: 0, MIM_CORE_EEMPTY, MIM_CORE_ETOO_LONG, MIM_CORE_ETEXT. */
int core_text_check(const char *text, size_t len);
/* Stores one copy of text per name of to[0..n) under one new id (*out_id), all in one
 * transaction (QUEUED), tagged with tag; then each goes out like mim_core_send's (on_sent, or
 * on_queued and a dial, or the mailbox). Our own name, blocked names and repeated names are
 * skipped. 0, MIM_CORE_ENOTHING (nobody to send to), MIM_CORE_EBAD_NAME, the text's errors
 * (core_text_check), MIM_CORE_EBAD_VALUE (inside a send batch), MIM_CORE_ESTORE. */
int core_fanout_send(mim_core *c, const char *const *to, size_t n, const char *text, size_t len,
                     const core_fanout_tag *tag, mim_msg_id *out_id);
/* The same for any content: body (len bytes) stored as the copies' body with content type
 * `type` (a membership change: its packed RoomChange). */
int core_fanout_store(mim_core *c, const char *const *to, size_t n, int type, const char *body,
                      size_t len, const core_fanout_tag *tag, mim_msg_id *out_id);
/* A copy of the outbox (m->fanout != 0) as the ChatMessage that carries it: room, broadcast
 * and body filled from the row. fc owns what it allocates: core_fanout_chat_free. 0 or < 0. */
typedef struct core_fanout_chat {
    Mim__ChatMessage chat;
    Mim__RoomRef ref;
    void *owned; /* the unpacked body of a membership change, or NULL */
} core_fanout_chat;
int core_fanout_chat_init(mim_core *c, const mim_message *m, core_fanout_chat *fc);
void core_fanout_chat_free(core_fanout_chat *fc);
/* The outbox flush meets a copy: sends it on cs. 0, or < 0 (the session is closing). */
int core_fanout_send_copy(mim_core *c, chat_session *cs, const mim_message *m);
/* Our message id to `to` is DELIVERED now: on_fanout_delivered for a copy (with the counts),
 * nothing for a membership change, else on_delivered. */
void core_report_delivered(mim_core *c, const char *to, const mim_msg_id *id);
/* The same for acks[0..n), all DELIVERED in one commit: a copy's counts read once per message,
 * each report telling the copies delivered so far, itself included. */
void core_report_delivered_turn(mim_core *c, turn_ack *acks, size_t n);
/* Issue 16 (core_delivered.c): the acks of a loop turn in one commit. init at the start;
 * note an ack of r's (applied at the turn's end); apply now (the turn's end, or before
 * something that must come after the marks). */
void core_delivered_init(mim_core *c);
void core_delivered_note(mim_core *c, peer_rec *r, const uint8_t id[MIM_MSG_ID_LEN]);
void core_delivered_apply(mim_core *c);
/* r's outbox is flushed at the turn's end (with every other peer's that waits for it). */
void core_flush_at_turn_end(mim_core *c, peer_rec *r);
/* 1 when our message id to `to` is a copy of a room's message or change, else 0. */
int core_fanout_is_room_copy(mim_core *c, const char *to, const uint8_t id[MIM_MSG_ID_LEN]);
/* Before a received m (from `from`) is stored, inside the receive transaction: 0 to store it;
 * MIM_EDB or MIM_ENOMEM: the frame fails (not acked, sent again); another < 0 to drop it
 * (logged; it is acked all the same, so that it is not sent again); CORE_ROOM_LATER: a room's
 * message or change that overtook a change it depends on: refused (the Ack's refused list), so
 * that its sender keeps it and tries again (CORE_ROOM_RETRY_MIN_MS, doubling). */
#define CORE_ROOM_LATER        MIM_ESTATE
#define CORE_ROOM_RETRY_MIN_MS 1000u
#define CORE_ROOM_RETRY_MAX_MS (60u * 1000u)
int core_fanout_admit(mim_core *c, peer_rec *r, const char *from, const Mim__ChatMessage *m);
/* After a received m was stored as new: its row gets m's room and broadcast tags. 0 or < 0. */
/* A stored row's fanout column (MIM_FANOUT_*) as the wire and the API say it: 0 none, 1 a
 * broadcast, 2 an important one (a room's copy: 0). */
int core_fanout_broadcast_of(int fanout);
int core_fanout_tag_received(mim_core *c, const char *from, const Mim__ChatMessage *m);
/* it's meta for on_message (NULL for a 1:1 message); room_hex is the room id's storage. */
const mim_core_msg_meta *core_fanout_meta(mim_core *c, const rx_item *it, mim_core_msg_meta *meta,
                                          char room_hex[MIM_MSG_ID_HEX_LEN]);

/* ---- core_room.c: rooms and their membership log (issue 16) ------------------------------- */

/* Whether `from` may post m (m->room set) to its room: 0, or < 0 (logged). A membership change
 * is checked and applied to the room's log here, inside the receive transaction. */
int core_room_admit(mim_core *c, peer_rec *r, const char *from, const Mim__ChatMessage *m);
void core_room_free(mim_core *c);
/* core_room_cmd.c: the room named by room (its id, or a name no other room of ours has): *id
 * (16 bytes) and *name, owned by the core and valid until the rooms change. 0,
 * MIM_CORE_ENO_ROOM, MIM_CORE_EROOM_AMBIGUOUS, MIM_CORE_ESTORE. */
int core_room_named(mim_core *c, const char *room, const uint8_t **id, const char **name);
/* After the receive transaction: commit 1 forwards each change an admin of ours took in it to
 * the room's other members (not its author, not who sent it), so that a member added
 * concurrently gets it too (a member that has it takes it as known); 0 forgets them. */
void core_room_forward(mim_core *c, int commit);
/* The room's name as we know it, or NULL. */
const char *core_room_name(mim_core *c, const uint8_t room[16]);
/* A copy whose row is a membership change (content type not text): its body, unpacked, into
 * fc->chat (fc->owned holds it until core_room_change_body_free). 0 or < 0. */
int core_room_change_body(mim_core *c, const mim_message *m, core_fanout_chat *fc);
void core_room_change_body_free(core_fanout_chat *fc);
/* 1 when m is a membership change (stored, never shown as a message). */
int core_room_is_change(const Mim__ChatMessage *m);
/* core_room_hold.c, each sender's order: 1 when m, a room's copy from s's peer, must be refused
 * because an earlier copy of its room was refused on s and has not come again (m's id is
 * remembered); 0 to take it as usual (a hold ends when one of its refused copies comes
 * again). s may be NULL (the mailbox's letters: 0). */
typedef struct core_room_hold core_room_hold;
int core_room_hold_check(sess *s, const Mim__ChatMessage *m);
/* m, a room's copy from s's peer, was refused for later: its room is held on s from now. */
void core_room_hold_start(sess *s, const char *peer, const Mim__ChatMessage *m);
void core_room_hold_free(sess *s);
/* ---- core_broadcast*.c: broadcast to everyone (issue 16) ------------------------------------ */

/* Loads the broadcaster list kept in the store; offers MIM_FEATURE_BROADCAST. 0 or a code. */
int core_broadcast_start(mim_core *c);
void core_broadcast_free(mim_core *c);
/* presence_client_events.on_broadcasters: the server's list (signature checked) is kept. */
void core_on_broadcasters(void *ud, const Mim__BroadcasterList *l);
/* Before storing a received message: 0 to take it, or MIM_CORE_ENOT_BROADCASTER (a broadcast
 * from a name the list we keep does not name: logged; acked, not stored, not shown). */
int core_broadcast_admit(mim_core *c, const char *from, const Mim__ChatMessage *m);
/* chat_session_events.on_broadcast_ack. */
void core_on_broadcast_ack(void *ud, chat_session *cs, const Mim__BroadcastAck *a);
/* r's session opened: the acknowledgements we owe it go out. */
void core_bcast_acks_send(mim_core *c, peer_rec *r);
/* The slow tick: peers we owe acknowledgements are dialled while online. */
void core_bcast_tick(mim_core *c);

#endif
