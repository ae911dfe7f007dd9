/* mim-discover: finds mim presence servers on the LAN with the UDP discovery probe and prints
 * one line per answer:
 *   server 192.168.1.10 port 4242 fingerprint abcd-efgh-ijkl-mnop-qrst-uvwx
 * Exit status: 0 when at least one server answered, 1 when none did, 2 for a usage error.
 * The answer is not authenticated (see docs/PROTOCOL.md): compare the fingerprint with the
 * one the server printed, or let the peer's pin decide. */
#include "mim_addr.h"
#include "mim_cli.h"
#include "mim_clock.h"
#include "mim_crypto.h"
#include "mim_discovery.h"
#include "mim_parse.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

static void usage(FILE *out)
{
    fprintf(out, "Usage: mim-discover [--to ADDR[:PORT]] [--timeout MS] [--all]\n"
                 "Sends a mim discovery probe and prints the servers that answer.\n"
                 "\n"
                 "  -t, --to ADDR[:PORT]  ask this address (default: broadcast\n"
                 "                        255.255.255.255, port 4242); an IPv6 address with a\n"
                 "                        port goes in brackets: --to [::1]:4242\n"
                 "  -w, --timeout MS      how long to wait for answers (default 2000)\n"
                 "  -a, --all             wait the whole time and list every server\n"
                 "                        (default: stop at the first answer)\n"
                 "  -h, --help            show this help\n"
                 "  -V, --version         show the version\n"
                 "Exit status: 0 found, 1 none answered, 2 usage error.\n");
}

/* "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1", in place. */
static char *strip_port(char *addr)
{
    char *colon = strrchr(addr, ':');
    if (colon != NULL)
        *colon = '\0';
    if (addr[0] == '[') {
        addr[strlen(addr) - 1] = '\0';
        return addr + 1;
    }
    return addr;
}

/* The command line: where to ask, how long to wait, whether to wait for all. MIM_CLI_RUN, or
 * the exit code. */
static int parse_args(int argc, char **argv, const char **to, long long *timeout, int *all)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'}, {"timeout", required_argument, NULL, 'w'},
        {"all", no_argument, NULL, 'a'},      {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},  {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "t:w:ahV", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            *to = optarg;
            break;
        case 'w':
            if (mim_parse_number(optarg, 1, 60000, timeout) != 0) {
                fprintf(stderr, "mim-discover: --timeout takes 1..60000 ms\n");
                return MIM_CLI_USAGE;
            }
            break;
        case 'a':
            *all = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mim-discover %s\n", MIM_VERSION);
            return 0;
        default:
            usage(stderr);
            return MIM_CLI_USAGE;
        }
    }
    return MIM_CLI_RUN;
}

/* Sends one probe with a fresh nonce to dst from a new socket. The socket, or -1 (said). */
static int send_probe(const struct sockaddr_storage *dst, const char *to,
                      uint8_t nonce[MIM_DISCOVERY_NONCE_LEN])
{
    uint8_t probe[MIM_DISCOVERY_LEN];
    int fd, one = 1;

    fd = socket(dst->ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("mim-discover: socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
    mim_random_bytes(nonce, MIM_DISCOVERY_NONCE_LEN);
    mim_discovery_probe_encode(probe, nonce);
    if (sendto(fd, probe, sizeof(probe), 0, (const struct sockaddr *)dst,
               dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : sizeof(struct sockaddr_in)) < 0) {
        fprintf(stderr, "mim-discover: cannot send to %s: %s\n", to, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Prints each server that answers the probe on fd until the timeout (or the first, unless all).
 * Returns how many did. */
static int print_answers(int fd, const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], long long timeout,
                         int all)
{
    uint64_t deadline = mim_clock_mono_ms() + (uint64_t)timeout;
    int found = 0;

    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = mim_clock_mono_ms();
        uint8_t buf[512], pk[32];
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        char addr[MIM_ADDR_STRLEN], fp[MIM_FINGERPRINT_LEN];
        uint16_t port;
        ssize_t n;
        char *host;

        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
            break;
        n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0 || mim_discovery_answer_decode(buf, (size_t)n, nonce, &port, pk) != 0)
            continue;
        mim_addr_format((struct sockaddr *)&from, addr);
        host = strip_port(addr); /* the answer's port is the TCP one */
        mim_fingerprint(pk, fp);
        printf("server %s port %u fingerprint %s\n", host, (unsigned)port, fp);
        fflush(stdout);
        found++;
        if (!all)
            break;
    }
    return found;
}

int main(int argc, char **argv)
{
    const char *to = "255.255.255.255";
    long long timeout = 2000;
    int all = 0, fd, found, rc;
    struct sockaddr_storage dst;
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN];

    if ((rc = parse_args(argc, argv, &to, &timeout, &all)) != MIM_CLI_RUN)
        return rc;
    if (mim_addr_parse(to, 4242, &dst) != 0) {
        /* "::1:4242" is an address, not ::1 and a port: say how to write that. */
        fprintf(stderr, "mim-discover: '%s' is not a numeric ADDR[:PORT]%s\n", to,
                strchr(to, ':') != NULL && strchr(to, '[') == NULL
                    ? " (an IPv6 address with a port goes in brackets: [::1]:4242)"
                    : "");
        return 2;
    }
    if (mim_crypto_init() != 0)
        return 1;
    if ((fd = send_probe(&dst, to, nonce)) < 0)
        return 1;
    found = print_answers(fd, nonce, timeout, all);
    close(fd);
    if (!found)
        fprintf(stderr, "mim-discover: no server answered within %lld ms%s\n", timeout,
                dst.ss_family == AF_INET6 && strchr(to, '[') == NULL
                    ? " (to give an IPv6 address a port, put it in brackets: [::1]:4242)"
                    : "");
    return found ? 0 : 1;
}
