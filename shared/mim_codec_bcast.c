/* Issue 16, broadcast to everyone: the checks after decoding and the builders of its wire pieces
 * (see mim_codec.h): the server's signed broadcaster list (PresenceMsg arm 19), the
 * acknowledgement of an important broadcast (PeerMsg arm 8), ChatMessage.broadcast, and the
 * bytes the server signs. mim_codec.c's decoders call these for those arms and fields, so they
 * go through the same decoders, canonical check and fuzz targets as the rest. */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <string.h>

#define fail mim_codec_fail

static const char list_domain[] = "mim-broadcasters-v1";

int mim_broadcaster_list_check(const Mim__BroadcasterList *l, char *err, size_t errlen)
{
    if (l->issued_ms == 0)
        return fail(err, errlen, "broadcaster list: no issue time");
    if (l->sig.len != 64)
        return fail(err, errlen, "broadcaster list: signature is %zu bytes, not 64", l->sig.len);
    if (!l->restricted && l->n_names != 0)
        return fail(err, errlen, "broadcaster list: names in an unrestricted list");
    if (l->restricted && (l->n_names == 0 || l->n_names > MIM_BROADCASTERS_MAX))
        return fail(err, errlen, "broadcaster list of %zu names, not 1..%d", l->n_names,
                    MIM_BROADCASTERS_MAX);
    for (size_t i = 0; i < l->n_names; i++) {
        if (!mim_name_valid(l->names[i], strlen(l->names[i])))
            return fail(err, errlen, "broadcaster list: invalid name");
        /* Strictly ascending byte order: one encoding per list, no name twice. */
        if (i > 0 && strcmp(l->names[i - 1], l->names[i]) >= 0)
            return fail(err, errlen, "broadcaster list: names not in ascending order");
    }
    return 0;
}

int mim_broadcaster_list_signed(uint64_t issued_ms, int restricted, const char *const *names,
                                size_t n, mim_buf *out)
{
    uint8_t be[8];
    int rc = mim_buf_append(out, list_domain, sizeof(list_domain) - 1);

    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(issued_ms >> (56 - 8 * i));
    if (rc == 0)
        rc = mim_buf_append(out, be, sizeof(be));
    if (rc == 0)
        rc = mim_buf_append_byte(out, restricted ? 1 : 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(names[i]);
        if (len > MIM_NAME_MAX_BYTES)
            return MIM_EINVAL;
        rc = mim_buf_append_byte(out, (uint8_t)len);
        if (rc == 0)
            rc = mim_buf_append(out, names[i], len);
    }
    return rc;
}

void mim_broadcaster_list_init(Mim__PresenceMsg *m, Mim__BroadcasterList *body, uint64_t issued_ms,
                               int restricted, char **names, size_t n,
                               const uint8_t sig[MIM_SIG_BYTES])
{
    mim__presence_msg__init(m);
    mim__broadcaster_list__init(body);
    body->issued_ms = issued_ms;
    body->restricted = restricted != 0;
    body->names = names;
    body->n_names = n;
    body->sig.data = (uint8_t *)sig; /* protobuf-c's fields are not const; packing only reads */
    body->sig.len = MIM_SIG_BYTES;
    m->body_case = MIM__PRESENCE_MSG__BODY_BROADCASTERS;
    m->broadcasters = body;
}

static int check_ids(ProtobufCBinaryData *ids, size_t n, const char *what, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i].len != MIM_MSG_ID_LEN)
            return fail(err, errlen, "broadcast ack: %s id of %zu bytes", what, ids[i].len);
    return 0;
}

int mim_broadcast_ack_check(const Mim__BroadcastAck *a, char *err, size_t errlen)
{
    int rc;

    /* Each count <= MIM_ACK_MAX_IDS first: the sum cannot wrap. */
    if (a->n_read > MIM_ACK_MAX_IDS || a->n_confirmed > MIM_ACK_MAX_IDS ||
        a->n_read + a->n_confirmed == 0 || a->n_read + a->n_confirmed > MIM_ACK_MAX_IDS)
        return fail(err, errlen, "broadcast ack with %zu read and %zu confirmed, not 1..%d",
                    a->n_read, a->n_confirmed, MIM_ACK_MAX_IDS);
    if ((rc = check_ids(a->read, a->n_read, "read", err, errlen)) != 0)
        return rc;
    return check_ids(a->confirmed, a->n_confirmed, "confirmed", err, errlen);
}

int mim_chat_broadcast_check(const Mim__ChatMessage *c, char *err, size_t errlen)
{
    if (c->broadcast > MIM_BROADCAST_IMPORTANT)
        return fail(err, errlen, "chat: broadcast kind %u", (unsigned)c->broadcast);
    if (c->broadcast != MIM_BROADCAST_NONE && c->room != NULL)
        return fail(err, errlen, "chat: a broadcast cannot be a room's message");
    if (c->broadcast != MIM_BROADCAST_NONE && c->type != MIM__CONTENT_TYPE__CONTENT_TEXT)
        return fail(err, errlen, "chat: a broadcast is text");
    return 0;
}

void mim_broadcast_ack_init(Mim__PeerMsg *m, Mim__BroadcastAck *body, ProtobufCBinaryData *read,
                            size_t nread, ProtobufCBinaryData *confirmed, size_t nconfirmed)
{
    mim__peer_msg__init(m);
    mim__broadcast_ack__init(body);
    body->read = read;
    body->n_read = nread;
    body->confirmed = confirmed;
    body->n_confirmed = nconfirmed;
    m->body_case = MIM__PEER_MSG__BODY_BROADCAST_ACK;
    m->broadcast_ack = body;
}
