/* End-to-end tests of `mim --json`: a real mim-presence (peer_env.c) and real mim processes
 * driven through pipes, one JSON command per line in, one event per line out. Waits are bounded
 * polls on the processes' stdout, never sleeps. Each scenario is its own ctest entry
 * (peer/json_<name>). */
#include "peer_env.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#define WAIT_MS    15000 /* an event that should come */
#define MAX_EVENTS 512

typedef struct mp {
    char name[64];
    char dir[PE_PATH_MAX]; /* data dir */
    char log[PE_PATH_MAX + 16];
    pid_t pid;
    int in_fd, out_fd;
    char buf[1 << 17];
    size_t blen;
    json_t *ev[MAX_EVENTS];
    size_t nev;
} mp;

typedef struct fixture {
    pe_server srv;
    char tmp[PE_PATH_MAX];
    mp peers[3];
} fixture;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- one mim process ------------------------------------------------------------------------- */

static void mp_init(mp *p, const fixture *f, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->dir, sizeof(p->dir), "%.400s/%s", f->tmp, name);
    snprintf(p->log, sizeof(p->log), "%.400s/%s.log", f->tmp, name);
    p->in_fd = p->out_fd = -1;
}

static int mp_start(mp *p, int server_port)
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
        const char *argv[] = {MIM_BIN,      "--json", "--name",      p->name, "--server", server,
                              "--data-dir", p->dir,   "--log-level", "debug", NULL};
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

static void mp_send_line(mp *p, const char *line)
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

static void mp_cmd(mp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mp_cmd(mp *p, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    mp_send_line(p, line);
}

/* Reads what is there (waiting at most timeout_ms for something). -1 at EOF. */
static int mp_pump(mp *p, int timeout_ms)
{
    struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
    ssize_t n;
    char *nl;

    if (p->out_fd < 0)
        return -1;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    n = read(p->out_fd, p->buf + p->blen, sizeof(p->buf) - 1 - p->blen);
    if (n <= 0)
        return -1;
    p->blen += (size_t)n;
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
    return 0;
}

static const char *sfield(const json_t *ev, const char *key)
{
    const json_t *v = json_object_get(ev, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Does ev match: event name, and key = val (string) when key is not NULL? */
static int matches(const json_t *ev, const char *event, const char *key, const char *val)
{
    const char *e = sfield(ev, "event"), *v;
    if (e == NULL || strcmp(e, event) != 0)
        return 0;
    if (key == NULL)
        return 1;
    v = sfield(ev, key);
    return v != NULL && strcmp(v, val) == 0;
}

static size_t mp_count(const mp *p, const char *event, const char *key, const char *val)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nev; i++)
        n += matches(p->ev[i], event, key, val);
    return n;
}

static void mp_dump(const mp *p)
{
    fprintf(stderr, "---- events of %s ----\n", p->name);
    for (size_t i = 0; i < p->nev; i++) {
        char *s = json_dumps(p->ev[i], JSON_COMPACT);
        fprintf(stderr, "  %s\n", s != NULL ? s : "?");
        free(s);
    }
}

/* The first matching event at index >= from, waiting at most timeout_ms: its index or -1. */
static long mp_wait(mp *p, size_t from, const char *event, const char *key, const char *val,
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

/* Waits for the event or fails the test with the process's events. */
static json_t *mp_expect(mp *p, size_t from, const char *event, const char *key, const char *val)
{
    long i = mp_wait(p, from, event, key, val, WAIT_MS);
    if (i < 0) {
        mp_dump(p);
        fail_msg("%s: no '%s' event%s%s%s%s within %d ms", p->name, event, key ? " with " : "",
                 key ? key : "", key ? "=" : "", key ? val : "", WAIT_MS);
    }
    return p->ev[i];
}

/* Reaps the process, waiting at most timeout_ms: its wait status, or -1. */
static int mp_reap(mp *p, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int status;

    if (p->pid == 0)
        return -1;
    /* Drain stdout until EOF: the process exits after its last event. */
    while (now_ms() < deadline && mp_pump(p, (int)(deadline - now_ms())) == 0)
        ;
    for (;;) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (now_ms() >= deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = 0;
            return -1;
        }
        nanosleep(&tick, NULL); /* a bounded poll for the exit */
    }
    p->pid = 0;
    return status;
}

static void mp_close_fds(mp *p)
{
    if (p->in_fd >= 0)
        close(p->in_fd);
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->in_fd = p->out_fd = -1;
}

/* `quit`, then the process must exit 0. */
static void mp_quit(mp *p)
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

static void mp_kill9(mp *p)
{
    int status;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    mp_close_fds(p);
}

static void mp_cleanup(mp *p)
{
    if (p->pid != 0)
        mp_kill9(p);
    mp_close_fds(p);
    for (size_t i = 0; i < p->nev; i++)
        json_decref(p->ev[i]);
    p->nev = 0;
}

/* A fresh event list for a restarted process (the old events are dropped). */
static void mp_restart(mp *p, int port)
{
    for (size_t i = 0; i < p->nev; i++)
        json_decref(p->ev[i]);
    p->nev = 0;
    assert_int_equal(mp_start(p, port), 0);
    mp_expect(p, 0, "ready", "name", p->name);
}

/* ---- fixture --------------------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || pe_tmpdir(f->tmp, "json") != 0 || pe_server_init(&f->srv, "json-srv") != 0)
        return -1;
    if (pe_server_start(&f->srv, 0) != 0) {
        fprintf(stderr, "server: %s\n", f->srv.err);
        return -1;
    }
    mp_init(&f->peers[0], f, "alice");
    mp_init(&f->peers[1], f, "bob");
    mp_init(&f->peers[2], f, "carol");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        mp_cleanup(&f->peers[i]);
    pe_server_cleanup(&f->srv);
    pe_rmtree(f->tmp);
    free(f);
    return 0;
}

static void start_peer(fixture *f, mp *p)
{
    assert_int_equal(mp_start(p, f->srv.port), 0);
    mp_expect(p, 0, "ready", "name", p->name);
}

/* Both are running: each sees the other online. */
static void see_each_other(mp *a, mp *b)
{
    mp_expect(a, 0, "online", "name", b->name);
    mp_expect(b, 0, "online", "name", a->name);
}

/* a sends text to b: sent, delivered on a; message on b. Returns nothing; fails on a miss. */
static void exchange(mp *a, mp *b, const char *text, const char *tag)
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
}

