/* File transfers (issue 15): the commands of core.h's "files" section. The engine lands here in
 * the next commits; until then the commands refuse, so that front ends link and can be built
 * against the API. */
#include "core_priv.h"

int mim_core_send_file(mim_core *c, const char *to, const char *path, mim_msg_id *id)
{
    (void)c, (void)to, (void)path, (void)id;
    return MIM_CORE_ENO_FILE;
}

int mim_core_accept_file(mim_core *c, const mim_msg_id *id)
{
    (void)c, (void)id;
    return MIM_CORE_ENO_TRANSFER;
}

int mim_core_reject_file(mim_core *c, const mim_msg_id *id)
{
    (void)c, (void)id;
    return MIM_CORE_ENO_TRANSFER;
}

int mim_core_files(mim_core *c, void (*cb)(void *arg, const mim_core_file_info *f), void *arg)
{
    (void)c, (void)cb, (void)arg;
    return 0;
}
