/* mim-bench-naive-server: the baseline of the load cases. A plaintext libuv server that does
 * what mim-presence does, minus encryption, authentication, validation and coalescing: for a
 * login it writes the newcomer one 100-byte add block per peer online (then an end block), and
 * the newcomer's add block to every other peer, with one uv_write each; a status block is
 * written to every client, one uv_write each (naive.h).
 *
 *   mim-bench-naive-server --port P [--max-seconds S]
 *
 * Listens on 127.0.0.1 only; prints "ready port=P" once listening. Stops by itself after
 * --max-seconds (default 900) or on SIGINT/SIGTERM. */
#include "naive.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

typedef struct client {
    uv_tcp_t tcp;
    uint8_t in[NAIVE_BLOCK]; /* the block being read */
    size_t have;
    uint8_t add[NAIVE_BLOCK]; /* this client's add block, once logged in */
    int logged_in;
    int closing;
    struct client *prev, *next;
} client;

/* One write: the request and its copy of the block in one allocation. */
typedef struct block_write {
    uv_write_t req;
    uint8_t bytes[NAIVE_BLOCK];
} block_write;

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_timer_t lifetime;
static uv_signal_t sig_int, sig_term;
static client *clients; /* logged-in or not, newest first */
static uint8_t read_buf[65536];

static void on_client_closed(uv_handle_t *h)
{
    free(h->data);
}

static void client_close(client *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void after_write(uv_write_t *req, int status)
{
    client *c = req->handle->data;
    free(req);
    if (status < 0 && status != UV_ECANCELED)
        client_close(c);
}

static void write_block(client *c, const uint8_t *block)
{
    block_write *w = malloc(sizeof(*w));
    uv_buf_t b;

    if (w == NULL) {
        client_close(c);
        return;
    }
    memcpy(w->bytes, block, NAIVE_BLOCK);
    b = uv_buf_init((char *)w->bytes, NAIVE_BLOCK);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, after_write) != 0) {
        free(w);
        client_close(c);
    }
}

static void handle_login(client *c)
{
    uint8_t end[NAIVE_BLOCK] = {NAIVE_END};

    memcpy(c->add, c->in, NAIVE_BLOCK);
    c->add[0] = NAIVE_ADD;
    for (client *o = clients; o != NULL; o = o->next)
        if (o != c && o->logged_in)
            write_block(c, o->add);
    write_block(c, end);
    for (client *o = clients; o != NULL; o = o->next)
        if (o != c && o->logged_in)
            write_block(o, c->add);
    c->logged_in = 1;
}

static void handle_status(const client *c)
{
    uint8_t block[NAIVE_BLOCK];

    memcpy(block, c->in, NAIVE_BLOCK); /* a write may close a client: c->in is read first */
    for (client *o = clients, *next; o != NULL; o = next) {
        next = o->next;
        if (o->logged_in)
            write_block(o, block);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)read_buf;
    buf->len = sizeof(read_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    client *c = s->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left;

    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        client_close(c);
        return;
    }
    for (left = (size_t)nread; left > 0 && !c->closing;) {
        size_t take = NAIVE_BLOCK - c->have;
        if (take > left)
            take = left;
        memcpy(c->in + c->have, p, take);
        c->have += take;
        p += take;
        left -= take;
        if (c->have < NAIVE_BLOCK)
            break;
        c->have = 0;
        if (c->in[0] == NAIVE_LOGIN && !c->logged_in)
            handle_login(c);
        else if (c->in[0] == NAIVE_STATUS && c->logged_in)
            handle_status(c);
        else
            client_close(c);
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    client *c;

    if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->next = clients;
    if (clients != NULL)
        clients->prev = c;
    clients = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void stop(void)
{
    while (clients != NULL)
        client_close(clients);
    if (!uv_is_closing((uv_handle_t *)&listener)) {
        uv_close((uv_handle_t *)&listener, NULL);
        uv_close((uv_handle_t *)&lifetime, NULL);
        uv_close((uv_handle_t *)&sig_int, NULL);
        uv_close((uv_handle_t *)&sig_term, NULL);
    }
}

static void on_lifetime(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "mim-bench-naive-server: lifetime over, stopping\n");
    stop();
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    stop();
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    struct rlimit rl;
    int port = -1, len = sizeof(bound);
    long max_seconds = 900;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--max-seconds") == 0)
            max_seconds = atol(argv[i + 1]);
    }
    if (port < 0 || port > 65535 || max_seconds < 1 || max_seconds > 3600) {
        fprintf(stderr, "usage: mim-bench-naive-server --port P [--max-seconds S]\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_tcp_init(loop, &listener);
    uv_ip4_addr("127.0.0.1", port, &addr);
    if (uv_tcp_bind(&listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&listener, 4096, on_connection) != 0) {
        fprintf(stderr, "mim-bench-naive-server: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &len);
    uv_timer_init(loop, &lifetime);
    uv_timer_start(&lifetime, on_lifetime, (uint64_t)max_seconds * 1000, 0);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    printf("ready port=%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
