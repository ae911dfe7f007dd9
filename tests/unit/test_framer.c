/* The framer: every split point, byte-at-a-time, caps before allocation, empty frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_error.h"
#include "mim_framer.h"

#include <stdlib.h>
#include <string.h>

/* Sizes at the edges of the one- and two-byte header values. */
static const size_t frame_sizes[] = {1, 2, 255, 256, 65535, 3};
#define NFRAMES (sizeof(frame_sizes) / sizeof(frame_sizes[0]))

typedef struct stream {
    uint8_t *bytes;
    size_t len;
    const uint8_t *body[NFRAMES]; /* where each frame's body starts inside bytes */
} stream;

typedef struct sink {
    const stream *s;
    size_t next; /* index of the frame expected next */
} sink;

static void stream_build(stream *s)
{
    size_t total = 0;
    size_t pos = 0;

    for (size_t i = 0; i < NFRAMES; i++)
        total += MIM_FRAME_HEADER_LEN + frame_sizes[i];
    s->bytes = malloc(total);
    assert_non_null(s->bytes);
    s->len = total;
    for (size_t i = 0; i < NFRAMES; i++) {
        mim_frame_header(s->bytes + pos, frame_sizes[i]);
        pos += MIM_FRAME_HEADER_LEN;
        s->body[i] = s->bytes + pos;
        /* Contents differ per frame and per position, so a misplaced byte shows. */
        for (size_t j = 0; j < frame_sizes[i]; j++)
            s->bytes[pos + j] = (uint8_t)(j * 31 + i * 7 + (j >> 8));
        pos += frame_sizes[i];
    }
}

/* Feeds `len` bytes through the framer as a read loop would, checking each frame against the
 * one expected next. The input is copied into its own allocation so a frame that points at a
 * stale buffer would be caught by ASan. */
static void feed(mim_framer *f, sink *k, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    const uint8_t *in = copy;

    assert_non_null(copy);
    memcpy(copy, p, len);
    while (len > 0) {
        size_t used = 0;
        const uint8_t *frame = NULL;
        size_t flen = 0;
        int rc = mim_framer_feed(f, in, len, &used, &frame, &flen);

        assert_true(rc == MIM_FRAMER_NEED || rc == MIM_FRAMER_FRAME);
        assert_true(used <= len);
        if (rc == MIM_FRAMER_NEED)
            assert_int_equal(used, len);
        in += used;
        len -= used;
        if (rc == MIM_FRAMER_FRAME) {
            assert_true(k->next < NFRAMES);
            assert_int_equal(flen, frame_sizes[k->next]);
            /* memcmp first: cmocka's byte-by-byte compare is slow over ~4 GB of splits. */
            if (memcmp(frame, k->s->body[k->next], flen) != 0)
                assert_memory_equal(frame, k->s->body[k->next], flen);
            k->next++;
            assert_true(mim_framer_idle(f));
        }
    }
    free(copy);
}

static void test_every_split_point(void **state)
{
    (void)state;
    stream s;
    mim_framer f;

    stream_build(&s);
    for (size_t k = 0; k <= s.len; k++) {
        sink out = {&s, 0};

        mim_framer_init(&f, MIM_FRAME_MAX);
        feed(&f, &out, s.bytes, k);
        feed(&f, &out, s.bytes + k, s.len - k);
        assert_int_equal(out.next, NFRAMES);
        assert_true(mim_framer_idle(&f));
        mim_framer_free(&f);
    }
    free(s.bytes);
}

static void test_one_byte_at_a_time(void **state)
{
    (void)state;
    stream s;
    mim_framer f;
    sink out;

    stream_build(&s);
    out.s = &s;
    out.next = 0;
    mim_framer_init(&f, MIM_FRAME_MAX);
    for (size_t i = 0; i < s.len; i++)
        feed(&f, &out, s.bytes + i, 1);
    assert_int_equal(out.next, NFRAMES);
    assert_true(mim_framer_idle(&f));
    mim_framer_free(&f);
    free(s.bytes);
}

static void test_whole_stream_at_once_is_zero_copy(void **state)
{
    (void)state;
    stream s;
    mim_framer f;
    const uint8_t *in;
    size_t len;

    stream_build(&s);
    mim_framer_init(&f, MIM_FRAME_MAX);
    in = s.bytes;
    len = s.len;
    for (size_t i = 0; i < NFRAMES; i++) {
        size_t used;
        const uint8_t *frame;
        size_t flen;

        assert_int_equal(mim_framer_feed(&f, in, len, &used, &frame, &flen), MIM_FRAMER_FRAME);
        /* Whole body in the input, nothing buffered: the frame is a view into the input. */
        assert_ptr_equal(frame, s.body[i]);
        assert_int_equal(flen, frame_sizes[i]);
        assert_int_equal(used, MIM_FRAME_HEADER_LEN + frame_sizes[i]);
        in += used;
        len -= used;
    }
    assert_int_equal(len, 0);
    assert_int_equal(f.body.cap, 0);
    mim_framer_free(&f);
    free(s.bytes);
}

