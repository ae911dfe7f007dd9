/* One connection to mim-presence, from accept to close: a state machine over session_state
 * (server.h) on top of a mim_channel, which runs the Noise handshake, the stream headers, the
 * secretstream transport and the handshake, frame and drain deadlines.
 *
 *   HANDSHAKE --on_open: both streams up--> AWAIT_LOGIN --Login--> ONLINE
 *
 * The channel responds with an empty name and accepts ANY name in message 3, so that an invalid
 * one is answered with Error{BAD_NAME} once the transport is up. Until ONLINE the connection
 * counts against the admission caps, its frames are capped at 1 KiB and its output at 4 KiB,
 * and the handshake deadline runs on (the channel's until on_open, then the sweep's, which
 * sends Error{TIMEOUT}). Any bad input closes only this connection, with a logged reason. */
#include "server.h"
#include "cluster.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                            const char *name, const char **reason);
static void on_open(mim_channel *ch);
static void on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final);
static void on_closed(mim_channel *ch, const char *reason);

static const mim_channel_events session_events = {
    .on_authenticated = on_authenticated,
    .on_open = on_open,
    .on_plaintext = on_plaintext,
    .on_closed = on_closed,
};

/* The peer's name for logs: its handshake name once known and valid, else "-". */
static const char *who(const session *s)
{
    return s->name_ok ? mim_channel_remote_name(s->ch) : "-";
}

/* 1 once s can send nothing more: its channel is closing or draining, or closed. (During the
 * handshake, where nothing can be sent anyway, only a closed connection counts.) */
int session_closing(const session *s)
{
    return s->ch == NULL || (s->state != SESSION_HANDSHAKE && !mim_channel_can_send(s->ch));
}

/* Every handshake slot was taken and s, from the address holding the most, lost its slot to a
 * newcomer (mim_admission.h): it goes, so that a flood cannot lock anyone out. */
static void evict(session *s)
{
    char addr[MIM_ADDR_STRLEN];

    s->unauth_counted = 0; /* admission already let go of its slot */
    mim_log_info("conn %llu: evicted (%s): every handshake slot is taken and its address holds "
                 "the most",
                 (unsigned long long)mim_channel_id(s->ch), mim_channel_remote_str(s->ch, addr));
    mim_channel_abort(s->ch, "evicted for a newcomer");
}

void session_accept(presence_server *srv, uv_stream_t *listener)
{
    mim_channel_config cfg;
    mim_channel *ch;
    session *s;
    char why[128];
    admission_slot *victim;
    uint8_t ip[16];
    size_t ip_len;
    int rc, verdict;

    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = srv->loop;
    cfg.identity = srv->id;
    cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    cfg.my_name = "";
    cfg.my_features = srv->cfg.mailbox ? MIM_FEATURE_MAILBOX : 0; /* issue 14 */
    cfg.remote_name_mode = MIM_HS_NAME_ANY; /* an invalid name gets BAD_NAME, from on_open */
    cfg.max_frame_after = PRESENCE_HANDSHAKE_FRAME; /* raised by the Login */
    cfg.max_queued = PRESENCE_HANDSHAKE_QUEUED;
    cfg.handshake_timeout_ms = srv->cfg.handshake_timeout_ms;
    cfg.frame_timeout_ms = PRESENCE_FRAME_TIMEOUT_MS;
    cfg.drain_timeout_ms = PRESENCE_DRAIN_TIMEOUT_MS;
    cfg.events = &session_events;
    cfg.data_size = sizeof(session); /* the session lives in the channel's allocation */
    static_assert(_Alignof(session) <= MIM_CHANNEL_DATA_ALIGN, "session alignment");
    rc = mim_channel_accept(&cfg, listener, &ch);
    if (rc != 0) {
        mim_log_warn("accept failed: %s", mim_strerror(rc));
        return;
    }
    s = mim_channel_data(ch);
    s->ch = ch;
    s->srv = srv;
    s->started = s->last_rx = (uint32_t)uv_now(srv->loop);
    s->next = srv->sessions;
    if (srv->sessions != NULL)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->nsessions++;

    if (srv->stopping) {
        mim_channel_abort(s->ch, "server is shutting down");
        return;
    }
    ip_len = mim_addr_raw(mim_channel_remote_addr(s->ch), ip);
    s->adm.owner = s;
    verdict = admission_admit(&srv->admit, &s->adm, ip, ip_len, uv_now(srv->loop), &victim);
    if (verdict != ADMIT_OK) {
        snprintf(why, sizeof(why), "refused: %s", admission_reason(verdict));
        mim_channel_abort(s->ch, why);
        return;
    }
    s->unauth_counted = 1;
    if (victim != NULL)
        evict(victim->owner);
    if (mim_log_get_level() >= MIM_LOG_DEBUG) {
        char addr[MIM_ADDR_STRLEN];
        mim_log_debug("conn %llu: accepted from %s", (unsigned long long)mim_channel_id(s->ch),
                      mim_channel_remote_str(s->ch, addr));
    }
}

