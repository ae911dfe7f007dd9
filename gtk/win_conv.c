/* The conversation pane of mim-gtk: who it is with (status, typing), the key-change banner,
 * the messages with their times, states and date lines (greyed while the other side has
 * closed it), the transfers' rows (win_files.c), and the entry with Send and Send file. It is
 * drawn anew from the view model on every change but a transfer's progress. */
#include "app.h"
#include "tui_date.h"
#include "view_text.h"

#include <stdio.h>
#include <string.h>

static int64_t now_ms(void)
{
    return (int64_t)g_get_real_time() / 1000;
}

static GtkWidget *text_row(const char *text, const char *css, float xalign)
{
    GtkWidget *row = gtk_list_box_row_new(), *label = gtk_label_new(text);

    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_label_set_wrap_mode(GTK_LABEL(label), PANGO_WRAP_WORD_CHAR);
    gtk_label_set_xalign(GTK_LABEL(label), xalign);
    gtk_widget_set_margin_top(label, 4);
    gtk_widget_set_margin_bottom(label, 4);
    gtk_widget_set_margin_start(label, 12);
    gtk_widget_set_margin_end(label, 12);
    if (css != NULL)
        gtk_widget_add_css_class(label, css);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), label);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    a11y_label(row, text);
    return row;
}

/* "14:02  bob: hello (delivered)": the time, then the text the tests read. */
static GtkWidget *message_row(mim_gtk *g, const vm_row *r)
{
    GtkWidget *row = gtk_list_box_row_new(), *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    GtkWidget *time, *label, *ack = rooms_ack_button(g, r);
    char when[TUI_DATE_MAX], text[VM_TEXT_MAX];

    tui_date_time_column(r->ts_ms, now_ms(), when);
    vm_row_text(r, text, sizeof(text));
    time = gtk_label_new(when);
    gtk_widget_add_css_class(time, "dim-label");
    gtk_widget_set_valign(time, GTK_ALIGN_START);
    label = gtk_label_new(text);
    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_label_set_wrap_mode(GTK_LABEL(label), PANGO_WRAP_WORD_CHAR);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_label_set_selectable(GTK_LABEL(label), TRUE);
    gtk_widget_set_hexpand(label, TRUE);
    if (r->state != VM_IN)
        gtk_widget_add_css_class(label, "mim-ours");
    gtk_box_append(GTK_BOX(box), time);
    gtk_box_append(GTK_BOX(box), label);
    if (ack != NULL)
        gtk_box_append(GTK_BOX(box), ack);
    gtk_widget_set_margin_start(box, 12);
    gtk_widget_set_margin_end(box, 12);
    gtk_widget_set_margin_top(box, 3);
    gtk_widget_set_margin_bottom(box, 3);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    a11y_label(row, text);
    return row;
}

/* The view lands on the first unread row, else on the end, once the list has its height. */
static void on_upper_changed(GtkAdjustment *adj, GParamSpec *ps, gpointer ud)
{
    mim_gtk *g = ud;
    GtkWidget *target = g_object_get_data(G_OBJECT(g->messages), "scroll-to");
    graphene_point_t p = GRAPHENE_POINT_INIT(0, 0), at;

    (void)ps;
    if (target != NULL && gtk_widget_compute_point(target, g->messages, &p, &at))
        gtk_adjustment_set_value(adj, at.y);
    else
        gtk_adjustment_set_value(adj,
                                 gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj));
}

static void clear_list(GtkWidget *list)
{
    GtkWidget *child;

    while ((child = gtk_widget_get_first_child(list)) != NULL)
        gtk_list_box_remove(GTK_LIST_BOX(list), child);
}

