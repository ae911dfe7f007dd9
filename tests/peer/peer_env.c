/* Test environment for the peer's pieces (see peer_env.h). */
#include "peer_env.h"
#include "mim_error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
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

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int pe_wait_child(pid_t pid, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int status;

    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        if (now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nanosleep(&tick, NULL); /* a bounded poll for the exit */
    }
}

/* ---- temporary directories ------------------------------------------------------------------- */

int pe_tmpdir(char out[PE_PATH_MAX], const char *tag)
{
    mkdir(MIM_TEST_TMP, 0700); /* normally made by CMake */
    snprintf(out, PE_PATH_MAX, "%s/peer-%s-XXXXXX", MIM_TEST_TMP, tag);
    return mkdtemp(out) != NULL ? 0 : -1;
}

void pe_rmtree(const char *path)
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
            char child[2 * PE_PATH_MAX];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            pe_rmtree(child);
        }
        closedir(d);
    }
    rmdir(path);
}

/* ---- the server ------------------------------------------------------------------------------ */

int pe_server_init(pe_server *s, const char *tag)
{
    memset(s, 0, sizeof(*s));
    if (pe_tmpdir(s->dir, tag) != 0)
        return fail(s->err, sizeof(s->err), "mkdtemp: %s", strerror(errno));
    snprintf(s->data_dir, sizeof(s->data_dir), "%.*s/data", PE_PATH_MAX - 8, s->dir);
    snprintf(s->log_path, sizeof(s->log_path), "%s/server.log", s->dir);
    return 0;
}

/* Reads the ready line within the deadline. 0, or -1 (the server may have exited). */
static int await_ready(pe_server *s, int fd)
{
    uint64_t deadline = now_ms() + PE_READY_TIMEOUT_MS;
    char line[256];
    size_t have = 0;
    char *nl;

    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = now_ms();
        ssize_t n;
        int pr;
        if (now >= deadline)
            return fail(s->err, sizeof(s->err), "no ready line within %d ms", PE_READY_TIMEOUT_MS);
        pr = poll(&pfd, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            continue;
        n = read(fd, line + have, sizeof(line) - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(s->err, sizeof(s->err), "the server closed stdout before its ready line");
        have += (size_t)n;
        line[have] = '\0';
        if ((nl = strchr(line, '\n')) != NULL)
            break;
        if (have == sizeof(line) - 1)
            return fail(s->err, sizeof(s->err), "ready line too long");
    }
    *nl = '\0';
    if (sscanf(line, "ready port=%d discovery=%d fingerprint=%29s", &s->port, &s->discovery_port,
               s->fingerprint) != 3 ||
        s->port <= 0 || s->discovery_port <= 0)
        return fail(s->err, sizeof(s->err), "unexpected ready line '%s'", line);
    return 0;
}

static int start_once(pe_server *s, int port)
{
    char port_s[16];
    const char *argv[32];
    int n = 0, pipefd[2], log_fd;
    pid_t pid;

    snprintf(port_s, sizeof(port_s), "%d", port);
    argv[n++] = MIM_PRESENCE_BIN;
    argv[n++] = "--port";
    argv[n++] = port_s;
    argv[n++] = "--discovery-port";
    argv[n++] = "0";
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    argv[n++] = "--data-dir";
    argv[n++] = s->data_dir;
    for (int i = 0; s->extra[i] != NULL; i++)
        argv[n++] = s->extra[i];
    argv[n] = NULL;

    if (pipe(pipefd) != 0)
        return fail(s->err, sizeof(s->err), "pipe: %s", strerror(errno));
    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
    log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return fail(s->err, sizeof(s->err), "open %s: %s", s->log_path, strerror(errno));
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        close(log_fd);
        return fail(s->err, sizeof(s->err), "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no server outlives a killed test */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(null_fd, 0);
        dup2(pipefd[1], 1);
        dup2(log_fd, 2);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    close(log_fd);
    s->pid = pid;
    if (await_ready(s, pipefd[0]) != 0) {
        close(pipefd[0]);
        pe_server_kill(s);
        return -1;
    }
    /* stdout is not read again: the server writes only the ready line there. */
    close(pipefd[0]);
    return 0;
}

int pe_server_start(pe_server *s, int port)
{
    uint64_t deadline = now_ms() + 5000;

    if (s->pid != 0)
        return fail(s->err, sizeof(s->err), "already running");
    for (;;) {
        struct timespec tick = {0, 50 * 1000 * 1000};
        if (start_once(s, port) == 0)
            return 0;
        /* A fixed port may still be held for a moment by the process just killed. */
        if (port == 0 || now_ms() >= deadline)
            return -1;
        nanosleep(&tick, NULL); /* between bind attempts only, bounded by the deadline */
    }
}

void pe_server_kill(pe_server *s)
{
    int status;

    if (s->pid == 0)
        return;
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
}

int pe_server_signal(pe_server *s, int sig)
{
    if (s->pid == 0 || kill(s->pid, sig) != 0)
        return fail(s->err, sizeof(s->err), "cannot signal the server");
    return 0;
}

int pe_server_stop(pe_server *s)
{
    uint64_t deadline = now_ms() + PE_STOP_TIMEOUT_MS;
    int status = 0;

    if (s->pid == 0)
        return fail(s->err, sizeof(s->err), "not running");
    kill(s->pid, SIGTERM);
    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
            break;
        if (r < 0 && errno != EINTR) {
            s->pid = 0;
            return fail(s->err, sizeof(s->err), "waitpid: %s", strerror(errno));
        }
        if (now_ms() >= deadline) {
            pe_server_kill(s);
            return fail(s->err, sizeof(s->err), "the server did not exit on SIGTERM");
        }
        nanosleep(&tick, NULL); /* a bounded poll for the exit */
    }
    s->pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(s->err, sizeof(s->err), "the server ended with wait status 0x%x",
                    (unsigned)status);
    return 0;
}

int pe_server_log_count(const pe_server *s, const char *needle)
{
    return pe_file_count(s->log_path, needle);
}

int pe_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

int pe_mode(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int)(sb.st_mode & 0777) : -1;
}

