/* The presence side of the peer core: the presence client's events as the core's (who is
 * online, the server's key, errors), LAN discovery of the server, and logout and login. */
#include "core_priv.h"
#include "mim_addr.h"
#include "mim_error.h"
#include "mim_log.h"

#include <stdio.h>
#include <string.h>

/* Never connected in this run: the user is told why (once per reason), rather than left with
 * a "reconnecting" that suggests it once worked. */
static void tell_unreachable(mim_core *c, const char *server)
{
    static const char prefix[] = "connect failed: ";
    const char *why = c->pc != NULL ? presence_client_last_close(c->pc) : "";
    char msg[sizeof(c->presence_unreachable)];

    if (strncmp(why, prefix, sizeof(prefix) - 1) == 0)
        why += sizeof(prefix) - 1;
    snprintf(msg, sizeof(msg), "cannot reach the presence server at %s: %s; trying again", server,
             why[0] != '\0' ? why : "no answer");
    if (strcmp(msg, c->presence_unreachable) == 0)
        return;
    snprintf(c->presence_unreachable, sizeof(c->presence_unreachable), "%s", msg);
    core_report_error(c, MIM_CORE_ERROR_SERVER, msg, 0);
}

static void pc_on_state(void *ud, enum presence_client_state state, const char *server)
{
    mim_core *c = ud;
    mim_core_presence s;

    switch (state) {
    case PRESENCE_CONNECTED:
        s = MIM_CORE_PRESENCE_CONNECTED;
        break;
    case PRESENCE_RECONNECTING:
        s = MIM_CORE_PRESENCE_RECONNECTING;
        break;
    case PRESENCE_DISCONNECTED:
        s = MIM_CORE_PRESENCE_DISCONNECTED;
        break;
    default:
        return; /* the first attempt is not news */
    }
    if (s == MIM_CORE_PRESENCE_CONNECTED)
        c->presence_ever = 1;
    else
        core_mailbox_reset(c); /* issue 14: the deposits awaiting an answer are forgotten */
    if (c->ev.on_presence != NULL)
        c->ev.on_presence(c->ud, s, server);
    if (s == MIM_CORE_PRESENCE_RECONNECTING && !c->presence_ever)
        tell_unreachable(c, server);
    if (s != MIM_CORE_PRESENCE_CONNECTED)
        core_directory_lost(c); /* issue 14: its lookups and listing will not be answered */
    if (s == MIM_CORE_PRESENCE_CONNECTED)
        core_mailbox_tick(c); /* issue 14: deposits for the peers not online */
}

static void pc_on_server_key(void *ud, int verdict, const uint8_t pk[32], const uint8_t *old_pk)
{
    mim_core *c = ud;
    char fp[MIM_FINGERPRINT_LEN], old_fp[MIM_FINGERPRINT_LEN];
    mim_core_key_verdict v = verdict == MIM_PIN_NEW     ? MIM_CORE_KEY_NEW
                             : verdict == MIM_PIN_MATCH ? MIM_CORE_KEY_MATCH
                                                        : MIM_CORE_KEY_CHANGED;

    c->server_pinned = verdict != MIM_PIN_CHANGED;
    if (c->pc != NULL) { /* issue 18: the server of the list met now is the one pinned */
        const struct sockaddr *now = presence_client_server(c->pc);
        memcpy(&c->server, now,
               now->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : sizeof(struct sockaddr_in));
    }
    mim_fingerprint(pk, fp);
    if (old_pk != NULL)
        mim_fingerprint(old_pk, old_fp);
    if (c->ev.on_server_key != NULL)
        c->ev.on_server_key(c->ud, fp, v, old_pk != NULL ? old_fp : NULL);
}

static void entry_info(const online_entry *e, char addr[MIM_ADDR_STRLEN],
                       char fp[MIM_FINGERPRINT_LEN], mim_core_peer_info *p)
{
    struct sockaddr_storage ss;

    addr[0] = '\0';
    if (e->addr_len == 4 || e->addr_len == 16) {
        core_entry_sockaddr(e, &ss);
        if (e->addr_len == 4)
            uv_ip4_name((struct sockaddr_in *)&ss, addr, MIM_ADDR_STRLEN);
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, addr, MIM_ADDR_STRLEN);
    }
    mim_fingerprint(e->identity_pk, fp);
    p->name = e->name;
    p->addr = addr;
    p->port = e->port;
    p->fingerprint = fp;
    p->status = core_status_of(e->status);
    p->text = e->status_text;
}

