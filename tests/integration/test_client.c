/* The integration tests' own blocking client of mim-presence, not the peer's
 * peer/presence_client.c: see test_client.h. */
#include "test_client.h"
#include "mim_buf.h"
#include "mim_framer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int set_err(tc_client *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(tc_client *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return rc;
}

uint64_t tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int remaining(uint64_t deadline)
{
    uint64_t now = tc_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

const char *tc_strerror(int rc)
{
    switch (rc) {
    case TC_OK:
        return "ok";
    case TC_ETIMEOUT:
        return "timed out";
    case TC_ECLOSED:
        return "connection closed by the server";
    case TC_ECRYPTO:
        return "cryptographic check failed";
    case TC_EPROTO:
        return "protocol violation by the server";
    case TC_EIO:
        return "local socket error";
    case TC_EUNEXPECTED:
        return "unexpected message";
    case TC_ESTATE:
        return "call out of order";
    default:
        return rc > 0 ? "server sent an Error" : "unknown";
    }
}

const char *tc_error(const tc_client *c)
{
    return c->err[0] != '\0' ? c->err : "no error recorded";
}

tc_client *tc_new(mim_identity *id)
{
    tc_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = -1;
    if (id != NULL) {
        c->id = id;
    } else {
        if ((c->id = mim_identity_generate()) == NULL) {
            free(c);
            return NULL;
        }
        c->owns_id = 1;
    }
    c->next_nonce = 0x7e57000000000000ull;
    return c;
}

static void free_batch(tc_client *c)
{
    mim_presence_batch_free(c->batch);
    c->batch = NULL;
    c->batch_next = 0;
}

void tc_free(tc_client *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free_batch(c);
    mim_noise_wipe(&c->hs);
    mim_stream_tx_wipe(&c->tx);
    mim_stream_rx_wipe(&c->rx);
    if (c->owns_id)
        mim_identity_free(c->id);
    mim_wipe(c, sizeof(*c));
    free(c);
}

/* ---- socket ---------------------------------------------------------------------------- */

int tc_connect(tc_client *c, int port)
{
    return tc_connect_addr(c, "127.0.0.1", port);
}

/* Binds fd (of family af) to the numeric address src, any port. 0, or -1 with errno set. */
static int bind_source(int fd, const char *src, int af)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = (sa_family_t)af;
    if (af == AF_INET6) {
        len = sizeof(struct sockaddr_in6);
        if (inet_pton(AF_INET6, src, &((struct sockaddr_in6 *)&ss)->sin6_addr) != 1)
            return errno = EINVAL, -1;
    } else {
        len = sizeof(struct sockaddr_in);
        if (inet_pton(AF_INET, src, &((struct sockaddr_in *)&ss)->sin_addr) != 1)
            return errno = EINVAL, -1;
    }
    return bind(fd, (struct sockaddr *)&ss, len);
}

int tc_connect_addr(tc_client *c, const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t ss_len;
    struct pollfd pfd;
    int fd, one = 1, soerr = 0, flags;
    socklen_t sl = sizeof(soerr);
    int v6 = strchr(host, ':') != NULL;
    char where[80];

    if (c->fd >= 0)
        return set_err(c, TC_ESTATE, "already connected");
    snprintf(where, sizeof(where), v6 ? "[%s]:%d" : "%s:%d", host, port);
    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return set_err(c, TC_ESTATE, "not a numeric IPv6 address: %s", host);
        ss_len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return set_err(c, TC_ESTATE, "not a numeric IPv4 address: %s", host);
        ss_len = sizeof(*s4);
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return set_err(c, TC_EIO, "socket: %s", strerror(errno));
    if (c->src != NULL && bind_source(fd, c->src, ss.ss_family) != 0) {
        int e = errno;
        close(fd);
        return set_err(c, TC_EIO, "bind to %s: %s", c->src, strerror(e));
    }
    /* Before connect(), so the window advertised from the start is the small one. */
    if (c->rcvbuf > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, sizeof(c->rcvbuf)) != 0) {
        int e = errno;
        close(fd);
        return set_err(c, TC_EIO, "SO_RCVBUF %d: %s", c->rcvbuf, strerror(e));
    }
    if (c->mss > 0 && setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &c->mss, sizeof(c->mss)) != 0) {
        int e = errno;
        close(fd);
        return set_err(c, TC_EIO, "TCP_MAXSEG %d: %s", c->mss, strerror(e));
    }
    /* Non-blocking only for the connect, so that it too is bounded. */
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&ss, ss_len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return set_err(c, TC_EIO, "connect to %s: %s", where, strerror(e));
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, TC_TIMEOUT_MS) != 1) {
        close(fd);
        return set_err(c, TC_ETIMEOUT, "connect to %s timed out", where);
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) {
        close(fd);
        return set_err(c, TC_EIO, "connect to %s: %s", where, strerror(soerr));
    }
    fcntl(fd, F_SETFL, flags);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    return TC_OK;
}

