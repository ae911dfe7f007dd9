/* The receiving side on disk: unique names that never overwrite, the .part written at offsets
 * and renamed once finished (without replacing anything that appeared meanwhile), folders whose
 * manifest cannot escape or follow a planted symlink, resume after a restart, removal, and the
 * SHA-256 of what was written. The download directory and a full disk: test_file_sink_dir.c. */
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

static char base[512], dl[600];

static int setup(void **state)
{
    (void)state;
    ft_base(base, sizeof(base), "test_file_sink");
    FT_PATH(dl, "%s/dl", base);
    return mkdir(dl, 0700);
}

static int teardown(void **state)
{
    (void)state;
    ft_remove(base);
    return 0;
}

static file_layout one_file(int64_t size)
{
    file_layout l;

    file_layout_init(&l);
    assert_int_equal(file_layout_add(&l, "x", 1, size), MIM_OK);
    return l;
}

static file_sink *create(const char *offered, int folder, file_layout *l)
{
    file_sink *s = NULL;

    EXPECT_INT(file_sink_create(dl, offered, strlen(offered), folder, l, &s), MIM_OK);
    EXPECT_INT(l->count, 0); /* moved in */
    return s;
}

/* Writes the pattern of seq over the whole stream in pieces of `piece` bytes, last piece
 * first, so that nothing depends on the order. */
static void write_all(file_sink *s, size_t piece, size_t seq)
{
    int64_t total = file_sink_layout(s)->total;
    uint8_t *all = malloc(total > 0 ? (size_t)total : 1);
    int64_t off = total > 0 ? ((total - 1) / (int64_t)piece) * (int64_t)piece : 0;

    mim_test_fill(all, (size_t)total, seq);
    for (; off >= 0 && total > 0; off -= (int64_t)piece) {
        size_t n = off + (int64_t)piece <= total ? piece : (size_t)(total - off);

        EXPECT_INT(file_sink_write(s, off, all + off, n), MIM_OK);
    }
    free(all);
}

static void expect_file(const char *dir, const char *name, size_t len, size_t seq)
{
    char path[1200];
    uint8_t *p = malloc(len + 1);
    FILE *f;

    FT_PATH(path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s is missing", path);
    EXPECT_INT(fread(p, 1, len + 1, f), len);
    fclose(f);
    assert_true(mim_test_matches(p, len, seq));
    free(p);
}

static void test_file_written_then_renamed(void **state)
{
    (void)state;
    file_layout l = one_file(300000);
    file_sink *s = create("report.pdf", 0, &l);
    uint8_t *all = malloc(300000), hash[MIM_HASH_LEN];
    char hex[65], want[65], final[1200];

    assert_string_equal(file_sink_unique_name(s), "report.pdf");
    assert_true(ft_exists(dl, "report.pdf.part"));
    assert_false(ft_exists(dl, "report.pdf"));
    write_all(s, 65536, 7);
    EXPECT_INT(file_sink_sync(s), MIM_OK);
    EXPECT_INT(file_sink_read(s, 299990, all, 100), 10);
    assert_true(mim_test_matches(all, 0, 7));
    mim_test_fill(all, 300000, 7);
    mim_sha256_state st;
    mim_sha256_init(&st);
    mim_sha256_update(&st, all, 300000);
    mim_sha256_final(&st, hash);
    mim_hash_hex(want, hash);
    EXPECT_INT(sink_sha256_hex(s, 300000, hex), MIM_OK);
    assert_string_equal(hex, want);
    EXPECT_INT(file_sink_finish(s), MIM_OK);
    FT_PATH(final, "%s/report.pdf", dl);
    assert_string_equal(file_sink_path(s), final);
    assert_false(ft_exists(dl, "report.pdf.part"));
    expect_file(dl, "report.pdf", 300000, 7);
    /* done: no more writes, and the user's file is never removed */
    EXPECT_INT(file_sink_write(s, 0, all, 1), MIM_ESTATE);
    EXPECT_INT(file_sink_remove(s), MIM_ESTATE);
    EXPECT_INT(file_sink_finish(s), MIM_ESTATE);
    assert_true(ft_exists(dl, "report.pdf"));
    file_sink_close(s);
    free(all);
}

/* Names in use (a final file, a .part of another transfer) are never reused, and a name taken
 * while the transfer ran moves the rename on; nothing that was there changes. */
static void test_never_overwrites(void **state)
{
    (void)state;
    file_layout l1 = one_file(10), l2 = one_file(10), l3 = one_file(10);
    file_sink *a, *b, *c;

    ft_write(dl, "report.pdf", 5, 1); /* the user's own */
    a = create("report.pdf", 0, &l1);
    assert_string_equal(file_sink_unique_name(a), "report (1).pdf");
    b = create("report.pdf", 0, &l2);
    assert_string_equal(file_sink_unique_name(b), "report (2).pdf");
    write_all(a, 4, 2);
    write_all(b, 4, 3);
    ft_write(dl, "report (1).pdf", 6, 4); /* appears meanwhile */
    EXPECT_INT(file_sink_finish(a), MIM_OK);
    EXPECT_INT(file_sink_finish(b), MIM_OK);
    expect_file(dl, "report.pdf", 5, 1);
    expect_file(dl, "report (1).pdf", 6, 4);
    expect_file(dl, "report (2).pdf", 10, 3);
    assert_string_equal(file_sink_unique_name(a), "report (3).pdf"); /* (2) was b's */
    expect_file(dl, "report (3).pdf", 10, 2);
    /* an offered "x (2).txt" is tried as it is */
    c = create("report (2).pdf", 0, &l3);
    assert_string_equal(file_sink_unique_name(c), "report (2) (1).pdf");
    EXPECT_INT(file_sink_remove(c), MIM_OK);
    assert_false(ft_exists(dl, "report (2) (1).pdf.part"));
    file_sink_close(a);
    file_sink_close(b);
    file_sink_close(c);
    EXPECT_INT(ft_count(dl), 4);
}

/* Hostile offered names land inside the download directory as one safe entry. */
static void test_hostile_offered_names_stay_inside(void **state)
{
    (void)state;
    static const char *const names[] = {"../../evil", "/etc/passwd", "..",
                                        ".bashrc",    "a/b",         "\x1b[2Jx"};
    char outside[700];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        file_layout l = one_file(1);
        file_sink *s = create(names[i], 0, &l);

        EXPECT_INT(file_sink_write(s, 0, "z", 1), MIM_OK);
        EXPECT_INT(file_sink_finish(s), MIM_OK);
        assert_null(strchr(file_sink_unique_name(s), '/'));
        assert_true(file_sink_unique_name(s)[0] != '.');
        file_sink_close(s);
    }
    EXPECT_INT(ft_count(dl), (int)(sizeof(names) / sizeof(names[0])));
    EXPECT_INT(ft_count(base), 1); /* only dl: nothing next to it */
    FT_PATH(outside, "%s/evil", base);
    assert_false(ft_exists(base, "evil"));
}

