/* The terminal interface's model: list order, conversations, states, history merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tui_attention.h"
#include "tui_model.h"

#include <stdio.h>
#include <string.h>

static void test_list_order(void **state)
{
    tui_model m;
    (void)state;
    tui_model_init(&m);
    tui_model_contact(&m, "dave", 1);
    tui_model_set_online(&m, "carol", 1);
    tui_model_contact(&m, "bob", 1);
    tui_model_set_online(&m, "alice", 1);
    assert_int_equal(m.n, 4);
    assert_string_equal(m.c[0]->name, "alice"); /* online first, by name */
    assert_string_equal(m.c[1]->name, "carol");
    assert_string_equal(m.c[2]->name, "bob");
    assert_string_equal(m.c[3]->name, "dave");
    tui_model_set_online(&m, "alice", 0);
    assert_string_equal(m.c[0]->name, "carol");
    assert_string_equal(m.c[1]->name, "alice");
    tui_model_set_status(&m, "carol", "away", "lunch");
    assert_int_equal(m.c[0]->presence, TUI_AWAY);
    assert_string_equal(m.c[0]->status_text, "lunch");
    assert_null(tui_model_contact(&m, "eve", 0));
    tui_model_free(&m);
}

static void test_select_and_open(void **state)
{
    tui_model m;
    (void)state;
    tui_model_init(&m);
    tui_model_select_move(&m, 1); /* empty list: nothing */
    assert_int_equal(tui_model_selected_index(&m), -1);
    tui_model_contact(&m, "a", 1);
    tui_model_contact(&m, "b", 1);
    tui_model_select_move(&m, 1);
    assert_int_equal(tui_model_selected_index(&m), 0);
    tui_model_select_move(&m, 5);
    assert_int_equal(tui_model_selected_index(&m), 1);
    tui_model_select_move(&m, -9);
    assert_int_equal(tui_model_selected_index(&m), 0);
    /* The selection follows the name when the order changes. */
    tui_model_set_online(&m, "b", 1);
    assert_int_equal(tui_model_selected_index(&m), 1);
    m.c[1]->unread = 3;
    m.scroll = 7;
    tui_model_open(&m, "a");
    assert_ptr_equal(tui_model_current(&m), m.c[1]);
    assert_int_equal(m.c[1]->unread, 0);
    assert_int_equal(m.scroll, 0);
    assert_ptr_equal(tui_model_view(&m), &m.c[1]->conv);
    tui_model_open(&m, NULL);
    assert_null(tui_model_current(&m));
    assert_ptr_equal(tui_model_view(&m), &m.console);
    tui_model_free(&m);
}

static void test_conv_states_and_remove(void **state)
{
    tui_conv v;
    tui_entry *e;
    (void)state;
    memset(&v, 0, sizeof(v));
    assert_non_null(tui_conv_add(&v, TUI_ENTRY_OUT, 1, "me", "one", "aa", TUI_MSG_NONE));
    assert_non_null(tui_conv_add(&v, TUI_ENTRY_INFO, 2, NULL, "note", NULL, TUI_MSG_NONE));
    assert_non_null(tui_conv_add(&v, TUI_ENTRY_OUT, 3, "me", "two", "bb", TUI_MSG_NONE));
    e = tui_conv_find(&v, "aa");
    assert_non_null(e);
    assert_string_equal(e->text, "one");
    assert_null(tui_conv_find(&v, "cc"));
    tui_conv_remove(&v, "aa");
    assert_int_equal(v.n, 2);
    assert_string_equal(v.e[0].text, "note");
    assert_int_equal(tui_msg_state_parse("delivered"), TUI_MSG_DELIVERED);
    assert_int_equal(tui_msg_state_parse("queued"), TUI_MSG_QUEUED);
    tui_conv_free(&v);
}

static void test_conv_cap(void **state)
{
    tui_conv v;
    char id[TUI_ID_LEN];
    (void)state;
    memset(&v, 0, sizeof(v));
    for (int i = 0; i < TUI_CONV_MAX + 10; i++) {
        snprintf(id, sizeof(id), "%d", i);
        assert_non_null(tui_conv_add(&v, TUI_ENTRY_IN, i, "x", "t", id, TUI_MSG_RECEIVED));
    }
    assert_int_equal(v.n, TUI_CONV_MAX);
    assert_string_equal(v.e[0].id, "10"); /* the oldest went */
    tui_conv_free(&v);
}

