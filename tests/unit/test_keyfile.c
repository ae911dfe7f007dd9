/* Unit tests for the mim_crypto.h door's files and names (shared/mim_keyfile.c,
 * shared/mim_fingerprint.c, shared/mim_crypto.c): identity key files -- created 0600, read back,
 * malformed ones and symlinks refused -- fingerprints, and the basics. The handshake and the
 * transport are in test_crypto.c.
 *
 * Like the rest of mim, this file does not include libsodium's header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include "mim_crypto.h"
#include "mim_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup_crypto(void **state)
{
    (void)state;
    return mim_crypto_init() == MIM_OK ? 0 : -1;
}

/* ---- key files -----------------------------------------------------------------------------
 */

static void write_file(const char *path, const uint8_t *data, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void read_key_file(const char *path, uint8_t buf[80])
{
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, 80), 80);
    assert_int_equal(close(fd), 0);
}

static void expect_refused(const char *path, int expected)
{
    mim_identity *id = (mim_identity *)&id; /* must come back NULL */
    int created = -1;

    assert_int_equal(mim_identity_load_or_create(path, &id, &created), expected);
    assert_null(id);
    assert_int_equal(created, 0);
}

/* Wrong size, magic, flags or reserved bytes are refused at `bad`; a well-formed copy of buf
 * (first's key file) loads. */
static void check_malformed_key_files(const char *bad, const uint8_t buf[80],
                                      const mim_identity *first)
{
    mim_identity *second = NULL;
    uint8_t mutated[96];
    int created = -1;

    write_file(bad, buf, 79, 0600);
    expect_refused(bad, MIM_EINVAL);
    memcpy(mutated, buf, 80);
    mutated[80] = 0;
    write_file(bad, mutated, 81, 0600);
    expect_refused(bad, MIM_EINVAL);
    write_file(bad, buf, 0, 0600);
    expect_refused(bad, MIM_EINVAL);
    memcpy(mutated, buf, 80);
    mutated[7] = '2';
    write_file(bad, mutated, 80, 0600);
    expect_refused(bad, MIM_EINVAL);
    memcpy(mutated, buf, 80);
    mutated[8] = 1;
    write_file(bad, mutated, 80, 0600);
    expect_refused(bad, MIM_EINVAL);
    memcpy(mutated, buf, 80);
    mutated[15] = 1;
    write_file(bad, mutated, 80, 0600);
    expect_refused(bad, MIM_EINVAL);
    /* A well-formed copy loads (the test helper wrote the file correctly). */
    write_file(bad, buf, 80, 0600);
    assert_int_equal(mim_identity_load_or_create(bad, &second, &created), MIM_OK);
    assert_int_equal(created, 0);
    assert_memory_equal(first->sign_pk, second->sign_pk, MIM_KEY_LEN);
    mim_identity_free(second);
    second = NULL;
}

/* A symlink at the key path is refused, whether it points at a key or nowhere; and nothing is
 * created through the dangling one. */
