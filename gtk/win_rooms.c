/* Rooms and broadcasts in mim-gtk (issue 16, docs/GTK.md "Rooms and broadcasts"): the rooms
 * read into the contact list, a room's sends, the "New room" and "Broadcast" dialogs, and the
 * "Acknowledge" button of an important broadcast. The rooms' events are in core_events.c. */
#include "core_bridge.h"
#include "mim_log.h"

#include <stdio.h>
#include <string.h>

static void on_stored_room(void *arg, const mim_core_room_info *r)
{
    mim_gtk *g = arg;

    (void)vm_room_update(&g->vm, r->id, r->name, r->nmembers, r->member);
}

void rooms_load(mim_gtk *g)
{
    if (g->core != NULL && mim_core_rooms(g->core, on_stored_room, g) != 0)
        bridge_refusal(g, MIM_CORE_ESTORE, "");
    bridge_changed(g, NULL);
}

/* Sent under the room's id when we know it (two rooms may share a name). Each copy's
 * on_queued / on_sent is about a member; the row counts delivered copies (on_fanout_delivered). */
void rooms_send_text(mim_gtk *g, vm_contact *room, const char *text)
{
    const char *which = room->room_id[0] != '\0' ? room->room_id : room->name + 1;
    char id[MIM_MSG_ID_HEX_LEN];
    mim_msg_id mid;
    int rc = mim_core_room_send(g->core, which, text, &mid);

    if (rc != 0) {
        bridge_refusal(g, rc, room->name);
        return;
    }
    mim_msg_id_hex(&mid, id);
    vm_add_message(&g->vm, room->name, id, (int64_t)g_get_real_time() / 1000, g->vm.me, text,
                   VM_QUEUED, 1);
    conv_refresh(g);
}

/* ---- the dialogs ------------------------------------------------------------------------ */

/* A small modal window: a vertical box of what the caller adds, then Cancel and ok_label. The
 * window is returned; ok's "clicked" goes to on_ok with g (the window is at "dialog"). */
static GtkWidget *dialog_new(mim_gtk *g, const char *title, GtkWidget *content,
                             const char *ok_label, GCallback on_ok)
{
    GtkWidget *win = gtk_window_new(), *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
    GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *cancel = gtk_button_new_with_label("Cancel"),
              *ok = gtk_button_new_with_label(ok_label);

    gtk_window_set_title(GTK_WINDOW(win), title);
    gtk_window_set_transient_for(GTK_WINDOW(win), GTK_WINDOW(g->win));
    gtk_window_set_modal(GTK_WINDOW(win), TRUE);
    gtk_window_set_default_size(GTK_WINDOW(win), 360, -1);
    gtk_widget_add_css_class(ok, "suggested-action");
    g_signal_connect_swapped(cancel, "clicked", G_CALLBACK(gtk_window_destroy), win);
    g_object_set_data(G_OBJECT(ok), "dialog", win);
    g_signal_connect(ok, "clicked", on_ok, g);
    gtk_widget_set_halign(buttons, GTK_ALIGN_END);
    gtk_box_append(GTK_BOX(buttons), cancel);
    gtk_box_append(GTK_BOX(buttons), ok);
    gtk_box_append(GTK_BOX(box), content);
    gtk_box_append(GTK_BOX(box), buttons);
    gtk_widget_set_margin_start(box, 12);
    gtk_widget_set_margin_end(box, 12);
    gtk_widget_set_margin_top(box, 12);
    gtk_widget_set_margin_bottom(box, 12);
    gtk_window_set_child(GTK_WINDOW(win), box);
    return win;
}

static GtkWidget *named_entry(GtkWidget *win, const char *key, const char *name, const char *hint)
{
    GtkWidget *e = gtk_entry_new();

    gtk_entry_set_placeholder_text(GTK_ENTRY(e), hint);
    a11y_label(e, name);
    g_object_set_data(G_OBJECT(win), key, e);
    return e;
}

