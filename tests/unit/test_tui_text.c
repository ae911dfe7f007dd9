/* The terminal interface's sanitiser: nothing from the network reaches the terminal as a
 * control character or an escape sequence; widths come from wcwidth in a UTF-8 locale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tui_text.h"

#include <locale.h>
#include <string.h>
#include <wchar.h>

#define CAP 256

static int setup(void **state)
{
    (void)state;
    /* Widths are the locale's: the tests need a UTF-8 one (built into glibc since 2.35). */
    return setlocale(LC_ALL, "C.UTF-8") != NULL ? 0 : -1;
}

static size_t san(const char *s, int flags, wchar_t *out)
{
    return tui_text_sanitize(s, strlen(s), flags, out, CAP);
}

/* No character below U+0020 (but '\n' when kept), DEL, or U+0080..U+009F in the result. */
static void assert_safe(const wchar_t *w, size_t n, int newline_ok)
{
    for (size_t i = 0; i < n; i++) {
        wchar_t c = w[i];
        if (c == L'\n' && newline_ok)
            continue;
        assert_false(c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0));
    }
}

static void test_plain_ascii_unchanged(void **state)
{
    wchar_t w[CAP];
    (void)state;
    assert_int_equal(san("hello, world", 0, w), 12);
    assert_true(wcscmp(w, L"hello, world") == 0);
}

static void test_escape_sequences_become_text(void **state)
{
    wchar_t w[CAP];
    size_t n;
    (void)state;
    n = san("\x1b[31mRED\x1b[0m\x1b]2;title\x07", 0, w);
    assert_true(wcscmp(w, L"^[[31mRED^[[0m^[]2;title^G") == 0);
    assert_safe(w, n, 0);
}

static void test_c0_del_and_tab(void **state)
{
    wchar_t w[CAP];
    (void)state;
    san("a\rb\x7f"
        "c\td\x01",
        0, w);
    assert_true(wcscmp(w, L"a^Mb^?c d^A") == 0);
}

static void test_newline_kept_only_when_asked(void **state)
{
    wchar_t w[CAP];
    (void)state;
    san("one\ntwo", 0, w);
    assert_true(wcscmp(w, L"one^Jtwo") == 0);
    san("one\ntwo", TUI_TEXT_KEEP_NEWLINE, w);
    assert_true(wcscmp(w, L"one\ntwo") == 0);
}

static void test_c1_controls_replaced(void **state)
{
    wchar_t w[CAP];
    size_t n;
    (void)state;
    /* U+009B is CSI on terminals that read 8-bit controls; U+0085 NEL moves the cursor. */
    n = san("x\xc2\x9b"
            "31my\xc2\x85z",
            0, w);
    assert_true(wcscmp(w, L"x\xfffd"
                          L"31my\xfffdz") == 0);
    assert_safe(w, n, 0);
}

static void test_invalid_utf8_replaced(void **state)
{
    wchar_t w[CAP];
    (void)state;
    /* a lone continuation byte, an overlong '/', a surrogate, a cut sequence, 0xff */
    san("a\x80"
        "b\xc0\xaf"
        "c\xed\xa0\x80"
        "d\xe2\x82"
        "e\xff",
        0, w);
    assert_true(wcscmp(w, L"a\xfffd"
                          L"b\xfffd\xfffd"
                          L"c\xfffd\xfffd\xfffd"
                          L"d\xfffd\xfffd"
                          L"e\xfffd") == 0);
}

static void test_bidi_overrides_replaced(void **state)
{
    wchar_t w[CAP];
    (void)state;
    san("abc\xe2\x80\xae"
        "def\xe2\x81\xa6",
        0, w);
    assert_true(wcscmp(w, L"abc\xfffd"
                          L"def\xfffd") == 0);
}

static void test_widths(void **state)
{
    wchar_t w[CAP];
    size_t n;
    (void)state;
    n = san("\xe6\x97\xa5\xe6\x9c\xac", 0, w); /* two CJK ideographs: 2 columns each */
    assert_int_equal(n, 2);
    assert_int_equal(tui_text_width(w, n), 4);
    n = san("e\xcc\x81", 0, w); /* e + combining acute: one column */
    assert_int_equal(n, 2);
    assert_int_equal(tui_text_width(w, n), 1);
    n = san("\xf0\x9f\x98\x80", 0, w); /* an emoji: 2 columns */
    assert_int_equal(tui_text_width(w, n), 2);
}

static void test_leading_combining_mark_gets_a_base(void **state)
{
    wchar_t w[CAP];
    (void)state;
    san("\xcc\x81"
        "x",
        0, w);
    assert_true(wcscmp(w, L" \x301x") == 0);
}

static void test_cut_never_splits_a_caret_pair(void **state)
{
    wchar_t w[4];
    size_t n;
    (void)state;
    n = tui_text_sanitize("ab\x1b", 3, 0, w, 4); /* room for 3: "ab" + half of "^[" */
    assert_int_equal(n, 2);
    assert_true(wcscmp(w, L"ab") == 0);
}

static void test_utf8_round_trip(void **state)
{
    const char *s = "h\xc3\xa9llo \xe6\x97\xa5 \xf0\x9f\x98\x80";
    wchar_t w[CAP];
    char back[CAP];
    size_t n;
    (void)state;
    n = tui_text_from_utf8(s, w, CAP);
    assert_int_equal(tui_text_to_utf8(w, n, back, sizeof(back)), (int)strlen(s));
    assert_string_equal(back, s);
    assert_int_equal(tui_text_to_utf8(w, n, back, 4), -1); /* too small: refused */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ascii_unchanged),
        cmocka_unit_test(test_escape_sequences_become_text),
        cmocka_unit_test(test_c0_del_and_tab),
        cmocka_unit_test(test_newline_kept_only_when_asked),
        cmocka_unit_test(test_c1_controls_replaced),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_bidi_overrides_replaced),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_leading_combining_mark_gets_a_base),
        cmocka_unit_test(test_cut_never_splits_a_caret_pair),
        cmocka_unit_test(test_utf8_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
