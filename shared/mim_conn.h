/* A framed libuv TCP connection.
 *
 * The connection owns its uv_tcp_t, its framer (input) and its queued writes. Frames in are
 * delivered whole to on_frame; frames out are queued with their 2-byte prefix. It closes exactly
 * once: mim_conn_close() may be called any number of times, from anywhere including on_frame,
 * and on_close runs once, from libuv's close callback, after which the struct is freed. Writes
 * still queued at close complete with UV_ECANCELED and only free their bytes.
 *
 * Caps: input frames over the framer's maximum close the connection before anything is
 * allocated; output queued beyond max_queued (uv_stream_get_write_queue_size) makes
 * mim_conn_send* fail with MIM_EOVERFLOW, and the caller decides (the server drops a slow reader).
 *
 * Reads share one 64 KiB buffer per process (everything runs on one loop thread), so an idle
 * connection costs no read buffer. */
#ifndef MIM_CONN_H
#define MIM_CONN_H

#include "mim_framer.h"
#include "mim_addr.h"

#include <netinet/in.h>
#include <stdint.h>
#include <uv.h>

typedef struct mim_conn mim_conn;

typedef struct mim_conn_callbacks {
    /* A complete frame arrived. May call mim_conn_close(); no frame follows a close. */
    void (*on_frame)(mim_conn *c, const uint8_t *frame, size_t len);
    /* The peer closed the connection (EOF) cleanly at a frame boundary. The conn is not closed
     * yet: the owner decides (and usually calls mim_conn_close). May be NULL. */
    void (*on_eof)(mim_conn *c);
    /* Exactly once, when the handle is closed. reason is what mim_conn_close recorded. The conn
     * is freed right after this returns. */
    void (*on_close)(mim_conn *c, const char *reason);
    /* Outgoing connections only: the connect finished (status 0) or failed (<0, UV_E*). On
     * failure on_close follows. May be NULL. */
    void (*on_connect)(mim_conn *c, int status);
    /* A frame's first bytes arrived without the rest: from now on partial_since is set and
     * mim_conn_partial_age() grows, until the frame completes. For an owner that runs its
     * frame deadline only while one is pending. May be NULL. */
    void (*on_partial)(mim_conn *c);
} mim_conn_callbacks;

/* A peer address, IPv4 or IPv6, in the 28 bytes of a sockaddr_in6 rather than the 128 of a
 * sockaddr_storage; &addr.sa is a valid struct sockaddr for its family. */
typedef union mim_conn_addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} mim_conn_addr;

/* Kept small: one exists per connected peer (the presence server holds thousands idle). The
 * uv_connect_t of a dial and the uv_shutdown_t of a drain are allocated only while in use. */
struct mim_conn {
    uv_tcp_t tcp; /* first: (uv_handle_t *)c == &c->tcp */
    uint64_t id;  /* unique per process, for logs */
    void *data;   /* the owner's */
    const mim_conn_callbacks *cb;
    mim_framer framer;
    size_t max_queued; /* output cap in bytes */
    /* One or the other: a draining connection discards its input, so it has no partial frame. */
    union {
        uint64_t partial_since; /* uv_now() when the current partial frame began, or 0 */
        uint64_t drain_since;   /* uv_now() when draining began */
    };
    char *reason;               /* why it closed (allocated at close), for on_close and the log */
    mim_conn_addr remote;       /* peer address as accepted/dialled */
    unsigned closing : 1;       /* mim_conn_close was called */
    unsigned draining : 1;      /* mim_conn_drain was called: flushing, then closing */
    unsigned shutdown_done : 1; /* draining: our shutdown completed */
    unsigned peer_done : 1;     /* draining: the peer's EOF (or an error) was seen */
    unsigned reading : 1;
};

/* Accepts the pending connection on `server` and closes it at once, for an owner that cannot
 * take it (out of memory): a connection left pending would make libuv stop accepting on that
 * listener. */
void mim_conn_reject(uv_stream_t *server);
/* Accepts a pending connection on `server` and starts reading. *out is owned by libuv until
 * on_close. max_frame is the framer's initial maximum. `extra` zeroed bytes for the owner are
 * allocated with the conn (mim_conn_extra; 0 for none) and freed with it, right after on_close
 * returns: an owner that lives exactly as long as its conn (mim_channel) needs no allocation of
 * its own. 0, MIM_ENOMEM, or MIM_EIO (the libuv reason is logged); on an error no callback
 * runs. */
int mim_conn_accept(uv_stream_t *server, const mim_conn_callbacks *cb, void *data, size_t max_frame,
                    size_t max_queued, size_t extra, mim_conn **out);
/* Dials addr; on_connect reports the result and reading starts on success. `extra` as for
 * mim_conn_accept. 0, MIM_ENOMEM or MIM_EIO when the dial cannot even start (logged). */
int mim_conn_connect(uv_loop_t *loop, const struct sockaddr *addr, const mim_conn_callbacks *cb,
                     void *data, size_t max_frame, size_t max_queued, size_t extra, mim_conn **out);
/* The owner's extra bytes, valid until on_close has returned. They are aligned for pointers,
 * 64-bit integers and doubles (MIM_CONN_EXTRA_ALIGN), not for every type: 16-byte alignment
 * would cost thousands of idle connections 8 bytes each for nothing they hold. */
#define MIM_CONN_EXTRA_ALIGN 8
void *mim_conn_extra(mim_conn *c);

/* Sends one frame (copied): written at once when the socket has room, else queued. MIM_ECLOSED
 * when closing, MIM_EOVERFLOW over the output cap, MIM_EINVAL for an empty or over-long payload,
 * MIM_ENOMEM, or MIM_EIO when the socket failed (the conn is then closing, with libuv's reason). */
int mim_conn_send(mim_conn *c, const void *payload, size_t len);

/* Zero-copy variant: mim_conn_frame_new() returns room for len payload bytes (with the
 * header already in front of it), the caller fills it, then mim_conn_frame_send() queues it and
 * takes ownership whatever it returns; mim_conn_frame_discard() frees an unsent one. */
uint8_t *mim_conn_frame_new(size_t len);
int mim_conn_frame_send(mim_conn *c, uint8_t *payload);
void mim_conn_frame_discard(uint8_t *payload);

/* Closes (once). reason is printf-style and is logged with the conn id by the owner's
 * on_close. Safe to call repeatedly and from inside callbacks. */
void mim_conn_close(mim_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Closes after everything already queued has been written (uv_shutdown), so a last Error
 * frame reaches the peer. No frame is delivered after a drain and no more sends are accepted;
 * input is read and discarded until the peer's EOF, because closing with unread input would
 * make the kernel reset the connection and drop the queued frame. A peer that never reads or
 * never closes would keep it draining: owners hard-close (mim_conn_close) past a deadline,
 * using drain_since. The reason is recorded now and reported by on_close. */
void mim_conn_drain(mim_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes queued for writing and not yet written. */
size_t mim_conn_queued(const mim_conn *c);
/* How long (ms) a partial frame has been waiting for the rest of its bytes; 0 when idle or
 * draining. */
uint64_t mim_conn_partial_age(const mim_conn *c, uint64_t now);

#endif
