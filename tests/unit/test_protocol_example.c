/* The worked example of docs/PROTOCOL.md, computed by the real code and frozen.
 *
 * With fixed keys (written as key files and loaded like any other) and fixed ephemeral secrets
 * (the test-only mim_noise_set_ephemeral), a whole presence login is deterministic: Noise
 * messages 1-3, the handshake hash, the Split() keys, the Login (Ed25519 signatures are
 * deterministic), the newcomer's TableChunk, a few other presence messages, the UDP
 * discovery datagrams, and the peer-to-peer pieces (the peer prologue's h, bob's payload, a
 * ChatMessage, its Ack, ChatClose, Ping, Pong, and alice's and bob's safety number). Each is
 * compared with a hex constant below, and each constant must also appear, byte for byte, in the
 * code block marked <!-- hex:NAME --> in docs/PROTOCOL.md. So neither the code nor the document can
 * change the wire format without this test failing.
 *
 * Only the transport ciphertexts are not frozen: libsodium picks each secretstream header at
 * random. For those the test checks sizes and that the frozen plaintexts go through.
 *
 * To regenerate after an intended wire change: run `test_protocol_example --print`, paste the
 * values here and into the document, and explain the change in the document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"
#include "protocol_doc.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_discovery.h"
#include "mim_error.h"
#include "mim_framer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the fixed inputs ------------------------------------------------------------------------ */

#define ALICE_SEED_BYTE    0x01 /* Ed25519 seed: 32 times this byte */
#define ALICE_STATIC_BYTE  0x02 /* X25519 static secret */
#define ALICE_EPHEM_BYTE   0x03 /* X25519 ephemeral secret (test-only injection) */
#define SERVER_SEED_BYTE   0x11
#define SERVER_STATIC_BYTE 0x12
#define SERVER_EPHEM_BYTE  0x13
#define ALICE_NAME         "alice"
#define ALICE_PORT         5000
#define SERVER_PORT        4242
#define BOB_SEED_BYTE      0x21 /* the peer-to-peer example (section 13.8) */
#define BOB_STATIC_BYTE    0x22
#define BOB_NAME           "bob"
#define CHAT_TS_MS         1700000000000ull /* 2023-11-14 22:13:20 UTC */
#define CHAT_TEXT          "hi bob"

