/* Rooms in the terminal front end (issue 16): "/room create NAME MEMBERS...", "/room add|remove|
 * admin ROOM NAME", "/room leave ROOM", "/rooms" and "/msg #ROOM TEXT"; a room's messages and
 * changes as lines in the view that is open ("#lab bob: hi"), "delivered to N of M" once every
 * copy of ours is delivered; "/search --room ROOM WORDS". Not yet: a room of its own in the
 * contact list. */
#include "tui_priv.h"
#include "tui_rooms.h"

#include <stdio.h>
#include <string.h>

#define ROOM_WORDS_MAX 102 /* /room create NAME and at most 100 members */

/* Splits line (copied into buf) at spaces into at most max words. */
static size_t split(const char *line, char *buf, size_t cap, char **w, size_t max)
{
    size_t n = 0;
    char *save = NULL, *tok;

    snprintf(buf, cap, "%s", line);
    for (tok = strtok_r(buf, " ", &save); tok != NULL && n < max; tok = strtok_r(NULL, " ", &save))
        w[n++] = tok;
    return n;
}

const char *tui_room_error(int rc)
{
    switch (rc) {
    case MIM_CORE_ENO_ROOM:
        return "no room of yours has that name or id";
    case MIM_CORE_EROOM_AMBIGUOUS:
        return "several rooms have that name: use its id (/rooms)";
    case MIM_CORE_ENOT_ADMIN:
        return "only an admin of the room may do that";
    case MIM_CORE_ENOT_MEMBER:
        return "not a member of the room";
    case MIM_CORE_EROOM_FULL:
        return "a room has at most 100 members";
    case MIM_CORE_EROOM_MEMBER:
        return "that is so already";
    case MIM_CORE_EUNKNOWN_PEER:
        return "no contact or online peer by that name (its key is needed)";
    case MIM_CORE_ENOTHING:
        return "nobody else is in the room";
    case MIM_CORE_EBAD_VALUE:
        return "a room's name is 1 to 64 bytes";
    default:
        return "it could not be done";
    }
}

static void room_one(void *arg, const mim_core_room_info *r)
{
    tui_note(arg, TUI_ENTRY_INFO, "#%.64s (%s): %zu members%s", r->name, r->id, r->nmembers,
             r->member ? "" : ", you are not in it");
}

/* "/room ..." and "/rooms". */
static void room_cmd(struct tui *t, char **w, size_t n)
{
    int rc;

    if (strcmp(w[0], "/rooms") == 0) {
        rc = mim_core_rooms(t->core, room_one, t);
    } else if (n >= 3 && strcmp(w[1], "create") == 0) {
        rc = mim_core_room_create(t->core, w[2], (const char *const *)(w + 3), n - 3, NULL);
    } else if (n == 4 && strcmp(w[1], "add") == 0) {
        rc = mim_core_room_add(t->core, w[2], w[3]);
    } else if (n == 4 && strcmp(w[1], "remove") == 0) {
        rc = mim_core_room_remove(t->core, w[2], w[3]);
    } else if (n == 4 && strcmp(w[1], "admin") == 0) {
        rc = mim_core_room_admin(t->core, w[2], w[3]);
    } else if (n == 3 && strcmp(w[1], "leave") == 0) {
        rc = mim_core_room_leave(t->core, w[2]);
    } else {
        tui_note(t, TUI_ENTRY_INFO,
                 "usage: /room create NAME MEMBERS..., /room add|remove|admin "
                 "ROOM NAME, /room leave ROOM, /rooms");
        return;
    }
    if (rc != 0)
        tui_note(t, TUI_ENTRY_INFO, "/room: %s", tui_room_error(rc));
}

int tui_rooms_exec(struct tui *t, const char *line)
{
    char buf[4 * 1024 + 16], *w[ROOM_WORDS_MAX];
    size_t n;
    mim_msg_id id;
    int rc;

    if (strncmp(line, "/msg #", 6) == 0) {
        const char *sp = strchr(line + 6, ' ');
        char room[MIM_MSG_ID_HEX_LEN + 64];
        if (sp == NULL || (size_t)(sp - (line + 6)) >= sizeof(room)) {
            tui_note(t, TUI_ENTRY_INFO, "usage: /msg #ROOM TEXT");
            return 1;
        }
        snprintf(room, sizeof(room), "%.*s", (int)(sp - (line + 6)), line + 6);
        if ((rc = mim_core_room_send(t->core, room, sp + 1, &id)) != 0)
            tui_note(t, TUI_ENTRY_INFO, "/msg #%s: %s", room, tui_room_error(rc));
        else
            tui_note(t, TUI_ENTRY_INFO, "#%s you: %s", room, sp + 1);
        return 1;
    }
    if (strncmp(line, "/search --room ", 15) == 0) {
        n = split(line, buf, sizeof(buf), w, 3);
        if (n < 3 || (line = strstr(line + 15, w[2])) == NULL || (line = strchr(line, ' ')) == NULL)
            tui_note(t, TUI_ENTRY_INFO, "usage: /search --room ROOM WORDS");
        else
            tui_search_in(t, NULL, w[2], line + 1);
        t->dirty = 1;
        return 1;
    }
    if (strncmp(line, "/room ", 6) != 0 && strcmp(line, "/room") != 0 &&
        strcmp(line, "/rooms") != 0)
        return 0;
    n = split(line, buf, sizeof(buf), w, ROOM_WORDS_MAX);
    room_cmd(t, w, n);
    t->dirty = 1;
    return 1;
}

int tui_rooms_message(struct tui *t, const char *from, const mim_msg_id *id, int64_t ts_ms,
                      const char *text, const mim_core_msg_meta *meta)
{
    (void)id;
    (void)ts_ms;
    if (meta == NULL || meta->room_id == NULL)
        return 0;
    tui_note(t, TUI_ENTRY_INFO, "#%.64s %.64s: %s",
             meta->room_name != NULL ? meta->room_name : meta->room_id, from, text);
    t->dirty = 1;
    return 1;
}

void tui_rooms_delivered(struct tui *t, const mim_core_fanout_delivery *d)
{
    if (d->room_id != NULL && d->delivered == d->total)
        tui_note(t, TUI_ENTRY_INFO, "#%.64s: delivered to %u of %u",
                 d->room_name != NULL ? d->room_name : d->room_id, d->delivered, d->total);
    t->dirty = 1;
}

void tui_rooms_changed(struct tui *t, const mim_core_room_info *r)
{
    char members[512] = "";

    for (size_t i = 0; i < r->nmembers && strlen(members) < sizeof(members) - 70; i++)
        snprintf(members + strlen(members), sizeof(members) - strlen(members), "%s%.64s",
                 i > 0 ? ", " : "", r->members[i]);
    if (r->member)
        tui_note(t, TUI_ENTRY_INFO, "#%.64s: %s", r->name, members);
    else
        tui_note(t, TUI_ENTRY_INFO, "#%.64s: you are not (or no longer) in this room", r->name);
    t->dirty = 1;
}
