/* The harness of the `mim --json` end-to-end tests: see mim_proc.h. */
#include "mim_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef MIM_BIN
#error "MIM_BIN must name the mim binary"
#endif

/* ---- one mim process ------------------------------------------------------------------------- */

void mp_init(mp *p, const fixture *f, const char *name, const char *dir_name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->dir, sizeof(p->dir), "%.400s/%s", f->tmp, dir_name);
    snprintf(p->log, sizeof(p->log), "%.400s/%s.log", f->tmp, dir_name);
    p->in_fd = p->out_fd = -1;
}

int mp_start(mp *p, int server_port)
{
    char server[64];
    int in[2], out[2], log_fd;
    pid_t pid;

    snprintf(server, sizeof(server), "127.0.0.1:%d", server_port);
    if (pipe(in) != 0 || pipe(out) != 0)
        return -1;
    log_fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return -1;
    fflush(NULL);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        const char *argv[16] = {MIM_BIN,      "--json", "--name",      p->name, "--server", server,
                                "--data-dir", p->dir,   "--log-level", "debug", NULL};
        for (size_t i = 0, n = 10; i < 4 && p->extra[i] != NULL; i++)
            argv[n++] = p->extra[i];
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(log_fd, 2);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(log_fd);
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    p->pid = pid;
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->blen = 0;
    return 0;
}

int mp_run_cli(const char *const *args, const char *home, const char *err_path, int timeout_ms)
{
    const char *argv[16] = {MIM_BIN};
    size_t n = 1;
    pid_t pid;

    while (n < 15 && args[n - 1] != NULL) {
        argv[n] = args[n - 1];
        n++;
    }
    fflush(NULL);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY),
            err_fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (null_fd < 0 || err_fd < 0 || setenv("HOME", home, 1) != 0 ||
            unsetenv("XDG_DATA_HOME") != 0)
            _exit(127);
        dup2(null_fd, 0);
        dup2(err_fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pe_wait_child(pid, timeout_ms);
}

void mp_send_line(mp *p, const char *line)
{
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t n = write(p->in_fd, line + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n > 0);
        off += (size_t)n;
    }
    assert_int_equal(write(p->in_fd, "\n", 1), 1);
}

void mp_write_once(mp *p, const char *s)
{
    assert_int_equal(write(p->in_fd, s, strlen(s)), (ssize_t)strlen(s));
}

void mp_cmd(mp *p, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    mp_send_line(p, line);
}

/* Splits what is buffered into events. */
static void mp_parse(mp *p)
{
    char *nl;
    while ((nl = memchr(p->buf, '\n', p->blen)) != NULL) {
        json_error_t err;
        size_t len = (size_t)(nl - p->buf);
        json_t *ev = json_loadb(p->buf, len, 0, &err);
        if (ev == NULL || !json_is_object(ev))
            fail_msg("%s wrote a line that is not a JSON object: %.*s", p->name, (int)len, p->buf);
        if (p->nev < MAX_EVENTS)
            p->ev[p->nev++] = ev;
        else
            json_decref(ev);
        memmove(p->buf, nl + 1, p->blen - len - 1);
        p->blen -= len + 1;
    }
}

/* Reads what is there (waiting at most timeout_ms for something). -1 at EOF. */
int mp_pump(mp *p, int timeout_ms)
{
    struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
    ssize_t n;

    if (p->out_fd < 0)
        return -1;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    n = read(p->out_fd, p->buf + p->blen, sizeof(p->buf) - 1 - p->blen);
    if (n <= 0)
        return -1;
    p->blen += (size_t)n;
    mp_parse(p);
    return 0;
}

