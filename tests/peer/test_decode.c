/* End-to-end tests of the key log and mim-decode (docs/KEYLOG.md): a real chat on loopback,
 * captured by tcpdump (pcap_capture.h: root; tools/install-deps), between `mim --json` peers
 * started with --key-log, then decoded by the real mim-decode. Each scenario is its own ctest
 * entry (peer/decode_<name>):
 *
 *   chat     with the key log, mim-decode prints the chat texts and the status text, the three
 *            handshake messages and the stream headers of every connection, and the discovery
 *            probe and answer of a mim-discover run; without it, the same structure and no text;
 *            the key log holds one 272-byte line per connection end, mode 0600
 *   broken   a capture cut in the middle of a record and a file of garbage: exit 1 and a clear
 *            reason; a broken or missing key log: exit 1; a usage error: exit 2; mim-presence
 *            and mim refuse to start with a key log others could read */
#include "mim_proc.h"
#include "pcap_capture.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mim_test.h" /* EXPECT_INT, EXPECT_CONTAINS, mim_test_read_file */

#define RUN_MS 30000 /* a decode or a discovery run must end within this */

/* Runs argv (argv[0] a path) to its end, stdout and stderr into files: its exit code (a test
 * failure when it did not exit normally within RUN_MS). */
static int run_tool(const char *const *argv, const char *out_path, const char *err_path)
{
    pid_t pid;
    int status;

    fflush(NULL);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY),
            out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (null_fd < 0 || out_fd < 0 || err_fd < 0)
            _exit(127);
        dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    status = pe_wait_child(pid, RUN_MS);
    if (status < 0 || !WIFEXITED(status))
        fail_msg("%s did not end normally within %d ms", argv[0], RUN_MS);
    return WEXITSTATUS(status);
}

/* Two different TCP ports nobody holds right now (the kernel's picks, both held until both are
 * chosen: a port closed at once could be picked again), for the peers' --listen-port: the
 * capture's filter must name them before the peers start. */
