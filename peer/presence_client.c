/* The peer's connection to mim-presence (see presence_client.h for the contract).
 *
 * One connection at a time, a state machine over pc_phase driven by whole frames from its
 * mim_conn:
 *
 *   DIALLING --connect--> AWAIT_MSG2 --msg 2, pin checked / msg 3, header, Login-->
 *   AWAIT_HEADER --24 bytes--> AWAIT_TABLE --last chunk--> ONLINE
 *
 * Anything unexpected from the server closes the connection, and the close decides what comes
 * next: another attempt after a jittered backoff, nothing after a fatal Error, or the end of
 * presence_client_stop(). The table the client keeps lives across connections; the one being
 * received is kept apart until its last chunk, then converged into it. */
#include "presence_client.h"
#include "mim_codec.h"
#include "mim_conn.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PC_DEFAULT_PING_MS     30000
#define PC_DEFAULT_BACKOFF_MIN 500
#define PC_DEFAULT_BACKOFF_MAX 30000
#define PC_HANDSHAKE_FRAME     1024    /* framer maximum until the handshake is done */
#define PC_MAX_QUEUED          1048576 /* output cap: the client sends little */
#define PC_HANDSHAKE_MS        10000   /* connect to complete table; the server allows 5 s */
#define PC_DRAIN_MS            2000    /* stop(): how long the Logout may take to flush */
#define PC_SETTLE_MARGIN_MS    1000    /* added to backoff_max for unconfirmed entries */
#define PC_TABLE_MAX           1000000 /* entries; the server's own maximum is lower */

enum pc_phase {
    PC_IDLE = 0,     /* no connection */
    PC_DIALLING,     /* TCP connect in progress */
    PC_AWAIT_MSG2,   /* sent Noise message 1 */
    PC_AWAIT_HEADER, /* sent message 3, our stream header and the Login */
    PC_AWAIT_TABLE,  /* receiving TableChunks */
    PC_ONLINE,       /* the table is complete */
};

struct presence_client {
    uv_loop_t *loop;
    const mim_identity *id;
    char name[MIM_NAME_MAX_BYTES + 1];
    uint16_t listen_port;
    struct sockaddr_storage server;
    char server_str[MIM_ADDR_STRLEN];
    mim_store *store;
    uint32_t ping_ms, backoff_min_ms, backoff_max_ms;
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
    mim_conn *conn;
    enum pc_phase phase;
    mim_noise *hs; /* during the handshake only */
    mim_stream_tx tx;
    mim_stream_rx rx;
    int tx_ready;
    uint8_t rx_key[MIM_KEY_LEN]; /* between Split() and the server's stream header */
    uint64_t started;            /* uv_now when the dial began */
    uint64_t last_rx;            /* uv_now of the last frame from the server */
    uint64_t last_ping;          /* uv_now of our last Ping */
    online_table incoming;       /* the table being received, until its last chunk */

    online_table table; /* the last known table; entries' `session` marks unconfirmed ones */
    size_t unconfirmed; /* entries kept after a reconnect, awaiting their peer's return */
    int have_table;     /* a table was complete once: the next one is a reconnect */
    /* The server key the store confirmed (NEW or MATCH) in this client's lifetime: the old key
     * a CHANGED verdict reports. mim_store.h has no getter for the pinned server key, so a
     * client whose first contact already is a change cannot name the old key. */

    uv_timer_t retry_timer;  /* the next attempt */
    uv_timer_t ka_timer;     /* handshake deadline, keepalive, or stop()'s drain deadline */
    uv_timer_t settle_timer; /* the end of the grace for unconfirmed entries */
};

/* The mark on unconfirmed entries (online_entry.session is opaque to the table). */
static char unconfirmed_mark;
#define UNCONFIRMED ((void *)&unconfirmed_mark)

/* Transport plaintext: one frame at a time on the loop thread. */
static uint8_t plain_buf[MIM_FRAME_MAX];

static void on_frame(mim_conn *c, const uint8_t *frame, size_t len);
static void on_eof(mim_conn *c);
static void on_close(mim_conn *c, const char *reason);
static void on_connect(mim_conn *c, int status);
static void on_retry(uv_timer_t *t);
static void on_ka(uv_timer_t *t);
static void on_settle(uv_timer_t *t);
static void connect_now(presence_client *pc);

static const mim_conn_callbacks pc_callbacks = {
    .on_frame = on_frame,
    .on_eof = on_eof,
    .on_close = on_close,
    .on_connect = on_connect,
};

/* ---- events: none after stop() --------------------------------------------------------------- */

static void set_state(presence_client *pc, enum presence_client_state st)
{
    if (pc->state == st)
        return;
    pc->state = st;
    if (!pc->stopping && pc->ev.on_state != NULL)
        pc->ev.on_state(pc->ud, st, pc->server_str);
}

static int is_self(const presence_client *pc, const online_entry *e)
{
    return strcmp(e->name, pc->name) == 0 &&
           mim_equal_ct(e->identity_pk, pc->id->sign_pk, MIM_KEY_LEN);
}

