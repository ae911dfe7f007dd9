/* End-to-end tests of rooms in the terminal interface (issue 16, docs/TUI.md "Rooms"): the real
 * `mim` in a tmux pane (tmux_pane.h) against the real mim-presence, with `mim --json` members
 * (mim_proc.h). Each scenario is its own ctest entry (tui/<scenario>):
 *
 *   room_create_send  /room create puts a "#lab (3 members)" row in the list and opens the
 *                     room; a line typed there reaches both members with its room, and says
 *                     "delivered to 2 of 2"; a member's reply shows as "bob: ..."; /room add
 *                     without the room's name acts on the open room ("removed by you"); after
 *                     a restart the row is there and /msg #lab shows the room's history
 *   room_unread       a member's room (created while a 1:1 conversation is open) raises the
 *                     row's unread count; opening it with Tab/Enter shows its history; a
 *                     member added by its one admin is "added by bob"; a removal says "you were
 *                     removed from the room" and greys the row
 *   broadcast_marks   /all's line counts its deliveries ("delivered to 2 of 2"); an important
 *                     broadcast received opens its sender's conversation, marked, with the
 *                     line asking for F2; F2 acknowledges it (the sender hears it) */
#include "mim_proc.h"
#include "tmux_pane.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define COLS 120
#define ROWS 30

static int setup(void **state)
{
    return fixture_setup(state, "tui-rooms");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

/* The TUI alice with bob and carol (`mim --json`) online, each seen by the others. */
static void start_three(fixture *f, tmux_pane *a)
{
    mp *bob = &f->peers[1], *carol = &f->peers[2];

    tp_init(a, f->tmp, "alice");
    tp_start(a, f->srv.port, COLS, ROWS);
    start_peer(f, bob);
    mp_expect(bob, 0, "online", "name", "alice");
    start_peer(f, carol);
    mp_expect(carol, 0, "online", "name", "bob");
    tp_expect(a, "+ bob");
    tp_expect(a, "+ carol");
}

static void test_room_create_send(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1], *carol = &f->peers[2];
    tmux_pane a;

    start_three(f, &a);
    tp_type(&a, "/room create lab bob carol", 1);
    tp_expect(&a, "#lab (3 members)");              /* the row */
    tp_expect(&a, "#lab -- 3 members: alice, bob"); /* its conversation is open */
    tp_expect(&a, "you created the room");
    mp_expect(bob, 0, "room", "room", "lab");
    mp_expect(carol, 0, "room", "room", "lab");

    tp_type(&a, "hello room", 1); /* no /msg #lab: the open room takes it */
    assert_string_equal(sfield(mp_expect(bob, 0, "message", "text", "hello room"), "room"), "lab");
    assert_string_equal(sfield(mp_expect(carol, 0, "message", "text", "hello room"), "room"),
                        "lab");
    tp_expect(&a, "alice: hello room (delivered to 2 of 2)");

    mp_cmd(bob, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"hi from bob\"}");
    tp_expect(&a, "bob: hi from bob");
    assert_int_equal(tp_row_of(&a, "#lab bob:"), -1); /* in the room, not a note about it */

    /* A change without the room's name: the open room's. */
    tp_type(&a, "/room remove carol", 1);
    tp_expect(&a, "carol was removed by you");
    tp_expect(&a, "#lab (2 members)");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);

    /* After a restart: the row is there, and /msg #lab reads the room's history. */
    tp_start(&a, f->srv.port, COLS, ROWS);
    tp_expect(&a, "#lab (2 members)");
    tp_type(&a, "/msg #lab", 1);
    tp_expect(&a, "\n#lab>");
    tp_expect(&a, "alice: hello room (delivered)");
    tp_expect(&a, "bob: hi from bob");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(bob);
    mp_quit(carol);
}

static void test_room_unread(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1], *carol = &f->peers[2];
    tmux_pane a;

    start_three(f, &a);
    tp_type(&a, "/msg carol", 1); /* another view is open */
    tp_expect(&a, "\ncarol>");
    mp_cmd(bob, "{\"cmd\":\"room_create\",\"room\":\"lab\",\"members\":[\"alice\"],"
                "\"tag\":\"mk\"}");
    mp_expect(bob, 0, "room", "tag", "mk");
    tp_expect(&a, "#lab (2 members)");
    mp_cmd(bob, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"first in lab\"}");
    mp_cmd(bob, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"second in lab\"}");
    tp_expect(&a, "[2] #lab (2 members)"); /* the row counts them */
    tp_expect(&a, "#lab bob: second in lab");
    assert_int_equal(tp_row_of(&a, "carol -- "), -1); /* the view stayed carol's */

    /* Tab to the list, up to its first row, the room's: Enter opens it with its history. */
    tp_key(&a, "Tab");
    tp_expect(&a, "Enter, Esc");
    for (int i = 0; i < 3; i++)
        tp_key(&a, "Up");
    tp_key(&a, "Enter");
    tp_expect(&a, "#lab -- 2 members");
    tp_expect(&a, "bob: first in lab");
    tp_expect(&a, "bob: second in lab");
    tp_expect(&a, "you were added to the room by bob");
    assert_int_equal(tp_row_of(&a, "[2] #lab"), -1); /* read */

    mp_cmd(bob, "{\"cmd\":\"room_add\",\"room\":\"lab\",\"name\":\"carol\"}");
    tp_expect(&a, "carol was added by bob");
    tp_expect(&a, "#lab (3 members)");
    mp_cmd(bob, "{\"cmd\":\"room_remove\",\"room\":\"lab\",\"name\":\"alice\"}");
    tp_expect(&a, "you were removed from the room");
    tp_expect(&a, "#lab (you are not in it)");
    tp_type(&a, "still here?", 1);
    tp_expect(&a, "not sent to #lab: not a member of the room");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(bob);
    mp_quit(carol);
}

static void test_broadcast_marks(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1], *carol = &f->peers[2];
    tmux_pane a;

    start_three(f, &a);
    tp_type(&a, "/all bye now", 1);
    assert_true(json_is_true(
        json_object_get(mp_expect(bob, 0, "message", "text", "bye now"), "broadcast")));
    mp_expect(carol, 0, "message", "text", "bye now");
    tp_expect(&a, "\"bye now\" (delivered to 2 of 2)");

    mp_cmd(bob, "{\"cmd\":\"broadcast\",\"text\":\"fire drill\",\"important\":true,"
                "\"tag\":\"b\"}");
    tp_expect(&a, "bob: [IMPORTANT, to everyone] fire drill"); /* bob's conversation opened */
    tp_expect(&a, "\nbob>");
    tp_expect(&a, "bob sent an IMPORTANT broadcast: press F2");
    tp_key(&a, "F2");
    tp_expect(&a, "acknowledged bob's important broadcast");
    mp_expect(bob, 0, "broadcast_ack", "from", "alice");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(bob);
    mp_quit(carol);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(room_create_send),
    PE_SCENARIO(room_unread),
    PE_SCENARIO(broadcast_marks),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
