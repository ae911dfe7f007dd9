/* mim-presence's command line: the option table, the range of each value, and --help. */
#include "options.h"
#include "cluster.h"

#include "mim_cli.h"
#include "mim_parse.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#define PROGRAM "mim-presence"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mim-presence [OPTION]...\n"
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
            "      --max-unauth N        connections still in their handshake (default 512;\n"
            "                            when all are taken, a newcomer evicts the oldest\n"
            "                            of the address holding the most)\n"
            "      --max-unauth-per-ip N of those, from one address (default 64)\n"
            "      --handshake-rate N    new handshakes per second per address (default 50)\n"
            "      --handshake-timeout MS  time to finish handshake and login (default 5000)\n"
            "      --ipv4-prefix N       the caps key IPv4 sources by their first N bits\n"
            "                            (1..32, default 32: each address)\n"
            "      --ipv6-prefix N       the same for IPv6 (1..128, default 128: each address)\n"
            "      --penalty-min MS      an address charged this much handshake time without\n"
            "                            a login is refused until the charge runs out\n"
            "                            (default 15000; 0: no penalties)\n"
            "      --penalty-max MS      the most an address is charged (default 300000)\n"
            "      --logins-per-key N    logins per minute per key, burst N (default 20;\n"
            "                            0: no limit)\n"
            "      --logins-per-address N  logins per minute per address, burst N\n"
            "                            (default 600; 0: no limit)\n"
            "      --flap-hold MS        a flapping peer's offline notice waits this long\n"
            "                            for its next login (default 100; 0: never)\n"
            "      --ping-interval MS    keepalive interval; dead after 3 (default 30000)\n"
            "      --max-queued BYTES    output queued per peer before it is dropped as a\n"
            "                            slow reader (default 4194304)\n"
            "      --directory on|off    list every registered name to peers that ask\n"
            "                            (default on; off: lookups of an exact name only)\n"
            "      --mailbox on|off      keep sealed letters for offline peers, and answer\n"
            "                            directory lookups (default on)\n"
            "      --mailbox-blob-max BYTES  largest sealed letter (default 8192)\n"
            "      --mailbox-max-count N letters waiting per recipient (default 1000)\n"
            "      --mailbox-max-bytes BYTES  bytes waiting per recipient (default 8388608)\n"
            "      --mailbox-rate N      deposits per second per sender (default 20)\n"
            "      --mailbox-burst N     of which at once (default 200)\n"
            "      --mailbox-expiry TIME a letter not fetched within TIME is deleted\n"
            "                            (default 30d; units ms, s, m, h, d; bare: seconds)\n"
            "      --broadcasters NAMES  only these (a,b,...) may broadcast to everyone:\n"
            "                            the list is signed with the server's key and\n"
            "                            checked by every receiver (default: anyone)\n"
            "      --free-name NAME      admin: release NAME from the registry, then exit\n"
            "                            (with --cluster: from the cluster's registry)\n"
            "      --cluster URLS        act as one directory with the other servers on this\n"
            "                            NATS cluster: nats://HOST:PORT[,nats://HOST:PORT...]\n"
            "                            (default: none, a single server)\n"
            "      --server-id ID        this server's id on the bus, 1-64 of [A-Za-z0-9_-]\n"
            "                            (default: the host name)\n"
            "      --key-log FILE        append every connection's session keys to FILE\n"
            "                            (0600; also MIM_KEYLOG_FILE): anyone with it can\n"
            "                            read the traffic (for teaching; docs/KEYLOG.md)\n"
            "  -l, --log-level LEVEL     error, warn, info (default) or debug\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show the version and exit\n"
            "\n"
            "On start it prints its key's fingerprint; peers pin it on first contact.\n"
            "The data dir is locked while it runs: a second mim-presence (or mim) on it\n"
            "is refused. Exit status: 0 clean shutdown, 1 failure, 2 usage error, 3 the\n"
            "data dir is in use.\n");
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
    OPT_V4_PREFIX,
    OPT_V6_PREFIX,
    OPT_PENALTY_MIN,
    OPT_PENALTY_MAX,
    OPT_LOGINS_KEY,
    OPT_LOGINS_ADDR,
    OPT_FLAP_HOLD,
    OPT_KEY_LOG,
    OPT_DIRECTORY,
    OPT_MAILBOX,
    OPT_MAIL_BLOB,
    OPT_MAIL_COUNT,
    OPT_MAIL_BYTES,
    OPT_MAIL_RATE,
    OPT_MAIL_BURST,
    OPT_MAIL_EXPIRY,
    OPT_CLUSTER, /* issue 18 */
    OPT_SERVER_ID,
    OPT_BROADCASTERS, /* issue 16 */
};

