/* Letters from the mailbox, in the peer core (issue 14; docs/SECURITY.md, "The mailbox").
 *
 * The MailItems of one batch are opened and checked (open_item: the box under the pair key --
 * or, for a mim-mail-v1 letter, the sealed box and the signature --, the letter, the pin), stored
 * through the receive path's group commit exactly like a frame of direct messages (core_rx_store,
 * one COMMIT: the (sender, id) dedup keeps a message that also came directly once), shown, and only
 * then, per sender, a sealed receipt (or an ack, on an open session) goes out with the MailTaken of
 * its items in one frame, receipt first: the server deletes nothing we have not committed. The
 * receipts are owed in the store from that commit until paid (core_mail_receipts.c). A
 * refused letter is logged with the reason, never shown, and taken too (it would come back at every
 * login). A letter over its sender's quota is not taken: the server keeps it for a later login. A
 * receipt letter moves our messages to DELIVERED (on_delivered). */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* One MailItem as handled. */
typedef struct mail_in {
    const Mim__MailItem *item;
    Mim__MailLetter *letter; /* NULL: refused */
    peer_rec *r;
    size_t rx_from, rx_to; /* its shown message in c->rx, if any */
    int take;              /* MailTaken for it */
    int receipt;           /* a chat stored (or a duplicate): its sender is owed a receipt */
} mail_in;

/* How a blob opened: which version, and what proves its sender. */
typedef struct opened {
    int pinned; /* MailItem.from has a pin: pin */
    mim_contact pin;
    int v1;                         /* a mim-mail-v1 letter: sig is to be checked */
    uint8_t sig[MIM_SIG_LEN];       /* v1: the signature inside */
    uint8_t sender_pk[MIM_KEY_LEN]; /* v2: the key of the pair it opened with */
} opened;

/* Opens it->sealed into letter (*len bytes): as mim-mail-v2 under the pair key with the key its
 * sender is known by here (the pin for it->from; with none, the key the server saw the depositor
 * prove), else as a mim-mail-v1 letter (sealed before its sender knew v2; its signature is
 * checked once decoded). NULL, or why it does not open. */
static const char *open_blob(mim_core *c, const Mim__MailItem *it, uint8_t *letter, size_t cap,
                             size_t *len, opened *o)
{
    o->pinned = mim_store_contact_get(c->st, it->from, &o->pin) == 0;
    memcpy(o->sender_pk, o->pinned ? o->pin.identity_pk : it->from_pk.data, MIM_KEY_LEN);
    o->v1 = 0;
    if (core_mail_keys(c) != NULL && mim_seal2_open(c->mail_keys, o->sender_pk, it->sealed.data,
                                                    it->sealed.len, letter, cap, len) == 0)
        return NULL;
    o->v1 = 1;
    if (mim_seal_open(c->id, it->sealed.data, it->sealed.len, letter, cap, len, o->sig) == 0) {
        mim_log_debug("a mim-mail-v1 letter from %s (mailbox seq %llu): opened and checked as v1",
                      it->from, (unsigned long long)it->seq);
        return NULL;
    }
    /* Only to tell a key change from an altered letter in the log: it is refused either way. */
    if (o->pinned && !mim_equal_ct(o->pin.identity_pk, it->from_pk.data, MIM_KEY_LEN) &&
        mim_seal2_open(c->mail_keys, it->from_pk.data, it->sealed.data, it->sealed.len, letter, cap,
                       len) == 0)
        return "sealed by a key that is not the one pinned for its sender";
    return "it opens neither as mim-mail-v2 from its sender's key nor as mim-mail-v1 to us "
           "(altered, or not from its sender to us)";
}

/* Checks a letter's sender key against the pin (o's, looked up by open_blob; accept-new: with
 * no pin, the key the server saw the depositor prove is pinned now). NULL when it may be
 * believed, else why not. */
