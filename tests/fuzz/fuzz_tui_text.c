/* Fuzz target for the TUI sanitiser (peer/tui/tui_text.c): whatever bytes a peer sends as a
 * name, status or message, tui_text_sanitize must return only characters that are safe to draw
 * -- no C0/C1 control, no DEL, no bidirectional override or isolate, nothing outside Unicode --
 * within the caller's buffer, and the width and UTF-8 helpers must agree with it.
 *
 * Input: byte 0 picks the flags and the output capacity (so truncation, "never half a caret
 * pair", is exercised at every length); the rest is the peer's text. */
#include "fuzz.h"
#include "tui_text.h"

#include <locale.h>
#include <string.h>

#define CAP_MAX 300

static int setup_done;

/* 1 when c may reach the terminal as it is. */
static int safe_char(wchar_t c)
{
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        return 0; /* C0, DEL, C1: caret notation or U+FFFD instead */
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        return 0; /* bidi embeddings, overrides and isolates */
    if (c >= 0xd800 && c <= 0xdfff)
        return 0; /* surrogates are not characters */
    return c <= 0x10ffff;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wchar_t out[CAP_MAX];
    char back[CAP_MAX * 4 + 1];
    size_t cap, n;
    int flags, width;

    if (!setup_done) {
        /* The widths come from LC_CTYPE: fuzz in a UTF-8 locale, as the TUI runs. */
        if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
            setlocale(LC_CTYPE, "");
        setup_done = 1;
    }
    if (size == 0)
        return 0;
    flags = data[0] & 1 ? TUI_TEXT_KEEP_NEWLINE : 0;
    cap = 1 + (size_t)(data[0] >> 1) % (CAP_MAX - 1); /* 1..CAP_MAX-1: cap > 0 is the contract */
    data++, size--;
    /* A guard after the buffer: writing past cap would change it. */
    out[cap] = (wchar_t)0x5a5a;
    n = tui_text_sanitize((const char *)data, size, flags, out, cap);
    FUZZ_CHECK(n < cap);
    FUZZ_CHECK(out[n] == 0);
    FUZZ_CHECK(out[cap] == (wchar_t)0x5a5a);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(out[i] != 0);
        FUZZ_CHECK(safe_char(out[i]) || (out[i] == L'\n' && (flags & TUI_TEXT_KEEP_NEWLINE)));
    }
    width = tui_text_width(out, n);
    FUZZ_CHECK(width >= 0 && (size_t)width <= 2 * n);
    /* What is drawn is valid UTF-8 again (the history and completion re-encode it). */
    FUZZ_CHECK(tui_text_to_utf8(out, n, back, sizeof(back)) >= 0);
    /* The decoder never reads past len, and always makes progress. */
    for (size_t off = 0; off < size;) {
        size_t used = 0;
        long cp = tui_text_decode((const char *)data + off, size - off, &used);
        FUZZ_CHECK(used >= 1 && used <= 4 && used <= size - off);
        FUZZ_CHECK(cp == -1 || (cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)));
        off += used;
    }
    return 0;
}
