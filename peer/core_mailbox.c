/* The sealed mailbox, in the peer core: sending (issue 14; docs/SECURITY.md, "The mailbox").
 *
 * Sending: a message to a peer that is not online, whose key we have pinned, while the
 * presence server has a mailbox (MIM_FEATURE_MAILBOX), is sealed to that key (mim_seal2, the
 * pair key cached in c->mail_keys: no public-key operation per letter) and
 * deposited. On DepositAck OK it is DEPOSITED (on_deposited) and stays in the outbox: a direct
 * session sends it again, and the first ack -- direct, or the sealed receipt -- makes it
 * DELIVERED. FULL, RATE and UNAVAILABLE keep it QUEUED, told once, tried again later; a
 * refusal for good (unknown name, too big) keeps it QUEUED for a direct session. When the
 * server's copy expires unfetched, the message is back to QUEUED (on_expired) and is not
 * deposited again.
 *
 * Receiving is core_mailbox_rx.c's; the sealed receipts we owe, core_mail_receipts.c's. */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

#define MAIL_PENDING_MAX    64      /* deposits awaiting their DepositAck */
#define MAIL_RETRY_MIN_MS   5000    /* after FULL / RATE / UNAVAILABLE, at the least */
#define MAIL_RETRY_MAX_MS   3600000 /* ... and at the most, whatever the server hints */
#define MAIL_EXPIRE_PER_RUN 256     /* expiries handled per tick (the rest next tick) */
/* A server's expiry beyond this is taken as this (ten years): the sum cannot overflow. */
#define MAIL_EXPIRY_MAX_MS (10ull * 366 * 24 * 3600 * 1000)

struct mail_pending {
    char to[MIM_NAME_MAX_BYTES + 1];
    uint8_t id[MIM_MSG_ID_LEN];
};

/* 1 when deposits may go out now: logged in to a server with a mailbox. */
static int mailbox_ready(mim_core *c)
{
    return c->pc != NULL && !c->quitting &&
           (presence_client_server_features(c->pc) & MIM_FEATURE_MAILBOX);
}

static long pending_find(const mim_core *c, const char *to, const uint8_t *id)
{
    for (size_t i = 0; i < c->nmail_pending; i++)
        if (strcmp(c->mail_pending[i].to, to) == 0 &&
            memcmp(c->mail_pending[i].id, id, MIM_MSG_ID_LEN) == 0)
            return (long)i;
    return -1;
}

/* The key a letter to name is sealed to: its pin, else the directory's (pinned then:
 * core_directory_key). 0, or MIM_ENOENT (neither: not sealed). */
static int seal_key(mim_core *c, const char *name, uint8_t pk[MIM_KEY_LEN])
{
    return core_directory_key(c, name, pk);
}

mim_mail_keys *core_mail_keys(mim_core *c)
{
    if (c->mail_keys == NULL && mim_mail_keys_new(c->id, &c->mail_keys) != 0)
        c->mail_keys = NULL;
    return c->mail_keys;
}

int core_mail_seal(mim_core *c, Mim__MailLetter *l, const char *to,
                   const uint8_t to_pk[MIM_KEY_LEN], uint8_t blob[MIM_SEAL_BLOB_MAX],
                   size_t *blob_len)
{
    mim_buf b = {0};
    int rc;

    l->from = c->name;
    l->from_pk = (ProtobufCBinaryData){MIM_KEY_LEN, c->id->sign_pk};
    l->to = (char *)to;
    l->to_pk = (ProtobufCBinaryData){MIM_KEY_LEN, (uint8_t *)to_pk};
    rc = mim_letter_encode(l, &b);
    if (rc == 0)
        rc = core_mail_keys(c) == NULL
                 ? MIM_ENOMEM
                 : mim_seal2(c->mail_keys, to_pk, b.data, b.len, blob, MIM_SEAL_BLOB_MAX, blob_len);
    mim_buf_wipe_free(&b); /* the letter in clear */
    return rc;
}

/* ---- sending ------------------------------------------------------------------------------- */