static void free_ports(int ports[2])
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd[2];

    for (int i = 0; i < 2; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd[i] >= 0);
        sa.sin_port = 0;
        assert_int_equal(bind(fd[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        len = sizeof(sa);
        assert_int_equal(getsockname(fd[i], (struct sockaddr *)&sa, &len), 0);
        ports[i] = ntohs(sa.sin_port);
    }
    close(fd[0]);
    close(fd[1]);
}

static void random_hex(char *out, size_t nbytes)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    assert_true(nbytes <= sizeof(b) && fd >= 0);
    assert_int_equal(read(fd, b, nbytes), (ssize_t)nbytes);
    close(fd);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

/* The key log: whole MIM_SESSION lines only, at least `min` of them, mode 0600. */
static void check_key_log(const char *path, size_t min)
{
    struct stat st;
    char *text;
    size_t len;

    assert_int_equal(stat(path, &st), 0);
    EXPECT_INT(st.st_mode & 07777, 0600);
    text = mim_test_read_file(path);
    len = strlen(text);
    if (len % 272 != 0 || len / 272 < min)
        fail_msg("key log %s: %zu bytes, not %zu or more lines of 272", path, len, min);
    for (size_t i = 0; i < len; i += 272)
        assert_true(strncmp(text + i, "MIM_SESSION ", 12) == 0 && text[i + 271] == '\n');
    free(text);
}

/* The file at path as a string, empty or not (malloc'd). */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *text = calloc(1, 1 << 20);
    size_t n;

    assert_non_null(fp);
    assert_non_null(text);
    n = fread(text, 1, (1 << 20) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

/* mim-decode [--key-log key_log] cap: its exit code; its stdout in *out (malloc'd). */
static int decode(const fixture *f, const char *key_log, const char *cap, char **out)
{
    char out_path[PE_PATH_MAX + 16], err_path[PE_PATH_MAX + 16];
    const char *argv[6] = {MIM_DECODE_BIN};
    size_t n = 1;
    int rc;

    if (key_log != NULL) {
        argv[n++] = "--key-log";
        argv[n++] = key_log;
    }
    argv[n++] = cap;
    snprintf(out_path, sizeof(out_path), "%.400s/decode.out", f->tmp);
    snprintf(err_path, sizeof(err_path), "%.400s/decode.err", f->tmp);
    rc = run_tool(argv, out_path, err_path);
    *out = read_text(out_path);
    return rc;
}

/* A chat captured from the start (logins, a direct session, a status, a discovery), decoded
 * with and without the key log. */
static void test_chat(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char m1[33], m2[33], m3[33], path[PE_PATH_MAX + 16], keylog[PE_PATH_MAX + 16];
    char filter[256], pa[8], pb[8], to[32], out_path[PE_PATH_MAX + 16];
    int ports[2];
    const char *discover[] = {MIM_DISCOVER_BIN, "--to", to, NULL};
    capture cap;
    char *text;

    random_hex(m1, 16);
    random_hex(m2, 16);
    random_hex(m3, 16);
    snprintf(path, sizeof(path), "%.400s/cap.pcap", f->tmp);
    snprintf(keylog, sizeof(keylog), "%.400s/keys.log", f->tmp);
    free_ports(ports);
    snprintf(pa, sizeof(pa), "%d", ports[0]);
    snprintf(pb, sizeof(pb), "%d", ports[1]);
    snprintf(filter, sizeof(filter), "tcp port %d or tcp port %s or tcp port %s or udp port %d",
             f->srv.port, pa, pb, f->srv.discovery_port);
    a->extra[0] = b->extra[0] = "--key-log";
    a->extra[1] = b->extra[1] = keylog; /* one file for both: one write per line */
    a->extra[2] = b->extra[2] = "--listen-port";
    a->extra[3] = pa;
    b->extra[3] = pb;
    cap_start(&cap, path, filter);
    start_peer(f, a);
    start_peer(f, b);
    mp_expect_log(a, "KEY LOG ON");
    see_each_other(a, b);
    exchange(a, b, m1, "m1", NULL);
    exchange(b, a, m2, "m2", NULL);
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"busy\",\"text\":\"%s\"}", m3);
    mp_expect(b, 0, "status", "text", m3);
    snprintf(to, sizeof(to), "127.0.0.1:%d", f->srv.discovery_port);
    snprintf(out_path, sizeof(out_path), "%.400s/discover.out", f->tmp);
    EXPECT_INT(run_tool(discover, out_path, out_path), 0);
    mp_quit(a); /* their FINAL frames, in the capture too */
    mp_quit(b);
    cap_stop(&cap);
    cap_cleanup(&cap);
    /* alice and bob to the server, and the session between them (written by both ends). */
    check_key_log(keylog, 4);

    EXPECT_INT(decode(f, keylog, path, &text), 0);
    EXPECT_CONTAINS(text, m1);
    EXPECT_CONTAINS(text, m2);
    EXPECT_CONTAINS(text, m3);
    EXPECT_CONTAINS(text, "handshake hash matches the key log: presence");
    EXPECT_CONTAINS(text, "handshake hash matches the key log: peer to peer");
    EXPECT_CONTAINS(text, "PeerBatch{msgs: [PeerMsg{chat: ChatMessage{");
    EXPECT_CONTAINS(text, "Login{name: \"alice\"");
    EXPECT_CONTAINS(text, "tag FINAL (clean close)");
    EXPECT_CONTAINS(text, "discovery probe, nonce ");
    EXPECT_CONTAINS(text, "discovery answer: server TCP port ");
    EXPECT_CONTAINS(text, f->srv.fingerprint);
    free(text);

    EXPECT_INT(decode(f, NULL, path, &text), 0);
    if (strstr(text, m1) != NULL || strstr(text, m2) != NULL || strstr(text, m3) != NULL)
        fail_msg("mim-decode without the key log printed a message text:\n%s", text);
    EXPECT_CONTAINS(text, "frame 32: handshake message 1 (-> e)");
    /* 200: the server's payload carries its features (FEATURE_MAILBOX, issue 14). */
    EXPECT_CONTAINS(text, "frame 200: handshake message 2 (<- e, ee, s, es)");
    EXPECT_CONTAINS(text, "handshake message 3 (-> s, se)");
    EXPECT_CONTAINS(text, "frame 24: stream header");
    EXPECT_CONTAINS(text, "encrypted message");
    EXPECT_CONTAINS(text, "peer to peer (PeerBatch)");
    EXPECT_CONTAINS(text, " mim connections, 0 frames decrypted");
    free(text);
}

/* Writes len bytes of data to path. */
static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* A key log others could read: mim-presence and mim refuse to start (exit 1), saying why. */
static void refused_key_log(const fixture *f, char *out_path, const char *err_path)
{
    char key_log[PE_PATH_MAX + 16], dir[PE_PATH_MAX + 16], *err;
    const char *presence[] = {
        MIM_PRESENCE_BIN, "--port", "0", "--discovery-port", "off", "--data-dir", dir,
        "--key-log",      key_log,  NULL};
    const char *peer[] = {MIM_BIN, "--json",    "--name", "zed", "--data-dir",
                          dir,     "--key-log", key_log,  NULL};

    snprintf(key_log, sizeof(key_log), "%.400s/open.keys", f->tmp);
    snprintf(dir, sizeof(dir), "%.400s/refused", f->tmp);
    write_file(key_log, "", 0);
    assert_int_equal(chmod(key_log, 0644), 0);
    EXPECT_INT(run_tool(presence, out_path, err_path), 1);
    err = mim_test_read_file(err_path);
    EXPECT_CONTAINS(err, "refused: it must be a regular file of ours with mode 0600");
    free(err);
    EXPECT_INT(run_tool(peer, out_path, err_path), 1);
    err = mim_test_read_file(err_path);
    EXPECT_CONTAINS(err, "mim: key log");
    free(err);
}

/* A capture of a login, cut in the middle of a record; garbage; a missing key log; usage. */
static void test_broken(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    char path[PE_PATH_MAX + 16], cut[PE_PATH_MAX + 16], junk[PE_PATH_MAX + 16], filter[64];
    char err_path[PE_PATH_MAX + 16], *err, *text, garbage[4096];
    const char *usage[] = {MIM_DECODE_BIN, "--port", "0", path, NULL};
    unsigned char *data;
    size_t size;
    pcap_stats st;
    capture cap;

    snprintf(path, sizeof(path), "%.400s/cap.pcap", f->tmp);
    snprintf(cut, sizeof(cut), "%.400s/cut.pcap", f->tmp);
    snprintf(junk, sizeof(junk), "%.400s/junk.pcap", f->tmp);
    snprintf(err_path, sizeof(err_path), "%.400s/decode.err", f->tmp);
    snprintf(filter, sizeof(filter), "tcp port %d", f->srv.port);
    cap_start(&cap, path, filter);
    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected"); /* logged in: a whole login captured */
    mp_quit(a);
    cap_stop(&cap);
    cap_cleanup(&cap);
    cap_read_file(path, &data, &size, &f->srv.port, 1, &st);
    if (st.chat_payload <= 200) /* the login's handshake and frames */
        fail_msg("capture: %zu packets, %zu payload bytes on port %d; tcpdump said: %s", st.packets,
                 st.chat_payload, f->srv.port, cap.err);

    /* Cut 10 bytes before the end: inside the last record. What came before is decoded. */
    write_file(cut, data, size - 10);
    EXPECT_INT(decode(f, NULL, cut, &text), 1);
    EXPECT_CONTAINS(text, "handshake message 1 (-> e)");
    free(text);
    err = mim_test_read_file(err_path);
    EXPECT_CONTAINS(err, "the capture is cut or corrupt after record");
    free(err);
    free(data);

    random_hex(garbage, 32); /* 64 hex digits, then Zs: no capture format starts so */
    memset(garbage + 64, 'Z', sizeof(garbage) - 64);
    write_file(junk, garbage, sizeof(garbage));
    EXPECT_INT(decode(f, NULL, junk, &text), 1);
    EXPECT_INT(strlen(text), 0);
    free(text);
    err = mim_test_read_file(err_path);
    EXPECT_CONTAINS(err, "not a pcap or pcapng capture");
    free(err);

    /* A key log with a broken MIM_SESSION line, and one that does not exist: nothing decoded. */
    write_file(junk, "# keys\nMIM_SESSION 00 11\n", 25);
    EXPECT_INT(decode(f, junk, path, &text), 1);
    free(text);
    err = mim_test_read_file(err_path);
    EXPECT_CONTAINS(err, "line 2: not a MIM_SESSION line");
    free(err);
    snprintf(junk, sizeof(junk), "%.400s/no-such-key-log", f->tmp);
    EXPECT_INT(decode(f, junk, path, &text), 1);
    free(text);
    snprintf(junk, sizeof(junk), "%.400s/usage.out", f->tmp);
    EXPECT_INT(run_tool(usage, junk, err_path), 2);
    refused_key_log(f, junk, err_path);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(chat),
    PE_SCENARIO(broken),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "decode");
}
