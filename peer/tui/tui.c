/* The terminal front end: the core's events into the model, keys into the line editor and
 * commands, and the life cycle of the terminal (see tui.h). */
#include "tui_priv.h"
#include "tui_rooms.h"
#include "tui_screen.h"
#include "tui_terminal.h"
#include "mim_clock.h"
#include "mim_log.h"

#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tui_say(tui *t, int kind, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    tui_conv_add(tui_model_view(&t->m), (enum tui_entry_kind)kind,
                 kind == TUI_ENTRY_TEXT ? 0 : mim_clock_wall_ms(), NULL, text, NULL, TUI_MSG_NONE);
    t->m.scroll = 0;
    t->m.land_marker = 0; /* what the user asked for is at the end: shown there */
    t->dirty = 1;
}

void tui_note(tui *t, int kind, const char *fmt, ...)
{
    char text[1024];
    tui_conv *view = tui_model_view(&t->m);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (tui_conv_add(view, (enum tui_entry_kind)kind, mim_clock_wall_ms(), NULL, text, NULL,
                     TUI_MSG_NONE) != NULL)
        tui_model_grew(&t->m, view, 0);
    t->dirty = 1;
}

/* Adds a line to conv (kept in place when it is the open view, scrolled up). */
static void add_line(tui *t, tui_conv *conv, int kind, const char *text)
{
    if (tui_conv_add(conv, (enum tui_entry_kind)kind, mim_clock_wall_ms(), NULL, text, NULL,
                     TUI_MSG_NONE) != NULL)
        tui_model_grew(&t->m, conv, 0);
    t->dirty = 1;
}

void tui_say_about(tui *t, tui_contact *c, int kind, const char *text)
{
    add_line(t, &c->conv, kind, text);
    if (tui_model_current(&t->m) != c)
        tui_note(t, kind, "%s", text);
}

/* A line about someone's presence (came online, went offline, a status, closed the chat): in
 * their conversation and in the console, never in someone else's. It names them. */
static void say_presence(tui *t, tui_contact *c, const char *text)
{
    add_line(t, &c->conv, TUI_ENTRY_INFO, text);
    add_line(t, &t->m.console, TUI_ENTRY_INFO, text);
}

enum tui_presence tui_presence_of(mim_core_user_status status)
{
    return status == MIM_CORE_AWAY ? TUI_AWAY : status == MIM_CORE_BUSY ? TUI_BUSY : TUI_AVAILABLE;
}

mim_core_user_status tui_core_status(enum tui_presence p)
{
    return p == TUI_AWAY ? MIM_CORE_AWAY : p == TUI_BUSY ? MIM_CORE_BUSY : MIM_CORE_AVAILABLE;
}

/* ---- core events ----------------------------------------------------------------------------- */

static void on_ready(void *ud, const char *name, const char *fingerprint, uint16_t listen_port)
{
    tui *t = ud;

    snprintf(t->m.me, sizeof(t->m.me), "%s", name);
    snprintf(t->m.fingerprint, sizeof(t->m.fingerprint), "%s", fingerprint);
    tui_say(t, TUI_ENTRY_INFO, "you are %s, key %s; direct chats on port %u; /help for help", name,
            fingerprint, (unsigned)listen_port);
}

static void on_presence(void *ud, mim_core_presence state, const char *server)
{
    tui *t = ud;
    const char *word = state == MIM_CORE_PRESENCE_CONNECTED      ? "connected"
                       : state == MIM_CORE_PRESENCE_RECONNECTING ? "reconnecting"
                                                                 : "disconnected";

    if (state == MIM_CORE_PRESENCE_CONNECTED)
        t->m.ever_connected = 1;
    else if (state == MIM_CORE_PRESENCE_RECONNECTING && !t->m.ever_connected)
        word = "unreachable"; /* never reached: no table to be stale (the reason is an error) */

    snprintf(t->m.conn, sizeof(t->m.conn), "%s", word);
    if (server != NULL && server[0] != '\0')
        snprintf(t->m.server, sizeof(t->m.server), "%s", server);
    t->dirty = 1;
}

