/* The cluster tests' fixture: a NATS cluster (nats_cluster.h), up to three mim-presence servers
 * on it (server_proc.h, --cluster and --server-id s0, s1, s2), and test clients that remember
 * which names they were told are online (the table, then every add and delete). Every wait is
 * bounded. */
#ifndef MIM_TEST_CLUSTER_FIXTURE_H
#define MIM_TEST_CLUSTER_FIXTURE_H

#include "nats_cluster.h"
#include "server_proc.h"
#include "test_client.h"

#define CF_SERVERS 3
#define CF_CLIENTS 16
#define CF_NAMES   32

typedef struct cf_client {
    tc_client *c;
    int server;
    char names[CF_NAMES][MIM_NAME_MAX_BYTES + 1]; /* online, as this client was told */
    size_t nnames;
} cf_client;

typedef struct cluster_fixture {
    nats_cluster nats;
    server_proc sp[CF_SERVERS];
    int nservers;
    cf_client cl[CF_CLIENTS];
    size_t ncl;
} cluster_fixture;

int cf_setup(void **state);
int cf_teardown(void **state);
/* Starts server i (0..2) on the cluster, with the NULL-terminated extra options (may be NULL). */
void cf_start_server(cluster_fixture *f, int i, const char *const *extra);
/* Waits until every running server logged that it heard every other one ("joined"). */
void cf_wait_joined(cluster_fixture *f);
/* Starts servers 0..n-1, each with the extra options (may be NULL), and waits until they all
 * joined: how nearly every scenario begins. */
void cf_start_cluster(cluster_fixture *f, int n, const char *const *extra);
/* A client logged in on server i: 0 and *out, or the server's Error code (then closed).
 * cf_login_ex: with the Login's TC_LOGIN_* flags (TC_LOGIN_MAILBOX: the server must offer the
 * mailbox). */
int cf_login(cluster_fixture *f, int server, mim_identity *id, const char *name, cf_client **out);
int cf_login_ex(cluster_fixture *f, int server, mim_identity *id, const char *name, int flags,
                cf_client **out);
/* Like cf_login(_ex), failing the test unless the login succeeds. */
cf_client *cf_online(cluster_fixture *f, int server, mim_identity *id, const char *name);
cf_client *cf_online_ex(cluster_fixture *f, int server, mim_identity *id, const char *name,
                        int flags);
/* Reads cl's messages until `name` is online (want 1) or not (want 0) in its view, for at most
 * ms: 0 when it came to that, else -1. Status updates are counted in *statuses if non-NULL. */
int cf_wait_name(cf_client *cl, const char *name, int want, int ms);
/* Waits at most ms for a StatusUpdate of name with text. 0 or -1. */
int cf_wait_status(cf_client *cl, const char *name, const char *text, int ms);
/* Milliseconds on a monotonic clock. */
long long cf_now_ms(void);

#endif
