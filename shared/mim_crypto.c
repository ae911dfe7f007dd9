/* The one door to libsodium: no other file in mim includes <sodium.h>.
 *
 * Keeping every primitive behind this file means the sizes can be checked once (the
 * static_asserts below), secrets are wiped in one place, and a reviewer reads one file to see all
 * of mim's cryptography. The constructions are described in docs/SECURITY.md. */
#include "mim_crypto.h"

#include "mim_error.h"

#include <sodium.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the sizes the header promises, checked against the library ---------------------------- */

static_assert(crypto_sign_PUBLICKEYBYTES == MIM_KEY_LEN, "Ed25519 public key size");
static_assert(crypto_sign_SECRETKEYBYTES == MIM_SIGN_SK_LEN, "Ed25519 secret key size");
static_assert(crypto_sign_SEEDBYTES == MIM_KEY_LEN, "Ed25519 seed size");
static_assert(crypto_sign_BYTES == MIM_SIG_LEN, "Ed25519 signature size");
static_assert(crypto_scalarmult_curve25519_BYTES == MIM_KEY_LEN, "X25519 public key size");
static_assert(crypto_scalarmult_curve25519_SCALARBYTES == MIM_KEY_LEN, "X25519 secret key size");
static_assert(crypto_hash_sha256_BYTES == MIM_HASH_LEN, "SHA-256 output size");
static_assert(crypto_auth_hmacsha256_BYTES == MIM_HASH_LEN, "HMAC-SHA256 output size");
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == MIM_KEY_LEN, "ChaChaPoly key size");
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "ChaChaPoly nonce size");
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == MIM_AEAD_TAG_LEN, "ChaChaPoly tag");
static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == MIM_KEY_LEN, "stream key size");
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == MIM_STREAM_HEADER_LEN,
              "stream header size");
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == MIM_STREAM_ABYTES, "stream overhead");
static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) == MIM_STREAM_STATE_LEN,
              "secretstream state size");
static_assert(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE == MIM_STREAM_TAG_MESSAGE,
              "TAG_MESSAGE");
static_assert(crypto_secretstream_xchacha20poly1305_TAG_REKEY == MIM_STREAM_TAG_REKEY, "TAG_REKEY");
static_assert(crypto_secretstream_xchacha20poly1305_TAG_FINAL == MIM_STREAM_TAG_FINAL, "TAG_FINAL");

/* Domain-separation labels: a signature made for one purpose can never pass for another. */
#define STATIC_SIG_LABEL "mim-static-v1"
#define LOGIN_LABEL      "mim-login-v1"
#define FP_LABEL         "mim-fingerprint-v1"
#define LABEL_LEN(l)     (sizeof(l) - 1)

/* ---- basics ---------------------------------------------------------------------------------- */

int mim_crypto_init(void)
{
    /* 1 means "already initialised", which is fine. */
    return sodium_init() < 0 ? MIM_ECRYPTO : MIM_OK;
}

void mim_random_bytes(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

uint32_t mim_random_uniform(uint32_t upper)
{
    return randombytes_uniform(upper);
}

void mim_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int mim_equal_ct(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void mim_sha256(uint8_t out[MIM_HASH_LEN], const void *in, size_t n)
{
    crypto_hash_sha256(out, in, n);
}

/* ---- identity -------------------------------------------------------------------------------- */

/* Fills dh_pk and static_sig from sign_sk and dh_sk, which the caller has set. */
static int identity_complete(mim_identity *id)
{
    uint8_t msg[LABEL_LEN(STATIC_SIG_LABEL) + MIM_KEY_LEN];

    if (crypto_scalarmult_curve25519_base(id->dh_pk, id->dh_sk) != 0)
        return MIM_ECRYPTO;
    memcpy(msg, STATIC_SIG_LABEL, LABEL_LEN(STATIC_SIG_LABEL));
    memcpy(msg + LABEL_LEN(STATIC_SIG_LABEL), id->dh_pk, MIM_KEY_LEN);
    if (crypto_sign_detached(id->static_sig, NULL, msg, sizeof msg, id->sign_sk) != 0)
        return MIM_ECRYPTO;
    return MIM_OK;
}

mim_identity *mim_identity_generate(void)
{
    mim_identity *id = sodium_malloc(sizeof *id);

    if (id == NULL)
        return NULL;
    if (crypto_sign_keypair(id->sign_pk, id->sign_sk) != 0)
        goto fail;
    randombytes_buf(id->dh_sk, sizeof id->dh_sk);
    if (identity_complete(id) != MIM_OK)
        goto fail;
    return id;

fail:
    sodium_free(id);
    return NULL;
}

void mim_identity_free(mim_identity *id)
{
    /* sodium_free wipes the region before unmapping it, and accepts NULL. */
    sodium_free(id);
}

/* Key file layout: see mim_crypto.h. */
#define KEY_FILE_MAGIC     "MIMKEY01"
#define KEY_FILE_LEN       80
#define KEY_FILE_FLAGS_OFF 8
#define KEY_FILE_RESERVED  9
#define KEY_FILE_SEED_OFF  16
#define KEY_FILE_DH_SK_OFF 48
static_assert(LABEL_LEN(KEY_FILE_MAGIC) == KEY_FILE_FLAGS_OFF, "key file magic length");
static_assert(KEY_FILE_DH_SK_OFF + MIM_KEY_LEN == KEY_FILE_LEN, "key file layout");

/* Reads exactly n bytes. MIM_EINVAL when the file ends early (it shrank under us). */
static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MIM_EIO;
        if (r == 0)
            return MIM_EINVAL;
        p += r;
        n -= (size_t)r;
    }
    return MIM_OK;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MIM_EIO;
        p += w;
        n -= (size_t)w;
    }
    return MIM_OK;
}

