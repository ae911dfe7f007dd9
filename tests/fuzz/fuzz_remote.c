/* The harness of fuzz_remote.h: plays the remote end of a mim channel on a raw loopback socket
 * (an honest Noise XX handshake, then secretstream) and turns the fuzzer's bytes into frames,
 * their order, splits and corruptions. See fuzz_remote.h for the script's format. */
#define _GNU_SOURCE /* accept4 */
#include "fuzz_remote.h"

#include "fuzz.h"
#include "mim_codec.h"
#include "mim_framer.h"
#include "mim_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define IN_CAP         (2 * (MIM_FRAME_MAX + 2))
#define WAIT_TURNS     400 /* x 5 ms: a handshake answer or the unit's close, at most 2 s */
#define CLOSE_TURNS    1000
#define HS_CORRUPT_ALL 3 /* handshake frames we send: 1..3 (msg 1|2, msg 3|header, header) */

enum {
    OP_MESSAGE,
    OP_FINAL,
    OP_RAW,
    OP_CORRUPT,
    OP_REPLAY,
    OP_SPLIT,
    OP_PUMP,
    OP_SHUTDOWN,
    OP_BIG,
    OP_SPECIAL,
    OP_COUNT
};

static uv_loop_t loop;
static mim_identity *unit_id, *remote_id;
static int raw_listener = -1;
static struct sockaddr_in raw_addr;

/* One input's state. */
static struct {
    const fz_unit *u;
    int fd;
    int dead; /* the unit hung up (EOF, reset) or our writes failed */
    uint8_t in[IN_CAP];
    size_t in_len;
    mim_stream_tx tx;
    mim_stream_rx rx;
    int rx_ready, unit_final;
    uint8_t hh[MIM_HASH_LEN];
    uint8_t last[MIM_FRAME_MAX + 2]; /* the last frame we sent, for a replay */
    size_t last_len;
    size_t split; /* > 0: the next frame goes out in two writes, cut here */
    int hs_sent;  /* handshake-phase frames sent so far */
    uint8_t corrupt, corrupt_pos;
} R;

static void setup(const fz_unit *u)
{
    socklen_t alen = sizeof(raw_addr);

    FUZZ_CHECK(mim_crypto_init() == 0);
    mim_log_set_level(MIM_LOG_ERROR); /* refusals are logged: the fuzzer makes millions */
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    FUZZ_CHECK((unit_id = mim_identity_generate()) != NULL);
    FUZZ_CHECK((remote_id = mim_identity_generate()) != NULL);
    u->setup(&loop, unit_id, remote_id);
    /* Where the unit dials us, when it is the initiator. */
    raw_listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(raw_listener >= 0);
    memset(&raw_addr, 0, sizeof(raw_addr));
    raw_addr.sin_family = AF_INET;
    raw_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(bind(raw_listener, (struct sockaddr *)&raw_addr, sizeof(raw_addr)) == 0);
    FUZZ_CHECK(getsockname(raw_listener, (struct sockaddr *)&raw_addr, &alen) == 0);
    FUZZ_CHECK(listen(raw_listener, 16) == 0);
}

/* ---- our socket ------------------------------------------------------------------------------ */

static void drain_socket(void)
{
    while (R.fd >= 0 && !R.dead && R.in_len < IN_CAP) {
        ssize_t n = recv(R.fd, R.in + R.in_len, IN_CAP - R.in_len, 0);
        if (n > 0)
            R.in_len += (size_t)n;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            R.dead = 1; /* EOF or reset: the unit closed */
    }
}

/* One loop turn for the unit (waiting up to wait_ms for something to happen), then whatever it
 * wrote is read. */
