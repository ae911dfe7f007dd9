/* The commands of the input line, carried out on the core (see tui_command.h for the syntax
 * and docs/TUI.md for what each does). */
#include "tui_command.h"
#include "tui_priv.h"
#include "tui_rooms.h"
#include "mim_clock.h"

#include <stdio.h>
#include <string.h>

void tui_say_refusal(tui *t, int rc, const char *who)
{
    switch (rc) {
    case MIM_CORE_EUNKNOWN_PEER:
        tui_say(t, TUI_ENTRY_WARN, "nobody named %s is online or known here", who);
        break;
    case MIM_CORE_ETEXT:
        tui_say(t, TUI_ENTRY_WARN, "that text cannot be sent (control characters, or not UTF-8)");
        break;
    case MIM_CORE_EEMPTY:
        tui_say(t, TUI_ENTRY_WARN, "nothing to send: the text is empty");
        break;
    case MIM_CORE_ETOO_LONG: /* send_text and set_status say by how much */
        tui_say(t, TUI_ENTRY_WARN, "that text is over its limit");
        break;
    case MIM_CORE_ESELF:
        tui_say(t, TUI_ENTRY_WARN, "that is you");
        break;
    case MIM_CORE_EBAD_NAME:
        tui_say(t, TUI_ENTRY_WARN, "'%s' is not a valid name", who);
        break;
    case MIM_CORE_ENOTHING:
        tui_say(t, TUI_ENTRY_WARN, "nothing to do");
        break;
    case MIM_CORE_EFINGERPRINT:
    case MIM_CORE_EUNSEEN:
        tui_say(t, TUI_ENTRY_WARN, "the key of %s changed again: nothing trusted; check anew", who);
        break;
    case MIM_CORE_ESTORE:
        tui_say(t, TUI_ENTRY_WARN, "the local store failed; not done (see the log)");
        break;
    case MIM_CORE_EBLOCKED:
        tui_say(t, TUI_ENTRY_WARN, "%s is blocked: /unblock %s first", who, who);
        break;
    case MIM_CORE_EBUSY: /* issue 14 */
        tui_say(t, TUI_ENTRY_WARN, "too many messages wait for their name's lookup: try later");
        break;
    default:
        tui_say(t, TUI_ENTRY_WARN, "a value is out of range");
        break;
    }
}

static void send_text(tui *t, const char *to, const char *text)
{
    mim_msg_id id;
    char hex[MIM_MSG_ID_HEX_LEN];
    tui_contact *c = tui_model_contact(&t->m, to, 0);
    int rc;

    if (strcmp(to, t->m.me) == 0) {
        tui_say(t, TUI_ENTRY_WARN, "that is you");
        return;
    }
    /* In a batch of one: its queued or sent event waits for the batch's end, so the message is
     * shown (under the id the core made) before its state comes. */
    mim_core_batch_begin(t->core);
    rc = mim_core_send(t->core, to, text, &id);
    if (rc == 0 && c != NULL) {
        c->closed = 0; /* we write again: the conversation is open again */
        mim_msg_id_hex(&id, hex);
        tui_conv_add(&c->conv, TUI_ENTRY_OUT, mim_clock_wall_ms(), t->m.me, text, hex,
                     TUI_MSG_NONE);
    }
    mim_core_batch_end(t->core);
    if (rc == MIM_CORE_ETOO_LONG)
        tui_say(t, TUI_ENTRY_WARN, "not sent: the text is %zu bytes over its limit of %d bytes",
                strlen(text) - MIM_CORE_TEXT_MAX, MIM_CORE_TEXT_MAX);
    else if (rc != 0)
        tui_say_refusal(t, rc, to);
    t->m.scroll = 0;
    t->m.land_marker = 0; /* what was just sent is shown, at the end */
    t->dirty = 1;
}

