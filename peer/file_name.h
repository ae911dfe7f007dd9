/* Names from a peer made safe for the receiver's disk: the offered name of a file or folder
 * (one directory entry under the download directory) and the relative paths of a folder's
 * manifest (which must stay below the transfer's top folder).
 *
 * Pure: no I/O. Input is bytes with a length (not trusted to be UTF-8 or NUL-free). */
#ifndef FILE_NAME_H
#define FILE_NAME_H

#include <stddef.h>

/* Bytes of a safe name, NUL excluded: under NAME_MAX (255) with room for " (99999)" and
 * ".part" added by the sink. */
#define FILE_NAME_MAX 200
/* The buffer a safe name needs. */
#define FILE_NAME_BUF (FILE_NAME_MAX + 1)

/* Writes into out a safe single directory entry made from the offered name (len bytes):
 *  - invalid UTF-8 sequences (overlong forms, surrogates, past U+10FFFF, cut short) become '_';
 *  - '/' and '\\', C0 and C1 controls, DEL, and the bidirectional controls (U+202A..U+202E,
 *    U+2066..U+2069, U+200E, U+200F, U+061C) become '_';
 *  - leading dots and spaces are dropped (".." -> "", ".bashrc" -> "bashrc",
 *    "../../etc/passwd" -> "_.._etc_passwd"), trailing dots and spaces too;
 *  - a name longer than FILE_NAME_MAX bytes is cut at a character boundary, keeping its
 *    extension (the part after the last '.', when it is 1..16 bytes) at the end;
 *  - a name left empty becomes "file"; Windows' reserved device names (CON, PRN, AUX, NUL,
 *    COM1..9, LPT1..9, with any extension) get a '_' in front, so a folder copied to such a
 *    disk later still works.
 * The result is valid UTF-8, 1..FILE_NAME_MAX bytes, passes mim_fs_leaf_ok, and does not start
 * with '.'. Returns its length. */
size_t file_name_safe(const char *name, size_t len, char out[FILE_NAME_BUF]);

/* 0 when path (len bytes) is an acceptable relative path inside a folder transfer, else
 * MIM_EINVAL: not empty, at most FILE_LAYOUT_MAX_PATH bytes, valid UTF-8 without NUL or control
 * characters (C0, C1, DEL, bidirectional controls), no '\\'; split at '/', every component is
 * non-empty (no leading '/', no "//", no trailing '/'), not "." or "..", and at most
 * FILE_NAME_MAX bytes; at most FILE_LAYOUT_MAX_DEPTH directories deep. Leading dots are allowed
 * inside a folder (".git/config"): the paths keep the sender's layout, and the top folder's own
 * name is what file_name_safe made visible. */
int file_name_check_path(const char *path, size_t len);

#endif
