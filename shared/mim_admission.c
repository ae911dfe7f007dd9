/* Admission control (see mim_admission.h): the source and key tables, the caps, the eviction
 * that keeps handshake slots fair, the penalties and the login buckets. */
#include "mim_admission.h"
#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

#define ADMISSION_BUCKETS 256

/* ---- the tables ------------------------------------------------------------------------------ */

static int map_init(admission_map *m)
{
    m->nbuckets = ADMISSION_BUCKETS;
    m->count = 0;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    return m->buckets == NULL ? MIM_ENOMEM : 0;
}

static void map_free(admission_map *m)
{
    for (size_t i = 0; m->buckets != NULL && i < m->nbuckets; i++) {
        admission_node *n = m->buckets[i];
        while (n != NULL) {
            admission_node *next = n->next;
            free(n);
            n = next;
        }
    }
    free(m->buckets);
    memset(m, 0, sizeof(*m));
}

static admission_node **map_slot(admission_map *m, const uint8_t key[32])
{
    uint32_t h = 2166136261u;
    admission_node **pp;

    for (int i = 0; i < 32; i++)
        h = (h ^ key[i]) * 16777619u;
    pp = &m->buckets[h & (m->nbuckets - 1)];
    while (*pp != NULL && memcmp((*pp)->key, key, 32) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* The node of key, or a new zeroed one of `size` bytes (*fresh = 1); NULL when out of memory. */
static admission_node *map_get(admission_map *m, const uint8_t key[32], size_t size, int *fresh)
{
    admission_node **pp = map_slot(m, key);

    *fresh = 0;
    if (*pp != NULL)
        return *pp;
    if ((*pp = calloc(1, size)) == NULL)
        return NULL;
    memcpy((*pp)->key, key, 32);
    m->count++;
    *fresh = 1;
    return *pp;
}

/* Frees every node for which idle(node, ctx) says 1. */
static void map_sweep(admission_map *m, int (*idle)(admission_node *, void *), void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        admission_node **pp = &m->buckets[i];
        while (*pp != NULL) {
            admission_node *n = *pp;
            if (idle(n, ctx)) {
                *pp = n->next;
                free(n);
                m->count--;
            } else {
                pp = &n->next;
            }
        }
    }
}

int admission_init(admission *a, const admission_limits *lim)
{
    memset(a, 0, sizeof(*a));
    a->lim = *lim;
    if (map_init(&a->ips) != 0 || map_init(&a->keys) != 0) {
        admission_free(a);
        return MIM_ENOMEM;
    }
    return 0;
}

void admission_free(admission *a)
{
    map_free(&a->ips);
    map_free(&a->keys);
    memset(a, 0, sizeof(*a));
}

/* ---- source keys ----------------------------------------------------------------------------- */

/* Keeps the first `bits` bits of p (len bytes), zeroes the rest. */
static void mask_bits(uint8_t *p, size_t len, unsigned bits)
{
    for (size_t i = 0; i < len; i++) {
        if (bits >= 8) {
            bits -= 8;
            continue;
        }
        p[i] &= (uint8_t)(0xff00u >> bits);
        bits = 0;
    }
}

/* IPv4 is keyed in its IPv4-mapped form (::ffff:a.b.c.d), so no IPv6 address can share an IPv4
 * address's key. Each address is its own key by default: on a LAN every host shares one /64
 * (and fe80::/64), so keying a prefix would let one host lock out all the others. */
void admission_key_of(const admission_limits *lim, const uint8_t *ip, size_t ip_len,
                      uint8_t key[16])
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned v4 = lim->ipv4_prefix == 0 || lim->ipv4_prefix > 32 ? 32 : lim->ipv4_prefix;
    unsigned v6 = lim->ipv6_prefix == 0 || lim->ipv6_prefix > 128 ? 128 : lim->ipv6_prefix;

    memset(key, 0, 16);
    if (ip_len == 4) {
        memcpy(key, v4_mapped, 12);
        memcpy(key + 12, ip, 4);
        mask_bits(key + 12, 4, v4);
    } else if (ip_len == 16 && memcmp(ip, v4_mapped, 12) == 0) {
        memcpy(key, ip, 16);
        mask_bits(key + 12, 4, v4);
    } else if (ip_len == 16) {
        memcpy(key, ip, 16);
        mask_bits(key, 16, v6);
    }
}

static double burst(const admission *a)
{
    return 2.0 * a->lim.rate_per_ip;
}

/* The entry of ip's key, made on first sight (full buckets); NULL when out of memory. */
static admission_ip *source_get(admission *a, const uint8_t *ip, size_t ip_len, uint64_t now)
{
    uint8_t key[32] = {0};
    admission_ip *e;
    int fresh;

    admission_key_of(&a->lim, ip, ip_len, key);
    e = (admission_ip *)map_get(&a->ips, key, sizeof(admission_ip), &fresh);
    if (e != NULL && fresh) {
        mim_rate_init(&e->rate, burst(a), now);
        mim_rate_init(&e->logins, a->lim.logins_per_min_ip, now);
    }
    return e;
}

