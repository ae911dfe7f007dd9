/* Several mim-presence servers as one over a NATS cluster (issue 18), black box: three
 * nats-server processes (nats_cluster.h), two or three servers with --cluster, test clients.
 * One scenario per ctest entry (cluster/<scenario>):
 *
 *   converge          a login, a status change and a logout on one server reach a peer of
 *                     the other, and a newcomer's table holds the other server's peers; a
 *                     server stopped in order takes its peers along at once
 *   name_race         two keys log in with one name at once on two servers: exactly one wins
 *   server_killed     a SIGKILLed server's peers are deleted elsewhere within 6 s; restarted
 *                     at once, its new boot id drops its old peers (no ghosts)
 *   replaced          one identity logs in on another server: the older login gets REPLACED
 *   hostile_bus       bad bus messages are dropped and logged; nothing forged gets in
 *   free_name         --free-name --cluster releases a name for another key on any server
 *   nats_node_killed  a NATS node dies: fail-over to the next, resync, new names still work
 *   nats_down         NATS gone: own peers stay, new names REGISTRY_UNAVAILABLE, a known name
 *                     with its key logs in; NATS back: resync, new names again
 *
 * Usage: test_cluster SCENARIO. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster_fixture.h"
#include "scenario.h"

#include <nats/nats.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define SEEN_MS 5000 /* an event reaches the other server's peers well within this */

