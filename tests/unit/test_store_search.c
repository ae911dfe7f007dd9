/* mim_store, peer kind: the search index over the history (mim_store_search.c) on a real SQLite
 * file: words with case and accents folded, the last word a prefix, newest first, `with` only,
 * text only, the index kept with the message (savepoints, resends, rollbacks), hostile
 * queries, and the migration that builds the index for a history stored before it. Only the
 * migration test opens the file with SQLite itself, to turn it back into a version 2 store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "mim_error.h"
#include "mim_search_query.h"
#include "mim_store_peer.h"
#include "mim_test.h"

#define TEXT  1 /* content types (peer.proto) */
#define IMAGE 2

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-search", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static mim_store *open_peer(const struct store_fixture *f)
{
    return mim_test_store_open(f, MIM_STORE_PEER);
}

static void make_id(uint8_t id[16], unsigned k)
{
    memset(id, 0x3c, 16);
    id[0] = (uint8_t)(k >> 8);
    id[1] = (uint8_t)k;
}

static void receive(mim_store *st, const char *peer, unsigned k, int type, const char *text)
{
    uint8_t id[16];

    make_id(id, k);
    EXPECT_INT(mim_store_message_receive(st, peer, id, 1000 + k, type, text, strlen(text)), 1);
}

static void queue(mim_store *st, const char *peer, unsigned k, const char *text)
{
    uint8_t id[16];

    make_id(id, k);
    EXPECT_INT(mim_store_message_queue(st, peer, id, 1000 + k, TEXT, text, strlen(text), NULL), 0);
}

/* ---- what a search hands out ----------------------------------------------------------------- */

#define HITS_MAX 32

struct hits {
    size_t n;
    unsigned k[HITS_MAX]; /* make_id's k of each message */
    char peer[HITS_MAX][MIM_NAME_MAX_BYTES + 1];
    char snippet[HITS_MAX][256];
};

static int collect(const mim_message *m, const char *snippet, void *arg)
{
    struct hits *h = arg;

    assert_true(h->n < HITS_MAX);
    h->k[h->n] = (unsigned)m->id[0] << 8 | m->id[1];
    snprintf(h->peer[h->n], sizeof(h->peer[0]), "%s", m->peer);
    snprintf(h->snippet[h->n], sizeof(h->snippet[0]), "%s", snippet);
    h->n++;
    return 0;
}

/* Searches `words` (with peer, or anyone when NULL): the number of hits, each in *h. */
static size_t search(mim_store *st, const char *words, const char *peer, size_t limit,
                     struct hits *h)
{
    mim_search_query q;