static const uint8_t alice_addr[4] = {127, 0, 0, 1};
/* The discovery nonce: 00 01 02 ... 0f. */
static const uint8_t probe_nonce[MIM_DISCOVERY_NONCE_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* The chat message id of the peer example: a0 a1 ... af (random in real use). */
static const uint8_t chat_id[MIM_MSG_ID_LEN] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

/* ---- the frozen outputs (lowercase hex, no spaces) ------------------------------------------- */

typedef struct expected {
    const char *name; /* also the <!-- hex:NAME --> marker in docs/PROTOCOL.md */
    const char *hex;
} expected;

/* clang-format off */
static const expected frozen[] = {
    {"alice_key_file",
     "4d494d4b45593031000000000000000001010101010101010101010101010101"
     "0101010101010101010101010101010102020202020202020202020202020202"
     "02020202020202020202020202020202"},
    {"alice_identity_pk",
     "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"},
    {"alice_static_pk",
     "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59"},
    {"alice_ephemeral_pk",
     "5dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef22"},
    {"server_identity_pk",
     "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"},
    {"server_static_pk",
     "052a50773ac8d91773f2dc9662e12f0defe915e415b8a1c8e20a5a3d6ab2b843"},
    {"server_ephemeral_pk",
     "197fc2c567dc03ee2aadf0ed86681dac24daa76e83ca555875dd3be7376e5306"},
    {"server_payload",
     "08011220d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332"
     "c97787371a40d0e69cad561edbf9e19ece31f27f6218a53a8ed162948a9c906c"
     "f59ea7c1005117b5d4ea8769145596b66468654946ced47f26f6968f915bb9b8"
     "33679947dc0d"},
    {"alice_payload",
     "080112208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801"
     "b40f6f5c1a40f2b3298a9cd892ead285ef17a98c15af908c98740d7d834e047f"
     "a2836de5f5964d34ab8ad33539a3440376f2e79530ac65246c9da261d5ee18a9"
     "3fb5b85fa5002205616c696365"},
    {"h_prologue",
     "84f8a4dda0838fae460939275fe5fa2a9ef2d378c1f12f8a942b1ffc255bf8b6"},
    {"msg1_frame",
     "00205dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3"
     "ef22"},
    {"h_msg1",
     "a940bd0815c2a153b1cfa50f35da5d73707dfcaef6be12a0403bccd75ac0d343"},
    {"msg2_frame",
     "00c6197fc2c567dc03ee2aadf0ed86681dac24daa76e83ca555875dd3be7376e"
     "5306d0b8bda3517fc421d788518b01557699c4cc7f556a0f93af305b3aaec482"
     "685b9f0c1bb62bcdc603462ff73fc76ba4dbb47fb0a0165669bedcaab2a63918"
     "044e0f23506460396f32bbd937359730a65afe9683f101adabc020491329457b"
     "ae97f4a3a5b81dce96142e50e4ae6eb53c5b39b1e7ab72150b578f34f629ba2f"
     "913bd6f6f6411ba1299ad39d6e86f1071d7cbaf18f226400877533828fc8f16d"
     "87518a2d419bf75d"},
    {"h_msg2",
     "636bece9f5660ec5490add6b9e7381e700c2be9a307558afa0cbbfecb8ec4406"},
    {"ck_msg2",
     "dad2a465c82a2ee3954ead7430a38a160ee380320ca6d321fa08a6532a05a6c1"},
    {"msg3_frame",
     "00ad7ad16b1ed0adb706bc5f8a9f75107235003be3cd1d15d8591a9fa9e29b53"
     "3d992b57cd097bad05be978232789a4298c7ebd0a838496f8d1c301406dda573"
     "e7fe17c207d0668d286b1655ba0de4577b7b52bc7594bd08ace148409e032343"
     "20e7539b17ceb120f00435e7c5a6130a330e947dee5bcf53b7bc5537f1484768"
     "3bb300de6b2d39339c3fa1080a4814c08614e4cb1748ff65c655520ff2c0ed56"
     "f2483d86a4718a09853af08b78ef0b"},
    {"ck_msg3",
     "784c71dcab9d0c1de38b7338e37e710bf7e1d50edcbb2fe8a8e5f51deccc4e33"},
    {"handshake_hash",
     "0c453c59e40d01c47acaac0877b7c522a45a1a9c255397ff63d68af80f74732a"},
    {"split_c1",
     "2841d38c4492990522c9f78b57eaf3cc22c11c89a5f9a5dc4bfb2c425f25946d"},
    {"split_c2",
     "18c4df4ef034211c0f778ee941e6a3e78a9213ddf1bd8ef5f27597635768c12a"},
    {"login_signed",
     "6d696d2d6c6f67696e2d76310c453c59e40d01c47acaac0877b7c522a45a1a9c"
     "255397ff63d68af80f74732a616c6963651388"},
    {"login_element",
     "0ab3010ab0010a05616c6963651088271a208a88e3dd7409f195fd52db2d3cba"
     "5d72ca6709bf1d94121bf3748801b40f6f5c2240f2b3298a9cd892ead285ef17"
     "a98c15af908c98740d7d834e047fa2836de5f5964d34ab8ad33539a3440376f2"
     "e79530ac65246c9da261d5ee18a93fb5b85fa5002a40bbac4375abaf77621e53"
     "1a20629d1f74be3ff2c6aa1f1ad711b4f99145be32aeb8b4ba28c969ebf38501"
     "d7a17842f958bbee8d8066908f53687513fc25406d03"},
    {"table_element",
     "0a3a12380a340a05616c69636512047f00000118882722208a88e3dd7409f195"
     "fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c28011001"},
    {"add_element",
     "0a381a360a340a05616c69636512047f00000118882722208a88e3dd7409f195"
     "fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c2801"},
    {"status_set_element",
     "0a0b2a09080212056c756e6368"},
    {"status_update_element",
     "0a1232100a05616c69636510021a056c756e6368"},
    {"delete_element",
     "0a0922070a05616c696365"},
    {"ping_element",
     "0a063a0408b0ea01"},
    {"pong_element",
     "0a06420408b0ea01"},
    {"logout_element",
     "0a025200"},
    {"error_element",
     "0a2f4a2d080112296e616d652027616c69636527206973207265676973746572"
     "656420746f20616e6f74686572206b6579"},
    {"discovery_probe",
     "4d494d3f01000000000102030405060708090a0b0c0d0e0f0000000000000000"
     "000000000000000000000000000000000000000000000000"},
    {"discovery_answer",
     "4d494d2101001092000102030405060708090a0b0c0d0e0fd04ab232742bb4ab"
     "3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"},
    {"bob_identity_pk",
     "884b8857f4eaa1613c61504db34d4beaf346517a0e31de3cddd4d9b4201d9d0b"},
    {"h_prologue_peer",
     "afaa8b9dd8cd964e2ee69bf98831f62563af4a53999a3ebef32064eb8088569d"},
    {"bob_payload",
     "08011220884b8857f4eaa1613c61504db34d4beaf346517a0e31de3cddd4d9b4"
     "201d9d0b1a409df3661d89901cd6c42936684a7a66bcc901c33764edb66bef1a"
     "5ec3ed91f0823bd5d261d148d243bc6e26614c338416198a40bbc671be586b3e"
     "9f22f0f6860e2203626f62"},
    {"chat_element",
     "0a2c0a2a0a10a0a1a2a3a4a5a6a7a8a9aaabacadaeaf1080d095ffbc311a0561"
     "6c69636520012a06686920626f62"},
    {"ack_element",
     "0a1412120a10a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"},
    {"chat_close_element",
     "0a021a00"},
    {"chat_close_key_element",
     "0a041a020801"},
    {"peer_ping_element",
     "0a06220408b0ea01"},
    {"peer_pong_element",
     "0a062a0408b0ea01"},
    {"receipt_element",
     "0a1432120a10a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"},
    {"typing_element",
     "0a043a020801"},
    {"typing_stop_element",
     "0a023a00"},
    {"payload_features_suffix",
     "2801"},
};
/* clang-format on */

#define ALICE_FINGERPRINT  "gxf6-nyvh-k2z6-drka-ahft-osvw"
#define SERVER_FINGERPRINT "hx74-kwof-qdsm-enb6-6dco-rknh"
#define BOB_FINGERPRINT    "vhzy-u6ir-2sk5-wpyw-uk4a-sh4x"
#define SAFETY_ALICE_BOB   "07536 27144 55560 20104 36500 82844 53038 54937 12373 09197 86412 61072"

/* ---- helpers --------------------------------------------------------------------------------- */

static int print_mode; /* --print: show every value instead of comparing */

static const char *frozen_hex(const char *name)
{
    for (size_t i = 0; i < sizeof(frozen) / sizeof(frozen[0]); i++)
        if (strcmp(frozen[i].name, name) == 0)
            return frozen[i].hex;
    fail_msg("no frozen value named %s", name);
    return NULL;
}

/* Compares bytes with the frozen value `name` (or prints them in --print mode). */
static void check_bytes(const char *name, const uint8_t *p, size_t n)
{
    char *got = bytes_hex(p, n);

    if (print_mode) {
        printf("%s (%zu bytes)\n%s\n", name, n, got);
    } else if (strcmp(got, frozen_hex(name)) != 0) {
        fprintf(stderr, "%s differs from the frozen value:\n  got      %s\n  expected %s\n", name,
                got, frozen_hex(name));
        free(got);
        fail_msg("%s changed: the wire format moved (see the comment at the top)", name);
    }
    free(got);
}

static void check_string(const char *name, const char *got, const char *want)
{
    if (print_mode)
        printf("%s\n%s\n", name, got);
    else
        assert_string_equal(got, want);
}

static void write_key_file(const char *path, uint8_t seed_byte, uint8_t dh_byte, uint8_t out[80])
{
    int fd;

    memset(out, 0, 80);
    memcpy(out, "MIMKEY01", 8); /* magic; flags byte 8 and reserved 9..15 stay zero */
    memset(out + 16, seed_byte, 32);
    memset(out + 48, dh_byte, 32);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(write(fd, out, 80), 80);
    assert_int_equal(close(fd), 0);
}

static mim_identity *load_identity(const char *dir, const char *file, uint8_t seed_byte,
                                   uint8_t dh_byte, uint8_t key_file[80])
{
    char path[512];
    mim_identity *id = NULL;
    int created = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    write_key_file(path, seed_byte, dh_byte, key_file);
    assert_int_equal(mim_identity_load_or_create(path, &id, &created), 0);
    assert_int_equal(created, 0);
    assert_int_equal(unlink(path), 0);
    return id;
}

/* A frame as it goes on the wire: 2-byte big-endian length, then the body. */
static void check_frame(const char *name, const uint8_t *body, size_t len)
{
    uint8_t frame[MIM_FRAME_HEADER_LEN + MIM_NOISE_MAX_MSG];

    assert_true(len <= MIM_NOISE_MAX_MSG);
    mim_frame_header(frame, len);
    memcpy(frame + MIM_FRAME_HEADER_LEN, body, len);
    check_bytes(name, frame, MIM_FRAME_HEADER_LEN + len);
}

/* Encodes m as one PresenceBatch element, checks it against `name`, and checks that a batch of
 * just that element decodes and validates in direction dir. Returns the element in *out. */
static void check_element(const char *name, const Mim__PresenceMsg *m, enum mim_direction dir,
                          mim_buf *out)
{
    Mim__PresenceBatch *b = NULL;
    char err[160] = "";

    mim_buf_reset(out);
    assert_int_equal(mim_presence_batch_append(out, m), 0);
    check_bytes(name, out->data, out->len);
    if (mim_presence_batch_decode(out->data, out->len, dir, &b, err, sizeof(err)) != 0)
        fail_msg("%s does not validate: %s", name, err);
    assert_int_equal(b->n_msgs, 1);
    assert_int_equal(b->msgs[0]->body_case, m->body_case);
    mim_presence_batch_free(b);
    /* The other direction must refuse it, except Ping and Pong, which go both ways. */
    if (m->body_case != MIM__PRESENCE_MSG__BODY_PING &&
        m->body_case != MIM__PRESENCE_MSG__BODY_PONG) {
        enum mim_direction other = dir == MIM_FROM_PEER ? MIM_FROM_SERVER : MIM_FROM_PEER;
        assert_int_equal(mim_presence_batch_decode(out->data, out->len, other, &b, NULL, 0),
                         MIM_EDECODE);
    }
}

/* ---- docs/PROTOCOL.md must show the same bytes --------------------------------------------- */

static void test_document_matches(void **state)
{
    char *doc;

    (void)state;
    if (print_mode)
        return;
    doc = read_doc();
    for (size_t i = 0; i < sizeof(frozen) / sizeof(frozen[0]); i++) {
        char *shown = doc_block_hex(doc, frozen[i].name);
        if (strcmp(shown, frozen[i].hex) != 0) {
            fprintf(stderr, "docs/PROTOCOL.md, block %s:\n  shows    %s\n  expected %s\n",
                    frozen[i].name, shown, frozen[i].hex);
            free(shown);
            free(doc);
            fail_msg("docs/PROTOCOL.md's worked example drifted from the code (%s)",
                     frozen[i].name);
        }
        free(shown);
    }
    assert_non_null(strstr(doc, ALICE_FINGERPRINT));
    assert_non_null(strstr(doc, SERVER_FINGERPRINT));
    assert_non_null(strstr(doc, BOB_FINGERPRINT));
    assert_non_null(strstr(doc, SAFETY_ALICE_BOB));
    free(doc);
}

/* ---- the example ------------------------------------------------------------------------------
 */

/* The login example of PROTOCOL.md 13 as one value that its steps below fill in order: the
 * identities, both ends of the handshake, the Split() keys, the login signature, and the buffer
 * of the element last checked. */
typedef struct login_example {
    uint8_t key_file[80], server_key_file[80];
    mim_identity *alice, *server;
    mim_noise client_hs, server_hs;
    mim_noise_cipher c1, c2, s1, s2;
    uint8_t login_sig[MIM_SIG_LEN];
    mim_buf el;
} login_example;

/* The key files and the keys and fingerprints they give. */
static void example_keys(login_example *x)
{
    char dir[] = MIM_TEST_TMP "/protocol-XXXXXX";
    char fp[MIM_FINGERPRINT_LEN];

    assert_non_null(mkdtemp(dir));
    x->alice = load_identity(dir, "alice.key", ALICE_SEED_BYTE, ALICE_STATIC_BYTE, x->key_file);
    x->server = load_identity(dir, "presence.key", SERVER_SEED_BYTE, SERVER_STATIC_BYTE,
                              x->server_key_file);
    assert_int_equal(rmdir(dir), 0);

    check_bytes("alice_key_file", x->key_file, sizeof(x->key_file));
    check_bytes("alice_identity_pk", x->alice->sign_pk, MIM_KEY_LEN);
    check_bytes("alice_static_pk", x->alice->dh_pk, MIM_KEY_LEN);
    check_bytes("server_identity_pk", x->server->sign_pk, MIM_KEY_LEN);
    check_bytes("server_static_pk", x->server->dh_pk, MIM_KEY_LEN);
    mim_fingerprint(x->alice->sign_pk, fp);
    check_string("alice_fingerprint", fp, ALICE_FINGERPRINT);
    mim_fingerprint(x->server->sign_pk, fp);
    check_string("server_fingerprint", fp, SERVER_FINGERPRINT);
}

static void example_handshake_start(login_example *x)
{
    uint8_t e_sk[MIM_KEY_LEN];

    /* Both sides start with the prologue of the presence protocol. */
    assert_int_equal(mim_noise_init(&x->client_hs, 1, MIM_NOISE_PROLOGUE_PRESENCE,
                                    strlen(MIM_NOISE_PROLOGUE_PRESENCE), x->alice->dh_sk),
                     0);
    assert_int_equal(mim_noise_init(&x->server_hs, 0, MIM_NOISE_PROLOGUE_PRESENCE,
                                    strlen(MIM_NOISE_PROLOGUE_PRESENCE), x->server->dh_sk),
                     0);
    memset(e_sk, ALICE_EPHEM_BYTE, sizeof(e_sk));
    mim_noise_set_ephemeral(&x->client_hs, e_sk);
    check_bytes("alice_ephemeral_pk", x->client_hs.e_pk, MIM_KEY_LEN);
    memset(e_sk, SERVER_EPHEM_BYTE, sizeof(e_sk));
    mim_noise_set_ephemeral(&x->server_hs, e_sk);
    check_bytes("server_ephemeral_pk", x->server_hs.e_pk, MIM_KEY_LEN);
    /* For debugging another implementation: the chaining key starts as the protocol name and h
     * as SHA-256(name || prologue); both ends track the same h and ck. */
    assert_memory_equal(x->client_hs.ck, "Noise_XX_25519_ChaChaPoly_SHA256", MIM_HASH_LEN);
    assert_memory_equal(x->client_hs.h, x->server_hs.h, MIM_HASH_LEN);
    check_bytes("h_prologue", x->client_hs.h, MIM_HASH_LEN);
}

static void example_msg1(login_example *x)
{
    uint8_t msg[MIM_NOISE_MAX_MSG], pl[MIM_NOISE_MAX_MSG];
    size_t len, plen;

    /* Message 1: -> e, empty payload: exactly 32 bytes. */
    assert_int_equal(mim_noise_write(&x->client_hs, NULL, 0, msg, sizeof(msg), &len), 0);
    assert_int_equal(len, 32);
    check_frame("msg1_frame", msg, len);
    assert_int_equal(mim_noise_read(&x->server_hs, msg, len, pl, sizeof(pl), &plen), 0);
    assert_int_equal(plen, 0);
    assert_memory_equal(x->client_hs.h, x->server_hs.h, MIM_HASH_LEN);
    check_bytes("h_msg1", x->client_hs.h, MIM_HASH_LEN);
}

static void example_msg2(login_example *x)
{
    uint8_t msg[MIM_NOISE_MAX_MSG], pl[MIM_NOISE_MAX_MSG];
    Mim__HandshakePayload *hp = NULL;
    mim_buf payload = {0};
    size_t len, plen;
    char err[160] = "";

    /* Message 2: <- e, ee, s, es with the server's payload (no name). */
    assert_int_equal(
        mim_handshake_payload_encode(x->server->sign_pk, x->server->static_sig, "", &payload), 0);
    check_bytes("server_payload", payload.data, payload.len);
    assert_int_equal(
        mim_noise_write(&x->server_hs, payload.data, payload.len, msg, sizeof(msg), &len), 0);
    assert_int_equal(len, 32 + 48 + payload.len + 16);
    assert_memory_equal(msg, x->server_hs.e_pk, MIM_KEY_LEN); /* e travels in the clear */
    check_frame("msg2_frame", msg, len);
    assert_int_equal(mim_noise_read(&x->client_hs, msg, len, pl, sizeof(pl), &plen), 0);
    assert_int_equal(plen, payload.len);
    assert_memory_equal(pl, payload.data, plen);
    assert_memory_equal(x->client_hs.h, x->server_hs.h, MIM_HASH_LEN);
    assert_memory_equal(x->client_hs.ck, x->server_hs.ck, MIM_HASH_LEN);
    check_bytes("h_msg2", x->client_hs.h, MIM_HASH_LEN);
    check_bytes("ck_msg2", x->client_hs.ck, MIM_HASH_LEN);
    /* What the client checks before it sends message 3: a well-formed payload without a name,
     * the static key signed by the identity key, and that identity equal to its pin. */
    if (mim_handshake_payload_decode(pl, plen, 0, &hp, err, sizeof(err)) != 0)
        fail_msg("server payload: %s", err);
    assert_memory_equal(mim_noise_remote_static(&x->client_hs), x->server->dh_pk, MIM_KEY_LEN);
    assert_int_equal(mim_static_sig_verify(hp->identity_pk.data,
                                           mim_noise_remote_static(&x->client_hs),
                                           hp->static_sig.data),
                     0);
    assert_memory_equal(hp->identity_pk.data, x->server->sign_pk, MIM_KEY_LEN); /* the pin */
    mim_handshake_payload_free(hp);
    mim_buf_free(&payload);
}

static void example_msg3(login_example *x)
{
    uint8_t msg[MIM_NOISE_MAX_MSG], pl[MIM_NOISE_MAX_MSG];
    Mim__HandshakePayload *hp = NULL;
    mim_buf payload = {0};
    size_t len, plen;
    char err[160] = "";

    /* Message 3: -> s, se with alice's payload. */
    assert_int_equal(
        mim_handshake_payload_encode(x->alice->sign_pk, x->alice->static_sig, ALICE_NAME, &payload),
        0);
    check_bytes("alice_payload", payload.data, payload.len);
    assert_int_equal(
        mim_noise_write(&x->client_hs, payload.data, payload.len, msg, sizeof(msg), &len), 0);
    assert_int_equal(len, 48 + payload.len + 16);
    check_frame("msg3_frame", msg, len);
    assert_int_equal(mim_noise_read(&x->server_hs, msg, len, pl, sizeof(pl), &plen), 0);
    if (mim_handshake_payload_decode(pl, plen, 1, &hp, err, sizeof(err)) != 0)
        fail_msg("alice payload: %s", err);
    assert_string_equal(hp->name, ALICE_NAME);
    assert_int_equal(mim_static_sig_verify(hp->identity_pk.data,
                                           mim_noise_remote_static(&x->server_hs),
                                           hp->static_sig.data),
                     0);
    mim_handshake_payload_free(hp);
    mim_buf_free(&payload);
}

static void example_split(login_example *x)
{
    /* Both ends agree on the handshake hash and on the two Split() keys. */
    assert_true(mim_noise_done(&x->client_hs) && mim_noise_done(&x->server_hs));
    assert_memory_equal(x->client_hs.ck, x->server_hs.ck, MIM_HASH_LEN);
    check_bytes("ck_msg3", x->client_hs.ck, MIM_HASH_LEN);
    assert_memory_equal(mim_noise_handshake_hash(&x->client_hs),
                        mim_noise_handshake_hash(&x->server_hs), MIM_HASH_LEN);
    check_bytes("handshake_hash", mim_noise_handshake_hash(&x->client_hs), MIM_HASH_LEN);
    assert_int_equal(mim_noise_split(&x->client_hs, &x->c1, &x->c2), 0);
    assert_int_equal(mim_noise_split(&x->server_hs, &x->s1, &x->s2), 0);
    assert_memory_equal(x->c1.k, x->s1.k, MIM_KEY_LEN);
    assert_memory_equal(x->c2.k, x->s2.k, MIM_KEY_LEN);
    check_bytes("split_c1", x->c1.k, MIM_KEY_LEN);
    check_bytes("split_c2", x->c2.k, MIM_KEY_LEN);
}

static void example_login(login_example *x)
{
    uint8_t signed_msg[12 + MIM_HASH_LEN + sizeof(ALICE_NAME) - 1 + 2];

    /* The login signature covers "mim-login-v1" || handshake hash || name || port (BE). */
    memcpy(signed_msg, "mim-login-v1", 12);
    memcpy(signed_msg + 12, mim_noise_handshake_hash(&x->client_hs), MIM_HASH_LEN);
    memcpy(signed_msg + 12 + MIM_HASH_LEN, ALICE_NAME, sizeof(ALICE_NAME) - 1);
    signed_msg[sizeof(signed_msg) - 2] = (uint8_t)(ALICE_PORT >> 8);
    signed_msg[sizeof(signed_msg) - 1] = (uint8_t)(ALICE_PORT & 0xff);
    check_bytes("login_signed", signed_msg, sizeof(signed_msg));
    assert_int_equal(mim_login_sign(x->alice, mim_noise_handshake_hash(&x->client_hs), ALICE_NAME,
                                    sizeof(ALICE_NAME) - 1, ALICE_PORT, x->login_sig),
                     0);
    assert_int_equal(
        mim_sign_verify(x->alice->sign_pk, signed_msg, sizeof(signed_msg), x->login_sig), 0);

    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Login login = MIM__LOGIN__INIT;
        login.name = (char *)ALICE_NAME;
        login.listen_port = ALICE_PORT;
        login.identity_pk.data = x->alice->sign_pk;
        login.identity_pk.len = MIM_KEY_LEN;
        login.static_sig.data = x->alice->static_sig;
        login.static_sig.len = MIM_SIG_LEN;
        login.login_sig.data = x->login_sig;
        login.login_sig.len = MIM_SIG_LEN;
        m.body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
        m.login = &login;
        check_element("login_element", &m, MIM_FROM_PEER, &x->el);
    }
}

