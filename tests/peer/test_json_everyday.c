/* End-to-end tests of the everyday features of `mim --json` (issue 13). The real mim-presence
 * (peer_env.c) and real mim processes driven through pipes (mim_proc.h). Each scenario is its
 * own ctest entry (peer/json_<name>):
 *
 *   unread        received messages are unread until `read`; the marks survive a restart
 *   receipts      `read` sends a read receipt: the sender gets `read` and its history says so;
 *                 receipts off on the reader: none sent (and none shown on its side)
 *   typing        typing on and off, and a typing that lapses by itself
 *   block         a blocked name's messages are refused (never shown), sends to it are refused;
 *                 unblocked, its queued message arrives; contacts says blocked
 *   contacts      the contacts answer: state of each contact (online, unread, ...)
 *   login_logout  logout, logout again (bad_state), login
 *   status_kept   our status and its text survive a restart (others see them)
 *   auto_away     away after --auto-away of no input, available again on a command
 *   server_name   --server localhost:PORT works; a name that does not resolve is a fatal error */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

/* a and b run and see each other online. */
static void start_two(fixture *f, mp *a, mp *b)
{
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
}

/* The unread flags of p's history with `with`, oldest first, as '0' and '1' in out. */
static const char *history_unread(mp *p, const char *with, const char *tag, char *out, size_t cap)
{
    json_t *ev, *msgs;
    size_t i, n;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    ev = mp_expect(p, 0, "history", "tag", tag);
    msgs = json_object_get(ev, "messages");
    assert_true(json_is_array(msgs));
    n = json_array_size(msgs);
    assert_true(n < cap);
    for (i = 0; i < n; i++) {
        json_t *u = json_object_get(json_array_get(msgs, i), "unread");
        assert_true(json_is_boolean(u));
        out[i] = json_is_true(u) ? '1' : '0';
    }
    out[n] = '\0';
    return out;
}

/* bob gets two messages: unread in its history until `read`; alice's own are never unread. A
 * third comes; after a restart bob still has exactly that one unread. */
static void test_unread(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char flags[16];
    json_t *e;

    start_two(f, a, b);
    exchange(a, b, "one", "s1", NULL);
    exchange(a, b, "two", "s2", NULL);
    assert_string_equal(history_unread(b, "alice", "h1", flags, sizeof(flags)), "11");
    assert_string_equal(history_unread(a, "bob", "h2", flags, sizeof(flags)), "00");

    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"alice\",\"tag\":\"r1\"}");
    e = mp_expect(b, 0, "ok", "tag", "r1");
    assert_string_equal(sfield(e, "cmd"), "read");
    assert_string_equal(history_unread(b, "alice", "h3", flags, sizeof(flags)), "00");
    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"nobody\",\"tag\":\"r2\"}");
    e = mp_expect(b, 0, "error", "tag", "r2");
    assert_string_equal(sfield(e, "code"), "unknown_peer");

    exchange(a, b, "three", "s3", NULL);
    mp_quit(b);
    mp_restart(b, f->srv.port);
    assert_string_equal(history_unread(b, "alice", "h4", flags, sizeof(flags)), "001");
    mp_quit(b);
    mp_quit(a);
}

/* The boolean `field` of ev. */
static int bfield(const json_t *ev, const char *field)
{
    const json_t *v = json_object_get(ev, field);

    assert_true(json_is_boolean(v));
    return json_is_true(v);
}

/* The state of message id in p's history with `with`. */
static const char *history_state(mp *p, const char *with, const char *id, const char *tag)
{
    json_t *ev, *msgs;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    ev = mp_expect(p, 0, "history", "tag", tag);
    msgs = json_object_get(ev, "messages");
    for (size_t i = 0; i < json_array_size(msgs); i++)
        if (strcmp(sfield(json_array_get(msgs, i), "id"), id) == 0)
            return sfield(json_array_get(msgs, i), "state");
    fail_msg("message %s not in the history", id);
    return NULL;
}

/* alice's message read by bob: alice gets `read` (after delivered) and her history says read.
 * bob turns receipts off: the next one he reads sends nothing. */