static void help(tui *t)
{
    static const char *const lines[] = {
        "Type a line and Enter to send it to the open conversation (// sends a /).",
        "/msg NAME [TEXT]    open the conversation with NAME (and send TEXT);",
        "                    a name with spaces goes in quotes: /msg \"ann lee\" hi",
        "/who                who is online, with their keys",
        "/status available|away|busy [TEXT],  /away [TEXT],  /back",
        "/history [N]        the last N (50) messages of the open conversation, older ones above",
        "/verify NAME [yes]  the safety number to compare with NAME; yes: it matched",
        "/trust NAME         accept NAME's changed key (check it with them first!)",
        "/trust-server [FP]  accept the server's changed key (ask its admin first!)",
        "/close              close the open conversation (they see it closed)",
        "/logout, /login     leave the presence server and come back",
        "/search [--with NAME] WORDS   find messages (newest first); /open N opens one",
        "/receipts on|off    read receipts and typing, both ways (off: neither sent nor shown)",
        "/block NAME, /unblock NAME   refuse NAME's sessions and messages (or not)",
        "/directory          everyone registered at the server, online first, last seen",
        "/quit               leave mim (queued messages go out next time; with some still",
        "                    queued it says so first, and a second /quit leaves)",
        "/bell [all|first|off]  ring for every message not in view, the first unread",
        "                    of a conversation only, or never",
        "/send NAME PATH     offer a file or a folder (Tab completes the path; quote it or",
        "                    write \\ before a space)",
        "/accept [N], /reject [N]   decide a file offer (N from /files; alone: the one waiting)",
        "/files              the transfers, numbered; /files open N: where N is saved",
        "/all TEXT, /all! TEXT  to everyone online (all!: important: they acknowledge it)",
        "/ack [ID], F2       acknowledge an important broadcast (alone: the oldest waiting)",
        "/room create NAME MEMBERS..., /room add|remove|admin [ROOM] NAME, /room leave [ROOM]",
        "/rooms              your rooms;  /msg #ROOM [TEXT]  open a room (and write to it)",
        "/search --room ROOM WORDS   find messages in one room",
        "Tab        complete a command or name; on an empty line: to the list",
        "Up/Down    the input history (in the list: move; Enter opens)",
        "PgUp/PgDn  scroll (PgUp at the top reads older messages)    Ctrl-L  redraw",
        "Alt-b/Alt-f, Ctrl-Left/Right  word left/right    Ctrl-U/K/W, Alt-Backspace  cut",
        "Alt-Enter  a new line in the message (a paste keeps its lines; Enter sends)",
        "Ctrl-C     clear the line; on an empty line, quit",
        "Marks: + online, ~ away/busy, \u2713 verified, ! key changed, [N] unread",
        "Tab, then Up/Down and Enter: pick from the list (Esc leaves it)",
    };

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        tui_say(t, TUI_ENTRY_TEXT, "%s", lines[i]);
    tui_say(t, TUI_ENTRY_TEXT, "Logs: %s", t->log_path);
}

static void who_one(void *arg, const mim_core_peer_info *p)
{
    tui *t = arg;

    tui_say(t, TUI_ENTRY_TEXT, "%s  %s%s%s  key %s  at %s port %u", p->name,
            tui_presence_name(tui_presence_of(p->status)), p->text[0] != '\0' ? ": " : "", p->text,
            p->fingerprint, p->addr, (unsigned)p->port);
}

/* /history N: the last N stored messages, those not shown yet added above. */
static void history(tui *t, int count)
{
    tui_contact *c = tui_model_current(&t->m);
    size_t before;

    if (c == NULL) {
        tui_say(t, TUI_ENTRY_WARN, "no conversation is open");
        return;
    }
    if ((size_t)count <= c->conv.asked && c->conv.loaded) {
        tui_say(t, TUI_ENTRY_INFO, "the last %d messages are shown already%s", count,
                c->conv.older == TUI_OLDER_MORE ? "; PageUp at the top reads older ones" : "");
        return;
    }
    before = c->conv.n;
    if (tui_load_history(t, c, (size_t)count) != 0) {
        tui_say_refusal(t, MIM_CORE_ESTORE, c->name);
        return;
    }
    tui_say(t, TUI_ENTRY_INFO, "%zu older messages added above (the last %d with %s)%s",
            c->conv.n > before ? c->conv.n - before : 0, count, c->name,
            c->conv.older == TUI_OLDER_NONE ? ": that is all there is" : "");
}

static void verify(tui *t, const tui_cmd *cmd)
{
    char number[MIM_CORE_SAFETY_NUMBER_LEN];
    int rc, new_key;

    if (cmd->confirm) {
        tui_contact *c = tui_model_contact(&t->m, cmd->name, 0);
        if ((rc = mim_core_verified(t->core, cmd->name, 1)) != 0) {
            tui_say_refusal(t, rc, cmd->name);
            return;
        }
        if (c != NULL)
            c->verified = 1;
        tui_say(t, TUI_ENTRY_INFO, "%s is marked verified", cmd->name);
        return;
    }
    if ((rc = mim_core_verify(t->core, cmd->name, number, &new_key)) != 0) {
        tui_say_refusal(t, rc, cmd->name);
        return;
    }
    /* The core's number is already in its 12 groups of 5 digits, as the JSON API gives it. */
    tui_say(t, TUI_ENTRY_INFO, "safety number with %s%s: %s", cmd->name,
            new_key ? " (new key, not yet trusted)" : "", number);
    if (new_key)
        tui_say(t, TUI_ENTRY_INFO,
                "compare it with what %s sees (in person or on the phone); if it is the same, "
                "type /trust %s",
                cmd->name, cmd->name);
    else
        tui_say(t, TUI_ENTRY_INFO,
                "compare it with what %s sees (in person or on the phone); if it is the same, "
                "type /verify %s yes",
                cmd->name, cmd->name);
}

