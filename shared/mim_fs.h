/* Files and directories with safe permissions: the data dir holds the private key. */
#ifndef MIM_FS_H
#define MIM_FS_H

#include <stddef.h>

/* Creates `dir` and its missing parents with mode 0700. An existing directory that group or
 * others can access is tightened to 0700 (with a warning in the log). 0 or MIM_EIO. */
int mim_fs_prepare_dir(const char *dir);
/* Joins dir and name with '/' into out. MIM_EOVERFLOW when it does not fit. */
int mim_fs_join(char *out, size_t outlen, const char *dir, const char *name);
/* 1 when leaf can be one directory's name in a path: not empty, no '/', not "." or "..". A
 * peer's name can be anything visible ("AC/DC", ".."), so it is checked before it names a
 * directory. */
int mim_fs_plain_name(const char *leaf);
/* The default data directory of a mim program, in buf (len bytes): $XDG_DATA_HOME/mim/<leaf>
 * when XDG_DATA_HOME is an absolute path, else $HOME/.local/share/mim/<leaf>. Returns buf, or
 * NULL when neither variable is set or leaf is not a plain name (mim_fs_plain_name: "../../x"
 * would escape mim's directory). */
const char *mim_fs_default_data_dir(char *buf, size_t len, const char *leaf);

#endif