static void add(file_layout *l, const char *path, int64_t size)
{
    EXPECT_INT(file_layout_add(l, path, strlen(path), size), MIM_OK);
}

static void test_folder_keeps_its_layout(void **state)
{
    (void)state;
    file_layout l;
    file_sink *s;
    char top[1200];
    uint8_t all[60];

    file_layout_init(&l);
    add(&l, "a.txt", 10);
    add(&l, "sub/empty", 0);
    add(&l, "sub/deeper/b.bin", 40);
    add(&l, ".hidden/c", 10);
    s = create("../photos", 1, &l);
    assert_string_equal(file_sink_unique_name(s), "_photos");
    assert_true(ft_exists(dl, "_photos.part/sub/empty")); /* every file exists from the start */
    write_all(s, 7, 11);
    EXPECT_INT(file_sink_finish(s), MIM_OK);
    FT_PATH(top, "%s/_photos", dl);
    mim_test_fill(all, 60, 11);
    {
        uint8_t got[60];
        FILE *f;
        char p[1300];
        static const struct {
            const char *path;
            size_t off, len;
        } files[] = {{"a.txt", 0, 10},
                     {"sub/empty", 10, 0},
                     {"sub/deeper/b.bin", 10, 40},
                     {".hidden/c", 50, 10}};

        for (size_t i = 0; i < 4; i++) {
            FT_PATH(p, "%s/%s", top, files[i].path);
            f = fopen(p, "rb");
            assert_non_null(f);
            EXPECT_INT(fread(got, 1, sizeof(got), f), files[i].len);
            fclose(f);
            assert_memory_equal(got, all + files[i].off, files[i].len);
        }
    }
    file_sink_close(s);
}

/* Manifests that would escape, collide or make a file a folder: refused, nothing left. */
static void test_hostile_manifests_are_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"../x", NULL}, {"/abs", NULL}, {"a//b", NULL},    {"a/../../b", NULL}, {"a", "a"},
        {"a", "a/b"},   {"a/b", "a"},   {"ok", "bad\x01"}, {"a/./b", NULL},     {"x\\..\\y", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        file_layout l;
        file_sink *s = NULL;

        file_layout_init(&l);
        for (int k = 0; k < 2 && cases[i][k] != NULL; k++)
            add(&l, cases[i][k], 1);
        if (file_sink_create(dl, "top", 3, 1, &l, &s) != MIM_EINVAL)
            fail_msg("case %zu (%s, %s) was not refused", i, cases[i][0],
                     cases[i][1] ? cases[i][1] : "");
        assert_null(s);
        EXPECT_INT(ft_count(dl), 0);
    }
    {
        file_layout two; /* a file transfer is one entry */
        file_sink *s = NULL;

        file_layout_init(&two);
        add(&two, "a", 1);
        add(&two, "b", 1);
        EXPECT_INT(file_sink_create(dl, "f", 1, 0, &two, &s), MIM_EINVAL);
    }
}

/* A symlink planted in the .part after it was made is never followed: the write fails and
 * nothing lands where it points. */