static void trust(tui *t, const char *name)
{
    tui_contact *c = tui_model_contact(&t->m, name, 0);
    const char *fp = c != NULL && c->key_pending && c->new_fp[0] != '\0' ? c->new_fp : NULL;
    int rc;

    /* With the fingerprint the banner showed: a key that changed again is not trusted blind. */
    if ((rc = mim_core_trust(t->core, name, fp)) != 0) {
        tui_say_refusal(t, rc, name);
        return;
    }
    if (c != NULL) {
        c->key_pending = 0;
        c->verified = 0;
    }
    tui_say(t, TUI_ENTRY_INFO, "the new key of %s is trusted; held messages go out", name);
}

/* Accepts the presence server's changed key: the one given, else the one the warning showed. */
static void trust_server(tui *t, const char *given)
{
    tui_model *m = &t->m;
    const char *fp = given[0] != '\0'              ? given
                     : m->server_new_fp[0] != '\0' ? m->server_new_fp
                                                   : NULL;
    int rc = mim_core_trust_server(t->core, fp);

    if (rc == MIM_CORE_ENOTHING) {
        tui_say(t, TUI_ENTRY_WARN, "the presence server's key has not changed: nothing to trust");
        return;
    }
    if (rc == MIM_CORE_EFINGERPRINT) {
        tui_say(t, TUI_ENTRY_WARN, "%s is not the server's new key: nothing trusted", fp);
        return;
    }
    if (rc != 0) {
        tui_say_refusal(t, rc, "the server");
        return;
    }
    m->server_key_changed = 0;
    tui_say(t, TUI_ENTRY_INFO, "the presence server's new key %s is trusted (pinned)",
            fp != NULL ? fp : "");
}

static void set_status(tui *t, const char *state, const char *text)
{
    enum tui_presence p = tui_presence_parse(state); /* the command allows only the three */
    int rc = mim_core_status(t->core, tui_core_status(p), text);

    if (rc == MIM_CORE_ETOO_LONG && text != NULL) {
        tui_say(t, TUI_ENTRY_WARN, "the status text is %zu bytes over its limit of %d bytes",
                strlen(text) - MIM_CORE_STATUS_TEXT_MAX, MIM_CORE_STATUS_TEXT_MAX);
        return;
    }
    if (rc != 0) {
        tui_say_refusal(t, rc, "");
        return;
    }
    t->m.my_presence = p;
    snprintf(t->m.my_text, sizeof(t->m.my_text), "%s", text != NULL ? text : "");
    t->dirty = 1;
}

/* /msg NAME [TEXT]: opens the conversation, and sends TEXT to it. */
static void open_and_send(tui *t, const tui_cmd *cmd)
{
    if (strcmp(cmd->name, t->m.me) == 0) {
        tui_say(t, TUI_ENTRY_WARN, "that is you");
        return;
    }
    if (tui_model_contact(&t->m, cmd->name, 0) == NULL) {
        /* Issue 14: a name the list does not have may be registered: with a text, the core
         * decides (it knows the directory, or looks the name up; its queued makes it known). */
        if (cmd->text == NULL || tui_model_contact(&t->m, cmd->name, 1) == NULL) {
            tui_say_refusal(t, MIM_CORE_EUNKNOWN_PEER, cmd->name);
            return;
        }
    }
    tui_open(t, cmd->name);
    if (cmd->text != NULL)
        send_text(t, cmd->name, cmd->text);
}

static void who(tui *t)
{
    size_t before;

    tui_say(t, TUI_ENTRY_TEXT, "online now:");
    before = tui_model_view(&t->m)->n;
    mim_core_who(t->core, who_one, t);
    if (tui_model_view(&t->m)->n == before)
        tui_say(t, TUI_ENTRY_TEXT, "nobody else");
}

/* /close: tells the peer, and goes back to the console. */
static void close_current(tui *t)
{
    tui_contact *cur = tui_model_current(&t->m);

    if (cur == NULL) {
        tui_say(t, TUI_ENTRY_WARN, "no conversation is open");
        return;
    }
    if (!cur->is_room) /* a room is left with /room leave: /close only goes to the console */
        mim_core_close_chat(t->core, cur->name);
    cur->talking = 0;
    tui_open(t, NULL);
}

