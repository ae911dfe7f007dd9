/* A growable byte buffer.
 *
 * Owns `data` (heap); `len` bytes are in use out of `cap`. A zeroed struct is a valid empty
 * buffer. Growth is geometric; mim_buf_consume() drops bytes from the front and moves the rest
 * down, so a buffer used as a queue never grows past its high-water mark. */
#ifndef MIM_BUF_H
#define MIM_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct mim_buf {
    uint8_t *data;
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
} mim_buf;

void mim_buf_init(mim_buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void mim_buf_free(mim_buf *b);
/* Like mim_buf_free, but wipes the bytes first (for anything that held plaintext or keys). */
void mim_buf_wipe_free(mim_buf *b);
/* Ensures room for `extra` more bytes. 0 or MIM_ENOMEM/MIM_EOVERFLOW (size overflow). */
int mim_buf_reserve(mim_buf *b, size_t extra);
/* Appends n bytes. 0 or MIM_ENOMEM. */
int mim_buf_append(mim_buf *b, const void *p, size_t n);
/* Appends one byte. */
int mim_buf_append_byte(mim_buf *b, uint8_t byte);
/* Drops the first n bytes (n <= len). */
void mim_buf_consume(mim_buf *b, size_t n);
/* Sets len to 0, keeps the storage. */
void mim_buf_reset(mim_buf *b);

#endif
