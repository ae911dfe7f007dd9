/* A transfer being received: its unique name under the download directory, the `.part` file or
 * folder it is written into, and the rename once verified. Every path below the download
 * directory is opened relative to a directory descriptor, one component at a time, with
 * O_NOFOLLOW: nothing a peer names, and no symlink that appears meanwhile, leads outside. */
#define _GNU_SOURCE /* renameat2 and RENAME_NOREPLACE */

#include "file_sink.h"

#include "file_io.h"
#include "file_name.h"
#include "mim_error.h"
#include "mim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A unique name: the safe name plus " (99999)"; and its .part. */
#define UNIQUE_BUF   (FILE_NAME_MAX + 16)
#define PART_BUF     (UNIQUE_BUF + sizeof(FILE_SINK_PART_SUFFIX))
#define MAX_NUMBER   9999 /* "name (9999).ext" is the last one tried */
#define REMOVE_DEPTH (FILE_LAYOUT_MAX_DEPTH + 8)

typedef enum sink_state { SINK_OPEN = 0, SINK_FINISHED, SINK_REMOVED } sink_state;

struct file_sink {
    sink_state state;
    int folder;
    file_layout layout;
    char unique[UNIQUE_BUF]; /* "report (1).pdf": the .part is this + FILE_SINK_PART_SUFFIX */
    char *path;              /* owned: dir/unique.part, or dir/final once finished */
    char *dir;               /* owned: the download directory */
    int dir_fd;              /* the download directory */
    int top_fd;              /* a folder's .part directory, else -1 */
    int cur_fd;              /* the file last written (a file's .part: always), else -1 */
    uint32_t cur_index;
    uint8_t *dirty; /* per entry: written since the last sync */
    uint32_t *dirty_list, ndirty;
    file_sink_flush *flush; /* the flush taken and not yet ended, or NULL */
};

/* What a flush took: entry index[i] of the sink, with a descriptor fd[i] of the flush's own. */
typedef struct flush_file {
    uint32_t index;
    int fd;
} flush_file;

struct file_sink_flush {
    file_sink *sink; /* NULL once the sink is closed (the flush outlives it) */
    uint32_t count;
    flush_file files[]; /* count of them */
};

/* A name cut into stem, number and extension: "report (2).pdf" is "report", 2, ".pdf". */
typedef struct name_parts {
    char stem[UNIQUE_BUF];
    char ext[UNIQUE_BUF];
    unsigned number; /* 0: none */
} name_parts;

static void split_name(const char *name, int folder, int with_number, name_parts *p)
{
    const char *dot = folder ? NULL : strrchr(name, '.');
    size_t stem = dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);
    size_t open;

    snprintf(p->ext, sizeof(p->ext), "%s", name + stem);
    memcpy(p->stem, name, stem);
    p->stem[stem] = '\0';
    p->number = 0;
    if (!with_number)
        return;
    /* A trailing " (n)", 1 <= n <= MAX_NUMBER, is the number this name already carries. */
    if (stem < 4 || p->stem[stem - 1] != ')')
        return;
    open = stem - 2;
    while (open > 0 && p->stem[open] >= '0' && p->stem[open] <= '9')
        open--;
    if (open < 1 || p->stem[open] != '(' || p->stem[open - 1] != ' ' || stem - 2 - open > 4 ||
        p->stem[open + 1] == '0' || open + 1 == stem - 1)
        return;
    p->number = (unsigned)atoi(p->stem + open + 1);
    p->stem[open - 1] = '\0';
}

/* The name with its number (none for 0); a stem that would not fit is cut (the names made
 * here are far shorter than UNIQUE_BUF: only a hostile store could get near it). */
static void compose_name(const name_parts *p, unsigned number, char out[UNIQUE_BUF])
{
    char num[16] = "";
    size_t stem = strlen(p->stem), ext = strlen(p->ext), nlen;

    if (number > 0)
        snprintf(num, sizeof(num), " (%u)", number);
    nlen = strlen(num);
    if (ext + nlen >= UNIQUE_BUF)
        ext = 0;
    if (stem + nlen + ext >= UNIQUE_BUF)
        stem = UNIQUE_BUF - 1 - nlen - ext;
    memcpy(out, p->stem, stem);
    memcpy(out + stem, num, nlen);
    memcpy(out + stem + nlen, p->ext, ext);
    out[stem + nlen + ext] = '\0';
}

