/* The JSON-lines front end (see json_api.h): stdin, the output, the life cycle. The core's events
 * are written by json_events.c, the commands carried out by json_commands.c. jansson builds and
 * parses every line: no JSON is assembled by hand, so any text a peer sends is escaped
 * correctly. */
#include "json_api_priv.h"
#include "mim_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- output ---------------------------------------------------------------------------------- */

json_t *ja_str(const char *s)
{
    json_t *j = json_string(s != NULL ? s : "");
    return j != NULL ? j : json_string("");
}

/* Writes ev (consumed) with the tag, if any, as one line. */
void ja_emit(json_api *ja, json_t *ev, json_t *tag)
{
    char *s;

    (void)ja;
    if (ev == NULL)
        return;
    if (tag != NULL)
        json_object_set(ev, "tag", tag);
    s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (s == NULL) {
        mim_log_error("cannot encode an event");
        return;
    }
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(s);
}

json_t *ja_event(const char *name)
{
    return json_pack("{s:s}", "event", name);
}

/* Ends the open send batch: its sends are committed and answered now. */
void ja_batch_end(json_api *ja)
{
    if (!ja->batching)
        return;
    ja->batching = 0;
    mim_core_batch_end(ja->core);
    json_object_clear(ja->batch_tags);
}

/* An error answers the command being read: the sends of the batch before it are answered
 * first, whatever the error (a bad line, a refused send, a missing field). */
void ja_error(json_api *ja, const char *code, const char *message)
{
    ja_batch_end(ja);
    ja_emit(ja,
            json_pack("{s:s,s:s,s:o}", "event", "error", "code", code, "message", ja_str(message)),
            ja->tag);
}

/* ---- the words of the JSON API (docs/JSON-API.md) for the core's enums ----------------------- */
static void on_in_closed(uv_handle_t *h)
{
    (void)h;
}

static void ja_maybe_done(json_api *ja)
{
    if (!ja->stopped || ja->fs_busy || ja->in_open)
        return;
    if (ja->done != NULL) {
        void (*done)(void *, int) = ja->done;
        ja->done = NULL;
        done(ja->ud, ja->exit_code);
    }
}

static void on_in_closed_done(uv_handle_t *h)
{
    json_api *ja = h->data;
    on_in_closed(h);
    ja_maybe_done(ja);
}

void ja_core_stopped(json_api *ja, int exit_code)
{
    ja->core = NULL;
    ja->stopped = 1;
    ja->exit_code = exit_code;
    ja_stop_reading(ja);
    if (ja->in_open && !uv_is_closing((uv_handle_t *)&ja->in)) {
        uv_close((uv_handle_t *)&ja->in, on_in_closed_done);
        ja->in_open = 0; /* closing: maybe_done runs from its callback */
        return;
    }
    ja_maybe_done(ja);
}

void ja_quit(json_api *ja)
{
    ja_stop_reading(ja);
    if (ja->core != NULL)
        mim_core_quit(ja->core, 0);
}

/* ---- a command line -------------------------------------------------------------------------- */

static void handle_line(json_api *ja, const char *line, size_t len)
{
    json_error_t err;
    json_t *cmd, *c;
    const char *name;
    const json_cmd *run;
    char msg[300];

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return; /* an empty line is no command */
    ja->tag = NULL;
    cmd = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    c = json_is_object(cmd) ? json_object_get(cmd, "cmd") : NULL;
    if (!json_is_string(c) || strcmp(json_string_value(c), "send") != 0)
        ja_batch_end(ja); /* the answers of the sends before this command come first */
    if (cmd == NULL || !json_is_object(cmd)) {
        if (cmd == NULL && strstr(err.text, "JSON_ALLOW_NUL") != NULL) /* no library flags */
            snprintf(msg, sizeof(msg), "not JSON: \\u0000 (NUL) is not allowed in a string");
        else if (cmd == NULL && strstr(err.text, "JSON_") != NULL)
            snprintf(msg, sizeof(msg), "not JSON (near column %d)", err.column);
        else if (cmd == NULL)
            snprintf(msg, sizeof(msg), "not JSON: %s", err.text);
        else
            snprintf(msg, sizeof(msg), "a command is a JSON object");
        ja_error(ja, "bad_json", msg);
        json_decref(cmd);
        return;
    }
    ja->tag = json_object_get(cmd, "tag");
    if (ja->tag != NULL) {
        /* Tags are remembered (send) and repeated: their size is capped. */
        char *t = json_dumps(ja->tag, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t n = t != NULL ? strlen(t) : (size_t)-1;
        free(t);
        if (n > JSON_API_TAG_MAX) {
            ja->tag = NULL; /* not repeated */
            snprintf(msg, sizeof(msg), "'tag' is over %d bytes of JSON", JSON_API_TAG_MAX);
            ja_error(ja, "bad_field", msg);
            json_decref(cmd);
            return;
        }
    }
    if (c == NULL) {
        ja_error(ja, "missing_field", "'cmd' is required");
    } else if (!json_is_string(c)) {
        ja_error(ja, "bad_field", "'cmd' must be a string");
    } else if ((run = json_cmd_find(name = json_string_value(c))) != NULL) {
        mim_core_input(ja->core); /* a command is the user's input: auto-away ends */
        run->run(ja, cmd, name);
    } else {
        snprintf(msg, sizeof(msg), "no command '%.64s'", name);
        ja_error(ja, "unknown_command", msg);
    }
    ja->tag = NULL;
    json_decref(cmd);
}

/* ---- stdin ----------------------------------------------------------------------------------- */

static void feed(json_api *ja, const char *p, size_t n)
{
    while (n > 0 && ja->reading) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - p) : n;

        if (!ja->skipping) {
            if (ja->len + take > JSON_API_LINE_MAX) {
                char msg[96];
                snprintf(msg, sizeof(msg), "a command line over %d bytes was skipped",
                         JSON_API_LINE_MAX);
                ja->tag = NULL;
                ja_error(ja, "bad_json", msg);
                ja->skipping = 1;
                ja->len = 0;
            } else {
                memcpy(ja->line + ja->len, p, take);
                ja->len += take;
            }
        }
        if (nl == NULL)
            break;
        if (!ja->skipping)
            handle_line(ja, ja->line, ja->len);
        ja->skipping = 0;
        ja->len = 0;
        p = nl + 1;
        n -= take + 1;
    }
    ja_batch_end(ja); /* a read's sends: one commit */
}

