/* The handshake of every mim connection: Noise_XX_25519_ChaChaPoly_SHA256 (Noise spec rev 34),
 * with its CipherState. Every error kills the handshake, and secrets are wiped as soon as they
 * are no longer needed. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"
#include "mim_error.h"

#include <assert.h>
#include <string.h>

/* ---- Noise_XX_25519_ChaChaPoly_SHA256 (Noise spec rev 34) ----------------------------------- */

/* Exactly HASHLEN bytes, so InitializeSymmetric sets h = the name with no hashing or padding. */
#define NOISE_NAME        "Noise_XX_25519_ChaChaPoly_SHA256"
#define NOISE_ENC_KEY_LEN (MIM_KEY_LEN + MIM_AEAD_TAG_LEN) /* an encrypted static key */
static_assert(LABEL_LEN(NOISE_NAME) == MIM_HASH_LEN, "protocol name must be HASHLEN bytes");

/* HMAC-SHA256(key, a || b); key is always HASHLEN bytes here (ck or an HKDF temp key). */
static void hmac_sha256(uint8_t out[MIM_HASH_LEN], const uint8_t key[MIM_HASH_LEN],
                        const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, MIM_HASH_LEN);
    if (alen > 0)
        crypto_auth_hmacsha256_update(&st, a, alen);
    if (blen > 0)
        crypto_auth_hmacsha256_update(&st, b, blen);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* HKDF(chaining_key, ikm) with two outputs. out1 may alias ck: ck is consumed first. */
static void noise_hkdf2(const uint8_t ck[MIM_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
                        uint8_t out1[MIM_HASH_LEN], uint8_t out2[MIM_HASH_LEN])
{
    static const uint8_t one = 0x01, two = 0x02;
    uint8_t temp_key[MIM_HASH_LEN];

    hmac_sha256(temp_key, ck, ikm, ikm_len, NULL, 0);
    hmac_sha256(out1, temp_key, &one, 1, NULL, 0);
    hmac_sha256(out2, temp_key, out1, MIM_HASH_LEN, &two, 1);
    sodium_memzero(temp_key, sizeof temp_key);
}

static void noise_nonce(uint8_t nonce[12], uint64_t n)
{
    int i;

    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int mim_noise_cipher_encrypt(mim_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    uint8_t nonce[12];
    unsigned long long clen = 0;

    if (c == NULL || out == NULL || (pt == NULL && ptlen > 0) || (ad == NULL && adlen > 0))
        return MIM_EINVAL;
    if (!c->has_key) {
        if (ptlen > 0)
            memmove(out, pt, ptlen);
        return MIM_OK;
    }
    if (ptlen > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return MIM_EINVAL;
    /* n = 2^64-1 is reserved by the spec; a stream that long must be rekeyed, never wrap. */
    if (c->n == UINT64_MAX)
        return MIM_EOVERFLOW;
    noise_nonce(nonce, c->n);
    if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, ad, adlen, NULL, nonce,
                                                  c->k) != 0)
        return MIM_ECRYPTO;
    c->n++;
    return MIM_OK;
}

int mim_noise_cipher_decrypt(mim_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *ct, size_t ctlen, uint8_t *out)
{
    uint8_t nonce[12];
    unsigned long long mlen = 0;

    if (c == NULL || (ct == NULL && ctlen > 0) || (ad == NULL && adlen > 0))
        return MIM_EINVAL;
    if (!c->has_key) {
        if (ctlen > 0) {
            if (out == NULL)
                return MIM_EINVAL;
            memmove(out, ct, ctlen);
        }
        return MIM_OK;
    }
    if (ctlen < MIM_AEAD_TAG_LEN || (out == NULL && ctlen > MIM_AEAD_TAG_LEN))
        return MIM_EINVAL;
    if (c->n == UINT64_MAX)
        return MIM_EOVERFLOW;
    noise_nonce(nonce, c->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, ctlen, ad, adlen, nonce,
                                                  c->k) != 0)
        return MIM_ECRYPTO;
    c->n++;
    return MIM_OK;
}

static void noise_mix_hash(mim_noise *hs, const uint8_t *data, size_t len)
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hs->h, MIM_HASH_LEN);
    if (len > 0)
        crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, hs->h);
}