static void add_rows(mim_gtk *g, const vm_contact *c)
{
    long first_unread = vm_first_unread(c);
    int64_t prev = 0;

    g_object_set_data(G_OBJECT(g->messages), "scroll-to", NULL);
    for (size_t i = 0; i < c->conv.n; i++) {
        const vm_row *r = &c->conv.rows[i];
        vm_transfer *t = r->kind == VM_ROW_FILE ? vm_transfer_find(&g->vm, r->id) : NULL;
        GtkWidget *row;
        if (r->ts_ms > 0 && vm_needs_date_line(prev, r->ts_ms)) {
            char day[TUI_DATE_MAX];
            vm_date_text(r->ts_ms, now_ms(), day, sizeof(day));
            gtk_list_box_append(GTK_LIST_BOX(g->messages), text_row(day, "heading", 0.5f));
        }
        if (r->ts_ms > 0)
            prev = r->ts_ms;
        if (r->kind == VM_ROW_NOTE)
            row = text_row(r->text, "dim-label", 0.5f);
        else if (t != NULL)
            row = files_row(g, r, t);
        else
            row = message_row(g, r);
        gtk_list_box_append(GTK_LIST_BOX(g->messages), row);
        if ((long)i == first_unread)
            g_object_set_data(G_OBJECT(g->messages), "scroll-to", row);
    }
}

void conv_refresh_sub(mim_gtk *g)
{
    vm_contact *c;
    char sub[300];

    if (g->win == NULL || (c = vm_current(&g->vm)) == NULL)
        return;
    if (c->is_room)
        snprintf(sub, sizeof(sub), "%s",
                 c->room_gone ? "you are no longer in this room"
                              : "a room: each message goes to every member");
    else if (c->conv.typing)
        snprintf(sub, sizeof(sub), "%s is typing\u2026", c->name);
    else if (c->online)
        snprintf(sub, sizeof(sub), "%s%s%s", vm_status_word(c->status),
                 c->status_text[0] ? ": " : "", c->status_text);
    else
        snprintf(sub, sizeof(sub), "offline: messages wait for %s", c->name);
    gtk_label_set_text(GTK_LABEL(g->conv_sub), sub);
}

void conv_refresh(mim_gtk *g)
{
    vm_contact *c;

    if (g->win == NULL)
        return;
    c = vm_current(&g->vm);
    gtk_stack_set_visible_child_name(GTK_STACK(g->conv_stack), c != NULL ? "conv" : "none");
    if (c == NULL)
        return;
    gtk_label_set_text(GTK_LABEL(g->conv_title), c->name);
    conv_refresh_sub(g);
    g_hash_table_remove_all(g->progress);
    g_hash_table_remove_all(g->file_labels);
    clear_list(g->messages);
    add_rows(g, c);
    if (c->conv.closed) {
        char note[200];
        snprintf(note, sizeof(note), "%s closed the conversation", c->name);
        gtk_list_box_append(GTK_LIST_BOX(g->messages), text_row(note, "dim-label", 0.5f));
        gtk_widget_add_css_class(g->messages, "mim-closed");
    } else
        gtk_widget_remove_css_class(g->messages, "mim-closed");
    trust_banner_refresh(g);
}

static void send_entry(mim_gtk *g)
{
    const char *text = gtk_editable_get_text(GTK_EDITABLE(g->entry));
    vm_contact *c = vm_current(&g->vm);

    if (text[0] == '\0' || c == NULL)
        return;
    bridge_send_text(g, text);
    gtk_editable_set_text(GTK_EDITABLE(g->entry), "");
    if (g->core != NULL && !c->is_room)
        (void)mim_core_typing(g->core, c->name, 0);
}

static void on_send(GtkWidget *w, gpointer ud)
{
    (void)w;
    send_entry(ud);
}

static void on_send_file(GtkButton *b, gpointer ud)
{
    (void)b;
    files_choose(ud);
}

/* Typing, told to the peer (the core sends at most one a few seconds, and only with receipts
 * on). */
static void on_entry_changed(GtkEditable *e, gpointer ud)
{
    mim_gtk *g = ud;
    vm_contact *c = vm_current(&g->vm);

    if (c != NULL && g->core != NULL && c->known && !c->is_room)
        (void)mim_core_typing(g->core, c->name, gtk_editable_get_text(e)[0] != '\0');
}

