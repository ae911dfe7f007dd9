/* mim's data directory, end to end: real `mim --json` processes (mim_proc.h) started on data
 * dirs staged the way users' machines and attackers leave them (issue 12, finding 5, and the
 * `--name ../../x` of finding 10). Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   symlinked_parent  the data dir is reached through a symlinked parent: mim starts, and starts
 *                     again with the same identity
 *   symlinked_key     identity.key is a symlink: refused, said, and no database made
 *   symlinked_db      mim.db is a symlink: refused, said, and no identity made
 *   second_mim        a second mim on the same data dir exits 3 while the first runs, and
 *                     starts once the first has quit
 *   readable_db       a history group and others can read is set to 0600 (logged), and its
 *                     -wal and -shm are private too
 *   failed_start      a mim.db that is not a database: refused, untouched, no identity left
 *   name_escape       --name ../../x with the default data dir: refused (exit 2), nothing made
 *                     outside it */
#include "mim_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef MIM_BIN
#error "MIM_BIN must name the mim binary"
#endif

#define RUN_MS    10000 /* a refused start exits long before this */
#define EXIT_BUSY 3     /* mim's exit code for a data dir in use (MIM_DATADIR_EXIT_BUSY) */

/* ---- helpers ------------------------------------------------------------------------------ */

/* dir/name into out. */
static void path_in(const char *dir, const char *name, char *out, size_t len)
{
    assert_true((size_t)snprintf(out, len, "%s/%s", dir, name) < len);
}

/* Starts p, which must be refused: its exit code (it must exit within RUN_MS). */
static int run_refused(fixture *f, mp *p)
{
    int status;

    assert_int_equal(mp_start(p, f->srv.port), 0);
    status = mp_reap(p, RUN_MS);
    mp_close_fds(p);
    if (status == -1 || !WIFEXITED(status))
        fail_msg("%s was not refused (wait status %d)", p->name, status);
    return WEXITSTATUS(status);
}

static void assert_log(const mp *p, const char *needle)
{
    if (pe_file_count(p->log, needle) == 0)
        fail_msg("%s's log has no line with \"%s\"", p->name, needle);
}

/* ---- scenarios ---------------------------------------------------------------------------- */

/* A symlink in the data dir's path (a symlinked /home or ~/.local) is no reason to stop. */
static void test_symlinked_parent(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    char real[PE_PATH_MAX], link[PE_PATH_MAX], key[PE_PATH_MAX + 64], fp[64];

    path_in(f->tmp, "real", real, sizeof(real));
    path_in(f->tmp, "link", link, sizeof(link));
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink("real", link), 0);
    path_in(link, "share/alice", a->dir, sizeof(a->dir)); /* two levels made under the link */
    snprintf(fp, sizeof(fp), "%s", sfield(start_peer(f, a), "fingerprint"));
    path_in(real, "share/alice/identity.key", key, sizeof(key));
    assert_true(pe_exists(key));
    mp_quit(a);
    /* The second start loads the same identity through the same symlink. */
    mp_restart(a, f->srv.port);
    assert_string_equal(sfield(mp_expect(a, 0, "ready", "name", "alice"), "fingerprint"), fp);
    mp_quit(a);
}

/* DIR/link is a symlink to a file elsewhere: the start is refused (exit 1) with a message
 * naming it, writes nothing through the link, and makes no DIR/absent. */
static void refuse_symlink(fixture *f, const char *link, const char *absent)
{
    mp *a = &f->peers[0];
    char msg[128];

    assert_int_equal(pe_plant_symlink(f->tmp, a->dir, link), 0);
    assert_int_equal(run_refused(f, a), 1);
    snprintf(msg, sizeof(msg), "%s is a symbolic link; refused", link);
    assert_log(a, msg);
    assert_true(pe_planted_untouched(f->tmp, a->dir, absent));
}

/* identity.key is a symlink: refused; no database is made. */
static void test_symlinked_key(void **state)
{
    refuse_symlink(*state, "identity.key", "mim.db");
}

/* mim.db is a symlink: refused; no identity is made. */
static void test_symlinked_db(void **state)
{
    refuse_symlink(*state, "mim.db", "identity.key");
}