static void noise_mix_key(mim_noise *hs, const uint8_t *ikm, size_t len)
{
    noise_hkdf2(hs->ck, ikm, len, hs->ck, hs->cs.k);
    hs->cs.n = 0;
    hs->cs.has_key = 1;
}

/* MixKey(DH(sk, pk)). MIM_ECRYPTO when pk is a low-order point (the DH output is all zero). */
static int noise_mix_dh(mim_noise *hs, const uint8_t sk[MIM_KEY_LEN], const uint8_t pk[MIM_KEY_LEN])
{
    uint8_t shared[MIM_KEY_LEN];
    int rc = MIM_OK;

    if (crypto_scalarmult_curve25519(shared, sk, pk) != 0)
        rc = MIM_ECRYPTO;
    else
        noise_mix_key(hs, shared, sizeof shared);
    sodium_memzero(shared, sizeof shared);
    return rc;
}

static int noise_encrypt_and_hash(mim_noise *hs, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    size_t clen = ptlen + (hs->cs.has_key ? MIM_AEAD_TAG_LEN : 0);
    int rc;

    rc = mim_noise_cipher_encrypt(&hs->cs, hs->h, MIM_HASH_LEN, pt, ptlen, out);
    if (rc == MIM_OK)
        noise_mix_hash(hs, out, clen);
    return rc;
}

/* The new h is computed from ct before decrypting, so out may overlap ct. */
static int noise_decrypt_and_hash(mim_noise *hs, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
    crypto_hash_sha256_state st;
    uint8_t next_h[MIM_HASH_LEN];
    int rc;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hs->h, MIM_HASH_LEN);
    if (ctlen > 0)
        crypto_hash_sha256_update(&st, ct, ctlen);
    crypto_hash_sha256_final(&st, next_h);
    rc = mim_noise_cipher_decrypt(&hs->cs, hs->h, MIM_HASH_LEN, ct, ctlen, out);
    if (rc == MIM_OK)
        memcpy(hs->h, next_h, MIM_HASH_LEN);
    return rc;
}

/* Wipes every secret but leaves h, the public keys and the counters. */
static void noise_wipe_secrets(mim_noise *hs)
{
    sodium_memzero(hs->ck, sizeof hs->ck);
    sodium_memzero(&hs->cs, sizeof hs->cs);
    sodium_memzero(hs->s_sk, sizeof hs->s_sk);
    sodium_memzero(hs->e_sk, sizeof hs->e_sk);
}

/* Every error kills the handshake: a half-failed Noise state must never be used again. */
static int noise_fail(mim_noise *hs, int rc)
{
    hs->failed = 1;
    noise_wipe_secrets(hs);
    return rc;
}

/* Our turn to write: the initiator writes messages 1 and 3 (index 0 and 2), the responder 2. */
static int noise_our_turn(const mim_noise *hs)
{
    if (hs->msg_index >= 3)
        return 0;
    return (hs->msg_index % 2 == 0) == (hs->initiator != 0);
}

/* Bytes of message `index` before its payload, and whether the payload is encrypted. */
static size_t noise_fixed_len(int index)
{
    switch (index) {
    case 0:
        return MIM_KEY_LEN; /* e */
    case 1:
        return MIM_KEY_LEN + NOISE_ENC_KEY_LEN; /* e, encrypted s */
    default:
        return NOISE_ENC_KEY_LEN; /* encrypted s */
    }
}

static size_t noise_payload_tag_len(int index)
{
    return index == 0 ? 0 : MIM_AEAD_TAG_LEN; /* no key before the first DH */
}

int mim_noise_init(mim_noise *hs, int initiator, const void *prologue, size_t prologue_len,
                   const uint8_t s_sk[MIM_KEY_LEN])
{
    if (hs == NULL)
        return MIM_EINVAL;
    memset(hs, 0, sizeof *hs);
    if (s_sk == NULL || (prologue == NULL && prologue_len > 0))
        return noise_fail(hs, MIM_EINVAL);
    hs->initiator = initiator != 0;
    memcpy(hs->s_sk, s_sk, MIM_KEY_LEN);
    if (crypto_scalarmult_curve25519_base(hs->s_pk, hs->s_sk) != 0)
        return noise_fail(hs, MIM_ECRYPTO);
    memcpy(hs->h, NOISE_NAME, MIM_HASH_LEN);
    memcpy(hs->ck, hs->h, MIM_HASH_LEN);
    noise_mix_hash(hs, prologue, prologue_len);
    return MIM_OK;
}

