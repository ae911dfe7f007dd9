/* The loopback harness shared by the unit tests over a real TCP connection (see loopback.h). */
#include "loopback.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void on_guard(uv_timer_t *t)
{
    loopback *lb = t->data;

    lb->timed_out = 1;
    if (lb->on_guard != NULL)
        lb->on_guard(lb);
    loopback_close((uv_handle_t *)&lb->listener);
}

static void on_check(uv_check_t *h)
{
    loopback *lb = h->data;

    lb->iter++;
    if (lb->on_check != NULL)
        lb->on_check(lb);
}

void loopback_init(loopback *lb, uv_connection_cb on_connection, void *data)
{
    memset(lb, 0, sizeof(*lb));
    lb->data = data;
    assert_int_equal(uv_loop_init(&lb->loop), 0);
    assert_int_equal(uv_timer_init(&lb->loop, &lb->guard), 0);
    lb->guard.data = lb;
    assert_int_equal(uv_timer_start(&lb->guard, on_guard, LOOPBACK_GUARD_MS, 0), 0);
    uv_unref((uv_handle_t *)&lb->guard);
    assert_int_equal(uv_check_init(&lb->loop, &lb->check), 0);
    lb->check.data = lb;
    assert_int_equal(uv_check_start(&lb->check, on_check), 0);
    uv_unref((uv_handle_t *)&lb->check);
    loopback_listen(&lb->loop, &lb->listener, &lb->addr, on_connection, data);
}

int loopback_run(loopback *lb)
{
    uv_run(&lb->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&lb->guard, NULL);
    uv_close((uv_handle_t *)&lb->check, NULL);
    uv_run(&lb->loop, UV_RUN_DEFAULT);
    return uv_loop_close(&lb->loop);
}

void loopback_listen(uv_loop_t *loop, uv_tcp_t *t, struct sockaddr_in *addr, uv_connection_cb cb,
                     void *data)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    assert_int_equal(uv_tcp_init(loop, t), 0);
    t->data = data;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, addr), 0);
    assert_int_equal(uv_tcp_bind(t, (const struct sockaddr *)addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)t, 4, cb), 0);
    assert_int_equal(uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len), 0);
    memcpy(addr, &ss, sizeof(*addr));
}

void loopback_unused_addr(uv_loop_t *loop, struct sockaddr_in *addr)
{
    uv_tcp_t probe;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    assert_int_equal(uv_tcp_init(loop, &probe), 0);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, addr), 0);
    assert_int_equal(uv_tcp_bind(&probe, (const struct sockaddr *)addr, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&probe, (struct sockaddr *)&ss, &len), 0);
    memcpy(addr, &ss, sizeof(*addr));
    uv_close((uv_handle_t *)&probe, NULL);
    /* The close completes within this one iteration, so probe may go out of scope. */
    uv_run(loop, UV_RUN_NOWAIT);
}

void loopback_close(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* One write and the bytes it sends, freed together whatever the outcome. */
typedef struct loopback_write_req {
    uv_write_t req;
    int *first_error;
    uint8_t bytes[];
} loopback_write_req;

static void after_write(uv_write_t *req, int status)
{
    loopback_write_req *w = (loopback_write_req *)req;

    if (status < 0 && status != UV_ECANCELED && w->first_error != NULL && *w->first_error == 0)
        *w->first_error = status;
    free(w);
}

void loopback_write(uv_stream_t *s, const void *p, size_t len, int *first_error)
{
    loopback_write_req *w = malloc(sizeof(*w) + len);
    uv_buf_t b;

    assert_non_null(w);
    w->first_error = first_error;
    memcpy(w->bytes, p, len);
    b = uv_buf_init((char *)w->bytes, (unsigned int)len);
    if (uv_write(&w->req, s, &b, 1, after_write) != 0) {
        free(w);
        if (first_error != NULL)
            *first_error = UV_EPIPE;
    }
}
