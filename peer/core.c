/* The peer core (see core.h).
 *
 * Bookkeeping: one peer_rec per name we have dealt with in this run (the kept session, a dial
 * in progress, whether the conversation is open), and one sess node per live chat_session
 * (authenticated or not), so that quitting can close them all and wait for them.
 *
 * Receiving is a group commit: the first chat message of a frame opens a transaction, every
 * message of the frame is stored in it (duplicates included: they are acked again), and
 * on_batch_end commits, THEN acks the frame's ids and reports the new messages. A failed store
 * or commit rolls back and closes the session without acking: the sender keeps the messages in
 * its outbox and sends them again later. */
#include "core.h"
#include "mim_admission.h"
#include "chat_session.h"
#include "content.h"
#include "mim_addr.h"
#include "mim_codec.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_log.h"
#include "mim_store_peer.h"
#include "presence_client.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORE_PATH_MAX 4096

typedef struct peer_rec {
    struct peer_rec *next;
    char name[MIM_NAME_MAX_BYTES + 1];
    chat_session *cs;      /* the kept, authenticated session (NULL: none) */
    chat_session *dialing; /* our dial, until it is authenticated or closed */
    int conv_open;         /* we talked in this run (chat_opened said, or we sent) */
    int want_flush;        /* acks came in: room in the window */
} peer_rec;

typedef struct sess {
    struct sess *next, *prev;
    chat_session *cs;
    peer_rec *rec;     /* set once authenticated and accepted */
    int close_pending; /* a chat close came in this frame: reported after its messages */
    int unauth;        /* counted by the admission caps until it opens or closes */
    uint8_t ip[16];
    uint8_t ip_len;
} sess;

typedef struct rx_item {
    uint8_t id[MIM_MSG_ID_LEN];
    int64_t ts_ms;
    int type;   /* MIM__CONTENT_TYPE__*: not TEXT is reported as unsupported */
    char *text; /* the text, or the description of what cannot be shown */
} rx_item;

/* A message of the send batch, in the order of the sends. */
typedef struct send_item {
    peer_rec *r;
    uint8_t id[MIM_MSG_ID_LEN];
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
    int discovering; /* a presence_discover is in flight (its cb always runs) */
    int my_status;   /* MIM__STATUS__*, 0: never set */
    char my_status_text[MIM_STATUS_TEXT_MAX + 1];
    int logged_out; /* mim_core_logout: no presence client until mim_core_login */

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

    /* The send batch (mim_core_batch_begin): its messages are inserted in one transaction and
     * reported after its commit. Only mim_core_send runs inside a batch, so no loop turn
     * passes between begin and end and the peer_recs stay. */
    int batching;
    int batch_tx; /* that transaction is open */
    send_item *batch;
    size_t nbatch, cap_batch;
};

static int cs_on_authenticated(void *ud, chat_session *cs, const char *name,
                               const uint8_t identity_pk[MIM_KEY_LEN], const char **reason);
static void cs_on_open(void *ud, chat_session *cs);
static void cs_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m);
static void cs_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN]);
static void cs_on_chat_close(void *ud, chat_session *cs);
static void cs_on_batch_end(void *ud, chat_session *cs);
static void cs_on_closed(void *ud, chat_session *cs, const char *reason);
static void start_presence(mim_core *c);
static void start_discovery(mim_core *c);
static void maybe_finish(mim_core *c);

static const chat_session_events chat_events = {
    .on_authenticated = cs_on_authenticated,
    .on_open = cs_on_open,
    .on_message = cs_on_message,
    .on_ack = cs_on_ack,
    .on_chat_close = cs_on_chat_close,
    .on_batch_end = cs_on_batch_end,
    .on_closed = cs_on_closed,
};

/* ---- helpers --------------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mim_core_id_hex(const uint8_t id[MIM_MSG_ID_LEN], char out[MIM_CORE_ID_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < MIM_MSG_ID_LEN; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[2 * MIM_MSG_ID_LEN] = '\0';
}

static const char *status_name(int status)
{
    switch (status) {
    case MIM__STATUS__STATUS_AWAY:
        return "away";
    case MIM__STATUS__STATUS_BUSY:
        return "busy";
    default:
        return "available";
    }
}

static const char *state_name(int state)
{
    switch (state) {
    case MIM_MSG_QUEUED:
        return "queued";
    case MIM_MSG_SENT:
        return "sent";
    case MIM_MSG_DELIVERED:
        return "delivered";
    default:
        return "received";
    }
}

static peer_rec *rec_find(mim_core *c, const char *name)
{
    for (peer_rec *r = c->peers; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static peer_rec *rec_get(mim_core *c, const char *name)
{
    peer_rec *r = rec_find(c, name);
    if (r != NULL)
        return r;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->next = c->peers;
    c->peers = r;
    return r;
}

static const online_entry *table_find(mim_core *c, const char *name)
{
    if (c->pc == NULL)
        return NULL;
    return online_table_find_name(presence_client_table(c->pc), name);
}

/* A contact whose key changed is held until the user trusts the new key. */
static int is_held(mim_core *c, const char *name)
{
    mim_contact ct;
    return mim_store_contact_get(c->st, name, &ct) == 0 && ct.has_pending;
}

static int count_one(const mim_message *m, void *arg)
{
    (void)m;
    ++*(int *)arg;
    return 1;
}

static int outbox_nonempty(mim_core *c, const char *name)
{
    int n = 0;
    mim_store_outbox_each(c->st, name, 1, count_one, &n);
    return n > 0;
}

static void report_error(mim_core *c, const char *code, const char *message, int fatal)
{
    if (c->ev.on_error != NULL)
        c->ev.on_error(c->ud, code, message, fatal);
}

static sess *sess_add(mim_core *c, chat_session *cs)
{
    sess *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cs = cs;
    s->next = c->sessions;
    if (c->sessions != NULL)
        c->sessions->prev = s;
    c->sessions = s;
    chat_session_set_data(cs, s);
    return s;
}

/* An incoming session stops counting against the admission caps (it opened, or closed). */
static void sess_leave_unauth(mim_core *c, sess *s)
{
    if (s->unauth) {
        admission_leave(&c->admit, s->ip, s->ip_len);
        s->unauth = 0;
    }
}

static void sess_remove(mim_core *c, sess *s)
{
    sess_leave_unauth(c, s);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    free(s);
}

/* ---- sending: the outbox, in seq order ------------------------------------------------------- */

