/* The clocks: the wall clock, for what is stored or shown (first-seen times, message times), and
 * a monotonic one, for deadlines outside a libuv loop (inside one, uv_now() serves). */
#ifndef MIM_CLOCK_H
#define MIM_CLOCK_H

#include <stdint.h>

/* Seconds since the Unix epoch, from the wall clock. */
int64_t mim_clock_wall_s(void);
/* Milliseconds since the Unix epoch, from the wall clock. */
int64_t mim_clock_wall_ms(void);
/* Milliseconds from a fixed, unspecified start; never goes back (CLOCK_MONOTONIC). */
uint64_t mim_clock_mono_ms(void);

#endif
