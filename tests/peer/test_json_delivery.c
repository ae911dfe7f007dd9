/* End-to-end tests of delivery with `mim --json`: every message reaches its recipient exactly
 * once, whoever is away, killed or frozen meanwhile. The real mim-presence (peer_env.c) and real
 * mim processes driven through pipes (mim_proc.h); waits are bounded polls on the processes'
 * stdout, never sleeps. Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   offline         a message to an offline contact is queued, and delivered exactly once when
 *                   it starts
 *   sender_killed   the sender SIGKILLed after `queued` delivers the message once restarted
 *   send_batch      several sends in one read share one commit; every answer comes in the order
 *                   of the commands
 *   chat_keepalive  with --keepalive 1, a live session outlasts several intervals (Pings
 *                   answered); a frozen peer (SIGSTOP) is found gone within two, and the
 *                   message written to it meanwhile is delivered, once, after it thaws */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

/* Makes b a contact of a (a pins b's key), then stops b. */
static void meet_then_part(fixture *f, mp *a, mp *b)
{
    start_peer(f, b);
    see_each_other(a, b);
    exchange(b, a, "hi", "meet", NULL);
    mp_quit(b);
    mp_expect(a, 0, "offline", "name", b->name);
}

/* A message to an offline contact is queued, and delivered exactly once when it starts. */
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
    /* Directly (sent, then delivered) or through the server's mailbox (issue 14: deposited
     * while bob was away, bob fetched it at his login, its sealed receipt came back): either
     * way delivered, and shown once. */
    mp_expect(a, a0, "delivered", "id", id);
    /* A round trip on b after the delivery: a second copy would have shown by now. */
    mp_cmd(b, "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(b, 0, "who_end", "tag", "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

/* The sender is SIGKILLed after `queued`; restarted on the same data dir, it delivers the
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

/* Several send commands in one read share one commit, and every answer still comes in the order
 * of the commands: the sends' (sent or queued), a bad send's error after the sends before it,
 * and the answer of a later command after all of them. */
static void test_send_batch(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    long i1, i2, ie, i3, ie2, i4, iw;
    size_t a0, b0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    a0 = a->nev;
    b0 = b->nev;
    /* One write (under PIPE_BUF, so one read): four good sends, a refused one between them and
     * a malformed one after them. */
    mp_send_line(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"one\",\"tag\":\"s1\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"two\",\"tag\":\"s2\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"x\",\"tag\":\"bad\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"three\",\"tag\":\"s3\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"four\",\"tag\":\"s4\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"tag\":\"bad2\"}\n"
                    "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(a, a0, "who_end", "tag", "w");
    i1 = mp_first_tagged(a, a0, "s1");
    i2 = mp_first_tagged(a, a0, "s2");
    ie = mp_first_tagged(a, a0, "bad");
    i3 = mp_first_tagged(a, a0, "s3");
    ie2 = mp_first_tagged(a, a0, "bad2");
    i4 = mp_first_tagged(a, a0, "s4");
    iw = mp_first_tagged(a, a0, "w");
    if (!(i1 >= 0 && i1 < i2 && i2 < ie && ie < i3 && i3 < i4 && i4 < ie2 && ie2 < iw)) {
        mp_dump(a);
        fail_msg("the answers are not in the order of the commands");
    }
    /* Our own name: refused at once (a name nobody knows is looked up first, issue 14). */
    assert_true(matches(a->ev[ie], "error", "code", "bad_field"));
    assert_true(matches(a->ev[ie2], "error", "code", "missing_field"));
    for (size_t k = 1; k <= 4; k++) {
        char tag[8];
        snprintf(tag, sizeof(tag), "s%zu", k);
        mp_expect(a, a0, "delivered", "tag", tag);
    }
    /* Shown once each, in the order they were sent. */
    mp_expect(b, b0, "message", "text", "four");
    {
        const char *want[] = {"one", "two", "three", "four"};
        size_t k = 0;
        for (size_t i = b0; i < b->nev; i++)
            if (matches(b->ev[i], "message", NULL, NULL)) {
                assert_true(k < 4);
                assert_string_equal(sfield(b->ev[i], "text"), want[k++]);
            }
        assert_int_equal(k, 4);
    }
    /* The two sends before the refused one shared a commit, and so did the two after it. */
    assert_true(pe_file_count(a->log, "2 messages stored in one commit") >= 2);
    mp_quit(a);
    mp_quit(b);
}

/* With --keepalive 1 a live session outlasts several intervals; a frozen bob is found gone, and
 * the message written to him meanwhile is delivered, once, after he thaws. */
static void test_chat_keepalive(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    mp *both[2] = {a, b};
    size_t a0, b0;

    a->extra[0] = b->extra[0] = "--keepalive";
    a->extra[1] = b->extra[1] = "1";
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello", "h1", NULL);

    /* Three intervals of silence: Pings and Pongs keep the one session up. */
    mp_pump_all(both, 2, 3500);
    assert_int_equal(pe_file_count(a->log, "no answer to keepalive"), 0);
    assert_int_equal(pe_file_count(b->log, "no answer to keepalive"), 0);
    assert_int_equal(pe_file_count(a->log, "chat session with bob closed"), 0);
    assert_int_equal(pe_file_count(b->log, "chat session with alice closed"), 0);

    /* bob freezes: the TCP connection stays up, nothing answers. */
    assert_int_equal(kill(b->pid, SIGSTOP), 0);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"while frozen\",\"tag\":\"f1\"}");
    mp_expect(a, a0, "sent", "tag", "f1");
    mp_expect_log(a, "no answer to keepalive");
    b0 = b->nev;
    assert_int_equal(kill(b->pid, SIGCONT), 0);
    mp_expect(a, a0, "delivered", "tag", "f1");
    mp_expect(b, b0, "message", "text", "while frozen");
    round_trip(b, "w");
    round_trip(a, "w");
    if (mp_count_from(b, 0, "message", "text", "while frozen") != 1 ||
        mp_count_from(a, a0, "delivered", "tag", "f1") != 1) {
        mp_dump(a);
        mp_dump(b);
        fail_msg("the message was not delivered exactly once");
    }
    mp_quit(a);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(offline),
    PE_SCENARIO(sender_killed),
    PE_SCENARIO(send_batch),
    PE_SCENARIO(chat_keepalive),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-delivery");
}
