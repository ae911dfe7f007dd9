/* A file or folder to send: the walk that makes its manifest, and reads of its byte stream that
 * refuse to return bytes of a file that changed since the walk. */
#include "file_source.h"

#include "file_io.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What identifies a listed file's contents as they were at the walk. */
typedef struct file_seen {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
} file_seen;

/* What reads a source's stream: the descriptor of the entry being read. A source has its own;
 * file_source_reader_open makes more, one per thread. */
struct file_source_reader {
    const file_source *src;
    int cur_fd;         /* the file being read, or -1 */
    uint32_t cur_index; /* its entry, when cur_fd >= 0 */
};

struct file_source {
    int is_folder;
    char *name; /* owned: the last component of the opened path */
    file_layout layout;
    file_seen *seen; /* owned: one per layout entry */
    uint32_t seen_cap;
    uint32_t skipped;
    int top_fd; /* the folder (O_DIRECTORY), or -1 for a file */
    file_source_reader own;
};

/* The walk's state: the relative path of the directory being read, with room for one more. */
typedef struct walk {
    file_source *src;
    char path[FILE_LAYOUT_MAX_PATH + 1];
} walk;

/* Records a regular file found by the walk at w->path (len bytes). */
static int add_file(walk *w, size_t len, const struct stat *st)
{
    file_source *src = w->src;
    uint32_t i = src->layout.count;
    int rc;

    if (i == src->seen_cap) {
        uint32_t cap = src->seen_cap == 0 ? 64 : src->seen_cap * 2;
        file_seen *grown = realloc(src->seen, (size_t)cap * sizeof(*grown));

        if (grown == NULL)
            return MIM_ENOMEM;
        src->seen = grown;
        src->seen_cap = cap;
    }
    rc = file_layout_add(&src->layout, w->path, len, (int64_t)st->st_size);
    if (rc != MIM_OK)
        return rc;
    src->seen[i] = (file_seen){st->st_dev, st->st_ino, st->st_mtim};
    return MIM_OK;
}

static int walk_dir(walk *w, int dir_fd, size_t len, int depth);

/* One entry of a directory: a file is listed, a directory walked, anything else skipped. */
static int walk_entry(walk *w, int dir_fd, size_t len, int depth, const char *name)
{
    size_t nlen = strlen(name), sub = len + (len > 0) + nlen;
    struct stat st;
    int rc, fd;

    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? MIM_OK : file_io_code(errno); /* gone meanwhile: not listed */
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        w->src->skipped++;
        return MIM_OK;
    }
    if (sub > FILE_LAYOUT_MAX_PATH) {
        mim_log_error("send: a path in the folder is over %d bytes: %.*s/%s", FILE_LAYOUT_MAX_PATH,
                      (int)len, w->path, name);
        return MIM_EOVERFLOW;
    }
    if (len > 0)
        w->path[len] = '/';
    memcpy(w->path + sub - nlen, name, nlen + 1);
    if (S_ISREG(st.st_mode)) {
        rc = add_file(w, sub, &st);
    } else if (depth >= FILE_LAYOUT_MAX_DEPTH) {
        mim_log_error("send: folder nested deeper than %d levels at %s", FILE_LAYOUT_MAX_DEPTH,
                      w->path);
        rc = MIM_EOVERFLOW;
    } else {
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            rc = file_io_code(errno);
        else
            rc = walk_dir(w, fd, sub, depth + 1); /* closes fd */
    }
    w->path[len] = '\0';
    return rc;
}

/* Lists the directory open at dir_fd (taken over: closed here), whose relative path is the
 * first len bytes of w->path. */
static int walk_dir(walk *w, int dir_fd, size_t len, int depth)
{
    DIR *dir = fdopendir(dir_fd);
    char **names = NULL;
    size_t count = 0;
    int rc;

    if (dir == NULL) {
        rc = file_io_code(errno);
        close(dir_fd);
        return rc;
    }
    rc = file_io_read_names(dir, &names, &count);
    for (size_t i = 0; rc == MIM_OK && i < count; i++)
        rc = walk_entry(w, dirfd(dir), len, depth, names[i]);
    if (rc != MIM_OK && rc != MIM_EOVERFLOW)
        mim_log_error("send: cannot read the folder at %s: %s", len > 0 ? w->path : ".",
                      mim_strerror(rc));
    file_io_free_names(names, count);
    closedir(dir);
    return rc;
}

/* The last component of the canonical form of path ("." and "dir/" name the folder). */
static char *last_component(const char *path)
{
    char *real = realpath(path, NULL), *slash, *name;

    if (real == NULL)
        return NULL;
    slash = strrchr(real, '/');
    name = strdup(slash != NULL && slash[1] != '\0' ? slash + 1 : "folder");
    free(real);
    return name;
}

/* Opens the file src names (a single file): listed as one entry named after it. */
static int open_single(file_source *src, const char *path)
{
    struct stat st;
    walk w;
    size_t n = strlen(src->name);

    src->own.cur_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (src->own.cur_fd < 0 || fstat(src->own.cur_fd, &st) != 0)
        return file_io_code(errno);
    if (!S_ISREG(st.st_mode))
        return MIM_EINVAL; /* replaced by something else since the stat */
    src->own.cur_index = 0;
    w.src = src;
    if (n > FILE_LAYOUT_MAX_PATH)
        return MIM_EOVERFLOW;
    memcpy(w.path, src->name, n + 1);
    return add_file(&w, n, &st);
}

