/* Unit tests for the sealed letter (issue 14): shared/mim_seal.c (seal, open, verify, the size
 * buckets) and shared/mim_codec_letter.c (the MailLetter codec), with a known-answer vector
 * (tests/vectors/mim_mail_seal_v1.json): the signed, padded plaintext byte for byte, and a blob
 * sealed once that must still open (crypto_box_seal is randomised, so only its open side can be
 * fixed).
 *
 * Like the rest of mim, this file does not include libsodium's header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"
#include "fixed_identity.h"

#include "protocol_doc.h"

#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"

#include <fcntl.h>

#define SEAL_VECTOR    MIM_REPO_VECTORS "/mim_mail_seal_v1.json"
#define SEAL_V2_VECTOR MIM_REPO_VECTORS "/mim_mail_seal_v2.json"

typedef struct seal_fixture {
    mim_identity *alice, *bob, *carol;
} seal_fixture;

static int setup(void **state)
{
    seal_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    f->alice = fixed_identity(0x01, 0x11);
    f->bob = fixed_identity(0x02, 0x12);
    f->carol = fixed_identity(0x03, 0x13);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    seal_fixture *f = *state;

    mim_identity_free(f->alice);
    mim_identity_free(f->bob);
    mim_identity_free(f->carol);
    free(f);
    return 0;
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* A chat letter from `from` to `to` with text, encoded into out. */
static void chat_letter(const mim_identity *from, const char *from_name, const mim_identity *to,
                        const char *to_name, const char *text, mim_buf *out)
{
    Mim__MailLetter l = MIM__MAIL_LETTER__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    uint8_t id[16];

    memset(id, 0x5a, sizeof(id));
    l.from = (char *)from_name;
    l.from_pk.data = (uint8_t *)from->sign_pk;
    l.from_pk.len = MIM_KEY_LEN;
    l.to = (char *)to_name;
    l.to_pk.data = (uint8_t *)to->sign_pk;
    l.to_pk.len = MIM_KEY_LEN;
    c.id.data = id;
    c.id.len = sizeof(id);
    c.ts_ms = 1764633600000ull;
    c.sender = (char *)from_name;
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = (char *)text;
    l.body_case = MIM__MAIL_LETTER__BODY_CHAT;
    l.chat = &c;
    mim_buf_init(out);
    EXPECT_INT(mim_letter_encode(&l, out), 0);
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (; hex[0] != '\0' && hex[0] != '"'; hex += 2) {
        unsigned v;
        assert_true(n < cap);
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* The hex string value of "key" in the vector file's text, decoded into out. */
static size_t vector_hex(const char *text, const char *key, uint8_t *out, size_t cap)
{
    char quoted[64];
    const char *p;

    snprintf(quoted, sizeof(quoted), "\"%s\": \"", key);
    if ((p = strstr(text, quoted)) == NULL)
        fail_msg("the vector file has no %s", quoted);
    return hex_decode(p + strlen(quoted), out, cap);
}

/* ---- the seal -------------------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    seal_fixture *f = *state;
    uint8_t blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX], sig[MIM_SIG_LEN];
    size_t blob_len = 0, opened_len = 0;
    mim_buf letter;

    chat_letter(f->alice, "alice", f->bob, "bob", "hello bob", &letter);
    EXPECT_INT(
        mim_seal(f->alice, f->bob->sign_pk, letter.data, letter.len, blob, sizeof(blob), &blob_len),
        0);
    EXPECT_INT(blob_len, 512);
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig), 0);
    EXPECT_INT(opened_len, letter.len);
    assert_memory_equal(opened, letter.data, letter.len);
    EXPECT_INT(mim_seal_verify(f->alice->sign_pk, f->bob->sign_pk, opened, opened_len, sig), 0);
    mim_buf_free(&letter);
}

/* Every byte of the blob is covered: the ephemeral key, the ciphertext, the MAC. */
static void test_tampered_refused(void **state)
{
    seal_fixture *f = *state;
    uint8_t blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX], sig[MIM_SIG_LEN];
    size_t blob_len = 0, opened_len = 0;
    size_t where[] = {0, 31, 32, 47, 48, 200, 511};
    mim_buf letter;

    chat_letter(f->alice, "alice", f->bob, "bob", "hello bob", &letter);
    EXPECT_INT(
        mim_seal(f->alice, f->bob->sign_pk, letter.data, letter.len, blob, sizeof(blob), &blob_len),
        0);
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        blob[where[i]] ^= 0x01;
        EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig),
                   MIM_ECRYPTO);
        blob[where[i]] ^= 0x01;
    }
    /* Cut or grown: no bucket any more. */
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len - 1, opened, sizeof(opened), &opened_len, sig),
               MIM_EINVAL);
    EXPECT_INT(mim_seal_open(f->bob, blob, 0, opened, sizeof(opened), &opened_len, sig),
               MIM_EINVAL);
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig), 0);
    mim_buf_free(&letter);
}

