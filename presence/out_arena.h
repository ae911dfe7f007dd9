/* Where the presence server's output of one loop turn lives.
 *
 * Each session's batch for the current turn (session.out, see out_queue.c) is carved from this
 * arena rather than malloc'd one by one. A login storm queues megabytes of batches for thousands
 * of peers in a turn and frees them all at its end; from malloc they would interleave with the
 * long-lived per-peer allocations made in the same turns, and the holes they leave between those
 * stay resident (about 200 bytes per idle peer, measured at n = 1000). Here they sit in a few
 * big blocks of their own, all freed at once by out_arena_reset() when the turn's output is out.
 *
 * A batch grows in place while it is the newest slice of the newest block; otherwise it moves to
 * a new slice at least twice its size (the old bytes are wiped, and the space comes back only at
 * the reset). All of it runs on the loop's thread. */
#ifndef MIM_PRESENCE_OUT_ARENA_H
#define MIM_PRESENCE_OUT_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define OUT_ARENA_BLOCK     (256u * 1024u) /* bytes per block, unless a slice needs more */
#define OUT_ARENA_MIN_SLICE 64u

typedef struct out_block out_block;

/* One batch: bytes [0, len) of a slice of cap bytes (at most a frame: 32 bits are plenty, and a
 * session holds one, idle or not). Empty: all zero. */
typedef struct out_slice {
    uint8_t *data;
    uint32_t len;
    uint32_t cap;
} out_slice;

typedef struct out_arena {
    out_block *head; /* the newest block first; NULL when empty */
    size_t live;     /* batches that hold a slice: a reset with any left would free their bytes */
} out_arena;

void out_arena_init(out_arena *a);
/* Makes room for `more` bytes after b->len in b, which is empty ({0}) or holds a slice of a;
 * keeps its bytes. 0, MIM_EOVERFLOW (over MIM_FRAME_MAX in all) or MIM_ENOMEM, b unchanged. */
int out_arena_reserve(out_arena *a, out_slice *b, size_t more);
/* Gives up b's slice: its bytes are wiped and b is empty again. A no-op on an empty b. */
void out_arena_drop(out_arena *a, out_slice *b);
/* Frees every block once no batch holds a slice (returns 0); with batches left it frees nothing
 * and returns the number of them (a bug of the caller's, which it should report). */
size_t out_arena_reset(out_arena *a);
/* How many blocks the arena holds now (for tests and diagnostics). */
size_t out_arena_blocks(const out_arena *a);

#endif
