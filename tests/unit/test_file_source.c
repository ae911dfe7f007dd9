/* The sending side on disk: a folder walked in byte order without following symlinks (and
 * what it skips), reads at stream offsets across file boundaries, a file changed since the walk
 * refused with MIM_ECHANGED, the limits, and the media type of a single image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include "file_source.h"
#include "file_tree.h"
#include "media_samples.h"
#include "mim_error.h"
#include "mim_media.h"

#include <sys/time.h>

static char base[512];

static int setup(void **state)
{
    (void)state;
    ft_base(base, sizeof(base), "test_file_source");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_remove(base);
    return 0;
}

/* base/tree: files of 3, 5, 0, 10 and 100 bytes, plus a symlink to a file, one to a directory
 * outside, a fifo and an empty directory. */
static void make_tree(char *tree, size_t len)
{
    char p[700];

    snprintf(tree, len, "%s/tree", base);
    ft_write(tree, "a.txt", 5, 1);
    ft_write(tree, "A.txt", 3, 2);
    ft_write(tree, "b/2.txt", 10, 3);
    ft_write(tree, "b/1.txt", 0, 4);
    ft_write(tree, "c/d/e/f.bin", 100, 5);
    FT_PATH(p, "%s/link", tree);
    assert_int_equal(symlink("a.txt", p), 0);
    FT_PATH(p, "%s/b/ldir", tree);
    assert_int_equal(symlink("/etc", p), 0);
    FT_PATH(p, "%s/pipe", tree);
    assert_int_equal(mkfifo(p, 0600), 0);
    FT_PATH(p, "%s/empty", tree);
    assert_int_equal(mkdir(p, 0700), 0);
}

static void test_walk_order_and_skips(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int64_t size, offset;
    } want[] = {
        {"A.txt", 3, 0},    {"a.txt", 5, 3},          {"b/1.txt", 0, 8},
        {"b/2.txt", 10, 8}, {"c/d/e/f.bin", 100, 18},
    };
    char tree[600];
    file_source *src;
    const file_layout *l;

    make_tree(tree, sizeof(tree));
    EXPECT_INT(file_source_open(tree, &src), MIM_OK);
    assert_true(file_source_is_folder(src));
    assert_string_equal(file_source_name(src), "tree");
    EXPECT_INT(file_source_skipped(src), 3); /* link, b/ldir, pipe */
    l = file_source_layout(src);
    EXPECT_INT(l->count, 5);
    EXPECT_INT(l->total, 118);
    for (uint32_t i = 0; i < l->count; i++) {
        assert_string_equal(l->entries[i].path, want[i].path);
        EXPECT_INT(l->entries[i].size, want[i].size);
        EXPECT_INT(l->entries[i].offset, want[i].offset);
    }
    file_source_close(src);
}

/* The stream is the files end to end: every offset, with reads short and long. */
static void test_reads_across_files(void **state)
{
    (void)state;
    static const size_t sizes[] = {3, 5, 0, 10, 100}, seqs[] = {2, 1, 4, 3, 5};
    uint8_t want[118], got[200];
    size_t n = 0;
    char tree[600];
    file_source *src;

    make_tree(tree, sizeof(tree));
    for (size_t i = 0; i < 5; i++) {
        mim_test_fill(want + n, sizes[i], seqs[i]);
        n += sizes[i];
    }
    EXPECT_INT(file_source_open(tree, &src), MIM_OK);
    for (size_t len = 1; len <= 130; len += 7)
        for (int64_t off = 0; off <= 118; off++) {
            int64_t expect = off + (int64_t)len <= 118 ? (int64_t)len : 118 - off;

            memset(got, 0xEE, sizeof(got));
            EXPECT_INT(file_source_read(src, off, got, len), expect);
            assert_memory_equal(got, want + off, (size_t)expect);
        }
    EXPECT_INT(file_source_read(src, 500, got, 10), 0);
    EXPECT_INT(file_source_read(src, -1, got, 10), MIM_EINVAL);
    file_source_close(src);
}

/* A single 3 MiB file read in one go, and named after itself. */
static void test_single_file_large_read(void **state)
{
    (void)state;
    size_t size = 3u << 20;
    uint8_t *buf = malloc(size + 10);
    char path[600];
    file_source *src;

    assert_non_null(buf);
    ft_write(base, "big.bin", size, 9);
    FT_PATH(path, "%s/big.bin", base);
    EXPECT_INT(file_source_open(path, &src), MIM_OK);
    assert_false(file_source_is_folder(src));
    assert_string_equal(file_source_name(src), "big.bin");
    EXPECT_INT(file_source_layout(src)->count, 1);
    assert_string_equal(file_source_layout(src)->entries[0].path, "big.bin");
    EXPECT_INT(file_source_read(src, 0, buf, size + 10), size);
    assert_true(mim_test_matches(buf, size, 9));
    file_source_close(src);
    free(buf);
}

static void expect_changed(const char *tree, void (*change)(const char *tree))
{
    uint8_t got[200];
    file_source *src;

    EXPECT_INT(file_source_open(tree, &src), MIM_OK);
    EXPECT_INT(file_source_read(src, 0, got, 3), 3); /* A.txt is fine */
    change(tree);
    EXPECT_INT(file_source_read(src, 0, got, 3), 3);
    EXPECT_INT(file_source_read(src, 18, got, 100), MIM_ECHANGED);
    EXPECT_INT(file_source_read(src, 0, got, 118), MIM_ECHANGED);
    file_source_close(src);
}