static void on_server_key(void *ud, const char *fingerprint, mim_core_key_verdict verdict,
                          const char *old_fingerprint)
{
    tui *t = ud;
    tui_model *m = &t->m;

    if (verdict != MIM_CORE_KEY_CHANGED) {
        m->server_key_changed = 0; /* new or a match: the pin holds (or was just trusted) */
        if (verdict == MIM_CORE_KEY_NEW)
            tui_say(t, TUI_ENTRY_INFO,
                    "first contact with this presence server: its key %s is pinned", fingerprint);
        t->dirty = 1;
        return;
    }
    /* Reported again at every reconnection: the banner stays up, the line and the bell come
     * once per key. */
    if (m->server_key_changed && strcmp(m->server_new_fp, fingerprint) == 0)
        return;
    m->server_key_changed = 1;
    snprintf(m->server_new_fp, sizeof(m->server_new_fp), "%s", fingerprint);
    tui_say(t, TUI_ENTRY_WARN,
            "THE PRESENCE SERVER'S KEY HAS CHANGED: was %s, now %s. Someone may be posing as "
            "the server: its list of who is online may be false (chats stay end-to-end safe). "
            "Ask whoever runs it; if they changed it, /trust-server",
            old_fingerprint != NULL ? old_fingerprint : "?", fingerprint);
    if (t->screen_on)
        tui_screen_bell();
}

static void on_online(void *ud, const mim_core_peer_info *p)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, p->name, 1); /* NULL for ourselves */
    int was_online = c != NULL && c->online;
    char text[200];

    if (c == NULL)
        return;
    tui_model_set_status(&t->m, p->name, tui_presence_name(tui_presence_of(p->status)), p->text);
    tui_model_set_online(&t->m, p->name, 1);
    snprintf(text, sizeof(text), "%.130s came online", p->name);
    if (!was_online && c->conv.n > 0)
        say_presence(t, c, text);
    t->dirty = 1;
}

static void on_offline(void *ud, const char *name)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, name, 0);
    char text[200];

    if (c == NULL || !c->online)
        return;
    tui_model_set_online(&t->m, name, 0);
    snprintf(text, sizeof(text), "%.130s went offline", name);
    if (c->conv.n > 0 || c->talking)
        say_presence(t, c, text);
    tui_model_prune(&t->m); /* someone we cannot write to offline leaves the list */
    t->dirty = 1;
}

static void on_status(void *ud, const char *name, mim_core_user_status status, const char *text)
{
    tui *t = ud;
    tui_contact *c;
    char line[400];
    const char *state = tui_presence_name(tui_presence_of(status));

    if (strcmp(name, t->m.me) == 0) {
        t->m.my_presence = tui_presence_of(status);
        snprintf(t->m.my_text, sizeof(t->m.my_text), "%s", text != NULL ? text : "");
        t->dirty = 1;
        return;
    }
    tui_model_set_status(&t->m, name, state, text);
    c = tui_model_contact(&t->m, name, 0);
    if (c != NULL && c->talking) {
        snprintf(line, sizeof(line), "%.130s is now %s%s%.130s", name, state,
                 text != NULL && text[0] != '\0' ? ": " : "", text != NULL ? text : "");
        say_presence(t, c, line);
    }
    t->dirty = 1;
}

/* Someone we have not talked with in this run starts: open the conversation if none is open
 * (else say who talks in the open one), and say it above their first message (MIM's pop-up). */
static void someone_talks(tui *t, tui_contact *c)
{
    char name[MIM_NAME_MAX_BYTES + 1];

    c->known = 1; /* a session: their key is pinned now */
    if (c->talking)
        return;
    c->talking = 1;
    c->announce = 1;
    snprintf(name, sizeof(name), "%s", c->name);
    if (t->m.current == NULL)
        tui_open(t, name);
    else if (strcmp(t->m.current, name) != 0)
        tui_note(t, TUI_ENTRY_INFO, "%s is talking to you: Tab, Enter on them, or /msg %s", name,
                 name);
}

/* Someone's messages start a conversation: it opens (or is said), and rings. Run at the first
 * 1:1 message after on_chat_opened (a room's message goes to the room instead), or at the end
 * of the loop's turn (what else it was for: a file offer). */
static void chat_opened_now(tui *t)
{
    tui_contact *c = tui_model_contact(&t->m, t->chat_opening, 1);
    int was_open;

    t->chat_opening[0] = '\0';
    if (c == NULL)
        return;
    was_open = tui_model_current(&t->m) == c;
    someone_talks(t, c);
    /* Opened by itself: its messages come into view (no bell of theirs); this one rings. */
    if (!was_open && tui_model_current(&t->m) == c)
        tui_attention_someone(&t->att);
}

static void on_chat_opened(void *ud, const char *with)
{
    tui *t = ud;

    if (t->chat_opening[0] != '\0')
        chat_opened_now(t); /* another's, not yet run */
    snprintf(t->chat_opening, sizeof(t->chat_opening), "%s", with);
}

