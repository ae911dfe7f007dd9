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
    admission_limits lim = {
        .max_unauth = max_unauth, .max_unauth_per_ip = per_ip, .rate_per_ip = rate};
    assert_int_equal(admission_init(a, &lim), 0);
    EXPECT_COUNT(a->ips.count, 0);
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
    EXPECT_COUNT(a.ips.count, 2);
    /* Each is at its per-IP cap of 1 independently. */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 0), ADMIT_PER_IP);
    /* The mapped form cannot buy ip_a a second allowance. */
    EXPECT_VERDICT(admission_enter(&a, mapped, 16, 0), ADMIT_PER_IP);
    EXPECT_COUNT(a.ips.count, 2);
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
    count = a.ips.count;
    admission_free(&a);
    if (verdict != ADMIT_OK || count != 2)
        fail_msg("IPv6 c0a8:10a:: shares a key with IPv4 192.168.1.10: verdict %d (%s), %zu "
                 "tracked IPs, want 0 (admitted) and 2",
                 verdict, admission_reason(verdict), count);
}

/* fe80::1 and fe80::2: two hosts on one link, which share fe80::/64 (as every LAN's hosts share
 * its global /64). */
static const uint8_t ll1[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t ll2[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

/* By default each IPv6 address is its own source: one host cannot use up another's allowance. */
static void test_ipv6_keyed_per_address(void **state)
{
    admission a;
    uint8_t k1[16], k2[16];
    (void)state;

    init(&a, 100, 1, 100);
    admission_key_of(&a.lim, ll1, 16, k1);
    admission_key_of(&a.lim, ll2, 16, k2);
    if (memcmp(k1, k2, 16) == 0)
        fail_msg("fe80::1 and fe80::2 have the same admission key by default");
    assert_memory_equal(k1, ll1, 16); /* the whole address */
    EXPECT_VERDICT(admission_enter(&a, ll1, 16, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ll1, 16, 0), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, ll2, 16, 0), ADMIT_OK);
    EXPECT_COUNT(a.ips.count, 2);
    admission_free(&a);
}

/* --ipv6-prefix 64 and --ipv4-prefix 24: the addresses of one prefix share one allowance. */
static void test_prefixes_configurable(void **state)
{
    admission a;
    admission_limits lim = {.max_unauth = 100, .max_unauth_per_ip = 1, .rate_per_ip = 100};
    uint8_t other64[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t odd[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff};
    uint8_t key[16];
    const uint8_t other24[4] = {192, 168, 2, 10};
    (void)state;

    lim.ipv6_prefix = 64;
    lim.ipv4_prefix = 24;
    assert_int_equal(admission_init(&a, &lim), 0);
    EXPECT_VERDICT(admission_enter(&a, ll1, 16, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ll2, 16, 0), ADMIT_PER_IP);
    EXPECT_VERDICT(admission_enter(&a, other64, 16, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);     /* 192.168.1.10 */
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 0), ADMIT_PER_IP); /* 192.168.1.11 */
    EXPECT_VERDICT(admission_enter(&a, other24, 4, 0), ADMIT_OK);
    EXPECT_COUNT(a.ips.count, 4);
    admission_free(&a);

    /* A prefix that is not a whole number of bytes. */
    lim.ipv6_prefix = 36;
    admission_key_of(&lim, odd, 16, key);
    assert_memory_equal(key, ((const uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, 0xf0}), 16);
}

static void test_sweep(void **state)
{
    admission a;
    (void)state;

    init(&a, 100, 10, 10); /* burst 20, 100 ms per token */
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 0), ADMIT_OK);
    EXPECT_COUNT(a.ips.count, 3);
    admission_leave(&a, ip_a, 4);
    admission_leave(&a, ip6_a, 16);

    /* Right away, ip_a and ip6_a are a token short of a full bucket: still remembered, or a
     * flood could reset its bucket by pausing for one sweep. */
    admission_sweep(&a, 50);
    EXPECT_COUNT(a.ips.count, 3);
    /* 100 ms refills the one token: idle addresses go, ip_b (still in its handshake) stays. */
    admission_sweep(&a, 100);
    EXPECT_COUNT(a.ips.count, 1);
    EXPECT_COUNT(a.unauth_total, 1);
    admission_leave(&a, ip_b, 4);
    EXPECT_COUNT(a.unauth_total, 0);
    admission_sweep(&a, 100000);
    EXPECT_COUNT(a.ips.count, 0);
    /* A forgotten address starts over with a full bucket. */
    for (int i = 0; i < 10; i++)
        EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 100000), ADMIT_OK);
    EXPECT_COUNT(a.ips.count, 1);
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
    EXPECT_COUNT(a.ips.count, 1);
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
    EXPECT_COUNT(a.ips.count, 0);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    admission_leave(&a, ip_b, 4); /* unknown, while another is counted */
    EXPECT_COUNT(a.unauth_total, 1);
    EXPECT_COUNT(a.ips.count, 1);
    EXPECT_VERDICT(admission_enter(&a, ip_a, 4, 0), ADMIT_OK);
    EXPECT_VERDICT(admission_enter(&a, ip_b, 4, 0), ADMIT_FULL);
    admission_free(&a);
    /* Freed state is zeroed. */
    EXPECT_COUNT(a.ips.count, 0);
    assert_null(a.ips.buckets);
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
    EXPECT_COUNT(a.ips.count, 3000);
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
    EXPECT_COUNT(a.ips.count, 1500);
    admission_free(&a);
}

