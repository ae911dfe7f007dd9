/* The peer core's centre (see core.h and core_priv.h): the chat-session event table, start and
 * stop, the tick, and the commands on contacts, keys and history. */
#include "core_priv.h"
#include "content.h"
#include "mim_addr.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_log.h"
#include "mim_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORE_PATH_MAX 4096

/* The API's sizes and numbers are the crypto door's and the wire's. */
_Static_assert(MIM_CORE_FINGERPRINT_LEN == MIM_FINGERPRINT_LEN, "fingerprint length");
_Static_assert(MIM_CORE_SAFETY_NUMBER_LEN == MIM_SAFETY_NUMBER_LEN, "safety number length");
_Static_assert(MIM_CORE_TEXT_MAX == MIM_CHAT_TEXT_MAX, "chat text limit");
_Static_assert(MIM_CORE_STATUS_TEXT_MAX == MIM_STATUS_TEXT_MAX, "status text limit");
_Static_assert(sizeof(mim_msg_id) == MIM_MSG_ID_LEN, "message id length");
_Static_assert(MIM_MSG_ID_HEX_LEN == 2 * MIM_MSG_ID_LEN + 1, "message id as hex");
_Static_assert(MIM_CORE_CONTENT_TEXT == MIM__CONTENT_TYPE__CONTENT_TEXT, "content type text");

int mim_core_global_init(void)
{
    return mim_crypto_init() == 0 ? 0 : -1;
}

void mim_msg_id_hex(const mim_msg_id *id, char out[MIM_MSG_ID_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(id->bytes); i++) {
        out[2 * i] = digits[id->bytes[i] >> 4];
        out[2 * i + 1] = digits[id->bytes[i] & 15];
    }
    out[2 * sizeof(id->bytes)] = '\0';
}

mim_core_user_status core_status_of(int wire_status)
{
    switch (wire_status) {
    case MIM__STATUS__STATUS_AWAY:
        return MIM_CORE_AWAY;
    case MIM__STATUS__STATUS_BUSY:
        return MIM_CORE_BUSY;
    default:
        return MIM_CORE_AVAILABLE;
    }
}

static mim_core_msg_state msg_state_of(int stored_state)
{
    switch (stored_state) {
    case MIM_MSG_QUEUED:
        return MIM_CORE_MSG_QUEUED;
    case MIM_MSG_SENT:
        return MIM_CORE_MSG_SENT;
    case MIM_MSG_DELIVERED:
        return MIM_CORE_MSG_DELIVERED;
    default:
        return MIM_CORE_MSG_RECEIVED;
    }
}

void core_report_error(mim_core *c, mim_core_error code, const char *message, int fatal)
{
    if (c->ev.on_error != NULL)
        c->ev.on_error(c->ud, code, message, fatal);
}

static const chat_session_events chat_events = {
    .on_authenticated = core_on_authenticated,
    .on_open = core_on_open,
    .on_message = core_on_message,
    .on_ack = core_on_ack,
    .on_refused = core_on_refused,
    .on_chat_close = core_on_chat_close,
    .on_batch_end = core_on_batch_end,
    .on_closed = core_on_closed,
    .on_receipt = core_on_receipt,
    .on_typing = core_on_typing,
    .on_bulk = core_transfer_on_bulk,
    .on_broadcast_ack = core_on_broadcast_ack, /* issue 16 */
    .on_pong = core_on_pong,                   /* issue 14: core_unconfirmed.c */
};

/* Every tick_ms: keepalives; every MIM_CORE_TICK_MS: the idle close, the admission sweep and
 * the redial of the outboxes whose peers are online. */