static const struct option options[] = {
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
    {"ipv4-prefix", required_argument, NULL, OPT_V4_PREFIX},
    {"ipv6-prefix", required_argument, NULL, OPT_V6_PREFIX},
    {"penalty-min", required_argument, NULL, OPT_PENALTY_MIN},
    {"penalty-max", required_argument, NULL, OPT_PENALTY_MAX},
    {"logins-per-key", required_argument, NULL, OPT_LOGINS_KEY},
    {"logins-per-address", required_argument, NULL, OPT_LOGINS_ADDR},
    {"flap-hold", required_argument, NULL, OPT_FLAP_HOLD},
    {"key-log", required_argument, NULL, OPT_KEY_LOG},
    {"directory", required_argument, NULL, OPT_DIRECTORY},
    {"mailbox", required_argument, NULL, OPT_MAILBOX},
    {"mailbox-blob-max", required_argument, NULL, OPT_MAIL_BLOB},
    {"mailbox-max-count", required_argument, NULL, OPT_MAIL_COUNT},
    {"mailbox-max-bytes", required_argument, NULL, OPT_MAIL_BYTES},
    {"mailbox-rate", required_argument, NULL, OPT_MAIL_RATE},
    {"mailbox-burst", required_argument, NULL, OPT_MAIL_BURST},
    {"mailbox-expiry", required_argument, NULL, OPT_MAIL_EXPIRY},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"server-id", required_argument, NULL, OPT_SERVER_ID},
    {"broadcasters", required_argument, NULL, OPT_BROADCASTERS},
    MIM_CLI_COMMON_OPTIONS,
};

/* The options whose value is a count or a time in milliseconds, stored as a uint32_t. */
static const struct u32_option {
    int opt;
    const char *name;
    long long min, max;
    size_t offset; /* of the field in presence_config */
} u32_options[] = {
    {OPT_MAX_PEERS, "--max-peers", 1, 1000000, offsetof(presence_config, max_peers)},
    {OPT_MAX_UNAUTH, "--max-unauth", 1, 1000000, offsetof(presence_config, admit.max_unauth)},
    {OPT_MAX_UNAUTH_IP, "--max-unauth-per-ip", 1, 1000000,
     offsetof(presence_config, admit.max_unauth_per_ip)},
    {OPT_RATE, "--handshake-rate", 1, 1000000, offsetof(presence_config, admit.rate_per_ip)},
    {OPT_HS_TIMEOUT, "--handshake-timeout", 10, 600000,
     offsetof(presence_config, handshake_timeout_ms)},
    {OPT_PING, "--ping-interval", 10, 3600000, offsetof(presence_config, ping_interval_ms)},
    {OPT_V4_PREFIX, "--ipv4-prefix", 1, 32, offsetof(presence_config, admit.ipv4_prefix)},
    {OPT_V6_PREFIX, "--ipv6-prefix", 1, 128, offsetof(presence_config, admit.ipv6_prefix)},
    {OPT_PENALTY_MIN, "--penalty-min", 0, 86400000,
     offsetof(presence_config, admit.penalty_min_ms)},
    {OPT_PENALTY_MAX, "--penalty-max", 0, 86400000,
     offsetof(presence_config, admit.penalty_max_ms)},
    {OPT_LOGINS_KEY, "--logins-per-key", 0, 1000000,
     offsetof(presence_config, admit.logins_per_min_key)},
    {OPT_LOGINS_ADDR, "--logins-per-address", 0, 1000000,
     offsetof(presence_config, admit.logins_per_min_ip)},
    {OPT_FLAP_HOLD, "--flap-hold", 0, 10000, offsetof(presence_config, flap_hold_ms)},
    {OPT_MAIL_BLOB, "--mailbox-blob-max", 64, MIM_MAIL_SEALED_MAX,
     offsetof(presence_config, mailbox_blob_max)},
    {OPT_MAIL_COUNT, "--mailbox-max-count", 1, 1000000,
     offsetof(presence_config, mailbox_max_count)},
    {OPT_MAIL_RATE, "--mailbox-rate", 1, 1000000, offsetof(presence_config, mailbox_rate)},
    {OPT_MAIL_BURST, "--mailbox-burst", 1, 1000000, offsetof(presence_config, mailbox_burst)},
};

