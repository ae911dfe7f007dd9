/* mim: the peer program. Reads the options (options.c), then runs the core with a front end:
 * the JSON-lines API (--json), or the full-screen terminal interface (peer/tui/) when stdin and
 * stdout are a terminal. */
#include "core.h"
#include "json_api.h"
#include "mim_cli.h"
#include "mim_datadir.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_keylog.h"
#include "mim_log.h"
#include "options.h"
#include "tui.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct app {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm, sighup;
    json_api *ja; /* the front end: one of ja and tui */
    tui *tui;
    int exit_code;
} app;

static void on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    mim_log_info("signal %d: quitting", signum);
    if (a->ja != NULL)
        json_api_quit(a->ja);
    else
        tui_quit(a->tui);
}

static void close_signals(app *a)
{
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sighup, NULL);
}

static void on_done(void *ud, int exit_code)
{
    app *a = ud;
    a->exit_code = exit_code;
    close_signals(a);
}

/* The terminal interface owns the screen: logs go to DIR/mim.log (appended, 0600) instead of
 * stderr, so that no log line is ever drawn over it. Fills log_path; 0 or -1. */
static int logs_to_file(const char *data_dir, char *log_path, size_t len)
{
    int fd;

    if (mim_fs_prepare_dir(data_dir) != 0 || mim_fs_join(log_path, len, data_dir, "mim.log") != 0)
        return -1;
    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "mim: cannot open %s: %s\n", log_path, strerror(errno));
        return -1;
    }
    fflush(stderr);
    if (dup2(fd, STDERR_FILENO) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* The loop, the front end the options chose and the signals that end it. 0, or 1 (said). */
static int app_open(app *a, const peer_options *o, const char *log_path)
{
    memset(a, 0, sizeof(*a));
    uv_loop_init(&a->loop);
    if (o->json)
        a->ja = json_api_new(&a->loop, on_done, a);
    else
        a->tui = tui_new(&a->loop, log_path, on_done, a);
    if (a->tui != NULL)
        tui_set_attention(a->tui, (enum tui_bell_mode)o->bell, !o->notify_off);
    if (a->ja == NULL && a->tui == NULL) {
        fprintf(stderr, "mim: out of memory\n");
        return 1;
    }
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    uv_signal_init(&a->loop, &a->sighup);
    a->sigint.data = a->sigterm.data = a->sighup.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sighup, on_signal, SIGHUP); /* the terminal window was closed */
    return 0;
}

/* Runs the core under the front end until it quits. The exit code; *name_taken 1 when it
 * stopped because the server has our name under another key. */
