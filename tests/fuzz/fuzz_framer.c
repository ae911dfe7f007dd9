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

/* The reference reading of the stream, beside the framer's. */
typedef struct reading {
    const uint8_t *stream;
    size_t slen;
    size_t maxes[2];
    size_t fed; /* bytes the framer consumed */
    size_t off; /* start of the frame being read, by the reference reading */
    int which;  /* the limit in force: maxes[which] */
    int failed;
} reading;

/* A frame the framer gave: what the reference reading says is there. */
static void check_frame(reading *r, mim_framer *f, const uint8_t *frame, size_t flen)
{
    FUZZ_CHECK(r->off + MIM_FRAME_HEADER_LEN <= r->slen);
    FUZZ_CHECK(frame != NULL);
    FUZZ_CHECK(flen >= 1 && flen <= r->maxes[r->which]);
    FUZZ_CHECK(flen == header_at(r->stream + r->off));
    FUZZ_CHECK(r->off + MIM_FRAME_HEADER_LEN + flen == r->fed);
    FUZZ_CHECK(memcmp(frame, r->stream + r->off + MIM_FRAME_HEADER_LEN, flen) == 0);
    FUZZ_CHECK(mim_framer_idle(f));
    r->off = r->fed;
    r->which ^= 1;
    mim_framer_set_max(f, r->maxes[r->which]);
}

/* An error: only a bad header, judged as soon as its 2 bytes are in, with no body storage
 * taken for it (at most the small buffer kept from earlier). */
static void check_error(reading *r, const mim_framer *f, int rc)
{
    FUZZ_CHECK(rc == MIM_EFRAME_TOO_BIG || rc == MIM_EFRAME_EMPTY);
    FUZZ_CHECK(r->fed == r->off + MIM_FRAME_HEADER_LEN);
    if (rc == MIM_EFRAME_EMPTY)
        FUZZ_CHECK(header_at(r->stream + r->off) == 0);
    else
        FUZZ_CHECK(header_at(r->stream + r->off) > r->maxes[r->which]);
    FUZZ_CHECK(f->body.cap <= 4096);
    r->failed = 1;
}

/* Feeds one read of n bytes (from a buffer of its own) until the framer used it all. */
static void feed_read(reading *r, mim_framer *f, const uint8_t *buf, size_t n)
{
    const uint8_t *p = buf;
    size_t left = n;

    while (left > 0 && !r->failed) {
        size_t used = (size_t)-1;
        const uint8_t *frame = NULL;
        size_t flen = (size_t)-1;
        int rc = mim_framer_feed(f, p, left, &used, &frame, &flen);

        FUZZ_CHECK(used <= left);
        r->fed += used;
        p += used;
        left -= used;
        if (rc == MIM_FRAMER_NEED) {
            FUZZ_CHECK(left == 0);
            FUZZ_CHECK(frame == NULL);
        } else if (rc == MIM_FRAMER_FRAME) {
            check_frame(r, f, frame, flen);
        } else {
            check_error(r, f, rc);
        }
    }
}

/* The stream ended without an error: all of it was taken, and what is left is a partial frame
 * within the limit. */
static void check_end(const reading *r, const mim_framer *f)
{
    FUZZ_CHECK(r->fed == r->slen);
    /* Idle exactly when the stream ended on a frame boundary. */
    FUZZ_CHECK(mim_framer_idle(f) == (r->off == r->slen));
    if (!mim_framer_idle(f) && r->slen - r->off >= MIM_FRAME_HEADER_LEN) {
        /* A partial body was announced: it must not be over the limit either. */
        FUZZ_CHECK(f->body_len == header_at(r->stream + r->off));
        FUZZ_CHECK(f->body_len >= 1 && f->body_len <= r->maxes[r->which]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reading r = {0};
    size_t nchunks, ci = 0;
    const uint8_t *chunks;
    mim_framer f;

    if (size < 5)
        return 0;
    r.maxes[0] = clamp_max(header_at(data));
    r.maxes[1] = clamp_max(header_at(data + 2));
    nchunks = (size_t)(data[4] % 16) + 1;
    if (size < 5 + nchunks)
        return 0;
    chunks = data + 5;
    r.stream = data + 5 + nchunks;
    r.slen = size - 5 - nchunks;

    mim_framer_init(&f, r.maxes[0]);
    FUZZ_CHECK(mim_framer_idle(&f));
    while (r.fed < r.slen && !r.failed) {
        size_t n = chunks[ci++ % nchunks];
        uint8_t *buf;

        if (n == 0 || n > r.slen - r.fed)
            n = r.slen - r.fed;
        /* A fresh copy per read: a frame that outlived its buffer shows up under ASan. */
        buf = malloc(n);
        if (buf == NULL)
            abort();
        memcpy(buf, r.stream + r.fed, n);
        feed_read(&r, &f, buf, n);
        free(buf);
    }
    if (!r.failed)
        check_end(&r, &f);
    mim_framer_free(&f);
    FUZZ_CHECK(f.body.data == NULL && f.body.cap == 0);
    return 0;
}
