/* Stands in for libFuzzer's main() in ordinary builds: runs every file of a corpus directory
 * through LLVMFuzzerTestOneInput once, so ctest catches regressions without a fuzzing run.
 *
 *   fuzz_<name> DIR   -> exit 0 when every input ran; non-zero when DIR is unreadable or empty
 *                        (an empty corpus would make the test pass while testing nothing). */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads a whole file; *out is malloc'ed (at least 1 byte so an empty input is a valid pointer). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;

    if (fp == NULL)
        return -1;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0) {
        fclose(fp);
        return -1;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(fp);
        return -1;
    }
    if (fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
        free(buf);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    *out = buf;
    *len = (size_t)st.st_size;
    return 0;
}

static int skip_dots(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    struct dirent **names;
    int n;
    size_t ran = 0;
    int failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    /* Sorted, so a failure names the same input on every machine. */
    n = scandir(argv[1], &names, skip_dots, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        uint8_t *data;
        size_t len;

        snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]->d_name);
        free(names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (read_file(path, &data, &len) != 0) {
            fprintf(stderr, "%s: cannot read\n", path);
            failed = 1;
            continue;
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        ran++;
    }
    free(names);
    if (ran == 0) {
        fprintf(stderr, "%s: no inputs: the seed corpus is missing\n", argv[1]);
        return 1;
    }
    printf("replayed %zu inputs from %s\n", ran, argv[1]);
    return failed;
}