static void on_message(void *ud, const char *from, const mim_msg_id *mid, int64_t ts_ms,
                       const char *text, const mim_core_msg_meta *meta)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, from, 1);
    char id[MIM_MSG_ID_HEX_LEN], words[64];
    int in_view, announced;
    tui_entry *e;

    if (c == NULL)
        return;
    if (meta != NULL && meta->room_id != NULL && strcmp(t->chat_opening, from) == 0)
        t->chat_opening[0] = '\0'; /* the room's conversation, not a 1:1 one */
    if (tui_rooms_message(t, from, mid, ts_ms, text, meta))
        return; /* issue 16: a room's message goes to the room's conversation */
    if (t->chat_opening[0] != '\0')
        chat_opened_now(t);
    mim_msg_id_hex(mid, id);
    in_view = tui_model_current(&t->m) == c;
    c->closed = 0; /* they write again: the conversation is open again */
    someone_talks(t, c);
    announced = c->announce; /* its first message: "is talking to you" said it already */
    /* Opening the conversation just now may have read it from the history already. */
    if ((e = tui_conv_find(&c->conv, id)) == NULL)
        e = tui_conv_add(&c->conv, TUI_ENTRY_IN, ts_ms, from, text, id, TUI_MSG_RECEIVED);
    if (e != NULL && meta != NULL)
        e->broadcast = meta->broadcast; /* issue 16: its line says so (tui_entry_mark) */
    if (c->announce) {
        char line[200];
        c->announce = 0;
        snprintf(line, sizeof(line), "%.130s is talking to you", from);
        tui_conv_insert_before(&c->conv, id, TUI_ENTRY_INFO, ts_ms, line);
    }
    if (tui_model_current(&t->m) == c) {
        /* Opened for this message (it was read from the history as unread): it is in view, and
         * no marker is needed above it. */
        tui_model_unmark(&t->m, c, id);
        tui_model_grew(&t->m, &c->conv, 1);
        tui_mark_read(t, c);
    } else {
        c->unread++;
        if (e != NULL)
            e->unread = 1;
        tui_first_words(text, words, 60);
        if (!announced) /* the line naming the sender, in the view the user has open */
            tui_note(t, TUI_ENTRY_INFO, "%.130s: %s", from, words);
    }
    if (!in_view)
        tui_attention_message(&t->att, from, text, c->unread <= 1);
    if (meta != NULL && meta->broadcast > 0 && e != NULL)
        e->broadcast = meta->broadcast; /* issue 16: marked as a broadcast to everyone */
    if (meta != NULL && meta->broadcast == 2)
        tui_broadcast_received(t, from, mid); /* issue 16: it waits for F2 */
    t->dirty = 1;
}

static void set_state(tui *t, const char *to, const mim_msg_id *mid, enum tui_msg_state st)
{
    tui_contact *c = tui_model_contact(&t->m, to, 0);
    char id[MIM_MSG_ID_HEX_LEN];
    tui_entry *e;

    mim_msg_id_hex(mid, id);
    if (c != NULL)
        c->known = 1; /* in the outbox: a contact we can write to, online or not */
    e = c != NULL ? tui_conv_find(&c->conv, id) : NULL;
    if (e == NULL)
        tui_files_unshown_state(t, to, id, st); /* a /send's offer */
    if (e == NULL)
        tui_rooms_copy_state(t, id, (int)st); /* issue 16: a copy of a room's message */
    if (e == NULL || e->state == TUI_MSG_READ ||
        (e->state == TUI_MSG_DELIVERED && st != TUI_MSG_READ))
        return; /* not shown (history not read yet), or no news */
    e->state = st;
    t->dirty = 1;
}

static void on_queued(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, TUI_MSG_QUEUED);
}

static void on_sent(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, TUI_MSG_SENT);
}

static void on_delivered(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, TUI_MSG_DELIVERED);
}

static void on_read(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, TUI_MSG_READ);
}

static void on_fanout_delivered(void *ud, const mim_core_fanout_delivery *d)
{
    tui_rooms_delivered(ud, d); /* issue 16: tui_rooms.c */
}

static void on_room(void *ud, const mim_core_room_info *r)
{
    tui *t = ud;

    if (!t->room_by_us)
        t->chat_opening[0] = '\0'; /* its sender's change came in: not a 1:1 conversation */
    tui_rooms_changed(ud, r);
}

