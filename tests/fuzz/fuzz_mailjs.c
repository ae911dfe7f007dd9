/* Fuzzes the shared mailbox's letter (issue 18, mim_mail_letter_decode): the bytes a server
 * reads back from the cluster's JetStream stream, which anyone who can publish on the bus may
 * have written. A letter accepted keeps the MailItem promises (the seq given, a valid sender
 * name, a 32-byte key, a 16-byte id, 1..MIM_MAIL_SEALED_MAX sealed bytes) and packs back, with
 * mim_mail_letter_pack, to a letter that decodes to the same fields. */
#include "fuzz.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_name.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Mim__MailItem *it = NULL, *again = NULL;
    mim_buf b = {0};
    char err[160];

    if (mim_mail_letter_decode(data, size, 42, &it, err, sizeof(err)) != 0) {
        FUZZ_CHECK(it == NULL);
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(it->seq == 42);
    FUZZ_CHECK(mim_name_valid(it->from, strlen(it->from)));
    FUZZ_CHECK(it->from_pk.len == 32 && it->id.len == MIM_MSG_ID_LEN);
    FUZZ_CHECK(it->sealed.len >= 1 && it->sealed.len <= MIM_MAIL_SEALED_MAX);
    FUZZ_CHECK(mim_mail_letter_pack(it->from, it->from_pk.data, it->id.data, it->sealed.data,
                                    it->sealed.len, it->deposited_ms, &b) == 0);
    FUZZ_CHECK(mim_mail_letter_decode(b.data, b.len, 7, &again, err, sizeof(err)) == 0);
    FUZZ_CHECK(strcmp(again->from, it->from) == 0 && again->deposited_ms == it->deposited_ms);
    FUZZ_CHECK(again->sealed.len == it->sealed.len &&
               memcmp(again->sealed.data, it->sealed.data, it->sealed.len) == 0);
    mim_mail_letter_free(again);
    mim_mail_letter_free(it);
    mim_buf_free(&b);
    return 0;
}
