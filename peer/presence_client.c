/* The peer's connection to mim-presence (see presence_client.h for the contract).
 *
 * The handshake and the transport are mim_channel's (initiator, prologue "mim/presence/v1", the
 * server's name empty); this file adds what is presence: the server's pin, checked in
 * on_authenticated (before message 3 reveals who we are), the Login once both streams are up,
 * the table, the keepalive and the reconnecting. One channel at a time, in one of pc_phase:
 *
 *   HANDSHAKE --on_open: Login--> AWAIT_TABLE --last chunk--> ONLINE
 *
 * Anything unexpected from the server closes the channel, and its on_closed decides what comes
 * next: another attempt after a jittered backoff, nothing after a fatal Error, or the end of
 * presence_client_stop(). The table the client keeps lives across connections; the one being
 * received is kept apart until its last chunk, then converged into it: that is
 * presence_client_table.c's job. */
#include "presence_client_priv.h"
#include "mim_addr.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_DEFAULT_PING_MS     30000
#define PC_DEFAULT_BACKOFF_MIN 500
#define PC_DEFAULT_BACKOFF_MAX 30000
#define PC_MAX_QUEUED          1048576 /* output cap: the client sends little */
#define PC_HANDSHAKE_MS        10000   /* connect to complete table; the server allows 5 s */
#define PC_DRAIN_MS            2000    /* how long a Logout (or any FINAL) may take to flush */

static int ch_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                               const char *name, const char **reason);
static void ch_on_open(mim_channel *ch);
static void ch_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final);
static void ch_on_closed(mim_channel *ch, const char *reason);
static void on_retry(uv_timer_t *t);
static void on_ka(uv_timer_t *t);
static void connect_now(presence_client *pc);

