/* Media sniffing: PNG, JPEG, GIF and WebP (VP8, VP8L, VP8X) known by their first bytes with
 * their width x height; every prefix of every sample cut short gives no size and no crash;
 * lying lengths and other files are not images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "media_samples.h"
#include "mim_media.h"
#include "mim_test.h"

#include <stdlib.h>

typedef struct sample {
    const char *type;
    uint32_t width, height;
    size_t len;
    uint8_t bytes[MEDIA_SAMPLE_MAX];
} sample;

static sample samples[6];

static void build(void)
{
    samples[0] = (sample){"image/png", 13, 7, 0, {0}};
    samples[0].len = media_sample_png(samples[0].bytes, 13, 7);
    samples[1] = (sample){"image/gif", 5, 9, 0, {0}};
    samples[1].len = media_sample_gif(samples[1].bytes, 5, 9);
    samples[2] = (sample){"image/jpeg", 24, 8, 0, {0}};
    samples[2].len = media_sample_jpeg(samples[2].bytes, 24, 8);
    samples[3] = (sample){"image/webp", 640, 480, 0, {0}};
    samples[3].len = media_sample_webp_vp8(samples[3].bytes, 640, 480);
    samples[4] = (sample){"image/webp", 3, 16384, 0, {0}};
    samples[4].len = media_sample_webp_vp8l(samples[4].bytes, 3, 16384);
    samples[5] = (sample){"image/webp", 70000, 2, 0, {0}};
    samples[5].len = media_sample_webp_vp8x(samples[5].bytes, 70000, 2);
}

static void test_each_kind_with_its_size(void **state)
{
    (void)state;
    mim_media_info info;

    build();
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const sample *s = &samples[i];

        if (mim_media_sniff(s->bytes, s->len, &info) != 1)
            fail_msg("sample %zu (%s) was not sniffed", i, s->type);
        assert_string_equal(info.type, s->type);
        EXPECT_INT(info.width, s->width);
        EXPECT_INT(info.height, s->height);
    }
}

/* Every prefix of every sample: never a size read from bytes that were not given. Each prefix
 * is copied to a buffer of exactly its length so ASan sees any read past it. */
static void test_cut_short_gives_no_size(void **state)
{
    (void)state;
    mim_media_info info;

    build();
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const sample *s = &samples[i];
        size_t needed = 0;

        for (size_t n = 0; n < s->len; n++) {
            uint8_t *copy = malloc(n > 0 ? n : 1);

            memcpy(copy, s->bytes, n);
            if (mim_media_sniff(copy, n, &info) == 1 && needed == 0)
                needed = n;
            if (needed == 0) {
                EXPECT_INT(info.width, 0);
                EXPECT_INT(info.height, 0);
            }
            free(copy);
        }
        assert_true(needed > 0); /* the headers alone are enough: no need for the pixel data */
    }
}

static void test_lying_and_foreign_bytes(void **state)
{
    (void)state;
    mim_media_info info;
    uint8_t b[MEDIA_SAMPLE_MAX];
    size_t n;

    /* a JPEG whose first segment claims to run past the end */
    n = media_sample_jpeg(b, 8, 8);
    b[4] = 0xFF;
    b[5] = 0xFF;
    EXPECT_INT(mim_media_sniff(b, n, &info), 0);
    assert_string_equal(info.type, "image/jpeg");
    /* a JPEG with a scan before any frame */
    memcpy(b, "\xff\xd8\xff\xda\x00\x08", 6);
    EXPECT_INT(mim_media_sniff(b, 6, &info), 0);
    /* a JPEG segment length under 2 would loop forever if trusted */
    memcpy(b, "\xff\xd8\xff\xe1\x00\x00\xff\xc0", 8);
    EXPECT_INT(mim_media_sniff(b, 8, &info), 0);
    /* a PNG whose first chunk is not IHDR, and one of zero width */
    n = media_sample_png(b, 2, 2);
    memcpy(b + 12, "IDAT", 4);
    EXPECT_INT(mim_media_sniff(b, n, &info), 0);
    assert_string_equal(info.type, "image/png");
    n = media_sample_png(b, 0, 2);
    EXPECT_INT(mim_media_sniff(b, n, &info), 0);
    /* a WebP with an unknown first chunk; a RIFF that is not WebP */
    n = media_sample_webp_vp8l(b, 4, 4);
    memcpy(b + 12, "ALPH", 4);
    EXPECT_INT(mim_media_sniff(b, n, &info), 0);
    assert_string_equal(info.type, "image/webp");
    memcpy(b + 8, "WAVE", 4);
    EXPECT_INT(mim_media_sniff(b, n, &info), 0);
    assert_string_equal(info.type, "");
    /* text, a PDF, nothing */
    EXPECT_INT(mim_media_sniff((const uint8_t *)"hello world", 11, &info), 0);
    assert_string_equal(info.type, "");
    EXPECT_INT(mim_media_sniff((const uint8_t *)"%PDF-1.7\n", 9, &info), 0);
    EXPECT_INT(mim_media_sniff(NULL, 0, &info), 0);
    assert_string_equal(info.type, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind_with_its_size),
        cmocka_unit_test(test_cut_short_gives_no_size),
        cmocka_unit_test(test_lying_and_foreign_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
