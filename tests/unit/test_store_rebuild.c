/* The peer store's messages table as migration 14 rebuilt it: its writes need no ephemeral
 * table (the cost that migration removed), and the rebuild, run again on a file with history,
 * keeps every row with its seq, the search index that points at those seqs, and the
 * AUTOINCREMENT high mark. Reads the file with SQLite itself, beside the store. */
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

#define TEXT 1

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-rebuild", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static void make_id(uint8_t id[16], unsigned k)
{
    memset(id, 0x3c, 16);
    id[0] = (uint8_t)(k >> 8);
    id[1] = (uint8_t)k;
}

static void queue(mim_store *st, const char *peer, unsigned k, const char *text)
{
    uint8_t id[16];

    make_id(id, k);
    EXPECT_INT(mim_store_message_queue(st, peer, id, 1000 + k, TEXT, text, strlen(text), NULL), 0);
}

/* How many times `sql`'s program opens an ephemeral table. */
static int ephemeral_opens(sqlite3 *db, const char *sql)
{
    char explain[512];
    sqlite3_stmt *stmt = NULL;
    int n = 0;

    snprintf(explain, sizeof(explain), "EXPLAIN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &stmt, NULL), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW)
        if (strcmp((const char *)sqlite3_column_text(stmt, 1), "OpenEphemeral") == 0)
            n++;
    sqlite3_finalize(stmt);
    return n;
}

static int64_t int_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

/* What a message's life writes: its insert (either direction) and its state changes. */
static void test_writes_need_no_ephemeral_table(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = mim_test_store_open(f, MIM_STORE_PEER);
    sqlite3 *db = NULL;

    mim_store_close(st);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    EXPECT_INT(ephemeral_opens(db, "INSERT INTO messages(peer, id, outgoing, ts_ms, content_type,"
                                   " body, state) VALUES('b', zeroblob(16), 1, 1, 1, x'00', 0)"),
               0);
    EXPECT_INT(ephemeral_opens(db, "UPDATE messages SET state = 2 WHERE peer = 'b'"
                                   " AND id = zeroblob(16) AND outgoing = 1 AND state < 2"),
               0);
    sqlite3_close(db);
}

static int count_hit(const mim_message *m, const char *snippet, void *arg)
{
    (void)m;
    (void)snippet;
    ++*(int *)arg;
    return 0;
}

static int found(mim_store *st, const char *word)
{
    mim_search_query q;
    int n = 0;

    EXPECT_INT(mim_search_query_parse(word, strlen(word), &q), 0);
    EXPECT_INT(mim_store_search(st, &q, NULL, 10, count_hit, &n), 0);
    return n;
}

static void test_rebuild_keeps_rows_seqs_and_high_mark(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = mim_test_store_open(f, MIM_STORE_PEER);
    sqlite3 *db = NULL;
    int64_t sum_before, high_before;

    queue(st, "bob", 1, "first apple");
    queue(st, "bob", 2, "second pear");
    queue(st, "carol", 3, "third apple");
    queue(st, "carol", 4, "the newest, deleted");
    mim_store_close(st);

    /* The newest row deleted (its seq must never come back), then the file set back to
     * version 13: the table has the same shape, so migration 14 runs again on this history.
     * The tables of the later migrations go too (a new migration adds its own here). */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec(db, "DELETE FROM messages WHERE seq = (SELECT max(seq) FROM messages);"
             "DROP TABLE mail_receipts_owed;"                   /* 15 */
             "ALTER TABLE transfers DROP COLUMN hash_scheme;"   /* 16 */
             "ALTER TABLE transfers DROP COLUMN stripe_chunks;" /* 16 */
             "PRAGMA user_version = 13;");
    sum_before = int_of(db, "SELECT sum(seq * length(body)) FROM messages");
    high_before = int_of(db, "SELECT seq FROM sqlite_sequence WHERE name = 'messages'");
    sqlite3_close(db);
    assert_true(high_before == 4);

    st = mim_test_store_open(f, MIM_STORE_PEER);
    EXPECT_INT(mim_store_schema_version(st), MIM_TEST_PEER_SCHEMA_VERSION);
    EXPECT_INT(found(st, "apple"), 2); /* the index's rowids still point at their rows */
    queue(st, "bob", 5, "after the rebuild");
    mim_store_close(st);

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    EXPECT_INT(int_of(db, "SELECT count(*) FROM messages"), 4);
    EXPECT_INT(int_of(db, "SELECT sum(seq * length(body)) FROM messages WHERE seq < 5"),
               sum_before);
    EXPECT_INT(int_of(db, "SELECT seq FROM messages WHERE body = CAST('after the rebuild' AS"
                          " BLOB)"),
               5); /* not 4, the deleted one's */
    EXPECT_INT(int_of(db, "SELECT count(*) FROM sqlite_master WHERE name = 'messages_v14'"), 0);
    EXPECT_INT(int_of(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                          " AND tbl_name = 'messages' AND name LIKE 'messages_%'"),
               6);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_need_no_ephemeral_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_rows_seqs_and_high_mark, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