/* /logout (login 0) and /login (login 1). */
static void log_out_or_in(tui *t, int login)
{
    if ((login ? mim_core_login(t->core) : mim_core_logout(t->core)) != 0) {
        tui_say(t, TUI_ENTRY_WARN, login ? "not logged out" : "already logged out");
        return;
    }
    t->m.logged_out = !login;
    if (login)
        tui_say(t, TUI_ENTRY_INFO, "logging in again");
    else
        tui_say(t, TUI_ENTRY_INFO, "logged out: others see you offline; /login to come back");
}

void tui_send_to_open(tui *t, const char *text)
{
    tui_contact *cur = tui_model_current(&t->m);

    if (cur == NULL)
        tui_say(t, TUI_ENTRY_WARN, "no conversation is open: /msg NAME, or Tab to the list");
    else if (cur->is_room)
        tui_rooms_send(t, cur, text); /* issue 16: to the room's members */
    else
        send_text(t, cur->name, text);
}

typedef struct queued_sum {
    char *out;
    size_t cap, total;
} queued_sum;

static void queued_one(void *arg, const mim_core_contact_info *ci)
{
    queued_sum *q = arg;
    size_t used = strlen(q->out);

    if (ci->queued == 0)
        return;
    q->total += ci->queued;
    if (used + 1 < q->cap)
        snprintf(q->out + used, q->cap - used, "%s%zu for %.130s", used > 0 ? ", " : "", ci->queued,
                 ci->name);
}

size_t tui_queued_summary(tui *t, char *out, size_t cap)
{
    char who[300] = "";
    queued_sum q = {who, sizeof(who), 0};

    out[0] = '\0';
    if (t->core == NULL || mim_core_contacts(t->core, queued_one, &q) != 0 || q.total == 0)
        return 0;
    snprintf(out, cap, "%zu message%s still queued: %s", q.total, q.total == 1 ? " is" : "s are",
             who);
    return q.total;
}

/* /quit: with messages still queued, says so and asks again (a second /quit quits). */
static void quit(tui *t)
{
    char queued[400];

    if (!t->quit_asked && tui_queued_summary(t, queued, sizeof(queued)) > 0) {
        t->quit_asked = 1;
        tui_say(t, TUI_ENTRY_WARN,
                "%s. They go out when you run mim again and each is reachable. /quit again to "
                "leave now",
                queued);
        return;
    }
    tui_stop(t);
}

/* /bell [all|first|off]: which messages not in view ring the bell. */
static void bell(tui *t, const char *word)
{
    enum tui_bell_mode mode;

    if (word[0] != '\0' && tui_bell_parse(word, &mode) == 0)
        t->att.bell = mode;
    tui_say(t, TUI_ENTRY_INFO, "the bell rings for %s",
            t->att.bell == TUI_BELL_ALL     ? "every message not in view (/bell all)"
            : t->att.bell == TUI_BELL_FIRST ? "the first unread message of a conversation "
                                              "(/bell first)"
                                            : "nothing (/bell off)");
}

/* /receipts on|off, /block NAME, /unblock NAME. */
static void tui_exec_everyday(tui *t, const tui_cmd *cmd)
{
    int rc;

    if (cmd->kind == TUI_CMD_RECEIPTS) {
        int on = strcmp(cmd->state, "on") == 0;
        if ((rc = mim_core_set_receipts(t->core, on)) != 0)
            tui_say_refusal(t, rc, "");
        else
            tui_say(t, TUI_ENTRY_INFO,
                    on ? "read receipts and typing on: sent and shown"
                       : "read receipts and typing off: neither sent nor shown");
        return;
    }
    rc = mim_core_block(t->core, cmd->name, cmd->kind == TUI_CMD_BLOCK);
    if (rc == MIM_CORE_ENOTHING)
        tui_say(t, TUI_ENTRY_WARN, "%s is %s already", cmd->name,
                cmd->kind == TUI_CMD_BLOCK ? "blocked" : "not blocked");
    else if (rc != 0)
        tui_say_refusal(t, rc, cmd->name);
    else
        tui_say(t, TUI_ENTRY_INFO,
                cmd->kind == TUI_CMD_BLOCK
                    ? "%s is blocked: its sessions and messages are refused (/unblock %s)"
                    : "%s is unblocked",
                cmd->name, cmd->name);
}