static admission_ip *source_find(admission *a, const uint8_t *ip, size_t ip_len)
{
    uint8_t key[32] = {0};

    admission_key_of(&a->lim, ip, ip_len, key);
    return (admission_ip *)*map_slot(&a->ips, key);
}

/* ---- counting and penalties ------------------------------------------------------------------ */

static int penalties_on(const admission *a)
{
    return a->lim.penalty_min_ms > 0 && a->lim.penalty_max_ms > 0;
}

/* One more connection of e counted; a source that starts holding goes on the holders list. */
static void count_in(admission *a, admission_ip *e)
{
    if (e->unauth++ == 0) {
        e->hprev = NULL;
        e->hnext = a->holders;
        if (a->holders != NULL)
            a->holders->hprev = e;
        a->holders = e;
    }
    a->unauth_total++;
}

static void count_out(admission *a, admission_ip *e)
{
    a->unauth_total--;
    if (--e->unauth > 0)
        return;
    if (e->hprev != NULL)
        e->hprev->hnext = e->hnext;
    else
        a->holders = e->hnext;
    if (e->hnext != NULL)
        e->hnext->hprev = e->hprev;
    e->hprev = e->hnext = NULL;
}

/* Charges e for `held` ms of a slot held without logging in: the charge is when it runs out,
 * pushed later by held, never more than penalty_max_ms ahead. */
static void charge(admission *a, admission_ip *e, uint64_t held, uint64_t now)
{
    uint64_t base = e->penalty_until > now ? e->penalty_until : now;

    if (!penalties_on(a))
        return;
    e->penalty_until = base + held;
    if (e->penalty_until > now + a->lim.penalty_max_ms)
        e->penalty_until = now + a->lim.penalty_max_ms;
    if (e->penalty_until - now >= a->lim.penalty_min_ms)
        e->penalized = 1;
}

static int is_penalized(admission_ip *e, uint64_t now)
{
    if (e->penalized && now >= e->penalty_until)
        e->penalized = 0; /* served */
    return e->penalized;
}

static void slot_unlink(admission *a, admission_slot *slot, uint64_t now, int logged_in)
{
    admission_ip *e = slot->src;

    if (slot->prev != NULL)
        slot->prev->next = slot->next;
    else
        e->oldest = slot->next;
    if (slot->next != NULL)
        slot->next->prev = slot->prev;
    else
        e->newest = slot->prev;
    slot->prev = slot->next = NULL;
    slot->src = NULL;
    count_out(a, e);
    if (!logged_in)
        charge(a, e, now > slot->since ? now - slot->since : 0, now);
}

/* The slot to evict for a newcomer from `me` (holding mine slots): the oldest slot of the
 * source holding the most slots, when that is more than mine; ties go to the older slot. NULL:
 * none (the newcomer already holds as many as anyone). */
static admission_slot *eviction_victim(const admission *a, uint32_t mine)
{
    admission_slot *best = NULL;
    uint32_t most = mine;

    for (admission_ip *e = a->holders; e != NULL; e = e->hnext) {
        if (e->oldest == NULL) /* only unslotted connections: cannot be closed from here */
            continue;
        if (e->unauth > most ||
            (e->unauth == most && best != NULL && e->oldest->since < best->since)) {
            most = e->unauth;
            best = e->oldest;
        }
    }
    return best;
}

/* ---- the verdicts ---------------------------------------------------------------------------- */

int admission_admit(admission *a, admission_slot *slot, const uint8_t *ip, size_t ip_len,
                    uint64_t now_ms, admission_slot **evicted)
{
    admission_slot *victim = NULL;
    admission_ip *e;

    if (evicted != NULL)
        *evicted = NULL;
    if ((e = source_get(a, ip, ip_len, now_ms)) == NULL)
        return ADMIT_NOMEM;
    if (is_penalized(e, now_ms))
        return ADMIT_PENALTY;
    if (e->unauth >= a->lim.max_unauth_per_ip)
        return ADMIT_PER_IP;
    mim_rate_refill(&e->rate, a->lim.rate_per_ip, burst(a), now_ms);
    if (e->rate.tokens < 1.0)
        return ADMIT_RATE;
    if (a->unauth_total >= a->lim.max_unauth) {
        /* Full: evict from whoever holds the most, or refuse when that is this source. */
        if (evicted == NULL || (victim = eviction_victim(a, e->unauth)) == NULL)
            return ADMIT_FULL;
        slot_unlink(a, victim, now_ms, 0);
        *evicted = victim;
    }
    e->rate.tokens -= 1.0;
    count_in(a, e);
    if (slot == NULL) {
        e->unslotted++;
        return ADMIT_OK;
    }
    slot->src = e;
    slot->since = now_ms;
    slot->next = NULL;
    slot->prev = e->newest;
    if (e->newest != NULL)
        e->newest->next = slot;
    else
        e->oldest = slot;
    e->newest = slot;
    return ADMIT_OK;
}

void admission_release(admission *a, admission_slot *slot, uint64_t now_ms, int logged_in)
{
    if (slot->src != NULL)
        slot_unlink(a, slot, now_ms, logged_in);
}

