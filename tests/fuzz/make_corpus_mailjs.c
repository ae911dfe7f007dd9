/* Writes the seed corpus of fuzz_mailjs.c under tests/fuzz/corpus/mailjs/: letters as the
 * shared mailbox stores them (mim_mail_letter_pack), and a few it refuses (a seq set, an empty
 * letter, a bad name, a short key).
 *
 *   fuzz_make_corpus_mailjs [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * Deterministic. Not a test; run it by hand after changing the letter and commit the result. */
#include "mim_buf.h"
#include "mim_codec.h"
#include "seed_file.h"

#include <stdio.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

int main(int argc, char **argv)
{
    uint8_t pk[32], id[MIM_MSG_ID_LEN], sealed[1024];
    Mim__PresenceMsg m;
    Mim__MailItem it;
    mim_buf b = {0};
    uint8_t raw[2048];
    int bad = 0;

    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;

    memset(pk, 0xa5, sizeof(pk));
    memset(id, 0x11, sizeof(id));
    for (size_t i = 0; i < sizeof(sealed); i++)
        sealed[i] = (uint8_t)(i * 31);
    bad |= mim_mail_letter_pack("alice", pk, id, sealed, 1024, 1764650000000ull, &b);
    write_seed("mailjs", "letter_1k", b.data, b.len);
    bad |= mim_mail_letter_pack("Zo\xc3\xa9", pk, id, sealed, 1, 1, &b);
    write_seed("mailjs", "letter_utf8_1", b.data, b.len);
    write_seed("mailjs", "empty", b.data, 0);
    /* Refused: a seq set, a bad name, a short key. */
    mim_mail_item_init(&m, &it, 9, "alice", pk, id, sealed, 64, 5);
    write_seed("mailjs", "seq_set", raw, mim__mail_item__pack(&it, raw));
    mim_mail_item_init(&m, &it, 0, "a\nb", pk, id, sealed, 64, 5);
    write_seed("mailjs", "bad_name", raw, mim__mail_item__pack(&it, raw));
    mim_mail_item_init(&m, &it, 0, "alice", pk, id, sealed, 64, 5);
    it.from_pk.len = 31;
    write_seed("mailjs", "short_key", raw, mim__mail_item__pack(&it, raw));
    mim_buf_free(&b);
    if (bad) {
        fprintf(stderr, "fuzz_make_corpus_mailjs: cannot pack the letters\n");
        return 1;
    }
    return seed_end("shared mailbox letter seeds");
}
