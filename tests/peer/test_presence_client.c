/* The peer's presence client against the real mim-presence, on loopback.
 *
 * Each scenario is its own ctest entry (peer/<name>): the binary runs the one named by argv[1].
 * Every wait runs the loop until a condition holds, bounded by a guard timer; a scenario that
 * shows that something does NOT happen runs the loop for a fixed, short time. */
#include "peer_env.h"
#include "fake_presence.h"
#include "mim_addr.h"
#include "mim_codec.h"
#include "mim_error.h"
#include "mim_log.h"
#include "presence.pb-c.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#define WAIT_MS    15000 /* anything the server and the client should do promptly */
#define BACKOFF_LO 20    /* fast reconnects for the tests */
#define BACKOFF_HI 200

/* ---- the fixture ----------------------------------------------------------------------------- */

#define MAX_PEERS 4

typedef struct fixture {
    pe_loop l;
    pe_server srv;
    pe_server srv2; /* a second server, with another key */
    pe_peer peers[MAX_PEERS];
    int npeers;
} fixture;

static fixture *F; /* for the predicates' convenience */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    mim_log_set_program("test_presence_client");
    mim_log_set_level(MIM_LOG_DEBUG);
    assert_int_equal(pe_loop_init(&f->l), 0);
    assert_int_equal(pe_server_init(&f->srv, "srv"), 0);
    assert_int_equal(pe_server_init(&f->srv2, "srv2"), 0);
    F = f;
    *state = f;
    return 0;
}

static int all_stopped(void *arg)
{
    fixture *f = arg;
    for (int i = 0; i < f->npeers; i++)
        if (f->peers[i].pc != NULL && !f->peers[i].stopped)
            return 0;
    return 1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int ok;

    for (int i = 0; i < f->npeers; i++)
        pe_peer_stop(&f->peers[i]);
    ok = pe_loop_wait(&f->l, all_stopped, f, WAIT_MS);
    for (int i = 0; i < f->npeers; i++)
        pe_peer_cleanup(&f->peers[i]);
    pe_server_cleanup(&f->srv);
    pe_server_cleanup(&f->srv2);
    assert_true(ok);
    assert_int_equal(pe_loop_close(&f->l), 0);
    free(f);
    F = NULL;
    return 0;
}

static void fail_with(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints what every peer saw and the server log, then fails the test. */
static void fail_with(fixture *f, const char *fmt, ...)
{
    va_list ap;
    char msg[512];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (int i = 0; i < f->npeers; i++)
        pe_dump(&f->peers[i]);
    pe_server_dump_log(&f->srv);
    fail_msg("%s", msg);
}

#define CHECK(f, cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_with((f), __VA_ARGS__);                                                           \
    } while (0)

static pe_peer *new_peer(fixture *f, const char *name, const char *dir)
{
    pe_peer *p = &f->peers[f->npeers];
    int rc = pe_peer_init(p, name, dir);
    assert_int_equal(f->npeers < MAX_PEERS, 1);
    f->npeers++;
    if (rc != 0)
        fail_msg("peer %s: %s", name, p->err);
    return p;
}

static void start_server(fixture *f, pe_server *s, int port)
{
    (void)f;
    if (pe_server_start(s, port) != 0) {
        pe_server_dump_log(s);
        fail_msg("mim-presence: %s", s->err);
    }
}

static void start_peer(fixture *f, pe_peer *p, const pe_server *s)
{
    (void)f;
    if (pe_peer_start(p, &f->l.loop, s->port, 0, BACKOFF_LO, BACKOFF_HI) != 0)
        fail_msg("%s", p->err);
}

/* ---- predicates ------------------------------------------------------------------------------ */

typedef struct want {
    pe_peer *p;
    const char *name;
    int type;
    size_t from;
    size_t n;
} want;

static int connected(void *arg)
{
    return pe_state(arg) == PRESENCE_CONNECTED;
}

static int all_connected(void *arg)
{
    fixture *f = arg;
    for (int i = 0; i < f->npeers; i++)
        if (f->peers[i].pc != NULL && pe_state(&f->peers[i]) != PRESENCE_CONNECTED)
            return 0;
    return 1;
}

static int reconnecting(void *arg)
{
    return pe_state(arg) == PRESENCE_RECONNECTING;
}

static int has_events(void *arg)
{
    want *w = arg;
    return pe_count(w->p, (enum pe_event_type)w->type, w->name, w->from) >= w->n;
}

static int stopped(void *arg)
{
    return ((pe_peer *)arg)->stopped;
}

static void wait_event(fixture *f, pe_peer *p, int type, const char *name, size_t from,
                       const char *what)
{
    want w = {p, name, type, from, 1};
    CHECK(f, pe_loop_wait(&f->l, has_events, &w, WAIT_MS), "%s: %s never came", p->name, what);
}

