/* Login/logout churn: a flapping peer's delete is held back a moment, so that its next login
 * can cancel it, and observers hear at most what changed.
 *
 * A peer is flapping when its key logged in within the last PRESENCE_FLAP_MS before this login
 * (admission_login remembers each key's last login). When a flapping peer goes offline, its
 * PeerDelete waits cfg.flap_hold_ms (server.h); a login of the same name within that time
 * cancels it, and the login's PeerAdd (which replaces the entry at every observer) goes out only
 * when the entry changed -- another key, address, listen port, or a status that the new login
 * resets -- or when someone logged in meanwhile (whose table lacked the name). A peer that is
 * not flapping gets its delete at once, as before. */
#include "server.h"
#include "cluster.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* A held delete: what observers still believe about the name. */
struct held_delete {
    struct held_delete *next;
    uint64_t due;       /* uv_now() when it goes out */
    uint64_t login_seq; /* srv->login_seq when held: another login since means news */
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t identity_pk[MIM_KEY_LEN];
    uint8_t addr[16];
    uint8_t addr_len;
    uint16_t port;
    uint8_t plain; /* status AVAILABLE without text: what a fresh login shows */
};

int churn_entry_plain(const online_entry *e)
{
    return e->status == MIM__STATUS__STATUS_AVAILABLE &&
           (e->status_text == NULL || e->status_text[0] == '\0');
}

/* The entry observers still hold for h's name. */
static const online_entry *held_entry(const struct held_delete *h, online_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->name = h->name;
    memcpy(e->identity_pk, h->identity_pk, MIM_KEY_LEN);
    memcpy(e->addr, h->addr, sizeof(e->addr));
    e->addr_len = h->addr_len;
    e->port = h->port;
    e->status = h->plain ? MIM__STATUS__STATUS_AVAILABLE : MIM__STATUS__STATUS_UNSPECIFIED;
    return e;
}

int churn_same_entry(const online_entry *old, const online_entry *now)
{
    return churn_entry_plain(old) && churn_entry_plain(now) && old->addr_len == now->addr_len &&
           old->port == now->port && memcmp(old->addr, now->addr, old->addr_len) == 0 &&
           memcmp(old->identity_pk, now->identity_pk, MIM_KEY_LEN) == 0;
}

static void broadcast_delete(presence_server *srv, const char *name)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerDelete del = MIM__PEER_DELETE__INIT;

    del.name = (char *)name; /* protobuf-c's fields are not const; packing only reads them */
    m.body_case = MIM__PRESENCE_MSG__BODY_DEL;
    m.del = &del;
    out_queue_broadcast(srv, &m, NULL);
    cluster_note_del(srv, name); /* and to the other servers' peers (issue 18) */
}

static void arm(presence_server *srv)
{
    uint64_t now = uv_now(srv->loop);
    struct held_delete *h = srv->held;

    if (h == NULL)
        uv_timer_stop(&srv->held_timer);
    else
        uv_timer_start(&srv->held_timer, churn_on_timer, h->due > now ? h->due - now : 0, 0);
}

void churn_on_timer(uv_timer_t *t)
{
    presence_server *srv = t->data;
    uint64_t now = uv_now(srv->loop);

    while (srv->held != NULL && srv->held->due <= now) {
        struct held_delete *h = srv->held;
        srv->held = h->next;
        if (!srv->stopping)
            broadcast_delete(srv, h->name);
        free(h);
    }
    if (srv->held == NULL)
        srv->held_tail = NULL;
    arm(srv);
}

void churn_delete(presence_server *srv, const online_entry *e, int plain, int flapping)
{
    struct held_delete *h;

    if (!flapping || srv->cfg.flap_hold_ms == 0 || (h = calloc(1, sizeof(*h))) == NULL) {
        broadcast_delete(srv, e->name);
        return;
    }
    /* Every hold is as long, so the list stays in order of due time. */
    h->due = uv_now(srv->loop) + srv->cfg.flap_hold_ms;
    h->login_seq = srv->login_seq;
    snprintf(h->name, sizeof(h->name), "%s", e->name);
    memcpy(h->identity_pk, e->identity_pk, MIM_KEY_LEN);
    memcpy(h->addr, e->addr, sizeof(h->addr));
    h->addr_len = e->addr_len;
    h->port = e->port;
    h->plain = (uint8_t)plain;
    if (srv->held_tail != NULL)
        srv->held_tail->next = h;
    else
        srv->held = h;
    srv->held_tail = h;
    if (srv->held == h)
        arm(srv);
}

int churn_login(presence_server *srv, const online_entry *e)
{
    struct held_delete **pp = &srv->held, *h, *prev = NULL;
    online_entry was;
    int same;

    while (*pp != NULL && strcmp((*pp)->name, e->name) != 0) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if ((h = *pp) == NULL)
        return CHURN_NONE;
    *pp = h->next;
    if (srv->held_tail == h)
        srv->held_tail = prev;
    same = h->login_seq == srv->login_seq && churn_same_entry(held_entry(h, &was), e);
    free(h);
    arm(srv);
    return same ? CHURN_UNCHANGED : CHURN_CHANGED;
}

void churn_free(presence_server *srv)
{
    while (srv->held != NULL) {
        struct held_delete *h = srv->held;
        srv->held = h->next;
        free(h);
    }
    srv->held_tail = NULL;
}
