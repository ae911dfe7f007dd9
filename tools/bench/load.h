/* The load client of the benchmarks: many simulated peers in one libuv process.
 *
 * The engine (load_main.c) decides when each simulated peer starts and measures; a protocol
 * module (load_mim.c, load_naive.c, load_irc.c, load_mqtt.c) speaks one server's protocol for
 * every peer and reports back through the load_* calls below. All of it runs on one loop thread.
 *
 * What "logged in" and "knows" mean per protocol:
 *   mim    logged in = the last TableChunk arrived; knows = table entries + PeerAdds - deletes
 *   naive  logged in = the first block arrived after ours; knows = 100-byte add blocks
 *   irc    logged in = RPL_ENDOFNAMES (366) after JOIN; knows = NAMES entries + JOIN lines
 *   mqtt   logged in = SUBACK (MQTT has no membership: it only serves the status case)
 * Every count excludes the peer itself. */
#ifndef MIM_BENCH_LOAD_H
#define MIM_BENCH_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct load_ctx load_ctx;

typedef struct load_peer {
    load_ctx *ctx;
    int index;            /* 0..n-1; its name is "p<index>" */
    int started;          /* start() was called */
    int logged_in;        /* load_logged_in() was reported */
    int complete;         /* knows reached n-1 (counted once) */
    long knows;           /* other peers it has been told about */
    unsigned status_seen; /* the highest status sequence number received */
    void *state;          /* the protocol module's, freed by its stop_all */
} load_peer;

typedef struct load_proto {
    const char *name;
    /* Called once before anything starts, outside the timed part (mim loads or creates its
     * identities here). 0 or -1. */
    int (*prepare)(load_ctx *ctx);
    /* Connect and log in peer p. 0 or -1 (the run fails). */
    int (*start)(load_peer *p);
    /* Peer p announces status number seq (>= 1) to everyone. 0 or -1. */
    int (*send_status)(load_peer *p, unsigned seq);
    /* Closes every connection (the loop then ends once their handles are closed). */
    void (*stop_all)(load_ctx *ctx);
} load_proto;

struct load_ctx {
    uv_loop_t *loop;
    const load_proto *proto;
    load_peer *peers;
    int n;
    int port;                           /* the server's, on 127.0.0.1 */
    int ports[8];                       /* issue 18, --ports: peer i uses ports[i % nports] */
    int nports;                         /* 0: every peer uses port */
    const char *key_dir;                /* mim: where the identities are kept between runs */
    int window;                         /* peers logging in at once */
    int next_start;                     /* the next peer to start */
    int in_login;                       /* started and not yet logged in */
    int nlogged;                        /* logged in */
    int ncomplete;                      /* knows == n-1 */
    unsigned status_want;               /* the status number being waited for (0: none) */
    int nstatus;                        /* peers that have seen status_want */
    int failed;                         /* a fatal error: the run ends with exit code 1 */
    void (*on_progress)(load_ctx *ctx); /* the engine's: called after every report */
};

/* Reports from the protocol modules. */
void load_logged_in(load_peer *p);
void load_knows(load_peer *p, long delta);
void load_status_seen(load_peer *p, unsigned seq);
/* A fatal error in peer p (NULL: the whole run): prints why and ends the run. */
void load_fail(load_ctx *ctx, const load_peer *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The server port peer p dials (--port, or its share of --ports). */
int load_peer_port(const load_peer *p);
/* The peer's name, "p<index>", in buf (at least 16 bytes). */
const char *load_peer_name(const load_peer *p, char *buf, size_t len);

extern const load_proto load_proto_mim;
extern const load_proto load_proto_naive;
extern const load_proto load_proto_irc;
extern const load_proto load_proto_mqtt;

#endif
