/* mim-presence's --bind at start-up and in discovery (issue 13), black box: the real server
 * binary on an unusable --bind or a port in use exits 2 (usage) or 1 (run time) before it
 * creates any key or database, and says why with one program name; a bound server answers
 * discovery from its bound address. One scenario per ctest entry (integration/exits_<name>):
 *
 *   bad_bind        --bind that is no numeric address (or has a port): exit 2, nothing made
 *   foreign_bind    --bind an address this host does not have (192.0.2.1): exit 1, nothing made
 *   port_in_use     --port held by another socket: exit 1, "address already in use", nothing
 *   bad_mailbox_options  issue 14's options out of range or misspelt: exit 2, said, nothing made
 *                   made
 *   bind_discovery  --bind 127.0.0.2: a probe sent to 127.0.0.1 is answered from 127.0.0.2,
 *                   the address the TCP listener has (a peer dials the answer's source)
 *
 * Every wait is bounded (sp_run: RUN_MS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mim_crypto.h"
#include "mim_discovery.h"
#include "peer_env.h" /* pe_run_named, pe_exists */
#include "server_proc.h"

#define RUN_MS 10000 /* a refused start exits long before this */

static int setup(void **state)
{
    server_proc *sp = calloc(1, sizeof(*sp));

    assert_non_null(sp);
    if (sp_init(sp, "exits") != 0)
        fail_msg("sp_init: %s", sp->err);
    *state = sp;
    return 0;
}

static int teardown(void **state)
{
    server_proc *sp = *state;

    sp_dump_log(sp, stderr);
    sp_cleanup(sp);
    free(sp);
    return 0;
}

/* Runs mim-presence with --bind bind --port port to its end: its exit code. The data dir must
 * hold neither a key nor a database after it, and stderr (the log) must name the program once
 * per line, never twice. */
static int run_refused(server_proc *sp, const char *bind, const char *port)
{
    const char *argv[] = {
        MIM_PRESENCE_BIN, "--port", port,         "--discovery-port", "0",
        "--bind",         bind,     "--data-dir", sp->data_dir,       "--log-level",
        "debug",          NULL};
    char out[512], st[64], path[700];
    int status;

    if (sp_run(sp, argv, RUN_MS, out, sizeof(out), &status) != 0)
        fail_msg("the server was not refused: %s (stdout: %s)", sp->err, out);
    if (!WIFEXITED(status))
        fail_msg("the refused server %s", sp_status_str(status, st, sizeof(st)));
    assert_true((size_t)snprintf(path, sizeof(path), "%s/presence.key", sp->data_dir) <
                sizeof(path));
    assert_false(pe_exists(path));
    assert_true((size_t)snprintf(path, sizeof(path), "%s/presence.db", sp->data_dir) <
                sizeof(path));
    assert_false(pe_exists(path));
    assert_false(sp_log_contains(sp, "mim-presence: mim-presence"));
    return WEXITSTATUS(status);
}

static void test_bad_bind(void **state)
{
    server_proc *sp = *state;

    assert_int_equal(run_refused(sp, "localhost", "0"), 2);
    assert_true(sp_log_contains(sp, "mim-presence: --bind localhost: not a numeric"));
    assert_int_equal(run_refused(sp, "127.0.0.1:80", "0"), 2);
}

/* mim-presence OPTION VALUE, run to its end: its exit code (nothing may be made). */
static int run_option(server_proc *sp, const char *option, const char *value)
{
    const char *argv[] = {MIM_PRESENCE_BIN,   option, value,        "--port",     "0",
                          "--discovery-port", "0",    "--data-dir", sp->data_dir, NULL};
    char out[512], st[64], path[700];
    int status;

    if (sp_run(sp, argv, RUN_MS, out, sizeof(out), &status) != 0)
        fail_msg("%s %s was not refused: %s (stdout: %s)", option, value, sp->err, out);
    if (!WIFEXITED(status))
        fail_msg("mim-presence %s %s %s", option, value, sp_status_str(status, st, sizeof(st)));
    assert_true((size_t)snprintf(path, sizeof(path), "%s/presence.db", sp->data_dir) <
                sizeof(path));
    assert_false(pe_exists(path));
    return WEXITSTATUS(status);
}

static void test_bad_mailbox_options(void **state)
{
    static const char *const bad[][2] = {
        {"--mailbox-expiry", "0"},     {"--mailbox-expiry", "2x"},
        {"--mailbox-expiry", "s"},     {"--mailbox-expiry", "3651d"},
        {"--mailbox-expiry", "-1s"},   {"--mailbox", "yes"},
        {"--directory", "private"},    {"--mailbox-blob-max", "60001"},
        {"--mailbox-max-count", "0"},  {"--mailbox-rate", "0"},
        {"--mailbox-max-bytes", "63"},
    };
    server_proc *sp = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (run_option(sp, bad[i][0], bad[i][1]) != 2)
            fail_msg("%s %s: want exit status 2", bad[i][0], bad[i][1]);
    assert_true(sp_log_contains(sp, "--mailbox-expiry 2x: a duration like 30d"));
    assert_true(sp_log_contains(sp, "--directory private: say on or off"));
}

static void test_foreign_bind(void **state)
{
    server_proc *sp = *state;

    assert_int_equal(run_refused(sp, "192.0.2.1", "0"), 1); /* TEST-NET-1: never ours */
    assert_true(sp_log_contains(sp, "cannot listen on 192.0.2.1"));
}

static void test_port_in_use(void **state)
{
    server_proc *sp = *state;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    char port[16];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(port, sizeof(port), "%d", ntohs(sin.sin_port));
    assert_int_equal(run_refused(sp, "127.0.0.1", port), 1);
    assert_true(sp_log_contains(sp, "address already in use"));
    close(fd);
}

static void test_bind_discovery(void **state)
{
    server_proc *sp = *state;
    static const char *const binds[] = {"127.0.0.2", NULL};
    uint8_t probe[MIM_DISCOVERY_LEN], nonce[MIM_DISCOVERY_NONCE_LEN], buf[512], pk[32];
    struct sockaddr_in to = {.sin_family = AF_INET}, from;
    socklen_t fromlen = sizeof(from);
    struct pollfd pfd;
    uint16_t port = 0;
    char addr[INET_ADDRSTRLEN];
    ssize_t n;
    int fd;

    assert_int_equal(sp_set_bind(sp, binds), 0);
    if (sp_start(sp, NULL) != 0)
        fail_msg("start: %s", sp->err);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    mim_random_bytes(nonce, sizeof(nonce));
    mim_discovery_probe_encode(probe, nonce);
    to.sin_port = htons((uint16_t)sp->discovery_port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1: not the bound address */
    assert_int_equal(sendto(fd, probe, sizeof(probe), 0, (struct sockaddr *)&to, sizeof(to)),
                     (ssize_t)sizeof(probe));
    pfd = (struct pollfd){.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, RUN_MS) != 1)
        fail_msg("no answer to a probe");
    n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
    close(fd);
    assert_int_equal(n, MIM_DISCOVERY_LEN);
    assert_int_equal(mim_discovery_answer_decode(buf, (size_t)n, nonce, &port, pk), 0);
    assert_int_equal(port, sp->port);
    inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
    assert_string_equal(addr, "127.0.0.2");
    assert_int_equal(sp_stop(sp, &(int){0}), 0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(bad_bind),       PE_SCENARIO(foreign_bind),
    PE_SCENARIO(port_in_use),    PE_SCENARIO(bad_mailbox_options),
    PE_SCENARIO(bind_discovery),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
