/* mim-bench-tcp-copy: the plain TCP baseline of the file-transfer rows (tools/bench/files): a
 * bulk copy of --mib MiB over one TCP connection between two processes, which the driver runs
 * in two network namespaces joined by a shaped veth pair (or both on loopback).
 *
 *   sink   --port P [--bind ADDR]          accepts one connection, reads to EOF, prints
 *                                          "result tcp_bytes N" and "result tcp_seconds S"
 *                                          (from the accept to the EOF)
 *   source --host ADDR --port P --mib M    connects, writes M MiB in 1 MiB writes, closes
 *
 * Blocking sockets and plain read/write on purpose: the baseline is the kernel's TCP, with no
 * event loop or encryption of ours in the way. Bounded: SO_RCVTIMEO / SO_SNDTIMEO of 60 s on
 * every socket, so a lost peer ends the run with an error instead of hanging it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COPY_BUF   (1u << 20) /* bytes per read/write */
#define IO_TIMEOUT 60         /* seconds a socket may block */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int parse_addr(const char *host, long port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        fprintf(stderr, "mim-bench-tcp-copy: bad address %s:%ld\n", host, port);
        return -1;
    }
    return 0;
}

static int run_sink(const char *bind_addr, long port)
{
    struct sockaddr_in sa;
    int one = 1, ls, fd;
    uint64_t total = 0;
    char *buf = malloc(COPY_BUF);
    double t0;
    ssize_t n;

    if (!buf || parse_addr(bind_addr, port, &sa) != 0)
        return 1;
    ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0) {
        fprintf(stderr, "mim-bench-tcp-copy: listen: %s\n", strerror(errno));
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    set_timeouts(ls);
    fd = accept(ls, NULL, NULL);
    if (fd < 0) {
        fprintf(stderr, "mim-bench-tcp-copy: accept: %s\n", strerror(errno));
        return 1;
    }
    set_timeouts(fd);
    t0 = now_s();
    while ((n = read(fd, buf, COPY_BUF)) > 0)
        total += (uint64_t)n;
    if (n < 0) {
        fprintf(stderr, "mim-bench-tcp-copy: read: %s\n", strerror(errno));
        return 1;
    }
    printf("result tcp_bytes %llu\nresult tcp_seconds %.3f\n", (unsigned long long)total,
           now_s() - t0);
    close(fd);
    close(ls);
    free(buf);
    return 0;
}

static int run_source(const char *host, long port, long mib)
{
    struct sockaddr_in sa;
    char *buf = calloc(1, COPY_BUF);
    int fd;

    if (!buf || parse_addr(host, port, &sa) != 0 || mib < 1 || mib > 65536)
        return 1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    set_timeouts(fd);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "mim-bench-tcp-copy: connect: %s\n", strerror(errno));
        return 1;
    }
    for (long i = 0; i < mib; i++) {
        size_t off = 0;
        while (off < COPY_BUF) {
            ssize_t n = write(fd, buf + off, COPY_BUF - off);
            if (n <= 0) {
                fprintf(stderr, "mim-bench-tcp-copy: write: %s\n", strerror(errno));
                return 1;
            }
            off += (size_t)n;
        }
    }
    close(fd);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 0, mib = 0;

    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0 || strcmp(argv[i], "--bind") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--mib") == 0)
            mib = strtol(argv[i + 1], NULL, 10);
    }
    if (argc >= 2 && strcmp(argv[1], "sink") == 0)
        return run_sink(host, port);
    if (argc >= 2 && strcmp(argv[1], "source") == 0)
        return run_source(host, port, mib);
    fprintf(stderr, "usage: mim-bench-tcp-copy sink --port P [--bind ADDR] | "
                    "source --host ADDR --port P --mib M\n");
    return 2;
}
