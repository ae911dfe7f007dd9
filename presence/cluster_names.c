/* First-come names across the cluster (cluster.h): a JetStream key-value bucket. */
#include "cluster_priv.h"

void cluster_names_free(cluster *c)
{
    if (c->kv != NULL)
        kvStore_Destroy(c->kv);
    c->kv = NULL;
}
