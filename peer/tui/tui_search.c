/* /search and /open (docs/TUI.md): the words parsed here, at the edge, into a search query; the
 * results listed in the console, numbered, newest first, with date, who and a snippet whose
 * matched words are starred; /open N opens result N's conversation scrolled to the message. */
#include "mim_search_query.h"
#include "tui_command.h"
#include "tui_priv.h"
#include "tui_rooms.h"
#include "tui_screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What /open needs of a result: where it is. */
typedef struct tui_search_hit {
    char peer[MIM_NAME_MAX_BYTES + 1];
    char id[MIM_MSG_ID_HEX_LEN];
} tui_search_hit;

struct tui_search_hits {
    size_t n;
    tui_search_hit hit[TUI_SEARCH_MAX];
};

void tui_search_free(tui *t)
{
    free(t->search);
    t->search = NULL;
}

/* The snippet on one line with each matched word between '*'s, in out (a heap string; NULL
 * when out of memory). */
static char *snippet_starred(const mim_core_search_item *it)
{
    size_t n = strlen(it->snippet), o = 0, k = 0;
    char *out = malloc(n + 2 * it->nmarks + 1);

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        if (k < it->nmarks && it->marks[k].end == i)
            out[o++] = '*', k++;
        if (k < it->nmarks && it->marks[k].start == i)
            out[o++] = '*';
        if (i < n)
            out[o++] = it->snippet[i] == '\n' || it->snippet[i] == '\t' ? ' ' : it->snippet[i];
    }
    out[o] = '\0';
    return out;
}

static void show_one(void *arg, const mim_core_search_item *it)
{
    tui *t = arg;
    struct tui_search_hits *s = t->search;
    time_t when = (time_t)(it->ts_ms / 1000);
    char date[32] = "?";
    struct tm tm;
    char *text;

    if (s->n == TUI_SEARCH_MAX)
        return;
    snprintf(s->hit[s->n].peer, sizeof(s->hit[0].peer), "%s", it->peer);
    mim_msg_id_hex(&it->id, s->hit[s->n].id);
    s->n++;
    if (localtime_r(&when, &tm) != NULL)
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
    text = snippet_starred(it);
    tui_say(t, TUI_ENTRY_TEXT, "[%zu] %s  %s to %s: %s", s->n, date, it->from, it->to,
            text != NULL ? text : it->snippet);
    free(text);
}

void tui_search_run(tui *t, const char *with, const char *words)
{
    tui_search_in(t, with, NULL, words);
}

void tui_search_in(tui *t, const char *with, const char *room, const char *words)
{
    mim_search_query q;
    int rc = mim_search_query_parse(words, strlen(words), &q);

    tui_open(t, NULL); /* the results go to the console */
    if (rc != 0) {
        tui_say(t, TUI_ENTRY_WARN, "cannot search: %s", mim_search_query_strerror(rc));
        return;
    }
    if (t->search == NULL && (t->search = malloc(sizeof(*t->search))) == NULL) {
        tui_say(t, TUI_ENTRY_WARN, "out of memory");
        return;
    }
    t->search->n = 0;
    tui_say(t, TUI_ENTRY_INFO, "search for %s%s%s, newest first:", words,
            with != NULL   ? " with "
            : room != NULL ? " in #"
                           : "",
            with != NULL   ? with
            : room != NULL ? room
                           : "");
    rc = room != NULL ? mim_core_search_room(t->core, &q, room, TUI_SEARCH_MAX, show_one, t)
                      : mim_core_search(t->core, &q, with, TUI_SEARCH_MAX, show_one, t);
    if (rc != 0 && room != NULL) {
        tui_say(t, TUI_ENTRY_WARN, "cannot search #%s: %s", room, tui_room_error(rc));
        return;
    }
    if (rc != 0) {
        tui_say_refusal(t, rc, with != NULL ? with : "");
        return;
    }
    if (room != NULL) { /* a room has no conversation of its own to /open one in (yet) */
        tui_say(t, TUI_ENTRY_INFO, "%zu found in #%s", t->search->n, room);
        t->search->n = 0;
        return;
    }
    if (t->search->n == 0)
        tui_say(t, TUI_ENTRY_INFO, "nothing found");
    else
        tui_say(t, TUI_ENTRY_INFO, "%zu found%s; /open N shows one in its conversation",
                t->search->n, t->search->n == TUI_SEARCH_MAX ? " (the newest 50)" : "");
}

/* Reads more of name's history into its conversation until it holds the message id (the
 * history is read whole again, longer each time, up to the core's limit): the entry's index,
 * or -1 when the message is older than that. */
static long load_until(tui *t, tui_contact *c, const char *id)
{
    static const size_t limits[] = {200, 500, MIM_CORE_HISTORY_MAX};
    tui_conv fresh;

    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        tui_entry *e = tui_conv_find(&c->conv, id);
        if (e != NULL)
            return (long)(e - c->conv.e);
        if (tui_read_history(t, c->name, limits[i], &fresh) != 0)
            return -1;
        tui_conv_free(&c->conv); /* replaced by the longer history */
        c->conv = fresh;
        c->conv.loaded = 1;
    }
    {
        tui_entry *e = tui_conv_find(&c->conv, id);
        return e != NULL ? (long)(e - c->conv.e) : -1;
    }
}

void tui_search_open(tui *t, int n)
{
    const tui_search_hit *h;
    tui_contact *c;
    long at;

    if (t->search == NULL || n < 1 || (size_t)n > t->search->n) {
        tui_say(t, TUI_ENTRY_WARN, "there is no result %d: /search first", n);
        return;
    }
    h = &t->search->hit[n - 1];
    if (tui_model_contact(&t->m, h->peer, 1) == NULL)
        return;
    tui_open(t, h->peer);
    if ((c = tui_model_current(&t->m)) == NULL)
        return;
    if ((at = load_until(t, c, h->id)) < 0) {
        tui_say(t, TUI_ENTRY_WARN, "result %d is older than the last %d messages with %s", n,
                MIM_CORE_HISTORY_MAX, h->peer);
        return;
    }
    /* The message in the middle of the view: half a page of what came after it below it. */
    t->m.scroll = tui_screen_rows_after(&t->m, (size_t)at) - tui_screen_page_rows() / 2;
    if (t->m.scroll < 0)
        t->m.scroll = 0;
}
