/* mim-presence and the name rules, black box: the real server binary on loopback, driven by
 * test clients (test_client.h), one scenario per ctest entry (integration/names_<scenario>).
 *
 *   invisible_refused  each invisible, bidi or look-alike-space name from the security review,
 *                      and a name not in NFC, is refused with BAD_NAME; nothing is registered
 *   lookalike_refused  "bob" registered, then "b\u043eb" (Cyrillic o) and others that look like
 *                      it are refused with NAME_TAKEN; "bob" and unrelated names still work
 *   old_registry       a presence.db made by the schema before skeletons (version 1), with two
 *                      look-alikes already in it: the server migrates it, both owners keep
 *                      their names, and a third look-alike is refused
 *
 * Usage: test_names_integration SCENARIO. Every wait is bounded (test_client.h, server_proc.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"
#include "server_proc.h"
#include "test_client.h"

#define NF_MAX_CLIENTS 48
#define NF_MAX_IDS     4
#define VERDICT_MS     3000 /* the server refuses a bad name at once */

#define CYR_O "\xd0\xbe" /* U+043E CYRILLIC SMALL LETTER O */

struct nf {
    server_proc sp;
    tc_client *c[NF_MAX_CLIENTS];
    size_t n;
    mim_identity *id[NF_MAX_IDS];
};

static int nf_setup(void **state)
{
    struct nf *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    for (size_t i = 0; i < NF_MAX_IDS; i++)
        assert_non_null(f->id[i] = mim_identity_generate());
    if (sp_init(&f->sp, "names") != 0)
        fail_msg("sp_init: %s", f->sp.err);
    *state = f;
    return 0;
}