static void example_transport(login_example *x)
{
    /* The transport: alice's stream is keyed with c1, the server's with c2. The headers and so
     * the ciphertexts are random; the sizes and the plaintexts are what the example shows. */
    {
        uint8_t header[MIM_STREAM_HEADER_LEN], sealed[512], opened[512];
        mim_stream_tx tx;
        mim_stream_rx rx;
        size_t mlen;
        int tag;

        assert_int_equal(mim_stream_tx_init(&tx, x->c1.k, header), 0);
        assert_int_equal(mim_stream_rx_init(&rx, x->s1.k, header), 0);
        assert_true(x->el.len + MIM_STREAM_ABYTES <= sizeof(sealed));
        assert_int_equal(
            mim_stream_tx_seal(&tx, x->el.data, x->el.len, MIM_STREAM_TAG_MESSAGE, sealed), 0);
        assert_int_equal(
            mim_stream_rx_open(&rx, sealed, x->el.len + MIM_STREAM_ABYTES, opened, &mlen, &tag), 0);
        assert_int_equal(mlen, x->el.len);
        assert_int_equal(tag, MIM_STREAM_TAG_MESSAGE);
        assert_memory_equal(opened, x->el.data, x->el.len);
        /* A clean close: an empty FINAL message, 17 bytes on the wire. */
        assert_int_equal(mim_stream_tx_seal(&tx, NULL, 0, MIM_STREAM_TAG_FINAL, sealed), 0);
        assert_int_equal(mim_stream_rx_open(&rx, sealed, MIM_STREAM_ABYTES, opened, &mlen, &tag),
                         0);
        assert_int_equal(mlen, 0);
        assert_int_equal(tag, MIM_STREAM_TAG_FINAL);
        mim_stream_tx_wipe(&tx);
        mim_stream_rx_wipe(&rx);
    }
}