int admission_enter(admission *a, const uint8_t *ip, size_t ip_len, uint64_t now_ms)
{
    return admission_admit(a, NULL, ip, ip_len, now_ms, NULL);
}

void admission_leave(admission *a, const uint8_t *ip, size_t ip_len)
{
    admission_ip *e = source_find(a, ip, ip_len);

    if (e == NULL || e->unslotted == 0)
        return; /* not counted: nothing to undo */
    e->unslotted--;
    count_out(a, e);
}

/* Seconds until bucket r (per_min a minute) holds a token again, rounded up. */
static unsigned retry_after(const mim_rate *r, uint32_t per_min)
{
    double t = (1.0 - r->tokens) * 60.0 / per_min;
    unsigned s = (unsigned)t;
    return (double)s < t ? s + 1 : s;
}

/* ip's login bucket, refilled: 1 when it holds a token (or there is no limit). */
static int source_may_login(admission *a, admission_ip *e, uint64_t now, unsigned *retry_s)
{
    uint32_t per_ip = a->lim.logins_per_min_ip;

    if (e == NULL || per_ip == 0)
        return 1;
    mim_rate_refill(&e->logins, per_ip / 60.0, per_ip, now);
    if (e->logins.tokens >= 1.0)
        return 1;
    if (retry_s != NULL)
        *retry_s = retry_after(&e->logins, per_ip);
    return 0;
}

int admission_login(admission *a, const admission_slot *slot, const uint8_t identity_pk[32],
                    uint64_t now_ms, unsigned *retry_s, uint64_t *last_ms)
{
    uint32_t per_key = a->lim.logins_per_min_key;
    admission_ip *e = slot->src;
    admission_key *k = NULL;
    int fresh;

    if (retry_s != NULL)
        *retry_s = 0;
    if (last_ms != NULL)
        *last_ms = 0;
    /* Keys are remembered only to be limited: with no limit, a login costs no memory. */
    if (per_key > 0) {
        if ((k = (admission_key *)map_get(&a->keys, identity_pk, sizeof(*k), &fresh)) == NULL)
            return ADMIT_NOMEM;
        if (fresh)
            mim_rate_init(&k->logins, per_key, now_ms);
        if (last_ms != NULL)
            *last_ms = k->last_login;
    }
    if (!source_may_login(a, e, now_ms, retry_s))
        return ADMIT_LOGIN_IP;
    if (k != NULL) {
        mim_rate_refill(&k->logins, per_key / 60.0, per_key, now_ms);
        if (k->logins.tokens < 1.0) {
            if (retry_s != NULL)
                *retry_s = retry_after(&k->logins, per_key);
            return ADMIT_LOGIN_KEY;
        }
        k->logins.tokens -= 1.0;
        k->last_login = now_ms;
    }
    if (e != NULL && a->lim.logins_per_min_ip > 0)
        e->logins.tokens -= 1.0;
    return ADMIT_OK;
}

/* ---- the sweep ------------------------------------------------------------------------------- */

/* How long a key's last login is remembered (for admission_login's *last_ms). */
#define ADMISSION_KEY_MEMORY_MS 60000

struct sweep_ctx {
    admission *a;
    uint64_t now;
};

static int source_idle(admission_node *n, void *ctx)
{
    const struct sweep_ctx *c = ctx;
    admission *a = c->a;
    admission_ip *e = (admission_ip *)n;
    uint32_t per_ip = a->lim.logins_per_min_ip;

    mim_rate_refill(&e->rate, a->lim.rate_per_ip, burst(a), c->now);
    if (per_ip > 0)
        mim_rate_refill(&e->logins, per_ip / 60.0, per_ip, c->now);
    return e->unauth == 0 && e->rate.tokens >= burst(a) &&
           (per_ip == 0 || e->logins.tokens >= per_ip) && c->now >= e->penalty_until;
}

static int key_idle(admission_node *n, void *ctx)
{
    const struct sweep_ctx *c = ctx;
    admission_key *k = (admission_key *)n;
    uint32_t per_key = c->a->lim.logins_per_min_key;

    if (per_key > 0)
        mim_rate_refill(&k->logins, per_key / 60.0, per_key, c->now);
    return (per_key == 0 || k->logins.tokens >= per_key) &&
           c->now - k->last_login >= ADMISSION_KEY_MEMORY_MS;
}

void admission_sweep(admission *a, uint64_t now_ms)
{
    struct sweep_ctx c = {a, now_ms};

    map_sweep(&a->ips, source_idle, &c);
    map_sweep(&a->keys, key_idle, &c);
}

const char *admission_reason(int verdict)
{
    switch (verdict) {
    case ADMIT_OK:
        return "admitted";
    case ADMIT_FULL:
        return "too many connections still in their handshake";
    case ADMIT_PER_IP:
        return "too many unauthenticated connections from this address";
    case ADMIT_RATE:
        return "handshakes from this address too fast";
    case ADMIT_NOMEM:
        return "out of memory";
    case ADMIT_PENALTY:
        return "this address is penalised for holding handshakes it did not finish";
    case ADMIT_LOGIN_IP:
        return "too many logins from this address";
    case ADMIT_LOGIN_KEY:
        return "too many logins with this key";
    }
    return "refused";
}
