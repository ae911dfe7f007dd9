/* Several mim-presence servers as one over a NATS cluster (issue 18), black box: three
 * nats-server processes (nats_cluster.h), two or three servers with --cluster, test clients.
 * One scenario per ctest entry (cluster/<scenario>):
 *
 *   converge        a login, a status change and a logout on one server reach a peer of the
 *                   other, and a newcomer's table holds the other server's peers
 *
 * Usage: test_cluster SCENARIO. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster_fixture.h"
#include "scenario.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define SEEN_MS 5000 /* an event reaches the other server's peers well within this */

static void converge(void **state)
{
    cluster_fixture *f = *state;
    cf_client *alice, *bob, *carol;

    cf_start_server(f, 0, NULL);
    cf_start_server(f, 1, NULL);
    cf_wait_joined(f);
    alice = cf_online(f, 0, NULL, "alice");
    bob = cf_online(f, 1, NULL, "bob");
    assert_int_equal(cf_wait_name(alice, "bob", 1, SEEN_MS), 0);
    assert_int_equal(cf_wait_name(bob, "alice", 1, SEEN_MS), 0);
    carol = cf_online(f, 1, NULL, "carol"); /* her table holds both servers' peers */
    assert_int_equal(cf_wait_name(carol, "alice", 1, 0), 0);
    assert_int_equal(cf_wait_name(carol, "bob", 1, 0), 0);
    assert_int_equal(tc_send_status(alice->c, MIM__STATUS__STATUS_AWAY, "lunch"), TC_OK);
    assert_int_equal(cf_wait_status(bob, "alice", "lunch", SEEN_MS), 0);
    assert_int_equal(tc_logout(alice->c), TC_OK);
    assert_int_equal(cf_wait_name(bob, "alice", 0, SEEN_MS), 0);
    assert_int_equal(cf_wait_name(carol, "alice", 0, SEEN_MS), 0);
}

#define CLUSTER_TEST(fn) cmocka_unit_test_setup_teardown(fn, cf_setup, cf_teardown)

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    CLUSTER_TEST(converge),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "cluster");
}
