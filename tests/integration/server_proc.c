/* Runs mim-presence as a child process (see server_proc.h). */
#include "server_proc.h"
#include "test_client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MIM_PRESENCE_BIN
#error "MIM_PRESENCE_BIN must name the mim-presence binary"
#endif
#ifndef MIM_TEST_TMP
#error "MIM_TEST_TMP must name a directory for temporary files"
#endif

static int sp_fail(server_proc *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pipe() with both ends close-on-exec, so one child never holds another's stdout open. */
static int pipe_cloexec(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

static int sp_fail(server_proc *sp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sp->err, sizeof(sp->err), fmt, ap);
    va_end(ap);
    return -1;
}

static int remaining(uint64_t deadline)
{
    uint64_t now = tc_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

const char *sp_status_str(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "wait status 0x%x", (unsigned)status);
    return buf;
}

int sp_init(server_proc *sp, const char *tag)
{
    memset(sp, 0, sizeof(*sp));
    sp->out_fd = -1;
    mkdir(MIM_TEST_TMP, 0700); /* normally made by CMake; harmless when it exists */
    snprintf(sp->dir, sizeof(sp->dir), "%s/%s-XXXXXX", MIM_TEST_TMP, tag);
    if (mkdtemp(sp->dir) == NULL)
        return sp_fail(sp, "mkdtemp %s: %s", sp->dir, strerror(errno));
    snprintf(sp->data_dir, sizeof(sp->data_dir), "%s/data", sp->dir);
    snprintf(sp->log_path, sizeof(sp->log_path), "%s/server.log", sp->dir);
    snprintf(sp->binds[0], sizeof(sp->binds[0]), "127.0.0.1");
    sp->nbinds = 1;
    return 0;
}

int sp_set_bind(server_proc *sp, const char *const *addrs)
{
    int n = 0;

    for (; addrs != NULL && addrs[n] != NULL; n++) {
        if (n == SP_MAX_BINDS)
            return sp_fail(sp, "more than %d bind addresses", SP_MAX_BINDS);
        if (strlen(addrs[n]) >= SP_ADDR_LEN)
            return sp_fail(sp, "bind address too long: %s", addrs[n]);
    }
    for (int i = 0; i < n; i++)
        snprintf(sp->binds[i], sizeof(sp->binds[i]), "%s", addrs[i]);
    sp->nbinds = n;
    return 0;
}

/* fork + exec with stdout to out_fd (or /dev/null when -1) and stderr appended to the log.
 * The child dies with the test process (PR_SET_PDEATHSIG) so a killed test leaves no server
 * behind, and gets SIGPIPE at its default, as it would from a shell. */
static pid_t spawn(server_proc *sp, const char *const *argv, int out_fd)
{
    int log_fd = open(sp->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid;

    if (log_fd < 0) {
        sp_fail(sp, "open %s: %s", sp->log_path, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        sp_fail(sp, "fork: %s", strerror(errno));
        close(log_fd);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        int null_fd = open("/dev/null", O_RDWR);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(null_fd, 0);
        dup2(out_fd >= 0 ? out_fd : null_fd, 1);
        dup2(log_fd, 2);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log_fd);
    return pid;
}

/* Reads the ready line and parses it. */
static int await_ready(server_proc *sp)
{
    uint64_t deadline = tc_now_ms() + SP_READY_TIMEOUT_MS;
    char line[256];
    size_t have = 0;

    for (;;) {
        struct pollfd pfd = {.fd = sp->out_fd, .events = POLLIN};
        char *nl;
        ssize_t n;
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return sp_fail(sp, "no ready line within %d ms", SP_READY_TIMEOUT_MS);
        n = read(sp->out_fd, line + have, sizeof(line) - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return sp_fail(sp, "the server closed stdout before its ready line");
        have += (size_t)n;
        line[have] = '\0';
        if ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            break;
        }
        if (have == sizeof(line) - 1)
            return sp_fail(sp, "ready line too long: %s", line);
    }
    if (sscanf(line, "ready port=%d discovery=%d fingerprint=%29s", &sp->port, &sp->discovery_port,
               sp->fingerprint) != 3 ||
        strlen(sp->fingerprint) != MIM_FINGERPRINT_LEN - 1 || sp->port <= 0 ||
        sp->discovery_port <= 0)
        return sp_fail(sp, "unexpected ready line: '%s'", line);
    return 0;
}

int sp_start_on(server_proc *sp, int port, int dport, const char *const *extra)
{
    const char *argv[SP_MAX_ARGS + 2 * SP_MAX_BINDS + 16];
    char port_s[16], dport_s[16];
    int pipefd[2], n = 0;

    if (sp->pid != 0)
        return sp_fail(sp, "already running");
    if (extra != sp->extra) {
        size_t i = 0;
        for (; extra != NULL && extra[i] != NULL; i++) {
            if (i == SP_MAX_ARGS - 1)
                return sp_fail(sp, "more than %d extra options", SP_MAX_ARGS - 1);
            /* Binds are sp_set_bind's: one here would join the default 127.0.0.1. */
            if (strcmp(extra[i], "--bind") == 0 || strcmp(extra[i], "-b") == 0 ||
                strncmp(extra[i], "--bind=", 7) == 0)
                return sp_fail(sp, "%s in the extra options: use sp_set_bind", extra[i]);
        }
        for (size_t j = 0; j < i; j++)
            sp->extra[j] = extra[j];
        sp->extra[i] = NULL;
    }
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(dport_s, sizeof(dport_s), "%d", dport);
    argv[n++] = MIM_PRESENCE_BIN;
    argv[n++] = "--port";
    argv[n++] = port_s;
    argv[n++] = "--discovery-port";
    argv[n++] = dport_s;
    argv[n++] = "--data-dir";
    argv[n++] = sp->data_dir;
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    for (int i = 0; i < sp->nbinds; i++) {
        argv[n++] = "--bind";
        argv[n++] = sp->binds[i];
    }
    for (size_t i = 0; sp->extra[i] != NULL; i++)
        argv[n++] = sp->extra[i];
    argv[n] = NULL;

    if (pipe_cloexec(pipefd) != 0)
        return sp_fail(sp, "pipe: %s", strerror(errno));
    sp->pid = spawn(sp, argv, pipefd[1]);
    close(pipefd[1]);
    if (sp->pid < 0) {
        sp->pid = 0;
        close(pipefd[0]);
        return -1;
    }
    sp->out_fd = pipefd[0];
    sp->port = sp->discovery_port = 0;
    sp->fingerprint[0] = '\0';
    if (await_ready(sp) != 0) {
        char why[sizeof(sp->err)], st[64];
        int status = 0;
        snprintf(why, sizeof(why), "%s", sp->err);
        /* It may have exited on its own (a port in use): collect how. */
        if (sp_wait(sp, 0, &status) == 0)
            return sp_fail(sp, "%s; the server %s", why, sp_status_str(status, st, sizeof(st)));
        return sp_fail(sp, "%s", why);
    }
    return 0;
}

int sp_start(server_proc *sp, const char *const *extra)
{
    return sp_start_on(sp, 0, 0, extra);
}

int sp_signal(server_proc *sp, int sig)
{
    if (sp->pid == 0)
        return sp_fail(sp, "not running");
    if (kill(sp->pid, sig) != 0)
        return sp_fail(sp, "kill(%d, %d): %s", (int)sp->pid, sig, strerror(errno));
    return 0;
}

static void reaped(server_proc *sp)
{
    sp->pid = 0;
    if (sp->out_fd >= 0)
        close(sp->out_fd);
    sp->out_fd = -1;
}

int sp_wait(server_proc *sp, int timeout_ms, int *status)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;

    if (sp->pid == 0)
        return sp_fail(sp, "not running");
    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        pid_t r = waitpid(sp->pid, status, WNOHANG);
        if (r == sp->pid) {
            reaped(sp);
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            reaped(sp);
            return sp_fail(sp, "waitpid: %s", strerror(errno));
        }
        if (remaining(deadline) == 0)
            break;
        nanosleep(&tick, NULL); /* a bounded poll for the exit, not a guess at timing */
    }
    sp_kill(sp);
    return sp_fail(sp, "the server did not exit within %d ms; killed", timeout_ms);
}

int sp_stop(server_proc *sp, int *status)
{
    if (sp_signal(sp, SIGTERM) != 0)
        return -1;
    return sp_wait(sp, SP_STOP_TIMEOUT_MS, status);
}

int sp_restart(server_proc *sp)
{
    int port = sp->port, dport = sp->discovery_port, status = 0;
    char st[64], first[sizeof(sp->err)];

    if (sp_stop(sp, &status) != 0)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return sp_fail(sp, "the server %s on SIGTERM, not 0",
                       sp_status_str(status, st, sizeof(st)));
    if (sp_start_on(sp, port, dport, sp->extra) == 0)
        return 0;
    /* Another test may have taken a port meanwhile: any port will do. */
    snprintf(first, sizeof(first), "%s", sp->err);
    if (sp_start_on(sp, 0, 0, sp->extra) == 0)
        return 0;
    return sp_fail(sp, "restart on ports %d/%d: %s; on new ports: %.200s", port, dport, first,
                   sp->err);
}

void sp_kill(server_proc *sp)
{
    int status;

    if (sp->pid == 0)
        return;
    kill(sp->pid, SIGKILL);
    while (waitpid(sp->pid, &status, 0) < 0 && errno == EINTR)
        ;
    reaped(sp);
}

int sp_run(server_proc *sp, const char *const *argv, int timeout_ms, char *out, size_t cap,
           int *status)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;
    size_t have = 0;
    int pipefd[2], rc = 0;
    pid_t pid;

    if (pipe_cloexec(pipefd) != 0)
        return sp_fail(sp, "pipe: %s", strerror(errno));
    pid = spawn(sp, argv, pipefd[1]);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return -1;
    }
    out[0] = '\0';
    for (;;) { /* stdout until EOF */
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        char sink[256];
        ssize_t n;
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            rc = sp_fail(sp, "%s did not finish within %d ms", argv[0], timeout_ms);
            kill(pid, SIGKILL);
            break;
        }
        if (have + 1 < cap)
            n = read(pipefd[0], out + have, cap - 1 - have);
        else
            n = read(pipefd[0], sink, sizeof(sink));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (have + 1 < cap) {
            have += (size_t)n;
            out[have] = '\0';
        }
    }
    close(pipefd[0]);
    /* stdout is closed: it has exited or is exiting (or was killed above). */
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return sp_fail(sp, "waitpid: %s", strerror(errno));
    }
    return rc;
}