static void emit_online(presence_client *pc, const online_entry *e)
{
    if (!pc->stopping && pc->ev.on_peer_online != NULL)
        pc->ev.on_peer_online(pc->ud, e, is_self(pc, e));
}

static void emit_offline(presence_client *pc, const char *name)
{
    if (!pc->stopping && pc->ev.on_peer_offline != NULL)
        pc->ev.on_peer_offline(pc->ud, name);
}

static void emit_status(presence_client *pc, const online_entry *e)
{
    if (!pc->stopping && pc->ev.on_peer_status != NULL)
        pc->ev.on_peer_status(pc->ud, e);
}

/* 1 when the current frame's processing must stop: the connection is going, or the owner
 * stopped the client from a callback. */
static int halted(const presence_client *pc)
{
    return pc->stopping || pc->conn == NULL || pc->conn->closing || pc->conn->draining;
}

/* ---- sending --------------------------------------------------------------------------------- */

/* Seals msgs as one batch in one frame with `tag`. On failure the connection is closed. */
static int send_batch(presence_client *pc, const Mim__PresenceMsg *const *msgs, size_t n, int tag)
{
    mim_buf b = {0};
    uint8_t *frame;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++)
        rc = mim_presence_batch_append(&b, msgs[i]);
    if (rc == 0 && b.len + MIM_STREAM_ABYTES > MIM_FRAME_MAX)
        rc = MIM_EOVERFLOW;
    if (rc == 0 && (frame = mim_conn_frame_new(b.len + MIM_STREAM_ABYTES)) == NULL)
        rc = MIM_ENOMEM;
    if (rc == 0) {
        rc = mim_stream_tx_seal(&pc->tx, b.data, b.len, tag, frame);
        if (rc == 0)
            rc = mim_conn_frame_send(pc->conn, frame);
        else
            mim_conn_frame_discard(frame);
    }
    mim_buf_wipe_free(&b);
    if (rc != 0)
        mim_conn_close(pc->conn, "cannot send to the server: %s", mim_strerror(rc));
    return rc;
}

static int send_one(presence_client *pc, const Mim__PresenceMsg *m, int tag)
{
    return send_batch(pc, &m, 1, tag);
}

static void status_msg(presence_client *pc, Mim__PresenceMsg *m, Mim__StatusSet *st)
{
    st->status = (Mim__Status)pc->status;
    st->text = pc->status_text;
    m->body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m->status_set = st;
}

/* ---- connection lifecycle -------------------------------------------------------------------- */

/* Forgets everything about the current connection (its keys first). */
static void session_reset(presence_client *pc)
{
    if (pc->hs != NULL) {
        mim_noise_wipe(pc->hs);
        free(pc->hs);
        pc->hs = NULL;
    }
    mim_stream_tx_wipe(&pc->tx);
    mim_stream_rx_wipe(&pc->rx);
    mim_wipe(pc->rx_key, sizeof(pc->rx_key));
    pc->tx_ready = 0;
    pc->phase = PC_IDLE;
    online_table_free(&pc->incoming);
}

static void on_handle_closed(uv_handle_t *h)
{
    presence_client *pc = h->data;
    void (*done)(void *) = pc->done;
    void *ud = pc->ud;

    if (--pc->handles_open > 0)
        return;
    online_table_free(&pc->table);
    online_table_free(&pc->incoming);
    mim_wipe(pc, sizeof(*pc));
    free(pc);
    if (done != NULL)
        done(ud);
}

/* Stopping, and the connection is gone: close the timers; the last close frees pc. */
static void finish(presence_client *pc)
{
    uv_timer_t *timers[] = {&pc->retry_timer, &pc->ka_timer, &pc->settle_timer};

    if (pc->handles_open > 0)
        return; /* already closing */
    pc->state = PRESENCE_DISCONNECTED;
    pc->handles_open = 3;
    for (size_t i = 0; i < 3; i++) {
        uv_timer_stop(timers[i]);
        uv_close((uv_handle_t *)timers[i], on_handle_closed);
    }
}

static void schedule_retry(presence_client *pc)
{
    uint32_t delay = mim_random_uniform(pc->backoff_ceiling + 1); /* full jitter */

    mim_log_debug("presence: next attempt to %s in %u ms", pc->server_str, (unsigned)delay);
    pc->backoff_ceiling =
        pc->backoff_ceiling > pc->backoff_max_ms / 2 ? pc->backoff_max_ms : pc->backoff_ceiling * 2;
    uv_timer_start(&pc->retry_timer, on_retry, delay, 0);
}

static void on_retry(uv_timer_t *t)
{
    presence_client *pc = t->data;
    if (!pc->stopping && pc->conn == NULL && !pc->fatal)
        connect_now(pc);
}

/* Re-arms the keepalive timer for the next thing it must check. */
static void ka_arm(presence_client *pc, uint64_t now)
{
    uint64_t ping = pc->ping_ms, next;

    if (pc->phase != PC_ONLINE) {
        next = pc->started + PC_HANDSHAKE_MS;
    } else {
        next = pc->last_rx + 3 * ping; /* dead */
        if (now < pc->last_rx + ping) {
            if (pc->last_rx + ping < next)
                next = pc->last_rx + ping; /* silent long enough to ping */
        } else if (pc->last_ping + ping < next) {
            next = pc->last_ping + ping; /* time for another ping */
        }
    }
    uv_timer_start(&pc->ka_timer, on_ka, next > now ? next - now : 1, 0);
}