void tc_disconnect(tc_client *c, int reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(c->fd);
    c->fd = -1;
}

int tc_shutdown_write(tc_client *c)
{
    if (c->fd < 0 || shutdown(c->fd, SHUT_WR) != 0)
        return set_err(c, TC_EIO, "shutdown: %s", c->fd < 0 ? "not connected" : strerror(errno));
    return TC_OK;
}

int tc_send_raw(tc_client *c, const void *p, size_t len)
{
    const uint8_t *b = p;

    if (c->fd < 0)
        return set_err(c, TC_ESTATE, "send: not connected");
    while (len > 0) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        ssize_t n;
        if (poll(&pfd, 1, TC_TIMEOUT_MS) != 1)
            return set_err(c, TC_ETIMEOUT, "send: socket not writable for %d ms", TC_TIMEOUT_MS);
        n = send(c->fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            if (errno == EPIPE || errno == ECONNRESET)
                return set_err(c, TC_ECLOSED, "send: %s", strerror(errno));
            return set_err(c, TC_EIO, "send: %s", strerror(errno));
        }
        b += n;
        len -= (size_t)n;
    }
    return TC_OK;
}

int tc_send_frame(tc_client *c, const void *body, size_t len)
{
    uint8_t *buf = malloc(len + 2);
    int rc;

    if (buf == NULL)
        return set_err(c, TC_EIO, "out of memory");
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    if (len > 0)
        memcpy(buf + 2, body, len);
    rc = tc_send_raw(c, buf, len + 2);
    free(buf);
    return rc;
}

int tc_send_dribble(tc_client *c, const void *p, size_t len, unsigned gap_us)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < len; i++) {
        struct timespec ts = {0, (long)gap_us * 1000};
        int rc = tc_send_raw(c, b + i, 1);
        if (rc != TC_OK)
            return rc;
        if (gap_us > 0 && i + 1 < len)
            nanosleep(&ts, NULL);
    }
    return TC_OK;
}

/* Reads exactly n bytes by the deadline. */
static int read_exact(tc_client *c, uint8_t *out, size_t n, uint64_t deadline, int mid_frame)
{
    size_t have = 0;

    if (c->fd < 0)
        return set_err(c, TC_ESTATE, "read: not connected");
    while (have < n) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int ms = remaining(deadline);
        ssize_t r;
        int pr = poll(&pfd, 1, ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return set_err(c, TC_ETIMEOUT, "nothing from the server (%zu of %zu bytes%s)", have, n,
                           mid_frame ? " of a frame body" : "");
        r = recv(c->fd, out + have, n - have, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r == 0)
            return set_err(c, TC_ECLOSED, "EOF from the server%s",
                           have > 0 || mid_frame ? " inside a frame" : "");
        if (r < 0) {
            if (errno == ECONNRESET)
                return set_err(c, TC_ECLOSED, "connection reset by the server");
            return set_err(c, TC_EIO, "recv: %s", strerror(errno));
        }
        have += (size_t)r;
    }
    return TC_OK;
}