int pe_write_file(const char *path, const char *text)
{
    size_t len = strlen(text);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;

    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int pe_file_is(const char *path, const char *text)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    return n >= 0 && (size_t)n == strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

#define PLANTED_TEXT "whatever is there: a symlink led here"

int pe_plant_symlink(const char *tmp, const char *dir, const char *link)
{
    char target[PE_PATH_MAX + 16], at[2 * PE_PATH_MAX];

    snprintf(target, sizeof(target), "%s/elsewhere", tmp);
    snprintf(at, sizeof(at), "%s/%s", dir, link);
    if (pe_write_file(target, PLANTED_TEXT) != 0 || mkdir(dir, 0700) != 0)
        return -1;
    return symlink(target, at);
}

int pe_planted_untouched(const char *tmp, const char *dir, const char *absent)
{
    char target[PE_PATH_MAX + 16], gone[2 * PE_PATH_MAX];

    snprintf(target, sizeof(target), "%s/elsewhere", tmp);
    snprintf(gone, sizeof(gone), "%s/%s", dir, absent);
    return pe_file_is(target, PLANTED_TEXT) && !pe_exists(gone);
}

int pe_file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

int pe_server_wait_log(const pe_server *s, const char *needle, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        if (pe_server_log_count(s, needle) > 0)
            return 1;
        if (now_ms() >= deadline)
            return 0;
        nanosleep(&tick, NULL); /* a bounded poll of another process's file */
    }
}

void pe_server_dump_log(const pe_server *s)
{
    FILE *f = fopen(s->log_path, "r");
    char line[2048];

    fprintf(stderr, "---- server log %s ----\n", s->log_path);
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            fputs(line, stderr);
        fclose(f);
    }
    fprintf(stderr, "---- end of server log ----\n");
}

