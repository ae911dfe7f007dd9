/* Tiny images of one colour, written from the format specifications (PNG: RFC 2083 with zlib's
 * stored blocks; GIF89a; JPEG baseline, ITU T.81; WebP: the RIFF container and VP8L
 * bitstream specifications). */
#include "media_samples.h"

#include <string.h>

typedef struct writer {
    uint8_t *p;
    size_t n;
} writer;

static void put(writer *w, const void *bytes, size_t n)
{
    memcpy(w->p + w->n, bytes, n);
    w->n += n;
}

static void put8(writer *w, uint32_t v)
{
    w->p[w->n++] = (uint8_t)v;
}

static void be16(writer *w, uint32_t v)
{
    put8(w, v >> 8);
    put8(w, v);
}

static void be32(writer *w, uint32_t v)
{
    be16(w, v >> 16);
    be16(w, v);
}

static void le16(writer *w, uint32_t v)
{
    put8(w, v);
    put8(w, v >> 8);
}

static void le24(writer *w, uint32_t v)
{
    le16(w, v);
    put8(w, v >> 16);
}

static void le32(writer *w, uint32_t v)
{
    le16(w, v);
    le16(w, v >> 16);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* A PNG chunk: length, type, data, CRC of type and data. */
static void png_chunk(writer *w, const char *type, const uint8_t *data, uint32_t len)
{
    size_t start;

    be32(w, len);
    start = w->n;
    put(w, type, 4);
    if (len > 0)
        put(w, data, len);
    be32(w, crc32_of(w->p + start, w->n - start));
}

/* 8-bit greyscale, every pixel black: IDAT is a zlib stream of one stored block. */
size_t media_sample_png(uint8_t *out, uint32_t width, uint32_t height)
{
    uint8_t ihdr[13], idat[MEDIA_SAMPLE_MAX];
    writer w = {out, 0}, z = {idat, 0}, h = {ihdr, 0};
    uint32_t raw = height * (width + 1), a = 1, b = 0; /* a filter byte before each row */

    be32(&h, width);
    be32(&h, height);
    put(&h, "\x08\x00\x00\x00\x00", 5); /* depth 8, greyscale, deflate, filter 0, no interlace */
    put(&z, "\x78\x01\x01", 3);         /* zlib header; a final stored block */
    le16(&z, raw);
    le16(&z, ~raw & 0xFFFF);
    for (uint32_t i = 0; i < raw; i++) {
        put8(&z, 0);
        a = (a + 0) % 65521;
        b = (b + a) % 65521;
    }
    be32(&z, b << 16 | a); /* Adler-32 */
    put(&w, "\x89PNG\r\n\x1a\n", 8);
    png_chunk(&w, "IHDR", ihdr, 13);
    png_chunk(&w, "IDAT", idat, (uint32_t)z.n);
    png_chunk(&w, "IEND", NULL, 0);
    return w.n;
}

/* Two colours; the LZW stream (minimum code size 2, so 3-bit codes) sends a clear code before
 * every pixel, which keeps the code width at 3 bits. */
size_t media_sample_gif(uint8_t *out, uint16_t width, uint16_t height)
{
    uint8_t data[MEDIA_SAMPLE_MAX];
    writer w = {out, 0};
    size_t nbits = 0, nbytes;
    uint32_t pixels = (uint32_t)width * height;

    memset(data, 0, sizeof(data));
    for (uint32_t i = 0; i <= pixels; i++) {
        uint32_t codes[2] = {4, i < pixels ? 0u : 5u}; /* CLEAR, then pixel 0 or EOI */

        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 3; k++, nbits++)
                data[nbits / 8] |= (uint8_t)(((codes[c] >> k) & 1) << (nbits % 8));
    }
    nbytes = (nbits + 7) / 8;
    put(&w, "GIF89a", 6);
    le16(&w, width);
    le16(&w, height);
    put(&w, "\x80\x00\x00", 3);             /* a global colour table of 2 */
    put(&w, "\x00\x00\x00\xff\xff\xff", 6); /* black, white */
    put8(&w, ',');                          /* image descriptor */
    le16(&w, 0);
    le16(&w, 0);
    le16(&w, width);
    le16(&w, height);
    put8(&w, 0);
    put8(&w, 2); /* LZW minimum code size */
    for (size_t done = 0; done < nbytes;) {
        size_t n = nbytes - done < 255 ? nbytes - done : 255;

        put8(&w, n);
        put(&w, data + done, n);
        done += n;
    }
    put8(&w, 0);
    put8(&w, ';');
    return w.n;
}

