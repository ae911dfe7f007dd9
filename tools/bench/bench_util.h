/* Small helpers shared by the session benchmarks: a bound on every run, medians and
 * percentiles, result lines. Header-only: each benchmark program is one file plus this. */
#ifndef MIM_BENCH_UTIL_H
#define MIM_BENCH_UTIL_H

#include <getopt.h>
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

/* The command line of a session benchmark: MODE [--mib M] [--msgs M] [--PATH_OPT P]
 * [--timeout S], where PATH_OPT is the program's name for its file or directory ("db", "dir"). */
typedef struct bench_args {
    const char *mode, *path; /* path NULL when not given */
    long mib, msgs, timeout_s;
} bench_args;

/* 0, or -1 for an unknown option or a value out of range (the caller prints its usage). */
static inline int bench_parse_args(int argc, char **argv, const char *path_opt, bench_args *a)
{
    const struct option opts[] = {
        {"mib", required_argument, NULL, 'm'},
        {"msgs", required_argument, NULL, 'n'},
        {path_opt, required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    int c;

    a->mode = argc > 1 ? argv[1] : "";
    a->path = NULL;
    a->mib = 256;
    a->msgs = 20000;
    a->timeout_s = 120;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'm')
            a->mib = atol(optarg);
        else if (c == 'n')
            a->msgs = atol(optarg);
        else if (c == 'p')
            a->path = optarg;
        else if (c == 't')
            a->timeout_s = atol(optarg);
        else
            return -1;
    }
    return a->mib < 1 || a->mib > 4096 || a->msgs < 1 || a->msgs > 10000000 || a->timeout_s < 1 ||
                   a->timeout_s > 3600
               ? -1
               : 0;
}

#endif
