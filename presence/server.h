/* mim-presence: the server object and the pieces that share it.
 *
 * One libuv loop, one thread. The server owns its listeners, the discovery socket, a sweep
 * timer (the Login deadline and keepalive), a check handle that flushes coalesced output at the
 * end of each loop turn, the online table, the name registry and its own identity. Each
 * connection stands on a mim_channel (shared/mim_channel.h: the Noise handshake, the
 * secretstream transport and the per-connection deadlines).
 * Files: server.c (lifecycle, accept), session.c (one connection's state machine),
 * out_queue.c (the output queue: queueing and coalescing output), out_arena.c (where a
 * turn's output lives), churn.c (a flapping peer's deletes held back), discovery.c (UDP
 * probe), online_table.c. */
#ifndef MIM_PRESENCE_SERVER_H
#define MIM_PRESENCE_SERVER_H

#include "broadcasters.h"
#include "mim_admission.h"
#include "mim_buf.h"
#include "mim_channel.h"
#include "mim_crypto.h"
#include "mim_datadir.h"
#include "mim_codec.h"
#include "mim_rate.h"
#include "mim_store_registry.h"
#include "mim_store_mailbox.h"
#include "mim_online_table.h"
#include "out_arena.h"
#include "presence.pb-c.h"

#include <stdint.h>
#include <uv.h>

#define PRESENCE_DEFAULT_PORT     4242
#define PRESENCE_MAX_BINDS        8
#define PRESENCE_HANDSHAKE_FRAME  1024  /* framer max until the Login is accepted */
#define PRESENCE_HANDSHAKE_QUEUED 4096  /* output cap until the Login is accepted */
#define PRESENCE_FRAME_TIMEOUT_MS 10000 /* a started frame must complete within this */
/* Status changes a peer may broadcast: one per second, five in a burst. Faster changes are
 * merged: the latest is broadcast when a token frees up. One peer cannot flood everyone. */
#define PRESENCE_STATUS_RATE      1.0
#define PRESENCE_STATUS_BURST     5.0
#define PRESENCE_DRAIN_TIMEOUT_MS 5000 /* a closing peer that will not read is cut off */
/* After this many logins and closes, the heap is trimmed once none has happened for
 * PRESENCE_TRIM_QUIET_MS (see presence_server_note_churn). */
#define PRESENCE_TRIM_CHURN    32
#define PRESENCE_TRIM_QUIET_MS 200
/* A key that logs in again within this of its last login is flapping (churn.c). */
#define PRESENCE_FLAP_MS 10000
/* Plaintext room in one transport frame: 65535 minus the secretstream overhead. */
#define PRESENCE_MAX_PLAINTEXT MIM_CHANNEL_MAX_PLAINTEXT
/* Issue 14 (directory.c, mailbox.c). Lookups and directory pages a peer may ask for: 20 per
 * second, 100 in a burst; faster is ERROR_PROTOCOL (no client needs more; a scan of a private
 * directory by guessing names stays slow). */
#define PRESENCE_DIRECTORY_RATE  20.0
#define PRESENCE_DIRECTORY_BURST 100.0
#define PRESENCE_DIRECTORY_PAGE  128 /* entries in a DirectoryPage when the peer asks for 0 */
/* Letters read from the store per step of a delivery, and the output a delivery may have
 * queued (sealed and not yet written, plus this turn's batch) before it waits for the socket to
 * drain: the letters of a big mailbox go out in pieces, never the whole mailbox at once. */
#define PRESENCE_MAIL_STEP      64
#define PRESENCE_MAIL_QUEUED    (512u << 10)
#define PRESENCE_MAIL_PUMP_MS   5    /* how often an unfinished delivery looks again */
#define PRESENCE_MAIL_EXPIRE_MS 1000 /* how often expired letters are deleted */
#define PRESENCE_SEEN_FLUSH_MS  1000 /* logins and logouts are written at most this late */

/* issue 18: pump turns a letter announced on the cluster bus but not yet readable from the
 * shared stream (a replica behind its leader) is looked for, at most (~0.5 s) */
#define PRESENCE_MAIL_WANT_TRIES 100

