/* Fuzzes the handshake payload decoder, as a server (name_required 0) and as a peer (1).
 * Whatever it accepts must honour the codec's promises: 32-byte key, 64-byte signature, a valid
 * name when one is required and none otherwise. */
#include "fuzz.h"

#include "mim_codec.h"
#include "mim_error.h"

#include <string.h>

static void decode_as(const uint8_t *data, size_t size, int name_required, int with_err)
{
    Mim__HandshakePayload *m = NULL;
    char err[128];
    int rc;

    memset(err, 'X', sizeof(err));
    rc = mim_handshake_payload_decode(data, size, name_required, &m, with_err ? err : NULL,
                                      with_err ? sizeof(err) : 0);
    if (rc != MIM_OK) {
        FUZZ_CHECK(rc == MIM_EDECODE || rc == MIM_ENOMEM);
        if (with_err)
            FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        return;
    }
    FUZZ_CHECK(m != NULL);
    FUZZ_CHECK(m->identity_pk.len == 32 && m->identity_pk.data != NULL);
    FUZZ_CHECK(m->static_sig.len == 64 && m->static_sig.data != NULL);
    FUZZ_CHECK(m->name != NULL);
    if (name_required)
        FUZZ_CHECK(mim_name_valid(m->name, strlen(m->name)));
    else
        FUZZ_CHECK(m->name[0] == '\0');
    mim_handshake_payload_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_as(data, size, 0, 1);
    decode_as(data, size, 1, 1);
    /* err is optional: the decoder must cope without it. */
    decode_as(data, size, 1, 0);
    return 0;
}
