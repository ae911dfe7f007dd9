/* One connection to mim-presence, from accept to close: a state machine over
 * session_state (server.h), driven by whole frames from its mim_conn.
 *
 *   AWAIT_MSG1 --e--> AWAIT_MSG3 --s,se--> AWAIT_HEADER --24 bytes--> AWAIT_LOGIN --Login--> ONLINE
 *
 * Until ONLINE the connection counts against the admission caps and the handshake deadline. Any
 * bad input closes only this connection, with a logged reason. */
#include "server.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void on_frame(mim_conn *c, const uint8_t *frame, size_t len);
static void on_eof(mim_conn *c);
static void on_close(mim_conn *c, const char *reason);

static const mim_conn_callbacks session_callbacks = {
    .on_frame = on_frame,
    .on_eof = on_eof,
    .on_close = on_close,
    .on_connect = NULL,
};

/* The peer's name for logs: its claimed name once known, else its address. */
static const char *who(const session *s)
{
    return s->name[0] != '\0' ? s->name : "-";
}

void session_accept(presence_server *srv, uv_stream_t *listener)
{
    session *s = calloc(1, sizeof(*s));
    mim_conn *c;
    int rc, verdict;

    if (s == NULL) {
        mim_log_error("accept: out of memory");
        return;
    }
    rc = mim_conn_accept(listener, &session_callbacks, s, PRESENCE_HANDSHAKE_FRAME,
                         PRESENCE_HANDSHAKE_FRAME * 4, &c);
    if (rc != 0) {
        mim_log_warn("accept failed: %s", mim_strerror(rc));
        free(s);
        return;
    }
    s->srv = srv;
    s->conn = c;
    s->started = s->last_rx = uv_now(srv->loop);
    s->ip_len = (uint8_t)mim_addr_raw((struct sockaddr *)&c->remote, s->ip);
    s->next = srv->sessions;
    if (srv->sessions != NULL)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->nsessions++;

    if (srv->stopping) {
        mim_conn_close(c, "server is shutting down");
        return;
    }
    verdict = admission_enter(&srv->admit, s->ip, s->ip_len, s->started);
    if (verdict != ADMIT_OK) {
        mim_conn_close(c, "refused: %s", admission_reason(verdict));
        return;
    }
    s->unauth_counted = 1;
    mim_log_debug("conn %llu: accepted from %s", (unsigned long long)c->id, c->remote_str);
}

static void leave_unauth(session *s)
{
    if (s->unauth_counted) {
        admission_leave(&s->srv->admit, s->ip, s->ip_len);
        s->unauth_counted = 0;
    }
}

static void free_handshake(session *s)
{
    if (s->hs != NULL) {
        mim_noise_wipe(s->hs);
        free(s->hs);
        s->hs = NULL;
    }
}

static const char *error_code_name(Mim__ErrorCode code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mim__error_code__descriptor, code);
    return v != NULL ? v->name : "ERROR_UNKNOWN";
}

/* Removes s from the online table and tells everyone else, once. Called as soon as the server
 * decides a peer is gone -- not when its socket finally closes, which for a peer that does not
 * read its last frame can be seconds later. */
static void go_offline(session *s)
{
    presence_server *srv = s->srv;
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerDelete del = MIM__PEER_DELETE__INIT;

    if (s->entry == NULL)
        return;
    online_table_remove(&srv->table, s->entry);
    s->entry = NULL;
    if (srv->stopping)
        return; /* everyone is being told the server is going: no delete storm */
    del.name = s->name;
    m.body_case = MIM__PRESENCE_MSG__BODY_DEL;
    m.del = &del;
    broadcast_all(srv, &m, s);
}