static void wait_connected(fixture *f, pe_peer *p)
{
    CHECK(f, pe_loop_wait(&f->l, connected, p, WAIT_MS), "%s did not connect", p->name);
}

static void stop_peer(fixture *f, pe_peer *p)
{
    pe_peer_stop(p);
    CHECK(f, pe_loop_wait(&f->l, stopped, p, WAIT_MS), "%s did not stop", p->name);
}

/* Two peers logged in, each seeing the other online. */
static void two_online(fixture *f, pe_peer **a, pe_peer **b)
{
    start_server(f, &f->srv, 0);
    *a = new_peer(f, "alice", NULL);
    *b = new_peer(f, "bob", NULL);
    start_peer(f, *a, &f->srv);
    start_peer(f, *b, &f->srv);
    CHECK(f, pe_loop_wait(&f->l, all_connected, f, WAIT_MS), "the peers did not connect");
    wait_event(f, *a, PE_EV_ONLINE, "bob", 0, "online(bob)");
    wait_event(f, *b, PE_EV_ONLINE, "alice", 0, "online(alice)");
}

static void check_entry(fixture *f, const pe_event *e, const pe_peer *of, int is_self)
{
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    CHECK(f, e != NULL, "no online event for %s", of->name);
    CHECK(f, e->flag == is_self, "%s: is_self %d, expected %d", of->name, e->flag, is_self);
    CHECK(f, e->port == of->listen_port, "%s: port %u, expected %u", of->name, (unsigned)e->port,
          (unsigned)of->listen_port);
    CHECK(f, memcmp(e->pk, of->id->sign_pk, 32) == 0, "%s: not its identity key", of->name);
    CHECK(f, e->addr_len == 4 && memcmp(e->addr, loopback, 4) == 0, "%s: not 127.0.0.1", of->name);
    CHECK(f, e->value == MIM__STATUS__STATUS_AVAILABLE, "%s: status %d", of->name, e->value);
}

/* ---- 1. two clients see each other ----------------------------------------------------------- */

static void test_two_clients(void **state)
{
    fixture *f = *state;
    pe_peer *a, *b;
    const pe_event *e;

    two_online(f, &a, &b);
    check_entry(f, pe_last(a, PE_EV_ONLINE, "bob"), b, 0);
    check_entry(f, pe_last(b, PE_EV_ONLINE, "alice"), a, 0);
    check_entry(f, pe_last(a, PE_EV_ONLINE, "alice"), a, 1);
    check_entry(f, pe_last(b, PE_EV_ONLINE, "bob"), b, 1);
    /* Each saw itself and the other once, no offline, no error. */
    CHECK(f, pe_count(a, PE_EV_ONLINE, NULL, 0) == 2, "alice: %zu online events",
          pe_count(a, PE_EV_ONLINE, NULL, 0));
    CHECK(f, pe_count(a, PE_EV_OFFLINE, NULL, 0) + pe_count(a, PE_EV_ERROR, NULL, 0) == 0,
          "alice: unexpected offline or error");
    CHECK(f, pe_in_table(a, "bob") && pe_in_table(a, "alice"), "alice's table");
    CHECK(f, !presence_client_table_stale(a->pc), "alice's table is stale while connected");
    /* States: CONNECTING, then CONNECTED, and the server's key was new to both. */
    CHECK(f, pe_count(a, PE_EV_STATE, NULL, 0) == 2 && a->ev[0].value == PRESENCE_CONNECTING,
          "alice's states");
    e = pe_last(a, PE_EV_SERVER_KEY, NULL);
    CHECK(f, e != NULL && e->value == MIM_PIN_NEW && !e->flag, "alice's server key verdict");
}

/* ---- 2. status ------------------------------------------------------------------------------- */

static void test_status(void **state)
{
    fixture *f = *state;
    pe_peer *a, *b, *c;
    const pe_event *e;

    two_online(f, &a, &b);
    assert_int_equal(presence_client_set_status(a->pc, MIM__STATUS__STATUS_AWAY, "lunch"), 0);
    wait_event(f, b, PE_EV_STATUS, "alice", 0, "status(alice)");
    e = pe_last(b, PE_EV_STATUS, "alice");
    CHECK(f, e->value == MIM__STATUS__STATUS_AWAY && strcmp(e->text, "lunch") == 0,
          "bob sees alice's status %d '%s'", e->value, e->text);
    /* The sender gets its own confirmation. */
    wait_event(f, a, PE_EV_STATUS, "alice", 0, "status(alice) at alice");
    /* Invalid ones are refused before anything is sent. */
    assert_int_equal(presence_client_set_status(a->pc, 0, ""), MIM_EINVAL);
    assert_int_equal(presence_client_set_status(a->pc, MIM__STATUS__STATUS_BUSY, "two\nlines"),
                     MIM_EINVAL);
    CHECK(f,
          online_table_find_name(presence_client_table(b->pc), "alice")->status ==
              MIM__STATUS__STATUS_AWAY,
          "bob's table"); /* A status set before the login goes out with it. */
    c = new_peer(f, "carol", NULL);
    start_peer(f, c, &f->srv);
    assert_int_equal(presence_client_set_status(c->pc, MIM__STATUS__STATUS_BUSY, "early"), 0);
    wait_event(f, b, PE_EV_STATUS, "carol", 0, "status(carol)");
    e = pe_last(b, PE_EV_STATUS, "carol");
    CHECK(f, e->value == MIM__STATUS__STATUS_BUSY && strcmp(e->text, "early") == 0,
          "bob sees carol's status %d '%s'", e->value, e->text);
}

