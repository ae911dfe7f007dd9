/* mim_codec: the canonical-encoding rule of docs/PROTOCOL.md 6.1, byte by byte. Known fields
 * must come in field-number order; unknown fields (a later version's additions) are accepted
 * after the known ones and refused before them; a field sent twice is refused. Each case is
 * bytes that protobuf-c parses fine, so what accepts or refuses them is the re-encoding check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include <string.h>

#include "mim_codec.h"
#include "mim_error.h"

/* ChatMessage fields without ts_ms (0: not written), each a ready-made tag-length-value. */
#define CHAT_ID                                                                                    \
    0x0a, 0x10, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac,      \
        0xad, 0xae, 0xaf
#define CHAT_SENDER 0x1a, 0x05, 'a', 'l', 'i', 'c', 'e'
#define CHAT_TYPE   0x20, 0x01 /* CONTENT_TEXT */
#define CHAT_TEXT   0x2a, 0x02, 'h', 'i'
#define CHAT_LEN    31 /* 18 + 7 + 2 + 4 */

/* Decodes a PeerBatch; returns its rc and frees what it decoded. */
static int peer_decode(const uint8_t *p, size_t len, char *err, size_t errlen)
{
    Mim__PeerBatch *b = NULL;
    int rc = mim_peer_batch_decode(p, len, &b, err, errlen);

    if (rc == 0) {
        assert_non_null(b);
        mim_peer_batch_free(b);
    } else {
        assert_null(b);
    }
    return rc;
}

static void test_fields_in_order_only(void **state)
{
    static const uint8_t in_order[] = {0x0a,    CHAT_LEN + 2, 0x0a,      CHAT_LEN,
                                       CHAT_ID, CHAT_SENDER,  CHAT_TYPE, CHAT_TEXT};
    /* The same fields, the type (4) before the sender (3): same size, other order. */
    static const uint8_t swapped[] = {0x0a,    CHAT_LEN + 2, 0x0a,        CHAT_LEN,
                                      CHAT_ID, CHAT_TYPE,    CHAT_SENDER, CHAT_TEXT};
    char err[200] = "";
    (void)state;

    EXPECT_INT(peer_decode(in_order, sizeof(in_order), err, sizeof(err)), 0);
    EXPECT_INT(peer_decode(swapped, sizeof(swapped), err, sizeof(err)), MIM_EDECODE);
    EXPECT_CONTAINS(err, "canonical");

    /* A presence StatusUpdate {name, status, text} with the status first is refused too. */
    static const uint8_t update_swapped[] = {0x0a, 0x0d, 0x32, 0x0b, 0x10, 0x02, 0x0a, 0x05,
                                             'a',  'l',  'i',  'c',  'e',  0x1a, 0x00};
    static const uint8_t update_in_order[] = {0x0a, 0x0b, 0x32, 0x09, 0x0a, 0x05, 'a',
                                              'l',  'i',  'c',  'e',  0x10, 0x02};
    Mim__PresenceBatch *pb = NULL;
    EXPECT_INT(mim_presence_batch_decode(update_in_order, sizeof(update_in_order), MIM_FROM_SERVER,
                                         &pb, err, sizeof(err)),
               0);
    mim_presence_batch_free(pb);
    pb = NULL;
    /* Without the explicit empty text, so only the order is wrong. */
    static const uint8_t update_only_swapped[] = {0x0a, 0x0b, 0x32, 0x09, 0x10, 0x02, 0x0a,
                                                  0x05, 'a',  'l',  'i',  'c',  'e'};
    EXPECT_INT(mim_presence_batch_decode(update_only_swapped, sizeof(update_only_swapped),
                                         MIM_FROM_SERVER, &pb, err, sizeof(err)),
               MIM_EDECODE);
    assert_null(pb);
    EXPECT_INT(mim_presence_batch_decode(update_swapped, sizeof(update_swapped), MIM_FROM_SERVER,
                                         &pb, err, sizeof(err)),
               MIM_EDECODE);
    assert_null(pb);
}

