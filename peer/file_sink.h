/* The receiving side of a transfer on disk: where it goes, under which name, and the `.part`
 * it is written to until it is verified.
 *
 * Layout on disk, under the download directory D, for an offer named N (made safe, see
 * file_name.h) with a unique name U ("N", else "N (1)", "N (2)", ... keeping the extension:
 * "report (1).pdf") chosen so that neither D/U nor D/U.part exists:
 *   a file:   D/U.part, written in place, renamed to D/U once verified;
 *   a folder: D/U.part/ (a directory, 0700) holding the manifest's paths, all its files
 *             created empty when the sink is created; renamed to D/U once verified.
 * Files are created 0600 and folders 0700 (what a peer sent is private until the user shares
 * it). Nothing is ever overwritten: files are created with O_EXCL, the final rename is
 * renameat2(RENAME_NOREPLACE) (link + unlink where the file system lacks it, for a file), and a
 * name taken meanwhile moves the rename on to the next free "(n)". Inside a folder every
 * component is opened with openat(O_NOFOLLOW) below the descriptor of U.part, so a symlink that
 * appears meanwhile is refused, never followed. Manifest paths are checked with
 * file_name_check_path before anything is created.
 *
 * The store keeps, per transfer, the unique name U (file_sink_unique_name): with D and the
 * manifest it is all file_sink_reopen needs after a restart.
 *
 * Blocking I/O, one thread at a time per sink; two exceptions: a flush runs on a thread of its
 * own (file_sink_flush_run touches only the flush), and file_sink_flush_end touches only the
 * sink's record of what is not yet synced, which file_sink_read never uses (a read-back on
 * another thread may be under way meanwhile). Errors are MIM_E* codes; MIM_ENOSPC means the
 * disk or quota is full (ENOSPC, EDQUOT): the transfer should pause, not fail; nothing written
 * and synced before is lost. */
#ifndef FILE_SINK_H
#define FILE_SINK_H

#include "file_layout.h"

#include <stddef.h>
#include <stdint.h>

#define FILE_SINK_PART_SUFFIX ".part"

/* The download directory: `configured` when it is not NULL or "", else $XDG_DOWNLOAD_DIR (an
 * absolute path), else XDG_DOWNLOAD_DIR in $XDG_CONFIG_HOME/user-dirs.dirs (or
 * ~/.config/user-dirs.dirs; "$HOME/..." expanded, as xdg-user-dirs writes it), else
 * $HOME/Downloads; the last three with "/mim" appended. Written into out (outlen bytes).
 * MIM_ENOENT when nothing applies (no HOME), MIM_EOVERFLOW when it does not fit. */
int file_sink_download_dir(const char *configured, char *out, size_t outlen);
/* Creates dir and its missing parents with mode 0700 (mkdir -p). An existing directory is left
 * as it is (its mode is the user's choice). 0, MIM_EINVAL (exists, not a directory), MIM_ENOSPC,
 * MIM_EIO. */
int file_sink_prepare_dir(const char *dir);

typedef struct file_sink file_sink;

/* A new transfer into dir (which must exist): offered is the peer's name for it (len bytes, made
 * safe here); folder is 1 for a folder. *layout is moved into the sink (left empty); for a file
 * it has exactly one entry (its path is not used). On success *out is owned by the caller
 * (file_sink_close). Errors: MIM_EINVAL (a manifest path that file_name_check_path refuses, two
 * entries with the same path, a path that is both a file and a directory, a file layout that is
 * not one entry; *layout is then freed), MIM_ENOSPC, MIM_EIO; nothing is left on disk on error. */
int file_sink_create(const char *dir, const char *offered, size_t len, int folder,
                     file_layout *layout, file_sink **out);
/* Opens an existing transfer again after a restart: unique is what file_sink_unique_name said,
 * *layout (moved in) the same manifest (*layout is freed on error). MIM_ENOENT when the .part is
 * gone, MIM_EINVAL when unique is not a safe name or the .part does not match the manifest (a
 * file missing, of another type, or larger than its entry): either way what was verified is
 * lost and the transfer must start over (file_sink_remove is not needed for ENOENT); MIM_EIO. */
int file_sink_reopen(const char *dir, const char *unique, int folder, file_layout *layout,
                     file_sink **out);