/* "alice, bob carol": names split at commas and spaces, at most MIM_CORE_ROOM_MEMBERS_MAX. */
static void on_create_room(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    GtkWidget *win = g_object_get_data(G_OBJECT(b), "dialog");
    const char *name = gtk_editable_get_text(g_object_get_data(G_OBJECT(win), "room-name"));
    char *const *parts,
        **split = g_strsplit_set(
            gtk_editable_get_text(g_object_get_data(G_OBJECT(win), "room-members")), ", ", -1);
    const char *members[MIM_CORE_ROOM_MEMBERS_MAX];
    size_t n = 0;
    int rc;

    for (parts = split; *parts != NULL && n < MIM_CORE_ROOM_MEMBERS_MAX; parts++)
        if ((*parts)[0] != '\0')
            members[n++] = *parts;
    rc = g->core != NULL ? mim_core_room_create(g->core, name, members, n, NULL) : MIM_CORE_ESTORE;
    g_strfreev(split);
    if (rc != 0) {
        bridge_refusal(g, rc, name);
        return; /* the dialog stays: the user corrects it */
    }
    gtk_window_destroy(GTK_WINDOW(win));
}

static void on_new_room(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6), *win;

    (void)b;
    win = dialog_new(g, "New room", box, "Create", G_CALLBACK(on_create_room));
    gtk_box_append(GTK_BOX(box), named_entry(win, "room-name", "Room name", "lab"));
    gtk_box_append(GTK_BOX(box), named_entry(win, "room-members", "Members", "alice, bob"));
    gtk_window_present(GTK_WINDOW(win));
}

static void on_send_broadcast(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    GtkWidget *win = g_object_get_data(G_OBJECT(b), "dialog");
    const char *text = gtk_editable_get_text(g_object_get_data(G_OBJECT(win), "bc-text"));
    int important = gtk_check_button_get_active(g_object_get_data(G_OBJECT(win), "bc-important"));
    mim_msg_id id;
    char hex[MIM_MSG_ID_HEX_LEN];
    uint32_t copies = 0;
    int rc = g->core != NULL ? mim_core_broadcast(g->core, text, important, &id, &copies)
                             : MIM_CORE_ESTORE;

    if (rc != 0) {
        bridge_refusal(g, rc, "");
        return;
    }
    mim_log_info("broadcast to %u peers", (unsigned)copies);
    mim_msg_id_hex(&id, hex); /* its row: "delivered to 0 of 25 online", then counting */
    (void)vm_broadcast_sent(&g->vm, hex, (int64_t)g_get_real_time() / 1000, text, important,
                            copies);
    bridge_changed(g, VM_OWN_BROADCASTS);
    gtk_window_destroy(GTK_WINDOW(win));
}

static void on_broadcast(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6), *win, *check;

    (void)b;
    win = dialog_new(g, "Broadcast", box, "Send", G_CALLBACK(on_send_broadcast));
    gtk_box_append(GTK_BOX(box), named_entry(win, "bc-text", "Broadcast text", "to everyone"));
    check = gtk_check_button_new_with_label("Important");
    g_object_set_data(G_OBJECT(win), "bc-important", check);
    gtk_box_append(GTK_BOX(box), check);
    gtk_window_present(GTK_WINDOW(win));
}

GtkWidget *rooms_header_buttons(mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *room = gtk_button_new_with_label("New room"),
              *bc = gtk_button_new_with_label("Broadcast");

    g_signal_connect(room, "clicked", G_CALLBACK(on_new_room), g);
    g_signal_connect(bc, "clicked", G_CALLBACK(on_broadcast), g);
    gtk_box_append(GTK_BOX(box), room);
    gtk_box_append(GTK_BOX(box), bc);
    return box;
}

/* ---- Acknowledge ------------------------------------------------------------------------ */

static void on_ack(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    const char *hex = g_object_get_data(G_OBJECT(b), "id");
    vm_contact *c = vm_current(&g->vm);
    vm_row *r = c != NULL ? vm_find_row(&c->conv, hex) : NULL;
    mim_msg_id id;
    int rc;

    if (r == NULL || g->core == NULL || mim_msg_id_parse(hex, &id) != 0)
        return;
    rc = mim_core_ack_broadcast(g->core, &id);
    if (rc != 0 && rc != MIM_CORE_ENOTHING) { /* ENOTHING: acknowledged before */
        bridge_refusal(g, rc, "");
        return;
    }
    r->acked = 1;
    conv_refresh(g); /* the row drawn anew: "acknowledged", without its button */
}

GtkWidget *rooms_ack_button(mim_gtk *g, const vm_row *r)
{
    GtkWidget *b;

    if (r->state != VM_IN || r->broadcast != 2 || r->acked)
        return NULL;
    b = gtk_button_new_with_label("Acknowledge");
    gtk_widget_set_valign(b, GTK_ALIGN_START);
    g_object_set_data_full(G_OBJECT(b), "id", g_strdup(r->id), g_free);
    g_signal_connect(b, "clicked", G_CALLBACK(on_ack), g);
    return b;
}