/* s stops counting against the admission caps: it logged in (1) or closed before (0, and its
 * address is charged the time it held the slot). */
static void leave_unauth(session *s, int logged_in)
{
    if (s->unauth_counted) {
        admission_release(&s->srv->admit, &s->adm, uv_now(s->srv->loop), logged_in);
        s->unauth_counted = 0;
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
    int plain;

    if (s->entry == NULL)
        return;
    directory_seen(s);                   /* its logout, for "last seen" */
    plain = churn_entry_plain(s->entry); /* the removal frees the status text */
    online_table_remove(&srv->table, s->entry);
    s->entry = NULL;
    if (srv->stopping)
        return; /* everyone is being told the server is going: no delete storm */
    churn_delete(srv, &s->slot, plain, s->flapping);
}

void session_fail(session *s, Mim__ErrorCode code, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    if (session_closing(s))
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    mim_utf8_cut(reason); /* a long name in it may have been cut inside a character */
    mim_log_info("conn %llu: refusing %s: %s: %s", (unsigned long long)mim_channel_id(s->ch),
                 who(s), error_code_name(code), reason);
    go_offline(s);
    if (s->state != SESSION_HANDSHAKE) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Error e = MIM__ERROR__INIT;
        e.code = code;
        e.message = reason;
        m.body_case = MIM__PRESENCE_MSG__BODY_ERROR;
        m.error = &e;
        /* The Error ends the pending batch, sealed FINAL; the channel then drains, and the
         * close that follows only records the reason. */
        if (out_queue_send(s, &m) == 0 && out_queue_flush(s, 1) == 0) {
            mim_channel_close(s->ch, reason);
            return;
        }
    }
    mim_channel_abort(s->ch, reason); /* a no-op when a failed send already closed it */
}

/* ---- the channel ---------------------------------------------------------------------------- */

/* Message 3 verified. Any name is let through here; an invalid one is remembered and refused
 * in on_open, once the peer can read the Error. */
static int on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                            const char *name, const char **reason)
{
    session *s = mim_channel_data(ch);

    (void)identity_pk;
    (void)reason;
    /* Only a valid name is ever logged: an invalid one could carry terminal escapes or bidi
     * overrides to the admin's screen. */
    s->name_ok = mim_name_valid(name, strlen(name));
    if (!s->name_ok) {
        char sample[64];
        mim_log_sample(sample, sizeof(sample), (const uint8_t *)name, strlen(name));
        mim_log_info("conn %llu: invalid name in handshake (bytes %s)",
                     (unsigned long long)mim_channel_id(ch), sample);
    }
    return 0;
}

static void on_open(mim_channel *ch)
{
    session *s = mim_channel_data(ch);

    s->state = SESSION_AWAIT_LOGIN;
    /* Refused only now, with the transport up, so the user is told why. */
    if (!s->name_ok)
        session_fail(s, MIM__ERROR_CODE__ERROR_BAD_NAME,
                     "a name is 1-32 characters of UTF-8, without control or invisible "
                     "characters or spaces at either end");
}

/* ---- presence messages ------------------------------------------------------------------- */

