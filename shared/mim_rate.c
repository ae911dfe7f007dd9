/* Token bucket (see mim_rate.h). */
#include "mim_rate.h"

void mim_rate_init(mim_rate *r, double burst, uint64_t now_ms)
{
    r->tokens = burst;
    r->refilled = now_ms;
}

void mim_rate_refill(mim_rate *r, double rate, double burst, uint64_t now_ms)
{
    if (now_ms > r->refilled) {
        r->tokens += (double)(now_ms - r->refilled) * rate / 1000.0;
        if (r->tokens > burst)
            r->tokens = burst;
    }
    r->refilled = now_ms;
}

int mim_rate_take(mim_rate *r, double rate, double burst, uint64_t now_ms)
{
    mim_rate_refill(r, rate, burst, now_ms);
    if (r->tokens < 1.0)
        return 0;
    r->tokens -= 1.0;
    return 1;
}