/* ---- scenarios ------------------------------------------------------------------------------- */

/* (a) two peers see each other and talk both ways, with sent and delivered. */
static void test_two_peers(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello bob", "a1");
    mp_expect(b, 0, "chat_opened", "with", "alice");
    exchange(b, a, "hello alice, \xc3\xa9t\xc3\xa9", "b1");
    exchange(a, b, "second", "a2");
    assert_int_equal(mp_count(b, "chat_opened", NULL, NULL), 1);
    assert_int_equal(mp_count(b, "message", "from", "alice"), 2);
    assert_int_equal(mp_count(a, "message", "from", "bob"), 1);
    mp_quit(a);
    mp_quit(b);
}

/* Makes b a contact of a (a pins b's key), then stops b. */
static void meet_then_part(fixture *f, mp *a, mp *b)
{
    start_peer(f, b);
    see_each_other(a, b);
    exchange(b, a, "hi", "meet");
    mp_quit(b);
    mp_expect(a, 0, "offline", "name", b->name);
}

/* (b) a message to an offline contact is queued, and delivered exactly once when it starts. */
static void test_offline(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *q, *msg;
    const char *id;
    size_t a0;

    start_peer(f, a);
    meet_then_part(f, a, b);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"while you were out\",\"tag\":\"q1\"}");
    q = mp_expect(a, a0, "queued", "tag", "q1");
    id = sfield(q, "id");
    assert_non_null(id);
    assert_int_equal(mp_count(a, "sent", "id", id), 0);

    mp_restart(b, f->srv.port);
    msg = mp_expect(b, 0, "message", "id", id);
    assert_string_equal(sfield(msg, "text"), "while you were out");
    mp_expect(a, a0, "sent", "id", id);
    mp_expect(a, a0, "delivered", "id", id);
    /* A round trip on b after the delivery: a second copy would have shown by now. */
    mp_cmd(b, "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(b, 0, "who_end", "tag", "w");
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

/* (c) the sender is SIGKILLed after `queued`; restarted on the same data dir, it delivers the
 * message once the recipient is online, exactly once. */
static void test_sender_killed(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[33];
    json_t *q;
    size_t a0;

    start_peer(f, a);
    meet_then_part(f, a, b);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"survives a crash\",\"tag\":\"k1\"}");
    q = mp_expect(a, a0, "queued", "tag", "k1");
    snprintf(id, sizeof(id), "%s", sfield(q, "id"));
    mp_kill9(a);

    mp_restart(a, f->srv.port);
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "message", "id", id);
    mp_expect(a, 0, "delivered", "id", id);
    mp_cmd(b, "{\"cmd\":\"history\",\"with\":\"alice\",\"tag\":\"h\"}");
    {
        json_t *h = mp_expect(b, 0, "history", "tag", "h");
        json_t *msgs = json_object_get(h, "messages");
        size_t n = 0;
        assert_true(json_is_array(msgs));
        for (size_t i = 0; i < json_array_size(msgs); i++)
            n += strcmp(sfield(json_array_get(msgs, i), "id"), id) == 0;
        assert_int_equal(n, 1);
    }
    assert_int_equal(mp_count(b, "message", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

/* (d) bad commands get error events, and the peer keeps answering. */
static void test_bad_commands(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    json_t *e;
    char *huge;

    start_peer(f, a);
    mp_send_line(a, "this is not json");
    e = mp_expect(a, 0, "error", "code", "bad_json");
    mp_send_line(a, "[1,2,3]");
    mp_cmd(a, "{\"cmd\":\"frobnicate\",\"tag\":\"t1\"}");
    e = mp_expect(a, 0, "error", "tag", "t1");
    assert_string_equal(sfield(e, "code"), "unknown_command");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"tag\":\"t2\"}");
    e = mp_expect(a, 0, "error", "tag", "t2");
    assert_string_equal(sfield(e, "code"), "missing_field");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"nobody\",\"text\":\"hi\",\"tag\":\"t3\"}");
    e = mp_expect(a, 0, "error", "tag", "t3");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":17,\"text\":\"hi\",\"tag\":\"t4\"}");
    e = mp_expect(a, 0, "error", "tag", "t4");
    assert_string_equal(sfield(e, "code"), "bad_field");
    mp_cmd(a, "{\"tag\":\"t5\"}");
    e = mp_expect(a, 0, "error", "tag", "t5");
    assert_string_equal(sfield(e, "code"), "missing_field");
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"nobody\",\"tag\":\"t6\"}");
    e = mp_expect(a, 0, "error", "tag", "t6");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    /* A line over the cap is refused and skipped; the next one is read normally. */
    huge = malloc(70001);
    assert_non_null(huge);
    memset(huge, 'x', 70000);
    huge[70000] = '\0';
    mp_send_line(a, huge);
    free(huge);
    mp_cmd(a, "{\"cmd\":\"who\",\"tag\":\"w1\"}");
    mp_expect(a, 0, "who_end", "tag", "w1");
    assert_true(mp_count(a, "error", "code", "bad_json") >= 3);
    mp_quit(a);
}

