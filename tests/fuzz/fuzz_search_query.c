/* Fuzz target for the search query builder (shared/mim_search_query.c): whatever a user types
 * (or a JSON client sends), what reaches FTS5's MATCH is a valid query made only of quoted
 * terms. Checked two ways: the expression follows the builder's grammar (a "term" with '"'
 * doubled inside, single spaces between, 1 to 8 terms, a '*' at the end, within its buffer),
 * and a real peer store (SQLite's FTS5, in a temporary directory made once) runs it without
 * an error.
 *
 * Input: the user's text, as is. */
#include "fuzz.h"
#include "mim_search_query.h"
#include "mim_store_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static mim_store *store;
static char dir[256], path[300];

static void remove_store(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[320];

    mim_store_close(store);
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* A store with one message in it, whose words the seeds search for. */
static void open_store(void)
{
    static const char text[] = "Héllo wörld: NEAR body \"quoted\" a*b";
    const char *tmp = getenv("TMPDIR");
    uint8_t id[16] = {1};

    snprintf(dir, sizeof(dir), "%s/mim-fuzz-search-XXXXXX", tmp != NULL ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/peer.db", dir);
    FUZZ_CHECK(mim_store_open(path, MIM_STORE_PEER, &store) == 0);
    FUZZ_CHECK(mim_store_message_receive(store, "bob", id, 1, 1, text, sizeof(text) - 1) == 1);
    atexit(remove_store);
}

/* Checks q.expr against the grammar: term (' ' term)* '*', term = '"' (char | '""')* '"'. */
static void check_grammar(const mim_search_query *q)
{
    size_t n = strlen(q->expr), i = 0;
    int terms = 0;

    FUZZ_CHECK(n < sizeof(q->expr) && n >= 4);
    FUZZ_CHECK(q->expr[n - 1] == '*');
    while (i < n - 1) {
        if (terms > 0)
            FUZZ_CHECK(q->expr[i++] == ' ');
        FUZZ_CHECK(q->expr[i++] == '"');
        for (;;) {
            FUZZ_CHECK(i < n - 1);
            if (q->expr[i] == '"' && q->expr[i + 1] == '"') {
                i += 2; /* an escaped quote */
            } else if (q->expr[i] == '"') {
                i++;
                break;
            } else {
                FUZZ_CHECK((unsigned char)q->expr[i] >= 0x20);
                i++;
            }
        }
        terms++;
    }
    FUZZ_CHECK(terms == q->nterms && terms >= 1 && terms <= MIM_SEARCH_TERMS_MAX);
}

static int count_hit(const mim_message *m, const char *snippet, void *arg)
{
    (void)m, (void)snippet;
    ++*(int *)arg;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mim_search_query q;
    int hits = 0;

    if (store == NULL)
        open_store();
    if (mim_search_query_parse((const char *)data, size, &q) != 0) {
        FUZZ_CHECK(q.nterms == 0 && q.expr[0] == '\0');
        return 0;
    }
    check_grammar(&q);
    /* MIM_EDB here would be FTS5 refusing the expression: user text that reached its syntax. */
    FUZZ_CHECK(mim_store_search(store, &q, NULL, 5, count_hit, &hits) == 0);
    FUZZ_CHECK(mim_store_search(store, &q, "bob", 5, count_hit, &hits) == 0);
    FUZZ_CHECK(hits <= 2);
    return 0;
}
