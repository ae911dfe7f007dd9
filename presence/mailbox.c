/* The sealed mailbox, server side (issue 14): Deposit -> DepositAck, the letters' delivery
 * (at login, after the table, and live to an online recipient), MailTaken, and expiry.
 *
 * The server never opens a letter: it checks the depositor's rate, the letter's size and the
 * recipient's limits, commits the letters of one frame together (mim_store_mailbox.h: one
 * synchronous commit for the frame, not one per letter), and only then answers OK. A
 * delivery goes out in pieces: at most PRESENCE_MAIL_STEP letters are read at a time, and only
 * while the recipient's queued output stays under mail_budget(); the rest waits for its socket
 * to drain, looked at again every PRESENCE_MAIL_PUMP_MS by the pump timer (running only while a
 * delivery is unfinished). A letter stays in the store until its recipient takes it (MailTaken,
 * after its own COMMIT) or it expires; a session that closes first gets it again next login. */
#include "server.h"
#include "mailbox_js.h"
#include "cluster.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

#define MAIL_FULL_RETRY_MS 60000 /* the hint sent with MAILBOX_FULL */

static void send_ack(session *s, const Mim__Deposit *d, Mim__DepositResult r, uint64_t expires_in,
                     uint64_t retry_after)
{
    Mim__PresenceMsg m;
    Mim__DepositAck ack;

    mim_deposit_ack_init(&m, &ack, d->to, d->id.data, r, expires_in, retry_after);
    (void)out_queue_send(s, &m);
}

/* Output a delivery may leave queued before it waits: a quarter of the session's cap, so
 * broadcasts and pongs always have room, and at most PRESENCE_MAIL_QUEUED. */
static size_t mail_budget(const presence_server *srv)
{
    size_t quarter = srv->cfg.max_queued / 4;
    return quarter < PRESENCE_MAIL_QUEUED ? quarter : PRESENCE_MAIL_QUEUED;
}

static int send_item(session *s, uint64_t seq, const char *from, const uint8_t *from_pk,
                     const uint8_t *id, const uint8_t *sealed, size_t len, int64_t deposited_ms)
{
    Mim__PresenceMsg m;
    Mim__MailItem it;
    int rc;

    mim_mail_item_init(&m, &it, seq, from, from_pk, id, sealed, len,
                       deposited_ms > 0 ? (uint64_t)deposited_ms : 0);
    if ((rc = out_queue_send(s, &m)) == 0)
        s->mail_sent = seq;
    return rc;
}

/* 1 when s has as much output waiting as a delivery may leave. */
static int over_budget(const session *s)
{
    return mim_channel_queued(s->ch) + s->out.len >= mail_budget(s->srv);
}

struct delivery {
    session *s;
    int full; /* stopped at the budget: the rest waits for the socket */
};

/* Sends one letter; stops the walk at the budget (1), or with out_queue_send's negative code
 * once s cannot take more. */
static int send_row(const mim_mail_row *r, void *ctx)
{
    struct delivery *d = ctx;

    if (over_budget(d->s)) {
        d->full = 1;
        return 1;
    }
    return send_item(d->s, r->seq, r->from, r->from_pk, r->id, r->sealed, r->sealed_len,
                     r->deposited_ms);
}

/* Sends s's waiting letters after mail_sent while its output is under the budget. 1 when none
 * is left (or the session or the store failed: the letters wait for the next login), 0 when it
 * must wait for the socket. */
static int deliver_some(session *s)
{
    struct delivery d = {.s = s};

    for (;;) {
        int n;
        if (s->ch == NULL || s->entry == NULL || !mim_channel_can_send(s->ch))
            return 1;
        n = s->srv->mailjs != NULL /* issue 18: the cluster's shared mailbox */
                ? mailbox_js_each(s->srv->mailjs, s->entry->name, s->mail_sent, PRESENCE_MAIL_STEP,
                                  send_row, &d)
                : mim_store_mail_each(s->srv->store, s->entry->name, s->mail_sent,
                                      PRESENCE_MAIL_STEP, send_row, &d);
        if (d.full)
            return 0;
        if (n < 0) {
            if (s->ch != NULL && mim_channel_can_send(s->ch)) /* else the session failed */
                mim_log_warn("conn %llu: mailbox: the store failed: %s",
                             (unsigned long long)mim_channel_id(s->ch), mim_strerror(n));
            return 1;
        }
        if (n < PRESENCE_MAIL_STEP)
            return 1;
    }
}

static void pump_wait(session *s)
{
    presence_server *srv = s->srv;

    if (s->mail_pending)
        return;
    mim_log_debug("conn %llu: letters for %s wait for the socket to drain",
                  (unsigned long long)mim_channel_id(s->ch), s->entry->name);
    s->mail_pending = 1;
    if (srv->mail_pumping++ == 0)
        uv_timer_start(&srv->mail_pump, mailbox_on_pump, PRESENCE_MAIL_PUMP_MS,
                       PRESENCE_MAIL_PUMP_MS);
}

