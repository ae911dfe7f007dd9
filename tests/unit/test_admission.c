/* admission: caps on connections that have not logged in yet. Pure, with the clock passed in,
 * so every refill is tested with explicit now_ms values and no sleeping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mim_admission.h"

/* Prints both verdicts by name, with the expression that produced the first. */
#define EXPECT_VERDICT(expr, want)                                                                 \
    do {                                                                                           \
        int got_ = (expr), want_ = (want);                                                         \
        if (got_ != want_)                                                                         \
            fail_msg("%s: %d (%s), want %d (%s)", #expr, got_, admission_reason(got_), want_,      \
                     admission_reason(want_));                                                     \
    } while (0)

#define EXPECT_COUNT(got, want)                                                                    \
    do {                                                                                           \
        unsigned long long got_ = (unsigned long long)(got), want_ = (unsigned long long)(want);   \
        if (got_ != want_)                                                                         \
            fail_msg("%s: %llu, want %llu", #got, got_, want_);                                    \
    } while (0)

static const uint8_t ip_a[4] = {192, 168, 1, 10};
static const uint8_t ip_b[4] = {192, 168, 1, 11};
static const uint8_t ip_c[4] = {10, 0, 0, 1};
/* 2001:db8::1 */
static const uint8_t ip6_a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static void init(admission *a, uint32_t max_unauth, uint32_t per_ip, uint32_t rate)
{
    admission_limits lim = {max_unauth, per_ip, rate};
    assert_int_equal(admission_init(a, &lim), 0);
    EXPECT_COUNT(a->count, 0);
    EXPECT_COUNT(a->unauth_total, 0);
}

static void test_total_cap(void **state)
{
    admission a;
    (void)state;

    init(&a, 3, 10, 100);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 1000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 1000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_c, 4, 1000), ADMIT_OK);
    EXPECT_COUNT(a.unauth_total, 3);
    /* Full, whoever asks, even an address never seen before. */
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 1000), ADMIT_FULL);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 1000), ADMIT_FULL);
    EXPECT_COUNT(a.unauth_total, 3);
    /* A refusal counts nothing: leaving once frees exactly one place. */
    admission_leave(&a, ip_b, 4);
    EXPECT_COUNT(a.unauth_total, 2);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 1000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 1000), ADMIT_FULL);
    admission_free(&a);
}

static void test_per_ip_cap(void **state)
{
    admission a;
    (void)state;

    init(&a, 100, 2, 100);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 5000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 5000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 5000), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 60000), ADMIT_PER_IP); /* time does not help */
    /* Another address is not affected. */
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 60000), ADMIT_OK);
    EXPECT_COUNT(a.unauth_total, 3);
    /* One of ip_a's connections logs in: ip_a may start one more. */
    admission_leave(&a, ip_a, 4);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 60000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 60000), ADMIT_PER_IP);
    EXPECT_COUNT(a.unauth_total, 3);
    admission_free(&a);
}

static void test_rate_limit_and_refill(void **state)
{
    admission a;
    uint64_t t = 1000000;
    (void)state;

    /* 5 per second: a burst of 10, then one token every 200 ms. */
    init(&a, 1000, 1000, 5);
    for (int i = 0; i < 10; i++)
        if (admission_enter(&a, ip_a, 4, t) != ADMIT_OK)
            fail_msg("handshake %d of the burst of 10 refused", i + 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t), ADMIT_RATE);
    EXPECT_COUNT(a.unauth_total, 10);
    /* The rate is per address. */
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, t), ADMIT_OK);

    /* 199 ms later: 0.995 of a token, still refused. */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t + 199), ADMIT_RATE);
    /* 200 ms after the burst: exactly one token. */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t + 200), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t + 200), ADMIT_RATE);
    /* 1 s later: 5 more, not 6. */
    for (int i = 0; i < 5; i++)
        if (admission_enter(&a, ip_a, 4, t + 1200) != ADMIT_OK)
            fail_msg("handshake %d after a 1 s refill refused", i + 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t + 1200), ADMIT_RATE);
    /* An hour of quiet refills to the burst, not beyond. */
    t += 3600 * 1000;
    for (int i = 0; i < 10; i++)
        if (admission_enter(&a, ip_a, 4, t) != ADMIT_OK)
            fail_msg("handshake %d of the refilled burst refused", i + 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t), ADMIT_RATE);
    EXPECT_COUNT(a.unauth_total, 1 + 10 + 1 + 5 + 10);
    /* Leaving does not give tokens back: the rate counts handshakes started. */
    for (int i = 0; i < 26; i++)
        admission_leave(&a, ip_a, 4);
    EXPECT_COUNT(a.unauth_total, 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, t), ADMIT_RATE);
    admission_free(&a);
}

