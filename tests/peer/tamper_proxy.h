/* A TCP proxy on 127.0.0.1 that spoils one frame: the man in the middle of a peer-to-peer
 * session, for the tests that show a tampered or truncated ciphertext closes the session and
 * loses nothing.
 *
 * It listens on a port of its own, forwards each connection to 127.0.0.1:target_port, and
 * follows mim's framing (2-byte big-endian length, docs/PROTOCOL.md chapter 3) in both
 * directions. On the first `times` connections it acts on frame number `frame` (0-based) of one
 * direction:
 *   TP_FLIP      one bit of the frame's last byte is flipped (the MAC of a transport frame);
 *   TP_TRUNCATE  the length and half of the body go through, then both sockets are closed.
 * Later connections pass untouched.
 *   TP_FLIP_ANY  like TP_FLIP, but on any connection that reaches frame `frame` in that
 *                direction, `times` times in all: a frame deep into a long connection (a
 *                bulk transfer's), which the short chat sessions through the same proxy never
 *                reach.
 * `rate` (bytes/s, 0 = unlimited; may be changed at any time) throttles what it forwards, both
 * directions together: a transfer slow enough for a test to act in the middle of it.
 * It runs in a thread of its own (poll, bounded), so a test's
 * own waits need not drive it. */
#ifndef MIM_TEST_TAMPER_PROXY_H
#define MIM_TEST_TAMPER_PROXY_H

#include <pthread.h>
#include <stdatomic.h>

enum tp_dir { TP_TO_TARGET = 0, TP_FROM_TARGET = 1 };
enum tp_action { TP_FLIP = 0, TP_TRUNCATE = 1, TP_FLIP_ANY = 2 };

#define TP_MAX_PAIRS 8

typedef struct tp_half {
    unsigned char hdr[2];
    int hdr_have;       /* length bytes seen of the current frame */
    unsigned body_left; /* body bytes still to pass */
    unsigned body_len;  /* the current frame's length */
    unsigned frame_no;  /* frames completed so far */
} tp_half;

typedef struct tp_pair {
    int fd[2]; /* [0]: the dialler's side, [1]: the target's side; -1 when free */
    tp_half half[2];
    int spoil; /* this connection is one of the first `times` */
} tp_pair;

typedef struct tamper_proxy {
    int listen_fd, port;
    atomic_int target_port; /* may be set after the start, before the first connection */
    enum tp_dir dir;
    unsigned frame;
    enum tp_action action;
    int times;
    int wake[2];
    pthread_t thread;
    tp_pair pairs[TP_MAX_PAIRS];
    atomic_int connections;    /* accepted so far */
    atomic_int spoiled;        /* frames flipped or truncated so far */
    atomic_long rate;          /* bytes/s forwarded at most; 0: no limit */
    atomic_llong forwarded[2]; /* bytes passed, by enum tp_dir (what a transfer moved) */
    long tokens;               /* the throttle's bucket (the thread's own) */
    unsigned long long refilled_ns;
} tamper_proxy;

/* Listens on 127.0.0.1 (port chosen by the kernel: tp->port) and starts the thread. 0 or -1. */
int tamper_proxy_start(tamper_proxy *tp, int target_port, enum tp_dir dir, unsigned frame,
                       enum tp_action action, int times);
/* Stops the thread and closes every socket. */
void tamper_proxy_stop(tamper_proxy *tp);

#endif
