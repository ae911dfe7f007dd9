/* The sealed receipts we owe (issue 14; docs/SECURITY.md, "The mailbox"): a letter taken from
 * the mailbox owes its sender a receipt until the sender can learn `delivered`.
 *
 * The debt is durable: core_mailbox_rx.c records it (mim_store_mail_receipts_owe) in the receive
 * transaction that stores the letters, before the server may delete them. It is paid by a
 * sealed receipt deposited for the sender (its DepositAck OK), or by an Ack on a direct session
 * with it (core_mail_receipts_direct, when one opens). A receipt the server does not take (its
 * mailbox FULL, our RATE, UNAVAILABLE, or a connection gone before the answer) stays owed and is
 * deposited again: at the next login, or after a backoff (doubling from RETRY_MIN_MS to
 * RETRY_MAX_MS, at least what the server hinted). Only a refusal for good (the name is no longer
 * registered) drops it. Bounded: at most OWED_MAX kept, none older than OWED_MAX_AGE_MS.
 *
 * Repeats are harmless: a receipt moves the sender's message to DELIVERED only once. */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

#define PENDING_MAX     16      /* receipt deposits awaiting their DepositAck */
#define RETRY_MIN_MS    5000    /* backoff after a refusal: the first wait */
#define RETRY_MAX_MS    3600000 /* ... and the longest */
#define OWED_MAX        100000  /* receipts owed kept, at most (the oldest go first) */
#define OWED_MAX_AGE_MS (60ll * 24 * 3600 * 1000) /* twice the servers' default expiry */

/* One sealed receipt deposited and not yet answered. */
typedef struct receipt_pending {
    char to[MIM_NAME_MAX_BYTES + 1];
    uint8_t rid[MIM_MSG_ID_LEN]; /* the Deposit's id */
    size_t n;
    uint8_t ids[MIM_RECEIPT_IDS_MAX][MIM_MSG_ID_LEN];
} receipt_pending;

struct core_mail_receipts {
    receipt_pending pending[PENDING_MAX];
    size_t npending;
    uint64_t retry_at;   /* uv_now: no deposit from the store before (0: at once) */
    uint64_t backoff_ms; /* the next refusal's wait (0: RETRY_MIN_MS) */
    int pruned;          /* the bound was applied since the last login */
};

static struct core_mail_receipts *state(mim_core *c)
{
    if (c->mail_receipts == NULL)
        c->mail_receipts = calloc(1, sizeof(*c->mail_receipts));
    return c->mail_receipts;
}

void core_mail_receipts_reset(mim_core *c)
{
    if (c->mail_receipts == NULL)
        return;
    /* The connection ended: the answers will not come; what they were for is still owed, and
     * the next login deposits it again at once. */
    c->mail_receipts->npending = 0;
    c->mail_receipts->retry_at = 0;
    c->mail_receipts->pruned = 0;
}

void core_mail_receipts_free(mim_core *c)
{
    free(c->mail_receipts);
    c->mail_receipts = NULL;
}

static int pending_full(mim_core *c)
{
    struct core_mail_receipts *m = state(c);
    return m == NULL || m->npending == PENDING_MAX;
}

int core_mail_receipt_seal(mim_core *c, const char *to, const uint8_t to_pk[MIM_KEY_LEN],
                           const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n, Mim__PresenceMsg *m,
                           Mim__Deposit *dep)
{
    static uint8_t blob[MIM_SEAL_BLOB_MAX]; /* sent before the next call */
    ProtobufCBinaryData pids[MIM_RECEIPT_IDS_MAX];
    Mim__MailLetter l = MIM__MAIL_LETTER__INIT;
    Mim__Ack ack = MIM__ACK__INIT;
    receipt_pending *p;
    size_t blob_len = 0;
    int rc;

    if (n == 0 || n > MIM_RECEIPT_IDS_MAX)
        return MIM_EINVAL;
    if (pending_full(c))
        return MIM_EBUSY; /* owed still: the tick deposits it after the answers */
    for (size_t i = 0; i < n; i++)
        pids[i] = (ProtobufCBinaryData){MIM_MSG_ID_LEN, (uint8_t *)ids[i]};
    ack.n_ids = n;
    ack.ids = pids;
    l.body_case = MIM__MAIL_LETTER__BODY_DELIVERED;
    l.delivered = &ack;
    if ((rc = core_mail_seal(c, &l, to, to_pk, blob, &blob_len)) != 0)
        return rc;
    p = &c->mail_receipts->pending[c->mail_receipts->npending++];
    snprintf(p->to, sizeof(p->to), "%s", to);
    mim_random_bytes(p->rid, sizeof(p->rid));
    p->n = n;
    memcpy(p->ids, ids, n * MIM_MSG_ID_LEN);
    mim_deposit_init(m, dep, to, p->rid, blob, blob_len);
    return 0;
}

