/* Inside the peer core: --server, one server or a list of them (issue 18), each an address or
 * a host name. A numeric address is taken at once; a name is resolved (uv_getaddrinfo, off the
 * loop thread) when the core starts, one after the other, and the presence client starts once
 * every entry is resolved. A name that does not resolve, alone or in a list, is a fatal error
 * that says so (a mistyped name is told at once, not found out when the servers before it
 * fail). Later logins (mim_core_login) use the addresses found at the start. */
#include "core_priv.h"

#include "mim_addr.h"
#include "mim_error.h"
#include "mim_log.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_NAME_MAX_LEN 253

/* A DNS name: letters, digits, '-' and '.', 1..253 bytes. */
static int host_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > HOST_NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

/* One entry of --server, n bytes of s: HOST[:PORT] or an address. 0 or MIM_EINVAL. */
static int parse_entry(struct core_server_entry *e, const char *s, size_t n)
{
    char one[HOST_NAME_MAX_LEN + 64], *end;
    const char *colon;
    size_t host_len;
    unsigned long port = MIM_CORE_DEFAULT_PORT;

    memset(e, 0, sizeof(*e));
    if (n == 0 || n >= sizeof(one))
        return MIM_EINVAL;
    memcpy(one, s, n);
    one[n] = '\0';
    if (mim_addr_parse(one, MIM_CORE_DEFAULT_PORT, &e->addr) == 0)
        return 0;
    colon = strchr(one, ':');
    host_len = colon != NULL ? (size_t)(colon - one) : n;
    if (colon != NULL) {
        port = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
            port = 0;
    }
    if (!host_name_ok(one, host_len) || port == 0)
        return MIM_EINVAL;
    memcpy(e->host, one, host_len);
    e->host[host_len] = '\0';
    e->port = (uint16_t)port;
    return 0;
}

int core_server_parse(mim_core *c, const char *server)
{
    const char *p = server;

    c->nservers = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (c->nservers == PRESENCE_CLIENT_MAX_SERVERS) {
            mim_log_error("--server: at most %d servers", PRESENCE_CLIENT_MAX_SERVERS);
            return MIM_EINVAL;
        }
        if (parse_entry(&c->servers[c->nservers], p, n) != 0) {
            mim_log_error("--server '%.*s' is not HOST[:PORT] (a host name or an address, a port "
                          "of 1..65535)",
                          (int)n, p);
            return MIM_EINVAL;
        }
        c->nservers++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    c->server = c->servers[0].addr; /* family 0 when it is a name, until resolved */
    return 0;
}

/* Every entry has its address: the client starts with the list. */
static void servers_resolved(mim_core *c)
{
    c->server = c->servers[0].addr;
    core_start_presence(c);
}

static void resolve_next(mim_core *c);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    mim_core *c = req->data;
    struct core_server_entry *e = &c->servers[c->resolve_at];
    char msg[400], addr[MIM_ADDR_STRLEN];

    c->resolving = 0;
    if (c->quitting) {
        uv_freeaddrinfo(res);
        core_maybe_finish(c);
        return;
    }
    if (status < 0 || res == NULL || res->ai_addrlen > sizeof(e->addr)) {
        snprintf(msg, sizeof(msg), "--server: the host name '%s' does not resolve (%s)", e->host,
                 status < 0 ? uv_strerror(status) : "no address");
        uv_freeaddrinfo(res);
        mim_log_error("%s", msg); /* a list's too: a mistyped name is said at once */
        core_report_error(c, MIM_CORE_ERROR_SERVER, msg, 1);
        mim_core_quit(c, 1);
        return;
    }
    memcpy(&e->addr, res->ai_addr, res->ai_addrlen);
    if (e->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&e->addr)->sin_port = htons(e->port);
    else
        ((struct sockaddr_in6 *)&e->addr)->sin6_port = htons(e->port);
    uv_freeaddrinfo(res);
    mim_addr_format((const struct sockaddr *)&e->addr, addr);
    mim_log_info("presence server %s is %s", e->host, addr);
    e->host[0] = '\0'; /* resolved: from now on the address */
    c->resolve_at++;
    resolve_next(c);
}

/* Resolves the next entry that is a host name, or starts the client once none is left. */
static void resolve_next(mim_core *c)
{
    struct addrinfo hints;
    int rc;

    while (c->resolve_at < c->nservers && c->servers[c->resolve_at].host[0] == '\0')
        c->resolve_at++;
    if (c->resolve_at == c->nservers) {
        servers_resolved(c);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->resolve_req.data = c;
    rc = uv_getaddrinfo(c->loop, &c->resolve_req, on_resolved, c->servers[c->resolve_at].host, NULL,
                        &hints);
    if (rc != 0) {
        mim_log_error("--server: cannot resolve '%s': %s", c->servers[c->resolve_at].host,
                      uv_strerror(rc));
        core_report_error(c, MIM_CORE_ERROR_SERVER, "--server: cannot resolve the host name", 1);
        mim_core_quit(c, 1);
        return;
    }
    c->resolving = 1;
}

void core_server_start(mim_core *c)
{
    c->resolve_at = 0;
    resolve_next(c);
}

void core_server_stop(mim_core *c)
{
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolve_req); /* on_resolved still runs (UV_ECANCELED) */
}