static const char *check_sender_key(mim_core *c, const Mim__MailItem *it, const Mim__MailLetter *l,
                                    const opened *o)
{
    if (o->pinned)
        return mim_equal_ct(o->pin.identity_pk, l->from_pk.data, MIM_KEY_LEN)
                   ? NULL
                   : "signed by a key that is not the one pinned for its sender";
    if (!mim_equal_ct(it->from_pk.data, l->from_pk.data, MIM_KEY_LEN))
        return "signed by a key its depositor did not prove to the server";
    if (mim_store_pin_check(c->st, l->from, l->from_pk.data, mim_clock_wall_s()) != MIM_PIN_NEW)
        return "its sender's key could not be pinned";
    /* A first contact, as a session's would be: shown at the rate of new contacts, and not a
     * contact "pinned before this run" (whose offers are accepted by themselves). */
    peer_rec *r = core_peer_get(c, l->from);
    if (r != NULL)
        r->first_contact = r->pinned_this_run = 1;
    mim_log_info("%s pinned from its sealed letter (first contact)", l->from);
    return NULL;
}

/* The checks of a decoded letter l (docs/SECURITY.md, "What the recipient checks"). NULL when it
 * may be believed, else why not. */
static const char *check_letter(mim_core *c, const Mim__MailItem *it, const Mim__MailLetter *l,
                                const uint8_t *letter, size_t len, const opened *o)
{
    if (strcmp(l->to, c->name) != 0 || !mim_equal_ct(l->to_pk.data, c->id->sign_pk, MIM_KEY_LEN))
        return "not addressed to us";
    if (o->v1 && mim_seal_verify(l->from_pk.data, c->id->sign_pk, letter, len, o->sig) != 0)
        return "its signature does not verify";
    if (!o->v1 && !mim_equal_ct(l->from_pk.data, o->sender_pk, MIM_KEY_LEN))
        return "it names another sender key than the one it opened with";
    if (strcmp(it->from, l->from) != 0)
        return "its depositor is not its sender";
    if (strcmp(l->from, c->name) == 0)
        return "it says it is from ourselves";
    if (l->body_case == MIM__MAIL_LETTER__BODY_CHAT && l->chat->offer != NULL)
        return "it carries a file offer (files are never mailed)";
    if (l->body_case == MIM__MAIL_LETTER__BODY_CHAT && strcmp(l->chat->sender, l->from) != 0)
        return "its chat message names another sender";
    if (core_is_blocked(c, l->from))
        return "its sender is blocked";
    return check_sender_key(c, it, l, o);
}

/* Opens and checks one item: 0 and *out, or a reason in why (the letter is then refused). */
static int open_item(mim_core *c, const Mim__MailItem *it, Mim__MailLetter **out, char *why,
                     size_t whylen)
{
    static uint8_t letter[MIM_SEAL_BLOB_MAX];
    opened o;
    size_t len = 0;
    const char *bad = NULL;
    Mim__MailLetter *l = NULL;
    char err[160];

    *out = NULL;
    if (it->sealed.len > MIM_SEAL_BLOB_MAX)
        bad = "larger than any sealed letter";
    else if ((bad = open_blob(c, it, letter, sizeof(letter), &len, &o)) != NULL)
        ;
    else if (mim_letter_decode(letter, len, &l, err, sizeof(err)) != 0)
        bad = err;
    else
        bad = check_letter(c, it, l, letter, len, &o);
    mim_wipe(letter, len);
    mim_wipe(&o, sizeof(o));
    if (bad != NULL) {
        snprintf(why, whylen, "%s", bad);
        mim_letter_free(l);
        return MIM_ECRYPTO;
    }
    *out = l;
    return 0;
}

/* Opens, checks and stores each item (in the group's transaction). 0, or < 0 when the group
 * failed (nothing may be taken). */
static int store_items(mim_core *c, mail_in *in, size_t n)
{
    char why[200];

    for (size_t i = 0; i < n; i++) {
        mail_in *m = &in[i];
        int rc;

        if (open_item(c, m->item, &m->letter, why, sizeof(why)) != 0) {
            mim_log_warn("a sealed letter from %s (mailbox seq %llu) refused, not shown: %s",
                         m->item->from, (unsigned long long)m->item->seq, why);
            m->take = 1;
            continue;
        }
        if ((m->r = core_peer_get(c, m->letter->from)) == NULL)
            return MIM_ENOMEM;
        if (m->letter->body_case != MIM__MAIL_LETTER__BODY_CHAT) {
            m->take = 1; /* a receipt: applied after the commit */
            continue;
        }
        m->rx_from = c->nrx;
        rc = core_rx_store(c, m->r, m->letter->from, m->letter->chat);
        m->rx_to = c->nrx;
        if (rc < 0)
            return rc;
        m->take = m->receipt = rc != 2; /* over its quota: the server keeps it */
    }
    return 0;
}