/* Removes the .part of a transfer that cannot be resumed (file_sink_reopen said MIM_EINVAL):
 * dir/unique.part, a folder's whole tree without following symlinks. Refuses (MIM_EINVAL) a
 * unique that is not a safe name, as reopen does. 0, MIM_ENOENT (nothing there), MIM_EIO. */
int file_sink_discard(const char *dir, const char *unique, int folder);
/* Closes descriptors and frees; what is on disk stays (NULL is fine). */
void file_sink_close(file_sink *s);

/* The unique name U chosen for this transfer (what the store records). */
const char *file_sink_unique_name(const file_sink *s);
/* The full path of the .part now, or of the final file or folder after file_sink_finish. */
const char *file_sink_path(const file_sink *s);
const file_layout *file_sink_layout(const file_sink *s);

/* Writes len bytes at stream offset, across file boundaries (pwrite). MIM_EINVAL when
 * [offset, offset + len) is not inside the stream, MIM_ENOSPC, MIM_EIO, MIM_ESTATE after
 * finish. A short write on a full disk reports MIM_ENOSPC: write the whole range again later. */
int file_sink_write(file_sink *s, int64_t offset, const void *buf, size_t len);
/* For writing a single file's .part on another thread (the receiver's worker): a descriptor of
 * its own (the caller's to close; positional writes only), or a negative code: a folder (its
 * files are written through the sink, on the loop), a sink not open, no descriptor left. The
 * sink knows nothing of those writes until file_sink_written says they were made, so that
 * file_sink_sync covers them. */
int file_sink_dup_fd(const file_sink *s);
void file_sink_written(file_sink *s);
/* Makes everything written so far durable (fsync of each file written since the last sync, and
 * of the files a flush not yet ended took): call before recording chunks as verified in the
 * store. 0, MIM_ENOSPC, MIM_EIO. */
int file_sink_sync(file_sink *s);

/* The same sync, split so that the fsyncs run on another thread (the receiver's periodic save:
 * an fsync blocks for as long as the disk takes to write what is dirty, which the loop cannot
 * afford). A flush is the files written since the last sync, each with a descriptor of its
 * own: begin (the sink's thread) takes them, run (any thread: it touches only the flush)
 * fsyncs them, end (the sink's thread, once run is over or will never be) frees the flush.
 * What was written before begin is durable once run returns 0. */
typedef struct file_sink_flush file_sink_flush;
/* *out: a new flush (the caller's: file_sink_flush_end), or NULL when nothing was written since
 * the last sync. At most one flush per sink at a time. Until it ends, file_sink_sync and
 * file_sink_finish sync its files as well (they cannot know whether it ran). 0, MIM_ESTATE (a
 * flush is out; the sink is finished or removed), MIM_ENOMEM, MIM_ECHANGED, MIM_EIO (nothing
 * is taken then). */
int file_sink_flush_begin(file_sink *s, file_sink_flush **out);
/* fsync of each file: 0, or the first error (MIM_ENOSPC, MIM_EIO); every file is tried. */
int file_sink_flush_run(file_sink_flush *f);
/* Ends f (NULL is fine): rc is what run returned, or nonzero when it never ran; a flush that
 * failed gives its files back to the sink (when it is still open) as not yet synced. The sink
 * may have been closed meanwhile (f outlives it). Frees f and closes its descriptors. */
void file_sink_flush_end(file_sink_flush *f, int rc);

/* Reads back up to len bytes of the written stream at offset (for the whole-file hash): bytes
 * read, 0 past the end, or MIM_EIO / MIM_EINVAL. Never-written holes read as zeros. */
int64_t file_sink_read(file_sink *s, int64_t offset, void *buf, size_t len);

/* Once every chunk is verified: syncs, renames the .part to its final name without overwriting
 * anything (the next free "(n)" when U was taken meanwhile) and syncs the directory. Afterwards
 * file_sink_path is the final path. 0, MIM_ENOSPC, MIM_EIO, MIM_ESTATE when already finished. */
int file_sink_finish(file_sink *s);
/* Deletes the .part (a folder's whole tree, without following symlinks) on reject or failure.
 * MIM_ESTATE after finish (a finished file is the user's). 0, MIM_EIO. */
int file_sink_remove(file_sink *s);

#endif