static void test_merge_history(void **state)
{
    tui_conv live, hist;
    (void)state;
    memset(&live, 0, sizeof(live));
    memset(&hist, 0, sizeof(hist));
    /* Live: a message that is also in the history, then a note. */
    tui_conv_add(&live, TUI_ENTRY_IN, 30, "bob", "new", "c3", TUI_MSG_RECEIVED);
    tui_conv_add(&live, TUI_ENTRY_INFO, 31, NULL, "bob went offline", NULL, TUI_MSG_NONE);
    tui_conv_add(&hist, TUI_ENTRY_OUT, 10, "me", "old", "a1", TUI_MSG_DELIVERED);
    tui_conv_add(&hist, TUI_ENTRY_IN, 20, "bob", "older reply", "b2", TUI_MSG_RECEIVED);
    tui_conv_add(&hist, TUI_ENTRY_IN, 30, "bob", "new", "c3", TUI_MSG_RECEIVED);
    tui_conv_merge_history(&live, &hist);
    assert_int_equal(live.n, 4);
    assert_true(live.loaded);
    assert_string_equal(live.e[0].text, "old");
    assert_string_equal(live.e[1].text, "older reply");
    assert_string_equal(live.e[2].text, "new");
    assert_string_equal(live.e[3].text, "bob went offline");
    assert_int_equal(hist.n, 0);
    tui_conv_free(&live);
    tui_conv_free(&hist);
    /* Into an empty conversation (nothing allocated yet). */
    tui_conv_add(&hist, TUI_ENTRY_IN, 5, "bob", "only", "d4", TUI_MSG_RECEIVED);
    tui_conv_merge_history(&live, &hist);
    assert_int_equal(live.n, 1);
    assert_string_equal(live.e[0].text, "only");
    tui_conv_free(&live);
}

static void test_insert_before(void **state)
{
    tui_conv v;
    (void)state;
    memset(&v, 0, sizeof(v));
    tui_conv_add(&v, TUI_ENTRY_IN, 1, "bob", "old", "a1", TUI_MSG_RECEIVED);
    tui_conv_add(&v, TUI_ENTRY_IN, 2, "bob", "first", "b2", TUI_MSG_RECEIVED);
    assert_int_equal(tui_conv_insert_before(&v, "b2", TUI_ENTRY_INFO, 2, "bob talks"), 0);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.e[0].text, "old");
    assert_string_equal(v.e[1].text, "bob talks");
    assert_string_equal(v.e[2].text, "first");
    assert_int_equal(tui_conv_insert_before(&v, "zz", TUI_ENTRY_INFO, 3, "at the end"), 0);
    assert_string_equal(v.e[3].text, "at the end");
    tui_conv_free(&v);
}

/* Case folded (ICU's simple fold), "Bob" before "bob" (bytewise when they fold alike), an
 * accented capital with its small letter; never ourselves. */
static void test_list_fold_order(void **state)
{
    static const char *const names[] = {"carol", "\xc3\x89mile", "bob", "Alice", "dave", "Bob"};
    static const char *const want[] = {"Alice", "Bob", "bob", "carol", "dave", "\xc3\x89mile"};
    tui_model m;
    (void)state;
    tui_model_init(&m);
    snprintf(m.me, sizeof(m.me), "zed");
    for (size_t i = 0; i < 6; i++)
        assert_non_null(tui_model_contact(&m, names[i], 1));
    assert_null(tui_model_contact(&m, "zed", 1)); /* we are not in our own list */
    assert_int_equal(m.n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(m.c[i]->name, want[i]);
    tui_model_free(&m);
}

/* Who cannot be written to leaves the list: offline and not known, unless open. */
static void test_prune(void **state)
{
    tui_model m;
    (void)state;
    tui_model_init(&m);
    tui_model_set_online(&m, "online", 1);
    tui_model_contact(&m, "known", 1)->known = 1;
    tui_model_contact(&m, "stranger", 1);
    tui_model_contact(&m, "open", 1);
    tui_model_open(&m, "open"); /* prunes: the stranger goes */
    assert_int_equal(m.n, 3);
    assert_null(tui_model_contact(&m, "stranger", 0));
    tui_model_open(&m, NULL); /* "open" is not open any more, nor known */
    assert_int_equal(m.n, 2);
    assert_non_null(tui_model_contact(&m, "online", 0));
    assert_non_null(tui_model_contact(&m, "known", 0));
    tui_model_free(&m);
}

/* The list's window in `rows` rows: the cursor in sight, and how many follow (the hint). */
static void test_list_window(void **state)
{
    tui_model m;
    size_t below;
    char name[8];
    (void)state;
    tui_model_init(&m);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        tui_model_contact(&m, name, 1);
    }
    assert_int_equal(tui_model_list_window(&m, 20, &below), 0); /* all fit */
    assert_int_equal(below, 0);
    assert_int_equal(tui_model_list_window(&m, 4, &below), 0); /* no cursor: from the top */
    assert_int_equal(below, 7);                                /* 3 shown, the hint row */
    tui_model_select_move(&m, 6);                              /* the cursor on p5 */
    assert_int_equal(tui_model_list_window(&m, 4, &below), 3); /* p3 p4 p5, then the hint */
    assert_int_equal(below, 4);
    tui_model_select_move(&m, 9); /* the last: the list ends on the last row, no hint */
    assert_int_equal(tui_model_list_window(&m, 4, &below), 6);
    assert_int_equal(below, 0);
    tui_model_free(&m);
}