/* (e) both sides compute the same 60-digit safety number. */
static void test_verify(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *sa, *sb;
    const char *na, *nb;
    size_t digits = 0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"bob\",\"tag\":\"v\"}");
    mp_cmd(b, "{\"cmd\":\"verify\",\"with\":\"alice\",\"tag\":\"v\"}");
    sa = mp_expect(a, 0, "safety_number", "tag", "v");
    sb = mp_expect(b, 0, "safety_number", "tag", "v");
    na = sfield(sa, "number");
    nb = sfield(sb, "number");
    assert_non_null(na);
    assert_non_null(nb);
    assert_string_equal(na, nb);
    for (const char *p = na; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else
            assert_int_equal(*p, ' ');
    }
    assert_int_equal(digits, 60);
    mp_quit(a);
    mp_quit(b);
}

/* A second process under a registered name, with another key: error name_taken, exit 1. */
static void test_name_taken(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *imp = &f->peers[2];
    json_t *e;
    int status;

    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    snprintf(imp->name, sizeof(imp->name), "alice");
    snprintf(imp->dir, sizeof(imp->dir), "%.400s/alice-impostor", f->tmp);
    start_peer(f, imp);
    e = mp_expect(imp, 0, "error", "code", "name_taken");
    assert_non_null(sfield(e, "message"));
    status = mp_reap(imp, 10000);
    mp_close_fds(imp);
    assert_true(status >= 0 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    /* The owner of the name is still fine. */
    mp_cmd(a, "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(a, 0, "who_end", "tag", "w");
    mp_quit(a);
}

static const struct {
    const char *name;
    void (*fn)(void **);
} tests[] = {
    {"two_peers", test_two_peers},
    {"offline", test_offline},
    {"sender_killed", test_sender_killed},
    {"bad_commands", test_bad_commands},
    {"verify", test_verify},
    {"name_taken", test_name_taken},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST (one of:", argv[0]);
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
            fprintf(stderr, " %s", tests[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            const struct CMUnitTest one[] = {
                {tests[i].name, tests[i].fn, setup, teardown, NULL},
            };
            return _cmocka_run_group_tests(tests[i].name, one, 1, NULL, NULL);
        }
    }
    fprintf(stderr, "%s: no test named '%s'\n", argv[0], argv[1]);
    return 2;
}
