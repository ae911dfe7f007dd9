/* First-come names across the cluster (cluster.h): a JetStream key-value bucket, "mim_names",
 * holding for each name its owner's identity key ("n.<hex of the name's bytes>" -> 32 bytes)
 * and for each confusable skeleton the name that took it ("s.<hex of SHA-256 of the
 * skeleton>" -> the name), both written only by create-if-absent: of two servers racing for a
 * name, or for two look-alike names, exactly one create succeeds, whatever the timing.
 *
 * The bucket's calls block until NATS answers, and NATS' answers are read on the loop thread:
 * they run on libuv's worker threads (uv_queue_work), one claim each, and the verdict comes
 * back to the loop, which finishes the login (session_claimed) at the cluster's next apply,
 * with the bus's messages (cluster.c: on_check). Meanwhile the session is
 * SESSION_CLAIMING: the rest of its Login's batch, and any frame after it, wait here.
 *
 * Each verdict is also written to the server's own SQLite registry, a cache that serves one
 * case: while NATS cannot be reached, a name this server knows for the key logging in may log
 * in; any other login is refused with ERROR_REGISTRY_UNAVAILABLE. */
#include "cluster_priv.h"
#include "mim_clock.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_name.h"

#include <stdlib.h>
#include <string.h>

#define CLAIM_HELD_FRAMES 4 /* frames a claiming peer may send before its verdict */

typedef struct held_frame {
    uint8_t *p;
    size_t len;
    int final;
} held_frame;

struct cluster_claim {
    uv_work_t work;
    cluster *c;
    session *s; /* NULL once the session closed: the verdict is then dropped */
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t pk[MIM_KEY_LEN];
    int verdict;               /* set by the worker */
    int done;                  /* answered: waits for the next apply (cluster_claims_apply) */
    uint64_t started;          /* uv_now() at the start */
    int known;                 /* the local registry knows the name (a hint: claim_verdict) */
    Mim__PresenceBatch *batch; /* the Login's batch and where to go on in it */
    size_t next;
    int batch_final;
    held_frame frames[CLAIM_HELD_FRAMES];
    int nframes;
    struct cluster_claim *prev, *next_claim;
};

/* ---- on a worker thread ---------------------------------------------------------------------- */

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void cluster_name_keys(const char *name, char *name_key, char *skel_key)
{
    char sk[MIM_NAME_SKELETON_MAX];
    uint8_t h[MIM_HASH_LEN];

    memcpy(name_key, "n.", 2);
    hex(name_key + 2, (const uint8_t *)name, strlen(name));
    if (mim_name_skeleton(name, strlen(name), sk, sizeof(sk)) != 0)
        snprintf(sk, sizeof(sk), "%s", name);
    mim_sha256(h, sk, strlen(sk));
    memcpy(skel_key, "s.", 2);
    hex(skel_key + 2, h, sizeof(h));
}

/* The bucket, opened (or made) once. Thread-safe. NULL when NATS cannot be used now. */
kvStore *cluster_kv(cluster *c)
{
    kvStore *kv;

    if (natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED)
        return NULL;
    uv_mutex_lock(&c->kv_lock);
    if (c->kv == NULL && js_KeyValue(&c->kv, c->js, CLUSTER_KV_BUCKET) != NATS_OK) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = CLUSTER_KV_BUCKET;
        cfg.History = 1;
        cfg.Replicas = c->kv_replicas;
        cfg.StorageType = js_FileStorage;
        c->kv = NULL;
        /* Another server may be making it at this very moment: then it is there to open. */
        if (js_CreateKeyValue(&c->kv, c->js, &cfg) != NATS_OK &&
            js_KeyValue(&c->kv, c->js, CLUSTER_KV_BUCKET) != NATS_OK) {
            mim_log_warn("cluster: cannot open or make the names bucket: %s",
                         nats_GetLastError(NULL));
            c->kv = NULL;
        }
    }
    kv = c->kv;
    uv_mutex_unlock(&c->kv_lock);
    return kv;
}