static void on_tick(uv_timer_t *t)
{
    mim_core *c = t->data;
    uint64_t now = uv_now(c->loop);
    int slow = now - c->last_slow_tick >= MIM_CORE_TICK_MS;

    for (peer_rec *r = c->peers; r != NULL; r = r->next) {
        if (r->cs == NULL || !chat_session_is_open(r->cs))
            continue;
        if (chat_session_keepalive(r->cs, c->keepalive_ms))
            continue; /* gone: aborted */
        if (slow && chat_session_idle_ms(r->cs) >= MIM_CORE_IDLE_CLOSE_MS)
            chat_session_close(r->cs, "idle");
    }
    if (!slow)
        return;
    c->last_slow_tick = now;
    for (peer_rec *r = c->peers; r != NULL; r = r->next) {
        if (r->refused_until != 0 && now >= r->refused_until) {
            r->refused_until = 0; /* time for the next try (one message: r->probe) */
            if (r->cs != NULL)
                core_flush(c, r);
        }
        if (r->receipts_owed && r->cs == NULL)
            core_dial(c, r); /* read receipts wait for a session (mailbox deliveries) */
    }
    admission_sweep(&c->admit, now);
    core_newcomers_tick(c);
    core_directory_tick(c);
    core_transfer_tick(c);
    mim_store_outbox_peers(c->st, core_redial_one, c);
    core_mailbox_tick(c); /* issue 14: expiries and deposits */
    core_bcast_tick(c);   /* issue 16: broadcast acknowledgements owed */
}

static void free_core(mim_core *c)
{
    while (c->peers != NULL) {
        peer_rec *r = c->peers;
        c->peers = r->next;
        core_unconfirmed_free(r->resend);
        free(r);
    }
    core_rx_reset(c);
    core_directory_free(c);
    core_transfer_free(c);
    core_room_free(c); /* issue 16 */
    core_broadcast_free(c);
    admission_free(&c->admit);
    free(c->acks);
    free(c->delivered);
    free(c->turn_acks);
    free(c->refusing);
    free(c->refused);
    free(c->rx);
    free(c->batch);
    free(c->read_in);
    core_mailbox_free(c);
    if (c->st != NULL)
        mim_store_close(c->st);
    mim_identity_free(c->id);
    free(c);
}