static const mim_channel_events channel_events = {
    .on_authenticated = ch_on_authenticated,
    .on_open = ch_on_open,
    .on_plaintext = ch_on_plaintext,
    .on_closed = ch_on_closed,
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

int pc_halted(const presence_client *pc)
{
    return pc->stopping || pc->ch == NULL || !mim_channel_is_open(pc->ch);
}

void pc_end_channel(presence_client *pc, int clean, const char *fmt, ...)
{
    char why[192];
    va_list ap;

    if (pc->ch == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (clean)
        mim_channel_close(pc->ch, why);
    else
        mim_channel_abort(pc->ch, why);
}

/* ---- sending --------------------------------------------------------------------------------- */

/* Sends msgs as one batch in one frame (a FINAL one when final is set). On failure the channel
 * is closed. */
static int send_batch(presence_client *pc, const Mim__PresenceMsg *const *msgs, size_t n, int final)
{
    mim_buf b = {0};
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        mim_trace(pc->name, "server", &msgs[i]->base);
        rc = mim_presence_batch_append(&b, msgs[i]);
    }
    if (rc == 0)
        rc = mim_channel_send(pc->ch, b.data, b.len, final);
    mim_buf_wipe_free(&b);
    if (rc != 0)
        pc_end_channel(pc, 0, "cannot send to the server: %s", mim_strerror(rc));
    return rc;
}

static int send_one(presence_client *pc, const Mim__PresenceMsg *m, int final)
{
    return send_batch(pc, &m, 1, final);
}

int pc_send_batch(presence_client *pc, const Mim__PresenceMsg *const *msgs, size_t n)
{
    return send_batch(pc, msgs, n, 0);
}

static void status_msg(presence_client *pc, Mim__PresenceMsg *m, Mim__StatusSet *st)
{
    st->status = (Mim__Status)pc->status;
    st->text = pc->status_text;
    m->body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m->status_set = st;
}

/* ---- connection lifecycle -------------------------------------------------------------------- */

/* Forgets everything about the current connection (the channel wiped its own keys). */
static void session_reset(presence_client *pc)
{
    pc->logged_in = 0;
    pc->server_verdict = 0;
    pc->server_features = 0;
    pc->n_mail_items = 0;
    pc->n_mail_acks = 0;
    pc->dropped = 0;
    pc->bad_addrs = 0;
    pc->phase = PC_IDLE;
    online_table_free(&pc->incoming);
    pc_directory_reset(pc);
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
    pc_directory_reset(pc);
    pc_mail_free(pc);
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

/* Makes servers[i] the one dialled next. */
static void use_server(presence_client *pc, size_t i)
{
    uint8_t raw[16];
    size_t n;

    pc->cur = i;
    pc->server = pc->servers[i];
    mim_addr_format((const struct sockaddr *)&pc->server, pc->server_str);
    n = mim_addr_raw((const struct sockaddr *)&pc->server, raw);
    pc->server_loopback = mim_addr_raw_is_loopback(raw, n);
}

/* The next attempt. With several servers (issue 18), the next one of the list is tried soon,
 * until a full round has failed: then the list starts over from its first, after the backoff. */
static void schedule_retry(presence_client *pc)
{
    uint32_t delay;

    if (pc->round_left > 0) {
        pc->round_left--;
        use_server(pc, (pc->cur + 1) % pc->nservers);
        delay = mim_random_uniform(pc->backoff_min_ms + 1); /* spread a dead server's peers */
        mim_log_info("presence: trying the next server, %s, in %u ms", pc->server_str,
                     (unsigned)delay);
        uv_timer_start(&pc->retry_timer, on_retry, delay, 0);
        return;
    }
    if (pc->nservers > 1) {
        use_server(pc, 0);
        pc->round_left = pc->nservers - 1;
    }
    delay = mim_random_uniform(pc->backoff_ceiling + 1); /* full jitter */
    mim_log_debug("presence: next attempt to %s in %u ms", pc->server_str, (unsigned)delay);
    pc->backoff_ceiling =
        pc->backoff_ceiling > pc->backoff_max_ms / 2 ? pc->backoff_max_ms : pc->backoff_ceiling * 2;
    uv_timer_start(&pc->retry_timer, on_retry, delay, 0);
}

static void on_retry(uv_timer_t *t)
{
    presence_client *pc = t->data;
    if (!pc->stopping && pc->ch == NULL && !pc->fatal)
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
    uint64_t now = uv_now(pc->loop);

    if (pc->stopping || pc->ch == NULL)
        return; /* stop(): the channel bounds the Logout's drain itself */
    if (pc->phase != PC_ONLINE) {
        if (now - pc->started >= PC_HANDSHAKE_MS) {
            pc_end_channel(pc, 0, "no complete login within %d ms", PC_HANDSHAKE_MS);
            return;
        }
    } else {
        if (!mim_channel_is_open(pc->ch))
            return; /* closing: on_closed follows */
        if (now - pc->last_rx >= 3ull * pc->ping_ms) {
            pc_end_channel(pc, 0, "the server was silent for %llu ms",
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
            if (send_one(pc, &m, 0) != 0)
                return;
        }
    }
    ka_arm(pc, now);
}

void pc_went_online(presence_client *pc)
{
    pc->phase = PC_ONLINE;
    pc->backoff_ceiling = pc->backoff_min_ms;
    pc->round_left = pc->nservers - 1; /* if it is lost, the others are tried first */
    pc->last_rx = uv_now(pc->loop);
    ka_arm(pc, pc->last_rx);
    pc_table_settle_start(pc);
    mim_log_info("presence: logged in to %s as %s; %zu online%s", pc->server_str, pc->name,
                 online_table_count(&pc->table) - pc->unconfirmed,
                 pc->dropped > 0 ? " (the table was cut at --max-table)" : "");
    set_state(pc, PRESENCE_CONNECTED);
}

static void connect_now(presence_client *pc)
{
    mim_channel_config chc;
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
    memset(&chc, 0, sizeof(chc));
    chc.loop = pc->loop;
    chc.identity = pc->id;
    chc.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    chc.my_name = pc->name;
    chc.remote_name_mode = MIM_HS_NAME_EMPTY; /* the server's name is "" */
    chc.max_queued = PC_MAX_QUEUED;
    chc.handshake_timeout_ms = PC_HANDSHAKE_MS;
    chc.drain_timeout_ms = PC_DRAIN_MS;
    chc.events = &channel_events;
    chc.data = pc;
    pc->phase = PC_HANDSHAKE;
    pc->started = pc->last_rx = pc->last_ping = uv_now(pc->loop);
    rc = mim_channel_dial(&chc, (const struct sockaddr *)&pc->server, &pc->ch);
    if (rc != 0) { /* no channel callback will run */
        session_reset(pc);
        set_state(pc, PRESENCE_RECONNECTING);
        if (!pc->stopping)
            schedule_retry(pc);
        return;
    }
    mim_log_debug("presence: connecting to %s", pc->server_str);
    ka_arm(pc, pc->started);
}

static void ch_on_closed(mim_channel *ch, const char *reason)
{
    presence_client *pc = mim_channel_data(ch);
    int was_online = pc->phase == PC_ONLINE;

    pc->ch = NULL; /* freed when this returns */
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
    snprintf(pc->last_close, sizeof(pc->last_close), "%s", reason);
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
    int verdict = mim_store_server_pin_check(pc->store, pc->server_str, pk, mim_clock_wall_s());
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
        have_old = mim_store_server_pin_get(pc->store, pc->server_str, &pin) == 0;
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
    pc->server_verdict = verdict;
    if (!pc->stopping && pc->ev.on_server_key != NULL)
        pc->ev.on_server_key(pc->ud, verdict, pk, have_old ? old : NULL);
    mim_wipe(old, sizeof(old));
    return 0;
}

/* The server proved it holds its static key, vouched for by identity_pk: the pin decides
 * nothing (a change is reported, loudly, and the session goes on), but it is checked here,
 * before message 3 reveals who we are. */
static int ch_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                               const char *name, const char **reason)
{
    presence_client *pc = mim_channel_data(ch);
    int rc;

    (void)name; /* "": the channel checked it (MIM_HS_NAME_EMPTY) */
    if ((rc = check_server_key(pc, identity_pk)) != 0) {
        snprintf(pc->why, sizeof(pc->why), "cannot check the server's key against its pin: %s",
                 mim_strerror(rc));
        *reason = pc->why;
        return rc;
    }
    if (pc->stopping) {
        *reason = "stopped"; /* from on_server_key: the channel is already closing */
        return MIM_ECLOSED;
    }
    pc->server_features = mim_channel_remote_features(ch); /* issue 14: MIM_FEATURE_MAILBOX */
    return 0;
}

/* The Login (with our status when it is not the default), signed over the handshake hash. */
static int send_login(presence_client *pc)
{
    const uint8_t *hh = mim_channel_handshake_hash(pc->ch);
    uint8_t sig[MIM_SIG_LEN];
    Mim__PresenceMsg login_m, status_m = MIM__PRESENCE_MSG__INIT;
    const Mim__PresenceMsg *msgs[2] = {&login_m, &status_m};
    Mim__Login login;
    Mim__StatusSet st = MIM__STATUS_SET__INIT;
    int rc;

    if (hh == NULL)
        return MIM_ESTATE; /* cannot happen: set once message 3 is written */
    rc = mim_login_sign(pc->id, hh, pc->name, strlen(pc->name), pc->listen_port, sig);
    if (rc != 0)
        return rc;
    /* We understand issue 14's arms: the server may send them (presence_client.h). */
    mim_login_init(&login_m, &login, pc->name, pc->listen_port, pc->id->sign_pk, pc->id->static_sig,
                   sig, MIM_LOGIN_FEATURE_MAILBOX | MIM_LOGIN_FEATURE_BROADCASTERS);
    status_msg(pc, &status_m, &st);
    /* A fresh session starts AVAILABLE with no text: restore ours if it differs. */
    rc = send_batch(
        pc, msgs, pc->status == MIM__STATUS__STATUS_AVAILABLE && pc->status_text[0] == '\0' ? 1 : 2,
        0);
    if (rc == 0)
        pc->logged_in = 1;
    return rc;
}

/* Both streams are up: log in, then wait for the table. */
static void ch_on_open(mim_channel *ch)
{
    presence_client *pc = mim_channel_data(ch);
    int rc;

    if (pc->stopping)
        return; /* cannot happen: stop() closed the channel */
    pc->phase = PC_AWAIT_TABLE;
    if ((rc = send_login(pc)) != 0)
        pc_end_channel(pc, 0, "login failed: %s", mim_strerror(rc));
}

/* ---- presence messages ----------------------------------------------------------------------- */

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

/* What the log adds to a server's Error: whether we stop, and why not when we could. */
static const char *error_outcome(int code, int fatal)
{
    if (fatal)
        return " (not retrying)";
    return error_fatal(code) ? " (from a server whose key is not the pinned one: not believed; "
                               "retrying)"
                             : "";
}

static void handle_error(presence_client *pc, const Mim__Error *err)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mim__error_code__descriptor, err->code);
    /* Only the pinned server may stop us: anyone on the LAN can run a server (see the header). */
    int fatal = error_fatal(err->code) && pc->server_verdict != MIM_PIN_CHANGED;

    /* The codec checked the text: valid UTF-8 without control characters, safe to log. */
    mim_log(fatal ? MIM_LOG_ERROR : MIM_LOG_WARN, "presence: the server refused %s: %s: %s%s",
            pc->name, v != NULL ? v->name : "ERROR_UNKNOWN", err->message,
            error_outcome(err->code, fatal));
    if (fatal)
        pc->fatal = 1;
    if (!pc->stopping && pc->ev.on_error != NULL)
        pc->ev.on_error(pc->ud, (int)err->code, err->message, fatal);
    /* The Error came in a FINAL frame: the session ended in order. */
    pc_end_channel(pc, 1, "server error %d: %s", (int)err->code, err->message);
}

