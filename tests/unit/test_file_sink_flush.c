/* The receiver's sync split in two (file_sink_flush_*): the fsyncs of the files written since the
 * last sync run on another thread, through descriptors of the flush's own. What must hold: a
 * flush takes exactly the files written since the last sync; while it is out, a sync on the
 * sink's thread (file_sink_sync, file_sink_finish) syncs its files as well; a flush that fails
 * gives its files back; a flush outlives its sink. fsync is interposed here to see which files
 * were synced. */
#define _GNU_SOURCE /* syscall */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include "file_sink.h"
#include "file_tree.h"
#include "mim_error.h"

#include <sys/syscall.h>

#define MAX_SYNCED 64

static char base[512], dl[600];
static ino_t synced_ino[MAX_SYNCED];
static size_t nsynced;

/* Interposed (the executable's definition comes before libc's): each file fsynced is noted. */
int fsync(int fd)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && nsynced < MAX_SYNCED)
        synced_ino[nsynced++] = st.st_ino;
    return (int)syscall(SYS_fsync, fd);
}

/* How often dl/<rel> (below the .part) was fsynced since the last call; the record is cleared. */
static size_t synced(const char *rel)
{
    char path[1200];
    struct stat st;
    size_t n = 0;

    FT_PATH(path, "%s/%s", dl, rel);
    if (stat(path, &st) != 0)
        fail_msg("%s is missing", path);
    for (size_t i = 0; i < nsynced; i++)
        n += synced_ino[i] == st.st_ino;
    return n;
}

static void forget_synced(void)
{
    nsynced = 0;
}

static int setup(void **state)
{
    (void)state;
    ft_base(base, sizeof(base), "test_file_sink_flush");
    FT_PATH(dl, "%s/dl", base);
    forget_synced();
    return mkdir(dl, 0700);
}

static int teardown(void **state)
{
    (void)state;
    ft_remove(base);
    return 0;
}

/* A folder "f" of two files of 10 bytes: "a" and "b/c". */
static file_sink *folder(void)
{
    file_layout l;
    file_sink *s = NULL;

    file_layout_init(&l);
    EXPECT_INT(file_layout_add(&l, "a", 1, 10), MIM_OK);
    EXPECT_INT(file_layout_add(&l, "b/c", 3, 10), MIM_OK);
    EXPECT_INT(file_sink_create(dl, "f", 1, 1, &l, &s), MIM_OK);
    return s;
}

static void test_sync_covers_a_flush_out(void **state)
{
    (void)state;
    file_sink *s = folder();
    file_sink_flush *f = NULL, *other = NULL;
    uint8_t bytes[20] = {1, 2, 3};

    EXPECT_INT(file_sink_flush_begin(s, &f), MIM_OK);
    assert_null(f);                                       /* nothing written yet */
    EXPECT_INT(file_sink_write(s, 0, bytes, 10), MIM_OK); /* a */
    EXPECT_INT(file_sink_flush_begin(s, &f), MIM_OK);
    assert_non_null(f);
    EXPECT_INT(file_sink_flush_begin(s, &other), MIM_ESTATE); /* one at a time */
    assert_null(other);
    EXPECT_INT(file_sink_write(s, 10, bytes + 10, 10), MIM_OK); /* b/c */
    forget_synced();
    /* the flush took a, and may not have run: a sync now syncs a as well as b/c */
    EXPECT_INT(file_sink_sync(s), MIM_OK);
    EXPECT_INT(synced("f.part/a"), 1);
    EXPECT_INT(synced("f.part/b/c"), 1);
    forget_synced();
    EXPECT_INT(file_sink_flush_run(f), MIM_OK); /* only what it took */
    EXPECT_INT(synced("f.part/a"), 1);
    EXPECT_INT(synced("f.part/b/c"), 0);
    file_sink_flush_end(f, MIM_OK);
    forget_synced();
    EXPECT_INT(file_sink_sync(s), MIM_OK); /* nothing written since, no flush out */
    EXPECT_INT(nsynced, 0);
    EXPECT_INT(file_sink_flush_begin(s, &f), MIM_OK);
    assert_null(f);
    file_sink_close(s);
}

static void test_failed_flush_gives_files_back(void **state)
{
    (void)state;
    file_sink *s = folder();
    file_sink_flush *f = NULL;
    uint8_t bytes[10] = {4};

    EXPECT_INT(file_sink_write(s, 10, bytes, 10), MIM_OK); /* b/c */
    EXPECT_INT(file_sink_flush_begin(s, &f), MIM_OK);
    file_sink_flush_end(f, MIM_ENOSPC); /* (as when its fsync failed, or it never ran) */
    EXPECT_INT(file_sink_flush_begin(s, &f), MIM_OK);
    assert_non_null(f); /* b/c is not known synced: taken again */
    forget_synced();
    EXPECT_INT(file_sink_flush_run(f), MIM_OK);
    EXPECT_INT(synced("f.part/b/c"), 1);
    EXPECT_INT(synced("f.part/a"), 0);
    file_sink_flush_end(f, MIM_OK);
    file_sink_flush_end(NULL, MIM_OK);
    file_sink_close(s);
}

/* The sink finishes and is closed while its flush is out: the flush syncs through its own
 * descriptor, and its end finds no sink. */
static void test_flush_outlives_sink(void **state)
{
    (void)state;
    file_layout l;
    file_sink *s = NULL;
    file_sink_flush *f = NULL;
    uint8_t bytes[100] = {5};

    file_layout_init(&l);
    EXPECT_INT(file_layout_add(&l, "x", 1, 100), MIM_OK);
    EXPECT_INT(file_sink_create(dl, "one.bin", 7, 0, &l, &s), MIM_OK);
    EXPECT_INT(file_sink_write(s, 0, bytes, 100), MIM_OK);
    EXPECT_INT(file_sink_flush_begin(s, &f), MIM_OK);
    assert_non_null(f);
    forget_synced();
    EXPECT_INT(file_sink_finish(s), MIM_OK);
    EXPECT_INT(synced("one.bin"), 1); /* the flush's file, synced before the rename */
    file_sink_close(s);
    forget_synced();
    EXPECT_INT(file_sink_flush_run(f), MIM_OK);
    EXPECT_INT(synced("one.bin"), 1);
    file_sink_flush_end(f, MIM_EIO); /* no sink to give the file back to */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_covers_a_flush_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_flush_gives_files_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_outlives_sink, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
