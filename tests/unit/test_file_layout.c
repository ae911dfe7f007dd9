/* A transfer's byte stream over its files: offsets, pieces across boundaries, empty files,
 * and the caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "file_layout.h"
#include "mim_error.h"
#include "mim_test.h"

static void add(file_layout *l, const char *path, int64_t size)
{
    EXPECT_INT(file_layout_add(l, path, strlen(path), size), MIM_OK);
}

/* Files of 3, 0, 5, 0 and 2 bytes: a read of the whole stream is three pieces, never an empty
 * file, and each piece stops at its file's end. */
static void test_spans_cross_files_and_skip_empty_ones(void **state)
{
    (void)state;
    file_layout l;
    file_layout_span sp;
    static const struct {
        int64_t offset;
        size_t len;
        uint32_t index;
        int64_t within;
        size_t got;
    } cases[] = {
        {0, 100, 0, 0, 3}, {1, 1, 0, 1, 1},   {3, 100, 2, 0, 5},
        {7, 100, 2, 4, 1}, {8, 100, 4, 0, 2}, {9, 1, 4, 1, 1},
    };

    file_layout_init(&l);
    add(&l, "a", 3);
    add(&l, "empty1", 0);
    add(&l, "b/c", 5);
    add(&l, "empty2", 0);
    add(&l, "d", 2);
    EXPECT_INT(l.total, 10);
    EXPECT_INT(l.entries[2].offset, 3);
    EXPECT_INT(l.entries[4].offset, 8);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(file_layout_span_at(&l, cases[i].offset, cases[i].len, &sp));
        EXPECT_INT(sp.index, cases[i].index);
        EXPECT_INT(sp.within, cases[i].within);
        EXPECT_INT(sp.len, cases[i].got);
    }
    assert_false(file_layout_span_at(&l, 10, 1, &sp));
    assert_false(file_layout_span_at(&l, -1, 1, &sp));
    assert_false(file_layout_span_at(&l, 0, 0, &sp));
    file_layout_free(&l);
    EXPECT_INT(l.count, 0);
}

static void test_bad_entries_are_refused_and_change_nothing(void **state)
{
    (void)state;
    file_layout l;

    file_layout_init(&l);
    EXPECT_INT(file_layout_add(&l, "a", 1, -1), MIM_EINVAL);
    EXPECT_INT(file_layout_add(&l, "", 0, 1), MIM_EINVAL);
    EXPECT_INT(file_layout_add(&l, "a\0b", 3, 1), MIM_EINVAL);
    add(&l, "big", FILE_LAYOUT_MAX_TOTAL - 1);
    EXPECT_INT(file_layout_add(&l, "more", 4, 2), MIM_EOVERFLOW);
    EXPECT_INT(l.count, 1);
    EXPECT_INT(l.total, FILE_LAYOUT_MAX_TOTAL - 1);
    file_layout_free(&l);
}

static void test_too_many_files_or_too_long_a_path(void **state)
{
    (void)state;
    file_layout l;
    static char longpath[FILE_LAYOUT_MAX_PATH + 1];

    memset(longpath, 'x', sizeof(longpath));
    file_layout_init(&l);
    EXPECT_INT(file_layout_add(&l, longpath, FILE_LAYOUT_MAX_PATH + 1, 0), MIM_EOVERFLOW);
    EXPECT_INT(file_layout_add(&l, longpath, FILE_LAYOUT_MAX_PATH, 0), MIM_OK);
    for (uint32_t i = 1; i < FILE_LAYOUT_MAX_FILES; i++)
        EXPECT_INT(file_layout_add(&l, "f", 1, 1), MIM_OK);
    EXPECT_INT(file_layout_add(&l, "f", 1, 1), MIM_EOVERFLOW);
    EXPECT_INT(l.count, FILE_LAYOUT_MAX_FILES);
    file_layout_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spans_cross_files_and_skip_empty_ones),
        cmocka_unit_test(test_bad_entries_are_refused_and_change_nothing),
        cmocka_unit_test(test_too_many_files_or_too_long_a_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
