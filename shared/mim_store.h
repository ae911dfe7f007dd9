/* The only door to SQLite. No other file in mim includes <sqlite3.h>.
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
};

/* Opens (creating if needed, mode 0600) the store at `path`. On success *out is owned by the
 * caller (mim_store_close). Errors: MIM_EDB (log says why), MIM_EINVAL (unknown schema). */
int mim_store_open(const char *path, enum mim_store_kind kind, mim_store **out);
void mim_store_close(mim_store *st);
/* The schema version the file is at now. */
int mim_store_schema_version(mim_store *st);

/* ---- presence: the name registry, first come first served ----------------------------------- */

enum {
    MIM_NAME_REGISTERED = 0, /* the name was free: now bound to pk */
    MIM_NAME_SAME_KEY = 1,   /* the name was already bound to this same pk */
};

/* Binds `name` to `identity_pk` if it is free. Returns MIM_NAME_REGISTERED, MIM_NAME_SAME_KEY,
 * MIM_ETAKEN (bound to another key), or MIM_EDB. `now` is seconds since the epoch. */
int mim_store_name_claim(mim_store *st, const char *name, const uint8_t identity_pk[32],
                         int64_t now);
/* Unbinds `name` (the admin's way to free a name). 0 or MIM_ENOENT or MIM_EDB. */
int mim_store_name_free(mim_store *st, const char *name);
/* How many names are registered, or a negative MIM_E* code. */
int64_t mim_store_name_count(mim_store *st);

#endif