static void handle_msg(presence_client *pc, const Mim__PresenceMsg *m)
{
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_TABLE:
        pc_table_chunk(pc, m->table);
        break;
    case MIM__PRESENCE_MSG__BODY_ADD:
        pc_table_add(pc, m->add->peer);
        break;
    case MIM__PRESENCE_MSG__BODY_DEL:
        pc_table_del(pc, m->del->name);
        break;
    case MIM__PRESENCE_MSG__BODY_STATUS:
        pc_table_status(pc, m->status);
        break;
    case MIM__PRESENCE_MSG__BODY_PING: {
        Mim__PresenceMsg r;
        Mim__Pong pong;
        mim_presence_pong_init(&r, &pong, m->ping->nonce);
        (void)send_one(pc, &r, 0);
        break;
    }
    case MIM__PRESENCE_MSG__BODY_PONG:
        break; /* last_rx was updated with the frame */
    case MIM__PRESENCE_MSG__BODY_ERROR:
        handle_error(pc, m->error);
        break;
    /* Issue 14's arms, each to the file of its job (presence_client_priv.h). */
    case MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK:
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        pc_mail_msg(pc, m);
        break;
    case MIM__PRESENCE_MSG__BODY_BROADCASTERS: /* issue 16 */
        pc_broadcasters_msg(pc, m->broadcasters);
        break;
    default: /* the codec lets only server -> peer messages through */
        if (pc_directory_msg(pc, m))
            break; /* issue 14: a LookupResult or a DirectoryPage */
        pc_end_channel(pc, 0, "unexpected message %d from the server", (int)m->body_case);
        break;
    }
}

