/* Runs mim-presence as a child process for the integration tests.
 *
 * Each server_proc owns a temporary directory (mkdtemp under MIM_TEST_TMP) holding the server's
 * data dir and its log (stderr, appended across restarts). The server is started with
 * --port 0 --discovery-port 0 so tests can run in parallel, and with --bind 127.0.0.1 unless the
 * test asks otherwise (sp_set_bind): a test never listens on every interface, and its port-0
 * IPv4 bind cannot collide with the IPv6 half of another server's dual-stack default. The ports
 * and the fingerprint come from its "ready port=N discovery=M fingerprint=F" line on stdout,
 * awaited for at most SP_READY_TIMEOUT_MS. Every wait is bounded.
 *
 * Functions return 0 or -1; on -1, sp->err says why. */
#ifndef MIM_TEST_SERVER_PROC_H
#define MIM_TEST_SERVER_PROC_H

#include "mim_crypto.h"

#include <stdio.h>
#include <sys/types.h>

#define SP_READY_TIMEOUT_MS 10000 /* from exec to the ready line */
#define SP_STOP_TIMEOUT_MS  10000 /* from SIGTERM to exit; then SIGKILL and fail */
#define SP_MAX_ARGS         24
#define SP_MAX_BINDS        4  /* --bind addresses a test may ask for */
#define SP_ADDR_LEN         48 /* a numeric IPv4 or IPv6 address, NUL included */

typedef struct server_proc {
    char dir[512];      /* this test's temporary directory */
    char data_dir[600]; /* dir/data: presence.key and presence.db */
    char log_path[600]; /* dir/server.log: the server's stderr */
    pid_t pid;          /* 0 when not running */
    int out_fd;         /* read end of the server's stdout, -1 when not running */
    int port;           /* TCP port from the ready line */
    int discovery_port; /* UDP port from the ready line */
    char fingerprint[MIM_FINGERPRINT_LEN];
    const char *extra[SP_MAX_ARGS];        /* extra options of the last start, NULL-terminated */
    char binds[SP_MAX_BINDS][SP_ADDR_LEN]; /* one --bind each; see sp_set_bind */
    int nbinds;                            /* 0: no --bind, the server's own default */
    char err[512];
} server_proc;

/* Creates the temporary directory; the server is not started. Binds are 127.0.0.1 alone. */
int sp_init(server_proc *sp, const char *tag);
/* The addresses the next start listens on, one --bind each (kept for sp_restart). addrs: a
 * NULL-terminated list of at most SP_MAX_BINDS numeric addresses; NULL or an empty list: no
 * --bind at all, so the server takes its own default (every IPv6 and IPv4 address). */
int sp_set_bind(server_proc *sp, const char *const *addrs);
/* Starts the server on the data dir with --port port --discovery-port dport (0 = any), the
 * binds (sp_set_bind) and the NULL-terminated extra options (may be NULL; kept for sp_restart;
 * --bind / -b among them is refused: use sp_set_bind), and waits for the ready line. On failure
 * the child is killed and reaped. */
int sp_start_on(server_proc *sp, int port, int dport, const char *const *extra);
int sp_start(server_proc *sp, const char *const *extra);
/* Sends sig to the running server. */
int sp_signal(server_proc *sp, int sig);
/* Waits at most timeout_ms for the server to exit; *status gets the waitpid status. On timeout
 * the server is killed (SIGKILL), reaped, and -1 returned. */
int sp_wait(server_proc *sp, int timeout_ms, int *status);
/* SIGTERM, then sp_wait(SP_STOP_TIMEOUT_MS). */
int sp_stop(server_proc *sp, int *status);
/* Stops (requiring exit status 0) and starts again on the same data dir with the same options,
 * on the same ports when they are still free, else on new ones. */
int sp_restart(server_proc *sp);
/* SIGKILL and reap, for cleaning up after a failed test. */
void sp_kill(server_proc *sp);
/* "exited with status 0", "killed by signal 6", for assertion messages. */
const char *sp_status_str(int status, char *buf, size_t len);

/* Runs argv (argv[0] a path) to completion within timeout_ms, stdout captured into out (cap
 * bytes, NUL-terminated), stderr appended to the server log. *status gets the waitpid status. */
int sp_run(server_proc *sp, const char *const *argv, int timeout_ms, char *out, size_t cap,
           int *status);
/* mim-presence --free-name name --data-dir <data dir>: *status as above. */
int sp_free_name(server_proc *sp, const char *name, int *status);

/* 1 when the server log contains needle. */
int sp_log_contains(const server_proc *sp, const char *needle);
/* The offset of the first `byte` in the server log, -1 when there is none, -2 when the log
 * cannot be read. (To show that no raw control byte from a peer reached the log.) */
long sp_log_find_byte(const server_proc *sp, int byte);
/* Waits at most timeout_ms for a line with needle to appear in the log: 1 when it did. (The
 * server logs a close in its close callback, a moment after the peer saw the close.) */
int sp_wait_log(const server_proc *sp, const char *needle, int timeout_ms);
/* Copies the server log to `to`, framed, so a failing test shows what the server said. */
void sp_dump_log(const server_proc *sp, FILE *to);
/* Kills the server if it still runs and removes the temporary directory. */
void sp_cleanup(server_proc *sp);

#endif
