/* mim_search_query: the user's words into an FTS5 expression of quoted terms only (the store's
 * test, test_store_search, runs such expressions against the real index). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mim_search_query.h"
#include "mim_test.h"

/* Parses s, expects rc, and (for 0) the expression. */
static void expect_parse(const char *s, int rc, const char *expr)
{
    mim_search_query q;

    EXPECT_INT(mim_search_query_parse(s, strlen(s), &q), rc);
    if (rc == 0) {
        if (strcmp(q.expr, expr) != 0)
            fail_msg("\"%s\" gave %s, not %s", s, q.expr, expr);
    } else {
        EXPECT_INT(q.nterms, 0);
        EXPECT_INT(q.expr[0], '\0');
    }
}

static void test_words_become_quoted_terms_the_last_a_prefix(void **state)
{
    (void)state;
    expect_parse("hello", 0, "\"hello\"*");
    expect_parse("  hello   world ", 0, "\"hello\" \"world\"*");
    expect_parse("Héllo wörld", 0, "\"Héllo\" \"wörld\"*");
    expect_parse("don't", 0, "\"don't\"*");
}

static void test_fts5_syntax_is_only_text(void **state)
{
    (void)state;
    /* A '"' is doubled inside its term: the term cannot end early. */
    expect_parse("say \"hi\"", 0, "\"say\" \"\"\"hi\"\"\"*");
    expect_parse("a\"b", 0, "\"a\"\"b\"*");
    /* Operators, column filters, NEAR, '*' and '^' are words in quotes, nothing more. */
    expect_parse("a OR b", 0, "\"a\" \"OR\" \"b\"*");
    expect_parse("body:secret", 0, "\"body:secret\"*");
    expect_parse("NEAR(a b, 2)", 0, "\"NEAR(a\" \"b,\" \"2)\"*");
    expect_parse("^start* -x", 0, "\"^start*\" \"-x\"*");
}

static void test_words_without_a_token_are_dropped(void **state)
{
    (void)state;
    expect_parse("hello !! ***", 0, "\"hello\"*");
    expect_parse("\"\" *", MIM_SEARCH_QUERY_EMPTY, NULL);
    expect_parse("   ", MIM_SEARCH_QUERY_EMPTY, NULL);
    expect_parse("", MIM_SEARCH_QUERY_EMPTY, NULL);
}

static void test_limits(void **state)
{
    char word[MIM_SEARCH_TERM_MAX + 2], text[MIM_SEARCH_QUERY_MAX + 2];
    mim_search_query q;

    (void)state;
    memset(word, 'w', sizeof(word));
    word[MIM_SEARCH_TERM_MAX] = '\0';
    EXPECT_INT(mim_search_query_parse(word, strlen(word), &q), 0); /* 64 bytes: fine */
    word[MIM_SEARCH_TERM_MAX] = 'w';
    word[MIM_SEARCH_TERM_MAX + 1] = '\0';
    expect_parse(word, MIM_SEARCH_QUERY_TOO_LONG, NULL);
    expect_parse("a b c d e f g h", 0, "\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\"*");
    expect_parse("a b c d e f g h i", MIM_SEARCH_QUERY_TOO_MANY, NULL);
    /* 8 words of 64 bytes of '"' each are dropped (no token), and fit anyway: the worst case
     * of the expression is 8 words of 63 '"' and a letter. */
    memset(text, ' ', sizeof(text));
    text[MIM_SEARCH_QUERY_MAX + 1] = '\0';
    expect_parse(text, MIM_SEARCH_QUERY_TOO_LONG, NULL);
    text[MIM_SEARCH_QUERY_MAX] = '\0';
    expect_parse(text, MIM_SEARCH_QUERY_EMPTY, NULL);
    for (int w = 0; w < 4; w++) { /* 4 words of 63 '"' and an 'x': 256 bytes with spaces */
        memset(text + w * 64, '"', 62);
        text[w * 64 + 62] = 'x';
        text[w * 64 + 63] = ' ';
    }
    text[255] = '\0';
    EXPECT_INT(mim_search_query_parse(text, strlen(text), &q), 0);
    EXPECT_INT(q.nterms, 4);
    assert_true(strlen(q.expr) < sizeof(q.expr));
}

static void test_text_must_be_one_line_of_utf8(void **state)
{
    mim_search_query q;

    (void)state;
    expect_parse("hello\nworld", MIM_SEARCH_QUERY_BAD_TEXT, NULL);
    expect_parse("hello\tworld", MIM_SEARCH_QUERY_BAD_TEXT, NULL);
    expect_parse("caf\xc3", MIM_SEARCH_QUERY_BAD_TEXT, NULL);
    expect_parse("\x1b[31m", MIM_SEARCH_QUERY_BAD_TEXT, NULL);
    EXPECT_INT(mim_search_query_parse("a\0b", 3, &q), MIM_SEARCH_QUERY_BAD_TEXT);
    EXPECT_INT(mim_search_query_parse(NULL, 0, &q), MIM_SEARCH_QUERY_EMPTY);
    EXPECT_CONTAINS(mim_search_query_strerror(MIM_SEARCH_QUERY_TOO_MANY), "8");
    EXPECT_CONTAINS(mim_search_query_strerror(MIM_SEARCH_QUERY_EMPTY), "no word");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_become_quoted_terms_the_last_a_prefix),
        cmocka_unit_test(test_fts5_syntax_is_only_text),
        cmocka_unit_test(test_words_without_a_token_are_dropped),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_text_must_be_one_line_of_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
