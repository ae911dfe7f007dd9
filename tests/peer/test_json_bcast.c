/* End-to-end tests of broadcast to everyone (issue 16): the real mim-presence and three real
 * `mim --json` processes (alice, bob, carol) driven through pipes (mim_proc.h). Each scenario
 * is its own ctest entry (peer/json_<name>):
 *
 *   broadcast_everyone   alice broadcasts: bob and carol each get it once, marked as a
 *                        broadcast; alice hears it delivered to 1 and then 2 of 2
 *   broadcast_important  an important broadcast: each receiver acknowledges it
 *                        (ack_broadcast), alice hears broadcast_ack and broadcast_status says
 *                        who has read it and who not; a second ack is refused
 *   broadcast_restricted the server restricts broadcast to alice (--broadcasters): carol's own
 *                        peer refuses her broadcast; bob, whose peer skips its own check
 *                        (MIM_TEST_BROADCAST_UNCHECKED, a modified sender), sends one anyway and
 *                        the RECEIVERS refuse it (logged, not shown); alice's still arrives
 *   broadcast_history    after bob restarts, his history and search mark alice's broadcasts
 *                        as the live message did ("broadcast", "important"), not a 1:1
 *                        message; alice's own history marks her copy */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* alice, bob and carol started, each seeing the other two. */
static void three_online(fixture *f)
{
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];

    start_peer(f, a);
    start_peer(f, b);
    start_peer(f, c);
    see_each_other(a, b);
    see_each_other(a, c);
    see_each_other(b, c);
}

/* a broadcasts text (important or not) with tag: the answer's id into id (33 bytes), and the
 * answer says it went to `of` peers. */
static void broadcast(mp *a, const char *text, int important, const char *tag, size_t of,
                      char id[33])
{
    size_t a0 = a->nev;
    json_t *ev;

    mp_cmd(a, "{\"cmd\":\"broadcast\",\"text\":\"%s\",\"important\":%s,\"tag\":\"%s\"}", text,
           important ? "true" : "false", tag);
    ev = mp_expect(a, a0, "broadcast", "tag", tag);
    assert_int_equal(json_integer_value(json_object_get(ev, "of")), (json_int_t)of);
    snprintf(id, 33, "%s", sfield(ev, "id"));
}

/* p got the broadcast id from `from` once, marked as one (and as important or not). */
static void got_once(mp *p, const char *from, const char *id, const char *text, int important)
{
    json_t *m = mp_expect(p, 0, "message", "id", id);

    assert_string_equal(sfield(m, "from"), from);
    assert_string_equal(sfield(m, "text"), text);
    assert_true(json_is_true(json_object_get(m, "broadcast")));
    assert_int_equal(json_is_true(json_object_get(m, "important")), important);
    assert_int_equal(mp_count(p, "message", "id", id), 1);
}

static void test_broadcast_everyone(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];
    mp *all[3] = {a, b, c};
    char id[33];
    json_t *d;

    three_online(f);
    broadcast(a, "hello everyone", 0, "b1", 2, id);
    got_once(b, "alice", id, "hello everyone", 0);
    got_once(c, "alice", id, "hello everyone", 0);
    d = mp_expect(a, 0, "delivered", "to", "bob");
    assert_true(json_is_true(json_object_get(d, "broadcast")));
    mp_expect(a, 0, "delivered", "to", "carol");
    assert_non_null(mp_find2(a, 0, "delivered", "id", id, "tag", "b1"));
    if (mp_index_of(a, 0, "delivered", NULL, NULL) < 0)
        fail_msg("no delivered event");
    {
        long i = -1, last = -1;
        while ((i = mp_index_of(a, (size_t)(i + 1), "delivered", "id", id)) >= 0)
            last = i;
        assert_int_equal(json_integer_value(json_object_get(a->ev[last], "delivered")), 2);
        assert_int_equal(json_integer_value(json_object_get(a->ev[last], "of")), 2);
    }
    /* Exactly once: nothing more comes in the window a duplicate would take. */
    mp_pump_all(all, 3, ABSENT_MS);
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    assert_int_equal(mp_count(c, "message", "id", id), 1);
    assert_int_equal(mp_count(a, "message", "id", id), 0); /* not to ourselves */
    mp_quit(a);
    mp_quit(b);
    mp_quit(c);
}