/* The Deposits of one kick go out in frames of several (the server commits a frame's
 * Deposits together): at most this many bytes of sealed letters in one (with the names and
 * ids of MAIL_PENDING_MAX deposits it stays under MIM_FRAME_MAX). */
#define MAIL_FRAME_BLOBS (48 * 1024)

typedef struct deposit_ctx {
    mim_core *c;
    uint8_t to_pk[MIM_KEY_LEN];
    const char *to; /* the peer's name (its peer_rec's) */
    uint8_t *blobs; /* MAIL_FRAME_BLOBS bytes: the frame's sealed letters */
    size_t used, n; /* bytes of blobs used; deposits in the frame */
    int failed;     /* the connection is going: no more */
    Mim__PresenceMsg pm[MAIL_PENDING_MAX];
    Mim__Deposit dep[MAIL_PENDING_MAX];
    const Mim__PresenceMsg *msgs[MAIL_PENDING_MAX];
    uint8_t ids[MAIL_PENDING_MAX][MIM_MSG_ID_LEN];
} deposit_ctx;

/* Sends the frame gathered in d. Its deposits are pending already; when the send fails they are
 * not (the connection is going: they are deposited again at the next login). */
static void deposit_frame(deposit_ctx *d)
{
    if (d->n > 0 && presence_client_send_mail(d->c->pc, d->msgs, d->n) != 0) {
        mim_core *c = d->c; /* the last n are this frame's, unless the close reset them */
        c->nmail_pending = c->nmail_pending >= d->n ? c->nmail_pending - d->n : 0;
        d->failed = 1;
    }
    d->used = d->n = 0;
}

/* mim_store_mail_due_each's callback: seals one message into the frame being gathered (sent
 * when the next might not fit). Non-zero stops. */
static int deposit_one(const mim_message *m, void *arg)
{
    deposit_ctx *d = arg;
    mim_core *c = d->c;
    Mim__MailLetter l = MIM__MAIL_LETTER__INIT;
    Mim__ChatMessage chat = MIM__CHAT_MESSAGE__INIT;
    core_fanout_chat fc;
    size_t blob_len = 0;
    int rc;

    if (c->nmail_pending >= MAIL_PENDING_MAX || d->failed)
        return 1; /* the rest after the answers */
    if (pending_find(c, m->peer, m->id) >= 0 ||
        (m->content_type != MIM__CONTENT_TYPE__CONTENT_TEXT && m->fanout == MIM_FANOUT_NONE))
        return 0; /* in flight; or not a text (only chat text and issue 16's copies are mailed) */
    if (d->used + MIM_SEAL_BLOB_MAX > MAIL_FRAME_BLOBS)
        deposit_frame(d);
    if (d->failed)
        return 1;
    chat.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, (uint8_t *)m->id};
    chat.ts_ms = (uint64_t)m->ts_ms;
    chat.sender = c->name;
    chat.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    chat.text = (char *)m->text; /* NUL-terminated by the store */
    l.body_case = MIM__MAIL_LETTER__BODY_CHAT;
    l.chat = &chat;
    /* Issue 16: a room's or a broadcast's copy keeps its tags (and a membership change its
     * body) in the letter. */
    rc = m->fanout != MIM_FANOUT_NONE ? core_fanout_chat_init(c, m, &fc) : 0;
    if (rc == 0 && m->fanout != MIM_FANOUT_NONE)
        l.chat = &fc.chat;
    if (rc == 0)
        rc = core_mail_seal(c, &l, m->peer, d->to_pk, d->blobs + d->used, &blob_len);
    if (m->fanout != MIM_FANOUT_NONE)
        core_fanout_chat_free(&fc);
    if (rc != 0) {
        mim_log_warn("cannot seal a message to %s: %s; it waits for a direct session", m->peer,
                     mim_strerror(rc));
        (void)mim_store_mail_no_redeposit(c->st, m->peer, m->id);
        return 0;
    }
    if (c->nmail_pending == c->cap_mail_pending) {
        void *p = core_grow(c->mail_pending, &c->cap_mail_pending, sizeof(*c->mail_pending));
        if (p == NULL)
            return 1;
        c->mail_pending = p;
    }
    memcpy(d->ids[d->n], m->id, MIM_MSG_ID_LEN);
    mim_deposit_init(&d->pm[d->n], &d->dep[d->n], d->to, d->ids[d->n], d->blobs + d->used,
                     blob_len);
    d->msgs[d->n] = &d->pm[d->n];
    d->n++;
    d->used += blob_len;
    snprintf(c->mail_pending[c->nmail_pending].to, MIM_NAME_MAX_BYTES + 1, "%s", m->peer);
    memcpy(c->mail_pending[c->nmail_pending++].id, m->id, MIM_MSG_ID_LEN);
    return 0;
}

