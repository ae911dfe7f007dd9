/* Rooms (issue 16): a room's membership log and who may post to it. This first cut only
 * carries the fan-out core: a room's message is admitted as it comes, and no room has a name
 * yet; the membership log replaces it. */
#include "core_priv.h"

int core_room_admit(mim_core *c, peer_rec *r, const char *from, const Mim__ChatMessage *m)
{
    (void)c;
    (void)r;
    (void)from;
    (void)m;
    return 0;
}

const char *core_room_name(mim_core *c, const uint8_t room[16])
{
    (void)c;
    (void)room;
    return NULL;
}

int core_room_change_body(mim_core *c, const mim_message *m, core_fanout_chat *fc)
{
    (void)c;
    (void)m;
    (void)fc;
    return -1; /* no membership changes yet */
}

void core_room_change_body_free(core_fanout_chat *fc)
{
    (void)fc;
}

int core_room_is_change(const Mim__ChatMessage *m)
{
    (void)m;
    return 0;
}
