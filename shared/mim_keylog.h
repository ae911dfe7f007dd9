/* The key log (`--key-log FILE`, or MIM_KEYLOG_FILE, as TLS's SSLKEYLOGFILE): for every
 * connection, one line with what a capture's decoder needs to decrypt it later. For teaching,
 * never on by default (docs/KEYLOG.md has the format, docs/SECURITY.md the threat model).
 *
 *   MIM_SESSION <E> <H> <K1> <K2>\n      each field 32 bytes in lowercase hex; 272 bytes
 *
 * E: the initiator's ephemeral public key (handshake message 1, in the clear); H: the handshake
 * hash; K1, K2: Split()'s keys (initiator -> responder, responder -> initiator).
 *
 * The file is process-wide: opened once at start (mim_keylog_start), written by mim_channel
 * after each Split() (mim_keylog_write), from the loop's thread. Each line is one write() on an
 * O_APPEND file, so programs sharing the file never interleave their lines. */
#ifndef MIM_KEYLOG_H
#define MIM_KEYLOG_H

#include "mim_crypto.h"

#include <stddef.h>
#include <stdint.h>

#define MIM_KEYLOG_ENV      "MIM_KEYLOG_FILE"
#define MIM_KEYLOG_LABEL    "MIM_SESSION"
#define MIM_KEYLOG_LINE_LEN 272 /* 11 + 4 * (1 + 64) + '\n' */

/* One connection's line, as bytes. Holds keys: wipe it (mim_wipe) when done. */
typedef struct mim_keylog_entry {
    uint8_t e[MIM_KEY_LEN];  /* the initiator's ephemeral public key */
    uint8_t h[MIM_HASH_LEN]; /* the handshake hash */
    uint8_t k1[MIM_KEY_LEN]; /* initiator -> responder */
    uint8_t k2[MIM_KEY_LEN]; /* responder -> initiator */
} mim_keylog_entry;

/* Writes en's line, with its '\n' and then a NUL, into out. */
void mim_keylog_format(const mim_keylog_entry *en, char out[MIM_KEYLOG_LINE_LEN + 1]);
/* Parses one line of len bytes (without its '\n'; a trailing '\r' is allowed). Returns 0 and
 * *en for a MIM_SESSION line; 1 for a line readers skip (empty, a '#' comment, another label);
 * MIM_EINVAL for a MIM_SESSION line that is not exactly the format. */
int mim_keylog_parse(const char *line, size_t len, mim_keylog_entry *en);

/* Recomputes the handshake hash H from the public bytes of a handshake (docs/KEYLOG.md): the
 * prologue (MIM_NOISE_PROLOGUE_*), and the bodies of messages 1 (32 bytes), 2 (at least 96) and
 * 3 (at least 64), as captured. 0 and h, or MIM_EINVAL for bodies of impossible sizes. */
int mim_keylog_handshake_hash(const char *prologue, const uint8_t *msg1, size_t len1,
                              const uint8_t *msg2, size_t len2, const uint8_t *msg3, size_t len3,
                              uint8_t h[MIM_HASH_LEN]);

/* Opens path as the process's key log: O_WRONLY|O_CREAT|O_APPEND|O_NOFOLLOW|O_CLOEXEC; a file
 * it creates is set to 0600. Refuses, leaving the key log off: MIM_EPERM for a symbolic link, a
 * file that is not regular, not ours or whose mode is not exactly 0600; MIM_EIO when it cannot
 * be opened (errno is kept); MIM_EEXIST when a key log is already open. */
int mim_keylog_open(const char *path);
/* The start-up step of mim and mim-presence: the key log named by `option` (--key-log), else by
 * MIM_KEYLOG_FILE when set and not empty, else none. When one is named it is opened and
 * announced (mim_keylog_announce). 0 (also when none is named), or -1 after saying why on
 * stderr as "<program>: ...". */
int mim_keylog_start(const char *program, const char *option);
/* Says, as a warning in the log: KEY LOG ON: anyone with FILE can read every message of this
 * run. Nothing when the key log is off. */
void mim_keylog_announce(void);
/* 1 when a key log is open. */
int mim_keylog_enabled(void);
/* Appends the line of one connection (a no-op when the key log is off). A failed write is
 * logged once; the connection goes on. The hex is wiped after the write. */
void mim_keylog_write(const mim_keylog_entry *en);
/* Closes the key log (for tests; the programs keep it open until they exit). */
void mim_keylog_close(void);

#endif