/* Makes the new directory entry durable, so a crash right after the first start cannot silently
 * replace the user's identity on the next start. Best effort: the key file itself is already
 * synced, and a file system that cannot sync directories should not stop mim from starting. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    size_t len;
    int fd;

    if (slash == NULL) {
        dir = strdup(".");
    } else {
        len = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(len + 1);
        if (dir != NULL) {
            memcpy(dir, path, len);
            dir[len] = '\0';
        }
    }
    if (dir == NULL)
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    free(dir);
}

/* MIM_ENOENT when there is no file, so the caller can create one. */
static int key_file_load(const char *path, mim_identity **out)
{
    uint8_t buf[KEY_FILE_LEN];
    uint8_t reserved = 0;
    mim_identity *id = NULL;
    struct stat st;
    int rc;
    int fd;
    int i;

    /* O_NOFOLLOW: a symlink planted at the key path must not redirect us. O_NONBLOCK: a FIFO
     * planted there must not hang the open; it is refused below as not a regular file. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MIM_ENOENT;
        if (errno == ELOOP || errno == EMLINK) /* Linux / BSD spelling of "is a symlink" */
            return MIM_EPERM;
        return MIM_EIO;
    }
    memset(buf, 0, sizeof buf);
    if (fstat(fd, &st) != 0) {
        rc = MIM_EIO;
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = MIM_EINVAL;
        goto done;
    }
    /* Permissions before contents: a key others could read is compromised whatever it holds.
     * A file owned by someone else could have been swapped in by them. */
    if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
        rc = MIM_EPERM;
        goto done;
    }
    if (st.st_size != KEY_FILE_LEN) {
        rc = MIM_EINVAL;
        goto done;
    }
    rc = read_full(fd, buf, sizeof buf);
    if (rc != MIM_OK)
        goto done;
    for (i = KEY_FILE_RESERVED; i < KEY_FILE_SEED_OFF; i++)
        reserved |= buf[i];
    /* Flags other than 0 would mean an encrypted key, which this version cannot read. */
    if (memcmp(buf, KEY_FILE_MAGIC, LABEL_LEN(KEY_FILE_MAGIC)) != 0 ||
        buf[KEY_FILE_FLAGS_OFF] != 0 || reserved != 0) {
        rc = MIM_EINVAL;
        goto done;
    }
    id = sodium_malloc(sizeof *id);
    if (id == NULL) {
        rc = MIM_ENOMEM;
        goto done;
    }
    if (crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, buf + KEY_FILE_SEED_OFF) != 0) {
        rc = MIM_ECRYPTO;
        goto done;
    }
    memcpy(id->dh_sk, buf + KEY_FILE_DH_SK_OFF, MIM_KEY_LEN);
    rc = identity_complete(id);
    if (rc != MIM_OK)
        goto done;
    *out = id;
    id = NULL;

done:
    sodium_memzero(buf, sizeof buf);
    sodium_free(id);
    (void)close(fd);
    return rc;
}

/* MIM_EEXIST when something (file, symlink) is already at path. */
static int key_file_create(const char *path, mim_identity **out)
{
    uint8_t buf[KEY_FILE_LEN];
    mim_identity *id;
    int rc = MIM_OK;
    int fd;

    id = mim_identity_generate();
    if (id == NULL)
        return MIM_ENOMEM;
    memset(buf, 0, sizeof buf);
    memcpy(buf, KEY_FILE_MAGIC, LABEL_LEN(KEY_FILE_MAGIC));
    crypto_sign_ed25519_sk_to_seed(buf + KEY_FILE_SEED_OFF, id->sign_sk);
    memcpy(buf + KEY_FILE_DH_SK_OFF, id->dh_sk, MIM_KEY_LEN);

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            rc = MIM_EEXIST;
        else if (errno == ENOENT)
            rc = MIM_ENOENT; /* the directory is missing */
        else
            rc = MIM_EIO;
        goto done;
    }
    rc = write_full(fd, buf, sizeof buf);
    if (rc == MIM_OK && fsync(fd) != 0)
        rc = MIM_EIO;
    if (close(fd) != 0 && rc == MIM_OK)
        rc = MIM_EIO;
    if (rc != MIM_OK) {
        /* A half-written key file would be refused on every later start: remove it. */
        (void)unlink(path);
        goto done;
    }
    sync_parent_dir(path);
    *out = id;
    id = NULL;

done:
    sodium_memzero(buf, sizeof buf);
    sodium_free(id);
    return rc;
}

