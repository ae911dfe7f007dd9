/* End-to-end tests of the terminal interface's everyday features (issue 13): the real `mim` in
 * tmux panes (tmux_pane.h) against the real mim-presence. Each scenario is its own ctest entry
 * (tui/<scenario>):
 *
 *   read_typing   a message shown in the open conversation is read: the sender's mark becomes
 *                 (read); typing shows "NAME is typing" in the other's status bar; /receipts off
 *   block         /block refuses a name's messages, /unblock lets them in; sends are refused
 *   directory     issue 14: /directory lists everyone registered, online first, the offline
 *                 one greyed with its last seen; /msg to a name nobody registered is taken back
 *                 and says why; /msg to the registered offline one goes into the mailbox */
#include "mim_proc.h"
#include "tmux_pane.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define COLS 100
#define ROWS 30

static int setup(void **state)
{
    return fixture_setup(state, "tui-everyday");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

/* Two interfaces that see each other online. */
static void start_two(fixture *f, tmux_pane *a, tmux_pane *b)
{
    tp_init(a, f->tmp, "alice");
    tp_init(b, f->tmp, "bob");
    tp_start(a, f->srv.port, COLS, ROWS);
    tp_start(b, f->srv.port, COLS, ROWS);
    tp_expect(a, "+ bob");
    tp_expect(b, "+ alice");
}

static void test_read_typing(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;

    start_two(f, &a, &b);
    tp_type(&a, "/msg bob hello bob", 1);
    tp_expect(&b, "alice: hello bob");
    tp_expect(&a, "alice: hello bob (read)"); /* bob's open conversation showed it */

    tp_type(&b, "typing a reply", 0); /* no Enter */
    tp_expect(&a, "bob is typing |");
    tp_key(&b, "Enter");
    tp_expect(&a, "bob: typing a reply");
    tp_expect(&b, "bob: typing a reply (read)");

    tp_type(&b, "/receipts off", 1);
    tp_expect(&b, "read receipts and typing off");
    tp_type(&a, "not receipted", 1);
    tp_expect(&b, "alice: not receipted");
    tp_expect(&a, "alice: not receipted (delivered)");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
}

static void test_block(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;

    start_two(f, &a, &b);
    tp_type(&b, "/block alice", 1);
    tp_expect(&b, "alice is blocked");
    tp_type(&b, "/msg alice hi", 1);
    tp_expect(&b, "alice is blocked: /unblock alice first");
    tp_type(&a, "/msg bob let me in", 1);
    tp_expect(&a, "alice: let me in (queued)");
    tp_type(&b, "/unblock alice", 1);
    tp_expect(&b, "alice is unblocked");
    tp_expect(&b, "alice: let me in"); /* her redial, within a tick */
    tp_expect(&a, "alice: let me in (");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
}

static void test_directory(void **state)
{
    fixture *f = *state;
    mp *carol = &f->peers[2];
    tmux_pane a, b;

    assert_int_equal(mp_start(carol, f->srv.port), 0); /* registered, then offline */
    mp_expect(carol, 0, "presence", "state", "connected");
    mp_quit(carol);
    start_two(f, &a, &b);
    tp_type(&a, "/directory", 1);
    tp_expect(&a, "registered: 2, online: 1");
    tp_expect(&a, "+ bob  online");
    /* Offline, with its last seen ("just now", or "never seen" while the server still holds
     * her logout for --flap-hold): the words themselves are test_tui_date's. */
    tp_expect(&a, "--   carol  ");
    assert_true(tp_row_of(&a, "+ bob  online") < tp_row_of(&a, "--   carol  ")); /* online first */
    tp_type(&a, "/msg nobody hello?", 1);
    tp_expect(&a, "nobody is registered as nobody: the message was not sent");
    tp_type(&a, "/msg carol while you were out", 1);
    tp_expect(&a, "alice: while you were out (in the mailbox)"); /* sealed, deposited */
    tp_type(&a, "/quit", 1);
    tp_type(&a, "/quit", 1); /* a message is still queued: the second /quit leaves */
    assert_int_equal(tp_wait_exit(&a), 0);
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(read_typing),
    PE_SCENARIO(block),
    PE_SCENARIO(directory),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