/* The table, and what everyone else gets when alice comes online. */
static void example_table(login_example *x)
{
    const mim_identity *alice = x->alice;

    /* The server's first batch to alice: the online table, alice alone, in one last chunk. */
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__TableChunk t = MIM__TABLE_CHUNK__INIT;
        Mim__PeerInfo pi;
        Mim__PeerInfo *ptrs[1] = {&pi};
        mim_peer_info_init(&pi, ALICE_NAME, alice_addr, sizeof(alice_addr), ALICE_PORT,
                           alice->sign_pk, MIM__STATUS__STATUS_AVAILABLE, "");
        t.peers = ptrs;
        t.n_peers = 1;
        t.last = 1;
        m.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
        m.table = &t;
        check_element("table_element", &m, MIM_FROM_SERVER, &x->el);
    }
    /* What everyone else gets when alice comes online. */
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__PeerAdd add = MIM__PEER_ADD__INIT;
        Mim__PeerInfo pi;
        mim_peer_info_init(&pi, ALICE_NAME, alice_addr, sizeof(alice_addr), ALICE_PORT,
                           alice->sign_pk, MIM__STATUS__STATUS_AVAILABLE, "");
        add.peer = &pi;
        m.body_case = MIM__PRESENCE_MSG__BODY_ADD;
        m.add = &add;
        check_element("add_element", &m, MIM_FROM_SERVER, &x->el);
    }
}

