/* The preferences of mim-gtk: what the assistant chose (name, server) and what the dialog sets
 * (download folder, notifications, auto-away), in a key file: DIR/mim-gtk.ini with --data-dir,
 * else $XDG_CONFIG_HOME/mim/mim-gtk.ini. The command line wins over them; they take effect at
 * the next start, except read receipts, which are the core's own setting (kept in its store)
 * and change at once. */
#include "app.h"
#include "mim_fs.h"
#include "mim_log.h"

#include <stdio.h>
#include <string.h>

#define GROUP "mim-gtk"

static void copy_key(GKeyFile *kf, const char *key, char *out, size_t len)
{
    char *v = g_key_file_get_string(kf, GROUP, key, NULL);

    if (v != NULL)
        snprintf(out, len, "%s", v);
    g_free(v);
}

void prefs_load(mim_gtk *g)
{
    GKeyFile *kf = g_key_file_new();
    gtk_prefs *p = &g->prefs;

    memset(p, 0, sizeof(*p));
    p->notify = 1;
    p->auto_away_min = -1; /* the option's default */
    if (g->opt.data_dir != g->opt.default_data_dir)
        mim_fs_join(g->prefs_path, sizeof(g->prefs_path), g->opt.data_dir, "mim-gtk.ini");
    else
        snprintf(g->prefs_path, sizeof(g->prefs_path), "%s/mim/mim-gtk.ini",
                 g_get_user_config_dir());
    if (g_key_file_load_from_file(kf, g->prefs_path, G_KEY_FILE_NONE, NULL)) {
        copy_key(kf, "name", p->name, sizeof(p->name));
        copy_key(kf, "server", p->server, sizeof(p->server));
        copy_key(kf, "download-dir", p->download_dir, sizeof(p->download_dir));
        if (g_key_file_has_key(kf, GROUP, "notify", NULL))
            p->notify = g_key_file_get_boolean(kf, GROUP, "notify", NULL);
        if (g_key_file_has_key(kf, GROUP, "auto-away-minutes", NULL))
            p->auto_away_min = g_key_file_get_integer(kf, GROUP, "auto-away-minutes", NULL);
    }
    g_key_file_free(kf);
}

int prefs_save(mim_gtk *g)
{
    GKeyFile *kf = g_key_file_new();
    gtk_prefs *p = &g->prefs;
    GError *err = NULL;
    char *dir = g_path_get_dirname(g->prefs_path);
    int rc = 0;

    g_key_file_set_string(kf, GROUP, "name", p->name);
    g_key_file_set_string(kf, GROUP, "server", p->server);
    g_key_file_set_string(kf, GROUP, "download-dir", p->download_dir);
    g_key_file_set_boolean(kf, GROUP, "notify", p->notify);
    g_key_file_set_integer(kf, GROUP, "auto-away-minutes", p->auto_away_min);
    if (g_mkdir_with_parents(dir, 0700) != 0 || !g_key_file_save_to_file(kf, g->prefs_path, &err)) {
        char why[4800];
        snprintf(why, sizeof(why), "cannot save the preferences in %s: %s", g->prefs_path,
                 err != NULL ? err->message : "cannot make its folder");
        bridge_error(g, why);
        rc = -1;
    }
    g_clear_error(&err);
    g_free(dir);
    g_key_file_free(kf);
    return rc;
}

/* ---- the dialog ------------------------------------------------------------------------ */

typedef struct prefs_dialog_state {
    mim_gtk *g;
    GtkWidget *name, *server, *download, *notify, *receipts, *away;
} prefs_dialog_state;

static GtkWidget *entry_row(AdwPreferencesGroup *grp, const char *title, const char *text)
{
    GtkWidget *row = adw_entry_row_new();

    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
    gtk_editable_set_text(GTK_EDITABLE(row), text);
    adw_preferences_group_add(grp, row);
    return row;
}

