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
 *   folder    a folder of files in subfolders (and an empty file) arrives under one new folder,
 *             each file byte-identical
 *   resume    the receiver stops dead after two chunks (MIM_TEST_EXIT_AFTER_CHUNKS: stored,
 *             then _exit, as a SIGKILL); restarted, it goes on from there, not from zero */
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

/* Writes n pseudo-random bytes to path. */
static void make_file(const char *path, size_t n, unsigned seed)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    srand(seed);
    for (size_t i = 0; i < n; i++)
        fputc(rand() & 0xff, fp);
    assert_int_equal(fclose(fp), 0);
}

/* 1 when the two files hold the same bytes. */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb, same = fa != NULL && fb != NULL;

    while (same && ((ca = fgetc(fa)) != EOF || !feof(fa))) {
        cb = fgetc(fb);
        same = ca == cb;
    }
    if (same)
        same = fgetc(fb) == EOF;
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same;
}

#define DL_MAX 600

/* Sets the receiver's download dir (f->tmp/dl_<name>, into dir) among its options. */
static void download_to(fixture *f, mp *p, char dir[DL_MAX])
{
    snprintf(dir, DL_MAX, "%.500s/dl_%.60s", f->tmp, p->name);
    p->extra[0] = "--download-dir";
    p->extra[1] = dir;
    p->extra[2] = NULL;
}

/* a offers path to b: the answer's id (into id). */
static void offer(mp *a, const char *to, const char *path, const char *tag, char id[33])
{
    size_t a0 = a->nev;
    json_t *ans;
    long q, s;

    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"%s\",\"path\":\"%s\",\"tag\":\"%s\"}", to, path,
           tag);
    q = mp_index_of(a, a0, "queued", "tag", tag);
    s = mp_index_of(a, a0, "sent", "tag", tag);
    if (q < 0 && s < 0)
        ans = mp_expect(a, a0, "sent", "tag", tag);
    else
        ans = a->ev[q >= 0 ? q : s];
    snprintf(id, 33, "%s", sfield(ans, "id"));
    assert_int_equal(strlen(id), 32);
}

/* Both sides report file_done for id with the same sha256; the saved file equals src. */
static void expect_done(mp *a, mp *b, const char *id, const char *src)
{
    json_t *da = mp_expect(a, 0, "file_done", "id", id);
    json_t *db = mp_expect(b, 0, "file_done", "id", id);

    assert_string_equal(sfield(da, "direction"), "send");
    assert_string_equal(sfield(db, "direction"), "receive");
    assert_int_equal(strlen(sfield(db, "sha256")), 64);
    assert_string_equal(sfield(da, "sha256"), sfield(db, "sha256"));
    if (!same_file(src, sfield(db, "path")))
        fail_msg("%s differs from %s", sfield(db, "path"), src);
}