int mim_identity_load_or_create(const char *path, mim_identity **out, int *created)
{
    int rc = MIM_EINVAL;
    int attempt;

    if (path == NULL || out == NULL || created == NULL)
        return MIM_EINVAL;
    *out = NULL;
    *created = 0;
    /* Two rounds: if another process creates the file between our load and our create, the
     * second round loads its key instead of failing. */
    for (attempt = 0; attempt < 2; attempt++) {
        rc = key_file_load(path, out);
        if (rc != MIM_ENOENT)
            return rc;
        rc = key_file_create(path, out);
        if (rc == MIM_OK)
            *created = 1;
        if (rc != MIM_EEXIST)
            return rc;
    }
    return rc;
}

int mim_identity_sign(const mim_identity *id, const void *msg, size_t n, uint8_t sig[MIM_SIG_LEN])
{
    if (id == NULL || sig == NULL || (msg == NULL && n > 0))
        return MIM_EINVAL;
    if (crypto_sign_detached(sig, NULL, msg, n, id->sign_sk) != 0)
        return MIM_ECRYPTO;
    return MIM_OK;
}

int mim_sign_verify(const uint8_t pk[MIM_KEY_LEN], const void *msg, size_t n,
                    const uint8_t sig[MIM_SIG_LEN])
{
    if (pk == NULL || sig == NULL || (msg == NULL && n > 0))
        return MIM_EINVAL;
    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? MIM_OK : MIM_ECRYPTO;
}

int mim_static_sig_verify(const uint8_t identity_pk[MIM_KEY_LEN],
                          const uint8_t static_pk[MIM_KEY_LEN], const uint8_t sig[MIM_SIG_LEN])
{
    uint8_t msg[LABEL_LEN(STATIC_SIG_LABEL) + MIM_KEY_LEN];

    if (static_pk == NULL)
        return MIM_EINVAL;
    memcpy(msg, STATIC_SIG_LABEL, LABEL_LEN(STATIC_SIG_LABEL));
    memcpy(msg + LABEL_LEN(STATIC_SIG_LABEL), static_pk, MIM_KEY_LEN);
    return mim_sign_verify(identity_pk, msg, sizeof msg, sig);
}

/* Builds "mim-login-v1" || handshake_hash || name || port (big-endian) in a new allocation. */
static int login_message(const uint8_t handshake_hash[MIM_HASH_LEN], const char *name,
                         size_t name_len, uint16_t port, uint8_t **msg, size_t *msg_len)
{
    const size_t fixed = LABEL_LEN(LOGIN_LABEL) + MIM_HASH_LEN + 2;
    uint8_t *p;

    if (handshake_hash == NULL || (name == NULL && name_len > 0) || name_len > SIZE_MAX - fixed)
        return MIM_EINVAL;
    p = malloc(fixed + name_len);
    if (p == NULL)
        return MIM_ENOMEM;
    memcpy(p, LOGIN_LABEL, LABEL_LEN(LOGIN_LABEL));
    memcpy(p + LABEL_LEN(LOGIN_LABEL), handshake_hash, MIM_HASH_LEN);
    if (name_len > 0)
        memcpy(p + LABEL_LEN(LOGIN_LABEL) + MIM_HASH_LEN, name, name_len);
    p[fixed + name_len - 2] = (uint8_t)(port >> 8);
    p[fixed + name_len - 1] = (uint8_t)(port & 0xff);
    *msg = p;
    *msg_len = fixed + name_len;
    return MIM_OK;
}

int mim_login_sign(const mim_identity *id, const uint8_t handshake_hash[MIM_HASH_LEN],
                   const char *name, size_t name_len, uint16_t port, uint8_t sig[MIM_SIG_LEN])
{
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc;

    rc = login_message(handshake_hash, name, name_len, port, &msg, &msg_len);
    if (rc != MIM_OK)
        return rc;
    rc = mim_identity_sign(id, msg, msg_len, sig);
    free(msg);
    return rc;
}

int mim_login_verify(const uint8_t identity_pk[MIM_KEY_LEN],
                     const uint8_t handshake_hash[MIM_HASH_LEN], const char *name, size_t name_len,
                     uint16_t port, const uint8_t sig[MIM_SIG_LEN])
{
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc;

    rc = login_message(handshake_hash, name, name_len, port, &msg, &msg_len);
    if (rc != MIM_OK)
        return rc;
    rc = mim_sign_verify(identity_pk, msg, msg_len, sig);
    free(msg);
    return rc;
}

void mim_fingerprint(const uint8_t identity_pk[MIM_KEY_LEN], char out[MIM_FINGERPRINT_LEN])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t digest[MIM_HASH_LEN];
    crypto_hash_sha256_state st;
    uint32_t bits = 0; /* bit buffer: at most 12 bits are ever held */
    int nbits = 0;
    int chars = 0;
    size_t pos = 0;
    int i;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)FP_LABEL, LABEL_LEN(FP_LABEL));
    crypto_hash_sha256_update(&st, identity_pk, MIM_KEY_LEN);
    crypto_hash_sha256_final(&st, digest);
    /* 15 bytes = 120 bits = exactly 24 base32 characters, so no padding is ever needed. */
    for (i = 0; i < 15; i++) {
        bits = (bits << 8) | digest[i];
        nbits += 8;
        while (nbits >= 5) {
            nbits -= 5;
            if (chars > 0 && chars % 4 == 0)
                out[pos++] = '-';
            out[pos++] = alphabet[(bits >> nbits) & 31];
            chars++;
        }
        bits &= (1u << nbits) - 1;
    }
    out[pos] = '\0';
}