/* A callback may stop the client: here on_state(CONNECTED). It logs out, and no event
 * follows, not even the table's online events. */
static void test_stop_in_callback(void **state)
{
    fixture *f = *state;
    pe_peer *a = new_peer(f, "alice", NULL);
    size_t n;

    start_server(f, &f->srv, 0);
    a->stop_on_state = PRESENCE_CONNECTED;
    start_peer(f, a, &f->srv);
    CHECK(f, pe_loop_wait(&f->l, stopped, a, WAIT_MS), "alice did not stop");
    n = a->nev;
    CHECK(f, a->ev[n - 1].type == PE_EV_STATE && a->ev[n - 1].value == PRESENCE_CONNECTED,
          "an event after the stop");
    CHECK(f, pe_count(a, PE_EV_ONLINE, NULL, 0) == 0, "online events after the stop");
    CHECK(f, pe_server_wait_log(&f->srv, "alice offline: logged out", WAIT_MS),
          "the server did not see a logout");
}

/* ---- 3. stop -> offline ---------------------------------------------------------------------- */

static void test_offline(void **state)
{
    fixture *f = *state;
    pe_peer *a, *b;

    two_online(f, &a, &b);
    stop_peer(f, a);
    wait_event(f, b, PE_EV_OFFLINE, "alice", 0, "offline(alice)");
    CHECK(f, !pe_in_table(b, "alice"), "alice still in bob's table");
    /* It logged out (a FINAL Logout), it was not dropped. */
    CHECK(f, pe_server_wait_log(&f->srv, "alice offline: logged out", WAIT_MS),
          "the server did not see a logout");
    CHECK(f, pe_state(b) == PRESENCE_CONNECTED, "bob lost the server");
}

/* ---- 4. the server's pin --------------------------------------------------------------------- */

static void run_once(fixture *f, pe_peer *p, pe_server *s, int verdict, const uint8_t *old_pk)
{
    size_t from = p->nev;
    const pe_event *e;
    char fp[MIM_FINGERPRINT_LEN];

    start_peer(f, p, s);
    wait_connected(f, p);
    CHECK(f, pe_count(p, PE_EV_SERVER_KEY, NULL, from) == 1, "one server key event");
    e = pe_last(p, PE_EV_SERVER_KEY, NULL);
    CHECK(f, e->value == verdict, "verdict %d, expected %d", e->value, verdict);
    mim_fingerprint(e->pk, fp);
    CHECK(f, strcmp(fp, s->fingerprint) == 0, "the key reported is not the server's (%s vs %s)", fp,
          s->fingerprint);
    if (old_pk != NULL)
        CHECK(f, e->flag && memcmp(e->old_pk, old_pk, 32) == 0, "old_pk is not the first key");
    else if (verdict != MIM_PIN_CHANGED)
        CHECK(f, !e->flag, "old_pk given for verdict %d", verdict);
    stop_peer(f, p);
}

static const pe_event *key_event_after(fixture *f, pe_peer *p, size_t from, int verdict)
{
    const pe_event *e;
    wait_event(f, p, PE_EV_SERVER_KEY, NULL, from, "a server key verdict");
    CHECK(f, pe_count(p, PE_EV_SERVER_KEY, NULL, from) == 1, "more than one verdict");
    e = pe_last(p, PE_EV_SERVER_KEY, NULL);
    CHECK(f, e->value == verdict, "verdict %d, expected %d", e->value, verdict);
    return e;
}