typedef struct flush_ctx {
    mim_core *c;
    peer_rec *r;
    size_t next; /* the batch's first message to r not seen sent yet (nbatch: none) */
} flush_ctx;

/* The batch's first message to r at index i or after it; c->nbatch when there is none. */
static size_t batch_next_for(const mim_core *c, const peer_rec *r, size_t i)
{
    while (i < c->nbatch && c->batch[i].r != r)
        i++;
    return i;
}

static int flush_one(const mim_message *m, void *arg)
{
    flush_ctx *f = arg;
    mim_core *c = f->c;
    char hex[MIM_CORE_ID_HEX_LEN];

    if (m->state != MIM_MSG_QUEUED)
        return 0; /* in flight on this session already */
    if (chat_session_send_chat(f->r->cs, m->id, (uint64_t)m->ts_ms, m->text, m->text_len) != 0)
        return 1; /* the session is closing: the rest waits */
    if (mim_store_message_set_state(c->st, m->peer, m->id, MIM_MSG_SENT) < 0)
        mim_log_warn("cannot mark a message to %s sent", m->peer);
    /* The outbox goes in seq order and the batch's messages to r are its newest, in the same
     * order: each one sent is the next one the batch expects, or an older message. */
    if (f->next < c->nbatch && memcmp(c->batch[f->next].id, m->id, MIM_MSG_ID_LEN) == 0) {
        c->batch[f->next].sent = 1;
        f->next = batch_next_for(c, f->r, f->next + 1);
    }
    mim_core_id_hex(m->id, hex);
    if (c->ev.on_sent != NULL)
        c->ev.on_sent(c->ud, m->peer, hex);
    return 0;
}

/* A group of state changes in one transaction: one fsync instead of one per message. Losing
 * the group is harmless (SENT is only a hint: start-up and a lost session turn it back to
 * QUEUED; a DELIVERED lost goes back to SENT and the resend is acked again), so a failed begin
 * simply leaves each change its own commit. */
static int group_begin(mim_core *c)
{
    return mim_store_begin_relaxed(c->st) == 0;
}

static int group_end(mim_core *c, int began)
{
    if (began && mim_store_commit(c->st) != 0) {
        mim_store_rollback(c->st);
        mim_log_warn("cannot store message states: they will be redone");
        return 0;
    }
    return 1;
}

/* Sends what waits for r (up to the window) on its open session. */
static void flush(mim_core *c, peer_rec *r)
{
    flush_ctx f = {c, r, batch_next_for(c, r, 0)};
    int began;

    r->want_flush = 0;
    if (c->quitting || r->cs == NULL || !chat_session_is_open(r->cs) || is_held(c, r->name))
        return;
    began = group_begin(c);
    if (mim_store_outbox_each(c->st, r->name, MIM_CORE_FLUSH_WINDOW, flush_one, &f) < 0)
        mim_log_warn("cannot read the outbox for %s", r->name);
    (void)group_end(c, began);
}

static void entry_sockaddr(const online_entry *e, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (e->addr_len == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, e->addr, 4);
        sin->sin_port = htons(e->port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, e->addr, 16);
        sin6->sin6_port = htons(e->port);
    }
}

/* Dials r when it has something to send, is online with an address, and is not held. */
static void maybe_dial(mim_core *c, peer_rec *r)
{
    const online_entry *e;
    struct sockaddr_storage ss;
    chat_session *cs;
    int rc;

    if (c->quitting || r->cs != NULL || r->dialing != NULL)
        return;
    if ((e = table_find(c, r->name)) == NULL || e->port == 0 ||
        (e->addr_len != 4 && e->addr_len != 16))
        return;
    if (!outbox_nonempty(c, r->name) || is_held(c, r->name))
        return;
    entry_sockaddr(e, &ss);
    rc = chat_session_dial(&c->chat_cfg, (struct sockaddr *)&ss, r->name, e->identity_pk, &cs);
    if (rc != 0) {
        mim_log_warn("cannot dial %s: %s", r->name, mim_strerror(rc));
        return;
    }
    if (sess_add(c, cs) == NULL) {
        chat_session_close(cs, "out of memory");
        return;
    }
    r->dialing = cs;
    mim_log_debug("dialling %s", r->name);
}

/* ---- chat session events --------------------------------------------------------------------- */

/* The key of whoever dialled cs. */
static const uint8_t *initiator_key(mim_core *c, chat_session *cs)
{
    return chat_session_is_initiator(cs) ? c->id->sign_pk : chat_session_peer_key(cs);
}

static int cs_on_authenticated(void *ud, chat_session *cs, const char *name,
                               const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r;
    int v;

    if (c->quitting) {
        *reason = "quitting";
        return -1;
    }
    if (strcmp(name, c->name) == 0) {
        *reason = "a session with ourselves";
        return -1;
    }
    /* Whoever dials us is someone the presence server vouches for (its table entry has this
     * key), or a contact we pinned before (the table may be stale or the server down). Anyone
     * else could pose as a peer we have not met yet: refused, and nothing is pinned. (A session
     * we dialled was checked against the table's key already.) */
    if (!chat_session_is_initiator(cs)) {
        const online_entry *e = table_find(c, name);
        mim_contact ct;
        char fp[MIM_FINGERPRINT_LEN];

        if (e != NULL && memcmp(e->identity_pk, identity_pk, MIM_KEY_LEN) != 0) {
            mim_fingerprint(identity_pk, fp);
            mim_log_warn("a session claiming to be %s presented a key (%s) other than the "
                         "presence server's: refused",
                         name, fp);
            *reason = "the key differs from the presence table";
            return -1;
        }
        if (e == NULL && mim_store_contact_get(c->st, name, &ct) != 0) {
            mim_fingerprint(identity_pk, fp);
            mim_log_warn("a session claiming to be %s (key %s), neither online nor a contact: "
                         "refused",
                         name, fp);
            *reason = "not vouched for by the presence server";
            return -1;
        }
    }
    v = mim_store_pin_check(c->st, name, identity_pk, (int64_t)time(NULL));
    if (v < 0) {
        *reason = "the store failed";
        return -1;
    }
    if (v == MIM_PIN_CHANGED) {
        mim_contact ct;
        char old_fp[MIM_FINGERPRINT_LEN], new_fp[MIM_FINGERPRINT_LEN];
        mim_fingerprint(identity_pk, new_fp);
        if (mim_store_contact_get(c->st, name, &ct) == 0)
            mim_fingerprint(ct.identity_pk, old_fp);
        else
            snprintf(old_fp, sizeof(old_fp), "?");
        mim_log_warn("%s presented another key (%s) than its pin (%s): refused, outbox held", name,
                     new_fp, old_fp);
        if (c->ev.on_key_changed != NULL)
            c->ev.on_key_changed(c->ud, name, old_fp, new_fp);
        *reason = "the key differs from the pin";
        return -1;
    }
    if ((r = rec_get(c, name)) == NULL) {
        *reason = "out of memory";
        return -1;
    }
    if (r->cs != NULL && r->cs != cs) {
        chat_session *old = r->cs;
        const uint8_t *ko = initiator_key(c, old), *kn = initiator_key(c, cs);
        /* Two sessions for one pair: both sides keep the one dialled by the lower key. The same
         * dialler twice (it restarted): the newer one. */
        if (memcmp(ko, kn, MIM_KEY_LEN) < 0) {
            if (r->dialing == cs)
                r->dialing = NULL;
            *reason = "a session with this peer exists";
            return -1;
        }
        r->cs = cs;
        /* Whatever went out on the old session waits for this one. */
        mim_store_outbox_requeue(c->st, name);
        chat_session_close(old, "replaced by another session");
    }
    r->cs = cs;
    if (r->dialing == cs)
        r->dialing = NULL;
    if (s != NULL)
        s->rec = r;
    return 0;
}