/* Signal's numeric fingerprint (see mim_crypto.h). Public keys and names only: nothing to wipe. */
#define SAFETY_VERSION    0    /* 2 bytes, big-endian */
#define SAFETY_ITERATIONS 5200 /* SHA-512 rounds in all, as Signal's */
#define SAFETY_SIDE       30   /* digits per side */
static_assert(crypto_hash_sha512_BYTES >= 30, "a side's digits come from 30 hash bytes");
static_assert(MIM_SAFETY_NUMBER_LEN == 2 * SAFETY_SIDE + 2 * SAFETY_SIDE / 5 - 1 + 1,
              "60 digits in groups of 5, spaces between, NUL");

/* One side's 30 digits (no NUL). */
static void safety_side(const uint8_t pk[MIM_KEY_LEN], const char *name, char out[SAFETY_SIDE])
{
    static const uint8_t version[2] = {SAFETY_VERSION >> 8, SAFETY_VERSION & 0xff};
    uint8_t h[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;

    /* Round 1 hashes (version || pk || name) || pk; every later round h || pk. */
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, version, sizeof(version));
    crypto_hash_sha512_update(&st, pk, MIM_KEY_LEN);
    if (name != NULL)
        crypto_hash_sha512_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha512_update(&st, pk, MIM_KEY_LEN);
    crypto_hash_sha512_final(&st, h);
    for (int i = 1; i < SAFETY_ITERATIONS; i++) {
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, h, sizeof(h));
        crypto_hash_sha512_update(&st, pk, MIM_KEY_LEN);
        crypto_hash_sha512_final(&st, h);
    }
    /* Six 40-bit big-endian chunks, each mod 100000 as 5 zero-padded digits. */
    for (int c = 0; c < 6; c++) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++)
            v = (v << 8) | h[c * 5 + k];
        v %= 100000;
        for (int d = 4; d >= 0; d--) {
            out[c * 5 + d] = (char)('0' + v % 10);
            v /= 10;
        }
    }
}

void mim_safety_number(const uint8_t a_pk[MIM_KEY_LEN], const char *a_name,
                       const uint8_t b_pk[MIM_KEY_LEN], const char *b_name,
                       char out[MIM_SAFETY_NUMBER_LEN])
{
    char a[SAFETY_SIDE], b[SAFETY_SIDE], joined[2 * SAFETY_SIDE];
    size_t pos = 0;

    safety_side(a_pk, a_name, a);
    safety_side(b_pk, b_name, b);
    /* Equal-length digit strings: byte order is numeric order. Lower first, so that both
     * users compute the same number whichever side they are. */
    if (memcmp(a, b, SAFETY_SIDE) <= 0) {
        memcpy(joined, a, SAFETY_SIDE);
        memcpy(joined + SAFETY_SIDE, b, SAFETY_SIDE);
    } else {
        memcpy(joined, b, SAFETY_SIDE);
        memcpy(joined + SAFETY_SIDE, a, SAFETY_SIDE);
    }
    for (size_t i = 0; i < sizeof(joined); i++) {
        if (i > 0 && i % 5 == 0)
            out[pos++] = ' ';
        out[pos++] = joined[i];
    }
    out[pos] = '\0';
}

/* ---- Noise_XX_25519_ChaChaPoly_SHA256 (Noise spec rev 34) ----------------------------------- */

/* Exactly HASHLEN bytes, so InitializeSymmetric sets h = the name with no hashing or padding. */
#define NOISE_NAME        "Noise_XX_25519_ChaChaPoly_SHA256"
#define NOISE_ENC_KEY_LEN (MIM_KEY_LEN + MIM_AEAD_TAG_LEN) /* an encrypted static key */
static_assert(LABEL_LEN(NOISE_NAME) == MIM_HASH_LEN, "protocol name must be HASHLEN bytes");

/* HMAC-SHA256(key, a || b); key is always HASHLEN bytes here (ck or an HKDF temp key). */
static void hmac_sha256(uint8_t out[MIM_HASH_LEN], const uint8_t key[MIM_HASH_LEN],
                        const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, MIM_HASH_LEN);
    if (alen > 0)
        crypto_auth_hmacsha256_update(&st, a, alen);
    if (blen > 0)
        crypto_auth_hmacsha256_update(&st, b, blen);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* HKDF(chaining_key, ikm) with two outputs. out1 may alias ck: ck is consumed first. */
