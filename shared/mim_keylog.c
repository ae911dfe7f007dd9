/* The key log: its line format, parsing, and the process's key-log file (see mim_keylog.h). */
#include "mim_keylog.h"

#include "mim_error.h"
#include "mim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LABEL_LEN (sizeof(MIM_KEYLOG_LABEL) - 1)
#define HEX_LEN   (2 * MIM_KEY_LEN)

static int keylog_fd = -1;
static char keylog_path[4096];
static int keylog_write_failed; /* logged once */

static char *put_hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 0x0f];
    }
    return out;
}

void mim_keylog_format(const mim_keylog_entry *en, char out[MIM_KEYLOG_LINE_LEN + 1])
{
    const uint8_t *fields[4] = {en->e, en->h, en->k1, en->k2};
    char *p = out;

    memcpy(p, MIM_KEYLOG_LABEL, LABEL_LEN);
    p += LABEL_LEN;
    for (int i = 0; i < 4; i++) {
        *p++ = ' ';
        p = put_hex(p, fields[i], MIM_KEY_LEN);
    }
    *p++ = '\n';
    *p = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not the format */
}

/* 64 lowercase hex digits at s into 32 bytes. 0 or -1. */
static int get_hex(const char *s, uint8_t out[MIM_KEY_LEN])
{
    for (size_t i = 0; i < MIM_KEY_LEN; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int mim_keylog_parse(const char *line, size_t len, mim_keylog_entry *en)
{
    uint8_t *fields[4] = {en->e, en->h, en->k1, en->k2};
    const char *p = line;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0 || line[0] == '#')
        return 1;
    if (len < LABEL_LEN || memcmp(line, MIM_KEYLOG_LABEL, LABEL_LEN) != 0 ||
        (len > LABEL_LEN && line[LABEL_LEN] != ' '))
        return 1; /* another label: a later version's line */
    if (len != MIM_KEYLOG_LINE_LEN - 1)
        return MIM_EINVAL;
    p += LABEL_LEN;
    for (int i = 0; i < 4; i++, p += 1 + HEX_LEN)
        if (p[0] != ' ' || get_hex(p + 1, fields[i]) != 0) {
            mim_wipe(en, sizeof(*en));
            return MIM_EINVAL;
        }
    return 0;
}

/* h = SHA-256(h || data): Noise's MixHash. */
static void mix_hash(uint8_t h[MIM_HASH_LEN], const uint8_t *data, size_t len)
{
    uint8_t buf[MIM_HASH_LEN + MIM_NOISE_MAX_MSG];

    memcpy(buf, h, MIM_HASH_LEN);
    if (len > 0)
        memcpy(buf + MIM_HASH_LEN, data, len);
    mim_sha256(h, buf, MIM_HASH_LEN + len);
}

int mim_keylog_handshake_hash(const char *prologue, const uint8_t *msg1, size_t len1,
                              const uint8_t *msg2, size_t len2, const uint8_t *msg3, size_t len3,
                              uint8_t h[MIM_HASH_LEN])
{
    static const char name[] = "Noise_XX_25519_ChaChaPoly_SHA256";
    size_t plen = strlen(prologue);

    if (len1 != MIM_KEY_LEN || len2 < 96 || len2 > MIM_NOISE_MAX_MSG || len3 < 64 ||
        len3 > MIM_NOISE_MAX_MSG || plen > MIM_NOISE_MAX_MSG)
        return MIM_EINVAL;
    memcpy(h, name, MIM_HASH_LEN); /* exactly HASHLEN bytes: used as is */
    mix_hash(h, (const uint8_t *)prologue, plen);
    mix_hash(h, msg1, MIM_KEY_LEN);      /* e */
    mix_hash(h, NULL, 0);                /* message 1's empty payload, no key yet */
    mix_hash(h, msg2, MIM_KEY_LEN);      /* e */
    mix_hash(h, msg2 + MIM_KEY_LEN, 48); /* encrypted s */
    mix_hash(h, msg2 + 80, len2 - 80);   /* encrypted payload */
    mix_hash(h, msg3, 48);               /* encrypted s */
    mix_hash(h, msg3 + 48, len3 - 48);   /* encrypted payload */
    return 0;
}

/* A file we may write keys to: regular, ours, 0600. 0 or MIM_EPERM (errno EPERM). */
static int keylog_check(int fd)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return MIM_EIO;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0600) {
        errno = EPERM;
        return MIM_EPERM;
    }
    return 0;
}

int mim_keylog_open(const char *path)
{
    int fd, rc;

    if (keylog_fd >= 0)
        return MIM_EEXIST;
    if (strlen(path) >= sizeof(keylog_path)) {
        errno = ENAMETOOLONG;
        return MIM_EIO;
    }
    /* A new file first, so that it can be set to 0600 whatever the umask; an existing one is
     * taken only as it is. O_NOFOLLOW refuses a symbolic link (ELOOP) either way. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        close(fd);
        return MIM_EIO;
    }
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno == ELOOP ? MIM_EPERM : MIM_EIO;
    if ((rc = keylog_check(fd)) != 0) {
        close(fd);
        return rc;
    }
    keylog_fd = fd;
    keylog_write_failed = 0;
    memcpy(keylog_path, path, strlen(path) + 1);
    return 0;
}

int mim_keylog_start(const char *program, const char *option)
{
    const char *path = option;
    int rc;

    if (path == NULL && (path = getenv(MIM_KEYLOG_ENV)) != NULL && path[0] == '\0')
        path = NULL;
    if (path == NULL)
        return 0;
    if ((rc = mim_keylog_open(path)) != 0) {
        if (rc == MIM_EPERM)
            fprintf(stderr,
                    "%s: key log %s refused: it must be a regular file of ours with mode 0600, "
                    "not a symbolic link (chmod 600 it, or name a new file)\n",
                    program, path);
        else
            fprintf(stderr, "%s: cannot open the key log %s: %s\n", program, path,
                    rc == MIM_EIO ? strerror(errno) : mim_strerror(rc));
        return -1;
    }
    mim_keylog_announce();
    return 0;
}

void mim_keylog_announce(void)
{
    if (keylog_fd >= 0)
        mim_log_warn("KEY LOG ON: anyone with %s can read every message of this run", keylog_path);
}

int mim_keylog_enabled(void)
{
    return keylog_fd >= 0;
}

void mim_keylog_write(const mim_keylog_entry *en)
{
    char line[MIM_KEYLOG_LINE_LEN + 1];
    ssize_t n;

    if (keylog_fd < 0)
        return;
    mim_keylog_format(en, line);
    do
        n = write(keylog_fd, line, MIM_KEYLOG_LINE_LEN); /* one write: lines never interleave */
    while (n < 0 && errno == EINTR);
    mim_wipe(line, sizeof(line));
    if (n != MIM_KEYLOG_LINE_LEN && !keylog_write_failed) {
        keylog_write_failed = 1;
        mim_log_warn("key log %s: a line could not be written (%s); later failures are not "
                     "reported",
                     keylog_path, n < 0 ? strerror(errno) : "short write");
    }
}

void mim_keylog_close(void)
{
    if (keylog_fd >= 0)
        close(keylog_fd);
    keylog_fd = -1;
    keylog_path[0] = '\0';
}
