/* The only door to libsodium: this one header, in front of the crypto files (mim_crypto.c,
 * mim_keyfile.c, mim_fingerprint.c, mim_noise.c, mim_secretstream.c, mim_hash.c, mim_seal.c,
 * mim_seal_v2.c),
 * which are the only files in mim that include <sodium.h>.
 *
 * What is here (see ../docs/SECURITY.md and ../docs/PROTOCOL.md for the why):
 *  - init, randomness, constant-time compare, wiping;
 *  - the identity: an Ed25519 signing key (who the user is) plus an X25519 static key for the
 *    handshake, vouched for by the identity key with sign("mim-static-v1" || static_pk);
 *  - key files (0600, created O_CREAT|O_EXCL|O_NOFOLLOW, refused when readable by others);
 *  - fingerprints;
 *  - Noise_XX_25519_ChaChaPoly_SHA256 (the handshake of every mim connection);
 *  - the transport: one crypto_secretstream_xchacha20poly1305 stream per direction;
 *  - hashing of file contents: BLAKE2b-256 per chunk, SHA-256 of a whole file (mim_hash.c);
 *  - the sealed letter of the mailbox (issue 14; mim_seal.c, mim_seal_v2.c).
 *
 * All functions return 0 on success or a negative MIM_E* code unless documented otherwise. */
#ifndef MIM_CRYPTO_H
#define MIM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define MIM_KEY_LEN           32 /* Ed25519 public, X25519 public or secret, symmetric keys */
#define MIM_SIGN_SK_LEN       64 /* Ed25519 secret key (seed || public) */
#define MIM_SIG_LEN           64 /* Ed25519 signature */
#define MIM_HASH_LEN          32 /* SHA-256 */
#define MIM_AEAD_TAG_LEN      16 /* ChaCha20-Poly1305 tag inside the handshake */
#define MIM_STREAM_HEADER_LEN 24 /* secretstream header, first transport frame of each side */
#define MIM_STREAM_ABYTES     17 /* secretstream overhead per message (1 tag byte + 16 MAC) */
#define MIM_FINGERPRINT_LEN   30 /* "xxxx-xxxx-xxxx-xxxx-xxxx-xxxx" + NUL */

/* Calls sodium_init(). Must be called once before anything else here. */
int mim_crypto_init(void);

void mim_random_bytes(void *buf, size_t n);
/* Uniform in [0, upper) (upper > 0). */
uint32_t mim_random_uniform(uint32_t upper);
/* sodium_memzero. */
void mim_wipe(void *p, size_t n);
/* 1 when the n bytes at a and b are equal, in time independent of their contents; else 0. */
int mim_equal_ct(const void *a, const void *b, size_t n);
void mim_sha256(uint8_t out[MIM_HASH_LEN], const void *in, size_t n);

/* ---- identity ---------------------------------------------------------------------------- */

typedef struct mim_identity {
    uint8_t sign_pk[MIM_KEY_LEN];     /* Ed25519 public: the identity, what is pinned */
    uint8_t sign_sk[MIM_SIGN_SK_LEN]; /* Ed25519 secret */
    uint8_t dh_pk[MIM_KEY_LEN];       /* X25519 static public, used as Noise `s` */
    uint8_t dh_sk[MIM_KEY_LEN];       /* X25519 static secret */
    uint8_t static_sig[MIM_SIG_LEN];  /* sign("mim-static-v1" || dh_pk) by sign_sk */
    /* The X25519 form of sign_pk / sign_sk, what sealed letters to us are opened with (issue
     * 14): derived once here, because the conversion's subgroup check costs as much as the
     * open itself. */
    uint8_t seal_pk[MIM_KEY_LEN];
    uint8_t seal_sk[MIM_KEY_LEN];
} mim_identity;

/* A fresh random identity in guarded memory (sodium_malloc). NULL when out of memory. */
mim_identity *mim_identity_generate(void);
/* Wipes and frees (NULL is fine). */
void mim_identity_free(mim_identity *id);