static void noise_hkdf2(const uint8_t ck[MIM_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
                        uint8_t out1[MIM_HASH_LEN], uint8_t out2[MIM_HASH_LEN])
{
    static const uint8_t one = 0x01, two = 0x02;
    uint8_t temp_key[MIM_HASH_LEN];

    hmac_sha256(temp_key, ck, ikm, ikm_len, NULL, 0);
    hmac_sha256(out1, temp_key, &one, 1, NULL, 0);
    hmac_sha256(out2, temp_key, out1, MIM_HASH_LEN, &two, 1);
    sodium_memzero(temp_key, sizeof temp_key);
}

static void noise_nonce(uint8_t nonce[12], uint64_t n)
{
    int i;

    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int mim_noise_cipher_encrypt(mim_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    uint8_t nonce[12];
    unsigned long long clen = 0;

    if (c == NULL || out == NULL || (pt == NULL && ptlen > 0) || (ad == NULL && adlen > 0))
        return MIM_EINVAL;
    if (!c->has_key) {
        if (ptlen > 0)
            memmove(out, pt, ptlen);
        return MIM_OK;
    }
    if (ptlen > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return MIM_EINVAL;
    /* n = 2^64-1 is reserved by the spec; a stream that long must be rekeyed, never wrap. */
    if (c->n == UINT64_MAX)
        return MIM_EOVERFLOW;
    noise_nonce(nonce, c->n);
    if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, ad, adlen, NULL, nonce,
                                                  c->k) != 0)
        return MIM_ECRYPTO;
    c->n++;
    return MIM_OK;
}

int mim_noise_cipher_decrypt(mim_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *ct, size_t ctlen, uint8_t *out)
{
    uint8_t nonce[12];
    unsigned long long mlen = 0;

    if (c == NULL || (ct == NULL && ctlen > 0) || (ad == NULL && adlen > 0))
        return MIM_EINVAL;
    if (!c->has_key) {
        if (ctlen > 0) {
            if (out == NULL)
                return MIM_EINVAL;
            memmove(out, ct, ctlen);
        }
        return MIM_OK;
    }
    if (ctlen < MIM_AEAD_TAG_LEN || (out == NULL && ctlen > MIM_AEAD_TAG_LEN))
        return MIM_EINVAL;
    if (c->n == UINT64_MAX)
        return MIM_EOVERFLOW;
    noise_nonce(nonce, c->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, ctlen, ad, adlen, nonce,
                                                  c->k) != 0)
        return MIM_ECRYPTO;
    c->n++;
    return MIM_OK;
}

static void noise_mix_hash(mim_noise *hs, const uint8_t *data, size_t len)
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hs->h, MIM_HASH_LEN);
    if (len > 0)
        crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, hs->h);
}

static void noise_mix_key(mim_noise *hs, const uint8_t *ikm, size_t len)
{
    noise_hkdf2(hs->ck, ikm, len, hs->ck, hs->cs.k);
    hs->cs.n = 0;
    hs->cs.has_key = 1;
}

/* MixKey(DH(sk, pk)). MIM_ECRYPTO when pk is a low-order point (the DH output is all zero). */
static int noise_mix_dh(mim_noise *hs, const uint8_t sk[MIM_KEY_LEN], const uint8_t pk[MIM_KEY_LEN])
{
    uint8_t shared[MIM_KEY_LEN];
    int rc = MIM_OK;

    if (crypto_scalarmult_curve25519(shared, sk, pk) != 0)
        rc = MIM_ECRYPTO;
    else
        noise_mix_key(hs, shared, sizeof shared);
    sodium_memzero(shared, sizeof shared);
    return rc;
}

static int noise_encrypt_and_hash(mim_noise *hs, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    size_t clen = ptlen + (hs->cs.has_key ? MIM_AEAD_TAG_LEN : 0);
    int rc;

    rc = mim_noise_cipher_encrypt(&hs->cs, hs->h, MIM_HASH_LEN, pt, ptlen, out);
    if (rc == MIM_OK)
        noise_mix_hash(hs, out, clen);
    return rc;
}

/* The new h is computed from ct before decrypting, so out may overlap ct. */
static int noise_decrypt_and_hash(mim_noise *hs, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
    crypto_hash_sha256_state st;
    uint8_t next_h[MIM_HASH_LEN];
    int rc;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hs->h, MIM_HASH_LEN);
    if (ctlen > 0)
        crypto_hash_sha256_update(&st, ct, ctlen);
    crypto_hash_sha256_final(&st, next_h);
    rc = mim_noise_cipher_decrypt(&hs->cs, hs->h, MIM_HASH_LEN, ct, ctlen, out);
    if (rc == MIM_OK)
        memcpy(hs->h, next_h, MIM_HASH_LEN);
    return rc;
}

/* Wipes every secret but leaves h, the public keys and the counters. */
static void noise_wipe_secrets(mim_noise *hs)
{
    sodium_memzero(hs->ck, sizeof hs->ck);
    sodium_memzero(&hs->cs, sizeof hs->cs);
    sodium_memzero(hs->s_sk, sizeof hs->s_sk);
    sodium_memzero(hs->e_sk, sizeof hs->e_sk);
}

/* Every error kills the handshake: a half-failed Noise state must never be used again. */
static int noise_fail(mim_noise *hs, int rc)
{
    hs->failed = 1;
    noise_wipe_secrets(hs);
    return rc;
}

/* Our turn to write: the initiator writes messages 1 and 3 (index 0 and 2), the responder 2. */
static int noise_our_turn(const mim_noise *hs)
{
    if (hs->msg_index >= 3)
        return 0;
    return (hs->msg_index % 2 == 0) == (hs->initiator != 0);
}