static void entry_info(const online_entry *e, Mim__PeerInfo *pi)
{
    mim_peer_info_init(pi, e->name, e->addr, e->addr_len, e->port, e->identity_pk, e->status,
                       e->status_text);
}

/* Sends the whole online table to s, in chunks that each fit one frame, encoded straight into
 * s's batch by the codec (mim_table_chunk): one pass sizes a chunk, a second writes it, with no
 * array of PeerInfo and no intermediate copy, so a login storm (a table of up to n entries per
 * newcomer) leaves no big transient allocations behind. */
static int send_table(session *s)
{
    online_entry *e = cluster_walk_first(s->srv); /* with the other servers' peers */
    int rc;

    do {
        online_entry *first = e, *x;
        mim_table_chunk chunk;
        Mim__PeerInfo pi;
        size_t len;

        mim_table_chunk_init(&chunk, PRESENCE_MAX_PLAINTEXT);
        for (; e != NULL; e = cluster_walk_next(s->srv, e)) {
            entry_info(e, &pi);
            if (!mim_table_chunk_count(&chunk, &pi))
                break;
        }
        if (e == first && e != NULL) { /* cannot happen: an entry is a few hundred bytes */
            mim_channel_abort(s->ch, "internal error: a table entry does not fit a frame");
            return MIM_EOVERFLOW;
        }
        len = mim_table_chunk_len(&chunk, e == NULL);
        if ((rc = out_queue_room(s, len)) != 0)
            return rc;
        mim_table_chunk_start(&chunk, s->out.data + s->out.len);
        for (x = first; x != e; x = cluster_walk_next(s->srv, x)) {
            entry_info(x, &pi);
            mim_table_chunk_put(&chunk, &pi);
        }
        if (mim_table_chunk_end(&chunk) != 0) {
            mim_channel_abort(s->ch, "internal error: the table chunk was sized wrong");
            return MIM_EOVERFLOW;
        }
        s->out.len += (uint32_t)len;
    } while (e != NULL);
    return 0;
}

/* The Login, step 1: checks it against what the handshake proved (set once the channel is
 * open, until the Login drops it): the same name, the same keys, and a login signature over the
 * handshake hash. 0, or -1 once s is refused. */
static int login_verify(session *s, const Mim__Login *l)
{
    const uint8_t *identity_pk = mim_channel_remote_identity(s->ch);
    const uint8_t *static_sig = mim_channel_remote_static_sig(s->ch);
    const uint8_t *hh = mim_channel_handshake_hash(s->ch);

    if (identity_pk == NULL || static_sig == NULL || hh == NULL) { /* dropped: cannot happen */
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "internal error: no handshake proof");
        return -1;
    }
    if (strcmp(l->name, mim_channel_remote_name(s->ch)) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "login name differs from handshake");
        return -1;
    }
    if (!mim_equal_ct(l->identity_pk.data, identity_pk, MIM_KEY_LEN) ||
        !mim_equal_ct(l->static_sig.data, static_sig, MIM_SIG_LEN) ||
        mim_login_verify(identity_pk, hh, l->name, strlen(l->name), (uint16_t)l->listen_port,
                         l->login_sig.data) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_BAD_SIGNATURE, "login signature does not verify");
        return -1;
    }
    return 0;
}

/* A new name that looks like a registered one ("b\u043eb", Cyrillic o, beside "bob"): refused
 * with NAME_TAKEN, as it is taken in all but its bytes. The log says which name it imitates;
 * the Error does not need to (the peer's user sees the online table), and so stays short. */
static void login_lookalike(session *s, const char *name)
{
    char like[MIM_NAME_MAX_BYTES + 1] = "?";

    mim_store_name_lookalike(s->srv->store, name, like, sizeof(like));
    mim_log_info("conn %llu: name '%s' looks like the registered name '%s'",
                 (unsigned long long)mim_channel_id(s->ch), name, like);
    session_fail(s, MIM__ERROR_CODE__ERROR_NAME_TAKEN,
                 "name '%s' looks like a registered name (a confusable, Unicode UTS #39); "
                 "choose another",
                 name);
}

