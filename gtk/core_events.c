/* The core's events in mim-gtk: each one into the view model, then what shows it redrawn
 * (core_bridge.h). All run on the one thread (core.h: the loop thread, GLib's here). */
#include "core_bridge.h"
#include "mim_log.h"
#include "view_text.h"

#include <stdio.h>
#include <string.h>

static int64_t now_ms(void)
{
    return (int64_t)g_get_real_time() / 1000;
}

static void on_ready(void *ud, const char *name, const char *fingerprint, uint16_t listen_port)
{
    mim_gtk *g = ud;

    snprintf(g->vm.me, sizeof(g->vm.me), "%s", name);
    snprintf(g->vm.fingerprint, sizeof(g->vm.fingerprint), "%s", fingerprint);
    mim_log_info("ready as %s, listening on port %u", name, (unsigned)listen_port);
}

static void on_presence(void *ud, mim_core_presence state, const char *server)
{
    mim_gtk *g = ud;

    snprintf(g->vm.server, sizeof(g->vm.server), "%s", server);
    g->vm.conn = state == MIM_CORE_PRESENCE_CONNECTED      ? VM_CONN_CONNECTED
                 : state == MIM_CORE_PRESENCE_RECONNECTING ? VM_CONN_RECONNECTING
                                                           : VM_CONN_OFFLINE;
    /* The directory's offline people (issue 14): asked again at every login. */
    if (state == MIM_CORE_PRESENCE_CONNECTED && g->core != NULL && mim_core_directory(g->core) != 0)
        bridge_refusal(g, MIM_CORE_ESTORE, "");
    bridge_changed(g, NULL);
}

static void on_server_key(void *ud, const char *fingerprint, mim_core_key_verdict verdict,
                          const char *old_fingerprint)
{
    mim_gtk *g = ud;

    (void)old_fingerprint;
    snprintf(g->vm.server_fp, sizeof(g->vm.server_fp), "%s", fingerprint);
    g->vm.server_key_changed = verdict == MIM_CORE_KEY_CHANGED;
    bridge_changed(g, NULL);
}

static void on_online(void *ud, const mim_core_peer_info *p)
{
    mim_gtk *g = ud;

    vm_set_online(&g->vm, p->name, 1);
    vm_set_status(&g->vm, p->name, bridge_status(p->status), p->text);
    bridge_changed(g, p->name);
}

static void on_offline(void *ud, const char *name)
{
    mim_gtk *g = ud;
    vm_contact *c;

    vm_set_online(&g->vm, name, 0);
    if ((c = vm_contact_get(&g->vm, name, 0)) != NULL)
        c->last_seen_ms = now_ms();
    bridge_changed(g, name);
}

static void on_status(void *ud, const char *name, mim_core_user_status status, const char *text)
{
    mim_gtk *g = ud;

    vm_set_status(&g->vm, name, bridge_status(status), text);
    bridge_changed(g, NULL);
    conv_refresh_sub(g);
}

/* A message in view is read at once; one not in view is counted, and notified. peer: the
 * conversation it goes to (from's, or a room's "#NAME"). */
static vm_row *show_incoming(mim_gtk *g, const char *peer, const char *from, const mim_msg_id *mid,
                             int64_t ts_ms, const char *text)
{
    char id[MIM_MSG_ID_HEX_LEN];
    int in_view = bridge_in_view(g, peer);
    vm_row *r;
    vm_contact *c;

    mim_msg_id_hex(mid, id);
    r = vm_add_message(&g->vm, peer, id, ts_ms, from, text, VM_IN, in_view);
    if ((c = vm_contact_get(&g->vm, peer, 0)) != NULL)
        c->known = 1;
    if (in_view && g->core != NULL && !vm_is_room(peer))
        (void)mim_core_mark_read(g->core, from);
    if (!in_view || !gtk_window_is_active(GTK_WINDOW(g->win)))
        bridge_notify(g, peer, text);
    bridge_changed(g, peer);
    return r;
}

/* A room's message goes to the room's conversation ("#NAME"), with its sender on the row; a
 * broadcast to its sender's, marked (an important one with its Acknowledge button). */
static void on_message(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                       const char *text, const mim_core_msg_meta *meta)
{
    mim_gtk *g = ud;
    char room[VM_ROOM_KEY_MAX];
    vm_contact *c;
    vm_row *r;

    if (meta != NULL && meta->room_name != NULL) {
        snprintf(room, sizeof(room), "#%s", meta->room_name);
        (void)show_incoming(g, room, from, id, ts_ms, text);
        if ((c = vm_contact_get(&g->vm, room, 0)) != NULL && !c->is_room)
            rooms_load(g); /* a message before its room's on_room: the store knows it */
        return;
    }
    r = show_incoming(g, from, from, id, ts_ms, text);
    if (r != NULL && meta != NULL && meta->broadcast) {
        r->broadcast = meta->broadcast;
        bridge_changed(g, from);
    }
}

static void on_unsupported(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                           int content_type, const char *description)
{
    (void)content_type;
    (void)show_incoming(ud, from, from, id, ts_ms, description);
}

