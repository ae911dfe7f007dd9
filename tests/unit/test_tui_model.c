/* The terminal interface's model: list order, conversations, states, history merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_order),
        cmocka_unit_test(test_select_and_open),
        cmocka_unit_test(test_conv_states_and_remove),
        cmocka_unit_test(test_conv_cap),
        cmocka_unit_test(test_merge_history),
        cmocka_unit_test(test_insert_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