/* /status STATE [TEXT], /away [TEXT], /back. */
static void exec_status(tui *t, const tui_cmd *cmd)
{
    if (cmd->kind == TUI_CMD_STATUS)
        set_status(t, cmd->state, cmd->text);
    else if (cmd->kind == TUI_CMD_AWAY)
        set_status(t, "away", cmd->text);
    else
        set_status(t, "available", NULL);
}

/* The file commands (tui_files.c), and issue 16's /all, /all!, /ack (tui_broadcast.c: they
 * share this entry to keep tui_exec's switch short). */
static void exec_files(tui *t, const tui_cmd *cmd)
{
    if (cmd->kind == TUI_CMD_ALL || cmd->kind == TUI_CMD_ACK)
        tui_broadcast_exec(t, cmd->kind == TUI_CMD_ACK, cmd->text, cmd->confirm);
    else if (cmd->kind == TUI_CMD_SEND)
        tui_files_send(t, cmd->name, cmd->text);
    else if (cmd->kind == TUI_CMD_ACCEPT || cmd->kind == TUI_CMD_REJECT)
        tui_files_decide(t, cmd->text, cmd->kind == TUI_CMD_ACCEPT);
    else if (cmd->kind == TUI_CMD_FILES)
        tui_files_list(t);
    else
        tui_files_where(t, cmd->count);
}

/* A name typed in another Unicode form (e + U+0301) is the contact's name in NFC. */
static void typed_name_nfc(tui_cmd *cmd)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];

    if (cmd->name[0] != '\0' && mim_core_typed_name(cmd->name, nfc) != NULL)
        snprintf(cmd->name, sizeof(cmd->name), "%s", nfc);
}

/* /verify, /trust, /trust-server. */
static void exec_trust(tui *t, const tui_cmd *cmd)
{
    if (cmd->kind == TUI_CMD_VERIFY)
        verify(t, cmd);
    else if (cmd->kind == TUI_CMD_TRUST)
        trust(t, cmd->name);
    else
        trust_server(t, cmd->fingerprint);
}

void tui_exec(tui *t, const char *line)
{
    tui_cmd cmd;

    if (t->core == NULL || tui_rooms_exec(t, line)) /* issue 16: tui_rooms.c */
        return;
    tui_command_parse(line, &cmd);
    if (cmd.kind != TUI_CMD_QUIT)
        t->quit_asked = 0; /* a /quit after anything else asks again */
    typed_name_nfc(&cmd);
    t->dirty = 1;
    switch (cmd.kind) {
    case TUI_CMD_EMPTY:
        break;
    case TUI_CMD_TEXT:
        tui_send_to_open(t, cmd.text);
        break;
    case TUI_CMD_HELP:
        help(t);
        break;
    case TUI_CMD_MSG:
        open_and_send(t, &cmd);
        break;
    case TUI_CMD_WHO:
        who(t);
        break;
    case TUI_CMD_STATUS:
    case TUI_CMD_AWAY:
    case TUI_CMD_BACK:
        exec_status(t, &cmd);
        break;
    case TUI_CMD_HISTORY:
        history(t, cmd.count);
        break;
    case TUI_CMD_VERIFY:
    case TUI_CMD_TRUST:
    case TUI_CMD_TRUST_SERVER:
        exec_trust(t, &cmd);
        break;
    case TUI_CMD_CLOSE:
        close_current(t);
        break;
    case TUI_CMD_LOGOUT:
    case TUI_CMD_LOGIN:
        log_out_or_in(t, cmd.kind == TUI_CMD_LOGIN);
        break;
    case TUI_CMD_QUIT:
        quit(t);
        break;
    case TUI_CMD_BELL:
        bell(t, cmd.state);
        break;
    case TUI_CMD_SEARCH:
        tui_search_run(t, cmd.name[0] != '\0' ? cmd.name : NULL, cmd.text);
        break;
    case TUI_CMD_OPEN:
        tui_search_open(t, cmd.count);
        break;
    case TUI_CMD_RECEIPTS:
    case TUI_CMD_BLOCK:
    case TUI_CMD_UNBLOCK:
        tui_exec_everyday(t, &cmd);
        break;
    case TUI_CMD_DIRECTORY:
        tui_directory_run(t);
        break;
    case TUI_CMD_SEND:
    case TUI_CMD_ACCEPT:
    case TUI_CMD_REJECT:
    case TUI_CMD_FILES:
    case TUI_CMD_WHERE:
    case TUI_CMD_ALL: /* issue 16: tui_broadcast.c, through exec_files */
    case TUI_CMD_ACK:
        exec_files(t, &cmd);
        break;
    case TUI_CMD_BAD:
        tui_say(t, TUI_ENTRY_WARN, "%s", cmd.error);
        break;
    }
}
