/* A tcpdump on lo writing a pcap file, and a reader of that file: see pcap_capture.h. */
#include "pcap_capture.h"

#include "mim_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Reads tcpdump's stderr for at most timeout_ms, until `needle` shows (1) or EOF (-1) or the time
 * is up (0). */
static int read_stderr(capture *c, const char *needle, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        struct pollfd pfd = {.fd = c->err_fd, .events = POLLIN};
        uint64_t now = now_ms();
        char tmp[512];
        ssize_t n;
        if (needle != NULL && strstr(c->err, needle) != NULL)
            return 1;
        if (now >= deadline)
            return 0;
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            continue;
        n = read(c->err_fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        if (c->elen + (size_t)n >= sizeof(c->err)) /* keep the start; the end is stats */
            n = (ssize_t)(sizeof(c->err) - 1 - c->elen);
        memcpy(c->err + c->elen, tmp, (size_t)n);
        c->elen += (size_t)n;
        c->err[c->elen] = '\0';
    }
}

/* Waits at most timeout_ms for tcpdump's exit: its wait status, or -1 (then it is killed). */
static int reap(capture *c, int timeout_ms)
{
    int status = pe_wait_child(c->pid, timeout_ms);
    c->pid = 0;
    return status;
}

void cap_start(capture *c, const char *path, const char *filter)
{
    int errp[2], null_fd, rc, status;
    pid_t pid;

    memset(c, 0, sizeof(*c));
    c->err_fd = -1;
    snprintf(c->path, sizeof(c->path), "%s", path);
    assert_int_equal(pipe(errp), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[] = {"tcpdump", "-i",   "lo", "--immediate-mode", "-U", "-w",
                              c->path,   filter, NULL};
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(errp[1], 2);
        close(errp[0]);
        close(errp[1]);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "exec tcpdump: %s\n", strerror(errno));
        _exit(127);
    }
    close(errp[1]);
    fcntl(errp[0], F_SETFD, FD_CLOEXEC);
    c->pid = pid;
    c->err_fd = errp[0];
    rc = read_stderr(c, "listening on", 10000);
    if (rc == 1)
        return;
    kill(c->pid, SIGKILL);
    status = reap(c, 5000);
    fail_msg("tcpdump cannot capture on lo (%s; wait status 0x%x): %s -- the capture test needs "
             "tcpdump (tools/install-deps installs it) and root or CAP_NET_RAW",
             rc < 0 ? "it exited" : "no 'listening on' within 10 s", (unsigned)status, c->err);
}

void cap_stop(capture *c)
{
    int status;
    kill(c->pid, SIGINT);
    read_stderr(c, NULL, 10000); /* its stats, up to EOF (or 10 s) */
    close(c->err_fd);
    c->err_fd = -1;
    status = reap(c, 10000);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("tcpdump did not exit 0 after SIGINT (wait status 0x%x): %s", (unsigned)status,
                 c->err);
}

void cap_cleanup(capture *c)
{
    if (c->pid != 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
    if (c->err_fd >= 0)
        close(c->err_fd);
    c->err_fd = -1;
}

int cap_contains(const unsigned char *d, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(d + i, needle, n) == 0)
            return 1;
    return 0;
}

static uint32_t rd32(const unsigned char *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

/* TCP payload length of an Ethernet frame to or from one of ports[] (0 if not such a frame). */
static size_t tcp_payload_on(const unsigned char *f, size_t len, const int *ports, size_t nports,
                             int *hit)
{
    size_t ip = 14, l4, ip_total;
    unsigned proto, sport, dport, doff;

    *hit = 0;
    if (len < ip + 20)
        return 0;
    if (f[12] == 0x08 && f[13] == 0x00) { /* IPv4 */
        size_t ihl = (size_t)(f[ip] & 15) * 4;
        proto = f[ip + 9];
        ip_total = ((size_t)f[ip + 2] << 8) | f[ip + 3];
        l4 = ip + ihl;
        if (ip_total < ihl)
            return 0;
        ip_total -= ihl;
    } else if (f[12] == 0x86 && f[13] == 0xdd && len >= ip + 40) { /* IPv6, no extensions */
        proto = f[ip + 6];
        ip_total = ((size_t)f[ip + 4] << 8) | f[ip + 5];
        l4 = ip + 40;
    } else {
        return 0;
    }
    if (proto != 6 || len < l4 + 20)
        return 0;
    sport = ((unsigned)f[l4] << 8) | f[l4 + 1];
    dport = ((unsigned)f[l4 + 2] << 8) | f[l4 + 3];
    doff = (unsigned)(f[l4 + 12] >> 4) * 4;
    for (size_t i = 0; i < nports; i++)
        if ((int)sport == ports[i] || (int)dport == ports[i])
            *hit = 1;
    if (!*hit || ip_total < doff)
        return 0;
    return ip_total - doff;
}

void cap_read_file(const char *path, unsigned char **data, size_t *size, const int *ports,
                   size_t nports, pcap_stats *st)
{
    struct stat sb;
    unsigned char *d;
    size_t off;
    int fd, swap = 0;
    uint32_t magic, linktype;

    memset(st, 0, sizeof(*st));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("no capture file %s: %s", path, strerror(errno));
    assert_int_equal(fstat(fd, &sb), 0);
    assert_true(sb.st_size < 64 * 1024 * 1024);
    d = malloc((size_t)sb.st_size + 1);
    assert_non_null(d);
    for (off = 0; off < (size_t)sb.st_size;) {
        ssize_t n = read(fd, d + off, (size_t)sb.st_size - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    close(fd);
    *data = d;
    *size = (size_t)sb.st_size;
    if (*size < 24)
        fail_msg("the capture file %s has %zu bytes: not even a pcap header", path, *size);
    memcpy(&magic, d, 4);
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
        swap = 0;
    else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
        swap = 1;
    else
        fail_msg("%s is not a pcap file (magic 0x%08x)", path, (unsigned)magic);
    linktype = rd32(d + 20, swap);
    assert_int_equal(linktype, 1); /* DLT_EN10MB: what Linux's lo gives */
    for (off = 24; off + 16 <= *size;) {
        uint32_t caplen = rd32(d + off + 8, swap);
        size_t pl;
        int hit;
        off += 16;
        if (caplen > *size - off)
            break; /* a truncated last record */
        st->packets++;
        st->caplen += caplen;
        pl = tcp_payload_on(d + off, caplen, ports, nports, &hit);
        st->chat_packets += (size_t)hit;
        st->chat_payload += pl;
        off += caplen;
    }
}