static void cs_on_open(void *ud, chat_session *cs)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);

    if (s != NULL)
        sess_leave_unauth(c, s);
    if (s != NULL && s->rec != NULL && s->rec->cs == cs) {
        mim_log_info("chat session with %s open", s->rec->name);
        flush(c, s->rec);
    }
}

/* `arr`, an array of *cap elements of `size` bytes, reallocated with room for more (doubling,
 * from 16; *cap updated). NULL when out of memory: arr and *cap are unchanged then. */
static void *grow(void *arr, size_t *cap, size_t size)
{
    size_t ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(arr, ncap * size);

    if (p != NULL)
        *cap = ncap;
    return p;
}

static int push_id(uint8_t (**ids)[MIM_MSG_ID_LEN], size_t *n, size_t *cap, const uint8_t *id)
{
    if (*n == *cap) {
        void *p = grow(*ids, cap, MIM_MSG_ID_LEN);
        if (p == NULL)
            return -1;
        *ids = p;
    }
    memcpy((*ids)[(*n)++], id, MIM_MSG_ID_LEN);
    return 0;
}

static int push_ack(mim_core *c, const uint8_t *id)
{
    return push_id(&c->acks, &c->nacks, &c->cap_acks, id);
}

static int push_rx(mim_core *c, const Mim__ChatMessage *m)
{
    rx_item *it;
    char desc[CONTENT_DESCRIBE_MAX];

    if (c->nrx == c->cap_rx) {
        void *p = grow(c->rx, &c->cap_rx, sizeof(rx_item));
        if (p == NULL)
            return -1;
        c->rx = p;
    }
    it = &c->rx[c->nrx];
    memcpy(it->id, m->id.data, MIM_MSG_ID_LEN);
    it->ts_ms = (int64_t)m->ts_ms;
    it->type = (int)m->type;
    if (m->type != MIM__CONTENT_TYPE__CONTENT_TEXT)
        content_describe(m, desc, sizeof(desc));
    if ((it->text = strdup(m->type == MIM__CONTENT_TYPE__CONTENT_TEXT ? m->text : desc)) == NULL)
        return -1;
    c->nrx++;
    return 0;
}

/* Stores one received message (in the frame's transaction): text as its text; anything else
 * as the whole ChatMessage, packed, for a later version to read. 1 new, 0 a duplicate. */
static int store_received(mim_core *c, const char *peer, const Mim__ChatMessage *m)
{
    uint8_t *packed;
    size_t n;
    int r;

    if (m->type == MIM__CONTENT_TYPE__CONTENT_TEXT)
        return mim_store_message_receive(c->st, peer, m->id.data, (int64_t)m->ts_ms, (int)m->type,
                                         m->text, strlen(m->text));
    n = mim__chat_message__get_packed_size(m);
    if ((packed = malloc(n > 0 ? n : 1)) == NULL)
        return MIM_ENOMEM;
    mim__chat_message__pack(m, packed);
    r = mim_store_message_receive(c->st, peer, m->id.data, (int64_t)m->ts_ms, (int)m->type,
                                  (const char *)packed, n);
    free(packed);
    return r;
}

static void cs_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    mim_core *c = ud;
    const char *peer = chat_session_peer_name(cs);
    int r;

    if (c->txn_failed)
        return;
    if (!c->txn_open) {
        if (mim_store_begin(c->st) != 0) {
            c->txn_failed = 1;
            return;
        }
        c->txn_open = 1;
    }
    r = store_received(c, peer, m);
    if (r < 0 || push_ack(c, m->id.data) != 0 ||
        (r == 1 && content_is_shown(m) && push_rx(c, m) != 0))
        c->txn_failed = 1;
}

static void cs_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    mim_core *c = ud;

    /* Applied at the frame's end, outside the receive transaction (a rollback of that must
     * not undo a delivery that was already reported). */
    (void)cs;
    if (push_id(&c->delivered, &c->ndelivered, &c->cap_delivered, id) != 0)
        mim_log_warn("out of memory: an ack from %s is lost", chat_session_peer_name(cs));
}

/* The frame's acks: each message moves to DELIVERED, reported once (a repeated ack is no news)
 * and only once the move is committed; an id that is not one of ours is ignored. */
static void apply_delivered(mim_core *c, chat_session *cs, sess *s)
{
    const char *peer = chat_session_peer_name(cs);
    int began = c->ndelivered > 0 && group_begin(c);
    size_t moved = 0;

    for (size_t i = 0; i < c->ndelivered; i++)
        if (mim_store_message_set_state(c->st, peer, c->delivered[i], MIM_MSG_DELIVERED) == 1)
            memmove(c->delivered[moved++], c->delivered[i], MIM_MSG_ID_LEN);
    c->ndelivered = 0;
    if (!group_end(c, began))
        return; /* not durable: the resend will be acked again, and reported then */
    for (size_t i = 0; i < moved; i++) {
        char hex[MIM_CORE_ID_HEX_LEN];
        mim_core_id_hex(c->delivered[i], hex);
        if (c->ev.on_delivered != NULL)
            c->ev.on_delivered(c->ud, peer, hex);
        if (s != NULL && s->rec != NULL)
            s->rec->want_flush = 1;
    }
}

