/* The identity: made fresh, or loaded from its key file and created there on the first start
 * (0600, O_CREAT|O_EXCL|O_NOFOLLOW, refused when others can read it). The layout of the file is
 * in mim_crypto.h. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"
#include "mim_error.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- identity -------------------------------------------------------------------------------- */

/* Fills dh_pk, static_sig, seal_pk and seal_sk from sign_pk, sign_sk and dh_sk, which the
 * caller has set. */
static int identity_complete(mim_identity *id)
{
    uint8_t msg[LABEL_LEN(STATIC_SIG_LABEL) + MIM_KEY_LEN];

    if (crypto_scalarmult_curve25519_base(id->dh_pk, id->dh_sk) != 0)
        return MIM_ECRYPTO;
    if (crypto_sign_ed25519_pk_to_curve25519(id->seal_pk, id->sign_pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(id->seal_sk, id->sign_sk) != 0)
        return MIM_ECRYPTO;
    memcpy(msg, STATIC_SIG_LABEL, LABEL_LEN(STATIC_SIG_LABEL));
    memcpy(msg + LABEL_LEN(STATIC_SIG_LABEL), id->dh_pk, MIM_KEY_LEN);
    if (crypto_sign_detached(id->static_sig, NULL, msg, sizeof msg, id->sign_sk) != 0)
        return MIM_ECRYPTO;
    return MIM_OK;
}

mim_identity *mim_identity_generate(void)
{
    mim_identity *id = sodium_malloc(sizeof *id);

    if (id == NULL)
        return NULL;
    if (crypto_sign_keypair(id->sign_pk, id->sign_sk) != 0)
        goto fail;
    randombytes_buf(id->dh_sk, sizeof id->dh_sk);
    if (identity_complete(id) != MIM_OK)
        goto fail;
    return id;

fail:
    sodium_free(id);
    return NULL;
}

void mim_identity_free(mim_identity *id)
{
    /* sodium_free wipes the region before unmapping it, and accepts NULL. */
    sodium_free(id);
}

/* Key file layout: see mim_crypto.h. */
#define KEY_FILE_MAGIC     "MIMKEY01"
#define KEY_FILE_LEN       80
#define KEY_FILE_FLAGS_OFF 8
#define KEY_FILE_RESERVED  9
#define KEY_FILE_SEED_OFF  16
#define KEY_FILE_DH_SK_OFF 48
static_assert(LABEL_LEN(KEY_FILE_MAGIC) == KEY_FILE_FLAGS_OFF, "key file magic length");
static_assert(KEY_FILE_DH_SK_OFF + MIM_KEY_LEN == KEY_FILE_LEN, "key file layout");

/* Reads exactly n bytes. MIM_EINVAL when the file ends early (it shrank under us). */
static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MIM_EIO;
        if (r == 0)
            return MIM_EINVAL;
        p += r;
        n -= (size_t)r;
    }
    return MIM_OK;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MIM_EIO;
        p += w;
        n -= (size_t)w;
    }
    return MIM_OK;
}