/* The registry's verdict is the server's own (its SQLite registry, asked in login_claim). */
#define LOGIN_VERDICT_LOCAL INT32_MIN

/* Step 2: a place online (*old: the entry of the same name this login replaces, or NULL) and
 * the name for the proven key in the registry (verdict: LOGIN_VERDICT_LOCAL, or the cluster
 * registry's). Returns the registry's verdict
 * (MIM_NAME_REGISTERED or MIM_NAME_SAME_KEY), or -1 once s is refused. */
static int login_claim(session *s, const Mim__Login *l, online_entry **old, int verdict)
{
    presence_server *srv = s->srv;
    int claim;

    *old = online_table_find_name(&srv->table, l->name);
    if (*old == NULL && online_table_count(&srv->table) >= srv->cfg.max_peers) {
        session_fail(s, MIM__ERROR_CODE__ERROR_SERVER_FULL, "server full (%u peers online)",
                     (unsigned)srv->cfg.max_peers);
        return -1;
    }
    claim = verdict != LOGIN_VERDICT_LOCAL
                ? verdict /* the cluster's registry's (cluster_names.c) */
                : mim_store_name_claim(srv->store, l->name, mim_channel_remote_identity(s->ch),
                                       mim_clock_wall_s());
    if (claim == MIM_EIO && verdict != LOGIN_VERDICT_LOCAL) {
        session_fail(s, MIM__ERROR_CODE__ERROR_REGISTRY_UNAVAILABLE,
                     "the cluster's name registry cannot be reached: only a name this server "
                     "knows for your key may log in now; try again later");
        return -1;
    }
    if (claim == MIM_ETAKEN) {
        session_fail(s, MIM__ERROR_CODE__ERROR_NAME_TAKEN, "name '%s' is registered to another key",
                     l->name);
        return -1;
    }
    if (claim == MIM_NAME_LOOKALIKE) {
        login_lookalike(s, l->name);
        return -1;
    }
    if (claim < 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "registry unavailable");
        return -1;
    }
    cluster_forget_remote(srv, l->name); /* a login of the name on another server gives way */
    return claim;
}

/* Step 3, when the name is online already: usually the same key again, a reconnect after a
 * network flap. The old session goes quietly and others get an add that replaces the entry. A
 * different key means an admin released the name (--free-name) while its old owner was online. */
static void login_replace(session *s, online_entry *old)
{
    session *prev = old->session;
    int same_key = mim_equal_ct(old->identity_pk, mim_channel_remote_identity(s->ch), MIM_KEY_LEN);
    char addr[MIM_ADDR_STRLEN];

    online_table_remove(&s->srv->table, old);
    prev->entry = NULL;
    if (same_key)
        session_fail(prev, MIM__ERROR_CODE__ERROR_REPLACED, "replaced by a new login from %s",
                     mim_channel_remote_str(s->ch, addr));
    else
        session_fail(prev, MIM__ERROR_CODE__ERROR_NAME_TAKEN,
                     "the name was released by the administrator and taken by another key");
}

/* s's entry as a Login l makes it: the name is the channel's copy (the Login's is the same,
 * checked by login_verify), valid as long as the session. */
static void entry_fill(session *s, const Mim__Login *l, online_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->name = mim_channel_remote_name(s->ch);
    memcpy(e->identity_pk, mim_channel_remote_identity(s->ch), MIM_KEY_LEN);
    e->addr_len = (uint8_t)mim_addr_raw(mim_channel_remote_addr(s->ch), e->addr);
    e->port = (uint16_t)l->listen_port;
    e->status = MIM__STATUS__STATUS_AVAILABLE;
    e->session = s;
}

/* Step 4: s's own entry into the online table. The entry lives in the session, where the
 * admission slot was until now. 0, or -1 once s is refused. */
static int login_link(session *s, const Mim__Login *l)
{
    online_entry *e = &s->slot;
    int rc;

    leave_unauth(s, 1);
    entry_fill(s, l, e);
    if ((rc = online_table_link(&s->srv->table, e)) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "cannot add to table: %s",
                     mim_strerror(rc));
        return -1;
    }
    s->entry = e;
    return 0;
}

