/* End-to-end tests of `mim --json` with several presence servers (issue 18: --server A,B, or
 * repeated): the real mim-presence (peer_env.c), twice, and real mim processes driven through
 * pipes (mim_proc.h). The servers here are not clustered: these tests are about the peer moving
 * along its list, not about what the servers share. Each scenario is its own ctest entry
 * (peer/json_servers_<name>):
 *
 *   servers_first_down      the first server of the list is down at start: mim logs in to
 *                           the next one at once (not after the backoff), and says so in its
 *                           log
 *   servers_current_killed  the server two peers are logged in to is SIGKILLed: both move on
 *                           along their lists (one repeated --server, one a comma list with a
 *                           dead address in it) to the server still up, and see a newcomer
 *                           there */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The move to the next server: a jitter of at most 500 ms, then a login (ASan, a loaded CI). */
#define MOVE_MS 10000

/* A second server, started on a port the kernel chose (or the test fails). */
static void second_server(pe_server *s, const char *tag)
{
    if (pe_server_init(s, tag) != 0 || pe_server_start(s, 0) != 0)
        fail_msg("the second server did not start: %s", s->err);
}

/* A port where no server listens: a server's, once it is killed. */
static int dead_port(pe_server *s)
{
    second_server(s, "json-servers-dead");
    pe_server_kill(s);
    return s->port;
}

/* Waits for p's `presence connected` (from index from) and checks which server it names. */
static void expect_connected_to(mp *p, size_t from, int port)
{
    char want[64];
    const char *got;
    json_t *e = mp_expect_within(p, from, "presence", "state", "connected", MOVE_MS);

    snprintf(want, sizeof(want), "127.0.0.1:%d", port);
    got = sfield(e, "server");
    if (got == NULL || strcmp(got, want) != 0) {
        mp_dump(p);
        fail_msg("%s connected to %s, not %s", p->name, got != NULL ? got : "(none)", want);
    }
}

/* The first server is down: the next one is used at once. */
static void test_servers_first_down(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    pe_server dead;
    char up[64];
    uint64_t t0;

    snprintf(up, sizeof(up), "127.0.0.1:%d", f->srv.port);
    a->extra[0] = "--server";
    a->extra[1] = up;
    t0 = now_ms();
    assert_int_equal(mp_start(a, dead_port(&dead)), 0); /* --server DEAD --server UP */
    expect_connected_to(a, 0, f->srv.port);
    /* Not after the backoff of a full round: within the jitter of the move (and a login). */
    if (now_ms() - t0 > MOVE_MS / 2)
        fail_msg("the next server took %llu ms", (unsigned long long)(now_ms() - t0));
    mp_expect_log(a, "trying the next server");
    mp_quit(a);
    pe_server_cleanup(&dead);
}

/* The current server dies: the peers move on to the one still up, and live there. */
static void test_servers_current_killed(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];
    pe_server s2, dead;
    char list_a[64], list_b[128];
    size_t a0, b0;

    second_server(&s2, "json-servers-2");
    /* alice: --server S1 --server S2; bob: --server S1 --server DEAD,S2 */
    snprintf(list_a, sizeof(list_a), "127.0.0.1:%d", s2.port);
    snprintf(list_b, sizeof(list_b), "127.0.0.1:%d,127.0.0.1:%d", dead_port(&dead), s2.port);
    a->extra[0] = "--server";
    a->extra[1] = list_a;
    b->extra[0] = "--server";
    b->extra[1] = list_b;
    start_peer(f, a);
    start_peer(f, b);
    expect_connected_to(a, 0, f->srv.port);
    expect_connected_to(b, 0, f->srv.port);
    see_each_other(a, b);

    a0 = a->nev;
    b0 = b->nev;
    pe_server_kill(&f->srv);
    mp_expect(a, a0, "presence", "state", "reconnecting");
    mp_expect(b, b0, "presence", "state", "reconnecting");
    expect_connected_to(a, a0, s2.port);
    expect_connected_to(b, b0, s2.port);

    /* Both live on S2 now: a newcomer there is seen by both, and they still chat. */
    a0 = a->nev;
    b0 = b->nev;
    assert_int_equal(mp_start(c, s2.port), 0);
    mp_expect(c, 0, "ready", "name", "carol");
    mp_expect(a, a0, "online", "name", "carol");
    mp_expect(b, b0, "online", "name", "carol");
    exchange(a, b, "after the move", "m1", NULL);
    mp_quit(c);
    mp_quit(a);
    mp_quit(b);
    pe_server_cleanup(&s2);
    pe_server_cleanup(&dead);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(servers_first_down),
    PE_SCENARIO(servers_current_killed),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-servers");
}