/* The other presence messages of the example, one element each. */
static void example_other_elements(login_example *x)
{
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__StatusSet st = MIM__STATUS_SET__INIT;
        st.status = MIM__STATUS__STATUS_AWAY;
        st.text = (char *)"lunch";
        m.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
        m.status_set = &st;
        check_element("status_set_element", &m, MIM_FROM_PEER, &x->el);
    }
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__StatusUpdate up = MIM__STATUS_UPDATE__INIT;
        up.name = (char *)ALICE_NAME;
        up.status = MIM__STATUS__STATUS_AWAY;
        up.text = (char *)"lunch";
        m.body_case = MIM__PRESENCE_MSG__BODY_STATUS;
        m.status = &up;
        check_element("status_update_element", &m, MIM_FROM_SERVER, &x->el);
    }
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__PeerDelete del = MIM__PEER_DELETE__INIT;
        del.name = (char *)ALICE_NAME;
        m.body_case = MIM__PRESENCE_MSG__BODY_DEL;
        m.del = &del;
        check_element("delete_element", &m, MIM_FROM_SERVER, &x->el);
    }
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Ping ping = MIM__PING__INIT;
        ping.nonce = 30000; /* the server uses its loop clock in ms: any value will do */
        m.body_case = MIM__PRESENCE_MSG__BODY_PING;
        m.ping = &ping;
        check_element("ping_element", &m, MIM_FROM_SERVER, &x->el);
    }
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Pong pong = MIM__PONG__INIT;
        pong.nonce = 30000;
        m.body_case = MIM__PRESENCE_MSG__BODY_PONG;
        m.pong = &pong;
        check_element("pong_element", &m, MIM_FROM_PEER, &x->el);
    }
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Logout logout = MIM__LOGOUT__INIT;
        m.body_case = MIM__PRESENCE_MSG__BODY_LOGOUT;
        m.logout = &logout;
        check_element("logout_element", &m, MIM_FROM_PEER, &x->el);
    }
    {
        Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
        Mim__Error e = MIM__ERROR__INIT;
        e.code = MIM__ERROR_CODE__ERROR_NAME_TAKEN;
        e.message = (char *)"name 'alice' is registered to another key"; /* presence/session.c */
        m.body_case = MIM__PRESENCE_MSG__BODY_ERROR;
        m.error = &e;
        check_element("error_element", &m, MIM_FROM_SERVER, &x->el);
    }
}