static void test_unknown_fields_after_known(void **state)
{
    /* ChatMessage + field 15 (varint 5), a field this version does not know, at the end. */
    static const uint8_t chat_unknown_last[] = {0x0a,    CHAT_LEN + 4, 0x0a,      CHAT_LEN + 2,
                                                CHAT_ID, CHAT_SENDER,  CHAT_TYPE, CHAT_TEXT,
                                                0x78,    0x05};
    /* The same unknown field between the known ones: a standard encoder never writes that. */
    static const uint8_t chat_unknown_inside[] = {0x0a,      CHAT_LEN + 4, 0x0a, CHAT_LEN + 2,
                                                  CHAT_ID,   0x78,         0x05, CHAT_SENDER,
                                                  CHAT_TYPE, CHAT_TEXT};
    /* ChatClose with an unknown length-delimited field 2 ("xy"): ChatClose knows only field 1,
     * its reason. */
    static const uint8_t close_unknown[] = {0x0a, 0x06, 0x1a, 0x04, 0x12, 0x02, 'x', 'y'};
    Mim__PeerBatch *b = NULL;
    char err[200] = "";
    (void)state;

    EXPECT_INT(
        mim_peer_batch_decode(chat_unknown_last, sizeof(chat_unknown_last), &b, err, sizeof(err)),
        0);
    assert_non_null(b);
    EXPECT_INT(b->n_msgs, 1);
    assert_string_equal(b->msgs[0]->chat->text, "hi");
    assert_string_equal(b->msgs[0]->chat->sender, "alice");
    mim_peer_batch_free(b);

    EXPECT_INT(peer_decode(close_unknown, sizeof(close_unknown), err, sizeof(err)), 0);
    EXPECT_INT(peer_decode(chat_unknown_inside, sizeof(chat_unknown_inside), err, sizeof(err)),
               MIM_EDECODE);
    EXPECT_CONTAINS(err, "canonical");
}

static void test_field_twice_refused(void **state)
{
    /* StatusSet {status 2, status 2}: protobuf-c keeps the last, the re-encoding is shorter. */
    static const uint8_t twice[] = {0x0a, 0x06, 0x2a, 0x04, 0x08, 0x02, 0x08, 0x02};
    /* Ping {nonce 1} with an over-long varint for the nonce (81 00 = 1). */
    static const uint8_t long_varint[] = {0x0a, 0x05, 0x3a, 0x03, 0x08, 0x81, 0x00};
    Mim__PresenceBatch *pb = NULL;
    char err[200] = "";
    (void)state;

    EXPECT_INT(
        mim_presence_batch_decode(twice, sizeof(twice), MIM_FROM_PEER, &pb, err, sizeof(err)),
        MIM_EDECODE);
    assert_null(pb);
    EXPECT_INT(mim_presence_batch_decode(long_varint, sizeof(long_varint), MIM_FROM_PEER, &pb, err,
                                         sizeof(err)),
               MIM_EDECODE);
    assert_null(pb);
}

/* The handshake payload follows the same rule: a later version may add fields after `name`. */
static void test_handshake_payload_unknown_and_order(void **state)
{
    uint8_t identity_pk[32], static_sig[64];
    Mim__HandshakePayload *m = NULL;
    mim_buf buf;
    char err[200] = "";
    (void)state;

    memset(identity_pk, 0x11, sizeof(identity_pk));
    memset(static_sig, 0x22, sizeof(static_sig));
    mim_buf_init(&buf);
    EXPECT_INT(mim_handshake_payload_encode(identity_pk, static_sig, "bob", &buf), 0);
    EXPECT_INT(mim_buf_append(&buf, (const uint8_t[]){0x28, 0x07}, 2), 0); /* field 5 = 7 */
    EXPECT_INT(
        mim_handshake_payload_decode(buf.data, buf.len, MIM_HS_NAME_VALID, &m, err, sizeof(err)),
        0);
    assert_string_equal(m->name, "bob");
    mim_handshake_payload_free(m);
    m = NULL;

    /* version (08 01) moved from the front to the end: same bytes, other order. */
    buf.len -= 2;
    memmove(buf.data, buf.data + 2, buf.len - 2);
    buf.data[buf.len - 2] = 0x08;
    buf.data[buf.len - 1] = 0x01;
    EXPECT_INT(
        mim_handshake_payload_decode(buf.data, buf.len, MIM_HS_NAME_VALID, &m, err, sizeof(err)),
        MIM_EDECODE);
    assert_null(m);
    EXPECT_CONTAINS(err, "canonical");
    mim_buf_free(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_in_order_only),
        cmocka_unit_test(test_unknown_fields_after_known),
        cmocka_unit_test(test_field_twice_refused),
        cmocka_unit_test(test_handshake_payload_unknown_and_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