void mim_noise_set_ephemeral(mim_noise *hs, const uint8_t e_sk[MIM_KEY_LEN])
{
    memcpy(hs->e_sk, e_sk, MIM_KEY_LEN);
    /* A failure here (a degenerate scalar) surfaces later as a DH failure. */
    (void)crypto_scalarmult_curve25519_base(hs->e_pk, hs->e_sk);
    hs->fixed_e = 1;
}

static int noise_write_e(mim_noise *hs, uint8_t out[MIM_KEY_LEN])
{
    if (!hs->fixed_e)
        randombytes_buf(hs->e_sk, sizeof hs->e_sk);
    if (crypto_scalarmult_curve25519_base(hs->e_pk, hs->e_sk) != 0)
        return MIM_ECRYPTO;
    memcpy(out, hs->e_pk, MIM_KEY_LEN);
    noise_mix_hash(hs, hs->e_pk, MIM_KEY_LEN);
    return MIM_OK;
}

/* After message 3 only ck (for Split) and h are needed; the ephemeral goes now, which is what
 * gives forward secrecy even if the caller keeps hs around. */
static void noise_finish_if_done(mim_noise *hs)
{
    if (hs->msg_index == 3) {
        sodium_memzero(hs->e_sk, sizeof hs->e_sk);
        sodium_memzero(hs->s_sk, sizeof hs->s_sk);
    }
}

int mim_noise_write(mim_noise *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    size_t fixed;
    size_t off = 0;
    int rc;

    if (hs == NULL)
        return MIM_EINVAL;
    if (out_len != NULL)
        *out_len = 0;
    if (hs->failed || !noise_our_turn(hs))
        return noise_fail(hs, MIM_ESTATE);
    if (out == NULL || out_len == NULL || (payload == NULL && payload_len > 0))
        return noise_fail(hs, MIM_EINVAL);
    fixed = noise_fixed_len(hs->msg_index) + noise_payload_tag_len(hs->msg_index);
    /* Checked before anything is written or mixed, and without overflow. */
    if (payload_len > MIM_NOISE_MAX_MSG - fixed || fixed + payload_len > cap)
        return noise_fail(hs, MIM_EOVERFLOW);

    switch (hs->msg_index) {
    case 0: /* -> e */
        rc = noise_write_e(hs, out);
        off = MIM_KEY_LEN;
        break;
    case 1: /* <- e, ee, s, es */
        rc = noise_write_e(hs, out);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->e_sk, hs->re);
        if (rc == MIM_OK)
            rc = noise_encrypt_and_hash(hs, hs->s_pk, MIM_KEY_LEN, out + MIM_KEY_LEN);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->s_sk, hs->re);
        off = MIM_KEY_LEN + NOISE_ENC_KEY_LEN;
        break;
    default: /* -> s, se */
        rc = noise_encrypt_and_hash(hs, hs->s_pk, MIM_KEY_LEN, out);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->s_sk, hs->re);
        off = NOISE_ENC_KEY_LEN;
        break;
    }
    if (rc == MIM_OK)
        rc = noise_encrypt_and_hash(hs, payload, payload_len, out + off);
    if (rc != MIM_OK)
        return noise_fail(hs, rc);
    hs->msg_index++;
    noise_finish_if_done(hs);
    *out_len = fixed + payload_len;
    return MIM_OK;
}

/* Reads an encrypted static key into hs->rs and refuses our own key: a peer that reflects our
 * static back to us is either a confused loopback or an attacker replaying our messages. */
static int noise_read_s(mim_noise *hs, const uint8_t *ct)
{
    /* Room for the whole ciphertext: without a key, DecryptAndHash would copy all of it. XX
     * always has a key here (after ee), and anything else is refused before the call. */
    uint8_t rs[NOISE_ENC_KEY_LEN];
    int rc;

    if (!hs->cs.has_key)
        return MIM_ESTATE;
    rc = noise_decrypt_and_hash(hs, ct, NOISE_ENC_KEY_LEN, rs);
    if (rc == MIM_OK && sodium_memcmp(rs, hs->s_pk, MIM_KEY_LEN) == 0)
        rc = MIM_ECRYPTO;
    if (rc == MIM_OK)
        memcpy(hs->rs, rs, MIM_KEY_LEN);
    return rc;
}

