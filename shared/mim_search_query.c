/* The search query builder (see mim_search_query.h). */
#include "mim_search_query.h"

#include <string.h>

#include "mim_codec.h"

/* Whether a word has something the index's tokenizer (unicode61) could make a token of. A
 * non-ASCII byte may be a letter: kept (at worst the quoted term holds no token, which FTS5
 * takes as an empty phrase that matches everything, never as an error). */
static int word_has_token(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)w[i];
        if (ch >= 0x80 || (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'))
            return 1;
    }
    return 0;
}

/* Appends the word as an FTS5 string: in double quotes, each '"' in it doubled. The caps keep
 * it within expr (MIM_SEARCH_EXPR_MAX counts the worst case). */
static void append_term(mim_search_query *q, size_t *o, const char *w, size_t n)
{
    if (q->nterms > 0)
        q->expr[(*o)++] = ' ';
    q->expr[(*o)++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '"')
            q->expr[(*o)++] = '"';
        q->expr[(*o)++] = w[i];
    }
    q->expr[(*o)++] = '"';
    q->nterms++;
}

int mim_search_query_parse(const char *text, size_t len, mim_search_query *out)
{
    size_t i = 0, o = 0;

    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return MIM_SEARCH_QUERY_EMPTY;
    if (len > MIM_SEARCH_QUERY_MAX)
        return MIM_SEARCH_QUERY_TOO_LONG;
    /* Single-line UTF-8 with no control characters: what the words may hold is then only
     * printable text, and a cut into words at ' ' never splits a character. */
    if (!mim_text_valid(text, len, MIM_SEARCH_QUERY_MAX))
        return MIM_SEARCH_QUERY_BAD_TEXT;
    while (i < len) {
        size_t start, n;

        while (i < len && text[i] == ' ')
            i++;
        start = i;
        while (i < len && text[i] != ' ')
            i++;
        n = i - start;
        if (n == 0 || !word_has_token(text + start, n))
            continue;
        if (n > MIM_SEARCH_TERM_MAX || out->nterms == MIM_SEARCH_TERMS_MAX) {
            int rc =
                n > MIM_SEARCH_TERM_MAX ? MIM_SEARCH_QUERY_TOO_LONG : MIM_SEARCH_QUERY_TOO_MANY;
            memset(out, 0, sizeof(*out));
            return rc;
        }
        append_term(out, &o, text + start, n);
    }
    if (out->nterms == 0)
        return MIM_SEARCH_QUERY_EMPTY;
    out->expr[o++] = '*'; /* the last word as a prefix: "hel" while typing finds "hello" */
    out->expr[o] = '\0';
    return 0;
}

const char *mim_search_query_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "ok";
    case MIM_SEARCH_QUERY_EMPTY:
        return "no word to search for";
    case MIM_SEARCH_QUERY_TOO_LONG:
        return "the search is too long (256 bytes, 64 a word)";
    case MIM_SEARCH_QUERY_TOO_MANY:
        return "too many words (8 at most)";
    case MIM_SEARCH_QUERY_BAD_TEXT:
        return "the search is not UTF-8 text on one line";
    default:
        return "not a search";
    }
}