/* The owner of name_key compared with pk: MIM_NAME_SAME_KEY, MIM_ETAKEN, MIM_ENOENT (no
 * owner), or MIM_EIO. */
static int owner_is(kvStore *kv, const char *name_key, const uint8_t *pk)
{
    kvEntry *e = NULL;
    natsStatus st = kvStore_Get(&e, kv, name_key);
    int rc;

    if (st == NATS_NOT_FOUND)
        return MIM_ENOENT;
    if (st != NATS_OK) {
        mim_log_debug("cluster: registry get: %s (%s)", natsStatus_GetText(st),
                      nats_GetLastError(NULL));
        return MIM_EIO;
    }
    rc = kvEntry_ValueLen(e) == MIM_KEY_LEN && memcmp(kvEntry_Value(e), pk, MIM_KEY_LEN) == 0
             ? MIM_NAME_SAME_KEY
             : MIM_ETAKEN;
    kvEntry_Destroy(e);
    return rc;
}

/* A create that NATS did not answer (no bucket leader yet, say): a look after it would wait
 * as long again. The skeleton's: MIM_EIO at once (the retry in on_work looks first). */
static int no_answer(natsStatus st)
{
    return st == NATS_TIMEOUT || st == NATS_NO_RESPONDERS;
}

/* The skeleton's key taken for name (or already name's): 0; another name's: MIM_NAME_LOOKALIKE;
 * else MIM_EIO. */
static int take_skeleton(kvStore *kv, const char *skel_key, const char *name)
{
    kvEntry *e = NULL;
    natsStatus st = kvStore_Create(NULL, kv, skel_key, name, (int)strlen(name));
    int rc;

    if (st == NATS_OK)
        return 0;
    if (no_answer(st))
        return MIM_EIO;
    if (kvStore_Get(&e, kv, skel_key) != NATS_OK) {
        mim_log_debug("cluster: registry skeleton: %s", nats_GetLastError(NULL));
        return MIM_EIO;
    }
    rc = (size_t)kvEntry_ValueLen(e) == strlen(name) &&
                 memcmp(kvEntry_Value(e), name, strlen(name)) == 0
             ? 0
             : MIM_NAME_LOOKALIKE;
    kvEntry_Destroy(e);
    return rc;
}

/* The verdict: MIM_NAME_REGISTERED, MIM_NAME_SAME_KEY, MIM_NAME_LOOKALIKE, MIM_ETAKEN, or
 * MIM_EIO (the registry cannot be reached). Each step is a NATS round trip, a Raft write for a
 * create. A name the local registry does not know (`known` 0: most likely new) skips the first
 * look: two round trips, not three; the verdict is the same either way, as the creates decide
 * and a failed create is followed by a look (a known name's login stays one round trip). */
static int claim_verdict(cluster *c, const char *name, const uint8_t *pk, int known)
{
    char name_key[2 + 2 * MIM_NAME_MAX_BYTES + 1], skel_key[2 + 2 * MIM_HASH_LEN + 1];
    kvStore *kv = cluster_kv(c);
    int rc;

    if (kv == NULL)
        return MIM_EIO;
    cluster_name_keys(name, name_key, skel_key);
    if (known && (rc = owner_is(kv, name_key, pk)) != MIM_ENOENT)
        return rc;
    if ((rc = take_skeleton(kv, skel_key, name)) != 0)
        return rc;
    /* Even unanswered, this create may have gone through: the look below says. */
    if (kvStore_Create(NULL, kv, name_key, pk, MIM_KEY_LEN) == NATS_OK)
        return MIM_NAME_REGISTERED;
    rc = owner_is(kv, name_key, pk); /* a race: another server created it first */
    return rc == MIM_ENOENT ? MIM_EIO : rc;
}

static void on_work(uv_work_t *w)
{
    struct cluster_claim *cl = w->data;

    cl->verdict = claim_verdict(cl->c, cl->name, cl->pk, cl->known);
    /* Once more when NATS is there but did not answer in time: a bucket just made by another
     * server answers only once its replicas have elected a leader. */
    if (cl->verdict == MIM_EIO && natsConnection_Status(cl->c->nc) == NATS_CONN_STATUS_CONNECTED)
        cl->verdict = claim_verdict(cl->c, cl->name, cl->pk, cl->known);
}