/* "on" (1) or "off" (0) for option; -1 (said) for anything else. */
static int on_off(const char *option, const char *arg)
{
    if (strcmp(arg, "on") == 0)
        return 1;
    if (strcmp(arg, "off") == 0)
        return 0;
    fprintf(stderr, PROGRAM ": %s %s: say on or off\n", option, arg);
    return -1;
}

/* A duration: a whole number with a unit (ms, s, m, h, d; none: seconds), from 1 ms to 10
 * years, into *ms. 0, or -1 (said). */
static int duration_option(const char *option, const char *arg, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1000}};
    const uint64_t most = 3650ull * 86400000;
    char digits[32];
    size_t n = strspn(arg, "0123456789");
    long long v;

    if (n == 0 || n >= sizeof(digits))
        goto bad;
    memcpy(digits, arg, n);
    digits[n] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(arg + n, units[i].unit) != 0)
            continue;
        if (mim_parse_number(digits, 1, (long long)(most / units[i].ms), &v) != 0)
            goto bad;
        *ms = (uint64_t)v * units[i].ms;
        return 0;
    }
bad:
    fprintf(stderr, PROGRAM ": %s %s: a duration like 30d, 12h, 2s or 500ms (at most 3650d)\n",
            option, arg);
    return -1;
}

/* A port option: a number in 0..65535, or "off" (-1) where off_ok. 0 or -1 (said). */
static int port_option(const char *option, const char *arg, int off_ok, int *port)
{
    long long v;

    if (off_ok && strcmp(arg, "off") == 0) {
        *port = -1;
        return 0;
    }
    if (mim_cli_number(PROGRAM, option, arg, 0, 65535, &v) != 0)
        return -1;
    *port = (int)v;
    return 0;
}

/* --cluster and --server-id (issue 18). MIM_CLI_RUN or MIM_CLI_USAGE (said). */
static int cluster_option(presence_config *cfg, int c, const char *arg)
{
    if (c == OPT_CLUSTER) {
        if (!cluster_urls_valid(arg)) {
            fprintf(stderr,
                    PROGRAM ": --cluster %s: say 1-%d NATS addresses, "
                            "nats://HOST:PORT, separated by commas\n",
                    arg, CLUSTER_URLS_MAX);
            return MIM_CLI_USAGE;
        }
        cfg->cluster_urls = arg;
        return MIM_CLI_RUN;
    }
    if (!cluster_server_id_valid(arg)) {
        fprintf(stderr, PROGRAM ": --server-id %s: 1-%d of A-Z, a-z, 0-9, '_' and '-'\n", arg,
                CLUSTER_SERVER_ID_MAX);
        return MIM_CLI_USAGE;
    }
    cfg->server_id = arg;
    return MIM_CLI_RUN;
}

/* --broadcasters a,b (issue 16): checked now, so a bad name is a usage error; parsed again
 * when the server starts. MIM_CLI_RUN or MIM_CLI_USAGE (said). */
static int broadcasters_option(const char *arg, const char **out)
{
    presence_broadcasters b;
    char err[200];

    if (presence_broadcasters_parse(arg, &b, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": --broadcasters %s: %s\n", arg, err);
        return MIM_CLI_USAGE;
    }
    presence_broadcasters_free(&b);
    *out = arg;
    return MIM_CLI_RUN;
}

