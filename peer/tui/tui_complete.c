/* Tab completion (see tui_complete.h). */
#include "tui_complete.h"
#include "tui_text.h"

#include <stdint.h>
#include <string.h>

#define CAND_MAX TUI_COMPLETE_WORD_MAX

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

/* The candidate as it goes in the line: in quotes when it has a space (the closing one only
 * when the user typed the opening one), and a space after it with `space`. Its length. */
static size_t as_word(const wchar_t *cand, size_t clen, int quoted, int space, wchar_t *out)
{
    size_t w = 0;
    int needs_quotes = wmemchr(cand, L' ', clen) != NULL;

    if (needs_quotes && !quoted)
        out[w++] = L'"';
    memcpy(out + w, cand, clen * sizeof(wchar_t));
    w += clen;
    if (needs_quotes || quoted)
        out[w++] = L'"';
    if (space)
        out[w++] = L' ';
    return w;
}

/* Does the UTF-8 candidate start with prefix (plen characters)? It goes into cand (its length
 * in *clen). */
static int cand_matches(const char *utf8, const wchar_t *prefix, size_t plen, wchar_t *cand,
                        size_t *clen)
{
    *clen = tui_text_from_utf8(utf8, cand, CAND_MAX);
    return *clen >= plen && wmemcmp(cand, prefix, plen) == 0;
}

size_t tui_complete(tui_line *l, const char *const *cands, size_t n, unsigned char *matched)
{
    int quoted;
    size_t start = word_start(l, &quoted), plen = l->cursor - start;
    const wchar_t *prefix = l->buf + start;
    wchar_t first[CAND_MAX], cand[CAND_MAX];
    size_t nmatch = 0, common = 0, first_len = 0;

    for (size_t i = 0; i < n; i++) {
        size_t clen, k = 0;

        if (matched != NULL)
            matched[i] = 0;
        if (!cand_matches(cands[i], prefix, plen, cand, &clen))
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
        tui_line_replace(l, start, word, as_word(first, first_len, quoted, 1, word));
    } else if (common > plen) {
        tui_line_replace(l, start, first, common);
    }
    return nmatch;
}

/* The index of the first candidate after `after` (round; SIZE_MAX: from the start) that matches
 * the cycle's prefix, into cand; n when none does. *count gets how many match. */
static size_t next_match(const tui_complete_cycle *cy, const char *const *cands, size_t n,
                         size_t after, unsigned char *matched, wchar_t *cand, size_t *clen,
                         size_t *count)
{
    size_t found = n;
    wchar_t scratch[CAND_MAX];

    *count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        int ok = cand_matches(cands[i], cy->prefix, cy->plen, scratch, &len);
        if (matched != NULL)
            matched[i] = (unsigned char)ok;
        if (!ok)
            continue;
        (*count)++;
        /* The first match after `after`, else (round) the first of all. */
        if (found == n || (after != SIZE_MAX && found <= after && i > after)) {
            found = i;
            memcpy(cand, scratch, (len + 1) * sizeof(wchar_t));
            *clen = len;
        }
    }
    return found;
}

size_t tui_complete_next(tui_line *l, tui_complete_cycle *cy, const char *const *cands, size_t n,
                         unsigned char *matched)
{
    wchar_t cand[CAND_MAX], word[CAND_MAX + 4];
    size_t clen = 0, count, at;

    if (!cy->active) {
        size_t start = word_start(l, &cy->quoted);
        if (l->cursor - start >= CAND_MAX)
            return 0;
        cy->start = start;
        cy->plen = l->cursor - start;
        wmemcpy(cy->prefix, l->buf + start, cy->plen);
        at = next_match(cy, cands, n, SIZE_MAX, NULL, cand, &clen, &count);
        if (count <= 1) /* nothing to cycle through: as a plain Tab */
            return tui_complete(l, cands, n, matched);
        cy->shown = SIZE_MAX;
    }
    at = next_match(cy, cands, n, cy->shown, matched, cand, &clen, &count);
    if (count == 0 || cy->start > l->cursor) { /* the candidates went away meanwhile */
        cy->active = 0;
        return 0;
    }
    if (tui_line_replace(l, cy->start, word, as_word(cand, clen, cy->quoted, 0, word)) != 0) {
        cy->active = 0; /* no room in the line */
        return count;
    }
    cy->active = 1;
    cy->shown = at;
    return count;
}
