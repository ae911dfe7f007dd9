/* The presence server's per-turn output arena (see out_arena.h). */
#include "out_arena.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_framer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct out_block {
    out_block *next;
    size_t size; /* bytes in data */
    size_t used;
    _Alignas(16) uint8_t data[];
};

void out_arena_init(out_arena *a)
{
    a->head = NULL;
    a->live = 0;
}

/* The newest slice of the newest block ends exactly at that block's `used`. */
static int is_newest(const out_arena *a, const out_slice *b)
{
    return a->head != NULL && b->data + b->cap == a->head->data + a->head->used;
}

int out_arena_reserve(out_arena *a, out_slice *b, size_t more)
{
    size_t need, cap;
    out_block *blk = a->head;
    uint8_t *p;

    /* A batch is sealed into one frame: nothing near SIZE_MAX can reach here. */
    if (more > MIM_FRAME_MAX || b->len > MIM_FRAME_MAX - more)
        return MIM_EOVERFLOW;
    need = b->len + more;
    if (need <= b->cap)
        return MIM_OK;
    cap = b->cap * 2 > need ? b->cap * 2 : need;
    if (cap < OUT_ARENA_MIN_SLICE)
        cap = OUT_ARENA_MIN_SLICE;
    if (b->data != NULL && is_newest(a, b)) {
        /* Grows in place, as far as the block allows. */
        size_t room = blk->size - blk->used + b->cap;
        if (room >= need) {
            if (cap > room)
                cap = room;
            blk->used += cap - b->cap;
            b->cap = (uint32_t)cap;
            return MIM_OK;
        }
    }
    if (blk == NULL || blk->size - blk->used < cap) {
        size_t size = cap > OUT_ARENA_BLOCK ? cap : OUT_ARENA_BLOCK;
        if ((blk = malloc(sizeof(*blk) + size)) == NULL)
            return MIM_ENOMEM;
        blk->next = a->head;
        blk->size = size;
        blk->used = 0;
        a->head = blk;
    }
    p = blk->data + blk->used;
    blk->used += cap;
    if (b->data != NULL) {
        memcpy(p, b->data, b->len);
        mim_wipe(b->data, b->len);
    } else {
        a->live++;
    }
    b->data = p;
    b->cap = (uint32_t)cap;
    return MIM_OK;
}

void out_arena_drop(out_arena *a, out_slice *b)
{
    if (b->data == NULL)
        return;
    mim_wipe(b->data, b->len);
    if (is_newest(a, b))
        a->head->used -= b->cap; /* the last one handed out: its space is free again */
    a->live--;
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t out_arena_blocks(const out_arena *a)
{
    size_t n = 0;
    for (const out_block *b = a->head; b != NULL; b = b->next)
        n++;
    return n;
}

size_t out_arena_reset(out_arena *a)
{
    if (a->live != 0)
        return a->live;
    while (a->head != NULL) {
        out_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    return 0;
}