/* "NAME is typing" in the status bar while its conversation is open. */
static void on_typing(void *ud, const char *with, int typing)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, with, 0);

    if (c != NULL && c->typing != typing) {
        c->typing = typing;
        t->dirty = 1;
    }
}

/* What this version cannot show: its description, as a message (as the core would do). */
static void on_unsupported(void *ud, const char *from, const mim_msg_id *id, int64_t ts_ms,
                           int content_type, const char *description)
{
    (void)content_type;
    on_message(ud, from, id, ts_ms, description, NULL);
}

/* The send's batch did not commit: the message shown is taken back, as a refused send. */
static void on_send_failed(void *ud, const char *to, const mim_msg_id *mid)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, to, 0);
    char id[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(mid, id);
    if (c != NULL)
        tui_conv_remove(&c->conv, id);
    tui_say_refusal(t, MIM_CORE_ESTORE, to);
}

/* The peer refused to store the message (we are over its quota): it stays queued. */
static void on_send_refused(void *ud, const char *to, const mim_msg_id *mid)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, to, 0);
    char text[300];

    (void)mid;
    snprintf(text, sizeof(text),
             "%.130s refused a message: you are over their quota (messages or bytes per day); "
             "it stays queued and is tried again later",
             to);
    if (c != NULL)
        tui_say_about(t, c, TUI_ENTRY_WARN, text);
    else
        tui_say(t, TUI_ENTRY_WARN, "%s", text);
}

static void on_key_changed(void *ud, const char *name, const char *old_fp, const char *new_fp)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, name, 1);
    char text[400];

    if (c == NULL)
        return;
    c->known = 1;
    /* Every session the new key tries again reports it: the banner stays, the line comes once. */
    if (c->key_pending && strcmp(c->new_fp, new_fp) == 0)
        return;
    c->key_pending = 1;
    c->verified = 0;
    snprintf(c->new_fp, sizeof(c->new_fp), "%s", new_fp);
    snprintf(text, sizeof(text),
             "THE KEY OF %.130s HAS CHANGED: was %s, now %s. Messages to them are held. Check "
             "the new key with them in person, then /trust %.130s",
             name, old_fp, new_fp, name);
    tui_say_about(t, c, TUI_ENTRY_WARN, text);
    if (t->screen_on)
        tui_screen_bell();
}

static void on_chat_closed(void *ud, const char *with)
{
    tui *t = ud;
    tui_contact *c = tui_model_contact(&t->m, with, 0);
    char text[200];

    if (c == NULL)
        return;
    c->talking = 0; /* a new message from them is a new conversation */
    c->closed = 1;  /* greyed until either side writes */
    t->dirty = 1;
    snprintf(text, sizeof(text), "%.130s closed the conversation", with);
    say_presence(t, c, text);
}

static void on_error(void *ud, mim_core_error error, const char *message, int fatal)
{
    tui *t = ud;
    const char *code = error == MIM_CORE_ERROR_STORE          ? "store"
                       : error == MIM_CORE_ERROR_NAME_TAKEN   ? "name_taken"
                       : error == MIM_CORE_ERROR_NEW_CONTACTS ? "new contacts"
                                                              : "server";

    /* The core's server messages name the presence server already: no second prefix. */
    if (error == MIM_CORE_ERROR_SERVER || error == MIM_CORE_ERROR_NAME_TAKEN)
        code = NULL;
    tui_say(t, TUI_ENTRY_WARN, "%s%s%s", code != NULL ? code : "", code != NULL ? ": " : "",
            message);
    if (fatal)
        snprintf(t->fatal, sizeof(t->fatal), "%s%s%s", code != NULL ? code : "",
                 code != NULL ? ": " : "", message);
}

static void say_about_name(tui *t, const char *name, int kind, const char *text)
{
    tui_contact *c = tui_model_contact(&t->m, name, 0);

    if (c != NULL)
        tui_say_about(t, c, kind, text);
    else
        tui_say(t, kind, "%s", text);
}

static void on_unreachable(void *ud, const char *to, const char *reason)
{
    char text[400];

    snprintf(text, sizeof(text), "cannot reach %.130s: %s; your messages wait", to, reason);
    say_about_name(ud, to, TUI_ENTRY_WARN, text);
}

/* Issue 14 (tui_directory.c). */
static void on_directory(void *ud, const mim_core_directory_entry *e, size_t n, int is_private)
{
    tui_directory_show(ud, e, n, is_private);
}