/* Loads the key file at `path`, or creates it (mode 0600, O_CREAT|O_EXCL|O_NOFOLLOW) with a new
 * identity when it does not exist. *created is set to 1 when a new key was made. The directory
 * must already exist. Refuses (MIM_EPERM) a file that group or others can read or write, and
 * (MIM_EINVAL) a file of the wrong size or magic. On success *out is owned by the caller
 * (mim_identity_free). Key file layout (80 bytes):
 *   0  "MIMKEY01"   8 bytes magic
 *   8  flags        1 byte, 0 = not encrypted (passphrase protection: not yet)
 *   9  reserved     7 zero bytes
 *   16 ed25519 seed 32 bytes
 *   48 x25519 sk    32 bytes */
int mim_identity_load_or_create(const char *path, mim_identity **out, int *created);
/* The two halves of mim_identity_load_or_create, for a caller that must check everything else
 * before it writes anything (mim_datadir.c). mim_identity_load: the key file at path, with the
 * same checks (MIM_ENOENT when there is none, MIM_EPERM for a symlink or a file others can read
 * or that is not ours, MIM_EINVAL for a bad file); *out as above. mim_identity_save: writes id
 * to a new file at path (0600, O_CREAT|O_EXCL|O_NOFOLLOW, synced): MIM_EEXIST when something is
 * already there; a half-written file is removed. */
int mim_identity_load(const char *path, mim_identity **out);
int mim_identity_save(const char *path, const mim_identity *id);

int mim_identity_sign(const mim_identity *id, const void *msg, size_t n, uint8_t sig[MIM_SIG_LEN]);
/* 0 when sig is a valid Ed25519 signature of msg by pk, else MIM_ECRYPTO. */
int mim_sign_verify(const uint8_t pk[MIM_KEY_LEN], const void *msg, size_t n,
                    const uint8_t sig[MIM_SIG_LEN]);
/* Checks sig == sign("mim-static-v1" || static_pk) by identity_pk. 0 or MIM_ECRYPTO. */
int mim_static_sig_verify(const uint8_t identity_pk[MIM_KEY_LEN],
                          const uint8_t static_pk[MIM_KEY_LEN], const uint8_t sig[MIM_SIG_LEN]);

/* Login signature: sign("mim-login-v1" || handshake_hash || name || port as 2 bytes big-endian).
 * name is name_len bytes (no NUL). */
int mim_login_sign(const mim_identity *id, const uint8_t handshake_hash[MIM_HASH_LEN],
                   const char *name, size_t name_len, uint16_t port, uint8_t sig[MIM_SIG_LEN]);
int mim_login_verify(const uint8_t identity_pk[MIM_KEY_LEN],
                     const uint8_t handshake_hash[MIM_HASH_LEN], const char *name, size_t name_len,
                     uint16_t port, const uint8_t sig[MIM_SIG_LEN]);

/* Short fingerprint a teacher can write on a board: SHA-256("mim-fingerprint-v1" || pk), first
 * 15 bytes, RFC 4648 base32 lowercase (24 characters), in 6 groups of 4 joined by '-'. */
void mim_fingerprint(const uint8_t identity_pk[MIM_KEY_LEN], char out[MIM_FINGERPRINT_LEN]);

/* Safety number for a conversation, Signal's numeric fingerprint: for each side, starting from
 * h = version (2 bytes, 0) || pk || name, 5200 rounds of h = SHA-512(h || pk); the first 30
 * bytes of h as six 5-byte big-endian numbers, each mod 100000, give 30 digits. The two sides'
 * 30 digits are joined lower first, so both users see the same 60 digits, shown as 12 groups
 * of 5 separated by spaces. */
#define MIM_SAFETY_NUMBER_LEN 72 /* 60 digits + 11 spaces + NUL */
void mim_safety_number(const uint8_t a_pk[MIM_KEY_LEN], const char *a_name,
                       const uint8_t b_pk[MIM_KEY_LEN], const char *b_name,
                       char out[MIM_SAFETY_NUMBER_LEN]);

/* ---- Noise_XX_25519_ChaChaPoly_SHA256 --------------------------------------------------- */

#define MIM_NOISE_PROLOGUE_PEER     "mim/peer/v1"
#define MIM_NOISE_PROLOGUE_PRESENCE "mim/presence/v1"
#define MIM_NOISE_MAX_MSG           1024 /* messages 2 and 3, payload included */

