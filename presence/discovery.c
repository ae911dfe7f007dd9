/* mim-presence's answer to LAN discovery probes (datagram layout in mim_discovery.h). */
#include "server.h"
#include "mim_discovery.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_addr.h"

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

/* A spoofed source could aim answers at a third party; the answer is no bigger than the probe,
 * and this cap bounds the rate too. */
#define DISCOVERY_RATE 100.0 /* answers per second, burst the same */

typedef struct discovery_send {
    uv_udp_send_t req;
    uint8_t bytes[MIM_DISCOVERY_LEN];
} discovery_send;

static uint8_t discovery_buf[512];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)discovery_buf;
    buf->len = sizeof(discovery_buf);
}

static void after_send(uv_udp_send_t *req, int status)
{
    (void)status; /* a lost answer is retried by the prober */
    free(req);
}

/* The socket an answer to `from` goes out from, and the address it goes to (an IPv4-mapped
 * source as IPv4 for an IPv4 socket): the discovery socket without --bind or with a wildcard
 * one; else the first bound address of from's family; NULL when none has it (the TCP listener
 * cannot be reached that way either). */
static uv_udp_t *answer_socket(presence_server *srv, uv_udp_t *h, const struct sockaddr *from,
                               struct sockaddr_storage *to)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;
    int family = from->sa_family;

    memset(to, 0, sizeof(*to));
    memcpy(to, from, family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)to;
        uint16_t port = s6->sin6_port;
        uint8_t v4[4];
        memcpy(v4, &s6->sin6_addr.s6_addr[12], 4);
        memset(to, 0, sizeof(*to));
        s4->sin_family = AF_INET;
        s4->sin_port = port;
        memcpy(&s4->sin_addr, v4, 4);
        family = AF_INET;
    }
    if (srv->cfg.nbinds == 0 || h != &srv->discovery)
        return h; /* no --bind, or the probe came to a bound address: answer from there */
    for (int i = 0; i < srv->nanswer; i++) {
        if (srv->answer_family[i] == 0)
            return h; /* a wildcard bind: any address will do */
        if (srv->answer_family[i] == family)
            return &srv->answer_from[i];
    }
    return NULL;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    presence_server *srv = h->data;
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN];
    discovery_send *s;
    uv_buf_t b;
    char addr[MIM_ADDR_STRLEN];
    struct sockaddr_storage to;
    uv_udp_t *out;

    (void)flags;
    if (nread <= 0 || from == NULL)
        return;
    mim_addr_format(from, addr);
    if (mim_discovery_probe_decode((const uint8_t *)buf->base, (size_t)nread, nonce) != 0) {
        mim_log_debug("discovery: ignored %zd bytes from %s: not a probe", nread, addr);
        return;
    }
    if (!mim_rate_take(&srv->discovery_rate, DISCOVERY_RATE, DISCOVERY_RATE, uv_now(srv->loop))) {
        mim_log_debug("discovery: rate cap reached, probe from %s dropped", addr);
        return;
    }
    if ((out = answer_socket(srv, h, from, &to)) == NULL) {
        mim_log_debug("discovery: no bound address of the family of %s: probe not answered", addr);
        return;
    }
    if ((s = malloc(sizeof(*s))) == NULL)
        return;
    mim_discovery_answer_encode(s->bytes, nonce, (uint16_t)srv->port, srv->id->sign_pk);
    b = uv_buf_init((char *)s->bytes, sizeof(s->bytes));
    if (uv_udp_send(&s->req, out, &b, 1, (const struct sockaddr *)&to, after_send) != 0) {
        free(s);
        return;
    }
    mim_log_debug("discovery: answered probe from %s", addr);
}

/* With --bind: a socket per bound address on the discovery port too (SO_REUSEADDR beside the
 * wildcard socket), that answers go out from -- the source a peer dials, and the address and
 * port a stateful firewall expects the reply from. Probes to a bound address arrive on its own
 * socket (the more specific bind wins); broadcasts and probes to other addresses on the
 * wildcard one, answered from a bound address of the prober's family. 0, or a negative code
 * (said). */
