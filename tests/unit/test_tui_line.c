/* The terminal interface's input line: editing, history, pastes, newlines, words, the byte
 * limit, Ctrl-C, and tab completion (and its cycle) of commands and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tui_complete.h"
#include "tui_line.h"

#include <string.h>
#include <wchar.h>

static void type(tui_line *l, const wchar_t *s)
{
    while (*s != L'\0')
        assert_int_equal(tui_line_insert(l, *s++), 0);
}

static void assert_line(const tui_line *l, const wchar_t *want, size_t cursor)
{
    assert_true(wcscmp(l->buf, want) == 0);
    assert_int_equal(l->len, wcslen(want));
    assert_int_equal(l->cursor, cursor);
}

static void test_editing(void **state)
{
    tui_line l;
    (void)state;
    tui_line_init(&l);
    type(&l, L"helo");
    tui_line_left(&l);
    tui_line_insert(&l, L'l');
    assert_line(&l, L"hello", 4);
    tui_line_home(&l);
    tui_line_delete(&l);
    assert_line(&l, L"ello", 0);
    tui_line_backspace(&l); /* at the start: nothing */
    tui_line_end(&l);
    tui_line_backspace(&l);
    assert_line(&l, L"ell", 3);
    tui_line_right(&l); /* at the end: nothing */
    assert_int_equal(l.cursor, 3);
    tui_line_free(&l);
}

static void test_kills(void **state)
{
    tui_line l;
    (void)state;
    tui_line_init(&l);
    type(&l, L"one two  three");
    tui_line_kill_word(&l);
    assert_line(&l, L"one two  ", 9);
    tui_line_kill_word(&l);
    assert_line(&l, L"one ", 4);
    type(&l, L"x y");
    tui_line_left(&l);
    tui_line_kill_end(&l);
    assert_line(&l, L"one x ", 6);
    tui_line_left(&l);
    tui_line_kill_start(&l);
    assert_line(&l, L" ", 0);
    tui_line_free(&l);
}

static void test_full_line_refuses(void **state)
{
    tui_line l;
    (void)state;
    tui_line_init(&l);
    for (int i = 0; i < TUI_LINE_MAX; i++)
        assert_int_equal(tui_line_insert(&l, L'a'), 0);
    assert_int_equal(tui_line_insert(&l, L'b'), -1);
    assert_int_equal(l.len, TUI_LINE_MAX);
    tui_line_free(&l);
}

static void test_take_and_history(void **state)
{
    tui_line l;
    char out[64];
    (void)state;
    tui_line_init(&l);
    type(&l, L"first");
    assert_int_equal(tui_line_take(&l, out, sizeof(out)), 5);
    assert_string_equal(out, "first");
    assert_line(&l, L"", 0);
    type(&l, L"s\xe9"
             L"cond"); /* UTF-8 out */
    assert_int_equal(tui_line_take(&l, out, sizeof(out)), 7);
    assert_string_equal(out, "s\xc3\xa9"
                             "cond");
    type(&l, L"draft");
    tui_line_history_prev(&l);
    assert_line(&l,
                L"s\xe9"
                L"cond",
                6);
    tui_line_history_prev(&l);
    assert_line(&l, L"first", 5);
    tui_line_history_prev(&l); /* the oldest: stays */
    assert_line(&l, L"first", 5);
    tui_line_history_next(&l);
    tui_line_history_next(&l);
    assert_line(&l, L"draft", 5); /* the draft comes back */
    tui_line_history_next(&l);
    assert_line(&l, L"draft", 5);
    /* The same line twice is remembered once; an empty line not at all. */
    tui_line_clear(&l);
    type(&l, L"first");
    tui_line_take(&l, out, sizeof(out));
    tui_line_take(&l, out, sizeof(out));
    assert_int_equal(l.nhist, 3);
    type(&l, L"first");
    tui_line_take(&l, out, sizeof(out));
    assert_int_equal(l.nhist, 3);
    /* Too small a buffer: refused, the line stays. */
    type(&l, L"longer than four");
    assert_int_equal(tui_line_take(&l, out, 4), -1);
    assert_int_equal(l.len, 16);
    tui_line_free(&l);
}

