/* More end-to-end tests of `mim --json` (issue 3, "Done when"): the real mim-presence
 * (peer_env.c) and real mim processes driven through pipes by the harness of mim_proc.h, as in
 * test_mim_json.c. Waits are bounded polls on the processes' stdout (or stderr, for tcpdump),
 * never sleeps. Each scenario is its own ctest entry
 * (peer/json_<name>):
 *
 *   capture               the message text never appears in a capture of the traffic (tcpdump)
 *   server_restart        the presence server SIGKILLed and restarted: peers reconnect, the
 *                         tables converge, an open chat keeps working meanwhile
 *   key_changed_and_trust a new key under a pinned name: key_changed, the message is held
 *                         until `trust`, then delivered exactly once
 *   close_and_status      chat_closed on the other side; status changes reach the other peer
 *   history               the last N messages, in order, with from/to/state on both sides */
#include "mim_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#ifndef MIM_PRESENCE_BIN
#error "MIM_PRESENCE_BIN must name the mim-presence binary"
#endif

#define ABSENT_MS    1500  /* the window in which an event that must not come would have come */
#define RECONNECT_MS 40000 /* a reconnect after a server restart (jittered backoff, ASan) */
/* peer/presence_client.c: a peer missing after a reconnect is reported offline only after
 * backoff_max_ms (30 s by default, and mim does not change it) + PC_SETTLE_MARGIN_MS (1 s). */
#define GRACE_MS (30000 + 1000)

static int setup(void **state)
{
    return fixture_setup(state, "json2");
}

/* 2 * nbytes random hex digits. */
static void random_hex(char *out, size_t nbytes)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[64];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    assert_true(nbytes <= sizeof(b));
    assert_true(fd >= 0);
    assert_int_equal(read(fd, b, nbytes), (ssize_t)nbytes);
    close(fd);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

/* ---- tcpdump --------------------------------------------------------------------------------- */

typedef struct capture {
    char path[PE_PATH_MAX + 16];
    pid_t pid;
    int err_fd;     /* tcpdump's stderr */
    char err[4096]; /* what it wrote there */
    size_t elen;
} capture;

/* Reads tcpdump's stderr for at most timeout_ms, until `needle` shows (1) or EOF (-1) or the time
 * is up (0). */
static int cap_read_err(capture *c, const char *needle, int timeout_ms)
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
static int cap_reap(capture *c, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int status;
    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid)
            break;
        if (now_ms() >= deadline) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            c->pid = 0;
            return -1;
        }
        nanosleep(&tick, NULL); /* a bounded poll for the exit */
    }
    c->pid = 0;
    return status;
}

/* Starts tcpdump on lo with `filter`, writing to path, and waits for its "listening on". Fails
 * the test when it cannot capture. */
static void cap_start(capture *c, const char *path, const char *filter)
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
    rc = cap_read_err(c, "listening on", 10000);
    if (rc == 1)
        return;
    kill(c->pid, SIGKILL);
    status = cap_reap(c, 5000);
    fail_msg("tcpdump cannot capture on lo (%s; wait status 0x%x): %s -- the capture test needs "
             "tcpdump (tools/install-deps installs it) and root or CAP_NET_RAW",
             rc < 0 ? "it exited" : "no 'listening on' within 10 s", (unsigned)status, c->err);
}

/* SIGINT, then tcpdump must exit 0 (bounded). */
static void cap_stop(capture *c)
{
    int status;
    kill(c->pid, SIGINT);
    cap_read_err(c, NULL, 10000); /* its stats, up to EOF (or 10 s) */
    close(c->err_fd);
    c->err_fd = -1;
    status = cap_reap(c, 10000);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("tcpdump did not exit 0 after SIGINT (wait status 0x%x): %s", (unsigned)status,
                 c->err);
}

static void cap_cleanup(capture *c)
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

/* Does needle occur in the len bytes at d? */
static int contains(const unsigned char *d, size_t len, const char *needle)
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

typedef struct pcap_stats {
    size_t packets;
    size_t caplen;       /* bytes of packet data */
    size_t chat_payload; /* TCP payload bytes to or from one of the chat ports */
    size_t chat_packets;
} pcap_stats;

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

