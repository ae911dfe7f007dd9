/* The crypto door's sealed letter (issue 14; the construction is in mim_crypto.h, the why in
 * docs/SECURITY.md). The sender signs the letter with its identity key, bound to the recipient's
 * key and to the label "mim-mail-v1", pads letter and signature to a size bucket, and seals the
 * whole to the recipient with crypto_box_seal: an ephemeral X25519 key per letter, so the
 * server, which carries the blob, can neither read it (it lacks the recipient's secret) nor
 * forge one that a recipient accepts (it lacks the sender's signing key), and the sender's
 * signature names the recipient, so a letter cannot be re-sealed to someone else as if written
 * to them. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"
#include "mim_error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static_assert(crypto_box_SEALBYTES == MIM_SEAL_OVERHEAD, "crypto_box_seal overhead");
static_assert(crypto_box_PUBLICKEYBYTES == MIM_KEY_LEN, "X25519 public key size");
static_assert(crypto_box_SECRETKEYBYTES == MIM_KEY_LEN, "X25519 secret key size");

#define MAIL_LABEL "mim-mail-v1" /* the letter's signature, apart from every other one */

static const size_t buckets[] = MIM_SEAL_BUCKETS;
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
static_assert(sizeof(buckets) / sizeof(buckets[0]) > 0, "at least one bucket");

size_t mim_seal_bucket(size_t need)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        if (need <= buckets[i])
            return buckets[i];
    return 0;
}

int mim_seal_is_bucket(size_t n)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        if (buckets[i] == n)
            return 1;
    return 0;
}

size_t mim_seal_blob_size(size_t letter_len)
{
    /* sodium_pad needs one byte at least (its 0x80 marker). */
    return letter_len > MIM_SEAL_LETTER_MAX
               ? 0
               : mim_seal_bucket(letter_len + MIM_SEAL_OVERHEAD + MIM_SIG_LEN + 1);
}

/* The buffers below hold a letter in clear, never a key: plain heap memory, wiped with
 * sodium_memzero before free. Not sodium_malloc: its guard pages cost an mmap, mprotect, mlock
 * and munmap (with a TLB shoot-down) per letter, which was 40% of a login fetching 1000 letters
 * (docs/PERFORMANCE.md); the letter itself arrives in and leaves through ordinary memory anyway. */
static void wipe_free(uint8_t *p, size_t n)
{
    if (p != NULL) {
        sodium_memzero(p, n);
        free(p);
    }
}

/* The signed message, "mim-mail-v1" || to_pk || letter, of its exact size (owned by the
 * caller: wipe_free(*out, *out_len)). */
static int mail_message(const uint8_t to_pk[MIM_KEY_LEN], const uint8_t *letter, size_t letter_len,
                        uint8_t **out, size_t *out_len)
{
    size_t n = LABEL_LEN(MAIL_LABEL) + MIM_KEY_LEN + letter_len;
    uint8_t *m = malloc(n);

    if (m == NULL)
        return MIM_ENOMEM;
    memcpy(m, MAIL_LABEL, LABEL_LEN(MAIL_LABEL));
    memcpy(m + LABEL_LEN(MAIL_LABEL), to_pk, MIM_KEY_LEN);
    memcpy(m + LABEL_LEN(MAIL_LABEL) + MIM_KEY_LEN, letter, letter_len);
    *out = m;
    *out_len = n;
    return 0;
}