static void test_server_pin(void **state)
{
    fixture *f = *state;
    pe_peer *p = new_peer(f, "alice", NULL), *again;
    const pe_event *e;
    uint8_t first[32];
    size_t from;
    int port;

    start_server(f, &f->srv, 0);
    port = f->srv.port;
    run_once(f, p, &f->srv, MIM_PIN_NEW, NULL);
    memcpy(first, pe_last(p, PE_EV_SERVER_KEY, NULL)->pk, 32);
    /* A second run on the same store, as the same user: one process at a time on a store. */
    mim_store_close(p->store);
    p->store = NULL;
    again = new_peer(f, "alice", p->dir);
    mim_identity_free(again->id);
    again->id = p->id;
    p->id = NULL;
    again->owns_dir = 1; /* removed after its store is closed */
    p->owns_dir = 0;
    run_once(f, again, &f->srv, MIM_PIN_MATCH, NULL);

    /* The server comes back at the same place with a new data dir, so a new key: the client
     * reports the change, loudly, at every connection, and goes on. */
    start_peer(f, again, &f->srv);
    wait_connected(f, again);
    from = again->nev;
    pe_server_kill(&f->srv);
    start_server(f, &f->srv2, port);
    CHECK(f, f->srv2.port == port, "the new server is on port %d, not %d", f->srv2.port, port);
    e = key_event_after(f, again, from, MIM_PIN_CHANGED);
    CHECK(f, e->flag && memcmp(e->old_pk, first, 32) == 0, "old_pk is not the first key");
    CHECK(f, memcmp(e->pk, first, 32) != 0, "the new key is the old one");
    wait_connected(f, again);
    /* Again at the next connection: the change was not trusted, so it is still one. */
    from = again->nev;
    pe_server_kill(&f->srv2);
    start_server(f, &f->srv2, port);
    e = key_event_after(f, again, from, MIM_PIN_CHANGED);
    CHECK(f, e->flag && memcmp(e->old_pk, first, 32) == 0, "old_pk is not the first key");
    wait_connected(f, again);
    stop_peer(f, again);
    /* The pin itself did not move: a first run with this store is told of the change too. */
    run_once(f, again, &f->srv2, MIM_PIN_CHANGED, NULL);
}

/* ---- 5. the server dies and comes back ------------------------------------------------------- */

static int all_reconnecting(void *arg)
{
    fixture *f = arg;
    for (int i = 0; i < f->npeers; i++)
        if (f->peers[i].pc != NULL && pe_state(&f->peers[i]) != PRESENCE_RECONNECTING)
            return 0;
    return 1;
}

static void test_server_restart(void **state)
{
    fixture *f = *state;
    pe_peer *a, *b, *c;
    size_t a0, b0;
    int port;

    two_online(f, &a, &b);
    c = new_peer(f, "carol", NULL);
    start_peer(f, c, &f->srv);
    wait_connected(f, c);
    wait_event(f, a, PE_EV_ONLINE, "carol", 0, "online(carol) at alice");
    wait_event(f, b, PE_EV_ONLINE, "carol", 0, "online(carol) at bob");
    port = f->srv.port;

    pe_server_kill(&f->srv);
    CHECK(f, pe_loop_wait(&f->l, all_reconnecting, f, WAIT_MS), "not all reconnecting");
    CHECK(f, presence_client_table_stale(a->pc) && pe_in_table(a, "bob") && pe_in_table(a, "carol"),
          "alice's stale table");
    CHECK(f, pe_count(a, PE_EV_OFFLINE, NULL, 0) == 0, "alice reported someone offline");
    /* carol does not come back. */
    stop_peer(f, c);
    a0 = a->nev;
    b0 = b->nev;

    start_server(f, &f->srv, port);
    CHECK(f, f->srv.port == port, "the server came back on port %d, not %d", f->srv.port, port);
    CHECK(f, pe_loop_wait(&f->l, all_connected, f, WAIT_MS), "alice and bob did not reconnect");
    wait_event(f, a, PE_EV_OFFLINE, "carol", a0, "offline(carol) at alice");
    wait_event(f, b, PE_EV_OFFLINE, "carol", b0, "offline(carol) at bob");
    CHECK(f, pe_count(a, PE_EV_OFFLINE, "bob", a0) == 0, "alice reported bob offline");
    CHECK(f, pe_count(b, PE_EV_OFFLINE, "alice", b0) == 0, "bob reported alice offline");
    /* Nothing changed about them: no online events either. */
    CHECK(f, pe_count(a, PE_EV_ONLINE, NULL, a0) == 0, "alice re-reported an unchanged entry");
    CHECK(f, pe_count(b, PE_EV_ONLINE, NULL, b0) == 0, "bob re-reported an unchanged entry");
    CHECK(f, pe_in_table(a, "bob") && !pe_in_table(a, "carol"), "alice's table after");
    CHECK(f, !presence_client_table_stale(a->pc), "alice's table still stale");
    /* Reconnecting, then connected: no CONNECTING in between. */
    CHECK(f,
          pe_count(a, PE_EV_STATE, NULL, a0) == 1 &&
              pe_last(a, PE_EV_STATE, NULL)->value == PRESENCE_CONNECTED,
          "alice's states after the restart");
    /* The new sessions work: a status still goes around. */
    assert_int_equal(presence_client_set_status(b->pc, MIM__STATUS__STATUS_BUSY, "back"), 0);
    wait_event(f, a, PE_EV_STATUS, "bob", a0, "status(bob) after the restart");
}