typedef struct presence_config {
    const char *binds[PRESENCE_MAX_BINDS]; /* numeric addresses; none = "::" and "0.0.0.0" */
    int nbinds;
    int port;           /* TCP; 0 = any free port */
    int discovery_port; /* UDP; 0 = any free, -1 = off */
    const char *data_dir;
    uint32_t max_peers;
    admission_limits admit;
    uint32_t handshake_timeout_ms;
    uint32_t ping_interval_ms; /* dead after 3 intervals of silence */
    size_t max_queued;         /* output cap per logged-in connection, bytes */
    uint32_t flap_hold_ms;     /* a flapping peer's delete waits this long (0: never) */
    /* issue 14: the directory and the sealed mailbox */
    int mailbox;                /* 1: MIM_FEATURE_MAILBOX offered (--mailbox on|off) */
    int directory_public;       /* 1: listing allowed (--directory on); 0: exact lookups only */
    uint32_t mailbox_blob_max;  /* bytes of one sealed letter, <= MIM_MAIL_SEALED_MAX */
    uint32_t mailbox_max_count; /* letters waiting per recipient */
    uint64_t mailbox_max_bytes; /* bytes waiting per recipient */
    uint32_t mailbox_rate;      /* deposits per second per sender's session */
    uint32_t mailbox_burst;     /* of which this many at once */
    uint64_t mailbox_expiry_ms; /* a letter not fetched within this is deleted */
    /* issue 18: several servers as one (cluster.h); NULL: a single server */
    const char *cluster_urls; /* --cluster nats://H:P[,...] */
    const char *server_id;    /* --server-id, or NULL: the host name */
    const char *broadcasters; /* issue 16: --broadcasters a,b (checked), or NULL: anyone */
} presence_config;

void presence_config_defaults(presence_config *cfg);

typedef enum session_state {
    SESSION_HANDSHAKE = 0, /* the channel runs the handshake and exchanges the stream headers */
    SESSION_AWAIT_LOGIN,   /* both streams up; waiting for Login */
    SESSION_ONLINE,        /* logged in and in the online table */
    SESSION_CLAIMING,      /* issue 18: the Login waits for the cluster's name registry */
} session_state;

typedef struct presence_server presence_server;

/* One connection. The handshake, the transport and the per-connection deadlines (handshake,
 * started frame, drain) are its channel's; what the handshake proved (identity key, static
 * signature, name, handshake hash) and the remote address are read from the channel, never
 * copied. Kept small: thousands of idle peers each hold one. Times are the low 32 bits of
 * uv_now(): differences taken in 32 bits (session_elapsed) are right for spans under 49 days,
 * and every span measured here is seconds long. */
typedef struct session {
    presence_server *srv;
    mim_channel *ch;     /* whose allocation holds this session; NULL inside its on_closed */
    online_entry *entry; /* &slot while in the online table (ONLINE), else NULL */
    out_slice out;       /* batch plaintext queued this loop turn, in srv->out (out_arena) */
    struct session *prev, *next;             /* all sessions */
    struct session *flush_prev, *flush_next; /* sessions with queued output */
    mim_rate status_rate;                    /* StatusUpdate broadcasts this peer may cause */
    union {
        admission_slot adm; /* until the Login is accepted: its place in the admission caps */
        online_entry slot;  /* from then on: the peer's table entry, linked in place */
    };
    uint32_t started;            /* at accept: the Login deadline counts from it */
    uint32_t last_rx;            /* the last transport frame received */
    uint32_t last_ping;          /* the last Ping we sent */
    uint8_t state;               /* session_state */
    unsigned name_ok : 1;        /* the handshake's name is valid: logs may show it (else "-") */
    unsigned unauth_counted : 1; /* `adm` is in use (it may have been evicted meanwhile) */
    unsigned flapping : 1;       /* its key logged in within PRESENCE_FLAP_MS before */
    unsigned status_pending : 1; /* a status change waits for a token */
    unsigned flush_queued : 1;   /* on the server's flush list */
    /* issue 14 */
    unsigned mail_ok : 1; /* the Login set MIM_LOGIN_FEATURE_MAILBOX and the server offers it */
    unsigned mail_pending : 1; /* letters wait to be sent after mail_sent (mailbox.c) */
    uint64_t mail_sent;        /* the last seq sent to this session */
    uint64_t mail_want;        /* issue 18: a letter announced up to this seq (mailbox_notice) */
    uint8_t mail_tries;        /* pump turns left to find it (PRESENCE_MAIL_WANT_TRIES) */
    mim_rate deposit_rate;     /* Deposits this peer may make */
    mim_rate directory_rate;   /* Lookups and DirectoryLists */
} session;

/* Milliseconds from `then` (a session time) to `now` (uv_now()). */
static inline uint32_t session_elapsed(uint64_t now, uint32_t then)
{
    return (uint32_t)now - then;
}

