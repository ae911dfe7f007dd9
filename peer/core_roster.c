/* The roster of the peer core: which peer (peer_rec), which session (sess), and who may keep a
 * session with us (the checks when one authenticates, one session per peer). */
#include "core_priv.h"
#include "mim_clock.h"
#include "mim_log.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

peer_rec *core_peer_find(mim_core *c, const char *name)
{
    for (peer_rec *r = c->peers; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

peer_rec *core_peer_get(mim_core *c, const char *name)
{
    peer_rec *r = core_peer_find(c, name);
    if (r != NULL)
        return r;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->next = c->peers;
    c->peers = r;
    return r;
}

const online_entry *core_table_find(mim_core *c, const char *name)
{
    if (c->pc == NULL)
        return NULL;
    return online_table_find_name(presence_client_table(c->pc), name);
}

/* New contacts shown a minute: a crowd of names dialling us (each one vouched for by the
 * presence server, so each a real login) cannot flood the screen with conversations. */
#define NEWCOMERS_PER_MIN  5
#define NEWCOMER_WINDOW_MS (60u * 1000u)

static void newcomers_report(mim_core *c, const char *what)
{
    char msg[400];

    snprintf(msg, sizeof(msg),
             "%s (%s): their messages are stored but not shown; write to them or read their "
             "history to see them",
             what, c->newcomers_names);
    mim_log_warn("%s", msg);
    core_report_error(c, MIM_CORE_ERROR_NEW_CONTACTS, msg, 0);
}

int core_newcomer_quiet(mim_core *c, peer_rec *r)
{
    uint64_t now = uv_now(c->loop);
    size_t len = strlen(c->newcomers_names);

    if (r->quiet || !r->first_contact)
        return r->quiet;
    r->first_contact = 0;
    if (c->newcomers_at == 0 || now - c->newcomers_at >= NEWCOMER_WINDOW_MS) {
        core_newcomers_tick(c);
        c->newcomers_at = now != 0 ? now : 1;
        c->newcomers_shown = 0;
    }
    if (c->newcomers_shown < NEWCOMERS_PER_MIN) {
        c->newcomers_shown++;
        return 0;
    }
    r->quiet = 1;
    snprintf(c->newcomers_names + len, sizeof(c->newcomers_names) - len, "%s%s",
             len > 0 ? ", " : "", r->name);
    if (++c->newcomers_quiet == 1)
        newcomers_report(c, "new contacts are writing faster than 5 a minute: one more wrote");
    return 1;
}

void core_newcomer_shown(mim_core *c, peer_rec *r)
{
    int was_quiet = r->quiet;

    r->quiet = 0;
    if (was_quiet)
        core_transfer_show_held(c, r->name);
}

void core_newcomers_tick(mim_core *c)
{
    char what[100];

    if (c->newcomers_quiet == 0 || uv_now(c->loop) - c->newcomers_at < NEWCOMER_WINDOW_MS)
        return;
    /* The first was reported at once; the others of that minute now, in one line. */
    if (c->newcomers_quiet > 1) {
        snprintf(what, sizeof(what), "%d new contacts in all were not shown in that minute",
                 c->newcomers_quiet);
        newcomers_report(c, what);
    }
    c->newcomers_quiet = 0;
    c->newcomers_names[0] = '\0';
}

/* A contact whose key changed is held until the user trusts the new key. */
int core_is_held(mim_core *c, const char *name)
{
    mim_contact ct;
    return mim_store_contact_get(c->st, name, &ct) == 0 && ct.has_pending;
}

static int count_one(const mim_message *m, void *arg)
{
    (void)m;
    ++*(int *)arg;
    return 1;
}

int core_outbox_nonempty(mim_core *c, const char *name)
{
    int n = 0;
    mim_store_outbox_each(c->st, name, 1, count_one, &n);
    return n > 0;
}

int core_known_peer(mim_core *c, const char *name)
{
    mim_contact ct;
    return mim_store_contact_get(c->st, name, &ct) == 0 || core_table_find(c, name) != NULL ||
           core_outbox_nonempty(c, name);
}

sess *core_sess_add(mim_core *c, chat_session *cs)
{
    sess *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cs = cs;
    s->next = c->sessions;
    if (c->sessions != NULL)
        c->sessions->prev = s;
    c->sessions = s;
    chat_session_set_data(cs, s);
    return s;
}

/* An incoming session stops counting against the admission caps: it opened (opened = 1), or
 * closed before, and its source is charged the time it held the place (harmless when it was
 * never counted, or was evicted). */
void core_sess_leave_unauth(mim_core *c, sess *s, int opened)
{
    admission_release(&c->admit, &s->adm, uv_now(c->loop), opened);
}

void core_sess_remove(mim_core *c, sess *s)
{
    core_sess_leave_unauth(c, s, 0);
    core_room_hold_free(s);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    free(s);
}

void core_entry_sockaddr(const online_entry *e, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (e->addr_len == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, e->addr, 4);
        sin->sin_port = htons(e->port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, e->addr, 16);
        sin6->sin6_port = htons(e->port);
    }
}

/* The key of whoever dialled cs. */
static const uint8_t *initiator_key(mim_core *c, chat_session *cs)
{
    return chat_session_is_initiator(cs) ? c->id->sign_pk : chat_session_peer_key(cs);
}

/* Whoever dials us is someone the presence server vouches for (its table entry has this key),
 * or a contact we pinned before (the table may be stale or the server down). Anyone else could
 * pose as a peer we have not met yet: refused (-1 and *reason), and nothing is pinned. */
static int check_vouched(mim_core *c, const char *name, const uint8_t identity_pk[MIM_KEY_LEN],
                         const char **reason)
{
    const online_entry *e = core_table_find(c, name);
    mim_contact ct;
    char fp[MIM_FINGERPRINT_LEN];

    if (e != NULL && memcmp(e->identity_pk, identity_pk, MIM_KEY_LEN) != 0) {
        mim_fingerprint(identity_pk, fp);
        mim_log_warn("a session claiming to be %s presented a key (%s) other than the "
                     "presence server's: refused",
                     name, fp);
        *reason = "the key differs from the presence table";
        return -1;
    }
    if (e == NULL && mim_store_contact_get(c->st, name, &ct) != 0) {
        mim_fingerprint(identity_pk, fp);
        mim_log_warn("a session claiming to be %s (key %s), neither online nor a contact: "
                     "refused",
                     name, fp);
        *reason = "not vouched for by the presence server";
        return -1;
    }
    return 0;
}

/* Key-change alarms per contact: the same pending key again is repeated at most every
 * ALARM_REPEAT_MS (a reinstalled contact redials us every few seconds until trusted); any
 * alarm at most every ALARM_MIN_MS (a key that keeps changing is news, but not a flood: the
 * contacts list shows the latest, and `trust` without a fingerprint refuses a key not shown). */
#define ALARM_REPEAT_MS (10u * 60u * 1000u)
#define ALARM_MIN_MS    (60u * 1000u)

void core_alarm_seen(mim_core *c, const char *name, const uint8_t pk[MIM_KEY_LEN])
{
    peer_rec *r = core_peer_get(c, name);

    if (r == NULL)
        return;
    r->alarm_seen = 1;
    memcpy(r->alarm_pk, pk, MIM_KEY_LEN);
}

/* Whether a key_changed for name's pending key pk is reported now (and noted as seen). */
static int alarm_due(mim_core *c, const char *name, const uint8_t pk[MIM_KEY_LEN])
{
    peer_rec *r = core_peer_get(c, name);
    uint64_t now = uv_now(c->loop);

    if (r == NULL)
        return 1;
    if (r->alarm_ms != 0) {
        uint64_t since = now - r->alarm_ms;
        int same = r->alarm_seen && memcmp(r->alarm_pk, pk, MIM_KEY_LEN) == 0;
        if (since < (same ? ALARM_REPEAT_MS : ALARM_MIN_MS))
            return 0;
    }
    r->alarm_ms = now != 0 ? now : 1;
    core_alarm_seen(c, name, pk);
    return 1;
}

/* A lasting line in name's history that its key changed (MIM_CORE_CONTENT_KEY_CHANGE): a
 * local entry under a random id, never sent (it is not outgoing) and never indexed for search
 * (not text). Best effort: the alarm itself does not depend on it. */
static void note_key_change(mim_core *c, const char *name, const char *old_fp, const char *new_fp)
{
    char text[200];
    uint8_t id[MIM_MSG_ID_LEN];
    int n;

    n = snprintf(text, sizeof(text),
                 "the key of %s changed from %s to %s; not trusted until checked", name, old_fp,
                 new_fp);
    mim_random_bytes(id, sizeof(id));
    if (n < 0 || (size_t)n >= sizeof(text) ||
        mim_store_message_receive(c->st, name, id, mim_clock_wall_ms(), MIM_CORE_CONTENT_KEY_CHANGE,
                                  text, (size_t)n) < 0)
        mim_log_warn("cannot write the key change of %s into its history", name);
}

/* The key against name's pin (accept-new): 0, or -1 and *reason when the store failed or the
 * key changed (recorded as pending, that contact's outbox held, reported through
 * on_key_changed at most as often as alarm_due allows, and a key that was not pending before
 * noted in the history). Only for a key with evidence behind it: see check_evidence. */
static int check_pin(mim_core *c, const char *name, const uint8_t identity_pk[MIM_KEY_LEN],
                     const char **reason, int *changed)
{
    mim_contact ct;
    int was_pending = mim_store_contact_get(c->st, name, &ct) == 0 && ct.has_pending &&
                      memcmp(ct.pending_pk, identity_pk, MIM_KEY_LEN) == 0;
    int v = mim_store_pin_check(c->st, name, identity_pk, mim_clock_wall_s());
    char old_fp[MIM_FINGERPRINT_LEN], new_fp[MIM_FINGERPRINT_LEN];

    if (v < 0) {
        *reason = "the store failed";
        return -1;
    }
    if (v == MIM_PIN_NEW) {
        peer_rec *r = core_peer_get(c, name);
        if (r != NULL)
            r->first_contact = r->pinned_this_run = 1;
    }
    if (v != MIM_PIN_CHANGED)
        return 0;
    mim_fingerprint(identity_pk, new_fp);
    if (mim_store_contact_get(c->st, name, &ct) == 0)
        mim_fingerprint(ct.identity_pk, old_fp);
    else
        snprintf(old_fp, sizeof(old_fp), "?");
    *reason = "the key differs from the pin";
    if (changed != NULL)
        *changed = 1;
    if (!was_pending)
        note_key_change(c, name, old_fp, new_fp);
    if (!alarm_due(c, name, identity_pk)) {
        mim_log_info("%s presented another key (%s): refused, outbox held (no alarm: at most "
                     "one a minute)",
                     name, new_fp);
        return -1;
    }
    mim_log_warn("%s presented another key (%s) than its pin (%s): refused, outbox held", name,
                 new_fp, old_fp);
    if (c->ev.on_key_changed != NULL)
        c->ev.on_key_changed(c->ud, name, old_fp, new_fp);
    return -1;
}

void core_check_listed_key(mim_core *c, const char *name, const uint8_t pk[MIM_KEY_LEN])
{
    mim_contact ct;
    const char *reason;

    /* Only a pinned server's word vouches for a key (as check_evidence); no pin yet: the first
     * session (or the first sealed letter) pins it, as before. */
    if (!c->server_pinned || strcmp(name, c->name) == 0 ||
        mim_store_contact_get(c->st, name, &ct) != 0 ||
        memcmp(ct.identity_pk, pk, MIM_KEY_LEN) == 0)
        return;
    (void)check_pin(c, name, pk, &reason, NULL);
}

void core_check_table_key(mim_core *c, const online_entry *e)
{
    core_check_listed_key(c, e->name, e->identity_pk);
}

/* An incoming session with a key other than name's pin changes trust state only when someone
 * vouches for that key: the table of a presence server whose key matches our pin lists name
 * with it. Otherwise anyone could claim an offline contact's name and raise the alarm (and
 * hold its outbox) at will: refused and logged, nothing recorded. Our own dials need no such
 * check: we dialled the table's address with the table's key, and the handshake proved it. */
static int check_evidence(mim_core *c, const char *name, const uint8_t identity_pk[MIM_KEY_LEN],
                          const char **reason)
{
    const online_entry *e = core_table_find(c, name);
    mim_contact ct;
    char fp[MIM_FINGERPRINT_LEN];

    if (mim_store_contact_get(c->st, name, &ct) != 0 ||
        memcmp(ct.identity_pk, identity_pk, MIM_KEY_LEN) == 0)
        return 0; /* no pin (check_vouched decided), or the pin itself */
    if (e != NULL && c->server_pinned && memcmp(e->identity_pk, identity_pk, MIM_KEY_LEN) == 0)
        return 0;
    mim_fingerprint(identity_pk, fp);
    mim_log_warn("a session claiming to be %s presented a key (%s) other than its pin, and no "
                 "pinned presence server vouches for it: refused, trust unchanged",
                 name, fp);
    *reason = "the key differs from the pin, and nobody vouches for it";
    return -1;
}

/* cs becomes r's kept session, unless r has another one that wins: two sessions for one pair,
 * both sides keep the one dialled by the lower key; the same dialler twice (it restarted): the
 * newer one. 0, or -1 and *reason when cs loses. */
static int keep_one_session(mim_core *c, peer_rec *r, chat_session *cs, const char **reason)
{
    if (r->cs != NULL && r->cs != cs) {
        chat_session *old = r->cs;
        const uint8_t *ko = initiator_key(c, old), *kn = initiator_key(c, cs);
        if (memcmp(ko, kn, MIM_KEY_LEN) < 0) {
            if (r->dialing == cs)
                r->dialing = NULL;
            *reason = "a session with this peer exists";
            return -1;
        }
        r->cs = cs;
        /* Whatever went out on the old session waits for this one. */
        mim_store_outbox_requeue(c->st, r->name);
        chat_session_close(old, "replaced by another session");
    }
    r->cs = cs;
    if (r->dialing == cs)
        r->dialing = NULL;
    return 0;
}

int core_on_authenticated(void *ud, chat_session *cs, const char *name,
                          const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r;
    int changed = 0;

    if (c->quitting) {
        *reason = "quitting";
        return -1;
    }
    if (strcmp(name, c->name) == 0) {
        *reason = "a session with ourselves";
        return -1;
    }
    if (core_is_blocked(c, name)) { /* before its pin: nothing of it is stored */
        *reason = "blocked";
        return -1;
    }
    /* (A session we dialled was checked against the table's key already.) */
    if (!chat_session_is_initiator(cs) && (check_vouched(c, name, identity_pk, reason) != 0 ||
                                           check_evidence(c, name, identity_pk, reason) != 0))
        return -1;
    if (check_pin(c, name, identity_pk, reason, &changed) != 0) {
        /* A vouched-for new key: the dialler is told why its messages wait (an old one sees a
         * plain close). */
        if (changed)
            chat_session_refuse_with(cs, MIM__CLOSE_REASON__CLOSE_KEY_NOT_ACCEPTED);
        return -1;
    }
    if ((r = core_peer_get(c, name)) == NULL) {
        *reason = "out of memory";
        return -1;
    }
    if (!chat_session_is_bulk(cs) && keep_one_session(c, r, cs, reason) != 0)
        return -1; /* (a bulk connection, issue 15, is not the kept session) */
    if (s != NULL)
        s->rec = r;
    return 0;
}

void core_on_open(void *ud, chat_session *cs)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);

    if (s != NULL)
        core_sess_leave_unauth(c, s, 1);
    if (chat_session_is_bulk(cs)) {
        core_transfer_bulk_open(c, cs);
        return;
    }
    if (s != NULL && s->rec != NULL && s->rec->cs == cs) {
        mim_log_info("chat session with %s open", s->rec->name);
        s->rec->unreachable[0] = '\0'; /* a later failure is news again */
        core_flush(c, s->rec);
        core_unconfirmed_resend(c, s->rec);   /* issue 14: what a session that ended had sent */
        core_receipts_send(c, s->rec);        /* what was read while it was away */
        core_mail_receipts_direct(c, s->rec); /* issue 14: letters taken, receipt owed */
        core_bcast_acks_send(c, s->rec);      /* issue 16: acknowledgements owed */
    }
}

