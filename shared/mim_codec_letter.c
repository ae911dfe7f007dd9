/* The sealed letter's codec (issue 14; see mim_codec.h): MailLetter in and out. A letter comes
 * out of a blob the server cannot alter, but any registered peer can write one, so it is
 * checked like every wire message: canonical, keys of 32 bytes, names valid, a body as on a
 * session (a chat through mim_peer_msg_validate's rules, the receipt as an Ack of ids). */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <string.h>

int mim_letter_encode(const Mim__MailLetter *l, mim_buf *out)
{
    size_t n = mim__mail_letter__get_packed_size(l);

    if (mim_buf_reserve(out, n) != 0)
        return MIM_ENOMEM;
    mim__mail_letter__pack(l, out->data + out->len);
    out->len += n;
    return 0;
}

/* The body, checked by the rules of the same message on a session (a PeerMsg view of it). */
static int check_body(const Mim__MailLetter *l, char *err, size_t errlen)
{
    Mim__PeerMsg view = MIM__PEER_MSG__INIT;

    switch (l->body_case) {
    case MIM__MAIL_LETTER__BODY_CHAT:
        view.body_case = MIM__PEER_MSG__BODY_CHAT;
        view.chat = l->chat;
        return mim_peer_msg_validate(&view, err, errlen);
    case MIM__MAIL_LETTER__BODY_DELIVERED:
        if (l->delivered->n_refused != 0)
            return mim_codec_fail(err, errlen, "letter: a receipt with refused ids");
        view.body_case = MIM__PEER_MSG__BODY_ACK;
        view.ack = l->delivered;
        return mim_peer_msg_validate(&view, err, errlen);
    default:
        return mim_codec_fail(err, errlen, "letter: no body");
    }
}

int mim_letter_decode(const uint8_t *p, size_t len, Mim__MailLetter **out, char *err, size_t errlen)
{
    Mim__MailLetter *l = mim__mail_letter__unpack(NULL, len, p);
    int rc;

    *out = NULL;
    if (l == NULL)
        return mim_codec_fail(err, errlen, "letter does not parse");
    if ((rc = mim_codec_canonical(&l->base, p, len, err, errlen)) != 0)
        ; /* the reason is in err */
    else if (!mim_name_valid(l->from, strlen(l->from)))
        rc = mim_codec_fail(err, errlen, "letter: invalid sender name");
    else if (!mim_name_valid(l->to, strlen(l->to)))
        rc = mim_codec_fail(err, errlen, "letter: invalid recipient name");
    else if (l->from_pk.len != 32 || l->to_pk.len != 32)
        rc = mim_codec_fail(err, errlen, "letter: keys of %zu and %zu bytes, not 32",
                            l->from_pk.len, l->to_pk.len);
    else
        rc = check_body(l, err, errlen);
    if (rc != 0) {
        mim__mail_letter__free_unpacked(l, NULL);
        return rc;
    }
    *out = l;
    return 0;
}

void mim_letter_free(Mim__MailLetter *l)
{
    if (l != NULL)
        mim__mail_letter__free_unpacked(l, NULL);
}
