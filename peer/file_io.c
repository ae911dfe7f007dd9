/* Whole reads and writes of files at offsets, and the stream read over a layout's files. */
#include "file_io.h"

#include "mim_error.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int file_io_code(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return MIM_ENOSPC;
    case ENOENT:
        return MIM_ENOENT;
    case EACCES:
    case EPERM:
        return MIM_EPERM;
    case ENOMEM:
        return MIM_ENOMEM;
    case ELOOP:
    case ENOTDIR:
    case EISDIR:
        return MIM_EINVAL;
    case EEXIST:
        return MIM_EEXIST;
    default:
        return MIM_EIO;
    }
}

int64_t file_io_pread(int fd, void *buf, size_t n, int64_t offset)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(offset + (int64_t)done));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return file_io_code(errno);
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (int64_t)done;
}

int file_io_pwrite(int fd, const void *buf, size_t n, int64_t offset)
{
    size_t done = 0;

    while (done < n) {
        ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(offset + (int64_t)done));

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return file_io_code(errno);
        if (w == 0)
            return MIM_ENOSPC; /* no progress and no error: nothing more fits */
        done += (size_t)w;
    }
    return MIM_OK;
}

int64_t file_io_read_stream(const file_layout *l, int64_t offset, void *buf, size_t len,
                            file_io_open_fn open_entry, void *ctx)
{
    file_layout_span span;
    size_t done = 0;

    if (offset < 0)
        return MIM_EINVAL;
    while (file_layout_span_at(l, offset + (int64_t)done, len - done, &span)) {
        int fd = open_entry(ctx, span.index);
        int64_t got;

        if (fd < 0)
            return fd;
        got = file_io_pread(fd, (char *)buf + done, span.len, span.within);
        if (got < 0)
            return got;
        if ((size_t)got < span.len)
            return MIM_ECHANGED;
        done += span.len;
    }
    return (int64_t)done;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void file_io_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int file_io_read_names(DIR *dir, char ***names, size_t *count)
{
    char **list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *d;

    errno = 0;
    while ((d = readdir(dir)) != NULL) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        if (n == FILE_LAYOUT_MAX_FILES) { /* one huge directory: stop before it costs memory */
            file_io_free_names(list, n);
            return MIM_EOVERFLOW;
        }
        if (n == cap) {
            size_t grown_cap = cap == 0 ? 32 : cap * 2;
            char **grown = realloc(list, grown_cap * sizeof(*grown));

            if (grown == NULL)
                break;
            list = grown;
            cap = grown_cap;
        }
        if ((list[n] = strdup(d->d_name)) == NULL)
            break;
        n++;
        errno = 0;
    }
    if (d != NULL || errno != 0) {
        int rc = d != NULL ? MIM_ENOMEM : file_io_code(errno);

        file_io_free_names(list, n);
        return rc;
    }
    if (n > 1)
        qsort(list, n, sizeof(*list), by_bytes);
    *names = list;
    *count = n;
    return MIM_OK;
}