static void on_ka(uv_timer_t *t)
{
    presence_client *pc = t->data;
    mim_conn *c = pc->conn;
    uint64_t now = uv_now(pc->loop);

    if (c == NULL || c->closing)
        return;
    if (c->draining) { /* stop(): the server did not close after our Logout */
        mim_conn_close(c, "logged out (the server did not close in time)");
        return;
    }
    if (pc->phase != PC_ONLINE) {
        if (now - pc->started >= PC_HANDSHAKE_MS) {
            mim_conn_close(c, "no complete login within %d ms", PC_HANDSHAKE_MS);
            return;
        }
    } else {
        if (now - pc->last_rx >= 3ull * pc->ping_ms) {
            mim_conn_close(c, "the server was silent for %llu ms",
                           (unsigned long long)(now - pc->last_rx));
            return;
        }
        if (now - pc->last_rx >= pc->ping_ms && now - pc->last_ping >= pc->ping_ms) {
            Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
            Mim__Ping ping = MIM__PING__INIT;
            ping.nonce = now;
            m.body_case = MIM__PRESENCE_MSG__BODY_PING;
            m.ping = &ping;
            pc->last_ping = now;
            if (send_one(pc, &m, MIM_STREAM_TAG_MESSAGE) != 0)
                return;
        }
    }
    ka_arm(pc, now);
}

static void connect_now(presence_client *pc)
{
    int rc;

    if (pc->announce) {
        pc->announce = 0;
        if (!pc->stopping && pc->ev.on_state != NULL)
            pc->ev.on_state(pc->ud, pc->state, pc->server_str);
    }
    if (pc->stopping)
        return; /* stopped from on_state */
    if (online_table_init(&pc->incoming) != 0) {
        mim_log_error("presence: out of memory");
        set_state(pc, PRESENCE_RECONNECTING);
        if (!pc->stopping)
            schedule_retry(pc);
        return;
    }
    pc->phase = PC_DIALLING;
    pc->started = pc->last_rx = pc->last_ping = uv_now(pc->loop);
    rc = mim_conn_connect(pc->loop, (const struct sockaddr *)&pc->server, &pc_callbacks, pc,
                          PC_HANDSHAKE_FRAME, PC_MAX_QUEUED, &pc->conn);
    if (rc != 0) {
        session_reset(pc);
        set_state(pc, PRESENCE_RECONNECTING);
        if (!pc->stopping)
            schedule_retry(pc);
        return;
    }
    mim_log_debug("presence: connecting to %s", pc->server_str);
    ka_arm(pc, pc->started);
}

static void on_connect(mim_conn *c, int status)
{
    presence_client *pc = c->data;
    uint8_t msg1[MIM_NOISE_MAX_MSG];
    size_t len;
    int rc;

    if (status != 0)
        return; /* on_close follows and schedules the next attempt */
    if ((pc->hs = calloc(1, sizeof(*pc->hs))) == NULL) {
        mim_conn_close(c, "out of memory");
        return;
    }
    rc = mim_noise_init(pc->hs, 1, MIM_NOISE_PROLOGUE_PRESENCE, strlen(MIM_NOISE_PROLOGUE_PRESENCE),
                        pc->id->dh_sk);
    if (rc == 0)
        rc = mim_noise_write(pc->hs, NULL, 0, msg1, sizeof(msg1), &len);
    if (rc == 0)
        rc = mim_conn_send(c, msg1, len);
    if (rc != 0) {
        mim_conn_close(c, "handshake message 1 failed: %s", mim_strerror(rc));
        return;
    }
    pc->phase = PC_AWAIT_MSG2;
}

static void on_eof(mim_conn *c)
{
    mim_conn_close(c, "the server closed the connection");
}

static void on_close(mim_conn *c, const char *reason)
{
    presence_client *pc = c->data;
    int was_online = pc->phase == PC_ONLINE;

    pc->conn = NULL;
    session_reset(pc);
    uv_timer_stop(&pc->ka_timer);
    uv_timer_stop(&pc->settle_timer); /* unconfirmed entries stay, stale with the rest */
    if (pc->stopping) {
        mim_log_debug("presence: connection to %s closed: %s", pc->server_str, reason);
        finish(pc);
        return;
    }
    mim_log(was_online ? MIM_LOG_WARN : MIM_LOG_INFO, "presence: connection to %s closed: %s",
            pc->server_str, reason);
    if (pc->fatal) {
        set_state(pc, PRESENCE_DISCONNECTED);
        return;
    }
    set_state(pc, PRESENCE_RECONNECTING);
    if (!pc->stopping)
        schedule_retry(pc);
}

/* ---- handshake ------------------------------------------------------------------------------- */

