/* mim-presence: command line, start-up and exit codes.
 *
 * Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM) or a successful admin command,
 * 1 when it cannot start or an admin command fails, 2 for a usage error. Logs go to stderr;
 * stdout carries one machine-readable line once the server is ready:
 *   ready port=4242 discovery=4242 fingerprint=abcd-efgh-ijkl-mnop-qrst-uvwx */
#include "server.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "Usage: mim-presence [OPTION]...\n"
                 "The presence server of mim, the LAN messenger: peers log in here, see who is\n"
                 "online, then talk to each other directly. It never carries chat text.\n"
                 "\n"
                 "  -p, --port N              TCP port (default 4242; 0 picks a free port)\n"
                 "  -b, --bind ADDR           listen on this numeric address only (repeatable;\n"
                 "                            default: every IPv6 and IPv4 address)\n"
                 "  -d, --data-dir DIR        server key and name registry (default\n"
                 "                            $XDG_DATA_HOME/mim/presence or ~/.local/share/...)\n"
                 "      --discovery-port N    UDP port answering LAN discovery probes (default\n"
                 "                            4242; 0 picks a free port; 'off' disables)\n"
                 "      --max-peers N         peers online at once (default 10000)\n"
                 "      --max-unauth N        connections still in their handshake (default 512)\n"
                 "      --max-unauth-per-ip N of those, from one address (default 64)\n"
                 "      --handshake-rate N    new handshakes per second per address (default 50)\n"
                 "      --handshake-timeout MS  time to finish handshake and login (default 5000)\n"
                 "      --ping-interval MS    keepalive interval; dead after 3 (default 30000)\n"
                 "      --max-queued BYTES    output queued per peer before it is dropped as a\n"
                 "                            slow reader (default 4194304)\n"
                 "      --free-name NAME      admin: release NAME from the registry, then exit\n"
                 "  -l, --log-level LEVEL     error, warn, info (default) or debug\n"
                 "  -h, --help                show this help and exit\n"
                 "  -V, --version             show the version and exit\n"
                 "\n"
                 "On start it prints its key's fingerprint; peers pin it on first contact.\n"
                 "Exit status: 0 clean shutdown, 1 failure, 2 usage error.\n");
}

/* Parses a decimal number in [min, max]; 0 on success. */
static int parse_num(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char *default_data_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, len, "%s/mim/presence", xdg);
    else if (home != NULL && home[0] != '\0')
        snprintf(buf, len, "%s/.local/share/mim/presence", home);
    else
        return NULL;
    return buf;
}

static int free_name(const char *data_dir, const char *name)
{
    char path[4096];
    mim_store *st;
    int rc;

    if (mim_fs_join(path, sizeof(path), data_dir, "presence.db") != 0 ||
        mim_store_open(path, MIM_STORE_PRESENCE, &st) != 0) {
        fprintf(stderr, "mim-presence: cannot open the registry in %s\n", data_dir);
        return 1;
    }
    rc = mim_store_name_free(st, name);
    mim_store_close(st);
    if (rc == MIM_ENOENT) {
        fprintf(stderr, "mim-presence: '%s' is not registered\n", name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "mim-presence: cannot free '%s': %s\n", name, mim_strerror(rc));
        return 1;
    }
    printf("released '%s': the next key to log in with it registers it\n", name);
    return 0;
}

static const char *option_name(const struct option *opts, int val)
{
    for (; opts->name != NULL; opts++)
        if (opts->val == val)
            return opts->name;
    return "?";
}

