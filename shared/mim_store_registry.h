/* The presence server's part of the storage door: the name registry, first come first served.
 * Open the store with mim_store_open(path, MIM_STORE_PRESENCE, ...). */
#ifndef MIM_STORE_REGISTRY_H
#define MIM_STORE_REGISTRY_H

#include <stdint.h>

#include "mim_store.h"

enum {
    MIM_NAME_REGISTERED = 0, /* the name was free: now bound to pk */
    MIM_NAME_SAME_KEY = 1,   /* the name was already bound to this same pk */
    MIM_NAME_LOOKALIKE = 2,  /* refused: the name is free, but looks like a registered one */
};

/* Binds `name` to `identity_pk` if it is free and does not look like a registered name (the
 * same confusable skeleton, mim_name_skeleton, whoever owns that name). Returns
 * MIM_NAME_REGISTERED, MIM_NAME_SAME_KEY, MIM_NAME_LOOKALIKE (nothing written), MIM_ETAKEN
 * (bound to another key), or MIM_EDB. A name registered before the look-alike rule keeps
 * working for its key even if it looks like another. `now` is seconds since the epoch. */
int mim_store_name_claim(mim_store *st, const char *name, const uint8_t identity_pk[32],
                         int64_t now);
/* A registered name other than `name` that looks like it, into like (cap bytes): 0, MIM_ENOENT
 * when there is none, MIM_EINVAL or MIM_EDB. For the message after MIM_NAME_LOOKALIKE. */
int mim_store_name_lookalike(mim_store *st, const char *name, char *like, size_t cap);
/* Unbinds `name` (the admin's way to free a name). 0 or MIM_ENOENT or MIM_EDB. */
int mim_store_name_free(mim_store *st, const char *name);
/* Whose is `name` here, read only (issue 18: a cluster server's hint, never its verdict):
 * MIM_NAME_SAME_KEY, MIM_ETAKEN, MIM_NAME_REGISTERED when this registry does not know it, or
 * MIM_EINVAL / MIM_EDB. */
int mim_store_name_owner(mim_store *st, const char *name, const uint8_t identity_pk[32]);
/* How many names are registered, or a negative MIM_E* code. */
int64_t mim_store_name_count(mim_store *st);

#endif
