/* Rooms on the wire (issue 16; docs/PROTOCOL.md, "Rooms"): the checks of a ChatMessage's room
 * fields. Only the codec parses protobuf: the core reads what these checks let through. */
#include "mim_codec.h"
#include "mim_codec_priv.h"

int mim_room_chat_check(const Mim__ChatMessage *c, char *err, size_t errlen)
{
    if (c->room == NULL)
        return 0;
    if (c->room->id.len != MIM_ROOM_ID_LEN)
        return mim_codec_fail(err, errlen, "chat: room id of %zu bytes, not %d", c->room->id.len,
                              MIM_ROOM_ID_LEN);
    if (c->room->epoch == 0)
        return mim_codec_fail(err, errlen, "chat: room epoch 0");
    return 0;
}