/* Step 5: s is online, under the logged-in caps and keepalive. */
static void login_online(session *s, int replacing, int claim)
{
    presence_server *srv = s->srv;
    char addr[MIM_ADDR_STRLEN];

    s->state = SESSION_ONLINE;
    presence_server_note_churn(srv);
    mim_rate_init(&s->status_rate, PRESENCE_STATUS_BURST, uv_now(srv->loop));
    mim_rate_init(&s->deposit_rate, srv->cfg.mailbox_burst, uv_now(srv->loop));
    mim_rate_init(&s->directory_rate, PRESENCE_DIRECTORY_BURST, uv_now(srv->loop));
    directory_seen(s);                          /* its login, for "last seen" */
    s->last_ping = (uint32_t)uv_now(srv->loop); /* the keepalive counts from the Login */
    srv->login_seq++;
    mim_channel_set_limits(s->ch, MIM_FRAME_MAX, srv->cfg.max_queued);
    mim_log_info("conn %llu: %s online from %s, listen port %u (%s)",
                 (unsigned long long)mim_channel_id(s->ch), s->entry->name,
                 mim_channel_remote_str(s->ch, addr), (unsigned)s->entry->port,
                 replacing                      ? "replaces its old session"
                 : claim == MIM_NAME_REGISTERED ? "name registered"
                                                : "known name");
}

/* Step 1b: the login rates (mim_admission.h), per source address and per key, checked before
 * the registry is touched. 0, or -1 once s is refused: ERROR_SERVER_FULL, which a client takes
 * as "try again later". */
static int login_admit(session *s)
{
    presence_server *srv = s->srv;
    uint64_t now = uv_now(srv->loop), last;
    unsigned retry;
    int verdict = admission_login(&srv->admit, &s->adm, mim_channel_remote_identity(s->ch), now,
                                  &retry, &last);

    if (verdict != ADMIT_OK) {
        session_fail(s, MIM__ERROR_CODE__ERROR_SERVER_FULL, "%s; try again in %u s",
                     admission_reason(verdict), retry);
        return -1;
    }
    s->flapping = last != 0 && now - last < PRESENCE_FLAP_MS;
    return 0;
}

/* A Login, once verified, admitted and given the registry's verdict: claimed, linked in, then
 * the newcomer gets the table and everyone else a PeerAdd for it -- unless they hold that very
 * entry already (a flapping peer back with the same key, address and port: churn.c). */
static void login_finish(session *s, const Mim__Login *l, int verdict)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;
    Mim__PeerInfo pi;
    online_entry *old, fresh;
    int claim, churn, unchanged = 0;

    if ((claim = login_claim(s, l, &old, verdict)) < 0)
        return;
    if (old != NULL) {
        entry_fill(s, l, &fresh);
        unchanged = churn_same_entry(old, &fresh);
        login_replace(s, old);
    }
    if (login_link(s, l) != 0)
        return;
    churn = churn_login(s->srv, s->entry);
    if (old == NULL)
        unchanged = churn == CHURN_UNCHANGED;
    login_online(s, old != NULL, claim);
    s->mail_ok = s->srv->cfg.mailbox && (l->features & MIM_LOGIN_FEATURE_MAILBOX) != 0;
    if (send_table(s) != 0)
        return;
    mailbox_login(s);         /* its waiting letters follow the table */
    broadcasters_login(s, l); /* issue 16: the signed broadcaster list, to a peer that asks */
    if (unchanged)
        return;
    entry_info(s->entry, &pi);
    add.peer = &pi;
    m.body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m.add = &add;
    out_queue_broadcast(s->srv, &m, s);
    cluster_note_add(s->srv, s->entry); /* issue 18: the other servers' peers too */
}

/* A Login: verified and admitted here; then the registry's verdict, at once from our own
 * registry, or later from the cluster's (session_claimed), and login_finish. */