void pe_server_cleanup(pe_server *s)
{
    pe_server_kill(s);
    if (s->dir[0] != '\0')
        pe_rmtree(s->dir);
    s->dir[0] = '\0';
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void on_guard(uv_timer_t *t)
{
    pe_loop *l = t->data;
    l->timed_out = 1;
    uv_stop(&l->loop);
}

static void on_check(uv_prepare_t *c)
{
    pe_loop *l = c->data;
    if (l->pred != NULL && l->pred(l->arg))
        uv_stop(&l->loop);
}

int pe_loop_init(pe_loop *l)
{
    memset(l, 0, sizeof(*l));
    if (uv_loop_init(&l->loop) != 0)
        return -1;
    uv_timer_init(&l->loop, &l->guard);
    uv_prepare_init(&l->loop, &l->check);
    l->guard.data = l->check.data = l;
    return 0;
}

int pe_loop_wait(pe_loop *l, int (*pred)(void *arg), void *arg, uint64_t timeout_ms)
{
    int ok;

    if (pred != NULL && pred(arg))
        return 1;
    l->pred = pred;
    l->arg = arg;
    l->timed_out = 0;
    uv_timer_start(&l->guard, on_guard, timeout_ms, 0);
    uv_prepare_start(&l->check, on_check);
    while (!l->timed_out && !(pred != NULL && pred(arg)))
        uv_run(&l->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&l->guard);
    uv_prepare_stop(&l->check);
    ok = pred != NULL ? pred(arg) : 1;
    l->pred = NULL;
    return ok;
}

static void on_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "handle still open: %s (%p)%s\n", uv_handle_type_name(h->type), (void *)h,
            uv_is_closing(h) ? " closing" : "");
}

int pe_loop_close(pe_loop *l)
{
    int rc;

    uv_close((uv_handle_t *)&l->guard, NULL);
    uv_close((uv_handle_t *)&l->check, NULL);
    /* Closing handles complete within a turn or two; nothing should be active any more. */
    for (int i = 0; i < 8; i++)
        uv_run(&l->loop, UV_RUN_NOWAIT);
    rc = uv_loop_close(&l->loop);
    if (rc != 0)
        uv_walk(&l->loop, on_walk, NULL);
    return rc;
}

/* ---- a test peer ----------------------------------------------------------------------------- */

static pe_event *push(pe_peer *p, enum pe_event_type type)
{
    pe_event *e;
    if (p->nev == PE_MAX_EVENTS)
        return NULL;
    e = &p->ev[p->nev++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    return e;
}

static void on_stopped(void *ud);

static void ev_state(void *ud, enum presence_client_state state, const char *server)
{
    pe_peer *p = ud;
    pe_event *e = push(p, PE_EV_STATE);
    if (e != NULL) {
        e->value = (int)state;
        snprintf(e->text, sizeof(e->text), "%s", server);
    }
    if (p->stop_on_state > 0 && (int)state == p->stop_on_state)
        presence_client_stop(p->pc, on_stopped);
}

static void ev_server_key(void *ud, int verdict, const uint8_t pk[32], const uint8_t *old_pk)
{
    pe_peer *p = ud;
    pe_event *e = push(p, PE_EV_SERVER_KEY);
    if (e != NULL) {
        e->value = verdict;
        memcpy(e->pk, pk, 32);
        if (old_pk != NULL) {
            e->flag = 1;
            memcpy(e->old_pk, old_pk, 32);
        }
    }
}

static void entry_event(pe_event *e, const online_entry *o)
{
    snprintf(e->name, sizeof(e->name), "%s", o->name);
    snprintf(e->text, sizeof(e->text), "%s", o->status_text);
    memcpy(e->pk, o->identity_pk, 32);
    memcpy(e->addr, o->addr, sizeof(e->addr));
    e->addr_len = o->addr_len;
    e->port = o->port;
}

static void ev_online(void *ud, const online_entry *o, int is_self)
{
    pe_peer *p = ud;
    pe_event *e = push(p, PE_EV_ONLINE);
    if (e != NULL) {
        entry_event(e, o);
        e->value = o->status;
        e->flag = is_self;
    }
}

static void ev_offline(void *ud, const char *name)
{
    pe_peer *p = ud;
    pe_event *e = push(p, PE_EV_OFFLINE);
    if (e != NULL)
        snprintf(e->name, sizeof(e->name), "%s", name);
}

static void ev_status(void *ud, const online_entry *o)
{
    pe_peer *p = ud;
    pe_event *e = push(p, PE_EV_STATUS);
    if (e != NULL) {
        entry_event(e, o);
        e->value = o->status;
    }
}

static void ev_error(void *ud, int code, const char *message, int fatal)
{
    pe_peer *p = ud;
    pe_event *e = push(p, PE_EV_ERROR);
    if (e != NULL) {
        e->value = code;
        e->flag = fatal;
        snprintf(e->text, sizeof(e->text), "%s", message);
    }
}

static const presence_client_events pe_events = {
    .on_state = ev_state,
    .on_server_key = ev_server_key,
    .on_peer_online = ev_online,
    .on_peer_offline = ev_offline,
    .on_peer_status = ev_status,
    .on_error = ev_error,
};

static int open_store(pe_peer *p)
{
    char path[PE_PATH_MAX + 16];
    int rc;

    snprintf(path, sizeof(path), "%s/peer.db", p->dir);
    if ((rc = mim_store_open(path, MIM_STORE_PEER, &p->store)) != 0)
        return fail(p->err, sizeof(p->err), "store %s: %s", path, mim_strerror(rc));
    return 0;
}

int pe_peer_init(pe_peer *p, const char *name, const char *dir)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    if (dir != NULL) {
        snprintf(p->dir, sizeof(p->dir), "%s", dir);
    } else {
        if (pe_tmpdir(p->dir, name) != 0)
            return fail(p->err, sizeof(p->err), "mkdtemp: %s", strerror(errno));
        p->owns_dir = 1;
    }
    if ((p->id = mim_identity_generate()) == NULL)
        return fail(p->err, sizeof(p->err), "out of memory");
    /* Any port will do: nothing dials it in these tests, the server only passes it on. */
    p->listen_port = (uint16_t)(20000 + mim_random_uniform(40000));
    return open_store(p);
}