static void test_wrong_recipient_refused(void **state)
{
    seal_fixture *f = *state;
    uint8_t blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX], sig[MIM_SIG_LEN];
    size_t blob_len = 0, opened_len = 0;
    mim_buf letter;

    chat_letter(f->alice, "alice", f->bob, "bob", "for bob only", &letter);
    EXPECT_INT(
        mim_seal(f->alice, f->bob->sign_pk, letter.data, letter.len, blob, sizeof(blob), &blob_len),
        0);
    EXPECT_INT(mim_seal_open(f->carol, blob, blob_len, opened, sizeof(opened), &opened_len, sig),
               MIM_ECRYPTO);
    EXPECT_INT(mim_seal_open(f->alice, blob, blob_len, opened, sizeof(opened), &opened_len, sig),
               MIM_ECRYPTO);
    /* bob re-seals alice's letter to carol: it opens, but alice's signature names bob. */
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig), 0);
    EXPECT_INT(mim_seal_verify(f->alice->sign_pk, f->carol->sign_pk, opened, opened_len, sig),
               MIM_ECRYPTO);
    mim_buf_free(&letter);
}

static void test_wrong_signer_refused(void **state)
{
    seal_fixture *f = *state;
    uint8_t blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX], sig[MIM_SIG_LEN];
    size_t blob_len = 0, opened_len = 0;
    mim_buf letter;

    /* carol writes a letter that claims to be alice's: it opens, the signature is carol's. */
    chat_letter(f->alice, "alice", f->bob, "bob", "I am alice, honest", &letter);
    EXPECT_INT(
        mim_seal(f->carol, f->bob->sign_pk, letter.data, letter.len, blob, sizeof(blob), &blob_len),
        0);
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig), 0);
    EXPECT_INT(mim_seal_verify(f->alice->sign_pk, f->bob->sign_pk, opened, opened_len, sig),
               MIM_ECRYPTO);
    EXPECT_INT(mim_seal_verify(f->carol->sign_pk, f->bob->sign_pk, opened, opened_len, sig), 0);
    opened[3] ^= 0x20; /* one letter byte changed after signing */
    EXPECT_INT(mim_seal_verify(f->carol->sign_pk, f->bob->sign_pk, opened, opened_len, sig),
               MIM_ECRYPTO);
    mim_buf_free(&letter);
}

/* Each letter length lands in the smallest bucket that holds it with its signature and one
 * padding byte; the blob is exactly the bucket; past the largest, nothing is sealed. */