/* Bytes of message `index` before its payload, and whether the payload is encrypted. */
static size_t noise_fixed_len(int index)
{
    switch (index) {
    case 0:
        return MIM_KEY_LEN; /* e */
    case 1:
        return MIM_KEY_LEN + NOISE_ENC_KEY_LEN; /* e, encrypted s */
    default:
        return NOISE_ENC_KEY_LEN; /* encrypted s */
    }
}

static size_t noise_payload_tag_len(int index)
{
    return index == 0 ? 0 : MIM_AEAD_TAG_LEN; /* no key before the first DH */
}

int mim_noise_init(mim_noise *hs, int initiator, const void *prologue, size_t prologue_len,
                   const uint8_t s_sk[MIM_KEY_LEN])
{
    if (hs == NULL)
        return MIM_EINVAL;
    memset(hs, 0, sizeof *hs);
    if (s_sk == NULL || (prologue == NULL && prologue_len > 0))
        return noise_fail(hs, MIM_EINVAL);
    hs->initiator = initiator != 0;
    memcpy(hs->s_sk, s_sk, MIM_KEY_LEN);
    if (crypto_scalarmult_curve25519_base(hs->s_pk, hs->s_sk) != 0)
        return noise_fail(hs, MIM_ECRYPTO);
    memcpy(hs->h, NOISE_NAME, MIM_HASH_LEN);
    memcpy(hs->ck, hs->h, MIM_HASH_LEN);
    noise_mix_hash(hs, prologue, prologue_len);
    return MIM_OK;
}

void mim_noise_set_ephemeral(mim_noise *hs, const uint8_t e_sk[MIM_KEY_LEN])
{
    memcpy(hs->e_sk, e_sk, MIM_KEY_LEN);
    /* A failure here (a degenerate scalar) surfaces later as a DH failure. */
    (void)crypto_scalarmult_curve25519_base(hs->e_pk, hs->e_sk);
    hs->fixed_e = 1;
}

static int noise_write_e(mim_noise *hs, uint8_t out[MIM_KEY_LEN])
{
    if (!hs->fixed_e)
        randombytes_buf(hs->e_sk, sizeof hs->e_sk);
    if (crypto_scalarmult_curve25519_base(hs->e_pk, hs->e_sk) != 0)
        return MIM_ECRYPTO;
    memcpy(out, hs->e_pk, MIM_KEY_LEN);
    noise_mix_hash(hs, hs->e_pk, MIM_KEY_LEN);
    return MIM_OK;
}

/* After message 3 only ck (for Split) and h are needed; the ephemeral goes now, which is what
 * gives forward secrecy even if the caller keeps hs around. */
static void noise_finish_if_done(mim_noise *hs)
{
    if (hs->msg_index == 3) {
        sodium_memzero(hs->e_sk, sizeof hs->e_sk);
        sodium_memzero(hs->s_sk, sizeof hs->s_sk);
    }
}

int mim_noise_write(mim_noise *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    size_t fixed;
    size_t off = 0;
    int rc;

    if (hs == NULL)
        return MIM_EINVAL;
    if (out_len != NULL)
        *out_len = 0;
    if (hs->failed || !noise_our_turn(hs))
        return noise_fail(hs, MIM_ESTATE);
    if (out == NULL || out_len == NULL || (payload == NULL && payload_len > 0))
        return noise_fail(hs, MIM_EINVAL);
    fixed = noise_fixed_len(hs->msg_index) + noise_payload_tag_len(hs->msg_index);
    /* Checked before anything is written or mixed, and without overflow. */
    if (payload_len > MIM_NOISE_MAX_MSG - fixed || fixed + payload_len > cap)
        return noise_fail(hs, MIM_EOVERFLOW);

    switch (hs->msg_index) {
    case 0: /* -> e */
        rc = noise_write_e(hs, out);
        off = MIM_KEY_LEN;
        break;
    case 1: /* <- e, ee, s, es */
        rc = noise_write_e(hs, out);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->e_sk, hs->re);
        if (rc == MIM_OK)
            rc = noise_encrypt_and_hash(hs, hs->s_pk, MIM_KEY_LEN, out + MIM_KEY_LEN);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->s_sk, hs->re);
        off = MIM_KEY_LEN + NOISE_ENC_KEY_LEN;
        break;
    default: /* -> s, se */
        rc = noise_encrypt_and_hash(hs, hs->s_pk, MIM_KEY_LEN, out);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->s_sk, hs->re);
        off = NOISE_ENC_KEY_LEN;
        break;
    }
    if (rc == MIM_OK)
        rc = noise_encrypt_and_hash(hs, payload, payload_len, out + off);
    if (rc != MIM_OK)
        return noise_fail(hs, rc);
    hs->msg_index++;
    noise_finish_if_done(hs);
    *out_len = fixed + payload_len;
    return MIM_OK;
}

/* Reads an encrypted static key into hs->rs and refuses our own key: a peer that reflects our
 * static back to us is either a confused loopback or an attacker replaying our messages. */