/* A Noise CipherState: key k and 64-bit nonce n (nonce on the wire of ChaChaPoly = 4 zero bytes
 * || n little-endian). */
typedef struct mim_noise_cipher {
    uint8_t k[MIM_KEY_LEN];
    uint64_t n;
    int has_key;
} mim_noise_cipher;

/* EncryptWithAd: out gets ptlen + 16 bytes (out may equal pt). Without a key: copies. */
int mim_noise_cipher_encrypt(mim_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *pt, size_t ptlen, uint8_t *out);
/* DecryptWithAd: out gets ctlen - 16 bytes. The nonce advances only on success. */
int mim_noise_cipher_decrypt(mim_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *ct, size_t ctlen, uint8_t *out);

typedef struct mim_noise {
    int initiator; /* 1: sends messages 1 and 3 */
    int msg_index; /* messages processed so far, 0..3 */
    int fixed_e;   /* test-only: e was injected */
    int failed;    /* any error poisons the handshake */
    uint8_t ck[MIM_HASH_LEN];
    uint8_t h[MIM_HASH_LEN];
    mim_noise_cipher cs;
    uint8_t s_sk[MIM_KEY_LEN], s_pk[MIM_KEY_LEN];
    uint8_t e_sk[MIM_KEY_LEN], e_pk[MIM_KEY_LEN];
    uint8_t rs[MIM_KEY_LEN], re[MIM_KEY_LEN];
} mim_noise;

/* Starts a handshake. prologue is mixed into h (MIM_NOISE_PROLOGUE_*). s_sk is our X25519
 * static secret (copied). */
int mim_noise_init(mim_noise *hs, int initiator, const void *prologue, size_t prologue_len,
                   const uint8_t s_sk[MIM_KEY_LEN]);
/* Test-only path: use this ephemeral secret instead of a random one (known-answer tests). */
void mim_noise_set_ephemeral(mim_noise *hs, const uint8_t e_sk[MIM_KEY_LEN]);
/* Writes the next handshake message (with payload) into out. MIM_ESTATE if it is not our turn,
 * MIM_EOVERFLOW if it would not fit cap, MIM_ECRYPTO on a DH failure (low-order point). */
int mim_noise_write(mim_noise *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                    size_t cap, size_t *out_len);
/* Reads the next handshake message; its payload goes to payload (cap bytes). MIM_EINVAL for a
 * wrong size, MIM_ECRYPTO for a failed decrypt, a low-order point, or a remote static key equal
 * to our own. After an error the handshake is dead. */
int mim_noise_read(mim_noise *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap,
                   size_t *payload_len);
/* 1 after message 3 was written or read. */
int mim_noise_done(const mim_noise *hs);
/* Split(): initiator->responder cipher in c1, responder->initiator in c2. Only when done. */
int mim_noise_split(mim_noise *hs, mim_noise_cipher *c1, mim_noise_cipher *c2);
/* The remote static key (valid once it has been received) and the handshake hash. */
const uint8_t *mim_noise_remote_static(const mim_noise *hs);
const uint8_t *mim_noise_handshake_hash(const mim_noise *hs);
/* Wipes every secret in hs. */
void mim_noise_wipe(mim_noise *hs);

/* ---- transport: secretstream, one per direction ----------------------------------------- */

enum {
    MIM_STREAM_TAG_MESSAGE = 0,
    MIM_STREAM_TAG_REKEY = 2,
    MIM_STREAM_TAG_FINAL = 3, /* clean close; EOF without it means the connection was lost */
};

#define MIM_STREAM_REKEY_EVERY 4096 /* messages between automatic TAG_REKEY */

/* sizeof(crypto_secretstream_xchacha20poly1305_state): the states are kept as bytes (copied
 * in and out, never cast) and exact-size, as the presence server holds two per peer. */
#define MIM_STREAM_STATE_LEN 52

typedef struct mim_stream_tx {
    uint8_t state[MIM_STREAM_STATE_LEN]; /* crypto_secretstream_xchacha20poly1305_state */
    uint32_t count;                      /* messages sealed since the last rekey */
} mim_stream_tx;

typedef struct mim_stream_rx {
    uint8_t state[MIM_STREAM_STATE_LEN];
    uint8_t finished; /* TAG_FINAL seen: nothing more may arrive */
} mim_stream_rx;