static void test_receipts(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[33], id2[33];
    json_t *e;
    size_t a0;

    start_two(f, a, b);
    exchange(a, b, "read me", "s1", id);
    a0 = a->nev;
    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"alice\",\"tag\":\"r1\"}");
    mp_expect(b, 0, "ok", "tag", "r1");
    e = mp_expect(a, a0, "read", "id", id);
    assert_string_equal(sfield(e, "to"), "bob");
    assert_string_equal(history_state(a, "bob", id, "h1"), "read");

    mp_cmd(b, "{\"cmd\":\"receipts\",\"value\":false,\"tag\":\"r2\"}");
    mp_expect(b, 0, "ok", "tag", "r2");
    exchange(a, b, "not receipted", "s2", id2);
    a0 = a->nev;
    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"alice\",\"tag\":\"r3\"}");
    mp_expect(b, 0, "ok", "tag", "r3");
    assert_true(mp_wait(a, a0, "read", NULL, NULL, ABSENT_MS) < 0);
    assert_string_equal(history_state(a, "bob", id2, "h2"), "delivered");
    mp_cmd(b, "{\"cmd\":\"receipts\",\"value\":\"no\",\"tag\":\"r4\"}");
    e = mp_expect(b, 0, "error", "tag", "r4");
    assert_string_equal(sfield(e, "code"), "bad_field");
    mp_quit(b);
    mp_quit(a);
}

/* alice types: bob sees it; she stops: bob sees that. She types again and says nothing more:
 * it lapses on bob's side by itself. */
static void test_typing(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *e;
    size_t b0;
    long i;

    start_two(f, a, b);
    exchange(a, b, "hello", "s1", NULL); /* a session is open */
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"typing\",\"with\":\"bob\",\"tag\":\"t1\"}");
    mp_expect(a, 0, "ok", "tag", "t1");
    e = mp_expect(b, b0, "typing", "with", "alice");
    assert_true(bfield(e, "typing"));
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"typing\",\"with\":\"bob\",\"typing\":false,\"tag\":\"t2\"}");
    mp_expect(a, 0, "ok", "tag", "t2");
    e = mp_expect(b, b0, "typing", "with", "alice");
    assert_false(bfield(e, "typing"));

    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"typing\",\"with\":\"bob\",\"tag\":\"t3\"}");
    e = mp_expect(b, b0, "typing", "with", "alice");
    assert_true(bfield(e, "typing"));
    i = mp_wait(b, b->nev, "typing", "with", "alice", 6000 + 3000);
    assert_true(i >= 0);
    assert_false(bfield(b->ev[i], "typing"));
    mp_cmd(a, "{\"cmd\":\"typing\",\"with\":\"nobody\",\"tag\":\"t4\"}");
    e = mp_expect(a, 0, "error", "tag", "t4");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    mp_quit(b);
    mp_quit(a);
}

/* The contacts answer's entry for name, or NULL. */
static json_t *contact_entry(mp *p, const char *name, const char *tag)
{
    json_t *ev, *list;

    mp_cmd(p, "{\"cmd\":\"contacts\",\"tag\":\"%s\"}", tag);
    ev = mp_expect(p, 0, "contacts", "tag", tag);
    list = json_object_get(ev, "contacts");
    assert_true(json_is_array(list));
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(sfield(json_array_get(list, i), "name"), name) == 0)
            return json_array_get(list, i);
    return NULL;
}

/* bob blocks alice: her session is refused, her message is never shown (it stays in her
 * outbox), his send to her is refused. Unblocked, her message arrives. */
static void test_block(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *e;
    size_t b0;

    start_two(f, a, b);
    exchange(a, b, "before", "s1", NULL);
    mp_cmd(b, "{\"cmd\":\"block\",\"name\":\"alice\",\"tag\":\"b1\"}");
    mp_expect(b, 0, "ok", "tag", "b1");
    mp_cmd(b, "{\"cmd\":\"block\",\"name\":\"alice\",\"tag\":\"b2\"}");
    e = mp_expect(b, 0, "error", "tag", "b2");
    assert_string_equal(sfield(e, "code"), "bad_state");
    assert_true(bfield(contact_entry(b, "alice", "c1"), "blocked"));
    mp_cmd(b, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"hi\",\"tag\":\"b3\"}");
    e = mp_expect(b, 0, "error", "tag", "b3");
    assert_string_equal(sfield(e, "code"), "blocked");
    /* Our own name: refused as such (not "a value is out of range"). */
    mp_cmd(b, "{\"cmd\":\"block\",\"name\":\"bob\",\"tag\":\"b5\"}");
    e = mp_expect(b, 0, "error", "tag", "b5");
    assert_string_equal(sfield(e, "code"), "bad_field");
    assert_non_null(strstr(sfield(e, "message"), "your own name"));

    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"blocked\",\"tag\":\"a1\"}");
    mp_expect(a, 0, "queued", "tag", "a1");
    assert_true(mp_wait(b, b0, "message", NULL, NULL, ABSENT_MS) < 0);
    assert_true(mp_wait(a, 0, "delivered", "tag", "a1", 100) < 0);

    mp_cmd(b, "{\"cmd\":\"unblock\",\"name\":\"alice\",\"tag\":\"b4\"}");
    mp_expect(b, 0, "ok", "tag", "b4");
    e = mp_expect(b, b0, "message", "from", "alice"); /* her redial (every 5 s) */
    assert_string_equal(sfield(e, "text"), "blocked");
    assert_false(bfield(contact_entry(b, "alice", "c2"), "blocked"));
    mp_quit(b);
    mp_quit(a);
}