/* Checks the server's key against the pin and tells the owner. 0 to go on, else a code. */
static int check_server_key(presence_client *pc, const uint8_t pk[MIM_KEY_LEN])
{
    char fp[MIM_FINGERPRINT_LEN], old_fp[MIM_FINGERPRINT_LEN];
    uint8_t old[MIM_KEY_LEN];
    int verdict = mim_store_server_pin_check(pc->store, pk, (int64_t)time(NULL));
    int have_old = 0;

    mim_fingerprint(pk, fp);
    switch (verdict) {
    case MIM_PIN_NEW:
        mim_log_info("presence: server %s has key %s: pinned now (first contact)", pc->server_str,
                     fp);
        break;
    case MIM_PIN_MATCH:
        mim_log_debug("presence: server %s has the pinned key %s", pc->server_str, fp);
        break;
    case MIM_PIN_CHANGED: {
        mim_contact pin;
        have_old = mim_store_server_pin_get(pc->store, &pin) == 0;
        if (have_old) {
            memcpy(old, pin.identity_pk, MIM_KEY_LEN);
            mim_fingerprint(old, old_fp);
        } else {
            strcpy(old_fp, "(unknown)");
        }
        mim_log_warn("presence: WARNING: the server at %s has key %s, but the pinned key is %s. "
                     "Someone may be posing as the server; the table it sends is advisory.",
                     pc->server_str, fp, old_fp);
        break;
    }
    default:
        return verdict < 0 ? verdict : MIM_EINVAL;
    }
    if (!pc->stopping && pc->ev.on_server_key != NULL)
        pc->ev.on_server_key(pc->ud, verdict, pk, have_old ? old : NULL);
    mim_wipe(old, sizeof(old));
    return 0;
}

/* Message 3, our stream header and the Login (with our status when it is not the default),
 * back to back. */
static int send_login(presence_client *pc)
{
    uint8_t msg3[MIM_NOISE_MAX_MSG], header[MIM_STREAM_HEADER_LEN], sig[MIM_SIG_LEN];
    uint8_t hh[MIM_HASH_LEN];
    mim_noise_cipher c1, c2;
    mim_buf payload = {0};
    Mim__PresenceMsg login_m = MIM__PRESENCE_MSG__INIT, status_m = MIM__PRESENCE_MSG__INIT;
    const Mim__PresenceMsg *msgs[2] = {&login_m, &status_m};
    Mim__Login login = MIM__LOGIN__INIT;
    Mim__StatusSet st = MIM__STATUS_SET__INIT;
    size_t len;
    int rc;

    rc = mim_handshake_payload_encode(pc->id->sign_pk, pc->id->static_sig, pc->name, &payload);
    if (rc == 0)
        rc = mim_noise_write(pc->hs, payload.data, payload.len, msg3, sizeof(msg3), &len);
    mim_buf_free(&payload);
    if (rc != 0)
        return rc;
    memcpy(hh, mim_noise_handshake_hash(pc->hs), MIM_HASH_LEN);
    rc = mim_noise_split(pc->hs, &c1, &c2);
    mim_noise_wipe(pc->hs);
    free(pc->hs);
    pc->hs = NULL;
    /* c1: initiator -> responder, ours to send with; c2 keys the server's stream, whose
     * header comes next. */
    if (rc == 0) {
        memcpy(pc->rx_key, c2.k, MIM_KEY_LEN);
        rc = mim_stream_tx_init(&pc->tx, c1.k, header);
    }
    mim_wipe(&c1, sizeof(c1));
    mim_wipe(&c2, sizeof(c2));
    if (rc == 0)
        rc = mim_login_sign(pc->id, hh, pc->name, strlen(pc->name), pc->listen_port, sig);
    if (rc == 0)
        rc = mim_conn_send(pc->conn, msg3, len);
    if (rc == 0)
        rc = mim_conn_send(pc->conn, header, sizeof(header));
    if (rc != 0)
        return rc;
    pc->tx_ready = 1;

    login.name = pc->name;
    login.listen_port = pc->listen_port;
    login.identity_pk.data = (uint8_t *)pc->id->sign_pk;
    login.identity_pk.len = MIM_KEY_LEN;
    login.static_sig.data = (uint8_t *)pc->id->static_sig;
    login.static_sig.len = MIM_SIG_LEN;
    login.login_sig.data = sig;
    login.login_sig.len = MIM_SIG_LEN;
    login_m.body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
    login_m.login = &login;
    status_msg(pc, &status_m, &st);
    /* A fresh session starts AVAILABLE with no text: restore ours if it differs. */
    return send_batch(
        pc, msgs, pc->status == MIM__STATUS__STATUS_AVAILABLE && pc->status_text[0] == '\0' ? 1 : 2,
        MIM_STREAM_TAG_MESSAGE);
}