void core_on_closed(void *ud, chat_session *cs, const char *reason)
{
    mim_core *c = ud;
    sess *s = chat_session_data(cs);
    peer_rec *r = s != NULL ? s->rec : NULL;

    if (chat_session_is_bulk(cs))
        core_transfer_bulk_closed(c, cs, reason);
    /* A dial that never authenticated is known only by its peer_rec's `dialing`. */
    if (r == NULL)
        for (peer_rec *p = c->peers; p != NULL; p = p->next)
            if (p->dialing == cs)
                r = p;
    if (r != NULL) {
        if (r->dialing == cs) {
            r->dialing = NULL;
            if (r->cs != cs)
                core_dial_failed(c, r, reason); /* never authenticated */
        }
        if (r->cs == cs) {
            r->cs = NULL;
            mim_log_info("chat session with %s closed: %s", r->name, reason);
            core_typing_over(c, r);
            /* Sent but not acknowledged: back to the outbox, for the next session. */
            if (mim_store_outbox_requeue(c->st, r->name) != 0)
                mim_log_warn("cannot requeue the outbox for %s", r->name);
        } else {
            mim_log_debug("a session with %s ended: %s", r->name, reason);
        }
    } else {
        mim_log_debug("an unauthenticated session ended: %s", reason);
    }
    if (s != NULL) {
        core_unconfirmed_closed(c, s); /* issue 14: sent on it and not confirmed */
        core_sess_remove(c, s);
    }
    if (c->quitting)
        core_maybe_finish(c);
}
