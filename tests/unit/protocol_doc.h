/* The worked examples' link to docs/PROTOCOL.md (test_protocol_example.c, issue 14's
 * test_protocol_mail_example.c and test_seal.c, issue 15's test_codec_file.c; test_keylog.c reads
 * docs/KEYLOG.md): the document's text, and the hex bytes of the code block after
 * a <!-- hex:NAME --> marker, so a test can require the document to show exactly the bytes the
 * code makes. Test-only; include after cmocka.h and mim_test.h. */
#ifndef MIM_TEST_PROTOCOL_DOC_H
#define MIM_TEST_PROTOCOL_DOC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text of docs/<leaf> (e.g. "KEYLOG.md"), malloc'd. */
static inline char *read_docs_file(const char *leaf)
{
    /* __FILE__ (this header's) is absolute in a CMake build: <source>/tests/unit/protocol_doc.h. */
    static const char suffix[] = "tests/unit/protocol_doc.h";
    const char *file = __FILE__;
    size_t flen = strlen(file), slen = strlen(suffix);
    char path[4096];

    if (flen < slen || strcmp(file + flen - slen, suffix) != 0)
        fail_msg("cannot find the source tree from __FILE__ = %s", file);
    snprintf(path, sizeof(path), "%.*sdocs/%s", (int)(flen - slen), file, leaf);
    return mim_test_read_file(path);
}

static inline char *read_doc(void)
{
    return read_docs_file("PROTOCOL.md");
}

/* n bytes as lowercase hex, as the document shows them (malloc'd). */
static inline char *bytes_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

static inline int is_hex_pair(const char *p)
{
    return strchr("0123456789abcdef", p[0]) != NULL && p[0] != '\0' &&
           strchr("0123456789abcdef", p[1]) != NULL && p[1] != '\0';
}

/* The hex bytes of the code block after <!-- hex:NAME -->. On each line of the block, the bytes
 * are the leading run of two-digit lowercase hex tokens separated by single spaces; two spaces
 * or anything else ends the run (the annotation follows). Returns a malloc'd hex string. */
static inline char *doc_block_hex(const char *doc, const char *name)
{
    char marker[128];
    const char *p, *end;
    char *hex;
    size_t n = 0;

    snprintf(marker, sizeof(marker), "<!-- hex:%s -->", name);
    p = strstr(doc, marker);
    if (p == NULL) {
        fail_msg("docs/PROTOCOL.md has no %s", marker);
        return NULL; /* not reached: tells the compiler p is non-NULL below */
    }
    if (strstr(p + 1, marker) != NULL)
        fail_msg("docs/PROTOCOL.md has %s twice", marker);
    p = strstr(p, "\n```");
    assert_non_null(p);
    p = strchr(p + 1, '\n'); /* skip the opening fence line */
    assert_non_null(p);
    p++;
    end = strstr(p, "\n```");
    assert_non_null(end);
    hex = malloc((size_t)(end - p) + 1);
    assert_non_null(hex);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *q = p;
        if (eol == NULL)
            eol = end;
        while (q + 1 < eol && is_hex_pair(q)) {
            hex[n++] = q[0];
            hex[n++] = q[1];
            q += 2;
            if (q < eol && q[0] == ' ' && q + 1 < eol && q[1] != ' ')
                q++; /* one space: more bytes follow */
            else
                break;
        }
        p = eol + 1;
    }
    hex[n] = '\0';
    return hex;
}

/* Requires docs/PROTOCOL.md to show, in the block marked <!-- hex:NAME -->, exactly hex[i] for
 * each names[i] (n of them); what names the example in the failure message. */
static inline void doc_check_blocks(const char *const *names, const char *const *hex, size_t n,
                                    const char *what)
{
    char *doc = read_doc();

    for (size_t i = 0; i < n; i++) {
        char *shown = doc_block_hex(doc, names[i]);
        if (strcmp(shown, hex[i]) != 0) {
            fprintf(stderr, "docs/PROTOCOL.md, block %s:\n  shows    %s\n  expected %s\n", names[i],
                    shown, hex[i]);
            free(shown);
            free(doc);
            fail_msg("docs/PROTOCOL.md's %s example drifted from the code (%s)", what, names[i]);
        }
        free(shown);
    }
    free(doc);
}

#endif