static int noise_read_s(mim_noise *hs, const uint8_t *ct)
{
    /* Room for the whole ciphertext: without a key, DecryptAndHash would copy all of it. XX
     * always has a key here (after ee), and anything else is refused before the call. */
    uint8_t rs[NOISE_ENC_KEY_LEN];
    int rc;

    if (!hs->cs.has_key)
        return MIM_ESTATE;
    rc = noise_decrypt_and_hash(hs, ct, NOISE_ENC_KEY_LEN, rs);
    if (rc == MIM_OK && sodium_memcmp(rs, hs->s_pk, MIM_KEY_LEN) == 0)
        rc = MIM_ECRYPTO;
    if (rc == MIM_OK)
        memcpy(hs->rs, rs, MIM_KEY_LEN);
    return rc;
}

/* Rejects a low-order remote ephemeral as soon as it arrives, instead of at our next write:
 * X25519 with any clamped scalar gives all zeros exactly for those points. */
static int noise_check_public(const mim_noise *hs, const uint8_t pk[MIM_KEY_LEN])
{
    uint8_t probe[MIM_KEY_LEN];
    int rc;

    rc = crypto_scalarmult_curve25519(probe, hs->s_sk, pk) == 0 ? MIM_OK : MIM_ECRYPTO;
    sodium_memzero(probe, sizeof probe);
    return rc;
}

int mim_noise_read(mim_noise *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap,
                   size_t *payload_len)
{
    size_t fixed;
    size_t tag;
    size_t plen;
    int rc;

    if (hs == NULL)
        return MIM_EINVAL;
    if (payload_len != NULL)
        *payload_len = 0;
    if (hs->failed || hs->msg_index >= 3 || noise_our_turn(hs))
        return noise_fail(hs, MIM_ESTATE);
    if (msg == NULL || payload_len == NULL)
        return noise_fail(hs, MIM_EINVAL);
    fixed = noise_fixed_len(hs->msg_index);
    tag = noise_payload_tag_len(hs->msg_index);
    if (len > MIM_NOISE_MAX_MSG || len < fixed + tag)
        return noise_fail(hs, MIM_EINVAL);
    plen = len - fixed - tag;
    if (plen > cap || (payload == NULL && plen > 0))
        return noise_fail(hs, MIM_EOVERFLOW);

    switch (hs->msg_index) {
    case 0: /* -> e */
        memcpy(hs->re, msg, MIM_KEY_LEN);
        noise_mix_hash(hs, hs->re, MIM_KEY_LEN);
        rc = noise_check_public(hs, hs->re);
        break;
    case 1: /* <- e, ee, s, es */
        memcpy(hs->re, msg, MIM_KEY_LEN);
        noise_mix_hash(hs, hs->re, MIM_KEY_LEN);
        rc = noise_mix_dh(hs, hs->e_sk, hs->re);
        if (rc == MIM_OK)
            rc = noise_read_s(hs, msg + MIM_KEY_LEN);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->e_sk, hs->rs);
        break;
    default: /* -> s, se */
        rc = noise_read_s(hs, msg);
        if (rc == MIM_OK)
            rc = noise_mix_dh(hs, hs->e_sk, hs->rs);
        break;
    }
    if (rc == MIM_OK)
        rc = noise_decrypt_and_hash(hs, msg + fixed, len - fixed, payload);
    if (rc != MIM_OK)
        return noise_fail(hs, rc);
    hs->msg_index++;
    noise_finish_if_done(hs);
    *payload_len = plen;
    return MIM_OK;
}

int mim_noise_done(const mim_noise *hs)
{
    return hs != NULL && !hs->failed && hs->msg_index == 3;
}

int mim_noise_split(mim_noise *hs, mim_noise_cipher *c1, mim_noise_cipher *c2)
{
    uint8_t k1[MIM_KEY_LEN], k2[MIM_KEY_LEN];

    if (hs == NULL)
        return MIM_EINVAL;
    /* cs has a key from the first DH on, and loses it here: a second Split is refused. */
    if (!mim_noise_done(hs) || !hs->cs.has_key)
        return noise_fail(hs, MIM_ESTATE);
    if (c1 == NULL || c2 == NULL)
        return noise_fail(hs, MIM_EINVAL);
    noise_hkdf2(hs->ck, NULL, 0, k1, k2);
    memset(c1, 0, sizeof *c1);
    memset(c2, 0, sizeof *c2);
    memcpy(c1->k, k1, MIM_KEY_LEN);
    memcpy(c2->k, k2, MIM_KEY_LEN);
    c1->has_key = 1;
    c2->has_key = 1;
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    /* h (the handshake hash) and rs stay: login signatures and pinning need them. */
    noise_wipe_secrets(hs);
    return MIM_OK;
}

const uint8_t *mim_noise_remote_static(const mim_noise *hs)
{
    return hs->rs;
}

const uint8_t *mim_noise_handshake_hash(const mim_noise *hs)
{
    return hs->h;
}

void mim_noise_wipe(mim_noise *hs)
{
    if (hs == NULL)
        return;
    sodium_memzero(hs, sizeof *hs);
    /* An all-zero state would look like a fresh responder; make it unusable instead. */
    hs->failed = 1;
}

/* ---- transport: crypto_secretstream_xchacha20poly1305 --------------------------------------- */