/* ---- 6. NAME_TAKEN is fatal ------------------------------------------------------------------ */

static void test_name_taken(void **state)
{
    fixture *f = *state;
    pe_peer *a, *b, *x;
    const pe_event *e;
    int accepted;
    size_t a0;

    two_online(f, &a, &b);
    x = new_peer(f, "alice", NULL); /* another key, the same name */
    a0 = a->nev;
    accepted = pe_server_log_count(&f->srv, "accepted from");
    start_peer(f, x, &f->srv);
    wait_event(f, x, PE_EV_ERROR, NULL, 0, "the error");
    e = pe_last(x, PE_EV_ERROR, NULL);
    CHECK(f, e->value == MIM__ERROR_CODE__ERROR_NAME_TAKEN && e->flag == 1,
          "error %d fatal %d, expected NAME_TAKEN, fatal", e->value, e->flag);
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 10 * BACKOFF_HI), "loop");
    CHECK(f, pe_state(x) == PRESENCE_DISCONNECTED, "state %d, expected DISCONNECTED", pe_state(x));
    CHECK(f, pe_count(x, PE_EV_ERROR, NULL, 0) == 1, "more than one attempt");
    CHECK(f, pe_server_log_count(&f->srv, "accepted from") == accepted + 1,
          "%d connections instead of 1", pe_server_log_count(&f->srv, "accepted from") - accepted);
    /* The real alice is untouched. */
    CHECK(f, pe_state(a) == PRESENCE_CONNECTED && a->nev == a0, "alice was disturbed");
}

/* ---- 7. REPLACED is fatal too ---------------------------------------------------------------- */

static void test_replaced(void **state)
{
    fixture *f = *state;
    pe_peer *a, *b, *a2;
    const pe_event *e;

    two_online(f, &a, &b);
    a2 = new_peer(f, "alice", NULL);
    memcpy(a2->id, a->id, sizeof(*a->id)); /* a second process of the same user */
    start_peer(f, a2, &f->srv);
    wait_connected(f, a2);
    wait_event(f, a, PE_EV_ERROR, NULL, 0, "REPLACED");
    e = pe_last(a, PE_EV_ERROR, NULL);
    CHECK(f, e->value == MIM__ERROR_CODE__ERROR_REPLACED && e->flag == 1, "error %d fatal %d",
          e->value, e->flag);
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 10 * BACKOFF_HI), "loop");
    CHECK(f, pe_state(a) == PRESENCE_DISCONNECTED, "the replaced one reconnected");
    CHECK(f, pe_state(a2) == PRESENCE_CONNECTED, "the new one was replaced back");
    CHECK(f, pe_count(b, PE_EV_OFFLINE, "alice", 0) == 0, "bob saw alice go offline");
}

/* ---- 8. keepalive ---------------------------------------------------------------------------- */

static void test_keepalive(void **state)
{
    fixture *f = *state;
    static const char *const extra[] = {"--ping-interval", "300", NULL};
    pe_peer *a = new_peer(f, "alice", NULL), *b = new_peer(f, "bob", NULL);

    /* The server pings alice after 300 ms of silence and drops anyone silent for 900 ms:
     * alice, who never pings herself, must answer. Bob pings the server after 100 ms. */
    memcpy(f->srv.extra, extra, sizeof(extra));
    start_server(f, &f->srv, 0);
    if (pe_peer_start(a, &f->l.loop, f->srv.port, 60000, BACKOFF_LO, BACKOFF_HI) != 0 ||
        pe_peer_start(b, &f->l.loop, f->srv.port, 100, BACKOFF_LO, BACKOFF_HI) != 0)
        fail_msg("start");
    CHECK(f, pe_loop_wait(&f->l, all_connected, f, WAIT_MS), "not connected");
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 3000), "loop");
    CHECK(f, pe_count(a, PE_EV_STATE, NULL, 0) == 2 && pe_count(b, PE_EV_STATE, NULL, 0) == 2,
          "a connection was lost");
    CHECK(f, pe_server_log_count(&f->srv, "no traffic") == 0, "the server timed someone out");
    /* A server that stops answering is given up after 3 of bob's intervals. */
    assert_int_equal(pe_server_signal(&f->srv, SIGSTOP), 0);
    CHECK(f, pe_loop_wait(&f->l, reconnecting, b, 2000), "bob did not notice the dead server");
    assert_int_equal(pe_server_signal(&f->srv, SIGCONT), 0);
}

