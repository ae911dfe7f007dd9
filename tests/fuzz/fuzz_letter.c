/* Fuzzes the sealed letter (issue 14), chosen at build time:
 *   -DFUZZ_LETTER_DECODE  the input is a MailLetter's bytes (what a blob opens to): decoded and
 *                         validated; one accepted must keep the validator's promises and
 *                         re-encode to exactly the input (canonical);
 *   -DFUZZ_LETTER_OPEN    the input is a blob from the mailbox (MailItem.sealed): opened with
 *                         a fixed identity (the seeds are sealed to it) as mim-mail-v2 from
 *                         the seeds' sender, else as v1, then decoded (and a v1 letter's
 *                         signature checked), as the peer does with every MailItem.
 * Only a blob made with the right keys opens; the seeds carry such blobs, so the paths after
 * the open run on every replay. */
#include "fuzz.h"
#include "fuzz_identity.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

#if !defined(FUZZ_LETTER_DECODE) && !defined(FUZZ_LETTER_OPEN)
#error "define FUZZ_LETTER_DECODE or FUZZ_LETTER_OPEN"
#endif

/* Decodes; an accepted letter holds what mim_letter_decode promises and re-encodes to p. */
static void decode_and_check(const uint8_t *p, size_t len)
{
    Mim__MailLetter *l = NULL;
    char err[160];
    mim_buf again = {0};

    if (mim_letter_decode(p, len, &l, err, sizeof(err)) != 0) {
        FUZZ_CHECK(l == NULL);
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    FUZZ_CHECK(l->from_pk.len == 32 && l->to_pk.len == 32);
    FUZZ_CHECK(mim_name_valid(l->from, strlen(l->from)));
    FUZZ_CHECK(mim_name_valid(l->to, strlen(l->to)));
    if (l->body_case == MIM__MAIL_LETTER__BODY_CHAT) {
        FUZZ_CHECK(l->chat->id.len == MIM_MSG_ID_LEN);
    } else {
        FUZZ_CHECK(l->body_case == MIM__MAIL_LETTER__BODY_DELIVERED);
        FUZZ_CHECK(l->delivered->n_ids >= 1 && l->delivered->n_ids <= MIM_ACK_MAX_IDS);
        FUZZ_CHECK(l->delivered->n_refused == 0);
    }
    if (fuzz_protobuf_round_trips(&l->base)) {
        FUZZ_CHECK(mim_letter_encode(l, &again) == 0);
        FUZZ_CHECK(again.len == len && memcmp(again.data, p, len) == 0);
    }
    mim_buf_free(&again);
    mim_letter_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_LETTER_OPEN
    static mim_identity *me, *alice;
    static mim_mail_keys *keys;
    static uint8_t letter[MIM_SEAL_BLOB_MAX];
    uint8_t sig[MIM_SIG_LEN];
    size_t letter_len = 0;
    Mim__MailLetter *l = NULL;
    char err[160];

    if (me == NULL) {
        me = fuzz_fixed_identity(0x02);    /* bob of make_corpus_letter.c; kept for the run */
        alice = fuzz_fixed_identity(0x01); /* the seeds' sender */
        if (mim_mail_keys_new(me, &keys) != 0)
            abort();
    }
    if (size > MIM_SEAL_BLOB_MAX)
        return 0; /* the peer refuses a MailItem over the largest bucket before opening it */
    /* As the peer: v2 under the pair key with the sender's key, else v1. */
    if (mim_seal2_open(keys, alice->sign_pk, data, size, letter, sizeof(letter), &letter_len) ==
        0) {
        FUZZ_CHECK(letter_len + MIM_SEAL2_OVERHEAD < size);
        decode_and_check(letter, letter_len);
        return 0;
    }
    if (mim_seal_open(me, data, size, letter, sizeof(letter), &letter_len, sig) != 0)
        return 0;
    FUZZ_CHECK(letter_len + MIM_SEAL_OVERHEAD + MIM_SIG_LEN < size);
    decode_and_check(letter, letter_len);
    if (mim_letter_decode(letter, letter_len, &l, err, sizeof(err)) == 0) {
        /* Any verdict is fine (the seeds are signed, mutations are not); a crash is not. */
        (void)mim_seal_verify(l->from_pk.data, me->sign_pk, letter, letter_len, sig);
        mim_letter_free(l);
    }
#else
    decode_and_check(data, size);
#endif
    return 0;
}