static void set_state(mim_gtk *g, const char *to, const mim_msg_id *mid, enum vm_state st)
{
    char id[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(mid, id);
    if (!vm_set_state(&g->vm, to, id, st))
        mim_log_debug("state of %s for a message not shown", id);
    bridge_changed(g, to);
}

static void on_queued(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, VM_QUEUED);
}

static void on_sent(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, VM_SENT);
}

static void on_delivered(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, VM_DELIVERED);
}

/* A copy of a room's message reached one more member: its row in the room's conversation
 * says to how many of all. A broadcast's copy: the recipient's conversation, if it shows it. */
static void on_fanout_delivered(void *ud, const mim_core_fanout_delivery *d)
{
    mim_gtk *g = ud;
    char room[VM_ROOM_KEY_MAX], id[MIM_MSG_ID_HEX_LEN];

    if (d->room_name == NULL) {
        set_state(g, d->to, d->id, VM_DELIVERED);
        if (d->kind == MIM_CORE_FANOUT_ROOM)
            return;
        mim_msg_id_hex(d->id, id); /* issue 16: our broadcast's row counts it */
        if (vm_set_fanout(&g->vm, VM_OWN_BROADCASTS, id, d->delivered, d->total))
            bridge_changed(g, VM_OWN_BROADCASTS);
        return;
    }
    snprintf(room, sizeof(room), "#%s", d->room_name);
    mim_msg_id_hex(d->id, id);
    if (!vm_set_fanout(&g->vm, room, id, d->delivered, d->total))
        mim_log_debug("delivery of %s for a room's message not shown", id);
    bridge_changed(g, room);
}

/* A room we are in changed: its row in the list (member count, greyed once we are out). */
static void on_room(void *ud, const mim_core_room_info *r)
{
    mim_gtk *g = ud;
    vm_contact *c = vm_room_update(&g->vm, r->id, r->name, r->nmembers, r->member);

    if (c == NULL)
        return;
    if (!r->member)
        vm_add_note(&g->vm, c->name, now_ms(), "you are no longer in this room");
    bridge_changed(g, c->name);
}

static void on_broadcast_ack(void *ud, const char *from, const mim_msg_id *id)
{
    mim_gtk *g = ud;
    char id_hex[MIM_MSG_ID_HEX_LEN], note[200];

    mim_msg_id_hex(id, id_hex);
    snprintf(note, sizeof(note), "%s acknowledged your important broadcast %.8s", from, id_hex);
    vm_add_note(&g->vm, from, now_ms(), note);
    bridge_changed(g, from);
    if (vm_broadcast_acked(&g->vm, id_hex, from)) /* issue 16: named on our broadcast's row */
        bridge_changed(g, VM_OWN_BROADCASTS);
}

static void on_read(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, VM_READ);
}

static void on_deposited(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, VM_DEPOSITED);
}

static void on_expired(void *ud, const char *to, const mim_msg_id *id)
{
    mim_gtk *g = ud;

    vm_add_note(&g->vm, to, now_ms(), "a message waited too long on the server: it is queued");
    set_state(g, to, id, VM_QUEUED);
}

static void on_key_changed(void *ud, const char *name, const char *old_fingerprint,
                           const char *new_fingerprint)
{
    mim_gtk *g = ud;
    vm_contact *c = vm_contact_get(&g->vm, name, 1);
    char note[300];

    if (c == NULL)
        return;
    c->key_pending = 1;
    c->verified = 0;
    snprintf(c->new_fp, sizeof(c->new_fp), "%s", new_fingerprint);
    snprintf(note, sizeof(note), "%s's key changed from %s to %s: messages wait until you trust it",
             name, old_fingerprint, new_fingerprint);
    vm_add_note(&g->vm, name, now_ms(), note);
    bridge_changed(g, name);
    trust_banner_refresh(g);
}

static void on_chat_opened(void *ud, const char *with)
{
    (void)ud;
    mim_log_debug("chat with %s opened", with);
}

static void on_chat_closed(void *ud, const char *with)
{
    mim_gtk *g = ud;
    vm_contact *c = vm_contact_get(&g->vm, with, 0);

    if (c == NULL)
        return;
    c->conv.closed = 1;
    bridge_changed(g, with);
}

static void on_error(void *ud, mim_core_error code, const char *message, int fatal)
{
    (void)code;
    (void)fatal; /* on_stopped follows a fatal one */
    bridge_error(ud, message);
}

static void on_stopped(void *ud, int exit_code)
{
    mim_gtk *g = ud;

    g->core = NULL;
    g->exit_code = exit_code;
    if (g->win != NULL)
        gtk_window_destroy(GTK_WINDOW(g->win));
    g_application_release(G_APPLICATION(g->gapp));
}