static void test_too_big_rejected_after_header(void **state)
{
    (void)state;
    mim_framer f;
    uint8_t in[2 + 200];
    size_t used;
    const uint8_t *frame;
    size_t flen;

    memset(in, 0x55, sizeof(in));
    mim_frame_header(in, 101);

    /* All at once: the error comes after the 2 header bytes, before the body is looked at. */
    mim_framer_init(&f, 100);
    assert_int_equal(mim_framer_feed(&f, in, sizeof(in), &used, &frame, &flen), MIM_EFRAME_TOO_BIG);
    assert_int_equal(used, 2);
    assert_null(frame);
    assert_int_equal(f.body.cap, 0);
    assert_null(f.body.data);
    mim_framer_free(&f);

    /* Byte by byte: the first byte alone is not enough to judge; the second is. */
    mim_framer_init(&f, 100);
    assert_int_equal(mim_framer_feed(&f, in, 1, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_int_equal(used, 1);
    assert_false(mim_framer_idle(&f));
    assert_int_equal(mim_framer_feed(&f, in + 1, 1, &used, &frame, &flen), MIM_EFRAME_TOO_BIG);
    assert_int_equal(used, 1);
    assert_int_equal(f.body.cap, 0);
    mim_framer_free(&f);

    /* The largest header value against a small handshake limit. */
    mim_frame_header(in, MIM_FRAME_MAX);
    mim_framer_init(&f, 1024);
    assert_int_equal(mim_framer_feed(&f, in, 2, &used, &frame, &flen), MIM_EFRAME_TOO_BIG);
    assert_int_equal(f.body.cap, 0);
    mim_framer_free(&f);

    /* Exactly the maximum is fine. */
    mim_frame_header(in, 100);
    mim_framer_init(&f, 100);
    assert_int_equal(mim_framer_feed(&f, in, 102, &used, &frame, &flen), MIM_FRAMER_FRAME);
    assert_int_equal(flen, 100);
    mim_framer_free(&f);
}

static void test_empty_frame_rejected(void **state)
{
    (void)state;
    mim_framer f;
    const uint8_t in[] = {0, 0, 0, 1, 'x'};
    size_t used;
    const uint8_t *frame;
    size_t flen;

    mim_framer_init(&f, MIM_FRAME_MAX);
    assert_int_equal(mim_framer_feed(&f, in, sizeof(in), &used, &frame, &flen), MIM_EFRAME_EMPTY);
    assert_int_equal(used, 2);
    assert_int_equal(f.body.cap, 0);
    mim_framer_free(&f);
}

static void test_max_change_between_frames(void **state)
{
    (void)state;
    mim_framer f;
    uint8_t in[2 + 1000];
    size_t used;
    const uint8_t *frame;
    size_t flen;

    memset(in, 0xa5, sizeof(in));
    mim_framer_init(&f, 1024);
    mim_frame_header(in, 1000);
    assert_int_equal(mim_framer_feed(&f, in, sizeof(in), &used, &frame, &flen), MIM_FRAMER_FRAME);
    assert_int_equal(flen, 1000);

    /* Lowered: the next header over the new limit is refused. */
    mim_framer_set_max(&f, 10);
    mim_frame_header(in, 11);
    assert_int_equal(mim_framer_feed(&f, in, 13, &used, &frame, &flen), MIM_EFRAME_TOO_BIG);
    mim_framer_free(&f);

    /* Raised (handshake done): a frame the old limit refused now passes. */
    mim_framer_init(&f, 10);
    mim_framer_set_max(&f, 1024);
    mim_frame_header(in, 11);
    assert_int_equal(mim_framer_feed(&f, in, 13, &used, &frame, &flen), MIM_FRAMER_FRAME);
    assert_int_equal(flen, 11);
    mim_framer_free(&f);

    /* A change while only one header byte is in applies to that header. */
    mim_framer_init(&f, 1000);
    mim_frame_header(in, 500);
    assert_int_equal(mim_framer_feed(&f, in, 1, &used, &frame, &flen), MIM_FRAMER_NEED);
    mim_framer_set_max(&f, 100);
    assert_int_equal(mim_framer_feed(&f, in + 1, 1, &used, &frame, &flen), MIM_EFRAME_TOO_BIG);
    mim_framer_free(&f);
}

static void test_idle_flag(void **state)
{
    (void)state;
    mim_framer f;
    uint8_t in[2 + 5] = {0, 5, 'h', 'e', 'l', 'l', 'o'};
    size_t used;
    const uint8_t *frame;
    size_t flen;

    mim_framer_init(&f, 100);
    assert_true(mim_framer_idle(&f));
    assert_int_equal(mim_framer_feed(&f, in, 0, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_int_equal(used, 0);
    assert_true(mim_framer_idle(&f));
    assert_int_equal(mim_framer_feed(&f, in, 1, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_false(mim_framer_idle(&f));
    assert_int_equal(mim_framer_feed(&f, in + 1, 1, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_false(mim_framer_idle(&f));
    assert_int_equal(mim_framer_feed(&f, in + 2, 3, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_false(mim_framer_idle(&f));
    assert_int_equal(mim_framer_feed(&f, in + 5, 2, &used, &frame, &flen), MIM_FRAMER_FRAME);
    assert_int_equal(used, 2);
    assert_int_equal(flen, 5);
    assert_memory_equal(frame, "hello", 5);
    assert_true(mim_framer_idle(&f));
    mim_framer_free(&f);
}

static void test_big_buffer_released_after_frame(void **state)
{
    (void)state;
    mim_framer f;
    const size_t n = 10000;
    uint8_t *in = malloc(2 + n);
    size_t used;
    const uint8_t *frame;
    size_t flen;

    assert_non_null(in);
    memset(in, 0x42, 2 + n);
    mim_frame_header(in, n);
    mim_framer_init(&f, MIM_FRAME_MAX);
    /* Split so the body is buffered, with a single reservation of at least the body. */
    assert_int_equal(mim_framer_feed(&f, in, 100, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_true(f.body.cap >= n);
    assert_int_equal(mim_framer_feed(&f, in + 100, 2 + n - 100, &used, &frame, &flen),
                     MIM_FRAMER_FRAME);
    assert_int_equal(flen, n);
    assert_ptr_equal(frame, f.body.data);
    /* The frame stays valid until the next call; that call drops the big storage. */
    assert_int_equal(mim_framer_feed(&f, in, 1, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_int_equal(f.body.cap, 0);
    mim_framer_free(&f);
    free(in);
}

/* mim_framer_release: a small buffered frame's storage is dropped between frames (the storage
 * a busy connection would keep for its next one), and never inside a frame. */
static void test_release_between_frames_only(void **state)
{
    (void)state;
    mim_framer f;
    uint8_t in[2 + 300];
    size_t used;
    const uint8_t *frame;
    size_t flen;

    memset(in, 0x17, sizeof(in));
    mim_frame_header(in, 300);
    mim_framer_init(&f, 1024);
    mim_framer_release(&f); /* nothing to release: a no-op */
    assert_null(f.body.data);
    assert_int_equal(mim_framer_feed(&f, in, 100, &used, &frame, &flen), MIM_FRAMER_NEED);
    assert_non_null(f.body.data);
    mim_framer_release(&f); /* inside a frame: kept */
    assert_non_null(f.body.data);
    assert_int_equal(f.body.len, 98);
    assert_int_equal(mim_framer_feed(&f, in + 100, sizeof(in) - 100, &used, &frame, &flen),
                     MIM_FRAMER_FRAME);
    assert_int_equal(flen, 300);
    assert_ptr_equal(frame, f.body.data);
    assert_non_null(f.body.data); /* small: kept by feed for the next frame */
    mim_framer_release(&f);
    assert_null(f.body.data);
    assert_int_equal(f.body.cap, 0);
    assert_true(mim_framer_idle(&f));
    /* And the framer goes on as before. */
    assert_int_equal(mim_framer_feed(&f, in, sizeof(in), &used, &frame, &flen), MIM_FRAMER_FRAME);
    assert_int_equal(flen, 300);
    mim_framer_free(&f);
}

static void test_frame_header_big_endian(void **state)
{
    (void)state;
    uint8_t h[MIM_FRAME_HEADER_LEN];

    mim_frame_header(h, 0x1234);
    assert_int_equal(h[0], 0x12);
    assert_int_equal(h[1], 0x34);
    mim_frame_header(h, 1);
    assert_int_equal(h[0], 0);
    assert_int_equal(h[1], 1);
    mim_frame_header(h, MIM_FRAME_MAX);
    assert_int_equal(h[0], 0xff);
    assert_int_equal(h[1], 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_whole_stream_at_once_is_zero_copy),
        cmocka_unit_test(test_too_big_rejected_after_header),
        cmocka_unit_test(test_empty_frame_rejected),
        cmocka_unit_test(test_max_change_between_frames),
        cmocka_unit_test(test_idle_flag),
        cmocka_unit_test(test_big_buffer_released_after_frame),
        cmocka_unit_test(test_release_between_frames_only),
        cmocka_unit_test(test_frame_header_big_endian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