static void cs_on_chat_close(void *ud, chat_session *cs)
{
    sess *s = chat_session_data(cs);

    /* The frame's messages are shown at its end (after the commit): the close comes after them,
     * as the sender said it. */
    (void)ud;
    if (s != NULL)
        s->close_pending = 1;
}

/* The close of this frame, if any, after its messages. */
static void report_close(mim_core *c, chat_session *cs, sess *s)
{
    if (s == NULL || !s->close_pending)
        return;
    s->close_pending = 0;
    if (s->rec != NULL && s->rec->cs == cs)
        s->rec->conv_open = 0;
    if (c->ev.on_chat_closed != NULL)
        c->ev.on_chat_closed(c->ud, chat_session_peer_name(cs));
}

/* A received message, shown: text through on_message; what cannot be shown through
 * on_unsupported when the front end has it, else as its description through on_message. */
static void report_message(mim_core *c, const char *peer, const rx_item *it)
{
    char hex[MIM_CORE_ID_HEX_LEN], tbuf[16];

    mim_core_id_hex(it->id, hex);
    if (it->type != MIM__CONTENT_TYPE__CONTENT_TEXT && c->ev.on_unsupported != NULL)
        c->ev.on_unsupported(c->ud, peer, hex, it->ts_ms,
                             content_type_name(it->type, tbuf, sizeof(tbuf)), it->text);
    else if (c->ev.on_message != NULL)
        c->ev.on_message(c->ud, peer, hex, it->ts_ms, it->text);
}

static void rx_reset(mim_core *c)
{
    for (size_t i = 0; i < c->nrx; i++)
        free(c->rx[i].text);
    c->nrx = 0;
    c->nacks = 0;
    c->txn_open = 0;
    c->txn_failed = 0;
}

static void cs_on_batch_end(void *ud, chat_session *cs)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r = s != NULL ? s->rec : NULL;
    const char *peer = chat_session_peer_name(cs);

    if (c->txn_open || c->txn_failed) {
        if (c->txn_failed || mim_store_commit(c->st) != 0) {
            if (c->txn_open)
                mim_store_rollback(c->st);
            mim_log_error("cannot store messages from %s: not acknowledged", peer);
            report_error(c, "store", "cannot store received messages", 0);
            chat_session_close(cs, "the store failed");
            rx_reset(c);
            apply_delivered(c, cs, s);
            report_close(c, cs, s);
            return;
        }
        /* Durable now: acknowledge, then show. */
        if (c->nacks > 0 &&
            chat_session_send_ack(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])c->acks, c->nacks) != 0)
            mim_log_debug("acks to %s not sent: the session is closing", peer);
        if (c->nrx > 0 && r != NULL && !r->conv_open) {
            r->conv_open = 1;
            if (c->ev.on_chat_opened != NULL)
                c->ev.on_chat_opened(c->ud, peer);
        }
        for (size_t i = 0; i < c->nrx; i++)
            report_message(c, peer, &c->rx[i]);
        rx_reset(c);
    }
    apply_delivered(c, cs, s);
    report_close(c, cs, s);
    if (r != NULL && r->want_flush && r->cs == cs)
        flush(c, r);
}

static void cs_on_closed(void *ud, chat_session *cs, const char *reason)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r = s != NULL ? s->rec : NULL;

    /* A dial that never authenticated is known only by its peer_rec's `dialing`. */
    if (r == NULL)
        for (peer_rec *p = c->peers; p != NULL; p = p->next)
            if (p->dialing == cs)
                r = p;
    if (r != NULL) {
        if (r->dialing == cs)
            r->dialing = NULL;
        if (r->cs == cs) {
            r->cs = NULL;
            mim_log_info("chat session with %s closed: %s", r->name, reason);
            /* Sent but not acknowledged: back to the outbox, for the next session. */
            if (mim_store_outbox_requeue(c->st, r->name) != 0)
                mim_log_warn("cannot requeue the outbox for %s", r->name);
        } else {
            mim_log_debug("a session with %s ended: %s", r->name, reason);
        }
    } else {
        mim_log_debug("an unauthenticated session ended: %s", reason);
    }
    if (s != NULL)
        sess_remove(c, s);
    if (c->quitting)
        maybe_finish(c);
}

/* ---- the listener ---------------------------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status)
{
    mim_core *c = server->data;
    chat_session *cs;
    sess *s;
    int rc, verdict;

    if (status < 0) {
        mim_log_warn("listener: %s", uv_strerror(status));
        return;
    }
    if ((rc = chat_session_accept(&c->chat_cfg, server, &cs)) != 0) {
        mim_log_warn("cannot accept a chat session: %s", mim_strerror(rc));
        return;
    }
    if ((s = sess_add(c, cs)) == NULL) {
        chat_session_close(cs, "out of memory");
        return;
    }
    if (c->quitting) {
        chat_session_close(cs, "quitting");
        return;
    }
    /* Before anyone is authenticated a connection costs us a handshake: cap them in all, per
     * address and per second, as the presence server does. */
    s->ip_len = (uint8_t)mim_addr_raw(chat_session_remote_addr(cs), s->ip);
    verdict = admission_enter(&c->admit, s->ip, s->ip_len, uv_now(c->loop));
    if (verdict != ADMIT_OK) {
        mim_log_warn("listener: refused a connection: %s", admission_reason(verdict));
        chat_session_close(cs, admission_reason(verdict));
        return;
    }
    s->unauth = 1;
}

/* Incoming sessions still in their handshake: a LAN peer needs few at once. */
static const admission_limits incoming_limits = {
    .max_unauth = 64,
    .max_unauth_per_ip = 8,
    .rate_per_ip = 10,
};

static int start_listener(mim_core *c, uint16_t port)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr_storage got;
    int len = sizeof(got), rc;

    uv_ip4_addr("0.0.0.0", port, &a4);
    if ((rc = uv_tcp_bind(&c->lis4, (struct sockaddr *)&a4, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&c->lis4, 128, on_connection)) != 0) {
        mim_log_error("cannot listen on port %u: %s", (unsigned)port, uv_strerror(rc));
        return MIM_EIO;
    }
    uv_tcp_getsockname(&c->lis4, (struct sockaddr *)&got, &len);
    c->listen_port = mim_addr_port((struct sockaddr *)&got);
    /* IPv6 on the same port when the host has it; IPv4 alone is enough. */
    uv_ip6_addr("::", c->listen_port, &a6);
    if ((rc = uv_tcp_bind(&c->lis6, (struct sockaddr *)&a6, UV_TCP_IPV6ONLY)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&c->lis6, 128, on_connection)) != 0)
        mim_log_debug("no IPv6 listener: %s", uv_strerror(rc));
    else
        c->lis6_on = 1;
    return 0;
}

