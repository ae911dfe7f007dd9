/* A transfer's byte stream: the files of a transfer, in manifest order, laid end to end.
 *
 * A single file is a layout of one entry (its path is its name); a folder is one entry per
 * regular file, with paths relative to the folder ('/'-separated). Entry i starts at stream
 * offset entries[i].offset, the sum of the sizes before it; the stream is `total` bytes long.
 * Both ends use the same layout: the sender to read the stream (file_source.h), the receiver to
 * write it (file_sink.h). Pure bookkeeping: no I/O, no checks of the paths (file_name.h does
 * that where paths arrive from a peer). */
#ifndef FILE_LAYOUT_H
#define FILE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define FILE_LAYOUT_MAX_FILES 100000 /* entries in one transfer (a folder) */
#define FILE_LAYOUT_MAX_PATH  4096   /* bytes of one relative path, NUL excluded */
#define FILE_LAYOUT_MAX_DEPTH 64     /* directories above a file inside a folder */
/* The longest stream: 2^62 bytes keeps every offset + length sum inside int64_t. */
#define FILE_LAYOUT_MAX_TOTAL ((int64_t)1 << 62)

typedef struct file_layout_entry {
    char *path;     /* owned; NUL-terminated, relative ("a/b.txt"), or the file's name */
    int64_t size;   /* bytes, >= 0 */
    int64_t offset; /* where the entry starts in the stream */
} file_layout_entry;

typedef struct file_layout {
    file_layout_entry *entries; /* owned, `count` of them, in manifest order */
    uint32_t count, cap;
    int64_t total; /* sum of the sizes */
} file_layout;

/* An empty layout (all zero is also one). */
void file_layout_init(file_layout *l);
/* Frees the paths and the array; the layout is then empty again. */
void file_layout_free(file_layout *l);
/* Appends an entry: path is pathlen bytes (copied; no NUL inside), size >= 0. MIM_EINVAL for a
 * negative size, an empty path or a NUL inside; MIM_EOVERFLOW past FILE_LAYOUT_MAX_FILES,
 * FILE_LAYOUT_MAX_PATH or FILE_LAYOUT_MAX_TOTAL; MIM_ENOMEM. The layout is unchanged on error. */
int file_layout_add(file_layout *l, const char *path, size_t pathlen, int64_t size);

/* One contiguous piece of a stream range inside one entry. */
typedef struct file_layout_span {
    uint32_t index; /* the entry */
    int64_t within; /* offset inside the entry */
    size_t len;     /* bytes, > 0, never past the entry's end */
} file_layout_span;

/* The first piece of [offset, offset + len): 1 and *span when there is one, 0 when len is 0 or
 * offset is at or past the end (offset < 0 is treated as past the end). Empty entries are never
 * returned. A reader or writer loops: span, do the I/O, offset += span.len, len -= span.len. */
int file_layout_span_at(const file_layout *l, int64_t offset, size_t len, file_layout_span *span);

#endif
