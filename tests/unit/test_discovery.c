/* mim_discovery: the LAN probe and answer datagrams. Every byte of each layout is checked, and
 * each decoder refuses anything but the exact shape (a UDP answer is unauthenticated, so a
 * lenient decoder would let any datagram steer a peer). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <string.h>

#include "mim_discovery.h"
#include "mim_error.h"

static uint8_t nonce[MIM_DISCOVERY_NONCE_LEN];
static uint8_t other_nonce[MIM_DISCOVERY_NONCE_LEN];
static uint8_t key[32];

static int setup_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(nonce); i++) {
        nonce[i] = (uint8_t)(0xa0 + i);
        other_nonce[i] = nonce[i];
    }
    other_nonce[MIM_DISCOVERY_NONCE_LEN - 1] ^= 0x01; /* differs in the last byte only */
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0x11 * (i % 15) + 1);
    return 0;
}

static void test_probe_layout_and_roundtrip(void **state)
{
    uint8_t p[MIM_DISCOVERY_LEN];
    uint8_t got[MIM_DISCOVERY_NONCE_LEN];
    (void)state;

    memset(p, 0xee, sizeof(p)); /* the encoder must write every byte */
    mim_discovery_probe_encode(p, nonce);
    assert_memory_equal(p, "MIM?", 4);
    EXPECT_INT(p[4], MIM_DISCOVERY_VERSION);
    for (size_t i = 5; i < 8; i++)
        EXPECT_INT(p[i], 0);
    assert_memory_equal(p + 8, nonce, MIM_DISCOVERY_NONCE_LEN);
    for (size_t i = 24; i < MIM_DISCOVERY_LEN; i++)
        if (p[i] != 0)
            fail_msg("probe padding byte %zu is 0x%02x, want 0", i, p[i]);

    memset(got, 0, sizeof(got));
    EXPECT_INT(mim_discovery_probe_decode(p, sizeof(p), got), 0);
    assert_memory_equal(got, nonce, sizeof(got));
}

static void test_answer_layout_and_roundtrip(void **state)
{
    static const uint16_t ports[] = {1, 255, 256, 4242, 0x8001, 65535};
    uint8_t p[MIM_DISCOVERY_LEN];
    (void)state;

    for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
        uint16_t port = 0;
        uint8_t got_key[32];

        memset(p, 0xee, sizeof(p));
        mim_discovery_answer_encode(p, nonce, ports[k], key);
        assert_memory_equal(p, "MIM!", 4);
        EXPECT_INT(p[4], MIM_DISCOVERY_VERSION);
        EXPECT_INT(p[5], 0);
        EXPECT_INT(p[6], ports[k] >> 8); /* big-endian */
        EXPECT_INT(p[7], ports[k] & 0xff);
        assert_memory_equal(p + 8, nonce, MIM_DISCOVERY_NONCE_LEN);
        assert_memory_equal(p + 24, key, 32);

        memset(got_key, 0, sizeof(got_key));
        EXPECT_INT(mim_discovery_answer_decode(p, sizeof(p), nonce, &port, got_key), 0);
        EXPECT_INT(port, ports[k]);
        assert_memory_equal(got_key, key, 32);
    }
}

static void test_no_amplification(void **state)
{
    uint8_t probe[MIM_DISCOVERY_LEN], answer[MIM_DISCOVERY_LEN];
    (void)state;

    /* Both fill exactly MIM_DISCOVERY_LEN, and each decoder takes exactly that length, so the
     * answer can never be longer than the probe that asked for it. */
    mim_discovery_probe_encode(probe, nonce);
    mim_discovery_answer_encode(answer, nonce, 4242, key);
    EXPECT_INT(sizeof(probe), sizeof(answer));
    EXPECT_INT(MIM_DISCOVERY_LEN, 4 + 1 + 3 + MIM_DISCOVERY_NONCE_LEN + 32);
    EXPECT_INT(MIM_DISCOVERY_LEN, 4 + 1 + 1 + 2 + MIM_DISCOVERY_NONCE_LEN + 32);
    /* A shorter probe is not a probe, so it gets no answer at all. */
    uint8_t got[MIM_DISCOVERY_NONCE_LEN];
    for (size_t len = 0; len < MIM_DISCOVERY_LEN; len++)
        if (mim_discovery_probe_decode(probe, len, got) != MIM_EINVAL)
            fail_msg("a probe of %zu bytes was accepted", len);
}

static void expect_probe_refused(const char *what, const uint8_t *p, size_t len)
{
    uint8_t got[MIM_DISCOVERY_NONCE_LEN];
    int rc = mim_discovery_probe_decode(p, len, got);
    if (rc != MIM_EINVAL)
        fail_msg("probe %s: rc %d, want MIM_EINVAL (%d)", what, rc, MIM_EINVAL);
}

