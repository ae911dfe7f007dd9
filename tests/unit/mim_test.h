/* Helpers shared by the unit tests (header-only; include after <cmocka.h>). */
#ifndef MIM_TEST_H
#define MIM_TEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mim_store.h"

/* The peer store's schema version: the number of migrations in shared/mim_store_peer.c. Written
 * here by hand on purpose: a new migration must be seen by the tests of the store. */
#define MIM_TEST_PEER_SCHEMA_VERSION 16

/* Compares two integers and prints both, signed, with the expressions: cmocka's own
 * assert_int_equal shows negative error codes as large hex numbers. */
#define EXPECT_INT(a, b)                                                                           \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            fail_msg("%s == %s: %lld != %lld", #a, #b, a_, b_);                                    \
    } while (0)

/* Fails, printing both, unless the string haystack contains needle. */
#define EXPECT_CONTAINS(haystack, needle)                                                          \
    do {                                                                                           \
        if (strstr((haystack), (needle)) == NULL)                                                  \
            fail_msg("%s is \"%s\", which does not mention \"%s\"", #haystack, (haystack),         \
                     (needle));                                                                    \
    } while (0)

/* The whole file at path as a NUL-terminated heap string (the caller frees); fails the test
 * when it cannot be read. */
static inline char *mim_test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;

    if (f == NULL) {
        fail_msg("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* A byte pattern that differs per message (seq) and per position, so a misplaced, dropped or
 * duplicated byte shows: fill writes it, matches checks it (1 when p holds it). */
static inline void mim_test_fill(uint8_t *p, size_t len, size_t seq)
{
    for (size_t j = 0; j < len; j++)
        p[j] = (uint8_t)(seq * 131 + j * 7 + (j >> 8));
}

static inline int mim_test_matches(const uint8_t *p, size_t len, size_t seq)
{
    for (size_t j = 0; j < len; j++)
        if (p[j] != (uint8_t)(seq * 131 + j * 7 + (j >> 8)))
            return 0;
    return 1;
}

/* Records a failure seen inside a callback into err (errlen bytes), keeping only the first:
 * the first failure is the one worth reading. The test asserts err is empty afterwards. */
static inline void mim_test_note(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void mim_test_note(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- a store file in a fresh temporary directory (test_store*.c) ---- */

/* The directory and the database path in it; the cmocka state of the store tests. */
struct store_fixture {
    char dir[512];
    char path[600];
};

/* out = the store's path + sfx ("-wal", "-shm", ...). */
static inline void path_with_suffix(char *out, size_t outlen, const struct store_fixture *f,
                                    const char *sfx)
{
    int n = snprintf(out, outlen, "%s%s", f->path, sfx);
    assert_true(n > 0 && (size_t)n < outlen);
}

/* A fixture for `file` in a new directory MIM_TEST_TMP/<tag>-XXXXXX. */
static inline int mim_test_store_setup(void **state, const char *tag, const char *file)
{
    struct store_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    mkdir(MIM_TEST_TMP, 0700); /* normally made by CMake; harmless when it exists */
    snprintf(f->dir, sizeof(f->dir), "%s/%s-XXXXXX", MIM_TEST_TMP, tag);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, file);
    *state = f;
    return 0;
}

/* Removes the file, its WAL, shared-memory and journal files, and the directory. */
static inline int mim_test_store_teardown(void **state)
{
    struct store_fixture *f = *state;
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    char p[700];

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        path_with_suffix(p, sizeof(p), f, suffixes[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

/* The fixture's file opened as a store of `kind`: it must open. */
static inline mim_store *mim_test_store_open(const struct store_fixture *f,
                                             enum mim_store_kind kind)
{
    mim_store *st = NULL;

    EXPECT_INT(mim_store_open(f->path, kind, &st), 0);
    assert_non_null(st);
    return st;
}

#endif
