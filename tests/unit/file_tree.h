/* Helpers for the tests of files on disk (test_file_source.c, test_file_sink.c): a directory of
 * the test's own under MIM_TEST_TMP, files of a known pattern, and removal of a whole tree
 * without following symlinks. Header-only; include after <cmocka.h> and mim_test.h. */
#ifndef FILE_TREE_H
#define FILE_TREE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf into a path buffer; a path that does not fit fails the test. */
#define FT_PATH(buf, ...)                                                                          \
    do {                                                                                           \
        if (snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf))                         \
            fail_msg("path too long for %s", #buf);                                                \
    } while (0)

/* Removes path and everything below it; symlinks are removed, never followed. */
static inline void ft_remove(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char sub[4096];

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    chmod(path, 0700);
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            FT_PATH(sub, "%s/%s", path, e->d_name);
            ft_remove(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* A fresh, empty directory MIM_TEST_TMP/<tag>.<pid> in out. */
static inline void ft_base(char *out, size_t outlen, const char *tag)
{
    if (snprintf(out, outlen, "%s/%s.%ld", MIM_TEST_TMP, tag, (long)getpid()) >= (int)outlen)
        fail_msg("base path too long");
    ft_remove(out);
    if (mkdir(out, 0700) != 0)
        fail_msg("mkdir %s: %s", out, strerror(errno));
}

/* Writes len bytes of the pattern mim_test_fill(seq) to dir/rel, creating dir and rel's parents. */
static inline void ft_write(const char *dir, const char *rel, size_t len, size_t seq)
{
    char path[4096];
    uint8_t *p = malloc(len > 0 ? len : 1);
    FILE *f;

    assert_non_null(p);
    FT_PATH(path, "%s/%s", dir, rel);
    for (char *s = path + 1; (s = strchr(s, '/')) != NULL; s++) { /* mkdir -p */
        *s = '\0';
        mkdir(path, 0700);
        *s = '/';
    }
    mim_test_fill(p, len, seq);
    f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
    free(p);
}

/* 1 when dir/rel exists (lstat: a symlink counts). */
static inline int ft_exists(const char *dir, const char *rel)
{
    char path[4096];
    struct stat st;

    FT_PATH(path, "%s/%s", dir, rel);
    return lstat(path, &st) == 0;
}

/* The number of entries in dir ("." and ".." excepted). */
static inline int ft_count(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

#endif
