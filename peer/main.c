/* mim: the peer program. Parses the options, then runs the core with a front end: the JSON-lines
 * API (--json), or the full-screen terminal interface (peer/tui/) when stdin and stdout are a
 * terminal. */
#include "core.h"
#include "json_api.h"
#include "mim_codec.h"
#include "mim_fs.h"
#include "mim_log.h"
#include "mim_trace.h"
#include "tui.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_JSON = 256,
    OPT_LISTEN_PORT,
    OPT_ADVERTISE_PORT,
    OPT_KEEPALIVE,
    OPT_TRACE,
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: mim --name NAME [options]\n"
               "A peer-to-peer LAN messenger: direct, end-to-end encrypted chat.\n"
               "In a terminal it opens a full-screen interface (type /help in it); with --json\n"
               "it speaks JSON lines on stdin/stdout instead, for scripts.\n\n"
               "  -n, --name NAME           who you are (1..32 characters)\n"
               "  -s, --server HOST[:PORT]  the presence server (numeric address; default port\n"
               "                            4242); without it, found by LAN discovery\n"
               "  -d, --data-dir DIR        identity and history (default\n"
               "                            $XDG_DATA_HOME/mim/NAME or ~/.local/share/mim/NAME)\n"
               "      --listen-port N       TCP port for direct chats (default: any free port)\n"
               "      --advertise-port N    the port other peers are told to dial (default: the\n"
               "                            listen port; for a port forward or NAT in between)\n"
               "      --keepalive SECONDS   a chat session silent this long is pinged, and is\n"
               "                            closed after twice as long (default 30; 1..3600)\n"
               "      --trace               log every message after decryption and before\n"
               "                            encryption, chat text included (for teaching)\n"
               "      --json                JSON-lines API on stdin/stdout (docs/JSON-API.md)\n"
               "  -l, --log-level LEVEL     error, warn, info (default) or debug (on stderr;\n"
               "                            in the terminal interface, to DIR/mim.log)\n"
               "  -h, --help                show this help and exit\n"
               "  -V, --version             show the version and exit\n");
}

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

static const char *default_data_dir(char *buf, size_t len, const char *name)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, len, "%s/mim/%s", xdg, name);
    else if (home != NULL && home[0] != '\0')
        snprintf(buf, len, "%s/.local/share/mim/%s", home, name);
    else
        return NULL;
    return buf;
}

