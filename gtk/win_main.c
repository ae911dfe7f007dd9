/* The main window of mim-gtk: the header (the status menu, the server's state, preferences),
 * the error bar, the server-key warning, and a split view (AdwLeaflet) of the contact list and
 * the conversation; the title counts the unread messages. Why a split view: docs/GTK.md. */
#include "app.h"
#include "view_text.h"

#include <stdio.h>
#include <string.h>

void a11y_label(GtkWidget *w, const char *name)
{
    gtk_accessible_update_property(GTK_ACCESSIBLE(w), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
}

void named_label_set(GtkWidget *label, const char *text, const char *name)
{
    gtk_label_set_text(GTK_LABEL(label), text);
    a11y_label(label, name);
}

/* ---- the contact list ------------------------------------------------------------------- */

static GtkWidget *contact_row(const vm_contact *c)
{
    GtkWidget *row = gtk_list_box_row_new(), *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *label;
    char text[600];

    vm_contact_text(c, (int64_t)g_get_real_time() / 1000, text, sizeof(text));
    label = gtk_label_new(text);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_END);
    gtk_widget_set_hexpand(label, TRUE);
    gtk_box_append(GTK_BOX(box), label);
    if (c->unread > 0) {
        char n[24];
        GtkWidget *badge;
        snprintf(n, sizeof(n), "%zu", c->unread);
        badge = gtk_label_new(n);
        gtk_widget_add_css_class(badge, "accent");
        gtk_box_append(GTK_BOX(box), badge);
    }
    if (c->verified)
        gtk_box_append(GTK_BOX(box), gtk_image_new_from_icon_name("emblem-ok-symbolic"));
    if (c->key_pending)
        gtk_box_append(GTK_BOX(box), gtk_image_new_from_icon_name("dialog-warning-symbolic"));
    gtk_widget_set_margin_start(box, 8);
    gtk_widget_set_margin_end(box, 8);
    gtk_widget_set_margin_top(box, 6);
    gtk_widget_set_margin_bottom(box, 6);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    if (c->is_room ? c->room_gone : !c->online)
        gtk_widget_add_css_class(row, "dim-label"); /* offline people, rooms we left greyed */
    a11y_label(row, text);
    g_object_set_data_full(G_OBJECT(row), "name", g_strdup(c->name), g_free);
    return row;
}

void win_refresh_contacts(mim_gtk *g)
{
    GtkListBox *list;
    GtkWidget *child;

    if (g->win == NULL)
        return;
    list = GTK_LIST_BOX(g->contacts);
    g->refreshing = 1;
    while ((child = gtk_widget_get_first_child(g->contacts)) != NULL)
        gtk_list_box_remove(list, child);
    for (size_t i = 0; i < g->vm.n; i++) {
        GtkWidget *row = contact_row(g->vm.c[i]);
        gtk_list_box_append(list, row);
        if (g->vm.current != NULL && strcmp(g->vm.current, g->vm.c[i]->name) == 0)
            gtk_list_box_select_row(list, GTK_LIST_BOX_ROW(row));
    }
    g->refreshing = 0;
}

static void open_row(mim_gtk *g, GtkListBoxRow *row)
{
    const char *name = row != NULL ? g_object_get_data(G_OBJECT(row), "name") : NULL;

    if (name == NULL || g->refreshing)
        return;
    if (g->vm.current != NULL && strcmp(g->vm.current, name) == 0)
        return;
    bridge_open_conversation(g, name);
}

static void on_row_activated(GtkListBox *list, GtkListBoxRow *row, gpointer ud)
{
    (void)list;
    open_row(ud, row);
}

static void on_row_selected(GtkListBox *list, GtkListBoxRow *row, gpointer ud)
{
    (void)list;
    open_row(ud, row);
}

/* ---- the header: title, server state, warnings, errors --------------------------------- */

void win_refresh_header(mim_gtk *g)
{
    char title[300], key[300];

    if (g->win == NULL)
        return;
    vm_title(&g->vm, title, sizeof(title));
    gtk_window_set_title(GTK_WINDOW(g->win), title);
    named_label_set(g->server_state, vm_conn_word(g->vm.conn), "Server state");
    gtk_widget_set_tooltip_text(g->server_state,
                                g->vm.server_fp[0] ? g->vm.server_fp : "no server key yet");
    gtk_widget_set_visible(g->server_bar, g->vm.server_key_changed);
    snprintf(key, sizeof(key),
             "The server's key changed: it is now %s. Compare it with the server's before "
             "trusting it.",
             g->vm.server_fp);
    gtk_label_set_text(GTK_LABEL(g->server_label), key);
    gtk_label_set_text(GTK_LABEL(g->error_label), g->vm.error);
    a11y_label(g->error_label, g->vm.error);
    gtk_widget_set_visible(g->error_bar, g->vm.error[0] != '\0');
}

