/* The frame-spoiling proxy of the tamper tests (see tamper_proxy.h). */
#include "tamper_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void pair_close(tp_pair *p)
{
    for (int i = 0; i < 2; i++) {
        if (p->fd[i] >= 0)
            close(p->fd[i]);
        p->fd[i] = -1;
    }
}

static void accept_one(tamper_proxy *tp)
{
    struct sockaddr_in a;
    tp_pair *p = NULL;
    int in, out;

    if ((in = accept(tp->listen_fd, NULL, NULL)) < 0)
        return;
    for (int i = 0; i < TP_MAX_PAIRS && p == NULL; i++)
        if (tp->pairs[i].fd[0] < 0)
            p = &tp->pairs[i];
    out = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atomic_load(&tp->target_port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (p == NULL || out < 0 || connect(out, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(in);
        if (out >= 0)
            close(out);
        return;
    }
    memset(p, 0, sizeof(*p));
    p->fd[0] = in;
    p->fd[1] = out;
    p->spoil = atomic_fetch_add(&tp->connections, 1) < tp->times || tp->action == TP_FLIP_ANY;
}

/* Passes n bytes of one direction through the frame tracker, spoiling the chosen frame. 1 when
 * the connection must be cut here (truncation), after *pass bytes went through. */
static int track(tamper_proxy *tp, tp_pair *p, int from, unsigned char *b, size_t n, size_t *pass)
{
    tp_half *h = &p->half[from];
    int target = p->spoil && (from == 0 ? TP_TO_TARGET : TP_FROM_TARGET) == tp->dir;

    for (size_t i = 0; i < n; i++) {
        if (h->hdr_have < 2) {
            h->hdr[h->hdr_have++] = b[i];
            if (h->hdr_have == 2)
                h->body_left = h->body_len = (unsigned)h->hdr[0] << 8 | h->hdr[1];
            continue;
        }
        if (target && h->frame_no == tp->frame) {
            if (tp->action == TP_TRUNCATE && h->body_left == h->body_len / 2) {
                atomic_fetch_add(&tp->spoiled, 1);
                *pass = i;
                return 1;
            }
            if (h->body_left == 1 &&
                (tp->action == TP_FLIP ||
                 (tp->action == TP_FLIP_ANY && atomic_load(&tp->spoiled) < tp->times))) {
                b[i] ^= 0x01;
                atomic_fetch_add(&tp->spoiled, 1);
            }
        }
        if (--h->body_left == 0) {
            h->hdr_have = 0;
            h->frame_no++;
        }
    }
    *pass = n;
    return 0;
}

static int write_all(int fd, const unsigned char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The throttle: how many bytes may be read now (sizeof a read buffer when there is no limit).
 * The bucket refills at `rate` and holds at most 64 KiB, so a pause does not become a burst. */
static size_t throttle_allowance(tamper_proxy *tp, size_t max)
{
    long rate = atomic_load(&tp->rate);
    struct timespec ts;
    unsigned long long now;

    if (rate <= 0)
        return max;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
    if (tp->refilled_ns != 0)
        tp->tokens += (long)((double)rate * (double)(now - tp->refilled_ns) / 1e9);
    tp->refilled_ns = now;
    if (tp->tokens > 65536)
        tp->tokens = 65536;
    return tp->tokens > 0 ? ((size_t)tp->tokens < max ? (size_t)tp->tokens : max) : 0;
}

static void forward(tamper_proxy *tp, tp_pair *p, int from)
{
    unsigned char b[65536];
    size_t want = throttle_allowance(tp, sizeof(b)), pass;
    ssize_t n;
    int cut;

    if (want == 0)
        return;
    n = read(p->fd[from], b, want);
    if (atomic_load(&tp->rate) > 0 && n > 0)
        tp->tokens -= n;
    if (n <= 0) {
        pair_close(p);
        return;
    }
    cut = track(tp, p, from, b, (size_t)n, &pass);
    atomic_fetch_add(&tp->forwarded[from == 0 ? TP_TO_TARGET : TP_FROM_TARGET], (long long)pass);
    if (write_all(p->fd[1 - from], b, pass) != 0 || cut)
        pair_close(p);
}

static void *run(void *arg)
{
    tamper_proxy *tp = arg;

    for (;;) {
        struct pollfd pf[2 + 2 * TP_MAX_PAIRS];
        tp_pair *owner[2 + 2 * TP_MAX_PAIRS];
        int side[2 + 2 * TP_MAX_PAIRS];
        nfds_t n = 0;

        pf[n++] = (struct pollfd){.fd = tp->wake[0], .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = tp->listen_fd, .events = POLLIN};
        for (int i = 0; i < TP_MAX_PAIRS; i++)
            for (int s = 0; s < 2 && tp->pairs[i].fd[0] >= 0; s++) {
                owner[n] = &tp->pairs[i];
                side[n] = s;
                pf[n++] = (struct pollfd){.fd = tp->pairs[i].fd[s], .events = POLLIN};
            }
        /* Throttled and out of tokens: wait for the bucket (and the wake pipe) only. */
        if (throttle_allowance(tp, 1) == 0)
            n = 2;
        if (poll(pf, n, atomic_load(&tp->rate) > 0 ? 2 : -1) < 0)
            continue;
        if (pf[0].revents != 0)
            return NULL;
        if (pf[1].revents & POLLIN)
            accept_one(tp);
        for (nfds_t i = 2; i < n; i++)
            if (pf[i].revents != 0 && owner[i]->fd[side[i]] >= 0)
                forward(tp, owner[i], side[i]);
    }
}

int tamper_proxy_start(tamper_proxy *tp, int target_port, enum tp_dir dir, unsigned frame,
                       enum tp_action action, int times)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(tp, 0, sizeof(*tp));
    for (int i = 0; i < TP_MAX_PAIRS; i++)
        tp->pairs[i].fd[0] = tp->pairs[i].fd[1] = -1;
    atomic_store(&tp->target_port, target_port);
    tp->dir = dir;
    tp->frame = frame;
    tp->action = action;
    tp->times = times;
    if ((tp->listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(tp->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(tp->listen_fd, 8) != 0 ||
        getsockname(tp->listen_fd, (struct sockaddr *)&a, &len) != 0 || pipe(tp->wake) != 0) {
        close(tp->listen_fd);
        return -1;
    }
    tp->port = ntohs(a.sin_port);
    if (pthread_create(&tp->thread, NULL, run, tp) != 0) {
        close(tp->listen_fd);
        close(tp->wake[0]);
        close(tp->wake[1]);
        return -1;
    }
    return 0;
}

void tamper_proxy_stop(tamper_proxy *tp)
{
    (void)!write(tp->wake[1], "x", 1);
    pthread_join(tp->thread, NULL);
    for (int i = 0; i < TP_MAX_PAIRS; i++)
        pair_close(&tp->pairs[i]);
    close(tp->listen_fd);
    close(tp->wake[0]);
    close(tp->wake[1]);
}