/* Reads one frame body into out (cap bytes). */
static int read_frame(tc_client *c, uint8_t *out, size_t cap, size_t *len, uint64_t deadline)
{
    uint8_t hdr[2];
    size_t n;
    int rc;

    if ((rc = read_exact(c, hdr, 2, deadline, 0)) != TC_OK)
        return rc;
    n = (size_t)hdr[0] << 8 | hdr[1];
    if (n == 0)
        return set_err(c, TC_EPROTO, "the server sent an empty frame");
    if (n > cap)
        return set_err(c, TC_EPROTO, "the server sent a %zu-byte frame, expected at most %zu", n,
                       cap);
    if ((rc = read_exact(c, out, n, deadline, 1)) != TC_OK)
        return rc;
    *len = n;
    return TC_OK;
}

/* ---- handshake ------------------------------------------------------------------------- */

int tc_hs_msg1(tc_client *c, uint8_t out[MIM_KEY_LEN])
{
    size_t len;
    int rc;

    rc = mim_noise_init(&c->hs, 1, MIM_NOISE_PROLOGUE_PRESENCE, strlen(MIM_NOISE_PROLOGUE_PRESENCE),
                        c->id->dh_sk);
    if (rc == 0)
        rc = mim_noise_write(&c->hs, NULL, 0, out, MIM_KEY_LEN, &len);
    if (rc != 0 || len != MIM_KEY_LEN)
        return set_err(c, TC_ECRYPTO, "writing message 1 failed (%d)", rc);
    c->hs_active = 1;
    return TC_OK;
}

int tc_hs_read_msg2(tc_client *c, int timeout_ms)
{
    uint8_t msg[MIM_NOISE_MAX_MSG], payload[MIM_NOISE_MAX_MSG];
    Mim__HandshakePayload *hp = NULL;
    char why[128] = "";
    size_t len, plen;
    int rc;

    if (!c->hs_active)
        return set_err(c, TC_ESTATE, "message 2 before message 1");
    if ((rc = read_frame(c, msg, sizeof(msg), &len, tc_now_ms() + (uint64_t)timeout_ms)) != 0)
        return rc;
    if (mim_noise_read(&c->hs, msg, len, payload, sizeof(payload), &plen) != 0)
        return set_err(c, TC_ECRYPTO, "message 2 (%zu bytes) does not decrypt", len);
    if (mim_handshake_payload_decode(payload, plen, 0, &hp, why, sizeof(why)) != 0)
        return set_err(c, TC_EPROTO, "message 2 payload: %s", why);
    if (mim_static_sig_verify(hp->identity_pk.data, mim_noise_remote_static(&c->hs),
                              hp->static_sig.data) != 0) {
        mim_handshake_payload_free(hp);
        return set_err(c, TC_ECRYPTO, "server static key not signed by its identity");
    }
    memcpy(c->server_pk, hp->identity_pk.data, MIM_KEY_LEN);
    c->server_features = hp->features;
    mim_fingerprint(c->server_pk, c->server_fingerprint);
    mim_handshake_payload_free(hp);
    return TC_OK;
}

int tc_hs_msg3(tc_client *c, const char *name, uint8_t *out, size_t cap, size_t *out_len)
{
    mim_buf payload = {0};
    mim_noise_cipher c1, c2;
    int rc;

    if (!c->hs_active)
        return set_err(c, TC_ESTATE, "message 3 before message 1");
    rc = mim_handshake_payload_encode(c->id->sign_pk, c->id->static_sig, name, &payload);
    if (rc == 0)
        rc = mim_noise_write(&c->hs, payload.data, payload.len, out, cap, out_len);
    mim_buf_free(&payload);
    if (rc != 0)
        return set_err(c, TC_ECRYPTO, "writing message 3 failed (%d)", rc);
    memcpy(c->hh, mim_noise_handshake_hash(&c->hs), MIM_HASH_LEN);
    rc = mim_noise_split(&c->hs, &c1, &c2);
    mim_noise_wipe(&c->hs);
    c->hs_active = 0;
    /* c1: initiator -> responder (ours to send), c2: the server's. The receive stream can only
     * be keyed once the server's header arrives: keep its key till then. */
    if (rc == 0)
        rc = mim_stream_tx_init(&c->tx, c1.k, c->tx_header);
    if (rc == 0)
        memcpy(c->rx_key, c2.k, MIM_KEY_LEN);
    mim_wipe(&c1, sizeof(c1));
    mim_wipe(&c2, sizeof(c2));
    if (rc != 0)
        return set_err(c, TC_ECRYPTO, "split failed (%d)", rc);
    c->tx_ready = 1;
    return TC_OK;
}

