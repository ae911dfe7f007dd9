/* What the peer tests stand on: the real mim-presence as a child process, temporary
 * directories, a libuv loop driven until a condition holds (bounded by a guard timer, never a
 * sleep), and a test peer -- an identity, a store and a presence client -- that records every
 * event it gets.
 *
 * The server runs with --port P --discovery-port 0 --bind 127.0.0.1 --log-level debug
 * --data-dir D, and is ready when its "ready port=N discovery=M fingerprint=F" line arrives
 * (awaited for at most PE_READY_TIMEOUT_MS). Its stderr goes to a log file in its directory.
 *
 * Functions return 0 or -1; on -1 an `err` field says why. */
#ifndef MIM_TEST_PEER_ENV_H
#define MIM_TEST_PEER_ENV_H

#include "mim_crypto.h"
#include "mim_online_table.h"
#include "mim_store_peer.h"
#include "presence_client.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#define PE_READY_TIMEOUT_MS 10000
#define PE_STOP_TIMEOUT_MS  10000
#define PE_PATH_MAX         512

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t now_ms(void);
/* Waits at most timeout_ms for the child pid to exit: its wait status, or -1 when the time ran
 * out (the child is then SIGKILLed and reaped). */
int pe_wait_child(pid_t pid, int timeout_ms);

/* ---- temporary directories ------------------------------------------------------------------- */

/* mkdtemp under MIM_TEST_TMP with `tag` in the name. */
int pe_tmpdir(char out[PE_PATH_MAX], const char *tag);
/* rm -r (no symlink is followed). */
void pe_rmtree(const char *path);

/* ---- files a test stages (a data dir as a user's machine or an attacker leaves it) ---------- */

/* 1 when something, a symlink too, is at path (lstat). */
int pe_exists(const char *path);
/* The permission bits of the file at path (stat), or -1. */
int pe_mode(const char *path);
/* Writes text to a new or truncated file at path (mode 0600): 0 or -1. */
int pe_write_file(const char *path, const char *text);
/* 1 when the file at path holds exactly text (under 4 KiB). */
int pe_file_is(const char *path, const char *text);
/* Makes dir (0700) and plants dir/link, a symlink to tmp/elsewhere, a file with known text:
 * the staging of a symlinked key or database. 0 or -1. */
int pe_plant_symlink(const char *tmp, const char *dir, const char *link);
/* After a start refused for that symlink: 1 when tmp/elsewhere still holds its text (nothing was
 * written through the link) and nothing is at dir/absent (the start made nothing). */
int pe_planted_untouched(const char *tmp, const char *dir, const char *absent);

/* ---- the server ------------------------------------------------------------------------------ */

typedef struct pe_server {
    char dir[PE_PATH_MAX];      /* the log lives here */
    char data_dir[PE_PATH_MAX]; /* presence.key and presence.db */
    char log_path[PE_PATH_MAX + 16];
    const char *extra[8]; /* extra options, NULL-terminated (kept across restarts) */
    pid_t pid;            /* 0 when not running */
    int port, discovery_port;
    char fingerprint[MIM_FINGERPRINT_LEN];
    char err[512];
} pe_server;

/* Creates the directory (data dir inside) without starting anything. */
int pe_server_init(pe_server *s, const char *tag);
/* Starts on `port` (0 = any) and waits for the ready line. A port still held by a dying
 * predecessor is retried for up to 5 s. */
int pe_server_start(pe_server *s, int port);
/* SIGKILL and reap. */
void pe_server_kill(pe_server *s);
/* SIGSTOP / SIGCONT: a server that no longer answers. */
int pe_server_signal(pe_server *s, int sig);
/* SIGTERM and wait (bounded); 0 when it exited with status 0. */
int pe_server_stop(pe_server *s);
/* Lines of the log that contain needle. */
int pe_server_log_count(const pe_server *s, const char *needle);
/* Lines of the file at path (a process's log) that contain needle; 0 when it cannot be read. */
int pe_file_count(const char *path, const char *needle);
/* Waits at most timeout_ms for a log line with needle: 1 when it came. (The server logs a close
 * in its close callback, a moment after the client saw the connection end.) */
int pe_server_wait_log(const pe_server *s, const char *needle, int timeout_ms);
void pe_server_dump_log(const pe_server *s);
/* Kills it if it runs and removes its directory. */
void pe_server_cleanup(pe_server *s);

/* ---- the loop -------------------------------------------------------------------------------- */

