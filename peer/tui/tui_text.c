/* Safe text for the terminal (see tui_text.h). */
#include "tui_text.h"

#include <stdint.h>
#include <string.h>

#define REPLACEMENT 0xFFFD

long tui_text_decode(const char *s, size_t len, size_t *used)
{
    const unsigned char *p = (const unsigned char *)s;
    long cp, min;
    size_t n;

    *used = 1;
    if (p[0] < 0x80)
        return p[0];
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
        cp = p[0] & 0x1F;
        min = 0x80;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        cp = p[0] & 0x0F;
        min = 0x800;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        cp = p[0] & 0x07;
        min = 0x10000;
    } else {
        return -1; /* a continuation byte, an overlong lead (C0, C1) or F5..FF */
    }
    if (len < n)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *used = n;
    return cp;
}

/* Bidirectional embeddings, overrides and isolates reorder what follows them on the screen
 * (the "trojan source" trick): shown as replacements, never obeyed. */
static int is_bidi_control(long cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

static wchar_t replacement(void)
{
    /* In a locale without it (plain "C"), U+FFFD would itself be unprintable. */
    return wcwidth(REPLACEMENT) == 1 ? (wchar_t)REPLACEMENT : L'?';
}

size_t tui_text_sanitize(const char *s, size_t len, int flags, wchar_t *out, size_t cap)
{
    size_t o = 0, i = 0;
    wchar_t repl = replacement();

    if (cap == 0)
        return 0;
    while (i < len && o + 1 < cap) {
        size_t used;
        long cp = tui_text_decode(s + i, len - i, &used);
        int w = 1;

        i += used;
        if (cp == '\n' && (flags & TUI_TEXT_KEEP_NEWLINE)) {
            out[o++] = L'\n';
        } else if (cp == '\t') {
            out[o++] = L' ';
        } else if ((cp >= 0 && cp < 0x20) || cp == 0x7F) {
            if (o + 2 >= cap)
                break; /* a caret pair is shown whole or not at all */
            out[o++] = L'^';
            out[o++] = cp == 0x7F ? L'?' : (wchar_t)(cp + 0x40);
        } else if (cp < 0 || (cp >= 0x80 && cp < 0xA0) || is_bidi_control(cp) ||
                   (w = wcwidth((wchar_t)cp)) < 0) {
            out[o++] = repl;
        } else if (w == 0 && (o == 0 || out[o - 1] == L'\n')) {
            if (o + 2 >= cap)
                break;
            out[o++] = L' '; /* a combining mark needs a base to sit on */
            out[o++] = (wchar_t)cp;
        } else {
            out[o++] = (wchar_t)cp;
        }
    }
    out[o] = L'\0';
    return o;
}

wchar_t tui_text_safe_char(wchar_t c)
{
    long cp = (long)c;

    if (c == L'\t')
        return L' ';
    if (c == L'\n')
        return c;
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp > 0x10FFFF || is_bidi_control(cp) ||
        wcwidth(c) < 0)
        return replacement();
    return c;
}

int tui_text_char_width(wchar_t c)
{
    int w = wcwidth(c);
    return w < 0 ? 1 : w;
}

int tui_text_width(const wchar_t *s, size_t n)
{
    int cols = 0;
    for (size_t i = 0; i < n; i++)
        cols += tui_text_char_width(s[i]);
    return cols;
}

int tui_text_to_utf8(const wchar_t *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)s[i];
        unsigned char b[4];
        size_t k;

        if (c < 0x80) {
            b[0] = (unsigned char)c;
            k = 1;
        } else if (c < 0x800) {
            b[0] = (unsigned char)(0xC0 | (c >> 6));
            b[1] = (unsigned char)(0x80 | (c & 0x3F));
            k = 2;
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF)
                return -1;
            b[0] = (unsigned char)(0xE0 | (c >> 12));
            b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (c & 0x3F));
            k = 3;
        } else if (c <= 0x10FFFF) {
            b[0] = (unsigned char)(0xF0 | (c >> 18));
            b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (c & 0x3F));
            k = 4;
        } else {
            return -1;
        }
        if (o + k + 1 > cap)
            return -1;
        memcpy(out + o, b, k);
        o += k;
    }
    if (o + 1 > cap)
        return -1;
    out[o] = '\0';
    return (int)o;
}

size_t tui_text_from_utf8(const char *s, wchar_t *out, size_t cap)
{
    size_t len = strlen(s), i = 0, o = 0;

    if (cap == 0)
        return 0;
    while (i < len && o + 1 < cap) {
        size_t used;
        long cp = tui_text_decode(s + i, len - i, &used);
        out[o++] = cp < 0 ? (wchar_t)REPLACEMENT : (wchar_t)cp;
        i += used;
    }
    out[o] = L'\0';
    return o;
}
