/* The presence protocol's arms of issue 14 (the directory and the sealed mailbox): their checks
 * after decoding and their builders (see mim_codec.h). mim_codec.c's presence decoder calls
 * mim_presence_mail_allowed and mim_presence_mail_validate for every arm it does not know, so
 * these arms go through the same decoder, canonical check and fuzz target as the others. */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <string.h>

#define fail mim_codec_fail

int mim_presence_is_mail_arm(Mim__PresenceMsg__BodyCase c)
{
    return c >= MIM__PRESENCE_MSG__BODY_LOOKUP && c <= MIM__PRESENCE_MSG__BODY_MAIL_TAKEN;
}

int mim_presence_mail_allowed(Mim__PresenceMsg__BodyCase c, enum mim_direction dir)
{
    switch (c) {
    case MIM__PRESENCE_MSG__BODY_LOOKUP:
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_LIST:
    case MIM__PRESENCE_MSG__BODY_DEPOSIT:
    case MIM__PRESENCE_MSG__BODY_MAIL_TAKEN:
        return dir == MIM_FROM_PEER;
    case MIM__PRESENCE_MSG__BODY_LOOKUP_RESULT:
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE:
    case MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK:
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        return dir == MIM_FROM_SERVER;
    default:
        return 0;
    }
}

static int check_name(const char *name, const char *what, char *err, size_t errlen)
{
    if (!mim_name_valid(name, strlen(name)))
        return fail(err, errlen, "%s: invalid name", what);
    return 0;
}

/* A name as a user typed it (Lookup): not yet in NFC, so only text of a name's size. */
static int check_asked_name(const char *name, const char *what, char *err, size_t errlen)
{
    size_t len = strlen(name);

    if (len == 0 || !mim_text_valid(name, len, MIM_NAME_MAX_BYTES))
        return fail(err, errlen, "%s: name empty, too long, not UTF-8 or with control characters",
                    what);
    return 0;
}

static int check_bytes(const ProtobufCBinaryData *b, size_t len, const char *what, char *err,
                       size_t errlen)
{
    if (b->len != len)
        return fail(err, errlen, "%s is %zu bytes, not %zu", what, b->len, len);
    return 0;
}

static int check_sealed(const ProtobufCBinaryData *b, const char *what, char *err, size_t errlen)
{
    if (b->len == 0 || b->len > MIM_MAIL_SEALED_MAX)
        return fail(err, errlen, "%s: sealed letter of %zu bytes (1..%d)", what, b->len,
                    MIM_MAIL_SEALED_MAX);
    return 0;
}

static int check_entry(const Mim__DirectoryEntry *e, char *err, size_t errlen)
{
    int rc;

    if ((rc = check_name(e->name, "directory entry", err, errlen)) != 0)
        return rc;
    return check_bytes(&e->identity_pk, 32, "directory entry: identity key", err, errlen);
}

static int check_page(const Mim__DirectoryPage *p, char *err, size_t errlen)
{
    int rc;

    if (p->n_entries > MIM_DIRECTORY_PAGE_MAX)
        return fail(err, errlen, "directory page of %zu entries (at most %d)", p->n_entries,
                    MIM_DIRECTORY_PAGE_MAX);
    if (p->refused && p->n_entries > 0)
        return fail(err, errlen, "refused directory page with entries");
    for (size_t i = 0; i < p->n_entries; i++) {
        if ((rc = check_entry(p->entries[i], err, errlen)) != 0)
            return rc;
        /* Strictly ascending: the next page asks for names after the last one. */
        if (i > 0 && strcmp(p->entries[i - 1]->name, p->entries[i]->name) >= 0)
            return fail(err, errlen, "directory page not in ascending order of name");
    }
    return 0;
}

static int check_deposit(const Mim__Deposit *d, char *err, size_t errlen)
{
    int rc;

    if ((rc = check_name(d->to, "deposit", err, errlen)) != 0 ||
        (rc = check_bytes(&d->id, MIM_MSG_ID_LEN, "deposit: id", err, errlen)) != 0)
        return rc;
    return check_sealed(&d->sealed, "deposit", err, errlen);
}