void session_fail(session *s, Mim__ErrorCode code, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    if (s->conn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (s->conn->closing || s->conn->draining)
        return;
    mim_log_info("conn %llu: refusing %s: %s: %s", (unsigned long long)s->conn->id, who(s),
                 error_code_name(code), reason);
    go_offline(s);
    if (s->tx_ready) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Error e = MIM__ERROR__INIT;
        e.code = code;
        e.message = reason;
        m.body_case = MIM__PRESENCE_MSG__BODY_ERROR;
        m.error = &e;
        if (broadcast_to(s, &m) == 0 && broadcast_flush_session(s, MIM_STREAM_TAG_FINAL) == 0) {
            mim_conn_drain(s->conn, "%s", reason);
            return;
        }
    }
    mim_conn_close(s->conn, "%s", reason);
}

/* ---- handshake ------------------------------------------------------------------------------ */

static void handle_msg1(session *s, const uint8_t *frame, size_t len)
{
    presence_server *srv = s->srv;
    uint8_t out[MIM_NOISE_MAX_MSG];
    mim_buf payload = {0};
    size_t out_len, plen;
    int rc;

    /* Message 1 is `e` and an empty payload: exactly 32 bytes, nothing else is accepted. */
    if (len != MIM_KEY_LEN) {
        mim_conn_close(s->conn, "handshake message 1 is %zu bytes, not %d", len, MIM_KEY_LEN);
        return;
    }
    if ((s->hs = calloc(1, sizeof(*s->hs))) == NULL) {
        mim_conn_close(s->conn, "out of memory");
        return;
    }
    rc = mim_noise_init(s->hs, 0, MIM_NOISE_PROLOGUE_PRESENCE, strlen(MIM_NOISE_PROLOGUE_PRESENCE),
                        srv->id->dh_sk);
    if (rc == 0)
        rc = mim_noise_read(s->hs, frame, len, out, sizeof(out), &plen);
    if (rc != 0) {
        mim_conn_close(s->conn, "handshake message 1 rejected: %s", mim_strerror(rc));
        return;
    }
    rc = mim_handshake_payload_encode(srv->id->sign_pk, srv->id->static_sig, "", &payload);
    if (rc == 0)
        rc = mim_noise_write(s->hs, payload.data, payload.len, out, sizeof(out), &out_len);
    mim_buf_free(&payload);
    if (rc == 0)
        rc = mim_conn_send(s->conn, out, out_len);
    if (rc != 0) {
        mim_conn_close(s->conn, "handshake message 2 failed: %s", mim_strerror(rc));
        return;
    }
    s->state = SESSION_AWAIT_MSG3;
}

static void handle_msg3(session *s, const uint8_t *frame, size_t len)
{
    uint8_t payload[MIM_NOISE_MAX_MSG];
    uint8_t header[MIM_STREAM_HEADER_LEN];
    mim_noise_cipher c1, c2;
    Mim__HandshakePayload *hp = NULL;
    char err[128];
    size_t plen;
    int rc, name_ok;

    rc = mim_noise_read(s->hs, frame, len, payload, sizeof(payload), &plen);
    if (rc != 0) {
        mim_conn_close(s->conn, "handshake message 3 rejected: %s", mim_strerror(rc));
        return;
    }
    rc = mim_handshake_payload_decode(payload, plen, MIM_HS_NAME_ANY, &hp, err, sizeof(err));
    if (rc != 0) {
        mim_conn_close(s->conn, "handshake payload rejected: %s", err);
        return;
    }
    /* The identity key vouches for the Noise static key the peer just proved it holds. */
    rc = mim_static_sig_verify(hp->identity_pk.data, mim_noise_remote_static(s->hs),
                               hp->static_sig.data);
    if (rc != 0) {
        mim_handshake_payload_free(hp);
        mim_conn_close(s->conn, "handshake: static key not signed by the identity key");
        return;
    }
    memcpy(s->identity_pk, hp->identity_pk.data, MIM_KEY_LEN);
    memcpy(s->static_sig, hp->static_sig.data, MIM_SIG_LEN);
    /* Only a valid name is kept: everything later logs s->name, and an invalid one could carry
     * terminal escapes or bidi overrides to the admin's screen. */
    name_ok = mim_name_valid(hp->name, strlen(hp->name));
    if (name_ok) {
        snprintf(s->name, sizeof(s->name), "%s", hp->name);
    } else {
        char sample[64];
        mim_log_sample(sample, sizeof(sample), (const uint8_t *)hp->name, strlen(hp->name));
        mim_log_info("conn %llu: invalid name in handshake (bytes %s)",
                     (unsigned long long)s->conn->id, sample);
    }
    mim_handshake_payload_free(hp);
    memcpy(s->hh, mim_noise_handshake_hash(s->hs), MIM_HASH_LEN);

    rc = mim_noise_split(s->hs, &c1, &c2);
    free_handshake(s);
    /* c1 carries initiator -> responder (what we receive), c2 the other way. The receive
     * stream can only be keyed once the peer's stream header arrives: keep its key till then. */
    if (rc == 0) {
        memcpy(s->rx_key, c1.k, MIM_KEY_LEN);
        rc = mim_stream_tx_init(&s->tx, c2.k, header);
    }
    mim_wipe(&c1, sizeof(c1));
    mim_wipe(&c2, sizeof(c2));
    if (rc == 0)
        rc = mim_conn_send(s->conn, header, sizeof(header));
    if (rc != 0) {
        mim_conn_close(s->conn, "transport setup failed: %s", mim_strerror(rc));
        return;
    }
    s->tx_ready = 1;
    s->state = SESSION_AWAIT_HEADER;
    /* Refused only now, with the transport up, so the user is told why. */
    if (!name_ok)
        session_fail(s, MIM__ERROR_CODE__ERROR_BAD_NAME,
                     "a name is 1-32 characters of UTF-8, without control or invisible "
                     "characters or spaces at either end");
}