static void on_dismiss_error(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;

    (void)b;
    vm_clear_error(&g->vm);
    win_refresh_header(g);
}

static void on_trust_server(GtkButton *b, gpointer ud)
{
    (void)b;
    trust_server(ud);
}

/* A bar with a message and one button (the error, the server-key warning). */
static GtkWidget *bar(const char *css, GtkWidget **label, const char *button, GCallback cb,
                      mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12),
              *b = gtk_button_new_with_label(button);

    *label = gtk_label_new("");
    gtk_label_set_wrap(GTK_LABEL(*label), TRUE);
    gtk_label_set_xalign(GTK_LABEL(*label), 0);
    gtk_widget_set_hexpand(*label, TRUE);
    gtk_box_append(GTK_BOX(box), *label);
    gtk_box_append(GTK_BOX(box), b);
    g_signal_connect(b, "clicked", cb, g);
    gtk_widget_add_css_class(box, css);
    gtk_widget_add_css_class(box, "mim-bar");
    gtk_widget_set_visible(box, FALSE);
    return box;
}

/* ---- the status menu -------------------------------------------------------------------- */

static void set_status(mim_gtk *g, enum vm_status st)
{
    const char *text = gtk_editable_get_text(GTK_EDITABLE(g->status_entry));
    mim_core_user_status cs = st == VM_AWAY   ? MIM_CORE_AWAY
                              : st == VM_BUSY ? MIM_CORE_BUSY
                                              : MIM_CORE_AVAILABLE;
    int rc;

    if (g->core == NULL)
        return;
    if ((rc = mim_core_status(g->core, cs, text[0] != '\0' ? text : NULL)) != 0) {
        bridge_refusal(g, rc, "");
        return;
    }
    g->vm.my_status = st;
    snprintf(g->vm.my_text, sizeof(g->vm.my_text), "%s", text);
    gtk_menu_button_set_label(GTK_MENU_BUTTON(g->status_btn), vm_status_word(st));
    gtk_menu_button_popdown(GTK_MENU_BUTTON(g->status_btn));
}

static void on_status_clicked(GtkButton *b, gpointer ud)
{
    set_status(ud, (enum vm_status)GPOINTER_TO_INT(g_object_get_data(G_OBJECT(b), "status")));
}

static GtkWidget *status_menu(mim_gtk *g)
{
    static const char *const words[] = {"Available", "Away", "Busy"};
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6), *pop = gtk_popover_new();

    g->status_entry = gtk_entry_new();
    gtk_entry_set_placeholder_text(GTK_ENTRY(g->status_entry), "Status text");
    a11y_label(g->status_entry, "Status text");
    gtk_box_append(GTK_BOX(box), g->status_entry);
    for (int i = 0; i < 3; i++) {
        GtkWidget *b = gtk_button_new_with_label(words[i]);
        g_object_set_data(G_OBJECT(b), "status", GINT_TO_POINTER(i));
        g_signal_connect(b, "clicked", G_CALLBACK(on_status_clicked), g);
        gtk_box_append(GTK_BOX(box), b);
    }
    gtk_popover_set_child(GTK_POPOVER(pop), box);
    g->status_btn = gtk_menu_button_new();
    gtk_menu_button_set_label(GTK_MENU_BUTTON(g->status_btn), "available");
    gtk_menu_button_set_popover(GTK_MENU_BUTTON(g->status_btn), pop);
    a11y_label(g->status_btn, "Status");
    return g->status_btn;
}

/* ---- the window ------------------------------------------------------------------------- */

static void on_prefs(GtkButton *b, gpointer ud)
{
    (void)b;
    prefs_dialog(ud);
}

static GtkWidget *header(mim_gtk *g)
{
    GtkWidget *hb = adw_header_bar_new(),
              *prefs = gtk_button_new_from_icon_name("emblem-system-symbolic");

    g->server_state = gtk_label_new("connecting");
    gtk_widget_add_css_class(g->server_state, "dim-label");
    a11y_label(g->server_state, "Server state");
    adw_header_bar_pack_start(ADW_HEADER_BAR(hb), status_menu(g));
    adw_header_bar_pack_start(ADW_HEADER_BAR(hb), g->server_state);
    adw_header_bar_pack_end(ADW_HEADER_BAR(hb), rooms_header_buttons(g));
    a11y_label(prefs, "Preferences");
    gtk_widget_set_tooltip_text(prefs, "Preferences");
    g_signal_connect(prefs, "clicked", G_CALLBACK(on_prefs), g);
    adw_header_bar_pack_end(ADW_HEADER_BAR(hb), prefs);
    return hb;
}

