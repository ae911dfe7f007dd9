/* End-to-end tests of the sealed mailbox's flow on the peer (issue 14), with `mim --json`: the
 * real mim-presence (which has a mailbox) and real mim processes driven through pipes
 * (mim_proc.h); waits are bounded polls on the processes' stdout, never sleeps. The wider
 * "Done when" suite (never met, server killed, altered blobs, full mailboxes, restarts) is the
 * mail-e2e tests'. Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   mailbox_flow     alice writes to bob (a contact, offline): deposited; alice quits; bob
 *                    starts and gets it, from the mailbox, and quits; alice starts and gets
 *                    delivered from bob's sealed receipt (bob is away); history says
 *                    deposited, then delivered; a later direct session shows it to bob no more
 *   mailbox_expired  with --mailbox-expiry 2s, the deposited message expires: `expired`, back
 *                    to queued, not deposited again; delivered directly when bob comes */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Makes b a contact of a and a of b (a message each way pins both keys), then stops b. */
static void meet_then_part(fixture *f, mp *a, mp *b)
{
    start_peer(f, b);
    see_each_other(a, b);
    exchange(b, a, "hi", "meet", NULL);
    exchange(a, b, "hello", "meet2", NULL);
    mp_quit(b);
    mp_expect(a, 0, "offline", "name", b->name);
}

/* The state of message id in `with`'s history on p, or NULL. */
static const char *history_state(mp *p, const char *with, const char *id, const char *tag)
{
    size_t from = p->nev;
    json_t *h, *msgs;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    h = mp_expect(p, from, "history", "tag", tag);
    msgs = json_object_get(h, "messages");
    assert_true(json_is_array(msgs));
    for (size_t i = 0; i < json_array_size(msgs); i++)
        if (strcmp(sfield(json_array_get(msgs, i), "id"), id) == 0)
            return sfield(json_array_get(msgs, i), "state");
    return NULL;
}

/* Sends text to bob and waits for queued, then deposited: the message's id into id. */
static void send_deposited(mp *a, const char *text, char id[33])
{
    size_t a0 = a->nev;
    json_t *q;

    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"%s\",\"tag\":\"m1\"}", text);
    q = mp_expect(a, a0, "queued", "tag", "m1");
    snprintf(id, 33, "%s", sfield(q, "id"));
    mp_expect(a, a0, "deposited", "id", id);
    assert_string_equal(sfield(mp_expect(a, a0, "deposited", "id", id), "to"), "bob");
    assert_int_equal(mp_count(a, "sent", "id", id), 0);
}

static void test_mailbox_flow(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[33];
    json_t *msg;

    start_peer(f, a);
    meet_then_part(f, a, b);
    send_deposited(a, "written while you were away", id);
    assert_string_equal(history_state(a, "bob", id, "h1"), "deposited");
    mp_quit(a); /* never online together from here until bob has it */

    mp_restart(b, f->srv.port);
    msg = mp_expect(b, 0, "message", "id", id);
    assert_string_equal(sfield(msg, "from"), "alice");
    assert_string_equal(sfield(msg, "text"), "written while you were away");

    mp_quit(b); /* its sealed receipt went out with the take, before its Logout */

    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "delivered", "id", id);
    assert_int_equal(mp_count(a, "sent", "id", id), 0); /* bob is away: the receipt said it */
    assert_string_equal(history_state(a, "bob", id, "h2"), "delivered");
    /* Both online now: whatever goes directly, bob shows the message once. */
    mp_restart(b, f->srv.port);
    see_each_other(a, b);
    exchange(a, b, "and now directly", "d1", NULL);
    round_trip(b, "rt");
    assert_int_equal(mp_count(b, "message", "id", id), 0); /* a fresh run: shown before, once */
    assert_string_equal(history_state(b, "alice", id, "hb"), "received");
    assert_int_equal(mp_count(a, "delivered", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

static void test_mailbox_expired(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    int port = f->srv.port;
    char id[33];
    size_t a0;

    f->srv.extra[0] = "--mailbox-expiry";
    f->srv.extra[1] = "2s";
    f->srv.extra[2] = NULL;
    assert_int_equal(pe_server_stop(&f->srv), 0);
    assert_int_equal(pe_server_start(&f->srv, port), 0);
    start_peer(f, a);
    meet_then_part(f, a, b);
    send_deposited(a, "this one will expire", id);
    a0 = a->nev;
    /* The tick checks expiries every 5 s: within 2 s + 5 s, with room for a loaded machine. */
    mp_expect_within(a, a0, "expired", "id", id, 20000);
    assert_string_equal(history_state(a, "bob", id, "h1"), "queued");
    /* Not deposited again: within two more ticks no second `deposited`. */
    mp_pump_all(&a, 1, 11000);
    assert_int_equal(mp_count(a, "deposited", "id", id), 1);

    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", id);
    mp_expect(a, a0, "delivered", "id", id);
    round_trip(b, "rt");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(mailbox_flow),
    PE_SCENARIO(mailbox_expired),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-mailbox");
}
