/* The storage door, common to both programs: opening a store, its migrations and its
 * transactions. Only the mim_store*.c files include <sqlite3.h>; each program includes its own
 * header on top of this one (mim_store_registry.h, mim_store_peer.h) and sees only its tables.
 *
 * A store is one SQLite file opened in WAL mode with synchronous=FULL (anything acknowledged is
 * on disk) and a busy timeout, so an admin command can use the file while the server runs. Its
 * schema is versioned with PRAGMA user_version; mim_store_open() applies every missing
 * migration for the store's kind in one transaction each, and refuses a file newer than this
 * program knows (MIM_EINVAL). */
#ifndef MIM_STORE_H
#define MIM_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mim_store mim_store;

enum mim_store_kind {
    MIM_STORE_PRESENCE = 1, /* mim-presence: the name registry */
    MIM_STORE_PEER = 2,     /* mim: contacts and pins, the server pin, history and outbox */
};

/* Opens (creating if needed, mode 0600) the store at `path`, which must have no symlink in it
 * (SQLITE_OPEN_NOFOLLOW: give a resolved path, mim_datadir.h). An existing database, -wal, -shm
 * or -journal that group or others can read is set to 0600 (logged); one that is a symlink or
 * another user's is refused (MIM_EPERM). Whatever SQLite creates is 0600 whatever the umask. On
 * success *out is owned by the caller (mim_store_close). Errors: MIM_EDB (log says why),
 * MIM_EPERM, MIM_EINVAL (unknown schema). */
int mim_store_open(const char *path, enum mim_store_kind kind, mim_store **out);
void mim_store_close(mim_store *st);
/* The schema version the file is at now. */
int mim_store_schema_version(mim_store *st);

/* ---- transactions (group commit): a peer store's (MIM_EINVAL on a registry) ------------------
 * A peer stores a burst of received messages in one transaction, then acknowledges them all:
 * an ack is only ever sent after the COMMIT that made its message durable. Not nested. */
int mim_store_begin(mim_store *st);
/* The same, for changes that may be lost to a power cut but never to a crash: the commit writes
 * the WAL without syncing it (synchronous=NORMAL for this transaction only). The WAL is a log,
 * so the next full commit (or checkpoint) syncs this one with it, and a power cut can only drop
 * it together with every commit after it. Used for the SENT and DELIVERED marks, which the
 * protocol redoes when they are lost (docs/PROTOCOL.md 14.6). */
int mim_store_begin_relaxed(mim_store *st);
/* The connection's PRAGMA synchronous now (1 NORMAL, 2 FULL), or a negative code: for tests and
 * diagnostics. */
int mim_store_synchronous(mim_store *st);
int mim_store_commit(mim_store *st);
int mim_store_rollback(mim_store *st);

#endif
