/* The words and numbers of file transfers in the terminal interface (tui_files_text.c): sizes,
 * rates, time left, the progress bar, and a transfer's line in each state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"
#include "tui_files_text.h"

static const char *size(int64_t bytes)
{
    static char out[TUI_FILES_SIZE_LEN];
    return tui_files_size(bytes, out);
}

static void test_sizes(void **state)
{
    (void)state;
    assert_string_equal(size(0), "0 B");
    assert_string_equal(size(-5), "0 B");
    assert_string_equal(size(999), "999 B");
    assert_string_equal(size(1023), "1023 B");
    assert_string_equal(size(1024), "1.0 KB");
    assert_string_equal(size(120 * 1024 + 300), "120 KB");
    assert_string_equal(size(2202009), "2.1 MB");
    assert_string_equal(size(10 * 1024 * 1024 - 1), "10 MB"); /* not "10.0 MB" */
    assert_string_equal(size(64ll << 30), "64 GB");
    assert_string_equal(size(INT64_MAX), "8.0 EB");
}

static void test_rates_and_time_left(void **state)
{
    char rate[TUI_FILES_SIZE_LEN + 2], eta[TUI_FILES_ETA_LEN];
    (void)state;
    assert_string_equal(tui_files_rate(12.5 * 1024 * 1024, rate), "12 MB/s");
    assert_string_equal(tui_files_rate(0, rate), "");
    assert_string_equal(tui_files_rate(-1, rate), "");
    assert_string_equal(tui_files_eta(100, 1000, eta), "< 1 s");
    assert_string_equal(tui_files_eta(42000, 1000, eta), "42 s");
    assert_string_equal(tui_files_eta(185, 1, eta), "3 min 05 s");
    assert_string_equal(tui_files_eta(2 * 3600 + 7 * 60, 1, eta), "2 h 07 min");
    assert_string_equal(tui_files_eta(1000ll * 3600 * 100, 1000, eta), "> 99 h");
    assert_string_equal(tui_files_eta(100, 0, eta), ""); /* no rate yet: unknown */
    assert_string_equal(tui_files_eta(0, 1000, eta), "");
}

static void test_bar(void **state)
{
    char bar[TUI_FILES_BAR_LEN];
    (void)state;
    assert_string_equal(tui_files_bar(0, 100, bar), "[....................]   0%");
    assert_string_equal(tui_files_bar(45, 100, bar), "[#########...........]  45%");
    assert_string_equal(tui_files_bar(99, 100, bar), "[###################.]  99%");
    assert_string_equal(tui_files_bar(100, 100, bar), "[####################] 100%");
    assert_string_equal(tui_files_bar(150, 100, bar), "[####################] 100%");
    assert_string_equal(tui_files_bar(0, 0, bar), "[####################] 100%");
    /* One byte short of a huge total is not 100%. */
    assert_string_equal(tui_files_bar(INT64_MAX - 1, INT64_MAX, bar) + 22, "  99%");
}

static mim_core_file_info info(mim_core_file_dir dir, mim_core_file_state state)
{
    mim_core_file_info f = {.with = "bob",
                            .dir = dir,
                            .state = state,
                            .name = "cat.png",
                            .path = "/home/ann/Downloads/mim/cat.png",
                            .size = 120 * 1024,
                            .bytes = 60 * 1024,
                            .nfiles = 1,
                            .media_type = "image/png",
                            .width = 640,
                            .height = 480,
                            .sha256 = "",
                            .error = "",
                            .rate = 10 * 1024};
    return f;
}

static void test_lines(void **state)
{
    mim_core_file_info f = info(MIM_CORE_FILE_RECEIVE, MIM_CORE_FILE_OFFERED);
    char line[TUI_FILES_LINE_MAX];
    (void)state;
    assert_string_equal(tui_files_line(&f, 3, line, sizeof(line)),
                        "[image cat.png 640x480, 120 KB] bob offers it: /accept 3 or /reject 3");
    f.state = MIM_CORE_FILE_RUNNING;
    assert_string_equal(tui_files_line(&f, 3, line, sizeof(line)),
                        "[image cat.png 640x480, 120 KB] [##########..........]  50%  10 KB/s, "
                        "6 s left");
    f.state = MIM_CORE_FILE_DONE;
    assert_string_equal(tui_files_line(&f, 3, line, sizeof(line)),
                        "[image cat.png 640x480, 120 KB] saved: /home/ann/Downloads/mim/cat.png");
    f.state = MIM_CORE_FILE_PAUSED;
    f.error = "the disk is full";
    assert_string_equal(tui_files_line(&f, 3, line, sizeof(line)),
                        "[image cat.png 640x480, 120 KB] paused at 50%: the disk is full");
    f = info(MIM_CORE_FILE_SEND, MIM_CORE_FILE_OFFERED);
    f.media_type = "application/pdf";
    f.name = "report.pdf";
    EXPECT_CONTAINS(tui_files_line(&f, 1, line, sizeof(line)),
                    "[file report.pdf, 120 KB] offered; waits for bob");
    f.state = MIM_CORE_FILE_FAILED;
    f.error = "chunk 3 failed its hash 5 times";
    EXPECT_CONTAINS(tui_files_line(&f, 1, line, sizeof(line)),
                    "failed: chunk 3 failed its hash 5 times");
    f.nfiles = 12;
    f.name = "photos";
    EXPECT_CONTAINS(tui_files_line(&f, 1, line, sizeof(line)), "[folder photos, 12 files, 120 KB]");
    assert_string_equal(tui_files_state_word(&f), "failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_rates_and_time_left),
        cmocka_unit_test(test_bar),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
