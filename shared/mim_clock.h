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

/* 9999-12-31 23:59:59.999 UTC: the last time with a four-digit year, the latest a message may
 * claim. */
#define MIM_CLOCK_MAX_MS 253402300799999ull
/* A message time another peer sent (milliseconds since the epoch, unsigned on the wire), as mim
 * stores and shows it (a signed 64-bit number): ts_ms itself when it is at most
 * MIM_CLOCK_MAX_MS, else the wall clock now (2^64-1 must not read as -1 nor sort first). */
uint64_t mim_clock_sane_ms(uint64_t ts_ms);

#endif
