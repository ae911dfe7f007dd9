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

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

static int failures;

/* Writes the key line (when en is not NULL) and then len bytes of the capture. */
static void seed(const char *dir, const char *name, const mim_keylog_entry *en, const uint8_t *p,
                 size_t len)
{
    char path[4096], line[MIM_KEYLOG_LINE_LEN + 1];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "wb")) == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    if (en != NULL) {
        mim_keylog_format(en, line);
        fwrite(line, 1, MIM_KEYLOG_LINE_LEN, f);
    }
    if (fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        failures++;
    }
}

static void connection_seed(const char *dir, const char *name, int link, int v6, size_t seg,
                            int order, int with_key)
{
    mim_keylog_entry en;
    synth s;

    synth_begin(&s, link);
    synth_connection(&s, v6, 40000, 4242, seg, order, 1, &en);
    seed(dir, name, with_key ? &en : NULL, s.buf, s.len);
    synth_free(&s);
}

int main(int argc, char **argv)
{
    static const uint8_t http[] = "GET / HTTP/1.0\r\n\r\n";
    char dir[4096];
    synth s;

    if (mim_crypto_init() != 0)
        return 1;
    snprintf(dir, sizeof(dir), "%s/decode", argc > 1 ? argv[1] : MIM_FUZZ_CORPUS_DIR);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }
    connection_seed(dir, "in_order", SYNTH_ETHERNET, 0, 1400, SYNTH_IN_ORDER, 1);
    connection_seed(dir, "in_order_no_key", SYNTH_ETHERNET, 0, 1400, SYNTH_IN_ORDER, 0);
    connection_seed(dir, "reordered", SYNTH_ETHERNET, 0, 40, SYNTH_REORDERED, 1);
    connection_seed(dir, "ipv6_loopback", SYNTH_NULL, 1, 100, SYNTH_IN_ORDER, 1);
    connection_seed(dir, "cut_stream", SYNTH_ETHERNET, 0, 1400, SYNTH_CUT, 1);
    synth_begin(&s, SYNTH_ETHERNET);
    synth_discovery(&s);
    synth_packet(&s, 0, 0, 1, 40001, 4242, 1, 0x18, http, sizeof(http) - 1);
    seed(dir, "discovery_and_http", NULL, s.buf, s.len);
    seed(dir, "cut_file", NULL, s.buf, s.len - 20);
    synth_free(&s);
    synth_begin(&s, 105); /* 802.11: refused after libpcap took the file (a double close once) */
    seed(dir, "unsupported_link", NULL, s.buf, s.len);
    synth_free(&s);
    return failures ? 1 : 0;
}