typedef struct pe_loop {
    uv_loop_t loop;
    uv_timer_t guard;   /* ends a wait that took too long */
    uv_prepare_t check; /* evaluates the condition before every wait for I/O */
    int (*pred)(void *arg);
    void *arg;
    int timed_out;
} pe_loop;

int pe_loop_init(pe_loop *l);
/* Runs the loop until pred(arg) is true or timeout_ms passed: 1 when pred held. pred NULL
 * waits the whole time (to show that something does NOT happen). */
int pe_loop_wait(pe_loop *l, int (*pred)(void *arg), void *arg, uint64_t timeout_ms);
/* Closes the guard and the check, runs the loop out, and returns uv_loop_close() (0 when every
 * handle was closed). Handles still open are printed. */
int pe_loop_close(pe_loop *l);

/* ---- a test peer ----------------------------------------------------------------------------- */

enum pe_event_type {
    PE_EV_STATE = 1,
    PE_EV_SERVER_KEY,
    PE_EV_ONLINE,
    PE_EV_OFFLINE,
    PE_EV_STATUS,
    PE_EV_ERROR,
};

typedef struct pe_event {
    enum pe_event_type type;
    int value; /* state, verdict, status or error code */
    int flag;  /* is_self, has old_pk, or fatal */
    char name[MIM_NAME_MAX_BYTES + 1];
    char text[257]; /* status text or error message */
    uint8_t pk[32], old_pk[32];
    uint8_t addr[16];
    uint8_t addr_len;
    uint16_t port;
} pe_event;

#define PE_MAX_EVENTS 256

typedef struct pe_peer {
    char name[MIM_NAME_MAX_BYTES + 1];
    char dir[PE_PATH_MAX]; /* the store lives here */
    int owns_dir;
    mim_identity *id;
    mim_store *store;
    presence_client *pc;
    uint16_t listen_port;
    pe_event ev[PE_MAX_EVENTS];
    size_t nev;
    int stopped;       /* done() ran */
    int stop_on_state; /* > 0: on_state(stop_on_state) calls presence_client_stop */
    char err[256];
} pe_peer;

/* A new identity and a store in a new temporary directory (dir NULL), or in `dir` (a second
 * run on the same store). */
int pe_peer_init(pe_peer *p, const char *name, const char *dir);
/* Like pe_peer_init but with another peer's identity: a second process of the same user. */
int pe_peer_init_same_id(pe_peer *p, const pe_peer *of);
/* Starts the client against 127.0.0.1:port with the given timings (0 = the defaults). */
int pe_peer_start(pe_peer *p, uv_loop_t *loop, int port, uint32_t ping_ms, uint32_t backoff_min,
                  uint32_t backoff_max);
/* presence_client_stop; `stopped` becomes 1 when its done ran. */
void pe_peer_stop(pe_peer *p);
/* Closes the store, frees the identity, removes an owned directory. The client must be
 * stopped. */
void pe_peer_cleanup(pe_peer *p);

/* Events of `type` about `name` (NULL: any name), from index `from` on. */
size_t pe_count(const pe_peer *p, enum pe_event_type type, const char *name, size_t from);
/* The last such event, or NULL. */
const pe_event *pe_last(const pe_peer *p, enum pe_event_type type, const char *name);
/* The client's state now (PRESENCE_DISCONNECTED once stopped). */
int pe_state(const pe_peer *p);
/* 1 when the peer's table has `name`. */
int pe_in_table(const pe_peer *p, const char *name);
/* Prints the events, for a failing assertion. */
void pe_dump(const pe_peer *p);

/* ---- running one scenario ---------------------------------------------------------------- */

/* One scenario of a test program; ctest runs each as its own entry: `PROGRAM NAME`. */
typedef struct pe_test {
    const char *name;
    void (*fn)(void **state);
} pe_test;

/* The table entry of scenario `name`, run by test_<name>. A program's table is the one list of
 * its scenarios: CMake registers a ctest entry for each `PE_SCENARIO(name),` in the source
 * (mim_add_scenarios in tests/CMakeLists.txt). */
#define PE_SCENARIO(name)                                                                          \
    {                                                                                              \
#name, test_##name                                                                         \
    }

/* The main() of a scenario program: runs the scenario argv[1] of tests[0..n) with setup and
 * teardown (SIGPIPE ignored, libsodium initialised). Its exit code: cmocka's, or 2 for a
 * usage error (the scenarios are listed). */
int pe_run_named(int argc, char **argv, const pe_test *tests, size_t n, int (*setup)(void **state),
                 int (*teardown)(void **state));

#endif