static void test_history_is_capped(void **state)
{
    tui_line l;
    char out[32];
    (void)state;
    tui_line_init(&l);
    for (int i = 0; i < TUI_LINE_HISTORY + 5; i++) {
        wchar_t w[16];
        swprintf(w, 16, L"line %d", i);
        type(&l, w);
        tui_line_take(&l, out, sizeof(out));
    }
    assert_int_equal(l.nhist, TUI_LINE_HISTORY);
    assert_true(wcscmp(l.hist[0], L"line 5") == 0);
    tui_line_free(&l);
}

static const char *const commands[] = {"/help", "/history", "/msg", "/who"};
static const char *const names[] = {"bob", "bobby", "ann lee", "carol"};

static void test_complete_command(void **state)
{
    tui_line l;
    unsigned char m[4];
    (void)state;
    tui_line_init(&l);
    type(&l, L"/m");
    assert_int_equal(tui_complete_kind(&l), TUI_COMPLETE_COMMAND);
    assert_int_equal(tui_complete(&l, commands, 4, m), 1);
    assert_line(&l, L"/msg ", 5);
    assert_int_equal(tui_complete_kind(&l), TUI_COMPLETE_NAME);
    tui_line_clear(&l);
    type(&l, L"/h");
    assert_int_equal(tui_complete(&l, commands, 4, m), 2); /* /help, /history: no common more */
    assert_line(&l, L"/h", 2);
    assert_true(m[0] && m[1] && !m[2] && !m[3]);
    tui_line_clear(&l);
    type(&l, L"/x");
    assert_int_equal(tui_complete(&l, commands, 4, NULL), 0);
    assert_line(&l, L"/x", 2);
    tui_line_free(&l);
}

static void test_complete_names(void **state)
{
    tui_line l;
    (void)state;
    tui_line_init(&l);
    type(&l, L"/msg b");
    assert_int_equal(tui_complete(&l, names, 4, NULL), 2);
    assert_line(&l, L"/msg bob", 8); /* the common prefix of bob and bobby */
    type(&l, L"b");
    assert_int_equal(tui_complete(&l, names, 4, NULL), 1);
    assert_line(&l, L"/msg bobby ", 11);
    /* A name with a space is quoted, as /msg reads it. */
    tui_line_clear(&l);
    type(&l, L"/msg a");
    assert_int_equal(tui_complete(&l, names, 4, NULL), 1);
    assert_line(&l, L"/msg \"ann lee\" ", 15);
    /* Inside an open quote, completion goes on across the space. */
    tui_line_clear(&l);
    type(&l, L"/trust \"ann l");
    assert_int_equal(tui_complete(&l, names, 4, NULL), 1);
    assert_line(&l, L"/trust \"ann lee\" ", 17);
    /* In the middle of a line: what follows the cursor stays. */
    tui_line_clear(&l);
    type(&l, L"hi c, ok");
    for (int i = 0; i < 4; i++)
        tui_line_left(&l);
    assert_int_equal(tui_complete(&l, names, 4, NULL), 1);
    assert_line(&l, L"hi carol , ok", 9);
    tui_line_free(&l);
}