/* Reads the events of all of ps for `ms` milliseconds (to see what arrives in a window). */
void mp_pump_all(mp **ps, size_t n, uint64_t ms)
{
    uint64_t deadline = now_ms() + ms;
    for (;;) {
        struct pollfd pfd[4];
        uint64_t now = now_ms();
        size_t k = 0;
        assert_true(n <= 4);
        if (now >= deadline)
            return;
        for (size_t i = 0; i < n; i++)
            if (ps[i]->out_fd >= 0) {
                pfd[k].fd = ps[i]->out_fd;
                pfd[k].events = POLLIN;
                pfd[k].revents = 0;
                k++;
            }
        if (k == 0 || poll(pfd, (nfds_t)k, (int)(deadline - now)) <= 0)
            continue; /* nothing open: the loop ends at the deadline */
        for (size_t i = 0; i < n; i++) {
            mp *p = ps[i];
            for (size_t j = 0; j < k; j++) {
                ssize_t r;
                if (pfd[j].fd != p->out_fd || pfd[j].revents == 0)
                    continue;
                r = read(p->out_fd, p->buf + p->blen, sizeof(p->buf) - 1 - p->blen);
                if (r <= 0)
                    fail_msg("%s closed its stdout (it exited)", p->name);
                p->blen += (size_t)r;
                mp_parse(p);
            }
        }
    }
}

const char *sfield(const json_t *ev, const char *key)
{
    const json_t *v = json_object_get(ev, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Does ev match: event name, and key = val (string) when key is not NULL? */
int matches(const json_t *ev, const char *event, const char *key, const char *val)
{
    const char *e = sfield(ev, "event"), *v;
    if (e == NULL || strcmp(e, event) != 0)
        return 0;
    if (key == NULL)
        return 1;
    v = sfield(ev, key);
    return v != NULL && strcmp(v, val) == 0;
}

size_t mp_count(const mp *p, const char *event, const char *key, const char *val)
{
    return mp_count_from(p, 0, event, key, val);
}

size_t mp_count_from(const mp *p, size_t from, const char *event, const char *key, const char *val)
{
    size_t n = 0;
    for (size_t i = from; i < p->nev; i++)
        n += matches(p->ev[i], event, key, val);
    return n;
}

long mp_index_of(const mp *p, size_t from, const char *event, const char *key, const char *val)
{
    for (size_t i = from; i < p->nev; i++)
        if (matches(p->ev[i], event, key, val))
            return (long)i;
    return -1;
}

long mp_first_tagged(const mp *p, size_t from, const char *tag)
{
    for (size_t i = from; i < p->nev; i++) {
        const char *t = sfield(p->ev[i], "tag");
        if (t != NULL && strcmp(t, tag) == 0)
            return (long)i;
    }
    return -1;
}

void mp_clear_events(mp *p)
{
    for (size_t i = 0; i < p->nev; i++)
        json_decref(p->ev[i]);
    p->nev = 0;
}

/* The first event at index >= from matching event, key = val and key2 = val2 (what is already
 * read; no wait), or NULL. */
json_t *mp_find2(const mp *p, size_t from, const char *event, const char *key, const char *val,
                 const char *key2, const char *val2)
{
    for (size_t i = from; i < p->nev; i++) {
        const char *v2 = sfield(p->ev[i], key2);
        if (matches(p->ev[i], event, key, val) && v2 != NULL && strcmp(v2, val2) == 0)
            return p->ev[i];
    }
    return NULL;
}

void mp_dump(const mp *p)
{
    fprintf(stderr, "---- events of %s (%s) ----\n", p->name, p->log);
    for (size_t i = 0; i < p->nev; i++) {
        char *s = json_dumps(p->ev[i], JSON_COMPACT);
        fprintf(stderr, "  %s\n", s != NULL ? s : "?");
        free(s);
    }
}

/* The first matching event at index >= from, waiting at most timeout_ms: its index or -1. */
long mp_wait(mp *p, size_t from, const char *event, const char *key, const char *val,
             int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    size_t i = from;

    for (;;) {
        uint64_t now;
        for (; i < p->nev; i++)
            if (matches(p->ev[i], event, key, val))
                return (long)i;
        now = now_ms();
        if (now >= deadline || mp_pump(p, (int)(deadline - now)) < 0) {
            for (; i < p->nev; i++)
                if (matches(p->ev[i], event, key, val))
                    return (long)i;
            return -1;
        }
    }
}

/* Waits at most timeout_ms for the event, or fails the test with the process's events. */
json_t *mp_expect_within(mp *p, size_t from, const char *event, const char *key, const char *val,
                         int timeout_ms)
{
    long i = mp_wait(p, from, event, key, val, timeout_ms);
    if (i < 0) {
        mp_dump(p);
        fail_msg("%s: no '%s' event%s%s%s%s within %d ms", p->name, event, key ? " with " : "",
                 key ? key : "", key ? "=" : "", key ? val : "", timeout_ms);
    }
    return p->ev[i];
}

json_t *mp_expect(mp *p, size_t from, const char *event, const char *key, const char *val)
{
    return mp_expect_within(p, from, event, key, val, WAIT_MS);
}

void mp_expect_log(const mp *p, const char *needle)
{
    uint64_t deadline = now_ms() + WAIT_MS;

    while (pe_file_count(p->log, needle) == 0) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        if (now_ms() >= deadline)
            fail_msg("no line with '%s' in %s", needle, p->log);
        nanosleep(&tick, NULL); /* a bounded poll of another process's file */
    }
}

/* Reaps the process, waiting at most timeout_ms: its wait status, or -1. */
int mp_reap(mp *p, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms, now;
    int status;

    if (p->pid == 0)
        return -1;
    /* Drain stdout until EOF: the process exits after its last event. */
    while (now_ms() < deadline && mp_pump(p, (int)(deadline - now_ms())) == 0)
        ;
    now = now_ms();
    status = pe_wait_child(p->pid, now < deadline ? (int)(deadline - now) : 0);
    p->pid = 0;
    return status;
}

void mp_close_fds(mp *p)
{
    if (p->in_fd >= 0)
        close(p->in_fd);
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->in_fd = p->out_fd = -1;
}

/* `quit`, then the process must exit 0. */
void mp_quit(mp *p)
{
    int status;
    mp_cmd(p, "{\"cmd\":\"quit\"}");
    status = mp_reap(p, 10000);
    mp_close_fds(p);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        mp_dump(p);
        fail_msg("%s did not exit 0 after quit (wait status 0x%x)", p->name, (unsigned)status);
    }
}

