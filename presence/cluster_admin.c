/* The admin's --free-name on a cluster (cluster.h): a short-lived NATS connection with cnats'
 * own threads (no libuv loop runs in this mode, so its blocking calls are fine here). */
#include "cluster_priv.h"
#include "mim_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The names bucket of urls, into *kv (its connection and context too, for the cleanup).
 * NATS_OK, or the status (said). */
static natsStatus open_bucket(const char *urls, natsConnection **nc, jsCtx **js, kvStore **kv)
{
    char *list[CLUSTER_URLS_MAX] = {0};
    natsOptions *opts = NULL;
    natsStatus st = NATS_NO_MEMORY;
    int n = cluster_split_urls(urls, list);
    jsOptions jo;

    jsOptions_Init(&jo);
    jo.Wait = 5000;
    if (n > 0 && (st = natsOptions_Create(&opts)) == NATS_OK &&
        (st = natsOptions_SetServers(opts, (const char **)list, n)) == NATS_OK &&
        (st = natsOptions_SetTimeout(opts, 2000)) == NATS_OK)
        st = natsConnection_Connect(nc, opts);
    if (st != NATS_OK)
        fprintf(stderr, "mim-presence: cannot reach NATS at %s: %s\n", urls,
                natsStatus_GetText(st));
    else if ((st = natsConnection_JetStream(js, *nc, &jo)) == NATS_OK)
        st = js_KeyValue(kv, *js, CLUSTER_KV_BUCKET);
    natsOptions_Destroy(opts);
    for (int i = 0; i < CLUSTER_URLS_MAX; i++)
        free(list[i]);
    return st;
}

/* 1 when the entry of key holds exactly value (len bytes). */
static int holds(kvStore *kv, const char *key, const void *value, size_t len)
{
    kvEntry *e = NULL;
    int same;

    if (kvStore_Get(&e, kv, key) != NATS_OK)
        return 0;
    same = (size_t)kvEntry_ValueLen(e) == len && memcmp(kvEntry_Value(e), value, len) == 0;
    kvEntry_Destroy(e);
    return same;
}

int cluster_free_name(const char *urls, const char *name)
{
    char name_key[2 + 2 * MIM_NAME_MAX_BYTES + 1], skel_key[2 + 2 * MIM_HASH_LEN + 1];
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    natsStatus st = open_bucket(urls, &nc, &js, &kv);
    int rc = 1;

    if (strlen(name) > MIM_NAME_MAX_BYTES) {
        fprintf(stderr, "mim-presence: '%s' is not registered\n", name);
    } else if (st == NATS_NOT_FOUND) {
        fprintf(stderr, "mim-presence: '%s' is not registered (no names on the cluster yet)\n",
                name);
    } else if (st == NATS_OK) {
        cluster_name_keys(name, name_key, skel_key);
        st = kvStore_Get(&e, kv, name_key);
        kvEntry_Destroy(e);
        if (st == NATS_NOT_FOUND)
            fprintf(stderr, "mim-presence: '%s' is not registered\n", name);
        else if (st != NATS_OK || (st = kvStore_Delete(kv, name_key)) != NATS_OK)
            fprintf(stderr, "mim-presence: cannot free '%s': %s\n", name, natsStatus_GetText(st));
        else
            rc = 0;
        /* Its skeleton goes with it, unless a look-alike holds it (cannot be, but is kept). */
        if (rc == 0 && holds(kv, skel_key, name, strlen(name)))
            (void)kvStore_Delete(kv, skel_key);
    } else if (nc != NULL) {
        fprintf(stderr, "mim-presence: the cluster's registry: %s\n", natsStatus_GetText(st));
    }
    if (rc == 0)
        printf("released '%s' on the cluster: the next key to log in with it registers it\n", name);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return rc;
}