int mim_seal_inner(const mim_identity *from, const uint8_t to_pk[MIM_KEY_LEN],
                   const uint8_t *letter, size_t letter_len, uint8_t *out, size_t cap,
                   size_t *out_len)
{
    size_t blob = mim_seal_blob_size(letter_len), padded_len, m_len;
    uint8_t *m;
    int rc;

    if (from == NULL || to_pk == NULL || (letter == NULL && letter_len > 0) || blob == 0)
        return MIM_EINVAL;
    if (cap < blob - MIM_SEAL_OVERHEAD)
        return MIM_EOVERFLOW;
    if ((rc = mail_message(to_pk, letter, letter_len, &m, &m_len)) != 0)
        return rc;
    memcpy(out, letter, letter_len);
    rc = crypto_sign_ed25519_detached(out + letter_len, NULL, m, m_len, from->sign_sk);
    wipe_free(m, m_len);
    if (rc != 0)
        return MIM_ECRYPTO;
    if (sodium_pad(&padded_len, out, letter_len + MIM_SIG_LEN, blob - MIM_SEAL_OVERHEAD, cap) != 0)
        return MIM_EOVERFLOW;
    /* sodium_pad rounds up to a multiple of the block size: blob - overhead is one. */
    *out_len = padded_len;
    return 0;
}

int mim_seal(const mim_identity *from, const uint8_t to_pk[MIM_KEY_LEN], const uint8_t *letter,
             size_t letter_len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t to_x[MIM_KEY_LEN];
    size_t blob = mim_seal_blob_size(letter_len), inner_len;
    uint8_t *inner;
    int rc;

    if (blob == 0 || to_pk == NULL)
        return MIM_EINVAL;
    if (cap < blob)
        return MIM_EOVERFLOW;
    if (crypto_sign_ed25519_pk_to_curve25519(to_x, to_pk) != 0)
        return MIM_ECRYPTO; /* not a point of the curve, or a small-order one */
    if ((inner = malloc(blob)) == NULL)
        return MIM_ENOMEM;
    rc = mim_seal_inner(from, to_pk, letter, letter_len, inner, blob, &inner_len);
    if (rc == 0 && crypto_box_seal(out, inner, inner_len, to_x) != 0)
        rc = MIM_ECRYPTO;
    if (rc == 0)
        *out_len = inner_len + MIM_SEAL_OVERHEAD;
    wipe_free(inner, blob); /* the letter in clear */
    return rc;
}

int mim_seal_open(const mim_identity *me, const uint8_t *blob, size_t blob_len, uint8_t *letter,
                  size_t cap, size_t *letter_len, uint8_t sig[MIM_SIG_LEN])
{
    size_t padded, inner_len;
    int rc = 0;

    if (me == NULL || blob == NULL || !mim_seal_is_bucket(blob_len))
        return MIM_EINVAL;
    padded = blob_len - MIM_SEAL_OVERHEAD;
    if (cap < padded)
        return MIM_EOVERFLOW;
    if (crypto_box_seal_open(letter, blob, blob_len, me->seal_pk, me->seal_sk) != 0)
        rc = MIM_ECRYPTO; /* not sealed to us, or altered */
    if (rc == 0 &&
        (sodium_unpad(&inner_len, letter, padded, padded) != 0 || inner_len < MIM_SIG_LEN))
        rc = MIM_ECRYPTO; /* a sender that padded wrongly: nothing to trust in it */
    if (rc != 0) {
        sodium_memzero(letter, padded);
        return rc;
    }
    *letter_len = inner_len - MIM_SIG_LEN;
    memcpy(sig, letter + *letter_len, MIM_SIG_LEN);
    sodium_memzero(letter + *letter_len, padded - *letter_len);
    return 0;
}

int mim_seal_verify(const uint8_t from_pk[MIM_KEY_LEN], const uint8_t to_pk[MIM_KEY_LEN],
                    const uint8_t *letter, size_t letter_len, const uint8_t sig[MIM_SIG_LEN])
{
    uint8_t *m;
    size_t m_len;
    int rc;

    if (from_pk == NULL || to_pk == NULL || sig == NULL || (letter == NULL && letter_len > 0))
        return MIM_EINVAL;
    if ((rc = mail_message(to_pk, letter, letter_len, &m, &m_len)) != 0)
        return rc;
    rc = crypto_sign_ed25519_verify_detached(sig, m, m_len, from_pk) == 0 ? 0 : MIM_ECRYPTO;
    wipe_free(m, m_len);
    return rc;
}
