/* A program's data directory made ready before anything in it is used (see mim_datadir.h). */
#include "mim_datadir.h"

#include "mim_error.h"
#include "mim_fs.h"
#include "mim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#if PATH_MAX > MIM_DATADIR_PATH_MAX
#error "realpath() could write past mim_datadir.path"
#endif

static void datadir_clear(mim_datadir *dd)
{
    memset(dd, 0, sizeof(*dd));
    dd->lock_fd = -1;
}

int mim_datadir_resolve(mim_datadir *dd, const char *dir)
{
    datadir_clear(dd);
    if (mim_fs_prepare_dir(dir) != 0)
        return MIM_EIO; /* said */
    /* Once, here: every file below is opened by this path, which has no symlink left in it, so
     * O_NOFOLLOW and SQLite's NOFOLLOW see only the final component. */
    if (realpath(dir, dd->path) == NULL) {
        mim_log_error("data dir %s: cannot resolve it: %s", dir, strerror(errno));
        return MIM_EIO;
    }
    return MIM_OK;
}

/* Reads the pid the holder of the lock wrote, for the message; "unknown" when there is none. */
static void lock_holder(int fd, char *out, size_t len)
{
    ssize_t n = pread(fd, out, len - 1, 0);
    size_t i = 0;

    while (n > 0 && i < (size_t)n && out[i] >= '0' && out[i] <= '9')
        i++;
    if (i == 0)
        snprintf(out, len, "unknown");
    else
        out[i] = '\0';
}

/* Opens and locks DIR/lock for the life of the process. MIM_EBUSY when another process holds
 * it. */
static int take_lock(mim_datadir *dd)
{
    char path[MIM_DATADIR_PATH_MAX + 16], pid[32];
    struct stat sb;
    int fd, n;

    if (mim_fs_join(path, sizeof(path), dd->path, MIM_DATADIR_LOCK_NAME) != 0)
        return MIM_EIO;
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        mim_log_error("lock file %s: %s", path,
                      fd < 0 && errno == ELOOP ? "is a symbolic link; remove it"
                      : fd < 0                 ? strerror(errno)
                                               : "not a regular file; remove it");
        if (fd >= 0)
            close(fd);
        return MIM_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        if (busy) {
            lock_holder(fd, pid, sizeof(pid));
            mim_log_error("data dir %s is in use by another mim or mim-presence (pid %s): stop "
                          "it first, or give this one another --data-dir",
                          dd->path, pid);
        } else {
            mim_log_error("lock file %s: cannot lock it: %s", path, strerror(errno));
        }
        close(fd);
        return busy ? MIM_EBUSY : MIM_EIO;
    }
    /* Ours now: the pid is only for the message above, so a failed write changes nothing. */
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        mim_log_debug("lock file %s: cannot write the pid", path);
    dd->lock_fd = fd;
    return MIM_OK;
}

/* What is at path (lstat): *exists 0 or 1. A symlink is refused: whoever could plant it could
 * point the key or the store anywhere, and we never follow one there. */
static int check_entry(const char *path, const char *what, int *exists)
{
    struct stat sb;

    *exists = 0;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT)
            return MIM_OK;
        mim_log_error("%s %s: %s", what, path, strerror(errno));
        return MIM_EIO;
    }
    if (S_ISLNK(sb.st_mode)) {
        mim_log_error("%s %s is a symbolic link; refused (mim never follows one there): put the "
                      "file itself in its place",
                      what, path);
        return MIM_EPERM;
    }
    if (!S_ISREG(sb.st_mode)) {
        mim_log_error("%s %s is not a regular file", what, path);
        return MIM_EINVAL;
    }
    *exists = 1;
    return MIM_OK;
}

/* The key at path, loaded, or a new one made in memory (*created): nothing is written here. */
static int key_load_or_make(const char *path, mim_identity **id, int *created)
{
    int exists, rc;

    *created = 0;
    if ((rc = check_entry(path, "key file", &exists)) != MIM_OK)
        return rc;
    if (!exists) {
        *created = 1;
        *id = mim_identity_generate();
        return *id != NULL ? MIM_OK : MIM_ENOMEM;
    }
    if ((rc = mim_identity_load(path, id)) != MIM_OK)
        mim_log_error("key file %s: %s", path,
                      rc == MIM_EPERM    ? "readable by group or others, or not yours: fix with "
                                           "chmod 600, or replace it"
                      : rc == MIM_EINVAL ? "not a mim key file (wrong size or header)"
                                         : mim_strerror(rc));
    return rc;
}

/* Removes a store this start created (with its -wal and -shm), so a failed start leaves none. */
static void remove_store(const char *path)
{
    static const char *const sidecars[] = {"-wal", "-shm", "-journal"};
    char side[MIM_DATADIR_PATH_MAX + 32];

    (void)unlink(path);
    for (size_t i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++)
        if (snprintf(side, sizeof(side), "%s%s", path, sidecars[i]) < (int)sizeof(side))
            (void)unlink(side);
}

/* The store, opened (created when missing: *created), then a new key written. */
static int open_files(mim_datadir *dd, const mim_datadir_files *files)
{
    char key[MIM_DATADIR_PATH_MAX + 64], db[MIM_DATADIR_PATH_MAX + 64];
    int existed, rc;

    if (mim_fs_join(key, sizeof(key), dd->path, files->key) != 0 ||
        mim_fs_join(db, sizeof(db), dd->path, files->store) != 0) {
        mim_log_error("data dir %s: path too long", dd->path);
        return MIM_EIO;
    }
    if ((rc = key_load_or_make(key, &dd->id, &dd->key_created)) != MIM_OK ||
        (rc = check_entry(db, "store", &existed)) != MIM_OK)
        return rc;
    if ((rc = mim_store_open(db, files->kind, &dd->st)) != MIM_OK) {
        mim_log_error("store %s: cannot open it: %s", db, mim_strerror(rc));
        if (!existed)
            remove_store(db);
        return rc;
    }
    if (!dd->key_created)
        return MIM_OK;
    /* Last: a key is written only once everything else opened, so a failed start never leaves
     * an identity behind that the next start would take for the user's. */
    if ((rc = mim_identity_save(key, dd->id)) != MIM_OK) {
        mim_log_error("key file %s: cannot write it: %s", key, mim_strerror(rc));
        mim_store_close(dd->st);
        dd->st = NULL;
        if (!existed)
            remove_store(db);
    }
    return rc;
}

int mim_datadir_open(mim_datadir *dd, const char *dir, const mim_datadir_files *files)
{
    int rc;

    if ((rc = mim_datadir_resolve(dd, dir)) != MIM_OK || (rc = take_lock(dd)) != MIM_OK ||
        (rc = open_files(dd, files)) != MIM_OK) {
        mim_datadir_release(dd);
        return rc;
    }
    return MIM_OK;
}

void mim_datadir_close_files(mim_datadir *dd)
{
    mim_identity_free(dd->id);
    dd->id = NULL;
    mim_store_close(dd->st);
    dd->st = NULL;
}

void mim_datadir_release(mim_datadir *dd)
{
    mim_datadir_close_files(dd);
    if (dd->lock_fd >= 0)
        (void)close(dd->lock_fd); /* the flock goes with the last descriptor */
    dd->lock_fd = -1;
}
