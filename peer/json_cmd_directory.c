/* The JSON API's directory (issue 14, docs/JSON-API.md): the `directory` command, its
 * `directory` event (which may come later than the command, from the loop: the command's tag
 * waits for it), and the error a send gets when the name it waited for is not registered. */
#include "json_api_priv.h"

#include <string.h>

/* directory: asks the core; the `directory` event answers (now, or once the server did). */
void ja_cmd_directory(json_api *ja, json_t *cmd, const char *name)
{
    (void)cmd, (void)name;
    json_t *tag = ja->tag != NULL ? ja->tag : json_null();

    if (ja->directory_tags == NULL && (ja->directory_tags = json_array()) == NULL)
        return;
    /* In place before the call: the answer may come from inside it. */
    json_array_append(ja->directory_tags, tag);
    if (ja_check(ja, mim_core_directory(ja->core), "") != 0)
        json_array_remove(ja->directory_tags, json_array_size(ja->directory_tags) - 1);
}

void ja_directory_answer(json_api *ja, const mim_core_directory_entry *e, size_t n, int is_private)
{
    json_t *arr = json_array();
    size_t waiting = ja->directory_tags != NULL ? json_array_size(ja->directory_tags) : 0;

    if (arr == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:o,s:s,s:b,s:I}", "name", ja_str(e[i].name),
                                             "fingerprint", e[i].fingerprint, "online", e[i].online,
                                             "last_seen", (json_int_t)e[i].last_seen_ms));
    /* One answer per directory command waiting (each with its tag); one untagged if none. */
    for (size_t i = 0; i < (waiting > 0 ? waiting : 1); i++) {
        json_t *tag = waiting > 0 ? json_array_get(ja->directory_tags, i) : NULL;
        ja_emit(
            ja,
            json_pack("{s:s,s:O,s:b}", "event", "directory", "entries", arr, "private", is_private),
            json_is_null(tag) ? NULL : tag);
    }
    if (waiting > 0)
        json_array_clear(ja->directory_tags);
    json_decref(arr);
}

void ja_lookup_failed(json_api *ja, const char *to, const mim_msg_id *mid, mim_core_lookup_fail why)
{
    char id[MIM_MSG_ID_HEX_LEN];
    json_t *tag;
    int unknown = why == MIM_CORE_LOOKUP_NOT_REGISTERED;

    mim_msg_id_hex(mid, id);
    tag = json_object_get(ja->tags, id);
    ja_emit(ja,
            json_pack("{s:s,s:s,s:o,s:s,s:s}", "event", "error", "code",
                      unknown ? "unknown_peer" : "no_answer", "to", ja_str(to), "id", id, "message",
                      unknown ? "nobody is registered under that name: the message was not stored"
                              : "the presence server did not answer the lookup of that name: "
                                "the message was not stored"),
            tag);
    json_object_del(ja->tags, id);
}