    memset(h, 0, sizeof(*h));
    EXPECT_INT(mim_search_query_parse(words, strlen(words), &q), 0);
    EXPECT_INT(mim_store_search(st, &q, peer, limit, collect, h), 0);
    return h->n;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_case_and_accents_are_folded(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct hits h;

    receive(st, "bob", 1, TEXT, "Héllo Wörld, ÇA VA?");
    receive(st, "bob", 2, TEXT, "nothing to see");
    EXPECT_INT(search(st, "hello", NULL, 10, &h), 1);
    EXPECT_INT(h.k[0], 1);
    EXPECT_INT(search(st, "WORLD ça", NULL, 10, &h), 1);
    EXPECT_INT(search(st, "héllö", NULL, 10, &h), 1);
    EXPECT_INT(search(st, "hello see", NULL, 10, &h), 0); /* every word must match */
    /* The matched word between the markers, as stored (accents kept). */
    EXPECT_INT(search(st, "wORLD", NULL, 10, &h), 1);
    EXPECT_CONTAINS(h.snippet[0], "\x02Wörld\x03");
    EXPECT_CONTAINS(h.snippet[0], "Héllo");
    mim_store_close(st);
}

static void test_last_word_is_a_prefix(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct hits h;

    receive(st, "bob", 1, TEXT, "the meeting moved to Thursday");
    EXPECT_INT(search(st, "meet", NULL, 10, &h), 1);
    EXPECT_INT(search(st, "meeting thu", NULL, 10, &h), 1);
    EXPECT_INT(search(st, "meet thursday", NULL, 10, &h), 0); /* only the last one */
    mim_store_close(st);
}

static void test_newest_first_with_a_limit(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct hits h;

    for (unsigned k = 1; k <= 6; k++)
        receive(st, k % 2 ? "bob" : "carol", k, TEXT, "lunch at noon?");
    queue(st, "bob", 7, "Lunch is fine");
    EXPECT_INT(search(st, "lunch", NULL, 3, &h), 3);
    EXPECT_INT(h.k[0], 7);
    EXPECT_INT(h.k[1], 6);
    EXPECT_INT(h.k[2], 5);
    /* With one peer only: bob's, ours to bob included. */
    EXPECT_INT(search(st, "lunch", "bob", 10, &h), 4);
    EXPECT_INT(h.k[0], 7);
    EXPECT_INT(h.k[3], 1);
    for (size_t i = 0; i < h.n; i++)
        assert_string_equal(h.peer[i], "bob");
    EXPECT_INT(search(st, "lunch", "dave", 10, &h), 0);
    mim_store_close(st);
}

static void test_only_text_is_indexed_once(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct hits h;
    uint8_t id[16];

    receive(st, "bob", 1, IMAGE, "holiday.png");
    receive(st, "bob", 2, TEXT, "holiday pictures");
    make_id(id, 2); /* a resend of 2: dropped, and not indexed again */
    EXPECT_INT(mim_store_message_receive(st, "bob", id, 1002, TEXT, "holiday pictures", 16), 0);
    EXPECT_INT(search(st, "holiday", NULL, 10, &h), 1);
    EXPECT_INT(h.k[0], 2);
    mim_store_close(st);
}

static void test_index_goes_with_the_message(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct hits h;
    uint8_t id[16];

    /* A refused queue (a duplicate id) inside a batch: no index entry, the batch goes on. */
    EXPECT_INT(mim_store_begin(st), 0);
    queue(st, "bob", 1, "apples");
    make_id(id, 1);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 5, TEXT, "pears", 5, NULL), MIM_EEXIST);
    queue(st, "bob", 2, "pears");
    EXPECT_INT(mim_store_commit(st), 0);
    EXPECT_INT(search(st, "pears", NULL, 10, &h), 1);
    EXPECT_INT(h.k[0], 2);
    /* A rolled back frame takes its index entries with it. */
    EXPECT_INT(mim_store_begin(st), 0);
    receive(st, "carol", 3, TEXT, "plums");
    mim_store_rollback(st);
    EXPECT_INT(search(st, "plums", NULL, 10, &h), 0);
    receive(st, "carol", 3, TEXT, "plums");
    mim_store_close(st);
    st = open_peer(f); /* and it is all still there after a reopen */
    EXPECT_INT(search(st, "plums apples pears", NULL, 10, &h), 0);
    EXPECT_INT(search(st, "plums", NULL, 10, &h), 1);
    EXPECT_INT(search(st, "apples", NULL, 10, &h), 1);
    mim_store_close(st);
}

static void test_hostile_queries_are_only_words(void **state)
{
    static const char *const hostile[] = {
        "\"",    "a\"b",   "body:x",       "NEAR(a b)", "a OR b",  "a AND", "NOT a",
        "(a",    "a)",     "^x",           "x*",        "* *",     "-x",    "{body}: x",
        "a + b", "rank:1", "messages_fts", "\"\"\"",    "'; DROP", "a:b:c", "\xe2\x80\x94",
    };
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    mim_search_query q;
    struct hits h;

    receive(st, "bob", 1, TEXT, "a b x body NEAR rank");
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        int rc = mim_search_query_parse(hostile[i], strlen(hostile[i]), &q);
        memset(&h, 0, sizeof(h));
        if (rc == 0 && mim_store_search(st, &q, NULL, 10, collect, &h) != 0)
            fail_msg("\"%s\" (%s) was not a valid search", hostile[i], q.expr);
    }
    /* Words that look like syntax still find themselves. */
    EXPECT_INT(search(st, "NEAR", NULL, 10, &h), 1);
    EXPECT_INT(search(st, "a OR zzz", NULL, 10, &h), 0); /* OR is a word, not an operator */
    /* An empty query is no query. */
    memset(&q, 0, sizeof(q));
    EXPECT_INT(mim_store_search(st, &q, NULL, 10, collect, &h), MIM_EINVAL);
    mim_store_close(st);
}

