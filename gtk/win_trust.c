/* Trust in mim-gtk: the banner over a conversation whose contact's key changed ("Key changed":
 * the new fingerprint, Trust and Verify), the verification dialog with the safety number in 12
 * groups of 5 digits, large enough to read out, and the server's changed key trusted. */
#include "app.h"

#include <stdio.h>
#include <string.h>

void trust_server(mim_gtk *g)
{
    int rc;

    if (g->core == NULL)
        return;
    if ((rc = mim_core_trust_server(g->core, g->vm.server_fp)) != 0)
        bridge_refusal(g, rc, "the server");
    else
        g->vm.server_key_changed = 0;
    win_refresh_header(g);
}

/* Accepts the current contact's pending key, the one the banner showed. 0 or -1 (said). */
static int trust_current(mim_gtk *g, vm_contact *c)
{
    char note[300];
    int rc;

    if (g->core == NULL)
        return -1;
    if ((rc = mim_core_trust(g->core, c->name, c->new_fp)) != 0) {
        bridge_refusal(g, rc, c->name);
        return -1;
    }
    c->key_pending = 0;
    snprintf(note, sizeof(note), "you trusted %s's new key %s", c->name, c->new_fp);
    vm_add_note(&g->vm, c->name, (int64_t)g_get_real_time() / 1000, note);
    return 0;
}

static void on_trust(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    vm_contact *c = vm_current(&g->vm);

    (void)b;
    if (c != NULL && c->key_pending && trust_current(g, c) == 0) {
        win_refresh_contacts(g);
        conv_refresh(g);
    }
}

static void on_verify(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;

    (void)b;
    if (g->vm.current != NULL)
        trust_verify_dialog(g, g->vm.current);
}

GtkWidget *trust_banner_build(mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    GtkWidget *trust = gtk_button_new_with_label("Trust"),
              *verify = gtk_button_new_with_label("Verify");

    g->key_label = gtk_label_new("");
    gtk_label_set_wrap(GTK_LABEL(g->key_label), TRUE);
    gtk_label_set_xalign(GTK_LABEL(g->key_label), 0);
    gtk_widget_set_hexpand(g->key_label, TRUE);
    g_signal_connect(trust, "clicked", G_CALLBACK(on_trust), g);
    g_signal_connect(verify, "clicked", G_CALLBACK(on_verify), g);
    gtk_box_append(GTK_BOX(box), g->key_label);
    gtk_box_append(GTK_BOX(box), verify);
    gtk_box_append(GTK_BOX(box), trust);
    gtk_widget_add_css_class(box, "mim-bar");
    gtk_widget_add_css_class(box, "warning");
    a11y_label(box, "Key changed");
    gtk_widget_set_visible(box, FALSE);
    g->key_banner = box;
    return box;
}