static void grow(const char *tree)
{
    char p[700];
    FILE *f;

    FT_PATH(p, "%s/c/d/e/f.bin", tree);
    f = fopen(p, "ab");
    fputc('x', f);
    fclose(f);
}

static void retouch(const char *tree) /* same size, another modification time */
{
    char p[700];
    struct timeval tv[2] = {{1000000, 0}, {1000000, 0}};

    FT_PATH(p, "%s/c/d/e/f.bin", tree);
    assert_int_equal(utimes(p, tv), 0);
}

static void replace(const char *tree) /* the same name, another file of the same size */
{
    ft_write(tree, "c/d/e/new", 100, 5);
    char a[700], b[700];

    FT_PATH(a, "%s/c/d/e/new", tree);
    FT_PATH(b, "%s/c/d/e/f.bin", tree);
    assert_int_equal(rename(a, b), 0);
}

/* A directory on the way becomes a symlink to a copy: same names, sizes and bytes, but not the
 * files that were listed (the walk never follows symlinks; a read checks it still has them). */
static void symlinked(const char *tree)
{
    char a[700], b[700];

    FT_PATH(a, "%s/c/d", tree);
    FT_PATH(b, "%s/moved", tree);
    assert_int_equal(rename(a, b), 0);
    FT_PATH(b, "%s/copy", base);
    ft_write(b, "e/f.bin", 100, 5);
    assert_int_equal(symlink(b, a), 0);
}

static void deleted(const char *tree)
{
    char p[700];

    FT_PATH(p, "%s/c/d/e/f.bin", tree);
    assert_int_equal(unlink(p), 0);
}

static void test_changed_files_are_refused(void **state)
{
    (void)state;
    void (*changes[])(const char *) = {grow, retouch, replace, symlinked, deleted};
    char tree[600];

    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        ft_remove(base);
        assert_int_equal(mkdir(base, 0700), 0);
        make_tree(tree, sizeof(tree));
        expect_changed(tree, changes[i]);
    }
}

/* A file that changes while it is open as the current one is refused too. */
static void test_single_file_changed_while_open(void **state)
{
    (void)state;
    char path[600];
    uint8_t got[16];
    file_source *src;

    ft_write(base, "one", 16, 1);
    FT_PATH(path, "%s/one", base);
    EXPECT_INT(file_source_open(path, &src), MIM_OK);
    EXPECT_INT(file_source_read(src, 0, got, 16), 16);
    assert_int_equal(truncate(path, 8), 0);
    EXPECT_INT(file_source_read(src, 0, got, 16), MIM_ECHANGED);
    file_source_close(src);
}

static void test_limits_and_refusals(void **state)
{
    (void)state;
    char p[4096], rel[4096];
    size_t n = 0;
    file_source *src = NULL;

    FT_PATH(p, "%s/none", base);
    EXPECT_INT(file_source_open(p, &src), MIM_ENOENT);
    FT_PATH(p, "%s/fifo", base);
    assert_int_equal(mkfifo(p, 0600), 0);
    EXPECT_INT(file_source_open(p, &src), MIM_EINVAL);
    FT_PATH(p, "%s/emptydir", base);
    assert_int_equal(mkdir(p, 0700), 0);
    EXPECT_INT(file_source_open(p, &src), MIM_EINVAL); /* nothing to send */

    /* FILE_LAYOUT_MAX_DEPTH directories above a file are fine; one more is refused */
    for (int i = 0; i < FILE_LAYOUT_MAX_DEPTH; i++)
        n += (size_t)snprintf(rel + n, sizeof(rel) - n, "d/");
    snprintf(rel + n, sizeof(rel) - n, "f");
    FT_PATH(p, "%s/deep", base);
    ft_write(p, rel, 1, 1);
    EXPECT_INT(file_source_open(p, &src), MIM_OK);
    EXPECT_INT(file_source_layout(src)->count, 1);
    file_source_close(src);
    memcpy(rel + n, "d/f", 4);
    ft_write(p, rel, 1, 1);
    EXPECT_INT(file_source_open(p, &src), MIM_EOVERFLOW);
}

static void test_media_of_an_image(void **state)
{
    (void)state;
    uint8_t png[MEDIA_SAMPLE_MAX];
    size_t n = media_sample_png(png, 640, 1);
    char p[600];
    FILE *f;
    file_source *src;
    mim_media_info info;

    FT_PATH(p, "%s/cat.png", base);
    f = fopen(p, "wb");
    fwrite(png, 1, n, f);
    fclose(f);
    EXPECT_INT(file_source_open(p, &src), MIM_OK);
    EXPECT_INT(file_source_media(src, &info), 1);
    assert_string_equal(info.type, "image/png");
    EXPECT_INT(info.width, 640);
    EXPECT_INT(info.height, 1);
    file_source_close(src);
    /* a folder is not an image, whatever it holds */
    EXPECT_INT(file_source_open(base, &src), MIM_OK);
    EXPECT_INT(file_source_media(src, &info), 0);
    assert_string_equal(info.type, "");
    file_source_close(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk_order_and_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_across_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_file_large_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_files_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_file_changed_while_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_of_an_image, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
