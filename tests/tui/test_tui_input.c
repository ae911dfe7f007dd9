/* End-to-end tests of the terminal interface's input and reading (docs/TUI.md, "Keys" and
 * "Pastes, lines and limits"): the real `mim` in tmux panes (tmux_pane.h), a `mim --json` bob
 * (mim_proc.h) who reports exactly what text arrived. Each scenario is its own ctest entry
 * (tui/<scenario>). */
#include "mim_proc.h"
#include "mim_store_peer.h"
#include "peer.pb-c.h"
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
    return fixture_setup(state, "tuiin");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

/* Waits (bounded) until the input line, the last row, is exactly text (the capture drops the
 * spaces at the end of a row). */
static void expect_input(tmux_pane *p, const char *text)
{
    char row[1024];

    tp_expect_row(p, ROWS - 1, text);
    tp_row(p, ROWS - 1, row, sizeof(row));
    assert_string_equal(row, text);
}

/* alice in a pane, bob a JSON peer: they see each other, and alice's conversation with bob is
 * open. */
static void start_alice_and_bob(fixture *f, tmux_pane *a, mp *bob, const char *env)
{
    tp_init(a, f->tmp, "alice");
    tp_start_env(a, f->srv.port, COLS, ROWS, env, 0);
    start_peer(f, bob);
    tp_expect(a, "+ bob");
    tp_type(a, "/msg bob", 1);
    tp_expect(a, "\nbob>");
}

/* A paste is one message with its lines, sent by Enter only; a pasted "/quit" is text; a paste
 * over the limit is refused whole, saying by how much; Alt-Enter types a new line. */
static void test_paste(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    static char big[5001];

    start_alice_and_bob(f, &a, bob, "");
    tp_paste(&a, "first line\nsecond line\nthird");
    /* Not sent: the input grew to three rows, the status bar above them. */
    tp_expect(&a, "3 lines: Enter sends them as one message");
    assert_int_equal(tp_row_of(&a, "bob> first line"), ROWS - 3);
    assert_int_equal(tp_row_of(&a, "second line"), ROWS - 2);
    assert_int_equal(tp_row_of(&a, "third"), ROWS - 1);
    assert_int_equal(mp_count(bob, "message", NULL, NULL), 0);
    tp_key(&a, "Enter");
    mp_expect(bob, 0, "message", "text", "first line\nsecond line\nthird");
    tp_expect(&a, "third (delivered)");

    /* A pasted command is never run: it goes as text, and alice is still here. */
    tp_paste(&a, "/quit");
    tp_expect(&a, "pasted text starting with '/': Enter sends it as text");
    tp_key(&a, "Enter");
    mp_expect(bob, 0, "message", "text", "/quit");
    tp_expect(&a, "alice: /quit (delivered)");

    /* Controls in a paste are left out (and said); Alt-Enter is a new line typed. */
    tp_paste(&a, "x\033[31my");
    tp_expect(&a, "1 control character left out");
    tp_key(&a, "Enter");
    mp_expect(bob, 0, "message", "text", "x[31my");
    tp_type(&a, "top", 0);
    tp_key(&a, "M-Enter");
    tp_type(&a, "bottom", 1);
    mp_expect(bob, 0, "message", "text", "top\nbottom");

    /* 5000 bytes: refused whole, by how much said; the line stays empty. */
    memset(big, 'a', 5000);
    tp_paste(&a, big);
    tp_expect(&a, "not pasted: 904 bytes over the 4096-byte limit");
    expect_input(&a, "bob>");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    assert_int_equal(mp_count(bob, "message", NULL, NULL), 4);
}

/* A paste whose end mark (ESC[201~) never comes ends after TUI_PASTE_IDLE_MS without keys,
 * saying so: what came is in the line, and what is typed after it is typing again (Enter
 * sends). */