static void test_padding_buckets(void **state)
{
    seal_fixture *f = *state;
    static const size_t buckets[] = MIM_SEAL_BUCKETS;
    static uint8_t letter[MIM_SEAL_BLOB_MAX], blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX];
    uint8_t sig[MIM_SIG_LEN];
    size_t blob_len, opened_len, prev = 0;

    mim_test_fill(letter, sizeof(letter), 7);
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
        size_t fits = buckets[i] - MIM_SEAL_OVERHEAD - MIM_SIG_LEN - 1;
        size_t lens[] = {prev, fits}; /* the first and the last length of this bucket */
        for (size_t j = 0; j < 2; j++) {
            EXPECT_INT(mim_seal_blob_size(lens[j]), buckets[i]);
            EXPECT_INT(
                mim_seal(f->alice, f->bob->sign_pk, letter, lens[j], blob, sizeof(blob), &blob_len),
                0);
            EXPECT_INT(blob_len, buckets[i]);
            EXPECT_INT(
                mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig), 0);
            EXPECT_INT(opened_len, lens[j]);
            assert_true(mim_test_matches(opened, opened_len, 7));
        }
        prev = fits + 1;
    }
    EXPECT_INT(prev - 1, MIM_SEAL_LETTER_MAX);
    EXPECT_INT(mim_seal_blob_size(MIM_SEAL_LETTER_MAX + 1), 0);
    EXPECT_INT(mim_seal(f->alice, f->bob->sign_pk, letter, MIM_SEAL_LETTER_MAX + 1, blob,
                        sizeof(blob), &blob_len),
               MIM_EINVAL);
    EXPECT_INT(mim_seal(f->alice, f->bob->sign_pk, letter, 10, blob, 511, &blob_len),
               MIM_EOVERFLOW);
}

/* The vector: the signed, padded plaintext byte for byte, and a stored blob that opens. */
static void test_known_answer(void **state)
{
    seal_fixture *f = *state;
    char *text = mim_test_read_file(SEAL_VECTOR);
    static uint8_t letter[MIM_SEAL_BLOB_MAX], inner[MIM_SEAL_BLOB_MAX], blob[MIM_SEAL_BLOB_MAX];
    static uint8_t mine[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX];
    uint8_t pk[MIM_KEY_LEN], sig[MIM_SIG_LEN];
    size_t letter_len, inner_len, blob_len, mine_len = 0, opened_len = 0;

    EXPECT_INT(vector_hex(text, "sender_pk", pk, sizeof(pk)), MIM_KEY_LEN);
    assert_memory_equal(pk, f->alice->sign_pk, MIM_KEY_LEN);
    EXPECT_INT(vector_hex(text, "recipient_pk", pk, sizeof(pk)), MIM_KEY_LEN);
    assert_memory_equal(pk, f->bob->sign_pk, MIM_KEY_LEN);
    letter_len = vector_hex(text, "letter", letter, sizeof(letter));
    inner_len = vector_hex(text, "inner", inner, sizeof(inner));
    blob_len = vector_hex(text, "blob", blob, sizeof(blob));
    EXPECT_INT(inner_len, 512 - MIM_SEAL_OVERHEAD);
    EXPECT_INT(blob_len, 512);
    /* Our signer writes the vector's plaintext, byte for byte. */
    EXPECT_INT(mim_seal_inner(f->alice, f->bob->sign_pk, letter, letter_len, mine, sizeof(mine),
                              &mine_len),
               0);
    EXPECT_INT(mine_len, inner_len);
    assert_memory_equal(mine, inner, inner_len);
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig), 0);
    EXPECT_INT(opened_len, letter_len);
    assert_memory_equal(opened, letter, letter_len);
    assert_memory_equal(sig, inner + letter_len, MIM_SIG_LEN);
    EXPECT_INT(mim_seal_verify(f->alice->sign_pk, f->bob->sign_pk, opened, opened_len, sig), 0);
    free(text);
}

/* docs/PROTOCOL.md 14.13 shows the vector's letter byte for byte. */
static void test_protocol_doc_letter(void **state)
{
    char *doc = read_doc(), *hex = doc_block_hex(doc, "mail_letter");
    char *vec = mim_test_read_file(SEAL_VECTOR);
    static uint8_t letter[MIM_SEAL_BLOB_MAX], shown[MIM_SEAL_BLOB_MAX];
    size_t letter_len = vector_hex(vec, "letter", letter, sizeof(letter));
    size_t shown_len = hex_decode(hex, shown, sizeof(shown));

    (void)state;
    EXPECT_INT(shown_len, letter_len);
    assert_memory_equal(shown, letter, letter_len);
    EXPECT_INT(letter_len, 142);
    free(doc);
    free(hex);
    free(vec);
}

/* ---- the sealed letter, v2 (mim-mail-v2) ---------------------------------------------------- */

/* The pair-key caches of alice and bob (and carol), for one test. */
typedef struct v2_keys {
    mim_mail_keys *alice, *bob, *carol;
} v2_keys;

