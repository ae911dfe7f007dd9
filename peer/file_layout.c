/* A transfer's byte stream as a list of entries: appending to it, and finding which entry holds
 * a stream offset (a binary search over the start offsets). */
#include "file_layout.h"

#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

void file_layout_init(file_layout *l)
{
    memset(l, 0, sizeof(*l));
}

void file_layout_free(file_layout *l)
{
    for (uint32_t i = 0; i < l->count; i++)
        free(l->entries[i].path);
    free(l->entries);
    file_layout_init(l);
}

int file_layout_add(file_layout *l, const char *path, size_t pathlen, int64_t size)
{
    file_layout_entry *e;
    char *copy;

    if (size < 0 || pathlen == 0 || memchr(path, '\0', pathlen) != NULL)
        return MIM_EINVAL;
    if (l->count >= FILE_LAYOUT_MAX_FILES || pathlen > FILE_LAYOUT_MAX_PATH ||
        size > FILE_LAYOUT_MAX_TOTAL - l->total)
        return MIM_EOVERFLOW;
    if (l->count == l->cap) {
        uint32_t cap = l->cap == 0 ? 16 : l->cap * 2;
        file_layout_entry *grown;

        if (cap > FILE_LAYOUT_MAX_FILES)
            cap = FILE_LAYOUT_MAX_FILES;
        grown = realloc(l->entries, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return MIM_ENOMEM;
        l->entries = grown;
        l->cap = cap;
    }
    copy = malloc(pathlen + 1);
    if (copy == NULL)
        return MIM_ENOMEM;
    memcpy(copy, path, pathlen);
    copy[pathlen] = '\0';
    e = &l->entries[l->count++];
    e->path = copy;
    e->size = size;
    e->offset = l->total;
    l->total += size;
    return MIM_OK;
}

/* The last entry starting at or before offset (0 <= offset < total): the one holding it, once
 * the empty entries that start at the same offset are stepped over. */
static uint32_t entry_holding(const file_layout *l, int64_t offset)
{
    uint32_t lo = 0, hi = l->count; /* entries[lo].offset <= offset < entries[hi].offset */

    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (l->entries[mid].offset <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int file_layout_span_at(const file_layout *l, int64_t offset, size_t len, file_layout_span *span)
{
    const file_layout_entry *e;
    int64_t left;

    if (len == 0 || offset < 0 || offset >= l->total)
        return 0;
    span->index = entry_holding(l, offset);
    e = &l->entries[span->index];
    span->within = offset - e->offset;
    left = e->size - span->within;
    span->len = (uint64_t)left < (uint64_t)len ? (size_t)left : len;
    return 1;
}