/* ---- fairness under a flood ------------------------------------------------------------------ */

/* Full: a newcomer from a source holding fewer slots evicts the oldest slot of the source holding
 * the most, and is admitted; a source that already holds as many as anyone is refused. */
static void test_full_evicts_the_biggest_holder(void **state)
{
    admission a;
    admission_slot s[8] = {0}, n1 = {0}, n2 = {0}, *victim;
    (void)state;

    init(&a, 6, 4, 100);
    for (int i = 0; i < 4; i++) /* ip_a: 4, the oldest first */
        EXPECT_VERDICT(admission_admit(&a, &s[i], ip_a, 4, 10 + i, &victim), ADMIT_OK);
    for (int i = 4; i < 6; i++) /* ip_b: 2 */
        EXPECT_VERDICT(admission_admit(&a, &s[i], ip_b, 4, 10 + i, &victim), ADMIT_OK);
    EXPECT_COUNT(a.unauth_total, 6);
    /* ip_c holds none: it takes ip_a's oldest place. */
    EXPECT_VERDICT(admission_admit(&a, &n1, ip_c, 4, 100, &victim), ADMIT_OK);
    if (victim != &s[0])
        fail_msg("evicted slot %td, want ip_a's oldest (0)", victim - s);
    assert_null(s[0].src);
    EXPECT_COUNT(a.unauth_total, 6);
    admission_release(&a, victim, 200, 0); /* the owner's close: harmless */
    EXPECT_COUNT(a.unauth_total, 6);
    /* ip_a 3, ip_b 2, ip_c 1: ip_c again, then ip_a's next oldest goes. */
    EXPECT_VERDICT(admission_admit(&a, &n2, ip_c, 4, 101, &victim), ADMIT_OK);
    assert_ptr_equal(victim, &s[1]);
    /* ip_a 2, ip_b 2, ip_c 2: nobody holds more than ip_b, which is refused. */
    EXPECT_VERDICT(admission_admit(&a, &s[6], ip_b, 4, 102, &victim), ADMIT_FULL);
    assert_null(victim);
    /* The slot-less form never evicts. */
    EXPECT_VERDICT(admission_enter(&a, ip6_a, 16, 102), ADMIT_FULL);
    /* A tie goes to the older slot: ip_a's s[2] (12) is older than ip_b's s[4] (14). */
    EXPECT_VERDICT(admission_admit(&a, &s[7], ip6_a, 16, 103, &victim), ADMIT_OK);
    assert_ptr_equal(victim, &s[2]);
    EXPECT_COUNT(a.unauth_total, 6);
    admission_free(&a);
}

/* Eight sources hold every slot and take back each slot they lose; a newcomer still gets in,
 * every time, and is never the one evicted while the flood holds more than it. */
