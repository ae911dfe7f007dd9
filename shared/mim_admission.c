/* Admission control (see admission.h). */
#include "mim_admission.h"
#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

#define ADMISSION_BUCKETS 256

int admission_init(admission *a, const admission_limits *lim)
{
    memset(a, 0, sizeof(*a));
    a->lim = *lim;
    a->nbuckets = ADMISSION_BUCKETS;
    a->buckets = calloc(a->nbuckets, sizeof(*a->buckets));
    return a->buckets == NULL ? MIM_ENOMEM : 0;
}

void admission_free(admission *a)
{
    for (size_t i = 0; i < a->nbuckets; i++) {
        admission_ip *e = a->buckets[i];
        while (e != NULL) {
            admission_ip *next = e->next;
            free(e);
            e = next;
        }
    }
    free(a->buckets);
    memset(a, 0, sizeof(*a));
}

/* The key of a source address. IPv4 is keyed in its IPv4-mapped form (::ffff:a.b.c.d), so no
 * IPv6 address can share an IPv4 address's slot. IPv6 is keyed by its /64: one host is usually
 * given a whole /64, and keying each /128 would let it dodge every per-address cap. */
static void key_of(const uint8_t *ip, size_t ip_len, uint8_t key[16])
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(key, 0, 16);
    if (ip_len == 4) {
        memcpy(key, v4_mapped, 12);
        memcpy(key + 12, ip, 4);
    } else if (ip_len == 16 && memcmp(ip, v4_mapped, 12) == 0) {
        memcpy(key, ip, 16);
    } else {
        memcpy(key, ip, ip_len < 8 ? ip_len : 8);
    }
}

static size_t hash_ip(const uint8_t key[16], size_t nbuckets)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h & (nbuckets - 1);
}

static admission_ip *find(admission *a, const uint8_t key[16], admission_ip ***slot)
{
    admission_ip **pp = &a->buckets[hash_ip(key, a->nbuckets)];
    while (*pp != NULL && memcmp((*pp)->ip, key, 16) != 0)
        pp = &(*pp)->next;
    if (slot != NULL)
        *slot = pp;
    return *pp;
}

static double burst(const admission *a)
{
    return 2.0 * a->lim.rate_per_ip;
}

int admission_enter(admission *a, const uint8_t *ip, size_t ip_len, uint64_t now_ms)
{
    uint8_t key[16];
    admission_ip **slot;
    admission_ip *e;

    if (a->unauth_total >= a->lim.max_unauth)
        return ADMIT_FULL;
    key_of(ip, ip_len, key);
    e = find(a, key, &slot);
    if (e == NULL) {
        if ((e = calloc(1, sizeof(*e))) == NULL)
            return ADMIT_NOMEM;
        memcpy(e->ip, key, 16);
        mim_rate_init(&e->rate, burst(a), now_ms);
        *slot = e;
        a->count++;
    }
    if (e->unauth >= a->lim.max_unauth_per_ip)
        return ADMIT_PER_IP;
    if (!mim_rate_take(&e->rate, a->lim.rate_per_ip, burst(a), now_ms))
        return ADMIT_RATE;
    e->unauth++;
    a->unauth_total++;
    return ADMIT_OK;
}

void admission_leave(admission *a, const uint8_t *ip, size_t ip_len)
{
    uint8_t key[16];
    admission_ip *e;

    key_of(ip, ip_len, key);
    e = find(a, key, NULL);
    if (e == NULL || e->unauth == 0 || a->unauth_total == 0)
        return; /* not counted: nothing to undo */
    e->unauth--;
    a->unauth_total--;
}

void admission_sweep(admission *a, uint64_t now_ms)
{
    for (size_t i = 0; i < a->nbuckets; i++) {
        admission_ip **pp = &a->buckets[i];
        while (*pp != NULL) {
            admission_ip *e = *pp;
            mim_rate_refill(&e->rate, a->lim.rate_per_ip, burst(a), now_ms);
            if (e->unauth == 0 && e->rate.tokens >= burst(a)) {
                *pp = e->next;
                free(e);
                a->count--;
            } else {
                pp = &e->next;
            }
        }
    }
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
    }
    return "refused";
}