/* ---- 9. discovery ---------------------------------------------------------------------------- */

typedef struct disc_result {
    int called;
    int status;
    struct sockaddr_storage addr;
    uint8_t pk[32];
    uint64_t at;
} disc_result;

static void on_discovered(void *ud, int status, const struct sockaddr *server, const uint8_t pk[32])
{
    disc_result *r = ud;
    r->called++;
    r->status = status;
    r->at = uv_now(&F->l.loop);
    if (status == 0) {
        memcpy(&r->addr, server, sizeof(struct sockaddr_in));
        memcpy(r->pk, pk, 32);
    }
}

static int disc_called(void *arg)
{
    return ((disc_result *)arg)->called > 0;
}

static void test_discovery(void **state)
{
    fixture *f = *state;
    disc_result r = {0};
    struct sockaddr_in to;
    char fp[MIM_FINGERPRINT_LEN];

    start_server(f, &f->srv, 0);
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(presence_discover(&f->l.loop, (struct sockaddr *)&to,
                                       (uint16_t)f->srv.discovery_port, 2000, NULL, on_discovered,
                                       &r),
                     0);
    CHECK(f, pe_loop_wait(&f->l, disc_called, &r, WAIT_MS), "no callback");
    CHECK(f, r.status == 0, "status %d", r.status);
    CHECK(f, ntohs(((struct sockaddr_in *)&r.addr)->sin_port) == f->srv.port,
          "port %u, expected %d", ntohs(((struct sockaddr_in *)&r.addr)->sin_port), f->srv.port);
    CHECK(f, ((struct sockaddr_in *)&r.addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "not 127.0.0.1");
    mim_fingerprint(r.pk, fp);
    CHECK(f, strcmp(fp, f->srv.fingerprint) == 0, "key %s, expected %s", fp, f->srv.fingerprint);
    /* Exactly once. */
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 100), "loop");
    CHECK(f, r.called == 1, "called %d times", r.called);
}

static void test_discovery_timeout(void **state)
{
    fixture *f = *state;
    disc_result r = {0};
    struct sockaddr_in to;
    socklen_t len = sizeof(to);
    uint64_t t0;
    int fd;

    /* A port nobody listens on: take a free one and let it go. */
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&to, &len), 0);
    close(fd);

    uv_update_time(&f->l.loop);
    t0 = uv_now(&f->l.loop);
    assert_int_equal(presence_discover(&f->l.loop, (struct sockaddr *)&to, ntohs(to.sin_port), 300,
                                       NULL, on_discovered, &r),
                     0);
    CHECK(f, pe_loop_wait(&f->l, disc_called, &r, WAIT_MS), "no callback");
    CHECK(f, r.status < 0, "status %d", r.status);
    CHECK(f, r.at - t0 >= 290 && r.at - t0 < 2000, "after %llu ms, expected 300",
          (unsigned long long)(r.at - t0));
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 100), "loop");
    CHECK(f, r.called == 1, "called %d times", r.called);
    /* The broadcast path (255.255.255.255 and ff02::1) to the same silent port: a failure,
     * whether nothing answered or the host cannot broadcast at all, still reported once. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        presence_discover(&f->l.loop, NULL, ntohs(to.sin_port), 200, NULL, on_discovered, &r), 0);
    CHECK(f, pe_loop_wait(&f->l, disc_called, &r, WAIT_MS), "no callback (broadcast)");
    CHECK(f, r.status < 0 && r.called == 1, "broadcast: status %d, called %d", r.status, r.called);
    /* Bad arguments are refused at once. */
    assert_int_equal(presence_discover(&f->l.loop, NULL, 0, 300, NULL, on_discovered, &r),
                     MIM_EINVAL);
}

/* ---- 10. discovery prefers the pinned server ------------------------------------------------- */

/* A UDP relay in front of two real servers: the probe it gets goes to both, and their answers
 * come back from the relay's address (127.0.0.1, like both servers), the rogue's always first:
 * the real server's answer is held until the rogue's went out (or dropped, with forward_real
 * unset). So "the rogue answers first" is staged deterministically. */
typedef struct relay {
    uv_udp_t sock;
    struct sockaddr_in self, client, real, rogue;
    int have_client;
    int forward_real;
    int rogue_out, real_out; /* answers forwarded, in this order */
    uint8_t held[128];
    size_t held_len;
    uint8_t rbuf[128];
} relay;

static void relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    relay *r = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)r->rbuf, sizeof(r->rbuf));
}

static void relay_send(relay *r, const struct sockaddr_in *to, const void *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    assert_true(uv_udp_try_send(&r->sock, &b, 1, (const struct sockaddr *)to) == (int)n);
}

