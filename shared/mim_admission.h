/* Admission control for connections that have not authenticated yet (logins to the presence
 * server; a peer's incoming chat sessions). Pure: no I/O, the caller passes the time, so it can
 * be unit-tested.
 *
 * Three caps protect the server from a flood before anyone is authenticated: the total number
 * of unauthenticated connections, the number per source IP, and a token bucket of handshakes
 * per second per source IP (burst = 2 seconds' worth). */
#ifndef MIM_ADMISSION_H
#define MIM_ADMISSION_H

#include "mim_rate.h"

#include <stddef.h>
#include <stdint.h>

typedef struct admission_limits {
    uint32_t max_unauth;        /* total connections not logged in yet */
    uint32_t max_unauth_per_ip; /* of those, from one source IP */
    uint32_t rate_per_ip;       /* new handshakes per second per source IP */
} admission_limits;

typedef struct admission_ip {
    uint8_t ip[16];  /* IPv6 /64 prefix; IPv4 as ::ffff:a.b.c.d */
    uint32_t unauth; /* connections from this IP not logged in yet */
    mim_rate rate;   /* handshakes this IP may start */
    struct admission_ip *next;
} admission_ip;

typedef struct admission {
    admission_limits lim;
    uint32_t unauth_total;
    admission_ip **buckets;
    size_t nbuckets; /* power of two */
    size_t count;    /* tracked IPs */
} admission;

enum {
    ADMIT_OK = 0,
    ADMIT_FULL = 1,   /* too many unauthenticated connections in all */
    ADMIT_PER_IP = 2, /* too many from this IP */
    ADMIT_RATE = 3,   /* this IP starts handshakes too fast */
    ADMIT_NOMEM = 4,
};

int admission_init(admission *a, const admission_limits *lim);
void admission_free(admission *a);
/* A new connection from ip (raw bytes, ip_len 4 or 16) at time now_ms. ADMIT_OK counts it as
 * unauthenticated; anything else refuses it and counts nothing. */
int admission_enter(admission *a, const uint8_t *ip, size_t ip_len, uint64_t now_ms);
/* The connection counted by admission_enter logged in or closed. */
void admission_leave(admission *a, const uint8_t *ip, size_t ip_len);
/* Forgets IPs with no unauthenticated connection and a full bucket. */
void admission_sweep(admission *a, uint64_t now_ms);
const char *admission_reason(int verdict);

#endif
