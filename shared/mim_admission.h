/* Admission control for connections that have not authenticated yet (logins to the presence
 * server; a peer's incoming chat sessions), and the login rates after authentication. Pure: no
 * I/O, the caller passes the time, so it can be unit-tested.
 *
 * Sources are keyed by address: an IPv4 address masked to ipv4_prefix bits (default 32, the
 * whole address), an IPv6 one to ipv6_prefix bits (default 128); an IPv4-mapped IPv6 address is
 * its IPv4 address. Per key: a cap on unauthenticated connections, a token bucket of new
 * handshakes (burst = 2 seconds' worth), a penalty, and a token bucket of logins.
 *
 * Fairness under a flood (docs/SECURITY.md, "Handshake slots"): when every unauthenticated slot
 * is taken, a newcomer whose key holds fewer slots than the key holding the most EVICTS that
 * key's oldest unauthenticated connection instead of being refused, so a flood from a few
 * addresses cannot lock anyone else out, whatever the caps. Penalties: a key is charged the
 * time its connections held a slot without logging in; the charge runs down in real time, and
 * once it reaches penalty_min_ms the key's new connections are refused until it has run out. One
 * connection at a time is never penalised; idle connections held in parallel are. */
#ifndef MIM_ADMISSION_H
#define MIM_ADMISSION_H

#include "mim_rate.h"

#include <stddef.h>
#include <stdint.h>

/* Zero in any field but the first three means the default noted (or "off"): a caller written
 * before a field existed keeps working. */
typedef struct admission_limits {
    uint32_t max_unauth;         /* total connections not logged in yet */
    uint32_t max_unauth_per_ip;  /* of those, from one source key */
    uint32_t rate_per_ip;        /* new handshakes per second per source key */
    uint32_t ipv4_prefix;        /* bits of an IPv4 source in its key, 1..32 (0: 32) */
    uint32_t ipv6_prefix;        /* bits of an IPv6 source in its key, 1..128 (0: 128) */
    uint32_t penalty_min_ms;     /* charge at which a source is refused (0: penalties off) */
    uint32_t penalty_max_ms;     /* the most a source can be charged (0: penalties off) */
    uint32_t logins_per_min_ip;  /* logins per minute per source key, burst as many (0: off) */
    uint32_t logins_per_min_key; /* logins per minute per identity key, burst as many (0: off) */
} admission_limits;

struct admission_ip;

/* One admitted connection's place, kept in the caller's connection (admission_admit). owner is
 * the caller's, never read here: the caller finds its connection from an evicted slot by it. */
typedef struct admission_slot {
    struct admission_slot *prev, *next; /* its source's slots, oldest first */
    struct admission_ip *src;           /* NULL: not counted (never admitted, left, evicted) */
    uint64_t since;                     /* admitted at (ms) */
    void *owner;
} admission_slot;

/* A hash table of 32-byte keys (source keys are 16 bytes, zero-padded). */
typedef struct admission_node {
    struct admission_node *next;
    uint8_t key[32];
} admission_node;

typedef struct admission_map {
    admission_node **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
} admission_map;

typedef struct admission_ip {
    admission_node node;    /* key: the source masked to its prefix; IPv4 as ::ffff:a.b.c.d */
    uint32_t unauth;        /* connections from this source not logged in yet */
    uint32_t unslotted;     /* of those, counted by admission_enter: they cannot be evicted */
    mim_rate rate;          /* handshakes this source may start */
    mim_rate logins;        /* logins from this source */
    uint64_t penalty_until; /* the charge runs out then (ms) */
    int penalized;          /* the charge reached penalty_min_ms and has not run out */
    admission_slot *oldest, *newest;
    struct admission_ip *hprev, *hnext; /* on the holders list while it holds a slot */
} admission_ip;

typedef struct admission_key {
    admission_node node; /* key: the identity key */
    mim_rate logins;
    uint64_t last_login; /* ms */
} admission_key;

typedef struct admission {
    admission_limits lim;
    uint32_t unauth_total;
    admission_map ips;     /* admission_ip by source key */
    admission_map keys;    /* admission_key by identity key */
    admission_ip *holders; /* sources holding a slot (unslotted or not) */
} admission;

enum {
    ADMIT_OK = 0,
    ADMIT_FULL = 1,   /* too many unauthenticated connections in all, none to evict */
    ADMIT_PER_IP = 2, /* too many from this source */
    ADMIT_RATE = 3,   /* this source starts handshakes too fast */
    ADMIT_NOMEM = 4,
    ADMIT_PENALTY = 5,   /* this source is penalised */
    ADMIT_LOGIN_IP = 6,  /* this source logs in too often */
    ADMIT_LOGIN_KEY = 7, /* this identity key logs in too often */
};

int admission_init(admission *a, const admission_limits *lim);
void admission_free(admission *a);

/* A new connection from ip (raw bytes, ip_len 4 or 16) at now_ms, whose place is *slot (kept by
 * the caller until admission_release). ADMIT_OK counts it as unauthenticated; anything else
 * refuses it and counts nothing. When every slot is taken and a source holds more slots than
 * this one, that source's oldest slot is evicted to make room: *evicted is set to it (else to
 * NULL), already uncounted and charged; the caller must close the connection that owns it
 * (its later admission_release is harmless). evicted == NULL: never evict, refuse. */
int admission_admit(admission *a, admission_slot *slot, const uint8_t *ip, size_t ip_len,
                    uint64_t now_ms, admission_slot **evicted);
/* The connection holding *slot logged in (logged_in = 1: no charge) or closed before (its
 * source is charged the time it held the slot). Harmless on a slot not counted. */
void admission_release(admission *a, admission_slot *slot, uint64_t now_ms, int logged_in);
/* A login by identity_pk from the source of *slot (still counted: call before releasing it):
 * ADMIT_OK takes a token from both buckets, ADMIT_LOGIN_IP or ADMIT_LOGIN_KEY refuses and takes
 * none. *retry_s (may be NULL): whole seconds until a refused login could pass. *last_ms (may be
 * NULL): this key's previous login, 0 if none is remembered (keys are remembered, for a minute
 * after their last login, only while logins_per_min_key limits them). */
int admission_login(admission *a, const admission_slot *slot, const uint8_t identity_pk[32],
                    uint64_t now_ms, unsigned *retry_s, uint64_t *last_ms);

/* The slot-less form of admission_admit, for callers that cannot close an evicted connection:
 * counted like a slot, but never evicted, never evicting, never charged. */
int admission_enter(admission *a, const uint8_t *ip, size_t ip_len, uint64_t now_ms);
/* The connection counted by admission_enter logged in or closed. */
void admission_leave(admission *a, const uint8_t *ip, size_t ip_len);

/* Forgets sources and keys with nothing counted, full buckets and no charge left. */
void admission_sweep(admission *a, uint64_t now_ms);
const char *admission_reason(int verdict);
/* The key of a source address (exposed for tests): 16 bytes, IPv4 as ::ffff:a.b.c.d, masked to
 * the limits' prefix. */
void admission_key_of(const admission_limits *lim, const uint8_t *ip, size_t ip_len,
                      uint8_t key[16]);

#endif