struct presence_server {
    uv_loop_t *loop;
    presence_config cfg;
    mim_datadir datadir; /* resolved and locked for the life of the server */
    mim_identity *id;
    char fingerprint[MIM_FINGERPRINT_LEN];
    mim_store *store;
    online_table table;
    admission admit;
    uv_tcp_t listeners[PRESENCE_MAX_BINDS];
    int nlisteners;
    int port; /* the TCP port actually bound */
    uv_udp_t discovery;
    int discovery_on;
    int discovery_port;      /* the UDP port actually bound */
    mim_rate discovery_rate; /* answers allowed (reflection cap) */
    /* With --bind (issue 13): one socket per bound address, ephemeral port, that answers go out
     * from, so that their source is an address the TCP listener really has (a peer dials the
     * answer's source). A wildcard bind answers from `discovery` itself. */
    uv_udp_t answer_from[PRESENCE_MAX_BINDS];
    int answer_family[PRESENCE_MAX_BINDS]; /* AF_INET, AF_INET6; 0: wildcard (no socket) */
    int nanswer;
    uv_timer_t sweep;
    uv_timer_t trim;     /* one-shot: trims the heap once a burst of logins has drained */
    uint32_t trim_churn; /* logins and closes since the last trim */
    uv_check_t flush_check;
    uv_idle_t flush_wake; /* active while output is queued: keeps the next poll from blocking,
                           * for output queued where no check follows (close callbacks) */
    uv_signal_t sig_int, sig_term;
    session *sessions;   /* every live session */
    session *flush_head; /* sessions with output queued this turn */
    out_arena out;       /* where their batches (session.out) live until flushed */
    size_t nsessions;
    uint64_t login_seq;                   /* logins so far */
    struct held_delete *held, *held_tail; /* churn.c: deletes held back, in due order */
    uv_timer_t held_timer;                /* fires when the first of them is due */
    /* issue 14 */
    uv_timer_t mail_pump;  /* runs while deliveries wait for their sockets (mail_pumping > 0) */
    size_t mail_pumping;   /* sessions with mail_pending */
    uint64_t mail_expired; /* uv_now() of the last expiry sweep */
    const Mim__Deposit **deposits;  /* the frame being handled's, to store in one commit */
    size_t ndeposits, deposits_cap; /* (mailbox_deposit, mailbox_deposits_end) */
    mim_name_seen *seen;            /* logins and logouts not yet written (directory.c) */
    size_t nseen, seen_cap;
    uint64_t seen_flushed;   /* uv_now() of the last write of them */
    struct cluster *cluster; /* issue 18 (cluster.h): NULL unless --cluster */
    /* issue 18: the shared mailbox (mailbox_js.h), with --cluster and --mailbox on; NULL: the
     * letters are in `store` */
    struct mailbox_js *mailjs;
    presence_broadcasters bcast; /* issue 16: the signed broadcaster list (broadcasters.c) */
    int stopping;
};

/* server.c */
int presence_server_start(presence_server *srv, uv_loop_t *loop, const presence_config *cfg);
/* Begins an orderly shutdown: stop accepting, tell every peer, close everything. The loop
 * ends once the last handle is closed; then call presence_server_free. */
void presence_server_stop(presence_server *srv);
void presence_server_free(presence_server *srv);
/* Called when a session ends: during a shutdown, the last one closes the server's handles. */
void presence_server_poll_done(presence_server *srv);
/* Called on each login and each closed session. A login storm leaves the heap full of holes
 * (each newcomer's table frames, every peer's batches, freed between the small long-lived
 * per-peer structs), which the allocator keeps resident; once logins and closes have been
 * quiet for PRESENCE_TRIM_QUIET_MS after at least PRESENCE_TRIM_CHURN of them, the free pages
 * are given back (malloc_trim). Idle or slow churn never triggers it. */
void presence_server_note_churn(presence_server *srv);

/* session.c */
void session_accept(presence_server *srv, uv_stream_t *listener);
/* 1 once s can send nothing more (its channel is closing, draining or closed). */
int session_closing(const session *s);
/* issue 18 (cluster_names.c): the cluster registry's verdict on s's Login (the one at index
 * next - 1 of b: MIM_NAME_* or MIM_ETAKEN, or MIM_EIO: unavailable): the login finishes, then
 * the rest of b (taken: freed here) is handled, as on_plaintext would have. */
void session_claimed(session *s, int verdict, Mim__PresenceBatch *b, size_t next, int final);
/* One decrypted frame of s, as from its channel (held frames replayed after a claim). */
void session_frame(session *s, const uint8_t *p, size_t len, int final);
/* The Login deadline, keepalive and merged status changes for one session; called by the
 * sweep timer. (The channel keeps the handshake, frame and drain deadlines itself.) */
void session_sweep(session *s, uint64_t now);
/* Sends Error(code, text) as the last frame (TAG_FINAL) when both streams are up, then
 * drains and closes. Before that it just closes. */
