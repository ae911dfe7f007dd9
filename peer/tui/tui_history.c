/* A conversation's stored history in the terminal front end: read from the core, paged in above
 * (/history, PageUp), opened at its first unread message, and marked read (see tui_priv.h). */
#include "tui_command.h" /* TUI_HISTORY_DEFAULT, TUI_HISTORY_MAX */
#include "tui_priv.h"
#include "mim_log.h"

#include <string.h>

static enum tui_msg_state msg_state_of(mim_core_msg_state state)
{
    switch (state) {
    case MIM_CORE_MSG_QUEUED:
        return TUI_MSG_QUEUED;
    case MIM_CORE_MSG_SENT:
        return TUI_MSG_SENT;
    case MIM_CORE_MSG_DELIVERED:
        return TUI_MSG_DELIVERED;
    case MIM_CORE_MSG_READ:
        return TUI_MSG_READ;
    case MIM_CORE_MSG_DEPOSITED:
        return TUI_MSG_DEPOSITED;
    default:
        return TUI_MSG_RECEIVED;
    }
}

typedef struct history_load {
    tui *t;
    tui_conv conv;
    int room; /* a room's (issue 16): the store keeps no "read" of its own for it */
} history_load;

static void history_one(void *arg, const mim_core_history_item *it)
{
    history_load *h = arg;
    int out = strcmp(it->from, h->t->m.me) == 0;
    char hex[MIM_MSG_ID_HEX_LEN];
    const char *text = it->text, *file_line;
    tui_entry *e;

    mim_msg_id_hex(&it->id, hex);
    if ((file_line = tui_files_line_of(h->t, hex)) != NULL)
        text = file_line;                                /* a file transfer: as it stands now */
    if (it->content_type == MIM_CORE_CONTENT_KEY_CHANGE) /* the lasting "key changed" line */
        e = tui_conv_add(&h->conv, TUI_ENTRY_WARN, it->ts_ms, NULL, it->text, hex, TUI_MSG_NONE);
    else
        e = tui_conv_add(&h->conv, out ? TUI_ENTRY_OUT : TUI_ENTRY_IN, it->ts_ms, it->from, text,
                         hex, msg_state_of(it->state));
    if (e != NULL && !out && !h->room)
        e->unread = it->unread; /* the "new messages" marker goes above the first */
    if (e != NULL)
        e->broadcast = it->broadcast; /* issue 16: marked as it was live */
}

int tui_read_history(tui *t, const char *name, size_t limit, tui_conv *out)
{
    tui_contact *c = tui_model_contact(&t->m, name, 0);
    history_load h = {.t = t, .room = c != NULL && c->is_room};
    int rc;

    memset(out, 0, sizeof(*out));
    if (t->core == NULL)
        rc = -1;
    else if (h.room) /* issue 16: by the room's id */
        rc = mim_core_room_history(t->core, c->room_id, limit, history_one, &h);
    else
        rc = mim_core_history(t->core, name, limit, history_one, &h);
    if (rc != 0) {
        tui_conv_free(&h.conv);
        return -1;
    }
    *out = h.conv;
    return 0;
}

int tui_load_history(tui *t, tui_contact *c, size_t want)
{
    tui_conv hist;
    /* One more than wanted tells whether older ones are stored (it is not shown). */
    size_t ask = want < MIM_CORE_HISTORY_MAX ? want + 1 : MIM_CORE_HISTORY_MAX;
    enum tui_older older;

    if (want > MIM_CORE_HISTORY_MAX)
        want = MIM_CORE_HISTORY_MAX;
    if (tui_read_history(t, c->name, ask, &hist) != 0)
        return -1;
    if (want == MIM_CORE_HISTORY_MAX)
        older = hist.n >= ask ? TUI_OLDER_CAPPED : TUI_OLDER_NONE;
    else
        older = hist.n > want ? TUI_OLDER_MORE : TUI_OLDER_NONE;
    if (hist.n > want) {
        char id[TUI_ID_LEN];
        memcpy(id, hist.e[0].id, sizeof(id));
        tui_conv_remove(&hist, id);
    }
    tui_conv_merge_history(&c->conv, &hist);
    c->conv.older = older;
    c->conv.asked = want;
    t->dirty = 1;
    return 0;
}

/* The open conversation is read: so the store is told (the count survives a restart). */
void tui_mark_read(tui *t, const tui_contact *c)
{
    int rc;

    if (c->is_room)
        return; /* issue 16: a room's messages count as read for this run only */
    if (t->core != NULL && (rc = mim_core_mark_read(t->core, c->name)) != 0 &&
        rc != MIM_CORE_EUNKNOWN_PEER) /* someone online we never talked with: nothing to mark */
        mim_log_warn("cannot mark %s's messages read (%d)", c->name, rc);
}

/* 1 when the oldest message of conv (ours or theirs) is one of theirs not read yet. */
static int oldest_message_unread(const tui_conv *conv)
{
    for (size_t i = 0; i < conv->n; i++)
        if (conv->e[i].kind == TUI_ENTRY_IN || conv->e[i].kind == TUI_ENTRY_OUT)
            return conv->e[i].unread;
    return 0;
}

/* Reads c's history, at least `limit`, and more (doubling, up to TUI_HISTORY_MAX) while all
 * that was read is unread: the store may hold more unread messages than c->unread counts. A
 * conversation that opens by itself opens between the commit of a frame of messages and their
 * report (on_message): read only in part, the frame's older messages would be appended below
 * its newer ones as they are reported (the view then ended in the middle of the burst). */
static void load_to_first_unread(tui *t, tui_contact *c, size_t limit)
{
    if (tui_load_history(t, c, limit) != 0)
        return;
    while (c->conv.older == TUI_OLDER_MORE && oldest_message_unread(&c->conv) &&
           limit < TUI_HISTORY_MAX) {
        limit = 2 * limit < TUI_HISTORY_MAX ? 2 * limit : TUI_HISTORY_MAX;
        if (tui_load_history(t, c, limit) != 0)
            return;
    }
}

void tui_open(tui *t, const char *name)
{
    tui_contact *c = name != NULL ? tui_model_contact(&t->m, name, 0) : NULL;
    size_t limit = TUI_HISTORY_DEFAULT;

    /* Enough history to reach the first unread message, and some before it. */
    if (c != NULL && (size_t)c->unread + 10 > limit)
        limit = (size_t)c->unread + 10 < TUI_HISTORY_MAX ? (size_t)c->unread + 10 : TUI_HISTORY_MAX;
    tui_model_open(&t->m, name);
    t->dirty = 1;
    if (name == NULL || (c = tui_model_current(&t->m)) == NULL)
        return;
    if (!c->conv.loaded)
        load_to_first_unread(t, c, limit);
    tui_model_mark_new(&t->m, c); /* lands at the first unread message */
    tui_mark_read(t, c);
}
