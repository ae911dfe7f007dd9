/* Rooms in the terminal front end (issue 16): a room's row and conversation, its messages, its
 * delivery counts, its membership changes, its commands (/room, /msg #room). tui_rooms.c. */
#ifndef MIM_TUI_ROOMS_H
#define MIM_TUI_ROOMS_H

#include "core.h"

#include <stdint.h>

struct tui;
struct tui_contact;

/* A message from `from` with meta: 1 when it was a room's and is shown in the room's
 * conversation (the caller shows nothing), 0 when the caller shows it as a 1:1 message. */
int tui_rooms_message(struct tui *t, const char *from, const mim_msg_id *id, int64_t ts_ms,
                      const char *text, const mim_core_msg_meta *meta);
/* A copy of our room's message (or of a broadcast) was delivered: "delivered to 7 of 9". */
void tui_rooms_delivered(struct tui *t, const mim_core_fanout_delivery *d);
/* The room commands of a typed line ("/room ...", "/rooms", "/msg #ROOM TEXT"): 1 when the
 * line was one (done, or its error said), 0 when it is for tui_exec. */
int tui_rooms_exec(struct tui *t, const char *line);
/* A room was created, changed, or we left it (on_room): its row, and lines in its conversation
 * ("bob was added by alice", "you were removed from the room"). */
void tui_rooms_changed(struct tui *t, const mim_core_room_info *r);
/* Our rooms' rows, from the store (at the start: no lines). */
void tui_rooms_load(struct tui *t);
/* A line typed in room's conversation: sent to its members, shown with its delivery count. */
void tui_rooms_send(struct tui *t, struct tui_contact *room, const char *text);
/* A copy of message id (hex) was queued or sent (a TUI_MSG_* state), to a member: the room's
 * line of ours says "(sent)" once one is. */
void tui_rooms_copy_state(struct tui *t, const char *id, int state);

/* What a room command's refusal rc means, for the user. */
const char *tui_room_error(int rc);

#endif
