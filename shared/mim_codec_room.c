/* Rooms on the wire (issue 16; docs/PROTOCOL.md, "Rooms"): the checks of a ChatMessage's room
 * fields and of a membership change, and the bytes a change's signature covers. Only the codec
 * parses protobuf: the core and the log (peer/room_log.c) read what these checks let through. */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

#define fail mim_codec_fail

static const char signed_prefix[] = "mim-room-v1"; /* domain separation: signed bytes' start */

static int member_check(const Mim__RoomMember *m, int key, char *err, size_t errlen)
{
    if (!mim_name_valid(m->name, strlen(m->name)))
        return fail(err, errlen, "room change: a member's name is not valid");
    if (key ? m->identity_pk.len != 32 : m->identity_pk.len != 0)
        return fail(err, errlen, "room change: a member's key of %zu bytes", m->identity_pk.len);
    return 0;
}

static int create_check(const Mim__RoomChange *ch, char *err, size_t errlen)
{
    size_t nlen = strlen(ch->room_name);
    int rc;

    if (ch->epoch != 1 || ch->prev.len != 0)
        return fail(err, errlen, "room create: epoch %llu, prev of %zu bytes",
                    (unsigned long long)ch->epoch, ch->prev.len);
    if (nlen == 0 || nlen > MIM_ROOM_NAME_MAX || !mim_chat_text_valid(ch->room_name, nlen) ||
        strchr(ch->room_name, '\n') != NULL || strchr(ch->room_name, '\t') != NULL)
        return fail(err, errlen, "room create: the room's name is not 1..%d bytes on one line",
                    MIM_ROOM_NAME_MAX);
    if (ch->n_members == 0 || ch->n_members > MIM_ROOM_MEMBERS_MAX)
        return fail(err, errlen, "room create: %zu members", ch->n_members);
    if (strcmp(ch->members[0]->name, ch->author) != 0)
        return fail(err, errlen, "room create: the first member is not its author");
    for (size_t i = 0; i < ch->n_members; i++) {
        if ((rc = member_check(ch->members[i], 1, err, errlen)) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ch->members[i]->name, ch->members[j]->name) == 0)
                return fail(err, errlen, "room create: a member twice");
    }
    return 0;
}

int mim_room_change_check(const Mim__RoomChange *ch, char *err, size_t errlen)
{
    if (ch->room.len != MIM_ROOM_ID_LEN)
        return fail(err, errlen, "room change: room id of %zu bytes", ch->room.len);
    if (!mim_name_valid(ch->author, strlen(ch->author)))
        return fail(err, errlen, "room change: the author's name is not valid");
    if (ch->signature.len != 64)
        return fail(err, errlen, "room change: signature of %zu bytes", ch->signature.len);
    if (ch->op == MIM__ROOM_OP__ROOM_CREATE)
        return create_check(ch, err, errlen);
    if (ch->op < MIM__ROOM_OP__ROOM_ADD || ch->op > MIM__ROOM_OP__ROOM_LEAVE)
        return fail(err, errlen, "room change: op %d", (int)ch->op);
    if (ch->epoch < 2 || ch->epoch > INT64_MAX || ch->prev.len != MIM_ROOM_HASH_LEN)
        return fail(err, errlen, "room change: epoch %llu, prev of %zu bytes",
                    (unsigned long long)ch->epoch, ch->prev.len);
    if (ch->room_name[0] != '\0' || ch->n_members != 1)
        return fail(err, errlen, "room change: a name, or %zu members, not 1", ch->n_members);
    if (ch->op == MIM__ROOM_OP__ROOM_LEAVE && strcmp(ch->members[0]->name, ch->author) != 0)
        return fail(err, errlen, "room leave: not its author's");
    return member_check(ch->members[0], ch->op == MIM__ROOM_OP__ROOM_ADD, err, errlen);
}

