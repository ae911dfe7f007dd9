/* The seed writers' shared file writing (seed_file.h). */
#include "seed_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;
static size_t max_seed;
static int failures;

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
        failures++;
        return -1;
    }
    return 0;
}

int seed_begin(int argc, char **argv, const char *default_root, size_t max_bytes)
{
    root = argc > 1 ? argv[1] : default_root;
    max_seed = max_bytes;
    return make_dir(root);
}

const char *seed_root(void)
{
    return root;
}

void write_seed(const char *target, const char *name, const void *p, size_t n)
{
    char path[4096];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", root, target);
    if (make_dir(path) != 0)
        return;
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    fp = fopen(path, "wb");
    if (fp == NULL || (n > 0 && fwrite(p, 1, n, fp) != n) || fclose(fp) != 0) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    if (max_seed > 0 && n > max_seed) {
        fprintf(stderr, "%s: %zu bytes; seeds should stay under %zu\n", path, n, max_seed);
        failures++;
    }
}

void write_msg(const char *target, const char *name, const ProtobufCMessage *m, size_t cut)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);

    if (buf == NULL)
        abort();
    protobuf_c_message_pack(m, buf);
    write_seed(target, name, buf, n > cut ? n - cut : 0);
    free(buf);
}

int seed_end(const char *what)
{
    if (failures > 0)
        return 1;
    printf("%s written under %s\n", what, root);
    return 0;
}