static void handle_msg2(presence_client *pc, const uint8_t *frame, size_t len)
{
    uint8_t payload[MIM_NOISE_MAX_MSG];
    Mim__HandshakePayload *hp = NULL;
    char err[128];
    size_t plen;
    int rc;

    /* The server must prove its static key, have its identity key vouch for it, and match
     * our pin -- all before message 3 reveals who we are. */
    rc = mim_noise_read(pc->hs, frame, len, payload, sizeof(payload), &plen);
    if (rc != 0) {
        mim_conn_close(pc->conn, "handshake message 2 rejected: %s", mim_strerror(rc));
        return;
    }
    rc = mim_handshake_payload_decode(payload, plen, MIM_HS_NAME_EMPTY, &hp, err, sizeof(err));
    if (rc != 0) {
        mim_conn_close(pc->conn, "server handshake payload rejected: %s", err);
        return;
    }
    if (mim_static_sig_verify(hp->identity_pk.data, mim_noise_remote_static(pc->hs),
                              hp->static_sig.data) != 0) {
        mim_handshake_payload_free(hp);
        mim_conn_close(pc->conn, "the server's static key is not signed by its identity key");
        return;
    }
    rc = check_server_key(pc, hp->identity_pk.data);
    mim_handshake_payload_free(hp);
    if (rc != 0) {
        mim_conn_close(pc->conn, "cannot check the server's key against its pin: %s",
                       mim_strerror(rc));
        return;
    }
    if (halted(pc))
        return; /* stopped from on_server_key */
    if ((rc = send_login(pc)) != 0) {
        mim_conn_close(pc->conn, "login failed: %s", mim_strerror(rc));
        return;
    }
    mim_framer_set_max(&pc->conn->framer, MIM_FRAME_MAX);
    pc->phase = PC_AWAIT_HEADER;
}

static void handle_header(presence_client *pc, const uint8_t *frame, size_t len)
{
    int rc;

    if (len != MIM_STREAM_HEADER_LEN) {
        mim_conn_close(pc->conn, "server stream header is %zu bytes, not %d", len,
                       MIM_STREAM_HEADER_LEN);
        return;
    }
    rc = mim_stream_rx_init(&pc->rx, pc->rx_key, frame);
    mim_wipe(pc->rx_key, sizeof(pc->rx_key));
    if (rc != 0) {
        mim_conn_close(pc->conn, "server stream header rejected: %s", mim_strerror(rc));
        return;
    }
    pc->phase = PC_AWAIT_TABLE;
}

/* ---- the table ------------------------------------------------------------------------------- */

static void entry_from_info(online_entry *e, const Mim__PeerInfo *pi)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", pi->name);
    memcpy(e->identity_pk, pi->identity_pk.data, MIM_KEY_LEN);
    memcpy(e->addr, pi->addr.data, pi->addr.len);
    e->addr_len = (uint8_t)pi->addr.len;
    e->port = (uint16_t)pi->port;
    e->status = (int)pi->status;
    snprintf(e->status_text, sizeof(e->status_text), "%s", pi->status_text);
}

/* 1 when where to reach the peer, or who it is, differs. */
static int entry_moved(const online_entry *a, const online_entry *b)
{
    return a->port != b->port || a->addr_len != b->addr_len ||
           memcmp(a->addr, b->addr, a->addr_len) != 0 ||
           memcmp(a->identity_pk, b->identity_pk, MIM_KEY_LEN) != 0;
}

static int entry_status_differs(const online_entry *a, const online_entry *b)
{
    return a->status != b->status || strcmp(a->status_text, b->status_text) != 0;
}

static void confirm(presence_client *pc, online_entry *e)
{
    if (e->session == UNCONFIRMED) {
        e->session = NULL;
        if (--pc->unconfirmed == 0)
            uv_timer_stop(&pc->settle_timer);
    }
}

static void forget(presence_client *pc, online_table *t, online_entry *e)
{
    if (t == &pc->table)
        confirm(pc, e);
    online_table_remove(t, e);
}

/* An entry from the server (an add, or a table entry when not reporting): replaces the one of
 * that name in t. With report set, tells the owner what changed. 0 or a negative code. */
static int apply_entry(presence_client *pc, online_table *t, const online_entry *n, int report)
{
    online_entry *o = online_table_find_name(t, n->name), *added;
    int rc;

    if (o != NULL && t == &pc->table)
        confirm(pc, o);
    if (o != NULL && memcmp(o->identity_pk, n->identity_pk, MIM_KEY_LEN) == 0) {
        int moved = entry_moved(o, n), status = entry_status_differs(o, n);
        /* Same key: update in place, which keeps the entry's place in the table. */
        memcpy(o->addr, n->addr, sizeof(o->addr));
        o->addr_len = n->addr_len;
        o->port = n->port;
        o->status = n->status;
        memcpy(o->status_text, n->status_text, sizeof(o->status_text));
        if (report && moved)
            emit_online(pc, o);
        else if (report && status)
            emit_status(pc, o);
        return 0;
    }
    if (o != NULL)
        online_table_remove(t, o); /* another key: the by-key index must follow */
    if (online_table_count(t) >= PC_TABLE_MAX)
        return MIM_EOVERFLOW;
    if ((rc = online_table_add(t, n, &added)) != 0)
        return rc;
    added->session = NULL;
    if (report)
        emit_online(pc, added);
    return 0;
}

