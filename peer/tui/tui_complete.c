/* Tab completion (see tui_complete.h). */
#include "tui_complete.h"
#include "tui_text.h"

#include <string.h>

#define CAND_MAX 256 /* wide characters of one candidate (names are <= 32) */

/* Where the word at the cursor starts; *quoted when it follows an unclosed '"'. */
static size_t word_start(const tui_line *l, int *quoted)
{
    size_t quotes = 0, last_quote = 0, start = 0;

    for (size_t i = 0; i < l->cursor; i++) {
        if (l->buf[i] == L'"') {
            quotes++;
            last_quote = i + 1;
        }
    }
    *quoted = quotes % 2 == 1;
    if (*quoted)
        return last_quote;
    for (size_t i = l->cursor; i > 0; i--) {
        if (l->buf[i - 1] == L' ') {
            start = i;
            break;
        }
    }
    return start;
}

int tui_complete_kind(const tui_line *l)
{
    int quoted;
    size_t start = word_start(l, &quoted);

    if (!quoted && start == 0 && l->cursor > 0 && l->buf[0] == L'/')
        return TUI_COMPLETE_COMMAND;
    return TUI_COMPLETE_NAME;
}

size_t tui_complete(tui_line *l, const char *const *cands, size_t n, unsigned char *matched)
{
    int quoted;
    size_t start = word_start(l, &quoted), plen = l->cursor - start;
    const wchar_t *prefix = l->buf + start;
    wchar_t first[CAND_MAX], cand[CAND_MAX];
    size_t nmatch = 0, common = 0, first_len = 0;

    for (size_t i = 0; i < n; i++) {
        size_t clen = tui_text_from_utf8(cands[i], cand, CAND_MAX);
        size_t k = 0;

        if (matched != NULL)
            matched[i] = 0;
        if (clen < plen || wmemcmp(cand, prefix, plen) != 0)
            continue;
        if (matched != NULL)
            matched[i] = 1;
        if (nmatch++ == 0) {
            memcpy(first, cand, (clen + 1) * sizeof(wchar_t));
            first_len = common = clen;
            continue;
        }
        while (k < common && k < clen && first[k] == cand[k])
            k++;
        common = k;
    }
    if (nmatch == 0)
        return 0;
    if (nmatch == 1) {
        wchar_t word[CAND_MAX + 4];
        size_t w = 0;
        int needs_quotes = wcschr(first, L' ') != NULL;

        if (needs_quotes && !quoted)
            word[w++] = L'"';
        memcpy(word + w, first, first_len * sizeof(wchar_t));
        w += first_len;
        if (needs_quotes || quoted)
            word[w++] = L'"';
        word[w++] = L' ';
        tui_line_replace(l, start, word, w);
    } else if (common > plen) {
        tui_line_replace(l, start, first, common);
    }
    return nmatch;
}