void mailbox_forget(session *s)
{
    presence_server *srv = s->srv;

    if (!s->mail_pending)
        return;
    s->mail_pending = 0;
    if (--srv->mail_pumping == 0)
        uv_timer_stop(&srv->mail_pump);
}

/* 1 while a letter announced for s (mailbox_notice) has not been read from the shared stream
 * yet and may still come: a replica answering the read can lag behind the one that stored it.
 * Counts the pump's turns down. */
static int still_wanted(session *s)
{
    if (s->mail_sent >= s->mail_want || s->mail_tries == 0)
        return 0;
    s->mail_tries--;
    return 1;
}

void mailbox_on_pump(uv_timer_t *t)
{
    presence_server *srv = t->data;

    for (session *s = srv->sessions; s != NULL && srv->mail_pumping > 0; s = s->next)
        if (s->mail_pending && deliver_some(s) && !still_wanted(s))
            mailbox_forget(s);
}

void mailbox_login(session *s)
{
    if (!s->mail_ok)
        return;
    s->mail_sent = s->mail_want = 0;
    if (!deliver_some(s))
        pump_wait(s);
}

/* A letter just stored for `to`: sent at once when its recipient is online, understands
 * mail and is not in the middle of a delivery (which reaches it, in seq order); when its output
 * is over the budget, that delivery starts. */
static void deliver_live(presence_server *srv, const Mim__Deposit *d, const session *from,
                         uint64_t seq, int64_t now_ms)
{
    online_entry *e = online_table_find_name(&srv->table, d->to);
    session *r = e != NULL ? e->session : NULL;

    if (srv->mailjs != NULL) { /* issue 18: the recipient may be on any server, and read in order */
        if (r == NULL)
            cluster_note_mail(srv, d->to, seq);
        else
            mailbox_notice(srv, d->to, seq);
        return;
    }
    if (r == NULL || !r->mail_ok || r->mail_pending || r->state != SESSION_ONLINE)
        return;
    if (over_budget(r)) {
        pump_wait(r); /* a slow recipient: the pump sends it once the socket drains */
        return;
    }
    (void)send_item(r, seq, from->entry->name, from->entry->identity_pk, d->id.data, d->sealed.data,
                    d->sealed.len, now_ms);
}

void mailbox_notice(presence_server *srv, const char *to, uint64_t seq)
{
    online_entry *e = online_table_find_name(&srv->table, to);
    session *r = e != NULL ? e->session : NULL;

    if (srv->mailjs == NULL || r == NULL || !r->mail_ok || r->state != SESSION_ONLINE ||
        r->mail_sent >= seq)
        return;
    if (seq > r->mail_want) {
        r->mail_want = seq;
        r->mail_tries = PRESENCE_MAIL_WANT_TRIES;
    }
    if (r->mail_pending)
        return; /* the delivery under way reads on from mail_sent and gets there */
    if (!deliver_some(r) || still_wanted(r))
        pump_wait(r);
}

/* The ms until s's next deposit token. */
static uint64_t rate_retry_ms(const session *s, double rate)
{
    double missing = 1.0 - s->deposit_rate.tokens;
    return missing <= 0 ? 1 : (uint64_t)(missing * 1000.0 / rate) + 1;
}

void mailbox_deposit(session *s, const Mim__Deposit *d)
{
    presence_server *srv = s->srv;
    const presence_config *cfg = &srv->cfg;

    if (!mim_rate_take(&s->deposit_rate, cfg->mailbox_rate, cfg->mailbox_burst,
                       uv_now(srv->loop))) {
        send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_RATE, 0, rate_retry_ms(s, cfg->mailbox_rate));
        return;
    }
    if (d->sealed.len > cfg->mailbox_blob_max) {
        send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_TOO_BIG, 0, 0);
        return;
    }
    if (strcmp(d->to, s->entry->name) == 0) { /* nobody has mail for themselves */
        send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_UNKNOWN_NAME, 0, 0);
        return;
    }
    if (srv->ndeposits == srv->deposits_cap) {
        size_t cap = srv->deposits_cap ? 2 * srv->deposits_cap : 64;
        const Mim__Deposit **p = realloc(srv->deposits, cap * sizeof(*p));
        if (p == NULL) {
            send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE, 0, 0);
            return;
        }
        srv->deposits = p;
        srv->deposits_cap = cap;
    }
    srv->deposits[srv->ndeposits++] = d;
}

