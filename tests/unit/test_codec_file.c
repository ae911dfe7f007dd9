/* The codec of file transfers (issue 15, shared/mim_codec_file.c): the FileOffer checks inside
 * a ChatMessage, BulkMsg's decoder and its refusals, and the worked example of docs/PROTOCOL.md
 * 14.10 (an offer and a data piece), computed here and compared byte for byte with the
 * document's <!-- hex:NAME --> blocks. `--print` prints the example's hex (after an intended
 * change of the wire: paste it into the document). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"
#include "protocol_doc.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_mode;
static uint8_t example_id[16], example_root[32];

static void offer_init(Mim__FileOffer *o)
{
    mim__file_offer__init(o);
    o->name = "cat.png";
    o->size = 122880;
    o->file_count = 1;
    o->media_type = "image/png";
    o->width = 640;
    o->height = 480;
    o->chunk_size = 1u << 20;
    o->root = (ProtobufCBinaryData){32, example_root};
    o->hash_scheme = MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN;
}

static void test_offer_checks(void **state)
{
    Mim__FileOffer o;
    char err[128];

    (void)state;
    offer_init(&o);
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), 0);
    o.name = "../etc/passwd";
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.name = "";
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.size = MIM_FILE_MAX_SIZE;
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.chunk_size = 1000;
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.file_count = 2; /* a file is one */
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.hash_scheme = MIM__FILE_HASH_SCHEME__FILE_HASH_BLAKE2B; /* the first version's */
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), 0);
    o.stripe_chunks = 4; /* stripes are the chain's: BLAKE2b hashes each chunk alone */
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    o.hash_scheme = MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN;
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), 0);
    o.stripe_chunks = 0;
    o.hash_scheme = (Mim__FileHashScheme)2; /* a scheme this version cannot check */
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.root.len = 31;
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    offer_init(&o);
    o.folder = 1; /* a folder without its manifest hash */
    o.file_count = 3;
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), MIM_EDECODE);
    o.manifest_hash = (ProtobufCBinaryData){32, example_root};
    EXPECT_INT(mim_file_offer_check(&o, err, sizeof(err)), 0);
    assert_int_equal(mim_file_chunk_count(0, 1u << 20), 0);
    assert_int_equal(mim_file_chunk_count(1u << 20, 1u << 20), 1);
    assert_int_equal(mim_file_chunk_count((1u << 20) + 1, 1u << 20), 2);
}

/* Packs m and decodes it back: the decoder's verdict. */
static int roundtrip(const Mim__BulkMsg *m)
{
    mim_buf b = {0};
    Mim__BulkMsg *out = NULL;
    char err[128];
    int rc;

    assert_int_equal(mim_bulk_msg_pack(m, &b), 0);
    rc = mim_bulk_msg_decode(b.data, b.len, &out, err, sizeof(err));
    assert_true(rc != 0 || out != NULL);
    mim_bulk_msg_free(out);
    mim_buf_free(&b);
    return rc;
}

