/* The JSON-lines front end of `mim --json` (docs/JSON-API.md).
 *
 * Commands arrive on stdin, one JSON object per line (at most JSON_API_LINE_MAX bytes; a longer
 * line is answered with an error and skipped), and are turned into mim_core calls; the core's
 * events are written to stdout as one compact JSON object per line, flushed at once. A command's
 * "tag" is repeated in every event it causes directly (for send: its queued, sent and delivered
 * events, remembered by message id). End of stdin is a quit. Logs never go to stdout.
 *
 * Use: json_api_new, mim_core_start with json_api_core_events() and the json_api as user data,
 * then json_api_attach (starts reading stdin). When the core has stopped, stdin is closed and
 * done(ud, exit_code) runs; json_api_free after the loop has ended. */
#ifndef MIM_PEER_JSON_API_H
#define MIM_PEER_JSON_API_H

#include "core.h"

#include <uv.h>

#define JSON_API_LINE_MAX (64 * 1024) /* bytes in one command line, newline excluded */
#define JSON_API_TAGS_MAX 4096        /* send tags remembered until their delivered event */
#define JSON_API_TAG_MAX  1024        /* bytes of a command's tag, as compact JSON */

typedef struct json_api json_api;

/* NULL when out of memory. */
json_api *json_api_new(uv_loop_t *loop, void (*done)(void *ud, int exit_code), void *ud);
/* The events to give mim_core_start, with the json_api as their user data. */
const mim_core_events *json_api_core_events(void);
/* Starts reading commands from fd 0 (pipe, terminal or file). 0, or a negative uv error. */
int json_api_attach(json_api *ja, mim_core *core);
/* An orderly quit (a signal): as the `quit` command. */
void json_api_quit(json_api *ja);
void json_api_free(json_api *ja);

#endif