/* One option of mim-presence's own (not a uint32_t one). MIM_CLI_RUN or an exit code. */
static int own_option(presence_options *o, int c, const char *arg)
{
    presence_config *cfg = &o->cfg;
    long long v;

    switch (c) {
    case 'p':
        return port_option("--port", arg, 0, &cfg->port) == 0 ? MIM_CLI_RUN : MIM_CLI_USAGE;
    case OPT_DISCOVERY:
        return port_option("--discovery-port", arg, 1, &cfg->discovery_port) == 0 ? MIM_CLI_RUN
                                                                                  : MIM_CLI_USAGE;
    case 'b': {
        unsigned char addr[16];
        if (cfg->nbinds == PRESENCE_MAX_BINDS) {
            fprintf(stderr, PROGRAM ": at most %d --bind addresses\n", PRESENCE_MAX_BINDS);
            return MIM_CLI_USAGE;
        }
        /* A usage error, said before anything is created (issue 13): an address, no port. */
        if (uv_inet_pton(AF_INET, arg, addr) != 0 && uv_inet_pton(AF_INET6, arg, addr) != 0) {
            fprintf(stderr, PROGRAM ": --bind %s: not a numeric IPv4 or IPv6 address\n", arg);
            return MIM_CLI_USAGE;
        }
        cfg->binds[cfg->nbinds++] = arg;
        return MIM_CLI_RUN;
    }
    case 'd':
        cfg->data_dir = arg;
        return MIM_CLI_RUN;
    case OPT_MAX_QUEUED:
        if (mim_cli_number(PROGRAM, "--max-queued", arg, 65536 + 2, 1ll << 30, &v) != 0)
            return MIM_CLI_USAGE;
        cfg->max_queued = (size_t)v;
        return MIM_CLI_RUN;
    case OPT_FREE_NAME:
        o->free_name = arg;
        return MIM_CLI_RUN;
    case OPT_KEY_LOG:
        o->key_log = arg;
        return MIM_CLI_RUN;
    case OPT_DIRECTORY:
        return (cfg->directory_public = on_off("--directory", arg)) >= 0 ? MIM_CLI_RUN
                                                                         : MIM_CLI_USAGE;
    case OPT_MAILBOX:
        return (cfg->mailbox = on_off("--mailbox", arg)) >= 0 ? MIM_CLI_RUN : MIM_CLI_USAGE;
    case OPT_MAIL_BYTES:
        if (mim_cli_number(PROGRAM, "--mailbox-max-bytes", arg, 64, 1ll << 40, &v) != 0)
            return MIM_CLI_USAGE;
        cfg->mailbox_max_bytes = (uint64_t)v;
        return MIM_CLI_RUN;
    case OPT_MAIL_EXPIRY:
        return duration_option("--mailbox-expiry", arg, &cfg->mailbox_expiry_ms) == 0
                   ? MIM_CLI_RUN
                   : MIM_CLI_USAGE;
    case OPT_CLUSTER:
    case OPT_SERVER_ID:
        return cluster_option(cfg, c, arg);
    case OPT_BROADCASTERS:
        return broadcasters_option(arg, &cfg->broadcasters);
    default:
        return mim_cli_common(PROGRAM, c, arg, usage);
    }
}

/* One option: a uint32_t one from the table, or own_option. MIM_CLI_RUN or an exit code. */
static int one_option(presence_options *o, int c, const char *arg)
{
    long long v;

    for (size_t i = 0; i < sizeof(u32_options) / sizeof(u32_options[0]); i++) {
        const struct u32_option *u = &u32_options[i];
        if (u->opt != c)
            continue;
        if (mim_cli_number(PROGRAM, u->name, arg, u->min, u->max, &v) != 0)
            return MIM_CLI_USAGE;
        *(uint32_t *)((char *)&o->cfg + u->offset) = (uint32_t)v;
        return MIM_CLI_RUN;
    }
    return own_option(o, c, arg);
}

int presence_options_parse(int argc, char **argv, presence_options *o)
{
    int c, rc;

    memset(o, 0, sizeof(*o));
    presence_config_defaults(&o->cfg);
    while ((c = getopt_long(argc, argv, "p:b:d:l:hV", options, NULL)) != -1)
        if ((rc = one_option(o, c, optarg)) != MIM_CLI_RUN)
            return rc;
    if ((rc = mim_cli_no_operands(PROGRAM, argc, argv, optind)) != MIM_CLI_RUN)
        return rc;
    if (o->cfg.server_id != NULL && o->cfg.cluster_urls == NULL) {
        fprintf(stderr, PROGRAM ": --server-id needs --cluster\n");
        return MIM_CLI_USAGE;
    }
    o->cfg.data_dir = mim_cli_data_dir(PROGRAM, o->cfg.data_dir, "presence", o->default_data_dir,
                                       sizeof(o->default_data_dir));
    return o->cfg.data_dir != NULL ? MIM_CLI_RUN : MIM_CLI_USAGE;
}
