/* Image sniffing from the first bytes of a file: the type by its magic numbers, the size from
 * the header every format puts near the start. Every read goes through have(), which checks
 * that the bytes are there; lengths found inside the bytes only ever move a position forward
 * and are checked again before use. */
#include "mim_media.h"

#include <string.h>

/* 1 when n bytes starting at pos are inside the len bytes given. */
static int have(size_t len, size_t pos, size_t n)
{
    return pos <= len && n <= len - pos;
}

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* Sets the size; 1 when both are non-zero. */
static int sized(mim_media_info *out, uint32_t width, uint32_t height)
{
    if (width == 0 || height == 0)
        return 0;
    out->width = width;
    out->height = height;
    return 1;
}

/* PNG: the signature, then the IHDR chunk (length 13) with width and height, big-endian. */
static int sniff_png(const uint8_t *b, size_t len, mim_media_info *out)
{
    out->type = "image/png";
    if (!have(len, 8, 16) || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return 0;
    /* PNG allows at most 2^31 - 1 pixels a side. */
    if (be32(b + 16) > 0x7FFFFFFFu || be32(b + 20) > 0x7FFFFFFFu)
        return 0;
    return sized(out, be32(b + 16), be32(b + 20));
}

/* GIF: "GIF87a" / "GIF89a", then the logical screen's width and height, little-endian. */
static int sniff_gif(const uint8_t *b, size_t len, mim_media_info *out)
{
    out->type = "image/gif";
    if (!have(len, 6, 4))
        return 0;
    return sized(out, le16(b + 6), le16(b + 8));
}

/* A JPEG marker with no length after it: TEM, RST0..7, SOI, EOI. */
static int standalone_marker(uint8_t m)
{
    return m == 0x01 || (m >= 0xD0 && m <= 0xD9);
}

/* SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC), which share the range. */
static int frame_marker(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* JPEG: walks the marker segments from SOI to the first frame header (SOFn: length, precision,
 * height, width); stops at the scan (SOS) or the end of what was given. */
static int sniff_jpeg(const uint8_t *b, size_t len, mim_media_info *out)
{
    size_t pos = 2;

    out->type = "image/jpeg";
    for (;;) {
        uint8_t m;

        if (!have(len, pos, 2) || b[pos] != 0xFF)
            return 0;
        while (have(len, pos, 2) && b[pos + 1] == 0xFF) /* fill bytes before a marker */
            pos++;
        if (!have(len, pos, 2))
            return 0;
        m = b[pos + 1];
        pos += 2;
        if (standalone_marker(m)) {
            if (m == 0xD9)
                return 0; /* EOI before any frame */
            continue;
        }
        if (m == 0xDA || !have(len, pos, 2) || be16(b + pos) < 2)
            return 0; /* a scan before any frame, or a segment cut short */
        if (frame_marker(m)) {
            if (!have(len, pos, 7) || be16(b + pos) < 8)
                return 0;
            return sized(out, be16(b + pos + 5), be16(b + pos + 3));
        }
        pos += be16(b + pos);
    }
}

/* WebP: a RIFF container of type WEBP whose first chunk is VP8 (lossy: the key frame's start
 * code, then 14-bit width and height), VP8L (lossless: signature 0x2F, then 14-bit width - 1 and
 * height - 1 packed in 28 bits) or VP8X (extended: 24-bit canvas width - 1 and height - 1). */
static int sniff_webp(const uint8_t *b, size_t len, mim_media_info *out)
{
    const uint8_t *d = b + 20; /* the first chunk's data */

    out->type = "image/webp";
    if (!have(len, 12, 8))
        return 0;
    if (memcmp(b + 12, "VP8 ", 4) == 0) {
        if (!have(len, 20, 10) || memcmp(d + 3, "\x9d\x01\x2a", 3) != 0)
            return 0;
        return sized(out, le16(d + 6) & 0x3FFF, le16(d + 8) & 0x3FFF);
    }
    if (memcmp(b + 12, "VP8L", 4) == 0) {
        uint32_t bits;

        if (!have(len, 20, 5) || d[0] != 0x2F)
            return 0;
        bits = (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 24;
        return sized(out, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
    }
    if (memcmp(b + 12, "VP8X", 4) == 0) {
        if (!have(len, 20, 10))
            return 0;
        return sized(out, le24(d + 4) + 1, le24(d + 7) + 1);
    }
    return 0;
}

int mim_media_sniff(const uint8_t *buf, size_t len, mim_media_info *out)
{
    out->type = "";
    out->width = 0;
    out->height = 0;
    if (buf == NULL)
        return 0;
    if (have(len, 0, 8) && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
        return sniff_png(buf, len, out);
    if (have(len, 0, 3) && memcmp(buf, "\xff\xd8\xff", 3) == 0)
        return sniff_jpeg(buf, len, out);
    if (have(len, 0, 6) && (memcmp(buf, "GIF87a", 6) == 0 || memcmp(buf, "GIF89a", 6) == 0))
        return sniff_gif(buf, len, out);
    if (have(len, 0, 12) && memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0)
        return sniff_webp(buf, len, out);
    return 0;
}