/* Reads the whole capture into *data (malloc'd) and walks its records. */
static void pcap_read(const char *path, unsigned char **data, size_t *size, const int *ports,
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

/* ---- scenarios ------------------------------------------------------------------------------- */

/* The message texts never appear in a capture of the traffic: of the direct session, and of the
 * presence connections. */
static void test_capture(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char m1[49], m2[49], path[PE_PATH_MAX + 16], filter[256];
    int ports[2];
    capture cap;
    unsigned char *data = NULL;
    size_t size = 0;
    pcap_stats st;

    random_hex(m1, 12);
    random_hex(m2, 12);
    assert_int_equal(strlen(m1), 24);
    ports[0] = ready_port(start_peer(f, a));
    ports[1] = ready_port(start_peer(f, b));
    see_each_other(a, b);

    snprintf(path, sizeof(path), "%.400s/cap.pcap", f->tmp);
    snprintf(filter, sizeof(filter), "tcp and (port %d or port %d or port %d)", ports[0], ports[1],
             f->srv.port);
    cap_start(&cap, path, filter);
    /* No session is open yet: the whole handshake is in the capture. */
    exchange(a, b, m1, "m1", NULL);
    exchange(b, a, m2, "m2", NULL);
    /* Statuses go through the presence server, on the captured port too. */
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"busy\",\"text\":\"%s\"}", m1);
    mp_expect(b, 0, "status", "text", m1);
    cap_stop(&cap);
    cap_cleanup(&cap);

    pcap_read(path, &data, &size, ports, 2, &st);
    fprintf(stderr,
            "capture: %zu packets, %zu bytes of packet data, %zu packets and %zu payload "
            "bytes on the chat ports; tcpdump said: %s\n",
            st.packets, st.caplen, st.chat_packets, st.chat_payload, cap.err);
    assert_true(st.caplen > 24);
    /* The direct session was captured: its handshake and two messages and acks, each over the
     * marker's length. */
    assert_true(st.chat_packets >= 4);
    assert_true(st.chat_payload > 4 * 24);
    if (contains(data, size, m1) || contains(data, size, m2))
        fail_msg("a message text is in the clear in the capture %s", path);
    free(data);
    mp_quit(a);
    mp_quit(b);
}

/* The presence server SIGKILLed: both peers reconnect; the open chat keeps working meanwhile;
 * restarted on the same data dir and port, both log in again, keep seeing each other (no offline
 * after the grace), and see a peer who starts now. */
static void test_server_restart(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];
    mp *ab[2] = {a, b};
    int port = f->srv.port;
    size_t a0, b0, a1, b1;
    uint64_t settled;
    char id[33];

    start_peer(f, a);
    start_peer(f, b);
    mp_expect(a, 0, "presence", "state", "connected");
    mp_expect(b, 0, "presence", "state", "connected");
    see_each_other(a, b);
    exchange(a, b, "before the crash", "s1", NULL);
    exchange(b, a, "indeed", "s2", NULL);

    a0 = a->nev;
    b0 = b->nev;
    pe_server_kill(&f->srv);
    mp_expect(a, a0, "presence", "state", "reconnecting");
    mp_expect(b, b0, "presence", "state", "reconnecting");

    /* The direct session does not need the server. */
    exchange(a, b, "while the server is down", "s3", id);
    exchange(b, a, "still here", "s4", NULL);

    if (pe_server_start(&f->srv, port) != 0) {
        pe_server_dump_log(&f->srv);
        fail_msg("the server did not restart on port %d: %s", port, f->srv.err);
    }
    assert_int_equal(f->srv.port, port);
    mp_expect_within(a, a0, "presence", "state", "connected", RECONNECT_MS);
    mp_expect_within(b, b0, "presence", "state", "connected", RECONNECT_MS);
    settled = now_ms(); /* both have converged by now (each started its grace before this) */
    a1 = a->nev;
    b1 = b->nev;

    /* A new peer is seen by both (their tables are live again), and sees both. */
    start_peer(f, c);
    mp_expect(a, a1, "online", "name", "carol");
    mp_expect(b, b1, "online", "name", "carol");
    see_each_other(c, a);
    see_each_other(c, b);
    exchange(a, b, "after the restart", "s5", NULL);

    /* Past the grace: a peer that did not come back would be reported offline by now. */
    {
        uint64_t end = settled + GRACE_MS + 2000, now = now_ms();
        if (now < end)
            mp_pump_all(ab, 2, end - now);
    }
    if (mp_count(a, "offline", NULL, NULL) != 0 || mp_count(b, "offline", NULL, NULL) != 0) {
        mp_dump(a);
        mp_dump(b);
        fail_msg("an offline event after the server restart, though every peer came back");
    }
    /* Each still lists the other (and carol). */
    a1 = round_trip(a, "w");
    assert_non_null(mp_find2(a, a1, "online", "tag", "w", "name", "bob"));
    assert_non_null(mp_find2(a, a1, "online", "tag", "w", "name", "carol"));
    b1 = round_trip(b, "w");
    assert_non_null(mp_find2(b, b1, "online", "tag", "w", "name", "alice"));
    assert_non_null(mp_find2(b, b1, "online", "tag", "w", "name", "carol"));
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(c);
    mp_quit(a);
    mp_quit(b);
}

