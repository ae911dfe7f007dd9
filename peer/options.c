/* mim's command line: the option table, the checks of each value, and --help. */
#include "options.h"
#include "presence_client.h"
#include "tui_terminal.h"
#include "tui_attention.h"

#include "mim_cli.h"
#include "mim_codec.h"
#include "mim_log.h"
#include "mim_name.h"
#include "mim_trace.h"

#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM "mim"

enum {
    OPT_JSON = 256,
    OPT_LISTEN_PORT,
    OPT_ADVERTISE_PORT,
    OPT_KEEPALIVE,
    OPT_TRACE,
    OPT_MAX_TABLE,
    OPT_QUOTA_MESSAGES,
    OPT_QUOTA_BYTES,
    OPT_KEY_LOG,
    OPT_BELL,
    OPT_NOTIFY,
    OPT_RECEIPTS,
    OPT_AUTO_AWAY,
    OPT_DOWNLOAD_DIR, /* issue 15: files */
    OPT_AUTO_ACCEPT,
    OPT_MAX_FILE_SIZE,
};

#define AUTO_AWAY_DEFAULT_MIN 10

/* Issue 17: mim-gtk parses the same options (peer_options_parse_window) but draws a window of
 * its own: no terminal is asked of stdin and stdout. */
static int window_front_end;

static const struct option options[] = {
    {"name", required_argument, NULL, 'n'},
    {"server", required_argument, NULL, 's'},
    {"data-dir", required_argument, NULL, 'd'},
    {"listen-port", required_argument, NULL, OPT_LISTEN_PORT},
    {"advertise-port", required_argument, NULL, OPT_ADVERTISE_PORT},
    {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"max-table", required_argument, NULL, OPT_MAX_TABLE},
    {"quota-messages", required_argument, NULL, OPT_QUOTA_MESSAGES},
    {"quota-bytes", required_argument, NULL, OPT_QUOTA_BYTES},
    {"json", no_argument, NULL, OPT_JSON},
    {"key-log", required_argument, NULL, OPT_KEY_LOG},
    {"bell", required_argument, NULL, OPT_BELL},
    {"notify", required_argument, NULL, OPT_NOTIFY},
    {"receipts", required_argument, NULL, OPT_RECEIPTS},
    {"auto-away", required_argument, NULL, OPT_AUTO_AWAY},
    {"download-dir", required_argument, NULL, OPT_DOWNLOAD_DIR},
    {"auto-accept", required_argument, NULL, OPT_AUTO_ACCEPT},
    {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
    MIM_CLI_COMMON_OPTIONS,
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: mim [--name NAME] [options]\n"
               "A peer-to-peer LAN messenger: direct, end-to-end encrypted chat.\n"
               "In a terminal it opens a full-screen interface (type /help in it); with --json\n"
               "it speaks JSON lines on stdin/stdout instead, for scripts.\n\n"
               "  -n, --name NAME           who you are: 1..32 visible characters (put in\n"
               "                            Unicode NFC; names that look like a registered\n"
               "                            one are refused by the server; default: your\n"
               "                            login name, when it is a valid name)\n"
               "  -s, --server HOST[:PORT]  the presence server (a host name or an address;\n"
               "                            default port 4242); without it, found by LAN\n"
               "                            discovery\n"
               "  -d, --data-dir DIR        identity and history (default\n"
               "                            $XDG_DATA_HOME/mim/NAME or ~/.local/share/mim/NAME)\n"
               "      --listen-port N       TCP port for direct chats (default: any free port)\n"
               "      --advertise-port N    the port other peers are told to dial (default: the\n"
               "                            listen port; for a port forward or NAT in between)\n"
               "      --keepalive SECONDS   a chat session silent this long is pinged, and is\n"
               "                            closed after twice as long (default 30; 1..3600)\n"
               "      --max-table N         peers kept from the presence server's table; the\n"
               "                            rest is dropped (default 10000, the server's own\n"
               "                            --max-peers default; 1..1000000)\n"
               "      --quota-messages N    messages one sender may make us store per 24 hours;\n"
               "                            more are refused and stay in its outbox (default\n"
               "                            10000; 0: no limit)\n"
               "      --quota-bytes N       bytes one sender may make us store per 24 hours\n"
               "                            (default 104857600, 100 MiB; 0: no limit)\n"
               "      --receipts on|off     read receipts and typing, both ways: off means we\n"
               "                            neither send them nor show others' (kept; default\n"
               "                            on)\n"
               "      --auto-away MIN       away after MIN minutes without input, available\n"
               "                            again on input, unless you chose away or busy\n"
               "                            yourself (default 10; 0: never; Ns: N seconds)\n"
               "      --download-dir DIR    where received files are saved (default: the XDG\n"
               "                            download dir, else ~/Downloads, + /mim)\n"
               "      --auto-accept SIZE    files from a contact whose key is pinned, up to\n"
               "                            SIZE, are accepted without asking (default 100M;\n"
               "                            0: always ask; K, M, G, T are powers of 1024)\n"
               "      --max-file-size SIZE  offers of bigger files are rejected (default 64G)\n"
               "      --trace               log every message after decryption and before\n"
               "                            encryption, chat text included (for teaching)\n"
               "      --json                JSON-lines API on stdin/stdout (docs/JSON-API.md)\n"
               "      --key-log FILE        append every connection's session keys to FILE\n"
               "                            (0600; also MIM_KEYLOG_FILE): anyone with it can\n"
               "                            read your chats (for teaching; docs/KEYLOG.md)\n"
               "      --bell all|first|off  the terminal interface rings for every message not\n"
               "                            in view, only the first unread one of each\n"
               "                            conversation, or never (default all; /bell)\n"
               "      --notify on|off       desktop notifications through notify-send, where it\n"
               "                            is on PATH and a D-Bus session runs (default on)\n"
               "  -l, --log-level LEVEL     error, warn, info (default) or debug (on stderr;\n"
               "                            in the terminal interface, to DIR/mim.log)\n"
               "  -h, --help                show this help and exit\n"
               "  -V, --version             show the version and exit\n\n"
               "Exit status: 0 after quit, 1 failure, 2 usage error, 3 the data dir is in use\n"
               "by another mim (or mim-presence).\n");
}