void core_mailbox_kick(mim_core *c, peer_rec *r)
{
    deposit_ctx d = {.c = c, .to = r->name};

    if (!mailbox_ready(c) || r->cs != NULL || core_table_find(c, r->name) != NULL)
        return; /* no mailbox; or a session, or online: it goes directly */
    if (r->mail_retry_at != 0 && uv_now(c->loop) < r->mail_retry_at)
        return;
    r->mail_retry_at = 0;
    if (core_is_held(c, r->name) || core_is_blocked(c, r->name) || seal_key(c, r->name, d.to_pk))
        return; /* a key change waits for trust; or no key to seal to */
    if ((d.blobs = malloc(MAIL_FRAME_BLOBS)) == NULL)
        return; /* tried again at the next tick */
    if (mim_store_mail_due_each(c->st, r->name, MAIL_PENDING_MAX, deposit_one, &d) < 0)
        mim_log_warn("cannot read the outbox for %s", r->name);
    deposit_frame(&d); /* what is gathered goes, even after a store error */
    free(d.blobs);
}

static int kick_one(const char *peer, void *arg)
{
    mim_core *c = arg;
    peer_rec *r = core_peer_get(c, peer);

    if (r != NULL)
        core_mailbox_kick(c, r);
    return 0;
}

/* The server's copies that expired: back to QUEUED, not deposited again (on_expired). */
static void expire_due(mim_core *c)
{
    char peer[MIM_NAME_MAX_BYTES + 1];
    uint8_t id[MIM_MSG_ID_LEN];
    int64_t now = mim_clock_wall_ms();

    for (int i = 0; i < MAIL_EXPIRE_PER_RUN; i++) {
        int rc = mim_store_mail_expire_next(c->st, now, peer, id);
        mim_msg_id mid;
        if (rc <= 0) {
            if (rc < 0)
                mim_log_warn("cannot check the mailbox's expiries");
            return;
        }
        mid = core_msg_id(id);
        mim_log_info("a message to %s expired in the server's mailbox: it waits for a direct "
                     "session",
                     peer);
        if (c->ev.on_expired != NULL)
            c->ev.on_expired(c->ud, peer, &mid);
    }
}

void core_mailbox_tick(mim_core *c)
{
    if (c->quitting)
        return;
    expire_due(c);
    if (mailbox_ready(c) && mim_store_outbox_peers(c->st, kick_one, c) < 0)
        mim_log_warn("cannot read the outbox");
    if (mailbox_ready(c))
        core_mail_receipts_tick(c); /* the sealed receipts we still owe */
}

void core_mailbox_reset(mim_core *c)
{
    c->nmail_pending = 0;
    core_mail_receipts_reset(c);
}

void core_mailbox_free(mim_core *c)
{
    free(c->mail_pending);
    c->mail_pending = NULL;
    core_mail_receipts_free(c);
    mim_mail_keys_free(c->mail_keys);
    c->mail_keys = NULL;
    c->nmail_pending = c->cap_mail_pending = 0;
}

