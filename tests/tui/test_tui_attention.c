/* End-to-end tests of the terminal interface's attention and contact list (issue 13): the bell
 * as /bell sets it, the terminal title with the unread total, a line naming the sender, desktop
 * notifications through a fake notify-send, presence lines in the right views, the list's
 * order, marks, hint and focus, unread counts and the "new messages" marker across a restart,
 * and a scrolled-up view that stays put ("N new below"). The real `mim` in tmux (tmux_pane.h),
 * `mim --json` partners (mim_proc.h). Each scenario is its own ctest entry (tui/<scenario>). */
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
#include <sys/stat.h>
#include <poll.h>

#include <cmocka.h>

#define COLS      100
#define ROWS      30
#define NO_NOTIFY "--notify off"
#define BURST     121 /* messages bob sends at once (the report's number) */

static int setup(void **state)
{
    return fixture_setup(state, "tui-attn");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

/* from sends text to to and waits for its delivery (text needs no JSON escapes). */
static void say(mp *from, const char *to, const char *text, const char *tag)
{
    mp_cmd(from, "{\"cmd\":\"send\",\"to\":\"%s\",\"text\":\"%s\",\"tag\":\"%s\"}", to, text, tag);
    mp_expect(from, 0, "delivered", "tag", tag);
}

/* The file at path into buf (NUL-terminated; "" when it cannot be read): its length. */
static size_t read_all(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    buf[0] = '\0';
    if (f == NULL)
        return 0;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

/* Waits (bounded) until the file at path holds needle; fails the test otherwise. */
static void expect_file(const char *path, const char *needle)
{
    static char buf[1 << 20];
    uint64_t deadline = now_ms() + TP_WAIT_MS;

    for (;;) {
        size_t n = read_all(path, buf, sizeof(buf));
        if (n > 0 && strstr(buf, needle) != NULL) /* terminal output: no NUL in it */
            return;
        if (now_ms() >= deadline)
            break;
        poll(NULL, 0, 50); /* the file grows as mim writes: polled, bounded above */
    }
    fprintf(stderr, "%s never held \"%s\"\n", path, needle);
    fail();
}

/* The bells in what mim wrote to its terminal: BEL bytes outside OSC strings (a title
 * sequence may end in BEL too). */
static int count_bells(const char *path)
{
    static char buf[1 << 20];
    size_t n = read_all(path, buf, sizeof(buf));
    int bells = 0, in_osc = 0;

    for (size_t i = 0; i < n; i++) {
        if (!in_osc && buf[i] == '\033' && i + 1 < n && buf[i + 1] == ']') {
            in_osc = 1;
            i++;
        } else if (in_osc &&
                   (buf[i] == '\a' || (buf[i] == '\033' && i + 1 < n && buf[i + 1] == '\\'))) {
            in_osc = 0;
        } else if (!in_osc && buf[i] == '\a') {
            bells++;
        }
    }
    return bells;
}

/* 1 when the SGR parameters p (len bytes, "0;2;7") turn reverse video on (a 7 among them). */
static int sgr_has_reverse(const char *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = strcspn(p + i, ";m");
        if (n == 1 && p[i] == '7')
            return 1;
        i += n + 1;
    }
    return 0;
}

/* 1 when the row of an attribute capture (tp_capture_attrs) that holds text is drawn in
 * reverse video: an SGR before text on its row turns it on. */
static int reversed(const char *screen, const char *text)
{
    const char *hit = strstr(screen, text), *start = hit, *sgr;

    if (hit == NULL)
        return 0;
    while (start > screen && start[-1] != '\n')
        start--;
    for (sgr = start; (sgr = strstr(sgr, "\033[")) != NULL && sgr < hit; sgr += 2) {
        size_t len = strspn(sgr + 2, "0123456789;");
        if (sgr[2 + len] == 'm' && sgr_has_reverse(sgr + 2, len))
            return 1;
    }
    return 0;
}

/* Waits (bounded) until the pane's title is title; fails the test otherwise. */
static void expect_title(tmux_pane *p, const char *title)
{
    char now[256] = "";
    uint64_t deadline = now_ms() + TP_WAIT_MS;

    for (;;) {
        tp_format(p, "#{pane_title}", now, sizeof(now));
        if (strcmp(now, title) == 0)
            return;
        if (now_ms() >= deadline)
            break;
        poll(NULL, 0, 50); /* the title follows the next draw: polled, bounded above */
    }
    fprintf(stderr, "%s's title is \"%s\", not \"%s\"\n", p->name, now, title);
    fail();
}

/* alice in tmux (with args), bob and carol as JSON peers, all seeing each other; alice has
 * carol's conversation open, so that what bob says is not in view. */
static void start_three(fixture *f, tmux_pane *a, int rows, const char *env, const char *args)
{
    tp_init(a, f->tmp, "alice");
    tp_start_with(a, f->srv.port, COLS, rows, env, args);
    start_peer(f, &f->peers[1]);
    start_peer(f, &f->peers[2]);
    tp_expect(a, "+ bob");
    tp_expect(a, "+ carol");
    tp_type(a, "/msg carol", 1);
    tp_expect(a, "\ncarol>");
}

/* The bell rings as /bell says (all, first unread only, off), a line in the open view names the
 * sender, and the title carries the unread total. */
static void test_bell_title(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char out[PE_PATH_MAX + 16];

    snprintf(out, sizeof(out), "%s/alice.out", f->tmp);
    tp_init(&a, f->tmp, "alice");
    start_three(f, &a, ROWS, "", NO_NOTIFY);
    tp_pipe_output(&a, out);
    expect_title(&a, "mim: alice");

    say(bob, "alice", "hello there alice", "m1"); /* all: rings */
    tp_expect(&a, "bob is talking to you");
    tp_expect(&a, "+ [1] bob");
    expect_title(&a, "(1) mim: alice");
    tp_type(&a, "/bell first", 1);
    tp_expect(&a, "the bell rings for the first unread message");
    say(bob, "alice", "second words", "m2"); /* not the first unread: silent */
    tp_expect(&a, "bob: second words");      /* the line naming the sender */
    tp_expect(&a, "+ [2] bob");
    tp_type(&a, "/msg bob", 1); /* read: the next one is a first again */
    tp_expect(&a, "\nbob>");
    expect_title(&a, "mim: alice");
    tp_type(&a, "/msg carol", 1);
    tp_expect(&a, "\ncarol>");
    say(bob, "alice", "third", "m3"); /* the first unread: rings */
    tp_expect(&a, "bob: third");
    tp_type(&a, "/bell off", 1);
    tp_expect(&a, "the bell rings for nothing");
    say(bob, "alice", "fourth", "m4"); /* off: silent */
    tp_expect(&a, "bob: fourth");
    tp_type(&a, "/bell all", 1);
    say(bob, "alice", "fifth", "m5"); /* all: rings */
    tp_expect(&a, "+ [3] bob");
    expect_title(&a, "(3) mim: alice");
    expect_file(out, "(3) mim: alice"); /* written after the fifth's bell: all bells are in */
    assert_int_equal(count_bells(out), 3);

    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* Presence lines name the person and go into their conversation and the console, never into
 * someone else's. */
static void test_presence_lines(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;

    start_three(f, &a, ROWS, "", NO_NOTIFY);
    tp_type(&a, "hi carol", 1);
    tp_expect(&a, "alice: hi carol (delivered)");
    say(bob, "alice", "ping", "p1");
    tp_expect(&a, "bob is talking to you");
    mp_quit(bob);
    tp_expect(&a, "  [1] bob (offline)");
    assert_int_equal(tp_row_of(&a, "bob went offline"), -1); /* not in carol's conversation */
    tp_type(&a, "/msg bob", 1);
    tp_expect(&a, "bob went offline");
    mp_restart(bob, f->srv.port);
    tp_expect(&a, "bob came online"); /* his conversation is open */
    tp_type(&a, "/msg carol", 1);
    tp_expect(&a, "\ncarol>");
    assert_int_equal(tp_row_of(&a, "bob came online"), -1);
    assert_int_equal(tp_row_of(&a, "bob went offline"), -1);
    tp_type(&a, "/close", 1); /* the console */
    tp_expect(&a, "\nmim>");
    tp_expect(&a, "bob went offline");
    tp_expect(&a, "bob came online");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* A store with contacts pinned (random keys), one with unread messages and a long name, a
 * message queued to ourselves (never listed), and the names in mixed case. */
static void stage_contacts(const tmux_pane *a)
{
    static const char *const names[] = {"leo",  "Dave",  "bob",  "Carol",
                                        "erin", "frank", "Gina", "hank",
                                        "ivy",  "judy",  "Kim",  "Zed-with-a-long-name-here"};
    char path[TP_PATH_MAX + 16];
    uint8_t pk[32], id[16];
    mim_store *st;

    assert_int_equal(mkdir(a->dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/mim.db", a->dir);
    assert_int_equal(mim_store_open(path, MIM_STORE_PEER, &st), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        memset(pk, (int)i + 1, sizeof(pk));
        assert_int_equal(mim_store_pin_check(st, names[i], pk, 1000), MIM_PIN_NEW);
    }
    for (int i = 0; i < 2; i++) {
        memset(id, 0x40 + i, sizeof(id));
        assert_int_equal(mim_store_message_receive(st, names[11], id, 1000 + i,
                                                   MIM__CONTENT_TYPE__CONTENT_TEXT, "unread", 6),
                         1);
    }
    memset(id, 0x7e, sizeof(id));
    assert_int_equal(mim_store_message_queue(st, "alice", id, 1000, MIM__CONTENT_TYPE__CONTENT_TEXT,
                                             "me", 2, NULL),
                     0);
    mim_store_close(st);
}

/* The list: case-folded order, [N] before the name (a long name cannot hide it), "↓ N more"
 * when it goes on below, never ourselves, and a visible cursor when Tab gives it the keys. */
static void test_list(void **state)
{
    fixture *f = *state;
    tmux_pane a;
    char row[1024];
    static const char *const order[] = {"bob",   "Carol", "Dave", "erin",
                                        "frank", "Gina",  "hank", "ivy"};

    tp_init(&a, f->tmp, "alice");
    stage_contacts(&a);
    tp_start_with(&a, f->srv.port, COLS, 12, "", NO_NOTIFY); /* 9 rows for contacts */
    tp_expect(&a, "\xe2\x86\x93 4 more");
    for (int r = 1; r <= 8; r++) {
        tp_row(&a, r, row, sizeof(row));
        row[strcspn(row, "\xe2")] = '\0'; /* the list's part, before the line (U+2502) */
        assert_non_null(strstr(row, order[r - 1]));
        assert_null(strstr(row, "alice"));
    }
    tp_row(&a, 9, row, sizeof(row));
    assert_non_null(strstr(row, "\xe2\x86\x93 4 more"));
    expect_title(&a, "(2) mim: alice");

    tp_key(&a, "Tab"); /* the list has the keys: a title marker and a reversed cursor row */
    tp_expect_row(&a, 0, "Contacts \xe2\x86\x95 Enter, Esc");
    assert_int_equal(tp_capture_attrs(&a), 0);
    assert_true(reversed(a.screen, "  bob (offline)"));
    assert_false(reversed(a.screen, "  Carol (offline)"));
    for (int i = 0; i < 11; i++)
        tp_key(&a, "Down");
    tp_expect(&a, "[2] Zed-with-a-long-na");     /* the count before the cut name */
    assert_int_equal(tp_row_of(&a, "more"), -1); /* the end: no hint */
    tp_key(&a, "Enter");
    tp_expect(&a, "\nZed-with-a-long-name-here>");
    expect_title(&a, "mim: alice");
    tp_expect(&a, "Contacts "); /* no marker: the keys went back to the input line */
    assert_int_equal(tp_row_of(&a, "Enter, Esc"), -1);
    tp_type(&a, "/quit", 1);
    tp_expect(&a, "1 message is still queued: 1 for alice");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* Unread counts survive a restart; opening lands at the first unread message under the "new
 * messages" marker; a message that comes while the view is scrolled up does not move it. */
static void test_unread_restart(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char text[32], tag[16];

    start_three(f, &a, 20, "", NO_NOTIFY);
    tp_type(&a, "/msg bob", 1);
    tp_expect(&a, "\nbob>");
    for (int i = 1; i <= 5; i++) { /* read: in view */
        snprintf(text, sizeof(text), "old %d", i);
        snprintf(tag, sizeof(tag), "o%d", i);
        say(bob, "alice", text, tag);
    }
    tp_expect(&a, "bob: old 5");
    tp_type(&a, "/msg carol", 1);
    tp_expect(&a, "\ncarol>");
    for (int i = 1; i <= 25; i++) {
        snprintf(text, sizeof(text), "new %02d", i);
        snprintf(tag, sizeof(tag), "n%d", i);
        say(bob, "alice", text, tag);
    }
    tp_expect(&a, "+ [25] bob");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);

    tp_start_with(&a, f->srv.port, COLS, 20, "", NO_NOTIFY);
    tp_expect(&a, "+ [25] bob");
    expect_title(&a, "(25) mim: alice");
    tp_type(&a, "/msg bob", 1);
    tp_expect_row(&a, 1, "--- new messages ---"); /* landed: the marker on top */
    tp_expect_row(&a, 2, "bob: new 01");
    tp_expect(&a, "more below (PageDown)");
    expect_title(&a, "mim: alice");
    say(bob, "alice", "newest", "n26");
    tp_expect(&a, "-- 1 new below (PageDown) --");
    tp_expect_row(&a, 1, "--- new messages ---"); /* the view did not move */
    for (int i = 0; i < 3; i++)
        tp_key(&a, "PageDown");
    tp_expect(&a, "bob: newest");
    assert_int_equal(tp_row_of(&a, "below (PageDown)"), -1);
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);

    tp_start_with(&a, f->srv.port, COLS, 20, "", NO_NOTIFY); /* read is kept too */
    tp_expect(&a, "+ bob");
    expect_title(&a, "mim: alice");
    assert_int_equal(tp_row_of(&a, "] bob"), -1);
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* A desktop notification through notify-send (a fake on PATH that records its argv), with the
 * markup's characters as text; --notify off spawns none. */
static void test_notify(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char bin[PE_PATH_MAX + 8], script[PE_PATH_MAX + 32], args[PE_PATH_MAX + 40];
    char env[2 * PE_PATH_MAX + 128], log[TP_PATH_MAX + 16];

    snprintf(bin, sizeof(bin), "%s/bin", f->tmp);
    snprintf(script, sizeof(script), "%s/notify-send", bin);
    snprintf(args, sizeof(args), "%s.args", script);
    assert_int_equal(mkdir(bin, 0700), 0);
    assert_int_equal(pe_write_file(script, "#!/bin/sh\n"
                                           "printf '%s\\n' \"$@\" > \"$0.args.tmp\"\n"
                                           "mv \"$0.args.tmp\" \"$0.args\"\n"),
                     0);
    assert_int_equal(chmod(script, 0700), 0);
    snprintf(env, sizeof(env), "PATH='%s':\"$PATH\" DBUS_SESSION_BUS_ADDRESS=unix:path=/none", bin);
    start_three(f, &a, ROWS, env, "");
    say(bob, "alice", "<b>hi</b> & there", "m1");
    expect_file(args, "--app-name=mim\n--\nmim: bob\n&lt;b&gt;hi&lt;/b&gt; &amp; there\n");
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);

    snprintf(log, sizeof(log), "%s/mim.log", a.dir);
    assert_int_equal(pe_file_count(log, "desktop notifications through"), 1);
    tp_start_with(&a, f->srv.port, COLS, ROWS, env, NO_NOTIFY);
    tp_expect(&a, "| connected |");
    assert_int_equal(pe_file_count(log, "desktop notifications through"), 1); /* none now */
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* A burst that opens the conversation by itself (none was open): the first frame is stored
 * before the conversation opens, so opening reads part of it from the store; the view must
 * still end at the last message, in order, with none missing and no marker over what came in
 * view (the issue: it stopped at "filler 70", the rest only in /history). */
static void test_burst_on_open(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char text[32], tag[16], row[256];
    int last;

    tp_init(&a, f->tmp, "alice");
    tp_start_with(&a, f->srv.port, COLS, ROWS, "", NO_NOTIFY);
    start_peer(f, bob);
    tp_expect(&a, "+ bob");
    for (int i = 1; i <= BURST; i++) { /* queued while bob dials: one go when the chat opens */
        snprintf(text, sizeof(text), "filler %d", i);
        snprintf(tag, sizeof(tag), "f%d", i);
        mp_cmd(bob, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"%s\",\"tag\":\"%s\"}", text,
               tag);
    }
    snprintf(tag, sizeof(tag), "f%d", BURST);
    mp_expect(bob, 0, "delivered", "tag", tag);
    snprintf(text, sizeof(text), "bob: filler %d", BURST);
    tp_expect(&a, text);
    tp_expect(&a, "\nbob>");
    last = tp_row_of(&a, text);
    assert_int_equal(tp_row_of(&a, "below (PageDown)"), -1);     /* at the end */
    assert_int_equal(tp_row_of(&a, "--- new messages ---"), -1); /* all came in view */
    for (int i = BURST - 1; i > BURST - 10; i--) {               /* in order above it */
        snprintf(text, sizeof(text), "bob: filler %d", i);
        tp_row(&a, last - (BURST - i), row, sizeof(row));
        if (strstr(row, text) == NULL)
            fprintf(stderr, "row %d is \"%s\", not \"%s\"\n", last - (BURST - i), row, text);
        assert_non_null(strstr(row, text));
    }
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(bell_title),     PE_SCENARIO(presence_lines), PE_SCENARIO(list),
    PE_SCENARIO(unread_restart), PE_SCENARIO(notify),         PE_SCENARIO(burst_on_open),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