static void test_flood_cannot_lock_out(void **state)
{
    enum { SOURCES = 8, PER = 4, ROUNDS = 200 };
    admission a;
    admission_slot flood[SOURCES][PER] = {{{0}}}, guest[ROUNDS] = {{0}}, *victim;
    uint8_t ip[4] = {10, 0, 0, 0}, me[4] = {10, 0, 1, 1};
    uint64_t t = 0;
    (void)state;

    init(&a, SOURCES * PER, PER, 1000000);
    for (int r = 0; r < ROUNDS; r++) {
        /* The flood refills every place it lost (refused when full: fine). */
        for (int i = 0; i < SOURCES; i++)
            for (int j = 0; j < PER; j++) {
                ip[3] = (uint8_t)(i + 2);
                if (flood[i][j].src == NULL)
                    (void)admission_admit(&a, &flood[i][j], ip, 4, ++t, &victim);
            }
        EXPECT_VERDICT(admission_admit(&a, &guest[r], me, 4, ++t, &victim), ADMIT_OK);
        assert_non_null(victim);
        assert_true(victim < &guest[0] || victim >= &guest[ROUNDS]);
        admission_release(&a, &guest[r], ++t, 1); /* logged in */
    }
    admission_free(&a);
}

/* A source is charged the time its slots were held without a login; at penalty_min it is
 * refused until the charge has run out. A login costs nothing; one slot at a time never adds up. */
static void test_penalties(void **state)
{
    admission a;
    admission_limits lim = {.max_unauth = 100,
                            .max_unauth_per_ip = 10,
                            .rate_per_ip = 1000,
                            .penalty_min_ms = 3000,
                            .penalty_max_ms = 10000};
    admission_slot s[4] = {0}, t = {0};
    uint64_t now = 1000;
    (void)state;

    assert_int_equal(admission_init(&a, &lim), 0);
    /* One connection at a time, each timing out after 1 s: the charge runs down as fast. */
    for (int i = 0; i < 10; i++, now += 1000) {
        EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now, NULL), ADMIT_OK);
        admission_release(&a, &t, now + 1000, 0);
    }
    /* Logged in after 5 s: no charge. */
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now, NULL), ADMIT_OK);
    admission_release(&a, &t, now + 5000, 1);
    now += 5000;
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now, NULL), ADMIT_OK);
    admission_release(&a, &t, now, 1);
    /* Four held 1 s in parallel: 4 s >= 3 s: penalised, ip_b not. */
    for (int i = 0; i < 4; i++)
        EXPECT_VERDICT(admission_admit(&a, &s[i], ip_a, 4, now, NULL), ADMIT_OK);
    now += 1000;
    for (int i = 0; i < 4; i++)
        admission_release(&a, &s[i], now, 0);
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now, NULL), ADMIT_PENALTY);
    EXPECT_VERDICT(admission_admit(&a, &t, ip_b, 4, now, NULL), ADMIT_OK);
    admission_release(&a, &t, now, 1);
    /* Refused until the whole charge has run out, not only down to the minimum. */
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now + 3999, NULL), ADMIT_PENALTY);
    admission_sweep(&a, now + 3999); /* remembered while charged */
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now + 4000, NULL), ADMIT_OK);
    admission_release(&a, &t, now + 4000, 1);
    /* The charge is capped at penalty_max: 40 s held in parallel cost 10 s. */
    now += 4000;
    for (int i = 0; i < 4; i++)
        EXPECT_VERDICT(admission_admit(&a, &s[i], ip_a, 4, now, NULL), ADMIT_OK);
    now += 10000;
    for (int i = 0; i < 4; i++)
        admission_release(&a, &s[i], now, 0);
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now + 9999, NULL), ADMIT_PENALTY);
    EXPECT_VERDICT(admission_admit(&a, &t, ip_a, 4, now + 10000, NULL), ADMIT_OK);
    admission_release(&a, &t, now + 10000, 1);
    admission_free(&a);
}