static GtkWidget *entry_bar(mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *file = gtk_button_new_with_label("Send file"),
              *send = gtk_button_new_with_label("Send");

    g->entry = gtk_entry_new();
    gtk_entry_set_placeholder_text(GTK_ENTRY(g->entry), "Write a message");
    a11y_label(g->entry, "Message");
    gtk_widget_set_hexpand(g->entry, TRUE);
    g_signal_connect(g->entry, "activate", G_CALLBACK(on_send), g);
    g_signal_connect(g->entry, "changed", G_CALLBACK(on_entry_changed), g);
    g_signal_connect(file, "clicked", G_CALLBACK(on_send_file), g);
    g_signal_connect(send, "clicked", G_CALLBACK(on_send), g);
    gtk_widget_add_css_class(send, "suggested-action");
    gtk_box_append(GTK_BOX(box), g->entry);
    gtk_box_append(GTK_BOX(box), file);
    gtk_box_append(GTK_BOX(box), send);
    gtk_widget_set_margin_start(box, 12);
    gtk_widget_set_margin_end(box, 12);
    gtk_widget_set_margin_top(box, 6);
    gtk_widget_set_margin_bottom(box, 12);
    return box;
}

static GtkWidget *conv_header(mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);

    g->conv_title = gtk_label_new("");
    gtk_widget_add_css_class(g->conv_title, "title-2");
    gtk_label_set_xalign(GTK_LABEL(g->conv_title), 0);
    g->conv_sub = gtk_label_new("");
    gtk_widget_add_css_class(g->conv_sub, "dim-label");
    gtk_label_set_xalign(GTK_LABEL(g->conv_sub), 0);
    gtk_box_append(GTK_BOX(box), g->conv_title);
    gtk_box_append(GTK_BOX(box), g->conv_sub);
    gtk_widget_set_margin_start(box, 12);
    gtk_widget_set_margin_top(box, 8);
    gtk_widget_set_margin_bottom(box, 8);
    return box;
}

GtkWidget *conv_build(mim_gtk *g)
{
    GtkWidget *placeholder = adw_status_page_new();

    g->progress = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g->file_labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g->conv_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    gtk_box_append(GTK_BOX(g->conv_box), conv_header(g));
    gtk_box_append(GTK_BOX(g->conv_box), trust_banner_build(g));
    g->messages = gtk_list_box_new();
    gtk_list_box_set_selection_mode(GTK_LIST_BOX(g->messages), GTK_SELECTION_NONE);
    a11y_label(g->messages, "Messages");
    g->msg_scroll = gtk_scrolled_window_new();
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(g->msg_scroll), g->messages);
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(g->msg_scroll), GTK_POLICY_NEVER,
                                   GTK_POLICY_AUTOMATIC);
    gtk_widget_set_vexpand(g->msg_scroll, TRUE);
    g_signal_connect(gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(g->msg_scroll)),
                     "notify::upper", G_CALLBACK(on_upper_changed), g);
    gtk_box_append(GTK_BOX(g->conv_box), g->msg_scroll);
    gtk_box_append(GTK_BOX(g->conv_box), entry_bar(g));
    files_add_drop_target(g, g->conv_box);
    adw_status_page_set_title(ADW_STATUS_PAGE(placeholder), "Choose someone to talk to");
    adw_status_page_set_icon_name(ADW_STATUS_PAGE(placeholder), "org.mim.Messenger");
    g->conv_stack = gtk_stack_new();
    gtk_stack_add_named(GTK_STACK(g->conv_stack), placeholder, "none");
    gtk_stack_add_named(GTK_STACK(g->conv_stack), g->conv_box, "conv");
    gtk_widget_set_hexpand(g->conv_stack, TRUE);
    return g->conv_stack;
}
