/* mim-decode's decoder on synthetic captures (tools/decode/synth.c): a presence connection
 * decrypted with its key-log line whether its segments come in order, reordered, overlapping or
 * retransmitted, over IPv4 on Ethernet or IPv6 on a loopback link; nothing decrypted without
 * the line or with a line whose handshake hash or keys are wrong; a stream cut inside a frame
 * (a warning, exit 0); a connection that is not mim on port 4242; discovery datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include "decode.h"
#include "synth.h"

#include "mim_crypto.h"

/* Decodes s with the key-log lines en[0..n): the exit code, the text in *out (malloc'd). */
static int run(const synth *s, mim_keylog_entry *en, size_t n, char **out)
{
    keys k = {.e = en, .n = n, .cap = n};
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    int rc;

    assert_non_null(f);
    rc = decode_bytes(s->buf, s->len, &k, f);
    assert_int_equal(fclose(f), 0);
    return rc;
}

/* One connection, as built: decoded with its line, the two plaintexts must show. */
static void expect_decrypted(int link, int v6, size_t seg, int order)
{
    mim_keylog_entry en;
    synth s;
    char *text;

    synth_begin(&s, link);
    synth_connection(&s, v6, 40000, 4242, seg, order, 1, &en);
    EXPECT_INT(run(&s, &en, 1, &text), 0);
    EXPECT_CONTAINS(text, "handshake hash matches the key log: presence");
    EXPECT_CONTAINS(text, "StatusSet{status: STATUS_BUSY, text: \"" SYNTH_TEXT "\"}");
    EXPECT_CONTAINS(text, "Ping{nonce: 42}");
    EXPECT_CONTAINS(text, "1 mim connections, 2 frames decrypted, 0 warnings");
    EXPECT_CONTAINS(text, v6 ? "#1 tcp [::1]:40000 -> [::2]:4242 presence"
                             : "#1 tcp 127.0.0.1:40000 -> 127.0.0.2:4242 presence");
    free(text);
    synth_free(&s);
}

static void test_in_order(void **state)
{
    (void)state;
    expect_decrypted(SYNTH_ETHERNET, 0, 1400, SYNTH_IN_ORDER);
    expect_decrypted(SYNTH_ETHERNET, 0, 1, SYNTH_IN_ORDER); /* one byte a segment */
    expect_decrypted(SYNTH_NULL, 1, 100, SYNTH_IN_ORDER);
}

static void test_reordered(void **state)
{
    (void)state;
    expect_decrypted(SYNTH_ETHERNET, 0, 40, SYNTH_REORDERED);
    expect_decrypted(SYNTH_NULL, 1, 7, SYNTH_REORDERED);
}

/* Without the line, or with a wrong one: the structure, and no plaintext. */
static void test_no_or_wrong_key(void **state)
{
    mim_keylog_entry en;
    synth s;
    char *text;

    (void)state;
    synth_begin(&s, SYNTH_ETHERNET);
    synth_connection(&s, 0, 40000, 4242, 1400, SYNTH_IN_ORDER, 1, &en);
    EXPECT_INT(run(&s, NULL, 0, &text), 0);
    EXPECT_CONTAINS(text, "frame 32: handshake message 1 (-> e)");
    EXPECT_CONTAINS(text, "frame 198: handshake message 2 (<- e, ee, s, es)");
    EXPECT_CONTAINS(text, "frame 171: handshake message 3 (-> s, se)");
    EXPECT_CONTAINS(text, " -> frame 24: stream header");
    EXPECT_CONTAINS(text, "<-  frame 23: encrypted message\n");
    assert_null(strstr(text, SYNTH_TEXT));
    free(text);
    en.h[0] ^= 1; /* another handshake's line for the same e */
    EXPECT_INT(run(&s, &en, 1, &text), 0);
    assert_null(strstr(text, SYNTH_TEXT));
    EXPECT_CONTAINS(text, "0 frames decrypted, 1 warnings");
    free(text);
    en.h[0] ^= 1;
    en.k2[0] ^= 1; /* the right handshake, a wrong key for the server's stream */
    EXPECT_INT(run(&s, &en, 1, &text), 0);
    EXPECT_CONTAINS(text, SYNTH_TEXT);
    EXPECT_CONTAINS(text, "frame 23: encrypted message that does NOT decrypt");
    EXPECT_CONTAINS(text, "1 frames decrypted, 1 warnings");
    free(text);
    synth_free(&s);
}

/* The capture ends inside the server's last frame: said, and the rest is decoded (exit 0). */
static void test_cut_stream(void **state)
{
    mim_keylog_entry en;
    synth s;
    char *text;

    (void)state;
    synth_begin(&s, SYNTH_ETHERNET);
    synth_connection(&s, 0, 40000, 4242, 1400, SYNTH_CUT, 1, &en);
    EXPECT_INT(run(&s, &en, 1, &text), 0);
    EXPECT_CONTAINS(text, SYNTH_TEXT);
    EXPECT_CONTAINS(text, "1 frames decrypted, 1 warnings");
    free(text);
    /* A file cut inside a record: what came before is decoded, and the exit code is 1. */
    s.len -= 20;
    EXPECT_INT(run(&s, &en, 1, &text), 1);
    EXPECT_CONTAINS(text, "handshake message 1");
    free(text);
    synth_free(&s);
}

static void test_discovery_and_other(void **state)
{
    static const uint8_t http[] = "GET / HTTP/1.0\r\n\r\n";
    synth s;
    char *text;

    (void)state;
    synth_begin(&s, SYNTH_ETHERNET);
    synth_discovery(&s);
    synth_packet(&s, 0, 0, 1, 40001, 4242, 1, 0x18, http, sizeof(http) - 1);
    synth_packet(&s, 0, 0, 1, 40002, 5555, 1, 0x18, http, sizeof(http) - 1);
    EXPECT_INT(run(&s, NULL, 0, &text), 0);
    EXPECT_CONTAINS(text, "127.0.0.1:50000 -> 127.0.0.2:4242 discovery probe, nonce "
                          "0910171e252c333a41484f565d646b72");
    EXPECT_CONTAINS(text, "discovery answer: server TCP port 4242, key 0a11181f");
    /* Port 4242 is reported even when it is not mim; another port is not. */
    EXPECT_CONTAINS(text, "#1 tcp 127.0.0.1:40001 -> 127.0.0.2:4242 not mim");
    assert_null(strstr(text, "5555"));
    EXPECT_CONTAINS(text, "4 records, 0 mim connections");
    free(text);
    synth_free(&s);
}

/* Not a capture at all, and nothing. */
static void test_garbage(void **state)
{
    synth s = {.buf = (uint8_t *)"this is not a pcap file at all, nor pcapng", .len = 42};
    char *text;

    (void)state;
    EXPECT_INT(run(&s, NULL, 0, &text), 1);
    free(text);
    s.len = 0;
    EXPECT_INT(run(&s, NULL, 0, &text), 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_no_or_wrong_key),
        cmocka_unit_test(test_cut_stream),
        cmocka_unit_test(test_discovery_and_other),
        cmocka_unit_test(test_garbage),
    };
    if (mim_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