int sp_free_name(server_proc *sp, const char *name, int *status)
{
    const char *argv[] = {MIM_PRESENCE_BIN, "--free-name", name, "--data-dir", sp->data_dir, NULL};
    char out[512];
    return sp_run(sp, argv, SP_STOP_TIMEOUT_MS, out, sizeof(out), status);
}

int sp_log_contains(const server_proc *sp, const char *needle)
{
    FILE *f = fopen(sp->log_path, "r");
    char line[2048];
    int found = 0;

    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

long sp_log_find_byte(const server_proc *sp, int byte)
{
    FILE *f = fopen(sp->log_path, "rb");
    long off = 0;
    int ch;

    if (f == NULL)
        return -2;
    while ((ch = getc(f)) != EOF && ch != byte)
        off++;
    fclose(f);
    return ch == EOF ? -1 : off;
}

int sp_wait_log(const server_proc *sp, const char *needle, int timeout_ms)
{
    uint64_t deadline = tc_now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        if (sp_log_contains(sp, needle))
            return 1;
        if (remaining(deadline) == 0)
            return 0;
        nanosleep(&tick, NULL); /* a bounded poll of the file */
    }
}

void sp_dump_log(const server_proc *sp, FILE *to)
{
    FILE *f = fopen(sp->log_path, "r");
    char line[2048];

    fprintf(to, "---- server log %s ----\n", sp->log_path);
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            fputs(line, to);
        fclose(f);
    }
    fprintf(to, "---- end of server log ----\n");
}

/* rm -r for the small trees tests make (no symlinks are followed: lstat). */
static void remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            char child[1024];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        closedir(d);
    }
    rmdir(path);
}

void sp_cleanup(server_proc *sp)
{
    sp_kill(sp);
    if (sp->dir[0] != '\0')
        remove_tree(sp->dir);
    sp->dir[0] = '\0';
}