static int open_folder(file_source *src, const char *path)
{
    walk *w;
    int rc;

    src->is_folder = 1;
    src->top_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src->top_fd < 0)
        return file_io_code(errno);
    w = calloc(1, sizeof(*w)); /* 4 KiB of path: not on the stack of a recursion */
    if (w == NULL)
        return MIM_ENOMEM;
    w->src = src;
    rc = walk_dir(w, dup(src->top_fd), 0, 0);
    free(w);
    if (rc == MIM_OK && src->layout.count == 0) {
        mim_log_error("send: %s holds no file to send", path);
        rc = MIM_EINVAL;
    }
    return rc;
}

int file_source_open(const char *path, file_source **out)
{
    file_source *src = calloc(1, sizeof(*src));
    struct stat st;
    int rc;

    if (src == NULL)
        return MIM_ENOMEM;
    src->top_fd = src->own.cur_fd = -1;
    src->own.src = src;
    if (stat(path, &st) != 0) {
        rc = file_io_code(errno);
    } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        rc = MIM_EINVAL;
    } else if ((src->name = last_component(path)) == NULL) {
        rc = file_io_code(errno);
    } else {
        rc = S_ISREG(st.st_mode) ? open_single(src, path) : open_folder(src, path);
    }
    if (rc != MIM_OK) {
        mim_log_error("send: cannot use %s: %s", path, mim_strerror(rc));
        file_source_close(src);
        return rc;
    }
    *out = src;
    return MIM_OK;
}

void file_source_close(file_source *src)
{
    if (src == NULL)
        return;
    if (src->own.cur_fd >= 0)
        close(src->own.cur_fd);
    if (src->top_fd >= 0)
        close(src->top_fd);
    file_layout_free(&src->layout);
    free(src->seen);
    free(src->name);
    free(src);
}

int file_source_is_folder(const file_source *src)
{
    return src->is_folder;
}

const char *file_source_name(const file_source *src)
{
    return src->name;
}

const file_layout *file_source_layout(const file_source *src)
{
    return &src->layout;
}

uint32_t file_source_skipped(const file_source *src)
{
    return src->skipped;
}

/* 0 when the open fd is still the file entry i was at the walk: same inode, size and time. */
static int still_same(const file_source *src, int fd, uint32_t i)
{
    const file_seen *seen = &src->seen[i];
    struct stat st;

    if (fstat(fd, &st) != 0)
        return file_io_code(errno);
    if (st.st_dev != seen->dev || st.st_ino != seen->ino ||
        (int64_t)st.st_size != src->layout.entries[i].size ||
        st.st_mtim.tv_sec != seen->mtime.tv_sec || st.st_mtim.tv_nsec != seen->mtime.tv_nsec)
        return MIM_ECHANGED;
    return MIM_OK;
}

/* file_io_open_fn: the descriptor of entry i for reader ctx, checked against the walk on every
 * read. */
static int open_entry(void *ctx, uint32_t i)
{
    file_source_reader *r = ctx;
    const file_source *src = r->src;
    int rc;

    if (r->cur_fd >= 0 && r->cur_index != i) {
        close(r->cur_fd);
        r->cur_fd = -1;
    }
    if (r->cur_fd < 0) {
        r->cur_fd =
            openat(src->top_fd, src->layout.entries[i].path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (r->cur_fd < 0) {
            rc = errno == ENOENT || errno == ELOOP ? MIM_ECHANGED : file_io_code(errno);
            mim_log_error("send: cannot open %s: %s", src->layout.entries[i].path, strerror(errno));
            return rc;
        }
        r->cur_index = i;
    }
    rc = still_same(src, r->cur_fd, i);
    if (rc == MIM_ECHANGED)
        mim_log_error("send: %s changed since it was offered", src->layout.entries[i].path);
    return rc == MIM_OK ? r->cur_fd : rc;
}

int64_t file_source_read(file_source *src, int64_t offset, void *buf, size_t len)
{
    return file_io_read_stream(&src->layout, offset, buf, len, open_entry, &src->own);
}

int file_source_reader_open(const file_source *src, file_source_reader **out)
{
    file_source_reader *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return MIM_ENOMEM;
    r->src = src;
    r->cur_fd = -1;
    if (!src->is_folder) { /* a file is never opened again by name: the same open file */
        r->cur_fd = dup(src->own.cur_fd);
        if (r->cur_fd < 0) {
            int rc = file_io_code(errno);
            free(r);
            return rc;
        }
        r->cur_index = 0;
    }
    *out = r;
    return MIM_OK;
}

int64_t file_source_reader_read(file_source_reader *r, int64_t offset, void *buf, size_t len)
{
    return file_io_read_stream(&r->src->layout, offset, buf, len, open_entry, r);
}

void file_source_reader_close(file_source_reader *r)
{
    if (r == NULL)
        return;
    if (r->cur_fd >= 0)
        close(r->cur_fd);
    free(r);
}

int file_source_media(file_source *src, mim_media_info *out)
{
    size_t want = MIM_MEDIA_SNIFF_LEN;
    uint8_t *head;
    int64_t got;
    int is_image;

    mim_media_sniff(NULL, 0, out);
    if (src->is_folder)
        return 0;
    if ((int64_t)want > src->layout.total)
        want = (size_t)src->layout.total;
    head = malloc(want > 0 ? want : 1);
    if (head == NULL)
        return 0;
    got = file_source_read(src, 0, head, want);
    is_image = got > 0 && mim_media_sniff(head, (size_t)got, out);
    free(head);
    return is_image;
}
