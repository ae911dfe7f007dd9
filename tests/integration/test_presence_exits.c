/* mim-presence's exits at start-up (issue 13), black box: the real server binary on an
 * unusable --bind or a port in use exits 2 (usage) or 1 (run time) before it creates any key
 * or database, and says why with one program name. One scenario per ctest entry
 * (integration/exits_<name>):
 *
 *   bad_bind        --bind that is no numeric address (or has a port): exit 2, nothing made
 *   foreign_bind    --bind an address this host does not have (192.0.2.1): exit 1, nothing made
 *   port_in_use     --port held by another socket: exit 1, "address already in use", nothing
 *                   made
 *
 * Every wait is bounded (sp_run: RUN_MS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(bad_bind),
    PE_SCENARIO(foreign_bind),
    PE_SCENARIO(port_in_use),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
