/* mim-gtk's use of the core: the data dir and the start, the commands the window gives, the
 * stored contacts and history read in, and the desktop notifications. The events are in
 * core_events.c. */
#include "core_bridge.h"
#include "mim_error.h"
#include "mim_log.h"
#include "view_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum vm_state bridge_state(mim_core_msg_state s)
{
    switch (s) {
    case MIM_CORE_MSG_QUEUED:
        return VM_QUEUED;
    case MIM_CORE_MSG_SENT:
        return VM_SENT;
    case MIM_CORE_MSG_DELIVERED:
        return VM_DELIVERED;
    case MIM_CORE_MSG_READ:
        return VM_READ;
    case MIM_CORE_MSG_DEPOSITED:
        return VM_DEPOSITED;
    default:
        return VM_IN;
    }
}

enum vm_status bridge_status(mim_core_user_status s)
{
    return s == MIM_CORE_AWAY ? VM_AWAY : s == MIM_CORE_BUSY ? VM_BUSY : VM_AVAILABLE;
}

void bridge_error(mim_gtk *g, const char *message)
{
    vm_set_error(&g->vm, message);
    mim_log_info("shown: %s", g->vm.error);
    if (g->win != NULL)
        win_refresh_header(g);
}

void bridge_refusal(mim_gtk *g, int rc, const char *who)
{
    char text[600];

    vm_refusal_text(rc, who, text, sizeof(text));
    bridge_error(g, text);
}

int bridge_in_view(mim_gtk *g, const char *peer)
{
    return g->win != NULL && gtk_widget_get_mapped(g->win) && g->vm.current != NULL &&
           strcmp(g->vm.current, peer) == 0;
}

void bridge_notify(mim_gtk *g, const char *from, const char *text)
{
    GNotification *n;
    char id[160];

    if (!g->notify)
        return;
    n = g_notification_new(from);
    g_notification_set_body(n, text);
    snprintf(id, sizeof(id), "message-%s", from);
    /* Asynchronous over D-Bus: without a notification server it is simply not shown. */
    g_application_send_notification(G_APPLICATION(g->gapp), id, n);
    g_object_unref(n);
}

void bridge_changed(mim_gtk *g, const char *peer)
{
    if (g->win == NULL)
        return;
    win_refresh_contacts(g);
    win_refresh_header(g);
    if (peer != NULL && g->vm.current != NULL && strcmp(peer, g->vm.current) == 0)
        conv_refresh(g);
}

static void on_contact(void *arg, const mim_core_contact_info *ci)
{
    mim_gtk *g = arg;
    vm_contact *c = vm_contact_get(&g->vm, ci->name, 1);

    if (c == NULL)
        return;
    c->known = 1;
    c->verified = ci->verified;
    c->unread = ci->unread;
    c->key_pending = ci->key_pending;
    snprintf(c->new_fp, sizeof(c->new_fp), "%s", ci->pending_fingerprint);
    if (ci->online) {
        vm_set_online(&g->vm, ci->name, 1);
        vm_set_status(&g->vm, ci->name, bridge_status(ci->status), ci->status_text);
    }
}

static void on_stored_file(void *arg, const mim_core_file_info *f)
{
    (void)bridge_transfer(arg, f);
}

void bridge_load_files(mim_gtk *g)
{
    if (g->core != NULL && mim_core_files(g->core, on_stored_file, g) != 0)
        bridge_refusal(g, MIM_CORE_ESTORE, "");
}

void bridge_load_contacts(mim_gtk *g)
{
    if (mim_core_contacts(g->core, on_contact, g) != 0)
        bridge_refusal(g, MIM_CORE_ESTORE, "");
    rooms_load(g);
    bridge_load_files(g);
}

typedef struct history_load {
    mim_gtk *g;
    const char *peer;
} history_load;

static void on_history_item(void *arg, const mim_core_history_item *m)
{
    history_load *h = arg;
    view_model *vm = &h->g->vm;
    char id[MIM_MSG_ID_HEX_LEN];
    vm_row *r;

    mim_msg_id_hex(&m->id, id);
    if (m->content_type == MIM_CORE_CONTENT_KEY_CHANGE) {
        vm_add_note(vm, h->peer, m->ts_ms, m->text);
        return;
    }
    r = vm_add_stored(vm, h->peer, id, m->ts_ms, m->from, m->text, bridge_state(m->state),
                      m->unread, m->broadcast); /* issue 16: marked as it was live */
    if (r == NULL)
        return;
    if (m->content_type != MIM_CORE_CONTENT_TEXT && vm_transfer_find(vm, id) != NULL)
        r->kind = VM_ROW_FILE;
}

/* The stored history comes first: what came in this run and is stored too is kept once (by
 * id), what is not stored (notes) stays after it. */
