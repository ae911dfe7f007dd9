/* End-to-end tests of `mim --json`: a real mim-presence (peer_env.c) and real mim processes
 * driven through pipes (mim_proc.h), one JSON command per line in, one event per line out. Waits
 * are bounded polls on the processes' stdout, never sleeps. Each scenario is its own ctest entry
 * (peer/json_<name>). */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

static int setup(void **state)
{
    return fixture_setup(state, "json");
}

/* ---- scenarios ------------------------------------------------------------------------------- */

/* (a) two peers see each other and talk both ways, with sent and delivered. */
static void test_two_peers(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello bob", "a1", NULL);
    mp_expect(b, 0, "chat_opened", "with", "alice");
    exchange(b, a, "hello alice, \xc3\xa9t\xc3\xa9", "b1", NULL);
    exchange(a, b, "second", "a2", NULL);
    assert_int_equal(mp_count(b, "chat_opened", NULL, NULL), 1);
    assert_int_equal(mp_count(b, "message", "from", "alice"), 2);
    assert_int_equal(mp_count(a, "message", "from", "bob"), 1);
    mp_quit(a);
    mp_quit(b);
}

/* Makes b a contact of a (a pins b's key), then stops b. */
static void meet_then_part(fixture *f, mp *a, mp *b)
{
    start_peer(f, b);
    see_each_other(a, b);
    exchange(b, a, "hi", "meet", NULL);
    mp_quit(b);
    mp_expect(a, 0, "offline", "name", b->name);
}

/* (b) a message to an offline contact is queued, and delivered exactly once when it starts. */
static void test_offline(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *q, *msg;
    const char *id;
    size_t a0;

    start_peer(f, a);
    meet_then_part(f, a, b);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"while you were out\",\"tag\":\"q1\"}");
    q = mp_expect(a, a0, "queued", "tag", "q1");
    id = sfield(q, "id");
    assert_non_null(id);
    assert_int_equal(mp_count(a, "sent", "id", id), 0);

    mp_restart(b, f->srv.port);
    msg = mp_expect(b, 0, "message", "id", id);
    assert_string_equal(sfield(msg, "text"), "while you were out");
    mp_expect(a, a0, "sent", "id", id);
    mp_expect(a, a0, "delivered", "id", id);
    /* A round trip on b after the delivery: a second copy would have shown by now. */
    mp_cmd(b, "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(b, 0, "who_end", "tag", "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

/* (c) the sender is SIGKILLed after `queued`; restarted on the same data dir, it delivers the
 * message once the recipient is online, exactly once. */
static void test_sender_killed(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[33];
    json_t *q;
    size_t a0;

    start_peer(f, a);
    meet_then_part(f, a, b);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"survives a crash\",\"tag\":\"k1\"}");
    q = mp_expect(a, a0, "queued", "tag", "k1");
    snprintf(id, sizeof(id), "%s", sfield(q, "id"));
    mp_kill9(a);

    mp_restart(a, f->srv.port);
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", id);
    mp_expect(a, 0, "delivered", "id", id);
    mp_cmd(b, "{\"cmd\":\"history\",\"with\":\"alice\",\"tag\":\"h\"}");
    {
        json_t *h = mp_expect(b, 0, "history", "tag", "h");
        json_t *msgs = json_object_get(h, "messages");
        size_t n = 0;
        assert_true(json_is_array(msgs));
        for (size_t i = 0; i < json_array_size(msgs); i++)
            n += strcmp(sfield(json_array_get(msgs, i), "id"), id) == 0;
        assert_int_equal(n, 1);
    }
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

/* (d) bad commands get error events, and the peer keeps answering. */
static void test_bad_commands(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    json_t *e;
    char *huge;

    start_peer(f, a);
    mp_send_line(a, "this is not json");
    e = mp_expect(a, 0, "error", "code", "bad_json");
    mp_send_line(a, "[1,2,3]");
    mp_cmd(a, "{\"cmd\":\"frobnicate\",\"tag\":\"t1\"}");
    e = mp_expect(a, 0, "error", "tag", "t1");
    assert_string_equal(sfield(e, "code"), "unknown_command");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"tag\":\"t2\"}");
    e = mp_expect(a, 0, "error", "tag", "t2");
    assert_string_equal(sfield(e, "code"), "missing_field");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"nobody\",\"text\":\"hi\",\"tag\":\"t3\"}");
    e = mp_expect(a, 0, "error", "tag", "t3");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":17,\"text\":\"hi\",\"tag\":\"t4\"}");
    e = mp_expect(a, 0, "error", "tag", "t4");
    assert_string_equal(sfield(e, "code"), "bad_field");
    mp_cmd(a, "{\"tag\":\"t5\"}");
    e = mp_expect(a, 0, "error", "tag", "t5");
    assert_string_equal(sfield(e, "code"), "missing_field");
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"nobody\",\"tag\":\"t6\"}");
    e = mp_expect(a, 0, "error", "tag", "t6");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    /* A line over the cap is refused and skipped; the next one is read normally. */
    huge = malloc(70001);
    assert_non_null(huge);
    memset(huge, 'x', 70000);
    huge[70000] = '\0';
    mp_send_line(a, huge);
    free(huge);
    mp_cmd(a, "{\"cmd\":\"who\",\"tag\":\"w1\"}");
    mp_expect(a, 0, "who_end", "tag", "w1");
    assert_true(mp_count(a, "error", "code", "bad_json") >= 3);
    mp_quit(a);
}

/* (e) both sides compute the same 60-digit safety number. */
static void test_verify(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *sa, *sb;
    const char *na, *nb;
    size_t digits = 0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"bob\",\"tag\":\"v\"}");
    mp_cmd(b, "{\"cmd\":\"verify\",\"with\":\"alice\",\"tag\":\"v\"}");
    sa = mp_expect(a, 0, "safety_number", "tag", "v");
    sb = mp_expect(b, 0, "safety_number", "tag", "v");
    na = sfield(sa, "number");
    nb = sfield(sb, "number");
    assert_non_null(na);
    assert_non_null(nb);
    assert_string_equal(na, nb);
    for (const char *p = na; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else
            assert_int_equal(*p, ' ');
    }
    assert_int_equal(digits, 60);
    mp_quit(a);
    mp_quit(b);
}

/* A second process under a registered name, with another key: error name_taken, exit 1. */
static void test_name_taken(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *imp = &f->peers[2];
    json_t *e;
    int status;

    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    snprintf(imp->name, sizeof(imp->name), "alice");
    snprintf(imp->dir, sizeof(imp->dir), "%.400s/alice-impostor", f->tmp);
    start_peer(f, imp);
    e = mp_expect(imp, 0, "error", "code", "name_taken");
    assert_non_null(sfield(e, "message"));
    status = mp_reap(imp, 10000);
    mp_close_fds(imp);
    assert_true(status >= 0 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    /* The owner of the name is still fine. */
    mp_cmd(a, "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(a, 0, "who_end", "tag", "w");
    mp_quit(a);
}

static const pe_test tests[] = {
    {"two_peers", test_two_peers},
    {"offline", test_offline},
    {"sender_killed", test_sender_killed},
    {"bad_commands", test_bad_commands},
    {"verify", test_verify},
    {"name_taken", test_name_taken},
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup,
                        fixture_teardown);
}