/* Rejects a low-order remote ephemeral as soon as it arrives, instead of at our next write:
 * X25519 with any clamped scalar gives all zeros exactly for those points. */
static int noise_check_public(const mim_noise *hs, const uint8_t pk[MIM_KEY_LEN])
{
    uint8_t probe[MIM_KEY_LEN];
    int rc;

    rc = crypto_scalarmult_curve25519(probe, hs->s_sk, pk) == 0 ? MIM_OK : MIM_ECRYPTO;
    sodium_memzero(probe, sizeof probe);
    return rc;
}

int mim_noise_read(mim_noise *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap,
                   size_t *payload_len)
{
    size_t fixed;
    size_t tag;
    size_t plen;
    int rc;

    if (hs == NULL)
        return MIM_EINVAL;
    if (payload_len != NULL)
        *payload_len = 0;
    if (hs->failed || hs->msg_index >= 3 || noise_our_turn(hs))
        return noise_fail(hs, MIM_ESTATE);
    if (msg == NULL || payload_len == NULL)
        return noise_fail(hs, MIM_EINVAL);
    fixed = noise_fixed_len(hs->msg_index);
    tag = noise_payload_tag_len(hs->msg_index);
    if (len > MIM_NOISE_MAX_MSG || len < fixed + tag)
        return noise_fail(hs, MIM_EINVAL);
    plen = len - fixed - tag;
    if (plen > cap || (payload == NULL && plen > 0))
        return noise_fail(hs, MIM_EOVERFLOW);

    switch (hs->msg_index) {
    case 0: /* -> e */
        memcpy(hs->re, msg, MIM_KEY_LEN);
        noise_mix_hash(hs, hs->re, MIM_KEY_LEN);
        rc = noise_check_public(hs, hs->re);
        break;
    case 1: /* <- e, ee, s, es */
        memcpy(hs->re, msg, MIM_KEY_LEN);
        noise_mix_hash(hs, hs->re, MIM_KEY_LEN);
        rc = noise_mix_dh(hs, hs->e_sk, hs->re);
        if (rc == MIM_OK)
            rc = noise_read_s(hs, msg + MIM_KEY_LEN);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->e_sk, hs->rs);
        break;
    default: /* -> s, se */
        rc = noise_read_s(hs, msg);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->e_sk, hs->rs);
        break;
    }
    if (rc == MIM_OK)
        rc = noise_decrypt_and_hash(hs, msg + fixed, len - fixed, payload);
    if (rc != MIM_OK)
        return noise_fail(hs, rc);
    hs->msg_index++;
    noise_finish_if_done(hs);
    *payload_len = plen;
    return MIM_OK;
}

int mim_noise_done(const mim_noise *hs)
{
    return hs != NULL && !hs->failed && hs->msg_index == 3;
}

int mim_noise_split(mim_noise *hs, mim_noise_cipher *c1, mim_noise_cipher *c2)
{
    uint8_t k1[MIM_KEY_LEN], k2[MIM_KEY_LEN];

    if (hs == NULL)
        return MIM_EINVAL;
    /* cs has a key from the first DH on, and loses it here: a second Split is refused. */
    if (!mim_noise_done(hs) || !hs->cs.has_key)
        return noise_fail(hs, MIM_ESTATE);
    if (c1 == NULL || c2 == NULL)
        return noise_fail(hs, MIM_EINVAL);
    noise_hkdf2(hs->ck, NULL, 0, k1, k2);
    memset(c1, 0, sizeof *c1);
    memset(c2, 0, sizeof *c2);
    memcpy(c1->k, k1, MIM_KEY_LEN);
    memcpy(c2->k, k2, MIM_KEY_LEN);
    c1->has_key = 1;
    c2->has_key = 1;
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    /* h (the handshake hash) and rs stay: login signatures and pinning need them. */
    noise_wipe_secrets(hs);
    return MIM_OK;
}

const uint8_t *mim_noise_remote_static(const mim_noise *hs)
{
    return hs->rs;
}

const uint8_t *mim_noise_handshake_hash(const mim_noise *hs)
{
    return hs->h;
}

void mim_noise_wipe(mim_noise *hs)
{
    if (hs == NULL)
        return;
    sodium_memzero(hs, sizeof *hs);
    /* An all-zero state would look like a fresh responder; make it unusable instead. */
    hs->failed = 1;
}