void mp_kill9(mp *p)
{
    int status;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    mp_close_fds(p);
}

void mp_cleanup(mp *p)
{
    if (p->pid != 0)
        mp_kill9(p);
    mp_close_fds(p);
    for (size_t i = 0; i < p->nev; i++)
        json_decref(p->ev[i]);
    p->nev = 0;
}

/* A fresh event list for a restarted process (the old events are dropped). */
void mp_restart(mp *p, int port)
{
    for (size_t i = 0; i < p->nev; i++)
        json_decref(p->ev[i]);
    p->nev = 0;
    assert_int_equal(mp_start(p, port), 0);
    mp_expect(p, 0, "ready", "name", p->name);
}

/* ---- fixture --------------------------------------------------------------------------------- */

int fixture_setup(void **state, const char *tag)
{
    fixture *f = calloc(1, sizeof(*f));
    char srv_tag[64];

    snprintf(srv_tag, sizeof(srv_tag), "%s-srv", tag);
    if (f == NULL || pe_tmpdir(f->tmp, tag) != 0 || pe_server_init(&f->srv, srv_tag) != 0)
        return -1;
    if (pe_server_start(&f->srv, 0) != 0) {
        fprintf(stderr, "server: %s\n", f->srv.err);
        return -1;
    }
    mp_init(&f->peers[0], f, "alice", "alice");
    mp_init(&f->peers[1], f, "bob", "bob");
    mp_init(&f->peers[2], f, "carol", "carol");
    *state = f;
    return 0;
}

int fixture_teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        mp_cleanup(&f->peers[i]);
    pe_server_cleanup(&f->srv);
    pe_rmtree(f->tmp);
    free(f);
    return 0;
}

static const char *fixture_tag; /* mp_run_named's tag, for tagged_setup */

static int tagged_setup(void **state)
{
    return fixture_setup(state, fixture_tag);
}

