/* Inside the presence client: the state its two files share, and the functions one offers the
 * other. Not for other files (the rest of the peer sees presence_client.h only).
 *
 *   presence_client.c        the connection: dialling, the pin, the Login, the server's
 *                            Errors, the backoff, the keepalive, the API
 *   presence_client_table.c  the online table: chunks, add/delete/status, the cap, the address
 *                            checks, the convergence and the grace for unconfirmed entries
 *   presence_client_mail.c   issue 14's mailbox arms: DepositAck and MailItem in, to the owner
 *   presence_client_directory.c  issue 14's directory arms (the directory helper's) */
#ifndef MIM_PEER_PRESENCE_CLIENT_PRIV_H
#define MIM_PEER_PRESENCE_CLIENT_PRIV_H

#include "presence_client.h"
#include "mim_channel.h"
#include "mim_codec.h"

#include <stddef.h>
#include <stdint.h>

enum pc_phase {
    PC_IDLE = 0,    /* no channel */
    PC_HANDSHAKE,   /* dialled; the channel is not open yet */
    PC_AWAIT_TABLE, /* the Login went out; receiving TableChunks */
    PC_ONLINE,      /* the table is complete */
};

struct presence_client {
    uv_loop_t *loop;
    const mim_identity *id;
    char name[MIM_NAME_MAX_BYTES + 1];
    uint16_t listen_port;
    struct sockaddr_storage server; /* the one dialled now: servers[cur] */
    char server_str[MIM_ADDR_STRLEN];
    /* Issue 18: the list (one entry without one), the current one, and how many more may be
     * tried before the round is over and the backoff applies. */
    struct sockaddr_storage servers[PRESENCE_CLIENT_MAX_SERVERS];
    size_t nservers, cur, round_left;
    char last_close[160]; /* why the last connection (or attempt) ended; "" none yet */
    mim_store *store;
    uint32_t ping_ms, backoff_min_ms, backoff_max_ms;
    uint32_t max_table;  /* entries kept from the server */
    int server_loopback; /* the server is on loopback: table entries may be too */
    presence_client_events ev;
    void *ud;

    enum presence_client_state state;
    int stopping;             /* presence_client_stop was called: no more events */
    int fatal;                /* a fatal Error arrived: no more attempts */
    void (*done)(void *ud);   /* stop()'s callback */
    int handles_open;         /* timers not closed yet, once stopping */
    int announce;             /* CONNECTING is set by start() but reported from the loop */
    uint32_t backoff_ceiling; /* the next delay is uniform in [0, ceiling] */
    int status;               /* ours, MIM__STATUS__* */
    char status_text[MIM_STATUS_TEXT_MAX + 1];

    /* The current connection: everything here is reset when it closes. */
    mim_channel *ch; /* NULL once its on_closed ran */
    enum pc_phase phase;
    int logged_in;         /* the Login went out on this channel */
    uint64_t started;      /* uv_now when the dial began */
    uint64_t last_rx;      /* uv_now of the last batch from the server */
    uint64_t last_ping;    /* uv_now of our last Ping */
    online_table incoming; /* the table being received, until its last chunk */
    char why[160];         /* a refusal reason for the channel (outlives on_authenticated) */
    int server_verdict;    /* MIM_PIN_* of this server's key; CHANGED cannot stop us */
    size_t dropped;        /* table entries over max_table, dropped on this connection */
    size_t bad_addrs;      /* entries dropped for their address on this connection */

    online_table table; /* the last known table; entries' `session` marks unconfirmed ones */
    size_t unconfirmed; /* entries kept after a reconnect, awaiting their peer's return */
    int have_table;     /* a table was complete once: the next one is a reconnect */