/* ---- presence -------------------------------------------------------------------------------- */

static void pc_on_state(void *ud, enum presence_client_state state, const char *server)
{
    mim_core *c = ud;
    const char *s = NULL;

    switch (state) {
    case PRESENCE_CONNECTED:
        s = "connected";
        break;
    case PRESENCE_RECONNECTING:
        s = "reconnecting";
        break;
    case PRESENCE_DISCONNECTED:
        s = "disconnected";
        break;
    default:
        return; /* the first attempt is not news */
    }
    if (c->ev.on_presence != NULL)
        c->ev.on_presence(c->ud, s, server);
}

static void pc_on_server_key(void *ud, int verdict, const uint8_t pk[32], const uint8_t *old_pk)
{
    mim_core *c = ud;
    char fp[MIM_FINGERPRINT_LEN], old_fp[MIM_FINGERPRINT_LEN];
    const char *v = verdict == MIM_PIN_NEW ? "new" : verdict == MIM_PIN_MATCH ? "match" : "changed";

    mim_fingerprint(pk, fp);
    if (old_pk != NULL)
        mim_fingerprint(old_pk, old_fp);
    if (c->ev.on_server_key != NULL)
        c->ev.on_server_key(c->ud, fp, v, old_pk != NULL ? old_fp : NULL);
}

static void entry_info(const online_entry *e, char addr[MIM_ADDR_STRLEN],
                       char fp[MIM_FINGERPRINT_LEN], mim_core_peer_info *p)
{
    struct sockaddr_storage ss;

    addr[0] = '\0';
    if (e->addr_len == 4 || e->addr_len == 16) {
        entry_sockaddr(e, &ss);
        if (e->addr_len == 4)
            uv_ip4_name((struct sockaddr_in *)&ss, addr, MIM_ADDR_STRLEN);
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, addr, MIM_ADDR_STRLEN);
    }
    mim_fingerprint(e->identity_pk, fp);
    p->name = e->name;
    p->addr = addr;
    p->port = e->port;
    p->fingerprint = fp;
    p->status = status_name(e->status);
    p->text = e->status_text;
}

static void pc_on_peer_online(void *ud, const online_entry *e, int is_self)
{
    mim_core *c = ud;
    char addr[MIM_ADDR_STRLEN], fp[MIM_FINGERPRINT_LEN];
    mim_core_peer_info p;
    peer_rec *r;

    if (is_self)
        return;
    entry_info(e, addr, fp, &p);
    if (c->ev.on_online != NULL)
        c->ev.on_online(c->ud, &p);
    /* Its outbox goes out now (the table entry is in place: presence_client adds it first). */
    if ((r = rec_find(c, e->name)) != NULL || outbox_nonempty(c, e->name)) {
        if (r == NULL)
            r = rec_get(c, e->name);
        if (r != NULL)
            maybe_dial(c, r);
    }
}

static void pc_on_peer_offline(void *ud, const char *name)
{
    mim_core *c = ud;
    if (c->ev.on_offline != NULL)
        c->ev.on_offline(c->ud, name);
}

static void pc_on_peer_status(void *ud, const online_entry *e)
{
    mim_core *c = ud;
    if (c->ev.on_status != NULL)
        c->ev.on_status(c->ud, e->name, status_name(e->status), e->status_text);
}

static void pc_on_error(void *ud, int code, const char *message, int fatal)
{
    mim_core *c = ud;
    char msg[MIM_ERROR_TEXT_MAX + 64];

    snprintf(msg, sizeof(msg), "presence server: %s", message);
    report_error(c, code == MIM__ERROR_CODE__ERROR_NAME_TAKEN ? "name_taken" : "server", msg,
                 fatal);
    if (fatal)
        mim_core_quit(c, 1);
}

static const presence_client_events pc_events = {
    .on_state = pc_on_state,
    .on_server_key = pc_on_server_key,
    .on_peer_online = pc_on_peer_online,
    .on_peer_offline = pc_on_peer_offline,
    .on_peer_status = pc_on_peer_status,
    .on_error = pc_on_error,
};

static void start_presence(mim_core *c)
{
    presence_client_config cfg;
    int rc;

    if (c->logged_out)
        return; /* a discovery that ends after mim_core_logout */
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = c->loop;
    cfg.id = c->id;
    cfg.name = c->name;
    cfg.listen_port = c->advertise_port != 0 ? c->advertise_port : c->listen_port;
    cfg.server = c->server;
    cfg.store = c->st;
    if ((rc = presence_client_start(&c->pc, &cfg, &pc_events, c)) != 0) {
        mim_log_error("cannot start the presence client: %s", mim_strerror(rc));
        report_error(c, "server", "cannot start the presence client", 1);
        mim_core_quit(c, 1);
        return;
    }
    if (c->my_status != 0)
        presence_client_set_status(c->pc, c->my_status, c->my_status_text);
}

static void on_disc_retry(uv_timer_t *t)
{
    start_discovery(t->data);
}

static void on_discovered(void *ud, int status, const struct sockaddr *server, const uint8_t pk[32])
{
    mim_core *c = ud;
    char addr[MIM_ADDR_STRLEN];

    (void)pk; /* the presence client checks the key against the pin */
    c->discovering = 0;
    if (c->quitting) {
        maybe_finish(c);
        return;
    }
    if (status < 0) {
        mim_log_info("no presence server answered on the LAN (UDP port %u); trying again",
                     (unsigned)c->discovery_port);
        uv_timer_start(&c->disc_retry, on_disc_retry, MIM_CORE_DISCOVER_MS, 0);
        return;
    }
    memset(&c->server, 0, sizeof(c->server));
    memcpy(&c->server, server,
           server->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in));
    mim_addr_format(server, addr);
    mim_log_info("found the presence server at %s", addr);
    start_presence(c);
}

static void start_discovery(mim_core *c)
{
    int rc;

    if (c->quitting || c->logged_out)
        return;
    rc =
        presence_discover(c->loop, NULL, c->discovery_port, MIM_CORE_DISCOVER_MS, on_discovered, c);
    if (rc != 0) {
        mim_log_warn("LAN discovery failed: %s", mim_strerror(rc));
        uv_timer_start(&c->disc_retry, on_disc_retry, MIM_CORE_DISCOVER_MS, 0);
        return;
    }
    c->discovering = 1;
}