static GtkWidget *switch_row(AdwPreferencesGroup *grp, const char *title, int on)
{
    GtkWidget *row = adw_action_row_new(), *sw = gtk_switch_new();

    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
    gtk_switch_set_active(GTK_SWITCH(sw), on);
    gtk_widget_set_valign(sw, GTK_ALIGN_CENTER);
    a11y_label(sw, title);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), sw);
    adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), sw);
    adw_preferences_group_add(grp, row);
    return sw;
}

/* Closing the dialog saves it; the core's receipts switch changes now. */
static gboolean on_prefs_close(GtkWindow *w, gpointer ud)
{
    prefs_dialog_state *s = ud;
    gtk_prefs *p = &s->g->prefs;
    int receipts = gtk_switch_get_active(GTK_SWITCH(s->receipts));

    (void)w;
    snprintf(p->name, sizeof(p->name), "%s", gtk_editable_get_text(GTK_EDITABLE(s->name)));
    snprintf(p->server, sizeof(p->server), "%s", gtk_editable_get_text(GTK_EDITABLE(s->server)));
    snprintf(p->download_dir, sizeof(p->download_dir), "%s",
             gtk_editable_get_text(GTK_EDITABLE(s->download)));
    p->notify = gtk_switch_get_active(GTK_SWITCH(s->notify));
    p->auto_away_min = (int)gtk_spin_button_get_value(GTK_SPIN_BUTTON(s->away));
    s->g->notify = p->notify && getenv("MIM_GTK_NO_NOTIFY") == NULL;
    if (s->g->core != NULL && receipts != mim_core_receipts(s->g->core) &&
        mim_core_set_receipts(s->g->core, receipts) != 0)
        bridge_refusal(s->g, MIM_CORE_ESTORE, "");
    (void)prefs_save(s->g);
    g_free(s);
    return FALSE;
}

static GtkWidget *away_row(AdwPreferencesGroup *grp, int minutes)
{
    GtkWidget *row = adw_action_row_new(), *spin = gtk_spin_button_new_with_range(0, 240, 1);

    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), "Away after minutes (0: never)");
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(spin), minutes);
    gtk_widget_set_valign(spin, GTK_ALIGN_CENTER);
    a11y_label(spin, "Auto-away minutes");
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), spin);
    adw_preferences_group_add(grp, row);
    return spin;
}

void prefs_dialog(mim_gtk *g)
{
    prefs_dialog_state *s = g_new0(prefs_dialog_state, 1);
    GtkWidget *win = adw_preferences_window_new(), *page = adw_preferences_page_new();
    AdwPreferencesGroup *start = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
    AdwPreferencesGroup *now = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
    int away =
        g->prefs.auto_away_min >= 0 ? g->prefs.auto_away_min : (int)(g->opt.auto_away_ms / 60000);

    s->g = g;
    gtk_window_set_title(GTK_WINDOW(win), "Preferences");
    gtk_window_set_transient_for(GTK_WINDOW(win), GTK_WINDOW(g->win));
    adw_preferences_group_set_title(start, "At the next start");
    adw_preferences_group_set_title(now, "Now");
    s->name = entry_row(start, "Name", g->prefs.name[0] ? g->prefs.name : g->opt.name);
    s->server = entry_row(start, "Server (empty: find it on the LAN)", g->prefs.server);
    s->download = entry_row(start, "Download folder (empty: the default)", g->prefs.download_dir);
    s->away = away_row(start, away);
    s->notify = switch_row(now, "Notifications", g->prefs.notify);
    s->receipts =
        switch_row(now, "Read receipts and typing", g->core != NULL && mim_core_receipts(g->core));
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), now);
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), start);
    adw_preferences_window_add(ADW_PREFERENCES_WINDOW(win), ADW_PREFERENCES_PAGE(page));
    g_signal_connect(win, "close-request", G_CALLBACK(on_prefs_close), s);
    gtk_window_present(GTK_WINDOW(win));
}