static void test_login_example(void **state)
{
    login_example x;

    (void)state;
    memset(&x, 0, sizeof(x));
    example_keys(&x);
    example_handshake_start(&x);
    example_msg1(&x);
    example_msg2(&x);
    example_msg3(&x);
    example_split(&x);
    example_login(&x);
    example_transport(&x);
    example_table(&x);
    example_other_elements(&x);
    mim_buf_free(&x.el);
    mim_wipe(&x.c1, sizeof(x.c1));
    mim_wipe(&x.c2, sizeof(x.c2));
    mim_wipe(&x.s1, sizeof(x.s1));
    mim_wipe(&x.s2, sizeof(x.s2));
    mim_noise_wipe(&x.client_hs);
    mim_noise_wipe(&x.server_hs);
    mim_identity_free(x.alice);
    mim_identity_free(x.server);
    mim_wipe(x.key_file, sizeof(x.key_file));
    mim_wipe(x.server_key_file, sizeof(x.server_key_file));
}

static void test_discovery_example(void **state)
{
    char dir[] = MIM_TEST_TMP "/protocol-XXXXXX";
    uint8_t probe[MIM_DISCOVERY_LEN], answer[MIM_DISCOVERY_LEN], pk[MIM_KEY_LEN];
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], key_file[80];
    mim_identity *server;
    uint16_t port = 0;

    (void)state;
    /* The server of the login example. */
    assert_non_null(mkdtemp(dir));
    server = load_identity(dir, "presence.key", SERVER_SEED_BYTE, SERVER_STATIC_BYTE, key_file);
    assert_int_equal(rmdir(dir), 0);

    mim_discovery_probe_encode(probe, probe_nonce);
    check_bytes("discovery_probe", probe, sizeof(probe));
    assert_int_equal(mim_discovery_probe_decode(probe, sizeof(probe), nonce), 0);
    assert_memory_equal(nonce, probe_nonce, sizeof(nonce));

    mim_discovery_answer_encode(answer, nonce, SERVER_PORT, server->sign_pk);
    check_bytes("discovery_answer", answer, sizeof(answer));
    assert_int_equal(mim_discovery_answer_decode(answer, sizeof(answer), probe_nonce, &port, pk),
                     0);
    assert_int_equal(port, SERVER_PORT);
    assert_memory_equal(pk, server->sign_pk, MIM_KEY_LEN);
    /* Equal sizes: answering can never amplify traffic. */
    assert_int_equal(sizeof(probe), sizeof(answer));
    /* A probe is not an answer and an answer is not a probe. */
    assert_int_equal(mim_discovery_probe_decode(answer, sizeof(answer), nonce), MIM_EINVAL);
    assert_int_equal(mim_discovery_answer_decode(probe, sizeof(probe), probe_nonce, &port, pk),
                     MIM_EINVAL);
    mim_identity_free(server);
    mim_wipe(key_file, sizeof(key_file));
}

