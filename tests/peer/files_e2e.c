/* Files on disk and the JSON steps of a transfer, for the file-transfer end-to-end tests (see
 * files_e2e.h). */
#include "files_e2e.h"

#include "mim_crypto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define FE_PATH 1024

/* ---- files on disk --------------------------------------------------------------------------- */

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

int fe_write_random(const char *path, size_t n, uint32_t seed)
{
    uint32_t buf[16384], s = seed ? seed : 1;
    FILE *f = fopen(path, "wb");
    int rc = 0;

    if (f == NULL)
        return -1;
    while (n > 0 && rc == 0) {
        size_t take = n < sizeof(buf) ? n : sizeof(buf);
        for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
            buf[i] = xorshift(&s);
        rc = fwrite(buf, 1, take, f) == take ? 0 : -1;
        n -= take;
    }
    return fclose(f) == 0 ? rc : -1;
}

int fe_make_folder(const char *dir, int nfiles)
{
    static const char *const subs[] = {"",      "docs/",      "docs/old/",
                                       "pics/", "pics/2026/", "pics/2026/a b/"};
    char path[FE_PATH];

    if (mkdir(dir, 0700) != 0)
        return -1;
    for (size_t i = 1; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
    }
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof(path), "%s/%sfile-%03d.dat", dir, subs[i % 6], i);
        /* Every 17th file is empty: a zero-length file takes no byte of the stream. */
        if (fe_write_random(path, i % 17 == 0 ? 0 : (size_t)(i * 97) % 5001, (uint32_t)i + 7) != 0)
            return -1;
    }
    return 0;
}

/* The whole file at path in a new buffer (*len bytes), or NULL. */
static uint8_t *read_all(const char *path, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    ssize_t got = -1;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (buf = malloc((size_t)st.st_size + 1))) {
        size_t have = 0;
        while (have < (size_t)st.st_size &&
               (got = read(fd, buf + have, (size_t)st.st_size - have)) > 0)
            have += (size_t)got;
        close(fd);
        if (have == (size_t)st.st_size) {
            *len = have;
            return buf;
        }
        free(buf);
        return NULL;
    }
    close(fd);
    return NULL;
}

int fe_same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    uint8_t *x = read_all(a, &la), *y = read_all(b, &lb);
    int same = x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0;

    free(x);
    free(y);
    return same;
}

/* Counts the entries below dir (files and folders; -1 for anything else or an error). */
static int count_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL && n >= 0) {
        char path[FE_PATH];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
            n = -1;
            break;
        }
        n++;
        if (S_ISDIR(st.st_mode)) {
            int sub = count_tree(path);
            n = sub < 0 ? -1 : n + sub;
        }
    }
    closedir(d);
    return n;
}

/* Every entry of a is in b, the files byte-identical: 1, and *nfiles counts a's files. */
static int tree_in(const char *a, const char *b, int *nfiles)
{
    DIR *d = opendir(a);
    struct dirent *e;
    int ok = d != NULL;

    while (ok && (e = readdir(d)) != NULL) {
        char pa[FE_PATH], pb[FE_PATH];
        struct stat sa, sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(pa, sizeof(pa), "%s/%s", a, e->d_name);
        snprintf(pb, sizeof(pb), "%s/%s", b, e->d_name);
        ok = lstat(pa, &sa) == 0 && lstat(pb, &sb) == 0 &&
             (sa.st_mode & S_IFMT) == (sb.st_mode & S_IFMT);
        if (ok && S_ISDIR(sa.st_mode))
            ok = tree_in(pa, pb, nfiles);
        else if (ok) {
            ok = fe_same_file(pa, pb);
            (*nfiles)++;
        }
        if (!ok)
            fprintf(stderr, "files differ or are missing: %s and %s\n", pa, pb);
    }
    if (d != NULL)
        closedir(d);
    return ok;
}

int fe_same_tree(const char *a, const char *b, int *nfiles)
{
    *nfiles = 0;
    return tree_in(a, b, nfiles) && count_tree(a) >= 0 && count_tree(a) == count_tree(b);
}

