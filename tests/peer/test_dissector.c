/* The Wireshark dissector tools/wireshark/mim.lua, run by tshark on captures of the real thing
 * and on made-up bad bytes. Each scenario is its own ctest entry (peer/dissector_<name>); both are
 * skipped (exit 77, SKIP_RETURN_CODE) when tshark is not installed (tools/install-deps has it).
 *
 *   capture    tcpdump on lo (root) records two logins to the real mim-presence, a chat between
 *              alice and bob and a discovery probe and answer; tshark with the dissector names the
 *              three handshake messages of every connection, the stream headers, the encrypted
 *              messages and the two discovery datagrams, and says who answered message 2 (the
 *              server: no name; bob: a 3-byte name)
 *   malformed  a hand-made capture with a zero-length frame, handshake messages and a header of
 *              impossible sizes, a frame cut by the end of the capture, a probe with non-zero
 *              padding and a 10-byte answer: each is flagged with expert info, and tshark ends
 *              without a Lua error */
#include "mim_proc.h"
#include "pcap_capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SKIP_EXIT  77 /* ctest SKIP_RETURN_CODE: tshark is missing */
#define TSHARK_MS  60000
#define OUTPUT_MAX (8 << 20)

/* ---- running tshark ----------------------------------------------------------------------------
 */

