/* End-to-end tests of mim's terminal interface: the real `mim` in tmux panes (tmux_pane.h)
 * against the real mim-presence, with a `mim --json` peer (mim_proc.h) where a scripted
 * partner is handier. Each scenario is its own ctest entry (tui/<scenario>). */
#include "mim_proc.h"
#include "mim_store.h"
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
    return fixture_setup(state, "tui");
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
    tp_expect(a, "connected");
}

/* Everything of a normal chat: see each other, talk both ways with delivery marks, a status,
 * a resize, and one side quitting. */
static void test_chat(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;
    char row[1024];

    start_two(f, &a, &b);
    /* Tab completes the name; the message is delivered, and bob is told who talks. */
    tp_type(&a, "/msg b", 0);
    tp_key(&a, "Tab");
    tp_type(&a, "hello bob", 1);
    tp_expect(&a, "alice: hello bob (delivered)");
    tp_expect(&b, "alice is talking to you");
    tp_expect(&b, "alice: hello bob");
    tp_expect(&b, "\nalice>"); /* the conversation opened by itself (its prompt) */
    tp_type(&b, "hi alice", 1);
    tp_expect(&b, "bob: hi alice (delivered)");
    tp_expect(&a, "bob: hi alice");

    /* A status: the list and the conversation say so. */
    tp_type(&b, "/away at lunch", 1);
    tp_expect(&a, "~ bob (away: at lunch)");
    tp_expect(&a, "bob is now away: at lunch");
    tp_expect(&b, "bob [away: at lunch]");
    tp_type(&b, "/back", 1);
    tp_expect(&a, "+ bob");

    /* A resize redraws the whole screen in the new size: list, conversation, bars. */
    tp_resize(&a, 64, 14);
    tp_expect_row(&a, 12, " alice [available]"); /* the status bar, second to last */
    tp_row(&a, 0, row, sizeof(row));
    assert_non_null(strstr(row, "Contacts"));
    tp_row(&a, 13, row, sizeof(row));
    assert_int_equal(strncmp(row, "bob>", 4), 0);
    assert_int_equal(tp_row_of(&a, "bob is now available"), 11); /* the newest, above the bar */
    tp_resize(&a, 120, 40);
    tp_expect_row(&a, 38, " alice [available]");
    assert_true(tp_row_of(&a, "alice: hello bob (delivered)") > 30); /* drawn at the bottom */

    /* bob quits: exit 0, and alice sees him leave. */
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
    tp_expect(&a, "bob went offline");
    tp_expect(&a, "  bob (offline)");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* A message to someone offline is queued, then delivered when they come back; /logout and
 * /login come and go from the presence server while the program stays. */
static void test_offline_queue(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;

    start_two(f, &a, &b);
    tp_type(&a, "/msg bob first", 1);
    tp_expect(&a, "alice: first (delivered)");
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
    tp_expect(&a, "bob went offline");

    tp_type(&a, "are you there?", 1);
    tp_expect(&a, "alice: are you there? (queued)");
    tp_start(&b, f->srv.port, COLS, ROWS);
    tp_expect(&a, "alice: are you there? (delivered)");
    tp_expect(&b, "alice: are you there?");

    /* /logout: bob sees alice go; her history and /msg stay; /login brings her back. */
    tp_type(&a, "/logout", 1);
    tp_expect(&a, "logged out (/login)");
    tp_expect(&b, "  alice (offline)");
    tp_expect(&a, "  bob (offline)");
    tp_expect(&a, "alice: first (delivered)");
    tp_type(&a, "/login", 1);
    tp_expect(&a, "connected");
    tp_expect(&b, "+ alice");
    tp_expect(&a, "+ bob");
    tp_type(&a, "back again", 1);
    tp_expect(&a, "alice: back again (delivered)");
    tp_expect(&b, "alice: back again");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* Text that could drive the terminal is shown as text. The wire refuses ESC and the C1
 * controls in chat text (mim_chat_text_valid), so no peer can send one; what still comes from
 * the network -- bidi overrides -- is shown as replacement characters. The interface's own
 * wall is tested with a message that reached the store some other way (an old version, a
 * copied file): it is read back through the history and must show as "^[" text, without the
 * escape sequence retitling the pane or colouring the screen. */
static void test_escape(void **state)
{
    fixture *f = *state;
    mp *carol = &f->peers[2];
    tmux_pane a;
    char title[256], path[PE_PATH_MAX + 16];
    static const char evil[] = "\x1b]2;pwned\x07\x1b[31mRED\x1b[0m \xc2\x9b"
                               "1m end";
    uint8_t id[16];
    mim_store *st;

    tp_init(&a, f->tmp, "alice");
    tp_start(&a, f->srv.port, COLS, ROWS);
    start_peer(f, carol);
    mp_expect(carol, 0, "online", "name", "alice");
    tp_expect(&a, "+ carol");
    mp_cmd(carol, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"abc\\u202edef\",\"tag\":\"t\"}");
    mp_expect(carol, 0, "delivered", "tag", "t");
    tp_expect(&a, "carol is talking to you");
    tp_expect(&a, "carol: abc\xef\xbf\xbd"
                  "def");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);

    snprintf(path, sizeof(path), "%s/mim.db", a.dir);
    assert_int_equal(mim_store_open(path, MIM_STORE_PEER, &st), 0);
    memset(id, 0x5a, sizeof(id));
    assert_int_equal(mim_store_message_receive(st, "carol", id, 1000,
                                               MIM__CONTENT_TYPE__CONTENT_TEXT, evil, strlen(evil)),
                     1);
    mim_store_close(st);

    tp_start(&a, f->srv.port, COLS, ROWS);
    tp_expect(&a, "+ carol");
    tp_type(&a, "/msg carol", 1);
    tp_expect(&a, "carol: ^[]2;pwned^G^[[31mRED^[[0m \xef\xbf\xbd"
                  "1m end");
    tp_format(&a, "#{pane_title}", title, sizeof(title));
    assert_null(strstr(title, "pwned"));
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(carol);
}

static const pe_test tests[] = {
    {"chat", test_chat},
    {"offline_queue", test_offline_queue},
    {"escape", test_escape},
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