/* The receipt's deposit failed to go out (the connection is going): no answer will come. */
void core_mail_receipt_unsent(mim_core *c)
{
    if (c->mail_receipts != NULL && c->mail_receipts->npending > 0)
        c->mail_receipts->npending--; /* the last one sealed */
}

/* A refusal that may pass: everything owed waits, longer each time. */
static void retry_later(mim_core *c, const Mim__DepositAck *ack)
{
    struct core_mail_receipts *m = c->mail_receipts;
    uint64_t wait = m->backoff_ms < RETRY_MIN_MS ? RETRY_MIN_MS : m->backoff_ms;
    uint64_t hint = ack->retry_after_ms > RETRY_MAX_MS ? RETRY_MAX_MS : ack->retry_after_ms;

    if (hint > wait)
        wait = hint;
    m->retry_at = uv_now(c->loop) + wait;
    m->backoff_ms = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
    mim_log_warn("the server's mailbox did not take our delivery receipt to %s (%s): kept, "
                 "tried again in %llu s or at the next login",
                 ack->to, mim_deposit_result_str(ack->result), (unsigned long long)(wait / 1000));
}

int core_mail_receipts_on_ack(mim_core *c, const Mim__DepositAck *ack)
{
    struct core_mail_receipts *m = c->mail_receipts;
    receipt_pending *p = NULL;
    size_t i;

    for (i = 0; m != NULL && i < m->npending && p == NULL; i++)
        if (memcmp(m->pending[i].rid, ack->id.data, MIM_MSG_ID_LEN) == 0 &&
            strcmp(m->pending[i].to, ack->to) == 0)
            p = &m->pending[i];
    if (p == NULL)
        return 0;
    switch (ack->result) {
    case MIM__DEPOSIT_RESULT__DEPOSIT_OK:
        m->backoff_ms = 0;
        mim_log_info("a delivery receipt to %s deposited (%zu messages)", p->to, p->n);
        if (mim_store_mail_receipts_drop(c->st, p->to, (const uint8_t(*)[MIM_MSG_ID_LEN])p->ids,
                                         p->n) < 0)
            mim_log_warn("cannot forget the receipts deposited for %s (sent again)", p->to);
        break;
    case MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL:
    case MIM__DEPOSIT_RESULT__DEPOSIT_RATE:
    case MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE:
        retry_later(c, ack);
        break;
    default: /* UNKNOWN_NAME (TOO_BIG cannot be: a receipt fits the smallest bucket) */
        mim_log_warn("the server's mailbox refused our delivery receipt to %s for good (%s): "
                     "it learns of the delivery directly",
                     p->to, mim_deposit_result_str(ack->result));
        (void)mim_store_mail_receipts_drop(c->st, p->to, (const uint8_t(*)[MIM_MSG_ID_LEN])p->ids,
                                           p->n);
        break;
    }
    *p = m->pending[--m->npending];
    return 1;
}

/* ---- deposits from the store ---------------------------------------------------------------- */

/* The receipts of one sender, gathered from the store in order. */
typedef struct owed_group {
    mim_core *c;
    char to[MIM_NAME_MAX_BYTES + 1];
    uint8_t ids[MIM_RECEIPT_IDS_MAX][MIM_MSG_ID_LEN];
    size_t n;
    int stop; /* the pending table is full, or the connection is going */
} owed_group;