static void on_settle(uv_timer_t *t)
{
    presence_client *pc = t->data;
    online_entry *e, *next;

    /* Whoever did not come back within the grace is gone. */
    for (e = online_table_first(&pc->table); e != NULL; e = next) {
        char name[ONLINE_NAME_MAX + 1];
        next = online_table_next(e);
        if (e->session != UNCONFIRMED)
            continue;
        memcpy(name, e->name, sizeof(name));
        forget(pc, &pc->table, e);
        emit_offline(pc, name);
        if (pc->stopping)
            return;
    }
}

/* The last chunk arrived: the new table replaces the old one, and the owner hears the
 * difference. After a reconnect, names missing from the new table are kept unconfirmed for a
 * while instead of being reported offline at once (see presence_client.h). */
static void converge(presence_client *pc)
{
    online_table old = pc->table;
    int reconnect = pc->have_table;
    online_entry *e;
    int rc = 0;

    pc->table = pc->incoming;
    pc->unconfirmed = 0;
    if ((rc = online_table_init(&pc->incoming)) != 0) {
        pc->incoming = old; /* freed with the connection */
        mim_conn_close(pc->conn, "out of memory");
        return;
    }
    for (e = online_table_first(&pc->table); e != NULL; e = online_table_next(e))
        e->session = NULL;
    if (reconnect) {
        for (e = online_table_first(&old); e != NULL && rc == 0; e = online_table_next(e)) {
            online_entry *kept;
            if (online_table_find_name(&pc->table, e->name) != NULL)
                continue;
            if ((rc = online_table_add(&pc->table, e, &kept)) == 0) {
                kept->session = UNCONFIRMED;
                pc->unconfirmed++;
            }
        }
    }
    pc->have_table = 1;
    pc->phase = PC_ONLINE;
    pc->backoff_ceiling = pc->backoff_min_ms;
    pc->last_rx = uv_now(pc->loop);
    ka_arm(pc, pc->last_rx);
    if (pc->unconfirmed > 0)
        uv_timer_start(&pc->settle_timer, on_settle,
                       (uint64_t)pc->backoff_max_ms + PC_SETTLE_MARGIN_MS, 0);
    mim_log_info("presence: logged in to %s as %s; %zu online", pc->server_str, pc->name,
                 online_table_count(&pc->table) - pc->unconfirmed);
    set_state(pc, PRESENCE_CONNECTED);

    /* Offline: in the old table, in neither the new one nor kept. */
    for (e = online_table_first(&old); e != NULL && !pc->stopping; e = online_table_next(e))
        if (online_table_find_name(&pc->table, e->name) == NULL)
            emit_offline(pc, e->name);
    /* Online: new or moved; status: the rest, changed. */
    for (e = online_table_first(&pc->table); e != NULL && !pc->stopping; e = online_table_next(e)) {
        online_entry *o = online_table_find_name(&old, e->name);
        if (e->session == UNCONFIRMED)
            continue;
        if (o == NULL || entry_moved(o, e))
            emit_online(pc, e);
        else if (entry_status_differs(o, e))
            emit_status(pc, e);
    }
    online_table_free(&old);
    if (rc != 0 && !halted(pc))
        mim_conn_close(pc->conn, "cannot keep the table: %s", mim_strerror(rc));
}

/* ---- presence messages ----------------------------------------------------------------------- */

static void handle_table(presence_client *pc, const Mim__TableChunk *tc)
{
    int rc = 0;

    if (pc->phase != PC_AWAIT_TABLE) {
        mim_conn_close(pc->conn, "a table chunk after the table was complete");
        return;
    }
    for (size_t i = 0; i < tc->n_peers && rc == 0; i++) {
        online_entry e;
        entry_from_info(&e, tc->peers[i]);
        rc = apply_entry(pc, &pc->incoming, &e, 0);
    }
    if (rc != 0) {
        mim_conn_close(pc->conn, "cannot keep the table: %s", mim_strerror(rc));
        return;
    }
    if (tc->last)
        converge(pc);
}

static void handle_add(presence_client *pc, const Mim__PeerInfo *pi)
{
    int online = pc->phase == PC_ONLINE;
    online_entry e;
    int rc;

    entry_from_info(&e, pi);
    rc = apply_entry(pc, online ? &pc->table : &pc->incoming, &e, online);
    if (rc != 0 && !halted(pc))
        mim_conn_close(pc->conn, "cannot keep the table: %s", mim_strerror(rc));
}

static void handle_del(presence_client *pc, const char *name)
{
    int online = pc->phase == PC_ONLINE;
    online_table *t = online ? &pc->table : &pc->incoming;
    online_entry *e = online_table_find_name(t, name);

    if (e == NULL)
        return; /* unknown: nothing to do */
    forget(pc, t, e);
    if (online)
        emit_offline(pc, name);
}