/* The header keeps the state as bytes so that it need not include <sodium.h>. It is copied in
 * and out rather than cast, which keeps the access well-defined C; the copy is wiped. */
typedef crypto_secretstream_xchacha20poly1305_state stream_state;

int mim_stream_tx_init(mim_stream_tx *tx, const uint8_t key[MIM_KEY_LEN],
                       uint8_t header[MIM_STREAM_HEADER_LEN])
{
    stream_state st;
    int rc = MIM_OK;

    if (tx == NULL || key == NULL || header == NULL)
        return MIM_EINVAL;
    memset(tx, 0, sizeof *tx);
    if (crypto_secretstream_xchacha20poly1305_init_push(&st, header, key) != 0)
        rc = MIM_ECRYPTO;
    else
        memcpy(tx->state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
    return rc;
}

int mim_stream_tx_seal(mim_stream_tx *tx, const uint8_t *m, size_t mlen, int tag, uint8_t *out)
{
    unsigned char wire_tag;
    stream_state st;
    int rc = MIM_OK;

    if (tx == NULL || out == NULL || (m == NULL && mlen > 0))
        return MIM_EINVAL;
    if (mlen > crypto_secretstream_xchacha20poly1305_MESSAGEBYTES_MAX)
        return MIM_EINVAL;
    if (tag == MIM_STREAM_TAG_MESSAGE) {
        /* A periodic REKEY bounds how much traffic one key protects and erases old keys. */
        if (++tx->count >= MIM_STREAM_REKEY_EVERY) {
            wire_tag = crypto_secretstream_xchacha20poly1305_TAG_REKEY;
            tx->count = 0;
        } else {
            wire_tag = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        }
    } else if (tag == MIM_STREAM_TAG_FINAL) {
        wire_tag = crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    } else {
        return MIM_EINVAL;
    }
    memcpy(&st, tx->state, sizeof st);
    if (crypto_secretstream_xchacha20poly1305_push(&st, out, NULL, m, mlen, NULL, 0, wire_tag) != 0)
        rc = MIM_ECRYPTO;
    else
        memcpy(tx->state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
    return rc;
}

int mim_stream_rx_init(mim_stream_rx *rx, const uint8_t key[MIM_KEY_LEN],
                       const uint8_t header[MIM_STREAM_HEADER_LEN])
{
    stream_state st;
    int rc = MIM_OK;

    if (rx == NULL || key == NULL || header == NULL)
        return MIM_EINVAL;
    memset(rx, 0, sizeof *rx);
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) != 0) {
        rc = MIM_ECRYPTO;
        rx->finished = 1;
    } else {
        memcpy(rx->state, &st, sizeof st);
    }
    sodium_memzero(&st, sizeof st);
    return rc;
}

/* A receive failure ends the stream for good: the peer is faulty or an attacker is on the path,
 * and nothing after a gap may be trusted. */
static int stream_rx_kill(mim_stream_rx *rx)
{
    sodium_memzero(rx->state, sizeof rx->state);
    rx->finished = 1;
    return MIM_ECRYPTO;
}

int mim_stream_rx_open(mim_stream_rx *rx, const uint8_t *c, size_t clen, uint8_t *out, size_t *mlen,
                       int *tag)
{
    unsigned long long plain_len = 0;
    unsigned char wire_tag = 0;
    stream_state st;
    int rc;

    if (rx == NULL || c == NULL || mlen == NULL || tag == NULL)
        return MIM_EINVAL;
    *mlen = 0;
    *tag = MIM_STREAM_TAG_MESSAGE;
    if (rx->finished)
        return MIM_ECRYPTO;
    if (clen < MIM_STREAM_ABYTES)
        return stream_rx_kill(rx); /* truncated */
    if (out == NULL && clen > MIM_STREAM_ABYTES)
        return MIM_EINVAL;
    memcpy(&st, rx->state, sizeof st);
    rc = crypto_secretstream_xchacha20poly1305_pull(&st, out, &plain_len, &wire_tag, c, clen, NULL,
                                                    0);
    if (rc == 0)
        memcpy(rx->state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
    /* mim sends only MESSAGE, REKEY and FINAL; any other authenticated tag (PUSH, or a
     * combination such as REKEY|PUSH) means the peer is not speaking mim. */
    if (rc != 0 || (wire_tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
                    wire_tag != crypto_secretstream_xchacha20poly1305_TAG_REKEY &&
                    wire_tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)) {
        if (out != NULL)
            sodium_memzero(out, clen - MIM_STREAM_ABYTES);
        return stream_rx_kill(rx);
    }
    *mlen = (size_t)plain_len;
    *tag = wire_tag;
    if (wire_tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        sodium_memzero(rx->state, sizeof rx->state);
        rx->finished = 1;
    }
    return MIM_OK;
}

void mim_stream_tx_wipe(mim_stream_tx *tx)
{
    if (tx != NULL)
        sodium_memzero(tx, sizeof *tx);
}

void mim_stream_rx_wipe(mim_stream_rx *rx)
{
    if (rx == NULL)
        return;
    sodium_memzero(rx, sizeof *rx);
    rx->finished = 1;
}