static int app_run(app *a, const peer_options *o, const char *log_path, int *name_taken)
{
    mim_core_config cfg;
    mim_core *core = NULL;
    int rc, json = o->json;

    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = &a->loop;
    cfg.name = o->name;
    cfg.server = o->server;
    cfg.data_dir = o->data_dir;
    cfg.listen_port = o->listen_port;
    cfg.advertise_port = o->advertise_port;
    cfg.keepalive_ms = o->keepalive_ms;
    cfg.max_table = o->max_table;
    cfg.quota_messages = o->quota_messages;
    cfg.quota_bytes = o->quota_bytes;
    cfg.receipts = o->receipts;
    cfg.auto_away_ms = o->auto_away_ms;
    cfg.name_taken_out = name_taken;
    cfg.download_dir = o->download_dir;
    cfg.auto_accept_bytes = o->auto_accept_bytes;
    cfg.max_file_size = o->max_file_size;
    rc = mim_core_start(&core, &cfg, json ? json_api_core_events() : tui_core_events(),
                        json ? (void *)a->ja : (void *)a->tui);
    if (rc != 0) {
        mim_log_error("cannot start: %s", mim_strerror(rc));
        if (!json) /* the log went to the file: the terminal gets the reason too */
            fprintf(stdout, "mim: cannot start: %s (details in %s)\n", mim_strerror(rc), log_path);
        a->exit_code = 1;
        close_signals(a);
    } else if (json && (rc = json_api_attach(a->ja, core)) != 0) {
        mim_log_error("cannot read stdin: %s", uv_strerror(rc));
        json_api_quit(a->ja); /* done() closes the signals; the exit code is the core's */
    } else if (!json && (rc = tui_attach(a->tui, core)) != 0) {
        /* tui_attach asked the core to quit; done() closes the signals. */
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if (rc != 0 && a->exit_code == 0)
        a->exit_code = 1;
    if (a->tui != NULL && tui_fatal_message(a->tui) != NULL) /* the screen is gone: say why */
        fprintf(stdout, "mim: %s (log: %s)\n", tui_fatal_message(a->tui), log_path);
    json_api_free(a->ja);
    tui_free(a->tui);
    if ((rc = uv_loop_close(&a->loop)) != 0)
        mim_log_warn("loop closed with handles still open: %s", uv_strerror(rc));
    return a->exit_code;
}

/* A first start that ended in name_taken leaves no identity behind: the key and the store
 * this run created are removed (not the lock, nor the log), so that the next start under
 * another name is a clean first start. */
static void forget_new_identity(const mim_datadir *dd, const mim_datadir_files *files,
                                int store_created, FILE *say)
{
    static const char *const store_suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[MIM_DATADIR_PATH_MAX + 64];

    if (!dd->key_created)
        return;
    if (mim_fs_join(path, sizeof(path), dd->path, files->key) == 0 && unlink(path) == 0)
        mim_log_info("removed the identity %s made for this start", path);
    for (size_t i = 0; store_created && i < sizeof(store_suffixes) / sizeof(*store_suffixes); i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s%s", files->store, store_suffixes[i]);
        if (mim_fs_join(path, sizeof(path), dd->path, name) == 0)
            (void)unlink(path);
    }
    fprintf(say, "mim: the new identity made for this start was removed (name taken)\n");
}

/* Whether file is missing in dir (before mim_datadir_open creates it). */
static int missing_in(const char *dir, const char *file)
{
    char path[MIM_DATADIR_PATH_MAX + 64];
    struct stat st;

    return mim_fs_join(path, sizeof(path), dir, file) == 0 && lstat(path, &st) != 0 &&
           errno == ENOENT;
}

int main(int argc, char **argv)
{
    static const mim_datadir_files files = {"identity.key", "mim.db", MIM_STORE_PEER};
    static mim_datadir dd; /* its lock is held until the process exits */
    peer_options o;
    app a;
    char log_path[4200];
    int rc, store_created, name_taken = 0;

    setlocale(LC_ALL, ""); /* the terminal's character set and widths (ncurses, wcwidth) */
    mim_log_set_program("mim");
    if ((rc = peer_options_parse(argc, argv, &o)) != MIM_CLI_RUN)
        return rc;
    if (mim_core_global_init() != 0) {
        fprintf(stderr, "mim: libsodium failed to initialise\n");
        return 1;
    }
    /* A peer that resets its connection, or a reader of stdout that goes away, must cost an
     * EPIPE, never the process. */
    signal(SIGPIPE, SIG_IGN);

    /* The data dir, before the core and before the log file: resolved once, locked for the life
     * of the process, its key and store checked and created (a failure writes nothing). Said on
     * stderr, on the terminal still. The core then opens them by the resolved path. */
    store_created = missing_in(o.data_dir, files.store);
    if ((rc = mim_datadir_open(&dd, o.data_dir, &files)) != 0)
        return rc == MIM_EBUSY ? MIM_DATADIR_EXIT_BUSY : 1;
    mim_datadir_close_files(&dd);
    o.data_dir = dd.path;
    /* --key-log: said on the terminal here, and again in the log file the interface uses. */
    if (mim_keylog_start("mim", o.key_log) != 0)
        return 1;
    if (!o.json && logs_to_file(o.data_dir, log_path, sizeof(log_path)) != 0) {
        fprintf(stderr, "mim: cannot set up the log file in %s\n", o.data_dir);
        return 1;
    }
    if (!o.json)
        mim_keylog_announce();
    if (dd.key_created) /* the core only loads it now: say it here, in the log it uses */
        mim_log_info("created a new identity in %s/%s", dd.path, files.key);
    if (app_open(&a, &o, log_path) != 0)
        return 1;
    rc = app_run(&a, &o, log_path, &name_taken);
    if (name_taken)
        /* The terminal's stderr is the log file by now: the TUI says it on stdout. */
        forget_new_identity(&dd, &files, store_created, o.json ? stderr : stdout);
    return rc;
}
