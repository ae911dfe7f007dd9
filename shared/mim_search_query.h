/* A search as the user typed it, parsed at the edge into the one form the store accepts: an
 * FTS5 expression made only of quoted terms. The user's text never reaches MATCH raw, so no
 * FTS5 syntax (column filters, NEAR, AND/OR/NOT, ^, parentheses, a '*' anywhere) can come from
 * it: every word becomes a "quoted string" (its '"' doubled), the words are ANDed, and the last
 * one alone matches as a prefix ("hel" finds "hello"). Pure: no SQLite here. */
#ifndef MIM_SEARCH_QUERY_H
#define MIM_SEARCH_QUERY_H

#include <stddef.h>

#define MIM_SEARCH_QUERY_MAX 256 /* bytes of the user's text */
#define MIM_SEARCH_TERMS_MAX 8   /* words in one search */
#define MIM_SEARCH_TERM_MAX  64  /* bytes of one word */
/* The expression: each term quoted ('"' doubled at worst), a space between, a '*' at the end. */
#define MIM_SEARCH_EXPR_MAX (MIM_SEARCH_TERMS_MAX * (2 * MIM_SEARCH_TERM_MAX + 3) + 2)

enum mim_search_query_error {
    MIM_SEARCH_QUERY_EMPTY = -1,    /* no word with a letter or digit in it */
    MIM_SEARCH_QUERY_TOO_LONG = -2, /* over MIM_SEARCH_QUERY_MAX bytes, or a word over _TERM_MAX */
    MIM_SEARCH_QUERY_TOO_MANY = -3, /* over MIM_SEARCH_TERMS_MAX words */
    MIM_SEARCH_QUERY_BAD_TEXT = -4, /* not UTF-8, or a control character (a newline, a tab) */
};

typedef struct mim_search_query {
    char expr[MIM_SEARCH_EXPR_MAX]; /* e.g. "hello" "wor"* -- only ever made by the parser */
    int nterms;
} mim_search_query;

/* Parses text (len bytes) into *out: words are separated by spaces; a word with no ASCII letter
 * or digit and no non-ASCII character (say "!!") is dropped, as the index has no token for it.
 * 0, or a mim_search_query_error (*out is then empty). */
int mim_search_query_parse(const char *text, size_t len, mim_search_query *out);
/* What a mim_search_query_error means, in a few words for a user. */
const char *mim_search_query_strerror(int rc);

#endif