/* Keys the sending stream and writes its 24-byte header (send it as the first frame). */
int mim_stream_tx_init(mim_stream_tx *tx, const uint8_t key[MIM_KEY_LEN],
                       uint8_t header[MIM_STREAM_HEADER_LEN]);
/* Seals m into out (mlen + MIM_STREAM_ABYTES bytes). tag is MIM_STREAM_TAG_MESSAGE or
 * MIM_STREAM_TAG_FINAL; every MIM_STREAM_REKEY_EVERY messages a MESSAGE becomes a REKEY. */
int mim_stream_tx_seal(mim_stream_tx *tx, const uint8_t *m, size_t mlen, int tag, uint8_t *out);
int mim_stream_rx_init(mim_stream_rx *rx, const uint8_t key[MIM_KEY_LEN],
                       const uint8_t header[MIM_STREAM_HEADER_LEN]);
/* Opens c (clen >= MIM_STREAM_ABYTES) into out (clen - 17 bytes): *mlen and *tag are set.
 * MIM_ECRYPTO on any failure (modified, reordered, replayed, truncated) or after TAG_FINAL;
 * the stream is then dead. */
int mim_stream_rx_open(mim_stream_rx *rx, const uint8_t *c, size_t clen, uint8_t *out, size_t *mlen,
                       int *tag);
void mim_stream_tx_wipe(mim_stream_tx *tx);
void mim_stream_rx_wipe(mim_stream_rx *rx);

/* ---- hashing of file contents (issue 15; shared/mim_hash.c) ----------------------------- */
/* A file's chunks are hashed as one SHA-256 chain (scheme 1, docs/PROTOCOL.md 14.14.1): each
 * chunk's hash is the SHA-256 state after the stream up to its end, so the receiver checks any
 * chunk alone (from the state before it) and the last one's is the whole file's SHA-256, the
 * hash file_done reports. BLAKE2b-256 (unkeyed, 32-byte output) hashed the chunks of scheme 0,
 * which a receiver still checks, and the room log. The states are opaque, exact-size copies of
 * the libraries' (static_assert-ed in mim_hash.c), so callers can hold them by value without
 * <sodium.h> or <openssl/sha.h>. The stream functions cannot fail; one-shot and stream results
 * are the same for the same bytes. */
#define MIM_BLAKE2B_LEN       32  /* crypto_generichash_BYTES */
#define MIM_BLAKE2B_STATE_LEN 384 /* sizeof(crypto_generichash_blake2b_state) */
#define MIM_SHA256_STATE_LEN  112 /* sizeof(SHA256_CTX): OpenSSL's, see mim_hash.c */
#define MIM_SHA256_HEX_LEN    65  /* 64 lowercase hex digits + NUL */
#define MIM_SHA256_BLOCK      64  /* a chaining value exists only at a multiple of this */

typedef struct mim_blake2b_state {
    _Alignas(64) uint8_t opaque[MIM_BLAKE2B_STATE_LEN];
} mim_blake2b_state;

typedef struct mim_sha256_state {
    _Alignas(8) uint8_t opaque[MIM_SHA256_STATE_LEN];
} mim_sha256_state;

void mim_blake2b(uint8_t out[MIM_BLAKE2B_LEN], const void *in, size_t n);
void mim_blake2b_init(mim_blake2b_state *st);
void mim_blake2b_update(mim_blake2b_state *st, const void *in, size_t n);
/* Writes the hash and wipes the state. */
void mim_blake2b_final(mim_blake2b_state *st, uint8_t out[MIM_BLAKE2B_LEN]);
void mim_sha256_init(mim_sha256_state *st);
void mim_sha256_update(mim_sha256_state *st, const void *in, size_t n);
/* Writes the hash and wipes the state. */
void mim_sha256_final(mim_sha256_state *st, uint8_t out[MIM_HASH_LEN]);
/* The chaining value of st: its eight 32-bit words, big-endian. Only meaningful when the bytes
 * fed so far are a multiple of MIM_SHA256_BLOCK (0 returned, else -1 and out untouched). */
