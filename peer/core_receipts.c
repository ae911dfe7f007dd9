/* Inside the peer core: what the user has read (the read marks of the store). */
#include "core_priv.h"

#include "mim_error.h"

size_t core_unread_count(mim_core *c, const char *name)
{
    int64_t n = 0;

    if (mim_store_unread_count(c->st, name, &n) < 0 || n < 0)
        return 0;
    return (size_t)n;
}

int mim_core_mark_read(mim_core *c, const char *with)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (!core_known_peer(c, with))
        return MIM_CORE_EUNKNOWN_PEER;
    if (mim_store_mark_read(c->st, with) < 0)
        return MIM_CORE_ESTORE;
    return 0;
}
