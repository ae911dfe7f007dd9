/* Inside the presence client: issue 14's mailbox arms (presence_client.h says when they
 * travel). A DepositAck goes to the owner at once; the MailItems of one batch are kept (pointers
 * into the decoded batch) and handed over together at its end, so that the owner stores them
 * in one commit, as the core does with a frame of chat messages. What the items hold is not
 * checked here beyond the codec's sizes: opening and believing them is the core's job
 * (core_mailbox.c). */
#include "presence_client_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>

void pc_mail_msg(presence_client *pc, const Mim__PresenceMsg *m)
{
    if (!(pc->server_features & MIM_FEATURE_MAILBOX)) {
        /* It said in its handshake that it has no mailbox: an arm of it is a broken server. */
        pc_end_channel(pc, 0, "mailbox message %d from a server without the mailbox feature",
                       (int)m->body_case);
        return;
    }
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK:
        if (pc->ev.on_deposit_ack != NULL)
            pc->ev.on_deposit_ack(pc->ud, m->deposit_ack);
        break;
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        if (pc->n_mail_items == pc->cap_mail_items) {
            size_t cap = pc->cap_mail_items ? 2 * pc->cap_mail_items : 16;
            const Mim__MailItem **p = realloc(pc->mail_items, cap * sizeof(*p));
            if (p == NULL) {
                /* Not taken, so the server keeps it: the next login fetches it again. */
                pc_end_channel(pc, 0, "out of memory receiving mail");
                return;
            }
            pc->mail_items = p;
            pc->cap_mail_items = cap;
        }
        pc->mail_items[pc->n_mail_items++] = m->mail_item;
        break;
    default:
        pc_end_channel(pc, 0, "unexpected message %d from the server", (int)m->body_case);
        break;
    }
}

void pc_mail_batch_end(presence_client *pc)
{
    size_t n = pc->n_mail_items;

    pc->n_mail_items = 0;
    if (n == 0 || pc_halted(pc) || pc->ev.on_mail == NULL)
        return; /* a closing channel: not taken, fetched again at the next login */
    pc->ev.on_mail(pc->ud, (const Mim__MailItem *const *)pc->mail_items, n);
}

void pc_mail_free(presence_client *pc)
{
    free(pc->mail_items);
    pc->mail_items = NULL;
    pc->n_mail_items = pc->cap_mail_items = 0;
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
