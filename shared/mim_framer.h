/* The frame reader: pure, resumable, no I/O.
 *
 * A frame on the wire is a 2-byte big-endian length followed by that many bytes (MIM's blocks).
 * Feed it whatever bytes a read returned; it hands back complete frames one at a time. It checks
 * the length against its current maximum as soon as the 2 header bytes are in, before it
 * allocates anything, so a hostile length costs nothing. A zero length is an error: no mim frame
 * is empty.
 *
 * Typical loop:
 *   while (len > 0) {
 *       rc = mim_framer_feed(&f, p, len, &used, &frame, &flen);
 *       if (rc < 0) { close; break; }
 *       p += used; len -= used;
 *       if (rc == MIM_FRAMER_FRAME) handle(frame, flen);
 *   }
 */
#ifndef MIM_FRAMER_H
#define MIM_FRAMER_H

#include "mim_buf.h"

#include <stddef.h>
#include <stdint.h>

#define MIM_FRAME_HEADER_LEN 2
#define MIM_FRAME_MAX        65535 /* the largest length a 2-byte prefix can carry */

enum {
    MIM_FRAMER_NEED = 0,  /* consumed all input, no complete frame yet */
    MIM_FRAMER_FRAME = 1, /* a frame is complete; see *frame, *frame_len */
};

typedef struct mim_framer {
    mim_buf body;      /* partial body, only when a frame spans feeds */
    uint32_t max_len;  /* longest accepted frame body, 1..MIM_FRAME_MAX */
    uint32_t body_len; /* length announced by the header */
    uint8_t hdr[2];    /* header bytes seen so far */
    uint8_t hdr_have;  /* 0..2 */
    uint8_t in_body;   /* 0: reading the header, 1: reading the body */
} mim_framer;

void mim_framer_init(mim_framer *f, size_t max_len);
/* Changes the maximum for frames whose header has not been read yet (e.g. 1 KiB during the
 * handshake, 64 KiB after it). */
void mim_framer_set_max(mim_framer *f, size_t max_len);
/* Frees buffered bytes (wiped). */
void mim_framer_free(mim_framer *f);
/* Between frames (mim_framer_idle), frees the storage kept from the last frame, which the
 * frame handed out may still point at: call it once that frame has been handled. A no-op
 * inside a frame. For connections that sit idle for long, so they keep no buffer. */
void mim_framer_release(mim_framer *f);

/* Consumes input up to the end of the next frame.
 * Returns MIM_FRAMER_NEED when all `len` bytes were consumed without completing a frame,
 * MIM_FRAMER_FRAME when a frame completed: *frame and *frame_len describe it, valid until the
 * next call on this framer or until `in` is reused (it may point into `in` itself),
 * or MIM_EFRAME_TOO_BIG / MIM_EFRAME_EMPTY; after an error the framer must not be fed again.
 * *consumed is always set to the number of input bytes used. */
int mim_framer_feed(mim_framer *f, const uint8_t *in, size_t len, size_t *consumed,
                    const uint8_t **frame, size_t *frame_len);

/* 1 when the framer sits at a frame boundary (no partial frame buffered), else 0. */
int mim_framer_idle(const mim_framer *f);

/* Writes the 2-byte header for a body of `len` bytes (1..MIM_FRAME_MAX). */
void mim_frame_header(uint8_t out[MIM_FRAME_HEADER_LEN], size_t len);

#endif