/* A decimal option value in min..max. 0, or -1 said on stderr. */
static int parse_number(const char *arg, const char *option, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || *end != '\0' || end == arg || v < min || v > max) {
        fprintf(stderr, "mim: invalid value '%s' for %s\n", arg, option);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"server", required_argument, NULL, 's'},
        {"data-dir", required_argument, NULL, 'd'},
        {"listen-port", required_argument, NULL, OPT_LISTEN_PORT},
        {"advertise-port", required_argument, NULL, OPT_ADVERTISE_PORT},
        {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"json", no_argument, NULL, OPT_JSON},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    mim_core_config cfg;
    mim_core *core = NULL;
    app a;
    char dirbuf[4096], log_path[4200];
    int c, rc, level, json = 0;
    long num;

    setlocale(LC_ALL, ""); /* the terminal's character set and widths (ncurses, wcwidth) */
    mim_log_set_program("mim");
    memset(&cfg, 0, sizeof(cfg));
    while ((c = getopt_long(argc, argv, "n:s:d:l:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            cfg.name = optarg;
            break;
        case 's':
            cfg.server = optarg;
            break;
        case 'd':
            cfg.data_dir = optarg;
            break;
        case OPT_LISTEN_PORT:
            if (parse_number(optarg, "--listen-port", 0, 65535, &num) != 0)
                return 2;
            cfg.listen_port = (uint16_t)num;
            break;
        case OPT_TRACE:
            mim_trace_enable(1);
            break;
        case OPT_KEEPALIVE:
            if (parse_number(optarg, "--keepalive", 1, 3600, &num) != 0)
                return 2;
            cfg.keepalive_ms = (uint32_t)num * 1000;
            break;
        case OPT_ADVERTISE_PORT:
            if (parse_number(optarg, "--advertise-port", 1, 65535, &num) != 0)
                return 2;
            cfg.advertise_port = (uint16_t)num;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'l':
            if ((level = mim_log_parse_level(optarg)) < 0) {
                fprintf(stderr, "mim: invalid value '%s' for --log-level\n", optarg);
                return 2;
            }
            mim_log_set_level(level);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mim %s\n", MIM_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try 'mim --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mim: unexpected argument '%s'\nTry 'mim --help'.\n", argv[optind]);
        return 2;
    }
    if (mim_trace_enabled() && mim_log_get_level() < MIM_LOG_INFO)
        mim_log_set_level(MIM_LOG_INFO); /* the trace is written at info level */
    if (cfg.name == NULL) {
        fprintf(stderr, "mim: --name is required\nTry 'mim --help'.\n");
        return 2;
    }
    if (!mim_name_valid(cfg.name, strlen(cfg.name))) {
        fprintf(stderr,
                "mim: '%s' is not a valid name (1..32 characters, no control or "
                "invisible characters, no space at either end)\n",
                cfg.name);
        return 2;
    }
    if (!json && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        fprintf(stderr,
                "mim: the chat interface needs a terminal on stdin and stdout.\n"
                "Run it in a terminal:  mim --name %s [--server HOST[:PORT]]\n"
                "or, from a program, use the JSON-lines API:  mim --name %s --json ...\n"
                "(docs/JSON-API.md). Try 'mim --help'.\n",
                cfg.name, cfg.name);
        return 2;
    }
    if (cfg.data_dir == NULL &&
        (cfg.data_dir = default_data_dir(dirbuf, sizeof(dirbuf), cfg.name)) == NULL) {
        fprintf(stderr, "mim: no HOME or XDG_DATA_HOME; give --data-dir\n");
        return 2;
    }
    if (mim_core_global_init() != 0) {
        fprintf(stderr, "mim: libsodium failed to initialise\n");
        return 1;
    }
    /* A peer that resets its connection, or a reader of stdout that goes away, must cost an
     * EPIPE, never the process. */
    signal(SIGPIPE, SIG_IGN);

    if (!json && logs_to_file(cfg.data_dir, log_path, sizeof(log_path)) != 0) {
        fprintf(stderr, "mim: cannot set up the log file in %s\n", cfg.data_dir);
        return 1;
    }

    memset(&a, 0, sizeof(a));
    uv_loop_init(&a.loop);
    if (json)
        a.ja = json_api_new(&a.loop, on_done, &a);
    else
        a.tui = tui_new(&a.loop, log_path, on_done, &a);
    if (a.ja == NULL && a.tui == NULL) {
        fprintf(stderr, "mim: out of memory\n");
        return 1;
    }
    uv_signal_init(&a.loop, &a.sigint);
    uv_signal_init(&a.loop, &a.sigterm);
    uv_signal_init(&a.loop, &a.sighup);
    a.sigint.data = a.sigterm.data = a.sighup.data = &a;
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sighup, on_signal, SIGHUP); /* the terminal window was closed */

    cfg.loop = &a.loop;
    rc = mim_core_start(&core, &cfg, json ? json_api_core_events() : tui_core_events(),
                        json ? (void *)a.ja : (void *)a.tui);
    if (rc != 0) {
        mim_log_error("cannot start; see above");
        if (!json)
            fprintf(stdout, "mim: cannot start; see %s\n", log_path);
        a.exit_code = 1;
        close_signals(&a);
    } else if (json && (rc = json_api_attach(a.ja, core)) != 0) {
        mim_log_error("cannot read stdin: %s", uv_strerror(rc));
        json_api_quit(a.ja); /* done() closes the signals; the exit code is the core's */
    } else if (!json && (rc = tui_attach(a.tui, core)) != 0) {
        /* tui_attach asked the core to quit; done() closes the signals. */
    }
    uv_run(&a.loop, UV_RUN_DEFAULT);
    if (rc != 0 && a.exit_code == 0)
        a.exit_code = 1;
    if (a.tui != NULL && tui_fatal_message(a.tui) != NULL) /* the screen is gone: say why */
        fprintf(stdout, "mim: %s (log: %s)\n", tui_fatal_message(a.tui), log_path);
    json_api_free(a.ja);
    tui_free(a.tui);
    if ((rc = uv_loop_close(&a.loop)) != 0)
        mim_log_warn("loop closed with handles still open: %s", uv_strerror(rc));
    return a.exit_code;
}
