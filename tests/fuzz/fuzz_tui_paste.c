/* Fuzz target for a paste into the input line (peer/tui/tui_line.c): whatever a paste brings
 * (text copied from anywhere: controls, escape sequences, invalid code points, too much),
 * the line keeps to a message's rules -- no control but newline and tab, at most 4096 bytes,
 * valid UTF-8 when taken -- and a refused paste changes nothing. What the screen draws of
 * the line (tui_text_safe_char) is safe too.
 *
 * Input: byte 0 sets how much is typed first (16 per step) and where the cursor is; the rest
 * is the paste, UTF-8 decoded, a byte that starts no character taken as its own value (C1
 * controls and all, as a terminal in another encoding could send). */
#include "fuzz.h"
#include "tui_line.h"
#include "tui_text.h"

#include <locale.h>
#include <string.h>

#define PASTE_MAX 8192

static int setup_done;
static tui_line line, before;
static wchar_t paste[PASTE_MAX];
static char out[4 * TUI_LINE_MAX + 1];

static int message_char(wchar_t c)
{
    if (c == L'\n' || c == L'\t')
        return 1;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return c <= 0x10ffff;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0, typed, over, dropped = 0;

    if (!setup_done) {
        if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
            setlocale(LC_CTYPE, "");
        setup_done = 1;
    }
    if (size == 0)
        return 0;
    tui_line_init(&line);
    typed = (size_t)(data[0] & 0x3f) * 16 * 4; /* up to 4032 characters typed first */
    for (size_t i = 0; i < typed; i++)
        paste[i] = (wchar_t)(L'a' + i % 26);
    FUZZ_CHECK(tui_line_insert_text(&line, paste, typed) == 0);
    for (size_t i = 0; i < (size_t)(data[0] >> 6); i++)
        tui_line_word_left(&line);
    for (size_t off = 1; off < size && n < PASTE_MAX;) {
        size_t used;
        long cp = tui_text_decode((const char *)data + off, size - off, &used);
        paste[n++] = cp >= 0 ? (wchar_t)cp : (wchar_t)data[off];
        off += used;
    }
    before = line;
    over = tui_line_paste(&line, paste, n, &dropped);
    FUZZ_CHECK(dropped <= n);
    if (over > 0) { /* refused whole */
        FUZZ_CHECK(line.len == before.len && line.cursor == before.cursor);
        FUZZ_CHECK(wmemcmp(line.buf, before.buf, line.len) == 0);
        FUZZ_CHECK(!line.literal);
    }
    FUZZ_CHECK(line.len <= TUI_LINE_MAX && line.cursor <= line.len && line.buf[line.len] == 0);
    FUZZ_CHECK(tui_line_bytes(&line) <= TUI_LINE_MAX_BYTES);
    FUZZ_CHECK(!line.literal || line.buf[0] == L'/');
    for (size_t i = 0; i < line.len; i++) {
        wchar_t drawn = tui_text_safe_char(line.buf[i]);
        FUZZ_CHECK(message_char(line.buf[i]));
        FUZZ_CHECK(drawn == L'\n' || (drawn >= 0x20 && !(drawn >= 0x7f && drawn < 0xa0)));
    }
    /* Taken, it is a message the codec would accept (size and characters). */
    {
        int taken = tui_line_take(&line, out, sizeof(out));
        FUZZ_CHECK(taken >= 0 && (size_t)taken <= TUI_LINE_MAX_BYTES);
    }
    tui_line_free(&line);
    return 0;
}