/* Turns the store back into a version 2 file with the same history, as the previous version
 * of mim left it: no index, and none of the tables of the migrations after it (a new migration
 * adds its tables here, and is then also run on this file). */
static void downgrade_to_version_2(const char *path, const uint8_t server_pk[32])
{
    sqlite3 *db = NULL;
    sqlite3_stmt *pin = NULL;
    char *err = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db,
                     "DROP TABLE messages_fts;"                       /* 3 */
                     "DROP TABLE read_marks;"                         /* 4 */
                     "DROP TABLE blocked; DROP TABLE settings;"       /* 5 */
                     "DROP INDEX messages_mail_due;"                  /* 10 (mailspeed) */
                     "ALTER TABLE messages DROP COLUMN seen;"         /* 5 */
                     "ALTER TABLE messages DROP COLUMN deposited_at;" /* 7 */
                     "ALTER TABLE messages DROP COLUMN expires_at;"   /* 7 */
                     "ALTER TABLE messages DROP COLUMN no_redeposit;" /* 7 */
                     "DROP TABLE directory;"                          /* 8 */
                     "DROP TABLE server_pins;"                        /* 6: back to one pin */
                     "DROP TABLE transfers;"                          /* 9 (issue 15) */
                     "DROP INDEX messages_fanout; DROP INDEX messages_room;" /* 11 */
                     "ALTER TABLE messages DROP COLUMN room;"                /* 11 (issue 16) */
                     "ALTER TABLE messages DROP COLUMN room_epoch;"          /* 11 */
                     "ALTER TABLE messages DROP COLUMN fanout;"              /* 11 */
                     "DROP TABLE room_log;"                                  /* 12 (issue 16) */
                     "DROP TABLE broadcast_acks;"     /* 13 (issue 16, broadcast) */
                     "DROP TABLE mail_receipts_owed;" /* 15 (issue 14, receipts) */
                     "CREATE TABLE server_pin(id INTEGER PRIMARY KEY, identity_pk BLOB NOT NULL,"
                     " first_seen INTEGER NOT NULL, pending_pk BLOB);"
                     "PRAGMA user_version = 2;",
                     NULL, NULL, &err) != SQLITE_OK)
        fail_msg("downgrade: %s", err);
    if (server_pk != NULL) { /* the one server pin of version 2 */
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "INSERT INTO server_pin(id, identity_pk, first_seen)"
                                            " VALUES(1, ?1, 100)",
                                            -1, &pin, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_bind_blob(pin, 1, server_pk, 32, SQLITE_STATIC), SQLITE_OK);
        assert_int_equal(sqlite3_step(pin), SQLITE_DONE);
        sqlite3_finalize(pin);
    }
    sqlite3_close(db);
}

static void test_migration_indexes_old_history(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct hits h;

    receive(st, "bob", 1, TEXT, "Grüße from the old days");
    receive(st, "bob", 2, IMAGE, "old.png");
    queue(st, "carol", 3, "an old reply");
    mim_store_close(st);
    downgrade_to_version_2(f->path, NULL);

    st = open_peer(f);
    EXPECT_INT(mim_store_schema_version(st), MIM_TEST_PEER_SCHEMA_VERSION);
    EXPECT_INT(search(st, "old", NULL, 10, &h), 2); /* text only */
    EXPECT_INT(h.k[0], 3);
    EXPECT_INT(h.k[1], 1);
    EXPECT_INT(search(st, "grusse", NULL, 10, &h), 0); /* ß is not ss: unicode61 keeps it */
    EXPECT_INT(search(st, "grüße", NULL, 10, &h), 1);
    receive(st, "bob", 4, TEXT, "new days"); /* and the index is kept from then on */
    EXPECT_INT(search(st, "days", NULL, 10, &h), 2);
    mim_store_close(st);
}

/* The other migrations on the same version 2 file: what was received before counts as read and
 * is owed no receipt (4), and the one server pin of before is kept (6), taken over by the first
 * server address checked, whose key it is. */