/* Deposits g's receipt (and empties g). */
static void deposit_group(owed_group *g)
{
    mim_core *c = g->c;
    uint8_t pk[MIM_KEY_LEN];
    Mim__PresenceMsg m;
    Mim__Deposit dep;
    const Mim__PresenceMsg *msgs[1] = {&m};
    int rc;

    if (g->n == 0 || g->stop)
        return;
    if (core_directory_key(c, g->to, pk) != 0) {
        mim_log_warn("no key to seal our delivery receipt to %s: dropped", g->to);
        (void)mim_store_mail_receipts_drop(c->st, g->to, (const uint8_t(*)[MIM_MSG_ID_LEN])g->ids,
                                           g->n);
    } else if ((rc = core_mail_receipt_seal(c, g->to, pk, (const uint8_t(*)[MIM_MSG_ID_LEN])g->ids,
                                            g->n, &m, &dep)) != 0) {
        g->stop = rc == MIM_EBUSY;
        if (rc != MIM_EBUSY)
            mim_log_warn("cannot seal a delivery receipt to %s: %s", g->to, mim_strerror(rc));
    } else if (presence_client_send_mail(c->pc, msgs, 1) != 0) {
        core_mail_receipt_unsent(c);
        g->stop = 1;
    }
    g->n = 0;
}

static int gather_owed(const char *peer, const uint8_t id[16], void *arg)
{
    owed_group *g = arg;

    if (g->n > 0 && (strcmp(g->to, peer) != 0 || g->n == MIM_RECEIPT_IDS_MAX))
        deposit_group(g);
    if (g->stop)
        return 1;
    if (g->n == 0)
        snprintf(g->to, sizeof(g->to), "%s", peer);
    memcpy(g->ids[g->n++], id, MIM_MSG_ID_LEN);
    return 0;
}

void core_mail_receipts_tick(mim_core *c)
{
    struct core_mail_receipts *m = state(c);
    owed_group *g;

    if (m == NULL || m->npending > 0 || uv_now(c->loop) < m->retry_at)
        return; /* the answers first; or backing off */
    if (!m->pruned) {
        int n =
            mim_store_mail_receipts_prune(c->st, mim_clock_wall_ms() - OWED_MAX_AGE_MS, OWED_MAX);
        if (n > 0)
            mim_log_warn("%d delivery receipts owed were too old or too many: dropped", n);
        m->pruned = 1;
    }
    if ((g = calloc(1, sizeof(*g))) == NULL)
        return; /* the next tick */
    g->c = c;
    if (mim_store_mail_receipts_each(c->st, NULL, (size_t)PENDING_MAX * MIM_RECEIPT_IDS_MAX,
                                     gather_owed, g) < 0)
        mim_log_warn("cannot read the delivery receipts owed");
    deposit_group(g);
    free(g);
}

/* ---- direct ---------------------------------------------------------------------------------- */

static int gather_direct(const char *peer, const uint8_t id[16], void *arg)
{
    owed_group *g = arg;

    (void)peer;
    memcpy(g->ids[g->n++], id, MIM_MSG_ID_LEN);
    return 0;
}

void core_mail_receipts_direct(mim_core *c, peer_rec *r)
{
    owed_group *g;

    if (r->cs == NULL || !chat_session_is_open(r->cs) || (g = calloc(1, sizeof(*g))) == NULL)
        return;
    /* One Ack of at most MIM_RECEIPT_IDS_MAX ids per session opening: the rest by the mailbox,
     * or the next session. */
    if (mim_store_mail_receipts_each(c->st, r->name, MIM_RECEIPT_IDS_MAX, gather_direct, g) == 0 &&
        g->n > 0 &&
        core_send_ack_kept(r->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])g->ids, g->n) == 0 &&
        mim_store_mail_receipts_drop(c->st, r->name, (const uint8_t(*)[MIM_MSG_ID_LEN])g->ids,
                                     g->n) < 0)
        mim_log_warn("cannot forget the receipts acked to %s (sent again)", r->name);
    free(g);
}
