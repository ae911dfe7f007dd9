/* Writes the seed corpora of the sealed letter's fuzz targets (fuzz_letter.c) under
 * tests/fuzz/corpus/letter_decode/ and letter_open/: letters (a chat, a receipt, and a few the
 * codec refuses), and the same letters sealed to the fixed identity the open target holds
 * (fuzz_identity.h, seed 0x02) as mim-mail-v1 and, as <name>_v2, as mim-mail-v2 by alice (seed
 * 0x01), plus one altered blob and one of no bucket's size.
 *
 *   fuzz_make_corpus_letter [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * The letters are deterministic; the blobs are not (crypto_box_seal takes a fresh ephemeral
 * key each time), so a rerun rewrites letter_open/ with other, equally good seeds. Not a test;
 * run it by hand after changing the letter and commit the result. */
#include "fuzz_identity.h"
#include "seed_file.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

static mim_mail_keys *from_keys; /* alice's pair keys: the v2 seeds */

/* The letter, written to letter_decode/<name> and, sealed by `from` to `to`, to
 * letter_open/<name>. */
static void letter_seeds(const char *name, const Mim__MailLetter *l, const mim_identity *from,
                         const mim_identity *to)
{
    uint8_t blob[MIM_SEAL_BLOB_MAX];
    char v2name[64];
    size_t blob_len = 0;
    mim_buf b = {0};

    if (mim_letter_encode(l, &b) != 0)
        abort();
    write_seed("letter_decode", name, b.data, b.len);
    if (mim_seal(from, to->sign_pk, b.data, b.len, blob, sizeof(blob), &blob_len) != 0)
        abort();
    write_seed("letter_open", name, blob, blob_len);
    if (strcmp(name, "chat") == 0) {
        blob[100] ^= 0x40; /* altered on the server: must not open */
        write_seed("letter_open", "chat_altered", blob, blob_len);
        write_seed("letter_open", "chat_cut", blob, blob_len - 1);
    }
    if (mim_seal2(from_keys, to->sign_pk, b.data, b.len, blob, sizeof(blob), &blob_len) != 0)
        abort();
    snprintf(v2name, sizeof(v2name), "%s_v2", name);
    write_seed("letter_open", v2name, blob, blob_len);
    mim_buf_free(&b);
}

static void seeds(const mim_identity *alice, const mim_identity *bob)
{
    Mim__MailLetter l = MIM__MAIL_LETTER__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__Ack ack = MIM__ACK__INIT;
    uint8_t id[16], id2[16];
    ProtobufCBinaryData ids[2] = {{16, id}, {16, id2}};

    memset(id, 0xa5, sizeof(id));
    memset(id2, 0x5a, sizeof(id2));
    l.from = "alice";
    l.from_pk = (ProtobufCBinaryData){32, (uint8_t *)alice->sign_pk};
    l.to = "bob";
    l.to_pk = (ProtobufCBinaryData){32, (uint8_t *)bob->sign_pk};
    c.id = ids[0];
    c.ts_ms = 1764633600000ull;
    c.sender = "alice";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = "see you tomorrow at nine";
    l.body_case = MIM__MAIL_LETTER__BODY_CHAT;
    l.chat = &c;
    letter_seeds("chat", &l, alice, bob);
    ack.n_ids = 2;
    ack.ids = ids;
    l.body_case = MIM__MAIL_LETTER__BODY_DELIVERED;
    l.delivered = &ack;
    letter_seeds("receipt", &l, alice, bob);
    /* Refused by the codec, yet sealed and signed properly: the open target's decode path. */
    ack.n_refused = 1;
    ack.refused = ids;
    letter_seeds("receipt_refused", &l, alice, bob);
    l.body_case = MIM__MAIL_LETTER__BODY_CHAT;
    c.sender = "mallory"; /* not `from`: the codec lets it through, the peer refuses it */
    letter_seeds("chat_other_sender", &l, alice, bob);
    l.from_pk.len = 31;
    letter_seeds("short_key", &l, alice, bob);
}

int main(int argc, char **argv)
{
    mim_identity *alice = fuzz_fixed_identity(0x01), *bob = fuzz_fixed_identity(0x02);

    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    if (mim_mail_keys_new(alice, &from_keys) != 0)
        abort();
    seeds(alice, bob);
    mim_mail_keys_free(from_keys);
    mim_identity_free(alice);
    mim_identity_free(bob);
    return seed_end("letter seeds");
}