static void test_probe_refusals(void **state)
{
    uint8_t good[MIM_DISCOVERY_LEN];
    uint8_t p[MIM_DISCOVERY_LEN + 1];
    (void)state;

    mim_discovery_probe_encode(good, nonce);

    /* Each padding byte alone, set to 1. */
    for (size_t i = 5; i < MIM_DISCOVERY_LEN; i++) {
        if (i >= 8 && i < 24)
            continue; /* the nonce: any value */
        memcpy(p, good, sizeof(good));
        p[i] = 0x01;
        uint8_t got[MIM_DISCOVERY_NONCE_LEN];
        if (mim_discovery_probe_decode(p, MIM_DISCOVERY_LEN, got) != MIM_EINVAL)
            fail_msg("probe with padding byte %zu set was accepted", i);
    }
    memcpy(p, good, sizeof(good));
    p[4] = 2;
    expect_probe_refused("version 2", p, MIM_DISCOVERY_LEN);
    p[4] = 0;
    expect_probe_refused("version 0", p, MIM_DISCOVERY_LEN);
    memcpy(p, good, sizeof(good));
    p[3] = '!';
    expect_probe_refused("with the answer's magic", p, MIM_DISCOVERY_LEN);
    memcpy(p, good, sizeof(good));
    p[0] = 'm';
    expect_probe_refused("with a lower-case magic", p, MIM_DISCOVERY_LEN);
    memcpy(p, good, sizeof(good));
    p[MIM_DISCOVERY_LEN] = 0;
    expect_probe_refused("one byte long", p, MIM_DISCOVERY_LEN + 1);
    expect_probe_refused("one byte short", p, MIM_DISCOVERY_LEN - 1);
    expect_probe_refused("empty", p, 0);

    /* An answer is not a probe (the server must not answer its own answers). */
    mim_discovery_answer_encode(p, nonce, 4242, key);
    expect_probe_refused("that is an answer", p, MIM_DISCOVERY_LEN);
}

static void expect_answer_refused(const char *what, const uint8_t *p, size_t len,
                                  const uint8_t *want_nonce)
{
    uint16_t port = 0xbeef;
    uint8_t got_key[32];
    int rc;

    memset(got_key, 0x5a, sizeof(got_key));
    rc = mim_discovery_answer_decode(p, len, want_nonce, &port, got_key);
    if (rc != MIM_EINVAL)
        fail_msg("answer %s: rc %d, want MIM_EINVAL (%d)", what, rc, MIM_EINVAL);
    /* Nothing from a refused answer leaks into the outputs. */
    EXPECT_INT(port, 0xbeef);
    for (size_t i = 0; i < sizeof(got_key); i++)
        if (got_key[i] != 0x5a)
            fail_msg("answer %s: key byte %zu written despite the refusal", what, i);
}

static void test_answer_refusals(void **state)
{
    uint8_t good[MIM_DISCOVERY_LEN];
    uint8_t p[MIM_DISCOVERY_LEN + 1];
    (void)state;

    mim_discovery_answer_encode(good, nonce, 4242, key);

    expect_answer_refused("to another nonce", good, MIM_DISCOVERY_LEN, other_nonce);
    for (size_t i = 8; i < 24; i++) {
        memcpy(p, good, sizeof(good));
        p[i] ^= 0x80;
        expect_answer_refused("with one nonce byte changed", p, MIM_DISCOVERY_LEN, nonce);
    }
    memcpy(p, good, sizeof(good));
    p[3] = '?';
    expect_answer_refused("with the probe's magic", p, MIM_DISCOVERY_LEN, nonce);
    memcpy(p, good, sizeof(good));
    memcpy(p, "MIMI", 4);
    expect_answer_refused("with magic MIMI", p, MIM_DISCOVERY_LEN, nonce);
    memcpy(p, good, sizeof(good));
    p[4] = 2;
    expect_answer_refused("version 2", p, MIM_DISCOVERY_LEN, nonce);
    memcpy(p, good, sizeof(good));
    p[5] = 1;
    expect_answer_refused("with reserved byte 5 set", p, MIM_DISCOVERY_LEN, nonce);
    memcpy(p, good, sizeof(good));
    p[MIM_DISCOVERY_LEN] = 0;
    expect_answer_refused("one byte long", p, MIM_DISCOVERY_LEN + 1, nonce);
    expect_answer_refused("one byte short", p, MIM_DISCOVERY_LEN - 1, nonce);
    expect_answer_refused("empty", p, 0, nonce);

    mim_discovery_answer_encode(p, nonce, 0, key);
    expect_answer_refused("with port 0", p, MIM_DISCOVERY_LEN, nonce);

    /* A probe that echoes our nonce is not an answer. */
    mim_discovery_probe_encode(p, nonce);
    expect_answer_refused("that is a probe", p, MIM_DISCOVERY_LEN, nonce);
}

/* The pinned server's answer wins over whoever answers first (issue 12, finding 2). */
static void test_prefer(void **state)
{
    uint8_t pin[32], other[32];
    (void)state;

    memset(pin, 0x11, sizeof(pin));
    memset(other, 0x22, sizeof(other));
    /* No pin: the first answer is taken at once. */
    assert_int_equal(mim_discovery_prefer(NULL, other, 0), MIM_DISCOVERY_TAKE);
    /* With a pin: its answer at once, first or after another one. */
    assert_int_equal(mim_discovery_prefer(pin, pin, 0), MIM_DISCOVERY_TAKE);
    assert_int_equal(mim_discovery_prefer(pin, pin, 1), MIM_DISCOVERY_TAKE);
    /* Another key: held as the fallback, and only the first such answer. */
    assert_int_equal(mim_discovery_prefer(pin, other, 0), MIM_DISCOVERY_FALLBACK);
    assert_int_equal(mim_discovery_prefer(pin, other, 1), MIM_DISCOVERY_IGNORE);
    /* One differing byte anywhere is another key. */
    memcpy(other, pin, sizeof(pin));
    other[31] ^= 1;
    assert_int_equal(mim_discovery_prefer(pin, other, 0), MIM_DISCOVERY_FALLBACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_layout_and_roundtrip),
        cmocka_unit_test(test_answer_layout_and_roundtrip),
        cmocka_unit_test(test_no_amplification),
        cmocka_unit_test(test_probe_refusals),
        cmocka_unit_test(test_answer_refusals),
        cmocka_unit_test(test_prefer),
    };

    return cmocka_run_group_tests(tests, setup_bytes, NULL);
}
