/* Where received files go, and what happens when that disk is full: the download directory
 * from the configuration or the XDG user directories, its creation, and MIM_ENOSPC from a small
 * tmpfs (made in a private mount namespace; skipped where the test may not mount one) with
 * nothing lost and the write going through once there is room again. */
#define _GNU_SOURCE /* unshare(CLONE_NEWNS) */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include "file_sink.h"
#include "file_tree.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "sink_hash.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

static char base[512];

static int setup(void **state)
{
    (void)state;
    ft_base(base, sizeof(base), "test_file_sink_dir");
    unsetenv("XDG_DOWNLOAD_DIR");
    unsetenv("XDG_CONFIG_HOME");
    return setenv("HOME", base, 1);
}

static int teardown(void **state)
{
    (void)state;
    ft_remove(base);
    return 0;
}

static void expect_dir(const char *configured, const char *want_suffix)
{
    char out[1024], want[1024];

    EXPECT_INT(file_sink_download_dir(configured, out, sizeof(out)), MIM_OK);
    FT_PATH(want, "%s%s", base, want_suffix);
    assert_string_equal(out, want);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_download_dir_order(void **state)
{
    (void)state;
    char p[1024], out[1024];

    expect_dir(NULL, "/Downloads/mim"); /* nothing set: ~/Downloads/mim */
    FT_PATH(p, "%s/.config", base);
    assert_int_equal(mkdir(p, 0700), 0);
    FT_PATH(p, "%s/.config/user-dirs.dirs", base);
    write_text(p, "# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR=\"$HOME/Desktop\"\n"
                  "XDG_DOWNLOAD_DIR=\"$HOME/Téléchargements\"\n");
    expect_dir(NULL, "/Téléchargements/mim");
    FT_PATH(p, "%s/cfg", base); /* XDG_CONFIG_HOME moves user-dirs.dirs */
    assert_int_equal(mkdir(p, 0700), 0);
    setenv("XDG_CONFIG_HOME", p, 1);
    FT_PATH(p, "%s/cfg/user-dirs.dirs", base);
    FT_PATH(out, "XDG_DOWNLOAD_DIR=%s/abs\n", base);
    write_text(p, out);
    expect_dir(NULL, "/abs/mim");
    write_text(p, "XDG_DOWNLOAD_DIR=\"relative/nonsense\"\n"); /* not absolute: ignored */
    expect_dir(NULL, "/Downloads/mim");
    FT_PATH(p, "%s/env", base);
    setenv("XDG_DOWNLOAD_DIR", p, 1);
    expect_dir(NULL, "/env/mim");
    setenv("XDG_DOWNLOAD_DIR", "not/absolute", 1);
    expect_dir(NULL, "/Downloads/mim");
    FT_PATH(p, "%s/chosen", base);
    expect_dir(p, "/chosen"); /* the configured one is used as it is */
    expect_dir("", "/Downloads/mim");
    EXPECT_INT(file_sink_download_dir(NULL, out, 10), MIM_EOVERFLOW);
    unsetenv("XDG_DOWNLOAD_DIR");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    EXPECT_INT(file_sink_download_dir(NULL, out, sizeof(out)), MIM_ENOENT);
}

static void test_prepare_dir(void **state)
{
    (void)state;
    char p[1024];
    struct stat st;

    FT_PATH(p, "%s/a/b/mim", base);
    EXPECT_INT(file_sink_prepare_dir(p), MIM_OK);
    assert_int_equal(stat(p, &st), 0);
    EXPECT_INT(st.st_mode & 0777, 0700);
    FT_PATH(p, "%s/open", base); /* the user's own directory keeps its mode */
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(chmod(p, 0755), 0);
    EXPECT_INT(file_sink_prepare_dir(p), MIM_OK);
    assert_int_equal(stat(p, &st), 0);
    EXPECT_INT(st.st_mode & 0777, 0755);
    ft_write(base, "plain", 1, 1);
    FT_PATH(p, "%s/plain", base);
    EXPECT_INT(file_sink_prepare_dir(p), MIM_EINVAL);
    FT_PATH(p, "%s/plain/below", base);
    EXPECT_INT(file_sink_prepare_dir(p), MIM_EINVAL);
}

/* Fills the file system of dir with a file "filler" until it refuses more: 1 when full. */
static int fill_up(const char *dir)
{
    char p[1024];
    static uint8_t block[4096];
    int fd;

    if (snprintf(p, sizeof(p), "%s/filler", dir) >= (int)sizeof(p))
        return 0;
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    for (int i = 0; i < 100000; i++) /* bounded: the tmpfs is far smaller */
        if (write(fd, block, sizeof(block)) < 0) {
            int full = errno == ENOSPC;

            close(fd);
            return full;
        }
    close(fd);
    return 0;
}

#define CHILD_SKIP 77

/* In the child: a transfer into the full tmpfs at mnt. Returns 0, or the step that failed. */
static int full_disk_scenario(const char *mnt)
{
    enum { SIZE = 192 * 1024 };
    static uint8_t data[SIZE];
    file_layout l;
    file_sink *s;
    char p[1024], hex[65];

    file_layout_init(&l);
    mim_test_fill(data, SIZE, 3);
    if (file_layout_add(&l, "x", 1, SIZE) != MIM_OK ||
        file_sink_create(mnt, "big.bin", 7, 0, &l, &s) != MIM_OK)
        return 1;
    if (file_sink_write(s, 0, data, 8192) != MIM_OK || file_sink_sync(s) != MIM_OK)
        return 2;
    if (!fill_up(mnt))
        return 3;
    if (file_sink_write(s, 8192, data + 8192, SIZE - 8192) != MIM_ENOSPC)
        return 4; /* full: a distinct code, so the transfer pauses */
    if (snprintf(p, sizeof(p), "%s/filler", mnt) >= (int)sizeof(p) || unlink(p) != 0)
        return 5;
    if (file_sink_write(s, 8192, data + 8192, SIZE - 8192) != MIM_OK)
        return 6; /* room again: the same range goes through */
    if (sink_sha256_hex(s, SIZE, hex) != MIM_OK || file_sink_finish(s) != MIM_OK)
        return 7;
    {
        uint8_t h[MIM_HASH_LEN];
        char want[65];

        mim_sha256_state st;
        mim_sha256_init(&st);
        mim_sha256_update(&st, data, SIZE);
        mim_sha256_final(&st, h);
        mim_hash_hex(want, h);
        if (strcmp(hex, want) != 0)
            return 8; /* the first 8 KiB written before the disk filled are still there */
    }
    file_sink_close(s);
    return 0;
}

static void test_full_disk_is_enospc(void **state)
{
    (void)state;
    char mnt[1024];
    int status;
    pid_t pid;

    FT_PATH(mnt, "%s/mnt", base);
    assert_int_equal(mkdir(mnt, 0700), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A private mount namespace: the tmpfs is seen by this child only and goes with it. */
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0700") != 0)
            _exit(CHILD_SKIP);
        _exit(full_disk_scenario(mnt));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == CHILD_SKIP)
        skip(); /* not root, or no mount namespaces here */
    EXPECT_INT(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_download_dir_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_is_enospc, setup, teardown),
    };

    if (mim_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