/* The receipt letters that came: our messages to their senders are DELIVERED, reported once
 * the change is committed (as the direct path's acks are). */
static void apply_receipts(mim_core *c, mail_in *in, size_t n)
{
    struct moved {
        const char *to;
        const uint8_t *id;
    } *moved = NULL;
    size_t nmoved = 0, total = 0;
    int began;

    for (size_t i = 0; i < n; i++)
        if (in[i].letter != NULL && in[i].letter->body_case == MIM__MAIL_LETTER__BODY_DELIVERED)
            total += in[i].letter->delivered->n_ids;
    if (total == 0 || (moved = calloc(total, sizeof(*moved))) == NULL)
        return; /* none; or out of memory: the direct session's ack reports them later */
    began = core_group_begin(c);
    for (size_t i = 0; i < n; i++) {
        const Mim__MailLetter *l = in[i].letter;
        if (l == NULL || l->body_case != MIM__MAIL_LETTER__BODY_DELIVERED)
            continue;
        for (size_t j = 0; j < l->delivered->n_ids; j++)
            if (mim_store_message_set_state(c->st, l->from, l->delivered->ids[j].data,
                                            MIM_MSG_DELIVERED) == 1)
                moved[nmoved++] = (struct moved){l->from, l->delivered->ids[j].data};
    }
    if (core_group_end(c, began)) {
        for (size_t i = 0; i < nmoved; i++) {
            mim_msg_id id = core_msg_id(moved[i].id);
            core_report_delivered(c, moved[i].to, &id); /* issue 16: a copy's counts */
        }
    }
    free(moved);
}

/* Sends one frame: the receipt's Deposit (when receipt is not NULL), then the MailTaken of
 * seqs (n of them). A failure closes the connection: nothing is taken, all comes again. */
static int send_taken(mim_core *c, const Mim__PresenceMsg *receipt, uint64_t *seqs, size_t n)
{
    Mim__PresenceMsg taken_m;
    Mim__MailTaken taken;
    const Mim__PresenceMsg *msgs[2];
    size_t k = 0;

    if (receipt != NULL)
        msgs[k++] = receipt;
    mim_mail_taken_init(&taken_m, &taken, seqs, n);
    msgs[k++] = &taken_m;
    if (presence_client_send_mail(c->pc, msgs, k) == 0)
        return 0;
    mim_log_debug("mail not taken: the server connection is going (fetched again later)");
    return -1;
}

/* One sender's receipt for the items in[i..] owed one (at most MIM_RECEIPT_IDS_MAX), sent with
 * their MailTaken: an ack on its open session, else a sealed receipt deposited for it
 * (core_mail_receipts.c; owed in the store until the server takes it). The items handled are
 * marked (take = 0). */
static void receipt_group(mim_core *c, mail_in *in, size_t n, size_t i)
{
    uint8_t ids[MIM_RECEIPT_IDS_MAX][MIM_MSG_ID_LEN];
    uint64_t seqs[MIM_RECEIPT_IDS_MAX];
    const Mim__MailLetter *first = in[i].letter;
    Mim__PresenceMsg dep_m;
    Mim__Deposit dep;
    peer_rec *r = in[i].r;
    size_t k = 0;
    int rc;

    for (size_t j = i; j < n && k < MIM_RECEIPT_IDS_MAX; j++) {
        if (!in[j].receipt || !in[j].take || strcmp(in[j].letter->from, first->from) != 0)
            continue;
        memcpy(ids[k], in[j].letter->chat->id.data, MIM_MSG_ID_LEN);
        seqs[k++] = in[j].item->seq;
        in[j].take = 0;
    }
    if (r->cs != NULL && chat_session_is_open(r->cs) &&
        core_send_ack_kept(r->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])ids, k) == 0) {
        if (mim_store_mail_receipts_drop(c->st, first->from, (const uint8_t(*)[MIM_MSG_ID_LEN])ids,
                                         k) < 0)
            mim_log_warn("cannot forget the receipts acked to %s (sent again)", first->from);
        send_taken(c, NULL, seqs, k);
        return;
    }
    rc = core_mail_receipt_seal(c, first->from, first->from_pk.data,
                                (const uint8_t(*)[MIM_MSG_ID_LEN])ids, k, &dep_m, &dep);
    if (rc != 0) {
        if (rc != MIM_EBUSY)
            mim_log_warn("cannot seal a receipt to %s (%s): kept, sent later", first->from,
                         mim_strerror(rc));
        send_taken(c, NULL, seqs, k); /* owed in the store: core_mail_receipts_tick sends it */
        return;
    }
    if (send_taken(c, &dep_m, seqs, k) != 0)
        core_mail_receipt_unsent(c);
}