/* broadcast_status of id on a: the names acked and pending, as one "a,b" string each. */
static void status_is(mp *a, const char *id, const char *acked, const char *pending)
{
    size_t a0 = a->nev;
    json_t *ev, *arr;
    char got[2][200];

    mp_cmd(a, "{\"cmd\":\"broadcast_status\",\"id\":\"%s\",\"tag\":\"st\"}", id);
    ev = mp_expect(a, a0, "broadcast_status", "tag", "st");
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *v;
        got[k][0] = '\0';
        arr = json_object_get(ev, k == 0 ? "acked" : "pending");
        assert_true(json_is_array(arr));
        json_array_foreach(arr, i, v)
        {
            strncat(got[k], i ? "," : "", sizeof(got[k]) - strlen(got[k]) - 1);
            strncat(got[k], json_string_value(v), sizeof(got[k]) - strlen(got[k]) - 1);
        }
    }
    assert_string_equal(got[0], acked);
    assert_string_equal(got[1], pending);
}

static void test_broadcast_important(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];
    size_t b0;
    char id[33];
    json_t *ack;

    three_online(f);
    broadcast(a, "hand in your work", 1, "imp", 2, id);
    got_once(b, "alice", id, "hand in your work", 1);
    got_once(c, "alice", id, "hand in your work", 1);
    mp_expect(a, 0, "delivered", "to", "carol");
    mp_expect(a, 0, "delivered", "to", "bob");
    status_is(a, id, "", "bob,carol");

    mp_cmd(b, "{\"cmd\":\"ack_broadcast\",\"id\":\"%s\",\"tag\":\"k\"}", id);
    mp_expect(b, 0, "ok", "tag", "k");
    ack = mp_expect(a, 0, "broadcast_ack", "from", "bob");
    assert_string_equal(sfield(ack, "id"), id);
    status_is(a, id, "bob", "carol");
    /* Acknowledged once: a second ack is refused, and alice hears nothing new. */
    b0 = b->nev;
    mp_cmd(b, "{\"cmd\":\"ack_broadcast\",\"id\":\"%s\",\"tag\":\"k2\"}", id);
    mp_expect(b, b0, "error", "code", "already_acked");
    /* Only a received important broadcast can be acknowledged. */
    b0 = b->nev;
    mp_cmd(b, "{\"cmd\":\"ack_broadcast\",\"id\":\"%s\",\"tag\":\"k3\"}",
           "00112233445566778899aabbccddeeff");
    mp_expect(b, b0, "error", "code", "unknown_broadcast");

    mp_cmd(c, "{\"cmd\":\"ack_broadcast\",\"id\":\"%s\"}", id);
    mp_expect(a, 0, "broadcast_ack", "from", "carol");
    status_is(a, id, "bob,carol", "");
    assert_int_equal(mp_count(a, "broadcast_ack", "from", "bob"), 1);
    mp_quit(a);
    mp_quit(b);
    mp_quit(c);
}

