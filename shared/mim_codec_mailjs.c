/* The shared mailbox's letter (issue 18): what the cluster's JetStream stream keeps for one
 * sealed letter. It is a MailItem (presence.proto) with seq 0, since the stream's own sequence
 * number is the letter's seq. Read back from NATS, it is network input (anyone who can publish
 * on the bus may have put it there): decoded and checked by the rules of a server's MailItem. */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <stdlib.h>

int mim_mail_letter_pack(const char *from, const uint8_t from_pk[32],
                         const uint8_t id[MIM_MSG_ID_LEN], const uint8_t *sealed, size_t sealed_len,
                         uint64_t deposited_ms, mim_buf *out)
{
    Mim__PresenceMsg m;
    Mim__MailItem it;
    size_t n;

    mim_mail_item_init(&m, &it, 0, from, from_pk, id, sealed, sealed_len, deposited_ms);
    n = mim__mail_item__get_packed_size(&it);
    mim_buf_reset(out);
    if (mim_buf_reserve(out, n) != 0)
        return MIM_ENOMEM;
    out->len = mim__mail_item__pack(&it, out->data);
    return 0;
}

int mim_mail_letter_decode(const uint8_t *p, size_t len, uint64_t seq, Mim__MailItem **out,
                           char *err, size_t errlen)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__MailItem *it;
    int rc;

    *out = NULL;
    if (len > MIM_MAIL_SEALED_MAX + 1024)
        return mim_codec_fail(err, errlen, "mail letter: %zu bytes", len);
    if ((it = mim__mail_item__unpack(NULL, len, p)) == NULL)
        return mim_codec_fail(err, errlen, "mail letter: not a MailItem");
    if (it->seq != 0) {
        mim__mail_item__free_unpacked(it, NULL);
        return mim_codec_fail(err, errlen, "mail letter: seq set");
    }
    it->seq = seq; /* the stream's: checked like any MailItem's (not 0) */
    m.body_case = MIM__PRESENCE_MSG__BODY_MAIL_ITEM;
    m.mail_item = it;
    if ((rc = mim_presence_msg_validate(&m, MIM_FROM_SERVER, err, errlen)) != 0) {
        mim__mail_item__free_unpacked(it, NULL);
        return rc;
    }
    *out = it;
    return 0;
}

void mim_mail_letter_free(Mim__MailItem *it)
{
    if (it != NULL)
        mim__mail_item__free_unpacked(it, NULL);
}