static void on_lookup_failed(void *ud, const char *to, const mim_msg_id *id,
                             mim_core_lookup_fail why)
{
    tui_lookup_failed(ud, to, id, why);
}

static void on_waiting(void *ud, const char *to, mim_core_wait_reason reason)
{
    char text[300];

    if (reason == MIM_CORE_WAIT_KEY_NOT_ACCEPTED)
        snprintf(text, sizeof(text),
                 "%.130s has not accepted your new key yet: your messages wait until they "
                 "check it with you and /trust it",
                 to);
    else
        snprintf(text, sizeof(text), "%.130s does not take your messages now: they wait", to);
    say_about_name(ud, to, TUI_ENTRY_WARN, text);
}

/* Issue 14: the mark "(in the mailbox)"; and, when the server's copy expired, the mark goes
 * back to "(queued)" with a line that says why. */
static void on_deposited(void *ud, const char *to, const mim_msg_id *id)
{
    set_state(ud, to, id, TUI_MSG_DEPOSITED);
}

static void on_expired(void *ud, const char *to, const mim_msg_id *id)
{
    char text[300];

    set_state(ud, to, id, TUI_MSG_QUEUED);
    snprintf(text, sizeof(text),
             "a message to %.130s expired in the server's mailbox before they fetched it: it "
             "waits until you are both online",
             to);
    say_about_name(ud, to, TUI_ENTRY_WARN, text);
}

/* File transfers: tui_files.c. */
static void on_file_offer(void *ud, const mim_core_file_info *f, int accepted)
{
    tui *t = ud;

    if (t->chat_opening[0] != '\0')
        chat_opened_now(t);
    tui_files_offer(ud, f, accepted);
}
static void on_file_progress(void *ud, const mim_core_file_info *f)
{
    tui_files_changed(ud, f);
}

static void on_file_done(void *ud, const mim_core_file_info *f)
{
    tui_files_changed(ud, f);
}

static void on_file_failed(void *ud, const mim_core_file_info *f)
{
    tui_files_changed(ud, f);
}

static void on_file_paused(void *ud, const mim_core_file_info *f)
{
    tui_files_changed(ud, f);
}

static void on_broadcast_ack(void *ud, const char *from, const mim_msg_id *id)
{
    tui_broadcast_acked(ud, from, id); /* issue 16: tui_broadcast.c */
}

static void on_handle_closed(uv_handle_t *h);

static void maybe_done(tui *t)
{
    if (!t->stopped || t->handles_open > 0 || t->done == NULL)
        return;
    void (*done)(void *, int) = t->done;
    t->done = NULL;
    done(t->ud, t->exit_code);
}

static void on_handle_closed(uv_handle_t *h)
{
    tui *t = h->data;
    t->handles_open--;
    maybe_done(t);
}

static void close_one(tui *t, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        h->data = t;
        uv_close(h, on_handle_closed);
    }
}

/* The last notify-send child is closed (counted as one handle while any ran). */
static void on_attention_idle(void *ud)
{
    tui *t = ud;
    t->handles_open--;
    maybe_done(t);
}

static void on_stopped(void *ud, int exit_code)
{
    tui *t = ud;

    t->core = NULL;
    t->stopped = 1;
    t->exit_code = exit_code;
    if (t->screen_on) {
        t->screen_on = 0;
        tui_attention_screen_stop(&t->att, t->m.me);
        tui_screen_stop();
    }
    if (t->attached) {
        close_one(t, (uv_handle_t *)&t->in);
        close_one(t, (uv_handle_t *)&t->winch);
        close_one(t, (uv_handle_t *)&t->redraw);
        close_one(t, (uv_handle_t *)&t->paste_idle);
    }
    t->handles_open += tui_attention_stop(&t->att, on_attention_idle, t);
    maybe_done(t);
}

static const mim_core_events core_events = MIM_CORE_EVENTS_BY_NAME;

const mim_core_events *tui_core_events(void)
{
    return &core_events;
}

static void on_winch(uv_signal_t *h, int signum)
{
    tui *t = h->data;

    (void)signum;
    if (!t->screen_on)
        return;
    tui_screen_resize();
    t->dirty = 1;
}

static void on_redraw(uv_prepare_t *h)
{
    tui *t = h->data;

    if (t->chat_opening[0] != '\0' && t->core != NULL)
        chat_opened_now(t); /* on_chat_opened with no message after it in this turn */
    if (t->dirty && t->screen_on) {
        t->dirty = 0;
        t->m.list_focus = t->list_focus;
        tui_screen_draw(&t->m, &t->line);
        tui_attention_title(&t->att, t->m.me, tui_model_unread_total(&t->m));
    }
}