static void handle_status(presence_client *pc, const Mim__StatusUpdate *up)
{
    int online = pc->phase == PC_ONLINE;
    online_table *t = online ? &pc->table : &pc->incoming;
    online_entry *e = online_table_find_name(t, up->name);

    if (e == NULL)
        return;
    if (e->status == (int)up->status && strcmp(e->status_text, up->text) == 0)
        return;
    if (online_table_set_status(t, e, (int)up->status, up->text) != 0)
        return; /* cannot happen: the codec checked the text's length */
    if (online)
        emit_status(pc, e);
}

static int error_fatal(int code)
{
    switch (code) {
    case MIM__ERROR_CODE__ERROR_NAME_TAKEN:
    case MIM__ERROR_CODE__ERROR_BAD_NAME:
    case MIM__ERROR_CODE__ERROR_BAD_SIGNATURE:
    case MIM__ERROR_CODE__ERROR_REPLACED: /* reconnecting would fight the other process */
        return 1;
    default:
        return 0;
    }
}

static void handle_error(presence_client *pc, const Mim__Error *err)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mim__error_code__descriptor, err->code);
    int fatal = error_fatal(err->code);

    /* The codec checked the text: valid UTF-8 without control characters, safe to log. */
    mim_log(fatal ? MIM_LOG_ERROR : MIM_LOG_WARN, "presence: the server refused %s: %s: %s%s",
            pc->name, v != NULL ? v->name : "ERROR_UNKNOWN", err->message,
            fatal ? " (not retrying)" : "");
    if (fatal)
        pc->fatal = 1;
    if (!pc->stopping && pc->ev.on_error != NULL)
        pc->ev.on_error(pc->ud, (int)err->code, err->message, fatal);
    if (pc->conn != NULL)
        mim_conn_close(pc->conn, "server error %d: %s", (int)err->code, err->message);
}

static void handle_msg(presence_client *pc, const Mim__PresenceMsg *m)
{
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_TABLE:
        handle_table(pc, m->table);
        break;
    case MIM__PRESENCE_MSG__BODY_ADD:
        handle_add(pc, m->add->peer);
        break;
    case MIM__PRESENCE_MSG__BODY_DEL:
        handle_del(pc, m->del->name);
        break;
    case MIM__PRESENCE_MSG__BODY_STATUS:
        handle_status(pc, m->status);
        break;
    case MIM__PRESENCE_MSG__BODY_PING: {
        Mim__PresenceMsg r = MIM__PRESENCE_MSG__INIT;
        Mim__Pong pong = MIM__PONG__INIT;
        pong.nonce = m->ping->nonce;
        r.body_case = MIM__PRESENCE_MSG__BODY_PONG;
        r.pong = &pong;
        (void)send_one(pc, &r, MIM_STREAM_TAG_MESSAGE);
        break;
    }
    case MIM__PRESENCE_MSG__BODY_PONG:
        break; /* last_rx was updated with the frame */
    case MIM__PRESENCE_MSG__BODY_ERROR:
        handle_error(pc, m->error);
        break;
    default: /* the codec lets only server -> peer messages through */
        mim_conn_close(pc->conn, "unexpected message %d from the server", (int)m->body_case);
        break;
    }
}

static void handle_transport(presence_client *pc, const uint8_t *frame, size_t len)
{
    Mim__PresenceBatch *b = NULL;
    char err[160];
    size_t plen;
    int tag, rc;

    if (len < MIM_STREAM_ABYTES) {
        mim_conn_close(pc->conn, "transport frame of %zu bytes is too short", len);
        return;
    }
    rc = mim_stream_rx_open(&pc->rx, frame, len, plain_buf, &plen, &tag);
    if (rc != 0) {
        /* Tampered, replayed, reordered or truncated: nothing after it can be trusted. */
        mim_conn_close(pc->conn, "decryption failed: frame modified, replayed or out of order");
        return;
    }
    if (plen == 0) {
        mim_conn_close(pc->conn, tag == MIM_STREAM_TAG_FINAL ? "the server ended the session"
                                                             : "an empty batch from the server");
        return;
    }
    rc = mim_presence_batch_decode(plain_buf, plen, MIM_FROM_SERVER, &b, err, sizeof(err));
    mim_wipe(plain_buf, plen);
    if (rc != 0) {
        mim_conn_close(pc->conn, "malformed batch from the server: %s", err);
        return;
    }
    for (size_t i = 0; i < b->n_msgs && !halted(pc); i++)
        handle_msg(pc, b->msgs[i]);
    mim_presence_batch_free(b);
    if (tag == MIM_STREAM_TAG_FINAL && !halted(pc))
        mim_conn_close(pc->conn, "the server ended the session");
}

static void on_frame(mim_conn *c, const uint8_t *frame, size_t len)
{
    presence_client *pc = c->data;

    pc->last_rx = uv_now(pc->loop);
    switch (pc->phase) {
    case PC_AWAIT_MSG2:
        handle_msg2(pc, frame, len);
        break;
    case PC_AWAIT_HEADER:
        handle_header(pc, frame, len);
        break;
    case PC_AWAIT_TABLE:
    case PC_ONLINE:
        handle_transport(pc, frame, len);
        break;
    default:
        mim_conn_close(c, "a frame before the handshake began");
        break;
    }
}

/* ---- the API --------------------------------------------------------------------------------- */

