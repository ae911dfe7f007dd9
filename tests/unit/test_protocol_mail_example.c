/* The worked example of the mailbox (docs/PROTOCOL.md 13.9), computed by the real codec and
 * frozen, like test_protocol_example.c: alice deposits a letter for bob, the server acknowledges
 * it, bob gets it at his next login and takes it. Each element is compared with a hex constant
 * below, which must also appear byte for byte in the block marked <!-- hex:NAME --> in
 * docs/PROTOCOL.md, and must decode in its direction only.
 *
 * To regenerate after an intended wire change: run `test_protocol_mail_example --print`. */
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
#include <string.h>

/* alice's identity key, from the example's fixed inputs (13.1: the Ed25519 key of seed 32 x
 * 0x01), as the server saw it proven in her handshake. */
static const uint8_t alice_pk[32] = {
    0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72,
    0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c};
#define DEPOSITED_MS 1700000000000ull /* 2023-11-14 22:13:20 UTC */
#define EXPIRES_MS   2592000000ull    /* 30 days */
#define SEALED_LEN   16               /* a stand-in: a real sealed letter is a padded bucket */

static int print_mode;

typedef struct expected {
    const char *name; /* also the <!-- hex:NAME --> marker */
    const char *hex;
    enum mim_direction dir;
} expected;

static const expected frozen[] = {
    {"deposit_element",
     "0a2b7a290a03626f621210000102030405060708090a0b0c0d0e0f1a10eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
     MIM_FROM_PEER},
    {"deposit_ack_element", "0a2082011d0a03626f621210000102030405060708090a0b0c0d0e0f208090fbd309",
     MIM_FROM_SERVER},
    {"mail_item_element",
     "0a598a015608011205616c6963651a20"
     "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
     "2210000102030405060708090a0b0c0d0e0f2a10eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee3080d095ffbc31",
     MIM_FROM_SERVER},
    {"mail_taken_element", "0a069201030a0101", MIM_FROM_PEER},
};

/* The element's bytes equal the frozen hex (or, with --print, are shown), it decodes as a batch
 * in its direction and is refused in the other, and mim_presence_element_len knew its size. */
static void check(const Mim__PresenceMsg *m, const expected *e)
{
    mim_buf out = {0};
    Mim__PresenceBatch *b = NULL;
    char *hex;
    enum mim_direction other = e->dir == MIM_FROM_PEER ? MIM_FROM_SERVER : MIM_FROM_PEER;

    assert_int_equal(mim_presence_batch_append(&out, m), 0);
    assert_int_equal(mim_presence_element_len(m), out.len);
    hex = bytes_hex(out.data, out.len);
    if (print_mode)
        printf("%s %s\n", e->name, hex);
    else
        assert_string_equal(hex, e->hex);
    assert_int_equal(mim_presence_batch_decode(out.data, out.len, e->dir, &b, NULL, 0), 0);
    assert_int_equal(b->msgs[0]->body_case, m->body_case);
    mim_presence_batch_free(b);
    assert_int_equal(mim_presence_batch_decode(out.data, out.len, other, &b, NULL, 0), MIM_EDECODE);
    mim_buf_free(&out);
    free(hex);
}

static void test_mail_example(void **state)
{
    uint8_t id[MIM_MSG_ID_LEN], sealed[SEALED_LEN];
    uint64_t seq = 1;
    Mim__PresenceMsg m;
    Mim__Deposit dep;
    Mim__DepositAck ack;
    Mim__MailItem item;
    Mim__MailTaken taken;

    (void)state;
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)i;
    memset(sealed, 0xee, sizeof(sealed));
    mim_deposit_init(&m, &dep, "bob", id, sealed, sizeof(sealed));
    check(&m, &frozen[0]);
    mim_deposit_ack_init(&m, &ack, "bob", id, MIM__DEPOSIT_RESULT__DEPOSIT_OK, EXPIRES_MS, 0);
    check(&m, &frozen[1]);
    mim_mail_item_init(&m, &item, seq, "alice", alice_pk, id, sealed, sizeof(sealed), DEPOSITED_MS);
    check(&m, &frozen[2]);
    mim_mail_taken_init(&m, &taken, &seq, 1);
    check(&m, &frozen[3]);
}

static void test_document_matches(void **state)
{
    enum { N = sizeof(frozen) / sizeof(frozen[0]) };
    const char *names[N], *hex[N];

    (void)state;
    if (print_mode)
        return;
    for (size_t i = 0; i < N; i++) {
        names[i] = frozen[i].name;
        hex[i] = frozen[i].hex;
    }
    doc_check_blocks(names, hex, N, "mailbox");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_example),
        cmocka_unit_test(test_document_matches),
    };

    print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