int tc_hs_read_header(tc_client *c, int timeout_ms)
{
    uint8_t hdr[64];
    size_t len;
    int rc;

    if (!c->tx_ready || c->rx_ready)
        return set_err(c, TC_ESTATE, "stream header out of order");
    if ((rc = read_frame(c, hdr, sizeof(hdr), &len, tc_now_ms() + (uint64_t)timeout_ms)) != 0)
        return rc;
    if (len != MIM_STREAM_HEADER_LEN)
        return set_err(c, TC_EPROTO, "server stream header is %zu bytes", len);
    rc = mim_stream_rx_init(&c->rx, c->rx_key, hdr);
    mim_wipe(c->rx_key, sizeof(c->rx_key));
    if (rc != 0)
        return set_err(c, TC_ECRYPTO, "server stream header rejected");
    c->rx_ready = 1;
    return TC_OK;
}

int tc_handshake(tc_client *c, const char *name)
{
    uint8_t m1[MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG];
    size_t len;
    int rc;

    if ((rc = tc_hs_msg1(c, m1)) != 0 || (rc = tc_send_frame(c, m1, sizeof(m1))) != 0 ||
        (rc = tc_hs_read_msg2(c, TC_TIMEOUT_MS)) != 0 ||
        (rc = tc_hs_msg3(c, name, m3, sizeof(m3), &len)) != 0 ||
        (rc = tc_send_frame(c, m3, len)) != 0 ||
        (rc = tc_send_frame(c, c->tx_header, sizeof(c->tx_header))) != 0 ||
        (rc = tc_hs_read_header(c, TC_TIMEOUT_MS)) != 0)
        return rc;
    return TC_OK;
}

/* ---- transport out --------------------------------------------------------------------- */

int tc_seal(tc_client *c, const Mim__PresenceMsg *const *msgs, size_t n, int tag, uint8_t *out,
            size_t cap, size_t *out_len)
{
    mim_buf plain = {0};
    int rc = 0;

    if (!c->tx_ready)
        return set_err(c, TC_ESTATE, "sealing before the handshake");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mim_presence_batch_append(&plain, msgs[i]);
    if (rc == 0 && plain.len + MIM_STREAM_ABYTES > cap)
        rc = -1;
    if (rc == 0)
        rc = mim_stream_tx_seal(&c->tx, plain.data, plain.len, tag, out);
    if (rc == 0)
        *out_len = plain.len + MIM_STREAM_ABYTES;
    mim_buf_wipe_free(&plain);
    return rc == 0 ? TC_OK : set_err(c, TC_ECRYPTO, "sealing failed (%d)", rc);
}

int tc_send_msg(tc_client *c, const Mim__PresenceMsg *m, int tag)
{
    static uint8_t frame[MIM_FRAME_MAX];
    size_t len;
    int rc;

    if ((rc = tc_seal(c, &m, 1, tag, frame, sizeof(frame), &len)) != 0)
        return rc;
    return tc_send_frame(c, frame, len);
}

int tc_build_login(tc_client *c, const char *name, uint16_t port, int flags, uint8_t *out,
                   size_t cap, size_t *out_len)
{
    Mim__PresenceMsg m;
    Mim__Login l;
    const Mim__PresenceMsg *mp = &m;
    uint8_t sig[MIM_SIG_LEN];

    if (mim_login_sign(c->id, c->hh, name, strlen(name), port, sig) != 0)
        return set_err(c, TC_ECRYPTO, "login signing failed");
    if (flags & TC_LOGIN_BAD_SIG)
        sig[17] ^= 0x04;
    mim_login_init(&m, &l, name, port, c->id->sign_pk, c->id->static_sig, sig,
                   ((flags & TC_LOGIN_MAILBOX) ? MIM_LOGIN_FEATURE_MAILBOX : 0) |
                       ((flags & TC_LOGIN_BROADCASTERS) ? MIM_LOGIN_FEATURE_BROADCASTERS : 0));
    return tc_seal(c, &mp, 1,
                   (flags & TC_LOGIN_FINAL) ? MIM_STREAM_TAG_FINAL : MIM_STREAM_TAG_MESSAGE, out,
                   cap, out_len);
}

