/* Transfers in mim-gtk's conversation: a row per transfer ("File NAME": what and how far, a
 * progress bar "Progress NAME", Accept / Reject on an offer, Open folder once done, an image
 * shown inline and scaled), and sending: the file chooser, and files dropped on the
 * conversation. */
#include "app.h"
#include "core_bridge.h"
#include "tui_date.h"
#include "view_text.h"

#include <stdio.h>
#include <string.h>

#define IMAGE_HEIGHT 240 /* px: an image's inline height at most */

static void transfer_decision(mim_gtk *g, const char *hex, int accept)
{
    mim_msg_id id;
    int rc;

    if (g->core == NULL || mim_msg_id_parse(hex, &id) != 0)
        return;
    rc = accept ? mim_core_accept_file(g->core, &id) : mim_core_reject_file(g->core, &id);
    if (rc != 0)
        bridge_refusal(g, rc, "");
    bridge_load_files(g); /* the new state, drawn */
    conv_refresh(g);
}

static void on_accept(GtkButton *b, gpointer ud)
{
    transfer_decision(ud, g_object_get_data(G_OBJECT(b), "id"), 1);
}

static void on_reject(GtkButton *b, gpointer ud)
{
    transfer_decision(ud, g_object_get_data(G_OBJECT(b), "id"), 0);
}

static void on_open_folder(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    char *dir = g_path_get_dirname(g_object_get_data(G_OBJECT(b), "path"));
    GFile *f = g_file_new_for_path(dir);
    char *uri = g_file_get_uri(f);

    gtk_show_uri(GTK_WINDOW(g->win), uri, GDK_CURRENT_TIME);
    g_free(uri);
    g_object_unref(f);
    g_free(dir);
}

static GtkWidget *button(mim_gtk *g, const char *label, GCallback cb, const char *key,
                         const char *value)
{
    GtkWidget *b = gtk_button_new_with_label(label);

    g_object_set_data_full(G_OBJECT(b), key, g_strdup(value), g_free);
    g_signal_connect(b, "clicked", cb, g);
    return b;
}

static GtkWidget *image(const vm_transfer *t)
{
    GtkWidget *pic = gtk_picture_new_for_filename(t->path);
    char name[600];

    gtk_picture_set_can_shrink(GTK_PICTURE(pic), TRUE);
    gtk_picture_set_content_fit(GTK_PICTURE(pic), GTK_CONTENT_FIT_CONTAIN);
    gtk_widget_set_size_request(pic, -1, IMAGE_HEIGHT);
    gtk_widget_set_halign(pic, GTK_ALIGN_START);
    snprintf(name, sizeof(name), "Image %s", t->name);
    a11y_label(pic, name);
    return pic;
}

static GtkWidget *actions(mim_gtk *g, const vm_transfer *t)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);

    if (t->dir == VM_FILE_RECEIVE && t->state == VM_FILE_OFFERED) {
        GtkWidget *accept = button(g, "Accept", G_CALLBACK(on_accept), "id", t->id);
        gtk_widget_add_css_class(accept, "suggested-action");
        gtk_box_append(GTK_BOX(box), accept);
        gtk_box_append(GTK_BOX(box), button(g, "Reject", G_CALLBACK(on_reject), "id", t->id));
    }
    if (t->state == VM_FILE_DONE && t->path[0] != '\0')
        gtk_box_append(GTK_BOX(box),
                       button(g, "Open folder", G_CALLBACK(on_open_folder), "path", t->path));
    return box;
}