static void part_name(const char *unique, char out[PART_BUF])
{
    snprintf(out, PART_BUF, "%s%s", unique, FILE_SINK_PART_SUFFIX);
}

/* Sets s->path to dir/name (name + suffix). 0 or MIM_ENOMEM. */
static int set_path(file_sink *s, const char *name, const char *suffix)
{
    size_t n = strlen(s->dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);

    if (p == NULL)
        return MIM_ENOMEM;
    snprintf(p, n, "%s/%s%s", s->dir, name, suffix);
    free(s->path);
    s->path = p;
    return MIM_OK;
}

/* Opens rel (a checked manifest path) below top: each directory with O_DIRECTORY|O_NOFOLLOW
 * (created first when make_dirs), the file with flags|O_NOFOLLOW. A descriptor or a MIM_E*. */
static int open_below(int top, const char *rel, int flags, int make_dirs)
{
    int parent = top, fd;
    const char *slash;
    char comp[FILE_NAME_BUF];

    while ((slash = strchr(rel, '/')) != NULL) {
        size_t n = (size_t)(slash - rel);

        if (n >= sizeof(comp))
            fd = -1, errno = ENAMETOOLONG;
        else {
            memcpy(comp, rel, n);
            comp[n] = '\0';
            if (make_dirs && mkdirat(parent, comp, 0700) != 0 && errno != EEXIST)
                fd = -1;
            else
                fd = openat(parent, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (parent != top) {
            int saved = errno;

            close(parent);
            errno = saved;
        }
        if (fd < 0)
            return file_io_code(errno);
        parent = fd;
        rel = slash + 1;
    }
    fd = openat(parent, rel, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = file_io_code(errno);
    if (parent != top)
        close(parent);
    return fd;
}

/* file_io_open_fn for reads and writes: entry i open read-write, kept as the current one. */
static int open_entry(void *ctx, uint32_t i)
{
    file_sink *s = ctx;
    int fd;

    if (!s->folder || (s->cur_fd >= 0 && s->cur_index == i))
        return s->cur_fd;
    fd = open_below(s->top_fd, s->layout.entries[i].path, O_RDWR, 0);
    if (fd < 0)
        return fd == MIM_ENOENT ? MIM_ECHANGED : fd;
    if (s->cur_fd >= 0)
        close(s->cur_fd);
    s->cur_fd = fd;
    s->cur_index = i;
    return fd;
}

/* Creates every file of a folder's manifest, empty and of its full size (sparse), below top. */
static int create_entries(file_sink *s)
{
    for (uint32_t i = 0; i < s->layout.count; i++) {
        const file_layout_entry *e = &s->layout.entries[i];
        int fd = open_below(s->top_fd, e->path, O_RDWR | O_CREAT | O_EXCL, 1);
        int rc = MIM_OK;

        if (fd < 0)
            return fd == MIM_EEXIST ? MIM_EINVAL : fd; /* a duplicate, or a file and a folder */
        if (ftruncate(fd, (off_t)e->size) != 0)
            rc = file_io_code(errno);
        close(fd);
        if (rc != MIM_OK)
            return rc;
    }
    return fsync(s->top_fd) == 0 ? MIM_OK : file_io_code(errno);
}

/* Creates the .part of the first free unique name: for a file opened as s->cur_fd and sized,
 * for a folder a directory opened as s->top_fd. */
static int create_part(file_sink *s, const name_parts *parts)
{
    char part[PART_BUF];
    struct stat st;
    int rc;

    for (unsigned n = parts->number; n <= MAX_NUMBER; n++) {
        compose_name(parts, n, s->unique);
        part_name(s->unique, part);
        if (fstatat(s->dir_fd, s->unique, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue; /* the final name is taken */
        if (errno != ENOENT)
            return file_io_code(errno);
        if (s->folder) {
            if (mkdirat(s->dir_fd, part, 0700) != 0) {
                if (errno == EEXIST)
                    continue;
                return file_io_code(errno);
            }
            s->top_fd = openat(s->dir_fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s->top_fd >= 0)
                return MIM_OK;
            rc = file_io_code(errno);
            unlinkat(s->dir_fd, part, AT_REMOVEDIR); /* the empty directory just made */
            return rc;
        }
        s->cur_fd =
            openat(s->dir_fd, part, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (s->cur_fd < 0 && errno == EEXIST)
            continue;
        if (s->cur_fd < 0)
            return file_io_code(errno);
        return ftruncate(s->cur_fd, (off_t)s->layout.entries[0].size) == 0 ? MIM_OK
                                                                           : file_io_code(errno);
    }
    return MIM_EOVERFLOW;
}

/* 0 when every manifest path of a folder may be created (file_name.h), or a file has one entry. */
static int check_layout(const file_layout *l, int folder)
{
    if (!folder)
        return l->count == 1 ? MIM_OK : MIM_EINVAL;
    if (l->count == 0)
        return MIM_EINVAL;
    for (uint32_t i = 0; i < l->count; i++)
        if (file_name_check_path(l->entries[i].path, strlen(l->entries[i].path)) != MIM_OK)
            return MIM_EINVAL;
    return MIM_OK;
}

/* A sink with its layout (moved in) and the download directory open, nothing created yet. */
static int sink_new(const char *dir, int folder, file_layout *layout, file_sink **out)
{
    file_sink *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL) {
        file_layout_free(layout);
        return MIM_ENOMEM;
    }
    s->folder = folder;
    s->layout = *layout;
    file_layout_init(layout);
    s->top_fd = s->cur_fd = -1;
    s->dir = strdup(dir);
    s->dirty = calloc(s->layout.count > 0 ? s->layout.count : 1, 1);
    s->dirty_list = calloc(s->layout.count > 0 ? s->layout.count : 1, sizeof(*s->dirty_list));
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = s->dir == NULL || s->dirty == NULL || s->dirty_list == NULL ? MIM_ENOMEM
         : s->dir_fd < 0                                             ? file_io_code(errno)
                                                                     : MIM_OK;
    if (rc == MIM_OK)
        rc = check_layout(&s->layout, folder);
    if (rc != MIM_OK) {
        file_sink_close(s);
        return rc;
    }
    *out = s;
    return MIM_OK;
}

int file_sink_create(const char *dir, const char *offered, size_t len, int folder,
                     file_layout *layout, file_sink **out)
{
    char safe[FILE_NAME_BUF];
    name_parts parts;
    file_sink *s;
    int rc = sink_new(dir, folder, layout, &s);

    if (rc != MIM_OK) {
        mim_log_warn("receive: refused a transfer into %s: %s", dir, mim_strerror(rc));
        return rc;
    }
    file_name_safe(offered, len, safe);
    split_name(safe, folder, 0, &parts); /* the offered "a (2).txt" is tried as it is first */
    rc = create_part(s, &parts);
    if (rc == MIM_OK && folder)
        rc = create_entries(s);
    if (rc == MIM_OK && fsync(s->dir_fd) != 0)
        rc = file_io_code(errno);
    if (rc == MIM_OK)
        rc = set_path(s, s->unique, FILE_SINK_PART_SUFFIX);
    if (rc != MIM_OK) {
        mim_log_warn("receive: cannot create %s in %s: %s", safe, dir, mim_strerror(rc));
        if (s->top_fd >= 0 || s->cur_fd >= 0)
            file_sink_remove(s);
        file_sink_close(s);
        return rc;
    }
    *out = s;
    return MIM_OK;
}

/* 0 when the reopened .part holds every manifest entry as a regular file of its size. */
static int check_reopened(file_sink *s)
{
    struct stat st;

    for (uint32_t i = 0; i < s->layout.count; i++) {
        int fd = open_entry(s, i);

        if (fd < 0)
            return fd == MIM_ECHANGED ? MIM_EINVAL : fd;
        if (fstat(fd, &st) != 0)
            return file_io_code(errno);
        if (!S_ISREG(st.st_mode) || (int64_t)st.st_size != s->layout.entries[i].size)
            return MIM_EINVAL;
    }
    return MIM_OK;
}

/* 1 when unique (from the store) can only name an entry of the download directory. */
static int unique_ok(const char *unique)
{
    size_t n = strlen(unique);

    return n < UNIQUE_BUF && unique[0] != '.' && strchr(unique, '/') == NULL &&
           file_name_check_path(unique, n) == MIM_OK;
}

int file_sink_reopen(const char *dir, const char *unique, int folder, file_layout *layout,
                     file_sink **out)
{
    char part[PART_BUF];
    size_t n = strlen(unique);
    file_sink *s;
    int rc;

    if (!unique_ok(unique)) {
        file_layout_free(layout);
        return MIM_EINVAL;
    }
    if ((rc = sink_new(dir, folder, layout, &s)) != MIM_OK)
        return rc;
    memcpy(s->unique, unique, n + 1);
    part_name(unique, part);
    if (folder)
        s->top_fd = openat(s->dir_fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    else
        s->cur_fd = openat(s->dir_fd, part, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    rc = (folder ? s->top_fd : s->cur_fd) < 0 ? file_io_code(errno) : check_reopened(s);
    if (rc == MIM_OK)
        rc = set_path(s, unique, FILE_SINK_PART_SUFFIX);
    if (rc != MIM_OK) {
        mim_log_warn("receive: cannot resume %s in %s: %s", unique, dir, mim_strerror(rc));
        file_sink_close(s);
        return rc;
    }
    *out = s;
    return MIM_OK;
}

void file_sink_close(file_sink *s)
{
    if (s == NULL)
        return;
    if (s->flush != NULL)
        s->flush->sink = NULL; /* its end finds no sink to tell */
    if (s->cur_fd >= 0)
        close(s->cur_fd);
    if (s->top_fd >= 0)
        close(s->top_fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    file_layout_free(&s->layout);
    free(s->dirty);
    free(s->dirty_list);
    free(s->path);
    free(s->dir);
    free(s);
}

const char *file_sink_unique_name(const file_sink *s)
{
    return s->unique;
}

const char *file_sink_path(const file_sink *s)
{
    return s->path;
}

const file_layout *file_sink_layout(const file_sink *s)
{
    return &s->layout;
}

/* Entry i was written since the last sync. */
static void mark_dirty(file_sink *s, uint32_t i)
{
    if (!s->dirty[i]) {
        s->dirty[i] = 1;
        s->dirty_list[s->ndirty++] = i;
    }
}

int file_sink_write(file_sink *s, int64_t offset, const void *buf, size_t len)
{
    file_layout_span span;
    size_t done = 0;

    if (s->state != SINK_OPEN)
        return MIM_ESTATE;
    if (offset < 0 || offset > s->layout.total ||
        (uint64_t)len > (uint64_t)(s->layout.total - offset))
        return MIM_EINVAL;
    while (file_layout_span_at(&s->layout, offset + (int64_t)done, len - done, &span)) {
        int fd = open_entry(s, span.index);
        int rc;

        if (fd < 0)
            return fd;
        rc = file_io_pwrite(fd, (const char *)buf + done, span.len, span.within);
        mark_dirty(s, span.index);
        if (rc != MIM_OK)
            return rc;
        done += span.len;
    }
    return MIM_OK;
}

int file_sink_dup_fd(const file_sink *s)
{
    int fd;

    if (s->state != SINK_OPEN || s->folder || s->cur_fd < 0)
        return MIM_ESTATE;
    fd = fcntl(s->cur_fd, F_DUPFD_CLOEXEC, 0);
    return fd >= 0 ? fd : file_io_code(errno);
}

void file_sink_written(file_sink *s)
{
    if (s->state == SINK_OPEN && !s->folder)
        mark_dirty(s, 0);
}

/* fsync of entry i through the sink's descriptor. */
static int sync_entry(file_sink *s, uint32_t i)
{
    int fd = open_entry(s, i);

    if (fd < 0)
        return fd;
    return fsync(fd) == 0 ? MIM_OK : file_io_code(errno);
}

int file_sink_sync(file_sink *s)
{
    int rc;

    while (s->ndirty > 0) {
        uint32_t i = s->dirty_list[s->ndirty - 1];

        if ((rc = sync_entry(s, i)) != MIM_OK)
            return rc;
        s->dirty[i] = 0;
        s->ndirty--;
    }
    /* A flush out (perhaps not run yet, perhaps failing) took files written before: they are
     * synced here too, so that "synced" means everything written (fsync is per file, whichever
     * descriptor asks). */
    for (uint32_t n = 0; s->flush != NULL && n < s->flush->count; n++)
        if ((rc = sync_entry(s, s->flush->files[n].index)) != MIM_OK)
            return rc;
    return MIM_OK;
}

/* A descriptor of entry i that the caller owns: the current one duplicated, or opened again. */
static int own_entry_fd(file_sink *s, uint32_t i)
{
    int fd;

    if (!s->folder || (s->cur_fd >= 0 && s->cur_index == i)) {
        fd = fcntl(s->cur_fd, F_DUPFD_CLOEXEC, 0);
        return fd >= 0 ? fd : file_io_code(errno);
    }
    fd = open_below(s->top_fd, s->layout.entries[i].path, O_RDWR, 0);
    return fd == MIM_ENOENT ? MIM_ECHANGED : fd;
}

static void flush_free(file_sink_flush *f)
{
    for (uint32_t n = 0; n < f->count; n++)
        close(f->files[n].fd);
    free(f);
}

int file_sink_flush_begin(file_sink *s, file_sink_flush **out)
{
    file_sink_flush *f;

    *out = NULL;
    if (s->state != SINK_OPEN || s->flush != NULL)
        return MIM_ESTATE;
    if (s->ndirty == 0)
        return MIM_OK;
    if ((f = calloc(1, sizeof(*f) + s->ndirty * sizeof(f->files[0]))) == NULL)
        return MIM_ENOMEM;
    for (uint32_t n = 0; n < s->ndirty; n++) {
        int fd = own_entry_fd(s, s->dirty_list[n]);

        if (fd < 0) {
            flush_free(f); /* nothing taken: the files stay written-since-the-last-sync */
            return fd;
        }
        f->files[f->count++] = (flush_file){s->dirty_list[n], fd};
    }
    for (uint32_t n = 0; n < s->ndirty; n++)
        s->dirty[s->dirty_list[n]] = 0;
    s->ndirty = 0;
    f->sink = s;
    s->flush = f;
    *out = f;
    return MIM_OK;
}

int file_sink_flush_run(file_sink_flush *f)
{
    int rc = MIM_OK;

    for (uint32_t n = 0; n < f->count; n++)
        if (fsync(f->files[n].fd) != 0 && rc == MIM_OK)
            rc = file_io_code(errno); /* the first error; the other files are synced anyway */
    return rc;
}

void file_sink_flush_end(file_sink_flush *f, int rc)
{
    file_sink *s;

    if (f == NULL)
        return;
    if ((s = f->sink) != NULL) {
        s->flush = NULL;
        for (uint32_t n = 0; rc != MIM_OK && n < f->count; n++)
            mark_dirty(s, f->files[n].index); /* not known durable: the next sync does them */
    }
    flush_free(f);
}

int64_t file_sink_read(file_sink *s, int64_t offset, void *buf, size_t len)
{
    if (s->state == SINK_REMOVED)
        return MIM_ESTATE;
    return file_io_read_stream(&s->layout, offset, buf, len, open_entry, s);
}

/* Renames the .part to final, failing with EEXIST rather than replacing anything: renameat2's
 * RENAME_NOREPLACE, or where the file system lacks it, link + unlink for a file and, for a
 * folder, an empty directory made first (rename replaces only an empty directory: ours). */
static int rename_noreplace(file_sink *s, const char *part, const char *final)
{
    if (renameat2(s->dir_fd, part, s->dir_fd, final, RENAME_NOREPLACE) == 0)
        return MIM_OK;
    if (errno != EINVAL && errno != ENOSYS)
        return file_io_code(errno);
    if (!s->folder) {
        if (linkat(s->dir_fd, part, s->dir_fd, final, 0) != 0)
            return file_io_code(errno);
        return unlinkat(s->dir_fd, part, 0) == 0 ? MIM_OK : file_io_code(errno);
    }
    if (mkdirat(s->dir_fd, final, 0700) != 0)
        return file_io_code(errno);
    if (renameat(s->dir_fd, part, s->dir_fd, final) != 0) {
        int err = errno;

        unlinkat(s->dir_fd, final, AT_REMOVEDIR); /* ours, still empty (or someone's: kept) */
        return err == ENOTEMPTY || err == EEXIST ? MIM_EEXIST : file_io_code(err);
    }
    return MIM_OK;
}

/* 1 when name's .part exists (a transfer under way that will want that name). */
static int part_exists(const file_sink *s, const char *name)
{
    char part[PART_BUF];
    struct stat st;

    part_name(name, part);
    return fstatat(s->dir_fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int file_sink_finish(file_sink *s)
{
    char part[PART_BUF], final[UNIQUE_BUF];
    name_parts parts;
    int rc;

    if (s->state != SINK_OPEN)
        return MIM_ESTATE;
    if ((rc = file_sink_sync(s)) != MIM_OK)
        return rc;
    part_name(s->unique, part);
    split_name(s->unique, s->folder, 1, &parts);
    rc = MIM_EOVERFLOW;
    for (unsigned n = parts.number; n <= MAX_NUMBER; n++) {
        compose_name(&parts, n, final);
        if (n != parts.number && part_exists(s, final))
            continue; /* another transfer holds that name for itself */
        rc = rename_noreplace(s, part, final);
        if (rc != MIM_EEXIST)
            break;
    }
    if (rc == MIM_OK && fsync(s->dir_fd) != 0)
        rc = file_io_code(errno);
    if (rc == MIM_OK)
        rc = set_path(s, final, "");
    if (rc != MIM_OK) {
        mim_log_error("receive: cannot rename %s in %s: %s", part, s->dir, mim_strerror(rc));
        return rc;
    }
    memcpy(s->unique, final, sizeof(final));
    s->state = SINK_FINISHED;
    return MIM_OK;
}

/* Empties the directory open at fd (taken over: closed here) without following symlinks. */
static int remove_tree(int fd, int depth)
{
    DIR *dir = fdopendir(fd);
    char **names = NULL;
    size_t count = 0;
    struct stat st;
    int rc;

    if (dir == NULL) {
        close(fd);
        return MIM_EIO;
    }
    rc = file_io_read_names(dir, &names, &count);
    for (size_t i = 0; rc == MIM_OK && i < count; i++) {
        int sub;

        if (fstatat(dirfd(dir), names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = file_io_code(errno);
        } else if (!S_ISDIR(st.st_mode)) {
            rc = unlinkat(dirfd(dir), names[i], 0) == 0 ? MIM_OK : file_io_code(errno);
        } else if (depth >= REMOVE_DEPTH) {
            rc = MIM_EOVERFLOW;
        } else {
            sub = openat(dirfd(dir), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? file_io_code(errno) : remove_tree(sub, depth + 1);
            if (rc == MIM_OK && unlinkat(dirfd(dir), names[i], AT_REMOVEDIR) != 0)
                rc = file_io_code(errno);
        }
    }
    file_io_free_names(names, count);
    closedir(dir);
    return rc;
}

int file_sink_remove(file_sink *s)
{
    char part[PART_BUF];
    int rc = MIM_OK;

    if (s->state != SINK_OPEN)
        return MIM_ESTATE;
    part_name(s->unique, part);
    if (s->cur_fd >= 0)
        close(s->cur_fd);
    s->cur_fd = -1;
    if (s->folder && s->top_fd >= 0) {
        rc = remove_tree(s->top_fd, 0);
        s->top_fd = -1;
        if (rc == MIM_OK && unlinkat(s->dir_fd, part, AT_REMOVEDIR) != 0)
            rc = file_io_code(errno);
    } else if (!s->folder && unlinkat(s->dir_fd, part, 0) != 0) {
        rc = file_io_code(errno);
    }
    s->state = SINK_REMOVED;
    if (rc != MIM_OK)
        mim_log_error("receive: cannot remove %s in %s: %s", part, s->dir, mim_strerror(rc));
    return rc;
}

int file_sink_discard(const char *dir, const char *unique, int folder)
{
    char part[PART_BUF];
    int dir_fd, top, rc;

    if (!unique_ok(unique))
        return MIM_EINVAL;
    part_name(unique, part);
    dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return file_io_code(errno);
    if (!folder) {
        rc = unlinkat(dir_fd, part, 0) == 0 ? MIM_OK : file_io_code(errno);
    } else if ((top = openat(dir_fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        rc = file_io_code(errno);
    } else {
        rc = remove_tree(top, 0);
        if (rc == MIM_OK && unlinkat(dir_fd, part, AT_REMOVEDIR) != 0)
            rc = file_io_code(errno);
    }
    close(dir_fd);
    return rc;
}
