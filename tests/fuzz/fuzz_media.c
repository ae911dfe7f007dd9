/* Fuzz target for the media sniffer (shared/mim_media.c): whatever the first bytes of a file
 * a peer offers or a user sends, the sniffer reads only what it was given (ASan sees the exact
 * buffer), stops, and says something consistent: a size only with a known image type, never a
 * zero side with "yes".
 *
 * Input: the first bytes of a file, as is. */
#include "fuzz.h"
#include "mim_media.h"

#include <string.h>

static int known_type(const char *t)
{
    return strcmp(t, "image/png") == 0 || strcmp(t, "image/jpeg") == 0 ||
           strcmp(t, "image/gif") == 0 || strcmp(t, "image/webp") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mim_media_info info;
    int is_image = mim_media_sniff(data, size, &info);

    FUZZ_CHECK(is_image == 0 || is_image == 1);
    FUZZ_CHECK(info.type != NULL);
    FUZZ_CHECK(info.type[0] == '\0' || known_type(info.type));
    if (is_image) {
        FUZZ_CHECK(known_type(info.type));
        FUZZ_CHECK(info.width > 0 && info.height > 0);
    } else {
        FUZZ_CHECK(info.width == 0 && info.height == 0);
    }
    return 0;
}
