/* The crypto door's hashing of file contents: known answers for BLAKE2b-256 and SHA-256
 * (Python's hashlib agrees), streams equal to one-shot hashes however the input is cut, the
 * SHA-256 chain of scheme 1 (chaining values, resuming, the check of one chunk), and the hex
 * form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_crypto.h"
#include "mim_test.h"

#include <stdlib.h>
#include <string.h>

static void hex_of(const uint8_t h[32], char out[MIM_SHA256_HEX_LEN])
{
    mim_hash_hex(out, h);
}

static void test_blake2b_known_answers(void **state)
{
    (void)state;
    uint8_t h[MIM_BLAKE2B_LEN];
    char hex[MIM_SHA256_HEX_LEN];

    mim_blake2b(h, "abc", 3);
    hex_of(h, hex);
    assert_string_equal(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    mim_blake2b(h, "", 0);
    hex_of(h, hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

static void test_sha256_known_answers(void **state)
{
    (void)state;
    uint8_t h[MIM_HASH_LEN];
    char hex[MIM_SHA256_HEX_LEN];
    mim_sha256_state st;

    mim_sha256_init(&st);
    mim_sha256_update(&st, "a", 1);
    mim_sha256_update(&st, "bc", 2);
    mim_sha256_final(&st, h);
    hex_of(h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* A million 'a's, fed in uneven pieces: the stream equals the published answer for both. */