static void handle_header(session *s, const uint8_t *frame, size_t len)
{
    int rc;

    if (len != MIM_STREAM_HEADER_LEN) {
        mim_conn_close(s->conn, "stream header is %zu bytes, not %d", len, MIM_STREAM_HEADER_LEN);
        return;
    }
    rc = mim_stream_rx_init(&s->rx, s->rx_key, frame);
    mim_wipe(s->rx_key, sizeof(s->rx_key));
    if (rc != 0) {
        mim_conn_close(s->conn, "stream header rejected: %s", mim_strerror(rc));
        return;
    }
    s->state = SESSION_AWAIT_LOGIN;
}

/* ---- presence messages ------------------------------------------------------------------- */

static void entry_info(const online_entry *e, Mim__PeerInfo *pi)
{
    mim_peer_info_init(pi, e->name, e->addr, e->addr_len, e->port, e->identity_pk, e->status,
                       e->status_text);
}

/* Sends the whole online table to s, in chunks sized by their encoded bytes so each fits one
 * frame whatever the names, addresses and status texts. */
static int send_table(session *s)
{
    presence_server *srv = s->srv;
    /* Room for the chunk's own wrapping: batch element and oneof tags, lengths, `last`. */
    enum { CHUNK_BYTES = PRESENCE_MAX_PLAINTEXT - 32, CHUNK_MAX = 1024 };
    Mim__PeerInfo *infos = malloc(CHUNK_MAX * sizeof(*infos));
    Mim__PeerInfo **ptrs = malloc(CHUNK_MAX * sizeof(*ptrs));
    online_entry *e = online_table_first(&srv->table);
    int rc = 0;

    if (infos == NULL || ptrs == NULL) {
        free(infos);
        free(ptrs);
        mim_conn_close(s->conn, "out of memory sending the table");
        return MIM_ENOMEM;
    }
    do {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__TableChunk t = MIM__TABLE_CHUNK__INIT;
        size_t n = 0, bytes = 0;
        for (; e != NULL && n < CHUNK_MAX; e = online_table_next(e), n++) {
            size_t cost;
            entry_info(e, &infos[n]);
            /* An entry costs its encoding plus a tag byte and a length of at most 2 bytes. */
            cost = mim__peer_info__get_packed_size(&infos[n]) + 3;
            if (bytes + cost > CHUNK_BYTES)
                break;
            bytes += cost;
            ptrs[n] = &infos[n];
        }
        t.peers = ptrs;
        t.n_peers = n;
        t.last = e == NULL;
        m.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
        m.table = &t;
        rc = broadcast_to(s, &m);
    } while (rc == 0 && e != NULL);
    free(infos);
    free(ptrs);
    return rc;
}