/* ---- the tick: idle sessions, unreachable outboxes ------------------------------------------- */

static int redial_cb(const char *peer, void *arg)
{
    mim_core *c = arg;
    peer_rec *r;
    if (table_find(c, peer) != NULL && (r = rec_get(c, peer)) != NULL)
        maybe_dial(c, r);
    return 0;
}

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
    admission_sweep(&c->admit, now);
    mim_store_outbox_peers(c->st, redial_cb, c);
}

/* ---- start and stop -------------------------------------------------------------------------- */

static void free_core(mim_core *c)
{
    while (c->peers != NULL) {
        peer_rec *r = c->peers;
        c->peers = r->next;
        free(r);
    }
    rx_reset(c);
    admission_free(&c->admit);
    free(c->acks);
    free(c->delivered);
    free(c->rx);
    free(c->batch);
    if (c->st != NULL)
        mim_store_close(c->st);
    mim_identity_free(c->id);
    free(c);
}

static void maybe_finish(mim_core *c)
{
    if (c->closing_handles > 0 || c->sessions != NULL || c->discovering)
        return;
    if (c->ev.on_stopped != NULL)
        c->ev.on_stopped(c->ud, c->exit_code);
    free_core(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    mim_core *c = h->data;
    c->closing_handles--;
    maybe_finish(c);
}

static void on_pc_stopped(void *ud)
{
    mim_core *c = ud;
    c->closing_handles--;
    maybe_finish(c);
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
        c->closing_handles++;
        presence_client_stop(pc, on_pc_stopped);
    }
    for (sess *s = c->sessions; s != NULL; s = s->next)
        chat_session_close(s->cs, "quitting");
    close_handle(c, (uv_handle_t *)&c->lis4);
    close_handle(c, (uv_handle_t *)&c->lis6);
    close_handle(c, (uv_handle_t *)&c->tick);
    close_handle(c, (uv_handle_t *)&c->disc_retry);
    c->closing_handles--;
    /* Everything above closes asynchronously: maybe_finish runs from the last callback. */
}

int mim_core_start(mim_core **out, const mim_core_config *cfg, const mim_core_events *ev, void *ud)
{
    char path[CORE_PATH_MAX];
    mim_core *c;
    uint64_t tick_ms;
    int rc, created = 0;

    *out = NULL;
    if (cfg->loop == NULL || cfg->name == NULL || !mim_name_valid(cfg->name, strlen(cfg->name)) ||
        cfg->data_dir == NULL)
        return MIM_EINVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return MIM_ENOMEM;
    c->loop = cfg->loop;
    c->ev = *ev;
    c->ud = ud;
    snprintf(c->name, sizeof(c->name), "%s", cfg->name);
    c->discovery_port = cfg->discovery_port != 0 ? cfg->discovery_port : MIM_CORE_DEFAULT_PORT;
    c->advertise_port = cfg->advertise_port;
    c->keepalive_ms = cfg->keepalive_ms != 0 ? cfg->keepalive_ms : MIM_CORE_KEEPALIVE_MS;
    if (c->keepalive_ms < MIM_CORE_KEEPALIVE_MIN_MS)
        c->keepalive_ms = MIM_CORE_KEEPALIVE_MIN_MS;

    if (cfg->server != NULL &&
        mim_addr_parse(cfg->server, MIM_CORE_DEFAULT_PORT, &c->server) != 0) {
        mim_log_error("--server '%s' is not a numeric HOST[:PORT]", cfg->server);
        free_core(c);
        return MIM_EINVAL;
    }
    if ((rc = mim_fs_prepare_dir(cfg->data_dir)) != 0) {
        mim_log_error("cannot create the data directory %s", cfg->data_dir);
        free_core(c);
        return rc;
    }
    if ((rc = mim_fs_join(path, sizeof(path), cfg->data_dir, "identity.key")) != 0 ||
        (rc = mim_identity_load_or_create(path, &c->id, &created)) != 0) {
        mim_log_error("cannot load the identity %s: %s", path, mim_strerror(rc));
        free_core(c);
        return rc;
    }
    mim_fingerprint(c->id->sign_pk, c->fingerprint);
    if (created)
        mim_log_info("created a new identity in %s; fingerprint %s", path, c->fingerprint);
    else
        mim_log_info("identity loaded; fingerprint %s", c->fingerprint);
    if ((rc = mim_fs_join(path, sizeof(path), cfg->data_dir, "mim.db")) != 0 ||
        (rc = mim_store_open(path, MIM_STORE_PEER, &c->st)) != 0) {
        mim_log_error("cannot open the store %s: %s", path, mim_strerror(rc));
        free_core(c);
        return rc;
    }
    /* Whatever was written to a session in an earlier run may not have arrived. */
    if (mim_store_outbox_requeue(c->st, NULL) != 0)
        mim_log_warn("cannot requeue the outbox");

    c->chat_cfg.loop = c->loop;
    c->chat_cfg.id = c->id;
    c->chat_cfg.my_name = c->name;
    c->chat_cfg.ev = &chat_events;
    c->chat_cfg.ud = c;

    uv_tcp_init(c->loop, &c->lis4);
    uv_tcp_init(c->loop, &c->lis6);
    uv_timer_init(c->loop, &c->tick);
    uv_timer_init(c->loop, &c->disc_retry);
    c->lis4.data = c->lis6.data = c->tick.data = c->disc_retry.data = c;
    if ((rc = admission_init(&c->admit, &incoming_limits)) != 0) {
        c->ev.on_stopped = NULL; /* a failed start reports nothing */
        mim_core_quit(c, 1);
        return rc;
    }
    if ((rc = start_listener(c, cfg->listen_port)) != 0) {
        c->ev.on_stopped = NULL; /* a failed start reports nothing */
        mim_core_quit(c, 1);
        return rc;
    }
    /* Often enough for the keepalive (a Ping goes within half an interval of its due time). */
    tick_ms = c->keepalive_ms / 2 < MIM_CORE_TICK_MS ? c->keepalive_ms / 2 : MIM_CORE_TICK_MS;
    c->last_slow_tick = uv_now(c->loop);
    uv_timer_start(&c->tick, on_tick, tick_ms, tick_ms);
    *out = c;
    if (c->ev.on_ready != NULL)
        c->ev.on_ready(c->ud, c->name, c->fingerprint, c->listen_port);
    if (cfg->server != NULL) {
        start_presence(c);
    } else {
        mim_log_info("no --server given: looking for the presence server on the LAN (UDP port %u)",
                     (unsigned)c->discovery_port);
        start_discovery(c);
    }
    return 0;
}

