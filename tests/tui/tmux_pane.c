/* The tmux driver of the terminal-interface tests (see tmux_pane.h). */
#include "tmux_pane.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define POLL_MS 50 /* between two captures while waiting for a text */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs tmux -S socket ARGS... (NULL-terminated); its stdout into out (may be NULL). Returns
 * its exit status, or -1. A tmux command returns at once: no timeout is needed. */
static int run_tmux(const char *socket, char *out, size_t cap, ...)
{
    const char *argv[32];
    int n = 0, fds[2], status;
    size_t got = 0;
    pid_t pid;
    va_list ap;

    argv[n++] = "tmux";
    argv[n++] = "-u"; /* the screen holds UTF-8 */
    argv[n++] = "-f";
    argv[n++] = "/dev/null";
    argv[n++] = "-S";
    argv[n++] = socket;
    va_start(ap, cap);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    if (pipe(fds) != 0)
        return -1;
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(fds[1], STDOUT_FILENO);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        close(fds[0]);
        close(fds[1]);
        execvp("tmux", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char sink[4096];
        char *dst = out != NULL && got + 1 < cap ? out + got : sink;
        size_t room = out != NULL && got + 1 < cap ? cap - 1 - got : sizeof(sink);
        ssize_t r = read(fds[0], dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst != sink)
            got += (size_t)r;
    }
    close(fds[0]);
    if (out != NULL)
        out[got] = '\0';
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void tp_init(tmux_pane *p, const char *tmp, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->socket, sizeof(p->socket), "%.400s/tmux.sock", tmp);
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->dir, sizeof(p->dir), "%.400s/%s", tmp, name);
    snprintf(p->exit_file, sizeof(p->exit_file), "%s.exit", p->dir);
}

/* The pane's shell command: env before mim, args after its own options; with hold, the pane stays
 * after mim ends (see tp_start_env). */
static void start(tmux_pane *p, int port, int cols, int rows, const char *env, const char *args,
                  int hold)
{
    char cmd[8192], x[16], y[16], exact[80];
    uint64_t deadline = mono_ms() + TP_WAIT_MS;

    /* A session of this name from an earlier start ends a moment after its exit file appears
     * (the shell still has to exit): wait for it to be gone, bounded, or new-session fails. */
    snprintf(exact, sizeof(exact), "=%s", p->name);
    while (run_tmux(p->socket, NULL, 0, "has-session", "-t", exact, NULL) == 0 &&
           mono_ms() < deadline)
        poll(NULL, 0, POLL_MS);
    unlink(p->exit_file);
    snprintf(cmd, sizeof(cmd),
             "LANG=C.UTF-8 LC_ALL=C.UTF-8 %s '%s' --name '%s' --server 127.0.0.1:%d "
             "--data-dir '%s' --log-level debug %s; echo $? > '%s.tmp' && mv '%s.tmp' '%s'%s",
             env, MIM_BIN, p->name, port, p->dir, args, p->exit_file, p->exit_file, p->exit_file,
             hold ? "; sleep 600" : "");
    snprintf(x, sizeof(x), "%d", cols);
    snprintf(y, sizeof(y), "%d", rows);
    assert_int_equal(run_tmux(p->socket, NULL, 0, "new-session", "-d", "-s", p->name, "-x", x, "-y",
                              y, cmd, NULL),
                     0);
}

void tp_start(tmux_pane *p, int port, int cols, int rows)
{
    start(p, port, cols, rows, "", "", 0);
}

void tp_start_env(tmux_pane *p, int port, int cols, int rows, const char *env, int hold)
{
    start(p, port, cols, rows, env, "", hold);
}

void tp_start_with(tmux_pane *p, int port, int cols, int rows, const char *env, const char *args)
{
    start(p, port, cols, rows, env, args, 0);
}

void tp_type(tmux_pane *p, const char *text, int enter)
{
    assert_int_equal(run_tmux(p->socket, NULL, 0, "send-keys", "-t", p->name, "-l", text, NULL), 0);
    if (enter)
        tp_key(p, "Enter");
}

void tp_paste(tmux_pane *p, const char *text)
{
    assert_int_equal(run_tmux(p->socket, NULL, 0, "set-buffer", "-b", "mimtest", "--", text, NULL),
                     0);
    assert_int_equal(
        run_tmux(p->socket, NULL, 0, "paste-buffer", "-p", "-b", "mimtest", "-t", p->name, NULL),
        0);
}

void tp_key(tmux_pane *p, const char *key)
{
    assert_int_equal(run_tmux(p->socket, NULL, 0, "send-keys", "-t", p->name, key, NULL), 0);
}

int tp_capture(tmux_pane *p)
{
    return run_tmux(p->socket, p->screen, sizeof(p->screen), "capture-pane", "-p", "-t", p->name,
                    NULL) == 0
               ? 0
               : -1;
}

