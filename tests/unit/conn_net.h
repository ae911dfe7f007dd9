/* The mim_conn test harness of test_conn.c and test_conn_limits.c: a `net` on the loopback harness
 * (loopback.h) whose listener accepts one connection (as a mim_conn or as a raw uv_tcp_t that a
 * test drives byte by byte) while a client (likewise) dials it; the harness's guard timer ends a
 * test that hangs. Callbacks only count and record; assertions run after the loop, once every
 * handle is closed and uv_loop_close() has returned 0. Nothing sleeps: steps that must wait for
 * the other side are driven from callbacks or from a check handle that looks at the state after
 * each loop iteration. */
#ifndef MIM_TEST_CONN_NET_H
#define MIM_TEST_CONN_NET_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "loopback.h"
#include "mim_conn.h"
#include "mim_error.h"

#define MAX_EXPECTED 512

typedef struct net net;
typedef struct endpoint endpoint;

/* One mim_conn side and what happened to it. */
struct endpoint {
    net *n;
    const char *name; /* "client" / "server", for messages */
    mim_conn *conn;   /* NULL before it exists and once on_close ran */
    int connects;
    int connect_status;
    int frames;
    int eofs;
    int closes;
    int partials; /* on_partial calls */
    char reason[160];
    char error[256]; /* first thing that went wrong inside a callback */
    /* What this side expects to receive: sizes, with contents from mim_test_fill(seq = index). */
    size_t expect[MAX_EXPECTED];
    size_t nexpect;
    int close_when_done;               /* mim_conn_close once all expected frames arrived */
    uint64_t frame_iter[MAX_EXPECTED]; /* loop iteration each frame arrived in */
    void (*on_frame_hook)(endpoint *e, const uint8_t *frame, size_t len);
    void (*on_eof_hook)(endpoint *e); /* default: mim_conn_close(c, "eof seen") */
    void (*on_close_hook)(endpoint *e);
};

struct net {
    loopback lb; /* the loop, the listener, the guard; lb.iter counts loop iterations */
    endpoint client, server;
    const mim_conn_callbacks *server_cb;
    size_t server_max_frame, server_max_queued;
    size_t client_max_frame, client_max_queued;

    /* The raw side, when a test wants to write or withhold exact bytes. */
    int raw_server;        /* accept into `raw` instead of a mim_conn */
    int raw_client;        /* dial with `raw` instead of a mim_conn */
    int raw_read;          /* read on `raw`, collecting bytes into raw_in */
    int raw_client_rcvbuf; /* when not 0, the raw client's SO_RCVBUF, set before connecting */
    uv_tcp_t raw;
    int raw_open;
    uv_connect_t raw_connect;
    uv_shutdown_t raw_shutdown_req;
    uint8_t raw_in[1 << 18];
    size_t raw_in_len;
    int raw_eof;       /* 1 after EOF */
    int raw_read_err;  /* a negative UV_E* from a failed read */
    int raw_write_err; /* a negative UV_E* from a failed write */

    int ready; /* both sides connected: start() has run */
    int sides_up;
    void (*start)(net *n);
    void (*on_check)(net *n);
    int phase; /* for tests that step through stages */
    int count; /* free for tests */
};

/* The first failure seen in a callback, kept for the assertion after the loop. */
#define note(who, ...) mim_test_note((who)->error, sizeof((who)->error), __VA_ARGS__)

/* The endpoints' callbacks: count and record, then call the endpoint's hooks. */
extern const mim_conn_callbacks callbacks;
extern const mim_conn_callbacks callbacks_no_eof; /* no on_eof: the conn closes itself */

/* Sends a frame of len bytes filled by mim_test_fill(seq). */
int send_seq(mim_conn *c, size_t len, size_t seq);
/* Writes exact bytes on the raw handle. */
void raw_send(net *n, const void *p, size_t len);
/* A frame (header and body from mim_test_fill(seq)) into out; its total length. */
size_t put_frame(uint8_t *out, size_t len, size_t seq);
void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
void raw_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
void raw_shutdown(net *n);
void raw_close(net *n);
void net_init(net *n);
/* Dials the listener (the raw handle or a mim_conn), runs the loop until every handle the test
 * opened is closed, then closes the loop and checks that nothing went wrong in a callback. */
void net_run(net *n);
void expect_sizes(endpoint *e, const size_t *sizes, size_t count);

#endif