/* One batch from the server (the channel decrypted it; p is wiped after this returns). */
static void ch_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    presence_client *pc = mim_channel_data(ch);
    Mim__PresenceBatch *b = NULL;
    char err[160];

    if (pc->stopping)
        return; /* logging out: whatever still comes is ignored */
    pc->last_rx = uv_now(pc->loop);
    if (len == 0) {
        if (final)
            pc_end_channel(pc, 1, "the server ended the session");
        else
            pc_end_channel(pc, 0, "an empty batch from the server");
        return;
    }
    if (mim_presence_batch_decode(p, len, MIM_FROM_SERVER, &b, err, sizeof(err)) != 0) {
        pc_end_channel(pc, 0, "malformed batch from the server: %s", err);
        return;
    }
    for (size_t i = 0; i < b->n_msgs && !pc_halted(pc); i++) {
        mim_trace("server", pc->name, &b->msgs[i]->base);
        handle_msg(pc, b->msgs[i]);
    }
    pc_mail_batch_end(pc); /* before the free: the MailItems point into b */
    mim_presence_batch_free(b);
    if (final && !pc_halted(pc))
        pc_end_channel(pc, 1, "the server ended the session");
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
        cfg->name == NULL || cfg->listen_port == 0 || cfg->nservers > PRESENCE_CLIENT_MAX_SERVERS)
        return MIM_EINVAL;
    for (size_t i = 0; i < (cfg->nservers > 0 ? cfg->nservers : 1); i++) {
        const struct sockaddr_storage *a = cfg->nservers > 0 ? &cfg->servers[i] : &cfg->server;
        if (a->ss_family != AF_INET && a->ss_family != AF_INET6)
            return MIM_EINVAL;
    }
    name_len = strlen(cfg->name);
    if (!mim_name_valid(cfg->name, name_len))
        return MIM_EINVAL;
    if ((pc = calloc(1, sizeof(*pc))) == NULL)
        return MIM_ENOMEM;
    pc->loop = cfg->loop;
    pc->id = cfg->id;
    memcpy(pc->name, cfg->name, name_len + 1);
    pc->listen_port = cfg->listen_port;
    pc->nservers = cfg->nservers > 0 ? cfg->nservers : 1;
    if (cfg->nservers > 0)
        memcpy(pc->servers, cfg->servers, cfg->nservers * sizeof(cfg->servers[0]));
    else
        pc->servers[0] = cfg->server;
    pc->round_left = pc->nservers - 1;
    use_server(pc, 0);
    pc->store = cfg->store;
    pc->ping_ms = cfg->ping_interval_ms != 0 ? cfg->ping_interval_ms : PC_DEFAULT_PING_MS;
    pc->backoff_min_ms = cfg->backoff_min_ms != 0 ? cfg->backoff_min_ms : PC_DEFAULT_BACKOFF_MIN;
    pc->backoff_max_ms = cfg->backoff_max_ms != 0 ? cfg->backoff_max_ms : PC_DEFAULT_BACKOFF_MAX;
    if (pc->backoff_min_ms > pc->backoff_max_ms) {
        free(pc);
        return MIM_EINVAL;
    }
    pc->backoff_ceiling = pc->backoff_min_ms;
    pc->max_table = cfg->max_table != 0 ? cfg->max_table : PRESENCE_TABLE_MAX_DEFAULT;
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
    if (pc->logged_in && !pc_halted(pc)) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__StatusSet st = MIM__STATUS_SET__INIT;
        status_msg(pc, &m, &st);
        (void)send_one(pc, &m, 0); /* a failure closes: resent at login */
    }
    return 0;
}

