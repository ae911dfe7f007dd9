/* The cluster bus's worked example (docs/PROTOCOL.md, "The cluster bus"), computed by the real
 * codec and frozen like test_protocol_mail_example.c: server s0 tells the others that alice
 * logged in, and sends its heartbeat, and (issue 18's shared mailbox) a notice that a letter for
 * bob was stored. Each message is compared with a hex constant below,
 * which must also appear byte for byte in the block marked <!-- hex:NAME --> in
 * docs/PROTOCOL.md, and must decode. Then the codec's refusals: what a hostile publisher on the
 * bus could send.
 *
 * To regenerate after an intended wire change: run `test_protocol_cluster_example --print`. */
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

#define LOGIN_MS 1700000000000ull /* 2023-11-14 22:13:20 UTC */

static int print_mode;
static uint8_t boot[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                           0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static uint8_t alice_pk[32] = {0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd, 0x52, 0xdb,
                               0x2d, 0x3c, 0xba, 0x5d, 0x72, 0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94,
                               0x12, 0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c};
static uint8_t alice_addr[4] = {192, 168, 1, 20};

static const struct {
    const char *name; /* also the <!-- hex:NAME --> marker */
    const char *hex;
} frozen[] = {
    {"cluster_events",
     "0a0273301210000102030405060708090a0b0c0d0e0f180152410a3f0a3d0a340a05616c69"
     "63651204c0a8011418a01f22208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3"
     "748801b40f6f5c28011080d095ffbc31"},
    {"cluster_heartbeat", "0a0273301210000102030405060708090a0b0c0d0e0f18026a020801"},
    {"cluster_mail_notice",
     "0a0273301210000102030405060708090a0b0c0d0e0f1803520b0a0922070a03626f62100c"},
};
#define NFROZEN (sizeof(frozen) / sizeof(frozen[0]))

/* The example's messages, from s0, boot 00..0f: seq 1 the events (alice's add), seq 2 the
 * heartbeat (one peer), seq 3 the mail notice (bob, stream seq 12). */
static void build(int which, mim_buf *out)
{
    Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
    Mim__ClusterEvents evs = MIM__CLUSTER_EVENTS__INIT;
    Mim__ClusterEvent ev = MIM__CLUSTER_EVENT__INIT, *evp = &ev;
    Mim__ClusterPeer cp = MIM__CLUSTER_PEER__INIT;
    Mim__ClusterHeartbeat hb = MIM__CLUSTER_HEARTBEAT__INIT;
    Mim__MailNotice mn = MIM__MAIL_NOTICE__INIT;
    Mim__PeerInfo pi;

    m.server_id = "s0";
    m.boot_id.data = boot;
    m.boot_id.len = sizeof(boot);
    m.seq = (uint64_t)(which + 1);
    if (which == 1) {
        hb.peers = 1;
        m.body_case = MIM__CLUSTER_MSG__BODY_HEARTBEAT;
        m.heartbeat = &hb;
        assert_int_equal(mim_cluster_msg_pack(&m, out), 0);
        return;
    }
    if (which == 0) {
        mim_peer_info_init(&pi, "alice", alice_addr, 4, 4000, alice_pk,
                           MIM__STATUS__STATUS_AVAILABLE, "");
        cp.info = &pi;
        cp.login_ms = LOGIN_MS;
        ev.kind_case = MIM__CLUSTER_EVENT__KIND_ADD;
        ev.add = &cp;
    } else { /* issue 18: a letter for bob stored in the stream at seq 12 */
        mn.to = "bob";
        mn.seq = 12;
        ev.kind_case = MIM__CLUSTER_EVENT__KIND_MAIL;
        ev.mail = &mn;
    }
    evs.events = &evp;
    evs.n_events = 1;
    m.body_case = MIM__CLUSTER_MSG__BODY_EVENTS;
    m.events = &evs;
    assert_int_equal(mim_cluster_msg_pack(&m, out), 0);
}

static void worked_example(void **state)
{
    char *doc = print_mode ? NULL : read_doc();

    (void)state;
    for (size_t i = 0; i < NFROZEN; i++) {
        mim_buf b = {0};
        Mim__ClusterMsg *m = NULL;
        char err[160], *shown, *hex;
        build((int)i, &b);
        hex = bytes_hex(b.data, b.len);
        assert_int_equal(mim_cluster_msg_decode(b.data, b.len, &m, err, sizeof(err)), 0);
        mim_cluster_msg_free(m);
        mim_buf_free(&b);
        if (print_mode) {
            printf("%s: %s\n", frozen[i].name, hex);
            free(hex);
            continue;
        }
        assert_string_equal(hex, frozen[i].hex);
        shown = doc_block_hex(doc, frozen[i].name);
        if (strcmp(shown, hex) != 0)
            fail_msg("docs/PROTOCOL.md <!-- hex:%s --> shows %s, the codec makes %s",
                     frozen[i].name, shown, hex);
        free(shown);
        free(hex);
    }
    free(doc);
}

/* Decodes p (hex): 0 when accepted, else MIM_EDECODE with a reason. */
static int decode_hex(const char *hex)
{
    uint8_t buf[512];
    size_t n = strlen(hex) / 2;
    Mim__ClusterMsg *m = NULL;
    char err[160] = "";
    int rc;

    assert_true(n <= sizeof(buf));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &buf[i]), 1);
    rc = mim_cluster_msg_decode(buf, n, &m, err, sizeof(err));
    assert_true(rc == 0 ? m != NULL : m == NULL && err[0] != '\0');
    mim_cluster_msg_free(m);
    return rc;
}

/* What a hostile publisher could send: each refused, with a reason. */
static void refusals(void **state)
{
    (void)state;
    assert_int_equal(decode_hex(frozen[1].hex), 0);
    assert_int_equal(decode_hex("ffff01"), MIM_EDECODE); /* no protobuf */
    assert_int_equal(decode_hex(""), MIM_EDECODE);       /* no server id, no body */
    assert_int_equal(decode_hex("0a027330120100"         /* a 1-byte boot id */
                                "18026a00"),
                     MIM_EDECODE);
    assert_int_equal(decode_hex("0a03732030" /* "s 0": a space in the server id */
                                "1210000102030405060708090a0b0c0d0e0f18026a00"),
                     MIM_EDECODE);
    assert_int_equal(decode_hex("0a027330" /* events, but none */
                                "1210000102030405060708090a0b0c0d0e0f18015200"),
                     MIM_EDECODE);
    assert_int_equal(decode_hex("0a027330" /* a delete of an empty name */
                                "1210000102030405060708090a0b0c0d0e0f18015204"
                                "0a021200"),
                     MIM_EDECODE);
    assert_int_equal(decode_hex("0a027330" /* a mail notice of seq 0 */
                                "1210000102030405060708090a0b0c0d0e0f18035209"
                                "0a0722050a03626f62"),
                     MIM_EDECODE);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worked_example),
        cmocka_unit_test(refusals),
    };

    print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
    if (print_mode) {
        worked_example(NULL);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