int fe_sha256_hex(const char *path, char out[FE_HEX_SHA256])
{
    uint8_t h[MIM_HASH_LEN];
    size_t len = 0;
    uint8_t *all = read_all(path, &len);

    if (all == NULL)
        return -1;
    mim_sha256(h, all, len);
    free(all);
    for (size_t i = 0; i < sizeof(h); i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return 0;
}

/* ---- the steps of a transfer ------------------------------------------------------------ */

int64_t fe_int(const json_t *ev, const char *key)
{
    const json_t *v = json_object_get(ev, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

size_t fe_send_file(mp *a, const char *to, const char *path, const char *tag, char id[FE_ID_LEN])
{
    size_t a0 = a->nev;
    uint64_t end = now_ms() + WAIT_MS;
    long at;
    const char *got;

    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"%s\",\"path\":\"%s\",\"tag\":\"%s\"}", to, path,
           tag);
    /* The answer is `queued` or `sent` (or `error`): the offer is stored like a message. */
    while ((at = mp_first_tagged(a, a0, tag)) < 0 && now_ms() < end && mp_pump(a, 100) == 0)
        ;
    if (at < 0 ||
        !(matches(a->ev[at], "queued", NULL, NULL) || matches(a->ev[at], "sent", NULL, NULL))) {
        mp_dump(a);
        {
            char cmd[1200];
            snprintf(cmd, sizeof cmd, "tail -n 30 %s >&2", a->log);
            (void)!system(cmd);
        }
        fail_msg("send_file of %s was not queued", path);
    }
    got = sfield(a->ev[at], "id");
    assert_non_null(got);
    snprintf(id, FE_ID_LEN, "%s", got);
    return a0;
}

json_t *fe_accept(mp *b, size_t from, const char *id)
{
    json_t *offer = mp_expect(b, from, "file_offer", "id", id);

    if (!json_is_true(json_object_get(offer, "accepted")))
        mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\"}", id);
    return offer;
}

json_t *fe_expect_done(mp *p, size_t from, const char *id)
{
    uint64_t end = now_ms() + FE_DONE_MS;

    for (;;) {
        long i = mp_index_of(p, from, "file_done", "id", id);
        long bad = mp_index_of(p, from, "file_failed", "id", id);
        if (i >= 0)
            return p->ev[i];
        if (bad >= 0) {
            mp_dump(p);
            fail_msg("%s: transfer %s failed: %s", p->name, id, sfield(p->ev[bad], "error"));
        }
        if (now_ms() > end || mp_pump(p, 200) < 0) {
            mp_dump(p);
            fail_msg("%s: no file_done for %s", p->name, id);
        }
    }
}

int64_t fe_last_progress(const mp *p, size_t from, const char *id)
{
    int64_t last = -1;

    for (size_t i = from; i < p->nev; i++)
        if (matches(p->ev[i], "file_progress", "id", id))
            last = fe_int(p->ev[i], "bytes");
    return last;
}

int64_t fe_wait_progress(mp *p, size_t from, const char *id, int64_t at_least, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        int64_t b = fe_last_progress(p, from, id);
        if (b >= at_least)
            return b;
        if (mp_index_of(p, from, "file_done", "id", id) >= 0 ||
            mp_index_of(p, from, "file_failed", "id", id) >= 0 || now_ms() > end ||
            mp_pump(p, 50) < 0)
            return -1;
    }
}

void fe_check_received(const json_t *done_a, const json_t *done_b, const char *src, int folder)
{
    const char *path = sfield(done_b, "path");
    char want[FE_HEX_SHA256];
    int nfiles = 0;

    assert_non_null(done_a);
    assert_non_null(path);
    assert_string_equal(sfield(done_a, "direction"), "send");
    assert_string_equal(sfield(done_b, "direction"), "receive");
    assert_int_equal(fe_int(done_a, "size"), fe_int(done_b, "size"));
    assert_int_equal(strlen(sfield(done_b, "sha256")), 64);
    assert_string_equal(sfield(done_a, "sha256"), sfield(done_b, "sha256")); /* told back */
    if (folder) {
        if (!fe_same_tree(src, path, &nfiles))
            fail_msg("the folder %s did not arrive as %s", src, path);
        assert_true(nfiles > 0);
        return;
    }
    if (!fe_same_file(src, path))
        fail_msg("%s is not byte-identical to %s", path, src);
    assert_int_equal(fe_sha256_hex(src, want), 0);
    assert_string_equal(sfield(done_b, "sha256"), want);
}