static void check_symlinks_refused(const char *key, const char *link_path, const char *target,
                                   const char *dangling)
{
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(symlink(key, link_path), 0);
    expect_refused(link_path, MIM_EPERM);
    assert_int_equal(symlink(target, dangling), 0);
    expect_refused(dangling, MIM_EPERM);
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_key_file(void **state)
{
    char dir[] = MIM_TEST_TMP "/crypto-XXXXXX";
    char key[512], bad[512], link_path[512], dangling[512], target[512], sub[512];
    mim_identity *first = NULL, *second = NULL;
    uint8_t buf[80];
    struct stat st;
    int created = -1;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof key, "%s/identity.key", dir);
    snprintf(bad, sizeof bad, "%s/bad.key", dir);
    snprintf(link_path, sizeof link_path, "%s/link.key", dir);
    snprintf(dangling, sizeof dangling, "%s/dangling.key", dir);
    snprintf(target, sizeof target, "%s/nowhere.key", dir);
    snprintf(sub, sizeof sub, "%s/missing/identity.key", dir);

    /* Created on first use, 0600, with the documented layout. */
    assert_int_equal(mim_identity_load_or_create(key, &first, &created), MIM_OK);
    assert_non_null(first);
    assert_int_equal(created, 1);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 80);
    read_key_file(key, buf);
    assert_memory_equal(buf, "MIMKEY01", 8);
    assert_int_equal(buf[8], 0);
    assert_memory_equal(buf + 9, "\0\0\0\0\0\0\0", 7);
    assert_memory_equal(buf + 16, first->sign_sk, 32); /* the seed is sign_sk's first half */
    assert_memory_equal(buf + 48, first->dh_sk, 32);
    assert_int_equal(mim_static_sig_verify(first->sign_pk, first->dh_pk, first->static_sig),
                     MIM_OK);

    /* Loaded again: the same identity, not a new one. */
    assert_int_equal(mim_identity_load_or_create(key, &second, &created), MIM_OK);
    assert_int_equal(created, 0);
    assert_memory_equal(first->sign_pk, second->sign_pk, MIM_KEY_LEN);
    assert_memory_equal(first->sign_sk, second->sign_sk, MIM_SIGN_SK_LEN);
    assert_memory_equal(first->dh_pk, second->dh_pk, MIM_KEY_LEN);
    assert_memory_equal(first->dh_sk, second->dh_sk, MIM_KEY_LEN);
    assert_memory_equal(first->static_sig, second->static_sig, MIM_SIG_LEN);
    mim_identity_free(second);
    second = NULL;

    /* Readable or writable by group or others: refused. */
    assert_int_equal(chmod(key, 0644), 0);
    expect_refused(key, MIM_EPERM);
    assert_int_equal(chmod(key, 0620), 0);
    expect_refused(key, MIM_EPERM);
    assert_int_equal(chmod(key, 0602), 0);
    expect_refused(key, MIM_EPERM);
    assert_int_equal(chmod(key, 0400), 0); /* tighter than 0600 is fine */
    assert_int_equal(mim_identity_load_or_create(key, &second, &created), MIM_OK);
    assert_memory_equal(first->sign_pk, second->sign_pk, MIM_KEY_LEN);
    mim_identity_free(second);
    second = NULL;

    check_malformed_key_files(bad, buf, first);
    check_symlinks_refused(key, link_path, target, dangling);

    /* Not a regular file; a missing directory. */
    expect_refused(dir, MIM_EINVAL);
    expect_refused(sub, MIM_ENOENT);

    mim_identity_free(first);
    assert_int_equal(unlink(key), 0);
    assert_int_equal(unlink(bad), 0);
    assert_int_equal(unlink(link_path), 0);
    assert_int_equal(unlink(dangling), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- fingerprints and basics -------------------------------------------------------------- */

static void test_fingerprint(void **state)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t pk[MIM_KEY_LEN];
    char fp[MIM_FINGERPRINT_LEN], again[MIM_FINGERPRINT_LEN], other[MIM_FINGERPRINT_LEN];
    size_t i;

    (void)state;
    /* Known answer, computed independently:
     * base32(SHA-256("mim-fingerprint-v1" || 00 01 .. 1f)[0..15]). */
    for (i = 0; i < sizeof pk; i++)
        pk[i] = (uint8_t)i;
    memset(fp, 'X', sizeof fp);
    mim_fingerprint(pk, fp);
    assert_string_equal(fp, "fqfb-s6fr-2nzl-25z4-x3oe-2wad");

    mim_random_bytes(pk, sizeof pk);
    mim_fingerprint(pk, fp);
    assert_int_equal(strlen(fp), MIM_FINGERPRINT_LEN - 1);
    for (i = 0; i < MIM_FINGERPRINT_LEN - 1; i++) {
        if (i % 5 == 4)
            assert_int_equal(fp[i], '-');
        else
            assert_non_null(memchr(alphabet, fp[i], 32));
    }
    mim_fingerprint(pk, again);
    assert_string_equal(fp, again);
    pk[31] ^= 1;
    mim_fingerprint(pk, other);
    assert_string_not_equal(fp, other);
}

static void test_basics(void **state)
{
    static const uint8_t abc_sha256[MIM_HASH_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t h[MIM_HASH_LEN], a[16], b[16];
    int seen[7] = {0};
    int i;

    (void)state;
    mim_sha256(h, "abc", 3);
    assert_memory_equal(h, abc_sha256, MIM_HASH_LEN);

    mim_random_bytes(a, sizeof a);
    memcpy(b, a, sizeof b);
    assert_int_equal(mim_equal_ct(a, b, sizeof a), 1);
    b[15] ^= 1;
    assert_int_equal(mim_equal_ct(a, b, sizeof a), 0);
    mim_wipe(a, sizeof a);
    memset(b, 0, sizeof b);
    assert_memory_equal(a, b, sizeof a);

    for (i = 0; i < 700; i++) {
        uint32_t r = mim_random_uniform(7);
        assert_true(r < 7);
        seen[r]++;
    }
    for (i = 0; i < 7; i++)
        assert_true(seen[i] > 0); /* fails with probability ~7 * (6/7)^700, i.e. never */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_fingerprint),
    };

    return cmocka_run_group_tests(tests, setup_crypto, NULL);
}