static void test_per_ip_checked_before_rate(void **state)
{
    admission a;
    (void)state;

    /* A refused connection must not use up a token. */
    init(&a, 100, 1, 1); /* burst 2 */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    for (int i = 0; i < 5; i++)
        EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_PER_IP);
    admission_leave(&a, ip_a, 4);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK); /* the second token */
    admission_free(&a);
}

static void test_leave_frees_a_slot(void **state)
{
    admission a;
    (void)state;

    init(&a, 1, 1, 100);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 10), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 10), ADMIT_FULL);
    admission_leave(&a, ip_a, 4);
    EXPECT_COUNT(a.unauth_total, 0);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 10), ADMIT_OK);
    /* A second leave for ip_a (already left) must not free ip_b's slot. */
    admission_leave(&a, ip_a, 4);
    EXPECT_COUNT(a.unauth_total, 1);
    EXPECT_VERDICT(admission_enter(&a, ip_c, 4, 10), ADMIT_FULL);
    admission_free(&a);
}

static void test_ipv4_and_ipv6_keys_distinct(void **state)
{
    admission a;
    /* ::ffff:192.168.1.10 is ip_a as a dual-stack socket reports it: the same host. */
    uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 10};
    (void)state;

    init(&a, 100, 1, 100);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 0), ADMIT_OK);
    EXPECT_COUNT(a.count, 2);
    /* Each is at its per-IP cap of 1 independently. */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 0), ADMIT_PER_IP);
    /* The mapped form cannot buy ip_a a second allowance. */
    EXPECT_VERDICT(admission_enter(&a, mapped, 16, 0), ADMIT_PER_IP);
    EXPECT_COUNT(a.count, 2);
    /* Leaving one family does not touch the other. */
    admission_leave(&a, ip_a, 4);
    EXPECT_COUNT(a.unauth_total, 1);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 0), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    admission_leave(&a, ip6_a, 16);
    EXPECT_COUNT(a.unauth_total, 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_PER_IP);
    admission_free(&a);
}

/* An IPv6 host must not be able to use up an IPv4 host's allowance, or the reverse: a key of
 * the 4 IPv4 bytes followed by 12 zeros would also be the IPv6 address c0a8:10a:: for
 * 192.168.1.10. */
static void test_ipv6_cannot_alias_ipv4(void **state)
{
    admission a;
    uint8_t alias[16] = {192, 168, 1, 10}; /* c0a8:10a:: */
    int verdict;
    size_t count;
    (void)state;

    init(&a, 100, 1, 100);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    verdict = admission_enter(&a, alias, 16, 0);
    count = a.count;
    admission_free(&a);
    if (verdict != ADMIT_OK || count != 2)
        fail_msg("IPv6 c0a8:10a:: shares a key with IPv4 192.168.1.10: verdict %d (%s), %zu "
                 "tracked IPs, want 0 (admitted) and 2",
                 verdict, admission_reason(verdict), count);
}

/* Addresses of one IPv6 /64 share one allowance; another /64 has its own. */
static void test_ipv6_keyed_by_slash64(void **state)
{
    admission a;
    uint8_t host1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t host2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0xde, 0xad, 0, 0, 0, 0, 0, 9};
    uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1};
    (void)state;

    init(&a, 100, 1, 100);
    EXPECT_VERDICT(admission_enter(&a, host1, 16, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, host2, 16, 0), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, other, 16, 0), ADMIT_OK);
    EXPECT_COUNT(a.count, 2);
    admission_free(&a);
}

static void test_sweep(void **state)
{
    admission a;
    (void)state;

    init(&a, 100, 10, 10); /* burst 20, 100 ms per token */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 0), ADMIT_OK);
    EXPECT_COUNT(a.count, 3);
    admission_leave(&a, ip_a, 4);
    admission_leave(&a, ip6_a, 16);

    /* Right away, ip_a and ip6_a are a token short of a full bucket: still remembered, or a
     * flood could reset its bucket by pausing for one sweep. */
    admission_sweep(&a, 50);
    EXPECT_COUNT(a.count, 3);
    /* 100 ms refills the one token: idle addresses go, ip_b (still in its handshake) stays. */
    admission_sweep(&a, 100);
    EXPECT_COUNT(a.count, 1);
    EXPECT_COUNT(a.unauth_total, 1);
    admission_leave(&a, ip_b, 4);
    EXPECT_COUNT(a.unauth_total, 0);
    admission_sweep(&a, 100000);
    EXPECT_COUNT(a.count, 0);
    /* A forgotten address starts over with a full bucket. */
    for (int i = 0; i < 10; i++)
        EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 100000), ADMIT_OK);
    EXPECT_COUNT(a.count, 1);
    admission_free(&a);
}

