/* The JSON API's commands on contacts and the presence server (docs/JSON-API.md): contacts,
 * login, logout. */
#include "json_api_priv.h"

#include <string.h>

static void contact_one(void *arg, const mim_core_contact_info *ci)
{
    json_t *arr = arg;

    json_array_append_new(arr, json_pack("{s:o,s:s,s:b,s:b,s:s,s:b,s:s,s:o,s:I,s:b}", "name",
                                         ja_str(ci->name), "fingerprint", ci->fingerprint,
                                         "verified", ci->verified, "key_pending", ci->key_pending,
                                         "pending_fingerprint", ci->pending_fingerprint, "online",
                                         ci->online, "status", ja_status_word(ci->status), "text",
                                         ja_str(ci->status_text), "unread", (json_int_t)ci->unread,
                                         "blocked", ci->blocked));
}

/* contacts: one `contacts` event listing every known contact and its state. */
void ja_cmd_contacts(json_api *ja, json_t *cmd, const char *name)
{
    (void)cmd, (void)name;
    json_t *arr = json_array();

    if (arr == NULL)
        return;
    if (ja_check(ja, mim_core_contacts(ja->core, contact_one, arr), "") != 0) {
        json_decref(arr);
        return;
    }
    ja_emit(ja, json_pack("{s:s,s:o}", "event", "contacts", "contacts", arr), ja->tag);
}

/* login, logout: `ok`, or bad_state when already in (login) or out (logout). */
void ja_cmd_login(json_api *ja, json_t *cmd, const char *name)
{
    (void)cmd;
    int in = strcmp(name, "login") == 0;
    int rc = in ? mim_core_login(ja->core) : mim_core_logout(ja->core);

    if (rc == MIM_CORE_ENOTHING)
        ja_error(ja, "bad_state", in ? "not logged out" : "already logged out");
    else if (ja_check(ja, rc, "") == 0)
        ja_ok(ja, name);
}
