/* Small helpers shared by the session benchmarks: a bound on every run, medians and
 * percentiles, result lines. Header-only: each benchmark program is one file plus this. */
#ifndef MIM_BENCH_UTIL_H
#define MIM_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define BENCH_CHUNK      65518u       /* MIM_CHANNEL_MAX_PLAINTEXT: one full transport frame */
#define BENCH_BULK_BYTES (256u << 20) /* bytes moved by one bulk run */
#define BENCH_BULK_HIWAT (1u << 20)   /* a sender tops its queue up to this */
#define BENCH_SMALL_LEN  100u         /* a small message */

static inline double bench_seconds(uint64_t t0)
{
    return (double)(uv_hrtime() - t0) / 1e9;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n), nearest rank; sorts v. */
static inline double bench_quantile(double *v, size_t n, double q)
{
    size_t i;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    i = (size_t)(q * (double)n + 0.5);
    if (i > 0)
        i--;
    if (i >= n)
        i = n - 1;
    return v[i];
}

#endif