static void pc_on_peer_online(void *ud, const online_entry *e, int is_self)
{
    mim_core *c = ud;
    char addr[MIM_ADDR_STRLEN], fp[MIM_FINGERPRINT_LEN];
    mim_core_peer_info p;
    peer_rec *r;

    if (is_self)
        return;
    entry_info(e, addr, fp, &p);
    if (c->ev.on_online != NULL)
        c->ev.on_online(c->ud, &p);
    core_check_table_key(c, e); /* after on_online: the front end knows the name by then */
    /* Its outbox goes out now (the table entry is in place: presence_client adds it first). */
    if ((r = core_peer_find(c, e->name)) != NULL || core_outbox_nonempty(c, e->name)) {
        if (r == NULL)
            r = core_peer_get(c, e->name);
        if (r != NULL)
            core_maybe_dial(c, r);
    }
}

static void pc_on_peer_offline(void *ud, const char *name)
{
    mim_core *c = ud;
    if (c->ev.on_offline != NULL)
        c->ev.on_offline(c->ud, name);
    core_directory_seen(c, name, 0); /* its "last seen" (who is online: the table says) */
}

static void pc_on_peer_status(void *ud, const online_entry *e)
{
    mim_core *c = ud;
    if (c->ev.on_status != NULL)
        c->ev.on_status(c->ud, e->name, core_status_of(e->status), e->status_text);
}

static void pc_on_error(void *ud, int code, const char *message, int fatal)
{
    mim_core *c = ud;
    char msg[MIM_ERROR_TEXT_MAX + 300];
    int taken = code == MIM__ERROR_CODE__ERROR_NAME_TAKEN;

    /* A name taken says what the user can do about it (issue 13). */
    if (taken)
        snprintf(msg, sizeof(msg),
                 "presence server: %s: if the name %s is yours, ask the server's admin to run "
                 "`mim-presence --free-name %s`; otherwise start with another --name",
                 message, c->name, c->name);
    else
        snprintf(msg, sizeof(msg), "presence server: %s", message);
    core_report_error(c, taken ? MIM_CORE_ERROR_NAME_TAKEN : MIM_CORE_ERROR_SERVER, msg, fatal);
    if (fatal && taken && c->name_taken_out != NULL)
        *c->name_taken_out = 1;
    if (fatal)
        mim_core_quit(c, 1);
}

static const presence_client_events pc_events = {
    .on_state = pc_on_state,
    .on_server_key = pc_on_server_key,
    .on_peer_online = pc_on_peer_online,
    .on_peer_offline = pc_on_peer_offline,
    .on_peer_status = pc_on_peer_status,
    .on_error = pc_on_error,
    .on_lookup = core_on_lookup, /* core_directory.c */
    .on_directory = core_on_directory_list,
    .on_deposit_acks = core_on_deposit_acks, /* issue 14: core_mailbox.c */
    .on_broadcasters = core_on_broadcasters, /* issue 16: core_broadcast.c */
    .on_mail = core_on_mail,                 /* core_mailbox_rx.c */
};

void core_start_presence(mim_core *c)
{
    presence_client_config cfg;
    int rc;

    if (c->logged_out)
        return; /* a discovery that ends after mim_core_logout */
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = c->loop;
    cfg.id = c->id;
    cfg.name = c->name;
    cfg.listen_port = c->advertise_port != 0 ? c->advertise_port : c->listen_port;
    cfg.server = c->server;
    for (size_t i = 0; i < c->nservers; i++) /* issue 18: --server A,B (all resolved by now) */
        cfg.servers[cfg.nservers++] = c->servers[i].addr;
    cfg.store = c->st;
    cfg.max_table = c->max_table;
    if ((rc = presence_client_start(&c->pc, &cfg, &pc_events, c)) != 0) {
        mim_log_error("cannot start the presence client: %s", mim_strerror(rc));
        core_report_error(c, MIM_CORE_ERROR_SERVER, "cannot start the presence client", 1);
        mim_core_quit(c, 1);
        return;
    }
    if (c->my_status != 0)
        presence_client_set_status(c->pc, c->my_status, c->my_status_text);
}

