/* Data directory preparation: nested creation at 0700, tightening of a loose directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_error.h"
#include "mim_fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[512];

/* Each run gets its own directory under MIM_TEST_TMP so parallel or repeated runs don't meet. */
static int setup(void **state)
{
    (void)state;
    umask(022);
    snprintf(base, sizeof(base), "%s/test_fs.%ld", MIM_TEST_TMP, (long)getpid());
    return mkdir(base, 0700) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[600];
    static const char *const leftovers[] = {"a/b/c", "a/b",     "a",    "loose",
                                            "file",  "slash/x", "slash"};

    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", base, leftovers[i]);
        if (rmdir(p) != 0)
            unlink(p);
    }
    return rmdir(base);
}

static mode_t mode_of(const char *p)
{
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    return st.st_mode & 07777;
}

static void test_nested_dir_is_0700(void **state)
{
    (void)state;
    char p[600];

    snprintf(p, sizeof(p), "%s/a/b/c", base);
    assert_int_equal(mim_fs_prepare_dir(p), MIM_OK);
    assert_int_equal(mode_of(p), 0700);
    snprintf(p, sizeof(p), "%s/a/b", base);
    assert_int_equal(mode_of(p), 0700);
    snprintf(p, sizeof(p), "%s/a", base);
    assert_int_equal(mode_of(p), 0700);
    /* Again: already there and tight, nothing to do. */
    snprintf(p, sizeof(p), "%s/a/b/c", base);
    assert_int_equal(mim_fs_prepare_dir(p), MIM_OK);
    assert_int_equal(mode_of(p), 0700);
}

static void test_trailing_slashes(void **state)
{
    (void)state;
    char p[600];

    snprintf(p, sizeof(p), "%s/slash//x//", base);
    assert_int_equal(mim_fs_prepare_dir(p), MIM_OK);
    snprintf(p, sizeof(p), "%s/slash/x", base);
    assert_int_equal(mode_of(p), 0700);
}

static void test_loose_dir_is_tightened(void **state)
{
    (void)state;
    char p[600];

    snprintf(p, sizeof(p), "%s/loose", base);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(chmod(p, 0777), 0);
    assert_int_equal(mim_fs_prepare_dir(p), MIM_OK);
    assert_int_equal(mode_of(p), 0700);
}

static void test_file_in_the_way(void **state)
{
    (void)state;
    char p[600];
    int fd;

    snprintf(p, sizeof(p), "%s/file", base);
    fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mim_fs_prepare_dir(p), MIM_EIO);
    snprintf(p, sizeof(p), "%s/file/sub", base);
    assert_int_equal(mim_fs_prepare_dir(p), MIM_EIO);
    assert_int_equal(mim_fs_prepare_dir(""), MIM_EIO);
}

static void test_join(void **state)
{
    (void)state;
    char out[16];

    assert_int_equal(mim_fs_join(out, sizeof(out), "/a/b", "key"), MIM_OK);
    assert_string_equal(out, "/a/b/key");
    assert_int_equal(mim_fs_join(out, sizeof(out), "/a/b/", "key"), MIM_OK);
    assert_string_equal(out, "/a/b/key");
    assert_int_equal(mim_fs_join(out, sizeof(out), "", "key"), MIM_OK);
    assert_string_equal(out, "key");
    /* 15 characters fit in 16 bytes; 16 do not, and nothing truncated is left behind. */
    assert_int_equal(mim_fs_join(out, sizeof(out), "/0123456789", "abc"), MIM_OK);
    assert_string_equal(out, "/0123456789/abc");
    assert_int_equal(mim_fs_join(out, sizeof(out), "/0123456789", "abcd"), MIM_EOVERFLOW);
    assert_string_equal(out, "");
    assert_int_equal(mim_fs_join(out, 0, "/a", "b"), MIM_EOVERFLOW);
}

/* A peer's name names its default data dir only when it is one plain path component. */
static void test_default_data_dir_needs_a_plain_name(void **state)
{
    static const char *const bad[] = {"", ".", "..", "../../x", "a/b", "/etc", "x/"};
    static const char *const ok[] = {"alice", "...", ".alice", "a..b", "Zo\xc3\xa9"};
    char buf[256];
    (void)state;

    setenv("HOME", "/home/u", 1);
    unsetenv("XDG_DATA_HOME");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mim_fs_leaf_ok(bad[i]), 0);
        assert_null(mim_fs_default_data_dir(buf, sizeof(buf), bad[i]));
    }
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(mim_fs_leaf_ok(ok[i]), 1);
    assert_string_equal(mim_fs_default_data_dir(buf, sizeof(buf), "alice"),
                        "/home/u/.local/share/mim/alice");
    assert_int_equal(mim_fs_leaf_ok(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_dir_is_0700),
        cmocka_unit_test(test_trailing_slashes),
        cmocka_unit_test(test_loose_dir_is_tightened),
        cmocka_unit_test(test_file_in_the_way),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_default_data_dir_needs_a_plain_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
