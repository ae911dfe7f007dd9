/* The crypto door's common part: init, randomness, constant-time compare, wiping, SHA-256, and
 * the signatures (the identity's, the static key's, the login's). The rest of mim's
 * cryptography sits beside it, one job a file: mim_keyfile.c (the identity and its key file),
 * mim_fingerprint.c (fingerprints, safety numbers), mim_noise.c (the handshake),
 * mim_secretstream.c (the transport), mim_hash.c (file contents). Only these files include
 * <sodium.h>, through mim_crypto_priv.h.
 *
 * Keeping every primitive behind them means the sizes can be checked once (the static_asserts
 * below), secrets are wiped in a few known places, and a reviewer reads a handful of files to
 * see all of mim's cryptography. The constructions are described in docs/SECURITY.md. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"
#include "mim_error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- the sizes the header promises, checked against the library ---------------------------- */

static_assert(crypto_sign_PUBLICKEYBYTES == MIM_KEY_LEN, "Ed25519 public key size");
static_assert(crypto_sign_SECRETKEYBYTES == MIM_SIGN_SK_LEN, "Ed25519 secret key size");
static_assert(crypto_sign_SEEDBYTES == MIM_KEY_LEN, "Ed25519 seed size");
static_assert(crypto_sign_BYTES == MIM_SIG_LEN, "Ed25519 signature size");
static_assert(crypto_scalarmult_curve25519_BYTES == MIM_KEY_LEN, "X25519 public key size");
static_assert(crypto_scalarmult_curve25519_SCALARBYTES == MIM_KEY_LEN, "X25519 secret key size");
static_assert(crypto_hash_sha256_BYTES == MIM_HASH_LEN, "SHA-256 output size");
static_assert(crypto_auth_hmacsha256_BYTES == MIM_HASH_LEN, "HMAC-SHA256 output size");
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == MIM_KEY_LEN, "ChaChaPoly key size");
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "ChaChaPoly nonce size");
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == MIM_AEAD_TAG_LEN, "ChaChaPoly tag");
static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == MIM_KEY_LEN, "stream key size");
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == MIM_STREAM_HEADER_LEN,
              "stream header size");
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == MIM_STREAM_ABYTES, "stream overhead");
static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) == MIM_STREAM_STATE_LEN,
              "secretstream state size");
static_assert(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE == MIM_STREAM_TAG_MESSAGE,
              "TAG_MESSAGE");
static_assert(crypto_secretstream_xchacha20poly1305_TAG_REKEY == MIM_STREAM_TAG_REKEY, "TAG_REKEY");
static_assert(crypto_secretstream_xchacha20poly1305_TAG_FINAL == MIM_STREAM_TAG_FINAL, "TAG_FINAL");

/* The login signature's domain-separation label (mim_crypto_priv.h says why labels). */
#define LOGIN_LABEL "mim-login-v1"

/* ---- basics ---------------------------------------------------------------------------------- */

int mim_crypto_init(void)
{
    /* 1 means "already initialised", which is fine. */
    return sodium_init() < 0 ? MIM_ECRYPTO : MIM_OK;
}

