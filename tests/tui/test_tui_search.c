/* End-to-end tests of /search and /open in the terminal interface (docs/TUI.md): the real `mim`
 * in a tmux pane (tmux_pane.h) against the real mim-presence, with a `mim --json` partner
 * (mim_proc.h) that writes the history. Each scenario is its own ctest entry (tui/<scenario>):
 *
 *   search_open  results listed newest first with date, who and a starred snippet; /open N
 *                opens the conversation scrolled to a message older than what it first shows;
 *                refusals: no word, nobody by that name, no such result
 *   search_room  (issue 16) a `mim --json` peer adds the TUI user to a room and writes there
 *                and 1:1; /search --room finds the room's message only; /msg #ROOM replies,
 *                and the JSON peer gets the reply with its room; an unknown room is refused */
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

#define COLS    100
#define ROWS    30
#define FILLERS 120 /* more than a conversation first shows (TUI_HISTORY_DEFAULT) */

static int setup(void **state)
{
    return fixture_setup(state, "tui-search");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

static void test_search_open(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char line[20000], next[1024];
    const char *p;
    size_t o = 0;
    int row;

    tp_init(&a, f->tmp, "alice");
    tp_start(&a, f->srv.port, COLS, ROWS);
    start_peer(f, bob);
    mp_expect(bob, 0, "online", "name", "alice");
    tp_expect(&a, "+ bob");
    /* The message to find, then enough others to push it out of the first page of history:
     * one read of lines, so one batch. */
    mp_cmd(bob, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"the Caf\\u00e9 opens at nine\","
                "\"tag\":\"key\"}");
    for (int i = 1; i <= FILLERS; i++)
        o += (size_t)snprintf(line + o, sizeof(line) - o,
                              "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"filler %d\","
                              "\"tag\":\"f%d\"}\n",
                              i, i);
    mp_write_once(bob, line);
    mp_expect(bob, 0, "delivered", "tag", "f120");
    tp_expect(&a, "bob: filler"); /* stored (delivered is acked after the commit) and shown */

    tp_type(&a, "/search cafe", 1);
    tp_expect(&a, "1 found; /open N");
    tp_expect(&a, "[1] 20"); /* a full date */
    tp_expect(&a, "bob to alice: the *Caf\xc3\xa9* opens at nine");
    tp_type(&a, "/search --with bob filler", 1);
    tp_expect(&a, "50 found (the newest 50)");
    tp_expect(&a, "[50] 20");

    /* /open: bob's conversation, scrolled to the message (it is not among the last 50). */
    tp_type(&a, "/search opens caf", 1);
    tp_expect(&a, "bob to alice: the *Caf\xc3\xa9* *opens* at nine");
    tp_type(&a, "/open 1", 1);
    tp_expect(&a, "\nbob>");
    tp_expect(&a, "bob: the Caf\xc3\xa9 opens at nine");
    tp_expect(&a, "more below (PageDown)");
    row = tp_row_of(&a, "bob: the Caf\xc3\xa9 opens at nine");
    assert_true(row > 2 && row < ROWS - 3);  /* on screen, with messages after it below */
    tp_row(&a, row + 1, next, sizeof(next)); /* the message after it, right below */
    p = strstr(next, "bob: filler 1");
    assert_non_null(p);
    assert_true(p[13] == ' ' || p[13] == '\0');

    /* Refusals, in the console. */
    tp_type(&a, "/search !!", 1);
    tp_expect(&a, "cannot search: no word to search for");
    tp_type(&a, "/search --with nobody x", 1);
    tp_expect(&a, "nobody named nobody");
    tp_type(&a, "/open 2", 1);
    tp_expect(&a, "there is no result 2");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(bob);
}

static void test_search_room(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;

    tp_init(&a, f->tmp, "alice");
    tp_start(&a, f->srv.port, COLS, ROWS);
    start_peer(f, bob);
    mp_expect(bob, 0, "online", "name", "alice");
    tp_expect(&a, "+ bob");
    mp_cmd(bob, "{\"cmd\":\"room_create\",\"room\":\"lab\",\"members\":[\"alice\"],"
                "\"tag\":\"mk\"}");
    mp_expect(bob, 0, "room", "tag", "mk");
    mp_cmd(bob, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"lunch in the lab\"}");
    mp_cmd(bob, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"lunch alone\",\"tag\":\"one\"}");
    tp_expect(&a, "bob: lunch in the lab"); /* the room's conversation opened by itself */
    mp_expect(bob, 0, "delivered", "tag", "one");

    tp_type(&a, "/search --room lab lunch", 1);
    tp_expect(&a, "1 found in #lab");
    tp_expect(&a, "bob to alice: *lunch* in the lab");
    tp_type(&a, "/search --room nosuch lunch", 1);
    tp_expect(&a, "cannot search #nosuch: no room of yours");
    tp_type(&a, "/msg #lab lunch at noon", 1);
    assert_string_equal(sfield(mp_expect(bob, 0, "message", "text", "lunch at noon"), "room"),
                        "lab");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(bob);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(search_open),
    PE_SCENARIO(search_room),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
