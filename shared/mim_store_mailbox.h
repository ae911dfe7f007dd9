/* The presence server's part of the storage door for issue 14: the sealed mailbox (letters held
 * for a registered name until it fetches them) and the directory's reads of the name registry
 * (one name, a page of names, each with its last-seen time). Open the store with
 * mim_store_open(path, MIM_STORE_PRESENCE, ...); the registry itself is mim_store_registry.h.
 *
 * The server never opens a sealed letter: the store keeps its bytes and what it needs to apply
 * the limits (sizes, counts, times). Times are ms since the epoch (server clock). */
#ifndef MIM_STORE_MAILBOX_H
#define MIM_STORE_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "mim_limits.h"
#include "mim_store.h"

/* ---- the directory ---- */

/* One registered name as the directory shows it. */
typedef struct mim_dir_name {
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t identity_pk[32];
    int64_t last_seen_ms; /* the last login or logout recorded; 0 unknown */
} mim_dir_name;

/* A login or logout to record: the name and when (ms). */
typedef struct mim_name_seen {
    char name[MIM_NAME_MAX_BYTES + 1];
    int64_t at_ms;
} mim_name_seen;
/* Records n logins and logouts in one transaction (the server gathers them for a second:
 * not a disk write per login), in order, so a name's last one wins. Names not registered (freed
 * meanwhile) are skipped. 0, or MIM_EDB (none is recorded). */
int mim_store_names_seen(mim_store *st, const mim_name_seen *seen, size_t n);
/* The registered name `name` (exactly, bytes): 0 and *out, MIM_ENOENT or MIM_EDB. */
int mim_store_dir_lookup(mim_store *st, const char *name, mim_dir_name *out);
/* Up to max registered names strictly after `after` in byte order ("" from the start), into
 * out[0..]: the number written (>= 0), or MIM_EDB. */
int mim_store_dir_page(mim_store *st, const char *after, mim_dir_name *out, size_t max);

/* ---- the mailbox ---- */

typedef struct mim_mail_limits {
    uint32_t max_count; /* letters waiting per recipient */
    uint64_t max_bytes; /* bytes of sealed letters waiting per recipient */
} mim_mail_limits;

/* A deposit: views over the caller's data. */
typedef struct mim_mail_deposit {
    const char *to;         /* a name (valid; not checked here beyond being registered) */
    const char *from;       /* the depositor's name, as its session proved it */
    const uint8_t *from_pk; /* 32 bytes: the key the depositor's session proved */
    const uint8_t *id;      /* 16 bytes, the sender's message id */
    const uint8_t *sealed;  /* the letter, never opened */
    size_t sealed_len;      /* 1.. (the caller applies the blob limit) */
    int64_t now_ms;         /* deposited at */
    int64_t expires_ms;     /* deleted at, unless taken before */
} mim_mail_deposit;

enum {
    MIM_MAIL_STORED = 0,    /* new: committed as *seq */
    MIM_MAIL_DUPLICATE = 1, /* (to, from, id) is waiting already: nothing new; *seq, *expires_ms
                             * are the waiting letter's */
    MIM_MAIL_FULL = 2,      /* the recipient is at max_count or the letter would pass max_bytes */
};
/* Stores a letter in one transaction, committed (synchronous=FULL) before it returns: recipient
 * registered, idempotent on (to, from, id), within lim. MIM_MAIL_STORED / _DUPLICATE / _FULL,
 * MIM_ENOENT (`to` is not registered), MIM_EINVAL or MIM_EDB. *seq and *expires_ms are set for
 * STORED and DUPLICATE. */
int mim_store_mail_deposit(mim_store *st, const mim_mail_deposit *d, const mim_mail_limits *lim,
                           uint64_t *seq, int64_t *expires_ms);
/* What mim_store_mail_deposit_all did with one deposit of its group. */
typedef struct mim_mail_outcome {
    int result;         /* MIM_MAIL_STORED / _DUPLICATE / _FULL, or MIM_ENOENT */
    uint64_t seq;       /* STORED, DUPLICATE: the letter's */
    int64_t expires_ms; /* STORED, DUPLICATE: the letter's */
} mim_mail_outcome;
/* Stores the n deposits of d (a frame's, n >= 1) in ONE transaction, committed
 * (synchronous=FULL) before it returns, each as mim_store_mail_deposit would: out[i] says what
 * became of d[i]. 0 when committed; MIM_EINVAL, or MIM_EDB when the database failed (then none
 * of them is stored, and out is not to be read). */
int mim_store_mail_deposit_all(mim_store *st, const mim_mail_deposit *d, size_t n,
                               const mim_mail_limits *lim, mim_mail_outcome *out);

/* One waiting letter, as mim_store_mail_each hands it out: the pointers are the statement's,
 * valid only during the visit. */
typedef struct mim_mail_row {
    uint64_t seq;
    const char *from;
    const uint8_t *from_pk; /* 32 bytes */
    const uint8_t *id;      /* 16 bytes */
    const uint8_t *sealed;
    size_t sealed_len;
    int64_t deposited_ms;
    int64_t expires_ms;
} mim_mail_row;

/* Visits up to max letters for `to` with seq > after_seq, in deposit order (seq). visit returns
 * 0 to go on, anything else to stop (returned). Returns the number visited (>= 0), visit's
 * non-zero value, or MIM_EDB. visit must not call into st. */
int mim_store_mail_each(mim_store *st, const char *to, uint64_t after_seq, size_t max,
                        int (*visit)(const mim_mail_row *row, void *ctx), void *ctx);
/* Deletes those of seqs[0..n) that are letters for `to` (another name's seqs are left alone),
 * in one transaction. The number deleted (>= 0), or MIM_EDB. */
int mim_store_mail_take(mim_store *st, const char *to, const uint64_t *seqs, size_t n);
/* Deletes every letter whose expires_ms <= now_ms. The number deleted, or MIM_EDB. */
int64_t mim_store_mail_expire(mim_store *st, int64_t now_ms);
/* Letters and bytes waiting for `to`: 0, or MIM_EDB. */
int mim_store_mail_count(mim_store *st, const char *to, uint64_t *count, uint64_t *bytes);

#endif