static void handle_login(session *s, const Mim__Login *l)
{
    if (login_verify(s, l) != 0 || login_admit(s) != 0)
        return;
    if (!cluster_on(s->srv)) {
        login_finish(s, l, LOGIN_VERDICT_LOCAL);
        return;
    }
    if (cluster_claim_start(s, l->name, mim_channel_remote_identity(s->ch)) == 0)
        s->state = SESSION_CLAIMING;
    else
        session_fail(s, MIM__ERROR_CODE__ERROR_REGISTRY_UNAVAILABLE, "cannot ask the registry");
}

/* Broadcasts s's current status to everyone, the sender too (its confirmation). */
static void broadcast_status(session *s)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__StatusUpdate up = MIM__STATUS_UPDATE__INIT;

    s->status_pending = 0;
    /* protobuf-c's fields are not const; packing only reads them. */
    up.name = (char *)s->entry->name;
    up.status = (Mim__Status)s->entry->status;
    up.text = (char *)s->entry->status_text;
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS;
    m.status = &up;
    out_queue_broadcast(s->srv, &m, NULL);
    cluster_note_status(s->srv, s->entry);
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
    mim_log_debug("conn %llu: %s status %d", (unsigned long long)mim_channel_id(s->ch), e->name,
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
    Mim__PresenceMsg m;
    Mim__Pong pong;

    mim_presence_pong_init(&m, &pong, nonce);
    (void)out_queue_send(s, &m);
}

/* Issue 14's arms from a peer (the decoder let only the peer's four through). Only a peer whose
 * Login asked for them, from a server that offers them, may send them: an older peer never
 * does, so anything else is a protocol error. */
static void handle_mail(session *s, const Mim__PresenceMsg *m)
{
    if (!s->mail_ok) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL,
                     "directory or mailbox message without the mailbox feature in the Login");
        return;
    }
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_LOOKUP:
        directory_lookup(s, m->lookup);
        break;
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_LIST:
        directory_list(s, m->directory_list);
        break;
    case MIM__PRESENCE_MSG__BODY_DEPOSIT:
        mailbox_deposit(s, m->deposit);
        break;
    case MIM__PRESENCE_MSG__BODY_MAIL_TAKEN:
        mailbox_taken(s, m->mail_taken);
        break;
    default:
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "unexpected message");
        break;
    }
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
        /* Checked once, needed never again: 128 bytes less for every idle peer. (A claim keeps
         * it: the identity key in it is read when the verdict comes.) */
        if (s->state != SESSION_CLAIMING)
            mim_channel_drop_proof(s->ch);
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
        mim_channel_abort(s->ch, "logged out");
        return -1;
    case MIM__PRESENCE_MSG__BODY_LOOKUP:
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_LIST:
    case MIM__PRESENCE_MSG__BODY_DEPOSIT:
    case MIM__PRESENCE_MSG__BODY_MAIL_TAKEN:
        handle_mail(s, m);
        break;
    default:
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "unexpected message");
        return -1;
    }
    return session_closing(s) ? -1 : 0;
}

/* Handles b's messages from index `from` on, then frees b -- unless a Login among them waits
 * for the cluster's registry: then b waits with it (cluster_claim_hold_batch). */
static void run_batch(session *s, Mim__PresenceBatch *b, size_t from, int final)
{
    for (size_t i = from; i < b->n_msgs; i++) {
        if (handle_msg(s, b->msgs[i]) != 0)
            break;
        if (s->state == SESSION_CLAIMING) {
            cluster_claim_hold_batch(s, b, i + 1, final);
            return;
        }
    }
    mailbox_deposits_end(s, session_closing(s)); /* one commit, then the acks */
    mim_presence_batch_free(b);
    /* A FINAL frame ends the session at once (the peer has said all; no FINAL of ours answers
     * it) -- unless handling it already began a drain, whose Error reply a close would cancel. */
    if (final && !session_closing(s))
        mim_channel_abort(s->ch, "peer closed the session");
}