static void test_xfer_small(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[33];
    json_t *o;

    download_to(f, b, dl);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hi", "m1", NULL);
    snprintf(src, sizeof(src), "%s/note.txt", f->tmp);
    make_file(src, 1000, 1);
    offer(a, "bob", src, "f1", id);
    o = mp_expect(b, 0, "file_offer", "id", id);
    assert_false(json_is_true(json_object_get(o, "accepted"))); /* a first contact: asked */
    assert_string_equal(sfield(o, "name"), "note.txt");
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\",\"tag\":\"acc\"}", id);
    expect_done(a, b, id, src);
    assert_int_equal(mp_count(b, "file_done", "id", id), 1);
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_big(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[33];
    json_t *o;

    download_to(f, b, dl);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hi", "m1", NULL);
    mp_quit(b); /* pinned in an earlier run from now on */
    mp_restart(b, f->srv.port);
    mp_quit(a);
    setenv("MIM_TEST_CORRUPT_CHUNK", "2", 1);
    mp_restart(a, f->srv.port);
    unsetenv("MIM_TEST_CORRUPT_CHUNK");
    see_each_other(a, b);
    snprintf(src, sizeof(src), "%s/big.bin", f->tmp);
    make_file(src, BIG_BYTES, 2);
    offer(a, "bob", src, "f1", id);
    o = mp_expect(b, 0, "file_offer", "id", id);
    assert_true(json_is_true(json_object_get(o, "accepted")));
    expect_done(a, b, id, src);
    mp_expect_log(a, "sent corrupted");
    mp_expect_log(b, "failed verification");
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_reject(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[33];
    json_t *fa;

    download_to(f, b, dl);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hi", "m1", NULL);
    snprintf(src, sizeof(src), "%s/unwanted.txt", f->tmp);
    make_file(src, 5000, 3);
    offer(a, "bob", src, "f1", id);
    mp_expect(b, 0, "file_offer", "id", id);
    mp_cmd(b, "{\"cmd\":\"reject_file\",\"id\":\"%s\",\"tag\":\"rej\"}", id);
    mp_expect(b, 0, "file_failed", "id", id);
    fa = mp_expect(a, 0, "file_failed", "id", id);
    assert_string_equal(sfield(fa, "state"), "rejected");
    {
        char saved[DL_MAX + 32];
        snprintf(saved, sizeof(saved), "%s/unwanted.txt", dl);
        assert_false(pe_exists(saved));
        snprintf(saved, sizeof(saved), "%s/unwanted.txt.part", dl);
        assert_false(pe_exists(saved));
    }
    mp_quit(a);
    mp_quit(b);
}

static void test_xfer_resume(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static char dl[DL_MAX];
    char src[PE_PATH_MAX + 16], id[33];

    download_to(f, b, dl);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hi", "m1", NULL);
    mp_quit(b);
    setenv("MIM_TEST_EXIT_AFTER_CHUNKS", "2", 1);
    mp_restart(b, f->srv.port);
    unsetenv("MIM_TEST_EXIT_AFTER_CHUNKS");
    see_each_other(a, b);
    snprintf(src, sizeof(src), "%s/resume.bin", f->tmp);
    make_file(src, BIG_BYTES, 4);
    offer(a, "bob", src, "f1", id);
    mp_expect(b, 0, "file_offer", "id", id);
    {
        int status = mp_reap(b, WAIT_MS);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
        b->pid = 0;
        mp_close_fds(b);
    }
    mp_expect_log(b, "exiting after the chunks");
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "file_done", "id", id);
    expect_done(a, b, id, src);
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
    char src[PE_PATH_MAX + 16], path[PE_PATH_MAX + 64], got[DL_MAX + 64], id[33];
    static const char *const files[] = {"a.txt", "sub/b.bin", "sub/deeper/c.bin", "empty"};
    static const size_t sizes[] = {10, 70000, 1500000, 0};
    json_t *done;

    download_to(f, b, dl);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hi", "m1", NULL);
    snprintf(src, sizeof(src), "%s/album", f->tmp);
    assert_int_equal(mkdir(src, 0700), 0);
    snprintf(path, sizeof(path), "%s/sub", src);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/sub/deeper", src);
    assert_int_equal(mkdir(path, 0700), 0);
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", src, files[i]);
        make_file(path, sizes[i], (unsigned)i + 10);
    }
    offer(a, "bob", src, "f1", id);
    mp_expect(b, 0, "file_offer", "id", id);
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\",\"tag\":\"acc\"}", id);
    done = mp_expect(b, 0, "file_done", "id", id);
    mp_expect(a, 0, "file_done", "id", id);
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", src, files[i]);
        snprintf(got, sizeof(got), "%s/%s", sfield(done, "path"), files[i]);
        if (!same_file(path, got))
            fail_msg("%s differs from %s", got, path);
    }
    mp_quit(a);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(xfer_small),  PE_SCENARIO(xfer_big),    PE_SCENARIO(xfer_reject),
    PE_SCENARIO(xfer_resume), PE_SCENARIO(xfer_folder),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-xfer");
}