int mim_sha256_chain_value(const mim_sha256_state *st, uint8_t out[MIM_HASH_LEN]);
/* st as it stood after `bytes` bytes (a multiple of MIM_SHA256_BLOCK) whose chaining value is
 * cv: what follows is hashed as their continuation. */
void mim_sha256_resume(mim_sha256_state *st, const uint8_t cv[MIM_HASH_LEN], uint64_t bytes);
/* Scheme 1's check of one chunk: the len bytes at stream offset off (a multiple of
 * MIM_SHA256_BLOCK), hashed on from prev (the chunk before's hash; NULL for the first chunk),
 * give want: the chaining value, or for the last chunk (last 1) the final SHA-256. 1 when they
 * do, else 0. */
int mim_file_chain_check(const uint8_t *prev, uint64_t off, const void *chunk, size_t len, int last,
                         const uint8_t want[MIM_HASH_LEN]);
/* The 32-byte hash h as 64 lowercase hex digits + NUL (how file_done reports it). */
void mim_hash_hex(char out[MIM_SHA256_HEX_LEN], const uint8_t h[MIM_HASH_LEN]);

/* ---- the sealed letter (issue 14): mim_seal.c --------------------------------------------- *
 *
 * A letter for the mailbox of the presence server, which must not read, alter or forge it:
 *   inner  = letter || Ed25519 sig(sender's identity, "mim-mail-v1" || to_pk || letter)
 *   padded = sodium_pad(inner) to the blob's bucket less MIM_SEAL_OVERHEAD
 *   blob   = crypto_box_seal(padded, X25519 form of to_pk)   (ephemeral key, 48 bytes more)
 * Blobs are exactly one of MIM_SEAL_BUCKETS bytes long: the server sees the bucket, never the
 * length. The recipient's X25519 key is its Ed25519 identity key converted: the identity key's
 * X25519 form serves this and nothing else (docs/SECURITY.md: no forward secrecy for mail). */
#define MIM_SEAL_OVERHEAD 48   /* crypto_box_SEALBYTES: ephemeral public key + MAC */
#define MIM_SEAL_BLOB_MAX 8192 /* the largest bucket (the server's default blob limit) */
/* The largest letter that fits the largest bucket (sig and one padding byte included). */
#define MIM_SEAL_LETTER_MAX (MIM_SEAL_BLOB_MAX - MIM_SEAL_OVERHEAD - MIM_SIG_LEN - 1)
#define MIM_SEAL_BUCKETS                                                                           \
    {                                                                                              \
        512, 1024, 2048, 4096, 8192                                                                \
    }

/* The size of the blob a letter of letter_len bytes is sealed into; 0 when it is too long. */
size_t mim_seal_blob_size(size_t letter_len);
/* The deterministic half of mim_seal, for known-answer tests: the signed, padded plaintext
 * (mim_seal_blob_size(letter_len) - MIM_SEAL_OVERHEAD bytes) into out (cap bytes). */
int mim_seal_inner(const mim_identity *from, const uint8_t to_pk[MIM_KEY_LEN],
                   const uint8_t *letter, size_t letter_len, uint8_t *out, size_t cap,
                   size_t *out_len);
/* Seals letter from `from` to the identity key to_pk into out (cap bytes; *out_len gets
 * mim_seal_blob_size(letter_len)). MIM_EINVAL for a letter over MIM_SEAL_LETTER_MAX,
 * MIM_EOVERFLOW for a short cap, MIM_ECRYPTO for a to_pk that is no valid Ed25519 key. */
int mim_seal(const mim_identity *from, const uint8_t to_pk[MIM_KEY_LEN], const uint8_t *letter,
             size_t letter_len, uint8_t *out, size_t cap, size_t *out_len);
/* Opens a blob sealed to us: the letter (*letter_len bytes into letter, cap >= blob_len) and
 * its signature (sig), NOT yet checked: the signer's key is inside the letter, so the caller
 * decodes it, then calls mim_seal_verify. MIM_EINVAL for a length that is no bucket,
 * MIM_ECRYPTO when it does not open (not for us, altered) or its padding is bad. */
int mim_seal_open(const mim_identity *me, const uint8_t *blob, size_t blob_len, uint8_t *letter,
                  size_t cap, size_t *letter_len, uint8_t sig[MIM_SIG_LEN]);
