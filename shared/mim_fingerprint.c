/* What a user compares to check a key: the short fingerprint of one identity, and the safety
 * number of a conversation (Signal's numeric fingerprint). Public keys and names only. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"

#include <assert.h>
#include <string.h>

#define FP_LABEL "mim-fingerprint-v1"

void mim_fingerprint(const uint8_t identity_pk[MIM_KEY_LEN], char out[MIM_FINGERPRINT_LEN])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t digest[MIM_HASH_LEN];
    crypto_hash_sha256_state st;
    uint32_t bits = 0; /* bit buffer: at most 12 bits are ever held */
    int nbits = 0;
    int chars = 0;
    size_t pos = 0;
    int i;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)FP_LABEL, LABEL_LEN(FP_LABEL));
    crypto_hash_sha256_update(&st, identity_pk, MIM_KEY_LEN);
    crypto_hash_sha256_final(&st, digest);
    /* 15 bytes = 120 bits = exactly 24 base32 characters, so no padding is ever needed. */
    for (i = 0; i < 15; i++) {
        bits = (bits << 8) | digest[i];
        nbits += 8;
        while (nbits >= 5) {
            nbits -= 5;
            if (chars > 0 && chars % 4 == 0)
                out[pos++] = '-';
            out[pos++] = alphabet[(bits >> nbits) & 31];
            chars++;
        }
        bits &= (1u << nbits) - 1;
    }
    out[pos] = '\0';
}

/* Signal's numeric fingerprint (see mim_crypto.h). Public keys and names only: nothing to wipe. */
#define SAFETY_VERSION    0    /* 2 bytes, big-endian */
#define SAFETY_ITERATIONS 5200 /* SHA-512 rounds in all, as Signal's */
#define SAFETY_SIDE       30   /* digits per side */
static_assert(crypto_hash_sha512_BYTES >= 30, "a side's digits come from 30 hash bytes");
static_assert(MIM_SAFETY_NUMBER_LEN == 2 * SAFETY_SIDE + 2 * SAFETY_SIDE / 5 - 1 + 1,
              "60 digits in groups of 5, spaces between, NUL");

/* One side's 30 digits (no NUL). */
static void safety_side(const uint8_t pk[MIM_KEY_LEN], const char *name, char out[SAFETY_SIDE])
{
    static const uint8_t version[2] = {SAFETY_VERSION >> 8, SAFETY_VERSION & 0xff};
    uint8_t h[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;

    /* Round 1 hashes (version || pk || name) || pk; every later round h || pk. */
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, version, sizeof(version));
    crypto_hash_sha512_update(&st, pk, MIM_KEY_LEN);
    if (name != NULL)
        crypto_hash_sha512_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha512_update(&st, pk, MIM_KEY_LEN);
    crypto_hash_sha512_final(&st, h);
    for (int i = 1; i < SAFETY_ITERATIONS; i++) {
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, h, sizeof(h));
        crypto_hash_sha512_update(&st, pk, MIM_KEY_LEN);
        crypto_hash_sha512_final(&st, h);
    }
    /* Six 40-bit big-endian chunks, each mod 100000 as 5 zero-padded digits. */
    for (int c = 0; c < 6; c++) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++)
            v = (v << 8) | h[c * 5 + k];
        v %= 100000;
        for (int d = 4; d >= 0; d--) {
            out[c * 5 + d] = (char)('0' + v % 10);
            v /= 10;
        }
    }
}

void mim_safety_number(const uint8_t a_pk[MIM_KEY_LEN], const char *a_name,
                       const uint8_t b_pk[MIM_KEY_LEN], const char *b_name,
                       char out[MIM_SAFETY_NUMBER_LEN])
{
    char a[SAFETY_SIDE], b[SAFETY_SIDE], joined[2 * SAFETY_SIDE];
    size_t pos = 0;

    safety_side(a_pk, a_name, a);
    safety_side(b_pk, b_name, b);
    /* Equal-length digit strings: byte order is numeric order. Lower first, so that both
     * users compute the same number whichever side they are. */
    if (memcmp(a, b, SAFETY_SIDE) <= 0) {
        memcpy(joined, a, SAFETY_SIDE);
        memcpy(joined + SAFETY_SIDE, b, SAFETY_SIDE);
    } else {
        memcpy(joined, b, SAFETY_SIDE);
        memcpy(joined + SAFETY_SIDE, a, SAFETY_SIDE);
    }
    for (size_t i = 0; i < sizeof(joined); i++) {
        if (i > 0 && i % 5 == 0)
            out[pos++] = ' ';
        out[pos++] = joined[i];
    }
    out[pos] = '\0';
}
