#include "mim_fs.h"

#include "mim_error.h"
#include "mim_log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* mkdir that treats "already there" as success; the caller checks what is there. */
static int make_one(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

int mim_fs_make_dirs(const char *dir)
{
    char path[PATH_MAX];
    size_t len;

    if (dir == NULL || dir[0] == '\0') {
        mim_log_error("directory: empty path");
        errno = EINVAL;
        return MIM_EIO;
    }
    len = strlen(dir);
    if (len >= sizeof(path)) {
        mim_log_error("directory: path too long");
        errno = ENAMETOOLONG;
        return MIM_EIO;
    }
    memcpy(path, dir, len + 1);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';

    /* Create each missing parent in turn (mkdir -p); the leading '/' of an absolute path is
     * skipped so the root is never attempted. */
    for (size_t i = 1; i < len; i++) {
        if (path[i] != '/' || path[i - 1] == '/')
            continue;
        path[i] = '\0';
        if (make_one(path) != 0) {
            mim_log_error("cannot create %s: %s", path, strerror(errno));
            return MIM_EIO;
        }
        path[i] = '/';
    }
    if (make_one(path) != 0) {
        mim_log_error("cannot create %s: %s", path, strerror(errno));
        return MIM_EIO;
    }
    return MIM_OK;
}

int mim_fs_prepare_dir(const char *dir)
{
    const char *path = dir;
    struct stat st;

    if (mim_fs_make_dirs(dir) != MIM_OK)
        return MIM_EIO;
    /* A trailing '/' does not change what stat and chmod see. */
    if (stat(path, &st) != 0) {
        mim_log_error("cannot stat %s: %s", path, strerror(errno));
        return MIM_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        mim_log_error("%s exists and is not a directory", path);
        return MIM_EIO;
    }
    /* The directory holds the private key: nobody but the owner may list or enter it. */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        mim_log_warn("%s was accessible by group or others (mode %03o); setting 0700", path,
                     (unsigned)(st.st_mode & 0777));
        if (chmod(path, 0700) != 0) {
            mim_log_error("cannot chmod %s: %s", path, strerror(errno));
            return MIM_EIO;
        }
    }
    return MIM_OK;
}

int mim_fs_join(char *out, size_t outlen, const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    /* No doubled '/' after "dir/", and an empty dir means the current one, never the root. */
    const char *sep = (dlen == 0 || dir[dlen - 1] == '/') ? "" : "/";
    int n;

    if (outlen == 0)
        return MIM_EOVERFLOW;
    n = snprintf(out, outlen, "%s%s%s", dir, sep, name);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0'; /* never leave a truncated path that could name another file */
        return MIM_EOVERFLOW;
    }
    return MIM_OK;
}

int mim_fs_leaf_ok(const char *leaf)
{
    return leaf != NULL && leaf[0] != '\0' && strchr(leaf, '/') == NULL && strcmp(leaf, ".") != 0 &&
           strcmp(leaf, "..") != 0;
}

const char *mim_fs_default_data_dir(char *buf, size_t len, const char *leaf)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    /* The leaf is one directory entry: "../../x" or "a/b" would put the data elsewhere. */
    if (!mim_fs_leaf_ok(leaf))
        return NULL;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(buf, len, "%s/mim/%s", xdg, leaf);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(buf, len, "%s/.local/share/mim/%s", home, leaf);
    else
        return NULL;
    if (n < 0 || (size_t)n >= len)
        return NULL; /* a truncated path could name another directory */
    return buf;
}
