/* The listener of the peer core: accepts incoming chat sessions on IPv4 and IPv6, and caps
 * those still in their handshake (admission). */
#include "core_priv.h"
#include "mim_addr.h"
#include "mim_error.h"
#include "mim_log.h"

#include <netinet/in.h>

static void on_connection(uv_stream_t *server, int status)
{
    mim_core *c = server->data;
    chat_session *cs;
    sess *s;
    admission_slot *evicted;
    uint8_t ip[16];
    size_t ip_len;
    int rc, verdict;

    if (status < 0) {
        mim_log_warn("listener: %s", uv_strerror(status));
        return;
    }
    if ((rc = chat_session_accept(&c->chat_cfg, server, &cs)) != 0) {
        mim_log_warn("cannot accept a chat session: %s", mim_strerror(rc));
        return;
    }
    if ((s = core_sess_add(c, cs)) == NULL) {
        chat_session_close(cs, "out of memory");
        return;
    }
    if (c->quitting) {
        chat_session_close(cs, "quitting");
        return;
    }
    /* Before anyone is authenticated a connection costs us a handshake: cap them in all, per
     * address and per second, as the presence server does; when all the places are taken, a
     * newcomer takes the oldest of the address that holds the most (shared/mim_admission.h). */
    ip_len = mim_addr_raw(chat_session_remote_addr(cs), ip);
    s->adm.owner = s;
    verdict = admission_admit(&c->admit, &s->adm, ip, ip_len, uv_now(c->loop), &evicted);
    if (verdict != ADMIT_OK) {
        mim_log_warn("listener: refused a connection: %s", admission_reason(verdict));
        chat_session_close(cs, admission_reason(verdict));
        return;
    }
    if (evicted != NULL) {
        mim_log_warn(
            "listener: evicted the oldest handshake of the busiest address for a newcomer");
        chat_session_close(((sess *)evicted->owner)->cs, "evicted for a newcomer");
    }
}

/* Incoming sessions still in their handshake: a LAN peer needs few at once. */
static const admission_limits incoming_limits = {
    .max_unauth = 64,
    .max_unauth_per_ip = 8,
    .rate_per_ip = 10,
    .penalty_min_ms = 15000,  /* an address whose handshakes idle in parallel waits a while */
    .penalty_max_ms = 300000, /* (the presence server's defaults) */
};

int core_start_listener(mim_core *c, uint16_t port)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr_storage got;
    int len = sizeof(got), rc;

    if ((rc = admission_init(&c->admit, &incoming_limits)) != 0)
        return rc;
    uv_ip4_addr("0.0.0.0", port, &a4);
    if ((rc = uv_tcp_bind(&c->lis4, (struct sockaddr *)&a4, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&c->lis4, 128, on_connection)) != 0) {
        mim_log_error("cannot listen on port %u: %s", (unsigned)port, uv_strerror(rc));
        return MIM_EIO;
    }
    uv_tcp_getsockname(&c->lis4, (struct sockaddr *)&got, &len);
    c->listen_port = mim_addr_port((struct sockaddr *)&got);
    /* IPv6 on the same port when the host has it; IPv4 alone is enough. */
    uv_ip6_addr("::", c->listen_port, &a6);
    if ((rc = uv_tcp_bind(&c->lis6, (struct sockaddr *)&a6, UV_TCP_IPV6ONLY)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&c->lis6, 128, on_connection)) != 0)
        mim_log_debug("no IPv6 listener: %s", uv_strerror(rc));
    else
        c->lis6_on = 1;
    return 0;
}