/* A new key under a pinned name: key_changed with both fingerprints, the message held (not
 * delivered) until `trust`, then delivered exactly once. */
static void test_key_changed_and_trust(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64], id[33];
    json_t *ev;
    size_t a0, a1;

    a0 = stage_key_change(f, a, b, nb, old_fp, new_fp);
    assert_string_not_equal(old_fp, new_fp);
    mp_expect(nb, 0, "presence", "state", "connected");
    ev = mp_expect(a, a0, "online", "name", "bob");
    assert_string_equal(sfield(ev, "fingerprint"), new_fp);

    a1 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"for the real bob\",\"tag\":\"h1\"}");
    ev = mp_expect(a, a1, "queued", "tag", "h1");
    snprintf(id, sizeof(id), "%s", sfield(ev, "id"));
    ev = mp_expect(a, a1, "key_changed", "name", "bob");
    assert_string_equal(sfield(ev, "old_fingerprint"), old_fp);
    assert_string_equal(sfield(ev, "new_fingerprint"), new_fp);
    /* Held: nothing reaches the new key. */
    if (mp_wait(nb, 0, "message", NULL, NULL, ABSENT_MS) >= 0) {
        mp_dump(nb);
        fail_msg("the new bob got a message before alice trusted its key");
    }
    round_trip(a, "w1");
    assert_int_equal(mp_count(a, "sent", "id", id), 0);
    assert_int_equal(mp_count(a, "delivered", "id", id), 0);
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 1);

    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"tag\":\"t1\"}");
    ev = mp_expect(a, a1, "ok", "tag", "t1");
    assert_string_equal(sfield(ev, "cmd"), "trust");
    ev = mp_expect(nb, 0, "message", "id", id);
    assert_string_equal(sfield(ev, "from"), "alice");
    assert_string_equal(sfield(ev, "text"), "for the real bob");
    mp_expect(a, a1, "delivered", "id", id);
    /* Nothing waits any more: a second trust is refused. */
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"tag\":\"t2\"}");
    ev = mp_expect(a, a1, "error", "tag", "t2");
    assert_string_equal(sfield(ev, "code"), "bad_field");
    /* Exactly once, and the session with the new key works both ways. */
    exchange(nb, a, "hello again", "n1", NULL);
    round_trip(nb, "w2");
    assert_int_equal(mp_count(nb, "message", "id", id), 1);
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 1);
    mp_quit(a);
    mp_quit(nb);
}

/* close: the other side gets chat_closed (and a new message opens the chat again); status: the
 * other side gets the change, and `who` shows it. */
