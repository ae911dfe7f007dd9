/* Tiny images built byte by byte from their formats' specifications, for the media sniffer's
 * unit test and its fuzz seeds (tests/fuzz/make_corpus_files.c). PNG, GIF and JPEG are whole,
 * decodable images of one colour; the WebP ones have correct RIFF and VP8/VP8L/VP8X headers
 * (all the sniffer reads) over a VP8L bitstream of one colour or, for VP8, a stub frame. Each
 * returns the length written into out, which must hold MEDIA_SAMPLE_MAX bytes. */
#ifndef MEDIA_SAMPLES_H
#define MEDIA_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_SAMPLE_MAX 4096
/* The largest width x height the samples are built for (PNG and GIF write every pixel). */
#define MEDIA_SAMPLE_MAX_PIXELS 256

size_t media_sample_png(uint8_t *out, uint32_t width, uint32_t height);
size_t media_sample_gif(uint8_t *out, uint16_t width, uint16_t height);
/* width and height multiples of 8; an APP0 segment and fill bytes come before the frame. */
size_t media_sample_jpeg(uint8_t *out, uint16_t width, uint16_t height);
size_t media_sample_webp_vp8(uint8_t *out, uint16_t width, uint16_t height);
size_t media_sample_webp_vp8l(uint8_t *out, uint16_t width, uint16_t height);
size_t media_sample_webp_vp8x(uint8_t *out, uint32_t width, uint32_t height);

#endif