static void on_disc_retry(uv_timer_t *t)
{
    core_start_discovery(t->data);
}

static void on_discovered(void *ud, int status, const struct sockaddr *server, const uint8_t pk[32])
{
    mim_core *c = ud;
    char addr[MIM_ADDR_STRLEN];

    (void)pk; /* the presence client checks the key against the pin */
    c->discovering = 0;
    if (c->quitting) {
        core_maybe_finish(c);
        return;
    }
    if (status < 0) {
        mim_log_info("no presence server answered on the LAN (UDP port %u); trying again",
                     (unsigned)c->discovery_port);
        uv_timer_start(&c->disc_retry, on_disc_retry, MIM_CORE_DISCOVER_MS, 0);
        return;
    }
    memset(&c->server, 0, sizeof(c->server));
    memcpy(&c->server, server,
           server->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in));
    mim_addr_format(server, addr);
    mim_log_info("found the presence server at %s", addr);
    core_start_presence(c);
}

void core_start_discovery(mim_core *c)
{
    mim_contact pin;
    int rc, pinned;

    if (c->quitting || c->logged_out)
        return;
    /* A pinned server's answer (the one met last) is preferred to whoever answers first; the
     * server found is then checked against the pin of its own address. */
    pinned = mim_store_server_pin_latest(c->st, &pin) == 0;
    rc = presence_discover(c->loop, NULL, c->discovery_port, MIM_CORE_DISCOVER_MS,
                           pinned ? pin.identity_pk : NULL, on_discovered, c);
    if (rc != 0) {
        mim_log_warn("LAN discovery failed: %s", mim_strerror(rc));
        uv_timer_start(&c->disc_retry, on_disc_retry, MIM_CORE_DISCOVER_MS, 0);
        return;
    }
    c->discovering = 1;
}

void mim_core_who(mim_core *c, void (*cb)(void *arg, const mim_core_peer_info *p), void *arg)
{
    if (c->pc == NULL)
        return;
    for (const online_entry *e = online_table_first(presence_client_table(c->pc)); e != NULL;
         e = online_table_next(e)) {
        char addr[MIM_ADDR_STRLEN], fp[MIM_FINGERPRINT_LEN];
        mim_core_peer_info p;
        if (strcmp(e->name, c->name) == 0)
            continue;
        entry_info(e, addr, fp, &p);
        cb(arg, &p);
    }
}

static void on_pc_logged_out(void *ud)
{
    mim_core *c = ud;
    c->closing_handles--;
    if (c->quitting)
        core_maybe_finish(c); /* a quit came while the client was stopping */
}

int mim_core_logout(mim_core *c)
{
    presence_client *pc = c->pc;
    char server[MIM_ADDR_STRLEN] = "";

    if (c->quitting || c->logged_out)
        return MIM_CORE_ENOTHING;
    c->logged_out = 1;
    uv_timer_stop(&c->disc_retry);
    if (c->server.ss_family != 0)
        mim_addr_format((const struct sockaddr *)&c->server, server);
    if (pc == NULL)
        return 0; /* still discovering: on_discovered will not log in */
    /* The client reports nothing after its stop: the front end hears from here that everyone
     * it saw online is now out of sight, and that we are disconnected. */
    for (const online_entry *e = online_table_first(presence_client_table(pc)); e != NULL;
         e = online_table_next(e))
        if (strcmp(e->name, c->name) != 0 && c->ev.on_offline != NULL)
            c->ev.on_offline(c->ud, e->name);
    c->pc = NULL;
    core_directory_lost(c); /* issue 14: no answer will come to its lookups and listing */
    core_mailbox_reset(c);  /* nor to the deposits awaiting their DepositAck */
    c->closing_handles++;   /* a quit before the stop ends must wait for it */
    presence_client_stop(pc, on_pc_logged_out);
    if (c->ev.on_presence != NULL)
        c->ev.on_presence(c->ud, MIM_CORE_PRESENCE_DISCONNECTED, server);
    return 0;
}

int mim_core_login(mim_core *c)
{
    if (c->quitting || !c->logged_out)
        return MIM_CORE_ENOTHING;
    c->logged_out = 0;
    if (c->resolving)
        return 0; /* --server's host name: the client starts once it resolves */
    if (c->server.ss_family != 0)
        core_start_presence(c);
    else if (!c->discovering)
        core_start_discovery(c);
    return 0;
}
