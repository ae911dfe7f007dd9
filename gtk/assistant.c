/* The first-run assistant of mim-gtk ("Welcome to mim"): the name (the login name by
 * default), the server (an address, or found on the LAN: "Find server" asks by the discovery
 * probe, or asks the typed address directly, and shows the server's fingerprint to compare
 * with the one its operator gives), then Continue: the preferences are saved, the identity is
 * made in the data dir, the core starts and the main window opens. */
#include "app.h"
#include "mim_cli.h"
#include "mim_error.h"
#include "mim_name.h"

#include <stdio.h>
#include <string.h>

#define FIND_TIMEOUT_MS 3000

static void note(mim_gtk *g, const char *text, int error)
{
    char line[600];

    snprintf(line, sizeof(line), "%s%s", error ? "Error: " : "", text);
    gtk_label_set_text(GTK_LABEL(g->a_note), line);
    a11y_label(g->a_note, line[0] != '\0' ? line : "Note");
    gtk_widget_remove_css_class(g->a_note, error ? "dim-label" : "error");
    gtk_widget_add_css_class(g->a_note, error ? "error" : "dim-label");
}

static void on_found(void *ud, int status, const char *server, const char *fp)
{
    mim_gtk *g = ud;

    g->discovering = 0;
    if (g->assistant == NULL)
        return;
    if (status < 0) {
        note(g, "no server answered; type its address (HOST:PORT)", 1);
        return;
    }
    gtk_editable_set_text(GTK_EDITABLE(g->a_server), server);
    named_label_set(g->a_fp, fp, "Server fingerprint");
    note(g, "Compare the fingerprint with the one your server's operator gives you.", 0);
}

/* Asks the typed address (its port, for UDP too), or the LAN (port 4242). */
static void on_find(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    const char *typed = gtk_editable_get_text(GTK_EDITABLE(g->a_server));
    int rc;

    (void)b;
    if (g->discovering)
        return;
    named_label_set(g->a_fp, "", "Server fingerprint");
    if ((rc = mim_core_find_server(&g->loop, typed, FIND_TIMEOUT_MS, on_found, g)) != 0) {
        note(g,
             rc == MIM_EINVAL ? "the server address is not a numeric HOST[:PORT]"
                              : "cannot send the discovery probe",
             1);
        return;
    }
    g->discovering = 1;
    note(g, "Looking for the server\u2026", 0);
}

/* The choices into the options and the preferences. 0, or -1 (said). */
static int take_choices(mim_gtk *g)
{
    const char *typed = gtk_editable_get_text(GTK_EDITABLE(g->a_name));
    const char *server = gtk_editable_get_text(GTK_EDITABLE(g->a_server));
    peer_options *o = &g->opt;
    char nfc[sizeof(g->prefs.name)];

    if (mim_name_nfc(typed, nfc, sizeof(nfc)) != 0 || !mim_name_valid(nfc, strlen(nfc))) {
        note(g, "not a valid name: 1 to 32 visible characters, spaces only inside", 1);
        return -1;
    }
    snprintf(g->prefs.name, sizeof(g->prefs.name), "%s", nfc);
    snprintf(g->prefs.server, sizeof(g->prefs.server), "%s", server);
    o->name = g->prefs.name;
    o->server = g->prefs.server[0] != '\0' ? g->prefs.server : NULL;
    if (o->data_dir == o->default_data_dir &&
        mim_cli_data_dir("mim", NULL, o->name, o->default_data_dir, sizeof(o->default_data_dir)) ==
            NULL) {
        note(g, "no folder for the data of that name (HOME is not set?)", 1);
        return -1;
    }
    return 0;
}

static void on_continue(GtkButton *b, gpointer ud)
{
    mim_gtk *g = ud;
    GtkWidget *assistant = g->assistant;

    (void)b;
    if (take_choices(g) != 0)
        return;
    (void)prefs_save(g);
    win_build(g); /* before the assistant goes: the application keeps a window */
    gtk_window_present(GTK_WINDOW(g->win));
    g->assistant = NULL;
    gtk_window_destroy(GTK_WINDOW(assistant));
    (void)bridge_start(g);
}

