/* mim-decode: the command line and the exit codes (docs/KEYLOG.md). The decoding itself is in
 * decode.c and the files it stands on: capture.c (pcap, link layers, IP, TCP and UDP), reasm.c
 * (TCP streams), mimstream.c (frames, the handshake, decryption), keys.c (the key log),
 * print.c (the text). */
#include "decode.h"

#include "mim_cli.h"
#include "mim_crypto.h"
#include "mim_log.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define PROGRAM "mim-decode"

enum { OPT_KEY_LOG = 256, OPT_PORT };

static const struct option options[] = {
    {"key-log", required_argument, NULL, OPT_KEY_LOG},
    {"port", required_argument, NULL, OPT_PORT},
    MIM_CLI_COMMON_OPTIONS,
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: mim-decode [--key-log FILE]... [--port N]... CAPTURE\n"
               "Decodes mim's traffic in a pcap or pcapng capture (tcpdump -w, Wireshark):\n"
               "every mim TCP connection (found by its handshake, on any port), its three\n"
               "handshake messages and every frame, and LAN discovery datagrams. With the key log\n"
               "of the run, the encrypted messages are decrypted and shown as text.\n\n"
               "  CAPTURE                   the capture file; '-' reads it from stdin\n"
               "      --key-log FILE        a key log written by mim or mim-presence --key-log\n"
               "                            (or MIM_KEYLOG_FILE); may be given more than once\n"
               "      --port N              also report every TCP connection on port N, mim or\n"
               "                            not, and decode UDP on N as discovery (4242 always\n"
               "                            is); may be given more than once\n"
               "  -l, --log-level LEVEL     error, warn, info (default) or debug\n"
               "  -h, --help                show this help and exit\n"
               "  -V, --version             show the version and exit\n\n"
               "The format of the key log and of the output: docs/KEYLOG.md.\n"
               "Exit status: 0 the capture was read to its end (warnings about cut or undecodable\n"
               "connections may be on stderr), 1 the capture or a key log cannot be read (a file\n"
               "cut in the middle of a record: what came before is printed), 2 usage error.\n");
}

/* One option into o. MIM_CLI_RUN or an exit code. */
static int one_option(decode_options *o, int c, const char *arg)
{
    long long v;

    switch (c) {
    case OPT_KEY_LOG:
        if (o->n_key_logs == DECODE_MAX_KEY_LOGS) {
            fprintf(stderr, PROGRAM ": at most %d --key-log files\n", DECODE_MAX_KEY_LOGS);
            return MIM_CLI_USAGE;
        }
        o->key_logs[o->n_key_logs++] = arg;
        return MIM_CLI_RUN;
    case OPT_PORT:
        if (mim_cli_number(PROGRAM, "--port", arg, 1, 65535, &v) != 0)
            return MIM_CLI_USAGE;
        if (o->n_ports == DECODE_MAX_PORTS) {
            fprintf(stderr, PROGRAM ": at most %d ports\n", DECODE_MAX_PORTS - 1);
            return MIM_CLI_USAGE;
        }
        o->ports[o->n_ports++] = (uint16_t)v;
        return MIM_CLI_RUN;
    default:
        return mim_cli_common(PROGRAM, c, arg, usage);
    }
}

int main(int argc, char **argv)
{
    decode_options o;
    int c, rc;

    mim_log_set_program(PROGRAM);
    memset(&o, 0, sizeof(o));
    o.ports[o.n_ports++] = DECODE_MIM_PORT;
    while ((c = getopt_long(argc, argv, "l:hV", options, NULL)) != -1)
        if ((rc = one_option(&o, c, optarg)) != MIM_CLI_RUN)
            return rc;
    if (optind != argc - 1) {
        fprintf(stderr, "%s\nTry '" PROGRAM " --help'.\n",
                optind == argc ? PROGRAM ": a CAPTURE file is required ('-' for stdin)"
                               : PROGRAM ": only one CAPTURE file, please");
        return MIM_CLI_USAGE;
    }
    o.capture = argv[optind];
    if (mim_crypto_init() != 0) {
        fprintf(stderr, PROGRAM ": libsodium failed to initialise\n");
        return 1;
    }
    return decode_run(&o, stdout);
}
