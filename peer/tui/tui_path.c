/* File paths on the input line: reading them as typed, and completing them (see tui_path.h). */
#include "tui_path.h"
#include "tui_text.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The path text typed (quotes and backslashes taken off, spaces at the end dropped; "~" left
 * as it is) into out: its length, or -1 with *why. lenient: an unclosed quote or a backslash at
 * the end is what a Tab sees in a path half typed, not an error. */
static long unquote(const char *s, int lenient, char *out, size_t cap, const char **why)
{
    size_t w = 0, keep = 0;
    int quoted = 0;

    while (*s == ' ')
        s++;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (c == '\\' && (!quoted || s[1] == '"' || s[1] == '\\')) {
            if (s[1] == '\0') {
                if (lenient)
                    break;
                *why = "a backslash at the end of the path";
                return -1;
            }
            c = *++s;
        } else if (c == '"') {
            quoted = !quoted;
            keep = w; /* "" is where a path ends, even empty */
            continue;
        }
        if (w + 1 >= cap) {
            *why = "the path is too long";
            return -1;
        }
        out[w++] = c;
        if (c != ' ' || quoted || s[-1] == '\\')
            keep = w;
    }
    if (quoted && !lenient) {
        *why = "the path's closing \" is missing";
        return -1;
    }
    out[keep] = '\0';
    return (long)keep;
}

