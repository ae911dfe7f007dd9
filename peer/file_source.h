/* The sending side of a transfer on disk: a file or a folder opened, listed (its manifest) and
 * read at stream offsets.
 *
 * A folder is walked without following symlinks: symlinks, devices, fifos and sockets inside it
 * are skipped (and counted); every directory is read in byte order of its entry names, so the
 * same tree always gives the same manifest. The path given to file_source_open itself is
 * followed when it is a symlink (the user named it). Each listed file's device, inode, size and
 * modification time are recorded; a read that finds any of them changed fails with MIM_ECHANGED
 * rather than sending bytes that would not match the offer. At most two descriptors are open:
 * the top directory (a folder) and the file being read.
 *
 * Blocking I/O: the caller decides which thread reads (one thread at a time per source or
 * reader). */
#ifndef FILE_SOURCE_H
#define FILE_SOURCE_H

#include "file_layout.h"

#include <stddef.h>
#include <stdint.h>

typedef struct file_source file_source;

/* Opens path (a regular file, or a directory walked as above). On success *out is owned by the
 * caller (file_source_close). Errors: MIM_ENOENT (no such path), MIM_EINVAL (neither a regular
 * file nor a directory, or a folder without any file), MIM_EOVERFLOW (more than
 * FILE_LAYOUT_MAX_FILES files, a path over FILE_LAYOUT_MAX_PATH, nested deeper than
 * FILE_LAYOUT_MAX_DEPTH), MIM_EPERM (not readable), MIM_EIO, MIM_ENOMEM. Logs why. */
int file_source_open(const char *path, file_source **out);
/* Closes the descriptors and frees (NULL is fine). */
void file_source_close(file_source *src);

/* 1 when the source is a folder (even one holding a single file), 0 for a file. */
int file_source_is_folder(const file_source *src);
/* The last component of the opened path ("report.pdf", "photos"): what the offer names. */
const char *file_source_name(const file_source *src);
/* The manifest: for a file one entry whose path is file_source_name; for a folder every regular
 * file, paths relative to it, in walk order. Owned by the source. */
const file_layout *file_source_layout(const file_source *src);
/* Entries skipped by the walk (symlinks, devices, fifos, sockets). */
uint32_t file_source_skipped(const file_source *src);

/* Reads up to len bytes of the stream at offset into buf, across file boundaries: returns the
 * number of bytes read, which is len unless the stream ends first (0 at or past the end), or a
 * negative code: MIM_ECHANGED (a file changed or vanished since the manifest), MIM_EINVAL
 * (offset < 0), MIM_EIO. */
int64_t file_source_read(file_source *src, int64_t offset, void *buf, size_t len);

/* More readers of one source's stream, for reading it on several threads at once (the offer's
 * hashing): each has its own descriptor and reads like file_source_read, with the same checks;
 * they share src's manifest read only, so src must outlive them, and src itself may be read by
 * one other thread meanwhile. Open and close on any thread; each reader used by one thread at a
 * time. open: MIM_ENOMEM or a descriptor error. */
typedef struct file_source_reader file_source_reader;
int file_source_reader_open(const file_source *src, file_source_reader **out);
int64_t file_source_reader_read(file_source_reader *r, int64_t offset, void *buf, size_t len);
/* Closes its descriptor and frees (NULL is fine). */
void file_source_reader_close(file_source_reader *r);

/* The media type and size of a single-file source, sniffed from its first bytes (mim_media.h):
 * 1 when it is a known image with its size, else 0 (and out->type "" for a folder). */
struct mim_media_info;
int file_source_media(file_source *src, struct mim_media_info *out);

#endif
