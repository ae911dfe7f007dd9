/* The JSON API's everyday commands (docs/JSON-API.md): what has been read. */
#include "json_api_priv.h"

/* read {with}: every message received from `with` so far counts as read. */
void ja_cmd_read(json_api *ja, json_t *cmd, const char *name)
{
    const char *with;

    if (ja_need_str(ja, cmd, "with", &with) != 0)
        return;
    if (ja_check(ja, mim_core_mark_read(ja->core, with), with) == 0)
        ja_ok(ja, name);
}
