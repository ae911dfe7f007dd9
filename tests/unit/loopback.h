/* The loopback harness of the unit tests that need a real TCP connection (test_conn.c,
 * test_channel.c, test_chat_session.c): a loop, a listener on 127.0.0.1 with a port chosen by
 * the kernel, a guard timer that ends a hung test, a check handle that counts loop iterations,
 * and the run that ends with every handle closed and uv_loop_close() == 0.
 *
 * A test embeds a `loopback` in its own state, dials lb.addr from its connecting side, lets its
 * callbacks only count and record, and asserts after loopback_run() has returned. */
#ifndef MIM_TEST_LOOPBACK_H
#define MIM_TEST_LOOPBACK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LOOPBACK_GUARD_MS 10000 /* a test that has not finished by then has hung */

typedef struct loopback loopback;

struct loopback {
    uv_loop_t loop;
    uv_tcp_t listener;       /* its data is the test's (loopback_init's data) */
    struct sockaddr_in addr; /* the listener's, with the port the kernel chose */
    uv_timer_t guard;        /* unreferenced: the loop ends when the test's handles are closed */
    uv_check_t check;        /* unreferenced, runs after every loop iteration */
    uint64_t iter;           /* loop iterations so far, counted by the check handle */
    int timed_out;           /* the guard fired */
    /* Called when the guard fires, before the listener is closed: closes the test's own handles
     * so that the loop ends and the test fails with a description of where it stood. */
    void (*on_guard)(loopback *lb);
    void (*on_check)(loopback *lb); /* when not NULL, after every loop iteration */
    void *data;                     /* the test's state */
};

/* Initialises lb: a new loop, the guard (LOOPBACK_GUARD_MS), the check handle and a listener on
 * 127.0.0.1 port 0 whose connections go to on_connection with listener.data = data. Fails the
 * test on any error. on_guard and on_check start NULL: set them after. */
void loopback_init(loopback *lb, uv_connection_cb on_connection, void *data);

/* Runs the loop until every handle the test opened is closed, then closes the guard and the
 * check handle and the loop. Returns uv_loop_close()'s result (0 when nothing was left open). */
int loopback_run(loopback *lb);

/* Initialises t on loop, bound to 127.0.0.1 port 0 and listening with cb (t->data = data);
 * *addr receives the bound address. Fails the test on any error. */
void loopback_listen(uv_loop_t *loop, uv_tcp_t *t, struct sockaddr_in *addr, uv_connection_cb cb,
                     void *data);

/* *addr = a 127.0.0.1 address whose port was free a moment ago and is closed again, for a dial
 * that nobody answers. Runs loop once (UV_RUN_NOWAIT) to release the port. */
void loopback_unused_addr(uv_loop_t *loop, struct sockaddr_in *addr);

/* uv_close(h) unless it is already closing. */
void loopback_close(uv_handle_t *h);

/* Writes a copy of p[0..len) to s. When first_error is not NULL, the first failure is kept in
 * it: a failed write's status (not UV_ECANCELED, which only means the handle closed first), or
 * UV_EPIPE when the write cannot even start. */
void loopback_write(uv_stream_t *s, const void *p, size_t len, int *first_error);

#endif