static void relay_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                       unsigned flags)
{
    relay *r = h->data;
    const struct sockaddr_in *in = (const struct sockaddr_in *)from;

    (void)flags;
    if (nread <= 0 || from == NULL || from->sa_family != AF_INET)
        return;
    if (in->sin_port == r->rogue.sin_port) {
        relay_send(r, &r->client, buf->base, (size_t)nread);
        r->rogue_out++;
        if (r->held_len > 0) {
            relay_send(r, &r->client, r->held, r->held_len);
            r->held_len = 0;
            r->real_out++;
        }
    } else if (in->sin_port == r->real.sin_port) {
        if (!r->forward_real)
            return;
        if (r->rogue_out > 0) {
            relay_send(r, &r->client, buf->base, (size_t)nread);
            r->real_out++;
        } else {
            memcpy(r->held, buf->base, (size_t)nread);
            r->held_len = (size_t)nread;
        }
    } else { /* a probe: to both servers */
        r->client = *in;
        r->have_client = 1;
        relay_send(r, &r->rogue, buf->base, (size_t)nread);
        relay_send(r, &r->real, buf->base, (size_t)nread);
    }
}

static void relay_start(fixture *f, relay *r, int forward_real)
{
    int len = sizeof(r->self);

    memset(r, 0, sizeof(*r));
    r->forward_real = forward_real;
    uv_ip4_addr("127.0.0.1", f->srv.discovery_port, &r->real);
    uv_ip4_addr("127.0.0.1", f->srv2.discovery_port, &r->rogue);
    uv_ip4_addr("127.0.0.1", 0, &r->self);
    assert_int_equal(uv_udp_init(&f->l.loop, &r->sock), 0);
    r->sock.data = r;
    assert_int_equal(uv_udp_bind(&r->sock, (struct sockaddr *)&r->self, 0), 0);
    assert_int_equal(uv_udp_getsockname(&r->sock, (struct sockaddr *)&r->self, &len), 0);
    assert_int_equal(uv_udp_recv_start(&r->sock, relay_alloc, relay_recv), 0);
}

static void relay_stop(fixture *f, relay *r)
{
    uv_close((uv_handle_t *)&r->sock, NULL);
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 10), "loop");
}

/* One discovery through a relay: the answer taken. */
static void discover_via(fixture *f, relay *r, const uint8_t *pin, disc_result *res)
{
    memset(res, 0, sizeof(*res));
    assert_int_equal(presence_discover(&f->l.loop, (struct sockaddr *)&r->self,
                                       ntohs(r->self.sin_port), 2000, pin, on_discovered, res),
                     0);
    CHECK(f, pe_loop_wait(&f->l, disc_called, res, WAIT_MS), "no callback");
    CHECK(f, res->status == 0, "status %d", res->status);
}

static int answer_port(const disc_result *res)
{
    return ntohs(((const struct sockaddr_in *)&res->addr)->sin_port);
}

/* Two servers answer, the rogue first: with the real server's key pinned, the real one is
 * chosen; without a pin the first answer is; with the pin and no answer from the pinned server,
 * the rogue's is taken after the wait (issue 12, finding 2). */
static void test_discovery_prefers_pin(void **state)
{
    fixture *f = *state;
    disc_result res;
    uint8_t pin[32];
    struct sockaddr_in to;
    relay r;

    start_server(f, &f->srv, 0);
    start_server(f, &f->srv2, 0);
    /* The real server's key, as a peer that logged in once would have pinned it. */
    uv_ip4_addr("127.0.0.1", 1, &to);
    memset(&res, 0, sizeof(res));
    assert_int_equal(presence_discover(&f->l.loop, (struct sockaddr *)&to,
                                       (uint16_t)f->srv.discovery_port, 2000, NULL, on_discovered,
                                       &res),
                     0);
    CHECK(f, pe_loop_wait(&f->l, disc_called, &res, WAIT_MS) && res.status == 0, "no key");
    memcpy(pin, res.pk, sizeof(pin));

    relay_start(f, &r, 1);
    discover_via(f, &r, pin, &res);
    CHECK(f, r.rogue_out >= 1, "the rogue's answer was not relayed first");
    CHECK(f, answer_port(&res) == f->srv.port, "port %d: the rogue (%d) was chosen, not %d",
          answer_port(&res), f->srv2.port, f->srv.port);
    CHECK(f, memcmp(res.pk, pin, 32) == 0, "not the pinned key");
    relay_stop(f, &r);

    relay_start(f, &r, 1);
    discover_via(f, &r, NULL, &res);
    CHECK(f, answer_port(&res) == f->srv2.port, "without a pin, the first answer is taken");
    relay_stop(f, &r);

    relay_start(f, &r, 0);
    discover_via(f, &r, pin, &res);
    CHECK(f, answer_port(&res) == f->srv2.port && r.real_out == 0,
          "with the pinned server silent, the other answer is taken after the wait");
    relay_stop(f, &r);
}