void session_fail(session *s, Mim__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* out_queue.c: the output queue */
/* Queues one message for s; it goes out, coalesced with others, at the end of this loop turn.
 * 0, or a negative code after which s is being closed. */
int out_queue_send(session *s, const Mim__PresenceMsg *m);
/* Makes room for len more bytes in s's batch (sealing what is queued first when they would not
 * fit one frame) and queues s for the end-of-turn flush: the caller then appends exactly one
 * encoded batch element of at most len bytes to s->out, with no call in between. 0, or a
 * negative code after which s is being closed. */
int out_queue_room(session *s, size_t len);
/* Encodes m once and queues it for every online session except `except` (may be NULL). */
void out_queue_broadcast(presence_server *srv, const Mim__PresenceMsg *m, const session *except);
/* Seals and writes everything queued for s now, as one frame; final = 1 seals it with
 * TAG_FINAL (the channel then drains). 0, or a negative code after which s is being closed. */
int out_queue_flush(session *s, int final);
/* Flushes every session with queued output (the end-of-turn check handle). */
void out_queue_flush_all(presence_server *srv);
/* Removes s from the flush list (before it is freed). */
void out_queue_forget(session *s);

/* churn.c */
enum { CHURN_NONE, CHURN_UNCHANGED, CHURN_CHANGED };
/* e (a session's entry, just removed from the table; plain: churn_entry_plain of it before the
 * removal freed its text) went offline: its PeerDelete goes to everyone now, or, when flapping,
 * after cfg.flap_hold_ms unless churn_login cancels it. */
void churn_delete(presence_server *srv, const online_entry *e, int plain, int flapping);
/* 1 when e shows what a fresh login shows: status AVAILABLE, no text. */
int churn_entry_plain(const online_entry *e);
/* e has just logged in: a delete held for its name is cancelled. CHURN_NONE: none was held;
 * CHURN_UNCHANGED: one was, and observers' entry for the name is e already (the add can be
 * skipped); CHURN_CHANGED: one was, and the add must go out. */
int churn_login(presence_server *srv, const online_entry *e);
/* 1 when observers holding `old` would learn nothing from an add of `now`. */
int churn_same_entry(const online_entry *old, const online_entry *now);
void churn_on_timer(uv_timer_t *t);
/* Frees the held deletes without sending them (shutdown). */
void churn_free(presence_server *srv);

/* directory.c (issue 14) */
void directory_lookup(session *s, const Mim__Lookup *l);
void directory_list(session *s, const Mim__DirectoryList *l);
/* s's peer logged in or out now: remembered, written by directory_flush. */
void directory_seen(session *s);
/* Writes the logins and logouts gathered (all of them when force, else at most once per
 * PRESENCE_SEEN_FLUSH_MS); called by the sweep and at shutdown. */
void directory_flush(presence_server *srv, uint64_t now, int force);

/* mailbox.c (issue 14) */
/* A Deposit of the frame being handled (d points into its batch): refused at once (rate, size),
 * or kept for mailbox_deposits_end, which the frame's handler calls before freeing the batch:
 * the frame's letters are committed together, and only then acknowledged (closing: s is
 * going, so they are dropped unanswered, and its sender deposits them again). */
void mailbox_deposit(session *s, const Mim__Deposit *d);
void mailbox_deposits_end(session *s, int closing);
void mailbox_free(presence_server *srv);
void mailbox_taken(session *s, const Mim__MailTaken *t);
/* s has just logged in (its table is queued): its waiting letters follow, in pieces. */
void mailbox_login(session *s);
/* s is closing: it no longer waits for deliveries. */
void mailbox_forget(session *s);
/* Deletes expired letters, at most once per PRESENCE_MAIL_EXPIRE_MS; called by the sweep. */
void mailbox_expire(presence_server *srv, uint64_t now);
void mailbox_on_pump(uv_timer_t *t);
/* issue 18: a letter for `to` was stored in the shared mailbox at seq (through this server or,
 * said on the cluster bus, another): when `to` is online here, it is fetched from the stream and
 * sent, after the letters before it. Anything else (not here, no mail, sent already): nothing. */
void mailbox_notice(presence_server *srv, const char *to, uint64_t seq);

/* broadcasters.c (issue 16) */
/* Parses and signs cfg.broadcasters into srv->bcast. 0 or a negative code (logged). */
int broadcasters_start(presence_server *srv);
/* s has just logged in with l (its table is queued): the signed list follows, when l asked. */
void broadcasters_login(session *s, const Mim__Login *l);

/* discovery.c */
int discovery_start(presence_server *srv);
void discovery_stop(presence_server *srv);

#endif