/* --auto-away MIN (0..1440 minutes), or Ns (1..86400 seconds, for tests and the impatient). */
static int parse_auto_away(peer_options *o, const char *arg)
{
    size_t n = strlen(arg);
    char num[24];
    long long v;

    if (n > 1 && n < sizeof(num) && arg[n - 1] == 's') {
        memcpy(num, arg, n - 1);
        num[n - 1] = '\0';
        if (mim_cli_number(PROGRAM, "--auto-away (seconds)", num, 1, 86400, &v) != 0)
            return MIM_CLI_USAGE;
        o->auto_away_ms = (uint32_t)v * 1000;
        return MIM_CLI_RUN;
    }
    if (mim_cli_number(PROGRAM, "--auto-away", arg, 0, 1440, &v) != 0)
        return MIM_CLI_USAGE;
    o->auto_away_ms = (uint32_t)v * 60 * 1000;
    return MIM_CLI_RUN;
}

/* --download-dir DIR (made absolute here: the saved paths shown stay true whatever the current
 * directory), --auto-accept SIZE, --max-file-size SIZE. MIM_CLI_RUN, or MIM_CLI_USAGE. */
static int file_option(peer_options *o, int c, const char *arg)
{
    long long v;
    char cwd[2048];

    if (c == OPT_DOWNLOAD_DIR) {
        if (arg[0] == '\0') {
            fprintf(stderr, "mim: --download-dir needs a directory\nTry 'mim --help'.\n");
            return MIM_CLI_USAGE;
        }
        if (arg[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL ||
            (size_t)snprintf(o->download_dir_abs, sizeof(o->download_dir_abs), "%s/%s", cwd, arg) >=
                sizeof(o->download_dir_abs))
            o->download_dir = arg;
        else
            o->download_dir = o->download_dir_abs;
        return MIM_CLI_RUN;
    }
    if (c == OPT_AUTO_ACCEPT) {
        if (mim_cli_size(PROGRAM, "--auto-accept", arg, 0, PEER_FILE_SIZE_LIMIT, &v) != 0)
            return MIM_CLI_USAGE;
        o->auto_accept_bytes = v; /* 0: never */
        return MIM_CLI_RUN;
    }
    if (mim_cli_size(PROGRAM, "--max-file-size", arg, 1, PEER_FILE_SIZE_LIMIT, &v) != 0)
        return MIM_CLI_USAGE;
    o->max_file_size = v;
    return MIM_CLI_RUN;
}

/* One option. MIM_CLI_RUN, or an exit code. */
/* An option that takes on or off: *out = when_on for on, !when_on for off. */
static int on_off(const char *option, const char *arg, int *out, int when_on)
{
    if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
        fprintf(stderr, "mim: %s takes on or off\nTry 'mim --help'.\n", option);
        return MIM_CLI_USAGE;
    }
    *out = strcmp(arg, "on") == 0 ? when_on : !when_on;
    return MIM_CLI_RUN;
}