void core_maybe_finish(mim_core *c)
{
    if (c->closing_handles > 0 || c->sessions != NULL || c->discovering || c->resolving)
        return;
    if (c->ev.on_stopped != NULL)
        c->ev.on_stopped(c->ud, c->exit_code);
    free_core(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    mim_core *c = h->data;
    c->closing_handles--;
    core_maybe_finish(c);
}

static void on_pc_stopped(void *ud)
{
    mim_core *c = ud;
    c->closing_handles--;
    core_maybe_finish(c);
}

static void close_handle(mim_core *c, uv_handle_t *h)
{
    if (uv_is_closing(h))
        return;
    c->closing_handles++;
    uv_close(h, on_handle_closed);
}

void mim_core_quit(mim_core *c, int exit_code)
{
    presence_client *pc = c->pc;

    if (c->quitting)
        return;
    c->quitting = 1;
    c->exit_code = exit_code;
    c->closing_handles++; /* held until the end of this function */
    if (pc != NULL) {
        c->pc = NULL;
        core_directory_lost(c); /* issue 14: sends still held for a lookup are told */
        c->closing_handles++;
        presence_client_stop(pc, on_pc_stopped);
    }
    for (sess *s = c->sessions; s != NULL; s = s->next)
        chat_session_close(s->cs, "quitting");
    core_server_stop(c);
    close_handle(c, (uv_handle_t *)&c->lis4);
    close_handle(c, (uv_handle_t *)&c->lis6);
    close_handle(c, (uv_handle_t *)&c->tick);
    close_handle(c, (uv_handle_t *)&c->disc_retry);
    close_handle(c, (uv_handle_t *)&c->everyday);
    core_delivered_apply(c); /* the acks that came in this turn: kept, reported */
    close_handle(c, (uv_handle_t *)&c->turn_end);
    close_handle(c, (uv_handle_t *)&c->turn_wake);
    core_transfer_stop(c);
    c->closing_handles--;
    /* Everything above closes asynchronously: maybe_finish runs from the last callback. */
}

/* The settings of cfg, checked and copied into c. 0, or MIM_EINVAL (logged). */
static int take_config(mim_core *c, const mim_core_config *cfg)
{
    snprintf(c->name, sizeof(c->name), "%s", cfg->name);
    c->discovery_port = cfg->discovery_port != 0 ? cfg->discovery_port : MIM_CORE_DEFAULT_PORT;
    c->advertise_port = cfg->advertise_port;
    c->max_table = cfg->max_table;
    c->keepalive_ms = cfg->keepalive_ms != 0 ? cfg->keepalive_ms : MIM_CORE_KEEPALIVE_MS;
    c->quota_messages = cfg->quota_messages == 0  ? MIM_CORE_QUOTA_MESSAGES
                        : cfg->quota_messages < 0 ? 0
                                                  : cfg->quota_messages;
    c->quota_bytes = cfg->quota_bytes == 0  ? MIM_CORE_QUOTA_BYTES
                     : cfg->quota_bytes < 0 ? 0
                                            : cfg->quota_bytes;
    if (c->keepalive_ms < MIM_CORE_KEEPALIVE_MIN_MS)
        c->keepalive_ms = MIM_CORE_KEEPALIVE_MIN_MS;
    c->name_taken_out = cfg->name_taken_out;
    if (cfg->server != NULL && core_server_parse(c, cfg->server) != 0)
        return MIM_EINVAL;
    return 0;
}

/* The data directory, the identity in it and the store. 0, or a negative MIM_E* (logged). */
static int open_data(mim_core *c, const char *data_dir)
{
    char path[CORE_PATH_MAX];
    int rc, created = 0;

    if ((rc = mim_fs_prepare_dir(data_dir)) != 0) {
        mim_log_error("cannot create the data directory %s", data_dir);
        return rc;
    }
    if ((rc = mim_fs_join(path, sizeof(path), data_dir, "identity.key")) != 0 ||
        (rc = mim_identity_load_or_create(path, &c->id, &created)) != 0) {
        mim_log_error("cannot load the identity %s: %s", path, mim_strerror(rc));
        return rc;
    }
    mim_fingerprint(c->id->sign_pk, c->fingerprint);
    if (created)
        mim_log_info("created a new identity in %s; fingerprint %s", path, c->fingerprint);
    else
        mim_log_info("identity loaded; fingerprint %s", c->fingerprint);
    if ((rc = mim_fs_join(path, sizeof(path), data_dir, "mim.db")) != 0 ||
        (rc = mim_store_open(path, MIM_STORE_PEER, &c->st)) != 0) {
        mim_log_error("cannot open the store %s: %s", path, mim_strerror(rc));
        return rc;
    }
    /* Whatever was written to a session in an earlier run may not have arrived. */
    if (mim_store_outbox_requeue(c->st, NULL) != 0)
        mim_log_warn("cannot requeue the outbox");
    return 0;
}

/* The handles: the listener and the tick. 0, or a negative code: then the core is quitting
 * (and frees itself from the loop, reporting nothing). */
static int start_handles(mim_core *c, uint16_t listen_port)
{
    uint64_t tick_ms;
    int rc;

    c->chat_cfg.loop = c->loop;
    c->chat_cfg.id = c->id;
    c->chat_cfg.my_name = c->name;
    c->chat_cfg.ev = &chat_events;
    c->chat_cfg.ud = c;
    c->chat_cfg.features = MIM_FEATURE_RECEIPTS | MIM_FEATURE_FILES | MIM_FEATURE_FILE_CHAIN;
    if (getenv("MIM_TEST_FIRST_FILES") != NULL) /* test hook: say we are of the first version */
        c->chat_cfg.features &= ~MIM_FEATURE_FILE_CHAIN;
    uv_timer_init(c->loop, &c->everyday); /* started by core_everyday_start */
    c->everyday.data = c;
    uv_tcp_init(c->loop, &c->lis4);
    uv_tcp_init(c->loop, &c->lis6);
    uv_timer_init(c->loop, &c->tick);
    uv_timer_init(c->loop, &c->disc_retry);
    core_delivered_init(c); /* issue 16: the turn's acks in one commit */
    c->lis4.data = c->lis6.data = c->tick.data = c->disc_retry.data = c;
    if ((rc = core_start_listener(c, listen_port)) != 0) {
        c->ev.on_stopped = NULL; /* a failed start reports nothing */
        mim_core_quit(c, 1);
        return rc;
    }
    /* Often enough for the keepalive (a Ping goes within half an interval of its due time). */
    tick_ms = c->keepalive_ms / 2 < MIM_CORE_TICK_MS ? c->keepalive_ms / 2 : MIM_CORE_TICK_MS;
    c->last_slow_tick = uv_now(c->loop);
    uv_timer_start(&c->tick, on_tick, tick_ms, tick_ms);
    return 0;
}

int mim_core_start(mim_core **out, const mim_core_config *cfg, const mim_core_events *ev, void *ud)
{
    mim_core *c;
    int rc;

    *out = NULL;
    if (cfg->loop == NULL || cfg->name == NULL || !mim_name_valid(cfg->name, strlen(cfg->name)) ||
        cfg->data_dir == NULL)
        return MIM_EINVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return MIM_ENOMEM;
    c->loop = cfg->loop;
    c->ev = *ev;
    c->ud = ud;
    if ((rc = take_config(c, cfg)) != 0 || (rc = open_data(c, cfg->data_dir)) != 0) {
        free_core(c);
        return rc;
    }
    if ((rc = start_handles(c, cfg->listen_port)) != 0)
        return rc;
    if ((rc = core_receipts_start(c, cfg->receipts)) != 0 ||
        (rc = core_everyday_start(c, cfg)) != 0 || (rc = core_transfer_start(c, cfg)) != 0 ||
        (rc = core_broadcast_start(c)) != 0) {
        c->ev.on_stopped = NULL; /* a failed start reports nothing */
        mim_core_quit(c, 1);
        return rc;
    }
    *out = c;
    if (c->ev.on_ready != NULL)
        c->ev.on_ready(c->ud, c->name, c->fingerprint, c->listen_port);
    if (cfg->server != NULL) {
        core_server_start(c);
    } else {
        mim_log_info("no --server given: looking for the presence server on the LAN (UDP port %u)",
                     (unsigned)c->discovery_port);
        core_start_discovery(c);
    }
    return 0;
}

const char *mim_core_name(const mim_core *c)
{
    return c->name;
}

int mim_core_status(mim_core *c, mim_core_user_status status, const char *text)
{
    int st;

    switch (status) {
    case MIM_CORE_AVAILABLE:
        st = MIM__STATUS__STATUS_AVAILABLE;
        break;
    case MIM_CORE_AWAY:
        st = MIM__STATUS__STATUS_AWAY;
        break;
    case MIM_CORE_BUSY:
        st = MIM__STATUS__STATUS_BUSY;
        break;
    default:
        return MIM_CORE_EBAD_VALUE;
    }
    if (text == NULL)
        text = "";
    if (strlen(text) > MIM_STATUS_TEXT_MAX)
        return MIM_CORE_ETOO_LONG;
    if (!mim_text_valid(text, strlen(text), MIM_STATUS_TEXT_MAX))
        return MIM_CORE_ETEXT;
    c->my_status = st;
    snprintf(c->my_status_text, sizeof(c->my_status_text), "%s", text);
    core_status_chosen(c);
    if (c->pc != NULL && presence_client_set_status(c->pc, st, text) != 0)
        return MIM_CORE_EBAD_VALUE;
    return 0;
}

typedef struct history_ctx {
    mim_core *c;
    void (*cb)(void *arg, const mim_core_history_item *m);
    void *arg;
} history_ctx;

static int history_one(const mim_message *m, void *arg)
{
    history_ctx *h = arg;
    char desc[CONTENT_DESCRIBE_MAX];
    mim_core_history_item it;

    it.id = core_msg_id(m->id);
    it.ts_ms = m->ts_ms;
    it.from = m->outgoing ? h->c->name : m->peer;
    it.to = m->outgoing ? m->peer : h->c->name;
    it.text = m->text;
    it.content_type = m->content_type;
    /* A key change's text is ours; so is the description of a file we offered (issue 15:
     * stored as text, not as a packed message). */
    if (m->content_type != MIM__CONTENT_TYPE__CONTENT_TEXT &&
        m->content_type != MIM_CORE_CONTENT_KEY_CHANGE && !m->outgoing) {
        /* The later pieces of a chunked item are not listed, as they were not shown. */
        if (!content_describe_stored(m->text, m->text_len, m->content_type, desc, sizeof(desc)))
            return 0;
        it.text = desc;
    }
    it.state = m->seen ? MIM_CORE_MSG_READ : msg_state_of(m->state);
    if (it.state == MIM_CORE_MSG_QUEUED && m->deposited)
        it.state = MIM_CORE_MSG_DEPOSITED; /* issue 14: in the server's mailbox */
    it.unread = m->unread;
    it.broadcast = core_fanout_broadcast_of(m->fanout); /* issue 16: as the live message */
    h->cb(h->arg, &it);
    return 0;
}

const char *mim_core_typed_name(const char *typed, char out[MIM_NAME_MAX_BYTES + 1])
{
    if (mim_name_nfc(typed, out, MIM_NAME_MAX_BYTES + 1) != 0 || !mim_name_valid(out, strlen(out)))
        return NULL;
    return out;
}

int mim_core_history(mim_core *c, const char *with, size_t limit,
                     void (*cb)(void *arg, const mim_core_history_item *m), void *arg)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    history_ctx h = {c, cb, arg};
    peer_rec *r;

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (limit == 0 || limit > MIM_CORE_HISTORY_MAX)
        return MIM_CORE_EBAD_VALUE;
    /* As mim_core_close_chat: a name never dealt with is unknown, not an empty history. */
    if (!core_known_peer(c, with))
        return MIM_CORE_EUNKNOWN_PEER;
    if (mim_store_history_each(c->st, with, limit, history_one, &h) < 0)
        return MIM_CORE_ESTORE;
    if ((r = core_peer_find(c, with)) != NULL)
        core_newcomer_shown(c, r); /* a new contact kept quiet: the user turned to it */
    return 0;
}