/* Makes the new directory entry durable, so a crash right after the first start cannot silently
 * replace the user's identity on the next start. Best effort: the key file itself is already
 * synced, and a file system that cannot sync directories should not stop mim from starting. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    size_t len;
    int fd;

    if (slash == NULL) {
        dir = strdup(".");
    } else {
        len = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(len + 1);
        if (dir != NULL) {
            memcpy(dir, path, len);
            dir[len] = '\0';
        }
    }
    if (dir == NULL)
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    free(dir);
}

/* MIM_ENOENT when there is no file, so the caller can create one. */
static int key_file_load(const char *path, mim_identity **out)
{
    uint8_t buf[KEY_FILE_LEN];
    uint8_t reserved = 0;
    mim_identity *id = NULL;
    struct stat st;
    int rc;
    int fd;
    int i;

    /* O_NOFOLLOW: a symlink planted at the key path must not redirect us. O_NONBLOCK: a FIFO
     * planted there must not hang the open; it is refused below as not a regular file. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MIM_ENOENT;
        if (errno == ELOOP || errno == EMLINK) /* Linux / BSD spelling of "is a symlink" */
            return MIM_EPERM;
        return MIM_EIO;
    }
    memset(buf, 0, sizeof buf);
    if (fstat(fd, &st) != 0) {
        rc = MIM_EIO;
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = MIM_EINVAL;
        goto done;
    }
    /* Permissions before contents: a key others could read is compromised whatever it holds.
     * A file owned by someone else could have been swapped in by them. */
    if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
        rc = MIM_EPERM;
        goto done;
    }
    if (st.st_size != KEY_FILE_LEN) {
        rc = MIM_EINVAL;
        goto done;
    }
    rc = read_full(fd, buf, sizeof buf);
    if (rc != MIM_OK)
        goto done;
    for (i = KEY_FILE_RESERVED; i < KEY_FILE_SEED_OFF; i++)
        reserved |= buf[i];
    /* Flags other than 0 would mean an encrypted key, which this version cannot read. */
    if (memcmp(buf, KEY_FILE_MAGIC, LABEL_LEN(KEY_FILE_MAGIC)) != 0 ||
        buf[KEY_FILE_FLAGS_OFF] != 0 || reserved != 0) {
        rc = MIM_EINVAL;
        goto done;
    }
    id = sodium_malloc(sizeof *id);
    if (id == NULL) {
        rc = MIM_ENOMEM;
        goto done;
    }
    if (crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, buf + KEY_FILE_SEED_OFF) != 0) {
        rc = MIM_ECRYPTO;
        goto done;
    }
    memcpy(id->dh_sk, buf + KEY_FILE_DH_SK_OFF, MIM_KEY_LEN);
    rc = identity_complete(id);
    if (rc != MIM_OK)
        goto done;
    *out = id;
    id = NULL;

done:
    sodium_memzero(buf, sizeof buf);
    sodium_free(id);
    (void)close(fd);
    return rc;
}

int mim_identity_load(const char *path, mim_identity **out)
{
    if (path == NULL || out == NULL)
        return MIM_EINVAL;
    *out = NULL;
    return key_file_load(path, out);
}

int mim_identity_save(const char *path, const mim_identity *id)
{
    uint8_t buf[KEY_FILE_LEN];
    int rc = MIM_OK;
    int fd;

    if (path == NULL || id == NULL)
        return MIM_EINVAL;
    memset(buf, 0, sizeof buf);
    memcpy(buf, KEY_FILE_MAGIC, LABEL_LEN(KEY_FILE_MAGIC));
    crypto_sign_ed25519_sk_to_seed(buf + KEY_FILE_SEED_OFF, id->sign_sk);
    memcpy(buf + KEY_FILE_DH_SK_OFF, id->dh_sk, MIM_KEY_LEN);

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            rc = MIM_EEXIST;
        else if (errno == ENOENT)
            rc = MIM_ENOENT; /* the directory is missing */
        else
            rc = MIM_EIO;
        goto done;
    }
    rc = write_full(fd, buf, sizeof buf);
    if (rc == MIM_OK && fsync(fd) != 0)
        rc = MIM_EIO;
    if (close(fd) != 0 && rc == MIM_OK)
        rc = MIM_EIO;
    if (rc != MIM_OK) {
        /* A half-written key file would be refused on every later start: remove it. */
        (void)unlink(path);
        goto done;
    }
    sync_parent_dir(path);

done:
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* MIM_EEXIST when something (file, symlink) is already at path. */
static int key_file_create(const char *path, mim_identity **out)
{
    mim_identity *id = mim_identity_generate();
    int rc;

    if (id == NULL)
        return MIM_ENOMEM;
    rc = mim_identity_save(path, id);
    if (rc != MIM_OK) {
        mim_identity_free(id);
        return rc;
    }
    *out = id;
    return MIM_OK;
}

int mim_identity_load_or_create(const char *path, mim_identity **out, int *created)
{
    int rc = MIM_EINVAL;
    int attempt;

    if (path == NULL || out == NULL || created == NULL)
        return MIM_EINVAL;
    *out = NULL;
    *created = 0;
    /* Two rounds: if another process creates the file between our load and our create, the
     * second round loads its key instead of failing. */
    for (attempt = 0; attempt < 2; attempt++) {
        rc = key_file_load(path, out);
        if (rc != MIM_ENOENT)
            return rc;
        rc = key_file_create(path, out);
        if (rc == MIM_OK)
            *created = 1;
        if (rc != MIM_EEXIST)
            return rc;
    }
    return rc;
}