void session_frame(session *s, const uint8_t *p, size_t len, int final)
{
    Mim__PresenceBatch *b = NULL;
    char err[160];

    if (s->state == SESSION_CLAIMING) { /* kept for after the registry's verdict */
        if (cluster_claim_hold_frame(s, p, len, final) != 0)
            session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL,
                         "too much sent before the Login was answered");
        return;
    }
    if (len == 0 && final) {
        mim_channel_abort(s->ch, "peer closed the session");
        return;
    }
    if (mim_presence_batch_decode(p, len, MIM_FROM_PEER, &b, err, sizeof(err)) != 0) {
        session_fail(s, MIM__ERROR_CODE__ERROR_PROTOCOL, "malformed message: %s", err);
        return;
    }
    run_batch(s, b, 0, final);
}

void session_claimed(session *s, int verdict, Mim__PresenceBatch *b, size_t next, int final)
{
    s->state = SESSION_AWAIT_LOGIN;
    if (!session_closing(s))
        login_finish(s, b->msgs[next - 1]->login, verdict);
    mim_channel_drop_proof(s->ch);
    if (session_closing(s)) {
        mim_presence_batch_free(b);
        return;
    }
    run_batch(s, b, next, final);
}

/* One decrypted transport frame: a PresenceBatch, or an empty FINAL. */
static void on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    session *s = mim_channel_data(ch);

    s->last_rx = (uint32_t)uv_now(s->srv->loop);
    session_frame(s, p, len, final);
}

/* The connection is gone: the peer leaves the table and the others are told in this very loop
 * turn; the session is freed with its channel right after this returns. */
static void on_closed(mim_channel *ch, const char *reason)
{
    session *s = mim_channel_data(ch);
    presence_server *srv = s->srv;
    char addr[MIM_ADDR_STRLEN];

    if (s->state == SESSION_ONLINE || s->entry != NULL)
        mim_log_info("conn %llu: %s offline: %s", (unsigned long long)mim_channel_id(ch), who(s),
                     reason);
    else
        mim_log_info("conn %llu: closed (%s, %s): %s", (unsigned long long)mim_channel_id(ch),
                     mim_channel_remote_str(ch, addr), who(s), reason);
    leave_unauth(s, 0);
    out_queue_forget(s);
    mailbox_forget(s);
    cluster_claim_forget(s);
    go_offline(s); /* still reads the name from the channel */
    out_arena_drop(&srv->out, &s->out);
    s->ch = NULL;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    srv->nsessions--;
    presence_server_note_churn(srv); /* s is freed with its channel, after this returns */
    presence_server_poll_done(srv);
}

/* ---- the Login deadline and keepalive ------------------------------------------------------- */

void session_sweep(session *s, uint64_t now)
{
    presence_server *srv = s->srv;

    /* Until both streams are up the channel keeps the deadline; once closing, it is its
     * drain deadline that matters. */
    if (s->state == SESSION_HANDSHAKE || session_closing(s))
        return;
    if (s->state == SESSION_AWAIT_LOGIN || s->state == SESSION_CLAIMING) {
        if (session_elapsed(now, s->started) > srv->cfg.handshake_timeout_ms)
            session_fail(s, MIM__ERROR_CODE__ERROR_TIMEOUT,
                         "handshake and login not completed within %u ms",
                         (unsigned)srv->cfg.handshake_timeout_ms);
        return;
    }
    if (s->status_pending && s->entry != NULL &&
        mim_rate_take(&s->status_rate, PRESENCE_STATUS_RATE, PRESENCE_STATUS_BURST, now))
        broadcast_status(s);
    if (session_elapsed(now, s->last_rx) > 3ull * srv->cfg.ping_interval_ms) {
        session_fail(s, MIM__ERROR_CODE__ERROR_TIMEOUT, "no traffic for %lu ms",
                     (unsigned long)session_elapsed(now, s->last_rx));
        return;
    }
    if (session_elapsed(now, s->last_rx) >= srv->cfg.ping_interval_ms &&
        session_elapsed(now, s->last_ping) >= srv->cfg.ping_interval_ms) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Ping ping = MIM__PING__INIT;
        ping.nonce = now;
        m.body_case = MIM__PRESENCE_MSG__BODY_PING;
        m.ping = &ping;
        s->last_ping = (uint32_t)now;
        (void)out_queue_send(s, &m);
    }
}
