/* mim-presence's answer to LAN discovery probes (datagram layout in mim_discovery.h). */
#include "server.h"
#include "mim_discovery.h"
#include "mim_error.h"
#include "mim_log.h"

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

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    presence_server *srv = h->data;
    uint8_t nonce[MIM_DISCOVERY_NONCE_LEN];
    discovery_send *s;
    uv_buf_t b;
    char addr[MIM_ADDR_STRLEN];

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
    if ((s = malloc(sizeof(*s))) == NULL)
        return;
    mim_discovery_answer_encode(s->bytes, nonce, (uint16_t)srv->port, srv->id->sign_pk);
    b = uv_buf_init((char *)s->bytes, sizeof(s->bytes));
    if (uv_udp_send(&s->req, h, &b, 1, from, after_send) != 0) {
        free(s);
        return;
    }
    mim_log_debug("discovery: answered probe from %s", addr);
}

int discovery_start(presence_server *srv)
{
    struct sockaddr_in6 any6;
    struct sockaddr_storage got;
    int len = sizeof(got), rc;

    /* One dual-stack socket answers IPv4 broadcasts and IPv6 probes alike. */
    uv_ip6_addr("::", srv->cfg.discovery_port, &any6);
    uv_udp_init(srv->loop, &srv->discovery);
    srv->discovery.data = srv;
    srv->discovery_on = 1;
    mim_rate_init(&srv->discovery_rate, DISCOVERY_RATE, uv_now(srv->loop));
    rc = uv_udp_bind(&srv->discovery, (const struct sockaddr *)&any6, 0);
    if (rc != 0) {
        struct sockaddr_in any4;
        uv_ip4_addr("0.0.0.0", srv->cfg.discovery_port, &any4);
        rc = uv_udp_bind(&srv->discovery, (const struct sockaddr *)&any4, 0);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&srv->discovery, on_alloc, on_recv);
    if (rc != 0) {
        mim_log_warn("discovery: cannot use UDP port %d: %s", srv->cfg.discovery_port,
                     uv_strerror(rc));
        discovery_stop(srv);
        return rc;
    }
    uv_udp_getsockname(&srv->discovery, (struct sockaddr *)&got, &len);
    srv->discovery_port = mim_addr_port((struct sockaddr *)&got);
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
}