int mim_room_chat_check(const Mim__ChatMessage *c, char *err, size_t errlen)
{
    int rc;

    if (c->type != MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE) {
        if (c->change != NULL)
            return fail(err, errlen, "chat: a room change in a message of type %d", (int)c->type);
    } else {
        if (c->change == NULL || c->room == NULL || c->text[0] != '\0')
            return fail(err, errlen, "chat: a room change without its change or room, or text");
        if ((rc = mim_room_change_check(c->change, err, errlen)) != 0)
            return rc;
        if (c->room->id.len != MIM_ROOM_ID_LEN ||
            memcmp(c->room->id.data, c->change->room.data, MIM_ROOM_ID_LEN) != 0 ||
            c->room->epoch != c->change->epoch)
            return fail(err, errlen, "chat: a room change of another room or epoch");
    }
    if (c->room == NULL)
        return 0;
    if (c->room->id.len != MIM_ROOM_ID_LEN)
        return fail(err, errlen, "chat: room id of %zu bytes, not %d", c->room->id.len,
                    MIM_ROOM_ID_LEN);
    if (c->room->epoch == 0 || c->room->epoch > INT64_MAX)
        return fail(err, errlen, "chat: room epoch %llu", (unsigned long long)c->room->epoch);
    return 0;
}

static int put_be(mim_buf *out, uint64_t v, int n)
{
    uint8_t b[8];

    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return mim_buf_append(out, b, (size_t)n);
}

/* A string as its length (1 byte: names and room names are short) and its bytes. */
static int put_str(mim_buf *out, const char *s)
{
    size_t n = strlen(s);

    if (n > 255)
        return MIM_EINVAL;
    return put_be(out, n, 1) != 0 || mim_buf_append(out, s, n) != 0 ? MIM_ENOMEM : 0;
}

int mim_room_change_signed_bytes(const Mim__RoomChange *ch, mim_buf *out)
{
    static const uint8_t zero[32];
    int rc = mim_buf_append(out, signed_prefix, sizeof(signed_prefix) - 1);

    if (rc == 0)
        rc = mim_buf_append(out, ch->room.data, ch->room.len);
    if (rc == 0)
        rc = put_be(out, ch->epoch, 8);
    if (rc == 0)
        rc = mim_buf_append(out, ch->prev.len == 32 ? ch->prev.data : zero, 32);
    if (rc == 0)
        rc = put_be(out, (uint64_t)ch->op, 1);
    if (rc == 0)
        rc = put_str(out, ch->author);
    if (rc == 0)
        rc = put_str(out, ch->room_name);
    if (rc == 0)
        rc = put_be(out, ch->n_members, 1);
    for (size_t i = 0; rc == 0 && i < ch->n_members; i++) {
        const Mim__RoomMember *m = ch->members[i];
        rc = put_str(out, m->name);
        if (rc == 0)
            rc = mim_buf_append(out, m->identity_pk.len == 32 ? m->identity_pk.data : zero, 32);
    }
    return rc != 0 ? MIM_ENOMEM : 0;
}

int mim_room_change_decode(const uint8_t *p, size_t len, Mim__RoomChange **out, char *err,
                           size_t errlen)
{
    Mim__RoomChange *ch;
    int rc;

    *out = NULL;
    if (len > MIM_ROOM_CHANGE_MAX)
        return fail(err, errlen, "room change of %zu bytes", len);
    if ((ch = mim__room_change__unpack(NULL, len, p)) == NULL)
        return fail(err, errlen, "room change does not parse");
    rc = mim_codec_canonical(&ch->base, p, len, err, errlen);
    if (rc == 0)
        rc = mim_room_change_check(ch, err, errlen);
    if (rc != 0) {
        mim__room_change__free_unpacked(ch, NULL);
        return rc;
    }
    *out = ch;
    return 0;
}

void mim_room_change_free(Mim__RoomChange *ch)
{
    if (ch != NULL)
        mim__room_change__free_unpacked(ch, NULL);
}

int mim_room_change_pack(const Mim__RoomChange *ch, uint8_t **out, size_t *out_len)
{
    size_t n = mim__room_change__get_packed_size(ch);
    uint8_t *p = malloc(n > 0 ? n : 1);

    *out = NULL;
    *out_len = 0;
    if (p == NULL)
        return MIM_ENOMEM;
    mim__room_change__pack(ch, p);
    *out = p;
    *out_len = n;
    return 0;
}