static void test_planted_symlink_is_not_followed(void **state)
{
    (void)state;
    file_layout l;
    file_sink *s;
    char victim[700], planted[1200];

    file_layout_init(&l);
    add(&l, "sub/f", 4);
    add(&l, "g", 4);
    s = create("top", 1, &l);
    FT_PATH(victim, "%s/victim", base);
    assert_int_equal(mkdir(victim, 0700), 0);
    FT_PATH(planted, "%s/top.part/sub", dl);
    ft_remove(planted);
    assert_int_equal(symlink(victim, planted), 0);
    assert_true(file_sink_write(s, 0, "abcd", 4) < 0);
    EXPECT_INT(file_sink_write(s, 4, "efgh", 4), MIM_OK); /* the rest still works */
    EXPECT_INT(ft_count(victim), 0);
    /* removal takes the symlink away, never what it points to */
    ft_write(victim, "keep", 3, 1);
    EXPECT_INT(file_sink_remove(s), MIM_OK);
    assert_false(ft_exists(dl, "top.part"));
    expect_file(victim, "keep", 3, 1);
    file_sink_close(s);
}

static void test_bad_ranges(void **state)
{
    (void)state;
    file_layout l = one_file(10);
    file_sink *s = create("f", 0, &l);
    uint8_t b[20] = {0};

    EXPECT_INT(file_sink_write(s, -1, b, 1), MIM_EINVAL);
    EXPECT_INT(file_sink_write(s, 5, b, 6), MIM_EINVAL);
    EXPECT_INT(file_sink_write(s, 11, b, 0), MIM_EINVAL);
    EXPECT_INT(file_sink_write(s, INT64_MAX, b, 2), MIM_EINVAL);
    EXPECT_INT(file_sink_write(s, 10, b, 0), MIM_OK);
    EXPECT_INT(file_sink_write(s, 0, b, 10), MIM_OK);
    EXPECT_INT(file_sink_remove(s), MIM_OK);
    EXPECT_INT(file_sink_write(s, 0, b, 1), MIM_ESTATE);
    EXPECT_INT(ft_count(dl), 0);
    file_sink_close(s);
}

/* After a restart: the same unique name and manifest open the .part again with what was
 * written; a changed or hostile record is refused rather than trusted. */
static void test_reopen_resumes(void **state)
{
    (void)state;
    file_layout l, again, wrong;
    file_sink *s, *r = NULL;
    uint8_t all[30], got[30];
    char unique[300];

    file_layout_init(&l);
    add(&l, "one", 10);
    add(&l, "two/three", 20);
    s = create("folder", 1, &l);
    mim_test_fill(all, 30, 5);
    EXPECT_INT(file_sink_write(s, 0, all, 15), MIM_OK);
    EXPECT_INT(file_sink_sync(s), MIM_OK);
    snprintf(unique, sizeof(unique), "%s", file_sink_unique_name(s));
    file_sink_close(s); /* the process stops here */

    file_layout_init(&again);
    add(&again, "one", 10);
    add(&again, "two/three", 20);
    EXPECT_INT(file_sink_reopen(dl, unique, 1, &again, &r), MIM_OK);
    EXPECT_INT(file_sink_read(r, 0, got, 15), 15);
    assert_memory_equal(got, all, 15);
    EXPECT_INT(file_sink_write(r, 15, all + 15, 15), MIM_OK);
    EXPECT_INT(file_sink_finish(r), MIM_OK);
    file_sink_close(r);
    r = NULL;

    file_layout_init(&wrong);
    add(&wrong, "one", 11);
    EXPECT_INT(file_sink_reopen(dl, "folder", 1, &wrong, &r), MIM_ENOENT); /* finished */
    file_layout_init(&wrong);
    add(&wrong, "one", 1);
    EXPECT_INT(file_sink_reopen(dl, "../folder", 1, &wrong, &r), MIM_EINVAL);
    file_layout_init(&wrong);
    add(&wrong, "one", 1);
    EXPECT_INT(file_sink_reopen(dl, ".part", 1, &wrong, &r), MIM_EINVAL);
    {
        file_layout f1 = one_file(8), f2 = one_file(9);
        file_sink *t = create("g.bin", 0, &f1);

        file_sink_close(t);
        EXPECT_INT(file_sink_reopen(dl, "g.bin", 0, &f2, &r), MIM_EINVAL); /* other size */
        /* a .part that cannot be resumed is discarded, by the same safe name only */
        EXPECT_INT(file_sink_discard(dl, "../g.bin", 0), MIM_EINVAL);
        EXPECT_INT(file_sink_discard(dl, "g.bin", 0), MIM_OK);
        assert_false(ft_exists(dl, "g.bin.part"));
        EXPECT_INT(file_sink_discard(dl, "g.bin", 0), MIM_ENOENT);
    }
    assert_null(r);
    {
        file_layout f;
        file_sink *t;

        file_layout_init(&f);
        add(&f, "deep/er/x", 3);
        t = create("tree", 1, &f);
        file_sink_close(t);
        EXPECT_INT(file_sink_discard(dl, "tree", 1), MIM_OK);
        assert_false(ft_exists(dl, "tree.part"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_written_then_renamed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_offered_names_stay_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_keeps_its_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_manifests_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_symlink_is_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_resumes, setup, teardown),
    };

    if (mim_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
