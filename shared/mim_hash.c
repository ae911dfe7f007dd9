/* The crypto door's hashing of file contents (issue 15): BLAKE2b-256 per chunk as a stream (the
 * one-shot is mim_blake2b.c's), SHA-256 of a whole file, plus the hex form file_done reports.
 * The states live in the caller's memory as opaque byte arrays of the libraries' exact sizes and
 * alignments, checked below, so no other file needs <sodium.h> or <openssl/sha.h>.
 *
 * The streaming SHA-256 (a received file's, every byte) is OpenSSL's libcrypto, not libsodium:
 * libsodium's is portable C (~54 instructions a byte, 73 % of a receiver's work under callgrind),
 * OpenSSL's picks the CPU's SHA extensions or AVX2 at run time (5-10x faster here; see
 * docs/PERFORMANCE.md). Its low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of
 * EVP, but they keep the state in our memory (EVP_MD_CTX is allocated: a hash dropped halfway,
 * as a transfer's may be, would leak) and run the same assembly. */
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

void mim_hash_hex(char out[MIM_SHA256_HEX_LEN], const uint8_t h[MIM_HASH_LEN])
{
    sodium_bin2hex(out, MIM_SHA256_HEX_LEN, h, MIM_HASH_LEN);
}