/* Logins per key and per source, per minute, burst as many; a refusal takes no token. */
static void test_login_rates(void **state)
{
    admission a;
    admission_limits lim = {.max_unauth = 100,
                            .max_unauth_per_ip = 100,
                            .rate_per_ip = 1000,
                            .logins_per_min_ip = 6,
                            .logins_per_min_key = 3};
    uint8_t k1[32] = {1}, k2[32] = {2}, k3[32] = {3};
    admission_slot s = {0}, b = {0};
    unsigned retry;
    uint64_t last, now = 100000;
    (void)state;

    assert_int_equal(admission_init(&a, &lim), 0);
    EXPECT_VERDICT(admission_admit(&a, &s, ip_a, 4, now, NULL), ADMIT_OK);
    EXPECT_VERDICT(admission_admit(&a, &b, ip_b, 4, now, NULL), ADMIT_OK);
    EXPECT_VERDICT(admission_login(&a, &s, k1, now, &retry, &last), ADMIT_OK);
    EXPECT_COUNT(last, 0);
    EXPECT_VERDICT(admission_login(&a, &s, k1, now + 5, &retry, &last), ADMIT_OK);
    EXPECT_COUNT(last, now);
    EXPECT_VERDICT(admission_login(&a, &s, k1, now + 5, NULL, NULL), ADMIT_OK);
    /* k1 has used its 3: refused, retry in 20 s (3 a minute), even from another source. */
    EXPECT_VERDICT(admission_login(&a, &s, k1, now + 5, &retry, NULL), ADMIT_LOGIN_KEY);
    EXPECT_COUNT(retry, 20);
    EXPECT_VERDICT(admission_login(&a, &b, k1, now + 5, NULL, NULL), ADMIT_LOGIN_KEY);
    /* ip_a has 3 of its 6 left: k2 takes them, then ip_a is refused, for k3 too. */
    for (int i = 0; i < 3; i++)
        EXPECT_VERDICT(admission_login(&a, &s, i < 2 ? k2 : k3, now + 5, NULL, NULL), ADMIT_OK);
    EXPECT_VERDICT(admission_login(&a, &s, k3, now + 5, &retry, NULL), ADMIT_LOGIN_IP);
    EXPECT_COUNT(retry, 10);
    /* The refusal did not take k3's token: from ip_b, k3 has 2 left. */
    EXPECT_VERDICT(admission_login(&a, &b, k3, now + 5, NULL, NULL), ADMIT_OK);
    EXPECT_VERDICT(admission_login(&a, &b, k3, now + 5, NULL, NULL), ADMIT_OK);
    EXPECT_VERDICT(admission_login(&a, &b, k3, now + 5, NULL, NULL), ADMIT_LOGIN_KEY);
    /* 20 s later k1 has one token again. */
    EXPECT_VERDICT(admission_login(&a, &b, k1, now + 20005, NULL, NULL), ADMIT_OK);
    EXPECT_VERDICT(admission_login(&a, &b, k1, now + 20005, NULL, NULL), ADMIT_LOGIN_KEY);
    EXPECT_COUNT(a.keys.count, 3);
    admission_release(&a, &s, now, 1);
    admission_release(&a, &b, now, 1);
    /* Forgotten once their buckets are full and their logins a minute old. */
    admission_sweep(&a, now + 70000);
    EXPECT_COUNT(a.keys.count, 1); /* k1 logged in at +20 s */
    admission_sweep(&a, now + 90000);
    EXPECT_COUNT(a.keys.count, 0);
    EXPECT_COUNT(a.ips.count, 0);
    admission_free(&a);
}

static void test_reasons(void **state)
{
    (void)state;
    static const int verdicts[] = {ADMIT_OK,    ADMIT_FULL,    ADMIT_PER_IP,   ADMIT_RATE,
                                   ADMIT_NOMEM, ADMIT_PENALTY, ADMIT_LOGIN_IP, ADMIT_LOGIN_KEY};
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
        cmocka_unit_test(test_ipv6_keyed_per_address),
        cmocka_unit_test(test_prefixes_configurable),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_sweep_keeps_unauth_with_full_bucket),
        cmocka_unit_test(test_leave_unknown_ip_harmless),
        cmocka_unit_test(test_many_ips),
        cmocka_unit_test(test_full_evicts_the_biggest_holder),
        cmocka_unit_test(test_flood_cannot_lock_out),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_login_rates),
        cmocka_unit_test(test_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
