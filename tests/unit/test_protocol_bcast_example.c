/* The worked example of broadcast to everyone (docs/PROTOCOL.md, "Broadcast"), computed by the
 * real codec and frozen, like test_protocol_mail_example.c: the server (identity seed 32 x 0x03)
 * signs the list "teacher" issued at 1700000000000 ms; the teacher sends an important
 * broadcast; a receiver acknowledges it and the teacher confirms. Each piece is compared with a
 * hex constant below, which must also appear byte for byte in the block marked
 * <!-- hex:NAME --> in docs/PROTOCOL.md; the elements must decode (in their direction only, for
 * the presence arm) and the signature must verify under the server's key.
 *
 * To regenerate after an intended wire change: run `test_protocol_bcast_example --print`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"
#include "protocol_doc.h"

#include "../fuzz/fuzz_identity.h"
#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"

#include <stdio.h>
#include <string.h>

#define ISSUED_MS 1700000000000ull /* 2023-11-14 22:13:20 UTC */

static int print_mode;

typedef struct expected {
    const char *name; /* also the <!-- hex:NAME --> marker */
    const char *hex;
} expected;

enum { SIGNED, LIST, CHAT, READ, CONFIRMED, NFROZEN };

static const expected frozen[NFROZEN] = {
    {"bcast_signed", "6d696d2d62726f6164636173746572732d76310000018bcfe568000107746561"
                     "63686572"},
    {"bcast_list_element", "0a579a01540880d095ffbc3110011a07746561636865722240dfe26b94faaa51"
                           "c2a4dbbe5a42e57c9dc4cd9c6f5a413d731b310b8b8950d27d6b2aa1b10f7e21"
                           "8f20b66d31301d69f8c856a61b77fb953751ea5d97652e0903"},
    {"bcast_chat_element", "0a310a2f0a10000102030405060708090a0b0c0d0e0f10e0a499ffbc311a0774"
                           "65616368657220012a0748616e6420696e5002"},
    {"bcast_read_element", "0a1442120a10000102030405060708090a0b0c0d0e0f"},
    {"bcast_confirmed_element", "0a1442121210000102030405060708090a0b0c0d0e0f"},
};

/* bytes equal the frozen hex of e (or, with --print, are shown). */
static void same(const uint8_t *p, size_t n, const expected *e)
{
    char *hex = bytes_hex(p, n);

    if (print_mode)
        printf("%s %s\n", e->name, hex);
    else
        assert_string_equal(hex, e->hex);
    free(hex);
}

/* The server's list: signed bytes, the element, its direction, its signature. */
static void list_example(const mim_identity *server)
{
    char *names[] = {"teacher"};
    uint8_t sig[MIM_SIG_LEN];
    mim_buf sb = {0}, el = {0};
    Mim__PresenceMsg m;
    Mim__BroadcasterList l;
    Mim__PresenceBatch *b = NULL;

    assert_int_equal(mim_broadcaster_list_signed(ISSUED_MS, 1, (const char *const *)names, 1, &sb),
                     0);
    same(sb.data, sb.len, &frozen[SIGNED]);
    assert_int_equal(mim_identity_sign(server, sb.data, sb.len, sig), 0);
    mim_broadcaster_list_init(&m, &l, ISSUED_MS, 1, names, 1, sig);
    assert_int_equal(mim_presence_batch_append(&el, &m), 0);
    same(el.data, el.len, &frozen[LIST]);
    assert_int_equal(mim_presence_batch_decode(el.data, el.len, MIM_FROM_SERVER, &b, NULL, 0), 0);
    assert_int_equal(
        mim_sign_verify(server->sign_pk, sb.data, sb.len, b->msgs[0]->broadcasters->sig.data), 0);
    mim_presence_batch_free(b);
    assert_int_equal(mim_presence_batch_decode(el.data, el.len, MIM_FROM_PEER, &b, NULL, 0),
                     MIM_EDECODE);
    mim_buf_free(&sb);
    mim_buf_free(&el);
}

/* One peer message as a PeerBatch element: frozen, and it decodes. */
static void peer_element(const Mim__PeerMsg *m, const expected *e)
{
    mim_buf el = {0};
    Mim__PeerBatch *b = NULL;

    assert_int_equal(mim_peer_batch_append(&el, m), 0);
    same(el.data, el.len, e);
    assert_int_equal(mim_peer_batch_decode(el.data, el.len, &b, NULL, 0), 0);
    assert_int_equal(b->msgs[0]->body_case, m->body_case);
    mim_peer_batch_free(b);
    mim_buf_free(&el);
}

static void test_bcast_example(void **state)
{
    mim_identity *server = fuzz_fixed_identity(0x03);
    uint8_t id[MIM_MSG_ID_LEN];
    ProtobufCBinaryData ids[1] = {{MIM_MSG_ID_LEN, id}};
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__BroadcastAck a;

    (void)state;
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)i;
    list_example(server);
    c.id = ids[0];
    c.ts_ms = ISSUED_MS + 60000;
    c.sender = "teacher";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = "Hand in";
    c.broadcast = MIM_BROADCAST_IMPORTANT;
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    peer_element(&m, &frozen[CHAT]);
    mim_broadcast_ack_init(&m, &a, ids, 1, NULL, 0);
    peer_element(&m, &frozen[READ]);
    mim_broadcast_ack_init(&m, &a, NULL, 0, ids, 1);
    peer_element(&m, &frozen[CONFIRMED]);
    mim_identity_free(server);
}

static void test_document_matches(void **state)
{
    const char *names[NFROZEN], *hex[NFROZEN];

    (void)state;
    if (print_mode)
        return;
    for (size_t i = 0; i < NFROZEN; i++) {
        names[i] = frozen[i].name;
        hex[i] = frozen[i].hex;
    }
    doc_check_blocks(names, hex, NFROZEN, "broadcast");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bcast_example),
        cmocka_unit_test(test_document_matches),
    };

    print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