static void test_contacts(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *c;

    start_two(f, a, b);
    exchange(a, b, "one", "s1", NULL);
    exchange(a, b, "two", "s2", NULL);
    c = contact_entry(b, "alice", "c1");
    assert_non_null(c);
    assert_true(bfield(c, "online"));
    assert_false(bfield(c, "verified"));
    assert_false(bfield(c, "key_pending"));
    assert_false(bfield(c, "blocked"));
    assert_string_equal(sfield(c, "status"), "available");
    assert_int_equal(json_integer_value(json_object_get(c, "unread")), 2);
    assert_int_equal(strlen(sfield(c, "fingerprint")), 29);
    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"alice\",\"tag\":\"r1\"}");
    mp_expect(b, 0, "ok", "tag", "r1");
    c = contact_entry(b, "alice", "c2");
    assert_int_equal(json_integer_value(json_object_get(c, "unread")), 0);
    assert_null(contact_entry(b, "carol", "c3"));
    mp_quit(b);
    mp_quit(a);
}

static void test_login_logout(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    json_t *e;

    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    mp_cmd(a, "{\"cmd\":\"logout\",\"tag\":\"l1\"}");
    mp_expect(a, 0, "ok", "tag", "l1");
    mp_expect(a, 0, "presence", "state", "disconnected");
    mp_cmd(a, "{\"cmd\":\"logout\",\"tag\":\"l2\"}");
    e = mp_expect(a, 0, "error", "tag", "l2");
    assert_string_equal(sfield(e, "code"), "bad_state");
    mp_clear_events(a);
    mp_cmd(a, "{\"cmd\":\"login\",\"tag\":\"l3\"}");
    mp_expect(a, 0, "ok", "tag", "l3");
    mp_expect(a, 0, "presence", "state", "connected");
    mp_quit(a);
}

/* alice says she is away at lunch, and restarts: bob sees her away at lunch again. */
static void test_status_kept(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *e;
    size_t b0;

    start_two(f, a, b);
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"away\",\"text\":\"lunch\",\"tag\":\"s1\"}");
    mp_expect(a, 0, "ok", "tag", "s1");
    mp_expect(b, 0, "status", "text", "lunch");
    mp_quit(a);
    mp_expect(b, 0, "offline", "name", "alice");
    b0 = b->nev;
    mp_restart(a, f->srv.port);
    /* Her login carries the kept status: online (or online then status) with it. */
    if (mp_wait(b, b0, "status", "text", "lunch", WAIT_MS) < 0) {
        e = mp_expect(b, b0, "online", "name", "alice");
        assert_string_equal(sfield(e, "status"), "away");
        assert_string_equal(sfield(e, "text"), "lunch");
    }
    mp_quit(b);
    mp_quit(a);
}

/* --auto-away 2s: alice goes away by herself, and comes back on a command. */
static void test_auto_away(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *e;
    size_t b0;

    a->extra[0] = "--auto-away";
    a->extra[1] = "2s";
    start_two(f, a, b);
    e = mp_expect(b, 0, "status", "state", "away");
    assert_string_equal(sfield(e, "name"), "alice");
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"who\",\"tag\":\"w1\"}");
    e = mp_expect(b, b0, "status", "name", "alice");
    assert_string_equal(sfield(e, "state"), "available");
    mp_quit(b);
    mp_quit(a);
}

/* --server localhost:PORT is resolved; a name that does not resolve is a clear, fatal error. */
static void test_server_name(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char server[64];
    json_t *e;

    snprintf(server, sizeof(server), "localhost:%d", f->srv.port);
    a->extra[0] = "--server";
    a->extra[1] = server;
    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    mp_quit(a);

    b->extra[0] = "--server";
    b->extra[1] = "no-such-host.invalid";
    assert_int_equal(mp_start(b, f->srv.port), 0);
    e = mp_expect(b, 0, "error", "code", "server");
    assert_true(bfield(e, "fatal"));
    assert_non_null(strstr(sfield(e, "message"), "no-such-host.invalid"));
    assert_int_equal(WEXITSTATUS(mp_reap(b, WAIT_MS)), 1);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(unread),      PE_SCENARIO(receipts),  PE_SCENARIO(typing),
    PE_SCENARIO(block),       PE_SCENARIO(contacts),  PE_SCENARIO(login_logout),
    PE_SCENARIO(status_kept), PE_SCENARIO(auto_away), PE_SCENARIO(server_name),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-everyday");
}
