/* mim_safety_number: the per-conversation number two users compare (Signal's numeric
 * fingerprint). Both sides must compute the same 60 digits, any change of key or name must change
 * them, and the value must match an independent implementation of the construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include "mim_crypto.h"

#include <string.h>

static uint8_t pk_a[MIM_KEY_LEN], pk_b[MIM_KEY_LEN];

static int setup_keys(void **state)
{
    (void)state;
    memset(pk_a, 0x01, sizeof(pk_a));
    memset(pk_b, 0x02, sizeof(pk_b));
    return mim_crypto_init() == 0 ? 0 : -1;
}

/* The number for (pk_a, "alice") and (pk_b, "bob"), into out; fills out first so that a missing
 * NUL or a short write shows. */
static void number(const uint8_t *a, const char *an, const uint8_t *b, const char *bn,
                   char out[MIM_SAFETY_NUMBER_LEN])
{
    memset(out, 'X', MIM_SAFETY_NUMBER_LEN);
    mim_safety_number(a, an, b, bn, out);
}

/* Known answer for pk_a = 32 x 0x01, "alice" and pk_b = 32 x 0x02, "bob". Derived independently
 * with python3's hashlib from the description in mim_crypto.h (Signal's construction), not
 * from this code:
 *
 *   def side(pk, name):
 *       h = b"\x00\x00" + pk + name
 *       for _ in range(5200):
 *           h = hashlib.sha512(h + pk).digest()
 *       return "".join("%05d" % (int.from_bytes(h[i*5:i*5+5], "big") % 100000)
 *                      for i in range(6))
 *
 *   side(b"\x01" * 32, b"alice") == "019675601684161937029905244989"
 *   side(b"\x02" * 32, b"bob")   == "023894893341874006419703186220"
 *
 * alice's side is lower, so it comes first; then groups of 5 joined by spaces. */
static const char kat[] = "01967 56016 84161 93702 99052 44989 "
                          "02389 48933 41874 00641 97031 86220";

static void test_known_answer(void **state)
{
    char out[MIM_SAFETY_NUMBER_LEN];

    (void)state;
    number(pk_a, "alice", pk_b, "bob", out);
    assert_string_equal(out, kat);
    number(pk_b, "bob", pk_a, "alice", out);
    assert_string_equal(out, kat);
}

static void test_symmetric(void **state)
{
    char ab[MIM_SAFETY_NUMBER_LEN], ba[MIM_SAFETY_NUMBER_LEN];
    uint8_t x[MIM_KEY_LEN], y[MIM_KEY_LEN];

    (void)state;
    for (int round = 0; round < 8; round++) {
        mim_random_bytes(x, sizeof(x));
        mim_random_bytes(y, sizeof(y));
        number(x, "Zo\xc3\xab", y, "\xe5\xa4\xaa\xe9\x83\x8e", ab);
        number(y, "\xe5\xa4\xaa\xe9\x83\x8e", x, "Zo\xc3\xab", ba);
        assert_string_equal(ab, ba);
    }
}

static void test_format(void **state)
{
    char out[MIM_SAFETY_NUMBER_LEN];
    uint8_t x[MIM_KEY_LEN], y[MIM_KEY_LEN];

    (void)state;
    EXPECT_INT(MIM_SAFETY_NUMBER_LEN, 72);
    for (int round = 0; round < 8; round++) {
        mim_random_bytes(x, sizeof(x));
        mim_random_bytes(y, sizeof(y));
        number(x, "carol", y, "dave", out);
        EXPECT_INT(out[MIM_SAFETY_NUMBER_LEN - 1], '\0');
        EXPECT_INT(strlen(out), MIM_SAFETY_NUMBER_LEN - 1);
        int digits = 0;
        for (size_t i = 0; i < MIM_SAFETY_NUMBER_LEN - 1; i++) {
            /* Every sixth character (5, 11, ..., 65) separates two groups of five digits. */
            if (i % 6 == 5) {
                if (out[i] != ' ')
                    fail_msg("position %zu is '%c', not a space: %s", i, out[i], out);
            } else {
                if (out[i] < '0' || out[i] > '9')
                    fail_msg("position %zu is '%c', not a digit: %s", i, out[i], out);
                digits++;
            }
        }
        EXPECT_INT(digits, 60);
    }
}

static void test_changes_with_inputs(void **state)
{
    char base[MIM_SAFETY_NUMBER_LEN], other[MIM_SAFETY_NUMBER_LEN];
    uint8_t k[MIM_KEY_LEN];

    (void)state;
    number(pk_a, "alice", pk_b, "bob", base);

    /* One bit of either key. */
    memcpy(k, pk_a, sizeof(k));
    k[31] ^= 0x80;
    number(k, "alice", pk_b, "bob", other);
    assert_string_not_equal(base, other);
    memcpy(k, pk_b, sizeof(k));
    k[0] ^= 0x01;
    number(pk_a, "alice", k, "bob", other);
    assert_string_not_equal(base, other);

    /* Either name, including a change that only moves a character across. */
    number(pk_a, "alicf", pk_b, "bob", other);
    assert_string_not_equal(base, other);
    number(pk_a, "alice", pk_b, "Bob", other);
    assert_string_not_equal(base, other);
    number(pk_a, "alic", pk_b, "ebob", other);
    assert_string_not_equal(base, other);

    /* The keys swapped between the names. */
    number(pk_b, "alice", pk_a, "bob", other);
    assert_string_not_equal(base, other);
}

static void test_deterministic(void **state)
{
    char first[MIM_SAFETY_NUMBER_LEN], again[MIM_SAFETY_NUMBER_LEN];
    uint8_t x[MIM_KEY_LEN], y[MIM_KEY_LEN];

    (void)state;
    mim_random_bytes(x, sizeof(x));
    mim_random_bytes(y, sizeof(y));
    number(x, "erin", y, "frank", first);
    number(x, "erin", y, "frank", again);
    assert_string_equal(first, again);

    /* The same user on both sides still gives a well-formed, repeatable number. */
    number(x, "erin", x, "erin", first);
    number(x, "erin", x, "erin", again);
    assert_string_equal(first, again);
    assert_memory_equal(first, first + 36, 35); /* 35 characters on each side of the middle space */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),  cmocka_unit_test(test_symmetric),
        cmocka_unit_test(test_format),        cmocka_unit_test(test_changes_with_inputs),
        cmocka_unit_test(test_deterministic),
    };

    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
