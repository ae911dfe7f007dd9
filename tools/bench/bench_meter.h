/* What one phase of a benchmark cost the process, robust to a loaded machine: CPU time
 * (getrusage: user + system) and, where the kernel lets a process count its own user-space
 * instructions (perf_event_paranoid <= 2), the instructions retired. A wall-clock rate measured
 * while other jobs share the CPUs is noise; these two are not (much). Header-only, like
 * bench_util.h. */
#ifndef MIM_BENCH_METER_H
#define MIM_BENCH_METER_H

#include <linux/perf_event.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct bench_meter {
    int fd;         /* the instruction counter, or -1 where there is none */
    double cpu_s;   /* CPU seconds at the phase's start, then the phase's */
    uint64_t instr; /* the phase's user-space instructions (0 without a counter) */
} bench_meter;

static inline double bench_cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Opens the counter: m->fd is -1 when the kernel does not give one (then only CPU time). */
static inline void bench_meter_init(bench_meter *m)
{
    struct perf_event_attr pa;

    memset(m, 0, sizeof(*m));
    memset(&pa, 0, sizeof(pa));
    pa.type = PERF_TYPE_HARDWARE;
    pa.size = sizeof(pa);
    pa.config = PERF_COUNT_HW_INSTRUCTIONS;
    pa.disabled = 1;
    pa.exclude_kernel = 1;
    pa.exclude_hv = 1;
    m->fd = (int)syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
}

static inline void bench_meter_start(bench_meter *m)
{
    if (m->fd >= 0) {
        (void)ioctl(m->fd, PERF_EVENT_IOC_RESET, 0);
        (void)ioctl(m->fd, PERF_EVENT_IOC_ENABLE, 0);
    }
    m->instr = 0;
    m->cpu_s = bench_cpu_seconds();
}

static inline void bench_meter_stop(bench_meter *m)
{
    uint64_t n = 0;

    m->cpu_s = bench_cpu_seconds() - m->cpu_s;
    if (m->fd >= 0) {
        (void)ioctl(m->fd, PERF_EVENT_IOC_DISABLE, 0);
        if (read(m->fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
            m->instr = n;
    }
}

static inline void bench_meter_close(bench_meter *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

#endif