/* The answer to one deposit of the group, once the group is committed. */
static void deposit_answer(session *s, const Mim__Deposit *d, const mim_mail_outcome *o,
                           int64_t now_ms)
{
    uint64_t left = o->expires_ms > now_ms ? (uint64_t)(o->expires_ms - now_ms) : 0;

    switch (o->result) {
    case MIM_MAIL_STORED:
    case MIM_MAIL_DUPLICATE:
        mim_log_debug("conn %llu: %s deposited %zu bytes for %s (seq %llu%s)",
                      (unsigned long long)mim_channel_id(s->ch), s->entry->name, d->sealed.len,
                      d->to, (unsigned long long)o->seq,
                      o->result == MIM_MAIL_DUPLICATE ? ", again" : "");
        send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_OK, left, 0);
        if (o->result == MIM_MAIL_STORED)
            deliver_live(s->srv, d, s, o->seq, now_ms);
        break;
    case MIM_MAIL_FULL:
        send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL, 0, MAIL_FULL_RETRY_MS);
        break;
    default: /* MIM_ENOENT */
        send_ack(s, d, MIM__DEPOSIT_RESULT__DEPOSIT_UNKNOWN_NAME, 0, 0);
        break;
    }
}

void mailbox_deposits_end(session *s, int closing)
{
    presence_server *srv = s->srv;
    const presence_config *cfg = &srv->cfg;
    mim_mail_limits lim = {.max_count = cfg->mailbox_max_count,
                           .max_bytes = cfg->mailbox_max_bytes};
    size_t n = srv->ndeposits;
    mim_mail_deposit *dep;
    mim_mail_outcome *out;
    int64_t now_ms = mim_clock_wall_ms();
    int rc;

    srv->ndeposits = 0;
    if (n == 0 || closing)
        return; /* a closing session: nothing stored, nothing acked; its sender deposits again */
    dep = calloc(n, sizeof(*dep));
    out = calloc(n, sizeof(*out));
    for (size_t i = 0; dep != NULL && i < n; i++) {
        const Mim__Deposit *d = srv->deposits[i];
        dep[i] = (mim_mail_deposit){.to = d->to,
                                    .from = s->entry->name,
                                    .from_pk = s->entry->identity_pk,
                                    .id = d->id.data,
                                    .sealed = d->sealed.data,
                                    .sealed_len = d->sealed.len,
                                    .now_ms = now_ms,
                                    .expires_ms = now_ms + (int64_t)cfg->mailbox_expiry_ms};
    }
    rc = dep == NULL || out == NULL ? MIM_ENOMEM
         : srv->mailjs != NULL ? mailbox_js_deposit_all(srv->mailjs, srv->store, dep, n, &lim, out)
                               : mim_store_mail_deposit_all(srv->store, dep, n, &lim, out);
    if (rc != 0)
        mim_log_warn("conn %llu: %zu deposits not stored: %s",
                     (unsigned long long)mim_channel_id(s->ch), n, mim_strerror(rc));
    for (size_t i = 0; i < n; i++) {
        if (rc != 0)
            send_ack(s, srv->deposits[i], MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE, 0, 0);
        else
            deposit_answer(s, srv->deposits[i], &out[i], now_ms);
    }
    free(dep);
    free(out);
}

void mailbox_free(presence_server *srv)
{
    free(srv->deposits);
    srv->deposits = NULL;
    srv->ndeposits = srv->deposits_cap = 0;
}

void mailbox_taken(session *s, const Mim__MailTaken *t)
{
    int rc = s->srv->mailjs != NULL
                 ? mailbox_js_take(s->srv->mailjs, s->entry->name, t->seqs, t->n_seqs)
                 : mim_store_mail_take(s->srv->store, s->entry->name, t->seqs, t->n_seqs);

    if (rc < 0)
        mim_log_warn("conn %llu: mail taken by %s not deleted: %s",
                     (unsigned long long)mim_channel_id(s->ch), s->entry->name, mim_strerror(rc));
    else
        mim_log_debug("conn %llu: %s took %d of %zu letters",
                      (unsigned long long)mim_channel_id(s->ch), s->entry->name, rc, t->n_seqs);
}

void mailbox_expire(presence_server *srv, uint64_t now)
{
    int64_t n;

    if (srv->mailjs != NULL || now - srv->mail_expired < PRESENCE_MAIL_EXPIRE_MS)
        return; /* issue 18: the shared mailbox's stream expires its letters itself (MaxAge) */
    srv->mail_expired = now;
    n = mim_store_mail_expire(srv->store, mim_clock_wall_ms());
    if (n > 0)
        mim_log_info("mailbox: %lld letters expired unfetched", (long long)n);
    else if (n < 0)
        mim_log_warn("mailbox: expiry failed: %s", mim_strerror((int)n));
}
