/* Inside the presence client: issue 14's mailbox arms (presence_client.h says when they
 * travel). The DepositAcks and the MailItems of one batch are kept (pointers into the decoded
 * batch) and handed over together at its end, so that the owner writes them in one commit, as
 * the core does with a frame of chat messages. What the items hold is not
 * checked here beyond the codec's sizes: opening and believing them is the core's job
 * (core_mailbox.c). */
#include "presence_client_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>

/* arr (room for *cap elements of size bytes) with room for one more when *n is at *cap:
 * reallocated (doubling, from 16; *cap updated), or NULL out of memory (arr unchanged). */
static void *room_for_one(void *arr, size_t n, size_t *cap, size_t size)
{
    size_t ncap;
    void *grown;

    if (n < *cap)
        return arr;
    ncap = *cap ? 2 * *cap : 16;
    if ((grown = realloc(arr, ncap * size)) != NULL)
        *cap = ncap;
    return grown;
}

static int keep_ack(presence_client *pc, const Mim__DepositAck *a)
{
    const Mim__DepositAck **p =
        room_for_one(pc->mail_acks, pc->n_mail_acks, &pc->cap_mail_acks, sizeof(*p));

    if (p == NULL)
        return -1;
    pc->mail_acks = p;
    p[pc->n_mail_acks++] = a;
    return 0;
}

static int keep_item(presence_client *pc, const Mim__MailItem *it)
{
    const Mim__MailItem **p =
        room_for_one(pc->mail_items, pc->n_mail_items, &pc->cap_mail_items, sizeof(*p));

    if (p == NULL)
        return -1;
    pc->mail_items = p;
    p[pc->n_mail_items++] = it;
    return 0;
}

void pc_mail_msg(presence_client *pc, const Mim__PresenceMsg *m)
{
    int rc;

    if (!(pc->server_features & MIM_FEATURE_MAILBOX)) {
        /* It said in its handshake that it has no mailbox: an arm of it is a broken server. */
        pc_end_channel(pc, 0, "mailbox message %d from a server without the mailbox feature",
                       (int)m->body_case);
        return;
    }
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK:
        rc = keep_ack(pc, m->deposit_ack);
        break;
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        rc = keep_item(pc, m->mail_item);
        break;
    default:
        pc_end_channel(pc, 0, "unexpected message %d from the server", (int)m->body_case);
        return;
    }
    /* Not handled: the server keeps the letter (fetched again at the next login), and the
     * message not acked is deposited again then (the deposit is idempotent). */
    if (rc != 0)
        pc_end_channel(pc, 0, "out of memory receiving mail");
}

void pc_mail_batch_end(presence_client *pc)
{
    size_t nacks = pc->n_mail_acks, nitems = pc->n_mail_items;

    pc->n_mail_acks = pc->n_mail_items = 0;
    if (nacks > 0 && !pc_halted(pc) && pc->ev.on_deposit_acks != NULL)
        pc->ev.on_deposit_acks(pc->ud, (const Mim__DepositAck *const *)pc->mail_acks, nacks);
    if (nitems == 0 || pc_halted(pc) || pc->ev.on_mail == NULL)
        return; /* a closing channel: not taken, fetched again at the next login */
    pc->ev.on_mail(pc->ud, (const Mim__MailItem *const *)pc->mail_items, nitems);
}

void pc_mail_free(presence_client *pc)
{
    free(pc->mail_items);
    pc->mail_items = NULL;
    pc->n_mail_items = pc->cap_mail_items = 0;
    free(pc->mail_acks);
    pc->mail_acks = NULL;
    pc->n_mail_acks = pc->cap_mail_acks = 0;
}

int presence_client_send_mail(presence_client *pc, const Mim__PresenceMsg *const *msgs, size_t n)
{
    if (pc == NULL || n == 0)
        return MIM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!mim_presence_is_mail_arm(msgs[i]->body_case) ||
            !mim_presence_allowed(msgs[i]->body_case, MIM_FROM_PEER))
            return MIM_EINVAL;
    if (!(presence_client_server_features(pc) & MIM_FEATURE_MAILBOX) || pc_halted(pc))
        return MIM_ESTATE; /* an older server, or not logged in: it must never see them */
    return pc_send_batch(pc, msgs, n);
}