static void test_sweep_keeps_unauth_with_full_bucket(void **state)
{
    admission a;
    (void)state;

    init(&a, 100, 10, 10);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    /* Hours later the bucket is full, but two connections are still unauthenticated. */
    admission_sweep(&a, 10000000);
    EXPECT_COUNT(a.count, 1);
    /* Their count survived: the cap of 10 allows 8 more, not 10. */
    for (int i = 0; i < 8; i++)
        EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 10000000), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 10000000), ADMIT_PER_IP);
    /* And both leaves still find the entry. */
    for (int i = 0; i < 10; i++)
        admission_leave(&a, ip_a, 4);
    EXPECT_COUNT(a.unauth_total, 0);
    admission_free(&a);
}

static void test_leave_unknown_ip_harmless(void **state)
{
    admission a;
    (void)state;

    init(&a, 2, 2, 10);
    admission_leave(&a, ip_c, 4);
    admission_leave(&a, ip6_a, 16);
    EXPECT_COUNT(a.unauth_total, 0);
    EXPECT_COUNT(a.count, 0);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    admission_leave(&a, ip_b, 4); /* unknown, while another is counted */
    EXPECT_COUNT(a.unauth_total, 1);
    EXPECT_COUNT(a.count, 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 0), ADMIT_FULL);
    admission_free(&a);
    /* Freed state is zeroed. */
    EXPECT_COUNT(a.count, 0);
    assert_null(a.buckets);
}

static void test_many_ips(void **state)
{
    admission a;
    uint8_t ip[4] = {10, 0, 0, 0};
    (void)state;

    /* More addresses than hash buckets: chains must keep every entry apart. */
    init(&a, 100000, 1, 1);
    for (uint32_t i = 0; i < 3000; i++) {
        ip[2] = (uint8_t)(i >> 8);
        ip[3] = (uint8_t)i;
        if (admission_enter(&a, ip, 4, 0) != ADMIT_OK)
            fail_msg("10.0.%u.%u refused", ip[2], ip[3]);
    }
    EXPECT_COUNT(a.count, 3000);
    for (uint32_t i = 0; i < 3000; i++) {
        ip[2] = (uint8_t)(i >> 8);
        ip[3] = (uint8_t)i;
        EXPECT_VERDICT(admission_enter(&a, ip, 4, 0), ADMIT_PER_IP);
    }
    for (uint32_t i = 0; i < 3000; i += 2) {
        ip[2] = (uint8_t)(i >> 8);
        ip[3] = (uint8_t)i;
        admission_leave(&a, ip, 4);
    }
    EXPECT_COUNT(a.unauth_total, 1500);
    admission_sweep(&a, 60000);
    EXPECT_COUNT(a.count, 1500);
    admission_free(&a);
}

static void test_reasons(void **state)
{
    (void)state;
    static const int verdicts[] = {ADMIT_OK, ADMIT_FULL, ADMIT_PER_IP, ADMIT_RATE, ADMIT_NOMEM};
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        const char *r = admission_reason(verdicts[i]);
        assert_non_null(r);
        assert_true(r[0] != '\0');
        for (size_t j = 0; j < i; j++)
            if (strcmp(r, admission_reason(verdicts[j])) == 0)
                fail_msg("verdicts %d and %d share the reason \"%s\"", verdicts[i], verdicts[j], r);
    }
    assert_non_null(admission_reason(99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_cap),
        cmocka_unit_test(test_per_ip_cap),
        cmocka_unit_test(test_rate_limit_and_refill),
        cmocka_unit_test(test_per_ip_checked_before_rate),
        cmocka_unit_test(test_leave_frees_a_slot),
        cmocka_unit_test(test_ipv4_and_ipv6_keys_distinct),
        cmocka_unit_test(test_ipv6_cannot_alias_ipv4),
        cmocka_unit_test(test_ipv6_keyed_by_slash64),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_sweep_keeps_unauth_with_full_bucket),
        cmocka_unit_test(test_leave_unknown_ip_harmless),
        cmocka_unit_test(test_many_ips),
        cmocka_unit_test(test_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
