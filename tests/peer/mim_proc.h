/* A harness for end-to-end tests of `mim --json` (test_json_*.c, tests/tui): real mim
 * processes (the binary MIM_BIN) driven through pipes, one JSON command per line on their stdin,
 * one event (a JSON object) per line on their stdout, their stderr appended to a log file. Every
 * event a process writes is kept, in order, in its `ev` list; waits are bounded polls on the
 * processes' stdout, never sleeps.
 *
 * Functions that take a test's word for something (mp_send_line, mp_cmd, mp_expect*, mp_quit,
 * mp_restart, the helpers at the end) fail the running cmocka test on a miss; the others return
 * what they found. A process writing a line that is not a JSON object fails the test. */
#ifndef MIM_TEST_MIM_PROC_H
#define MIM_TEST_MIM_PROC_H

#include "peer_env.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WAIT_MS    15000 /* how long mp_expect waits for an event that should come */
#define MAX_EVENTS 512   /* events kept per process; later ones are dropped */
#define ABSENT_MS  1500  /* the window in which an event that must not come would have come */

/* One mim process. */
typedef struct mp {
    char name[64];
    char dir[PE_PATH_MAX]; /* data dir */
    char log[PE_PATH_MAX + 16];
    const char *extra[4]; /* more options for mp_start, NULL-terminated (kept across restarts) */
    pid_t pid;            /* 0 when not running (or reaped) */
    int in_fd, out_fd;
    char buf[1 << 17];
    size_t blen;
    json_t *ev[MAX_EVENTS];
    size_t nev;
} mp;

/* A test's world: one presence server on a port the kernel chose, a temporary directory, and
 * three processes (alice, bob, carol), not started. */
typedef struct fixture {
    pe_server srv;
    char tmp[PE_PATH_MAX];
    mp peers[3];
} fixture;

/* ---- one mim process ------------------------------------------------------------------------- */

/* Fills p for `mim --name name`, with its data dir f->tmp/dir_name and its log
 * f->tmp/dir_name.log. Starts nothing. */
void mp_init(mp *p, const fixture *f, const char *name, const char *dir_name);
/* Starts `mim --json --name N --server 127.0.0.1:server_port --data-dir D --log-level debug`
 * and p->extra, with pipes on its stdin and stdout (the buffer is emptied; the events stay): 0 or
 * -1. The child dies with the test process. */
