/* Inside the peer core: --server as a host name. A numeric address is taken at once; a name is
 * resolved (uv_getaddrinfo, off the loop thread) when the core starts, and the presence client
 * starts once it has an address. A name that does not resolve is a fatal error that says so;
 * later logins (mim_core_login) use the address found at the start. */
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

int core_server_parse(mim_core *c, const char *server)
{
    const char *colon = strchr(server, ':');
    size_t n = colon != NULL ? (size_t)(colon - server) : strlen(server);
    char *end;
    unsigned long port = MIM_CORE_DEFAULT_PORT;

    if (mim_addr_parse(server, MIM_CORE_DEFAULT_PORT, &c->server) == 0)
        return 0;
    if (colon != NULL) {
        port = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
            port = 0;
    }
    if (!host_name_ok(server, n) || port == 0) {
        mim_log_error("--server '%s' is not HOST[:PORT] (a host name or an address, a port of "
                      "1..65535)",
                      server);
        return MIM_EINVAL;
    }
    memcpy(c->server_host, server, n);
    c->server_host[n] = '\0';
    c->server_port = (uint16_t)port;
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    mim_core *c = req->data;
    char msg[400], addr[MIM_ADDR_STRLEN];

    c->resolving = 0;
    if (c->quitting) {
        uv_freeaddrinfo(res);
        core_maybe_finish(c);
        return;
    }
    if (status < 0 || res == NULL || res->ai_addrlen > sizeof(c->server)) {
        snprintf(msg, sizeof(msg), "--server: the host name '%s' does not resolve (%s)",
                 c->server_host, status < 0 ? uv_strerror(status) : "no address");
        mim_log_error("%s", msg);
        uv_freeaddrinfo(res);
        core_report_error(c, MIM_CORE_ERROR_SERVER, msg, 1);
        mim_core_quit(c, 1);
        return;
    }
    memset(&c->server, 0, sizeof(c->server));
    memcpy(&c->server, res->ai_addr, res->ai_addrlen);
    if (c->server.ss_family == AF_INET)
        ((struct sockaddr_in *)&c->server)->sin_port = htons(c->server_port);
    else
        ((struct sockaddr_in6 *)&c->server)->sin6_port = htons(c->server_port);
    uv_freeaddrinfo(res);
    mim_addr_format((const struct sockaddr *)&c->server, addr);
    mim_log_info("presence server %s is %s", c->server_host, addr);
    c->server_host[0] = '\0'; /* resolved: from now on the address */
    core_start_presence(c);
}

void core_server_start(mim_core *c)
{
    struct addrinfo hints;
    int rc;

    if (c->server_host[0] == '\0') {
        core_start_presence(c);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->resolve_req.data = c;
    rc = uv_getaddrinfo(c->loop, &c->resolve_req, on_resolved, c->server_host, NULL, &hints);
    if (rc != 0) {
        mim_log_error("--server: cannot resolve '%s': %s", c->server_host, uv_strerror(rc));
        core_report_error(c, MIM_CORE_ERROR_SERVER, "--server: cannot resolve the host name", 1);
        mim_core_quit(c, 1);
        return;
    }
    c->resolving = 1;
}

void core_server_stop(mim_core *c)
{
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolve_req); /* on_resolved still runs (UV_ECANCELED) */
}
