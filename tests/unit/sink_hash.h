/* For the tests of file_sink (test_file_sink.c, test_file_sink_dir.c): the SHA-256 of a sink's
 * whole written stream, read back through file_sink_read, to check what reached the disk. (The
 * peer itself hashes the stream as it is written, core_transfer_sha.c; it never reads the whole
 * file back this way.) Header-only; include after file_sink.h and mim_crypto.h. */
#ifndef SINK_HASH_H
#define SINK_HASH_H

#include <stdint.h>
#include <stdlib.h>

/* hex: 64 digits + NUL. 0, MIM_ENOMEM, or file_sink_read's error. */
static inline int sink_sha256_hex(file_sink *s, int64_t total, char hex[MIM_SHA256_HEX_LEN])
{
    enum { BLOCK = 1 << 20 };
    uint8_t *block = malloc(BLOCK), hash[MIM_HASH_LEN];
    mim_sha256_state st;
    int64_t offset = 0, got = 0;

    if (block == NULL)
        return MIM_ENOMEM;
    mim_sha256_init(&st);
    while (offset < total && (got = file_sink_read(s, offset, block, BLOCK)) > 0) {
        mim_sha256_update(&st, block, (size_t)got);
        offset += got;
    }
    free(block);
    mim_sha256_final(&st, hash);
    if (got < 0)
        return (int)got;
    mim_hash_hex(hex, hash);
    return MIM_OK;
}

#endif
