#include "mim_buf.h"

#include "mim_crypto.h"
#include "mim_error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Small buffers are the common case (a handshake message, a presence batch); starting at 64
 * bytes avoids a string of tiny reallocations without wasting much on idle connections. */
#define MIM_BUF_MIN_CAP 64

void mim_buf_init(mim_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void mim_buf_free(mim_buf *b)
{
    free(b->data);
    mim_buf_init(b);
}

void mim_buf_wipe_free(mim_buf *b)
{
    /* Wipe the whole allocation, not just len: bytes consumed earlier still sit past len. */
    if (b->data != NULL)
        mim_wipe(b->data, b->cap);
    mim_buf_free(b);
}

int mim_buf_reserve(mim_buf *b, size_t extra)
{
    size_t need;
    size_t cap;
    uint8_t *p;

    /* No object may exceed PTRDIFF_MAX (malloc refuses it anyway); saying so here turns an
     * absurd request into a clean error instead of a trip through the allocator. */
    if (extra > (size_t)PTRDIFF_MAX || b->len > (size_t)PTRDIFF_MAX - extra)
        return MIM_EOVERFLOW;
    need = b->len + extra;
    if (need <= b->cap)
        return MIM_OK;

    /* Double until it fits so n appends cost O(n) copies; take the exact size when doubling
     * would pass the limit. */
    cap = b->cap < MIM_BUF_MIN_CAP ? MIM_BUF_MIN_CAP : b->cap;
    while (cap < need) {
        if (cap > (size_t)PTRDIFF_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    /* Not realloc: it could leave a copy of the old bytes (plaintext, sometimes) in freed
     * memory. Move them, wipe the old block, then free it. */
    p = malloc(cap);
    if (p == NULL)
        return MIM_ENOMEM;
    if (b->data != NULL) {
        memcpy(p, b->data, b->len);
        mim_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return MIM_OK;
}

int mim_buf_append(mim_buf *b, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return MIM_OK;
    rc = mim_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return MIM_OK;
}

int mim_buf_append_byte(mim_buf *b, uint8_t byte)
{
    return mim_buf_append(b, &byte, 1);
}

void mim_buf_consume(mim_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    /* Move the rest to the front so the free space is always at the tail: a queue reuses its
     * storage instead of creeping forward and growing. */
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void mim_buf_reset(mim_buf *b)
{
    b->len = 0;
}