static void at_eof(json_api *ja)
{
    if (!ja->reading)
        return;
    if (ja->len > 0 && !ja->skipping)
        handle_line(ja, ja->line, ja->len); /* a last line without its newline */
    ja_batch_end(ja);
    ja->len = 0;
    mim_log_debug("end of input: quitting");
    ja_quit(ja);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    json_api *ja = h->data;
    (void)suggested;
    *buf = uv_buf_init(ja->rbuf, READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    json_api *ja = s->data;

    if (nread > 0)
        feed(ja, buf->base, (size_t)nread);
    else if (nread < 0) {
        if (nread != UV_EOF)
            mim_log_warn("stdin: %s", uv_strerror((int)nread));
        at_eof(ja);
    }
}

static void start_fs_read(json_api *ja);

static void on_fs_read(uv_fs_t *req)
{
    json_api *ja = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    ja->fs_busy = 0;
    if (n > 0 && ja->reading) {
        feed(ja, ja->rbuf, (size_t)n);
        start_fs_read(ja);
    } else if (ja->reading) {
        at_eof(ja);
    }
    ja_maybe_done(ja);
}

static void start_fs_read(json_api *ja)
{
    uv_buf_t b = uv_buf_init(ja->rbuf, READ_CHUNK);

    if (!ja->reading)
        return;
    ja->fsreq.data = ja;
    if (uv_fs_read(ja->loop, &ja->fsreq, 0, &b, 1, -1, on_fs_read) != 0) {
        at_eof(ja);
        return;
    }
    ja->fs_busy = 1;
}

void ja_stop_reading(json_api *ja)
{
    if (!ja->reading)
        return;
    ja->reading = 0;
    if (ja->in_open)
        uv_read_stop((uv_stream_t *)&ja->in);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

json_api *json_api_new(uv_loop_t *loop, void (*done)(void *ud, int exit_code), void *ud)
{
    json_api *ja = calloc(1, sizeof(*ja));

    if (ja == NULL)
        return NULL;
    ja->loop = loop;
    ja->done = done;
    ja->ud = ud;
    ja->line = malloc(JSON_API_LINE_MAX + 1);
    ja->rbuf = malloc(READ_CHUNK);
    ja->tags = json_object();
    ja->batch_tags = json_object();
    if (ja->line == NULL || ja->rbuf == NULL || ja->tags == NULL || ja->batch_tags == NULL) {
        json_api_free(ja);
        return NULL;
    }
    return ja;
}

int json_api_attach(json_api *ja, mim_core *core)
{
    int rc;

    ja->core = core;
    ja->reading = 1;
    ja->kind = uv_guess_handle(0);
    switch (ja->kind) {
    case UV_TTY:
        if ((rc = uv_tty_init(ja->loop, &ja->in.tty, 0, 1)) != 0)
            return rc;
        break;
    case UV_NAMED_PIPE:
    case UV_TCP:
        if ((rc = uv_pipe_init(ja->loop, &ja->in.pipe, 0)) != 0)
            return rc;
        if ((rc = uv_pipe_open(&ja->in.pipe, 0)) != 0) {
            ja->in_open = 1;
            ja->in.pipe.data = ja;
            uv_close((uv_handle_t *)&ja->in, on_in_closed);
            ja->in_open = 0;
            return rc;
        }
        break;
    default: /* a file, /dev/null: read through the thread pool */
        start_fs_read(ja);
        return 0;
    }
    ja->in_open = 1;
    ((uv_handle_t *)&ja->in)->data = ja;
    if ((rc = uv_read_start((uv_stream_t *)&ja->in, on_alloc, on_read)) != 0)
        return rc;
    return 0;
}

void json_api_quit(json_api *ja)
{
    ja_quit(ja);
}

void json_api_free(json_api *ja)
{
    if (ja == NULL)
        return;
    json_decref(ja->tags);
    json_decref(ja->batch_tags);
    json_decref(ja->directory_tags);
    free(ja->line);
    free(ja->rbuf);
    free(ja);
}
