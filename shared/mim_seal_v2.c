/* The crypto door's sealed letter, version 2 (issue 14, mailspeed; the construction is in
 * mim_crypto.h, the why in docs/SECURITY.md, "The sealed letter").
 *
 * Version 1 (mim_seal.c) cost the recipient two public-key operations per letter (the sealed
 * box's X25519 and the Ed25519 check, ~140 us) and the sender three: a login fetching 1000
 * letters took 2.5x as long as receiving 1000 direct messages (docs/PERFORMANCE.md). Here the
 * X25519 work is done once per pair of identities and cached; a letter is one XSalsa20-Poly1305
 * box under the pair's key, a few microseconds. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"
#include "mim_error.h"

#include <assert.h>
#include <string.h>

static_assert(crypto_box_NONCEBYTES == MIM_SEAL2_NONCE_LEN, "crypto_box nonce size");
static_assert(crypto_box_NONCEBYTES + crypto_box_MACBYTES == MIM_SEAL2_OVERHEAD, "v2 overhead");
static_assert(crypto_box_BEFORENMBYTES == MIM_KEY_LEN, "crypto_box shared key size");

#define MAIL2_LABEL "mim-mail-v2" /* the pair key's, apart from any other use of the shared key */

typedef struct pair_key {
    uint8_t peer_pk[MIM_KEY_LEN]; /* the peer's Ed25519 identity key */
    uint8_t key[MIM_KEY_LEN];     /* the pair's letter key */
    uint64_t used;                /* 0: free; else the cache's clock at the last use */
} pair_key;

struct mim_mail_keys {
    const mim_identity *me; /* borrowed */
    uint64_t clock;
    pair_key keys[MIM_MAIL_KEYS_MAX];
};

int mim_mail_keys_new(const mim_identity *me, mim_mail_keys **out)
{
    mim_mail_keys *k;

    if (me == NULL || out == NULL)
        return MIM_EINVAL;
    if ((k = sodium_malloc(sizeof(*k))) == NULL)
        return MIM_ENOMEM;
    sodium_memzero(k, sizeof(*k));
    k->me = me;
    *out = k;
    return 0;
}

void mim_mail_keys_free(mim_mail_keys *k)
{
    sodium_free(k); /* wipes */
}

/* Derives the pair key with peer_pk into key. MIM_ECRYPTO for a key that is no valid point, or
 * one of small order. */
static int derive(const mim_identity *me, const uint8_t peer_pk[MIM_KEY_LEN],
                  uint8_t key[MIM_KEY_LEN])
{
    uint8_t peer_x[MIM_KEY_LEN], shared[MIM_KEY_LEN];
    int rc = 0;

    if (crypto_sign_ed25519_pk_to_curve25519(peer_x, peer_pk) != 0 ||
        crypto_box_beforenm(shared, peer_x, me->seal_sk) != 0)
        rc = MIM_ECRYPTO;
    else
        crypto_generichash(key, MIM_KEY_LEN, (const unsigned char *)MAIL2_LABEL,
                           LABEL_LEN(MAIL2_LABEL), shared, sizeof(shared));
    sodium_memzero(shared, sizeof(shared));
    return rc;
}

/* The pair key with peer_pk, from the cache or derived into it (evicting the least recently
 * used). NULL when peer_pk is no valid key. */
static const uint8_t *pair_key_get(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN])
{
    pair_key *slot = &k->keys[0];

    for (size_t i = 0; i < MIM_MAIL_KEYS_MAX; i++) {
        pair_key *p = &k->keys[i];
        if (p->used != 0 && memcmp(p->peer_pk, peer_pk, MIM_KEY_LEN) == 0) {
            p->used = ++k->clock;
            return p->key;
        }
        if (p->used < slot->used)
            slot = p;
    }
    sodium_memzero(slot, sizeof(*slot));
    if (derive(k->me, peer_pk, slot->key) != 0) {
        sodium_memzero(slot, sizeof(*slot));
        return NULL;
    }
    memcpy(slot->peer_pk, peer_pk, MIM_KEY_LEN);
    slot->used = ++k->clock;
    return slot->key;
}

size_t mim_seal2_blob_size(size_t letter_len)
{
    /* sodium_pad needs one byte at least (its 0x80 marker). */
    return letter_len > MIM_SEAL2_LETTER_MAX ? 0
                                             : mim_seal_bucket(letter_len + MIM_SEAL2_OVERHEAD + 1);
}

int mim_seal2_with_nonce(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN],
                         const uint8_t nonce[MIM_SEAL2_NONCE_LEN], const uint8_t *letter,
                         size_t letter_len, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t blob = mim_seal2_blob_size(letter_len), padded_len;
    uint8_t *padded = out + MIM_SEAL2_OVERHEAD;
    const uint8_t *key;

    if (k == NULL || peer_pk == NULL || nonce == NULL || (letter == NULL && letter_len > 0) ||
        out == NULL || out_len == NULL || blob == 0)
        return MIM_EINVAL;
    if (cap < blob)
        return MIM_EOVERFLOW;
    if ((key = pair_key_get(k, peer_pk)) == NULL)
        return MIM_ECRYPTO;
    /* Padded in place behind the room for the nonce and MAC, then boxed over itself
     * (libsodium's secretbox allows the overlap). */
    memmove(padded, letter, letter_len);
    if (sodium_pad(&padded_len, padded, letter_len, blob - MIM_SEAL2_OVERHEAD,
                   blob - MIM_SEAL2_OVERHEAD) != 0 ||
        crypto_box_easy_afternm(out + MIM_SEAL2_NONCE_LEN, padded, padded_len, nonce, key) != 0) {
        sodium_memzero(out, blob); /* the letter in clear */
        return MIM_ECRYPTO;
    }
    memcpy(out, nonce, MIM_SEAL2_NONCE_LEN);
    *out_len = blob;
    return 0;
}

int mim_seal2(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN], const uint8_t *letter,
              size_t letter_len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t nonce[MIM_SEAL2_NONCE_LEN];

    randombytes_buf(nonce, sizeof(nonce)); /* 192 random bits: no repeat to fear */
    return mim_seal2_with_nonce(k, peer_pk, nonce, letter, letter_len, out, cap, out_len);
}

int mim_seal2_open(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN], const uint8_t *blob,
                   size_t blob_len, uint8_t *letter, size_t cap, size_t *letter_len)
{
    size_t padded, unpadded;
    const uint8_t *key;

    if (k == NULL || peer_pk == NULL || blob == NULL || letter == NULL || letter_len == NULL ||
        !mim_seal_is_bucket(blob_len))
        return MIM_EINVAL;
    padded = blob_len - MIM_SEAL2_OVERHEAD;
    if (cap < padded)
        return MIM_EOVERFLOW;
    if ((key = pair_key_get(k, peer_pk)) == NULL)
        return MIM_ECRYPTO;
    if (crypto_box_open_easy_afternm(letter, blob + MIM_SEAL2_NONCE_LEN,
                                     blob_len - MIM_SEAL2_NONCE_LEN, blob, key) != 0)
        return MIM_ECRYPTO; /* another pair's, altered, or a v1 letter */
    if (sodium_unpad(&unpadded, letter, padded, padded) != 0) {
        sodium_memzero(letter, padded); /* a sender that padded wrongly: nothing to trust */
        return MIM_ECRYPTO;
    }
    sodium_memzero(letter + unpadded, padded - unpadded);
    *letter_len = unpadded;
    return 0;
}
