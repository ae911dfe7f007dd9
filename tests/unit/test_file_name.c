/* Safe names from a peer: the offered name becomes one harmless directory entry, and a folder
 * manifest's paths are refused unless they stay below the top folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "file_layout.h"
#include "file_name.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_test.h"

/* What every safe name must be, whatever came in. */
static void expect_safe(const char *out, size_t n)
{
    EXPECT_INT(strlen(out), n);
    assert_true(n >= 1 && n <= FILE_NAME_MAX);
    assert_true(out[0] != '.');
    assert_true(mim_fs_leaf_ok(out));
    EXPECT_INT(file_name_check_path(out, n), MIM_OK); /* valid UTF-8, no control, no separator */
}

static void test_hostile_names_become_safe(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        const char *out;
    } cases[] = {
        {"report.pdf", 0, "report.pdf"},
        {"../../etc/passwd", 0, "_.._etc_passwd"},
        {"/abs", 0, "_abs"},
        {"a/../../b", 0, "a_.._.._b"},
        {"\x01x", 0, "_x"},
        {".hidden", 0, "hidden"},
        {"..", 0, "file"},
        {".", 0, "file"},
        {"", 0, "file"},
        {" . . ", 0, "file"},
        {"name. ", 0, "name"},
        {"a\\b", 0, "a_b"},
        {"nul\0byte", 8, "nul_byte"},
        {"\xc0\xaf", 0, "__"},                          /* an overlong '/' */
        {"\xed\xa0\x80x", 0, "___x"},                   /* a surrogate */
        {"cut\xe2\x82", 0, "cut__"},                    /* a character cut short */
        {"evil\xe2\x80\xaetxt.exe", 0, "evil_txt.exe"}, /* RTL override */
        {"esc\x1b[31m", 0, "esc_[31m"},
        {"c1\xc2\x9b", 0, "c1_"},
        {"CON", 0, "_CON"},
        {"con.txt", 0, "_con.txt"},
        {"COM1.log", 0, "_COM1.log"},
        {"lpt9", 0, "_lpt9"},
        {"CONSOLE", 0, "CONSOLE"},
        {"COM0", 0, "COM0"},
        {"\xe6\x97\xa5\xe6\x9c\xac.txt", 0, "\xe6\x97\xa5\xe6\x9c\xac.txt"},
    };
    char out[FILE_NAME_BUF];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].in);
        size_t n = file_name_safe(cases[i].in, len, out);

        if (strcmp(out, cases[i].out) != 0)
            fail_msg("case %zu: \"%s\" became \"%s\", not \"%s\"", i, cases[i].in, out,
                     cases[i].out);
        expect_safe(out, n);
    }
    expect_safe(out, file_name_safe(NULL, 5, out));
    assert_string_equal(out, "file");
}

/* 300-byte names are cut to FILE_NAME_MAX at a character boundary, keeping a short extension. */
static void test_long_names_keep_their_extension(void **state)
{
    (void)state;
    char in[400], out[FILE_NAME_BUF];
    size_t n;

    memset(in, 'a', 300);
    memcpy(in + 300, ".pdf", 5);
    n = file_name_safe(in, strlen(in), out);
    expect_safe(out, n);
    EXPECT_INT(n, FILE_NAME_MAX);
    assert_string_equal(out + n - 4, ".pdf");

    for (size_t i = 0; i < 150; i++) /* 150 two-byte characters */
        memcpy(in + 2 * i, "\xc3\xa9", 2);
    memcpy(in + 300, ".txt", 5);
    n = file_name_safe(in, strlen(in), out);
    expect_safe(out, n);
    assert_string_equal(out + n - 4, ".txt");
    EXPECT_INT(n, FILE_NAME_MAX); /* 98 characters of 2 bytes + ".txt" */

    memset(in, 'a', 300);
    memset(in + 300, 'b', 40); /* an "extension" too long to be one */
    in[300] = '.';
    in[340] = '\0';
    n = file_name_safe(in, strlen(in), out);
    expect_safe(out, n);
    EXPECT_INT(n, FILE_NAME_MAX);
    assert_null(strchr(out, '.'));

    /* longer than what is read at all: still a safe name of the first bytes */
    {
        static char huge[10000];

        memset(huge, 'z', sizeof(huge));
        expect_safe(out, file_name_safe(huge, sizeof(huge), out));
    }
}

static void test_manifest_paths(void **state)
{
    (void)state;
    static const char *const good[] = {
        "a", "a/b.txt", ".git/config", "\xe6\x97\xa5/\xe6\x9c\xac", "a b/c d", "..x/y..",
    };
    static const struct {
        const char *path;
        size_t len;
    } bad[] = {
        {"", 0},       {"/abs", 0},          {"a//b", 0},      {"a/", 0},
        {"..", 0},     {"a/../b", 0},        {"./a", 0},       {"a/.", 0},
        {"a\\b", 0},   {"a\x01", 0},         {"a\xc0\xaf", 0}, {"a\0b", 3},
        {"a/\x7f", 0}, {"x\xe2\x80\xae", 0}, {"../x", 0},
    };
    char deep[4 * FILE_LAYOUT_MAX_DEPTH + 8], comp[FILE_NAME_MAX + 2];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (file_name_check_path(good[i], strlen(good[i])) != MIM_OK)
            fail_msg("\"%s\" was refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = bad[i].len != 0 ? bad[i].len : strlen(bad[i].path);

        if (file_name_check_path(bad[i].path, len) != MIM_EINVAL)
            fail_msg("bad path %zu (\"%s\") was accepted", i, bad[i].path);
    }
    EXPECT_INT(file_name_check_path(NULL, 0), MIM_EINVAL);

    /* FILE_LAYOUT_MAX_DEPTH directories above a file are fine, one more is not */
    for (int i = 0; i < FILE_LAYOUT_MAX_DEPTH; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "d/");
    deep[n++] = 'f';
    EXPECT_INT(file_name_check_path(deep, n), MIM_OK);
    memmove(deep + 2, deep, n);
    memcpy(deep, "d/", 2);
    EXPECT_INT(file_name_check_path(deep, n + 2), MIM_EINVAL);

    memset(comp, 'c', sizeof(comp));
    EXPECT_INT(file_name_check_path(comp, FILE_NAME_MAX), MIM_OK);
    EXPECT_INT(file_name_check_path(comp, FILE_NAME_MAX + 1), MIM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_names_become_safe),
        cmocka_unit_test(test_long_names_keep_their_extension),
        cmocka_unit_test(test_manifest_paths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