/* Encodes m as one PeerBatch element, checks it against `name`, and checks that a batch of just
 * that element decodes and validates. */
static void check_peer_element(const char *name, const Mim__PeerMsg *m, mim_buf *out)
{
    Mim__PeerBatch *b = NULL;
    char err[160] = "";

    mim_buf_reset(out);
    assert_int_equal(mim_peer_batch_append(out, m), 0);
    check_bytes(name, out->data, out->len);
    if (mim_peer_batch_decode(out->data, out->len, &b, err, sizeof(err)) != 0)
        fail_msg("%s does not validate: %s", name, err);
    assert_int_equal(b->n_msgs, 1);
    assert_int_equal(b->msgs[0]->body_case, m->body_case);
    mim_peer_batch_free(b);
}

/* Section 13.8: alice and bob, peer to peer. The handshake runs as in the login example, with
 * the peer prologue and a name in both payloads; then a chat message, its ack, and the rest. */
/* The peer messages of section 13.8, one element each. */
static void peer_example_elements(void)
{
    mim_buf el = {0};

    {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
        c.id.data = (uint8_t *)chat_id;
        c.id.len = MIM_MSG_ID_LEN;
        c.ts_ms = CHAT_TS_MS;
        c.sender = (char *)ALICE_NAME;
        c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
        c.text = (char *)CHAT_TEXT;
        m.body_case = MIM__PEER_MSG__BODY_CHAT;
        m.chat = &c;
        check_peer_element("chat_element", &m, &el);
    }
    {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__Ack a = MIM__ACK__INIT;
        ProtobufCBinaryData ids[1] = {{MIM_MSG_ID_LEN, (uint8_t *)chat_id}};
        a.ids = ids;
        a.n_ids = 1;
        m.body_case = MIM__PEER_MSG__BODY_ACK;
        m.ack = &a;
        check_peer_element("ack_element", &m, &el);
    }
    {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__ChatClose cl = MIM__CHAT_CLOSE__INIT;
        m.body_case = MIM__PEER_MSG__BODY_CLOSE;
        m.close = &cl;
        check_peer_element("chat_close_element", &m, &el);
    }
    {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__ChatClose cl = MIM__CHAT_CLOSE__INIT;
        cl.reason = MIM__CLOSE_REASON__CLOSE_KEY_NOT_ACCEPTED;
        m.body_case = MIM__PEER_MSG__BODY_CLOSE;
        m.close = &cl;
        check_peer_element("chat_close_key_element", &m, &el);
    }
    {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__Ping ping = MIM__PING__INIT;
        ping.nonce = 30000;
        m.body_case = MIM__PEER_MSG__BODY_PING;
        m.ping = &ping;
        check_peer_element("peer_ping_element", &m, &el);
    }
    {
        Mim__PeerMsg m = MIM__PEER_MSG__INIT;
        Mim__Pong pong = MIM__PONG__INIT;
        pong.nonce = 30000;
        m.body_case = MIM__PEER_MSG__BODY_PONG;
        m.pong = &pong;
        check_peer_element("peer_pong_element", &m, &el);
    }
    mim_buf_free(&el);
}

