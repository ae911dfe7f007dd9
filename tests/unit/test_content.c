/* peer/content.c: the one-line description of content this version cannot show, which must stay
 * valid UTF-8 wherever the limits cut it (issue 12, finding 9): an invalid line reached the JSON
 * API as an empty text. */
#include "content.h"
#include "mim_codec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* 1 when s is well-formed UTF-8 (no truncated or stray sequence). */
static int utf8_whole(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != 0) {
        size_t need = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : 3;
        if (*p >= 0x80 && (*p & 0xC0) == 0x80)
            return 0; /* a continuation byte where a character should start */
        p++;
        for (size_t i = 0; i < need; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* n copies of the 3-byte "€" (and a NUL) into out. */
static void euros(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 3 * i, "\xe2\x82\xac", 3);
    out[3 * n] = '\0';
}

/* The longest file name and media type the codec lets through, both of 3-byte characters:
 * before the fix, the inner buffer cut the media type inside a character. */
static void test_longest_names_multibyte(void **state)
{
    char file_name[MIM_FILE_NAME_MAX + 1], media_type[MIM_MEDIA_TYPE_MAX + 1];
    char out[CONTENT_DESCRIBE_MAX];
    Mim__ChatMessage m = MIM__CHAT_MESSAGE__INIT;
    Mim__Chunk k = MIM__CHUNK__INIT;
    (void)state;

    /* 253 bytes: "a" and 84 characters of 3 bytes, so that the old 300-byte buffer ended 2 bytes
     * into a character of the media type. */
    file_name[0] = 'a';
    euros(file_name + 1, (MIM_FILE_NAME_MAX - 2) / 3);
    euros(media_type, MIM_MEDIA_TYPE_MAX / 3); /* 126 bytes */
    k.file_name = file_name;
    k.media_type = media_type;
    k.count = 7;
    m.type = MIM__CONTENT_TYPE__CONTENT_FILE;
    m.chunk = &k;
    m.text = "";
    content_describe(&m, out, sizeof(out));
    assert_true(utf8_whole(out));
    /* Nothing of the names was lost: both fit in a description. */
    assert_non_null(strstr(out, file_name));
    assert_non_null(strstr(out, media_type));
    assert_non_null(strstr(out, "7 parts"));
}

/* Every output size from 1 to the whole line: each cut lands on a character boundary. */
static void test_every_cut_is_whole(void **state)
{
    char file_name[64], caption[64];
    char out[CONTENT_DESCRIBE_MAX];
    Mim__ChatMessage m = MIM__CHAT_MESSAGE__INIT;
    Mim__Chunk k = MIM__CHUNK__INIT;
    (void)state;

    euros(file_name, 20);
    strcpy(caption, "\xf0\x9f\x98\x80 ok \xc3\xa9");
    k.file_name = file_name;
    k.media_type = "";
    k.count = 1;
    m.type = MIM__CONTENT_TYPE__CONTENT_IMAGE;
    m.chunk = &k;
    m.text = caption;
    for (size_t len = 1; len <= sizeof(out); len++) {
        memset(out, 'x', sizeof(out));
        content_describe(&m, out, len);
        assert_true(strlen(out) < len);
        if (!utf8_whole(out))
            fail_msg("cut at %zu bytes: not whole UTF-8: %s", len, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_names_multibyte),
        cmocka_unit_test(test_every_cut_is_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
