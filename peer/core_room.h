/* Inside the peer core, rooms (issue 16): the in-memory rooms that core_room.c keeps and
 * core_room_cmd.c changes. Only those two include it. */
#ifndef MIM_PEER_CORE_ROOM_H
#define MIM_PEER_CORE_ROOM_H

#include "core_priv.h"
#include "mim_error.h"
#include "room_log.h"

/* core_room_admit's answer for what is not to be stored (refused, or a change consumed). */
#define CORE_ROOM_REFUSED MIM_EPERM

typedef struct core_room {
    struct core_room *next;
    room_log log;
    room_state cur; /* the membership now (the whole log replayed) */
    int member;     /* we are in cur */
} core_room;

int core_rooms_load(mim_core *c);
core_room *core_room_by_id(mim_core *c, const uint8_t id[MIM_ROOM_ID_LEN]);
void core_room_hex(const core_room *rm, char out[MIM_MSG_ID_HEX_LEN]);
/* ri's members and admins (arrays of MIM_ROOM_MEMBERS_MAX) filled from rm->cur. */
void core_room_info(const core_room *rm, mim_core_room_info *ri, const char **members,
                    const char **admins);
/* rm->cur and rm->member from the log; on_room when report. */
void core_room_refresh(mim_core *c, core_room *rm, int report);
/* A packed change into rm's log and the store (room_log_add's checks; report: on_room). 1
 * added, 0 known already, MIM_EDB, or a refusal (< 0, why). */
int core_room_take(mim_core *c, core_room *rm, const uint8_t *packed, size_t len, int report,
                   char *why, size_t whylen);
int core_room_rooms(mim_core *c, void (*cb)(void *arg, const mim_core_room_info *r), void *arg);

#endif
