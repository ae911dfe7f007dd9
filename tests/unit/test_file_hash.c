/* The crypto door's hashing of file contents: known answers for BLAKE2b-256 and SHA-256
 * (Python's hashlib agrees), streams equal to one-shot hashes however the input is cut, and the
 * hex form. */
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

/* mim_blake2b is mim's own code (shared/mim_blake2b.c), the stream libsodium's: the two agree
 * for every length around the 128-byte blocks, and for whole and odd-sized chunks. */
static void test_blake2b_one_shot_equals_libsodium(void **state)
{
    (void)state;
    size_t big = (1u << 20) + 129;
    uint8_t *in = malloc(big), one[MIM_BLAKE2B_LEN], ref[MIM_BLAKE2B_LEN];
    static const size_t bigs[] = {(1u << 20) - 1, 1u << 20, (1u << 20) + 1, (1u << 20) + 129};
    mim_blake2b_state b2;

    assert_non_null(in);
    for (size_t i = 0; i < big; i++)
        in[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
    for (size_t n = 0; n <= 1100 + sizeof(bigs) / sizeof(bigs[0]); n++) {
        size_t len = n <= 1100 ? n : bigs[n - 1101];
        mim_blake2b(one, in, len);
        mim_blake2b_init(&b2);
        mim_blake2b_update(&b2, in, len);
        mim_blake2b_final(&b2, ref);
        if (memcmp(one, ref, sizeof(ref)) != 0)
            fail_msg("mim_blake2b differs from libsodium's for %zu bytes", len);
    }
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blake2b_known_answers),
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_streams_of_a_million_as),
        cmocka_unit_test(test_blake2b_one_shot_equals_libsodium),
    };

    if (mim_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
