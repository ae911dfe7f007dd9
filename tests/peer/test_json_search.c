/* End-to-end tests of the search command of `mim --json` (docs/JSON-API.md, "search"): the real
 * mim-presence and real mim processes driven through pipes (mim_proc.h). Each scenario is its
 * own ctest entry (peer/json_<name>):
 *
 *   search_finds   two peers chat; each finds the messages of both directions by a word, case and
 *            accents folded, the last word a prefix, newest first, with from/to/text, a
 *            snippet whose marks cover the matched words, `with` and `limit` honoured; after a
 *            restart the history is still found
 *   search_errors  an empty, over-long, many-word or multi-line query, a bad limit, an unknown or
 *            invalid `with`, a query that is FTS5 syntax: a clear error each (or no match), and
 *            the next command is answered */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Runs a search on p and returns its results (owned by p's event list). */
static json_t *search(mp *p, const char *fields, const char *tag)
{
    json_t *ev, *results;

    mp_cmd(p, "{\"cmd\":\"search\",%s,\"tag\":\"%s\"}", fields, tag);
    ev = mp_expect(p, 0, "search", "tag", tag);
    results = json_object_get(ev, "results");
    assert_true(json_is_array(results));
    return results;
}

/* The characters of s from code point `from` to `to` (UTF-8), into out. */
static void chars_slice(const char *s, long from, long to, char *out, size_t outlen)
{
    long ch = -1;
    size_t o = 0;

    for (const char *p = s; *p != '\0' && o + 1 < outlen; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80)
            ch++;
        if (ch >= from && ch < to)
            out[o++] = *p;
    }
    out[o] = '\0';
}