void mim_random_bytes(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

uint32_t mim_random_uniform(uint32_t upper)
{
    return randombytes_uniform(upper);
}

void mim_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int mim_equal_ct(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void mim_sha256(uint8_t out[MIM_HASH_LEN], const void *in, size_t n)
{
    crypto_hash_sha256(out, in, n);
}

/* ---- signatures ------------------------------------------------------------------------------ */

int mim_identity_sign(const mim_identity *id, const void *msg, size_t n, uint8_t sig[MIM_SIG_LEN])
{
    if (id == NULL || sig == NULL || (msg == NULL && n > 0))
        return MIM_EINVAL;
    if (crypto_sign_detached(sig, NULL, msg, n, id->sign_sk) != 0)
        return MIM_ECRYPTO;
    return MIM_OK;
}

int mim_sign_verify(const uint8_t pk[MIM_KEY_LEN], const void *msg, size_t n,
                    const uint8_t sig[MIM_SIG_LEN])
{
    if (pk == NULL || sig == NULL || (msg == NULL && n > 0))
        return MIM_EINVAL;
    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? MIM_OK : MIM_ECRYPTO;
}

int mim_static_sig_verify(const uint8_t identity_pk[MIM_KEY_LEN],
                          const uint8_t static_pk[MIM_KEY_LEN], const uint8_t sig[MIM_SIG_LEN])
{
    uint8_t msg[LABEL_LEN(STATIC_SIG_LABEL) + MIM_KEY_LEN];

    if (static_pk == NULL)
        return MIM_EINVAL;
    memcpy(msg, STATIC_SIG_LABEL, LABEL_LEN(STATIC_SIG_LABEL));
    memcpy(msg + LABEL_LEN(STATIC_SIG_LABEL), static_pk, MIM_KEY_LEN);
    return mim_sign_verify(identity_pk, msg, sizeof msg, sig);
}

/* Builds "mim-login-v1" || handshake_hash || name || port (big-endian) in a new allocation. */
static int login_message(const uint8_t handshake_hash[MIM_HASH_LEN], const char *name,
                         size_t name_len, uint16_t port, uint8_t **msg, size_t *msg_len)
{
    const size_t fixed = LABEL_LEN(LOGIN_LABEL) + MIM_HASH_LEN + 2;
    uint8_t *p;

    if (handshake_hash == NULL || (name == NULL && name_len > 0) || name_len > SIZE_MAX - fixed)
        return MIM_EINVAL;
    p = malloc(fixed + name_len);
    if (p == NULL)
        return MIM_ENOMEM;
    memcpy(p, LOGIN_LABEL, LABEL_LEN(LOGIN_LABEL));
    memcpy(p + LABEL_LEN(LOGIN_LABEL), handshake_hash, MIM_HASH_LEN);
    if (name_len > 0)
        memcpy(p + LABEL_LEN(LOGIN_LABEL) + MIM_HASH_LEN, name, name_len);
    p[fixed + name_len - 2] = (uint8_t)(port >> 8);
    p[fixed + name_len - 1] = (uint8_t)(port & 0xff);
    *msg = p;
    *msg_len = fixed + name_len;
    return MIM_OK;
}

/* Signs (sign != 0: with id, into sig_out) or verifies (sign == 0: sig_in by identity_pk) the
 * login message; both sides build the same bytes here, so they cannot drift apart. */
static int login_sign_or_verify(int sign, const mim_identity *id,
                                const uint8_t identity_pk[MIM_KEY_LEN],
                                const uint8_t handshake_hash[MIM_HASH_LEN], const char *name,
                                size_t name_len, uint16_t port, uint8_t *sig_out,
                                const uint8_t *sig_in)
{
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc;

    rc = login_message(handshake_hash, name, name_len, port, &msg, &msg_len);
    if (rc != MIM_OK)
        return rc;
    if (sign)
        rc = mim_identity_sign(id, msg, msg_len, sig_out);
    else
        rc = mim_sign_verify(identity_pk, msg, msg_len, sig_in);
    free(msg);
    return rc;
}

int mim_login_sign(const mim_identity *id, const uint8_t handshake_hash[MIM_HASH_LEN],
                   const char *name, size_t name_len, uint16_t port, uint8_t sig[MIM_SIG_LEN])
{
    return login_sign_or_verify(1, id, NULL, handshake_hash, name, name_len, port, sig, NULL);
}

int mim_login_verify(const uint8_t identity_pk[MIM_KEY_LEN],
                     const uint8_t handshake_hash[MIM_HASH_LEN], const char *name, size_t name_len,
                     uint16_t port, const uint8_t sig[MIM_SIG_LEN])
{
    return login_sign_or_verify(0, NULL, identity_pk, handshake_hash, name, name_len, port, NULL,
                                sig);
}
