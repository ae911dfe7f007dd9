/* What we sent on a session that nothing else sends again (issue 14): the Acks of letters taken
 * from the mailbox, and read receipts. Messages need no such care (an unacknowledged one goes
 * back to the outbox when its session ends), but these are sent once, and a session can end
 * before the peer reads them: above all the loser of a crossed dial (docs/PROTOCOL.md 14.7),
 * which one side closes, or refuses in its handshake, while the other has already sent on it.
 *
 * So each such send is kept with its session and followed by a Ping: the peer handles the frames
 * of a session in order, so its Pong for that Ping says it has read them, and they are
 * forgotten. A session that ends first hands what it kept to its peer_rec, and the next open
 * session (the crossed dial's winner, often already open) sends it again. Repeats are harmless:
 * an Ack or a read receipt changes a message's state once. Bounded: at most KEPT_MAX ids of each
 * kind per session and per peer (more are sent, not kept). */
#include "core_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

#define KEPT_MAX 4096

typedef struct id_list {
    uint8_t (*ids)[MIM_MSG_ID_LEN];
    size_t n, cap;
} id_list;

struct core_unconfirmed {
    id_list acks, receipts;
    uint64_t nonce; /* of the Ping sent after the last of them */
};

static void list_add(id_list *l, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    for (size_t i = 0; i < n && l->n < KEPT_MAX; i++) {
        if (l->n == l->cap) {
            void *p = core_grow(l->ids, &l->cap, MIM_MSG_ID_LEN);
            if (p == NULL)
                return; /* sent, not kept: best effort, as before */
            l->ids = p;
        }
        memcpy(l->ids[l->n++], ids[i], MIM_MSG_ID_LEN);
    }
}

void core_unconfirmed_free(struct core_unconfirmed *u)
{
    if (u == NULL)
        return;
    free(u->acks.ids);
    free(u->receipts.ids);
    free(u);
}

static struct core_unconfirmed *get(struct core_unconfirmed **slot)
{
    if (*slot == NULL)
        *slot = calloc(1, sizeof(**slot));
    return *slot;
}

/* Sends the ids (an Ack, or read receipts) on cs and keeps them until the Pong. */
static int send_kept(chat_session *cs, int receipts, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    sess *s = chat_session_data(cs);
    struct core_unconfirmed *u;
    int rc = receipts ? chat_session_send_receipt(cs, ids, n) : chat_session_send_ack(cs, ids, n);

    if (rc != 0 || n == 0 || s == NULL || (u = get(&s->unconf)) == NULL)
        return rc;
    list_add(receipts ? &u->receipts : &u->acks, ids, n);
    mim_random_bytes(&u->nonce, sizeof(u->nonce));
    (void)chat_session_send_ping(cs, u->nonce); /* failing: the session ends, on_closed hands on */
    return 0;
}

int core_send_ack_kept(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    return send_kept(cs, 0, ids, n);
}

int core_send_receipts_kept(chat_session *cs, const uint8_t (*ids)[MIM_MSG_ID_LEN], size_t n)
{
    return send_kept(cs, 1, ids, n);
}

void core_on_pong(void *ud, chat_session *cs, uint64_t nonce)
{
    sess *s = chat_session_data(cs);

    (void)ud;
    if (s != NULL && s->unconf != NULL && s->unconf->nonce == nonce)
        s->unconf->acks.n = s->unconf->receipts.n = 0; /* read, all of it */
}

void core_unconfirmed_resend(mim_core *c, peer_rec *r)
{
    struct core_unconfirmed *q = r->resend;

    if (q == NULL || r->cs == NULL || !chat_session_is_open(r->cs))
        return;
    r->resend = NULL;
    if (q->acks.n > 0)
        (void)core_send_ack_kept(r->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])q->acks.ids, q->acks.n);
    if (q->receipts.n > 0 && c->receipts_on)
        (void)core_send_receipts_kept(r->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])q->receipts.ids,
                                      q->receipts.n); /* (not to an older peer: MIM_ESTATE) */
    core_unconfirmed_free(q);
}

void core_unconfirmed_closed(mim_core *c, sess *s)
{
    struct core_unconfirmed *u = s->unconf, *q;
    peer_rec *r = s->rec;

    s->unconf = NULL;
    if (u != NULL && r != NULL && (u->acks.n > 0 || u->receipts.n > 0) &&
        (q = get(&r->resend)) != NULL) {
        mim_log_debug("%zu acks and %zu read receipts to %s not confirmed on a session that "
                      "ended: sent again on the next one",
                      u->acks.n, u->receipts.n, r->name);
        list_add(&q->acks, (const uint8_t(*)[MIM_MSG_ID_LEN])u->acks.ids, u->acks.n);
        list_add(&q->receipts, (const uint8_t(*)[MIM_MSG_ID_LEN])u->receipts.ids, u->receipts.n);
        if (r->cs != NULL && r->cs != s->cs)
            core_unconfirmed_resend(c, r); /* the winner of a crossed dial, if open already */
        else
            r->receipts_owed = 1; /* the tick dials it while it is online */
    }
    core_unconfirmed_free(u);
}