void trust_banner_refresh(mim_gtk *g)
{
    vm_contact *c;
    char text[400];

    if (g->win == NULL)
        return;
    c = vm_current(&g->vm);
    gtk_widget_set_visible(g->key_banner, c != NULL && c->key_pending);
    if (c == NULL || !c->key_pending)
        return;
    snprintf(text, sizeof(text),
             "%s's key changed. New fingerprint: %s. Messages to %s wait until you trust it; "
             "verify it with %s first.",
             c->name, c->new_fp, c->name, c->name);
    gtk_label_set_text(GTK_LABEL(g->key_label), text);
    gtk_accessible_update_property(GTK_ACCESSIBLE(g->key_banner),
                                   GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

/* "12345 67890 ..." (12 groups) as three lines of four groups. */
static void safety_lines(const char *number, char *out, size_t len)
{
    size_t o = 0, groups = 0;

    for (const char *p = number; *p != '\0' && o + 1 < len; p++) {
        if (*p == ' ')
            out[o++] = ++groups % 4 == 0 ? '\n' : ' ';
        else
            out[o++] = *p;
    }
    out[o] = '\0';
}

typedef struct verify_dialog {
    mim_gtk *g;
    char name[MIM_NAME_MAX_BYTES * 4 + 1];
    GtkWidget *win;
} verify_dialog;

/* "Mark as verified": with a pending key, that key is trusted first. */
static void on_mark_verified(GtkButton *b, gpointer ud)
{
    verify_dialog *d = ud;
    vm_contact *c = vm_contact_get(&d->g->vm, d->name, 0);
    int rc;

    (void)b;
    if (c == NULL || d->g->core == NULL || (c->key_pending && trust_current(d->g, c) != 0))
        return;
    if ((rc = mim_core_verified(d->g->core, d->name, 1)) != 0)
        bridge_refusal(d->g, rc, d->name);
    else
        c->verified = 1;
    win_refresh_contacts(d->g);
    conv_refresh(d->g);
    gtk_window_destroy(GTK_WINDOW(d->win));
}

static void on_close(GtkButton *b, gpointer ud)
{
    verify_dialog *d = ud;

    (void)b;
    gtk_window_destroy(GTK_WINDOW(d->win));
}

static GtkWidget *dialog_buttons(verify_dialog *d)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    GtkWidget *close = gtk_button_new_with_label("Close");
    GtkWidget *ok = gtk_button_new_with_label("Mark as verified");

    gtk_widget_add_css_class(ok, "suggested-action");
    g_signal_connect(close, "clicked", G_CALLBACK(on_close), d);
    g_signal_connect(ok, "clicked", G_CALLBACK(on_mark_verified), d);
    gtk_box_append(GTK_BOX(box), close);
    gtk_box_append(GTK_BOX(box), ok);
    gtk_widget_set_halign(box, GTK_ALIGN_END);
    return box;
}

void trust_verify_dialog(mim_gtk *g, const char *name)
{
    char number[MIM_CORE_SAFETY_NUMBER_LEN], lines[MIM_CORE_SAFETY_NUMBER_LEN], text[400];
    GtkWidget *box, *inner, *intro, *safety;
    verify_dialog *d;
    int new_key = 0, rc = MIM_CORE_ENOTHING;

    if (g->core == NULL || (rc = mim_core_verify(g->core, name, number, &new_key)) != 0) {
        bridge_refusal(g, rc, name);
        return;
    }
    box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    inner = gtk_box_new(GTK_ORIENTATION_VERTICAL, 18);
    d = g_new0(verify_dialog, 1);
    d->g = g;
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->win = adw_window_new();
    snprintf(text, sizeof(text), "Verify %s", name);
    gtk_window_set_title(GTK_WINDOW(d->win), text);
    gtk_window_set_transient_for(GTK_WINDOW(d->win), GTK_WINDOW(g->win));
    gtk_window_set_modal(GTK_WINDOW(d->win), TRUE);
    snprintf(text, sizeof(text),
             "Compare this number with the one %s sees (in person, or on the phone). "
             "If they are the same, your conversation is with %s%s.",
             name, name, new_key ? " and its new key is theirs" : "");
    intro = gtk_label_new(text);
    gtk_label_set_wrap(GTK_LABEL(intro), TRUE);
    gtk_label_set_xalign(GTK_LABEL(intro), 0);
    safety_lines(number, lines, sizeof(lines));
    safety = gtk_label_new(lines);
    gtk_widget_add_css_class(safety, "mim-safety");
    gtk_widget_set_halign(safety, GTK_ALIGN_CENTER);
    a11y_label(safety, "Safety number");
    gtk_box_append(GTK_BOX(inner), intro);
    gtk_box_append(GTK_BOX(inner), safety);
    gtk_box_append(GTK_BOX(inner), dialog_buttons(d));
    gtk_widget_set_margin_start(inner, 24);
    gtk_widget_set_margin_end(inner, 24);
    gtk_widget_set_margin_bottom(inner, 24);
    gtk_box_append(GTK_BOX(box), adw_header_bar_new());
    gtk_box_append(GTK_BOX(box), inner);
    gtk_window_set_default_size(GTK_WINDOW(d->win), 620, -1);
    adw_window_set_content(ADW_WINDOW(d->win), box);
    g_object_set_data_full(G_OBJECT(d->win), "state", d, g_free);
    gtk_window_present(GTK_WINDOW(d->win));
}