/* Stops the server (exit status 0 wanted: under ASan a leak fails it) and shows its log. */
static int nf_teardown(void **state)
{
    struct nf *f = *state;
    int status = 0, rc = 0, running = f->sp.pid != 0;

    for (size_t i = 0; i < f->n; i++)
        tc_free(f->c[i]);
    if (running)
        rc = sp_stop(&f->sp, &status);
    sp_dump_log(&f->sp, stderr);
    sp_cleanup(&f->sp);
    for (size_t i = 0; i < NF_MAX_IDS; i++)
        mim_identity_free(f->id[i]);
    free(f);
    if (running && (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        fail_msg("the server did not exit cleanly on SIGTERM");
    return 0;
}

static void nf_start(struct nf *f)
{
    if (sp_start(&f->sp, NULL) != 0)
        fail_msg("sp_start: %s", f->sp.err);
}

/* A connection under id (NULL: a fresh key) through the whole handshake with `name`. */
static tc_client *nf_handshaken(struct nf *f, mim_identity *id, const char *name)
{
    tc_client *c;
    int rc;

    assert_true(f->n < NF_MAX_CLIENTS);
    assert_non_null(c = tc_new(id));
    f->c[f->n++] = c;
    if ((rc = tc_connect(c, f->sp.port)) != TC_OK || (rc = tc_handshake(c, name)) != TC_OK)
        fail_msg("handshake as \"%s\": %s: %s", name, tc_strerror(rc), tc_error(c));
    return c;
}

/* Logs in as `name`: 0 when the table came, else the server's Error code (and the connection
 * is closed by the server). */
static int nf_login(struct nf *f, mim_identity *id, const char *name)
{
    tc_client *c = nf_handshaken(f, id, name);
    int rc = tc_login(c, name, 5000);

    if (rc > 0 && tc_expect_closed(c, VERDICT_MS) < 0)
        fail_msg("\"%s\" refused with %d but not closed: %s", name, rc, tc_error(c));
    if (rc < 0)
        fail_msg("login as \"%s\": %s: %s", name, tc_strerror(rc), tc_error(c));
    return rc;
}

static void expect_login(struct nf *f, mim_identity *id, const char *name, int want)
{
    int got = nf_login(f, id, name);

    if (got != want)
        fail_msg("login as \"%s\": %d, want %d (0: online, %d: NAME_TAKEN)", name, got, want,
                 MIM__ERROR_CODE__ERROR_NAME_TAKEN);
}

/* A client online as `name`: the table has come. */
static tc_client *nf_online(struct nf *f, mim_identity *id, const char *name)
{
    tc_client *c = nf_handshaken(f, id, name);
    int rc = tc_login(c, name, 6000);

    if (rc != 0)
        fail_msg("login as \"%s\": %d: %s", name, rc, tc_error(c));
    return c;
}

/* Nothing is pending for c: the server answers a Ping with its Pong first. */
static void expect_quiet(tc_client *c)
{
    if (tc_sync(c, TC_TIMEOUT_MS) != TC_OK)
        fail_msg("the observer heard something: %s", tc_error(c));
}

/* The review's names: each registered on the server before the fix. */
static void invisible_refused(void **state)
{
    static const char *const bad[] = {
        "bob\xc2\xad",         /* U+00AD soft hyphen: the TUI showed it as "bob" */
        "bob\xcd\x8f",         /* U+034F combining grapheme joiner */
        "bob\xd8\x9c",         /* U+061C Arabic letter mark */
        "bob\xe1\xa0\x8e",     /* U+180E Mongolian vowel separator */
        "bob\xe3\x85\xa4",     /* U+3164 Hangul filler */
        "bob\xe2\xa0\x80",     /* U+2800 Braille pattern blank */
        "bob\xef\xb8\x8f",     /* U+FE0F variation selector 16 */
        "bob\xf3\xa0\x81\x81", /* U+E0041 tag A */
        "bob\xf3\xa0\x81\xbf", /* U+E007F cancel tag */
        "bob\xc2\xa0",         /* trailing U+00A0 no-break space */
        "bob\xee\x80\x80",     /* U+E000 private use */
        "bob\xcd\xb8",         /* U+0378 unassigned */
        "Zoe\xcc\x81",         /* not NFC: e + U+0301 */
    };
    struct nf *f = *state;
    tc_client *obs;

    nf_start(f);
    obs = nf_online(f, NULL, "observer");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tc_client *x = nf_handshaken(f, NULL, bad[i]);
        int rc = tc_expect_closed(x, VERDICT_MS);
        if (rc != MIM__ERROR_CODE__ERROR_BAD_NAME)
            fail_msg("name #%zu: want Error BAD_NAME then close, got %d: %s", i, rc, tc_error(x));
    }
    /* Nothing reached the others, and the plain name is still free. */
    expect_quiet(obs);
    expect_login(f, NULL, "bob", 0);
}

/* "bob" first; then names that look like it, from another key and from bob's own, are refused
 * with NAME_TAKEN and a message that says why; "bob" itself and other names still work. */
static void lookalike_refused(void **state)
{
    static const char *const alike[] = {
        "b" CYR_O "b", /* Cyrillic o */
        "b\xce\xbf"
        "b", /* Greek omicron */
    };
    struct nf *f = *state;
    tc_client *x, *late;

    nf_start(f);
    expect_login(f, f->id[0], "bob", 0);
    for (size_t i = 0; i < sizeof(alike) / sizeof(alike[0]); i++) {
        int rc;
        x = nf_handshaken(f, f->id[1], alike[i]);
        rc = tc_login(x, alike[i], 5001);
        if (rc != MIM__ERROR_CODE__ERROR_NAME_TAKEN)
            fail_msg("look-alike #%zu: %d, want NAME_TAKEN: %s", i, rc, tc_error(x));
        if (strstr(x->error_text, "looks like a registered name") == NULL)
            fail_msg("look-alike #%zu: the message \"%s\" does not say why", i, x->error_text);
    }
    if (!sp_wait_log(&f->sp, "looks like the registered name 'bob'", VERDICT_MS))
        fail_msg("the server log does not name the original");
    expect_login(f, f->id[0], "b" CYR_O "b", MIM__ERROR_CODE__ERROR_NAME_TAKEN); /* bob's key */
    expect_login(f, f->id[2], "paypal", 0);
    expect_login(f, f->id[1], "p\xd0\xb0ypal", MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_login(f, f->id[1], "Bob", 0); /* case is visible: another name, as before */

    /* A newcomer's table: the first owners, and no look-alike. */
    late = nf_online(f, NULL, "late");
    assert_non_null(tc_table_find(late, "bob"));
    assert_non_null(tc_table_find(late, "paypal"));
    assert_non_null(tc_table_find(late, "Bob"));
    assert_int_equal(late->ntable, 4);
}

/* presence.db as the server before the look-alike rule (schema version 1) left it, with `n`
 * names bound to keys: the SQL is that version's migration, word for word. */
static void make_v1_registry(struct nf *f, const char *const *names, mim_identity *const *ids,
                             size_t n)
{
    char path[700];
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int fd;

    assert_int_equal(mkdir(f->sp.data_dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/presence.db", f->sp.data_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600); /* the mode the server wants */
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA journal_mode = WAL;"
                                  "CREATE TABLE names("
                                  " name TEXT NOT NULL PRIMARY KEY,"
                                  " identity_pk BLOB NOT NULL CHECK(length(identity_pk) = 32),"
                                  " registered_at INTEGER NOT NULL"
                                  ");"
                                  "PRAGMA application_id = 1835625840;" /* "mimp" */
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO names VALUES(?1, ?2, 1000)", -1, &ins, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(ins, 1, names[i], -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, ids[i]->sign_pk, MIM_KEY_LEN, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* A registry from before: both look-alikes in it keep working for their keys (nothing is taken
 * away by the upgrade), a third one is refused, and the old names stay taken. */
static void old_registry(void **state)
{
    struct nf *f = *state;
    const char *const names[] = {"bob", "b" CYR_O "b", "carol"};
    mim_identity *const ids[] = {f->id[0], f->id[1], f->id[2]};

    make_v1_registry(f, names, ids, 3);
    nf_start(f);
    if (!sp_wait_log(&f->sp, "schema migrated to version 2", VERDICT_MS))
        fail_msg("the server did not migrate the registry");
    expect_login(f, f->id[0], "bob", 0);
    expect_login(f, f->id[1], "b" CYR_O "b", 0);
    expect_login(f, f->id[3],
                 "b\xce\xbf"
                 "b",
                 MIM__ERROR_CODE__ERROR_NAME_TAKEN); /* Greek omicron: a new look-alike */
    expect_login(f, f->id[3], "car" CYR_O "l", MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    expect_login(f, f->id[3], "carol", MIM__ERROR_CODE__ERROR_NAME_TAKEN); /* another key */
    expect_login(f, f->id[2], "carol", 0);
}

/* ---- the table ------------------------------------------------------------------------------ */

#define NAMES_TEST(fn) cmocka_unit_test_setup_teardown(fn, nf_setup, nf_teardown)

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    NAMES_TEST(invisible_refused),
    NAMES_TEST(lookalike_refused),
    NAMES_TEST(old_registry),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "names");
}