/* Waits at most ms until sp's log holds needle at least n times: 1 when it does. */
static int wait_log_count(const server_proc *sp, const char *needle, int n, int ms)
{
    long long deadline = cf_now_ms() + ms;

    do {
        FILE *fp = fopen(sp->log_path, "r");
        char line[2048];
        int count = 0;
        while (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
            count += strstr(line, needle) != NULL;
        if (fp != NULL)
            fclose(fp);
        if (count >= n)
            return 1;
        poll(NULL, 0, 50);
    } while (cf_now_ms() < deadline);
    return 0;
}

/* Logs in a fresh key as name on server i, again every 200 ms while the registry is
 * unavailable, for at most ms. */
static cf_client *cf_login_retry(cluster_fixture *f, int i, const char *name, int ms)
{
    long long deadline = cf_now_ms() + ms;
    cf_client *cl;
    int rc;

    while ((rc = cf_login(f, i, NULL, name, &cl)) == MIM__ERROR_CODE__ERROR_REGISTRY_UNAVAILABLE &&
           cf_now_ms() < deadline) {
        tc_free(cl->c);
        f->ncl--;
        poll(NULL, 0, 200);
    }
    if (rc != 0)
        fail_msg("login as %s on s%d: %d", name, i, rc);
    return cl;
}

/* Publishes what a hostile or broken publisher on the bus could: bytes that are no protobuf, a
 * message with an invalid name inside, one whose subject names another sender, one from an
 * invalid server id. */
static void publish_hostile(const char *url)
{
    Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
    Mim__ClusterEvents evs = MIM__CLUSTER_EVENTS__INIT;
    Mim__ClusterEvent ev = MIM__CLUSTER_EVENT__INIT, *evp = &ev;
    Mim__ClusterPeer cp = MIM__CLUSTER_PEER__INIT;
    Mim__PeerInfo pi;
    uint8_t boot[16] = {1}, pk[32] = {2}, addr[4] = {127, 0, 0, 1};
    natsConnection *nc = NULL;
    mim_buf out = {0};

    assert_int_equal(natsConnection_ConnectTo(&nc, url), NATS_OK);
    assert_int_equal(natsConnection_Publish(nc, "mim.cluster.v1.events.evil", "\xff\xff\x01", 3),
                     NATS_OK);
    mim_peer_info_init(&pi, "ev\x01il", addr, 4, 4000, pk, MIM__STATUS__STATUS_AVAILABLE, "");
    cp.info = &pi;
    cp.login_ms = UINT64_MAX; /* it would win every conflict, were it let in */
    ev.kind_case = MIM__CLUSTER_EVENT__KIND_ADD;
    ev.add = &cp;
    evs.events = &evp;
    evs.n_events = 1;
    m.server_id = "evil";
    m.boot_id.data = boot;
    m.boot_id.len = sizeof(boot);
    m.seq = 1;
    m.body_case = MIM__CLUSTER_MSG__BODY_EVENTS;
    m.events = &evs;
    assert_int_equal(mim_cluster_msg_pack(&m, &out), 0);
    assert_int_equal(
        natsConnection_Publish(nc, "mim.cluster.v1.events.evil", out.data, (int)out.len), NATS_OK);
    pi.name = "evil"; /* valid now, but on another sender's subject */
    assert_int_equal(mim_cluster_msg_pack(&m, &out), 0);
    assert_int_equal(natsConnection_Publish(nc, "mim.cluster.v1.events.s1", out.data, (int)out.len),
                     NATS_OK);
    m.server_id = "../s1";
    assert_int_equal(mim_cluster_msg_pack(&m, &out), 0);
    assert_int_equal(
        natsConnection_Publish(nc, "mim.cluster.v1.events.evil", out.data, (int)out.len), NATS_OK);
    assert_int_equal(natsConnection_FlushTimeout(nc, 5000), NATS_OK);
    mim_buf_free(&out);
    natsConnection_Destroy(nc);
}

static void converge(void **state)
{
    cluster_fixture *f = *state;
    cf_client *alice, *bob, *carol;
    int status;

    cf_start_cluster(f, 2, NULL);
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

    /* A server stopped in order takes its peers along at once, long before a timeout would. */
    (void)cf_online(f, 0, NULL, "dave");
    assert_int_equal(cf_wait_name(bob, "dave", 1, SEEN_MS), 0);
    assert_int_equal(sp_stop(&f->sp[0], &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(cf_wait_name(bob, "dave", 0, 1500), 0);
}

/* Two keys log in with one name at once, one on each server: exactly one gets it. Four names,
 * each raced once. */
static void name_race(void **state)
{
    static const char *const names[] = {"zed", "yan", "xia", "wim"};
    cluster_fixture *f = *state;

    cf_start_cluster(f, 2, NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tc_client *c[2];
        uint8_t frame[2][1024];
        size_t len[2];
        int won = 0, taken = 0;
        for (int k = 0; k < 2; k++) {
            assert_non_null(c[k] = tc_new(NULL));
            assert_int_equal(tc_connect(c[k], f->sp[k].port), TC_OK);
            assert_int_equal(tc_handshake(c[k], names[i]), TC_OK);
            assert_int_equal(
                tc_build_login(c[k], names[i], 5000, 0, frame[k], sizeof(frame[k]), &len[k]),
                TC_OK);
        }
        for (int k = 0; k < 2; k++) /* back to back: both claims are in flight together */
            assert_int_equal(tc_send_frame(c[k], frame[k], len[k]), TC_OK);
        for (int k = 0; k < 2; k++) {
            int rc = tc_read_table(c[k], 8000);
            won += rc == 0;
            taken += rc == MIM__ERROR_CODE__ERROR_NAME_TAKEN;
        }
        for (int k = 0; k < 2; k++)
            tc_free(c[k]);
        if (won != 1 || taken != 1)
            fail_msg("'%s': %d logins won and %d were NAME_TAKEN; want 1 and 1", names[i], won,
                     taken);
    }
}

/* A presence server SIGKILLed: its peers are deleted on the other server within 6 s. Started
 * again at once (a new boot), it leaves no ghost either. */
static void server_killed(void **state)
{
    cluster_fixture *f = *state;
    cf_client *bob;
    long long t0;

    cf_start_cluster(f, 2, NULL);
    (void)cf_online(f, 0, NULL, "alice");
    bob = cf_online(f, 1, NULL, "bob");
    assert_int_equal(cf_wait_name(bob, "alice", 1, SEEN_MS), 0);
    t0 = cf_now_ms();
    assert_int_equal(sp_signal(&f->sp[0], SIGKILL), 0);
    assert_int_equal(cf_wait_name(bob, "alice", 0, 6000), 0);
    if (cf_now_ms() - t0 > 6000)
        fail_msg("alice deleted %lld ms after the kill", cf_now_ms() - t0);
    sp_kill(&f->sp[0]); /* reaped */

    /* Again, with a restart before the dead server could time out: its new boot id tells. */
    cf_start_server(f, 0, NULL);
    (void)cf_online(f, 0, NULL, "carol");
    assert_int_equal(cf_wait_name(bob, "carol", 1, SEEN_MS), 0);
    assert_int_equal(sp_signal(&f->sp[0], SIGKILL), 0);
    sp_kill(&f->sp[0]);
    t0 = cf_now_ms();
    cf_start_server(f, 0, NULL);
    assert_int_equal(cf_wait_name(bob, "carol", 0, 6000), 0);
    assert_true(sp_wait_log(&f->sp[1], "server s0 restarted", 6000) || cf_now_ms() - t0 < 6000);
}

/* The same identity logs in on the other server: the older login is told REPLACED, and the
 * third server's peers see the new entry only. */
static void replaced(void **state)
{
    cluster_fixture *f = *state;
    mim_identity *id = mim_identity_generate();
    cf_client *old, *again, *watcher;

    assert_non_null(id);
    cf_start_cluster(f, 3, NULL);
    watcher = cf_online(f, 2, NULL, "watcher");
    old = cf_online(f, 0, id, "dana");
    assert_int_equal(cf_wait_name(watcher, "dana", 1, SEEN_MS), 0);
    again = cf_online(f, 1, id, "dana");
    assert_int_equal(tc_expect_closed(old->c, SEEN_MS), MIM__ERROR_CODE__ERROR_REPLACED);
    assert_int_equal(tc_sync(again->c, SEEN_MS), TC_OK); /* the new login stays */
    assert_int_equal(cf_wait_name(watcher, "dana", 1, 0), 0);
    assert_true(sp_wait_log(&f->sp[0], "replaced by a new login on server s1", SEEN_MS));
    mim_identity_free(id);
}

/* A forged or broken bus message: dropped and logged; the servers go on as before. */
static void hostile_bus(void **state)
{
    cluster_fixture *f = *state;
    cf_client *alice;
    char url[64];

    cf_start_cluster(f, 2, NULL);
    alice = cf_online(f, 0, NULL, "alice");
    publish_hostile(nc_url(&f->nats, 0, url, sizeof(url)));
    assert_true(sp_wait_log(&f->sp[0], "dropped a bad bus message", SEEN_MS));
    (void)cf_online(f, 1, NULL, "bob"); /* the bus still works, both ways */
    assert_int_equal(cf_wait_name(alice, "bob", 1, SEEN_MS), 0);
    assert_int_equal(cf_wait_name(alice, "evil", 0, 0), 0); /* nothing forged got through */
    assert_int_equal(tc_sync(alice->c, SEEN_MS), TC_OK);
}

/* --free-name with --cluster releases a name in the cluster's registry: another key may then
 * take it, on any server. */
static void free_name(void **state)
{
    cluster_fixture *f = *state;
    mim_identity *first = mim_identity_generate(), *second = mim_identity_generate();
    const char *argv[] = {MIM_PRESENCE_BIN, "--cluster", f->nats.urls, "--free-name", "zoe", NULL};
    cf_client *cl;
    char out[512];
    int status;

    cf_start_cluster(f, 2, NULL);
    cl = cf_online(f, 0, first, "zoe");
    assert_int_equal(tc_logout(cl->c), TC_OK);
    assert_int_equal(cf_login(f, 1, second, "zoe", &cl), MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    assert_int_equal(sp_run(&f->sp[1], argv, 10000, out, sizeof(out), &status), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strstr(out, "released 'zoe'") == NULL)
        fail_msg("--free-name zoe: status %d, said: %s", status, out);
    (void)cf_online(f, 1, second, "zoe");
    assert_int_equal(sp_run(&f->sp[1], argv, 10000, out, sizeof(out), &status), 0);
    assert_true(strstr(out, "released") != NULL); /* zoe is registered again, to second */
    argv[4] = "nobody";
    assert_int_equal(sp_run(&f->sp[1], argv, 10000, out, sizeof(out), &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    mim_identity_free(first);
    mim_identity_free(second);
}

/* A NATS node dies: the servers on it fail over to the next URL, resync, and the bus and the
 * registry (replicated on three nodes) go on. */
static void nats_node_killed(void **state)
{
    cluster_fixture *f = *state;
    cf_client *alice, *bob;

    cf_start_cluster(f, 2, NULL);
    alice = cf_online(f, 0, NULL, "alice");
    bob = cf_online(f, 1, NULL, "bob");
    assert_int_equal(cf_wait_name(alice, "bob", 1, SEEN_MS), 0);
    assert_int_equal(nc_kill(&f->nats, 0), 0); /* the first URL: both servers' node */
    for (int i = 0; i < 2; i++)
        if (!wait_log_count(&f->sp[i], "cluster: bus connected", 2, 10000))
            fail_msg("server s%d did not fail over to another NATS node", i);
    /* A new name: the registry answers once JetStream has a leader for the names' bucket on the
     * nodes left (its election after the node's death may outlast the reconnect). */
    (void)cf_login_retry(f, 0, "carol", 15000);
    (void)cf_login_retry(f, 1, "dave", 15000);
    assert_int_equal(cf_wait_name(bob, "carol", 1, SEEN_MS), 0);
    assert_int_equal(cf_wait_name(alice, "dave", 1, SEEN_MS), 0);
    assert_int_equal(cf_wait_name(bob, "alice", 1, 0), 0); /* nobody lost on the way */
}

/* NATS unreachable: a server's own peers stay; a new name is refused with
 * REGISTRY_UNAVAILABLE, a name it knows for the key logging in is let in; when NATS is back,
 * new names work again and the tables resync. */
static void nats_down(void **state)
{
    cluster_fixture *f = *state;
    mim_identity *known = mim_identity_generate();
    cf_client *bob, *cl, *erin;

    assert_non_null(known);
    cf_start_cluster(f, 2, NULL);
    cl = cf_online(f, 0, known, "alice");
    assert_int_equal(tc_logout(cl->c), TC_OK);
    bob = cf_online(f, 0, NULL, "bob");
    erin = cf_online(f, 1, NULL, "erin");
    assert_int_equal(cf_wait_name(bob, "erin", 1, SEEN_MS), 0);

    nc_kill_all(&f->nats);
    assert_true(sp_wait_log(&f->sp[0], "bus unreachable", SEEN_MS));
    assert_int_equal(cf_login(f, 0, NULL, "carol", &cl),
                     MIM__ERROR_CODE__ERROR_REGISTRY_UNAVAILABLE);
    (void)cf_online(f, 0, known, "alice");                       /* known here, with its key */
    assert_int_equal(cf_wait_name(bob, "alice", 1, SEEN_MS), 0); /* own peers stay, and hear */

    for (int i = 0; i < NC_NODES; i++)
        assert_int_equal(nc_restart(&f->nats, i), 0);
    assert_true(wait_log_count(&f->sp[0], "cluster: bus connected", 2, 15000));
    assert_int_equal(cf_wait_name(erin, "alice", 1, 15000), 0); /* resynced */
    assert_int_equal(cf_wait_name(bob, "erin", 1, 15000), 0);
    (void)cf_login_retry(f, 0, "carol", 15000); /* new names again, once JetStream is up */
    mim_identity_free(known);
}

#define CLUSTER_TEST(fn) cmocka_unit_test_setup_teardown(fn, cf_setup, cf_teardown)

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    CLUSTER_TEST(converge),         CLUSTER_TEST(name_race),   CLUSTER_TEST(server_killed),
    CLUSTER_TEST(replaced),         CLUSTER_TEST(hostile_bus), CLUSTER_TEST(free_name),
    CLUSTER_TEST(nats_node_killed), CLUSTER_TEST(nats_down),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "cluster");
}