void presence_client_stop(presence_client *pc, void (*done)(void *ud))
{
    if (pc == NULL || pc->stopping)
        return;
    pc->stopping = 1;
    pc->done = done;
    uv_timer_stop(&pc->retry_timer);
    uv_timer_stop(&pc->settle_timer);
    uv_timer_stop(&pc->ka_timer);
    if (pc->ch == NULL) {
        finish(pc);
        return;
    }
    /* Logged in: a Logout in a FINAL frame. The server closes on reading it; the channel bounds
     * the drain (PC_DRAIN_MS). Otherwise, or if that fails, the channel ends as it can (an
     * empty FINAL once our stream is up); on_closed finishes either way. */
    if (pc->logged_in && mim_channel_can_send(pc->ch)) {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Logout lo = MIM__LOGOUT__INIT;
        m.body_case = MIM__PRESENCE_MSG__BODY_LOGOUT;
        m.logout = &lo;
        if (send_one(pc, &m, 1) == 0) {
            mim_channel_close(pc->ch, "logged out"); /* only sets the reason now */
            return;
        }
    }
    mim_channel_close(pc->ch, "stopped");
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

const char *presence_client_last_close(const presence_client *pc)
{
    return pc->last_close;
}

const struct sockaddr *presence_client_server(const presence_client *pc)
{
    return (const struct sockaddr *)&pc->server;
}

uint32_t presence_client_server_features(const presence_client *pc)
{
    return pc->ch != NULL && pc->logged_in ? pc->server_features : 0;
}
