/* mim_name: the name rule's Unicode part (invisible, bidi, private-use, unassigned characters,
 * NFC), the user's input put in NFC, and UTS #39 confusable skeletons. The byte-level cases
 * (UTF-8 forms, lengths, controls) are in test_codec.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <string.h>

#include "mim_error.h"
#include "mim_name.h"

/* Appends code point cp as UTF-8 at s[*n] (room is the caller's). */
static void put_cp(char *s, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        s[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        s[(*n)++] = (char)(0xC0 | (cp >> 6));
        s[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s[(*n)++] = (char)(0xE0 | (cp >> 12));
        s[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        s[(*n)++] = (char)(0xF0 | (cp >> 18));
        s[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
    s[*n] = '\0';
}

/* "bob" with cp after it (where = 0), inside it (1) or before it (2). */
static size_t bob_with(char *s, uint32_t cp, int where)
{
    size_t n = 0;

    if (where == 2)
        put_cp(s, &n, cp);
    put_cp(s, &n, 'b');
    if (where == 1)
        put_cp(s, &n, cp);
    put_cp(s, &n, 'o');
    put_cp(s, &n, 'b');
    if (where == 0)
        put_cp(s, &n, cp);
    return n;
}

/* Each character the security review registered, and their kin: refused wherever it stands,
 * and named as the fault. */
static void test_invisible_characters_refused(void **state)
{
    static const struct {
        uint32_t cp;
        const char *what;
    } bad[] = {
        {0x00AD, "soft hyphen (Cf)"},
        {0x034F, "combining grapheme joiner (default-ignorable Mn)"},
        {0x061C, "Arabic letter mark (bidi control)"},
        {0x180E, "Mongolian vowel separator (Cf)"},
        {0x3164, "Hangul filler (default-ignorable Lo)"},
        {0x115F, "Hangul choseong filler"},
        {0xFFA0, "halfwidth Hangul filler"},
        {0x2800, "Braille pattern blank"},
        {0xFE0F, "variation selector 16"},
        {0xFE00, "variation selector 1"},
        {0xE0001, "language tag"},
        {0xE0041, "tag latin capital A"},
        {0xE007F, "cancel tag"},
        {0xE0100, "variation selector 17"},
        {0x00A0, "no-break space"},
        {0x2007, "figure space"},
        {0x3000, "ideographic space"},
        {0x2029, "paragraph separator"},
        {0x200E, "left-to-right mark"},
        {0x202E, "right-to-left override"},
        {0x2067, "right-to-left isolate"},
        {0x2064, "invisible plus"},
        {0x1D173, "musical symbol begin beam (Cf)"},
        {0xE000, "private use"},
        {0xF8FF, "private use (the Apple logo on some systems)"},
        {0x100000, "supplementary private use"},
        {0x0378, "unassigned"},
        {0xFDD0, "noncharacter"},
        {0xFFFF, "noncharacter"},
        {0x10FFFF, "noncharacter, the last code point"},
        {0x0149, "deprecated"},
    };
    char s[32];
    uint32_t cp;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int where = 0; where < 3; where++) {
            size_t n = bob_with(s, bad[i].cp, where);
            cp = 0;
            if (mim_name_check(s, n, &cp) != MIM_NAME_FAULT_CHAR || cp != bad[i].cp)
                fail_msg("U+%04X %s (position %d): fault %d (U+%04X), want CHAR",
                         (unsigned)bad[i].cp, bad[i].what, where, mim_name_check(s, n, NULL),
                         (unsigned)cp);
            assert_int_equal(mim_name_valid(s, n), 0);
        }
    }
    EXPECT_CONTAINS(mim_name_fault_str(MIM_NAME_FAULT_CHAR), "invisible");
}

/* What the rule keeps: letters of any script, marks after a letter, symbols and emoji without
 * selectors, punctuation, inner spaces. */
static void test_visible_names_accepted(void **state)
{
    static const char *const ok[] = {
        "alice",
        "Zo\xc3\xa9",                           /* NFC é */
        "Ren\xc3\xa9 Magritte",                 /* inner space */
        "AC/DC",                                /* a slash is a visible character */
        "\xd0\x90\xd0\xbd\xd1\x8f",             /* Аня, Cyrillic */
        "\xe6\x9d\x8e\xe5\x9b\x9b",             /* CJK */
        "\xd8\xb9\xd9\x84\xd9\x8a",             /* Arabic: RTL letters need no marks */
        "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82", /* Devanagari with spacing/nonspacing marks */
        "\xf0\x9f\x98\x80 smile",               /* emoji without a selector */
        "\xe2\x9d\xa4",                         /* U+2764 alone */
        "q\xcc\xa3\xcc\x88",                    /* q + 2 marks, no precomposed form */
        "\xe1\xbb\x87",                         /* ệ precomposed */
    };
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (mim_name_check(ok[i], strlen(ok[i]), NULL) != MIM_NAME_FAULT_NONE)
            fail_msg("\"%s\" refused: %s", ok[i],
                     mim_name_fault_str(mim_name_check(ok[i], strlen(ok[i]), NULL)));
}

static void test_marks(void **state)
{
    char s[64];
    size_t n = 0;
    (void)state;

    /* A name that starts with a combining mark would join whatever is printed before it. */
    EXPECT_INT(mim_name_check("\xcc\x81"
                              "bob",
                              5, NULL),
               MIM_NAME_FAULT_FIRST_MARK);
    /* Four nonspacing marks in a row are allowed, five are not. */
    put_cp(s, &n, 'q'); /* no precomposed q with these marks; all of class 230: NFC as they are */
    for (uint32_t i = 0; i < 4; i++)
        put_cp(s, &n, 0x0301 + i);
    EXPECT_INT(mim_name_check(s, n, NULL), MIM_NAME_FAULT_NONE);
    put_cp(s, &n, 0x0305);
    EXPECT_INT(mim_name_check(s, n, NULL), MIM_NAME_FAULT_MARKS);
}

/* Names are refused, not rewritten, when they are not in NFC: the same word in two byte forms
 * would be two names bound to two keys. */
static void test_nfc_required(void **state)
{
    static const char nfd[] = "Zoe\xcc\x81";                     /* e + U+0301 */
    static const char nfc[] = "Zo\xc3\xa9";                      /* U+00E9 */
    static const char hangul_nfd[] = "\xe1\x84\x80\xe1\x85\xa1"; /* U+1100 U+1161 */
    static const char ohm[] = "\xe2\x84\xa6"; /* U+2126 OHM SIGN: NFC is U+03A9 */
    (void)state;

    EXPECT_INT(mim_name_check(nfd, strlen(nfd), NULL), MIM_NAME_FAULT_NOT_NFC);
    EXPECT_INT(mim_name_check(nfc, strlen(nfc), NULL), MIM_NAME_FAULT_NONE);
    EXPECT_INT(mim_name_check(hangul_nfd, strlen(hangul_nfd), NULL), MIM_NAME_FAULT_NOT_NFC);
    EXPECT_INT(mim_name_check(ohm, strlen(ohm), NULL), MIM_NAME_FAULT_NOT_NFC);
    EXPECT_CONTAINS(mim_name_fault_str(MIM_NAME_FAULT_NOT_NFC), "NFC");
}

/* The user's own --name is put in NFC, which the rule then accepts. */
static void test_nfc_of_input(void **state)
{
    char out[MIM_NAME_MAX_BYTES + 1], big[2000];
    (void)state;

    EXPECT_INT(mim_name_nfc("Zoe\xcc\x81", out, sizeof(out)), 0);
    assert_string_equal(out, "Zo\xc3\xa9");
    EXPECT_INT(mim_name_nfc("\xe1\x84\x80\xe1\x85\xa1", out, sizeof(out)), 0);
    assert_string_equal(out, "\xea\xb0\x80"); /* 가 */
    EXPECT_INT(mim_name_nfc("alice", out, sizeof(out)), 0);
    assert_string_equal(out, "alice");
    EXPECT_INT(mim_name_nfc("a\xc3(b", out, sizeof(out)), MIM_EINVAL);
    EXPECT_INT(mim_name_nfc("alice", out, 5), MIM_EOVERFLOW); /* no room for the NUL */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    EXPECT_INT(mim_name_nfc(big, out, sizeof(out)), MIM_EOVERFLOW);
}

static void skeleton_of(const char *name, char *out)
{
    EXPECT_INT(mim_name_skeleton(name, strlen(name), out, MIM_NAME_SKELETON_MAX), 0);
}

static void test_skeletons(void **state)
{
    static const struct {
        const char *a, *b;
        int same;
    } pairs[] = {
        {"paypal", "p\xd0\xb0ypal", 1}, /* Cyrillic а */
        {"bob",
         "b\xd0\xbe"
         "b",
         1}, /* Cyrillic о */
        {"bob",
         "b\xce\xbf"
         "b",
         1},                          /* Greek ο */
        {"alice", "\xc9\x91lice", 1}, /* Latin alpha ɑ */
        {"bill", "biII", 1},          /* capital I for l */
        {"m", "rn", 1},               /* two letters that make one */
        {"bob1", "bobl", 1},          /* digit one for l */
        {"bob", "Bob", 0},            /* case is visible: two names, as before */
        {"bob", "rob", 0},
        {"alice", "alicia", 0},
    };
    char a[MIM_NAME_SKELETON_MAX], b[MIM_NAME_SKELETON_MAX];
    (void)state;

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        skeleton_of(pairs[i].a, a);
        skeleton_of(pairs[i].b, b);
        if ((strcmp(a, b) == 0) != pairs[i].same)
            fail_msg("\"%s\" (skeleton \"%s\") and \"%s\" (\"%s\"): want %s", pairs[i].a, a,
                     pairs[i].b, b, pairs[i].same ? "the same" : "different");
    }
}

/* The longest skeleton of any valid name fits MIM_NAME_SKELETON_MAX: 32 of the code point with
 * the longest mapping; one byte less than it needs is an overflow, not a truncation. */
static void test_skeleton_bounds(void **state)
{
    char name[MIM_NAME_MAX_BYTES + 1], out[MIM_NAME_SKELETON_MAX];
    size_t n = 0;
    int len;
    (void)state;

    for (int i = 0; i < MIM_NAME_MAX_CHARS; i++)
        put_cp(name, &n, 0xFDFA);
    assert_true(mim_name_valid(name, n));
    EXPECT_INT(mim_name_skeleton(name, n, out, sizeof(out)), 0);
    len = (int)strlen(out);
    assert_true(len > 32 * 20 && len < MIM_NAME_SKELETON_MAX);
    EXPECT_INT(mim_name_skeleton(name, n, out, (size_t)len), MIM_EOVERFLOW);
    EXPECT_INT(mim_name_skeleton(NULL, 0, out, sizeof(out)), MIM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invisible_characters_refused),
        cmocka_unit_test(test_visible_names_accepted),
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_nfc_required),
        cmocka_unit_test(test_nfc_of_input),
        cmocka_unit_test(test_skeletons),
        cmocka_unit_test(test_skeleton_bounds),
    };
    return cmocka_run_group_tests_name("name", tests, NULL, NULL);
}