static void handle_login(session *s, const Mim__Login *l)
{
    presence_server *srv = s->srv;
    online_entry e, *old, *added;
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;
    Mim__PeerInfo pi;
    int rc, claim, replacing;
    size_t name_len = strlen(l->name);

    if (strcmp(l->name, s->name) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "login name differs from handshake");
        return;
    }
    if (!mim_equal_ct(l->identity_pk.data, s->identity_pk, MIM_KEY_LEN) ||
        !mim_equal_ct(l->static_sig.data, s->static_sig, MIM_SIG_LEN) ||
        mim_login_verify(s->identity_pk, s->hh, l->name, name_len, (uint16_t)l->listen_port,
                         l->login_sig.data) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_BAD_SIGNATURE, "login signature does not verify");
        return;
    }
    old = online_table_find_name(&srv->table, l->name);
    replacing = old != NULL;
    if (!replacing && online_table_count(&srv->table) >= srv->cfg.max_peers) {
        session_fail(s, MIM__ERROR_CODE__ERROR_SERVER_FULL, "server full (%u peers online)",
                     (unsigned)srv->cfg.max_peers);
        return;
    }
    claim = mim_store_name_claim(srv->store, l->name, s->identity_pk, (int64_t)time(NULL));
    if (claim == MIM_ETAKEN) {
        session_fail(s, MIM__ERROR_CODE__ERROR_NAME_TAKEN, "name '%s' is registered to another key",
                     l->name);
        return;
    }
    if (claim < 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "registry unavailable");
        return;
    }
    if (replacing) {
        /* Usually the same key again: a reconnect after a network flap. The old session goes
         * quietly and others get an add that replaces the entry. A different key means an
         * admin released the name (--free-name) while its old owner was online. */
        session *prev = old->session;
        int same_key = mim_equal_ct(old->identity_pk, s->identity_pk, MIM_KEY_LEN);
        online_table_remove(&srv->table, old);
        prev->entry = NULL;
        if (same_key)
            session_fail(prev, MIM__ERROR_CODE__ERROR_REPLACED, "replaced by a new login from %s",
                         s->conn->remote_str);
        else
            session_fail(prev, MIM__ERROR_CODE__ERROR_NAME_TAKEN,
                         "the name was released by the administrator and taken by another key");
    }

    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", l->name);
    memcpy(e.identity_pk, s->identity_pk, MIM_KEY_LEN);
    memcpy(e.addr, s->ip, s->ip_len);
    e.addr_len = s->ip_len;
    e.port = (uint16_t)l->listen_port;
    e.status = MIM__STATUS__STATUS_AVAILABLE;
    e.session = s;
    if ((rc = online_table_add(&srv->table, &e, &added)) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "cannot add to table: %s",
                     mim_strerror(rc));
        return;
    }
    s->entry = added;
    s->state = SESSION_ONLINE;
    mim_rate_init(&s->status_rate, PRESENCE_STATUS_BURST, uv_now(srv->loop));
    leave_unauth(s);
    mim_framer_set_max(&s->conn->framer, MIM_FRAME_MAX);
    s->conn->max_queued = srv->cfg.max_queued;
    mim_log_info("conn %llu: %s online from %s, listen port %u (%s)",
                 (unsigned long long)s->conn->id, s->name, s->conn->remote_str, (unsigned)e.port,
                 replacing                      ? "replaces its old session"
                 : claim == MIM_NAME_REGISTERED ? "name registered"
                                                : "known name");

    if (send_table(s) != 0)
        return;
    entry_info(added, &pi);
    add.peer = &pi;
    m.body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m.add = &add;
    broadcast_all(srv, &m, s);
}