static void open_work(uv_work_t *w)
{
    (void)cluster_kv(w->data);
}

static void open_done(uv_work_t *w, int status)
{
    (void)status;
    free(w);
}

void cluster_names_open(cluster *c)
{
    uv_work_t *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        free(w);
        return;
    }
    w->data = c;
    if (uv_queue_work(c->srv->loop, w, open_work, open_done) != 0)
        free(w);
}

/* ---- on the loop ----------------------------------------------------------------------------- */

static struct cluster_claim *find_claim(const cluster *c, const session *s)
{
    for (struct cluster_claim *cl = c->claims; cl != NULL; cl = cl->next_claim)
        if (cl->s == s)
            return cl;
    return NULL;
}

/* The cluster's verdict into our own registry, the cache for when NATS is away: the cluster is
 * right where they differ (a name freed there and taken by another key). */
static void cache_verdict(presence_server *srv, const char *name, const uint8_t *pk)
{
    int rc = mim_store_name_claim(srv->store, name, pk, mim_clock_wall_s());

    if (rc == MIM_ETAKEN && mim_store_name_free(srv->store, name) == 0)
        rc = mim_store_name_claim(srv->store, name, pk, mim_clock_wall_s());
    if (rc < 0 || rc == MIM_NAME_LOOKALIKE)
        mim_log_debug("cluster: '%s' not cached in the local registry (%d)", name, rc);
}

/* NATS away: the rule for known names. A name our registry holds for this key may log in
 * (MIM_NAME_SAME_KEY); a name it holds for another key is NAME_TAKEN as ever; anything else --
 * a name new to us, which another server may have given away meanwhile -- waits for NATS. */
static int offline_verdict(presence_server *srv, const char *name, const uint8_t *pk)
{
    int rc = mim_store_name_claim(srv->store, name, pk, mim_clock_wall_s());

    if (rc == MIM_NAME_REGISTERED) {
        (void)mim_store_name_free(srv->store, name); /* not ours to give while NATS is away */
        return MIM_EIO;
    }
    return rc == MIM_NAME_SAME_KEY || rc == MIM_ETAKEN ? rc : MIM_EIO;
}

static void unlink_claim(cluster *c, struct cluster_claim *cl)
{
    if (cl->prev != NULL)
        cl->prev->next_claim = cl->next_claim;
    else
        c->claims = cl->next_claim;
    if (cl->next_claim != NULL)
        cl->next_claim->prev = cl->prev;
    c->claims_running--;
}

static void free_claim(struct cluster_claim *cl)
{
    mim_presence_batch_free(cl->batch);
    for (int i = 0; i < cl->nframes; i++)
        free(cl->frames[i].p);
    free(cl);
}

/* A verdict, on the loop: it waits for the next apply, which finishes the logins of a burst
 * together (cluster.c: on_check). */
static void after_work(uv_work_t *w, int status)
{
    struct cluster_claim *cl = w->data;
    cluster *c = cl->c;
    uint64_t waited = uv_now(c->srv->loop) - cl->started;

    if (status != 0)
        cl->verdict = MIM_EIO;
    c->claims_total++;
    c->claims_ms_total += waited;
    if (waited > c->claims_ms_max)
        c->claims_ms_max = waited;
    if (cl->s == NULL || c->stopping) {
        unlink_claim(c, cl);
        free_claim(cl);
        return;
    }
    cl->done = 1;
    c->claims_done++;
}

