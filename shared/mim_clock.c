/* The wall clock and a monotonic clock, in the units mim uses (see mim_clock.h). */
#include "mim_clock.h"

#include <time.h>

int64_t mim_clock_wall_s(void)
{
    return (int64_t)time(NULL);
}

int64_t mim_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t mim_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mim_clock_sane_ms(uint64_t ts_ms)
{
    int64_t now;

    if (ts_ms <= MIM_CLOCK_MAX_MS)
        return ts_ms;
    now = mim_clock_wall_ms();
    return now > 0 ? (uint64_t)now : 0;
}
