/* mim-decode's throughput (tools/bench/run, section decode): a synthetic capture of many
 * presence connections (tools/decode/synth.c: real secretstream frames under keys its key log
 * gives), and a timer for a program that reads it, so that mim-decode and the baselines
 * (tcpdump -r, tshark -r) are measured the same way, in the same run, on the same file.
 *
 *   mim-bench-decode write --cap FILE --keys FILE --conns N --frames F
 *   mim-bench-decode run --name NAME --cap FILE -- PROGRAM ARGS...
 *
 * `run` prints "result decode_NAME_MBps X": the capture's size over the wall time of PROGRAM,
 * its stdout to /dev/null. */
#include "synth.h"

#include "mim_crypto.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes the capture and the key log of conns connections with frames StatusSets each. */
static int write_capture(const char *cap, const char *keys, long conns, long frames)
{
    char line[MIM_KEYLOG_LINE_LEN + 1];
    FILE *cf = fopen(cap, "wb"), *kf = fopen(keys, "w");
    mim_keylog_entry en;
    synth s;

    if (cf == NULL || kf == NULL || conns < 1 || conns > 50000 || frames < 1 || frames > 1000)
        return 1;
    synth_begin(&s, SYNTH_ETHERNET);
    for (long i = 0; i < conns; i++) {
        synth_connection(&s, 0, (uint16_t)(10000 + i), 4242, 1400, SYNTH_IN_ORDER, (size_t)frames,
                         &en);
        mim_keylog_format(&en, line);
        fputs(line, kf);
        if (s.len > (8u << 20)) { /* flushed as it grows: the header stays in the first part */
            fwrite(s.buf, 1, s.len, cf);
            s.len = 0;
        }
    }
    fwrite(s.buf, 1, s.len, cf);
    synth_free(&s);
    if (fclose(cf) != 0 || fclose(kf) != 0)
        return 1;
    chmod(keys, 0600);
    return 0;
}

/* Runs argv with stdout (and stderr) to /dev/null: its wall time, or -1 when it failed. */
static double time_program(char **argv)
{
    double t0 = now_s();
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return now_s() - t0;
}

static int usage(void)
{
    fprintf(stderr, "usage: mim-bench-decode write --cap FILE --keys FILE --conns N --frames F\n"
                    "       mim-bench-decode run --name NAME --cap FILE -- PROGRAM ARGS...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *cap = NULL, *keys = NULL, *name = NULL;
    long conns = 0, frames = 0;
    struct stat st;
    int i;
    double t;

    if (argc < 2 || mim_crypto_init() != 0)
        return usage();
    for (i = 2; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (strcmp(argv[i], "--cap") == 0)
            cap = argv[i + 1];
        else if (strcmp(argv[i], "--keys") == 0)
            keys = argv[i + 1];
        else if (strcmp(argv[i], "--name") == 0)
            name = argv[i + 1];
        else if (strcmp(argv[i], "--conns") == 0)
            conns = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--frames") == 0)
            frames = strtol(argv[i + 1], NULL, 10);
        else
            return usage();
    }
    if (strcmp(argv[1], "write") == 0 && cap != NULL && keys != NULL)
        return write_capture(cap, keys, conns, frames);
    if (strcmp(argv[1], "run") != 0 || cap == NULL || name == NULL || i + 1 >= argc ||
        stat(cap, &st) != 0)
        return usage();
    if ((t = time_program(argv + i + 1)) <= 0) {
        fprintf(stderr, "mim-bench-decode: %s failed\n", argv[i + 1]);
        return 1;
    }
    printf("result decode_%s_MBps %.1f\n", name, (double)st.st_size / 1e6 / t);
    return 0;
}
