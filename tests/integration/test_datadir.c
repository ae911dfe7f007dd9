/* mim-presence's data directory, black box: the real server binary started on data dirs staged
 * the way users' machines and attackers leave them (issue 12, finding 5). One scenario per
 * ctest entry (integration/datadir_<name>):
 *
 *   symlinked_parent   the data dir is reached through a symlinked parent (/home -> /var/home):
 *                      the server starts, and starts again with the same key
 *   symlinked_key      presence.key is a symlink: refused, said, and no database made
 *   symlinked_db       presence.db is a symlink: refused, said, and no key made
 *   second_server      a second server on the same data dir exits 3 while the first runs, and
 *                      starts once the first has stopped
 *   readable_db        a database group and others can read is set to 0600 (logged), and its
 *                      -wal and -shm are private too
 *   failed_start       a database that is not one: refused, untouched, and no key left behind
 *
 * Every wait is bounded (sp_run, sp_start: SP_READY_TIMEOUT_MS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer_env.h" /* pe_run_named: the scenario table's main */
#include "server_proc.h"

#define RUN_MS    10000 /* a refused start exits long before this */
#define EXIT_BUSY 3     /* mim-presence's exit code for a data dir in use (MIM_DATADIR_EXIT_BUSY) */

static int setup(void **state)
{
    server_proc *sp = calloc(1, sizeof(*sp));

    assert_non_null(sp);
    if (sp_init(sp, "datadir") != 0)
        fail_msg("sp_init: %s", sp->err);
    *state = sp;
    return 0;
}