int mim_core_verify(mim_core *c, const char *with, char out[MIM_CORE_SAFETY_NUMBER_LEN],
                    int *new_key)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    mim_contact ct;
    const online_entry *e;
    const uint8_t *pk;

    *new_key = 0;
    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (strcmp(with, c->name) == 0)
        return MIM_CORE_ESELF; /* a safety number is between two keys */
    if (mim_store_contact_get(c->st, with, &ct) == 0) {
        /* A pending key is the one the banner asks the user to check before /trust. */
        *new_key = ct.has_pending;
        pk = ct.has_pending ? ct.pending_pk : ct.identity_pk;
    } else if ((e = core_table_find(c, with)) != NULL) {
        pk = e->identity_pk;
    } else {
        return MIM_CORE_EUNKNOWN_PEER;
    }
    mim_safety_number(c->id->sign_pk, c->name, pk, with, out);
    return 0;
}

int mim_core_trust(mim_core *c, const char *with, const char *fingerprint)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    peer_rec *r;
    mim_contact ct;
    int rc;

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (mim_store_contact_get(c->st, with, &ct) == 0 && ct.has_pending) {
        char fp[MIM_FINGERPRINT_LEN];
        peer_rec *seen = core_peer_find(c, with);
        mim_fingerprint(ct.pending_pk, fp);
        if (fingerprint != NULL && strcmp(fp, fingerprint) != 0)
            return MIM_CORE_EFINGERPRINT; /* another key than the one the user checked */
        /* Without a fingerprint: only the key the user was last shown (an alarm, the contacts
         * list), never one that changed since. */
        if (fingerprint == NULL && (seen == NULL || !seen->alarm_seen ||
                                    memcmp(seen->alarm_pk, ct.pending_pk, MIM_KEY_LEN) != 0))
            return MIM_CORE_EUNSEEN;
    }
    rc = mim_store_contact_trust(c->st, with);
    if (rc == MIM_ENOENT)
        return core_known_peer(c, with) ? MIM_CORE_ENOTHING : MIM_CORE_EUNKNOWN_PEER;
    if (rc != 0)
        return MIM_CORE_ESTORE;
    mim_log_info("the new key of %s is trusted; its held messages go out", with);
    if ((r = core_peer_get(c, with)) != NULL) {
        if (r->cs != NULL)
            core_flush(c, r);
        else
            core_maybe_dial(c, r);
    }
    return 0;
}

