/* LAN discovery of the presence server (see presence_client.h, presence_discover, and
 * docs/PROTOCOL.md chapter 10).
 *
 * One UDP socket per address family asked: IPv4 for the broadcast 255.255.255.255 (or a
 * unicast `to`), IPv6 for ff02::1 when the host can send there. A probe goes out at once and,
 * without an answer, again with a new nonce at half the timeout; an answer to either nonce
 * counts. An answer with the pinned key wins at once; another one is held as the fallback, and
 * the timer is re-armed for PRESENCE_DISCOVER_PREFER_MS: if no answer with the pin comes by
 * then, the fallback wins (mim_discovery_prefer). Then the sockets and the timer are closed, and
 * the last close callback reports the result. */
#include "presence_client.h"
#include "mim_addr.h"
#include "mim_discovery.h"
#include "mim_error.h"
#include "mim_log.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

enum { DISC_V4 = 0, DISC_V6 = 1, DISC_SOCKS = 2, DISC_PROBES = 2 };

typedef struct discover_req {
    uv_loop_t *loop;
    uv_udp_t sock[DISC_SOCKS];
    int have[DISC_SOCKS];                    /* the socket was initialised */
    struct sockaddr_storage dst[DISC_SOCKS]; /* where its probes go */
    uv_timer_t timer;                        /* the resend, then the timeout */
    uint8_t nonce[DISC_PROBES][MIM_DISCOVERY_NONCE_LEN];
    int nprobes; /* probes sent so far (nonces in use) */
    uint32_t timeout_ms;
    int finished;                  /* the result is known; closing */
    int open;                      /* handles not yet closed */
    int status;                    /* the result for cb */
    struct sockaddr_storage found; /* the answer's source, with the TCP port */
    uint8_t pk[MIM_KEY_LEN];       /* the answer's identity key */
    int have_pin;                  /* pin is set: an answer with it is preferred */
    uint8_t pin[MIM_KEY_LEN];      /* the pinned server's key */
    int have_fallback;             /* found and pk hold an answer without the pin */
    uint8_t rbuf[128];             /* one datagram; a longer one is not an answer */
    presence_discover_cb cb;
    void *ud;
} discover_req;

static void on_closed(uv_handle_t *h)
{
    discover_req *r = h->data;

    if (--r->open > 0)
        return;
    r->cb(r->ud, r->status, r->status == 0 ? (const struct sockaddr *)&r->found : NULL,
          r->status == 0 ? r->pk : NULL);
    free(r);
}

static void disc_finish(discover_req *r, int status)
{
    if (r->finished)
        return;
    r->finished = 1;
    r->status = status;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_closed);
    for (int i = 0; i < DISC_SOCKS; i++) {
        if (!r->have[i])
            continue;
        uv_udp_recv_stop(&r->sock[i]);
        uv_close((uv_handle_t *)&r->sock[i], on_closed);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    discover_req *r = h->data;
    (void)suggested;
    buf->base = (char *)r->rbuf;
    buf->len = sizeof(r->rbuf);
}

static void on_timer(uv_timer_t *t);

/* A valid answer from `from` with key pk and TCP port: taken, held as the fallback, or not. */
static void take_answer(discover_req *r, const struct sockaddr *from, uint16_t port,
                        const uint8_t pk[MIM_KEY_LEN])
{
    int choice = mim_discovery_prefer(r->have_pin ? r->pin : NULL, pk, r->have_fallback);
    char a[MIM_ADDR_STRLEN];

    if (choice == MIM_DISCOVERY_IGNORE)
        return;
    /* Where to connect: the answer's source address, the port written inside it. */
    memset(&r->found, 0, sizeof(r->found));
    if (from->sa_family == AF_INET6) {
        memcpy(&r->found, from, sizeof(struct sockaddr_in6));
        ((struct sockaddr_in6 *)&r->found)->sin6_port = htons(port);
    } else {
        memcpy(&r->found, from, sizeof(struct sockaddr_in));
        ((struct sockaddr_in *)&r->found)->sin_port = htons(port);
    }
    memcpy(r->pk, pk, MIM_KEY_LEN);
    if (choice == MIM_DISCOVERY_TAKE) {
        disc_finish(r, 0);
        return;
    }
    mim_addr_format((const struct sockaddr *)&r->found, a);
    mim_log_info("discovery: %s answered with a key that is not the pinned server's; waiting "
                 "%d ms for the pinned one",
                 a, PRESENCE_DISCOVER_PREFER_MS);
    r->have_fallback = 1;
    uv_timer_start(&r->timer, on_timer, PRESENCE_DISCOVER_PREFER_MS, 0);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    discover_req *r = h->data;
    uint8_t pk[MIM_KEY_LEN];
    uint16_t port;

    if (r->finished || nread <= 0 || from == NULL || (flags & UV_UDP_PARTIAL))
        return; /* nothing, an error on one datagram, or one too long to be an answer */
    for (int i = 0; i < r->nprobes; i++) {
        if (mim_discovery_answer_decode((const uint8_t *)buf->base, (size_t)nread, r->nonce[i],
                                        &port, pk) != 0)
            continue;
        take_answer(r, from, port, pk);
        return;
    }
}

