/* Safe names for what a peer sends: one directory entry made from an offered name, and the
 * check of a folder manifest's relative paths. The UTF-8 decoding and the list of characters
 * never shown are the codec's (mim_utf8_next, mim_text_forbidden_char), so a name passes the
 * same rules as any other text from a peer. */
#include "file_name.h"

#include "file_layout.h"
#include "mim_codec.h"
#include "mim_error.h"

#include <string.h>

/* Longer offered names are read up to here: a name is cut to FILE_NAME_MAX anyway, only its
 * extension comes from further on, and no codec lets a peer send a name this long. */
#define NAME_IN_MAX 4096
#define EXT_MAX     16 /* bytes of an extension kept when a long name is cut */

/* The replacement of anything unsafe inside a name. */
#define REPLACEMENT '_'

/* Characters that never go into a name: the ones never shown (controls, bidi and zero-width
 * formatting) and the path separators of any system the file may be copied to. */
static int unsafe_char(long cp)
{
    return cp < 0 || cp == '/' || cp == '\\' || mim_text_forbidden_char(cp);
}

/* Copies name into out (cap >= len + 1 bytes) with every unsafe character or invalid sequence
 * replaced by one REPLACEMENT: the result is valid UTF-8 no longer than the input. */
static size_t replace_unsafe(const char *name, size_t len, char *out)
{
    size_t i = 0, n = 0;

    while (i < len) {
        size_t start = i;
        long cp = mim_utf8_next(name, len, &i);

        if (cp < 0)
            i = start + 1; /* skip the bad byte: each one becomes a REPLACEMENT */
        if (unsafe_char(cp)) {
            out[n++] = REPLACEMENT;
            continue;
        }
        memcpy(out + n, name + start, i - start);
        n += i - start;
    }
    out[n] = '\0';
    return n;
}

/* Drops leading dots and spaces (no hidden file, no "..") and trailing ones (a name that
 * Windows would silently change). Moves the rest to the front of s; returns its length. */
static size_t trim_dots(char *s, size_t n)
{
    size_t start = 0;

    while (start < n && (s[start] == '.' || s[start] == ' '))
        start++;
    while (n > start && (s[n - 1] == '.' || s[n - 1] == ' '))
        n--;
    memmove(s, s + start, n - start);
    s[n - start] = '\0';
    return n - start;
}

static int ascii_upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* 1 when s (up to its first '.') is a Windows device name: CON, PRN, AUX, NUL, COM1..9,
 * LPT1..9, in any case. */
static int reserved_device(const char *s, size_t n)
{
    static const char *const three[] = {"CON", "PRN", "AUX", "NUL"};
    const char *dot = memchr(s, '.', n);
    size_t base = dot != NULL ? (size_t)(dot - s) : n;
    char up[4];

    if (base != 3 && base != 4)
        return 0;
    for (size_t i = 0; i < base; i++)
        up[i] = (char)ascii_upper((unsigned char)s[i]);
    if (base == 4)
        return (memcmp(up, "COM", 3) == 0 || memcmp(up, "LPT", 3) == 0) && up[3] >= '1' &&
               up[3] <= '9';
    for (size_t i = 0; i < sizeof(three) / sizeof(three[0]); i++)
        if (memcmp(up, three[i], 3) == 0)
            return 1;
    return 0;
}

/* The length of s cut to at most max bytes without splitting a character. */
static size_t utf8_fit(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Cuts s (n > FILE_NAME_MAX bytes, valid UTF-8) to FILE_NAME_MAX, keeping a short extension. */
static size_t cut_keeping_extension(char *s, size_t n)
{
    size_t dot = n, ext, head;

    while (dot > 0 && s[dot - 1] != '.')
        dot--;
    ext = dot > 0 ? n - (dot - 1) : 0; /* with its dot */
    if (ext < 2 || ext > EXT_MAX + 1)
        ext = 0;
    head = utf8_fit(s, n - ext, FILE_NAME_MAX - ext);
    while (head > 0 && (s[head - 1] == '.' || s[head - 1] == ' '))
        head--;
    memmove(s + head, s + n - ext, ext);
    s[head + ext] = '\0';
    return head + ext;
}

size_t file_name_safe(const char *name, size_t len, char out[FILE_NAME_BUF])
{
    char work[NAME_IN_MAX + 2];
    size_t n;

    if (name == NULL)
        len = 0;
    if (len > NAME_IN_MAX)
        len = NAME_IN_MAX;
    work[0] = REPLACEMENT; /* room for the device-name prefix */
    n = replace_unsafe(name, len, work + 1);
    n = trim_dots(work + 1, n);
    if (n == 0) {
        memcpy(out, "file", 5);
        return 4;
    }
    if (reserved_device(work + 1, n)) {
        n++; /* keep the REPLACEMENT in front */
    } else {
        memmove(work, work + 1, n + 1);
    }
    if (n > FILE_NAME_MAX)
        n = cut_keeping_extension(work, n);
    if (n == 0) {
        memcpy(out, "file", 5);
        return 4;
    }
    memcpy(out, work, n + 1);
    return n;
}

/* 0 when one component (n bytes, no '/') may stand in a folder's path. */
static int check_component(const char *c, size_t n)
{
    size_t i = 0;

    if (n == 0 || n > FILE_NAME_MAX || (n == 1 && c[0] == '.') ||
        (n == 2 && c[0] == '.' && c[1] == '.'))
        return MIM_EINVAL;
    while (i < n) {
        long cp = mim_utf8_next(c, n, &i);

        if (unsafe_char(cp))
            return MIM_EINVAL;
    }
    return MIM_OK;
}

int file_name_check_path(const char *path, size_t len)
{
    size_t start = 0, components = 0;

    if (path == NULL || len == 0 || len > FILE_LAYOUT_MAX_PATH)
        return MIM_EINVAL;
    while (start <= len) {
        if (++components > FILE_LAYOUT_MAX_DEPTH + 1)
            return MIM_EINVAL;
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash != NULL ? (size_t)(slash - path) : len;

        if (check_component(path + start, end - start) != MIM_OK)
            return MIM_EINVAL;
        start = end + 1;
    }
    return MIM_OK;
}
