/* Files and directories with safe permissions: the data dir holds the private key. */
#ifndef MIM_FS_H
#define MIM_FS_H

#include <stddef.h>

/* Creates `dir` and its missing parents with mode 0700. An existing directory that group or
 * others can access is tightened to 0700 (with a warning in the log). 0 or MIM_EIO. */
int mim_fs_prepare_dir(const char *dir);
/* Creates `dir` and its missing parents with mode 0700 (mkdir -p), leaving the mode of what
 * exists alone: the caller checks what is there. 0, or MIM_EIO with errno saying why (logged). */
int mim_fs_make_dirs(const char *dir);
/* Joins dir and name with '/' into out. MIM_EOVERFLOW when it does not fit. */
int mim_fs_join(char *out, size_t outlen, const char *dir, const char *name);
/* 1 when leaf can be one directory entry: not empty, no '/', not "." or "..". */
int mim_fs_leaf_ok(const char *leaf);
/* The default data directory of a mim program, in buf (len bytes): $XDG_DATA_HOME/mim/<leaf>
 * when XDG_DATA_HOME is an absolute path, else $HOME/.local/share/mim/<leaf>. Returns buf, or
 * NULL when neither variable is set, when leaf is not one entry (mim_fs_leaf_ok) or when the
 * path does not fit. */
const char *mim_fs_default_data_dir(char *buf, size_t len, const char *leaf);

#endif
