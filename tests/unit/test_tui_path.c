/* Paths on the input line (tui_path.c): /send's PATH read as typed, where it starts, and Tab
 * completing it from a directory made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"
#include "tui_path.h"
#include "tui_text.h"

#include <fcntl.h>

static char dir[512];

static void touch(const char *name)
{
    char path[700];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
}

static int setup(void **state)
{
    char sub[700];
    (void)state;
    snprintf(dir, sizeof(dir), "%s/tui_path_XXXXXX", MIM_TEST_TMP);
    if (mkdtemp(dir) == NULL)
        return -1;
    touch("report.pdf");
    touch("my file.txt");
    touch(".hidden");
    snprintf(sub, sizeof(sub), "%s/reports", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof(sub), "%s/photos", dir);
    mkdir(sub, 0700);
    return 0;
}

static int teardown(void **state)
{
    char cmd[700];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The line set to text (UTF-8), the cursor at its end. */
static void set_line(tui_line *l, const char *text)
{
    wchar_t w[TUI_LINE_MAX + 1];
    size_t n = tui_text_from_utf8(text, w, TUI_LINE_MAX + 1);

    tui_line_clear(l);
    assert_int_equal(tui_line_insert_text(l, w, n), 0);
}

static const char *line_text(const tui_line *l)
{
    static char out[TUI_LINE_MAX * 4 + 1];
    assert_true(tui_text_to_utf8(l->buf, l->len, out, sizeof(out)) >= 0);
    return out;
}

static void test_unquote(void **state)
{
    char out[TUI_PATH_MAX];
    const char *why = NULL;
    (void)state;
    assert_int_equal(tui_path_unquote("  /tmp/a b.txt  ", NULL, out, sizeof(out), &why), 0);
    assert_string_equal(out, "/tmp/a b.txt"); /* inner spaces kept, outer ones not */
    assert_int_equal(tui_path_unquote("my\\ file\\\\x\\\"y\\ ", NULL, out, sizeof(out), &why), 0);
    assert_string_equal(out, "my file\\x\"y "); /* an escaped space at the end stays */
    assert_int_equal(tui_path_unquote("\"my  file\" ", NULL, out, sizeof(out), &why), 0);
    assert_string_equal(out, "my  file");
    assert_int_equal(tui_path_unquote("~/docs", "/home/ann", out, sizeof(out), &why), 0);
    assert_string_equal(out, "/home/ann/docs");
    assert_int_equal(tui_path_unquote("~", "/home/ann", out, sizeof(out), &why), 0);
    assert_string_equal(out, "/home/ann");
    assert_int_equal(tui_path_unquote("~bob/x", "/home/ann", out, sizeof(out), &why), 0);
    assert_string_equal(out, "~bob/x"); /* no other user's home */
    assert_int_equal(tui_path_unquote("\"~/x\"", "/home/ann", out, sizeof(out), &why), 0);
    assert_string_equal(out, "~/x"); /* quoted: a name */
    assert_int_equal(tui_path_unquote("\"open", NULL, out, sizeof(out), &why), -1);
    EXPECT_CONTAINS(why, "closing");
    assert_int_equal(tui_path_unquote("x\\", NULL, out, sizeof(out), &why), -1);
    EXPECT_CONTAINS(why, "backslash");
    assert_int_equal(tui_path_unquote("   ", NULL, out, sizeof(out), &why), -1);
    assert_int_equal(tui_path_unquote("abcdef", NULL, out, 4, &why), -1);
    EXPECT_CONTAINS(why, "too long");
}

static void test_word_start(void **state)
{
    static tui_line l;
    (void)state;
    tui_line_init(&l);
    set_line(&l, "/send bob ~/x");
    assert_int_equal(tui_path_word_start(&l), 10);
    set_line(&l, "/send \"ann lee\"   a");
    assert_int_equal(tui_path_word_start(&l), 18);
    set_line(&l, "/send bob ");
    assert_int_equal(tui_path_word_start(&l), 10); /* an empty path: the cursor is in it */
    set_line(&l, "/send bo");
    assert_int_equal(tui_path_word_start(&l), -1); /* still the name */
    set_line(&l, "/msg bob x");
    assert_int_equal(tui_path_word_start(&l), -1);
    tui_line_free(&l);
}

/* Tab on "/send bob " + typed: the line after it, and how many matched. */
static size_t tab(tui_line *l, const char *typed, char *hint, size_t cap)
{
    char text[1200];

    snprintf(text, sizeof(text), "/send bob %s", typed);
    set_line(l, text);
    return tui_path_complete(l, 10, "/nonexistent-home", hint, cap);
}

static void test_complete(void **state)
{
    static tui_line l;
    char typed[700], want[1400], hint[256];
    (void)state;
    tui_line_init(&l);
    snprintf(typed, sizeof(typed), "%s/rep", dir); /* report.pdf, reports/ */
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 2);
    snprintf(want, sizeof(want), "/send bob %s/report", dir);
    assert_string_equal(line_text(&l), want);
    assert_string_equal(hint, "report.pdf  reports");
    snprintf(typed, sizeof(typed), "%s/reports", dir); /* one match: a folder, '/' after it */
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 1);
    snprintf(want, sizeof(want), "/send bob %s/reports/", dir);
    assert_string_equal(line_text(&l), want);
    assert_string_equal(hint, "");
    snprintf(typed, sizeof(typed), "%s/ph", dir);
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 1);
    snprintf(want, sizeof(want), "/send bob %s/photos/", dir);
    assert_string_equal(line_text(&l), want);
    snprintf(typed, sizeof(typed), "%s/my", dir); /* a space in the name: escaped */
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 1);
    snprintf(want, sizeof(want), "/send bob %s/my\\ file.txt ", dir);
    assert_string_equal(line_text(&l), want);
    snprintf(typed, sizeof(typed), "\"%s/my f", dir); /* in quotes: rewritten with escapes */
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 1);
    assert_string_equal(line_text(&l), want);
    snprintf(typed, sizeof(typed), "%s/.h", dir); /* hidden only when asked for */
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 1);
    snprintf(typed, sizeof(typed), "%s/", dir);
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 4); /* .hidden is not offered */
    snprintf(typed, sizeof(typed), "%s/zzz", dir);
    assert_int_equal(tab(&l, typed, hint, sizeof(hint)), 0);
    snprintf(want, sizeof(want), "/send bob %s/zzz", dir);
    assert_string_equal(line_text(&l), want); /* nothing changed */
    tui_line_free(&l);
}

static void test_complete_home(void **state)
{
    static tui_line l;
    char hint[30];
    (void)state;
    tui_line_init(&l);
    set_line(&l, "/send bob ~");
    assert_int_equal(tui_path_complete(&l, 10, dir, hint, sizeof(hint)), 1);
    assert_string_equal(line_text(&l), "/send bob ~/");
    set_line(&l, "/send bob ~/pho");
    assert_int_equal(tui_path_complete(&l, 10, dir, hint, sizeof(hint)), 1);
    assert_string_equal(line_text(&l), "/send bob ~/photos/"); /* "~" kept as typed */
    set_line(&l, "/send bob ~/");
    assert_int_equal(tui_path_complete(&l, 10, dir, hint, 30), 4);
    assert_string_equal(hint, "my file.txt  photos..."); /* cut to what fits */
    tui_line_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unquote),
        cmocka_unit_test(test_word_start),
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_complete_home),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
