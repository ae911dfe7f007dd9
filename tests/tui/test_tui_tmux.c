/* End-to-end tests of mim's terminal interface: the real `mim` in tmux panes (tmux_pane.h)
 * against the real mim-presence, with a `mim --json` peer (mim_proc.h) where a scripted
 * partner is handier. Each scenario is its own ctest entry (tui/<scenario>). */
#include "mim_proc.h"
#include "mim_store_peer.h"
#include "peer.pb-c.h"
#include "tmux_pane.h"

#include <setjmp.h>
#include <signal.h>
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

/* A second presence server (another key on the same port), for server_key; stopped and
 * removed in teardown whatever happened. */
static pe_server other_srv;

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    pe_server_cleanup(&other_srv);
    return fixture_teardown(state);
}

static int bell_flag(tmux_pane *p)
{
    char flag[16];
    tp_format(p, "#{window_bell_flag}", flag, sizeof(flag));
    return strcmp(flag, "1") == 0;
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

/* Everything of a normal chat: see each other, talk both ways with delivery marks (read: the
 * other's open conversation shows each message), a status, a resize, and one side quitting. */
static void test_chat(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;
    char row[1024];

    start_two(f, &a, &b);
    assert_false(bell_flag(&b));
    /* Tab completes the name; the message is delivered, and bob is told who talks (and the
     * bell rings). */
    tp_type(&a, "/msg b", 0);
    tp_key(&a, "Tab");
    tp_type(&a, "hello bob", 1);
    tp_expect(&a, "alice: hello bob (read)");
    tp_expect(&b, "alice is talking to you");
    tp_expect(&b, "alice: hello bob");
    tp_expect(&b, "\nalice>"); /* the conversation opened by itself (its prompt) */
    assert_true(bell_flag(&b));
    tp_type(&b, "hi alice", 1);
    tp_expect(&b, "bob: hi alice (read)");
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
    assert_true(tp_row_of(&a, "alice: hello bob (read)") > 30); /* drawn at the bottom */

    /* bob quits: exit 0, and alice sees him leave. */
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
    tp_expect(&a, "bob went offline");
    tp_expect(&a, "  bob (offline)");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* A message to someone offline is queued and sealed in the server's mailbox (issue 14: the mark
 * "(in the mailbox)"), then delivered and read when they come back; /logout and /login come and
 * go from the presence server while the program stays. */
static void test_offline_queue(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;

    start_two(f, &a, &b);
    tp_type(&a, "/msg bob first", 1);
    tp_expect(&a, "alice: first (read)");
    tp_type(&b, "/quit", 1);
    assert_int_equal(tp_wait_exit(&b), 0);
    tp_expect(&a, "bob went offline");

    tp_type(&a, "are you there?", 1);
    tp_expect(&a, "alice: are you there? (in the mailbox)");
    tp_start(&b, f->srv.port, COLS, ROWS);
    /* bob opens alice's conversation (the letter may arrive before or after): it shows there,
     * is read, and the receipt goes back over a session bob opens for it. */
    tp_type(&b, "/msg alice", 1);
    tp_expect(&b, "alice: are you there?");
    tp_expect(&a, "alice: are you there? (read)");

    /* /logout: bob sees alice go; her history and /msg stay; /login brings her back. */
    tp_type(&a, "/logout", 1);
    tp_expect(&a, "logged out (/login)");
    tp_expect(&b, "  alice (offline)");
    tp_expect(&a, "  bob (offline)");
    tp_expect(&a, "alice: first (read)");
    tp_type(&a, "/login", 1);
    tp_expect(&a, "connected");
    tp_expect(&b, "+ alice");
    tp_expect(&a, "+ bob");
    tp_type(&a, "back again", 1);
    tp_expect(&a, "alice: back again (read)");
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
    tp_expect(&a, "+ [1] carol"); /* the message put in the store is unread */
    tp_type(&a, "/msg carol", 1);
    tp_expect(&a, "carol: ^[]2;pwned^G^[[31mRED^[[0m \xef\xbf\xbd"
                  "1m end");
    tp_format(&a, "#{pane_title}", title, sizeof(title));
    assert_null(strstr(title, "pwned"));
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(carol);
}

/* A contact's key changes (the name freed by the admin, a new key under it): a banner over
 * the conversation and a mark in the list; the message is held until /trust, which the banner
 * names, and the banner comes back with the key after a restart. */
static void test_key_change(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1], *new_bob = &f->peers[2];
    tmux_pane a;
    char new_fp[64];

    tp_init(&a, f->tmp, "alice");
    tp_start(&a, f->srv.port, COLS, ROWS);
    start_peer(f, bob);
    tp_expect(&a, "+ bob");
    tp_type(&a, "/msg bob hi", 1);
    tp_expect(&a, "alice: hi (delivered)");
    mp_quit(bob);
    tp_expect(&a, "bob went offline");
    free_name(&f->srv, "bob");
    mp_init(new_bob, f, "bob", "bob2");
    snprintf(new_fp, sizeof(new_fp), "%s", sfield(start_peer(f, new_bob), "fingerprint"));
    tp_expect(&a, "+ !bob"); /* the table shows the new key: the alarm comes at once */

    tp_type(&a, "are you bob?", 1);
    tp_expect(&a, "THE KEY OF bob HAS CHANGED: messages to them are held");
    tp_expect(&a, "+ !bob");
    tp_expect(&a, "then /trust bob");
    tp_expect(&a, "alice: are you bob? (queued)");
    assert_true(tp_row_of(&a, "THE KEY OF bob HAS CHANGED: messages") == 1); /* on top */

    /* After a restart the banner still names the new key. /quit first says what is queued, and
     * the console says it again at the start. */
    tp_type(&a, "/quit", 1);
    tp_expect(&a, "1 message is still queued: 1 for bob. They go out");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    tp_start(&a, f->srv.port, COLS, ROWS);
    tp_expect(&a, "1 message is still queued: 1 for bob (from before");
    tp_expect(&a, "+ !bob");
    tp_type(&a, "/msg bob", 1);
    tp_expect(&a, new_fp);
    tp_type(&a, "/trust bob", 1);
    tp_expect(&a, "the new key of bob is trusted");
    tp_expect(&a, "alice: are you bob? (delivered)");
    mp_expect(new_bob, 0, "message", "text", "are you bob?");
    assert_int_equal(tp_row_of(&a, "HAS CHANGED: messages"), -1); /* the banner is gone */
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* The presence server comes back with another key: the status bar says reconnecting while it
 * is away, then a banner and the status bar say the key changed, until /trust-server (whose
 * argument Tab completes with the new key). */
static void test_server_key(void **state)
{
    fixture *f = *state;
    tmux_pane a;

    tp_init(&a, f->tmp, "alice");
    tp_start(&a, f->srv.port, COLS, ROWS);
    tp_expect(&a, "| connected |");
    tp_type(&a, "/trust-server", 1);
    tp_expect(&a, "the presence server's key has not changed");

    assert_int_equal(pe_server_init(&other_srv, "tui-srv2"), 0);
    pe_server_kill(&f->srv);
    tp_expect(&a, "| reconnecting (stale table) |");
    assert_int_equal(pe_server_start(&other_srv, f->srv.port), 0);
    tp_expect(&a, "THE PRESENCE SERVER'S KEY HAS CHANGED: its list");
    tp_expect(&a, "| connected (SERVER KEY CHANGED) |");
    assert_true(tp_row_of(&a, "THE PRESENCE SERVER'S KEY HAS CHANGED: its list") == 1);

    tp_type(&a, "/trust-s", 0);
    tp_key(&a, "Tab");
    tp_expect(&a, "\nmim> /trust-server");
    tp_key(&a, "Tab");
    tp_expect(&a, other_srv.fingerprint);
    tp_key(&a, "Enter");
    tp_expect(&a, "the presence server's new key");
    tp_expect(&a, "| connected |");
    assert_int_equal(tp_row_of(&a, "KEY HAS CHANGED: its list"), -1);
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* Tiny terminals, a long message of wide, combining and emoji characters, then SIGTERM: mim
 * keeps running through every size, draws the message wrapped at words, and quits with 0. */
static void test_sizes_and_signal(void **state)
{
    fixture *f = *state;
    tmux_pane a, b;
    char text[4200];
    size_t n = 0;
    static const char word[] = "\xe6\xbc\xa2\xe5\xad\x97\xf0\x9f\x98\x80"
                               "e\xcc\x81"
                               "xyz "; /* 漢字😀é */

    start_two(f, &a, &b);
    while (n + sizeof(word) < 4000) {
        memcpy(text + n, word, sizeof(word) - 1);
        n += sizeof(word) - 1;
    }
    memcpy(text + n, "END", 4);
    tp_type(&b, "/msg alice ", 0);
    tp_type(&b, text, 1);
    tp_expect(&b, "(read)"); /* the only message (read: alice has it open); its END may wrap */
    tp_expect(&a, "END");

    tp_resize(&a, 20, 5);
    tp_expect(&a, "too small");
    tp_resize(&a, 1, 1);
    tp_resize(&a, 2, 2);
    tp_resize(&a, 40, 8); /* the smallest full screen */
    tp_expect_row(&a, 6, " alice [available] | connected");
    tp_resize(&a, COLS, ROWS);
    tp_expect_row(&a, ROWS - 2, " alice [available]");
    /* Wrapped at spaces: no row of the conversation starts or ends inside a word. */
    assert_true(tp_row_of(&a, "xyz \xe6\xbc\xa2") >= 0);
    for (int r = 2; r < ROWS - 3; r++) {
        char row[1024];
        size_t len;
        tp_row(&a, r, row, sizeof(row));
        len = strlen(row);
        while (len > 0 && row[len - 1] == ' ')
            len--;
        if (len >= 3 && strstr(row, "END") == NULL)
            assert_memory_equal(row + len - 3, "xyz", 3); /* every full row ends a word */
    }

    tp_signal(&a, SIGTERM);
    assert_int_equal(tp_wait_exit(&a), 0);
    tp_expect(&b, "alice went offline");
    tp_signal(&b, SIGHUP);
    assert_int_equal(tp_wait_exit(&b), 0);
}

/* A name typed in another Unicode form is the contact's: alice writes to Zoé (NFC) as
 * "Zoe" + U+0301 (NFD), and the message goes to Zoé's conversation and is delivered. */
static void test_name_forms(void **state)
{
    fixture *f = *state;
    tmux_pane a, z;

    tp_init(&a, f->tmp, "alice");
    tp_init(&z, f->tmp, "Zo\xc3\xa9");
    tp_start(&a, f->srv.port, COLS, ROWS);
    tp_start(&z, f->srv.port, COLS, ROWS);
    tp_expect(&a, "+ Zo\xc3\xa9");
    tp_expect(&z, "+ alice");
    tp_type(&a, "/msg Zoe\xcc\x81 bonjour", 1);
    tp_expect(&a, "alice: bonjour (read)");
    tp_expect(&a, "\nZo\xc3\xa9>"); /* Zoé's conversation is the one open */
    tp_expect(&z, "alice: bonjour");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    tp_type(&z, "/quit", 1);
    assert_int_equal(tp_wait_exit(&z), 0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(chat),       PE_SCENARIO(offline_queue), PE_SCENARIO(escape),
    PE_SCENARIO(key_change), PE_SCENARIO(server_key),    PE_SCENARIO(sizes_and_signal),
    PE_SCENARIO(name_forms),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