/* 0 when sig is from_pk's signature of ("mim-mail-v1" || to_pk || letter), else MIM_ECRYPTO. */
int mim_seal_verify(const uint8_t from_pk[MIM_KEY_LEN], const uint8_t to_pk[MIM_KEY_LEN],
                    const uint8_t *letter, size_t letter_len, const uint8_t sig[MIM_SIG_LEN]);
/* The smallest bucket of at least need bytes; 0 when none is that large. */
size_t mim_seal_bucket(size_t need);
/* 1 when n is one of MIM_SEAL_BUCKETS, else 0. */
int mim_seal_is_bucket(size_t n);

/* ---- the sealed letter, version 2 (issue 14, mailspeed): mim_seal_v2.c ------------------- *
 *
 * What senders write since "mim-mail-v2" (mim-mail-v1 letters above are still opened): no
 * public-key operation per letter. Each side derives the key of a (sender, recipient) pair once
 * and keeps it in a mim_mail_keys cache:
 *   shared = crypto_box_beforenm(X25519 form of the peer's identity key, ours)   (symmetric)
 *   key    = BLAKE2b-256(key = shared, message = "mim-mail-v2")
 *   padded = sodium_pad(letter) to the blob's bucket less MIM_SEAL2_OVERHEAD
 *   blob   = nonce (24 random bytes) || crypto_box_easy_afternm(padded, nonce, key)
 * The blob is exactly one bucket long, as v1's. Only the two key holders can make or open it:
 * the server can neither read nor alter nor forge a letter; either party could have made it
 * (docs/SECURITY.md, "The sealed letter"). The letter inside names both keys; the caller checks
 * that they are the pair's. */
#define MIM_SEAL2_NONCE_LEN 24
#define MIM_SEAL2_OVERHEAD  40 /* the nonce + the box's 16-byte MAC */
/* The largest letter that fits the largest bucket (one padding byte included). */
#define MIM_SEAL2_LETTER_MAX (MIM_SEAL_BLOB_MAX - MIM_SEAL2_OVERHEAD - 1)

/* The pair keys of one identity with its peers, derived on first use and kept (at most
 * MIM_MAIL_KEYS_MAX; the least recently used is wiped to make room). The keys live in guarded
 * memory (sodium_malloc) and are wiped by mim_mail_keys_free. `me` is borrowed: it must outlive
 * the cache. */
#define MIM_MAIL_KEYS_MAX 64
typedef struct mim_mail_keys mim_mail_keys;

int mim_mail_keys_new(const mim_identity *me, mim_mail_keys **out);
void mim_mail_keys_free(mim_mail_keys *k);
/* The size of the v2 blob a letter of letter_len bytes is sealed into; 0 when too long. */
size_t mim_seal2_blob_size(size_t letter_len);
/* Seals letter for the peer whose identity key is peer_pk into out (cap bytes; *out_len gets
 * mim_seal2_blob_size(letter_len)). MIM_EINVAL for a letter over MIM_SEAL2_LETTER_MAX,
 * MIM_EOVERFLOW for a short cap, MIM_ECRYPTO for a peer_pk that is no valid Ed25519 key. */
int mim_seal2(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN], const uint8_t *letter,
              size_t letter_len, uint8_t *out, size_t cap, size_t *out_len);
/* mim_seal2 with a given nonce: for known-answer tests only (a nonce must never repeat). */
int mim_seal2_with_nonce(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN],
                         const uint8_t nonce[MIM_SEAL2_NONCE_LEN], const uint8_t *letter,
                         size_t letter_len, uint8_t *out, size_t cap, size_t *out_len);
/* Opens a v2 blob from the peer whose identity key is peer_pk: the letter, *letter_len bytes
 * into letter (cap >= blob_len - MIM_SEAL2_OVERHEAD). Opening proves that peer_pk's holder (or
 * we) made it. MIM_EINVAL for a length that is no bucket, MIM_ECRYPTO when it does not open
 * (another sender, not for us, altered, a v1 letter) or its padding is bad. */
int mim_seal2_open(mim_mail_keys *k, const uint8_t peer_pk[MIM_KEY_LEN], const uint8_t *blob,
                   size_t blob_len, uint8_t *letter, size_t cap, size_t *letter_len);

#endif