/* Greyscale baseline, all blocks mid-grey: every DCT coefficient is 0, so each block is a DC
 * difference of category 0 and an end of block, each a 1-bit code "0" of one-symbol Huffman
 * tables. An APP0 JFIF segment and two fill bytes come first, for the segment walk. */
size_t media_sample_jpeg(uint8_t *out, uint16_t width, uint16_t height)
{
    writer w = {out, 0};
    size_t blocks = (size_t)(width / 8) * (height / 8), bits = blocks * 2;

    put(&w, "\xff\xd8", 2);
    put(&w, "\xff\xe0", 2);
    be16(&w, 16);
    put(&w, "JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00", 14);
    put(&w, "\xff\xff\xff\xdb", 4); /* fill bytes, then DQT: table 0, all ones */
    be16(&w, 67);
    put8(&w, 0);
    for (int i = 0; i < 64; i++)
        put8(&w, 1);
    put(&w, "\xff\xc0", 2); /* SOF0 */
    be16(&w, 11);
    put8(&w, 8);
    be16(&w, height);
    be16(&w, width);
    put(&w, "\x01\x01\x11\x00", 4); /* one component: id 1, 1x1 sampling, table 0 */
    put(&w, "\xff\xc4", 2);         /* DHT: DC 0 and AC 0, one code of length 1 each */
    be16(&w, 2 + 2 * 18);
    for (int table = 0; table < 2; table++) {
        put8(&w, table == 0 ? 0x00 : 0x10);
        put8(&w, 1);
        for (int i = 1; i < 16; i++)
            put8(&w, 0);
        put8(&w, 0x00); /* DC: category 0; AC: end of block */
    }
    put(&w, "\xff\xda", 2); /* SOS */
    be16(&w, 8);
    put(&w, "\x01\x01\x00\x00\x3f\x00", 6);
    for (size_t i = 0; i < (bits + 7) / 8; i++) { /* zeros, the last byte padded with ones */
        size_t left = bits - i * 8;
        put8(&w, left >= 8 ? 0x00 : (0xFFu >> left));
    }
    put(&w, "\xff\xd9", 2);
    return w.n;
}

static void riff(writer *w, const char *fourcc, uint32_t chunk_len)
{
    put(w, "RIFF", 4);
    le32(w, 4 + 8 + chunk_len + (chunk_len & 1));
    put(w, "WEBP", 4);
    put(w, fourcc, 4);
    le32(w, chunk_len);
}

/* The VP8L bitstream of one colour: the header (signature, 14-bit width - 1 and height - 1, no
 * alpha, version 0), no transform, no colour cache, no meta codes, and five simple prefix codes
 * of one symbol each (0), so that every pixel takes no bits. */
static void vp8l_body(writer *w, uint16_t width, uint16_t height)
{
    uint32_t head = (uint32_t)(width - 1) | (uint32_t)(height - 1) << 14;

    put8(w, 0x2F);
    le32(w, head);
    /* 23 bits: 0 0 0, then 5 x (1 simple, 0 one symbol, 0 one-bit symbol, 0 symbol) */
    put(w, "\x88\x88\x08", 3);
}

size_t media_sample_webp_vp8l(uint8_t *out, uint16_t width, uint16_t height)
{
    writer w = {out, 0};

    riff(&w, "VP8L", 8);
    vp8l_body(&w, width, height);
    return w.n;
}

size_t media_sample_webp_vp8x(uint8_t *out, uint32_t width, uint32_t height)
{
    writer w = {out, 0};

    put(&w, "RIFF", 4);
    le32(&w, 4 + 18 + 16);
    put(&w, "WEBP", 4);
    put(&w, "VP8X", 4);
    le32(&w, 10);
    put(&w, "\x00\x00\x00\x00", 4); /* no flags */
    le24(&w, width - 1);
    le24(&w, height - 1);
    put(&w, "VP8L", 4);
    le32(&w, 8);
    vp8l_body(&w, 1, 1);
    return w.n;
}

/* A key frame's tag, start code and dimensions, over a stub first partition. */
size_t media_sample_webp_vp8(uint8_t *out, uint16_t width, uint16_t height)
{
    writer w = {out, 0};

    riff(&w, "VP8 ", 14);
    put(&w, "\x50\x00\x00", 3); /* key frame, version 0, shown, first partition of 2 bytes */
    put(&w, "\x9d\x01\x2a", 3);
    le16(&w, width);
    le16(&w, height);
    put(&w, "\x00\x00\x00\x00", 4);
    return w.n;
}