static void test_bulk_checks(void **state)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileRequest r = MIM__FILE_REQUEST__INIT;
    Mim__FileRange g1 = MIM__FILE_RANGE__INIT, g2 = MIM__FILE_RANGE__INIT, *gs[2] = {&g1, &g2};
    Mim__FileData d = MIM__FILE_DATA__INIT;
    Mim__FileHashes h = MIM__FILE_HASHES__INIT;
    Mim__FileEnd e = MIM__FILE_END__INIT;
    static uint8_t big[MIM_FILE_PIECE_MAX + 32];

    (void)state;
    r.id = (ProtobufCBinaryData){16, example_id};
    r.meta = 1;
    g1.first = 0, g1.count = 4, g2.first = 4, g2.count = 1;
    r.n_ranges = 2, r.ranges = gs;
    m.body_case = MIM__BULK_MSG__BODY_REQUEST, m.request = &r;
    EXPECT_INT(roundtrip(&m), 0);
    g2.first = 3; /* overlaps */
    EXPECT_INT(roundtrip(&m), MIM_EDECODE);
    g2.first = 4, g2.count = 0;
    EXPECT_INT(roundtrip(&m), MIM_EDECODE);
    g2.count = 1, r.reject = 1; /* a reject with ranges */
    EXPECT_INT(roundtrip(&m), MIM_EDECODE);

    d.offset = 5, d.data = (ProtobufCBinaryData){MIM_FILE_PIECE_MAX, big};
    m.body_case = MIM__BULK_MSG__BODY_DATA, m.data = &d;
    EXPECT_INT(roundtrip(&m), 0);
    d.data.len = MIM_FILE_PIECE_MAX + 1;
    EXPECT_INT(roundtrip(&m), MIM_EDECODE);

    h.hashes = (ProtobufCBinaryData){33, big};
    m.body_case = MIM__BULK_MSG__BODY_HASHES, m.hashes = &h;
    EXPECT_INT(roundtrip(&m), MIM_EDECODE);
    h.hashes.len = 64;
    EXPECT_INT(roundtrip(&m), 0);

    e.id = (ProtobufCBinaryData){16, example_id};
    e.code = MIM__FILE_END_CODE__FILE_END_DONE; /* without its sha256 */
    m.body_case = MIM__BULK_MSG__BODY_END, m.end = &e;
    EXPECT_INT(roundtrip(&m), MIM_EDECODE);
    e.sha256 = (ProtobufCBinaryData){32, big};
    EXPECT_INT(roundtrip(&m), 0);
    {
        Mim__BulkMsg *out = (Mim__BulkMsg *)1;
        EXPECT_INT(mim_bulk_msg_decode((const uint8_t *)"", 0, &out, NULL, 0), MIM_EDECODE);
        assert_null(out);
    }
}

/* The example's two pieces as hex: the offer as a PeerBatch element, a FileData BulkMsg. */
static void example_hex(char **offer_hex, char **data_hex)
{
    Mim__FileOffer o;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__PeerMsg pm = MIM__PEER_MSG__INIT;
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileData d = MIM__FILE_DATA__INIT;
    mim_buf b = {0};
    char err[128];

    offer_init(&o);
    c.id = (ProtobufCBinaryData){16, example_id};
    c.ts_ms = 1700000000000ull;
    c.sender = "alice";
    c.type = MIM__CONTENT_TYPE__CONTENT_IMAGE;
    c.text = "";
    c.offer = &o;
    pm.body_case = MIM__PEER_MSG__BODY_CHAT, pm.chat = &c;
    EXPECT_INT(mim_peer_msg_validate(&pm, err, sizeof(err)), 0);
    assert_int_equal(mim_peer_batch_append(&b, &pm), 0);
    *offer_hex = bytes_hex(b.data, b.len);
    d.offset = 1048576;
    d.data = (ProtobufCBinaryData){4, (uint8_t *)"\x89PNG"};
    m.body_case = MIM__BULK_MSG__BODY_DATA, m.data = &d;
    assert_int_equal(mim_bulk_msg_pack(&m, &b), 0);
    *data_hex = bytes_hex(b.data, b.len);
    mim_buf_free(&b);
}

static void test_worked_example(void **state)
{
    char *offer_hex, *data_hex, *doc;

    (void)state;
    example_hex(&offer_hex, &data_hex);
    if (print_mode) {
        printf("file_offer_element %s\nbulk_data %s\n", offer_hex, data_hex);
    } else {
        doc = read_doc();
        char *a = doc_block_hex(doc, "file_offer_element"), *b = doc_block_hex(doc, "bulk_data");
        assert_string_equal(a, offer_hex);
        assert_string_equal(b, data_hex);
        free(a);
        free(b);
        free(doc);
    }
    free(offer_hex);
    free(data_hex);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_checks),
        cmocka_unit_test(test_bulk_checks),
        cmocka_unit_test(test_worked_example),
    };
    for (int i = 0; i < 16; i++)
        example_id[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 32; i++)
        example_root[i] = (uint8_t)(0xc0 + i);
    print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
