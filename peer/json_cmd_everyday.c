/* The JSON API's everyday commands (docs/JSON-API.md): read, typing, receipts, block, unblock. */
#include "json_api_priv.h"

#include <string.h>

/* An optional boolean field: 0 and *out (def when absent), or -1 after an error event. */
static int opt_bool(json_api *ja, json_t *cmd, const char *field, int def, int *out)
{
    json_t *v = json_object_get(cmd, field);
    char msg[96];

    *out = def;
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(msg, sizeof(msg), "'%s' must be true or false", field);
        ja_error(ja, "bad_field", msg);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* read {with}: every message received from `with` so far counts as read. */
void ja_cmd_read(json_api *ja, json_t *cmd, const char *name)
{
    const char *with;

    if (ja_need_str(ja, cmd, "with", &with) != 0)
        return;
    if (ja_check(ja, mim_core_mark_read(ja->core, with), with) == 0)
        ja_ok(ja, name);
}

/* typing {with, typing?}: the user types to `with` (typing true, the default) or stopped. */
void ja_cmd_typing(json_api *ja, json_t *cmd, const char *name)
{
    const char *with;
    int typing;

    if (ja_need_str(ja, cmd, "with", &with) != 0 || opt_bool(ja, cmd, "typing", 1, &typing) != 0)
        return;
    if (ja_check(ja, mim_core_typing(ja->core, with, typing), with) == 0)
        ja_ok(ja, name);
}

/* receipts {value}: read receipts and typing on or off, both ways. */
void ja_cmd_receipts(json_api *ja, json_t *cmd, const char *name)
{
    int on;

    if (json_object_get(cmd, "value") == NULL) {
        ja_error(ja, "missing_field", "'value' is required");
        return;
    }
    if (opt_bool(ja, cmd, "value", 1, &on) != 0)
        return;
    if (ja_check(ja, mim_core_set_receipts(ja->core, on), "") == 0)
        ja_ok(ja, name);
}

/* block {name}, unblock {name}. */
void ja_cmd_block(json_api *ja, json_t *cmd, const char *name)
{
    int block = strcmp(name, "block") == 0;
    const char *who;
    int rc;

    if (ja_need_str(ja, cmd, "name", &who) != 0)
        return;
    rc = mim_core_block(ja->core, who, block);
    if (rc == MIM_CORE_ENOTHING)
        ja_error(ja, "bad_state", block ? "already blocked" : "not blocked");
    else if (ja_check(ja, rc, who) == 0)
        ja_ok(ja, name);
}