    /* Issue 14. server_features: this connection's HandshakePayload.features (MIM_FEATURE_*),
     * 0 when none. mail_items, mail_acks: the MailItems and DepositAcks of the batch being
     * handled (pointers into it), handed to the owner together at its end
     * (presence_client_mail.c). */
    uint32_t server_features;
    const Mim__MailItem **mail_items;
    size_t n_mail_items, cap_mail_items;
    const Mim__DepositAck **mail_acks;
    size_t n_mail_acks, cap_mail_acks;

    uv_timer_t retry_timer;  /* the next attempt */
    uv_timer_t ka_timer;     /* the login deadline, then the keepalive */
    uv_timer_t settle_timer; /* the end of the grace for unconfirmed entries */

    /* The directory listing under way on this connection (presence_client_directory.c). */
    struct {
        int listing;
        char after[MIM_NAME_MAX_BYTES + 1]; /* the last name received */
        mim_directory_entry *entries;       /* owned; at most MIM_STORE_DIRECTORY_MAX */
        size_t n, cap;
    } dir;
};

/* ---- offered by presence_client.c ---------------------------------------------------------- */

/* 1 when the current batch's processing must stop: the channel is going, or the owner stopped
 * the client from a callback. */
int pc_halted(const presence_client *pc);
/* Ends the current channel, with a reason for on_closed: clean = 1 sends our FINAL first (the
 * session ended in order), 0 cuts it at once (the server broke the protocol or went silent, or
 * we cannot go on). Harmless when the channel is already closing or gone. */
void pc_end_channel(presence_client *pc, int clean, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The table is complete (pc->table holds it): the connection is ONLINE, the backoff starts
 * over, the keepalive and the grace for unconfirmed entries run, and the owner hears
 * PRESENCE_CONNECTED. */
void pc_went_online(presence_client *pc);

/* Sends msgs as one batch in one frame (not FINAL). On failure the channel is closed and the
 * code returned. */
int pc_send_batch(presence_client *pc, const Mim__PresenceMsg *const *msgs, size_t n);

/* ---- offered by presence_client_table.c ---------------------------------------------------- */

/* The server's messages about the table, in AWAIT_TABLE (into pc->incoming, reported when the
 * last chunk converges it) or ONLINE (into pc->table, reported at once). A chunk after the
 * table was complete, or a table that cannot be kept, ends the channel. */
void pc_table_chunk(presence_client *pc, const Mim__TableChunk *tc);
void pc_table_add(presence_client *pc, const Mim__PeerInfo *pi);
void pc_table_del(presence_client *pc, const char *name);
void pc_table_status(presence_client *pc, const Mim__StatusUpdate *up);
/* Starts the grace for the entries a reconnect left unconfirmed, if any: at its end, those
 * still unconfirmed are reported offline. */
void pc_table_settle_start(presence_client *pc);

/* ---- offered by presence_client_directory.c (issue 14) ------------------------------------- */

/* A LookupResult or DirectoryPage: handled (1), or not one of them (0). */
int pc_directory_msg(presence_client *pc, const Mim__PresenceMsg *m);
/* Forgets the listing under way (the connection ended, or the client stops). */
void pc_directory_reset(presence_client *pc);
/* ---- offered by presence_client_mail.c (issue 14) ------------------------------------------ */

/* A DepositAck or a MailItem from the server (only from one that has MIM_FEATURE_MAILBOX: from
 * another, the channel ends). MailItems are kept until pc_mail_batch_end. */
void pc_mail_msg(presence_client *pc, const Mim__PresenceMsg *m);
/* The batch was handled: its MailItems go to the owner (on_mail), all at once, before the batch
 * is freed. */
void pc_mail_batch_end(presence_client *pc);
/* Frees what the mail side holds (the client is being freed). */
void pc_mail_free(presence_client *pc);
/* ---- offered by presence_client_bcast.c (issue 16) ----------------------------------------- */

/* The server's broadcaster list: to the owner (on_broadcasters) once its signature verifies
 * under our pin of the server's key; else logged and dropped. */
void pc_broadcasters_msg(presence_client *pc, const Mim__BroadcasterList *l);

#endif
