/* Media sniffing: what kind of image a file is, from its first bytes, and its width x height.
 *
 * Pure (no I/O): the caller passes the first bytes of the file (up to MIM_MEDIA_SNIFF_LEN; fewer
 * when the file is shorter). Every length inside the bytes is checked against what was passed
 * before it is used; nothing is trusted, nothing is allocated. Known: PNG (IHDR), JPEG (the
 * segments walked to the first SOFn frame header), GIF (87a/89a logical screen), WebP (RIFF with
 * a VP8, VP8L or VP8X first chunk). The extension of the name plays no part. */
#ifndef MIM_MEDIA_H
#define MIM_MEDIA_H

#include <stddef.h>
#include <stdint.h>

/* How many leading bytes a caller should read to sniff: enough for a JPEG whose SOFn comes after
 * a few large APPn segments (EXIF, ICC profiles, thumbnails). A JPEG whose frame header lies
 * beyond this is still "image/jpeg", with width and height 0. */
#define MIM_MEDIA_SNIFF_LEN (256 * 1024)

typedef struct mim_media_info {
    const char *type;       /* "image/png", "image/jpeg", "image/gif", "image/webp"; "" when none
                               (static strings) */
    uint32_t width, height; /* pixels; 0 x 0 when the type is known but the size is not */
} mim_media_info;

/* Fills *out from the first len bytes of a file (buf may be NULL when len is 0). Returns 1 when
 * the bytes are one of the known images with a size inside them (width and height both > 0);
 * 0 when they are not an image, or are the start of one whose size could not be read (cut
 * short, malformed: out->type then says which kind, with 0 x 0, so a caller may still send it as
 * a plain file). Never fails otherwise. */
int mim_media_sniff(const uint8_t *buf, size_t len, mim_media_info *out);

#endif