void bridge_load_history(mim_gtk *g, const char *peer)
{
    vm_contact *c = vm_contact_get(&g->vm, peer, 1);
    vm_conv live;
    history_load h = {g, peer};
    int rc;

    if (c == NULL || c->conv.loaded || g->core == NULL)
        return;
    live = c->conv;
    memset(&c->conv, 0, sizeof(c->conv));
    rc = c->is_room ? mim_core_room_history(g->core, c->room_id, 200, on_history_item, &h)
                    : mim_core_history(g->core, peer, 200, on_history_item, &h);
    for (size_t i = 0; i < live.n; i++) {
        vm_row *l = &live.rows[i], *r;
        if (l->kind == VM_ROW_NOTE)
            vm_add_note(&g->vm, peer, l->ts_ms, l->text);
        else if ((r = vm_add_message(&g->vm, peer, l->id, l->ts_ms, l->from, l->text, l->state,
                                     !l->unread)) != NULL) {
            r->kind = l->kind;
            r->unread = l->unread;
            vm_keep_marks(r, l); /* what the history does not keep: broadcast, counts */
        }
        free(l->from);
        free(l->text);
        free(l->acked_by);
    }
    free(live.rows);
    c->conv.loaded = 1;
    c->conv.closed = live.closed;
    c->conv.typing = live.typing;
    if (rc != 0 && rc != MIM_CORE_EUNKNOWN_PEER)
        bridge_refusal(g, rc, peer);
}

void bridge_open_conversation(mim_gtk *g, const char *name)
{
    vm_contact *c;

    bridge_load_history(g, name);
    vm_open(&g->vm, name);
    c = vm_current(&g->vm);
    if (c != NULL && g->core != NULL && c->known && !c->is_room &&
        mim_core_mark_read(g->core, name) != 0)
        mim_log_debug("mark_read %s: nothing stored", name);
    conv_refresh(g);
    if (c != NULL)
        vm_mark_seen(c); /* the view scrolled to the first unread; next time it is read */
    win_refresh_contacts(g);
    win_refresh_header(g);
}

/* The send goes in a batch so that its id is known before its first event (core.h). */
void bridge_send_text(mim_gtk *g, const char *text)
{
    vm_contact *c = vm_current(&g->vm);
    char id[MIM_MSG_ID_HEX_LEN];
    mim_msg_id mid;
    int rc;

    if (c == NULL || g->core == NULL)
        return;
    if (c->is_room || vm_is_room(c->name)) {
        rooms_send_text(g, c, text); /* never mim_core_send to "#NAME" */
        return;
    }
    mim_core_batch_begin(g->core);
    rc = mim_core_send(g->core, c->name, text, &mid);
    if (rc == 0) {
        mim_msg_id_hex(&mid, id);
        vm_add_message(&g->vm, c->name, id, (int64_t)g_get_real_time() / 1000, g->vm.me, text,
                       VM_QUEUED, 1);
        c->known = 1;
    }
    mim_core_batch_end(g->core); /* on_queued / on_sent now */
    if (rc != 0)
        bridge_refusal(g, rc, c->name);
    conv_refresh(g);
}

int bridge_start(mim_gtk *g)
{
    static const mim_datadir_files files = {"identity.key", "mim.db", MIM_STORE_PEER};
    mim_core_config cfg;
    const peer_options *o = &g->opt;
    int rc;

    if ((rc = mim_datadir_open(&g->dd, o->data_dir, &files)) != 0) {
        bridge_error(g, rc == MIM_EBUSY ? "the data folder is in use by another mim"
                                        : "cannot open the data folder (see the log)");
        return -1;
    }
    mim_datadir_close_files(&g->dd);
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = &g->loop;
    cfg.name = o->name;
    cfg.server = o->server;
    cfg.data_dir = g->dd.path;
    cfg.listen_port = o->listen_port;
    cfg.advertise_port = o->advertise_port;
    cfg.keepalive_ms = o->keepalive_ms;
    cfg.max_table = o->max_table;
    cfg.quota_messages = o->quota_messages;
    cfg.quota_bytes = o->quota_bytes;
    cfg.receipts = o->receipts;
    cfg.auto_away_ms = o->auto_away_ms;
    cfg.download_dir = o->download_dir;
    cfg.auto_accept_bytes = o->auto_accept_bytes;
    cfg.max_file_size = o->max_file_size;
    snprintf(g->vm.me, sizeof(g->vm.me), "%s", o->name);
    if ((rc = mim_core_start(&g->core, &cfg, bridge_core_events(), g)) != 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot start: %s", mim_strerror(rc));
        bridge_error(g, why);
        return -1;
    }
    g_application_hold(G_APPLICATION(g->gapp)); /* until on_stopped */
    bridge_load_contacts(g);
    win_refresh_contacts(g);
    win_refresh_header(g);
    return 0;
}