/* path with a leading "~" (alone, or before '/') made home, into out: 0, or -1 (too long). */
static int expand_home(const char *path, const char *home, char *out, size_t cap)
{
    size_t n;

    if (home != NULL && path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
        n = (size_t)snprintf(out, cap, "%s%s", home, path + 1);
    else
        n = (size_t)snprintf(out, cap, "%s", path);
    return n < cap ? 0 : -1;
}

int tui_path_unquote(const char *typed, const char *home, char *out, size_t cap, const char **why)
{
    char plain[TUI_PATH_MAX];
    long n = unquote(typed, 0, plain, sizeof(plain), why);

    if (n < 0)
        return -1;
    if (n == 0) {
        *why = "no path given";
        return -1;
    }
    /* A quoted "~" is a file named so; a typed one is home. */
    if (expand_home(plain, typed[strspn(typed, " ")] == '~' ? home : NULL, out, cap) != 0) {
        *why = "the path is too long";
        return -1;
    }
    return 0;
}

long tui_path_word_start(const tui_line *l)
{
    size_t i = 5, name_end;

    if (l->len < 6 || wcsncmp(l->buf, L"/send ", 6) != 0)
        return -1;
    while (i < l->len && l->buf[i] == L' ')
        i++;
    if (i < l->len && l->buf[i] == L'"') {
        const wchar_t *q = wmemchr(l->buf + i + 1, L'"', l->len - i - 1);
        if (q == NULL)
            return -1;
        name_end = (size_t)(q - l->buf) + 1;
    } else {
        for (name_end = i; name_end < l->len && l->buf[name_end] != L' '; name_end++)
            ;
    }
    if (name_end == i || name_end >= l->cursor || l->buf[name_end] != L' ')
        return -1;
    while (name_end < l->cursor && l->buf[name_end] == L' ')
        name_end++;
    return (long)name_end;
}

/* s with a backslash before each space, quote and backslash, appended to out (at *w). 0, or
 * -1 when it does not fit. */
static int escape_into(const char *s, size_t n, char *out, size_t cap, size_t *w)
{
    for (size_t i = 0; i < n; i++) {
        if (*w + 3 >= cap)
            return -1;
        if (s[i] == ' ' || s[i] == '"' || s[i] == '\\')
            out[(*w)++] = '\\';
        out[(*w)++] = s[i];
    }
    out[*w] = '\0';
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir starting with prefix (hidden ones only for a prefix with a dot first),
 * sorted, at most TUI_PATH_LIST of them, into names (malloc'd each): how many. */
static size_t list_matches(const char *dir, const char *prefix, char **names)
{
    size_t plen = strlen(prefix), n = 0;
    struct dirent *d;
    DIR *dp = opendir(dir[0] != '\0' ? dir : ".");

    if (dp == NULL)
        return 0;
    while (n < TUI_PATH_LIST && (d = readdir(dp)) != NULL) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
            (d->d_name[0] == '.' && prefix[0] != '.') || strncmp(d->d_name, prefix, plen) != 0)
            continue;
        if ((names[n] = strdup(d->d_name)) != NULL)
            n++;
    }
    closedir(dp);
    qsort(names, n, sizeof(*names), by_name);
    return n;
}

/* Is dir/name a directory (followed: a link to one is completed as one)? */
static int is_dir(const char *dir, const char *name)
{
    char path[TUI_PATH_MAX];
    struct stat st;

    if ((size_t)snprintf(path, sizeof(path), "%s%s", dir[0] != '\0' ? dir : "./", name) >=
        sizeof(path))
        return 0;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The names, two spaces apart, into hint ("..." when they do not all fit). */
static void list_hint(char *const *names, size_t n, char *hint, size_t cap)
{
    size_t w = 0;

    hint[0] = '\0';
    for (size_t i = 0; i < n && cap > 4; i++) {
        size_t len = strlen(names[i]);
        if (w + len + 2 + 4 >= cap) {
            memcpy(hint + w, "...", 4);
            return;
        }
        w += (size_t)snprintf(hint + w, cap - w, "%s%s", i > 0 ? "  " : "", names[i]);
    }
}

/* The word that replaces the typed path: the directory part as typed, then what was found
 * (its first `len` bytes), then `end` (a '/', a space, or nothing). 0, or -1 (too long). */
static int new_word(const char *dirpart, size_t dlen, const char *found, size_t len,
                    const char *end, wchar_t *out, size_t *outlen)
{
    char word[TUI_PATH_MAX * 2];
    size_t w = 0;

    if (escape_into(dirpart, dlen, word, sizeof(word), &w) != 0 ||
        escape_into(found, len, word, sizeof(word), &w) != 0 || w + 2 >= sizeof(word))
        return -1;
    strcpy(word + w, end);
    *outlen = tui_text_from_utf8(word, out, TUI_LINE_MAX + 1);
    return 0;
}

size_t tui_path_complete(tui_line *l, size_t start, const char *home, char *hint, size_t cap)
{
    char typed[TUI_PATH_MAX], logical[TUI_PATH_MAX], dir[TUI_PATH_MAX], *names[TUI_PATH_LIST];
    char dirpart[TUI_PATH_MAX];
    static wchar_t word[TUI_LINE_MAX + 1];
    const char *why, *slash, *prefix;
    size_t n, common, dlen, wlen = 0;
    int ok = -1;

    if (cap > 0)
        hint[0] = '\0';
    if (start > l->cursor ||
        tui_text_to_utf8(l->buf + start, l->cursor - start, typed, sizeof(typed)) < 0 ||
        unquote(typed, 1, logical, sizeof(logical), &why) < 0)
        return 0;
    if (strcmp(logical, "~") == 0 && home != NULL) { /* home itself: into it */
        if (new_word("~", 1, "", 0, "/", word, &wlen) != 0 ||
            tui_line_replace(l, start, word, wlen) != 0)
            return 0;
        return 1;
    }
    slash = strrchr(logical, '/');
    prefix = slash != NULL ? slash + 1 : logical;
    dlen = (size_t)(prefix - logical);
    memcpy(dirpart, logical, dlen);
    dirpart[dlen] = '\0';
    if (expand_home(dirpart, logical[0] == '~' ? home : NULL, dir, sizeof(dir)) != 0 ||
        (n = list_matches(dir, prefix, names)) == 0)
        return 0;
    for (common = strlen(names[0]); n > 1 && common > 0; common--)
        if (strncmp(names[0], names[n - 1], common) == 0) /* sorted: first and last suffice */
            break;
    if (n == 1)
        ok = new_word(logical, dlen, names[0], common, is_dir(dir, names[0]) ? "/" : " ", word,
                      &wlen);
    else if (common > strlen(prefix))
        ok = new_word(logical, dlen, names[0], common, "", word, &wlen);
    if (ok == 0)
        (void)tui_line_replace(l, start, word, wlen);
    if (n > 1)
        list_hint(names, n, hint, cap);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return n;
}