/* FULL / RATE / UNAVAILABLE: r waits, told once until a deposit to it is taken. */
static void deposit_later(mim_core *c, peer_rec *r, const Mim__DepositAck *ack)
{
    uint64_t wait = ack->retry_after_ms;

    wait = wait < MAIL_RETRY_MIN_MS ? MAIL_RETRY_MIN_MS
                                    : (wait > MAIL_RETRY_MAX_MS ? MAIL_RETRY_MAX_MS : wait);
    r->mail_retry_at = uv_now(c->loop) + wait;
    if (r->mail_told)
        return;
    r->mail_told = 1;
    mim_log_warn("the server's mailbox did not take our messages to %s (%s): they stay queued; "
                 "tried again in %llu s",
                 ack->to, mim_deposit_result_str(ack->result), (unsigned long long)(wait / 1000));
}

/* One DepositAck, in the batch's group. 1 when its message is now DEPOSITED (the caller reports
 * it after the commit), else 0. *r: the peer it is for, or NULL (nothing of ours waited). */
static int deposit_acked(mim_core *c, const Mim__DepositAck *ack, int64_t now, peer_rec **r)
{
    long i = pending_find(c, ack->to, ack->id.data);

    *r = NULL;
    if (i < 0)
        return 0; /* a receipt's, or one from before a reconnect: nothing waits on it */
    c->mail_pending[i] = c->mail_pending[--c->nmail_pending];
    if ((*r = core_peer_get(c, ack->to)) == NULL)
        return 0;
    switch (ack->result) {
    case MIM__DEPOSIT_RESULT__DEPOSIT_OK:
        (*r)->mail_told = 0;
        return mim_store_mail_deposited(c->st, ack->to, ack->id.data, now,
                                        now + (int64_t)(ack->expires_in_ms < MAIL_EXPIRY_MAX_MS
                                                            ? ack->expires_in_ms
                                                            : MAIL_EXPIRY_MAX_MS)) == 1;
    case MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL:
    case MIM__DEPOSIT_RESULT__DEPOSIT_RATE:
    case MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE:
        deposit_later(c, *r, ack);
        return 0;
    default: /* UNKNOWN_NAME, TOO_BIG: no retry can change it */
        mim_log_warn("the server's mailbox refused a message to %s (%s): it waits for a direct "
                     "session",
                     ack->to, mim_deposit_result_str(ack->result));
        (void)mim_store_mail_no_redeposit(c->st, ack->to, ack->id.data);
        return 0;
    }
}

/* The DEPOSITED marks go in one relaxed group, as SENT does: a mark lost in a crash leaves the
 * message QUEUED, deposited again at the next login, and the server's (from, to, id) dedup
 * answers OK without storing it twice. The peers acked are kicked once each afterwards (the
 * next deposits, if the window held them back), not once per ack. */
void core_on_deposit_acks(void *ud, const Mim__DepositAck *const *acks, size_t n)
{
    mim_core *c = ud;
    int64_t now = mim_clock_wall_ms();
    unsigned char *deposited = calloc(n, 1);
    peer_rec **peers = calloc(n, sizeof(*peers));
    int began = core_group_begin(c), kept;

    for (size_t i = 0; i < n; i++) {
        peer_rec *r = NULL;
        int d = core_mail_receipts_on_ack(c, acks[i]) ? 0 : deposit_acked(c, acks[i], now, &r);
        if (deposited != NULL)
            deposited[i] = (unsigned char)d;
        if (peers != NULL)
            peers[i] = r;
    }
    kept = core_group_end(c, began);
    for (size_t i = 0; i < n && kept && deposited != NULL; i++) {
        mim_msg_id id = core_msg_id(acks[i]->id.data);
        if (deposited[i] && c->ev.on_deposited != NULL)
            c->ev.on_deposited(c->ud, acks[i]->to, &id);
    }
    for (size_t i = 0; i < n && peers != NULL; i++) {
        if (peers[i] == NULL || acks[i]->result != MIM__DEPOSIT_RESULT__DEPOSIT_OK)
            continue;
        for (size_t j = i + 1; j < n; j++)
            if (peers[j] == peers[i])
                peers[j] = NULL; /* kicked once */
        core_mailbox_kick(c, peers[i]);
    }
    free(deposited);
    free(peers);
}
