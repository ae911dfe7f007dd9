/* End-to-end tests of the file-transfer engine (issue 15) with `mim --json`: real mim
 * processes and the real mim-presence (mim_proc.h); waits are bounded polls on the processes'
 * stdout, never sleeps. Each scenario is its own ctest entry (peer/json_xfer_<name>):
 *
 *   small     a small file offered to a new contact waits; accepted, it arrives byte-identical
 *             with the same sha256 on both sides (file_done), once in each history
 *   big       a 5 MiB file from a contact pinned in an earlier run is accepted by itself; a
 *             chunk the sender corrupts (MIM_TEST_CORRUPT_CHUNK) is refetched, and the file
 *             still verifies
 *   reject    a rejected offer ends as file_failed "rejected" on both sides; nothing is saved
 *   folder    a folder of files in subfolders (and an empty file) arrives under one new folder:
 *             the same tree, each file byte-identical
 * The steps (send_file, the offer, accept_file, file_done on both sides) are files_e2e.h's.
 *   resume    the receiver stops dead after two chunks (MIM_TEST_EXIT_AFTER_CHUNKS: stored,
 *             then _exit, as a SIGKILL); restarted, it goes on from there, not from zero */
#include "files_e2e.h"
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#define BIG_BYTES (5 * 1024 * 1024 + 12345)
#define DL_MAX    600

/* alice and bob (who saves files under f->tmp/dl_bob, into dl) see each other and have
 * exchanged a message (a session: each knows the other's features): bob met alice in this run,
 * so her offers wait for him. bob_env: a variable set (to 1) for bob's process alone, or NULL. */
static void start_pair_env(fixture *f, char dl[DL_MAX], const char *bob_env)
{
    mp *a = &f->peers[0], *b = &f->peers[1];

    snprintf(dl, DL_MAX, "%.500s/dl_%.60s", f->tmp, b->name);
    b->extra[0] = "--download-dir";
    b->extra[1] = dl;
    b->extra[2] = NULL;
    start_peer(f, a);
    if (bob_env != NULL)
        setenv(bob_env, "1", 1);
    start_peer(f, b);
    if (bob_env != NULL)
        unsetenv(bob_env);
    see_each_other(a, b);
    exchange(a, b, "hi", "m1", NULL);
}

static void start_pair(fixture *f, char dl[DL_MAX])
{
    start_pair_env(f, dl, NULL);
}

/* A new file of n random bytes, f->tmp/name, into src. */
static void make_src(const fixture *f, const char *name, size_t n, uint32_t seed,
                     char src[PE_PATH_MAX + 16])
{
    snprintf(src, PE_PATH_MAX + 16, "%s/%s", f->tmp, name);
    assert_int_equal(fe_write_random(src, n, seed), 0);
}

/* Both sides report file_done for id; what bob saved is src (file or folder), with its sha256
 * on both sides. Returns bob's file_done. */
static json_t *expect_done(mp *a, mp *b, const char *id, const char *src, int folder)
{
    json_t *db = fe_expect_done(b, 0, id);

    fe_check_received(fe_expect_done(a, 0, id), db, src, folder);
    return db;
}

