/* Inside the peer core: the everyday features (issue 13) -- a contact's state as the contacts
 * list shows it, blocking, typing both ways, auto-away, and our own status kept across
 * restarts. A 1 s timer (c->everyday) ends typing that was not renewed and watches for idleness.
 *
 * Typing is best effort and never stored. What a peer says is shown only as changes, at most
 * TYPING_SHOWN_RATE a second (a hostile peer flooding Typing messages makes no more events), and
 * only while receipts are on (mim_core_set_receipts: the same switch). */
#include "core_priv.h"

#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <string.h>

#define EVERYDAY_TICK_MS    1000
#define TYPING_SHOWN_RATE   1.0 /* typing starts shown per second per peer, after a burst */
#define TYPING_SHOWN_BURST  4.0
#define STATUS_SETTING      "status"
#define STATUS_TEXT_SETTING "status_text"

int core_is_blocked(mim_core *c, const char *name)
{
    return mim_store_is_blocked(c->st, name) == 1;
}

void core_contact_state(mim_core *c, const char *name, mim_core_contact_info *ci)
{
    const online_entry *e = core_table_find(c, name);

    ci->unread = core_unread_count(c, name);
    ci->online = e != NULL;
    ci->status = e != NULL ? core_status_of(e->status) : MIM_CORE_AVAILABLE;
    ci->status_text = e != NULL && e->status_text != NULL ? e->status_text : "";
    ci->blocked = core_is_blocked(c, name);
}

