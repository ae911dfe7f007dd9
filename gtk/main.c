/* mim-gtk: the window front end (docs/GTK.md). Reads the same options as mim (options.c), the
 * saved preferences (prefs.c), then either starts the core and the main window (the data dir
 * has an identity, or --name was given) or shows the first-run assistant. GApplication gets
 * argv[0] only: the options are mim's. */
#include "app.h"
#include "mim_cli.h"
#include "mim_fs.h"
#include "mim_log.h"
#include "uv_gsource.h"

#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define APP_ID "org.mim.Messenger"

void app_quit(mim_gtk *g)
{
    if (g->core != NULL)
        mim_core_quit(g->core, 0); /* on_stopped releases the application */
    else
        g_application_quit(G_APPLICATION(g->gapp));
}

static gboolean on_unix_signal(gpointer ud)
{
    app_quit(ud);
    return G_SOURCE_CONTINUE;
}

/* Whether the data dir already holds an identity (mim made it, or an earlier run). */
static int has_identity(const char *dir)
{
    char path[4200];
    struct stat st;

    return mim_fs_join(path, sizeof(path), dir, "identity.key") == 0 && stat(path, &st) == 0;
}

static void on_activate(GApplication *gapp, gpointer ud)
{
    mim_gtk *g = ud;
    int name_given = g->opt.login_name[0] == '\0'; /* options.c fills it only without --name */

    (void)gapp;
    if (g->win != NULL || g->assistant != NULL)
        return;
    if (name_given || has_identity(g->opt.data_dir)) {
        win_build(g);
        gtk_window_present(GTK_WINDOW(g->win));
        (void)bridge_start(g);
    } else
        assistant_show(g);
}

/* The saved preferences fill what the command line left open: the name, and with it the
 * data dir when none was given, the server, the download folder, auto-away. */
static void apply_prefs(mim_gtk *g)
{
    peer_options *o = &g->opt;
    int dir_given = o->data_dir != o->default_data_dir;

    if (o->login_name[0] != '\0' && g->prefs.name[0] != '\0') { /* no --name */
        o->name = g->prefs.name;
        if (!dir_given)
            o->data_dir = mim_cli_data_dir("mim", NULL, o->name, o->default_data_dir,
                                           sizeof(o->default_data_dir));
    }
    if (o->server == NULL && g->prefs.server[0] != '\0')
        o->server = g->prefs.server;
    if (o->download_dir == NULL && g->prefs.download_dir[0] != '\0')
        o->download_dir = g->prefs.download_dir;
    if (g->prefs.auto_away_min >= 0)
        o->auto_away_ms = (uint32_t)g->prefs.auto_away_min * 60 * 1000;
    g->notify = g->prefs.notify && !o->notify_off && getenv("MIM_GTK_NO_NOTIFY") == NULL;
}

static int run(mim_gtk *g, char *argv0)
{
    char *gargv[] = {argv0, NULL};
    int rc;

    uv_loop_init(&g->loop);
    g->uv_source = uv_gsource_attach(&g->loop);
    g->gapp = GTK_APPLICATION(adw_application_new(APP_ID, G_APPLICATION_NON_UNIQUE));
    g_signal_connect(g->gapp, "activate", G_CALLBACK(on_activate), g);
    g_unix_signal_add(SIGINT, on_unix_signal, g);
    g_unix_signal_add(SIGTERM, on_unix_signal, g);
    rc = g_application_run(G_APPLICATION(g->gapp), 1, gargv);
    g_object_unref(g->gapp);
    g_source_remove(g->uv_source);
    uv_run(&g->loop, UV_RUN_NOWAIT); /* close callbacks still due */
    if (uv_loop_close(&g->loop) != 0)
        mim_log_warn("loop closed with handles still open");
    return rc != 0 ? rc : g->exit_code;
}

int main(int argc, char **argv)
{
    static mim_gtk g; /* the process's one application (app.h) */
    int rc;

    setlocale(LC_ALL, "");
    mim_log_set_program("mim-gtk");
    if ((rc = peer_options_parse_window(argc, argv, &g.opt)) != MIM_CLI_RUN)
        return rc;
    if (mim_core_global_init() != 0) {
        fprintf(stderr, "mim-gtk: libsodium failed to initialise\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer that resets costs an EPIPE, never the process */
    vm_init(&g.vm);
    prefs_load(&g);
    apply_prefs(&g);
    if (g.opt.data_dir == NULL)
        return 2;
    rc = run(&g, argv[0]);
    vm_free(&g.vm);
    return rc;
}
