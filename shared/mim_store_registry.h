/* The presence server's part of the storage door: the name registry, first come first served.
 * Open the store with mim_store_open(path, MIM_STORE_PRESENCE, ...). */
#ifndef MIM_STORE_REGISTRY_H
#define MIM_STORE_REGISTRY_H

#include <stdint.h>

#include "mim_store.h"

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