/* Broadcasts s's current status to everyone, the sender too (its confirmation). */
static void broadcast_status(session *s)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__StatusUpdate up = MIM__STATUS_UPDATE__INIT;

    s->status_pending = 0;
    up.name = s->entry->name;
    up.status = (Mim__Status)s->entry->status;
    up.text = s->entry->status_text;
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS;
    m.status = &up;
    broadcast_all(s->srv, &m, NULL);
}

static void handle_status(session *s, const Mim__StatusSet *st)
{
    online_entry *e = s->entry;

    if (e->status == (int)st->status && strcmp(e->status_text, st->text) == 0)
        return; /* nothing changed: nothing to tell */
    if (online_table_set_status(&s->srv->table, e, st->status, st->text) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "status text too long");
        return;
    }
    mim_log_debug("conn %llu: %s status %d", (unsigned long long)s->conn->id, s->name,
                  (int)st->status);
    /* Over the rate, the change waits (merged with any later one) for the sweep. */
    if (mim_rate_take(&s->status_rate, PRESENCE_STATUS_RATE, PRESENCE_STATUS_BURST,
                      uv_now(s->srv->loop)))
        broadcast_status(s);
    else
        s->status_pending = 1;
}

static void handle_ping(session *s, uint64_t nonce)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Pong pong = MIM__PONG__INIT;
    pong.nonce = nonce;
    m.body_case = MIM__PRESENCE_MSG__BODY_PONG;
    m.pong = &pong;
    (void)broadcast_to(s, &m);
}

/* One decrypted message. Returns 0 to go on with the batch, -1 when the session is closing. */
static int handle_msg(session *s, const Mim__PresenceMsg *m)
{
    if (s->state == SESSION_AWAIT_LOGIN && m->body_case != MIM__PRESENCE_MSG__BODY_LOGIN) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "expected Login first");
        return -1;
    }
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_LOGIN:
        if (s->state != SESSION_AWAIT_LOGIN) {
            session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "second Login");
            return -1;
        }
        handle_login(s, m->login);
        break;
    case MIM__PRESENCE_MSG__BODY_STATUS_SET:
        handle_status(s, m->status_set);
        break;
    case MIM__PRESENCE_MSG__BODY_PING:
        handle_ping(s, m->ping->nonce);
        break;
    case MIM__PRESENCE_MSG__BODY_PONG:
        break; /* last_rx was already updated */
    case MIM__PRESENCE_MSG__BODY_LOGOUT:
        mim_conn_close(s->conn, "logged out");
        return -1;
    default:
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "unexpected message");
        return -1;
    }
    return s->conn->closing || s->conn->draining ? -1 : 0;
}

static void handle_transport(session *s, const uint8_t *frame, size_t len)
{
    uint8_t plain[MIM_FRAME_MAX];
    Mim__PresenceBatch *b = NULL;
    char err[160];
    size_t plen;
    int tag, rc;

    if (len < MIM_STREAM_ABYTES) {
        mim_conn_close(s->conn, "transport frame of %zu bytes is too short", len);
        return;
    }
    rc = mim_stream_rx_open(&s->rx, frame, len, plain, &plen, &tag);
    if (rc != 0) {
        /* Tampered, replayed, reordered or truncated: nothing after this can be trusted. */
        mim_conn_close(s->conn, "decryption failed: frame modified, replayed or out of order");
        return;
    }
    if (plen == 0 && tag == MIM_STREAM_TAG_FINAL) {
        mim_conn_close(s->conn, "peer closed the session");
        return;
    }
    rc = mim_presence_batch_decode(plain, plen, MIM_FROM_PEER, &b, err, sizeof(err));
    mim_wipe(plain, plen);
    if (rc != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "malformed message: %s", err);
        return;
    }
    for (size_t i = 0; i < b->n_msgs; i++)
        if (handle_msg(s, b->msgs[i]) != 0)
            break;
    mim_presence_batch_free(b);
    /* A FINAL frame ends the session -- unless handling it already began a drain, whose Error
     * reply a close now would cancel. */
    if (tag == MIM_STREAM_TAG_FINAL && !s->conn->draining)
        mim_conn_close(s->conn, "peer closed the session");
}