static void test_upgrade_keeps_reads_and_the_server_pin(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    uint8_t server_pk[32], other_pk[32];
    int64_t n = -1;
    mim_contact pin;

    memset(server_pk, 0xa5, sizeof(server_pk));
    memset(other_pk, 0x5a, sizeof(other_pk));
    receive(st, "bob", 1, TEXT, "read in the old version");
    receive(st, "bob", 2, TEXT, "this one too");
    mim_store_close(st);
    downgrade_to_version_2(f->path, server_pk);

    st = open_peer(f);
    EXPECT_INT(mim_store_unread_count(st, "bob", &n), 0);
    EXPECT_INT(n, 0);
    EXPECT_INT(mim_store_server_pin_get(st, "192.0.2.1:4242", &pin), 0); /* the old pin */
    assert_memory_equal(pin.identity_pk, server_pk, 32);
    EXPECT_INT(mim_store_server_pin_check(st, "192.0.2.1:4242", server_pk, 200), MIM_PIN_MATCH);
    /* Taken over: another server address is a first contact, not an alarm. */
    EXPECT_INT(mim_store_server_pin_check(st, "198.51.100.7:4242", other_pk, 300), MIM_PIN_NEW);
    EXPECT_INT(mim_store_server_pin_check(st, "192.0.2.1:4242", server_pk, 400), MIM_PIN_MATCH);
    mim_store_close(st);
}

/* Issue 16: a room's search finds that room's messages only, each of ours once however many
 * copies it went as; 1:1 messages and another room's stay out. */
static void test_room_search_is_the_rooms_rows_once(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    uint8_t lab[16], ops[16], id[16];
    mim_search_query q;
    struct hits h;

    memset(lab, 0x1a, sizeof(lab));
    memset(ops, 0x0b, sizeof(ops));
    make_id(id, 1); /* ours to #lab: one copy each to bob and carol */
    queue(st, "bob", 1, "lunch plans in the lab");
    queue(st, "carol", 1, "lunch plans in the lab");
    EXPECT_INT(mim_store_message_set_fanout(st, "bob", id, 1, MIM_FANOUT_ROOM, lab, 1), 1);
    EXPECT_INT(mim_store_message_set_fanout(st, "carol", id, 1, MIM_FANOUT_ROOM, lab, 1), 1);
    receive(st, "bob", 2, TEXT, "lunch at noon"); /* bob's in #lab */
    make_id(id, 2);
    EXPECT_INT(mim_store_message_set_fanout(st, "bob", id, 0, MIM_FANOUT_ROOM, lab, 1), 1);
    receive(st, "bob", 3, TEXT, "lunch, just us?"); /* 1:1 */
    receive(st, "carol", 4, TEXT, "lunch in ops");  /* #ops */
    make_id(id, 4);
    EXPECT_INT(mim_store_message_set_fanout(st, "carol", id, 0, MIM_FANOUT_ROOM, ops, 1), 1);

    memset(&h, 0, sizeof(h));
    EXPECT_INT(mim_search_query_parse("lunch", 5, &q), 0);
    EXPECT_INT(mim_store_search_room(st, &q, lab, 10, collect, &h), 0);
    EXPECT_INT(h.n, 2); /* newest first: bob's, then ours once */
    EXPECT_INT(h.k[0], 2);
    EXPECT_INT(h.k[1], 1);
    memset(&h, 0, sizeof(h));
    EXPECT_INT(mim_store_search_room(st, &q, ops, 10, collect, &h), 0);
    EXPECT_INT(h.n, 1);
    EXPECT_INT(h.k[0], 4);
    memset(&h, 0, sizeof(h));
    EXPECT_INT(mim_store_search_room(st, &q, lab, 1, collect, &h), 0); /* the limit holds */
    EXPECT_INT(h.n, 1);
    EXPECT_INT(search(st, "lunch", NULL, 10, &h), 5); /* everything: every copy */
    EXPECT_INT(mim_store_search_room(st, &q, NULL, 10, collect, &h), MIM_EINVAL);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_case_and_accents_are_folded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_word_is_a_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_first_with_a_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_text_is_indexed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_goes_with_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_queries_are_only_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_indexes_old_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_keeps_reads_and_the_server_pin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_room_search_is_the_rooms_rows_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