/* The marker goes above the first unread message, the flags are cleared, the view lands on it;
 * opened again with nothing new, the marker is gone. */
static void test_new_messages_marker(void **state)
{
    tui_model m;
    tui_contact *c;
    (void)state;
    tui_model_init(&m);
    c = tui_model_contact(&m, "bob", 1);
    c->known = 1;
    tui_conv_add(&c->conv, TUI_ENTRY_IN, 1, "bob", "old", "01", TUI_MSG_RECEIVED);
    tui_conv_add(&c->conv, TUI_ENTRY_OUT, 2, "me", "mine", "02", TUI_MSG_DELIVERED);
    tui_conv_add(&c->conv, TUI_ENTRY_IN, 3, "bob", "new 1", "03", TUI_MSG_RECEIVED)->unread = 1;
    tui_conv_add(&c->conv, TUI_ENTRY_IN, 4, "bob", "new 2", "04", TUI_MSG_RECEIVED)->unread = 1;
    c->unread = 2;
    assert_int_equal(tui_model_unread_total(&m), 2);
    tui_model_open(&m, "bob");
    assert_int_equal(tui_model_unread_total(&m), 0);
    assert_int_equal(tui_model_mark_new(&m, c), 1);
    assert_int_equal(m.land_marker, 1);
    assert_int_equal(c->conv.n, 5);
    assert_int_equal(c->conv.e[2].kind, TUI_ENTRY_MARKER);
    assert_string_equal(c->conv.e[2].text, TUI_MARKER_TEXT);
    assert_string_equal(c->conv.e[3].text, "new 1");
    assert_int_equal(c->conv.e[3].unread + c->conv.e[4].unread, 0);
    m.land_marker = 0;
    assert_int_equal(tui_model_mark_new(&m, c), 0); /* nothing unread: the old marker goes */
    assert_int_equal(c->conv.n, 4);
    assert_int_equal(m.land_marker, 0);
    /* A message that opened its conversation: the marker right above it goes. */
    tui_conv_add(&c->conv, TUI_ENTRY_INFO, 5, NULL, "bob is talking to you", NULL, TUI_MSG_NONE);
    tui_conv_add(&c->conv, TUI_ENTRY_IN, 6, "bob", "now", "06", TUI_MSG_RECEIVED)->unread = 1;
    assert_int_equal(tui_model_mark_new(&m, c), 1);
    tui_model_unmark(&m, c, "07"); /* another message: it stays */
    assert_non_null(tui_conv_find(&c->conv, "06"));
    assert_int_equal(c->conv.e[5].kind, TUI_ENTRY_MARKER);
    tui_model_unmark(&m, c, "06");
    assert_int_equal(c->conv.n, 6);
    assert_int_equal(m.land_marker, 0);
    for (size_t i = 0; i < c->conv.n; i++)
        assert_int_not_equal(c->conv.e[i].kind, TUI_ENTRY_MARKER);
    tui_model_free(&m);
}

/* What comes into a scrolled-up view keeps it in place and counts as new below; elsewhere, or
 * at the end, nothing moves. */
static void test_grew_keeps_view(void **state)
{
    tui_model m;
    tui_contact *c;
    (void)state;
    tui_model_init(&m);
    c = tui_model_contact(&m, "bob", 1);
    c->known = 1;
    tui_model_open(&m, "bob");
    tui_model_grew(&m, &c->conv, 1); /* at the end: nothing to keep */
    assert_int_equal(m.scroll_fix + m.new_below, 0);
    m.scroll = 5;
    tui_model_grew(&m, &c->conv, 1);
    tui_model_grew(&m, &c->conv, 0);   /* a line: kept out of view, not a "new" message */
    tui_model_grew(&m, &m.console, 1); /* not the open view */
    assert_int_equal(m.scroll_fix, 2);
    assert_int_equal(m.new_below, 1);
    assert_int_equal(m.scroll, 5);
    tui_model_open(&m, "bob"); /* opening again goes to the end */
    assert_int_equal(m.scroll + m.scroll_fix + m.new_below, 0);
    tui_model_free(&m);
}

static void test_first_words(void **state)
{
    char out[64];
    (void)state;
    tui_first_words("hi\nthere", out, 20);
    assert_string_equal(out, "hi there");
    tui_first_words("the quick brown fox jumps", out, 16);
    assert_string_equal(out, "the quick brown..."); /* at the space */
    tui_first_words("abcdefghijklmnopqrstuvwxyz", out, 10);
    assert_string_equal(out, "abcdefghij...");     /* no space: cut */
    tui_first_words("ab\xc3\xa9\xc3\xa9", out, 4); /* never inside a character */
    assert_string_equal(out, "ab\xc3\xa9...");
}