static void test_paste(void **state)
{
    tui_line l;
    size_t dropped = 0;
    wchar_t p1[] = L"one\r\ntwo\rthree\x1b[31m\a\tend";
    wchar_t p2[] = L"/quit";
    wchar_t p3[] = L"/not first";
    char out[64];
    (void)state;
    tui_line_init(&l);
    /* CR LF and CR are newlines, a tab stays, ESC and BEL are left out (and counted). */
    assert_int_equal(tui_line_paste(&l, p1, wcslen(p1), &dropped), 0);
    assert_line(&l, L"one\ntwo\nthree[31m\tend", 21);
    assert_int_equal(dropped, 2);
    assert_false(l.literal);
    assert_int_equal(tui_line_take(&l, out, sizeof(out)), 21);
    assert_string_equal(out, "one\ntwo\nthree[31m\tend"); /* one message, its lines in it */
    /* A paste that puts a '/' first is text, and stays so when recalled from the history. */
    assert_int_equal(tui_line_paste(&l, p2, 5, NULL), 0);
    assert_true(l.literal);
    tui_line_take(&l, out, sizeof(out));
    assert_false(l.literal);
    tui_line_history_prev(&l);
    assert_line(&l, L"/quit", 5);
    assert_true(l.literal);
    tui_line_history_next(&l);
    assert_false(l.literal);
    /* Emptied by hand, the line is read afresh. */
    tui_line_paste(&l, p2, 5, NULL);
    tui_line_kill_start(&l);
    assert_false(l.literal);
    /* A '/' pasted after typed text is not at the start: a typed command stays a command. */
    type(&l, L"x ");
    assert_int_equal(tui_line_paste(&l, p3, wcslen(p3), NULL), 0);
    assert_false(l.literal);
    tui_line_free(&l);
}

static void test_byte_limit(void **state)
{
    tui_line l;
    wchar_t accents[100];
    (void)state;
    tui_line_init(&l);
    for (int i = 0; i < 4000; i++)
        tui_line_insert(&l, L'a');
    for (int i = 0; i < 100; i++)
        accents[i] = L'\xe9'; /* 2 bytes each in UTF-8 */
    /* 4000 + 200 bytes: 104 over, and nothing of it goes in. */
    assert_int_equal(tui_line_insert_text(&l, accents, 100), 104);
    assert_int_equal(l.len, 4000);
    assert_int_equal(tui_line_paste(&l, accents, 100, NULL), 104);
    assert_int_equal(tui_line_bytes(&l), 4000);
    assert_int_equal(tui_line_insert_text(&l, accents, 48), 0); /* 4096: just fits */
    assert_int_equal(tui_line_bytes(&l), TUI_LINE_MAX_BYTES);
    assert_int_equal(tui_line_insert(&l, L'b'), -1); /* typed: refused too */
    assert_int_equal(tui_line_insert(&l, L'\n'), -1);
    tui_line_backspace(&l);
    assert_int_equal(tui_line_insert(&l, L'\x20ac'), -1); /* a 3-byte euro is 1 over */
    assert_int_equal(tui_line_insert(&l, L'b'), 0);
    tui_line_free(&l);
}

static void test_newlines_and_words(void **state)
{
    tui_line l;
    char out[64];
    (void)state;
    tui_line_init(&l);
    type(&l, L"one two");
    tui_line_insert(&l, L'\n'); /* Alt-Enter */
    type(&l, L"three  four");
    tui_line_word_left(&l);
    assert_int_equal(l.cursor, 15); /* at "four" */
    tui_line_word_left(&l);
    assert_int_equal(l.cursor, 8); /* at "three", across two spaces */
    tui_line_word_left(&l);
    assert_int_equal(l.cursor, 4); /* at "two", across the newline */
    tui_line_word_right(&l);
    assert_int_equal(l.cursor, 7); /* the end of "two" */
    tui_line_word_right(&l);
    assert_int_equal(l.cursor, 13); /* the end of "three" */
    tui_line_end(&l);
    tui_line_word_right(&l); /* at the end: stays */
    assert_int_equal(l.cursor, 19);
    tui_line_word_left(&l);
    tui_line_word_left(&l);
    tui_line_word_left(&l);
    tui_line_word_left(&l);
    tui_line_word_left(&l); /* at the start: stays */
    assert_int_equal(l.cursor, 0);
    tui_line_end(&l);
    tui_line_kill_word(&l); /* Ctrl-W, Alt-Backspace */
    assert_line(&l, L"one two\nthree  ", 15);
    tui_line_kill_word(&l);
    assert_line(&l, L"one two\n", 8);
    tui_line_kill_word(&l); /* the newline goes with the word before it */
    assert_line(&l, L"one ", 4);
    type(&l, L"a\nb");
    assert_int_equal(tui_line_take(&l, out, sizeof(out)), 7);
    assert_string_equal(out, "one a\nb");
    tui_line_free(&l);
}

