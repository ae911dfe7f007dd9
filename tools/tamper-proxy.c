/* tamper-proxy: the frame-spoiling proxy of the tamper tests (tests/peer/tamper_proxy.c) as a
 * command, for docs/LABS.md exercise 4. It listens on 127.0.0.1 (a port the kernel picks, which
 * it prints), forwards every connection to 127.0.0.1:PORT, follows mim's framing both ways, and
 * on the first N connections flips one bit of (or cuts) one frame. A peer is put behind it with
 * `mim --listen-port PORT --advertise-port <the printed port>`. It runs until Ctrl-C. */
#include "tamper_proxy.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: tamper-proxy --to PORT [--frame N] [--back] [--truncate] [--times N]\n"
            "Forwards connections from 127.0.0.1:<printed port> to 127.0.0.1:PORT and spoils\n"
            "one mim frame of each of the first N connections (for teaching: docs/LABS.md).\n"
            "\n"
            "  -t, --to PORT     the peer behind the proxy (its --listen-port)\n"
            "  -f, --frame N     which frame of one direction, from 0 (default 3: for the\n"
            "                    dialler, 0 is message 1, 1 message 3, 2 its stream header,\n"
            "                    3 its first encrypted message; for the answerer, 0 is\n"
            "                    message 2, 1 its header, 2 its first encrypted message)\n"
            "  -b, --back        spoil a frame the peer behind the proxy sends (default: one\n"
            "                    the dialler sends)\n"
            "  -x, --truncate    send half of the frame, then close both connections (default:\n"
            "                    flip one bit of its last byte)\n"
            "  -n, --times N     spoil the first N connections (default 1); later ones pass\n"
            "  -h, --help        show this help and exit\n");
}

/* A whole number in [min, max], or -1. */
static long number(const char *s, long min, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*s != '\0' && *end == '\0' && v >= min && v <= max) ? v : -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"to", required_argument, NULL, 't'},
                                         {"frame", required_argument, NULL, 'f'},
                                         {"back", no_argument, NULL, 'b'},
                                         {"truncate", no_argument, NULL, 'x'},
                                         {"times", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    long to = -1, frame = 3, times = 1;
    enum tp_dir dir = TP_TO_TARGET;
    enum tp_action action = TP_FLIP;
    tamper_proxy tp;
    sigset_t stop;
    int c, seen_conn = 0, seen_spoiled = 0;

    while ((c = getopt_long(argc, argv, "t:f:bxn:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = number(optarg, 1, 65535);
            break;
        case 'f':
            frame = number(optarg, 0, 1000000);
            break;
        case 'b':
            dir = TP_FROM_TARGET;
            break;
        case 'x':
            action = TP_TRUNCATE;
            break;
        case 'n':
            times = number(optarg, 0, 1000000);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || to < 0 || frame < 0 || times < 0) {
        usage(stderr);
        return 2;
    }
    /* Ctrl-C and SIGTERM are waited for below: blocked before the proxy's thread starts, so
     * only this thread sees them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (tamper_proxy_start(&tp, (int)to, dir, (unsigned)frame, action, (int)times) != 0) {
        fprintf(stderr, "tamper-proxy: cannot listen on 127.0.0.1\n");
        return 1;
    }
    printf("listening on 127.0.0.1:%d, forwarding to 127.0.0.1:%ld; will %s frame %ld %s on "
           "the first %ld connection(s)\n",
           tp.port, to, action == TP_FLIP ? "flip a bit of" : "cut", frame,
           dir == TP_TO_TARGET ? "from the dialler" : "from the peer behind me", times);
    fflush(stdout);
    for (;;) {
        struct timespec tick = {0, 200 * 1000 * 1000};
        int conn = atomic_load(&tp.connections), spoiled = atomic_load(&tp.spoiled);
        if (conn != seen_conn || spoiled != seen_spoiled) {
            printf("connections %d, frames spoiled %d\n", conn, spoiled);
            fflush(stdout);
            seen_conn = conn, seen_spoiled = spoiled;
        }
        if (sigtimedwait(&stop, NULL, &tick) > 0)
            break;
    }
    tamper_proxy_stop(&tp);
    return 0;
}
