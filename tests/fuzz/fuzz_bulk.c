/* Fuzzes the bulk connection's decoder (issue 15, mim_bulk_msg_decode): whatever it accepts
 * must honour the codec's promises (one body; ids of 16 bytes; ranges increasing, not
 * overlapping, none with a reject; hashes a multiple of 32; data and hashes within a piece;
 * an end's sha256 exactly when DONE), and survive a re-pack. */
#include "fuzz.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_error.h"

#include <string.h>

static void check_accepted(const Mim__BulkMsg *m)
{
    mim_buf b = {0};

    switch (m->body_case) {
    case MIM__BULK_MSG__BODY_REQUEST:
        FUZZ_CHECK(m->request->id.len == MIM_MSG_ID_LEN);
        FUZZ_CHECK(m->request->n_ranges <= MIM_FILE_RANGES_MAX);
        FUZZ_CHECK(!m->request->reject || m->request->n_ranges == 0);
        for (size_t i = 0; i < m->request->n_ranges; i++) {
            FUZZ_CHECK(m->request->ranges[i]->count > 0);
            if (i > 0)
                FUZZ_CHECK(m->request->ranges[i]->first >=
                           m->request->ranges[i - 1]->first + m->request->ranges[i - 1]->count);
        }
        break;
    case MIM__BULK_MSG__BODY_HASHES:
        FUZZ_CHECK(m->hashes->hashes.len % MIM_FILE_HASH_LEN == 0);
        FUZZ_CHECK(m->hashes->hashes.len > 0 && m->hashes->hashes.len <= MIM_FILE_PIECE_MAX);
        break;
    case MIM__BULK_MSG__BODY_DATA:
        FUZZ_CHECK(m->data->data.len > 0 && m->data->data.len <= MIM_FILE_PIECE_MAX);
        break;
    case MIM__BULK_MSG__BODY_END:
        FUZZ_CHECK(m->end->id.len == MIM_MSG_ID_LEN);
        FUZZ_CHECK((m->end->sha256.len == 32) ==
                   (m->end->code == MIM__FILE_END_CODE__FILE_END_DONE));
        break;
    case MIM__BULK_MSG__BODY_MANIFEST:
        FUZZ_CHECK(m->manifest->n_entries > 0 && m->manifest->n_entries <= MIM_FILE_MANIFEST_MAX);
        break;
    default:
        FUZZ_CHECK(0);
    }
    FUZZ_CHECK(mim_bulk_msg_pack(m, &b) == 0);
    mim_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Mim__BulkMsg *m = NULL;
    char err[128];
    int rc = mim_bulk_msg_decode(data, size, &m, err, sizeof(err));

    if (rc != MIM_OK) {
        FUZZ_CHECK(rc == MIM_EDECODE && m == NULL);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    check_accepted(m);
    mim_bulk_msg_free(m);
    return 0;
}
