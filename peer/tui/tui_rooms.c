/* Rooms in the terminal front end (issue 16, docs/TUI.md "Rooms"): the commands ("/room create
 * NAME MEMBERS...", "/room add|remove|admin [ROOM] NAME", "/room leave [ROOM]", "/rooms",
 * "/msg #ROOM [TEXT]", "/search --room ROOM WORDS"); a room's row in the contact list ("#lab"),
 * its conversation (messages, ours with "delivered to 7 of 9", membership changes as lines),
 * and what a line typed in it does (sent to the room). The rows' drawing is tui_screen.c's. */
#include "tui_priv.h"
#include "tui_rooms.h"

#include "mim_clock.h"

#include <stdio.h>
#include <stdlib.h>
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

/* The row of room id (created for a room new to us: "#NAME", or "#NAME~1a2b3c4d" when another
 * row has that label). NULL when out of memory. */
static tui_contact *room_row(tui *t, const char *id, const char *name)
{
    tui_contact *c = tui_model_room(&t->m, id);
    char label[MIM_MSG_ID_HEX_LEN + 80];

    if (c != NULL)
        return c;
    snprintf(label, sizeof(label), "#%.64s", name != NULL ? name : id);
    if ((c = tui_model_add_room(&t->m, label, id)) == NULL) {
        snprintf(label, sizeof(label), "#%.64s~%.8s", name != NULL ? name : id, id);
        c = tui_model_add_room(&t->m, label, id);
    }
    return c;
}

/* The room a command names: "lab" or "#lab" (its row's label), or its id. NULL: none. */
static tui_contact *room_named(tui *t, const char *word)
{
    char label[MIM_MSG_ID_HEX_LEN + 80];
    tui_contact *c;

    snprintf(label, sizeof(label), "#%.100s", word[0] == '#' ? word + 1 : word);
    if ((c = tui_model_contact(&t->m, label, 0)) != NULL && c->is_room)
        return c;
    return tui_model_room(&t->m, word[0] == '#' ? word + 1 : word);
}

/* The open conversation when it is a room's, else NULL. */
static tui_contact *open_room(tui *t)
{
    tui_contact *c = tui_model_current(&t->m);

    return c != NULL && c->is_room ? c : NULL;
}