/* In the receive transaction, with the letters: each stored (or duplicate) chat letter owes its
 * sender a receipt, kept until one is deposited or acked directly. 0 or < 0 (the group fails:
 * nothing is taken). */
static int owe_receipts(mim_core *c, const mail_in *in, size_t n)
{
    mim_owed_receipt *rows = calloc(n, sizeof(*rows));
    size_t k = 0;
    int rc;

    if (rows == NULL)
        return MIM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (in[i].receipt && in[i].take)
            rows[k++] = (mim_owed_receipt){in[i].letter->from, in[i].letter->chat->id.data};
    rc = mim_store_mail_receipts_owe(c->st, rows, k, mim_clock_wall_ms());
    free(rows);
    return rc;
}

/* After the commit: the receipts with their MailTaken, then the MailTaken of the rest. */
static void take_items(mim_core *c, mail_in *in, size_t n)
{
    uint64_t seqs[MIM_MAIL_TAKEN_MAX_SEQS];
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (in[i].receipt && in[i].take)
            receipt_group(c, in, n, i);
    for (size_t i = 0; i < n; i++) {
        if (!in[i].take)
            continue;
        seqs[k++] = in[i].item->seq;
        if (k == MIM_MAIL_TAKEN_MAX_SEQS) {
            send_taken(c, NULL, seqs, k);
            k = 0;
        }
    }
    if (k > 0)
        send_taken(c, NULL, seqs, k);
}

void core_on_mail(void *ud, const Mim__MailItem *const *items, size_t n)
{
    mim_core *c = ud;
    mail_in *in = calloc(n, sizeof(*in));
    int rc;

    if (c->quitting || in == NULL) {
        free(in);
        return; /* not taken: the next login fetches them again */
    }
    for (size_t i = 0; i < n; i++)
        in[i].item = items[i];
    rc = store_items(c, in, n);
    if (rc == 0)
        rc = owe_receipts(c, in, n);
    if (rc != 0)
        c->txn_failed = 1; /* core_rx_commit rolls back what store_items began */
    if (c->txn_open || c->txn_failed)
        rc = core_rx_commit(c) != 0 ? MIM_EDB : rc;
    if (rc != 0) {
        mim_log_error("cannot store %zu letters from the mailbox: not taken (fetched again)", n);
    } else {
        for (size_t i = 0; i < n; i++)
            if (in[i].letter != NULL && in[i].rx_to > in[i].rx_from)
                core_rx_show(c, in[i].r, in[i].letter->from, in[i].rx_from, in[i].rx_to);
    }
    core_transfer_offers_commit(c, rc == 0); /* a mailed file offer: its row, as a direct one */
    core_rx_reset(c);
    if (rc == 0) {
        apply_receipts(c, in, n);
        /* An event handler above may have quit the core (c->pc is NULL then): the letters are
         * not taken, and the next login fetches them again (kept once: the dedup). */
        if (!c->quitting && c->pc != NULL &&
            (presence_client_server_features(c->pc) & MIM_FEATURE_MAILBOX))
            take_items(c, in, n);
    }
    for (size_t i = 0; i < n; i++)
        mim_letter_free(in[i].letter);
    free(in);
}