static void pump(int wait_ms)
{
    if (wait_ms > 0) {
        struct pollfd p[2] = {{.fd = uv_backend_fd(&loop), .events = POLLIN},
                              {.fd = R.fd, .events = POLLIN}};
        (void)poll(p, R.fd >= 0 && !R.dead ? 2 : 1, wait_ms);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    drain_socket();
}

/* The next whole frame the unit sent, copied to out (MIM_FRAME_MAX bytes); 0 when none yet. */
static int take_frame(uint8_t *out, size_t *len)
{
    size_t n;

    if (R.in_len < 2)
        return 0;
    n = (size_t)R.in[0] << 8 | R.in[1];
    if (R.in_len < 2 + n)
        return 0;
    memcpy(out, R.in + 2, n);
    memmove(R.in, R.in + 2 + n, R.in_len - 2 - n);
    R.in_len -= 2 + n;
    *len = n;
    return 1;
}

static int wait_frame(uint8_t *out, size_t *len)
{
    for (int i = 0; i < WAIT_TURNS; i++) {
        if (take_frame(out, len))
            return 0;
        if (R.dead)
            return -1;
        pump(i < 4 ? 0 : 5); /* the answer is usually one loop turn away: no wait first */
    }
    return -1;
}

static void send_bytes(const uint8_t *p, size_t n)
{
    for (int tries = 0; n > 0 && !R.dead; tries++) {
        ssize_t w = send(R.fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w, n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && tries < WAIT_TURNS) {
            pump(5); /* the unit reads what is in flight */
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            R.dead = 1; /* reset by the unit, or it stopped reading */
        }
    }
}

/* Sends body as one frame (length prefix + body), cut in two writes if a split is pending. */
static void send_frame(const uint8_t *body, size_t n)
{
    R.last[0] = (uint8_t)(n >> 8);
    R.last[1] = (uint8_t)n;
    memcpy(R.last + 2, body, n);
    R.last_len = n + 2;
    if (R.split > 0 && R.split < R.last_len) {
        send_bytes(R.last, R.split);
        pump(0); /* the unit sees half a frame */
        send_bytes(R.last + R.split, R.last_len - R.split);
    } else {
        send_bytes(R.last, R.last_len);
    }
    R.split = 0;
}

/* A handshake-phase frame of ours, corrupted when the script says this is the one. */
static void send_hs_frame(uint8_t *body, size_t n)
{
    R.hs_sent++;
    if ((R.corrupt & 3) == R.hs_sent && n > 0)
        body[R.corrupt_pos % n] ^= (uint8_t)(1u << ((R.corrupt >> 2) & 7));
    send_frame(body, n);
}

/* Every frame the unit sent since: each must decrypt, none may follow its FINAL. */
static void read_unit_frames(void)
{
    static uint8_t frame[MIM_FRAME_MAX], plain[MIM_FRAME_MAX];
    size_t len, plen;
    int tag;

    drain_socket();
    while (take_frame(frame, &len)) {
        if (!R.rx_ready)
            continue; /* the handshake failed: nothing to decrypt with */
        FUZZ_CHECK(!R.unit_final);
        FUZZ_CHECK(len >= MIM_STREAM_ABYTES);
        FUZZ_CHECK(mim_stream_rx_open(&R.rx, frame, len, plain, &plen, &tag) == 0);
        if (tag == MIM_STREAM_TAG_FINAL)
            R.unit_final = 1;
        if (R.u->check_plaintext != NULL)
            R.u->check_plaintext(plain, plen, tag == MIM_STREAM_TAG_FINAL);
        drain_socket();
    }
}

/* ---- the handshake --------------------------------------------------------------------------- */

static int start_streams(mim_noise *hs, int initiator)
{
    static uint8_t frame[MIM_FRAME_MAX];
    uint8_t header[MIM_STREAM_HEADER_LEN];
    mim_noise_cipher c1, c2;
    size_t len;

    memcpy(R.hh, mim_noise_handshake_hash(hs), MIM_HASH_LEN);
    FUZZ_CHECK(mim_noise_split(hs, &c1, &c2) == 0);
    FUZZ_CHECK(mim_stream_tx_init(&R.tx, initiator ? c1.k : c2.k, header) == 0);
    send_hs_frame(header, sizeof(header));
    if (wait_frame(frame, &len) != 0 || len != MIM_STREAM_HEADER_LEN)
        return -1;
    if (mim_stream_rx_init(&R.rx, initiator ? c2.k : c1.k, frame) != 0)
        return -1;
    R.rx_ready = 1;
    return 0;
}

/* Runs our side of Noise XX: 0 when both streams are up. */
static int handshake(int initiator)
{
    static uint8_t frame[MIM_FRAME_MAX];
    uint8_t out[MIM_NOISE_MAX_MSG], payload[MIM_NOISE_MAX_MSG];
    mim_buf mine = {0};
    mim_noise hs;
    size_t len, olen, plen;
    int rc = -1;

    FUZZ_CHECK(mim_handshake_payload_encode(remote_id->sign_pk, remote_id->static_sig,
                                            R.u->remote_name, &mine) == 0);
    FUZZ_CHECK(mim_noise_init(&hs, initiator, R.u->prologue, strlen(R.u->prologue),
                              remote_id->dh_sk) == 0);
    if (initiator) {
        FUZZ_CHECK(mim_noise_write(&hs, NULL, 0, out, sizeof(out), &olen) == 0);
        send_hs_frame(out, olen);
        if (wait_frame(frame, &len) != 0 ||
            mim_noise_read(&hs, frame, len, payload, sizeof(payload), &plen) != 0)
            goto done;
        FUZZ_CHECK(mim_noise_write(&hs, mine.data, mine.len, out, sizeof(out), &olen) == 0);
        send_hs_frame(out, olen);
    } else {
        if (wait_frame(frame, &len) != 0 ||
            mim_noise_read(&hs, frame, len, payload, sizeof(payload), &plen) != 0)
            goto done;
        FUZZ_CHECK(mim_noise_write(&hs, mine.data, mine.len, out, sizeof(out), &olen) == 0);
        send_hs_frame(out, olen);
        if (wait_frame(frame, &len) != 0 ||
            mim_noise_read(&hs, frame, len, payload, sizeof(payload), &plen) != 0)
            goto done;
    }
    rc = start_streams(&hs, initiator);
done:
    mim_noise_wipe(&hs);
    mim_buf_free(&mine);
    return rc;
}

/* ---- the script ------------------------------------------------------------------------------ */

static void seal_and_send(const uint8_t *p, size_t n, int tag, int flip_at)
{
    static uint8_t frame[MIM_FRAME_MAX];

    if (n > MIM_FRAME_MAX - MIM_STREAM_ABYTES)
        n = MIM_FRAME_MAX - MIM_STREAM_ABYTES;
    FUZZ_CHECK(mim_stream_tx_seal(&R.tx, p, n, tag, frame) == 0);
    if (flip_at >= 0)
        frame[(size_t)flip_at % (n + MIM_STREAM_ABYTES)] ^= 0x20;
    send_frame(frame, n + MIM_STREAM_ABYTES);
}

/* One operation at *pp (advanced); returns 0 to go on, -1 to stop the script. */
static int run_op(const uint8_t **pp, const uint8_t *end)
{
    static uint8_t big[MIM_FRAME_MAX];
    const uint8_t *p = *pp;
    uint8_t op = (uint8_t)(*p++ % OP_COUNT);
    size_t n = p < end ? *p++ : 0;
    size_t have = (size_t)(end - p) < n ? (size_t)(end - p) : n;
    int stop = 0;

    switch (op) {
    case OP_MESSAGE:
    case OP_FINAL:
    case OP_CORRUPT:
        /* A corrupt frame's flipped byte is the one after the plaintext. */
        seal_and_send(p, have, op == OP_FINAL ? MIM_STREAM_TAG_FINAL : MIM_STREAM_TAG_MESSAGE,
                      op == OP_CORRUPT ? (p + have < end ? p[have] : 0) : -1);
        p += have + (op == OP_CORRUPT && p + have < end);
        break;
    case OP_RAW: /* unauthenticated bytes in a frame (n = 0: a zero length, a framing error) */
        send_frame(p, have);
        p += have;
        break;
    case OP_REPLAY:
        if (R.last_len > 0)
            send_bytes(R.last, R.last_len);
        break;
    case OP_SPLIT:
        R.split = n + 1;
        break;
    case OP_PUMP:
        pump(1);
        break;
    case OP_SHUTDOWN:
        (void)shutdown(R.fd, SHUT_WR);
        stop = 1;
        break;
    case OP_BIG: /* up to the 64 KiB frame: n * 256 bytes, the input's rest repeated */
        n = n * 256 + 255;
        for (size_t i = 0; i < n; i++)
            big[i] = p < end ? p[i % (size_t)(end - p)] : (uint8_t)i;
        seal_and_send(big, n, MIM_STREAM_TAG_MESSAGE, -1);
        break;
    case OP_SPECIAL:
        if (R.u->special != NULL && (n = R.u->special((uint8_t)n, R.hh, big, sizeof(big))) > 0)
            seal_and_send(big, n, MIM_STREAM_TAG_MESSAGE, -1);
        break;
    }
    *pp = p;
    pump(0);
    read_unit_frames();
    return stop || R.dead ? -1 : 0;
}

/* ---- one input ------------------------------------------------------------------------------- */

static int connect_to_unit(const fz_unit *u, int unit_dials, uint8_t flags)
{
    int one = 1;

    if (unit_dials) {
        if (u->dial((const struct sockaddr *)&raw_addr, flags) != 0)
            return -1;
        for (int i = 0; i < WAIT_TURNS && R.fd < 0; i++) {
            R.fd = accept4(raw_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (R.fd < 0)
                pump(5);
        }
        FUZZ_CHECK(R.fd >= 0); /* the unit's dial reached us */
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        a.sin_port = htons((uint16_t)u->listen_port());
        R.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        FUZZ_CHECK(R.fd >= 0);
        /* Blocking: a loopback connect completes in the kernel's backlog, before any accept. */
        FUZZ_CHECK(connect(R.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
        FUZZ_CHECK(fcntl(R.fd, F_SETFL, O_NONBLOCK) == 0);
    }
    (void)setsockopt(R.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

/* Hangs up (a reset when the script says so) and waits for the unit to close, bounded. */
static void hang_up(uint8_t flags)
{
    if (flags & 0x40) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(R.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    close(R.fd);
    R.fd = -1;
    for (int i = 0; i < CLOSE_TURNS && !R.u->closed(); i++)
        pump(i < 4 ? 0 : 5);   /* EOF, then the close callback: a few turns with no wait */
    FUZZ_CHECK(R.u->closed()); /* a hung-up remote is noticed */
    FUZZ_CHECK(R.u->closed_count() == 1); /* exactly once */
}

int fz_remote_run(const fz_unit *u, const uint8_t *data, size_t size)
{
    const uint8_t *end = data + size;
    int unit_dials;
    uint8_t flags;

    if (raw_listener < 0)
        setup(u);
    if (size < 3)
        return 0;
    memset(&R, 0, sizeof(R));
    R.u = u;
    R.fd = -1;
    flags = data[0];
    R.corrupt = data[1];
    R.corrupt_pos = data[2];
    data += 3;
    unit_dials = u->can_dial && (flags & 0x80);
    u->begin(flags);
    if (connect_to_unit(u, unit_dials, flags) != 0)
        return 0;
    pump(0);
    if (handshake(!unit_dials) == 0)
        while (data < end && run_op(&data, end) == 0)
            ;
    hang_up(flags);
    mim_stream_tx_wipe(&R.tx);
    mim_stream_rx_wipe(&R.rx);
    return 0;
}
