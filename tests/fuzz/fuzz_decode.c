/* mim-decode's decoder of untrusted capture bytes (tools/decode/): pcap and pcapng parsing,
 * link/IP/TCP/UDP headers, TCP reassembly, mim frames and handshakes, decryption with a key-log
 * line, discovery datagrams. The input is a capture file, optionally after one key-log line
 * (MIM_SESSION ...\n, 272 bytes) so that seeds reach the decryption and the plaintext printer.
 * Seeds: fuzz_make_corpus_decode (tools/decode/synth.c). */
#include "fuzz.h"

#include "decode.h"
#include "mim_crypto.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    mim_keylog_entry en;
    keys k = {0};
    int rc;

    if (sink == NULL) {
        FUZZ_CHECK(mim_crypto_init() == 0);
        FUZZ_CHECK((sink = fopen("/dev/null", "w")) != NULL);
    }
    if (size >= MIM_KEYLOG_LINE_LEN && data[MIM_KEYLOG_LINE_LEN - 1] == '\n' &&
        mim_keylog_parse((const char *)data, MIM_KEYLOG_LINE_LEN - 1, &en) == 0) {
        k.e = &en;
        k.n = k.cap = 1;
        data += MIM_KEYLOG_LINE_LEN;
        size -= MIM_KEYLOG_LINE_LEN;
    }
    rc = decode_bytes(data, size, &k, sink);
    FUZZ_CHECK(rc == 0 || rc == 1);
    mim_wipe(&en, sizeof(en));
    return 0;
}