static void test_close_and_status(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *ev;
    size_t a0, b0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "open", "c1", NULL);
    exchange(b, a, "yes", "c2", NULL);
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 1);
    assert_int_equal(mp_count(a, "chat_opened", NULL, NULL), 0); /* alice started it */

    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"close\",\"with\":\"bob\",\"tag\":\"x\"}");
    ev = mp_expect(a, a0, "ok", "tag", "x");
    assert_string_equal(sfield(ev, "cmd"), "close");
    mp_expect(b, b0, "chat_closed", "with", "alice");
    assert_int_equal(mp_count(a, "chat_closed", NULL, NULL), 0);
    /* bob writes again: alice's conversation opens again (a new pop-up). */
    exchange(b, a, "one more thing", "c3", NULL);
    mp_expect(a, a0, "chat_opened", "with", "bob");

    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"away\",\"text\":\"out for lunch\",\"tag\":\"s\"}");
    ev = mp_expect(a, a0, "ok", "tag", "s");
    assert_string_equal(sfield(ev, "cmd"), "status");
    ev = mp_expect(b, b0, "status", "name", "alice");
    assert_string_equal(sfield(ev, "state"), "away");
    assert_string_equal(sfield(ev, "text"), "out for lunch");
    ev = mp_expect(a, a0, "status", "name", "alice"); /* ours, confirmed by the server */
    assert_string_equal(sfield(ev, "state"), "away");
    assert_string_equal(sfield(ev, "text"), "out for lunch");

    b0 = round_trip(b, "w");
    ev = mp_find2(b, b0, "online", "tag", "w", "name", "alice");
    if (ev == NULL) {
        mp_dump(b);
        fail_msg("bob's who does not list alice");
    }
    assert_string_equal(sfield(ev, "status"), "away");
    assert_string_equal(sfield(ev, "text"), "out for lunch");
    a0 = round_trip(a, "w");
    assert_null(mp_find2(a, a0, "online", "tag", "w", "name", "alice")); /* never ourselves */
    mp_quit(a);
    mp_quit(b);
}

/* Checks one history entry. */
static void check_item(const json_t *m, const char *id, const char *from, const char *to,
                       const char *text, const char *state)
{
    assert_true(json_is_object(m));
    assert_string_equal(sfield(m, "id"), id);
    assert_string_equal(sfield(m, "from"), from);
    assert_string_equal(sfield(m, "to"), to);
    assert_string_equal(sfield(m, "text"), text);
    assert_string_equal(sfield(m, "state"), state);
    assert_true(json_is_integer(json_object_get(m, "ts")));
}

/* 3 messages each way; history with limit 4 gives the last 4, oldest first, on both sides. */
static void test_history(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static const char *const texts[6] = {"a one", "b one", "a two", "b two", "a three", "b three"};
    char ids[6][33], tag[8];

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    for (int i = 0; i < 6; i++) {
        snprintf(tag, sizeof(tag), "m%d", i);
        if (i % 2 == 0)
            exchange(a, b, texts[i], tag, ids[i]);
        else
            exchange(b, a, texts[i], tag, ids[i]);
    }
    for (int side = 0; side < 2; side++) {
        mp *p = side == 0 ? a : b;
        const char *with = side == 0 ? "bob" : "alice";
        json_t *h, *msgs;
        int64_t last_ts = 0;

        mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"limit\":4,\"tag\":\"h\"}", with);
        h = mp_expect(p, 0, "history", "tag", "h");
        assert_string_equal(sfield(h, "with"), with);
        msgs = json_object_get(h, "messages");
        assert_true(json_is_array(msgs));
        if (json_array_size(msgs) != 4) {
            mp_dump(p);
            fail_msg("%s: history has %zu messages, not 4", p->name, json_array_size(msgs));
        }
        for (int k = 0; k < 4; k++) {
            int i = 2 + k; /* the last 4 of 6 */
            int outgoing = (i % 2 == 0) == (side == 0);
            const json_t *m = json_array_get(msgs, (size_t)k);
            check_item(m, ids[i], i % 2 == 0 ? "alice" : "bob", i % 2 == 0 ? "bob" : "alice",
                       texts[i], outgoing ? "delivered" : "received");
            /* Each was sent after the previous one was delivered: ts do not go back. */
            assert_true(json_integer_value(json_object_get(m, "ts")) >= last_ts);
            last_ts = json_integer_value(json_object_get(m, "ts"));
        }
    }
    /* The default limit covers all 6. */
    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"bob\",\"tag\":\"all\"}");
    {
        json_t *h = mp_expect(a, 0, "history", "tag", "all");
        json_t *msgs = json_object_get(h, "messages");
        assert_int_equal(json_array_size(msgs), 6);
        check_item(json_array_get(msgs, 0), ids[0], "alice", "bob", texts[0], "delivered");
    }
    mp_quit(a);
    mp_quit(b);
}

static const pe_test tests[] = {
    {"capture", test_capture},
    {"server_restart", test_server_restart},
    {"key_changed_and_trust", test_key_changed_and_trust},
    {"close_and_status", test_close_and_status},
    {"history", test_history},
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup,
                        fixture_teardown);
}