static void test_peer_example(void **state)
{
    char dir[] = MIM_TEST_TMP "/protocol-XXXXXX";
    uint8_t key_file[80], bob_key_file[80];
    char fp[MIM_FINGERPRINT_LEN], sn[MIM_SAFETY_NUMBER_LEN];
    mim_identity *alice, *bob;
    mim_noise hs;
    mim_buf payload = {0};

    (void)state;
    assert_non_null(mkdtemp(dir));
    alice = load_identity(dir, "alice.key", ALICE_SEED_BYTE, ALICE_STATIC_BYTE, key_file);
    bob = load_identity(dir, "bob.key", BOB_SEED_BYTE, BOB_STATIC_BYTE, bob_key_file);
    assert_int_equal(rmdir(dir), 0);

    check_bytes("bob_identity_pk", bob->sign_pk, MIM_KEY_LEN);
    mim_fingerprint(bob->sign_pk, fp);
    check_string("bob_fingerprint", fp, BOB_FINGERPRINT);

    /* The peer prologue gives another h from the start. */
    assert_int_equal(mim_noise_init(&hs, 1, MIM_NOISE_PROLOGUE_PEER,
                                    strlen(MIM_NOISE_PROLOGUE_PEER), alice->dh_sk),
                     0);
    check_bytes("h_prologue_peer", hs.h, MIM_HASH_LEN);
    mim_noise_wipe(&hs);

    /* bob answers alice's dial: his payload (in message 2) carries his name. */
    assert_int_equal(
        mim_handshake_payload_encode(bob->sign_pk, bob->static_sig, BOB_NAME, &payload), 0);
    check_bytes("bob_payload", payload.data, payload.len);

    peer_example_elements();

    /* The safety number alice and bob compare: the same from both sides. */
    mim_safety_number(alice->sign_pk, ALICE_NAME, bob->sign_pk, BOB_NAME, sn);
    check_string("safety_number_alice_bob", sn, SAFETY_ALICE_BOB);
    mim_safety_number(bob->sign_pk, BOB_NAME, alice->sign_pk, ALICE_NAME, sn);
    check_string("safety_number_bob_alice", sn, SAFETY_ALICE_BOB);

    mim_buf_free(&payload);
    mim_identity_free(alice);
    mim_identity_free(bob);
    mim_wipe(key_file, sizeof(key_file));
    mim_wipe(bob_key_file, sizeof(bob_key_file));
}

/* Section 13.8, issue 13: bob read alice's message (a Receipt), and typing on and off. The
 * HandshakePayload's features field, as a peer of this version appends it. */
static void test_receipt_example(void **state)
{
    static const uint8_t id[MIM_MSG_ID_LEN] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                               0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
    ProtobufCBinaryData ids[1] = {{MIM_MSG_ID_LEN, (uint8_t *)id}};
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__Receipt r = MIM__RECEIPT__INIT;
    Mim__Typing t = MIM__TYPING__INIT;
    mim_buf el = {0}, plain = {0}, with = {0};
    uint8_t pk[MIM_KEY_LEN] = {1}, sig[MIM_SIG_LEN] = {2};

    (void)state;
    r.read = ids;
    r.n_read = 1;
    m.body_case = MIM__PEER_MSG__BODY_RECEIPT;
    m.receipt = &r;
    check_peer_element("receipt_element", &m, &el);
    m.body_case = MIM__PEER_MSG__BODY_TYPING;
    m.typing = &t;
    t.typing = 1;
    check_peer_element("typing_element", &m, &el);
    t.typing = 0;
    check_peer_element("typing_stop_element", &m, &el);

    /* features = 1: the same payload with two more bytes at its end. */
    assert_int_equal(mim_handshake_payload_encode(pk, sig, BOB_NAME, &plain), 0);
    assert_int_equal(
        mim_handshake_payload_encode_features(pk, sig, BOB_NAME, MIM_FEATURE_RECEIPTS, &with), 0);
    assert_int_equal(with.len, plain.len + 2);
    assert_memory_equal(with.data, plain.data, plain.len);
    check_bytes("payload_features_suffix", with.data + plain.len, 2);
    mim_buf_free(&el);
    mim_buf_free(&plain);
    mim_buf_free(&with);
}

static int setup(void **state)
{
    (void)state;
    return mim_crypto_init() == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_example),    cmocka_unit_test(test_discovery_example),
        cmocka_unit_test(test_peer_example),     cmocka_unit_test(test_receipt_example),
        cmocka_unit_test(test_document_matches),
    };

    print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
    return cmocka_run_group_tests(tests, setup, NULL);
}
