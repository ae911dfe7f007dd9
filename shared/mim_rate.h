/* A token bucket: `rate` tokens per second, at most `burst` saved up. Pure; the caller passes
 * the time in milliseconds (uv_now), so tests can drive it. Used for handshakes per address,
 * discovery answers and status updates per peer. */
#ifndef MIM_RATE_H
#define MIM_RATE_H

#include <stdint.h>

typedef struct mim_rate {
    double tokens;     /* available now */
    uint64_t refilled; /* ms timestamp of the last refill */
} mim_rate;

/* Starts full. */
void mim_rate_init(mim_rate *r, double burst, uint64_t now_ms);
/* Adds what accrued since the last refill, up to burst. */
void mim_rate_refill(mim_rate *r, double rate, double burst, uint64_t now_ms);
/* Refills, then takes one token: 1 when there was one, 0 when the caller must wait. */
int mim_rate_take(mim_rate *r, double rate, double burst, uint64_t now_ms);

#endif
