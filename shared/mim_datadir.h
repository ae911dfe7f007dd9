/* A program's data directory, made ready before anything in it is used: created and resolved
 * once (a symlink in its path, such as /home -> /var/home, is followed there and never again),
 * locked for the life of the process (a second mim or mim-presence on it is refused), and its
 * key and store checked in an order that writes nothing until everything could be opened. */
#ifndef MIM_DATADIR_H
#define MIM_DATADIR_H

#include "mim_crypto.h"
#include "mim_store.h"

#define MIM_DATADIR_PATH_MAX 4096
/* The lock file in the data dir: kept between runs; it holds the pid of the process that has
 * it locked (flock), for the message the next one gives. */
#define MIM_DATADIR_LOCK_NAME "lock"
/* The exit code of a program refused because another process holds its data dir. */
#define MIM_DATADIR_EXIT_BUSY 3

typedef struct mim_datadir {
    char path[MIM_DATADIR_PATH_MAX]; /* resolved: absolute, no symlink in it */
    int lock_fd;                     /* the locked lock file, -1 when not locked */
    mim_identity *id;                /* after mim_datadir_open: the caller may take it */
    mim_store *st;                   /* after mim_datadir_open: the caller may take it */
    int key_created;                 /* mim_datadir_open made a new key */
} mim_datadir;

/* What lives in a program's data dir. */
typedef struct mim_datadir_files {
    const char *key;          /* "identity.key", "presence.key" */
    const char *store;        /* "mim.db", "presence.db" */
    enum mim_store_kind kind; /* the store's kind */
} mim_datadir_files;

/* Creates dir and its missing parents (0700, mim_fs_prepare_dir) and resolves it (realpath) into
 * dd->path; locks nothing (for an admin command that uses the store beside a running server).
 * 0 or MIM_EIO (logged). */
int mim_datadir_resolve(mim_datadir *dd, const char *dir);
/* mim_datadir_resolve, then the lock, then the files: the key is loaded (or made in memory), the
 * store is opened (created 0600 when missing), and only then is a new key written. Refuses a
 * key, store or lock file that is a symlink. On success dd->id and dd->st are set; what the
 * caller leaves there is freed by mim_datadir_release. Errors, each logged with what to do:
 * MIM_EBUSY (another process holds the dir: exit MIM_DATADIR_EXIT_BUSY), MIM_EPERM (a symlink,
 * or a file others can read or that is not ours), MIM_EINVAL (not a key or not a store of this
 * kind), MIM_EDB, MIM_EIO. A failure leaves nothing this call created but the directory and
 * the lock file. */
int mim_datadir_open(mim_datadir *dd, const char *dir, const mim_datadir_files *files);
/* Frees dd->id and closes dd->st when the caller left them there; the lock stays. */
void mim_datadir_close_files(mim_datadir *dd);
/* mim_datadir_close_files, and releases the lock (exiting releases it too). */
void mim_datadir_release(mim_datadir *dd);

#endif