/* A line in room's conversation, and in the open view too when that is another (loud). */
static void room_line(tui *t, tui_contact *room, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void room_line(tui *t, tui_contact *room, int kind, const char *fmt, ...)
{
    char text[700];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (tui_conv_add(&room->conv, (enum tui_entry_kind)kind, mim_clock_wall_ms(), NULL, text, NULL,
                     TUI_MSG_NONE) != NULL)
        tui_model_grew(&t->m, &room->conv, 0);
    if (kind == TUI_ENTRY_WARN && tui_model_current(&t->m) != room)
        tui_note(t, kind, "%s: %s", room->name, text);
    t->dirty = 1;
}

static void room_one(void *arg, const mim_core_room_info *r)
{
    tui_note(arg, TUI_ENTRY_INFO, "#%.64s (%s): %zu members%s", r->name, r->id, r->nmembers,
             r->member ? "" : ", you are not in it");
}

/* Runs a change the user typed: its on_room (from inside) says "you ...", not "... was". */
static int room_change(tui *t, int (*change)(mim_core *, const char *, const char *),
                       const char *room, const char *name)
{
    int rc;

    t->room_by_us = 1;
    rc = change(t->core, room, name);
    t->room_by_us = 0;
    return rc;
}

static int leave(mim_core *core, const char *room, const char *unused)
{
    (void)unused;
    return mim_core_room_leave(core, room);
}

static int room_create(tui *t, char **w, size_t n)
{
    char id[MIM_MSG_ID_HEX_LEN];
    tui_contact *c;
    int rc;

    t->room_by_us = 1;
    rc = mim_core_room_create(t->core, w[2], (const char *const *)(w + 3), n - 3, id);
    t->room_by_us = 0;
    if (rc == 0 && (c = tui_model_room(&t->m, id)) != NULL)
        tui_open(t, c->name); /* its conversation, ready to write to */
    return rc;
}

/* "/room ..." and "/rooms": ROOM may be left out of a change typed in a room's conversation. */
static void room_cmd(struct tui *t, char **w, size_t n)
{
    const char *here = open_room(t) != NULL ? open_room(t)->room_id : NULL;
    int rc;

    if (strcmp(w[0], "/rooms") == 0)
        rc = mim_core_rooms(t->core, room_one, t);
    else if (n >= 3 && strcmp(w[1], "create") == 0)
        rc = room_create(t, w, n);
    else if ((n == 4 || (n == 3 && here != NULL)) && strcmp(w[1], "add") == 0)
        rc = room_change(t, mim_core_room_add, n == 4 ? w[2] : here, w[n - 1]);
    else if ((n == 4 || (n == 3 && here != NULL)) && strcmp(w[1], "remove") == 0)
        rc = room_change(t, mim_core_room_remove, n == 4 ? w[2] : here, w[n - 1]);
    else if ((n == 4 || (n == 3 && here != NULL)) && strcmp(w[1], "admin") == 0)
        rc = room_change(t, mim_core_room_admin, n == 4 ? w[2] : here, w[n - 1]);
    else if ((n == 3 || (n == 2 && here != NULL)) && strcmp(w[1], "leave") == 0)
        rc = room_change(t, leave, n == 3 ? w[2] : here, NULL);
    else {
        tui_note(t, TUI_ENTRY_INFO,
                 "usage: /room create NAME MEMBERS..., /room add|remove|admin [ROOM] NAME, "
                 "/room leave [ROOM], /rooms (ROOM: the open room's when left out)");
        return;
    }
    if (rc != 0)
        tui_say(t, TUI_ENTRY_WARN, "/room: %s", tui_room_error(rc));
}

void tui_rooms_send(tui *t, tui_contact *room, const char *text)
{
    mim_msg_id id;
    char hex[MIM_MSG_ID_HEX_LEN];
    tui_entry *e;
    int rc;

    /* Each copy's on_queued / on_sent comes from inside, before the line exists: the best of
     * them is kept (tui_rooms_copy_state) and given to the line. */
    t->room_send_state = TUI_MSG_QUEUED;
    t->room_sending = 1;
    rc = mim_core_room_send(t->core, room->room_id, text, &id);
    t->room_sending = 0;
    if (rc == MIM_CORE_ETOO_LONG) {
        tui_say(t, TUI_ENTRY_WARN, "not sent: the text is %zu bytes over its limit of %d bytes",
                strlen(text) - MIM_CORE_TEXT_MAX, MIM_CORE_TEXT_MAX);
    } else if (rc != 0) {
        tui_say(t, TUI_ENTRY_WARN, "not sent to %s: %s", room->name, tui_room_error(rc));
    } else {
        mim_msg_id_hex(&id, hex);
        e = tui_conv_add(&room->conv, TUI_ENTRY_OUT, mim_clock_wall_ms(), t->m.me, text, hex,
                         (enum tui_msg_state)t->room_send_state);
        if (e != NULL)
            e->fan_total = room->nmembers > 1 ? (uint32_t)(room->nmembers - 1) : 0;
    }
    t->m.scroll = 0;
    t->m.land_marker = 0;
    t->dirty = 1;
}

void tui_rooms_copy_state(tui *t, const char *id, int state)
{
    tui_entry *e;

    if (t->room_sending) {
        if (state > t->room_send_state && state <= TUI_MSG_DELIVERED)
            t->room_send_state = state;
        return;
    }
    /* A copy went out: the line says "sent" until deliveries count (never goes back). */
    if (state == TUI_MSG_SENT && (e = tui_model_find_entry(&t->m, id)) != NULL &&
        e->fan_total > 0 && e->state == TUI_MSG_QUEUED) {
        e->state = TUI_MSG_SENT;
        t->dirty = 1;
    }
}

/* "/msg #ROOM [TEXT]": opens the room's conversation, and sends TEXT there. */
static void msg_room(tui *t, const char *line)
{
    const char *sp = strchr(line + 6, ' ');
    char word[MIM_MSG_ID_HEX_LEN + 80];
    tui_contact *room;

    snprintf(word, sizeof(word), "%.*s", sp != NULL ? (int)(sp - (line + 5)) : 80, line + 5);
    if ((room = room_named(t, word)) == NULL) {
        tui_say(t, TUI_ENTRY_WARN, "/msg %s: %s (/rooms)", word, tui_room_error(MIM_CORE_ENO_ROOM));
        return;
    }
    tui_open(t, room->name);
    if (sp != NULL && sp[1] != '\0')
        tui_rooms_send(t, room, sp + 1);
}

int tui_rooms_exec(struct tui *t, const char *line)
{
    char buf[4 * 1024 + 16], *w[ROOM_WORDS_MAX];
    size_t n;

    if (strncmp(line, "/msg #", 6) == 0) {
        msg_room(t, line);
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
    char hex[MIM_MSG_ID_HEX_LEN], words[64], who[MIM_NAME_MAX_BYTES + 90];
    tui_contact *room;
    tui_entry *e;

    if (meta == NULL || meta->room_id == NULL)
        return 0;
    if ((room = room_row(t, meta->room_id, meta->room_name)) == NULL)
        return 1; /* out of memory: stored, shown after a restart */
    mim_msg_id_hex(id, hex);
    if (tui_model_current(&t->m) == NULL)
        tui_open(t, room->name); /* as a 1:1 conversation opens by itself */
    if ((e = tui_conv_find(&room->conv, hex)) == NULL)
        e = tui_conv_add(&room->conv, TUI_ENTRY_IN, ts_ms, from, text, hex, TUI_MSG_RECEIVED);
    if (tui_model_current(&t->m) == room) {
        tui_model_unmark(&t->m, room, hex);
        tui_model_grew(&t->m, &room->conv, 1);
    } else {
        room->unread++;
        if (e != NULL)
            e->unread = 1;
        tui_first_words(text, words, 60);
        tui_note(t, TUI_ENTRY_INFO, "%s %.130s: %s", room->name, from, words);
        snprintf(who, sizeof(who), "%.130s in %.80s", from, room->name);
        tui_attention_message(&t->att, who, text, room->unread <= 1);
    }
    t->dirty = 1;
    return 1;
}

/* One more copy of e's message was delivered: the counts only go up (copies come in any
 * order). */
static void count_delivery(tui_entry *e, const mim_core_fanout_delivery *d)
{
    if (e == NULL)
        return;
    if (d->delivered > e->fan_done)
        e->fan_done = d->delivered;
    e->fan_total = d->total;
    if (e->kind == TUI_ENTRY_OUT && e->fan_done >= e->fan_total)
        e->state = TUI_MSG_DELIVERED;
}

void tui_rooms_delivered(struct tui *t, const mim_core_fanout_delivery *d)
{
    char hex[MIM_MSG_ID_HEX_LEN];
    tui_contact *room = d->room_id != NULL ? tui_model_room(&t->m, d->room_id) : NULL;
    tui_conv *view = tui_model_view(&t->m);

    mim_msg_id_hex(d->id, hex);
    /* A room's line of ours (from before this run: its history says "(delivered)" once all
     * are), or a broadcast's lines in the console and in the view it was sent from
     * (tui_broadcast_send). */
    if (room != NULL) {
        count_delivery(tui_conv_find(&room->conv, hex), d);
    } else if (d->room_id == NULL) {
        count_delivery(tui_conv_find(&t->m.console, hex), d);
        if (view != &t->m.console)
            count_delivery(tui_conv_find(view, hex), d);
    }
    t->dirty = 1;
}

/* Names joined one per line (names hold no newline: the wire refuses controls). NULL: OOM. */
static char *join_names(const char *const *names, size_t n)
{
    size_t len = 1;
    char *out;

    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    if ((out = malloc(len)) == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i > 0 ? "\n" : "", names[i]);
    return out;
}

/* 1 when name is one of the lines of list. */
static int listed(const char *list, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = list; p != NULL && *p != '\0';
         p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
            return 1;
    return 0;
}

/* Who made a change an admin must sign: the one admin there was before it, when there was one
 * (the room's info does not say who signed; with two admins or more it is not said). */
static void by_whom(const tui *t, const tui_contact *room, char *out, size_t cap)
{
    const char *a = room->room_admins;

    out[0] = '\0';
    if (t->room_by_us)
        snprintf(out, cap, " by you");
    else if (a != NULL && a[0] != '\0' && strchr(a, '\n') == NULL && strcmp(a, t->m.me) != 0)
        snprintf(out, cap, " by %.130s", a);
}

/* The lines of a change of others' membership: old lists (one per line) against r. */
static void say_changes(tui *t, tui_contact *room, const mim_core_room_info *r)
{
    char by[160];

    by_whom(t, room, by, sizeof(by));
    for (size_t i = 0; i < r->nmembers; i++)
        if (strcmp(r->members[i], t->m.me) != 0 && !listed(room->room_members, r->members[i]))
            room_line(t, room, TUI_ENTRY_INFO, "%.130s was added%s", r->members[i], by);
    for (const char *p = room->room_members; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        char name[MIM_NAME_MAX_BYTES + 1];
        int still = 0;
        snprintf(name, sizeof(name), "%.*s", nl != NULL ? (int)(nl - p) : (int)strlen(p), p);
        for (size_t i = 0; i < r->nmembers && !still; i++)
            still = strcmp(r->members[i], name) == 0;
        if (!still && strcmp(name, t->m.me) != 0)
            room_line(t, room, TUI_ENTRY_INFO, "%.130s %s", name,
                      t->room_by_us ? "was removed by you" : "left, or was removed");
        p = nl != NULL ? nl + 1 : NULL;
    }
    for (size_t i = 0; i < r->nadmins; i++)
        if (!listed(room->room_admins, r->admins[i]) && listed(room->room_members, r->admins[i]))
            room_line(t, room, TUI_ENTRY_INFO, "%.130s %s an admin%s",
                      strcmp(r->admins[i], t->m.me) == 0 ? "you" : r->admins[i],
                      strcmp(r->admins[i], t->m.me) == 0 ? "were made" : "was made", by);
}

/* Our own membership: new to us, back in, or out (removed, or we left). */
static void say_ours(tui *t, tui_contact *room, const mim_core_room_info *r, int is_new)
{
    if (is_new && t->room_by_us) {
        room_line(t, room, TUI_ENTRY_INFO, "you created the room; type here to write to it");
    } else if (is_new || (room->room_gone && r->member)) {
        room_line(t, room, TUI_ENTRY_INFO, "you were added to the room%s%.130s%s",
                  r->nadmins == 1 ? " by " : "", r->nadmins == 1 ? r->admins[0] : "",
                  is_new ? "" : " again");
        if (tui_model_current(&t->m) != room)
            tui_note(t, TUI_ENTRY_INFO,
                     "you are in the room %s (%zu members): Tab, Enter on it, "
                     "or /msg %s",
                     room->name, r->nmembers, room->name);
    } else if (!room->room_gone && !r->member) {
        if (t->room_by_us)
            room_line(t, room, TUI_ENTRY_INFO, "you left the room");
        else
            room_line(t, room, TUI_ENTRY_WARN,
                      "you were removed from the room: nothing more comes from it");
    }
}

/* Takes r's lists as the room's own (kept on OOM: the next change says a little more). */
static void keep_lists(tui_contact *room, const mim_core_room_info *r)
{
    char *members = join_names(r->members, r->nmembers),
         *admins = join_names(r->admins, r->nadmins);

    if (members != NULL && admins != NULL) {
        free(room->room_members);
        free(room->room_admins);
        room->room_members = members;
        room->room_admins = admins;
    } else {
        free(members);
        free(admins);
    }
    room->nmembers = r->nmembers;
    room->room_gone = !r->member;
}

void tui_rooms_changed(struct tui *t, const mim_core_room_info *r)
{
    int is_new = tui_model_room(&t->m, r->id) == NULL;
    tui_contact *room = room_row(t, r->id, r->name);

    if (room == NULL)
        return;
    say_ours(t, room, r, is_new);
    if (!is_new && r->member && !room->room_gone)
        say_changes(t, room, r);
    keep_lists(room, r);
    t->dirty = 1;
}

static void stored_room(void *arg, const mim_core_room_info *r)
{
    tui *t = arg;
    tui_contact *room = room_row(t, r->id, r->name);

    if (room != NULL)
        keep_lists(room, r);
}

void tui_rooms_load(struct tui *t)
{
    if (mim_core_rooms(t->core, stored_room, t) != 0)
        tui_say(t, TUI_ENTRY_WARN, "the local store failed: your rooms are not listed");
}