/* ---- commands -------------------------------------------------------------------------------- */

const char *mim_core_name(const mim_core *c)
{
    return c->name;
}

static int known_peer(mim_core *c, const char *name)
{
    mim_contact ct;
    return mim_store_contact_get(c->st, name, &ct) == 0 || table_find(c, name) != NULL ||
           outbox_nonempty(c, name);
}

void mim_core_batch_begin(mim_core *c)
{
    c->batching = 1;
}

/* The batch's messages are durable: each is written to its session (on_sent) or waits for one
 * (on_queued, and a dial). Returns 0, or MIM_CORE_ESTORE when the commit failed: then none of
 * them was stored. */
static int batch_finish(mim_core *c)
{
    int rc = 0;

    c->batching = 0;
    if (c->batch_tx) {
        c->batch_tx = 0;
        if (mim_store_commit(c->st) != 0)
            rc = MIM_CORE_ESTORE;
        else
            mim_log_debug("%zu messages stored in one commit", c->nbatch);
    }
    for (size_t i = 0; i < c->nbatch && rc == 0; i++) {
        send_item *it = &c->batch[i];
        if (batch_next_for(c, it->r, 0) == i) /* the first of the batch to it->r */
            flush(c, it->r);
        if (!it->sent) {
            char hex[MIM_CORE_ID_HEX_LEN];
            mim_core_id_hex(it->id, hex);
            if (c->ev.on_queued != NULL)
                c->ev.on_queued(c->ud, it->r->name, hex);
            maybe_dial(c, it->r);
        }
    }
    return rc;
}

void mim_core_batch_end(mim_core *c)
{
    size_t n = c->nbatch;

    if (batch_finish(c) != 0) {
        mim_log_error("cannot store %zu message%s: none was sent", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            char hex[MIM_CORE_ID_HEX_LEN];
            mim_core_id_hex(c->batch[i].id, hex);
            if (c->ev.on_send_failed != NULL)
                c->ev.on_send_failed(c->ud, c->batch[i].r->name, hex);
        }
    }
    c->nbatch = 0;
}

int mim_core_send(mim_core *c, const char *to, const char *text, const uint8_t id[16])
{
    size_t len = strlen(text);
    int alone = !c->batching;
    peer_rec *r;
    int rc;

    if (!mim_name_valid(to, strlen(to)))
        return MIM_CORE_EBAD_NAME;
    if (strcmp(to, c->name) == 0)
        return MIM_CORE_EBAD_VALUE;
    if (!mim_chat_text_valid(text, len))
        return MIM_CORE_ETEXT;
    if (!known_peer(c, to))
        return MIM_CORE_EUNKNOWN_PEER;
    if ((r = rec_get(c, to)) == NULL)
        return MIM_CORE_ESTORE;
    if (c->nbatch == c->cap_batch) {
        void *p = grow(c->batch, &c->cap_batch, sizeof(*c->batch));
        if (p == NULL)
            return MIM_CORE_ESTORE;
        c->batch = p;
    }
    /* A send on its own commits on its own (its insert is its transaction). */
    if (!alone && !c->batch_tx) {
        if (mim_store_begin(c->st) != 0)
            return MIM_CORE_ESTORE;
        c->batch_tx = 1;
    }
    if (mim_store_message_queue(c->st, to, id, now_ms(), MIM__CONTENT_TYPE__CONTENT_TEXT, text, len,
                                NULL) != 0)
        return MIM_CORE_ESTORE; /* the batch's transaction is still good (a savepoint) */
    r->conv_open = 1;
    c->batch[c->nbatch] = (send_item){.r = r};
    memcpy(c->batch[c->nbatch].id, id, MIM_MSG_ID_LEN);
    c->nbatch++;
    if (!alone)
        return 0;
    rc = batch_finish(c);
    c->nbatch = 0;
    return rc;
}

void mim_core_who(mim_core *c, void (*cb)(void *arg, const mim_core_peer_info *p), void *arg)
{
    if (c->pc == NULL)
        return;
    for (const online_entry *e = online_table_first(presence_client_table(c->pc)); e != NULL;
         e = online_table_next(e)) {
        char addr[MIM_ADDR_STRLEN], fp[MIM_FINGERPRINT_LEN];
        mim_core_peer_info p;
        if (strcmp(e->name, c->name) == 0)
            continue;
        entry_info(e, addr, fp, &p);
        cb(arg, &p);
    }
}

int mim_core_status(mim_core *c, const char *state, const char *text)
{
    int st;

    if (strcmp(state, "available") == 0)
        st = MIM__STATUS__STATUS_AVAILABLE;
    else if (strcmp(state, "away") == 0)
        st = MIM__STATUS__STATUS_AWAY;
    else if (strcmp(state, "busy") == 0)
        st = MIM__STATUS__STATUS_BUSY;
    else
        return MIM_CORE_EBAD_VALUE;
    if (text == NULL)
        text = "";
    if (!mim_text_valid(text, strlen(text), MIM_STATUS_TEXT_MAX))
        return MIM_CORE_ETEXT;
    c->my_status = st;
    snprintf(c->my_status_text, sizeof(c->my_status_text), "%s", text);
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
    char hex[MIM_CORE_ID_HEX_LEN], tbuf[16], desc[CONTENT_DESCRIBE_MAX];
    mim_core_history_item it;

    mim_core_id_hex(m->id, hex);
    it.id = hex;
    it.ts_ms = m->ts_ms;
    it.from = m->outgoing ? h->c->name : m->peer;
    it.to = m->outgoing ? m->peer : h->c->name;
    it.text = m->text;
    it.type = content_type_name(m->content_type, tbuf, sizeof(tbuf));
    if (m->content_type != MIM__CONTENT_TYPE__CONTENT_TEXT) {
        /* The later pieces of a chunked item are not listed, as they were not shown. */
        if (!content_describe_stored(m->text, m->text_len, m->content_type, desc, sizeof(desc)))
            return 0;
        it.text = desc;
    }
    it.state = state_name(m->state);
    h->cb(h->arg, &it);
    return 0;
}