int tc_login_ex(tc_client *c, const char *name, uint16_t port, int flags)
{
    uint8_t frame[1024];
    size_t len;
    int rc;

    if ((rc = tc_build_login(c, name, port, flags, frame, sizeof(frame), &len)) != 0 ||
        (rc = tc_send_frame(c, frame, len)) != 0)
        return rc;
    return tc_read_table(c, TC_TIMEOUT_MS);
}

int tc_login(tc_client *c, const char *name, uint16_t port)
{
    return tc_login_ex(c, name, port, 0);
}

int tc_send_ping(tc_client *c, uint64_t nonce)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Ping p = MIM__PING__INIT;
    p.nonce = nonce;
    m.body_case = MIM__PRESENCE_MSG__BODY_PING;
    m.ping = &p;
    return tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE);
}

int tc_send_pong(tc_client *c, uint64_t nonce)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Pong p = MIM__PONG__INIT;
    p.nonce = nonce;
    m.body_case = MIM__PRESENCE_MSG__BODY_PONG;
    m.pong = &p;
    c->pings_answered++;
    return tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE);
}

int tc_send_status(tc_client *c, int status, const char *text)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__StatusSet s = MIM__STATUS_SET__INIT;
    s.status = (Mim__Status)status;
    s.text = (char *)text;
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m.status_set = &s;
    return tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE);
}

int tc_logout(tc_client *c)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Logout l = MIM__LOGOUT__INIT;
    m.body_case = MIM__PRESENCE_MSG__BODY_LOGOUT;
    m.logout = &l;
    return tc_send_msg(c, &m, MIM_STREAM_TAG_FINAL);
}

/* ---- transport in ---------------------------------------------------------------------- */

const char *tc_body_name(Mim__PresenceMsg__BodyCase body_case)
{
    switch (body_case) {
    case MIM__PRESENCE_MSG__BODY_LOGIN:
        return "login";
    case MIM__PRESENCE_MSG__BODY_TABLE:
        return "table";
    case MIM__PRESENCE_MSG__BODY_ADD:
        return "add";
    case MIM__PRESENCE_MSG__BODY_DEL:
        return "del";
    case MIM__PRESENCE_MSG__BODY_STATUS_SET:
        return "status_set";
    case MIM__PRESENCE_MSG__BODY_STATUS:
        return "status";
    case MIM__PRESENCE_MSG__BODY_PING:
        return "ping";
    case MIM__PRESENCE_MSG__BODY_PONG:
        return "pong";
    case MIM__PRESENCE_MSG__BODY_ERROR:
        return "error";
    case MIM__PRESENCE_MSG__BODY_LOGOUT:
        return "logout";
    case MIM__PRESENCE_MSG__BODY_LOOKUP_RESULT:
        return "lookup_result";
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE:
        return "directory_page";
    case MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK:
        return "deposit_ack";
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        return "mail_item";
    default:
        return "none";
    }
}

void tc_describe(const Mim__PresenceMsg *m, char *out, size_t len)
{
    const char *what = tc_body_name(m->body_case);

    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_TABLE:
        snprintf(out, len, "table(%zu peers%s)", m->table->n_peers, m->table->last ? ", last" : "");
        break;
    case MIM__PRESENCE_MSG__BODY_ADD:
        snprintf(out, len, "add(%s)", m->add->peer->name);
        break;
    case MIM__PRESENCE_MSG__BODY_DEL:
        snprintf(out, len, "del(%s)", m->del->name);
        break;
    case MIM__PRESENCE_MSG__BODY_STATUS:
        snprintf(out, len, "status(%s, %d, \"%s\")", m->status->name, (int)m->status->status,
                 m->status->text);
        break;
    case MIM__PRESENCE_MSG__BODY_PING:
        snprintf(out, len, "ping(%llu)", (unsigned long long)m->ping->nonce);
        break;
    case MIM__PRESENCE_MSG__BODY_PONG:
        snprintf(out, len, "pong(%llu)", (unsigned long long)m->pong->nonce);
        break;
    case MIM__PRESENCE_MSG__BODY_ERROR:
        snprintf(out, len, "error(%d: %s)", (int)m->error->code, m->error->message);
        break;
    default:
        snprintf(out, len, "%s", what);
        break;
    }
}

