/* An identity from fixed secrets, for tests, seed writers and fuzz targets that need a real
 * key whose bytes a document or a vector shows (test_keylog.c, test_seal.c, fuzz_identity.h).
 * The key file layout is mim_crypto.h's; the file lives in a fresh temporary directory for the
 * instant the door's loader reads it (there is no other way in to an identity, on purpose). */
#ifndef MIM_TEST_FIXED_IDENTITY_H
#define MIM_TEST_FIXED_IDENTITY_H

#include "mim_crypto.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The identity whose Ed25519 seed is 32 times seed_byte and X25519 secret 32 times x_byte;
 * aborts when it cannot be made. The caller frees it with mim_identity_free. */
static inline mim_identity *fixed_identity(uint8_t seed_byte, uint8_t x_byte)
{
    uint8_t file[80] = "MIMKEY01";
    char dir[] = "/tmp/mim-test-key-XXXXXX", path[64];
    mim_identity *id = NULL;
    int fd;

    memset(file + 8, 0, 8);
    memset(file + 16, seed_byte, 32);
    memset(file + 48, x_byte, 32);
    if (mim_crypto_init() != 0 || mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/key", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, file, sizeof(file)) != (ssize_t)sizeof(file) || close(fd) != 0)
        abort();
    if (mim_identity_load(path, &id) != 0)
        abort();
    unlink(path);
    rmdir(dir);
    return id;
}

#endif