int mim_core_block(mim_core *c, const char *name, int blocked)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    peer_rec *r;
    int rc;

    if ((name = mim_core_typed_name(name, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (strcmp(name, c->name) == 0)
        return MIM_CORE_ESELF;
    rc = mim_store_block_set(c->st, name, blocked != 0, mim_clock_wall_s());
    if (rc < 0)
        return MIM_CORE_ESTORE;
    if (rc == 0)
        return MIM_CORE_ENOTHING;
    mim_log_info("%s %s", name, blocked ? "blocked: its sessions are refused" : "unblocked");
    if (blocked && (r = core_peer_find(c, name)) != NULL) {
        core_typing_over(c, r);
        if (r->cs != NULL)
            chat_session_close(r->cs, "blocked");
        if (r->dialing != NULL)
            chat_session_close(r->dialing, "blocked");
    }
    if (blocked)
        core_transfer_peer_blocked(c, name); /* bulk connections are not in the peer_rec */
    return 0;
}

/* ---- typing ---------------------------------------------------------------------------------- */

int mim_core_typing(mim_core *c, const char *with, int typing)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    uint64_t now = uv_now(c->loop);
    peer_rec *r;

    if ((with = mim_core_typed_name(with, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (!core_known_peer(c, with))
        return MIM_CORE_EUNKNOWN_PEER;
    if (core_is_blocked(c, with))
        return MIM_CORE_EBLOCKED;
    r = core_peer_find(c, with);
    if (!c->receipts_on || r == NULL || r->cs == NULL || !chat_session_is_open(r->cs))
        return 0; /* nobody to tell, or not to be told */
    if (typing) {
        if (r->typing_sent_at != 0 && now - r->typing_sent_at < MIM_CORE_TYPING_SEND_MS)
            return 0; /* said a moment ago */
        r->typing_sent_at = now != 0 ? now : 1;
    } else {
        if (r->typing_sent_at == 0)
            return 0; /* never said it was typing */
        r->typing_sent_at = 0;
    }
    if (chat_session_send_typing(r->cs, typing) != 0)
        mim_log_debug("typing to %s not sent (an older version, or closing)", with);
    return 0;
}

void core_typing_over(mim_core *c, peer_rec *r)
{
    if (r->typing_until == 0)
        return;
    r->typing_until = 0;
    if (c->ev.on_typing != NULL)
        c->ev.on_typing(c->ud, r->name, 0);
}

void core_on_typing(void *ud, chat_session *cs, int typing)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r = s != NULL ? s->rec : NULL;
    uint64_t now = uv_now(c->loop);

    if (r == NULL || r->cs != cs || !c->receipts_on)
        return;
    if (!typing) {
        core_typing_over(c, r);
        return;
    }
    if (r->typing_until != 0) { /* shown already: renewed */
        r->typing_until = now + MIM_CORE_TYPING_LAPSE_MS;
        return;
    }
    if (!r->typing_rate_set) {
        mim_rate_init(&r->typing_rate, TYPING_SHOWN_BURST, now);
        r->typing_rate_set = 1;
    }
    if (!mim_rate_take(&r->typing_rate, TYPING_SHOWN_RATE, TYPING_SHOWN_BURST, now))
        return; /* a flood: not shown */
    r->typing_until = now + MIM_CORE_TYPING_LAPSE_MS;
    if (c->ev.on_typing != NULL)
        c->ev.on_typing(c->ud, r->name, 1);
}

/* ---- our status: kept, and auto-away --------------------------------------------------------- */

static const char *status_word(int wire_status)
{
    return wire_status == MIM__STATUS__STATUS_AWAY   ? "away"
           : wire_status == MIM__STATUS__STATUS_BUSY ? "busy"
                                                     : "available";
}

/* Our status now, to the presence server (now, or at the next login). */
static void status_tell(mim_core *c, int wire_status)
{
    c->my_status = wire_status;
    if (c->pc != NULL)
        (void)presence_client_set_status(c->pc, wire_status, c->my_status_text);
}

void core_status_chosen(mim_core *c)
{
    c->auto_away = 0;
    if (mim_store_setting_set(c->st, STATUS_SETTING, status_word(c->my_status)) != 0 ||
        mim_store_setting_set(c->st, STATUS_TEXT_SETTING, c->my_status_text) != 0)
        mim_log_warn("cannot keep our status in the store: a restart forgets it");
}

/* The status a restart keeps (the one the user chose last). */
static void status_load(mim_core *c)
{
    char word[16], text[MIM_STATUS_TEXT_MAX + 1];

    if (mim_store_setting_get(c->st, STATUS_SETTING, word, sizeof(word)) != 1)
        return; /* never chosen */
    if (mim_store_setting_get(c->st, STATUS_TEXT_SETTING, text, sizeof(text)) != 1 ||
        !mim_text_valid(text, strlen(text), MIM_STATUS_TEXT_MAX))
        text[0] = '\0'; /* a file edited by hand: the text is dropped, not sent */
    c->my_status = strcmp(word, "away") == 0   ? MIM__STATUS__STATUS_AWAY
                   : strcmp(word, "busy") == 0 ? MIM__STATUS__STATUS_BUSY
                                               : MIM__STATUS__STATUS_AVAILABLE;
    snprintf(c->my_status_text, sizeof(c->my_status_text), "%s", text);
}

void mim_core_input(mim_core *c)
{
    c->last_input = uv_now(c->loop);
    if (!c->auto_away)
        return;
    c->auto_away = 0;
    mim_log_info("input again: back from auto-away");
    status_tell(c, MIM__STATUS__STATUS_AVAILABLE);
}

/* Away by ourselves after auto_away_ms without input -- only from available: an away or busy
 * the user chose stays as it is. */
static void auto_away_check(mim_core *c, uint64_t now)
{
    if (c->auto_away_ms == 0 || c->auto_away || now - c->last_input < c->auto_away_ms)
        return;
    if (c->my_status != 0 && c->my_status != MIM__STATUS__STATUS_AVAILABLE)
        return;
    c->auto_away = 1;
    mim_log_info("no input for %u s: away", (unsigned)(c->auto_away_ms / 1000));
    status_tell(c, MIM__STATUS__STATUS_AWAY);
}

static void on_everyday_tick(uv_timer_t *t)
{
    mim_core *c = t->data;
    uint64_t now = uv_now(c->loop);

    for (peer_rec *r = c->peers; r != NULL; r = r->next)
        if (r->typing_until != 0 && now >= r->typing_until)
            core_typing_over(c, r);
    auto_away_check(c, now);
}

int core_everyday_start(mim_core *c, const mim_core_config *cfg)
{
    status_load(c);
    c->auto_away_ms = cfg->auto_away_ms;
    c->last_input = uv_now(c->loop);
    return uv_timer_start(&c->everyday, on_everyday_tick, EVERYDAY_TICK_MS, EVERYDAY_TICK_MS) == 0
               ? 0
               : MIM_EIO;
}