/* An entry named `name` (AT-SPI) with a shorter visible label, so that one name is one widget. */
static GtkWidget *labelled_entry(GtkWidget *grid, int row, const char *label, const char *name,
                                 const char *text)
{
    GtkWidget *l = gtk_label_new(label), *e = gtk_entry_new();

    gtk_label_set_xalign(GTK_LABEL(l), 1);
    gtk_editable_set_text(GTK_EDITABLE(e), text);
    gtk_widget_set_hexpand(e, TRUE);
    a11y_label(e, name);
    gtk_grid_attach(GTK_GRID(grid), l, 0, row, 1, 1);
    gtk_grid_attach(GTK_GRID(grid), e, 1, row, 1, 1);
    return e;
}

static GtkWidget *form(mim_gtk *g)
{
    GtkWidget *grid = gtk_grid_new(), *find = gtk_button_new_with_label("Find server");
    GtkWidget *fp_title = gtk_label_new("Fingerprint");
    const char *server = g->opt.server != NULL ? g->opt.server : g->prefs.server;

    gtk_grid_set_row_spacing(GTK_GRID(grid), 12);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
    g->a_name = labelled_entry(grid, 0, "Name", "Your name", g->opt.name);
    g->a_server = labelled_entry(grid, 1, "Server", "Server address", server);
    gtk_entry_set_placeholder_text(GTK_ENTRY(g->a_server), "empty: find it on the LAN");
    g_signal_connect(find, "clicked", G_CALLBACK(on_find), g);
    gtk_grid_attach(GTK_GRID(grid), find, 2, 1, 1, 1);
    gtk_label_set_xalign(GTK_LABEL(fp_title), 1);
    gtk_widget_add_css_class(fp_title, "dim-label");
    g->a_fp = gtk_label_new("");
    gtk_label_set_xalign(GTK_LABEL(g->a_fp), 0);
    gtk_label_set_selectable(GTK_LABEL(g->a_fp), TRUE);
    gtk_widget_add_css_class(g->a_fp, "monospace");
    a11y_label(g->a_fp, "Server fingerprint");
    gtk_grid_attach(GTK_GRID(grid), fp_title, 0, 2, 1, 1);
    gtk_grid_attach(GTK_GRID(grid), g->a_fp, 1, 2, 2, 1);
    return grid;
}

void assistant_show(mim_gtk *g)
{
    GtkWidget *win = adw_application_window_new(g->gapp);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 18), *inner, *intro, *cont;

    g->assistant = win;
    gtk_window_set_title(GTK_WINDOW(win), "Welcome to mim");
    gtk_window_set_default_size(GTK_WINDOW(win), 560, -1);
    intro = gtk_label_new("Choose the name others see you by, and the presence server of your "
                          "network. A key of your own is made for you on this computer.");
    gtk_label_set_wrap(GTK_LABEL(intro), TRUE);
    gtk_label_set_xalign(GTK_LABEL(intro), 0);
    g->a_note = gtk_label_new("");
    gtk_label_set_wrap(GTK_LABEL(g->a_note), TRUE);
    gtk_label_set_xalign(GTK_LABEL(g->a_note), 0);
    cont = gtk_button_new_with_label("Continue");
    gtk_widget_add_css_class(cont, "suggested-action");
    gtk_widget_set_halign(cont, GTK_ALIGN_END);
    g_signal_connect(cont, "clicked", G_CALLBACK(on_continue), g);
    inner = gtk_box_new(GTK_ORIENTATION_VERTICAL, 18);
    gtk_box_append(GTK_BOX(inner), intro);
    gtk_box_append(GTK_BOX(inner), form(g));
    gtk_box_append(GTK_BOX(inner), g->a_note);
    gtk_box_append(GTK_BOX(inner), cont);
    gtk_widget_set_margin_start(inner, 24);
    gtk_widget_set_margin_end(inner, 24);
    gtk_widget_set_margin_bottom(inner, 24);
    gtk_box_append(GTK_BOX(box), adw_header_bar_new());
    gtk_box_append(GTK_BOX(box), inner);
    adw_application_window_set_content(ADW_APPLICATION_WINDOW(win), box);
    gtk_window_present(GTK_WINDOW(win));
}
