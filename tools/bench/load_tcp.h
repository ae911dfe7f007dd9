/* A plain libuv TCP connection for the load client's plaintext protocols (naive, IRC, MQTT):
 * connect to 127.0.0.1, collect input in a growing buffer, hand it to the protocol's parser,
 * write copies of what it sends.
 *
 * Lifetime: made by load_tcp_open, freed by libuv's close callback after load_tcp_close (or
 * after a failure, which load_fail()s the run first). The owner's load_peer->state points to it
 * until then. */
#ifndef MIM_BENCH_LOAD_TCP_H
#define MIM_BENCH_LOAD_TCP_H

#include "load.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct load_tcp load_tcp;

typedef struct load_tcp_ops {
    /* Connected: send the login. */
    void (*on_connected)(load_tcp *t);
    /* Parses in[0..len): returns the bytes consumed (whole messages only), or -1 to fail. */
    long (*on_input)(load_tcp *t, const uint8_t *in, size_t len);
} load_tcp_ops;

struct load_tcp {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    load_peer *peer;
    const load_tcp_ops *ops;
    uint8_t *in; /* unparsed input */
    size_t len, cap;
    int closing;
};

int load_tcp_open(load_peer *p, const load_tcp_ops *ops);
/* Queues a copy of n bytes. 0 or -1 (the connection is then closing). */
int load_tcp_write(load_tcp *t, const void *data, size_t n);
void load_tcp_close(load_tcp *t);
/* Closes every peer's connection (a protocol module's stop_all). */
void load_tcp_close_all(load_ctx *ctx);

#endif