static int one_option(peer_options *o, int c, const char *arg)
{
    long long v;

    switch (c) {
    case 'n':
        o->name = arg;
        return MIM_CLI_RUN;
    case 's':
        o->server = arg;
        return MIM_CLI_RUN;
    case 'd':
        o->data_dir = arg;
        return MIM_CLI_RUN;
    case OPT_LISTEN_PORT:
        if (mim_cli_number(PROGRAM, "--listen-port", arg, 0, 65535, &v) != 0)
            return MIM_CLI_USAGE;
        o->listen_port = (uint16_t)v;
        return MIM_CLI_RUN;
    case OPT_TRACE:
        mim_trace_enable(1);
        return MIM_CLI_RUN;
    case OPT_KEEPALIVE:
        if (mim_cli_number(PROGRAM, "--keepalive", arg, 1, 3600, &v) != 0)
            return MIM_CLI_USAGE;
        o->keepalive_ms = (uint32_t)v * 1000;
        return MIM_CLI_RUN;
    case OPT_MAX_TABLE:
        if (mim_cli_number(PROGRAM, "--max-table", arg, 1, PRESENCE_TABLE_MAX_LIMIT, &v) != 0)
            return MIM_CLI_USAGE;
        o->max_table = (uint32_t)v;
        return MIM_CLI_RUN;
    case OPT_ADVERTISE_PORT:
        if (mim_cli_number(PROGRAM, "--advertise-port", arg, 1, 65535, &v) != 0)
            return MIM_CLI_USAGE;
        o->advertise_port = (uint16_t)v;
        return MIM_CLI_RUN;
    case OPT_JSON:
        o->json = 1;
        return MIM_CLI_RUN;
    case OPT_KEY_LOG:
        o->key_log = arg;
        return MIM_CLI_RUN;
    case OPT_BELL: {
        enum tui_bell_mode mode;
        if (tui_bell_parse(arg, &mode) != 0) {
            fprintf(stderr, "mim: --bell takes all, first or off\nTry 'mim --help'.\n");
            return MIM_CLI_USAGE;
        }
        o->bell = (int)mode;
        return MIM_CLI_RUN;
    }
    case OPT_NOTIFY:
        return on_off("--notify", arg, &o->notify_off, 0);
    case OPT_QUOTA_MESSAGES:
    case OPT_QUOTA_BYTES: {
        int msgs = c == OPT_QUOTA_MESSAGES;
        if (mim_cli_number(PROGRAM, msgs ? "--quota-messages" : "--quota-bytes", arg, 0,
                           (long long)1 << 50, &v) != 0)
            return MIM_CLI_USAGE;
        *(msgs ? &o->quota_messages : &o->quota_bytes) = v == 0 ? -1 : v; /* -1: no limit */
        return MIM_CLI_RUN;
    }
    case OPT_RECEIPTS:
        return on_off("--receipts", arg, &o->receipts, 1);
    case OPT_AUTO_AWAY:
        return parse_auto_away(o, arg);
    case OPT_DOWNLOAD_DIR:
    case OPT_AUTO_ACCEPT:
    case OPT_MAX_FILE_SIZE:
        return file_option(o, c, arg);
    default:
        return mim_cli_common(PROGRAM, c, arg, usage);
    }
}

/* --name, put in NFC first (the same word typed or pasted in another Unicode form is the same
 * name: the wire accepts only NFC), then checked. MIM_CLI_RUN or MIM_CLI_USAGE. */