static int check_deposit_ack(const Mim__DepositAck *a, char *err, size_t errlen)
{
    int rc;

    if ((rc = check_name(a->to, "deposit ack", err, errlen)) != 0 ||
        (rc = check_bytes(&a->id, MIM_MSG_ID_LEN, "deposit ack: id", err, errlen)) != 0)
        return rc;
    if (a->result < MIM__DEPOSIT_RESULT__DEPOSIT_OK ||
        a->result > MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE)
        return fail(err, errlen, "deposit ack: unknown result %d", (int)a->result);
    return 0;
}

static int check_mail_item(const Mim__MailItem *it, char *err, size_t errlen)
{
    int rc;

    if (it->seq == 0)
        return fail(err, errlen, "mail item: seq 0");
    if ((rc = check_name(it->from, "mail item", err, errlen)) != 0 ||
        (rc = check_bytes(&it->from_pk, 32, "mail item: sender key", err, errlen)) != 0 ||
        (rc = check_bytes(&it->id, MIM_MSG_ID_LEN, "mail item: id", err, errlen)) != 0)
        return rc;
    return check_sealed(&it->sealed, "mail item", err, errlen);
}

static int check_mail_taken(const Mim__MailTaken *t, char *err, size_t errlen)
{
    if (t->n_seqs == 0 || t->n_seqs > MIM_MAIL_TAKEN_MAX_SEQS)
        return fail(err, errlen, "mail taken: %zu seqs (1..%d)", t->n_seqs,
                    MIM_MAIL_TAKEN_MAX_SEQS);
    for (size_t i = 0; i < t->n_seqs; i++)
        if (t->seqs[i] == 0)
            return fail(err, errlen, "mail taken: seq 0");
    return 0;
}

int mim_presence_mail_validate(const Mim__PresenceMsg *m, char *err, size_t errlen)
{
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_LOOKUP:
        return check_asked_name(m->lookup->name, "lookup", err, errlen);
    case MIM__PRESENCE_MSG__BODY_LOOKUP_RESULT:
        if (m->lookup_result->entry != NULL) {
            int rc = check_entry(m->lookup_result->entry, err, errlen);
            if (rc != 0)
                return rc;
        }
        return check_asked_name(m->lookup_result->name, "lookup result", err, errlen);
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_LIST:
        if (m->directory_list->after[0] == '\0')
            return 0;
        return check_name(m->directory_list->after, "directory list", err, errlen);
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE:
        return check_page(m->directory_page, err, errlen);
    case MIM__PRESENCE_MSG__BODY_DEPOSIT:
        return check_deposit(m->deposit, err, errlen);
    case MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK:
        return check_deposit_ack(m->deposit_ack, err, errlen);
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        return check_mail_item(m->mail_item, err, errlen);
    case MIM__PRESENCE_MSG__BODY_MAIL_TAKEN:
        return check_mail_taken(m->mail_taken, err, errlen);
    default:
        return fail(err, errlen, "unknown message");
    }
}

/* protobuf-c's fields are not const; the builders only make views that are read. */
static ProtobufCBinaryData view(const uint8_t *p, size_t len)
{
    ProtobufCBinaryData b = {.len = len, .data = (uint8_t *)p};
    return b;
}

void mim_directory_entry_init(Mim__DirectoryEntry *e, const char *name,
                              const uint8_t identity_pk[32], int online, uint64_t last_seen_ms)
{
    mim__directory_entry__init(e);
    e->name = (char *)name;
    e->identity_pk = view(identity_pk, 32);
    e->online = online != 0;
    e->last_seen_ms = last_seen_ms;
}

void mim_lookup_init(Mim__PresenceMsg *m, Mim__Lookup *body, const char *name)
{
    mim__presence_msg__init(m);
    mim__lookup__init(body);
    body->name = (char *)name;
    m->body_case = MIM__PRESENCE_MSG__BODY_LOOKUP;
    m->lookup = body;
}

