/* The key log, read into a sorted table (see keys.h). */
#include "keys.h"

#include "mim_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int keys_add(keys *k, const mim_keylog_entry *en)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        mim_keylog_entry *e;
        if (cap > KEYS_MAX)
            cap = KEYS_MAX;
        if (k->n == cap || (e = malloc(cap * sizeof(*e))) == NULL)
            return -1;
        if (k->n > 0)
            memcpy(e, k->e, k->n * sizeof(*e));
        if (k->e != NULL) { /* keys: wiped before the old block is freed */
            mim_wipe(k->e, k->n * sizeof(*e));
            free(k->e);
        }
        k->e = e;
        k->cap = cap;
    }
    k->e[k->n++] = *en;
    return 0;
}

int keys_load(keys *k, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[MIM_KEYLOG_LINE_LEN + 2];
    mim_keylog_entry en;
    size_t lineno = 0, len;
    int rc = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            len--;
        else if (!feof(f)) { /* longer than any MIM_SESSION line: skip the rest of it */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            if (len >= 12 && memcmp(line, MIM_KEYLOG_LABEL " ", 12) == 0)
                rc = MIM_EINVAL;
            continue;
        }
        rc = mim_keylog_parse(line, len, &en);
        if (rc == 0 && keys_add(k, &en) != 0) {
            snprintf(err, errlen, "%s: more than %d lines", path, KEYS_MAX);
            rc = -2;
        } else if (rc == 1) {
            rc = 0;
        }
    }
    mim_wipe(line, sizeof(line));
    mim_wipe(&en, sizeof(en));
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -2;
    }
    fclose(f);
    if (rc == MIM_EINVAL)
        snprintf(err, errlen, "%s, line %zu: not a MIM_SESSION line (docs/KEYLOG.md)", path,
                 lineno);
    return rc == 0 ? 0 : -1;
}

static int by_e(const void *a, const void *b)
{
    return memcmp(((const mim_keylog_entry *)a)->e, ((const mim_keylog_entry *)b)->e, MIM_KEY_LEN);
}

void keys_ready(keys *k)
{
    if (k->n > 1)
        qsort(k->e, k->n, sizeof(*k->e), by_e);
}

const mim_keylog_entry *keys_find(const keys *k, const uint8_t e[MIM_KEY_LEN])
{
    mim_keylog_entry probe;

    if (k->n == 0)
        return NULL;
    memcpy(probe.e, e, MIM_KEY_LEN);
    return bsearch(&probe, k->e, k->n, sizeof(*k->e), by_e);
}

void keys_free(keys *k)
{
    if (k->e != NULL) {
        mim_wipe(k->e, k->cap * sizeof(*k->e));
        free(k->e);
    }
    memset(k, 0, sizeof(*k));
}
