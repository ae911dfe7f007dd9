/* Rooms in the terminal front end (issue 16). This first cut shows a room's message in its
 * sender's conversation, as the core's fan-out carries it; the room's own conversation and its
 * commands come with the membership log. */
#include "tui_priv.h"
#include "tui_rooms.h"

int tui_rooms_message(struct tui *t, const char *from, const mim_msg_id *id, int64_t ts_ms,
                      const char *text, const mim_core_msg_meta *meta)
{
    (void)t;
    (void)from;
    (void)id;
    (void)ts_ms;
    (void)text;
    (void)meta;
    return 0;
}

void tui_rooms_delivered(struct tui *t, const mim_core_fanout_delivery *d)
{
    (void)d;
    t->dirty = 1;
}

void tui_rooms_changed(struct tui *t, const mim_core_room_info *r)
{
    (void)r;
    t->dirty = 1;
}