/* One mim per data dir: a second is refused (exit 3, said) while the first runs. */
static void test_second_mim(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *a2 = &f->peers[1];
    char fp[64];

    snprintf(fp, sizeof(fp), "%s", sfield(start_peer(f, a), "fingerprint"));
    mp_init(a2, f, "alice", "alice"); /* the same name and data dir: the same user twice */
    assert_int_equal(run_refused(f, a2), EXIT_BUSY);
    assert_log(a2, "is in use by another mim or mim-presence");
    /* The first runs on, undisturbed; once it quit, the data dir is free again. */
    round_trip(a, "still-there");
    mp_quit(a);
    mp_restart(a2, f->srv.port);
    assert_string_equal(sfield(mp_expect(a2, 0, "ready", "name", "alice"), "fingerprint"), fp);
    mp_quit(a2);
}

/* A history group and others could read is made private (with a log line), and the files
 * SQLite keeps beside it are private too. */
static void test_readable_db(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    char db[PE_PATH_MAX + 64], wal[PE_PATH_MAX + 64], shm[PE_PATH_MAX + 64];

    path_in(a->dir, "mim.db", db, sizeof(db));
    path_in(a->dir, "mim.db-wal", wal, sizeof(wal));
    path_in(a->dir, "mim.db-shm", shm, sizeof(shm));
    start_peer(f, a);
    mp_quit(a);
    assert_int_equal(chmod(db, 0644), 0);
    mp_restart(a, f->srv.port);
    mp_expect_log(a, "was readable by group or others (mode 644); set to 0600");
    assert_int_equal(pe_mode(db), 0600);
    /* mim runs: SQLite has its -wal and -shm open now. */
    assert_true(pe_exists(wal) && pe_exists(shm));
    assert_int_equal(pe_mode(wal) & 077, 0);
    assert_int_equal(pe_mode(shm) & 077, 0);
    mp_quit(a);
}

/* A start that fails at the database leaves no identity behind, and the bad file untouched. */
static void test_failed_start(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    const char *junk = "this is not an SQLite database, and it must stay as it is\n";
    char key[PE_PATH_MAX + 64], db[PE_PATH_MAX + 64];

    path_in(a->dir, "identity.key", key, sizeof(key));
    path_in(a->dir, "mim.db", db, sizeof(db));
    assert_int_equal(mkdir(a->dir, 0700), 0);
    assert_int_equal(pe_write_file(db, junk), 0);
    assert_int_equal(run_refused(f, a), 1);
    assert_false(pe_exists(key));
    assert_true(pe_file_is(db, junk));
    /* With the bad file moved away, the same data dir starts. */
    assert_int_equal(unlink(db), 0);
    start_peer(f, a);
    assert_true(pe_exists(key));
    mp_quit(a);
}

/* `mim --name ../../x` with no --data-dir, HOME=home: its exit code. stdin is /dev/null, so a
 * mim that does start quits at once. */
static int run_with_home(const char *home, const char *log, int port)
{
    char server[64];
    pid_t pid;

    snprintf(server, sizeof(server), "127.0.0.1:%d", port);
    fflush(NULL);
    if ((pid = fork()) < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        const char *argv[] = {MIM_BIN, "--json", "--name", "../../x", "--server", server, NULL};
        int null_fd = open("/dev/null", O_RDWR);
        int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("HOME", home, 1);
        unsetenv("XDG_DATA_HOME");
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(log_fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pe_wait_child(pid, RUN_MS);
}

/* A name is one directory entry under ~/.local/share/mim: "../../x" would be ~/.local/x. */
static void test_name_escape(void **state)
{
    fixture *f = *state;
    char home[PE_PATH_MAX], log[PE_PATH_MAX + 64], escaped[PE_PATH_MAX + 64];
    int status;

    path_in(f->tmp, "home", home, sizeof(home));
    path_in(f->tmp, "escape.log", log, sizeof(log));
    path_in(home, ".local/x", escaped, sizeof(escaped));
    assert_int_equal(mkdir(home, 0700), 0);
    status = run_with_home(home, log, f->srv.port);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    if (pe_file_count(log, "cannot name the default data directory") == 0)
        fail_msg("the log %s does not say why", log);
    assert_false(pe_exists(escaped));
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(symlinked_parent), PE_SCENARIO(symlinked_key), PE_SCENARIO(symlinked_db),
    PE_SCENARIO(second_mim),       PE_SCENARIO(readable_db),   PE_SCENARIO(failed_start),
    PE_SCENARIO(name_escape),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-datadir");
}