/* 1 when an executable `tshark` is on PATH. */
static int have_tshark(void)
{
    const char *path = getenv("PATH");
    char dir[PE_PATH_MAX];

    for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
        size_t n = strcspn(p, ":");
        char exe[PE_PATH_MAX + 16];
        snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
        snprintf(exe, sizeof(exe), "%s/tshark", dir);
        if (access(exe, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

/* Runs tshark with the dissector on the capture `pcap`, then args (NULL-terminated), its stdout
 * into out_path; its wait status must say exit 0. Returns the output (malloc'd, NUL-terminated). */
static char *run_tshark(const char *pcap, const char *out_path, const char *const *args)
{
    const char *argv[32] = {"tshark", "-n", "-X", "lua_script:" MIM_DISSECTOR_LUA, "-r", pcap};
    size_t n = 6;
    pid_t pid;
    int status, fd;
    char *text;
    FILE *f;
    long size;

    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execvp("tshark", (char *const *)argv);
        _exit(127);
    }
    status = pe_wait_child(pid, TSHARK_MS);
    f = fopen(out_path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size >= 0 && size < OUTPUT_MAX);
    rewind(f);
    text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("tshark failed (status %d); its output (%s):\n%.4000s", status, out_path, text);
    if (strstr(text, "Lua Error") != NULL || strstr(text, "[Malformed Packet") != NULL)
        fail_msg("the dissector failed on %s; tshark's output is in %s", pcap, out_path);
    return text;
}

/* How many times needle occurs in text. */
static size_t occurrences(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        count++;
    return count;
}

#define EXPECT_IN(text, needle, path)                                                              \
    do {                                                                                           \
        if (strstr((text), (needle)) == NULL)                                                      \
            fail_msg("tshark did not say \"%s\" (its output: %s)", (needle), (path));              \
    } while (0)

/* A TCP port on 127.0.0.1 free a moment ago, for a peer's --listen-port. */
static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- capture: the real thing ------------------------------------------------------------------
 */

/* Records two logins, a chat, a discovery exchange and two quits into path. */
static void record_session(fixture *f, const char *path)
{
    mp *a = &f->peers[0], *b = &f->peers[1];
    char port_a[16], port_b[16], disc[32], filter[256];
    capture cap;

    snprintf(port_a, sizeof(port_a), "%d", free_port());
    snprintf(port_b, sizeof(port_b), "%d", free_port());
    a->extra[0] = "--listen-port", a->extra[1] = port_a;
    b->extra[0] = "--listen-port", b->extra[1] = port_b;
    snprintf(filter, sizeof(filter), "port %d or port %s or port %s or udp port %d", f->srv.port,
             port_a, port_b, f->srv.discovery_port);
    cap_start(&cap, path, filter);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello bob", "m1", NULL);
    snprintf(disc, sizeof(disc), "127.0.0.1:%d", f->srv.discovery_port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(MIM_DISCOVER_BIN, "mim-discover", "--to", disc, "--timeout", "5000", (char *)NULL);
        _exit(127);
    }
    int status = pe_wait_child(pid, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mp_quit(a);
    mp_quit(b);
    cap_stop(&cap);
    cap_cleanup(&cap);
}

static void test_capture(void **state)
{
    fixture *f = *state;
    char path[PE_PATH_MAX + 16], out[PE_PATH_MAX + 16], pref[64];

    snprintf(path, sizeof(path), "%.400s/session.pcap", f->tmp);
    record_session(f, path);

    /* The packet details. */
    snprintf(out, sizeof(out), "%.400s/tshark-V.txt", f->tmp);
    snprintf(pref, sizeof(pref), "mim.presence_port:%d", f->srv.port);
    char *text = run_tshark(path, out, (const char *const[]){"-o", pref, "-V", NULL});
    /* Three connections from the start: alice's and bob's logins, and the chat session. */
    size_t msg1 = occurrences(text, "mim frame: Handshake message 1 (-> e), 32 bytes");
    size_t msg2 = occurrences(text, "mim frame: Handshake message 2 (<- e, ee, s, es)");
    size_t msg3 = occurrences(text, "mim frame: Handshake message 3 (-> s, se)");
    if (msg1 < 3 || msg2 != msg1 || msg3 != msg1)
        fail_msg("handshake messages 1, 2, 3: %zu, %zu, %zu (want >= 3 each, equal); see %s", msg1,
                 msg2, msg3, out);
    if (occurrences(text, "mim frame: Stream header, 24 bytes") != 2 * msg1)
        fail_msg("not two stream headers per connection; see %s", out);
    EXPECT_IN(text, "mim frame: Encrypted message, ", out);
    EXPECT_IN(text, "mim frame: Encrypted message, no plaintext (an empty FINAL), 17 bytes", out);
    EXPECT_IN(text, "[Sender: a presence server (no name)]", out);
    EXPECT_IN(
        text,
        "[Sender: a peer (responder), name of 3 bytes (5 from a peer that sends no features)]",
        out); /* bob */
    EXPECT_IN(
        text,
        "[Sender: a peer (initiator), name of 5 bytes (7 from a peer that sends no features)]",
        out); /* alice */
    /* The server's: 102 bytes and its features (28 02: it offers the mailbox, issue 14). */
    EXPECT_IN(text, "HandshakePayload size (plaintext): 104", out);
    EXPECT_IN(text, "mim discovery: Probe", out);
    EXPECT_IN(text, "mim discovery: Answer", out);
    EXPECT_IN(text, "Magic: MIM?", out);
    free(text);

    /* The fields, one line per packet: every mim packet has a kind. */
    snprintf(out, sizeof(out), "%.400s/tshark-fields.txt", f->tmp);
    text = run_tshark(path, out,
                      (const char *const[]){"-o", pref, "-Y", "mim.kind == 1", "-T", "fields", "-e",
                                            "mim.len", NULL});
    if (occurrences(text, "32") < msg1)
        fail_msg("-T fields -e mim.len for the messages 1: want 32 each; see %s", out);
    free(text);
}

/* ---- malformed: bytes made up -----------------------------------------------------------------
 */

typedef struct pcap_out {
    FILE *f;
    uint32_t seq[2]; /* next sequence number of each side */
} pcap_out;

static void put32(FILE *f, uint32_t v)
{
    assert_int_equal(fwrite(&v, 4, 1, f), 1); /* the file's byte order: its magic says which */
}

/* One Ethernet + IPv4 packet, from port sport to dport on 127.0.0.1, with its transport header
 * (TCP: 20 bytes, UDP: 8) and payload. */
static void put_packet(pcap_out *o, int tcp, int from, uint16_t sport, uint16_t dport,
                       uint8_t flags, const uint8_t *payload, size_t len)
{
    uint8_t pkt[14 + 20 + 20 + 128] = {0};
    size_t thl = tcp ? 20 : 8, total = 20 + thl + len;
    uint8_t *ip = pkt + 14, *th = ip + 20;

    assert_true(len <= 128);
    pkt[12] = 0x08; /* IPv4 */
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total;
    ip[8] = 64, ip[9] = tcp ? 6 : 17;
    ip[12] = ip[16] = 127, ip[15] = ip[19] = 1;
    th[0] = (uint8_t)(sport >> 8), th[1] = (uint8_t)sport;
    th[2] = (uint8_t)(dport >> 8), th[3] = (uint8_t)dport;
    if (tcp) {
        uint32_t seq = htonl(o->seq[from]), ack = htonl(o->seq[!from]);
        memcpy(th + 4, &seq, 4);
        memcpy(th + 8, &ack, 4);
        th[12] = 0x50, th[13] = flags, th[14] = 0xff;
        o->seq[from] += (uint32_t)len + ((flags & 0x02) ? 1 : 0);
    } else {
        th[4] = (uint8_t)((8 + len) >> 8), th[5] = (uint8_t)(8 + len);
    }
    if (len > 0)
        memcpy(th + thl, payload, len);
    put32(o->f, 1700000000), put32(o->f, 0);
    put32(o->f, (uint32_t)(14 + total)), put32(o->f, (uint32_t)(14 + total));
    assert_int_equal(fwrite(pkt, 14 + total, 1, o->f), 1);
}

/* A connection from 40000 to 40001 (no registered port: the heuristic finds it by its valid
 * message 1), then bad frames both ways; discovery datagrams to port 4242. */
static void write_malformed(const char *path)
{
    enum { SYN = 0x02, ACK = 0x10, PSH = 0x08 };
    pcap_out o = {.f = fopen(path, "wb"), .seq = {1000, 5000}};
    uint8_t msg1[34] = {0x00, 0x20}, bad_server[] = {0x00, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5};
    uint8_t bad_msg3[12] = {0x00, 0x0a}, cut[] = {0xff, 0xff, 1, 2, 3};
    uint8_t probe[56] = {'M', 'I', 'M', '?', 1}, answer[10] = {'M', 'I', 'M', '!', 1};

    assert_non_null(o.f);
    put32(o.f, 0xa1b2c3d4), put32(o.f, 0x00040002), put32(o.f, 0), put32(o.f, 0);
    put32(o.f, 65535), put32(o.f, 1); /* Ethernet */
    memset(msg1 + 2, 0x42, 32);
    put_packet(&o, 1, 0, 40000, 40001, SYN, NULL, 0);
    put_packet(&o, 1, 1, 40001, 40000, SYN | ACK, NULL, 0);
    put_packet(&o, 1, 0, 40000, 40001, PSH | ACK, msg1, sizeof(msg1));
    put_packet(&o, 1, 1, 40001, 40000, PSH | ACK, bad_server, sizeof(bad_server));
    put_packet(&o, 1, 0, 40000, 40001, PSH | ACK, bad_msg3, sizeof(bad_msg3));
    put_packet(&o, 1, 1, 40001, 40000, PSH | ACK, cut, sizeof(cut));
    probe[30] = 0x01; /* padding that is not zero */
    put_packet(&o, 0, 0, 40002, 4242, 0, probe, sizeof(probe));
    put_packet(&o, 0, 1, 4242, 40002, 0, answer, sizeof(answer));
    assert_int_equal(fclose(o.f), 0);
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    char path[PE_PATH_MAX + 16], out[PE_PATH_MAX + 16];

    snprintf(path, sizeof(path), "%.400s/malformed.pcap", f->tmp);
    snprintf(out, sizeof(out), "%.400s/tshark-malformed.txt", f->tmp);
    write_malformed(path);
    char *text = run_tshark(path, out, (const char *const[]){"-V", NULL});
    EXPECT_IN(text, "mim frame: Handshake message 1 (-> e), 32 bytes", out);
    EXPECT_IN(text, "Zero-length frame (no mim frame is empty)", out);
    EXPECT_IN(text, "a stream header is exactly 24 bytes", out);
    EXPECT_IN(text, "message 3 must be at least 64 bytes", out);
    EXPECT_IN(text, "bytes 24..55 is not all zero", out);
    EXPECT_IN(text, "a discovery datagram is exactly 56 bytes, not 10", out);
    free(text);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(capture),
    PE_SCENARIO(malformed),
};

int main(int argc, char **argv)
{
    if (!have_tshark()) {
        fprintf(stderr, "tshark is not installed (tools/install-deps): skipped\n");
        return SKIP_EXIT;
    }
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "dissector");
}