static int open_answer_sockets(presence_server *srv)
{
    for (int i = 0; i < srv->cfg.nbinds; i++) {
        struct sockaddr_storage ss;
        int rc;

        if (mim_addr_parse(srv->cfg.binds[i], 1, &ss) != 0)
            return MIM_EINVAL; /* options.c refused it already */
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)srv->discovery_port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)srv->discovery_port);
        if (strcmp(srv->cfg.binds[i], "::") == 0 || strcmp(srv->cfg.binds[i], "0.0.0.0") == 0) {
            srv->answer_family[srv->nanswer++] = 0; /* wildcard: the discovery socket answers */
            continue;
        }
        uv_udp_init(srv->loop, &srv->answer_from[srv->nanswer]);
        srv->answer_from[srv->nanswer].data = srv;
        srv->answer_family[srv->nanswer] = ss.ss_family;
        srv->nanswer++;
        rc = uv_udp_bind(&srv->answer_from[srv->nanswer - 1], (struct sockaddr *)&ss,
                         UV_UDP_REUSEADDR | (ss.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0));
        if (rc == 0)
            rc = uv_udp_recv_start(&srv->answer_from[srv->nanswer - 1], on_alloc, on_recv);
        if (rc != 0) {
            mim_log_warn("discovery: cannot answer from %s: %s", srv->cfg.binds[i],
                         uv_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int discovery_start(presence_server *srv)
{
    struct sockaddr_in6 any6;
    struct sockaddr_storage got;
    int len = sizeof(got), rc;
    unsigned flags;

    /* One dual-stack socket answers IPv4 broadcasts and IPv6 probes alike. */
    uv_ip6_addr("::", srv->cfg.discovery_port, &any6);
    uv_udp_init(srv->loop, &srv->discovery);
    srv->discovery.data = srv;
    srv->discovery_on = 1;
    mim_rate_init(&srv->discovery_rate, DISCOVERY_RATE, uv_now(srv->loop));
    /* With --bind, the bound addresses' sockets share the port (open_answer_sockets). */
    flags = srv->cfg.nbinds > 0 ? UV_UDP_REUSEADDR : 0;
    rc = uv_udp_bind(&srv->discovery, (const struct sockaddr *)&any6, flags);
    if (rc != 0) {
        struct sockaddr_in any4;
        uv_ip4_addr("0.0.0.0", srv->cfg.discovery_port, &any4);
        rc = uv_udp_bind(&srv->discovery, (const struct sockaddr *)&any4, flags);
    }
    if (rc == 0 && uv_udp_getsockname(&srv->discovery, (struct sockaddr *)&got, &len) == 0)
        srv->discovery_port = mim_addr_port((struct sockaddr *)&got);
    if (rc == 0)
        rc = open_answer_sockets(srv);
    if (rc == 0)
        rc = uv_udp_recv_start(&srv->discovery, on_alloc, on_recv);
    if (rc != 0) {
        mim_log_warn("discovery: cannot use UDP port %d: %s", srv->cfg.discovery_port,
                     uv_strerror(rc));
        discovery_stop(srv);
        return rc;
    }
    mim_log_info("answering discovery probes on UDP port %d", srv->discovery_port);
    return 0;
}

void discovery_stop(presence_server *srv)
{
    if (!srv->discovery_on)
        return;
    srv->discovery_on = 0;
    uv_udp_recv_stop(&srv->discovery);
    uv_close((uv_handle_t *)&srv->discovery, NULL);
    for (int i = 0; i < srv->nanswer; i++)
        if (srv->answer_family[i] != 0)
            uv_close((uv_handle_t *)&srv->answer_from[i], NULL);
    srv->nanswer = 0;
}