/* The title and a notification's body: counts, no controls, the markup's characters as text. */
static void test_attention_words(void **state)
{
    char out[256];
    enum tui_bell_mode mode = TUI_BELL_ALL;
    (void)state;
    tui_attention_title_text("alice", 0, out, sizeof(out));
    assert_string_equal(out, "mim: alice");
    tui_attention_title_text("al\x1b]2;x\x07ice\xc2\x9b", 3, out, sizeof(out));
    assert_string_equal(out, "(3) mim: al]2;xice");
    tui_attention_body("<b>hi</b> & \"bye\"\nnext", out, sizeof(out));
    assert_string_equal(out, "&lt;b&gt;hi&lt;/b&gt; &amp; \"bye\" next");
    assert_int_equal(tui_bell_parse("first", &mode), 0);
    assert_int_equal(mode, TUI_BELL_FIRST);
    assert_int_equal(tui_bell_parse("loud", &mode), -1);
    assert_string_equal(tui_bell_name(TUI_BELL_OFF), "off");
}

/* Issue 16: a room's row goes above the people, is found by its id, keeps its label unique,
 * is never pruned, and its lines are found by id (a delivery count's). */
static void test_rooms(void **state)
{
    tui_model m;
    tui_contact *lab;
    (void)state;
    tui_model_init(&m);
    tui_model_set_online(&m, "alice", 1);
    lab = tui_model_add_room(&m, "#lab", "00112233445566778899aabbccddeeff");
    assert_non_null(lab);
    assert_null(tui_model_add_room(&m, "#lab", "ffeeddccbbaa99887766554433221100"));
    assert_non_null(tui_model_add_room(&m, "#zoo", "ffeeddccbbaa99887766554433221100"));
    assert_ptr_equal(m.c[0], lab); /* rooms first, then online people */
    assert_string_equal(m.c[1]->name, "#zoo");
    assert_string_equal(m.c[2]->name, "alice");
    assert_ptr_equal(tui_model_room(&m, "00112233445566778899aabbccddeeff"), lab);
    assert_null(tui_model_room(&m, "alice"));
    tui_model_set_online(&m, "alice", 0);
    tui_model_prune(&m); /* alice goes (not known); the rooms stay */
    assert_int_equal(m.n, 2);
    tui_conv_add(&lab->conv, TUI_ENTRY_OUT, 1, "me", "hi", "abc", TUI_MSG_QUEUED);
    tui_conv_add(&m.console, TUI_ENTRY_INFO, 1, NULL, "broadcast", "def", TUI_MSG_NONE);
    assert_string_equal(tui_model_find_entry(&m, "abc")->text, "hi");
    assert_string_equal(tui_model_find_entry(&m, "def")->text, "broadcast");
    assert_null(tui_model_find_entry(&m, "nope"));
    tui_model_free(&m);
}

/* Issue 16: a broadcast's line is marked, live and from the history alike (the entry's mark). */
static void test_broadcast_mark(void **state)
{
    tui_conv conv;
    tui_entry *e;
    (void)state;
    memset(&conv, 0, sizeof(conv));
    e = tui_conv_add(&conv, TUI_ENTRY_IN, 1000, "alice", "fire drill", "aa", TUI_MSG_RECEIVED);
    assert_non_null(e);
    assert_string_equal(tui_entry_mark(e), "");
    e->broadcast = 1;
    assert_string_equal(tui_entry_mark(e), "[to everyone] ");
    e->broadcast = 2;
    assert_string_equal(tui_entry_mark(e), "[IMPORTANT, to everyone] ");
    e = tui_conv_add(&conv, TUI_ENTRY_INFO, 1000, NULL, "a note", NULL, TUI_MSG_NONE);
    assert_non_null(e);
    e->broadcast = 1; /* a note is never a broadcast's line */
    assert_string_equal(tui_entry_mark(e), "");
    tui_conv_free(&conv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_order),
        cmocka_unit_test(test_select_and_open),
        cmocka_unit_test(test_conv_states_and_remove),
        cmocka_unit_test(test_conv_cap),
        cmocka_unit_test(test_merge_history),
        cmocka_unit_test(test_insert_before),
        cmocka_unit_test(test_list_fold_order),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_list_window),
        cmocka_unit_test(test_new_messages_marker),
        cmocka_unit_test(test_grew_keeps_view),
        cmocka_unit_test(test_first_words),
        cmocka_unit_test(test_attention_words),
        cmocka_unit_test(test_rooms),
        cmocka_unit_test(test_broadcast_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
