/* Fuzzes the cluster bus's decoder (issue 18, shared/mim_codec_cluster.c): the input is one bus
 * message's payload, as anyone able to publish on the bus could send it. A message accepted
 * must keep the validator's promises -- a valid server id, a 16-byte boot id, one known body,
 * at most MIM_CLUSTER_EVENTS_MAX events or peers, each name valid, each key 32 bytes, each mail
 * notice's seq above 0 -- and
 * re-encode to exactly the input (canonical). */
#include "fuzz.h"

#include "mim_buf.h"
#include "mim_codec.h"

#include <string.h>

static void check_info(const Mim__PeerInfo *pi)
{
    FUZZ_CHECK(pi != NULL);
    FUZZ_CHECK(mim_name_valid(pi->name, strlen(pi->name)));
    FUZZ_CHECK(pi->identity_pk.len == 32);
    FUZZ_CHECK(pi->addr.len == 4 || pi->addr.len == 16);
    FUZZ_CHECK(pi->port >= 1 && pi->port <= 65535);
}

static void check_event(const Mim__ClusterEvent *e)
{
    switch (e->kind_case) {
    case MIM__CLUSTER_EVENT__KIND_ADD:
        check_info(e->add->info);
        break;
    case MIM__CLUSTER_EVENT__KIND_DEL:
        FUZZ_CHECK(mim_name_valid(e->del, strlen(e->del)));
        break;
    case MIM__CLUSTER_EVENT__KIND_STATUS:
        FUZZ_CHECK(mim_name_valid(e->status->name, strlen(e->status->name)));
        break;
    case MIM__CLUSTER_EVENT__KIND_MAIL: /* issue 18: a letter's notice */
        FUZZ_CHECK(mim_name_valid(e->mail->to, strlen(e->mail->to)));
        FUZZ_CHECK(e->mail->seq > 0);
        break;
    default:
        FUZZ_CHECK(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Mim__ClusterMsg *m = NULL;
    mim_buf again = {0};
    char err[160];

    if (mim_cluster_msg_decode(data, size, &m, err, sizeof(err)) != 0) {
        FUZZ_CHECK(m == NULL);
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(mim_cluster_server_id_valid(m->server_id));
    FUZZ_CHECK(m->boot_id.len == MIM_CLUSTER_BOOT_ID_LEN);
    if (m->body_case == MIM__CLUSTER_MSG__BODY_EVENTS) {
        FUZZ_CHECK(m->events->n_events >= 1 && m->events->n_events <= MIM_CLUSTER_EVENTS_MAX);
        for (size_t i = 0; i < m->events->n_events; i++)
            check_event(m->events->events[i]);
    } else if (m->body_case == MIM__CLUSTER_MSG__BODY_TABLE) {
        FUZZ_CHECK(m->table->n_peers <= MIM_CLUSTER_EVENTS_MAX);
        for (size_t i = 0; i < m->table->n_peers; i++)
            check_info(m->table->peers[i]->info);
    } else {
        FUZZ_CHECK(m->body_case == MIM__CLUSTER_MSG__BODY_HELLO ||
                   m->body_case == MIM__CLUSTER_MSG__BODY_HEARTBEAT);
    }
    if (fuzz_protobuf_round_trips(&m->base)) {
        FUZZ_CHECK(mim_cluster_msg_pack(m, &again) == 0);
        FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0);
    }
    mim_buf_free(&again);
    mim_cluster_msg_free(m);
    return 0;
}