static void v2_keys_new(const seal_fixture *f, v2_keys *k)
{
    EXPECT_INT(mim_mail_keys_new(f->alice, &k->alice), 0);
    EXPECT_INT(mim_mail_keys_new(f->bob, &k->bob), 0);
    EXPECT_INT(mim_mail_keys_new(f->carol, &k->carol), 0);
}

static void v2_keys_free(v2_keys *k)
{
    mim_mail_keys_free(k->alice);
    mim_mail_keys_free(k->bob);
    mim_mail_keys_free(k->carol);
}

/* The vector, made apart from libsodium (make_mim_mail_seal_v2.py): alice's sealer writes its
 * blob byte for byte from its letter and nonce, bob's opener gets the letter back; neither
 * version opens as the other. */
static void test_v2_known_answer(void **state)
{
    seal_fixture *f = *state;
    char *text = mim_test_read_file(SEAL_V2_VECTOR);
    static uint8_t letter[MIM_SEAL_BLOB_MAX], blob[MIM_SEAL_BLOB_MAX], mine[MIM_SEAL_BLOB_MAX];
    static uint8_t opened[MIM_SEAL_BLOB_MAX];
    uint8_t nonce[MIM_SEAL2_NONCE_LEN], pk[MIM_KEY_LEN], sig[MIM_SIG_LEN];
    size_t letter_len, blob_len, mine_len = 0, opened_len = 0;
    v2_keys k;

    v2_keys_new(f, &k);
    EXPECT_INT(vector_hex(text, "sender_pk", pk, sizeof(pk)), MIM_KEY_LEN);
    assert_memory_equal(pk, f->alice->sign_pk, MIM_KEY_LEN);
    EXPECT_INT(vector_hex(text, "recipient_pk", pk, sizeof(pk)), MIM_KEY_LEN);
    assert_memory_equal(pk, f->bob->sign_pk, MIM_KEY_LEN);
    EXPECT_INT(vector_hex(text, "nonce", nonce, sizeof(nonce)), MIM_SEAL2_NONCE_LEN);
    letter_len = vector_hex(text, "letter", letter, sizeof(letter));
    blob_len = vector_hex(text, "blob", blob, sizeof(blob));
    EXPECT_INT(blob_len, 512);
    EXPECT_INT(mim_seal2_with_nonce(k.alice, f->bob->sign_pk, nonce, letter, letter_len, mine,
                                    sizeof(mine), &mine_len),
               0);
    EXPECT_INT(mine_len, blob_len);
    assert_memory_equal(mine, blob, blob_len);
    EXPECT_INT(mim_seal2_open(k.bob, f->alice->sign_pk, blob, blob_len, opened, sizeof(opened),
                              &opened_len),
               0);
    EXPECT_INT(opened_len, letter_len);
    assert_memory_equal(opened, letter, letter_len);
    EXPECT_INT(mim_seal_open(f->bob, blob, blob_len, opened, sizeof(opened), &opened_len, sig),
               MIM_ECRYPTO);
    free(text);
    /* A v1 blob does not open as v2 (the recipient then tries v1). */
    text = mim_test_read_file(SEAL_VECTOR);
    blob_len = vector_hex(text, "blob", blob, sizeof(blob));
    EXPECT_INT(mim_seal2_open(k.bob, f->alice->sign_pk, blob, blob_len, opened, sizeof(opened),
                              &opened_len),
               MIM_ECRYPTO);
    free(text);
    v2_keys_free(&k);
}