GtkWidget *files_row(mim_gtk *g, const vm_row *r, const vm_transfer *t)
{
    GtkWidget *row = gtk_list_box_row_new(), *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
    GtkWidget *label, *bar = gtk_progress_bar_new();
    char text[VM_TEXT_MAX], what[1200], when[TUI_DATE_MAX];

    tui_date_time_column(r->ts_ms, (int64_t)g_get_real_time() / 1000, when);
    vm_transfer_text(t, what, sizeof(what));
    snprintf(text, sizeof(text), "%s  %s", when, r->from);
    label = gtk_label_new("");
    g_object_set_data_full(G_OBJECT(label), "who", g_strdup(text), g_free); /* files_progress */
    snprintf(text, sizeof(text), "%s  %s: %s", when, r->from, what);
    gtk_label_set_text(GTK_LABEL(label), text);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_box_append(GTK_BOX(box), label);
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(bar), vm_transfer_fraction(t));
    snprintf(what, sizeof(what), "Progress %s", t->name);
    a11y_label(bar, what);
    gtk_box_append(GTK_BOX(box), bar);
    if (t->state == VM_FILE_DONE && vm_is_image(t))
        gtk_box_append(GTK_BOX(box), image(t));
    gtk_box_append(GTK_BOX(box), actions(g, t));
    gtk_widget_set_margin_start(box, 12);
    gtk_widget_set_margin_end(box, 12);
    gtk_widget_set_margin_top(box, 6);
    gtk_widget_set_margin_bottom(box, 6);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    snprintf(what, sizeof(what), "File %s", t->name);
    a11y_label(row, what);
    g_hash_table_replace(g->progress, g_strdup(t->id), bar);
    g_hash_table_replace(g->file_labels, g_strdup(t->id), label);
    return row;
}

void files_progress(mim_gtk *g, const vm_transfer *t)
{
    GtkWidget *bar, *label;
    char what[1200], text[1400];

    if (g->win == NULL || (bar = g_hash_table_lookup(g->progress, t->id)) == NULL)
        return;
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(bar), vm_transfer_fraction(t));
    if ((label = g_hash_table_lookup(g->file_labels, t->id)) != NULL) {
        vm_transfer_text(t, what, sizeof(what));
        snprintf(text, sizeof(text), "%s: %s",
                 (const char *)g_object_get_data(G_OBJECT(label), "who"), what);
        gtk_label_set_text(GTK_LABEL(label), text);
    }
}

/* Offers path to the open conversation's peer; its row shows the transfer from then on. */
void files_send(mim_gtk *g, const char *path)
{
    vm_contact *c = vm_current(&g->vm);
    char id[MIM_MSG_ID_HEX_LEN], text[600];
    char *base = g_path_get_basename(path);
    mim_msg_id mid;
    vm_row *r;
    int rc;

    if (c != NULL && g->core != NULL) {
        if ((rc = mim_core_send_file(g->core, c->name, path, &mid)) != 0)
            bridge_refusal(g, rc, base);
        else {
            mim_msg_id_hex(&mid, id);
            snprintf(text, sizeof(text), "file %s", base);
            r = vm_add_message(&g->vm, c->name, id, (int64_t)g_get_real_time() / 1000, g->vm.me,
                               text, VM_QUEUED, 1);
            if (r != NULL)
                r->kind = VM_ROW_FILE;
            c->known = 1;
            bridge_load_files(g);
            conv_refresh(g);
        }
    }
    g_free(base);
}

static void on_chosen(GtkNativeDialog *d, int response, gpointer ud)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
        char *path = f != NULL ? g_file_get_path(f) : NULL;
        if (path != NULL)
            files_send(ud, path);
        g_free(path);
        g_clear_object(&f);
    }
    g_object_unref(d);
}

void files_choose(mim_gtk *g)
{
    GtkFileChooserNative *d;

    if (vm_current(&g->vm) == NULL)
        return;
    d = gtk_file_chooser_native_new("Send a file", GTK_WINDOW(g->win), GTK_FILE_CHOOSER_ACTION_OPEN,
                                    "Send", "Cancel");
    g_signal_connect(d, "response", G_CALLBACK(on_chosen), g);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y, gpointer ud)
{
    GSList *files;

    (void)target, (void)x, (void)y;
    if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
        return FALSE;
    files = gdk_file_list_get_files(g_value_get_boxed(value));
    for (GSList *l = files; l != NULL; l = l->next) {
        char *path = g_file_get_path(l->data);
        if (path != NULL)
            files_send(ud, path);
        g_free(path);
    }
    g_slist_free(files);
    return TRUE;
}

void files_add_drop_target(mim_gtk *g, GtkWidget *w)
{
    GtkDropTarget *t = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);

    g_signal_connect(t, "drop", G_CALLBACK(on_drop), g);
    gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(t));
}
