/* Fuzzes the framer against a reference reading of the same bytes.
 *
 * Input layout:
 *   [0..1]  max_len A (big-endian; the framer clamps to 1..65535)
 *   [2..3]  max_len B: the framer alternates A, B, A, ... after every frame, like a connection
 *           switching from its handshake limit to its transport limit
 *   [4]     n: (n % 16) + 1 chunk sizes follow
 *   [5..]   chunk sizes, one byte each, used in turn (0 = everything left)
 *   rest    the byte stream, fed chunk by chunk
 *
 * Every frame must equal what a straight reading of the stream says, be no longer than the
 * limit in force, and an error must come exactly 2 bytes into the offending header. */
#include "fuzz.h"

#include "mim_error.h"
#include "mim_framer.h"

#include <stdlib.h>
#include <string.h>

static size_t clamp_max(size_t m)
{
    return m < 1 ? 1 : (m > MIM_FRAME_MAX ? MIM_FRAME_MAX : m);
}

static size_t header_at(const uint8_t *s)
{
    return ((size_t)s[0] << 8) | s[1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t maxes[2];
    size_t nchunks;
    const uint8_t *chunks;
    const uint8_t *stream;
    size_t slen;
    size_t fed = 0; /* bytes the framer consumed */
    size_t off = 0; /* start of the frame being read, by the reference reading */
    size_t ci = 0;
    int which = 0;
    int failed = 0;
    mim_framer f;

    if (size < 5)
        return 0;
    maxes[0] = clamp_max(header_at(data));
    maxes[1] = clamp_max(header_at(data + 2));
    nchunks = (size_t)(data[4] % 16) + 1;
    if (size < 5 + nchunks)
        return 0;
    chunks = data + 5;
    stream = data + 5 + nchunks;
    slen = size - 5 - nchunks;

    mim_framer_init(&f, maxes[0]);
    FUZZ_CHECK(mim_framer_idle(&f));
    while (fed < slen && !failed) {
        size_t n = chunks[ci++ % nchunks];
        uint8_t *buf;
        const uint8_t *p;
        size_t left;

        if (n == 0 || n > slen - fed)
            n = slen - fed;
        /* A fresh copy per read: a frame that outlived its buffer shows up under ASan. */
        buf = malloc(n);
        if (buf == NULL)
            abort();
        memcpy(buf, stream + fed, n);
        p = buf;
        left = n;
        while (left > 0) {
            size_t used = (size_t)-1;
            const uint8_t *frame = NULL;
            size_t flen = (size_t)-1;
            int rc = mim_framer_feed(&f, p, left, &used, &frame, &flen);

            FUZZ_CHECK(used <= left);
            fed += used;
            p += used;
            left -= used;
            if (rc == MIM_FRAMER_NEED) {
                FUZZ_CHECK(left == 0);
                FUZZ_CHECK(frame == NULL);
                continue;
            }
            if (rc == MIM_FRAMER_FRAME) {
                FUZZ_CHECK(off + MIM_FRAME_HEADER_LEN <= slen);
                FUZZ_CHECK(frame != NULL);
                FUZZ_CHECK(flen >= 1 && flen <= maxes[which]);
                FUZZ_CHECK(flen == header_at(stream + off));
                FUZZ_CHECK(off + MIM_FRAME_HEADER_LEN + flen == fed);
                FUZZ_CHECK(memcmp(frame, stream + off + MIM_FRAME_HEADER_LEN, flen) == 0);
                FUZZ_CHECK(mim_framer_idle(&f));
                off = fed;
                which ^= 1;
                mim_framer_set_max(&f, maxes[which]);
                continue;
            }
            /* An error: only a bad header, judged as soon as its 2 bytes are in, with no
             * body storage taken for it (at most the small buffer kept from earlier). */
            FUZZ_CHECK(rc == MIM_EFRAME_TOO_BIG || rc == MIM_EFRAME_EMPTY);
            FUZZ_CHECK(fed == off + MIM_FRAME_HEADER_LEN);
            if (rc == MIM_EFRAME_EMPTY)
                FUZZ_CHECK(header_at(stream + off) == 0);
            else
                FUZZ_CHECK(header_at(stream + off) > maxes[which]);
            FUZZ_CHECK(f.body.cap <= 4096);
            failed = 1;
            break;
        }
        free(buf);
    }
    if (!failed) {
        FUZZ_CHECK(fed == slen);
        /* Idle exactly when the stream ended on a frame boundary. */
        FUZZ_CHECK(mim_framer_idle(&f) == (off == slen));
        if (!mim_framer_idle(&f) && slen - off >= MIM_FRAME_HEADER_LEN) {
            /* A partial body was announced: it must not be over the limit either. */
            FUZZ_CHECK(f.body_len == header_at(stream + off));
            FUZZ_CHECK(f.body_len >= 1 && f.body_len <= maxes[which]);
        }
    }
    mim_framer_free(&f);
    FUZZ_CHECK(f.body.data == NULL && f.body.cap == 0);
    return 0;
}