/* The search entry over the contacts, or over its results (win_search.c). */
static GtkWidget *sidebar(mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0), *scroll = gtk_scrolled_window_new();

    g->contacts = gtk_list_box_new();
    gtk_list_box_set_selection_mode(GTK_LIST_BOX(g->contacts), GTK_SELECTION_SINGLE);
    gtk_widget_add_css_class(g->contacts, "navigation-sidebar");
    a11y_label(g->contacts, "Contacts");
    g_signal_connect(g->contacts, "row-activated", G_CALLBACK(on_row_activated), g);
    g_signal_connect(g->contacts, "row-selected", G_CALLBACK(on_row_selected), g);
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), g->contacts);
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER,
                                   GTK_POLICY_AUTOMATIC);
    g->side_stack = gtk_stack_new();
    gtk_stack_add_named(GTK_STACK(g->side_stack), scroll, "contacts");
    gtk_box_append(GTK_BOX(box), search_build(g));
    gtk_box_append(GTK_BOX(box), g->side_stack);
    gtk_stack_set_visible_child_name(GTK_STACK(g->side_stack), "contacts");
    gtk_widget_set_size_request(box, 260, -1);
    gtk_widget_set_vexpand(g->side_stack, TRUE);
    return box;
}

/* Any key in the window is the user's presence: auto-away ends (core.h, mim_core_input). */
static gboolean on_key(GtkEventControllerKey *k, guint keyval, guint code, GdkModifierType st,
                       gpointer ud)
{
    mim_gtk *g = ud;

    (void)k, (void)keyval, (void)code, (void)st;
    if (g->core != NULL)
        mim_core_input(g->core);
    return FALSE;
}

/* The window goes; the core stops (the application lives on until on_stopped). */
static void on_destroy(GtkWidget *w, gpointer ud)
{
    mim_gtk *g = ud;

    (void)w;
    g->win = NULL;
    g_clear_pointer(&g->progress, g_hash_table_unref);
    g_clear_pointer(&g->file_labels, g_hash_table_unref);
    app_quit(g);
}

/* The icon, and the few looks libadwaita has no class for: the bars, the large safety number, a
 * greyed (closed) conversation. */
static void add_css(void)
{
    static const char css[] = ".mim-bar { padding: 8px 12px; }\n"
                              ".mim-bar.error { background: alpha(@error_color, 0.15); }\n"
                              ".mim-bar.warning { background: alpha(@warning_color, 0.2); }\n"
                              ".mim-safety { font-family: monospace; font-size: 26pt; }\n"
                              ".mim-closed { opacity: 0.55; }\n";
    GtkCssProvider *p = gtk_css_provider_new();

    /* The icon: installed in hicolor; run from the build tree, found beside the sources. */
    gtk_icon_theme_add_search_path(gtk_icon_theme_get_for_display(gdk_display_get_default()),
                                   MIM_GTK_ICON_DIR);
    gtk_window_set_default_icon_name("org.mim.Messenger");
    gtk_css_provider_load_from_data(p, css, -1);
    gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(p),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(p);
}

void win_build(mim_gtk *g)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0), *leaflet = adw_leaflet_new();
    GtkEventController *keys = gtk_event_controller_key_new();

    add_css();
    g->win = adw_application_window_new(g->gapp);
    gtk_window_set_default_size(GTK_WINDOW(g->win), 960, 640);
    gtk_box_append(GTK_BOX(box), header(g));
    g->error_bar = bar("error", &g->error_label, "Dismiss", G_CALLBACK(on_dismiss_error), g);
    g->server_bar =
        bar("warning", &g->server_label, "Trust server", G_CALLBACK(on_trust_server), g);
    a11y_label(g->server_bar, "Server key changed");
    gtk_box_append(GTK_BOX(box), g->error_bar);
    gtk_box_append(GTK_BOX(box), g->server_bar);
    adw_leaflet_append(ADW_LEAFLET(leaflet), sidebar(g));
    adw_leaflet_append(ADW_LEAFLET(leaflet), gtk_separator_new(GTK_ORIENTATION_VERTICAL));
    adw_leaflet_append(ADW_LEAFLET(leaflet), conv_build(g));
    gtk_widget_set_vexpand(leaflet, TRUE);
    gtk_box_append(GTK_BOX(box), leaflet);
    adw_application_window_set_content(ADW_APPLICATION_WINDOW(g->win), box);
    gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
    g_signal_connect(keys, "key-pressed", G_CALLBACK(on_key), g);
    gtk_widget_add_controller(g->win, keys);
    g_signal_connect(g->win, "destroy", G_CALLBACK(on_destroy), g);
    win_refresh_header(g);
}