static void on_send_failed(void *ud, const char *to, const mim_msg_id *mid)
{
    mim_gtk *g = ud;
    char id[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(mid, id);
    vm_remove_row(&g->vm, to, id);
    bridge_refusal(g, MIM_CORE_ESTORE, to);
    bridge_changed(g, to);
}

static void on_send_refused(void *ud, const char *to, const mim_msg_id *id)
{
    mim_gtk *g = ud;
    char note[200];

    (void)id;
    snprintf(note, sizeof(note), "%s takes no more messages today (its limit): they wait", to);
    vm_add_note(&g->vm, to, now_ms(), note);
    bridge_changed(g, to);
}

static void on_typing(void *ud, const char *with, int typing)
{
    mim_gtk *g = ud;
    vm_contact *c = vm_contact_get(&g->vm, with, 0);

    if (c != NULL)
        c->conv.typing = typing;
    conv_refresh_sub(g);
}

static void on_unreachable(void *ud, const char *to, const char *reason)
{
    mim_gtk *g = ud;
    char note[400];

    snprintf(note, sizeof(note), "cannot reach %s: %s", to, reason);
    vm_add_note(&g->vm, to, now_ms(), note);
    bridge_changed(g, to);
}

static void on_waiting(void *ud, const char *to, mim_core_wait_reason reason)
{
    mim_gtk *g = ud;
    char note[300];

    snprintf(note, sizeof(note), "%s keeps our messages waiting: %s", to,
             reason == MIM_CORE_WAIT_KEY_NOT_ACCEPTED ? "it has another key of ours pinned"
                                                      : "for a reason this version does not know");
    vm_add_note(&g->vm, to, now_ms(), note);
    bridge_changed(g, to);
}

/* The directory's people join the list, offline ones greyed with when they were last seen. */
static void on_directory(void *ud, const mim_core_directory_entry *e, size_t n, int is_private)
{
    mim_gtk *g = ud;

    (void)is_private;
    for (size_t i = 0; i < n; i++) {
        vm_contact *c = vm_contact_get(&g->vm, e[i].name, 1);
        if (c != NULL)
            c->last_seen_ms = e[i].last_seen_ms;
    }
    bridge_changed(g, NULL);
}

static void on_lookup_failed(void *ud, const char *to, const mim_msg_id *mid,
                             mim_core_lookup_fail why)
{
    mim_gtk *g = ud;
    char id[MIM_MSG_ID_HEX_LEN], text[300];

    mim_msg_id_hex(mid, id);
    vm_remove_row(&g->vm, to, id);
    snprintf(text, sizeof(text), "%s: %s", to,
             why == MIM_CORE_LOOKUP_NOT_REGISTERED ? "nobody of that name is registered"
                                                   : "the server did not answer; not sent");
    bridge_error(g, text);
    bridge_changed(g, to);
}

vm_transfer *bridge_transfer(mim_gtk *g, const mim_core_file_info *f)
{
    char id[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(&f->id, id);
    return vm_transfer_update(
        &g->vm, id, f->with, f->dir == MIM_CORE_FILE_SEND ? VM_FILE_SEND : VM_FILE_RECEIVE,
        (enum vm_file_state)f->state, f->name, f->path, f->size, f->bytes, f->media_type, f->error);
}

/* A transfer's state changed: its row is drawn anew (the conversation, when open). */
static void file_changed(mim_gtk *g, const mim_core_file_info *f)
{
    char id[MIM_MSG_ID_HEX_LEN];
    vm_contact *c = vm_contact_get(&g->vm, f->with, 0);
    vm_row *r;

    (void)bridge_transfer(g, f);
    mim_msg_id_hex(&f->id, id);
    if (c != NULL && (r = vm_find_row(&c->conv, id)) != NULL)
        r->kind = VM_ROW_FILE;
    bridge_changed(g, f->with);
}

static void on_file_offer(void *ud, const mim_core_file_info *f, int accepted)
{
    mim_gtk *g = ud;
    char id[MIM_MSG_ID_HEX_LEN], text[300];
    vm_row *r;

    (void)accepted;
    (void)bridge_transfer(g, f);
    mim_msg_id_hex(&f->id, id);
    snprintf(text, sizeof(text), "file %s", f->name);
    r = vm_add_message(&g->vm, f->with, id, now_ms(), f->with, text, VM_IN,
                       bridge_in_view(g, f->with));
    if (r != NULL)
        r->kind = VM_ROW_FILE;
    file_changed(g, f);
}

static void on_file_progress(void *ud, const mim_core_file_info *f)
{
    mim_gtk *g = ud;
    vm_transfer *t = bridge_transfer(g, f);

    if (t != NULL)
        files_progress(g, t); /* in place: at most ~4/s, no redraw of the conversation */
}

static void on_file_done(void *ud, const mim_core_file_info *f)
{
    file_changed(ud, f);
}

static void on_file_failed(void *ud, const mim_core_file_info *f)
{
    file_changed(ud, f);
}

static void on_file_paused(void *ud, const mim_core_file_info *f)
{
    file_changed(ud, f);
}

const mim_core_events *bridge_core_events(void)
{
    static const mim_core_events ev = MIM_CORE_EVENTS_BY_NAME;
    return &ev;
}