static int teardown(void **state)
{
    server_proc *sp = *state;
    int status = 0, running = sp->pid != 0;

    if (running && sp_stop(sp, &status) != 0)
        status = -1;
    sp_dump_log(sp, stderr);
    sp_cleanup(sp);
    free(sp);
    if (running && (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        fail_msg("the server did not stop cleanly on SIGTERM");
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* sp->dir/name into out. */
static void in_dir(const server_proc *sp, const char *name, char *out, size_t len)
{
    assert_true((size_t)snprintf(out, len, "%s/%s", sp->dir, name) < len);
}

/* sp->data_dir/name into out. */
static void in_data(const server_proc *sp, const char *name, char *out, size_t len)
{
    assert_true((size_t)snprintf(out, len, "%s/%s", sp->data_dir, name) < len);
}

/* Runs mim-presence on the data dir to completion (a start that must be refused): its exit
 * code. */
static int run_refused(server_proc *sp)
{
    const char *argv[] = {
        MIM_PRESENCE_BIN, "--port",     "0",          "--discovery-port", "0",     "--bind",
        "127.0.0.1",      "--data-dir", sp->data_dir, "--log-level",      "debug", NULL};
    char out[512], st[64];
    int status;

    if (sp_run(sp, argv, RUN_MS, out, sizeof(out), &status) != 0)
        fail_msg("the server was not refused: %s (stdout: %s)", sp->err, out);
    if (!WIFEXITED(status))
        fail_msg("the refused server %s", sp_status_str(status, st, sizeof(st)));
    return WEXITSTATUS(status);
}

static void assert_log(const server_proc *sp, const char *needle)
{
    if (!sp_log_contains(sp, needle))
        fail_msg("the server log has no line with \"%s\"", needle);
}

/* ---- scenarios ---------------------------------------------------------------------------- */

/* A symlink in the data dir's path (a symlinked /home or ~/.local) is no reason to stop. */
static void test_symlinked_parent(void **state)
{
    server_proc *sp = *state;
    char real[700], link[700], key[800], fp[MIM_FINGERPRINT_LEN];

    in_dir(sp, "real", real, sizeof(real));
    in_dir(sp, "link", link, sizeof(link));
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink("real", link), 0);
    /* Two missing levels under the symlink: both made. */
    assert_true((size_t)snprintf(sp->data_dir, sizeof(sp->data_dir), "%s/share/presence", link) <
                sizeof(sp->data_dir));
    if (sp_start(sp, NULL) != 0)
        fail_msg("the server did not start through a symlinked parent: %s", sp->err);
    memcpy(fp, sp->fingerprint, sizeof(fp));
    assert_true((size_t)snprintf(key, sizeof(key), "%s/share/presence/presence.key", real) <
                sizeof(key));
    assert_true(pe_exists(key));
    /* The second start loads the same key, through the same symlink. */
    if (sp_restart(sp) != 0)
        fail_msg("restart: %s", sp->err);
    assert_string_equal(sp->fingerprint, fp);
}

/* DATA/link is a symlink to a file elsewhere: the start is refused (exit 1) with a message
 * naming it, writes nothing through the link, and makes no DATA/absent. */
static void refuse_symlink(server_proc *sp, const char *link, const char *absent)
{
    char msg[128];

    assert_int_equal(pe_plant_symlink(sp->dir, sp->data_dir, link), 0);
    assert_int_equal(run_refused(sp), 1);
    snprintf(msg, sizeof(msg), "%s is a symbolic link; refused", link);
    assert_log(sp, msg);
    assert_true(pe_planted_untouched(sp->dir, sp->data_dir, absent));
}

/* A key file that is a symlink: refused; no database is made. */
static void test_symlinked_key(void **state)
{
    refuse_symlink(*state, "presence.key", "presence.db");
}

/* A database that is a symlink: refused; no key is made. */
static void test_symlinked_db(void **state)
{
    refuse_symlink(*state, "presence.db", "presence.key");
}

/* One server per data dir: a second is refused (exit 3, said) while the first runs. */
static void test_second_server(void **state)
{
    server_proc *sp = *state;
    char fp[MIM_FINGERPRINT_LEN];
    int status;

    if (sp_start(sp, NULL) != 0)
        fail_msg("start: %s", sp->err);
    memcpy(fp, sp->fingerprint, sizeof(fp));
    assert_int_equal(run_refused(sp), EXIT_BUSY);
    assert_log(sp, "is in use by another mim or mim-presence");
    /* The first runs on, undisturbed; once it stopped, the data dir is free again. */
    assert_int_equal(sp_stop(sp, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (sp_start(sp, NULL) != 0)
        fail_msg("start after the first stopped: %s", sp->err);
    assert_string_equal(sp->fingerprint, fp);
}

/* A database group and others could read is made private (with a log line), and the files
 * SQLite keeps beside it are private too. */
static void test_readable_db(void **state)
{
    server_proc *sp = *state;
    char db[700], wal[720], shm[720];
    int status;

    in_data(sp, "presence.db", db, sizeof(db));
    in_data(sp, "presence.db-wal", wal, sizeof(wal));
    in_data(sp, "presence.db-shm", shm, sizeof(shm));
    if (sp_start(sp, NULL) != 0)
        fail_msg("start: %s", sp->err);
    assert_int_equal(sp_stop(sp, &status), 0);
    assert_int_equal(chmod(db, 0644), 0);
    if (sp_start(sp, NULL) != 0)
        fail_msg("start on a readable database: %s", sp->err);
    assert_log(sp, "was readable by group or others (mode 644); set to 0600");
    assert_int_equal(pe_mode(db), 0600);
    /* The server runs: SQLite has its -wal and -shm open now. */
    assert_true(pe_exists(wal) && pe_exists(shm));
    assert_int_equal(pe_mode(wal) & 077, 0);
    assert_int_equal(pe_mode(shm) & 077, 0);
}

/* A start that fails at the database leaves no key behind, and the bad file untouched. */
static void test_failed_start(void **state)
{
    server_proc *sp = *state;
    const char *junk = "this is not an SQLite database, and it must stay as it is\n";
    char key[700], db[700];

    in_data(sp, "presence.key", key, sizeof(key));
    in_data(sp, "presence.db", db, sizeof(db));
    assert_int_equal(mkdir(sp->data_dir, 0700), 0);
    assert_int_equal(pe_write_file(db, junk), 0);
    assert_int_equal(run_refused(sp), 1);
    assert_false(pe_exists(key));
    assert_true(pe_file_is(db, junk));
    /* With the bad file moved away, the same data dir starts. */
    assert_int_equal(unlink(db), 0);
    if (sp_start(sp, NULL) != 0)
        fail_msg("start: %s", sp->err);
    assert_true(pe_exists(key));
}

/* ---- the table ------------------------------------------------------------------------------ */

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(symlinked_parent), PE_SCENARIO(symlinked_key), PE_SCENARIO(symlinked_db),
    PE_SCENARIO(second_server),    PE_SCENARIO(readable_db),   PE_SCENARIO(failed_start),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
