/* Fuzz target for the names a peer gives to files (peer/file_name.c):
 *  - file_name_safe: whatever the offered name, the result is one safe directory entry (valid
 *    UTF-8 with nothing invisible or controlling, no '/' or '\\', not "." or "..", no leading
 *    dot, 1..FILE_NAME_MAX bytes), and making it safe again changes nothing;
 *  - file_name_check_path: a manifest path it accepts stays below the top folder, checked here
 *    independently: relative, every component non-empty and not "." or "..", no '\\' or NUL, no
 *    deeper than FILE_LAYOUT_MAX_DEPTH, and each component valid UTF-8 with nothing invisible
 *    or controlling in it.
 *
 * Input: the bytes of a name (also tried as a path). */
#include "file_layout.h"
#include "file_name.h"
#include "fuzz.h"
#include "mim_codec.h"
#include "mim_error.h"
#include "mim_fs.h"

#include <string.h>

static void check_safe_name(const uint8_t *data, size_t size)
{
    char out[FILE_NAME_BUF], again[FILE_NAME_BUF];
    size_t n = file_name_safe((const char *)data, size, out);

    FUZZ_CHECK(n >= 1 && n <= FILE_NAME_MAX && strlen(out) == n);
    FUZZ_CHECK(mim_text_valid(out, n, FILE_NAME_MAX));
    FUZZ_CHECK(strchr(out, '/') == NULL && strchr(out, '\\') == NULL);
    FUZZ_CHECK(out[0] != '.' && mim_fs_leaf_ok(out));
    FUZZ_CHECK(file_name_check_path(out, n) == MIM_OK);
    FUZZ_CHECK(file_name_safe(out, n, again) == n && memcmp(again, out, n + 1) == 0);
}

static void check_path(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t start = 0, depth = 0;

    if (file_name_check_path(p, size) != MIM_OK)
        return;
    FUZZ_CHECK(size > 0 && size <= FILE_LAYOUT_MAX_PATH && p[0] != '/');
    FUZZ_CHECK(memchr(p, '\0', size) == NULL && memchr(p, '\\', size) == NULL);
    while (start <= size) {
        const char *slash = memchr(p + start, '/', size - start);
        size_t end = slash != NULL ? (size_t)(slash - p) : size, n = end - start;

        FUZZ_CHECK(n > 0 && n <= FILE_NAME_MAX);
        FUZZ_CHECK(!(n == 1 && p[start] == '.') && !(n == 2 && memcmp(p + start, "..", 2) == 0));
        FUZZ_CHECK(mim_text_valid(p + start, n, FILE_NAME_MAX)); /* nothing invisible */
        depth++;
        start = end + 1;
    }
    FUZZ_CHECK(depth <= FILE_LAYOUT_MAX_DEPTH + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_safe_name(data, size);
    check_path(data, size);
    return 0;
}