static int check_name(peer_options *o)
{
    uint32_t cp = 0;
    int fault;

    if (mim_name_nfc(o->name, o->name_nfc, sizeof(o->name_nfc)) == 0)
        o->name = o->name_nfc; /* else too long or not UTF-8: the check says which */
    fault = mim_name_check(o->name, strlen(o->name), &cp);
    if (fault == MIM_NAME_FAULT_NONE)
        return MIM_CLI_RUN;
    /* The name itself is not echoed: it may hold the very characters it is refused for. */
    if (fault == MIM_NAME_FAULT_CHAR)
        fprintf(stderr,
                "mim: not a valid name: it contains U+%04X, a control, invisible, bidi, "
                "private-use or unassigned character\n",
                (unsigned)cp);
    else
        fprintf(stderr, "mim: not a valid name: %s\n", mim_name_fault_str(fault));
    fprintf(stderr, "A name is 1..32 visible characters; spaces only inside. Try 'mim --help'.\n");
    return MIM_CLI_USAGE;
}

/* No --name: the login name (the password database's, else $USER), when it is a valid name
 * (in NFC). MIM_CLI_RUN, or MIM_CLI_USAGE after saying why it cannot be. */
static int default_name(peer_options *o)
{
    const struct passwd *pw = getpwuid(getuid());
    const char *login = pw != NULL && pw->pw_name != NULL ? pw->pw_name : getenv("USER");

    if (login == NULL || login[0] == '\0') {
        fprintf(stderr, "mim: no --name given, and no login name to use instead\n"
                        "Give one: mim --name NAME. Try 'mim --help'.\n");
        return MIM_CLI_USAGE;
    }
    if (mim_name_nfc(login, o->login_name, sizeof(o->login_name)) != 0 ||
        !mim_name_valid(o->login_name, strlen(o->login_name))) {
        fprintf(stderr,
                "mim: no --name given, and your login name is not a valid mim name\n"
                "Give one: mim --name NAME (1..32 visible characters). Try 'mim --help'.\n");
        return MIM_CLI_USAGE;
    }
    o->name = o->login_name;
    return MIM_CLI_RUN;
}

/* What the options ask of each other and of stdin/stdout. MIM_CLI_RUN or MIM_CLI_USAGE. */
static int check_options(peer_options *o)
{
    char why[200];

    if (o->name == NULL && default_name(o) != MIM_CLI_RUN)
        return MIM_CLI_USAGE;
    if (check_name(o) != MIM_CLI_RUN)
        return MIM_CLI_USAGE;
    if (!o->json && !window_front_end && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        fprintf(stderr,
                "mim: the chat interface needs a terminal on stdin and stdout.\n"
                "Run it in a terminal:  mim --name %s [--server HOST[:PORT]]\n"
                "or, from a program, use the JSON-lines API:  mim --name %s --json ...\n"
                "(docs/JSON-API.md). Try 'mim --help'.\n",
                o->name, o->name);
        return MIM_CLI_USAGE;
    }
    if (!o->json && !window_front_end && tui_terminal_usable(why, sizeof(why)) != 0) {
        fprintf(stderr,
                "mim: %s, so it cannot show the chat interface.\n"
                "Use a terminal that can (xterm, tmux, the Linux console), or the JSON-lines API:\n"
                "  mim --name %s --json ...   (docs/JSON-API.md). Try 'mim --help'.\n",
                why, o->name);
        return MIM_CLI_USAGE;
    }
    o->data_dir = mim_cli_data_dir(PROGRAM, o->data_dir, o->name, o->default_data_dir,
                                   sizeof(o->default_data_dir));
    return o->data_dir != NULL ? MIM_CLI_RUN : MIM_CLI_USAGE;
}

int peer_options_parse(int argc, char **argv, peer_options *o)
{
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->receipts = -1;
    o->auto_accept_bytes = -1; /* the core's default */
    o->auto_away_ms = AUTO_AWAY_DEFAULT_MIN * 60 * 1000;
    while ((c = getopt_long(argc, argv, "n:s:d:l:hV", options, NULL)) != -1)
        if ((rc = one_option(o, c, optarg)) != MIM_CLI_RUN)
            return rc;
    if ((rc = mim_cli_no_operands(PROGRAM, argc, argv, optind)) != MIM_CLI_RUN)
        return rc;
    if (mim_trace_enabled() && mim_log_get_level() < MIM_LOG_INFO)
        mim_log_set_level(MIM_LOG_INFO); /* the trace is written at info level */
    return check_options(o);
}

int peer_options_parse_window(int argc, char **argv, peer_options *o)
{
    window_front_end = 1;
    return peer_options_parse(argc, argv, o);
}