int mp_run_named(int argc, char **argv, const pe_test *tests, size_t n, const char *tag)
{
    fixture_tag = tag;
    return pe_run_named(argc, argv, tests, n, tagged_setup, fixture_teardown);
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* Starts p; returns its ready event. */
json_t *start_peer(fixture *f, mp *p)
{
    assert_int_equal(mp_start(p, f->srv.port), 0);
    return mp_expect(p, 0, "ready", "name", p->name);
}

/* Both are running: each sees the other online. */
void see_each_other(mp *a, mp *b)
{
    mp_expect(a, 0, "online", "name", b->name);
    mp_expect(b, 0, "online", "name", a->name);
}

/* a sends text to b: sent, delivered on a; message on b. The id goes to id_out (33 bytes) when
 * it is not NULL. */
void exchange(mp *a, mp *b, const char *text, const char *tag, char *id_out)
{
    size_t a0 = a->nev, b0 = b->nev;
    json_t *sent, *msg;
    const char *id;

    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"%s\",\"text\":\"%s\",\"tag\":\"%s\"}", b->name, text,
           tag);
    sent = mp_expect(a, a0, "sent", "tag", tag);
    assert_string_equal(sfield(sent, "to"), b->name);
    id = sfield(sent, "id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    mp_expect(a, a0, "delivered", "id", id);
    msg = mp_expect(b, b0, "message", "id", id);
    assert_string_equal(sfield(msg, "from"), a->name);
    assert_string_equal(sfield(msg, "text"), text);
    assert_true(json_is_integer(json_object_get(msg, "ts")));
    if (id_out != NULL)
        snprintf(id_out, 33, "%s", id);
}

int ready_port(const json_t *ready)
{
    const json_t *v = json_object_get(ready, "listen_port");
    assert_true(json_is_integer(v));
    assert_true(json_integer_value(v) > 0 && json_integer_value(v) < 65536);
    return (int)json_integer_value(v);
}

/* A `who` round trip on p: every event p wrote before its answer has been read then. Returns the
 * index of the first event of the answer. */
size_t round_trip(mp *p, const char *tag)
{
    size_t from = p->nev;
    mp_cmd(p, "{\"cmd\":\"who\",\"tag\":\"%s\"}", tag);
    mp_expect(p, from, "who_end", "tag", tag);
    return from;
}

/* Runs `mim-presence --data-dir D --free-name NAME` (the admin, while the server runs); it must
 * exit 0 within 10 s. */
void free_name(const pe_server *s, const char *name)
{
    char log[PE_PATH_MAX + 32];
    int status, log_fd;
    pid_t pid;

    snprintf(log, sizeof(log), "%s/free-name.log", s->dir);
    log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(log_fd >= 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[] = {MIM_PRESENCE_BIN, "--data-dir", s->data_dir,
                              "--free-name",    name,         NULL};
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log_fd);
    status = pe_wait_child(pid, 10000);
    if (status < 0)
        fail_msg("mim-presence --free-name did not exit within 10 s (see %s)", log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("mim-presence --free-name %s failed (wait status 0x%x; see %s)", name,
                 (unsigned)status, log);
}

size_t stage_pinned_offline(fixture *f, mp *a, mp *b)
{
    size_t a0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "pinning you", "p1", NULL);
    a0 = a->nev;
    mp_quit(b);
    mp_expect(a, a0, "offline", "name", "bob");
    return a0;
}

size_t stage_key_change(fixture *f, mp *a, mp *b, mp *nb, char old_fp[64], char new_fp[64])
{
    json_t *ev;
    size_t a0 = stage_pinned_offline(f, a, b);

    ev = mp_expect(b, 0, "ready", "name", "bob"); /* read already: no wait */
    snprintf(old_fp, 64, "%s", sfield(ev, "fingerprint"));

    free_name(&f->srv, "bob");
    mp_init(nb, f, "bob", "bob-new-key");
    ev = start_peer(f, nb);
    snprintf(new_fp, 64, "%s", sfield(ev, "fingerprint"));
    return a0;
}