int mp_start(mp *p, int server_port);
/* Writes line and a newline to its stdin. */
void mp_send_line(mp *p, const char *line);
/* Writes s to its stdin in one write(): the commands in it are read, and done, in one turn. */
void mp_write_once(mp *p, const char *s);
/* mp_send_line of a formatted line (at most 4095 bytes). */
void mp_cmd(mp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads what is there (waiting at most timeout_ms for something) and appends the complete lines
 * to the events: 0, or -1 at EOF (or when its stdout is closed). */
int mp_pump(mp *p, int timeout_ms);
/* Reads the events of all of ps (n <= 4) for `ms` milliseconds: to see what arrives in a window.
 * One of them closing its stdout fails the test. */
void mp_pump_all(mp **ps, size_t n, uint64_t ms);

/* The string field key of ev, or NULL (absent, or not a string). */
const char *sfield(const json_t *ev, const char *key);
/* Does ev match: event name, and key = val (string) when key is not NULL? */
int matches(const json_t *ev, const char *event, const char *key, const char *val);
/* How many events read so far match. */
size_t mp_count(const mp *p, const char *event, const char *key, const char *val);
/* The first event at index >= from matching event, key = val and key2 = val2 (what is already
 * read; no wait), or NULL. */
json_t *mp_find2(const mp *p, size_t from, const char *event, const char *key, const char *val,
                 const char *key2, const char *val2);
/* Events at index >= from that match (what is read so far). */
size_t mp_count_from(const mp *p, size_t from, const char *event, const char *key, const char *val);
/* The index of the first event at index >= from matching, or -1 (what is read so far). */
long mp_index_of(const mp *p, size_t from, const char *event, const char *key, const char *val);
/* The index of the first event at index >= from with this tag (any event), or -1. */
long mp_first_tagged(const mp *p, size_t from, const char *tag);
/* Drops the events read so far (a long run would overflow MAX_EVENTS). */
void mp_clear_events(mp *p);
/* Prints the events read so far to stderr, for a failing test. */
void mp_dump(const mp *p);
/* The first matching event at index >= from, waiting at most timeout_ms: its index, or -1 (the
 * time is up, or EOF). */
long mp_wait(mp *p, size_t from, const char *event, const char *key, const char *val,
             int timeout_ms);
/* Waits at most timeout_ms for the event, or fails the test with the process's events. The event
 * stays owned by p. */
json_t *mp_expect_within(mp *p, size_t from, const char *event, const char *key, const char *val,
                         int timeout_ms);
/* mp_expect_within for WAIT_MS. */
json_t *mp_expect(mp *p, size_t from, const char *event, const char *key, const char *val);

/* Reads stdout up to EOF and reaps the process, waiting at most timeout_ms in all (then it is
 * SIGKILLed): its wait status, or -1. The fds stay open. */
int mp_reap(mp *p, int timeout_ms);
/* Runs `mim args...` (a NULL-terminated list) to its end, with HOME=home and no XDG_DATA_HOME,
 * stdin from /dev/null and stderr into the file err_path: for the command line's refusals. Its
 * wait status, or -1 (it did not end within timeout_ms, and was killed). stderr is appended. */
int mp_run_cli(const char *const *args, const char *home, const char *err_path, int timeout_ms);
/* Closes the pipes (idempotent). */
void mp_close_fds(mp *p);
/* Waits (bounded, WAIT_MS) for a line with needle in its log, or fails the test. */
void mp_expect_log(const mp *p, const char *needle);
/* Sends `quit`; the process must exit 0 within 10 s. */
void mp_quit(mp *p);
/* SIGKILL, reap, close the pipes. p must be running. */
void mp_kill9(mp *p);
/* Kills it if it runs, closes the pipes, frees the events. */
void mp_cleanup(mp *p);
/* Starts p again on port with a fresh event list (the old events are dropped) and waits for its
 * ready. */
void mp_restart(mp *p, int port);

/* ---- the fixture ----------------------------------------------------------------------------- */

/* A cmocka setup: a new fixture in *state, its temporary directory and server named after tag
 * (the server's is tag-srv), the server started. 0 or -1. */
int fixture_setup(void **state, const char *tag);
/* The cmocka teardown of fixture_setup: every process killed and cleaned up, the server stopped,
 * the directory removed. */
int fixture_teardown(void **state);
/* The main() of a test_json_*.c program: pe_run_named with fixture_setup(tag) and
 * fixture_teardown around the scenario argv[1] of tests[0..n). */
int mp_run_named(int argc, char **argv, const pe_test *tests, size_t n, const char *tag);

/* ---- helpers --------------------------------------------------------------------------------- */

/* Starts p against f's server and waits for its ready event, which it returns. */
json_t *start_peer(fixture *f, mp *p);
/* Both are running: each sees the other online. */
void see_each_other(mp *a, mp *b);
/* a sends text (no JSON escapes needed) to b with tag: sent and delivered on a, message (from,
 * text, ts) on b. The message's id goes to id_out (33 bytes) when it is not NULL. */
void exchange(mp *a, mp *b, const char *text, const char *tag, char *id_out);

/* The listen_port of a `ready` event. */
int ready_port(const json_t *ready);
/* A `who` round trip on p: every event p wrote before its answer has been read once this
 * returns. Returns the index of the first event after the command was sent. */
size_t round_trip(mp *p, const char *tag);
/* Runs `mim-presence --data-dir D --free-name NAME` (the admin, while the server runs); it must
 * exit 0 within 10 s. */
void free_name(const pe_server *s, const char *name);

/* alice (a) and bob (b) start and pin each other (a message), then bob quits: returns the index
 * of alice's first event after bob quit (her `offline` for him is at or after it). */
size_t stage_pinned_offline(fixture *f, mp *a, mp *b);
/* Stages a key change under a pinned name: alice (a) pins bob (b) by exchanging a message, bob
 * quits, the admin frees "bob", and a new bob (nb: its own data dir, so a new key) starts.
 * old_fp and new_fp get bob's two fingerprints. Returns the index of alice's first event after
 * bob quit (her `online` for the new bob comes after it). */
size_t stage_key_change(fixture *f, mp *a, mp *b, mp *nb, char old_fp[64], char new_fp[64]);

#endif