int pe_peer_init_same_id(pe_peer *p, const pe_peer *of)
{
    if (pe_peer_init(p, of->name, NULL) != 0)
        return -1;
    memcpy(p->id, of->id, sizeof(*p->id));
    return 0;
}

int pe_peer_start(pe_peer *p, uv_loop_t *loop, int port, uint32_t ping_ms, uint32_t backoff_min,
                  uint32_t backoff_max)
{
    presence_client_config cfg;
    struct sockaddr_in *a = (struct sockaddr_in *)&cfg.server;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = loop;
    cfg.id = p->id;
    cfg.name = p->name;
    cfg.listen_port = p->listen_port;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cfg.store = p->store;
    cfg.ping_interval_ms = ping_ms;
    cfg.backoff_min_ms = backoff_min;
    cfg.backoff_max_ms = backoff_max;
    p->stopped = 0;
    if ((rc = presence_client_start(&p->pc, &cfg, &pe_events, p)) != 0)
        return fail(p->err, sizeof(p->err), "presence_client_start: %s", mim_strerror(rc));
    return 0;
}

static void on_stopped(void *ud)
{
    pe_peer *p = ud;
    p->stopped = 1;
    p->pc = NULL;
}

void pe_peer_stop(pe_peer *p)
{
    if (p->pc != NULL)
        presence_client_stop(p->pc, on_stopped);
}

void pe_peer_cleanup(pe_peer *p)
{
    if (p->store != NULL)
        mim_store_close(p->store);
    p->store = NULL;
    mim_identity_free(p->id);
    p->id = NULL;
    if (p->owns_dir && p->dir[0] != '\0')
        pe_rmtree(p->dir);
    p->dir[0] = '\0';
}

size_t pe_count(const pe_peer *p, enum pe_event_type type, const char *name, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < p->nev; i++)
        if (p->ev[i].type == type && (name == NULL || strcmp(p->ev[i].name, name) == 0))
            n++;
    return n;
}

const pe_event *pe_last(const pe_peer *p, enum pe_event_type type, const char *name)
{
    for (size_t i = p->nev; i-- > 0;)
        if (p->ev[i].type == type && (name == NULL || strcmp(p->ev[i].name, name) == 0))
            return &p->ev[i];
    return NULL;
}

int pe_state(const pe_peer *p)
{
    return p->pc != NULL ? (int)presence_client_state(p->pc) : PRESENCE_DISCONNECTED;
}

int pe_in_table(const pe_peer *p, const char *name)
{
    return p->pc != NULL && online_table_find_name(presence_client_table(p->pc), name) != NULL;
}

void pe_dump(const pe_peer *p)
{
    static const char *const names[] = {"?",       "state",  "server_key", "online",
                                        "offline", "status", "error"};
    fprintf(stderr, "---- events of %s ----\n", p->name);
    for (size_t i = 0; i < p->nev; i++) {
        const pe_event *e = &p->ev[i];
        fprintf(stderr, "%3zu %-10s value=%d flag=%d name='%s' port=%u text='%s'\n", i,
                names[e->type], e->value, e->flag, e->name, (unsigned)e->port, e->text);
    }
}