int tc_recv(tc_client *c, int timeout_ms, const Mim__PresenceMsg **out)
{
    static uint8_t frame[MIM_FRAME_MAX], plain[MIM_FRAME_MAX];
    uint64_t deadline = tc_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    const Mim__PresenceMsg *m;
    char why[160] = "";
    size_t len, plen;
    int rc, tag;

    *out = NULL;
    if (c->batch != NULL && c->batch_next >= c->batch->n_msgs)
        free_batch(c);
    while (c->batch == NULL) {
        if (!c->rx_ready)
            return set_err(c, TC_ESTATE, "receiving before the handshake");
        if ((rc = read_frame(c, frame, sizeof(frame), &len, deadline)) != TC_OK)
            return rc;
        if (c->got_final)
            return set_err(c, TC_EPROTO, "a %zu-byte frame after the server's final one", len);
        if (len < MIM_STREAM_ABYTES ||
            mim_stream_rx_open(&c->rx, frame, len, plain, &plen, &tag) != 0)
            return set_err(c, TC_ECRYPTO, "a %zu-byte frame from the server does not decrypt", len);
        if (tag == MIM_STREAM_TAG_FINAL)
            c->got_final = 1;
        if (plen == 0 && tag == MIM_STREAM_TAG_FINAL)
            continue; /* a bare close: EOF follows */
        rc = mim_presence_batch_decode(plain, plen, MIM_FROM_SERVER, &c->batch, why, sizeof(why));
        mim_wipe(plain, plen);
        if (rc != 0)
            return set_err(c, TC_EPROTO, "malformed batch from the server: %s", why);
        c->batch_next = 0;
    }
    m = c->batch->msgs[c->batch_next++];
    if (m->body_case == MIM__PRESENCE_MSG__BODY_ERROR) {
        c->error_code = (int)m->error->code;
        snprintf(c->error_text, sizeof(c->error_text), "%s", m->error->message);
    }
    *out = m;
    return TC_OK;
}

int tc_expect(tc_client *c, Mim__PresenceMsg__BodyCase body_case, int timeout_ms,
              const Mim__PresenceMsg **out)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;
    const Mim__PresenceMsg *m;
    char desc[200];
    int rc;

    if (out != NULL)
        *out = NULL;
    for (;;) {
        if ((rc = tc_recv(c, remaining(deadline), &m)) != TC_OK) {
            char prev[sizeof(c->err)];
            snprintf(prev, sizeof(prev), "%s", c->err);
            return set_err(c, rc, "waiting for %s: %s", tc_body_name(body_case), prev);
        }
        if (m->body_case == body_case)
            break;
        if (m->body_case == MIM__PRESENCE_MSG__BODY_PING) {
            if ((rc = tc_send_pong(c, m->ping->nonce)) != TC_OK)
                return rc;
            continue;
        }
        tc_describe(m, desc, sizeof(desc));
        return set_err(c, TC_EUNEXPECTED, "expected %s, got %s", tc_body_name(body_case), desc);
    }
    if (out != NULL)
        *out = m;
    return TC_OK;
}

int tc_sync(tc_client *c, int timeout_ms)
{
    const Mim__PresenceMsg *m;
    uint64_t nonce = ++c->next_nonce;
    int rc;

    if ((rc = tc_send_ping(c, nonce)) != TC_OK ||
        (rc = tc_expect(c, MIM__PRESENCE_MSG__BODY_PONG, timeout_ms, &m)) != TC_OK)
        return rc;
    if (m->pong->nonce != nonce)
        return set_err(c, TC_EPROTO, "pong carries nonce %llu, sent %llu",
                       (unsigned long long)m->pong->nonce, (unsigned long long)nonce);
    return TC_OK;
}

