/* A NATS cluster for the cluster tests (issue 18): three nats-server processes with JetStream,
 * routed to each other, on 127.0.0.1 only, their config, stores and logs in one temporary
 * directory (mkdtemp under MIM_TEST_TMP). Ports are picked free by the kernel (bind to port 0,
 * read, close) just before the start. Ready means: every node's client port accepts, and a
 * JetStream metadata leader was elected (a node's log says so), so a KV bucket can be made.
 * Every wait is bounded. Functions return 0 or -1 with the reason in nc->err. */
#ifndef MIM_TEST_NATS_CLUSTER_H
#define MIM_TEST_NATS_CLUSTER_H

#include <sys/types.h>

#define NC_NODES            3
#define NC_READY_TIMEOUT_MS 20000

typedef struct nats_node {
    pid_t pid; /* 0 when not running */
    int port;  /* client port */
    int route_port;
    char conf[600], log[600];
} nats_node;

typedef struct nats_cluster {
    char dir[512];
    nats_node node[NC_NODES];
    char urls[256]; /* nats://127.0.0.1:P0,nats://127.0.0.1:P1,nats://127.0.0.1:P2 */
    char err[512];
} nats_cluster;

/* Writes the configs and starts the three nodes; waits until they are ready. */
int nc_start(nats_cluster *nc, const char *tag);
/* nats://127.0.0.1:<port of node i> */
const char *nc_url(const nats_cluster *nc, int i, char *buf, size_t cap);
/* SIGKILL node i and reap it. */
int nc_kill(nats_cluster *nc, int i);
/* SIGKILL every node (the whole bus gone at once); restart: nc_restart. */
void nc_kill_all(nats_cluster *nc);
/* Starts node i again (same ports, same store); waits until its port accepts. */
int nc_restart(nats_cluster *nc, int i);
/* Kills whatever runs and removes the directory. */
void nc_cleanup(nats_cluster *nc);

#endif