int presence_client_start(presence_client **out, const presence_client_config *cfg,
                          const presence_client_events *ev, void *ud)
{
    presence_client *pc;
    uv_timer_t *timers[3];
    size_t name_len;

    if (out == NULL)
        return MIM_EINVAL;
    *out = NULL;
    if (cfg == NULL || cfg->loop == NULL || cfg->id == NULL || cfg->store == NULL ||
        cfg->name == NULL || cfg->listen_port == 0 ||
        (cfg->server.ss_family != AF_INET && cfg->server.ss_family != AF_INET6))
        return MIM_EINVAL;
    name_len = strlen(cfg->name);
    if (!mim_name_valid(cfg->name, name_len))
        return MIM_EINVAL;
    if ((pc = calloc(1, sizeof(*pc))) == NULL)
        return MIM_ENOMEM;
    pc->loop = cfg->loop;
    pc->id = cfg->id;
    memcpy(pc->name, cfg->name, name_len + 1);
    pc->listen_port = cfg->listen_port;
    pc->server = cfg->server;
    mim_addr_format((const struct sockaddr *)&pc->server, pc->server_str);
    pc->store = cfg->store;
    pc->ping_ms = cfg->ping_interval_ms != 0 ? cfg->ping_interval_ms : PC_DEFAULT_PING_MS;
    pc->backoff_min_ms = cfg->backoff_min_ms != 0 ? cfg->backoff_min_ms : PC_DEFAULT_BACKOFF_MIN;
    pc->backoff_max_ms = cfg->backoff_max_ms != 0 ? cfg->backoff_max_ms : PC_DEFAULT_BACKOFF_MAX;
    if (pc->backoff_min_ms > pc->backoff_max_ms) {
        free(pc);
        return MIM_EINVAL;
    }
    pc->backoff_ceiling = pc->backoff_min_ms;
    if (ev != NULL)
        pc->ev = *ev;
    pc->ud = ud;
    pc->status = MIM__STATUS__STATUS_AVAILABLE;
    if (online_table_init(&pc->table) != 0) {
        free(pc);
        return MIM_ENOMEM;
    }
    timers[0] = &pc->retry_timer;
    timers[1] = &pc->ka_timer;
    timers[2] = &pc->settle_timer;
    for (size_t i = 0; i < 3; i++) {
        uv_timer_init(pc->loop, timers[i]); /* cannot fail */
        timers[i]->data = pc;
    }
    *out = pc;
    /* The first attempt starts from the loop, so no event runs inside this call. */
    pc->state = PRESENCE_CONNECTING;
    pc->announce = 1;
    uv_timer_start(&pc->retry_timer, on_retry, 0, 0);
    return 0;
}

int presence_client_set_status(presence_client *pc, int status, const char *text)
{
    size_t len;

    if (pc == NULL || text == NULL || status < MIM__STATUS__STATUS_AVAILABLE ||
        status > MIM__STATUS__STATUS_BUSY)
        return MIM_EINVAL;
    len = strlen(text);
    if (!mim_text_valid(text, len, MIM_STATUS_TEXT_MAX))
        return MIM_EINVAL;
    pc->status = status;
    memcpy(pc->status_text, text, len + 1);
    /* Logged in (the Login went out): send it now; otherwise the next Login carries it. */
    if (pc->conn != NULL && pc->tx_ready && !halted(pc)) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__StatusSet st = MIM__STATUS_SET__INIT;
        status_msg(pc, &m, &st);
        (void)send_one(pc, &m, MIM_STREAM_TAG_MESSAGE); /* a failure closes: resent at login */
    }
    return 0;
}

void presence_client_stop(presence_client *pc, void (*done)(void *ud))
{
    mim_conn *c;

    if (pc == NULL || pc->stopping)
        return;
    pc->stopping = 1;
    pc->done = done;
    uv_timer_stop(&pc->retry_timer);
    uv_timer_stop(&pc->settle_timer);
    c = pc->conn;
    if (c == NULL) {
        finish(pc);
        return;
    }
    if (c->closing)
        return; /* on_close finishes */
    if (c->draining) {
        mim_conn_close(c, "stopped");
        return;
    }
    if (pc->tx_ready) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Logout lo = MIM__LOGOUT__INIT;
        m.body_case = MIM__PRESENCE_MSG__BODY_LOGOUT;
        m.logout = &lo;
        if (send_one(pc, &m, MIM_STREAM_TAG_FINAL) == 0) {
            /* Flush the Logout; the server closes on reading it. Bounded by the ka timer. */
            mim_conn_drain(c, "logged out");
            uv_timer_start(&pc->ka_timer, on_ka, PC_DRAIN_MS, 0);
            return;
        }
        return; /* send_one closed the connection */
    }
    mim_conn_close(c, "stopped");
}

enum presence_client_state presence_client_state(const presence_client *pc)
{
    return pc->state;
}

const online_table *presence_client_table(const presence_client *pc)
{
    return &pc->table;
}

int presence_client_table_stale(const presence_client *pc)
{
    return pc->state != PRESENCE_CONNECTED;
}
