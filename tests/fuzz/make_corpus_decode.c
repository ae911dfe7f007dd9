/* Writes the seed corpus of fuzz_decode under tests/fuzz/corpus/decode/: synthetic captures
 * (tools/decode/synth.c) of a presence connection in order, reordered, over IPv6 on a loopback
 * link, cut short, with and without its key-log line, a non-mim connection on port 4242, discovery
 * datagrams, a cut file and a link type mim-decode does not read.
 *
 *   fuzz_make_corpus_decode [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * The secretstream headers are random, so the bytes differ on every run; the structure does
 * not. Not a test; run it by hand and commit the result. */
#include "synth.h"

#include "mim_crypto.h"
#include "seed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

/* Writes the key line (when en is not NULL) and then len bytes of the capture. */
static void seed(const char *name, const mim_keylog_entry *en, const uint8_t *p, size_t len)
{
    char line[MIM_KEYLOG_LINE_LEN + 1];
    uint8_t *buf = malloc(MIM_KEYLOG_LINE_LEN + len + 1);
    size_t n = 0;

    if (buf == NULL)
        abort();
    if (en != NULL) {
        mim_keylog_format(en, line);
        memcpy(buf, line, MIM_KEYLOG_LINE_LEN);
        n = MIM_KEYLOG_LINE_LEN;
    }
    memcpy(buf + n, p, len);
    write_seed("decode", name, buf, n + len);
    free(buf);
}

static void connection_seed(const char *name, int link, int v6, size_t seg, int order, int with_key)
{
    mim_keylog_entry en;
    synth s;

    synth_begin(&s, link);
    synth_connection(&s, v6, 40000, 4242, seg, order, 1, &en);
    seed(name, with_key ? &en : NULL, s.buf, s.len);
    synth_free(&s);
}

int main(int argc, char **argv)
{
    static const uint8_t http[] = "GET / HTTP/1.0\r\n\r\n";
    synth s;

    if (mim_crypto_init() != 0 || seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    connection_seed("in_order", SYNTH_ETHERNET, 0, 1400, SYNTH_IN_ORDER, 1);
    connection_seed("in_order_no_key", SYNTH_ETHERNET, 0, 1400, SYNTH_IN_ORDER, 0);
    connection_seed("reordered", SYNTH_ETHERNET, 0, 40, SYNTH_REORDERED, 1);
    connection_seed("ipv6_loopback", SYNTH_NULL, 1, 100, SYNTH_IN_ORDER, 1);
    connection_seed("cut_stream", SYNTH_ETHERNET, 0, 1400, SYNTH_CUT, 1);
    synth_begin(&s, SYNTH_ETHERNET);
    synth_discovery(&s);
    synth_packet(&s, 0, 0, 1, 40001, 4242, 1, 0x18, http, sizeof(http) - 1);
    seed("discovery_and_http", NULL, s.buf, s.len);
    seed("cut_file", NULL, s.buf, s.len - 20);
    synth_free(&s);
    synth_begin(&s, 105); /* 802.11: refused after libpcap took the file (a double close once) */
    seed("unsupported_link", NULL, s.buf, s.len);
    synth_free(&s);
    return seed_end("capture seeds (decode/)");
}
