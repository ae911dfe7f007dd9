/* What the two ends of a transfer on disk (file_source.c, file_sink.c) share: errno turned into
 * MIM_E* codes, whole preads and pwrites, and reading a layout's stream across its files. */
#ifndef FILE_IO_H
#define FILE_IO_H

#include "file_layout.h"

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

/* The MIM_E* code of a file operation's errno: ENOSPC and EDQUOT -> MIM_ENOSPC, ENOENT ->
 * MIM_ENOENT, EACCES and EPERM -> MIM_EPERM, ENOMEM -> MIM_ENOMEM, ELOOP (a symlink met with
 * O_NOFOLLOW), ENOTDIR and EISDIR (a path of another shape than expected) -> MIM_EINVAL,
 * EEXIST -> MIM_EEXIST, anything else -> MIM_EIO. */
int file_io_code(int err);

/* pread until n bytes or the end of the file (EINTR retried): the bytes read, or a MIM_E* code. */
int64_t file_io_pread(int fd, void *buf, size_t n, int64_t offset);
/* pwrite all n bytes (EINTR and short writes retried): 0 or a MIM_E* code (MIM_ENOSPC for a
 * full disk, also when only part was written). */
int file_io_pwrite(int fd, const void *buf, size_t n, int64_t offset);

/* Opens entry index of the layout for reading: a descriptor the callee keeps (file_io never
 * closes it), or a negative MIM_E* code. */
typedef int (*file_io_open_fn)(void *ctx, uint32_t index);

/* Reads up to len bytes of l's stream at offset through open_entry: the bytes read (len unless
 * the stream ends first; 0 at or past the end), MIM_EINVAL for offset < 0, MIM_ECHANGED when a
 * file is shorter than its entry, or open_entry's or pread's code. */
int64_t file_io_read_stream(const file_layout *l, int64_t offset, void *buf, size_t len,
                            file_io_open_fn open_entry, void *ctx);

/* Every entry name of dir but "." and "..", sorted by bytes (strcmp): *names (owned by the
 * caller: file_io_free_names) and *count. Reading the whole directory first gives a stable order
 * and lets the caller change the directory while going through the names. MIM_EOVERFLOW past
 * FILE_LAYOUT_MAX_FILES names, MIM_ENOMEM, or readdir's error. */
int file_io_read_names(DIR *dir, char ***names, size_t *count);
void file_io_free_names(char **names, size_t count);

#endif
