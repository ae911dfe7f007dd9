/* mim-presence's cluster (issue 18): several servers act as one directory through a NATS
 * cluster (`--cluster nats://H:P[,...]`). Off by default: without --cluster nothing here runs
 * and the server is the single server with its SQLite registry, as before.
 *
 * The bus connection runs on the server's own libuv loop (cnats' libuv adapter): every read of
 * the NATS socket, every bus message handled and every change to the online table happens on
 * the loop thread. Only the name registry's JetStream calls, which block, run on libuv's worker
 * threads (cluster_names.c), and their results come back to the loop.
 * Files: cluster.c (the connection, its lifecycle, failover), cluster_sync.c (the table sync:
 * events out per loop turn, events in, tables for newcomers), cluster_members.c (liveness: the
 * other servers, heartbeats, boot ids), cluster_names.c (first-come names in a JetStream KV
 * bucket). What travels: proto/cluster.proto, shared/mim_codec_cluster.c, docs/PROTOCOL.md
 * "The cluster bus". */
#ifndef MIM_PRESENCE_CLUSTER_H
#define MIM_PRESENCE_CLUSTER_H

#include <stdint.h>

#include <nats/nats.h>

#include "presence.pb-c.h"

typedef struct presence_server presence_server;
typedef struct online_entry online_entry;
typedef struct session session;

#define CLUSTER_SERVER_ID_MAX 64 /* bytes of [A-Za-z0-9_-] */
#define CLUSTER_URLS_MAX      8  /* NATS servers in --cluster */

/* 1 when id is a valid --server-id: 1-64 bytes of [A-Za-z0-9_-] (it is part of subjects). */
int cluster_server_id_valid(const char *id);
/* 1 when urls is a valid --cluster value: 1-8 comma-separated nats://HOST:PORT. */
int cluster_urls_valid(const char *urls);

/* Joins the cluster: connects to NATS (retrying in the background when none answers, so the
 * server serves its own peers meanwhile), binds the connection to s->loop, subscribes and asks
 * the other servers for their tables. server_id NULL: the host name (cut to the valid
 * characters). Must run on s->loop's thread. 0, or a negative MIM_E* code (said). */
int cluster_start(presence_server *s, const char *urls, const char *server_id);
/* Leaves the cluster: tells nobody (the others time this server out, or see its next boot),
 * closes the connection and the loop handles. Safe when cluster_start failed or never ran. */
void cluster_stop(presence_server *s);
/* Frees what cluster_stop left for after the loop ended. */
void cluster_free(presence_server *s);
/* 1 when this server runs with --cluster. */
int cluster_on(const presence_server *s);
/* 1 when the bus is connected right now (0 also when not clustered). */
int cluster_connected(const presence_server *s);
/* The NATS connection and the JetStream context, for other cluster pieces (the shared mailbox,
 * issue 18's second half): NULL when not clustered. Owned by the cluster; valid until
 * cluster_stop. Their calls that wait for a reply must not run on the loop thread (its reads
 * would never come): use uv_queue_work. */
natsConnection *cluster_nats(const presence_server *s);
jsCtx *cluster_js(const presence_server *s);
/* This server's id in the cluster (NULL when not clustered). */
const char *cluster_server_id(const presence_server *s);

/* --free-name NAME with --cluster (cluster_admin.c): releases NAME in the cluster's registry
 * (both its keys), talking to NATS directly (no loop). The exit code: 0 released, 1 not
 * registered or NATS unreachable (said on stderr). */
int cluster_free_name(const char *urls, const char *name);

/* ---- hooks the server calls (each a no-op when not clustered) ---- */

/* A local peer came online (e: its entry in the table), went offline, changed its status: the
 * event is published at the end of this loop turn, with the turn's other events. */
void cluster_note_add(presence_server *s, const online_entry *e);
void cluster_note_del(presence_server *s, const char *name);
void cluster_note_status(presence_server *s, const online_entry *e);
/* A letter for `name`, not online here, was stored in the shared mailbox at seq: the other
 * servers hear it (a MailNotice event) and the one holding name's login delivers it live. */
void cluster_note_mail(presence_server *s, const char *name, uint64_t seq);

/* The Login of s (verified, admitted) asks the cluster's name registry (cluster_names.c): 0,
 * and s becomes SESSION_CLAIMING until the verdict comes back through session_claimed; or a
 * negative code (nothing started). */
int cluster_claim_start(session *s, const char *name, const uint8_t pk[32]);
/* What s sent with or after its Login waits for the verdict: the Login's decoded batch (taken;
 * handling goes on at index next), and later frames (copied; -1 when too many: s must go). */
void cluster_claim_hold_batch(session *s, Mim__PresenceBatch *b, size_t next, int final);
int cluster_claim_hold_frame(session *s, const uint8_t *p, size_t len, int final);
/* s is closing: its claim's verdict, when it comes, is dropped. */
void cluster_claim_forget(session *s);

/* The whole online table a newcomer gets: the local peers, then the other servers'. */
online_entry *cluster_walk_first(const presence_server *s);
online_entry *cluster_walk_next(const presence_server *s, const online_entry *e);
/* A local login of name: another server's entry of it (if any) goes quietly (the login's add
 * replaces it at every peer, and that server, hearing it, tells its peer REPLACED). */
void cluster_forget_remote(presence_server *s, const char *name);

#endif