void mim_lookup_result_init(Mim__PresenceMsg *m, Mim__LookupResult *body, const char *name,
                            Mim__DirectoryEntry *entry)
{
    mim__presence_msg__init(m);
    mim__lookup_result__init(body);
    body->name = (char *)name;
    body->entry = entry;
    m->body_case = MIM__PRESENCE_MSG__BODY_LOOKUP_RESULT;
    m->lookup_result = body;
}

void mim_directory_list_init(Mim__PresenceMsg *m, Mim__DirectoryList *body, const char *after,
                             uint32_t limit)
{
    mim__presence_msg__init(m);
    mim__directory_list__init(body);
    body->after = (char *)(after != NULL ? after : "");
    body->limit = limit;
    m->body_case = MIM__PRESENCE_MSG__BODY_DIRECTORY_LIST;
    m->directory_list = body;
}

void mim_directory_page_init(Mim__PresenceMsg *m, Mim__DirectoryPage *body,
                             Mim__DirectoryEntry **entries, size_t n, int last, int refused)
{
    mim__presence_msg__init(m);
    mim__directory_page__init(body);
    body->entries = entries;
    body->n_entries = n;
    body->last = last != 0;
    body->refused = refused != 0;
    m->body_case = MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE;
    m->directory_page = body;
}

void mim_deposit_init(Mim__PresenceMsg *m, Mim__Deposit *body, const char *to,
                      const uint8_t id[MIM_MSG_ID_LEN], const uint8_t *sealed, size_t sealed_len)
{
    mim__presence_msg__init(m);
    mim__deposit__init(body);
    body->to = (char *)to;
    body->id = view(id, MIM_MSG_ID_LEN);
    body->sealed = view(sealed, sealed_len);
    m->body_case = MIM__PRESENCE_MSG__BODY_DEPOSIT;
    m->deposit = body;
}

void mim_deposit_ack_init(Mim__PresenceMsg *m, Mim__DepositAck *body, const char *to,
                          const uint8_t id[MIM_MSG_ID_LEN], Mim__DepositResult result,
                          uint64_t expires_in_ms, uint64_t retry_after_ms)
{
    mim__presence_msg__init(m);
    mim__deposit_ack__init(body);
    body->to = (char *)to;
    body->id = view(id, MIM_MSG_ID_LEN);
    body->result = result;
    body->expires_in_ms = expires_in_ms;
    body->retry_after_ms = retry_after_ms;
    m->body_case = MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK;
    m->deposit_ack = body;
}

void mim_mail_item_init(Mim__PresenceMsg *m, Mim__MailItem *body, uint64_t seq, const char *from,
                        const uint8_t from_pk[32], const uint8_t id[MIM_MSG_ID_LEN],
                        const uint8_t *sealed, size_t sealed_len, uint64_t deposited_ms)
{
    mim__presence_msg__init(m);
    mim__mail_item__init(body);
    body->seq = seq;
    body->from = (char *)from;
    body->from_pk = view(from_pk, 32);
    body->id = view(id, MIM_MSG_ID_LEN);
    body->sealed = view(sealed, sealed_len);
    body->deposited_ms = deposited_ms;
    m->body_case = MIM__PRESENCE_MSG__BODY_MAIL_ITEM;
    m->mail_item = body;
}

void mim_mail_taken_init(Mim__PresenceMsg *m, Mim__MailTaken *body, uint64_t *seqs, size_t n)
{
    mim__presence_msg__init(m);
    mim__mail_taken__init(body);
    body->seqs = seqs;
    body->n_seqs = n;
    m->body_case = MIM__PRESENCE_MSG__BODY_MAIL_TAKEN;
    m->mail_taken = body;
}

const char *mim_deposit_result_str(Mim__DepositResult r)
{
    switch (r) {
    case MIM__DEPOSIT_RESULT__DEPOSIT_OK:
        return "ok";
    case MIM__DEPOSIT_RESULT__DEPOSIT_UNKNOWN_NAME:
        return "unknown name";
    case MIM__DEPOSIT_RESULT__DEPOSIT_TOO_BIG:
        return "too big";
    case MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL:
        return "mailbox full";
    case MIM__DEPOSIT_RESULT__DEPOSIT_RATE:
        return "too fast";
    case MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE:
        return "server cannot store now";
    default:
        return "unknown result";
    }
}