/* The login of an answered claim finished (or dropped, its session gone); cl is freed. */
static void finish_claim(cluster *c, struct cluster_claim *cl)
{
    session *s = cl->s;
    int verdict = cl->verdict;

    unlink_claim(c, cl);
    c->claims_done--;
    if (s != NULL && !c->stopping) {
        if (verdict == MIM_EIO)
            verdict = offline_verdict(c->srv, cl->name, cl->pk);
        else if (verdict == MIM_NAME_REGISTERED || verdict == MIM_NAME_SAME_KEY)
            cache_verdict(c->srv, cl->name, cl->pk);
        session_claimed(s, verdict, cl->batch, cl->next, cl->batch_final);
        cl->batch = NULL; /* session_claimed took it */
        for (int i = 0; i < cl->nframes && !session_closing(s); i++)
            session_frame(s, cl->frames[i].p, cl->frames[i].len, cl->frames[i].final);
    }
    free_claim(cl);
}

void cluster_claims_apply(cluster *c)
{
    struct cluster_claim *cl = c->claims, *prev;

    /* Oldest first (the list's tail), as the logins came: of two logins of one name answered
     * together, the later still wins. A finished login may start a new claim (a second Login
     * among its held frames): that one goes to the head of the list and is not done yet. */
    while (cl != NULL && cl->next_claim != NULL)
        cl = cl->next_claim;
    for (; cl != NULL && c->claims_done > 0; cl = prev) {
        prev = cl->prev;
        if (cl->done)
            finish_claim(c, cl);
    }
}

int cluster_claim_start(session *s, const char *name, const uint8_t pk[MIM_KEY_LEN])
{
    cluster *c = s->srv->cluster;
    struct cluster_claim *cl = calloc(1, sizeof(*cl));

    if (cl == NULL)
        return MIM_ENOMEM;
    cl->c = c;
    cl->s = s;
    cl->work.data = cl;
    cl->started = uv_now(s->srv->loop);
    snprintf(cl->name, sizeof(cl->name), "%s", name);
    memcpy(cl->pk, pk, MIM_KEY_LEN);
    cl->known = mim_store_name_owner(s->srv->store, name, pk) != MIM_NAME_REGISTERED;
    if (uv_queue_work(s->srv->loop, &cl->work, on_work, after_work) != 0) {
        free(cl);
        return MIM_EIO;
    }
    cl->next_claim = c->claims;
    if (c->claims != NULL)
        c->claims->prev = cl;
    c->claims = cl;
    c->claims_running++;
    return 0;
}

void cluster_claim_hold_batch(session *s, Mim__PresenceBatch *b, size_t next, int final)
{
    struct cluster_claim *cl = find_claim(s->srv->cluster, s);

    if (cl == NULL) { /* cannot happen: claiming means a claim runs */
        mim_presence_batch_free(b);
        return;
    }
    cl->batch = b;
    cl->next = next;
    cl->batch_final = final;
}

int cluster_claim_hold_frame(session *s, const uint8_t *p, size_t len, int final)
{
    struct cluster_claim *cl = find_claim(s->srv->cluster, s);
    held_frame *f;

    if (cl == NULL || cl->nframes == CLAIM_HELD_FRAMES)
        return -1;
    f = &cl->frames[cl->nframes];
    if ((f->p = malloc(len > 0 ? len : 1)) == NULL)
        return -1;
    memcpy(f->p, p, len);
    f->len = len;
    f->final = final;
    cl->nframes++;
    return 0;
}

void cluster_claim_forget(session *s)
{
    struct cluster_claim *cl;

    if (s->srv->cluster == NULL || (cl = find_claim(s->srv->cluster, s)) == NULL)
        return;
    cl->s = NULL;
    mim_presence_batch_free(cl->batch);
    cl->batch = NULL;
}

void cluster_names_free(cluster *c)
{
    if (c->claims_total > 0)
        mim_log_info("cluster: %llu name claims answered, %llu ms on average, %llu ms at most",
                     (unsigned long long)c->claims_total,
                     (unsigned long long)(c->claims_ms_total / c->claims_total),
                     (unsigned long long)c->claims_ms_max);
    /* Answered claims the stop left unapplied (the workers are done: the loop has ended). */
    while (c->claims != NULL) {
        struct cluster_claim *cl = c->claims;
        unlink_claim(c, cl);
        free_claim(cl);
    }
    if (c->kv != NULL)
        kvStore_Destroy(c->kv);
    c->kv = NULL;
}