/* Result r is the message with id, from, to and text, and its snippet marks `marked`. */
static void check_result(const json_t *r, const char *id, const char *from, const char *to,
                         const char *text, const char *marked)
{
    const json_t *marks = json_object_get(r, "marks");
    const char *snippet = sfield(r, "snippet");
    char word[128];

    assert_string_equal(sfield(r, "id"), id);
    assert_string_equal(sfield(r, "from"), from);
    assert_string_equal(sfield(r, "to"), to);
    assert_string_equal(sfield(r, "text"), text);
    assert_true(json_is_integer(json_object_get(r, "ts")));
    assert_non_null(snippet);
    assert_true(json_is_array(marks) && json_array_size(marks) >= 1);
    chars_slice(snippet, (long)json_integer_value(json_array_get(json_array_get(marks, 0), 0)),
                (long)json_integer_value(json_array_get(json_array_get(marks, 0), 1)), word,
                sizeof(word));
    assert_string_equal(word, marked);
    for (const char *p = snippet; *p != '\0'; p++)
        assert_true((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t'); /* no marker left */
}

static void test_search_finds(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char ids[4][33];
    json_t *res;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "Rendez-vous au Caf\u00e9 \u00e0 midi", "m0", ids[0]);
    exchange(b, a, "the cafe is closed on Mondays", "m1", ids[1]);
    exchange(a, b, "then the bakery", "m2", ids[2]);
    exchange(b, a, "CAF\u00c9 tomorrow then", "m3", ids[3]);

    for (int side = 0; side < 2; side++) {
        mp *p = side == 0 ? a : b;
        /* "cafe" finds all three, newest first, whoever wrote them. */
        res = search(p, "\"query\":\"cafe\"", "s1");
        assert_int_equal(json_array_size(res), 3);
        check_result(json_array_get(res, 0), ids[3], "bob", "alice", "CAF\u00c9 tomorrow then",
                     "CAF\u00c9");
        check_result(json_array_get(res, 1), ids[1], "bob", "alice",
                     "the cafe is closed on Mondays", "cafe");
        check_result(json_array_get(res, 2), ids[0], "alice", "bob",
                     "Rendez-vous au Caf\u00e9 \u00e0 midi", "Caf\u00e9");
    }
    /* The last word a prefix; every word must match. */
    res = search(a, "\"query\":\"closed mon\"", "s2");
    assert_int_equal(json_array_size(res), 1);
    check_result(json_array_get(res, 0), ids[1], "bob", "alice", "the cafe is closed on Mondays",
                 "closed");
    /* limit, and with. */
    res = search(a, "\"query\":\"then\",\"limit\":1", "s3");
    assert_int_equal(json_array_size(res), 1);
    assert_string_equal(sfield(json_array_get(res, 0), "id"), ids[3]);
    res = search(a, "\"query\":\"then\",\"with\":\"bob\"", "s4");
    assert_int_equal(json_array_size(res), 2);
    res = search(a, "\"query\":\"nothing like it\"", "s5");
    assert_int_equal(json_array_size(res), 0);
    /* After a restart the history is found as before. */
    mp_quit(a);
    start_peer(f, a);
    res = search(a, "\"query\":\"BAKERY\"", "s6");
    assert_int_equal(json_array_size(res), 1);
    check_result(json_array_get(res, 0), ids[2], "alice", "bob", "then the bakery", "bakery");
    mp_quit(a);
    mp_quit(b);
}

/* The command is refused with code, and its message mentions `says`. */
static void expect_refused(mp *p, const char *fields, const char *tag, const char *code,
                           const char *says)
{
    json_t *e;

    mp_cmd(p, "{\"cmd\":\"search\",%s,\"tag\":\"%s\"}", fields, tag);
    e = mp_expect(p, 0, "error", "tag", tag);
    assert_string_equal(sfield(e, "code"), code);
    if (strstr(sfield(e, "message"), says) == NULL)
        fail_msg("%s: \"%s\" does not say \"%s\"", tag, sfield(e, "message"), says);
}

static void test_search_errors(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char fields[700], word[300];
    json_t *res;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "NEAR the body", "m0", NULL);
    expect_refused(a, "\"with\":\"bob\"", "e1", "missing_field", "query");
    expect_refused(a, "\"query\":17", "e2", "bad_field", "query");
    expect_refused(a, "\"query\":\"  \"", "e3", "bad_field", "no word");
    expect_refused(a, "\"query\":\"!! ??\"", "e4", "bad_field", "no word");
    memset(word, 'x', 257);
    word[257] = '\0';
    snprintf(fields, sizeof(fields), "\"query\":\"%s\"", word);
    expect_refused(a, fields, "e5", "bad_field", "too long");
    expect_refused(a, "\"query\":\"a b c d e f g h i\"", "e6", "bad_field", "too many");
    expect_refused(a, "\"query\":\"two\\nlines\"", "e7", "bad_field", "one line");
    expect_refused(a, "\"query\":\"x\",\"limit\":0", "e8", "bad_field", "limit");
    expect_refused(a, "\"query\":\"x\",\"limit\":201", "e9", "bad_field", "limit");
    expect_refused(a, "\"query\":\"x\",\"limit\":\"5\"", "e10", "bad_field", "limit");
    expect_refused(a, "\"query\":\"x\",\"with\":\"nobody\"", "e11", "unknown_peer", "nobody");
    expect_refused(a, "\"query\":\"x\",\"with\":\"\"", "e12", "bad_field", "name");
    expect_refused(a, "\"query\":\"x\",\"with\":5", "e13", "bad_field", "with");
    /* FTS5 syntax is only words: no error, and it matches only as words. */
    res = search(a, "\"query\":\"NEAR(body\"", "s1");
    assert_int_equal(json_array_size(res), 0);
    res = search(a, "\"query\":\"body:near\"", "s2");
    assert_int_equal(json_array_size(res), 0);
    res = search(a, "\"query\":\"near \\\"the\\\" bo\"", "s3");
    assert_int_equal(json_array_size(res), 1);
    mp_quit(a);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(search_finds),
    PE_SCENARIO(search_errors),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-search");
}