enum {
    OPT_DISCOVERY = 256,
    OPT_MAX_PEERS,
    OPT_MAX_UNAUTH,
    OPT_MAX_UNAUTH_IP,
    OPT_RATE,
    OPT_HS_TIMEOUT,
    OPT_PING,
    OPT_MAX_QUEUED,
    OPT_FREE_NAME,
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"data-dir", required_argument, NULL, 'd'},
        {"discovery-port", required_argument, NULL, OPT_DISCOVERY},
        {"max-peers", required_argument, NULL, OPT_MAX_PEERS},
        {"max-unauth", required_argument, NULL, OPT_MAX_UNAUTH},
        {"max-unauth-per-ip", required_argument, NULL, OPT_MAX_UNAUTH_IP},
        {"handshake-rate", required_argument, NULL, OPT_RATE},
        {"handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT},
        {"ping-interval", required_argument, NULL, OPT_PING},
        {"max-queued", required_argument, NULL, OPT_MAX_QUEUED},
        {"free-name", required_argument, NULL, OPT_FREE_NAME},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    presence_config cfg;
    presence_server srv;
    uv_loop_t loop;
    char dirbuf[4096];
    const char *free_name_arg = NULL;
    long long v;
    int c, rc, level;

    mim_log_set_program("mim-presence");
    presence_config_defaults(&cfg);
    while ((c = getopt_long(argc, argv, "p:b:d:l:hV", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'p':
            bad = parse_num(optarg, 0, 65535, &v);
            cfg.port = (int)v;
            break;
        case 'b':
            if (cfg.nbinds == PRESENCE_MAX_BINDS) {
                fprintf(stderr, "mim-presence: at most %d --bind addresses\n", PRESENCE_MAX_BINDS);
                return 2;
            }
            cfg.binds[cfg.nbinds++] = optarg;
            break;
        case 'd':
            cfg.data_dir = optarg;
            break;
        case OPT_DISCOVERY:
            if (strcmp(optarg, "off") == 0)
                cfg.discovery_port = -1;
            else if (!(bad = parse_num(optarg, 0, 65535, &v)))
                cfg.discovery_port = (int)v;
            break;
        case OPT_MAX_PEERS:
            bad = parse_num(optarg, 1, 1000000, &v);
            cfg.max_peers = (uint32_t)v;
            break;
        case OPT_MAX_UNAUTH:
            bad = parse_num(optarg, 1, 1000000, &v);
            cfg.admit.max_unauth = (uint32_t)v;
            break;
        case OPT_MAX_UNAUTH_IP:
            bad = parse_num(optarg, 1, 1000000, &v);
            cfg.admit.max_unauth_per_ip = (uint32_t)v;
            break;
        case OPT_RATE:
            bad = parse_num(optarg, 1, 1000000, &v);
            cfg.admit.rate_per_ip = (uint32_t)v;
            break;
        case OPT_HS_TIMEOUT:
            bad = parse_num(optarg, 10, 600000, &v);
            cfg.handshake_timeout_ms = (uint32_t)v;
            break;
        case OPT_PING:
            bad = parse_num(optarg, 10, 3600000, &v);
            cfg.ping_interval_ms = (uint32_t)v;
            break;
        case OPT_MAX_QUEUED:
            bad = parse_num(optarg, 65536 + 2, 1ll << 30, &v);
            cfg.max_queued = (size_t)v;
            break;
        case OPT_FREE_NAME:
            free_name_arg = optarg;
            break;
        case 'l':
            if ((level = mim_log_parse_level(optarg)) < 0)
                bad = 1;
            else
                mim_log_set_level(level);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mim-presence %s\n", MIM_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try 'mim-presence --help'.\n");
            return 2;
        }
        if (bad) {
            fprintf(stderr, "mim-presence: invalid value '%s' for --%s\n", optarg,
                    option_name(opts, c));
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mim-presence: unexpected argument '%s'\nTry 'mim-presence --help'.\n",
                argv[optind]);
        return 2;
    }
    if (cfg.data_dir == NULL && (cfg.data_dir = default_data_dir(dirbuf, sizeof(dirbuf))) == NULL) {
        fprintf(stderr, "mim-presence: no HOME or XDG_DATA_HOME; give --data-dir\n");
        return 2;
    }
    if (mim_crypto_init() != 0) {
        fprintf(stderr, "mim-presence: libsodium failed to initialise\n");
        return 1;
    }
    if (free_name_arg != NULL)
        return free_name(cfg.data_dir, free_name_arg);

    /* A peer that resets its connection must cost an EPIPE, never the process. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    rc = presence_server_start(&srv, &loop, &cfg);
    if (rc != 0) {
        mim_log_error("cannot start; see above");
        presence_server_stop(&srv);
        uv_run(&loop, UV_RUN_DEFAULT);
        presence_server_free(&srv);
        uv_loop_close(&loop);
        return 1;
    }
    if (srv.discovery_on)
        printf("ready port=%d discovery=%d fingerprint=%s\n", srv.port, srv.discovery_port,
               srv.fingerprint);
    else
        printf("ready port=%d discovery=off fingerprint=%s\n", srv.port, srv.fingerprint);
    fflush(stdout);
    mim_log_info("mim-presence %s ready; fingerprint %s", MIM_VERSION, srv.fingerprint);

    uv_run(&loop, UV_RUN_DEFAULT);
    presence_server_free(&srv);
    rc = uv_loop_close(&loop);
    if (rc != 0)
        mim_log_warn("loop closed with handles still open: %s", uv_strerror(rc));
    mim_log_info("stopped");
    return 0;
}
