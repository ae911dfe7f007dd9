/* The naive plaintext protocol for the load client (naive.h): a login block, then 100-byte
 * blocks, each counted as it arrives; the end-of-table block marks the peer logged in. */
#include "load_tcp.h"
#include "naive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_connected(load_tcp *t)
{
    uint8_t b[NAIVE_BLOCK] = {0};

    b[0] = NAIVE_LOGIN;
    load_peer_name(t->peer, (char *)b + NAIVE_NAME_OFF, NAIVE_NAME_MAX);
    (void)load_tcp_write(t, b, sizeof(b));
}

static long on_input(load_tcp *t, const uint8_t *in, size_t len)
{
    size_t used = 0;

    for (; len - used >= NAIVE_BLOCK; used += NAIVE_BLOCK) {
        const uint8_t *b = in + used;
        if (b[0] == NAIVE_ADD) {
            load_knows(t->peer, 1);
        } else if (b[0] == NAIVE_END) {
            load_logged_in(t->peer);
        } else if (b[0] == NAIVE_STATUS) {
            char seq[17] = {0};
            memcpy(seq, b + NAIVE_SEQ_OFF, 16);
            load_status_seen(t->peer, (unsigned)strtoul(seq, NULL, 10));
        } else {
            return -1;
        }
        if (t->closing)
            break;
    }
    return (long)used;
}

static const load_tcp_ops ops = {.on_connected = on_connected, .on_input = on_input};

static int naive_start(load_peer *p)
{
    return load_tcp_open(p, &ops);
}

static int naive_send_status(load_peer *p, unsigned seq)
{
    uint8_t b[NAIVE_BLOCK] = {0};

    if (p->state == NULL)
        return -1;
    b[0] = NAIVE_STATUS;
    load_peer_name(p, (char *)b + NAIVE_NAME_OFF, NAIVE_NAME_MAX);
    snprintf((char *)b + NAIVE_SEQ_OFF, 16, "%u", seq);
    return load_tcp_write(p->state, b, sizeof(b));
}

const load_proto load_proto_naive = {
    .name = "naive",
    .start = naive_start,
    .send_status = naive_send_status,
    .stop_all = load_tcp_close_all,
};