int mim_core_history(mim_core *c, const char *with, size_t limit,
                     void (*cb)(void *arg, const mim_core_history_item *m), void *arg)
{
    history_ctx h = {c, cb, arg};

    if (!mim_name_valid(with, strlen(with)))
        return MIM_CORE_EBAD_NAME;
    if (limit == 0 || limit > MIM_CORE_HISTORY_MAX)
        return MIM_CORE_EBAD_VALUE;
    if (mim_store_history_each(c->st, with, limit, history_one, &h) < 0)
        return MIM_CORE_ESTORE;
    return 0;
}

int mim_core_verify(mim_core *c, const char *with, char out[MIM_SAFETY_NUMBER_LEN])
{
    mim_contact ct;
    const online_entry *e;
    const uint8_t *pk;

    if (!mim_name_valid(with, strlen(with)))
        return MIM_CORE_EBAD_NAME;
    if (mim_store_contact_get(c->st, with, &ct) == 0)
        pk = ct.identity_pk;
    else if ((e = table_find(c, with)) != NULL)
        pk = e->identity_pk;
    else
        return MIM_CORE_EUNKNOWN_PEER;
    mim_safety_number(c->id->sign_pk, c->name, pk, with, out);
    return 0;
}

int mim_core_trust(mim_core *c, const char *with, const char *fingerprint)
{
    peer_rec *r;
    mim_contact ct;
    int rc;

    if (!mim_name_valid(with, strlen(with)))
        return MIM_CORE_EBAD_NAME;
    if (fingerprint != NULL && mim_store_contact_get(c->st, with, &ct) == 0 && ct.has_pending) {
        char fp[MIM_FINGERPRINT_LEN];
        mim_fingerprint(ct.pending_pk, fp);
        if (strcmp(fp, fingerprint) != 0)
            return MIM_CORE_EFINGERPRINT; /* another key than the one the user checked */
    }
    rc = mim_store_contact_trust(c->st, with);
    if (rc == MIM_ENOENT)
        return known_peer(c, with) ? MIM_CORE_ENOTHING : MIM_CORE_EUNKNOWN_PEER;
    if (rc != 0)
        return MIM_CORE_ESTORE;
    mim_log_info("the new key of %s is trusted; its held messages go out", with);
    if ((r = rec_get(c, with)) != NULL) {
        if (r->cs != NULL)
            flush(c, r);
        else
            maybe_dial(c, r);
    }
    return 0;
}

int mim_core_trust_server(mim_core *c, const char *fingerprint)
{
    mim_contact pin;
    char fp[MIM_FINGERPRINT_LEN];

    if (mim_store_server_pin_get(c->st, &pin) != 0 || !pin.has_pending)
        return MIM_CORE_ENOTHING;
    mim_fingerprint(pin.pending_pk, fp);
    if (fingerprint != NULL && strcmp(fp, fingerprint) != 0)
        return MIM_CORE_EFINGERPRINT; /* another key than the one the user checked */
    if (mim_store_server_pin_trust(c->st) != 0)
        return MIM_CORE_ESTORE;
    mim_log_info("presence: the server's new key %s is trusted (pinned)", fp);
    return 0;
}

int mim_core_verified(mim_core *c, const char *with, int value)
{
    int rc;

    if (!mim_name_valid(with, strlen(with)))
        return MIM_CORE_EBAD_NAME;
    rc = mim_store_contact_set_verified(c->st, with, value ? 1 : 0);
    if (rc == MIM_ENOENT)
        return MIM_CORE_EUNKNOWN_PEER;
    return rc != 0 ? MIM_CORE_ESTORE : 0;
}

int mim_core_close_chat(mim_core *c, const char *with)
{
    peer_rec *r;

    if (!mim_name_valid(with, strlen(with)))
        return MIM_CORE_EBAD_NAME;
    if (!known_peer(c, with))
        return MIM_CORE_EUNKNOWN_PEER;
    if ((r = rec_find(c, with)) != NULL) {
        r->conv_open = 0;
        if (r->cs != NULL && chat_session_is_open(r->cs))
            chat_session_send_close(r->cs);
    }
    return 0;
}

/* ---- contacts, logout and login (for the terminal interface) --------------------------------- */

typedef struct contacts_ctx {
    mim_core *c;
    void (*cb)(void *arg, const mim_core_contact_info *ci);
    void *arg;
} contacts_ctx;

static int contact_one(const mim_contact *ct, void *arg)
{
    contacts_ctx *x = arg;
    char fp[MIM_FINGERPRINT_LEN], pending_fp[MIM_FINGERPRINT_LEN] = "";
    mim_core_contact_info ci;

    mim_fingerprint(ct->identity_pk, fp);
    if (ct->has_pending) /* the TUI's banner shows it after a restart */
        mim_fingerprint(ct->pending_pk, pending_fp);
    ci.name = ct->name;
    ci.fingerprint = fp;
    ci.verified = ct->verified;
    ci.key_pending = ct->has_pending;
    ci.pending_fingerprint = pending_fp;
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

static void on_pc_logged_out(void *ud)
{
    mim_core *c = ud;
    c->closing_handles--;
    if (c->quitting)
        maybe_finish(c); /* a quit came while the client was stopping */
}

int mim_core_logout(mim_core *c)
{
    presence_client *pc = c->pc;
    char server[MIM_ADDR_STRLEN] = "";

    if (c->quitting || c->logged_out)
        return MIM_CORE_ENOTHING;
    c->logged_out = 1;
    uv_timer_stop(&c->disc_retry);
    if (c->server.ss_family != 0)
        mim_addr_format((const struct sockaddr *)&c->server, server);
    if (pc == NULL)
        return 0; /* still discovering: on_discovered will not log in */
    /* The client reports nothing after its stop: the front end hears from here that everyone
     * it saw online is now out of sight, and that we are disconnected. */
    for (const online_entry *e = online_table_first(presence_client_table(pc)); e != NULL;
         e = online_table_next(e))
        if (strcmp(e->name, c->name) != 0 && c->ev.on_offline != NULL)
            c->ev.on_offline(c->ud, e->name);
    c->pc = NULL;
    c->closing_handles++; /* a quit before the stop ends must wait for it */
    presence_client_stop(pc, on_pc_logged_out);
    if (c->ev.on_presence != NULL)
        c->ev.on_presence(c->ud, "disconnected", server);
    return 0;
}

int mim_core_login(mim_core *c)
{
    if (c->quitting || !c->logged_out)
        return MIM_CORE_ENOTHING;
    c->logged_out = 0;
    if (c->server.ss_family != 0)
        start_presence(c);
    else if (!c->discovering)
        start_discovery(c);
    return 0;
}