static void test_xfer_small(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[FE_ID_LEN];
    json_t *o;

    start_pair(f, dl);
    make_src(f, "note.txt", 1000, 1, src);
    fe_send_file(a, "bob", src, "f1", id);
    o = fe_accept(b, 0, id);
    assert_false(json_is_true(json_object_get(o, "accepted"))); /* a first contact: asked */
    assert_string_equal(sfield(o, "name"), "note.txt");
    expect_done(a, b, id, src, 0);
    assert_int_equal(mp_count(b, "file_done", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_big(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[FE_ID_LEN];

    start_pair(f, dl);
    mp_quit(b); /* pinned in an earlier run from now on */
    mp_restart(b, f->srv.port);
    mp_quit(a);
    setenv("MIM_TEST_CORRUPT_CHUNK", "2", 1);
    mp_restart(a, f->srv.port);
    unsetenv("MIM_TEST_CORRUPT_CHUNK");
    see_each_other(a, b);
    make_src(f, "big.bin", BIG_BYTES, 2, src);
    fe_send_file(a, "bob", src, "f1", id);
    assert_true(json_is_true(json_object_get(fe_accept(b, 0, id), "accepted")));
    expect_done(a, b, id, src, 0);
    mp_expect_log(a, "sent corrupted");
    mp_expect_log(b, "failed verification");
    mp_quit(a);
    mp_quit(b);
}

/* bob says he is of the first version (files, but not the SHA-256 chain): alice offers him
 * BLAKE2b chunk hashes, which he checks, and both report the file's SHA-256. */
static void test_xfer_first_version(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[FE_ID_LEN];

    start_pair_env(f, dl, "MIM_TEST_FIRST_FILES"); /* bob: files, but not the chain */
    make_src(f, "old.bin", 3u << 20, 4, src);
    fe_send_file(a, "bob", src, "f1", id);
    fe_accept(b, 0, id);
    expect_done(a, b, id, src, 0);
    mp_expect_log(a, "BLAKE2b chunks, for a first-version peer");
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_reject(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[FE_ID_LEN], saved[DL_MAX + 32];
    json_t *fa;

    start_pair(f, dl);
    make_src(f, "unwanted.txt", 5000, 3, src);
    fe_send_file(a, "bob", src, "f1", id);
    mp_expect(b, 0, "file_offer", "id", id);
    mp_cmd(b, "{\"cmd\":\"reject_file\",\"id\":\"%s\",\"tag\":\"rej\"}", id);
    mp_expect(b, 0, "file_failed", "id", id);
    fa = mp_expect(a, 0, "file_failed", "id", id);
    assert_string_equal(sfield(fa, "state"), "rejected");
    snprintf(saved, sizeof(saved), "%s/unwanted.txt", dl);
    assert_false(pe_exists(saved));
    snprintf(saved, sizeof(saved), "%s/unwanted.txt.part", dl);
    assert_false(pe_exists(saved));
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_resume(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[FE_ID_LEN];
    int status;

    start_pair(f, dl);
    mp_quit(b);
    setenv("MIM_TEST_EXIT_AFTER_CHUNKS", "2", 1);
    mp_restart(b, f->srv.port);
    unsetenv("MIM_TEST_EXIT_AFTER_CHUNKS");
    see_each_other(a, b);
    make_src(f, "resume.bin", BIG_BYTES, 4, src);
    fe_send_file(a, "bob", src, "f1", id);
    mp_expect(b, 0, "file_offer", "id", id);
    status = mp_reap(b, WAIT_MS);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
    b->pid = 0;
    mp_close_fds(b);
    mp_expect_log(b, "exiting after the chunks");
    mp_restart(b, f->srv.port);
    expect_done(a, b, id, src, 0);
    /* it went on from the two chunks stored, not from zero */
    mp_expect_log(b, "2097152 of 5255225 bytes verified before");
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_folder(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], path[PE_PATH_MAX + 64], id[FE_ID_LEN];
    static const char *const files[] = {"a.txt", "sub/b.bin", "sub/deeper/c.bin", "empty"};
    static const size_t sizes[] = {10, 70000, 1500000, 0};

    start_pair(f, dl);
    snprintf(src, sizeof(src), "%s/album", f->tmp);
    assert_int_equal(mkdir(src, 0700), 0);
    snprintf(path, sizeof(path), "%s/sub", src);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/sub/deeper", src);
    assert_int_equal(mkdir(path, 0700), 0);
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", src, files[i]);
        assert_int_equal(fe_write_random(path, sizes[i], (uint32_t)i + 10), 0);
    }
    fe_send_file(a, "bob", src, "f1", id);
    assert_false(json_is_true(json_object_get(fe_accept(b, 0, id), "accepted")));
    expect_done(a, b, id, src, 1); /* the same tree: every file, and nothing else */
    mp_quit(a);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(xfer_small),  PE_SCENARIO(xfer_big),    PE_SCENARIO(xfer_reject),
    PE_SCENARIO(xfer_resume), PE_SCENARIO(xfer_folder), PE_SCENARIO(xfer_first_version),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-xfer");
}
