/* mim_codec's table chunk writer (mim_table_chunk_*): the bytes it writes are exactly what
 * protobuf-c packs for the same PresenceMsg{table}, its chunks keep to their byte and entry caps,
 * and an entry put that was not counted is caught before a byte is written past the room. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_codec.h"
#include "mim_error.h"

#define NPEERS 1100 /* more than one chunk's MIM_TABLE_CHUNK_MAX_PEERS */

static const uint8_t addr4[4] = {192, 168, 1, 42};
static const uint8_t addr16[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
static uint8_t keys[NPEERS][32];
static char names[NPEERS][16];

/* Entry i of a made-up table: names, addresses, statuses and texts vary with i. */
static void peer(size_t i, Mim__PeerInfo *pi)
{
    static const char *texts[] = {NULL, "", "in a meeting", "back at 3"};
    snprintf(names[i], sizeof(names[i]), "peer%zu", i);
    keys[i][0] = (uint8_t)i;
    keys[i][1] = (uint8_t)(i >> 8);
    mim_peer_info_init(pi, names[i], i % 2 ? addr16 : addr4, i % 2 ? 16 : 4, (uint16_t)(40000 + i),
                       keys[i], (int)(1 + i % 3), texts[i % 4]);
}

/* Encodes peers [from, to) as one chunk with the writer, into a fresh heap buffer of exactly
 * the sized length (so ASan sees any write past it). Returns it; *len its length. */
static uint8_t *write_chunk(size_t from, size_t to, int last, size_t *len)
{
    mim_table_chunk c;
    Mim__PeerInfo pi;
    uint8_t *buf;

    mim_table_chunk_init(&c, 65518);
    for (size_t i = from; i < to; i++) {
        peer(i, &pi);
        assert_int_equal(mim_table_chunk_count(&c, &pi), 1);
    }
    *len = mim_table_chunk_len(&c, last);
    buf = malloc(*len);
    assert_non_null(buf);
    mim_table_chunk_start(&c, buf);
    for (size_t i = from; i < to; i++) {
        peer(i, &pi);
        mim_table_chunk_put(&c, &pi);
    }
    EXPECT_INT(mim_table_chunk_end(&c), 0);
    return buf;
}

/* The same chunk packed by protobuf-c as a batch element (mim_presence_batch_append). */
static void packed_chunk(size_t from, size_t to, int last, mim_buf *out)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__TableChunk t = MIM__TABLE_CHUNK__INIT;
    Mim__PeerInfo *infos = calloc(to - from + 1, sizeof(*infos));
    Mim__PeerInfo **ptrs = calloc(to - from + 1, sizeof(*ptrs));

    assert_non_null(infos);
    assert_non_null(ptrs);
    for (size_t i = from; i < to; i++) {
        peer(i, &infos[i - from]);
        ptrs[i - from] = &infos[i - from];
    }
    t.n_peers = to - from;
    t.peers = ptrs;
    t.last = last;
    m.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    m.table = &t;
    EXPECT_INT(mim_presence_batch_append(out, &m), 0);
    free(ptrs);
    free(infos);
}

static void expect_same_bytes(size_t from, size_t to, int last)
{
    mim_buf want = {0};
    Mim__PresenceBatch *b = NULL;
    char err[160];
    size_t len;
    uint8_t *got = write_chunk(from, to, last, &len);

    packed_chunk(from, to, last, &want);
    EXPECT_INT(len, want.len);
    assert_memory_equal(got, want.data, len);
    /* And a peer reads it back as the server's table. */
    if (mim_presence_batch_decode(got, len, MIM_FROM_SERVER, &b, err, sizeof(err)) != 0)
        fail_msg("the chunk does not decode: %s", err);
    EXPECT_INT(b->n_msgs, 1);
    EXPECT_INT(b->msgs[0]->body_case, MIM__PRESENCE_MSG__BODY_TABLE);
    EXPECT_INT(b->msgs[0]->table->n_peers, to - from);
    EXPECT_INT(b->msgs[0]->table->last, last);
    mim_presence_batch_free(b);
    mim_buf_free(&want);
    free(got);
}

static void test_bytes_as_protobuf_c(void **state)
{
    (void)state;
    expect_same_bytes(0, 1, 1);   /* a lone newcomer */
    expect_same_bytes(0, 5, 1);   /* a small table */
    expect_same_bytes(5, 300, 0); /* a chunk that is not the last: no `last` field */
    expect_same_bytes(0, 0, 1);   /* an empty last chunk */
    expect_same_bytes(0, 600, 1); /* lengths of two and three bytes */
}

static void test_entry_cap(void **state)
{
    mim_table_chunk c;
    Mim__PeerInfo pi;
    size_t n = 0;

    (void)state;
    mim_table_chunk_init(&c, 1u << 20); /* room for far more than 1024 entries */
    for (size_t i = 0; i < NPEERS; i++) {
        peer(i, &pi);
        if (!mim_table_chunk_count(&c, &pi))
            break;
        n++;
    }
    EXPECT_INT(n, MIM_TABLE_CHUNK_MAX_PEERS);
    EXPECT_INT(c.peers, MIM_TABLE_CHUNK_MAX_PEERS);
}

static void test_byte_cap(void **state)
{
    mim_table_chunk c;
    Mim__PeerInfo pi;
    size_t n = 0, len;

    (void)state;
    mim_table_chunk_init(&c, 1000);
    for (size_t i = 0; i < NPEERS; i++) {
        peer(i, &pi);
        if (!mim_table_chunk_count(&c, &pi))
            break;
        n++;
    }
    assert_true(n > 1 && n < 100);
    len = mim_table_chunk_len(&c, 0);
    assert_true(len <= 1000);
    /* A chunk too small for one entry counts none. */
    mim_table_chunk_init(&c, 40);
    peer(0, &pi);
    EXPECT_INT(mim_table_chunk_count(&c, &pi), 0);
    EXPECT_INT(c.peers, 0);
}

/* An entry put that was not the one counted (here: bigger) is refused before it is written. */
static void test_sized_wrong(void **state)
{
    mim_table_chunk c;
    Mim__PeerInfo pi;
    uint8_t buf[512];
    size_t len;

    (void)state;
    mim_table_chunk_init(&c, 65518);
    peer(0, &pi); /* IPv4, no status text */
    assert_int_equal(mim_table_chunk_count(&c, &pi), 1);
    len = mim_table_chunk_len(&c, 1);
    assert_true(len < sizeof(buf));
    memset(buf, 0xee, sizeof(buf));
    mim_table_chunk_start(&c, buf);
    peer(3, &pi); /* IPv6 and a status text: longer */
    mim_table_chunk_put(&c, &pi);
    EXPECT_INT(mim_table_chunk_end(&c), MIM_EOVERFLOW);
    for (size_t i = len; i < sizeof(buf); i++)
        EXPECT_INT(buf[i], 0xee);
    /* Fewer entries than counted: the element is short, and that is caught too. */
    mim_table_chunk_init(&c, 65518);
    peer(0, &pi);
    assert_int_equal(mim_table_chunk_count(&c, &pi), 1);
    (void)mim_table_chunk_len(&c, 0);
    mim_table_chunk_start(&c, buf);
    EXPECT_INT(mim_table_chunk_end(&c), MIM_EOVERFLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_as_protobuf_c),
        cmocka_unit_test(test_entry_cap),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_sized_wrong),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
