/* The JSON API's files (docs/JSON-API.md, "Files"): the commands send_file, accept_file,
 * reject_file and files, and the file_* events the core's transfer events become. */
#include "json_api_priv.h"
#include "file_refusal.h"

#include <stdio.h>
#include <string.h>

/* The fields every file_* event and every entry of `files` has: with (or from, for an offer),
 * id, direction, name, size, bytes. */
static json_t *file_common(const mim_core_file_info *f, const char *who_key)
{
    char hex[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(&f->id, hex);
    return json_pack("{s:o,s:s,s:s,s:o,s:I,s:I}", who_key, ja_str(f->with), "id", hex, "direction",
                     ja_file_dir_word(f->dir), "name", ja_str(f->name), "size", (json_int_t)f->size,
                     "bytes", (json_int_t)f->bytes);
}

/* bytes/s as a whole number (0 when not running, or not a sane number). */
static json_t *rate_of(double rate)
{
    return json_integer(rate >= 1 && rate < 1e15 ? (json_int_t)rate : 0);
}

/* The media fields: media_type, files, width, height. */
static void add_media(json_t *o, const mim_core_file_info *f)
{
    json_object_set_new(o, "media_type", ja_str(f->media_type));
    json_object_set_new(o, "files", json_integer(f->nfiles));
    json_object_set_new(o, "width", json_integer(f->width));
    json_object_set_new(o, "height", json_integer(f->height));
}

json_t *ja_file_event(const char *event, const mim_core_file_info *f, int accepted)
{
    int offer = strcmp(event, "file_offer") == 0;
    json_t *ev = file_common(f, offer ? "from" : "with");

    if (ev == NULL)
        return NULL;
    json_object_set_new(ev, "event", json_string(event));
    if (offer) {
        add_media(ev, f);
        json_object_set_new(ev, "accepted", json_boolean(accepted));
        json_object_set_new(ev, "path", ja_str(f->path)); /* where it will be saved */
    } else if (strcmp(event, "file_progress") == 0) {
        json_object_set_new(ev, "rate", rate_of(f->rate));
    } else if (strcmp(event, "file_done") == 0) {
        json_object_set_new(ev, "path", ja_str(f->path));
        json_object_set_new(ev, "sha256", ja_str(f->sha256));
        json_object_set_new(ev, "media_type", ja_str(f->media_type));
    } else { /* file_failed, file_paused */
        json_object_set_new(ev, "state", json_string(ja_file_state_word(f->state)));
        json_object_set_new(ev, "error", ja_str(f->error));
    }
    return ev;
}

/* send_file {to, path}: queued and/or sent, with the offer's id, as for send. */
void ja_cmd_send_file(json_api *ja, json_t *cmd, const char *name)
{
    (void)name;
    const char *to, *path;
    mim_msg_id id;
    char hex[MIM_MSG_ID_HEX_LEN], why[200], msg[400];
    int rc;

    if (ja_need_str(ja, cmd, "to", &to) != 0 || ja_need_str(ja, cmd, "path", &path) != 0)
        return;
    /* queued / sent come from inside the call, before the id is known here: they take the
     * command's tag (emit_msg_state), and delivered finds it under the id afterwards. */
    ja->sending_file = 1;
    rc = mim_core_send_file(ja->core, to, path, &id);
    ja->sending_file = 0;
    if (rc == MIM_CORE_ENO_FILE) {
        file_refusal_describe(path, why, sizeof(why));
        snprintf(msg, sizeof(msg), "cannot send '%.150s': %s", path, why);
        ja_error(ja, "bad_path", msg);
    } else if (rc == MIM_CORE_ETOO_BIG) {
        ja_error(ja, "too_big", "over what one transfer can carry (its size or number of files)");
    } else if (ja_check(ja, rc, to) == 0 && ja->tag != NULL) {
        mim_msg_id_hex(&id, hex);
        if (json_object_size(ja->tags) < JSON_API_TAGS_MAX)
            json_object_set(ja->tags, hex, ja->tag);
    }
}

/* The "id" field as a message id: 0 and *id, or -1 (said). */
static int need_id(json_api *ja, json_t *cmd, mim_msg_id *id)
{
    const char *hex;

    if (ja_need_str(ja, cmd, "id", &hex) != 0)
        return -1;
    if (mim_msg_id_parse(hex, id) != 0) {
        ja_error(ja, "bad_field", "'id' must be a transfer's id: 32 hex digits");
        return -1;
    }
    return 0;
}

typedef struct find_state {
    const mim_msg_id *id;
    int found;
    mim_core_file_dir dir;
    mim_core_file_state state;
} find_state;

static void find_one(void *arg, const mim_core_file_info *f)
{
    find_state *fs = arg;

    if (memcmp(f->id.bytes, fs->id->bytes, sizeof(f->id.bytes)) == 0) {
        fs->found = 1;
        fs->dir = f->dir;
        fs->state = f->state;
    }
}

/* Why accept or reject found nothing to decide: no such transfer, or one past deciding. */
static void no_transfer(json_api *ja, const mim_msg_id *id)
{
    find_state fs = {.id = id};
    char msg[200];

    if (mim_core_files(ja->core, find_one, &fs) != 0 || !fs.found) {
        ja_error(ja, "unknown_transfer", "no transfer has that id");
        return;
    }
    if (fs.dir == MIM_CORE_FILE_SEND)
        snprintf(msg, sizeof(msg), "that transfer is one you offered: the peer decides");
    else
        snprintf(msg, sizeof(msg), "that transfer does not wait for a decision: it is %s",
                 ja_file_state_word(fs.state));
    ja_error(ja, "bad_state", msg);
}

/* accept_file {id}, reject_file {id}: ok, or why not. */
void ja_cmd_accept_file(json_api *ja, json_t *cmd, const char *name)
{
    int accept = strcmp(name, "accept_file") == 0;
    mim_msg_id id;
    int rc;

    if (need_id(ja, cmd, &id) != 0)
        return;
    rc = accept ? mim_core_accept_file(ja->core, &id) : mim_core_reject_file(ja->core, &id);
    if (rc == MIM_CORE_ENO_TRANSFER)
        no_transfer(ja, &id);
    else if (ja_check(ja, rc, "") == 0)
        ja_ok(ja, name);
}

static void files_one(void *arg, const mim_core_file_info *f)
{
    json_t *arr = arg, *o = file_common(f, "with");

    if (o == NULL)
        return;
    add_media(o, f);
    json_object_set_new(o, "state", json_string(ja_file_state_word(f->state)));
    json_object_set_new(o, "path", ja_str(f->path));
    json_object_set_new(o, "sha256", ja_str(f->sha256));
    json_object_set_new(o, "error", ja_str(f->error));
    json_object_set_new(o, "rate", rate_of(f->rate));
    json_array_append_new(arr, o);
}

/* files: one "files" event listing every transfer, oldest first. */
void ja_cmd_files(json_api *ja, json_t *cmd, const char *name)
{
    (void)cmd, (void)name;
    json_t *arr = json_array();

    if (arr == NULL)
        return;
    if (ja_check(ja, mim_core_files(ja->core, files_one, arr), "") != 0) {
        json_decref(arr);
        return;
    }
    ja_emit(ja, json_pack("{s:s,s:o}", "event", "files", "files", arr), ja->tag);
}
