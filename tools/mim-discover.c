/* mim-discover: finds mim presence servers on the LAN with the UDP discovery probe and prints
 * one line per answer:
 *   server 192.168.1.10 port 4242 fingerprint abcd-efgh-ijkl-mnop-qrst-uvwx
 * Exit status: 0 when at least one server answered, 1 when none did, 2 for a usage error.
 * The answer is not authenticated (see docs/PROTOCOL.md): compare the fingerprint with the
 * one the server printed, or let the peer's pin decide. */
#include "mim_addr.h"
#include "mim_crypto.h"
#include "mim_discovery.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

static void usage(FILE *out)
{
    fprintf(out, "Usage: mim-discover [--to ADDR[:PORT]] [--timeout MS] [--all]\n"
                 "Sends a mim discovery probe and prints the servers that answer.\n"
                 "\n"
                 "  -t, --to ADDR[:PORT]  ask this address (default: broadcast\n"
                 "                        255.255.255.255, port 4242)\n"
                 "  -w, --timeout MS      how long to wait for answers (default 2000)\n"
                 "  -a, --all             wait the whole time and list every server\n"
                 "                        (default: stop at the first answer)\n"
                 "  -h, --help            show this help\n"
                 "Exit status: 0 found, 1 none answered, 2 usage error.\n");
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'w'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *to = "255.255.255.255";
    long timeout = 2000;
    int all = 0, c, fd, found = 0, one = 1;
    struct sockaddr_storage dst;
    uint8_t probe[MIM_DISCOVERY_LEN], nonce[MIM_DISCOVERY_NONCE_LEN];
    uint64_t deadline;

    while ((c = getopt_long(argc, argv, "t:w:ah", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'w':
            timeout = strtol(optarg, NULL, 10);
            if (timeout <= 0 || timeout > 60000) {
                fprintf(stderr, "mim-discover: --timeout takes 1..60000 ms\n");
                return 2;
            }
            break;
        case 'a':
            all = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (mim_addr_parse(to, 4242, &dst) != 0) {
        fprintf(stderr, "mim-discover: '%s' is not a numeric address[:port]\n", to);
        return 2;
    }
    if (mim_crypto_init() != 0)
        return 1;
    fd = socket(dst.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("mim-discover: socket");
        return 1;
    }
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
    mim_random_bytes(nonce, sizeof(nonce));
    mim_discovery_probe_encode(probe, nonce);
    if (sendto(fd, probe, sizeof(probe), 0, (struct sockaddr *)&dst,
               dst.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in)) < 0) {
        fprintf(stderr, "mim-discover: cannot send to %s: %s\n", to, strerror(errno));
        close(fd);
        return 1;
    }
    deadline = now_ms() + (uint64_t)timeout;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = now_ms();
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
    close(fd);
    if (!found)
        fprintf(stderr, "mim-discover: no server answered within %ld ms\n", timeout);
    return found ? 0 : 1;
}
