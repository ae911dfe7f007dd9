/* Unit tests for shared/mim_crypto.c: the Noise known-answer vector, handshake failures, the
 * identity and login signatures, secretstream transport. Key files, fingerprints and the basics
 * are in test_keyfile.c.
 *
 * Like the rest of mim, this file does not include libsodium's header: everything goes through the
 * mim_crypto.h door, which is what these tests are about. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include "mim_crypto.h"
#include "mim_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VECTOR_FILE MIM_TEST_VECTORS "/noise_xx_25519_chachapoly_sha256.json"
#define KAT_MSGS    6

/* ---- a tiny reader for the one fixed JSON vector file ---------------------------------------- */

typedef struct hexbuf {
    uint8_t b[256];
    size_t len;
} hexbuf;

typedef struct noise_vector {
    hexbuf init_prologue, init_ephemeral, init_static;
    hexbuf resp_prologue, resp_ephemeral, resp_static;
    hexbuf payload[KAT_MSGS];
    hexbuf ciphertext[KAT_MSGS];
} noise_vector;

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the string value of the nth (0-based) occurrence of "key" at or after *from. Returns a
 * pointer just past the value, so successive calls walk the messages array in order. */
static const char *json_hex(const char *from, const char *key, hexbuf *out)
{
    char quoted[64];
    const char *p;

    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    p = strstr(from, quoted);
    if (p == NULL)
        fail_msg("vector file has no %s", quoted);
    p += strlen(quoted);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    assert_int_equal(*p, ':');
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    assert_int_equal(*p, '"');
    p++;
    out->len = 0;
    while (*p != '"') {
        int hi = hex_digit(p[0]);
        int lo = hi < 0 ? -1 : hex_digit(p[1]);
        if (hi < 0 || lo < 0)
            fail_msg("bad hex in %s", quoted);
        assert_true(out->len < sizeof out->b);
        out->b[out->len++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    return p + 1;
}

static void load_vector(noise_vector *v)
{
    char *text = mim_test_read_file(VECTOR_FILE);
    const char *p;
    int i;

    assert_non_null(strstr(text, "\"Noise_XX_25519_ChaChaPoly_SHA256\""));
    json_hex(text, "init_prologue", &v->init_prologue);
    json_hex(text, "init_ephemeral", &v->init_ephemeral);
    json_hex(text, "init_static", &v->init_static);
    json_hex(text, "resp_prologue", &v->resp_prologue);
    json_hex(text, "resp_ephemeral", &v->resp_ephemeral);
    json_hex(text, "resp_static", &v->resp_static);
    assert_int_equal(v->init_ephemeral.len, MIM_KEY_LEN);
    assert_int_equal(v->init_static.len, MIM_KEY_LEN);
    assert_int_equal(v->resp_ephemeral.len, MIM_KEY_LEN);
    assert_int_equal(v->resp_static.len, MIM_KEY_LEN);
    p = strstr(text, "\"messages\"");
    assert_non_null(p);
    for (i = 0; i < KAT_MSGS; i++) {
        p = json_hex(p, "payload", &v->payload[i]);
        p = json_hex(p, "ciphertext", &v->ciphertext[i]);
    }
    assert_null(strstr(p, "\"payload\"")); /* exactly six messages */
    free(text);
}

/* ---- helpers ----------------------------------------------------------------------------------
 */

static uint8_t static_a[MIM_KEY_LEN], static_b[MIM_KEY_LEN];

static int setup_keys(void **state)
{
    (void)state;
    if (mim_crypto_init() != MIM_OK)
        return -1;
    mim_random_bytes(static_a, sizeof static_a);
    mim_random_bytes(static_b, sizeof static_b);
    return 0;
}

/* Runs messages 1 and 2 of a handshake between ini and resp (random ephemerals) and leaves
 * message 2 in msg2 for the caller to tamper with. */
static void start_handshake(mim_noise *ini, mim_noise *resp, uint8_t *msg2, size_t *msg2_len)
{
    uint8_t msg[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, plen = 0;

    assert_int_equal(
        mim_noise_init(ini, 1, MIM_NOISE_PROLOGUE_PEER, strlen(MIM_NOISE_PROLOGUE_PEER), static_a),
        MIM_OK);
    assert_int_equal(
        mim_noise_init(resp, 0, MIM_NOISE_PROLOGUE_PEER, strlen(MIM_NOISE_PROLOGUE_PEER), static_b),
        MIM_OK);
    assert_int_equal(mim_noise_write(ini, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(len, MIM_KEY_LEN);
    assert_int_equal(mim_noise_read(resp, msg, len, pl, sizeof pl, &plen), MIM_OK);
    assert_int_equal(plen, 0);
    assert_int_equal(
        mim_noise_write(resp, (const uint8_t *)"hello", 5, msg2, MIM_NOISE_MAX_MSG, msg2_len),
        MIM_OK);
    assert_int_equal(*msg2_len, 32 + 48 + 5 + 16);
}

/* ---- 1. the Noise known-answer vector ---------------------------------------------------------
 */

/* Runs the vector's three handshake messages through ini and resp, each checked byte for byte:
 * the initiator writes messages 0 and 2, the responder message 1. */
static void kat_handshake(const noise_vector *v, mim_noise *ini, mim_noise *resp)
{
    uint8_t out[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len, plen;
    int i;

    for (i = 0; i < 3; i++) {
        mim_noise *w = i % 2 == 0 ? ini : resp;
        mim_noise *r = i % 2 == 0 ? resp : ini;

        assert_false(mim_noise_done(w));
        len = 0;
        assert_int_equal(
            mim_noise_write(w, v->payload[i].b, v->payload[i].len, out, sizeof out, &len), MIM_OK);
        assert_int_equal(len, v->ciphertext[i].len);
        assert_memory_equal(out, v->ciphertext[i].b, len);
        plen = 0;
        assert_int_equal(mim_noise_read(r, out, len, pl, sizeof pl, &plen), MIM_OK);
        assert_int_equal(plen, v->payload[i].len);
        assert_memory_equal(pl, v->payload[i].b, plen);
    }
}

static void test_noise_kat(void **state)
{
    noise_vector *v = calloc(1, sizeof *v);
    mim_noise ini, resp;
    mim_noise_cipher ic1, ic2, rc1, rc2;
    uint8_t out[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    int i;

    (void)state;
    assert_non_null(v);
    load_vector(v);

    assert_int_equal(
        mim_noise_init(&ini, 1, v->init_prologue.b, v->init_prologue.len, v->init_static.b),
        MIM_OK);
    mim_noise_set_ephemeral(&ini, v->init_ephemeral.b);
    assert_int_equal(
        mim_noise_init(&resp, 0, v->resp_prologue.b, v->resp_prologue.len, v->resp_static.b),
        MIM_OK);
    mim_noise_set_ephemeral(&resp, v->resp_ephemeral.b);

    kat_handshake(v, &ini, &resp);
    assert_true(mim_noise_done(&ini));
    assert_true(mim_noise_done(&resp));
    assert_memory_equal(mim_noise_handshake_hash(&ini), mim_noise_handshake_hash(&resp),
                        MIM_HASH_LEN);
    assert_memory_equal(mim_noise_remote_static(&ini), resp.s_pk, MIM_KEY_LEN);
    assert_memory_equal(mim_noise_remote_static(&resp), ini.s_pk, MIM_KEY_LEN);
    assert_memory_not_equal(ini.s_pk, resp.s_pk, MIM_KEY_LEN);

    assert_int_equal(mim_noise_split(&ini, &ic1, &ic2), MIM_OK);
    assert_int_equal(mim_noise_split(&resp, &rc1, &rc2), MIM_OK);
    assert_memory_equal(ic1.k, rc1.k, MIM_KEY_LEN);
    assert_memory_equal(ic2.k, rc2.k, MIM_KEY_LEN);
    assert_memory_not_equal(ic1.k, ic2.k, MIM_KEY_LEN);
    /* Split wiped the chaining key and refuses to run twice; the hash survives. */
    assert_int_equal(mim_noise_split(&ini, &ic1, &ic2), MIM_ESTATE);

    /* Transport: the responder sends 3 and 5 with c2, the initiator sends 4 with c1. */
    for (i = 3; i < KAT_MSGS; i++) {
        mim_noise_cipher *enc = i % 2 == 1 ? &rc2 : &ic1;
        mim_noise_cipher *dec = i % 2 == 1 ? &ic2 : &rc1;
        uint64_t n_before = enc->n;

        assert_int_equal(
            mim_noise_cipher_encrypt(enc, NULL, 0, v->payload[i].b, v->payload[i].len, out),
            MIM_OK);
        assert_int_equal(v->payload[i].len + MIM_AEAD_TAG_LEN, v->ciphertext[i].len);
        assert_memory_equal(out, v->ciphertext[i].b, v->ciphertext[i].len);
        assert_int_equal(enc->n, n_before + 1);
        assert_int_equal(mim_noise_cipher_decrypt(dec, NULL, 0, out, v->ciphertext[i].len, pl),
                         MIM_OK);
        assert_memory_equal(pl, v->payload[i].b, v->payload[i].len);
    }
    assert_int_equal(rc2.n, 2);
    assert_int_equal(ic1.n, 1);

    /* Decrypting message 5 again (a replay at a newer nonce) must fail and not advance n. */
    assert_int_equal(
        mim_noise_cipher_decrypt(&ic2, NULL, 0, v->ciphertext[5].b, v->ciphertext[5].len, pl),
        MIM_ECRYPTO);
    assert_int_equal(ic2.n, 2);

    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
    free(v);
}

/* ---- 2. the handshake refuses what it must -----------------------------------------------------
 */

static void test_noise_tampered_message2(void **state)
{
    uint8_t msg2[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, plen = 0, i;
    mim_noise ini, resp;

    (void)state;
    start_handshake(&ini, &resp, msg2, &len);
    /* Every single byte matters: e, the encrypted static, the payload and its tag. */
    for (i = 0; i < len; i++) {
        uint8_t bad[MIM_NOISE_MAX_MSG];
        mim_noise copy = ini;

        memcpy(bad, msg2, len);
        bad[i] ^= 0x01;
        assert_int_equal(mim_noise_read(&copy, bad, len, pl, sizeof pl, &plen), MIM_ECRYPTO);
        assert_int_equal(copy.failed, 1);
        /* Dead: even the genuine message is refused now. */
        assert_int_equal(mim_noise_read(&copy, msg2, len, pl, sizeof pl, &plen), MIM_ESTATE);
        assert_int_equal(mim_noise_write(&copy, NULL, 0, bad, sizeof bad, &plen), MIM_ESTATE);
    }
    /* Truncated by one byte: the tag no longer verifies. */
    assert_int_equal(mim_noise_read(&ini, msg2, len - 1, pl, sizeof pl, &plen), MIM_ECRYPTO);
    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
}

static void test_noise_tampered_message3(void **state)
{
    uint8_t msg2[MIM_NOISE_MAX_MSG], msg3[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, len3 = 0, plen = 0;
    mim_noise ini, resp, copy;

    (void)state;
    start_handshake(&ini, &resp, msg2, &len);
    assert_int_equal(mim_noise_read(&ini, msg2, len, pl, sizeof pl, &plen), MIM_OK);
    assert_int_equal(plen, 5);
    assert_memory_equal(pl, "hello", 5);
    assert_int_equal(mim_noise_write(&ini, (const uint8_t *)"id", 2, msg3, sizeof msg3, &len3),
                     MIM_OK);
    assert_int_equal(len3, 48 + 2 + 16);
    assert_true(mim_noise_done(&ini));

    copy = resp;
    msg3[10] ^= 0x80; /* inside the encrypted static key */
    assert_int_equal(mim_noise_read(&copy, msg3, len3, pl, sizeof pl, &plen), MIM_ECRYPTO);
    assert_false(mim_noise_done(&copy));
    msg3[10] ^= 0x80;
    copy = resp;
    msg3[len3 - 1] ^= 0x01; /* the payload tag */
    assert_int_equal(mim_noise_read(&copy, msg3, len3, pl, sizeof pl, &plen), MIM_ECRYPTO);
    msg3[len3 - 1] ^= 0x01;
    /* Too short to hold the encrypted static and a tag. */
    copy = resp;
    assert_int_equal(mim_noise_read(&copy, msg3, 48 + 15, pl, sizeof pl, &plen), MIM_EINVAL);
    /* The genuine message still works on an untouched state. */
    assert_int_equal(mim_noise_read(&resp, msg3, len3, pl, sizeof pl, &plen), MIM_OK);
    assert_int_equal(plen, 2);
    assert_true(mim_noise_done(&resp));
    /* Nothing more to read or write once done. */
    assert_int_equal(mim_noise_read(&resp, msg3, len3, pl, sizeof pl, &plen), MIM_ESTATE);
    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
}

static void test_noise_bad_sizes_and_turns(void **state)
{
    uint8_t msg[MIM_NOISE_MAX_MSG + 64];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, plen = 0;
    mim_noise hs;

    (void)state;
    memset(msg, 0x09, sizeof msg); /* 9 is the X25519 base point: a valid public key */
    memset(pl, 0, sizeof pl);

    /* Message 1 shorter than an ephemeral key. */
    assert_int_equal(mim_noise_init(&hs, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_read(&hs, msg, 31, pl, sizeof pl, &plen), MIM_EINVAL);
    assert_int_equal(mim_noise_read(&hs, msg, 32, pl, sizeof pl, &plen), MIM_ESTATE);
    /* Message 1 over the cap. */
    assert_int_equal(mim_noise_init(&hs, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_read(&hs, msg, MIM_NOISE_MAX_MSG + 1, pl, sizeof pl, &plen),
                     MIM_EINVAL);
    /* A payload larger than the caller's buffer. */
    assert_int_equal(mim_noise_init(&hs, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_read(&hs, msg, 40, pl, 7, &plen), MIM_EOVERFLOW);
    /* Exactly 32 bytes with an empty payload is what mim sends. */
    assert_int_equal(mim_noise_init(&hs, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_read(&hs, msg, 32, pl, sizeof pl, &plen), MIM_OK);
    assert_int_equal(plen, 0);

    /* Out of turn: a responder cannot write first, an initiator cannot read first. */
    assert_int_equal(mim_noise_init(&hs, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_write(&hs, NULL, 0, msg, sizeof msg, &len), MIM_ESTATE);
    assert_int_equal(len, 0);
    assert_int_equal(mim_noise_init(&hs, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_read(&hs, msg, 32, pl, sizeof pl, &plen), MIM_ESTATE);
    /* An initiator cannot write message 1 twice. */
    assert_int_equal(mim_noise_init(&hs, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_write(&hs, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_write(&hs, NULL, 0, msg, sizeof msg, &len), MIM_ESTATE);
    /* Split before the end. */
    assert_int_equal(mim_noise_init(&hs, 1, "p", 1, static_a), MIM_OK);
    {
        mim_noise_cipher c1, c2;
        assert_int_equal(mim_noise_split(&hs, &c1, &c2), MIM_ESTATE);
    }

    /* Output caps: the caller's buffer, then the protocol maximum. */
    assert_int_equal(mim_noise_init(&hs, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_write(&hs, NULL, 0, msg, 31, &len), MIM_EOVERFLOW);
    assert_int_equal(mim_noise_init(&hs, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_write(&hs, pl, MIM_NOISE_MAX_MSG - 31, msg, sizeof msg, &len),
                     MIM_EOVERFLOW);
    assert_int_equal(mim_noise_init(&hs, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_write(&hs, pl, MIM_NOISE_MAX_MSG - 32, msg, sizeof msg, &len),
                     MIM_OK);
    assert_int_equal(len, MIM_NOISE_MAX_MSG);

    /* A wiped state is dead, not a fresh responder. */
    mim_noise_wipe(&hs);
    assert_int_equal(mim_noise_read(&hs, msg, 32, pl, sizeof pl, &plen), MIM_ESTATE);
}

static void test_noise_low_order_points(void **state)
{
    /* Two of the X25519 points of small order: 0 and 1. */
    static const uint8_t one[MIM_KEY_LEN] = {1};
    uint8_t msg[MIM_NOISE_MAX_MSG] = {0};
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, plen = 0;
    mim_noise ini, resp;

    (void)state;
    assert_int_equal(mim_noise_init(&resp, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_read(&resp, msg, 32, pl, sizeof pl, &plen), MIM_ECRYPTO);
    assert_int_equal(mim_noise_write(&resp, NULL, 0, msg, sizeof msg, &len), MIM_ESTATE);

    assert_int_equal(mim_noise_init(&resp, 0, "p", 1, static_b), MIM_OK);
    assert_int_equal(mim_noise_read(&resp, one, 32, pl, sizeof pl, &plen), MIM_ECRYPTO);

    /* A responder answering with a low-order e: the initiator's ee fails. */
    assert_int_equal(mim_noise_init(&ini, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_write(&ini, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    memset(msg, 0, sizeof msg);
    assert_int_equal(mim_noise_read(&ini, msg, 96, pl, sizeof pl, &plen), MIM_ECRYPTO);
    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
}

static void test_noise_reflected_static(void **state)
{
    uint8_t msg[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, plen = 0;
    mim_noise ini, resp;

    (void)state;
    /* Both sides have the same static key: each must refuse the other. */
    assert_int_equal(mim_noise_init(&ini, 1, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_init(&resp, 0, "p", 1, static_a), MIM_OK);
    assert_int_equal(mim_noise_write(&ini, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&resp, msg, len, pl, sizeof pl, &plen), MIM_OK);
    assert_int_equal(mim_noise_write(&resp, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&ini, msg, len, pl, sizeof pl, &plen), MIM_ECRYPTO);
    assert_false(mim_noise_done(&ini));
    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
}

static void test_noise_prologue_mismatch(void **state)
{
    uint8_t msg[MIM_NOISE_MAX_MSG];
    uint8_t pl[MIM_NOISE_MAX_MSG];
    size_t len = 0, plen = 0;
    mim_noise ini, resp;

    (void)state;
    /* A presence handshake can never be taken for a peer handshake. */
    assert_int_equal(
        mim_noise_init(&ini, 1, MIM_NOISE_PROLOGUE_PEER, strlen(MIM_NOISE_PROLOGUE_PEER), static_a),
        MIM_OK);
    assert_int_equal(mim_noise_init(&resp, 0, MIM_NOISE_PROLOGUE_PRESENCE,
                                    strlen(MIM_NOISE_PROLOGUE_PRESENCE), static_b),
                     MIM_OK);
    assert_int_equal(mim_noise_write(&ini, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&resp, msg, len, pl, sizeof pl, &plen), MIM_OK);
    assert_int_equal(mim_noise_write(&resp, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&ini, msg, len, pl, sizeof pl, &plen), MIM_ECRYPTO);
    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
}

/* ---- 3. a full handshake between two identities, then login -----------------------------------
 */

/* Payload of messages 2 and 3 in this test: identity public key || static signature. */
static void check_peer_payload(const uint8_t *pl, size_t plen, const mim_noise *hs,
                               const mim_identity *expected)
{
    assert_int_equal(plen, MIM_KEY_LEN + MIM_SIG_LEN);
    assert_memory_equal(pl, expected->sign_pk, MIM_KEY_LEN);
    assert_memory_equal(mim_noise_remote_static(hs), expected->dh_pk, MIM_KEY_LEN);
    assert_int_equal(mim_static_sig_verify(pl, mim_noise_remote_static(hs), pl + MIM_KEY_LEN),
                     MIM_OK);
}

/* Login: sign("mim-login-v1" || hh || name || port big-endian), checked byte for byte, and
 * refused when any part of it differs. */
static void check_login_signature(const mim_identity *a, const mim_identity *b,
                                  const uint8_t hh[MIM_HASH_LEN])
{
    uint8_t sig[MIM_SIG_LEN], sig2[MIM_SIG_LEN], bad_hh[MIM_HASH_LEN];
    uint8_t login_msg[12 + MIM_HASH_LEN + 5 + 2];

    assert_int_equal(mim_login_sign(a, hh, "alice", 5, 0x1f90, sig), MIM_OK);
    memcpy(login_msg, "mim-login-v1", 12);
    memcpy(login_msg + 12, hh, MIM_HASH_LEN);
    memcpy(login_msg + 12 + MIM_HASH_LEN, "alice", 5);
    login_msg[12 + MIM_HASH_LEN + 5] = 0x1f;
    login_msg[12 + MIM_HASH_LEN + 6] = 0x90;
    assert_int_equal(mim_identity_sign(a, login_msg, sizeof login_msg, sig2), MIM_OK);
    assert_memory_equal(sig, sig2, MIM_SIG_LEN);
    assert_int_equal(mim_sign_verify(a->sign_pk, login_msg, sizeof login_msg, sig), MIM_OK);

    assert_int_equal(mim_login_verify(a->sign_pk, hh, "alice", 5, 0x1f90, sig), MIM_OK);
    assert_int_equal(mim_login_verify(a->sign_pk, hh, "alicf", 5, 0x1f90, sig), MIM_ECRYPTO);
    assert_int_equal(mim_login_verify(a->sign_pk, hh, "alic", 4, 0x1f90, sig), MIM_ECRYPTO);
    assert_int_equal(mim_login_verify(a->sign_pk, hh, "alice", 5, 0x1f91, sig), MIM_ECRYPTO);
    assert_int_equal(mim_login_verify(a->sign_pk, hh, "alice", 5, 0x901f, sig), MIM_ECRYPTO);
    memcpy(bad_hh, hh, MIM_HASH_LEN);
    bad_hh[31] ^= 1;
    assert_int_equal(mim_login_verify(a->sign_pk, bad_hh, "alice", 5, 0x1f90, sig), MIM_ECRYPTO);
    assert_int_equal(mim_login_verify(b->sign_pk, hh, "alice", 5, 0x1f90, sig), MIM_ECRYPTO);
    sig[0] ^= 1;
    assert_int_equal(mim_login_verify(a->sign_pk, hh, "alice", 5, 0x1f90, sig), MIM_ECRYPTO);
    /* An empty name is still a well-defined message. */
    assert_int_equal(mim_login_sign(b, hh, NULL, 0, 1, sig), MIM_OK);
    assert_int_equal(mim_login_verify(b->sign_pk, hh, "", 0, 1, sig), MIM_OK);
    assert_int_equal(mim_login_verify(b->sign_pk, hh, "", 0, 256, sig), MIM_ECRYPTO);
}

/* The Split keys drive one secretstream per direction: k_tx seals, k_rx (the other side's copy)
 * opens. */
static void check_split_keys_drive_streams(const uint8_t k_tx[MIM_KEY_LEN],
                                           const uint8_t k_rx[MIM_KEY_LEN])
{
    uint8_t header[MIM_STREAM_HEADER_LEN], ct[64], pt[64];
    mim_stream_tx tx;
    mim_stream_rx rx;
    size_t mlen = 0;
    int tag = -1;

    assert_int_equal(mim_stream_tx_init(&tx, k_tx, header), MIM_OK);
    assert_int_equal(mim_stream_rx_init(&rx, k_rx, header), MIM_OK);
    assert_int_equal(mim_stream_tx_seal(&tx, (const uint8_t *)"hi", 2, MIM_STREAM_TAG_MESSAGE, ct),
                     MIM_OK);
    assert_int_equal(mim_stream_rx_open(&rx, ct, 2 + MIM_STREAM_ABYTES, pt, &mlen, &tag), MIM_OK);
    assert_int_equal(mlen, 2);
    assert_memory_equal(pt, "hi", 2);
    mim_stream_tx_wipe(&tx);
    mim_stream_rx_wipe(&rx);
}

static void test_handshake_identities_and_login(void **state)
{
    mim_identity *a = mim_identity_generate();
    mim_identity *b = mim_identity_generate();
    uint8_t msg[MIM_NOISE_MAX_MSG], pl[MIM_NOISE_MAX_MSG], mine[MIM_KEY_LEN + MIM_SIG_LEN];
    uint8_t sig[MIM_SIG_LEN], hh[MIM_HASH_LEN];
    uint8_t login_msg[12 + MIM_HASH_LEN + 5 + 2];
    mim_noise_cipher ic1, ic2, rc1, rc2;
    size_t len = 0, plen = 0;
    mim_noise ini, resp;

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_not_equal(a->sign_pk, b->sign_pk, MIM_KEY_LEN);
    assert_memory_not_equal(a->dh_pk, b->dh_pk, MIM_KEY_LEN);

    /* The static signature is exactly sign("mim-static-v1" || dh_pk). */
    memcpy(login_msg, "mim-static-v1", 13);
    memcpy(login_msg + 13, a->dh_pk, MIM_KEY_LEN);
    assert_int_equal(mim_identity_sign(a, login_msg, 13 + MIM_KEY_LEN, sig), MIM_OK);
    assert_memory_equal(sig, a->static_sig, MIM_SIG_LEN);
    assert_int_equal(mim_static_sig_verify(a->sign_pk, a->dh_pk, a->static_sig), MIM_OK);
    assert_int_equal(mim_static_sig_verify(b->sign_pk, a->dh_pk, a->static_sig), MIM_ECRYPTO);
    assert_int_equal(mim_static_sig_verify(a->sign_pk, b->dh_pk, a->static_sig), MIM_ECRYPTO);

    assert_int_equal(mim_noise_init(&ini, 1, MIM_NOISE_PROLOGUE_PRESENCE,
                                    strlen(MIM_NOISE_PROLOGUE_PRESENCE), a->dh_sk),
                     MIM_OK);
    assert_int_equal(mim_noise_init(&resp, 0, MIM_NOISE_PROLOGUE_PRESENCE,
                                    strlen(MIM_NOISE_PROLOGUE_PRESENCE), b->dh_sk),
                     MIM_OK);
    assert_int_equal(mim_noise_write(&ini, NULL, 0, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&resp, msg, len, pl, sizeof pl, &plen), MIM_OK);

    memcpy(mine, b->sign_pk, MIM_KEY_LEN);
    memcpy(mine + MIM_KEY_LEN, b->static_sig, MIM_SIG_LEN);
    assert_int_equal(mim_noise_write(&resp, mine, sizeof mine, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&ini, msg, len, pl, sizeof pl, &plen), MIM_OK);
    check_peer_payload(pl, plen, &ini, b);

    memcpy(mine, a->sign_pk, MIM_KEY_LEN);
    memcpy(mine + MIM_KEY_LEN, a->static_sig, MIM_SIG_LEN);
    assert_int_equal(mim_noise_write(&ini, mine, sizeof mine, msg, sizeof msg, &len), MIM_OK);
    assert_int_equal(mim_noise_read(&resp, msg, len, pl, sizeof pl, &plen), MIM_OK);
    check_peer_payload(pl, plen, &resp, a);

    assert_true(mim_noise_done(&ini));
    assert_true(mim_noise_done(&resp));
    memcpy(hh, mim_noise_handshake_hash(&ini), MIM_HASH_LEN);
    assert_memory_equal(hh, mim_noise_handshake_hash(&resp), MIM_HASH_LEN);
    assert_int_equal(mim_noise_split(&ini, &ic1, &ic2), MIM_OK);
    assert_int_equal(mim_noise_split(&resp, &rc1, &rc2), MIM_OK);
    assert_memory_equal(ic1.k, rc1.k, MIM_KEY_LEN);
    assert_memory_equal(ic2.k, rc2.k, MIM_KEY_LEN);
    /* The handshake hash survives Split for the login signature. */
    assert_memory_equal(hh, mim_noise_handshake_hash(&ini), MIM_HASH_LEN);

    check_login_signature(a, b, hh);
    check_split_keys_drive_streams(ic1.k, rc1.k);

    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
    mim_identity_free(a);
    mim_identity_free(b);
    mim_identity_free(NULL);
}

/* ---- 4. secretstream transport --------------------------------------------------------------- */

typedef struct stream_pair {
    mim_stream_tx tx;
    mim_stream_rx rx;
} stream_pair;

static void stream_pair_init(stream_pair *p)
{
    uint8_t key[MIM_KEY_LEN], header[MIM_STREAM_HEADER_LEN];

    mim_random_bytes(key, sizeof key);
    assert_int_equal(mim_stream_tx_init(&p->tx, key, header), MIM_OK);
    assert_int_equal(mim_stream_rx_init(&p->rx, key, header), MIM_OK);
    mim_wipe(key, sizeof key);
}

static void seal(stream_pair *p, const char *text, int tag, uint8_t *out, size_t *clen)
{
    size_t n = strlen(text);

    assert_int_equal(mim_stream_tx_seal(&p->tx, (const uint8_t *)text, n, tag, out), MIM_OK);
    *clen = n + MIM_STREAM_ABYTES;
}

static void test_stream_roundtrip(void **state)
{
    static const char *const texts[] = {"", "a", "hello, world", "the fourth message",
                                        "and a fifth"};
    uint8_t ct[128], pt[128];
    size_t clen = 0, mlen = 0, i;
    stream_pair p;
    int tag = -1;

    (void)state;
    stream_pair_init(&p);
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        seal(&p, texts[i], MIM_STREAM_TAG_MESSAGE, ct, &clen);
        assert_int_equal(clen, strlen(texts[i]) + 17);
        assert_int_equal(mim_stream_rx_open(&p.rx, ct, clen, pt, &mlen, &tag), MIM_OK);
        assert_int_equal(mlen, strlen(texts[i]));
        assert_memory_equal(pt, texts[i], mlen);
        assert_int_equal(tag, MIM_STREAM_TAG_MESSAGE);
    }
    /* The same plaintext twice gives different ciphertexts (the nonce moves on). */
    {
        uint8_t ct2[128];
        size_t clen2 = 0;

        seal(&p, "same", MIM_STREAM_TAG_MESSAGE, ct, &clen);
        seal(&p, "same", MIM_STREAM_TAG_MESSAGE, ct2, &clen2);
        assert_memory_not_equal(ct, ct2, clen);
    }
    /* Tags other than MESSAGE and FINAL are not the caller's to choose. */
    assert_int_equal(mim_stream_tx_seal(&p.tx, pt, 1, MIM_STREAM_TAG_REKEY, ct), MIM_EINVAL);
    assert_int_equal(mim_stream_tx_seal(&p.tx, pt, 1, 1, ct), MIM_EINVAL);
    mim_stream_tx_wipe(&p.tx);
    mim_stream_rx_wipe(&p.rx);
}

static void test_stream_tamper_reorder_replay(void **state)
{
    uint8_t c1[64], c2[64], pt[64];
    size_t l1 = 0, l2 = 0, mlen = 0, i;
    stream_pair p;
    int tag = -1;

    (void)state;
    /* Any flipped bit kills the stream, and the genuine frame is then refused too. */
    stream_pair_init(&p);
    seal(&p, "message one", MIM_STREAM_TAG_MESSAGE, c1, &l1);
    for (i = 0; i < l1; i++) {
        mim_stream_rx copy = p.rx;
        c1[i] ^= 0x20;
        assert_int_equal(mim_stream_rx_open(&copy, c1, l1, pt, &mlen, &tag), MIM_ECRYPTO);
        c1[i] ^= 0x20;
        assert_int_equal(mim_stream_rx_open(&copy, c1, l1, pt, &mlen, &tag), MIM_ECRYPTO);
    }
    {
        mim_stream_rx copy = p.rx;
        assert_int_equal(mim_stream_rx_open(&copy, c1, l1 - 1, pt, &mlen, &tag), MIM_ECRYPTO);
        copy = p.rx;
        assert_int_equal(mim_stream_rx_open(&copy, c1, MIM_STREAM_ABYTES - 1, pt, &mlen, &tag),
                         MIM_ECRYPTO);
        assert_int_equal(mim_stream_rx_open(&copy, c1, l1, pt, &mlen, &tag), MIM_ECRYPTO);
    }

    /* A dropped message: the second arrives first. */
    seal(&p, "message two", MIM_STREAM_TAG_MESSAGE, c2, &l2);
    {
        mim_stream_rx copy = p.rx;
        assert_int_equal(mim_stream_rx_open(&copy, c2, l2, pt, &mlen, &tag), MIM_ECRYPTO);
    }
    /* A replay: the first message twice. */
    assert_int_equal(mim_stream_rx_open(&p.rx, c1, l1, pt, &mlen, &tag), MIM_OK);
    assert_memory_equal(pt, "message one", mlen);
    {
        mim_stream_rx copy = p.rx;
        assert_int_equal(mim_stream_rx_open(&copy, c1, l1, pt, &mlen, &tag), MIM_ECRYPTO);
    }
    assert_int_equal(mim_stream_rx_open(&p.rx, c2, l2, pt, &mlen, &tag), MIM_OK);
    assert_memory_equal(pt, "message two", mlen);

    /* The wrong key never opens anything. */
    {
        uint8_t key[MIM_KEY_LEN], header[MIM_STREAM_HEADER_LEN];
        mim_stream_rx other;

        mim_random_bytes(key, sizeof key);
        seal(&p, "three", MIM_STREAM_TAG_MESSAGE, c1, &l1);
        memset(header, 0, sizeof header);
        assert_int_equal(mim_stream_rx_init(&other, key, header), MIM_OK);
        assert_int_equal(mim_stream_rx_open(&other, c1, l1, pt, &mlen, &tag), MIM_ECRYPTO);
    }
    mim_stream_tx_wipe(&p.tx);
    mim_stream_rx_wipe(&p.rx);
}

static void test_stream_final(void **state)
{
    uint8_t c1[64], c2[64], pt[64];
    size_t l1 = 0, l2 = 0, mlen = 0;
    stream_pair p;
    int tag = -1;

    (void)state;
    stream_pair_init(&p);
    seal(&p, "bye", MIM_STREAM_TAG_FINAL, c1, &l1);
    seal(&p, "after", MIM_STREAM_TAG_MESSAGE, c2, &l2);
    assert_int_equal(mim_stream_rx_open(&p.rx, c1, l1, pt, &mlen, &tag), MIM_OK);
    assert_int_equal(tag, MIM_STREAM_TAG_FINAL);
    assert_int_equal(mlen, 3);
    assert_memory_equal(pt, "bye", 3);
    assert_int_equal(p.rx.finished, 1);
    /* Nothing after FINAL, not even a validly sealed message. */
    assert_int_equal(mim_stream_rx_open(&p.rx, c2, l2, pt, &mlen, &tag), MIM_ECRYPTO);
    mim_stream_tx_wipe(&p.tx);
    mim_stream_rx_wipe(&p.rx);
}

static void test_stream_rekey(void **state)
{
    const size_t total = 2 * MIM_STREAM_REKEY_EVERY + 10;
    uint8_t ct[32], pt[32], m[8];
    size_t i, mlen = 0, rekeys = 0;
    stream_pair p;
    int tag = -1;

    (void)state;
    stream_pair_init(&p);
    for (i = 0; i < total; i++) {
        m[0] = (uint8_t)i;
        m[1] = (uint8_t)(i >> 8);
        assert_int_equal(mim_stream_tx_seal(&p.tx, m, 2, MIM_STREAM_TAG_MESSAGE, ct), MIM_OK);
        assert_int_equal(mim_stream_rx_open(&p.rx, ct, 2 + MIM_STREAM_ABYTES, pt, &mlen, &tag),
                         MIM_OK);
        assert_int_equal(mlen, 2);
        assert_memory_equal(pt, m, 2);
        /* Every REKEY_EVERY-th message (index 4095, 8191, ...) carries the rekey. */
        if ((i + 1) % MIM_STREAM_REKEY_EVERY == 0) {
            assert_int_equal(tag, MIM_STREAM_TAG_REKEY);
            rekeys++;
        } else {
            assert_int_equal(tag, MIM_STREAM_TAG_MESSAGE);
        }
    }
    assert_int_equal(rekeys, 2);
    assert_int_equal(p.tx.count, 10);
    mim_stream_tx_wipe(&p.tx);
    mim_stream_rx_wipe(&p.rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_kat),
        cmocka_unit_test(test_noise_tampered_message2),
        cmocka_unit_test(test_noise_tampered_message3),
        cmocka_unit_test(test_noise_bad_sizes_and_turns),
        cmocka_unit_test(test_noise_low_order_points),
        cmocka_unit_test(test_noise_reflected_static),
        cmocka_unit_test(test_noise_prologue_mismatch),
        cmocka_unit_test(test_handshake_identities_and_login),
        cmocka_unit_test(test_stream_roundtrip),
        cmocka_unit_test(test_stream_tamper_reorder_replay),
        cmocka_unit_test(test_stream_final),
        cmocka_unit_test(test_stream_rekey),
    };

    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