/* docs/PROTOCOL.md 14.13 shows the v2 vector's pair key and the blob's first 40 bytes. */
static void test_v2_protocol_doc(void **state)
{
    char *doc = read_doc(), *vec = mim_test_read_file(SEAL_V2_VECTOR);
    char *key_hex = doc_block_hex(doc, "mail_v2_pair_key");
    char *head_hex = doc_block_hex(doc, "mail_v2_head");
    static uint8_t blob[MIM_SEAL_BLOB_MAX], shown[MIM_SEAL_BLOB_MAX];
    uint8_t key[MIM_KEY_LEN];

    (void)state;
    EXPECT_INT(vector_hex(vec, "pair_key", key, sizeof(key)), MIM_KEY_LEN);
    EXPECT_INT(hex_decode(key_hex, shown, sizeof(shown)), MIM_KEY_LEN);
    assert_memory_equal(shown, key, MIM_KEY_LEN);
    EXPECT_INT(vector_hex(vec, "blob", blob, sizeof(blob)), 512);
    EXPECT_INT(hex_decode(head_hex, shown, sizeof(shown)), MIM_SEAL2_OVERHEAD);
    assert_memory_equal(shown, blob, MIM_SEAL2_OVERHEAD);
    free(doc);
    free(vec);
    free(key_hex);
    free(head_hex);
}

/* Only the pair opens a v2 letter: any changed byte, another recipient, or another claimed
 * sender fails; either member of the pair could have made it (the deniability SECURITY.md
 * states), so the letter's own from/to are what the peer checks next. */
static void test_v2_pair_only(void **state)
{
    seal_fixture *f = *state;
    uint8_t blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX];
    size_t blob_len = 0, opened_len = 0, where[] = {0, 23, 24, 39, 40, 200, 511};
    mim_buf letter;
    v2_keys k;

    v2_keys_new(f, &k);
    chat_letter(f->alice, "alice", f->bob, "bob", "hello bob", &letter);
    EXPECT_INT(
        mim_seal2(k.alice, f->bob->sign_pk, letter.data, letter.len, blob, sizeof(blob), &blob_len),
        0);
    EXPECT_INT(blob_len, 512);
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        blob[where[i]] ^= 0x01;
        EXPECT_INT(mim_seal2_open(k.bob, f->alice->sign_pk, blob, blob_len, opened, sizeof(opened),
                                  &opened_len),
                   MIM_ECRYPTO);
        blob[where[i]] ^= 0x01;
    }
    EXPECT_INT(mim_seal2_open(k.bob, f->alice->sign_pk, blob, blob_len - 1, opened, sizeof(opened),
                              &opened_len),
               MIM_EINVAL);
    EXPECT_INT(mim_seal2_open(k.carol, f->alice->sign_pk, blob, blob_len, opened, sizeof(opened),
                              &opened_len),
               MIM_ECRYPTO); /* not carol's */
    EXPECT_INT(mim_seal2_open(k.bob, f->carol->sign_pk, blob, blob_len, opened, sizeof(opened),
                              &opened_len),
               MIM_ECRYPTO); /* not from carol */
    EXPECT_INT(mim_seal2_open(k.alice, f->bob->sign_pk, blob, blob_len, opened, sizeof(opened),
                              &opened_len),
               0); /* the pair's key: alice opens her own letter too */
    EXPECT_INT(mim_seal2_open(k.bob, f->alice->sign_pk, blob, blob_len, opened, sizeof(opened),
                              &opened_len),
               0);
    EXPECT_INT(opened_len, letter.len);
    assert_memory_equal(opened, letter.data, letter.len);
    /* Two seals of one letter differ (fresh nonces). */
    EXPECT_INT(mim_seal2(k.alice, f->bob->sign_pk, letter.data, letter.len, opened, sizeof(opened),
                         &opened_len),
               0);
    assert_memory_not_equal(opened, blob, blob_len);
    mim_buf_free(&letter);
    v2_keys_free(&k);
}

/* Each letter length lands in the smallest bucket holding it and one padding byte; past the
 * largest nothing is sealed; a key that is no valid point is refused. */
