/* Writes the seed corpus of the cluster bus's fuzz target (fuzz_cluster_msg.c) under
 * tests/fuzz/corpus/cluster_msg/: one message of each body (events with an add, a delete and a
 * status; a table chunk; a Hello; a heartbeat; a mail notice) and a few the codec refuses (an
 * invalid server id, a short boot id, an add with a bad name, no body, a mail notice of seq 0).
 *
 *   fuzz_make_corpus_cluster [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * Deterministic. Not a test: run it by hand after changing proto/cluster.proto and commit the
 * result. */
#include "mim_buf.h"
#include "mim_codec.h"
#include "seed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

/* One bus message, packed, as corpus/cluster_msg/<name>. */
static void cluster_seed(const char *name, Mim__ClusterMsg *m)
{
    mim_buf b = {0};

    if (mim_cluster_msg_pack(m, &b) != 0)
        abort();
    write_seed("cluster_msg", name, b.data, b.len);
    mim_buf_free(&b);
}

static uint8_t boot[16] = {0x42, 1, 2, 3}, pk[32] = {7}, addr[4] = {192, 168, 1, 20};

/* A mail notice (issue 18: a letter for bob stored at seq 12), and one of seq 0 (refused). */
static void mail_seeds(Mim__ClusterMsg *m)
{
    Mim__ClusterEvents evs = MIM__CLUSTER_EVENTS__INIT;
    Mim__ClusterEvent ev = MIM__CLUSTER_EVENT__INIT, *evp = &ev;
    Mim__MailNotice mn = MIM__MAIL_NOTICE__INIT;

    mn.to = "bob";
    mn.seq = 12;
    ev.kind_case = MIM__CLUSTER_EVENT__KIND_MAIL;
    ev.mail = &mn;
    evs.events = &evp;
    evs.n_events = 1;
    m->body_case = MIM__CLUSTER_MSG__BODY_EVENTS;
    m->events = &evs;
    cluster_seed("mail_notice", m);
    mn.seq = 0;
    cluster_seed("mail_notice_seq0", m);
}

/* Events: an add, a status, a delete; then the same add in a table chunk; then refusals. */
static void seeds(void)
{
    Mim__ClusterMsg m = MIM__CLUSTER_MSG__INIT;
    Mim__ClusterEvents evs = MIM__CLUSTER_EVENTS__INIT;
    Mim__ClusterEvent ev[3] = {MIM__CLUSTER_EVENT__INIT, MIM__CLUSTER_EVENT__INIT,
                               MIM__CLUSTER_EVENT__INIT},
                      *evp[3] = {&ev[0], &ev[1], &ev[2]};
    Mim__ClusterPeer cp = MIM__CLUSTER_PEER__INIT, *cpp = &cp;
    Mim__StatusUpdate st = MIM__STATUS_UPDATE__INIT;
    Mim__ClusterTable t = MIM__CLUSTER_TABLE__INIT;
    Mim__ClusterHello hello = MIM__CLUSTER_HELLO__INIT;
    Mim__ClusterHeartbeat hb = MIM__CLUSTER_HEARTBEAT__INIT;
    Mim__PeerInfo pi;

    mim_peer_info_init(&pi, "alice", addr, 4, 4000, pk, MIM__STATUS__STATUS_AVAILABLE, "");
    cp.info = &pi;
    cp.login_ms = 1764650000000ull;
    ev[0].kind_case = MIM__CLUSTER_EVENT__KIND_ADD;
    ev[0].add = &cp;
    st.name = "alice";
    st.status = MIM__STATUS__STATUS_AWAY;
    st.text = "lunch";
    ev[1].kind_case = MIM__CLUSTER_EVENT__KIND_STATUS;
    ev[1].status = &st;
    ev[2].kind_case = MIM__CLUSTER_EVENT__KIND_DEL;
    ev[2].del = "alice";
    evs.events = evp;
    evs.n_events = 3;
    m.server_id = "s0";
    m.boot_id.data = boot;
    m.boot_id.len = sizeof(boot);
    m.seq = 7;
    m.body_case = MIM__CLUSTER_MSG__BODY_EVENTS;
    m.events = &evs;
    cluster_seed("events", &m);
    t.peers = &cpp;
    t.n_peers = 1;
    t.first = t.last = 1;
    m.body_case = MIM__CLUSTER_MSG__BODY_TABLE;
    m.table = &t;
    cluster_seed("table", &m);
    m.body_case = MIM__CLUSTER_MSG__BODY_HELLO;
    m.hello = &hello;
    cluster_seed("hello", &m);
    hb.peers = 3;
    m.body_case = MIM__CLUSTER_MSG__BODY_HEARTBEAT;
    m.heartbeat = &hb;
    cluster_seed("heartbeat", &m);
    m.server_id = "s 0"; /* refused: a space */
    cluster_seed("bad_server_id", &m);
    m.server_id = "s0";
    m.boot_id.len = 8; /* refused */
    cluster_seed("short_boot_id", &m);
    m.boot_id.len = sizeof(boot);
    pi.name = "al\x1bice"; /* refused: a control character */
    m.body_case = MIM__CLUSTER_MSG__BODY_EVENTS;
    m.events = &evs;
    cluster_seed("bad_name", &m);
    m.body_case = MIM__CLUSTER_MSG__BODY__NOT_SET; /* refused */
    cluster_seed("no_body", &m);
    mail_seeds(&m);
}

int main(int argc, char **argv)
{
    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    seeds();
    return seed_end("cluster bus seeds");
}