static void test_paste_no_end(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;

    start_alice_and_bob(f, &a, bob, "");
    tp_type(&a, "\033[200~half a paste", 0); /* the start mark, and no end */
    tp_expect(&a, "the paste had no end mark: it ended after 500 ms without keys");
    expect_input(&a, "bob> half a paste");
    tp_type(&a, " and typed", 1);
    mp_expect(bob, 0, "message", "text", "half a paste and typed");
    tp_expect(&a, "alice: half a paste and typed (delivered)");
    tp_type(&a, "/quit", 1); /* a command again: typed, not pasted */
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* Word keys edit where they should; Tab cycles names in the status bar, never in the
 * conversation; Ctrl-C clears the line first (Up brings it back), then quits. */
static void test_keys(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1], *bobby = &f->peers[2];
    tmux_pane a;

    mp_init(bobby, f, "bobby", "bobby");
    start_alice_and_bob(f, &a, bob, "");
    start_peer(f, bobby);
    tp_expect(&a, "+ bobby");

    tp_type(&a, "hello wrld", 0);
    tp_key(&a, "M-b"); /* to the start of "wrld" */
    tp_type(&a, "big ", 0);
    tp_key(&a, "M-f"); /* to its end */
    tp_type(&a, "!", 1);
    mp_expect(bob, 0, "message", "text", "hello big wrld!");
    tp_type(&a, "alpha gamma", 0);
    tp_key(&a, "C-Left");
    tp_type(&a, "beta ", 0);
    tp_key(&a, "C-Right");
    tp_type(&a, " delta epsilon", 0);
    tp_key(&a, "C-w");      /* "epsilon" */
    tp_key(&a, "M-BSpace"); /* "delta " */
    tp_type(&a, "end", 1);
    mp_expect(bob, 0, "message", "text", "alpha beta gamma end");

    /* Tab, Tab, Tab: bob, bobby, bob; the candidates are in the status bar only. */
    tp_type(&a, "/msg bo", 0);
    tp_key(&a, "Tab");
    tp_expect_row(&a, ROWS - 2, "Tab: [bob] bobby");
    expect_input(&a, "bob> /msg bob");
    tp_key(&a, "Tab");
    tp_expect_row(&a, ROWS - 2, "Tab: bob [bobby]");
    expect_input(&a, "bob> /msg bobby");
    assert_int_equal(tp_row_of(&a, "Tab:"), ROWS - 2);
    tp_type(&a, " hi", 1);
    mp_expect(bobby, 0, "message", "text", "hi");
    tp_expect(&a, "\nbobby>");
    assert_int_equal(tp_row_of(&a, "Tab:"), -1); /* gone with the next key */

    /* Ctrl-C: the typed line is cleared, not sent, and Up brings it back; then it quits. */
    tp_type(&a, "half a thought", 0);
    tp_key(&a, "C-c");
    tp_expect(&a, "line cleared (Up brings it back)");
    expect_input(&a, "bobby>");
    tp_key(&a, "Up");
    expect_input(&a, "bobby> half a thought");
    tp_key(&a, "C-c");
    expect_input(&a, "bobby>");
    tp_key(&a, "C-c");
    assert_int_equal(tp_wait_exit(&a), 0);
    assert_int_equal(mp_count(bobby, "message", NULL, NULL), 1);
}

/* Stores n messages from bob to alice, from 2026-11-03 10:00 UTC a minute apart ("old 001"
 * ...), as if received long ago. */
static void store_old_messages(const tmux_pane *a, int n)
{
    char path[PE_PATH_MAX + 16], text[32];
    uint8_t id[16];
    mim_store *st;

    snprintf(path, sizeof(path), "%s/mim.db", a->dir);
    assert_int_equal(mim_store_open(path, MIM_STORE_PEER, &st), 0);
    for (int i = 1; i <= n; i++) {
        memset(id, 0, sizeof(id));
        id[0] = 0x0d;
        id[15] = (uint8_t)i;
        snprintf(text, sizeof(text), "old %03d", i);
        assert_int_equal(
            mim_store_message_receive(st, "bob", id, 1793700000000LL + (int64_t)i * 60000,
                                      MIM__CONTENT_TYPE__CONTENT_TEXT, text, strlen(text)),
            1);
    }
    /* Read before: the conversation opens at its end, not at a first unread message. */
    assert_int_equal(mim_store_mark_read(st, "bob"), 1);
    mim_store_close(st);
}