static void test_broadcast_restricted(void **state)
{
    static const char *const only_alice[] = {"--broadcasters", "alice", NULL};
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];
    mp *all[3] = {a, b, c};
    size_t c0, b0;
    char forged[33], id[33];

    assert_int_equal(pe_server_stop(&f->srv), 0);
    f->srv.extra[0] = only_alice[0];
    f->srv.extra[1] = only_alice[1];
    f->srv.extra[2] = NULL;
    if (pe_server_start(&f->srv, f->srv.port) != 0)
        fail_msg("the server did not start with --broadcasters: %s", f->srv.err);
    start_peer(f, a);
    start_peer(f, c);
    setenv("MIM_TEST_BROADCAST_UNCHECKED", "1", 1); /* bob: a sender that ignores the list */
    start_peer(f, b);
    unsetenv("MIM_TEST_BROADCAST_UNCHECKED");
    see_each_other(a, b);
    see_each_other(a, c);
    see_each_other(b, c);
    mp_expect_log(a, "restricted by the server to its list");
    mp_expect_log(c, "restricted by the server to its list");

    /* carol's own peer keeps to the list. */
    c0 = c->nev;
    mp_cmd(c, "{\"cmd\":\"broadcast\",\"text\":\"me too\",\"tag\":\"no\"}");
    mp_expect(c, c0, "error", "code", "not_broadcaster");

    /* bob's does not: the receivers refuse it (acked, so it is not sent again; not shown). */
    b0 = b->nev;
    broadcast(b, "forged announcement", 0, "f", 2, forged);
    mp_expect_log(a, "refused a broadcast from bob");
    mp_expect_log(c, "refused a broadcast from bob");
    mp_expect(b, b0, "delivered", "to", "alice");
    mp_pump_all(all, 3, ABSENT_MS);
    assert_int_equal(mp_count(a, "message", "id", forged), 0);
    assert_int_equal(mp_count(c, "message", "id", forged), 0);

    /* alice, on the list, reaches everyone. */
    broadcast(a, "from the teacher", 0, "t", 2, id);
    got_once(b, "alice", id, "from the teacher", 0);
    got_once(c, "alice", id, "from the teacher", 0);
    mp_quit(a);
    mp_quit(b);
    mp_quit(c);
}

/* The entry with id in p's answer (tagged tag) to cmd's "history" or "search": its
 * "broadcast" and "important" must be as said (absent: false). */
static void marked(mp *p, const char *cmd, const char *event, const char *tag, const char *id,
                   int broadcast, int important)
{
    json_t *list, *it = NULL;
    size_t i;

    mp_cmd(p, "%s", cmd);
    list = json_object_get(mp_expect(p, 0, event, "tag", tag),
                           strcmp(event, "history") == 0 ? "messages" : "results");
    json_array_foreach(list, i, it)
    {
        if (strcmp(sfield(it, "id"), id) == 0)
            break;
    }
    assert_non_null(it);
    assert_int_equal(json_is_true(json_object_get(it, "broadcast")), broadcast);
    assert_int_equal(json_is_true(json_object_get(it, "important")), important);
}

static void test_broadcast_history(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char plain[33], imp[33], one[33];

    three_online(f);
    broadcast(a, "news for all", 0, "pl", 2, plain);
    broadcast(a, "news to hand in", 1, "imp", 2, imp);
    got_once(b, "alice", plain, "news for all", 0);
    got_once(b, "alice", imp, "news to hand in", 1);
    exchange(a, b, "news for bob", "one", one);
    mp_quit(b);
    mp_restart(b, f->srv.port);
    marked(b, "{\"cmd\":\"history\",\"with\":\"alice\",\"tag\":\"h1\"}", "history", "h1", plain, 1,
           0);
    marked(b, "{\"cmd\":\"history\",\"with\":\"alice\",\"tag\":\"h2\"}", "history", "h2", imp, 1,
           1);
    marked(b, "{\"cmd\":\"history\",\"with\":\"alice\",\"tag\":\"h3\"}", "history", "h3", one, 0,
           0);
    marked(b, "{\"cmd\":\"search\",\"query\":\"news\",\"tag\":\"s1\"}", "search", "s1", imp, 1, 1);
    marked(b, "{\"cmd\":\"search\",\"query\":\"news\",\"tag\":\"s2\"}", "search", "s2", one, 0, 0);
    marked(a, "{\"cmd\":\"history\",\"with\":\"bob\",\"tag\":\"h4\"}", "history", "h4", plain, 1,
           0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(broadcast_everyone),
    PE_SCENARIO(broadcast_important),
    PE_SCENARIO(broadcast_restricted),
    PE_SCENARIO(broadcast_history),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-bcast");
}