static void on_frame(mim_conn *c, const uint8_t *frame, size_t len)
{
    session *s = c->data;

    s->last_rx = uv_now(s->srv->loop);
    switch (s->state) {
    case SESSION_AWAIT_MSG1:
        handle_msg1(s, frame, len);
        break;
    case SESSION_AWAIT_MSG3:
        handle_msg3(s, frame, len);
        break;
    case SESSION_AWAIT_HEADER:
        handle_header(s, frame, len);
        break;
    case SESSION_AWAIT_LOGIN:
    case SESSION_ONLINE:
        handle_transport(s, frame, len);
        break;
    }
}

static void on_eof(mim_conn *c)
{
    session *s = c->data;
    mim_conn_close(c, s->state == SESSION_ONLINE ? "connection lost (EOF without a final frame)"
                                                 : "connection closed during handshake");
}

static void on_close(mim_conn *c, const char *reason)
{
    session *s = c->data;
    presence_server *srv = s->srv;

    if (s->state == SESSION_ONLINE || s->entry != NULL)
        mim_log_info("conn %llu: %s offline: %s", (unsigned long long)c->id, who(s), reason);
    else
        mim_log_info("conn %llu: closed (%s, %s): %s", (unsigned long long)c->id, c->remote_str,
                     who(s), reason);
    s->conn = NULL;
    leave_unauth(s);
    broadcast_forget(s);
    go_offline(s);
    free_handshake(s);
    mim_stream_tx_wipe(&s->tx);
    mim_stream_rx_wipe(&s->rx);
    mim_wipe(s->rx_key, sizeof(s->rx_key));
    mim_buf_wipe_free(&s->out);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    srv->nsessions--;
    free(s);
    presence_server_poll_done(srv);
}

/* ---- deadlines and keepalive ---------------------------------------------------------------- */

void session_sweep(session *s, uint64_t now)
{
    presence_server *srv = s->srv;
    mim_conn *c = s->conn;

    if (c == NULL || c->closing)
        return;
    if (c->draining) {
        if (now - c->drain_since > PRESENCE_DRAIN_TIMEOUT_MS)
            mim_conn_close(c, "%s (peer did not read its last frame)", c->reason);
        return;
    }
    if (s->state != SESSION_ONLINE && now - s->started > srv->cfg.handshake_timeout_ms) {
        /* session_fail sends Error(TIMEOUT) when the transport is already up. */
        session_fail(s, MIM__ERROR_CODE__ERROR_TIMEOUT,
                     "handshake and login not completed within %u ms",
                     (unsigned)srv->cfg.handshake_timeout_ms);
        return;
    }
    if (mim_conn_partial_age(c, now) > PRESENCE_FRAME_TIMEOUT_MS) {
        mim_conn_close(c, "frame not completed within %d ms", PRESENCE_FRAME_TIMEOUT_MS);
        return;
    }
    if (s->state != SESSION_ONLINE)
        return;
    if (s->status_pending && s->entry != NULL &&
        mim_rate_take(&s->status_rate, PRESENCE_STATUS_RATE, PRESENCE_STATUS_BURST, now))
        broadcast_status(s);
    if (now - s->last_rx > 3ull * srv->cfg.ping_interval_ms) {
        session_fail(s, MIM__ERROR_CODE__ERROR_TIMEOUT, "no traffic for %llu ms",
                     (unsigned long long)(now - s->last_rx));
        return;
    }
    if (now - s->last_rx >= srv->cfg.ping_interval_ms &&
        now - s->last_ping >= srv->cfg.ping_interval_ms) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Ping ping = MIM__PING__INIT;
        ping.nonce = now;
        m.body_case = MIM__PRESENCE_MSG__BODY_PING;
        m.ping = &ping;
        s->last_ping = now;
        (void)broadcast_to(s, &m);
    }
}