int mim_core_trust_server(mim_core *c, const char *fingerprint)
{
    mim_contact pin;
    char fp[MIM_FINGERPRINT_LEN], server[MIM_ADDR_STRLEN];

    if (c->server.ss_family == 0)
        return MIM_CORE_ENOTHING;                                 /* no server met yet */
    mim_addr_format((const struct sockaddr *)&c->server, server); /* its pin's key */
    if (mim_store_server_pin_get(c->st, server, &pin) != 0 || !pin.has_pending)
        return MIM_CORE_ENOTHING;
    mim_fingerprint(pin.pending_pk, fp);
    if (fingerprint != NULL && strcmp(fp, fingerprint) != 0)
        return MIM_CORE_EFINGERPRINT; /* another key than the one the user checked */
    if (mim_store_server_pin_trust(c->st, server) != 0)
        return MIM_CORE_ESTORE;
    c->server_pinned = 1; /* the key the client saw is the pin now */
    mim_log_info("presence: the server's new key %s is trusted (pinned)", fp);
    return 0;
}

int mim_core_verified(mim_core *c, const char *with, int value)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    int rc;

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    rc = mim_store_contact_set_verified(c->st, with, value ? 1 : 0);
    if (rc == MIM_ENOENT)
        return MIM_CORE_EUNKNOWN_PEER;
    return rc != 0 ? MIM_CORE_ESTORE : 0;
}

