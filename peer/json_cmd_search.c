/* The JSON API's search command (docs/JSON-API.md, "search"): the query parsed here, at the
 * edge, into a mim_search_query; one "search" event with every result. */
#include "json_api_priv.h"
#include "mim_search_query.h"

#include <stdio.h>
#include <string.h>

#define SEARCH_LIMIT_DEFAULT 20

/* Characters (code points) of UTF-8 s before byte offset off: JSON front ends count in
 * characters, not bytes. */
static json_int_t chars_before(const char *s, size_t off)
{
    json_int_t n = 0;

    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

static void search_one(void *arg, const mim_core_search_item *it)
{
    json_t *arr = arg, *marks = json_array();
    char hex[MIM_MSG_ID_HEX_LEN];
    mim_core_msg_meta meta = {.broadcast = it->broadcast};

    for (size_t i = 0; marks != NULL && i < it->nmarks; i++)
        json_array_append_new(marks,
                              json_pack("[I,I]", chars_before(it->snippet, it->marks[i].start),
                                        chars_before(it->snippet, it->marks[i].end)));
    mim_msg_id_hex(&it->id, hex);
    json_array_append_new(
        arr, ja_fanout_fields(json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o*}", "id", hex, "ts",
                                        (json_int_t)it->ts_ms, "from", ja_str(it->from), "to",
                                        ja_str(it->to), "text", ja_str(it->text), "snippet",
                                        ja_str(it->snippet), "marks", marks),
                              &meta)); /* issue 16: "broadcast", "important" */
}

/* The optional "limit": 0 and *limit (SEARCH_LIMIT_DEFAULT when absent), or -1 (said). */
static int search_limit(json_api *ja, json_t *cmd, json_int_t *limit)
{
    json_t *lim = json_object_get(cmd, "limit");
    char msg[96];

    *limit = SEARCH_LIMIT_DEFAULT;
    if (lim == NULL)
        return 0;
    if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
        json_integer_value(lim) > MIM_CORE_SEARCH_MAX) {
        snprintf(msg, sizeof(msg), "'limit' must be an integer from 1 to %d", MIM_CORE_SEARCH_MAX);
        ja_error(ja, "bad_field", msg);
        return -1;
    }
    *limit = json_integer_value(lim);
    return 0;
}

/* search {query, with? | room?, limit?}: one "search" event with the results, newest first. */
void ja_cmd_search(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *text, *with = NULL, *room = NULL;
    mim_search_query q;
    json_int_t limit;
    json_t *arr;
    char msg[96];
    int rc;

    if (ja_need_str(ja, cmd, "query", &text) != 0)
        return;
    if (json_object_get(cmd, "with") != NULL && ja_need_str(ja, cmd, "with", &with) != 0)
        return;
    if (json_object_get(cmd, "room") != NULL && ja_need_str(ja, cmd, "room", &room) != 0)
        return;
    if (with != NULL && room != NULL) {
        ja_error(ja, "bad_field", "'with' and 'room': give one of them");
        return;
    }
    if (search_limit(ja, cmd, &limit) != 0)
        return;
    rc = mim_search_query_parse(text, json_string_length(json_object_get(cmd, "query")), &q);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "'query': %s", mim_search_query_strerror(rc));
        ja_error(ja, "bad_field", msg);
        return;
    }
    if ((arr = json_array()) == NULL)
        return;
    rc = room != NULL ? mim_core_search_room(ja->core, &q, room, (size_t)limit, search_one, arr)
                      : mim_core_search(ja->core, &q, with, (size_t)limit, search_one, arr);
    if ((room != NULL ? ja_room_check(ja, rc, room, room) : ja_check(ja, rc, with ? with : "")) !=
        0) {
        json_decref(arr);
        return;
    }
    ja_emit(ja, json_pack("{s:s,s:o}", "event", "search", "results", arr), ja->tag);
}
