/* The crypto door's hashing of file contents (issue 15): the SHA-256 chain of a file's chunks
 * (scheme 1) and SHA-256 of a whole file, BLAKE2b-256 (libsodium's crypto_generichash) for the
 * chunks of scheme 0 and the room log, plus the hex form file_done reports.
 * The states live in the caller's memory as opaque byte arrays of the libraries' exact sizes and
 * alignments, checked below, so no other file needs <sodium.h> or <openssl/sha.h>.
 *
 * SHA-256 is OpenSSL's libcrypto, not libsodium's: libsodium's is portable C (~54 instructions a
 * byte), OpenSSL's picks the CPU's SHA extensions or AVX2 at run time (5-10x faster here; see
 * docs/PERFORMANCE.md). Its low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of
 * EVP, but they keep the state in our memory (EVP_MD_CTX is allocated: a hash dropped halfway,
 * as a transfer's may be, would leak), run the same assembly, and are the only door to the
 * chaining value (SHA256_CTX's h[], Nl, Nh and num are public fields of <openssl/sha.h>) that
 * the chain of scheme 1 exports and resumes from. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init/Update/Final: see above */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"

#include <assert.h>
#include <openssl/sha.h>
#include <string.h>

static_assert(crypto_generichash_blake2b_BYTES == MIM_BLAKE2B_LEN, "BLAKE2b-256 output size");
static_assert(sizeof(crypto_generichash_blake2b_state) == MIM_BLAKE2B_STATE_LEN,
              "BLAKE2b state size");
static_assert(_Alignof(crypto_generichash_blake2b_state) <= _Alignof(mim_blake2b_state),
              "BLAKE2b state alignment");
static_assert(sizeof(SHA256_CTX) == MIM_SHA256_STATE_LEN, "SHA-256 state size");
static_assert(_Alignof(SHA256_CTX) <= _Alignof(mim_sha256_state), "SHA-256 state alignment");
static_assert(MIM_SHA256_HEX_LEN == 2 * MIM_HASH_LEN + 1, "hex of a 32-byte hash");

static crypto_generichash_blake2b_state *blake2b_of(mim_blake2b_state *st)
{
    return (crypto_generichash_blake2b_state *)(void *)st->opaque;
}

static SHA256_CTX *sha256_of(mim_sha256_state *st)
{
    return (SHA256_CTX *)(void *)st->opaque;
}

static const SHA256_CTX *sha256_of_const(const mim_sha256_state *st)
{
    return (const SHA256_CTX *)(const void *)st->opaque;
}

void mim_blake2b(uint8_t out[MIM_BLAKE2B_LEN], const void *in, size_t n)
{
    crypto_generichash(out, MIM_BLAKE2B_LEN, in, n, NULL, 0);
}

void mim_blake2b_init(mim_blake2b_state *st)
{
    crypto_generichash_blake2b_init(blake2b_of(st), NULL, 0, MIM_BLAKE2B_LEN);
}

void mim_blake2b_update(mim_blake2b_state *st, const void *in, size_t n)
{
    crypto_generichash_blake2b_update(blake2b_of(st), in, n);
}

void mim_blake2b_final(mim_blake2b_state *st, uint8_t out[MIM_BLAKE2B_LEN])
{
    crypto_generichash_blake2b_final(blake2b_of(st), out, MIM_BLAKE2B_LEN);
    sodium_memzero(st, sizeof(*st));
}

void mim_sha256_init(mim_sha256_state *st)
{
    (void)SHA256_Init(sha256_of(st)); /* 1 always: nothing to fail in a plain init */
}

void mim_sha256_update(mim_sha256_state *st, const void *in, size_t n)
{
    (void)SHA256_Update(sha256_of(st), in, n); /* 1 always */
}

void mim_sha256_final(mim_sha256_state *st, uint8_t out[MIM_HASH_LEN])
{
    (void)SHA256_Final(out, sha256_of(st)); /* 1 always */
    sodium_memzero(st, sizeof(*st));
}

int mim_sha256_chain_value(const mim_sha256_state *st, uint8_t out[MIM_HASH_LEN])
{
    const SHA256_CTX *ctx = sha256_of_const(st);

    if (ctx->num != 0)
        return -1; /* inside a block: no chaining value yet */
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(ctx->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)ctx->h[i];
    }
    return 0;
}

void mim_sha256_resume(mim_sha256_state *st, const uint8_t cv[MIM_HASH_LEN], uint64_t bytes)
{
    SHA256_CTX *ctx = sha256_of(st);
    uint64_t bits = bytes * 8;

    (void)SHA256_Init(ctx); /* md_len and the rest as a fresh hash has them */
    for (int i = 0; i < 8; i++)
        ctx->h[i] = (SHA_LONG)cv[4 * i] << 24 | (SHA_LONG)cv[4 * i + 1] << 16 |
                    (SHA_LONG)cv[4 * i + 2] << 8 | (SHA_LONG)cv[4 * i + 3];
    ctx->Nl = (SHA_LONG)bits; /* the bit count's low and high 32 bits */
    ctx->Nh = (SHA_LONG)(bits >> 32);
    ctx->num = 0;
}

int mim_file_chain_check(const uint8_t *prev, uint64_t off, const void *chunk, size_t len, int last,
                         const uint8_t want[MIM_HASH_LEN])
{
    mim_sha256_state st;
    uint8_t got[MIM_HASH_LEN];
    int ok;

    if (off % MIM_SHA256_BLOCK != 0 || (prev == NULL) != (off == 0))
        return 0;
    if (prev != NULL)
        mim_sha256_resume(&st, prev, off);
    else
        mim_sha256_init(&st);
    mim_sha256_update(&st, chunk, len);
    if (last)
        mim_sha256_final(&st, got);
    else if (mim_sha256_chain_value(&st, got) != 0)
        memset(got, 0, sizeof(got)); /* a chunk that ends inside a block: never a match */
    ok = sodium_memcmp(got, want, MIM_HASH_LEN) == 0 && (last || len % MIM_SHA256_BLOCK == 0);
    sodium_memzero(&st, sizeof(st));
    return ok;
}

void mim_hash_hex(char out[MIM_SHA256_HEX_LEN], const uint8_t h[MIM_HASH_LEN])
{
    sodium_bin2hex(out, MIM_SHA256_HEX_LEN, h, MIM_HASH_LEN);
}