/* 120 stored messages: the conversation opens on the last 50, says older ones exist, /history
 * adds some above, PageUp at the top reads the rest, and the top says it is the beginning. Old
 * messages show their date, and a separator names the day where it changes. */
static void test_history_paging(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    int pages = 0;

    start_alice_and_bob(f, &a, bob, "TZ=UTC0");
    tp_type(&a, "hi", 1); /* a contact now: its history is alice's to read */
    tp_expect(&a, "alice: hi (delivered)");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    store_old_messages(&a, 120);

    tp_start_env(&a, f->srv.port, COLS, ROWS, "TZ=UTC0", 0);
    tp_expect(&a, "+ bob");
    tp_type(&a, "/msg bob", 1);
    tp_expect(&a, "2026-11-03 12:00 bob: old 120"); /* a date before today: in the column */
    tp_type(&a, "/history 80", 1);
    tp_expect(&a, "30 older messages added above (the last 80 with bob)");
    while (pages++ < 10 && (tp_capture(&a), strstr(a.screen, "older messages: PageUp") == NULL))
        tp_key(&a, "PageUp");
    tp_expect(&a, "older messages: PageUp");
    assert_null(strstr(a.screen, "old 040")); /* not read yet */
    for (pages = 0; pages < 30; pages++) {
        tp_key(&a, "PageUp");
        if (tp_capture(&a) == 0 && strstr(a.screen, "the beginning of the conversation") != NULL)
            break;
    }
    tp_expect(&a, "\xe2\x94\x80\xe2\x94\x80 the beginning of the conversation with bob");
    tp_expect(&a, "alice: hi (delivered)");
    tp_expect(&a, "\xe2\x94\x80\xe2\x94\x80 Tuesday 3 November 2026 \xe2\x94\x80\xe2\x94\x80");
    tp_expect(&a, "2026-11-03 10:01 bob: old 001");
    /* The separator sits between today's "hi" and the first of 3 November. */
    assert_int_equal(tp_row_of(&a, "Tuesday 3 November 2026"), tp_row_of(&a, "old 001") - 1);
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* A terminal that cannot move its cursor: no screen drawn, a message pointing to --json, 2. */
static void test_dumb_terminal(void **state)
{
    fixture *f = *state;
    tmux_pane a;

    tp_init(&a, f->tmp, "alice");
    tp_start_env(&a, f->srv.port, COLS, ROWS, "TERM=dumb", 1);
    assert_int_equal(tp_wait_exit(&a), 2);
    tp_expect(&a, "mim: this terminal (TERM=dumb) cannot move its cursor");
    tp_expect(&a, "--json");
}

/* The C locale: a warning says what is missing and how to get it; marks are ASCII, and letters
 * it cannot show are '?'. */
static void test_c_locale(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;

    tp_init(&a, f->tmp, "alice");
    tp_start_env(&a, f->srv.port, COLS, ROWS, "LANG=C LC_ALL=C", 0);
    tp_expect(&a, "the locale (C) is not UTF-8: marks are drawn in ASCII");
    tp_expect(&a, "                          |"); /* the list's edge */
    start_peer(f, bob);
    tp_expect(&a, "+ bob");
    tp_type(&a, "/msg bob", 1);
    mp_cmd(bob, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"caf\\u00e9 ok\",\"tag\":\"t\"}");
    mp_expect(bob, 0, "delivered", "tag", "t");
    tp_expect(&a, "bob: caf? ok");
    tp_type(&a, "/verify bob yes", 1);
    tp_expect(&a, "+vbob");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(paste),         PE_SCENARIO(keys),     PE_SCENARIO(history_paging),
    PE_SCENARIO(dumb_terminal), PE_SCENARIO(c_locale), PE_SCENARIO(paste_no_end),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