static void test_streams_of_a_million_as(void **state)
{
    (void)state;
    size_t total = 1000000, done = 0, piece = 1;
    char *a = malloc(total), hex[MIM_SHA256_HEX_LEN];
    uint8_t h[MIM_HASH_LEN], one[MIM_BLAKE2B_LEN];
    mim_sha256_state sha;
    mim_blake2b_state b2;

    assert_non_null(a);
    memset(a, 'a', total);
    mim_sha256_init(&sha);
    mim_blake2b_init(&b2);
    while (done < total) {
        size_t n = piece < total - done ? piece : total - done;

        mim_sha256_update(&sha, a + done, n);
        mim_blake2b_update(&b2, a + done, n);
        done += n;
        piece = piece * 3 + 1; /* 1, 4, 13, 40, ...: cuts inside and across blocks */
    }
    mim_sha256_final(&sha, h);
    hex_of(h, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    mim_blake2b_final(&b2, h);
    mim_blake2b(one, a, total);
    assert_memory_equal(h, one, sizeof(one));
    hex_of(h, hex);
    assert_string_equal(hex, "0741850f36cba4259628355d1073e24ddb9ca0e1bfac36fd39ae5dc2101e23a4");
    /* final wipes the state: nothing of the input stays behind in the caller's memory */
    for (size_t i = 0; i < sizeof(b2.opaque); i++)
        EXPECT_INT(b2.opaque[i], 0);
    free(a);
}

/* Scheme 1's chain (docs/PROTOCOL.md 14.14.1) on 100,000 'a's in chunks of 64 KiB: H_0 is the
 * SHA-256 chaining value after the first 65,536 bytes (the answer comes from a SHA-256 written
 * apart from OpenSSL, in Python, block by block), H_1 the SHA-256 of all 100,000 (sha256sum
 * agrees); root is SHA-256(H_0 || H_1). Both chunks check alone, a byte changed in either or a
 * chunk checked from the wrong link fails, and a resumed state finishes to the one-shot hash. */
static const char chain_h0[] = "b6eb9bfa218441e3668b9f896b12b850ed1123924167f4fffd8da544fa65e61f";
static const char chain_h1[] = "6d1cf22d7cc09b085dfc25ee1a1f3ae0265804c607bc2074ad253bcc82fd81ee";
static const char chain_root[] = "b5eb6328f54372a64e5bc3b507c4b7ea5088fc48df3dc93bce01bf544a877b58";

static void test_sha256_chain(void **state)
{
    (void)state;
    size_t total = 100000, cs = 65536;
    uint8_t *a = malloc(total), h[2][MIM_HASH_LEN], root[MIM_HASH_LEN], one[MIM_HASH_LEN];
    char hex[MIM_SHA256_HEX_LEN];
    mim_sha256_state st;

    assert_non_null(a);
    memset(a, 'a', total);
    mim_sha256_init(&st);
    mim_sha256_update(&st, a, 100); /* inside a block: no chaining value */
    assert_int_equal(mim_sha256_chain_value(&st, h[0]), -1);
    mim_sha256_update(&st, a + 100, cs - 100);
    assert_int_equal(mim_sha256_chain_value(&st, h[0]), 0);
    hex_of(h[0], hex);
    assert_string_equal(hex, chain_h0);
    mim_sha256_update(&st, a + cs, total - cs);
    mim_sha256_final(&st, h[1]);
    hex_of(h[1], hex);
    assert_string_equal(hex, chain_h1);
    mim_sha256(root, h, sizeof(h));
    hex_of(root, hex);
    assert_string_equal(hex, chain_root);

    assert_true(mim_file_chain_check(NULL, 0, a, cs, 0, h[0]));
    assert_true(mim_file_chain_check(h[0], cs, a + cs, total - cs, 1, h[1]));
    a[cs + 7] = 'b';
    assert_false(mim_file_chain_check(h[0], cs, a + cs, total - cs, 1, h[1]));
    a[cs + 7] = 'a';
    a[0] = 'b';
    assert_false(mim_file_chain_check(NULL, 0, a, cs, 0, h[0]));
    a[0] = 'a';
    assert_false(mim_file_chain_check(h[1], cs, a + cs, total - cs, 1, h[1])); /* wrong link */
    /* The guards alone: each `want` below is what the hashing would give without them. */
    mim_sha256(one, a + cs, total - cs); /* no link: hashed from the initial state */
    assert_false(mim_file_chain_check(NULL, cs, a + cs, total - cs, 1, one));
    mim_sha256_resume(&st, h[0], 0); /* a link at offset 0 */
    mim_sha256_update(&st, a, cs);
    assert_int_equal(mim_sha256_chain_value(&st, one), 0);
    assert_false(mim_file_chain_check(h[0], 0, a, cs, 0, one));
    mim_sha256_resume(&st, h[0], cs + 1); /* an offset inside a block */
    mim_sha256_update(&st, a + cs, 10);
    mim_sha256_final(&st, one);
    assert_false(mim_file_chain_check(h[0], cs + 1, a + cs, 10, 1, one));
    memset(one, 0, sizeof(one)); /* ends inside a block: no chaining value, never a match */
    assert_false(mim_file_chain_check(NULL, 0, a, 100, 0, one));

    mim_sha256_resume(&st, h[0], cs); /* the rest alone gives the whole stream's hash */
    mim_sha256_update(&st, a + cs, total - cs);
    mim_sha256_final(&st, one);
    assert_memory_equal(one, h[1], sizeof(one));
    free(a);
}

/* The classic slip: a last chunk of exactly chunk_size bytes. Its link is the final SHA-256 (with
 * the padding), not the chaining value: 131,072 bytes 'a' in chunks of 64 KiB (docs/PROTOCOL.md's
 * second known answer; H_1 is sha256sum's). */
static void test_sha256_chain_whole_last_chunk(void **state)
{
    (void)state;
    size_t total = 131072, cs = 65536;
    uint8_t *a = malloc(total), h[2][MIM_HASH_LEN], cv[MIM_HASH_LEN];
    char hex[MIM_SHA256_HEX_LEN];
    mim_sha256_state st;

    assert_non_null(a);
    memset(a, 'a', total);
    mim_sha256(h[1], a, total);
    hex_of(h[1], hex);
    assert_string_equal(hex, "b44ffb72fcc259676bd80495fef1b44b808ca8f1ffe1b1706a4d7911b0e31f11");
    mim_sha256_init(&st);
    mim_sha256_update(&st, a, cs);
    assert_int_equal(mim_sha256_chain_value(&st, h[0]), 0);
    assert_true(mim_file_chain_check(h[0], cs, a + cs, cs, 1, h[1]));
    mim_sha256_update(&st, a + cs, cs); /* the chaining value after both: not the file's hash */
    assert_int_equal(mim_sha256_chain_value(&st, cv), 0);
    assert_memory_not_equal(cv, h[1], sizeof(cv));
    assert_false(mim_file_chain_check(h[0], cs, a + cs, cs, 1, cv));
    assert_false(mim_file_chain_check(h[0], cs, a + cs, cs, 0, h[1]));
    mim_sha256(cv, h, sizeof(h));
    hex_of(cv, hex);
    assert_string_equal(hex, "0e2f8cd3bc82d2314e6a121f8c61133727a963c6ab2f45caadac3b96d318492c");
    mim_sha256_final(&st, cv); /* wipes */
    free(a);
}

/* A stream over 2^32 bits: the resumed state carries the length's high word (the final
 * padding's length), as a hash fed every byte would. Chunks of 1 MiB of one repeated byte
 * keep this cheap: 600 MiB hashed once straight and once resumed at 599 MiB. */
static void test_sha256_chain_long_stream(void **state)
{
    (void)state;
    size_t mib = 1u << 20;
    uint8_t *buf = malloc(mib), cv[MIM_HASH_LEN], straight[MIM_HASH_LEN], resumed[MIM_HASH_LEN];
    mim_sha256_state st;

    assert_non_null(buf);
    memset(buf, 0x5c, mib);
    mim_sha256_init(&st);
    for (int i = 0; i < 599; i++)
        mim_sha256_update(&st, buf, mib);
    assert_int_equal(mim_sha256_chain_value(&st, cv), 0);
    mim_sha256_update(&st, buf, mib);
    mim_sha256_final(&st, straight);
    assert_true(mim_file_chain_check(cv, (uint64_t)599 * mib, buf, mib, 1, straight));
    mim_sha256_resume(&st, cv, (uint64_t)599 * mib);
    mim_sha256_update(&st, buf, mib);
    mim_sha256_final(&st, resumed);
    assert_memory_equal(resumed, straight, sizeof(straight));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blake2b_known_answers),
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_streams_of_a_million_as),
        cmocka_unit_test(test_sha256_chain),
        cmocka_unit_test(test_sha256_chain_whole_last_chunk),
        cmocka_unit_test(test_sha256_chain_long_stream),
    };

    if (mim_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