static void test_interrupt(void **state)
{
    tui_line l;
    (void)state;
    tui_line_init(&l);
    type(&l, L"half a thought");
    tui_line_left(&l);
    assert_int_equal(tui_line_interrupt(&l), 1); /* cleared, not sent */
    assert_line(&l, L"", 0);
    assert_int_equal(tui_line_interrupt(&l), 0); /* the second: the caller quits */
    tui_line_history_prev(&l);                   /* and the cleared line is not lost */
    assert_line(&l, L"half a thought", 14);
    tui_line_free(&l);
}

static void test_complete_cycle(void **state)
{
    tui_line l;
    tui_complete_cycle cy;
    unsigned char m[4];
    static const char *const an[] = {"ann lee", "zed", "anna"};
    (void)state;
    memset(&cy, 0, sizeof(cy));
    tui_line_init(&l);
    type(&l, L"/msg b");
    /* Tab after Tab: bob, bobby, bob again; the typed prefix is kept. */
    assert_int_equal(tui_complete_next(&l, &cy, names, 4, m), 2);
    assert_line(&l, L"/msg bob", 8);
    assert_true(cy.active);
    assert_int_equal(cy.shown, 0);
    assert_true(m[0] && m[1] && !m[2] && !m[3]);
    assert_int_equal(tui_complete_next(&l, &cy, names, 4, m), 2);
    assert_line(&l, L"/msg bobby", 10);
    assert_int_equal(cy.shown, 1);
    assert_int_equal(tui_complete_next(&l, &cy, names, 4, m), 2);
    assert_line(&l, L"/msg bob", 8);
    /* Another key ends the cycle; one match completes as a plain Tab (and a space). */
    cy.active = 0;
    type(&l, L"b");
    assert_int_equal(tui_complete_next(&l, &cy, names, 4, m), 1);
    assert_line(&l, L"/msg bobby ", 11);
    assert_false(cy.active);
    /* A name with a space goes in quotes; the cycle replaces the quoted word whole. */
    tui_line_clear(&l);
    type(&l, L"/trust an");
    assert_int_equal(tui_complete_next(&l, &cy, an, 3, NULL), 2);
    assert_line(&l, L"/trust \"ann lee\"", 16);
    assert_int_equal(tui_complete_next(&l, &cy, an, 3, NULL), 2);
    assert_line(&l, L"/trust anna", 11);
    assert_int_equal(tui_complete_next(&l, &cy, an, 3, NULL), 2);
    assert_line(&l, L"/trust \"ann lee\"", 16);
    /* Nothing matches: nothing changes. */
    cy.active = 0;
    tui_line_clear(&l);
    type(&l, L"/msg q");
    assert_int_equal(tui_complete_next(&l, &cy, names, 4, NULL), 0);
    assert_line(&l, L"/msg q", 6);
    assert_false(cy.active);
    tui_line_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_editing),           cmocka_unit_test(test_kills),
        cmocka_unit_test(test_full_line_refuses), cmocka_unit_test(test_take_and_history),
        cmocka_unit_test(test_history_is_capped), cmocka_unit_test(test_complete_command),
        cmocka_unit_test(test_complete_names),    cmocka_unit_test(test_paste),
        cmocka_unit_test(test_byte_limit),        cmocka_unit_test(test_newlines_and_words),
        cmocka_unit_test(test_interrupt),         cmocka_unit_test(test_complete_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
