/* End-to-end test of a disk that fills up during a transfer (issue 15): bob's download
 * directory is a small tmpfs mounted by the test in a mount namespace of its own (unshare, so
 * nothing outside the test's processes sees it; root only -- the scenario is skipped, exit 77,
 * otherwise). Scenario (peer/files_<name>):
 *
 *   disk_full  a 16 MiB file into an 8 MiB tmpfs: bob pauses the transfer with a clear error
 *              (file_paused, "full" or "space" in it) and keeps what it verified; once the
 *              tmpfs is made bigger, the transfer goes on by itself and the file arrives
 *              byte-identical */
#define _GNU_SOURCE
#include "files_e2e.h"
#include "mim_proc.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define SKIP_EXIT 77 /* ctest SKIP_RETURN_CODE: not root, or no mount namespace */

/* The test process (and so every child it starts) gets a mount namespace of its own, in which
 * mounts do not propagate back: 0, or -1 (not root, or not allowed here). */
static int private_mounts(void)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    return 0;
}

/* The first file_paused of id on p at index >= from, waiting at most FE_DONE_MS; a file_done or
 * file_failed of id first fails the test. */
static json_t *expect_paused(mp *p, size_t from, const char *id)
{
    uint64_t end = now_ms() + FE_DONE_MS;

    for (;;) {
        long i = mp_index_of(p, from, "file_paused", "id", id);
        if (i >= 0)
            return p->ev[i];
        if (mp_index_of(p, from, "file_done", "id", id) >= 0 ||
            mp_index_of(p, from, "file_failed", "id", id) >= 0 || now_ms() > end ||
            mp_pump(p, 200) < 0) {
            mp_dump(p);
            fail_msg("%s: transfer %s did not pause", p->name, id);
        }
    }
}

static void test_disk_full(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char dl[PE_PATH_MAX + 16], src[PE_PATH_MAX + 32], id[FE_ID_LEN];
    const char *why;
    json_t *paused;
    size_t a0;

    snprintf(dl, sizeof(dl), "%s/dl", f->tmp);
    snprintf(src, sizeof(src), "%s/big.bin", f->tmp);
    assert_int_equal(mkdir(dl, 0700), 0);
    if (mount("tmpfs", dl, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0700") != 0)
        fail_msg("mount tmpfs on %s: %s", dl, strerror(errno));
    assert_int_equal(fe_write_random(src, 16 * FE_MIB, 3), 0);
    b->extra[0] = "--download-dir";
    b->extra[1] = dl;
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello", "m1", NULL);

    a0 = fe_send_file(a, "bob", src, "full1", id);
    fe_accept(b, 0, id);
    paused = expect_paused(b, 0, id);
    why = sfield(paused, "error");
    assert_non_null(why);
    if (strstr(why, "full") == NULL && strstr(why, "space") == NULL)
        fail_msg("the pause does not say the disk is full: \"%s\"", why);
    /* What was verified is kept (the progress never went back), and it is not the whole. */
    assert_true(fe_last_progress(b, 0, id) < 16 * FE_MIB);

    /* Room again: the transfer goes on by itself (bob retries on a timer). */
    if (mount("tmpfs", dl, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=64m,mode=0700") != 0)
        fail_msg("remount %s: %s", dl, strerror(errno));
    fe_check_received(fe_expect_done(a, a0, id), fe_expect_done(b, 0, id), src, 0);
    mp_quit(a);
    mp_quit(b);
    /* The teardown removes f->tmp: the tmpfs must go first. */
    assert_int_equal(umount2(dl, MNT_DETACH), 0);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(disk_full),
};

int main(int argc, char **argv)
{
    if (argc == 2 && private_mounts() != 0) {
        fprintf(stderr, "skipped: the tmpfs needs root and a mount namespace (unshare)\n");
        return SKIP_EXIT;
    }
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "files-disk");
}