/* ---- life cycle ------------------------------------------------------------------------------ */

tui *tui_new(uv_loop_t *loop, const char *log_path, void (*done)(void *ud, int exit_code), void *ud)
{
    tui *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->loop = loop;
    t->done = done;
    t->ud = ud;
    tui_attention_init(&t->att, loop, TUI_BELL_ALL, 0); /* tui_set_attention says more */
    tui_model_init(&t->m);
    tui_line_init(&t->line);
    if ((t->log_path = malloc(strlen(log_path) + 1)) == NULL) {
        free(t);
        return NULL;
    }
    memcpy(t->log_path, log_path, strlen(log_path) + 1);
    return t;
}

void tui_set_attention(tui *t, enum tui_bell_mode bell, int notify)
{
    tui_attention_init(&t->att, t->loop, bell, notify);
}

static void contact_one(void *arg, const mim_core_contact_info *ci)
{
    tui *t = arg;
    tui_contact *c = tui_model_contact(&t->m, ci->name, 1);

    if (c == NULL)
        return;
    c->known = 1;
    c->unread = (int)(ci->unread < 1000000 ? ci->unread : 1000000);
    c->verified = ci->verified;
    c->key_pending = ci->key_pending;
    snprintf(c->new_fp, sizeof(c->new_fp), "%s",
             ci->pending_fingerprint != NULL ? ci->pending_fingerprint : "");
}

int tui_attach(tui *t, mim_core *core)
{
    char queued[400];

    t->core = core;
    if (mim_core_contacts(core, contact_one, t) != 0)
        mim_log_warn("cannot list the contacts");
    tui_files_load(t);
    tui_rooms_load(t); /* issue 16: the rooms' rows */
    if (uv_poll_init(t->loop, &t->in, STDIN_FILENO) != 0) {
        mim_log_error("cannot watch the terminal for keys");
        snprintf(t->fatal, sizeof(t->fatal), "cannot read keys from the terminal");
        tui_stop(t);
        return -1;
    }
    uv_signal_init(t->loop, &t->winch);
    uv_prepare_init(t->loop, &t->redraw);
    uv_timer_init(t->loop, &t->paste_idle);
    t->in.data = t->winch.data = t->redraw.data = t->paste_idle.data = t;
    t->handles_open = 4;
    t->attached = 1;
    if (tui_screen_start() != 0) {
        mim_log_error("cannot set up the terminal");
        snprintf(t->fatal, sizeof(t->fatal), "cannot set up the terminal (is TERM right?)");
        tui_stop(t);
        return -1;
    }
    t->screen_on = 1;
    t->dirty = 1;
    tui_define_keys();
    if (!tui_terminal_utf8())
        tui_say(t, TUI_ENTRY_WARN,
                "the locale (%s) is not UTF-8: marks are drawn in ASCII, and letters it cannot "
                "show as '?'. For the full interface, run mim in a UTF-8 locale "
                "(LANG=C.UTF-8, or your language's)",
                setlocale(LC_CTYPE, NULL) != NULL ? setlocale(LC_CTYPE, NULL) : "?");
    tui_attention_screen(&t->att);
    if (tui_queued_summary(t, queued, sizeof(queued)) > 0)
        tui_say(t, TUI_ENTRY_INFO, "%s (from before; they go out when each is reachable)", queued);
    /* After initscr: libuv's handler replaces the one ncurses installed, and redraws from the
     * loop (ncurses's would only be noticed at the next key). */
    uv_signal_start(&t->winch, on_winch, SIGWINCH);
    uv_prepare_start(&t->redraw, on_redraw);
    uv_poll_start(&t->in, UV_READABLE | UV_DISCONNECT, tui_on_input);
    return 0;
}

void tui_stop(tui *t)
{
    if (t->core != NULL)
        mim_core_quit(t->core, 0);
}

void tui_quit(tui *t)
{
    tui_stop(t);
}

const char *tui_fatal_message(const tui *t)
{
    return t->fatal[0] != '\0' ? t->fatal : NULL;
}

void tui_free(tui *t)
{
    if (t == NULL)
        return;
    tui_screen_stop();
    tui_search_free(t);
    tui_files_free(t);
    tui_model_free(&t->m);
    tui_line_free(&t->line);
    free(t->log_path);
    free(t);
}
