/* Address parsing and printing: v4, v6, with and without port, and what must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_addr.h"
#include "mim_error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* Parses s and checks the printed form and port. */
static void check_parse(const char *s, uint16_t def, int family, const char *printed, uint16_t port)
{
    struct sockaddr_storage ss;
    char out[MIM_ADDR_STRLEN];

    assert_int_equal(mim_addr_parse(s, def, &ss), MIM_OK);
    assert_int_equal(ss.ss_family, family);
    mim_addr_format((const struct sockaddr *)&ss, out);
    assert_string_equal(out, printed);
    assert_int_equal(mim_addr_port((const struct sockaddr *)&ss), port);
}

static void test_parse_v4(void **state)
{
    (void)state;
    check_parse("10.0.0.1", 4242, AF_INET, "10.0.0.1:4242", 4242);
    check_parse("10.0.0.1:7", 4242, AF_INET, "10.0.0.1:7", 7);
    check_parse("255.255.255.255:65535", 1, AF_INET, "255.255.255.255:65535", 65535);
    check_parse("127.0.0.1:1", 0, AF_INET, "127.0.0.1:1", 1);
}

static void test_parse_v6(void **state)
{
    (void)state;
    check_parse("::1", 4242, AF_INET6, "[::1]:4242", 4242);
    check_parse("[::1]:5", 4242, AF_INET6, "[::1]:5", 5);
    check_parse("[::1]", 4242, AF_INET6, "[::1]:4242", 4242);
    check_parse("fe80::1:2", 9, AF_INET6, "[fe80::1:2]:9", 9); /* bare: last group is no port */
    check_parse("[2001:db8::ff]:65535", 1, AF_INET6, "[2001:db8::ff]:65535", 65535);
    check_parse("::ffff:10.1.2.3", 80, AF_INET6, "[::ffff:10.1.2.3]:80", 80);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:99999",
        "1.2.3.4:123456",
        "1.2.3.4:",
        "1.2.3.4:12a",
        "1.2.3.4:+12",
        "1.2.3.4:-1",
        "1.2.3.4: 12",
        "1.2.3.4:0x10",
        "[::1",
        "[::1]:",
        "[::1]x",
        "[::1]:0",
        "[1.2.3.4]:5",
        "[]:5",
        "host.name",
        "host.name:80",
        "localhost",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        " 1.2.3.4",
        "1.2.3.4 ",
        ":80",
        ":::",
        "1::2::3",
        "[::1]:80:80",
        "1.2.3.4:80:80x",
    };
    struct sockaddr_storage ss;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = mim_addr_parse(bad[i], 4242, &ss);
        if (rc != MIM_EINVAL)
            fail_msg("accepted \"%s\" (rc %d)", bad[i], rc);
    }
    assert_int_equal(mim_addr_parse(NULL, 4242, &ss), MIM_EINVAL);
}

static void test_raw(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    uint8_t raw[16];
    const uint8_t v4[4] = {192, 168, 1, 20};
    uint8_t v6[16] = {0};

    assert_int_equal(mim_addr_parse("192.168.1.20:9", 0, &ss), MIM_OK);
    assert_int_equal(mim_addr_raw((const struct sockaddr *)&ss, raw), 4);
    assert_memory_equal(raw, v4, 4);

    /* A v4 peer seen through a dual-stack socket is the same v4 address. */
    assert_int_equal(mim_addr_parse("[::ffff:192.168.1.20]:9", 0, &ss), MIM_OK);
    assert_int_equal(mim_addr_raw((const struct sockaddr *)&ss, raw), 4);
    assert_memory_equal(raw, v4, 4);

    assert_int_equal(mim_addr_parse("::1", 0, &ss), MIM_OK);
    v6[15] = 1;
    assert_int_equal(mim_addr_raw((const struct sockaddr *)&ss, raw), 16);
    assert_memory_equal(raw, v6, 16);

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    assert_int_equal(mim_addr_raw((const struct sockaddr *)&ss, raw), 0);
    assert_int_equal(mim_addr_port((const struct sockaddr *)&ss), 0);
}

static void test_format_longest_fits(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    char out[MIM_ADDR_STRLEN];

    assert_int_equal(
        mim_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 0, &ss), MIM_OK);
    mim_addr_format((const struct sockaddr *)&ss, out);
    assert_true(strlen(out) < MIM_ADDR_STRLEN);
    assert_int_equal(out[0], '[');
    assert_non_null(strstr(out, "]:65535"));

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    mim_addr_format((const struct sockaddr *)&ss, out);
    assert_true(strlen(out) > 0);
}

/* What a presence server's table may send a peer to (issue 12, finding 2). */
static void test_peer_ok(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        int remote_ok, loopback_ok; /* from a remote server, from a loopback one */
    } cases[] = {
        {"192.168.1.20", 1, 1},     {"10.0.0.1", 1, 1},
        {"1.2.3.4", 1, 1},          {"223.255.255.254", 1, 1},
        {"0.0.0.0", 0, 0},         /* unspecified */
        {"0.1.2.3", 0, 0},         /* "this network" */
        {"224.0.0.1", 0, 0},       /* multicast */
        {"239.255.255.250", 0, 0}, /* multicast (SSDP) */
        {"240.0.0.1", 0, 0},       /* reserved */
        {"255.255.255.255", 0, 0}, /* broadcast */
        {"127.0.0.1", 0, 1},       /* loopback: only from a loopback server */
        {"127.1.2.3", 0, 1},        {"fe80::1", 1, 1},
        {"2001:db8::7", 1, 1},      {"::", 0, 0},  /* unspecified */
        {"ff02::1", 0, 0},                         /* multicast: all nodes */
        {"ff05::2", 0, 0},          {"::1", 0, 1}, /* loopback */
        {"::ffff:127.0.0.1", 0, 1},                /* mapped: judged as IPv4 */
        {"::ffff:0.0.0.0", 0, 0},   {"::ffff:255.255.255.255", 0, 0},
        {"::ffff:10.1.1.1", 1, 1},
    };
    uint8_t raw[16];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss;
        size_t n;
        int got_remote, got_loop;
        assert_int_equal(mim_addr_parse(cases[i].addr, 1, &ss), MIM_OK);
        /* mim_addr_raw turns a mapped address into 4 bytes: test the 16-byte form too. */
        if (ss.ss_family == AF_INET6) {
            memcpy(raw, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
            n = 16;
        } else {
            n = mim_addr_raw((const struct sockaddr *)&ss, raw);
        }
        got_remote = mim_addr_peer_ok(raw, n, 0);
        got_loop = mim_addr_peer_ok(raw, n, 1);
        if (got_remote != cases[i].remote_ok || got_loop != cases[i].loopback_ok)
            fail_msg("%s: remote %d loopback %d, expected %d %d", cases[i].addr, got_remote,
                     got_loop, cases[i].remote_ok, cases[i].loopback_ok);
        assert_int_equal(mim_addr_raw_is_loopback(raw, n),
                         cases[i].loopback_ok && !cases[i].remote_ok);
    }
    assert_int_equal(mim_addr_peer_ok(raw, 5, 1), 0); /* neither 4 nor 16 bytes */
    assert_int_equal(mim_addr_peer_ok(NULL, 4, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_v4),
        cmocka_unit_test(test_parse_v6),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_format_longest_fits),
        cmocka_unit_test(test_peer_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
