/* End-to-end tests of the terminal interface's trust flow and feedback (issue 13): the real
 * `mim` in tmux panes (tmux_pane.h) against the real mim-presence, with `mim --json` partners
 * (mim_proc.h). Each scenario is its own ctest entry (tui/<scenario>):
 *
 *   safety_number  /verify prints the number exactly as the JSON API's safety_number (12
 *                  groups of 5 digits); /verify of oneself is refused
 *   key_history    after a key change: /verify says "new key" and shows the new key's number;
 *                  the lasting "key of bob changed" line is in /history, also after a restart
 *   closed_grey    the other side's close: "(closed by them)" in the title and a line, until
 *                  they write again
 *   text_limits    /away with a 130-byte text: "2 bytes over its limit of 128 bytes"
 *   unreachable    a message to bob, online at an address where nothing listens: one line
 *                  "cannot reach bob: connection refused to 127.0.0.1:9, retrying in 5 s"
 *   no_server      no presence server at the start: "unreachable" in the status bar and the
 *                  reason in a line, not "reconnecting (stale table)" */
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

#define COLS 160
#define ROWS 30

static int setup(void **state)
{
    return fixture_setup(state, "tui-trust");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

/* alice in a pane, bob (p) as a --json partner; they see each other. */
static void start_alice_and(fixture *f, tmux_pane *a, mp *p, const char *mark)
{
    tp_init(a, f->tmp, "alice");
    tp_start(a, f->srv.port, COLS, ROWS);
    start_peer(f, p);
    tp_expect(a, mark);
    mp_expect(p, 0, "online", "name", "alice");
}

/* /quit: mim exits 0, and its tmux session is gone (bounded), so that a restart under the
 * same session name does not race the old one's end. */
static void quit_pane(tmux_pane *a)
{
    uint64_t end;

    tp_type(a, "/quit", 1);
    assert_int_equal(tp_wait_exit(a), 0);
    end = now_ms() + 10000;
    while (tp_capture(a) == 0)
        if (now_ms() >= end)
            fail_msg("the tmux session of %s did not end", a->name);
}

/* bob's safety number with alice, as the JSON API gives it. */
static void json_number(mp *p, const char *with, const char *tag, char out[80])
{
    size_t from = p->nev;
    json_t *ev;

    mp_cmd(p, "{\"cmd\":\"verify\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    ev = mp_expect(p, from, "safety_number", "tag", tag);
    snprintf(out, 80, "%s", sfield(ev, "number"));
}

static void test_safety_number(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char number[80], line[160];

    start_alice_and(f, &a, bob, "+ bob");
    json_number(bob, "alice", "v1", number);
    assert_int_equal(strlen(number), 71); /* 60 digits, 11 single spaces */
    snprintf(line, sizeof(line), "safety number with bob: %s", number);
    tp_type(&a, "/verify bob", 1);
    tp_expect(&a, line);
    tp_type(&a, "/verify alice", 1);
    tp_expect(&a, "that is you");
    quit_pane(&a);
    mp_quit(bob);
}

static void test_key_history(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1], *new_bob = &f->peers[2];
    tmux_pane a;
    char number[80], line[200], new_fp[64];

    start_alice_and(f, &a, bob, "+ bob");
    tp_type(&a, "/msg bob hi", 1);
    tp_expect(&a, "alice: hi (delivered)");
    mp_quit(bob);
    tp_expect(&a, "bob went offline");
    free_name(&f->srv, "bob");
    mp_init(new_bob, f, "bob", "bob2");
    snprintf(new_fp, sizeof(new_fp), "%s", sfield(start_peer(f, new_bob), "fingerprint"));
    /* From the table alone: nothing was sent. */
    tp_expect(&a, "+ !bob");

    json_number(new_bob, "alice", "v1", number);
    snprintf(line, sizeof(line), "safety number with bob (new key, not yet trusted): %s", number);
    tp_type(&a, "/verify bob", 1);
    tp_expect(&a, line);
    tp_expect(&a, "type /trust bob");

    /* In this run the change is the loud line shown when it came; the lasting one is in the
     * store, and the history shows it from the next run on. */
    tp_expect(&a, "THE KEY OF bob HAS CHANGED: was");
    quit_pane(&a);
    tp_start(&a, f->srv.port, COLS, ROWS);
    tp_expect(&a, "+ !bob");
    tp_type(&a, "/msg bob", 1);
    tp_type(&a, "/history", 1);
    tp_expect(&a, "the key of bob changed from");
    tp_expect(&a, new_fp);
    quit_pane(&a);
    mp_quit(new_bob);
}

static void test_closed_grey(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;

    start_alice_and(f, &a, bob, "+ bob");
    tp_type(&a, "/msg bob hello", 1);
    tp_expect(&a, "alice: hello (delivered)");
    mp_cmd(bob, "{\"cmd\":\"close\",\"with\":\"alice\",\"tag\":\"c1\"}");
    mp_expect(bob, 0, "ok", "tag", "c1");
    tp_expect(&a, "bob closed the conversation");
    tp_expect_row(&a, 0, "bob (closed by them)");
    mp_cmd(bob, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"back again\",\"tag\":\"s1\"}");
    tp_expect(&a, "bob: back again");
    tp_capture(&a);
    assert_int_equal(tp_row_of(&a, "(closed by them)"), -1);
    quit_pane(&a);
    mp_quit(bob);
}

static void test_text_limits(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char cmd[160];

    start_alice_and(f, &a, bob, "+ bob");
    snprintf(cmd, sizeof(cmd), "/away %0130d", 0);
    tp_type(&a, cmd, 1);
    tp_expect(&a, "the status text is 2 bytes over its limit of 128 bytes");
    quit_pane(&a);
    mp_quit(bob);
}

static void test_unreachable(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;

    bob->extra[0] = "--advertise-port"; /* nothing listens on port 9 of the loopback */
    bob->extra[1] = "9";
    bob->extra[2] = NULL;
    start_alice_and(f, &a, bob, "+ bob");
    tp_type(&a, "/msg bob are you there", 1);
    tp_expect(&a, "alice: are you there (queued)");
    tp_expect(&a, "cannot reach bob: connection refused to 127.0.0.1:9, retrying in 5 s");
    tp_type(&a, "/quit", 1); /* with a message queued, /quit says so first */
    tp_expect(&a, "/quit again to leave now");
    quit_pane(&a);
    mp_quit(bob);
}

static void test_no_server(void **state)
{
    fixture *f = *state;
    tmux_pane a;

    tp_init(&a, f->tmp, "alice");
    tp_start(&a, 9, COLS, ROWS); /* nothing listens on port 9 */
    tp_expect(&a, "cannot reach the presence server at 127.0.0.1:9: connection refused");
    tp_expect(&a, "| unreachable |");
    assert_int_equal(tp_row_of(&a, "stale table"), -1);
    assert_int_equal(tp_row_of(&a, "server: presence server"), -1);
    quit_pane(&a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(safety_number), PE_SCENARIO(key_history), PE_SCENARIO(closed_grey),
    PE_SCENARIO(text_limits),   PE_SCENARIO(unreachable), PE_SCENARIO(no_server),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