/* Sends a probe with a new nonce on every socket. Returns how many went out. */
static int send_probe(discover_req *r)
{
    uint8_t probe[MIM_DISCOVERY_LEN];
    int sent = 0;

    if (r->nprobes == DISC_PROBES)
        return 0;
    mim_random_bytes(r->nonce[r->nprobes], MIM_DISCOVERY_NONCE_LEN);
    mim_discovery_probe_encode(probe, r->nonce[r->nprobes]);
    r->nprobes++;
    for (int i = 0; i < DISC_SOCKS; i++) {
        uv_buf_t b = uv_buf_init((char *)probe, sizeof(probe));
        int rc;
        if (!r->have[i])
            continue;
        /* A 56-byte datagram on an idle socket: sent at once, no request to keep alive. */
        rc = uv_udp_try_send(&r->sock[i], &b, 1, (const struct sockaddr *)&r->dst[i]);
        if (rc >= 0) {
            sent++;
        } else {
            char a[MIM_ADDR_STRLEN];
            mim_addr_format((const struct sockaddr *)&r->dst[i], a);
            mim_log_debug("discovery: cannot send to %s: %s", a, uv_strerror(rc));
        }
    }
    return sent;
}

static void on_timer(uv_timer_t *t)
{
    discover_req *r = t->data;

    if (r->have_fallback) { /* no answer with the pin in the window: the fallback it is */
        disc_finish(r, 0);
        return;
    }
    if (r->nprobes < DISC_PROBES) {
        /* Half the time is gone without an answer: a probe may have been lost. */
        if (send_probe(r) > 0) {
            uv_timer_start(&r->timer, on_timer, r->timeout_ms - r->timeout_ms / 2, 0);
            return;
        }
        disc_finish(r, MIM_EIO);
        return;
    }
    disc_finish(r, MIM_ENOENT);
}

/* Opens the socket of one family, bound to its any-address, broadcast allowed. 0 or a UV_E*
 * code; the handle is initialised (and must be closed) only on success. */
static int open_socket(discover_req *r, int which, int family)
{
    uv_udp_t *h = &r->sock[which];
    struct sockaddr_storage any;
    int rc;

    memset(&any, 0, sizeof(any));
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&any;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&any;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    }
    if ((rc = uv_udp_init_ex(r->loop, h, (unsigned)family)) != 0)
        return rc;
    h->data = r;
    r->have[which] = 1;
    r->open++;
    rc = uv_udp_bind(h, (const struct sockaddr *)&any, family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
    if (rc == 0 && family == AF_INET)
        rc = uv_udp_set_broadcast(h, 1);
    if (rc == 0)
        rc = uv_udp_recv_start(h, on_alloc, on_recv);
    if (rc != 0) { /* close it now; the last close callback is still the timer's */
        r->have[which] = 0;
        uv_close((uv_handle_t *)h, on_closed);
    }
    return rc;
}

int presence_discover(uv_loop_t *loop, const struct sockaddr *to, uint16_t port,
                      uint32_t timeout_ms, const uint8_t *pin, presence_discover_cb cb, void *ud)
{
    discover_req *r;
    int opened = 0;

    if (loop == NULL || cb == NULL || port == 0 || timeout_ms < 2 ||
        (to != NULL && to->sa_family != AF_INET && to->sa_family != AF_INET6))
        return MIM_EINVAL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return MIM_ENOMEM;
    r->loop = loop;
    r->timeout_ms = timeout_ms;
    r->cb = cb;
    r->ud = ud;
    if ((r->have_pin = pin != NULL) != 0)
        memcpy(r->pin, pin, MIM_KEY_LEN);

    if (to != NULL) {
        int which = to->sa_family == AF_INET6 ? DISC_V6 : DISC_V4;
        memcpy(&r->dst[which], to,
               to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in));
    } else {
        struct sockaddr_in *b4 = (struct sockaddr_in *)&r->dst[DISC_V4];
        struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&r->dst[DISC_V6];
        b4->sin_family = AF_INET;
        b4->sin_addr.s_addr = htonl(INADDR_BROADCAST);
        m6->sin6_family = AF_INET6;
        m6->sin6_addr.s6_addr[0] = 0xff; /* ff02::1, all nodes on the link */
        m6->sin6_addr.s6_addr[1] = 0x02;
        m6->sin6_addr.s6_addr[15] = 0x01;
    }
    for (int i = 0; i < DISC_SOCKS; i++) {
        int family = i == DISC_V6 ? AF_INET6 : AF_INET;
        if (r->dst[i].ss_family == 0)
            continue;
        if (family == AF_INET6)
            ((struct sockaddr_in6 *)&r->dst[i])->sin6_port = htons(port);
        else
            ((struct sockaddr_in *)&r->dst[i])->sin_port = htons(port);
        if (open_socket(r, i, family) == 0)
            opened++;
    }
    uv_timer_init(loop, &r->timer); /* cannot fail */
    r->timer.data = r;
    r->open++;
    if (opened == 0 || send_probe(r) == 0) {
        /* Nothing can be asked: report it from the loop, as the contract promises. */
        disc_finish(r, MIM_EIO);
        return 0;
    }
    uv_timer_start(&r->timer, on_timer, timeout_ms / 2, 0);
    return 0;
}