static void test_v2_buckets(void **state)
{
    seal_fixture *f = *state;
    static const size_t buckets[] = MIM_SEAL_BUCKETS;
    static uint8_t letter[MIM_SEAL_BLOB_MAX], blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX];
    const uint8_t small_order[MIM_KEY_LEN] = {1}; /* the neutral point */
    size_t blob_len, opened_len, prev = 0;
    v2_keys k;

    v2_keys_new(f, &k);
    mim_test_fill(letter, sizeof(letter), 9);
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
        size_t fits = buckets[i] - MIM_SEAL2_OVERHEAD - 1;
        size_t lens[] = {prev, fits};
        for (size_t j = 0; j < 2; j++) {
            EXPECT_INT(mim_seal2_blob_size(lens[j]), buckets[i]);
            EXPECT_INT(
                mim_seal2(k.alice, f->bob->sign_pk, letter, lens[j], blob, sizeof(blob), &blob_len),
                0);
            EXPECT_INT(blob_len, buckets[i]);
            EXPECT_INT(mim_seal2_open(k.bob, f->alice->sign_pk, blob, blob_len, opened,
                                      sizeof(opened), &opened_len),
                       0);
            EXPECT_INT(opened_len, lens[j]);
            assert_true(mim_test_matches(opened, opened_len, 9));
        }
        prev = fits + 1;
    }
    EXPECT_INT(prev - 1, MIM_SEAL2_LETTER_MAX);
    EXPECT_INT(mim_seal2_blob_size(MIM_SEAL2_LETTER_MAX + 1), 0);
    EXPECT_INT(mim_seal2(k.alice, f->bob->sign_pk, letter, MIM_SEAL2_LETTER_MAX + 1, blob,
                         sizeof(blob), &blob_len),
               MIM_EINVAL);
    EXPECT_INT(mim_seal2(k.alice, f->bob->sign_pk, letter, 10, blob, 511, &blob_len),
               MIM_EOVERFLOW);
    EXPECT_INT(mim_seal2(k.alice, small_order, letter, 10, blob, sizeof(blob), &blob_len),
               MIM_ECRYPTO);
    v2_keys_free(&k);
}

/* More peers than the cache holds: the least recently used key is dropped and derived again
 * when needed, with the same result. */
static void test_v2_cache_eviction(void **state)
{
    seal_fixture *f = *state;
    mim_identity *peers[MIM_MAIL_KEYS_MAX + 1];
    uint8_t blob[MIM_SEAL_BLOB_MAX], opened[MIM_SEAL_BLOB_MAX];
    const uint8_t text[] = "evicted and back";
    size_t blob_len = 0, opened_len = 0;
    mim_mail_keys *first = NULL;
    v2_keys k;

    v2_keys_new(f, &k);
    EXPECT_INT(
        mim_seal2(k.alice, f->bob->sign_pk, text, sizeof(text), blob, sizeof(blob), &blob_len), 0);
    for (size_t i = 0; i < MIM_MAIL_KEYS_MAX + 1; i++) {
        uint8_t other[MIM_SEAL_BLOB_MAX];
        size_t other_len;
        assert_non_null(peers[i] = mim_identity_generate());
        EXPECT_INT(mim_seal2(k.alice, peers[i]->sign_pk, text, sizeof(text), other, sizeof(other),
                             &other_len),
                   0);
        if (i == 0) {
            EXPECT_INT(mim_mail_keys_new(peers[0], &first), 0);
            EXPECT_INT(mim_seal2_open(first, f->alice->sign_pk, other, other_len, opened,
                                      sizeof(opened), &opened_len),
                       0);
        }
    }
    /* bob's key was the least recently used: gone, derived again, the same. */
    EXPECT_INT(mim_seal2(k.alice, f->bob->sign_pk, text, sizeof(text), opened, sizeof(opened),
                         &opened_len),
               0);
    EXPECT_INT(
        mim_seal2_open(k.bob, f->alice->sign_pk, opened, opened_len, blob, sizeof(blob), &blob_len),
        0);
    assert_memory_equal(blob, text, sizeof(text));
    mim_mail_keys_free(first);
    for (size_t i = 0; i < MIM_MAIL_KEYS_MAX + 1; i++)
        mim_identity_free(peers[i]);
    v2_keys_free(&k);
}

/* ---- the letter's codec ---------------------------------------------------------------------- */

