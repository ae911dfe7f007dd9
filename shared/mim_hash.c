/* The crypto door's hashing of file contents (issue 15): BLAKE2b-256 per chunk, SHA-256 of a
 * whole file, both as one-shot and as streams, plus the hex form file_done reports. The states
 * live in the caller's memory as opaque byte arrays of libsodium's exact sizes and alignments,
 * checked below, so no other file needs <sodium.h>. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"

#include <assert.h>
#include <string.h>

static_assert(crypto_generichash_blake2b_BYTES == MIM_BLAKE2B_LEN, "BLAKE2b-256 output size");
static_assert(sizeof(crypto_generichash_blake2b_state) == MIM_BLAKE2B_STATE_LEN,
              "BLAKE2b state size");
static_assert(_Alignof(crypto_generichash_blake2b_state) <= _Alignof(mim_blake2b_state),
              "BLAKE2b state alignment");
static_assert(sizeof(crypto_hash_sha256_state) == MIM_SHA256_STATE_LEN, "SHA-256 state size");
static_assert(_Alignof(crypto_hash_sha256_state) <= _Alignof(mim_sha256_state),
              "SHA-256 state alignment");
static_assert(MIM_SHA256_HEX_LEN == 2 * MIM_HASH_LEN + 1, "hex of a 32-byte hash");

static crypto_generichash_blake2b_state *blake2b_of(mim_blake2b_state *st)
{
    return (crypto_generichash_blake2b_state *)(void *)st->opaque;
}

static crypto_hash_sha256_state *sha256_of(mim_sha256_state *st)
{
    return (crypto_hash_sha256_state *)(void *)st->opaque;
}

void mim_blake2b(uint8_t out[MIM_BLAKE2B_LEN], const void *in, size_t n)
{
    crypto_generichash_blake2b(out, MIM_BLAKE2B_LEN, in, n, NULL, 0);
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
    crypto_hash_sha256_init(sha256_of(st));
}

void mim_sha256_update(mim_sha256_state *st, const void *in, size_t n)
{
    crypto_hash_sha256_update(sha256_of(st), in, n);
}

void mim_sha256_final(mim_sha256_state *st, uint8_t out[MIM_HASH_LEN])
{
    crypto_hash_sha256_final(sha256_of(st), out);
    sodium_memzero(st, sizeof(*st));
}

void mim_hash_hex(char out[MIM_SHA256_HEX_LEN], const uint8_t h[MIM_HASH_LEN])
{
    sodium_bin2hex(out, MIM_SHA256_HEX_LEN, h, MIM_HASH_LEN);
}