int tp_capture_attrs(tmux_pane *p)
{
    return run_tmux(p->socket, p->screen, sizeof(p->screen), "capture-pane", "-e", "-p", "-t",
                    p->name, NULL) == 0
               ? 0
               : -1;
}

void tp_pipe_output(tmux_pane *p, const char *path)
{
    char cmd[TP_PATH_MAX + 32];

    snprintf(cmd, sizeof(cmd), "cat >> '%s'", path);
    assert_int_equal(run_tmux(p->socket, NULL, 0, "pipe-pane", "-O", "-t", p->name, cmd, NULL), 0);
}

void tp_expect(tmux_pane *p, const char *text)
{
    uint64_t deadline = mono_ms() + TP_WAIT_MS;

    for (;;) {
        if (tp_capture(p) == 0 && strstr(p->screen, text) != NULL)
            return;
        if (mono_ms() >= deadline)
            break;
        poll(NULL, 0, POLL_MS); /* the next capture: polling the screen, bounded above */
    }
    fprintf(stderr, "%s's screen never showed \"%s\"; last screen:\n%s\n", p->name, text,
            p->screen);
    fail();
}

void tp_expect_row(tmux_pane *p, int row, const char *text)
{
    uint64_t deadline = mono_ms() + TP_WAIT_MS;
    char line[4096];

    for (;;) {
        if (tp_capture(p) == 0) {
            tp_row(p, row, line, sizeof(line));
            if (strstr(line, text) != NULL)
                return;
        }
        if (mono_ms() >= deadline)
            break;
        poll(NULL, 0, POLL_MS); /* the next capture: polling the screen, bounded above */
    }
    fprintf(stderr, "%s's screen never showed \"%s\" on row %d; last screen:\n%s\n", p->name, text,
            row, p->screen);
    fail();
}

int tp_row_of(const tmux_pane *p, const char *text)
{
    const char *s = p->screen;
    int row = 0;

    for (;;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
        const char *hit = strstr(s, text);
        if (hit != NULL && (size_t)(hit - s) + strlen(text) <= len)
            return row;
        if (nl == NULL)
            return -1;
        s = nl + 1;
        row++;
    }
}

void tp_row(const tmux_pane *p, int row, char *out, size_t cap)
{
    const char *s = p->screen;

    out[0] = '\0';
    while (row-- > 0) {
        if ((s = strchr(s, '\n')) == NULL)
            return;
        s++;
    }
    snprintf(out, cap, "%.*s", (int)strcspn(s, "\n"), s);
}

void tp_resize(tmux_pane *p, int cols, int rows)
{
    char x[16], y[16];

    snprintf(x, sizeof(x), "%d", cols);
    snprintf(y, sizeof(y), "%d", rows);
    assert_int_equal(
        run_tmux(p->socket, NULL, 0, "resize-window", "-t", p->name, "-x", x, "-y", y, NULL), 0);
}

void tp_format(tmux_pane *p, const char *format, char *out, size_t cap)
{
    run_tmux(p->socket, out, cap, "display-message", "-p", "-t", p->name, format, NULL);
    out[strcspn(out, "\n")] = '\0';
}

void tp_signal(tmux_pane *p, int sig)
{
    char pid_str[24], path[80], children[256];
    long mim_pid = 0;
    FILE *f;

    /* The pane runs `sh -c "mim ...; echo $? > ..."`: mim is the shell's only child. */
    tp_format(p, "#{pane_pid}", pid_str, sizeof(pid_str));
    snprintf(path, sizeof(path), "/proc/%s/task/%s/children", pid_str, pid_str);
    assert_non_null(f = fopen(path, "r"));
    if (fgets(children, sizeof(children), f) != NULL)
        mim_pid = strtol(children, NULL, 10);
    fclose(f);
    assert_true(mim_pid > 0);
    assert_int_equal(kill((pid_t)mim_pid, sig), 0);
}

int tp_wait_exit(tmux_pane *p)
{
    uint64_t deadline = mono_ms() + TP_WAIT_MS;

    for (;;) {
        FILE *f = fopen(p->exit_file, "r");
        if (f != NULL) {
            int code = -1;
            int ok = fscanf(f, "%d", &code) == 1;
            fclose(f);
            assert_true(ok);
            return code;
        }
        if (mono_ms() >= deadline)
            break;
        poll(NULL, 0, POLL_MS); /* the exit file appears when mim has ended */
    }
    tp_capture(p);
    fprintf(stderr, "%s did not exit; last screen:\n%s\n", p->name, p->screen);
    fail();
    return -1;
}

void tp_kill_server(const char *tmp)
{
    char socket[TP_PATH_MAX];

    snprintf(socket, sizeof(socket), "%.400s/tmux.sock", tmp);
    run_tmux(socket, NULL, 0, "kill-server", NULL);
}