void tc_peer_from_info(tc_peer *p, const Mim__PeerInfo *pi)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", pi->name);
    p->addr_len = pi->addr.len <= sizeof(p->addr) ? pi->addr.len : sizeof(p->addr);
    memcpy(p->addr, pi->addr.data, p->addr_len);
    p->port = (uint16_t)pi->port;
    memcpy(p->identity_pk, pi->identity_pk.data, MIM_KEY_LEN);
    p->status = (int)pi->status;
    snprintf(p->status_text, sizeof(p->status_text), "%s", pi->status_text);
}

int tc_read_table(tc_client *c, int timeout_ms)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;
    const Mim__PresenceMsg *m;
    char desc[200];
    int rc;

    c->ntable = 0;
    for (;;) {
        if ((rc = tc_recv(c, remaining(deadline), &m)) != TC_OK)
            return rc;
        switch (m->body_case) {
        case MIM__PRESENCE_MSG__BODY_TABLE:
            for (size_t i = 0; i < m->table->n_peers; i++) {
                if (c->ntable == TC_TABLE_MAX)
                    return set_err(c, TC_EPROTO, "table longer than %d", TC_TABLE_MAX);
                tc_peer_from_info(&c->table[c->ntable++], m->table->peers[i]);
            }
            if (m->table->last)
                return TC_OK;
            break;
        case MIM__PRESENCE_MSG__BODY_PING:
            if ((rc = tc_send_pong(c, m->ping->nonce)) != TC_OK)
                return rc;
            break;
        case MIM__PRESENCE_MSG__BODY_ERROR:
            set_err(c, m->error->code, "server refused the login: error %d (%s)",
                    (int)m->error->code, m->error->message);
            return m->error->code > 0 ? (int)m->error->code : TC_EPROTO;
        default:
            tc_describe(m, desc, sizeof(desc));
            return set_err(c, TC_EUNEXPECTED, "expected the table, got %s", desc);
        }
    }
}

int tc_expect_closed(tc_client *c, int timeout_ms)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;
    int first_error = 0;

    if (c->fd < 0)
        return set_err(c, TC_ESTATE, "not connected");
    /* With the transport up, decrypt what comes to find an Error; before it (or once a frame
     * fails to open) just discard bytes until EOF. */
    while (c->rx_ready && !c->got_final) {
        const Mim__PresenceMsg *m;
        int rc = tc_recv(c, remaining(deadline), &m);
        if (rc == TC_ECLOSED) {
            tc_disconnect(c, 0); /* as a real client would */
            return first_error;
        }
        if (rc == TC_ETIMEOUT)
            return set_err(c, TC_ETIMEOUT, "still open after %d ms", timeout_ms);
        if (rc != TC_OK)
            break; /* undecryptable: read raw below */
        if (m->body_case == MIM__PRESENCE_MSG__BODY_ERROR && first_error == 0)
            first_error = (int)m->error->code;
    }
    /* Messages left over in a batch after the final frame. */
    if (c->batch != NULL) {
        for (; c->batch_next < c->batch->n_msgs; c->batch_next++) {
            const Mim__PresenceMsg *m = c->batch->msgs[c->batch_next];
            if (m->body_case == MIM__PRESENCE_MSG__BODY_ERROR && first_error == 0) {
                first_error = (int)m->error->code;
                c->error_code = first_error;
            }
        }
    }
    for (;;) {
        uint8_t buf[4096];
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        ssize_t r;
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return set_err(c, TC_ETIMEOUT, "still open after %d ms", timeout_ms);
        r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            tc_disconnect(c, 0);
            return first_error;
        }
        if (r > 0)
            c->discarded += (size_t)r;
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return set_err(c, TC_EIO, "recv: %s", strerror(errno));
    }
}

const tc_peer *tc_table_find(const tc_client *c, const char *name)
{
    for (size_t i = 0; i < c->ntable; i++)
        if (strcmp(c->table[i].name, name) == 0)
            return &c->table[i];
    return NULL;
}

size_t tc_table_count(const tc_client *c, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < c->ntable; i++)
        n += strcmp(c->table[i].name, name) == 0;
    return n;
}