static void test_letter_codec(void **state)
{
    seal_fixture *f = *state;
    Mim__MailLetter *l = NULL;
    char err[160] = "";
    mim_buf b;

    chat_letter(f->alice, "alice", f->bob, "bob", "hello", &b);
    EXPECT_INT(mim_letter_decode(b.data, b.len, &l, err, sizeof(err)), 0);
    assert_string_equal(l->from, "alice");
    assert_string_equal(l->to, "bob");
    assert_memory_equal(l->from_pk.data, f->alice->sign_pk, MIM_KEY_LEN);
    EXPECT_INT(l->body_case, MIM__MAIL_LETTER__BODY_CHAT);
    assert_string_equal(l->chat->text, "hello");
    mim_letter_free(l);
    /* Cut by one byte: does not parse, or is not canonical. */
    EXPECT_INT(mim_letter_decode(b.data, b.len - 1, &l, err, sizeof(err)), MIM_EDECODE);
    assert_null(l);
    mim_buf_free(&b);
}

/* A letter that decodes, changed by `change`, must be refused with a reason naming `why`. */
static void expect_letter_refused(const seal_fixture *f, void (*change)(Mim__MailLetter *),
                                  const char *why)
{
    Mim__MailLetter l = MIM__MAIL_LETTER__INIT, *out = (Mim__MailLetter *)&l;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    uint8_t id[16] = {1};
    char err[160] = "";
    mim_buf b = {0};

    l.from = "alice";
    l.from_pk.data = (uint8_t *)f->alice->sign_pk;
    l.from_pk.len = MIM_KEY_LEN;
    l.to = "bob";
    l.to_pk.data = (uint8_t *)f->bob->sign_pk;
    l.to_pk.len = MIM_KEY_LEN;
    c.id.data = id;
    c.id.len = sizeof(id);
    c.sender = "alice";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = "hi";
    l.body_case = MIM__MAIL_LETTER__BODY_CHAT;
    l.chat = &c;
    change(&l);
    EXPECT_INT(mim_letter_encode(&l, &b), 0);
    EXPECT_INT(mim_letter_decode(b.data, b.len, &out, err, sizeof(err)), MIM_EDECODE);
    assert_null(out);
    EXPECT_CONTAINS(err, why);
    mim_buf_free(&b);
}

static void short_key(Mim__MailLetter *l)
{
    l->from_pk.len = 31;
}
static void bad_from(Mim__MailLetter *l)
{
    l->from = "al\x01ice";
}
static void bad_to(Mim__MailLetter *l)
{
    l->to = "";
}
static void no_body(Mim__MailLetter *l)
{
    l->body_case = MIM__MAIL_LETTER__BODY__NOT_SET;
}
static void empty_text(Mim__MailLetter *l)
{
    l->chat->text = "";
}
static void receipt_refused(Mim__MailLetter *l)
{
    static uint8_t id[16];
    static ProtobufCBinaryData ids[1] = {{16, id}};
    static Mim__Ack ack = MIM__ACK__INIT;

    ack.n_ids = 1;
    ack.ids = ids;
    ack.n_refused = 1;
    ack.refused = ids;
    l->body_case = MIM__MAIL_LETTER__BODY_DELIVERED;
    l->delivered = &ack;
}
static void receipt_empty(Mim__MailLetter *l)
{
    static Mim__Ack ack = MIM__ACK__INIT;

    l->body_case = MIM__MAIL_LETTER__BODY_DELIVERED;
    l->delivered = &ack;
}

static void test_letter_refused(void **state)
{
    const seal_fixture *f = *state;

    expect_letter_refused(f, short_key, "keys");
    expect_letter_refused(f, bad_from, "sender name");
    expect_letter_refused(f, bad_to, "recipient name");
    expect_letter_refused(f, no_body, "no body");
    expect_letter_refused(f, empty_text, "chat");
    expect_letter_refused(f, receipt_refused, "refused");
    expect_letter_refused(f, receipt_empty, "ack");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tampered_refused),
        cmocka_unit_test(test_wrong_recipient_refused),
        cmocka_unit_test(test_wrong_signer_refused),
        cmocka_unit_test(test_padding_buckets),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_protocol_doc_letter),
        cmocka_unit_test(test_v2_known_answer),
        cmocka_unit_test(test_v2_protocol_doc),
        cmocka_unit_test(test_v2_pair_only),
        cmocka_unit_test(test_v2_buckets),
        cmocka_unit_test(test_v2_cache_eviction),
        cmocka_unit_test(test_letter_codec),
        cmocka_unit_test(test_letter_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