/* ---- 11. table entries with addresses no peer can have --------------------------------------- */

static int fake_closed(void *arg)
{
    return ((fake_presence *)arg)->closed > 0;
}

/* A server (a fake one: the real one takes each address from the connection) sends a table with
 * one good entry and five whose addresses no peer can have, then moves the good one to 0.0.0.0:
 * the bad entries never reach the table nor the owner (so they are never dialled), the move is
 * reported as the peer going offline, and the connection stays up (issue 12, finding 2). */
static void test_table_bad_addresses(void **state)
{
    static const struct {
        const char *name, *addr;
    } entries[] = {
        {"bob", "127.0.0.2"}, /* loopback, from a loopback server: fine */
        {"zero", "0.0.0.0"},  {"mcast", "224.0.0.1"}, {"bcast", "255.255.255.255"},
        {"unspec6", "::"},    {"mcast6", "ff02::1"},
    };
    enum { N = sizeof(entries) / sizeof(entries[0]) };
    fixture *f = *state;
    Mim__PeerInfo info[N + 1], *infos[N];
    uint8_t raw[N + 1][16], pk[32];
    Mim__TableChunk tc = MIM__TABLE_CHUNK__INIT;
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;
    Mim__PresenceMsg m_table = MIM__PRESENCE_MSG__INIT, m_add = MIM__PRESENCE_MSG__INIT;
    const Mim__PresenceMsg *msgs[2] = {&m_table, &m_add};
    fake_presence fs;
    pe_peer *a;

    memset(pk, 0x42, sizeof(pk));
    for (size_t i = 0; i < N; i++) {
        struct sockaddr_storage ss;
        size_t n;
        assert_int_equal(mim_addr_parse(entries[i].addr, 1, &ss), 0);
        if (ss.ss_family == AF_INET6) {
            memcpy(raw[i], &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
            n = 16;
        } else {
            n = mim_addr_raw((struct sockaddr *)&ss, raw[i]);
        }
        pk[0] = (uint8_t)i;
        mim_peer_info_init(&info[i], entries[i].name, raw[i], n, 5000, pk,
                           MIM__STATUS__STATUS_AVAILABLE, "");
        infos[i] = &info[i];
    }
    tc.peers = infos;
    tc.n_peers = N;
    tc.last = 1;
    m_table.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    m_table.table = &tc;
    memset(raw[N], 0, 4); /* bob moves to 0.0.0.0 */
    pk[0] = 0;
    mim_peer_info_init(&info[N], "bob", raw[N], 4, 5000, pk, MIM__STATUS__STATUS_AVAILABLE, "");
    add.peer = &info[N];
    m_add.body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m_add.add = &add;
    assert_int_equal(fake_presence_start(&fs, &f->l.loop, msgs, 2), 0);

    a = new_peer(f, "alice", NULL);
    if (pe_peer_start(a, &f->l.loop, fs.port, 0, BACKOFF_LO, BACKOFF_HI) != 0)
        fail_msg("%s", a->err);
    wait_event(f, a, PE_EV_OFFLINE, "bob", 0, "bob offline after his move to 0.0.0.0");
    CHECK(f, pe_count(a, PE_EV_ONLINE, "bob", 0) == 1, "bob was not online first");
    for (size_t i = 1; i < N; i++)
        CHECK(f,
              pe_count(a, PE_EV_ONLINE, entries[i].name, 0) == 0 &&
                  !pe_in_table(a, entries[i].name),
              "%s (%s) was kept", entries[i].name, entries[i].addr);
    CHECK(f, !pe_in_table(a, "bob"), "bob kept at 0.0.0.0");
    CHECK(f, pe_state(a) == PRESENCE_CONNECTED && fs.closed == 0, "the connection did not stay");
    stop_peer(f, a);
    CHECK(f, pe_loop_wait(&f->l, fake_closed, &fs, WAIT_MS), "the fake server's session stayed");
    fake_presence_stop(&fs);
    CHECK(f, pe_loop_wait(&f->l, NULL, NULL, 10), "loop");
}

/* ---- main ------------------------------------------------------------------------------------ */

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(two_clients),
    PE_SCENARIO(status),
    PE_SCENARIO(offline),
    PE_SCENARIO(server_pin),
    PE_SCENARIO(server_restart),
    PE_SCENARIO(name_taken),
    PE_SCENARIO(replaced),
    PE_SCENARIO(keepalive),
    PE_SCENARIO(discovery),
    PE_SCENARIO(discovery_timeout),
    PE_SCENARIO(stop_in_callback),
    PE_SCENARIO(discovery_prefers_pin),
    PE_SCENARIO(table_bad_addresses),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