int mim_core_close_chat(mim_core *c, const char *with)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    peer_rec *r;

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (!core_known_peer(c, with))
        return MIM_CORE_EUNKNOWN_PEER;
    if ((r = core_peer_find(c, with)) != NULL) {
        r->conv_open = 0;
        if (r->cs != NULL && chat_session_is_open(r->cs))
            chat_session_send_close(r->cs);
    }
    return 0;
}

typedef struct contacts_ctx {
    mim_core *c;
    void (*cb)(void *arg, const mim_core_contact_info *ci);
    void *arg;
} contacts_ctx;

/* Messages to name still in the outbox (0 when the store fails: logged there). */
static size_t outbox_count(mim_core *c, const char *name)
{
    int64_t n = 0;

    if (mim_store_outbox_count(c->st, name, &n) < 0 || n < 0)
        return 0;
    return (size_t)n;
}

static int contact_one(const mim_contact *ct, void *arg)
{
    contacts_ctx *x = arg;
    char fp[MIM_FINGERPRINT_LEN], pending_fp[MIM_FINGERPRINT_LEN] = "";
    mim_core_contact_info ci;

    mim_fingerprint(ct->identity_pk, fp);
    if (ct->has_pending) { /* the TUI's banner shows it after a restart */
        mim_fingerprint(ct->pending_pk, pending_fp);
        core_alarm_seen(x->c, ct->name, ct->pending_pk);
    }
    ci.name = ct->name;
    ci.fingerprint = fp;
    ci.verified = ct->verified;
    ci.key_pending = ct->has_pending;
    ci.pending_fingerprint = pending_fp;
    core_contact_state(x->c, ct->name, &ci);
    ci.queued = outbox_count(x->c, ct->name);
    x->cb(x->arg, &ci);
    return 0;
}

static int outbox_only_one(const char *peer, void *arg)
{
    contacts_ctx *x = arg;
    mim_contact ct;
    mim_core_contact_info ci = {.name = peer, .fingerprint = "", .pending_fingerprint = ""};

    if (mim_store_contact_get(x->c->st, peer, &ct) == 0)
        return 0; /* listed with the contacts */
    core_contact_state(x->c, peer, &ci);
    ci.queued = outbox_count(x->c, peer);
    x->cb(x->arg, &ci);
    return 0;
}

int mim_core_contacts(mim_core *c, void (*cb)(void *arg, const mim_core_contact_info *ci),
                      void *arg)
{
    contacts_ctx x = {c, cb, arg};

    if (mim_store_contact_each(c->st, contact_one, &x) < 0 ||
        mim_store_outbox_peers(c->st, outbox_only_one, &x) < 0)
        return MIM_CORE_ESTORE;
    return 0;
}
