/* The name rule (docs/PROTOCOL.md 6.3) and confusable skeletons (Unicode UTS #39): the one door
 * to ICU. Only mim_name.c includes ICU headers.
 *
 * A name is refused, not repaired: names are bound to keys byte for byte, so the wire carries
 * only names already in their one accepted form (NFC, nothing invisible), and both programs
 * check them with the same function. The one place a name is rewritten is the user's own input
 * (mim --name), with mim_name_nfc, before it is checked.
 *
 * Every function is thread-safe and cheap enough for every login of a storm: the ICU objects
 * (the NFC normaliser, the spoof checker) are opened once, on first use, and kept. */
#ifndef MIM_NAME_H
#define MIM_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "mim_limits.h"

/* Room for any valid name's skeleton, NUL included: UTS #39 maps one code point to at most 30
 * bytes of UTF-8 (U+FDFA), and a name has at most MIM_NAME_MAX_CHARS code points. */
#define MIM_NAME_SKELETON_MAX 1024

/* Why a name is refused (mim_name_check). */
enum mim_name_fault {
    MIM_NAME_FAULT_NONE = 0,   /* a valid name */
    MIM_NAME_FAULT_LENGTH,     /* empty, over 32 characters or over 128 bytes */
    MIM_NAME_FAULT_UTF8,       /* not UTF-8 in shortest form, or a surrogate */
    MIM_NAME_FAULT_CHAR,       /* a refused character (control, invisible, bidi, ...): *cp */
    MIM_NAME_FAULT_EDGE_SPACE, /* a space (U+0020) as first or last character */
    MIM_NAME_FAULT_FIRST_MARK, /* starts with a combining mark (it would join what precedes) */
    MIM_NAME_FAULT_MARKS,      /* more than 4 nonspacing marks in a row (UTS #39 5.4) */
    MIM_NAME_FAULT_NOT_NFC,    /* not in Unicode Normalization Form C */
};

/* Checks s (len bytes, no NUL needed) against the name rule. Returns MIM_NAME_FAULT_NONE or the
 * first fault found; for MIM_NAME_FAULT_CHAR, *cp (when cp is not NULL) is the character. */
int mim_name_check(const char *s, size_t len, uint32_t *cp);
/* 1 when s (len bytes) is a valid name, else 0 (NULL is not). */
int mim_name_valid(const char *s, size_t len);
/* A static phrase for a fault, for messages: "contains an invisible or control character". */
const char *mim_name_fault_str(int fault);

/* The NFC form of the NUL-terminated UTF-8 string in, NUL-terminated into out (cap bytes).
 * 0, MIM_EINVAL (not UTF-8) or MIM_EOVERFLOW (does not fit). For the user's own input only:
 * names from the wire are never rewritten. */
int mim_name_nfc(const char *in, char *out, size_t cap);

/* The UTS #39 confusable skeleton of a name (len bytes of UTF-8, at most MIM_NAME_MAX_BYTES;
 * an ill-formed sequence counts as U+FFFD), NUL-terminated UTF-8 into out (cap bytes;
 * MIM_NAME_SKELETON_MAX fits any valid name's): two names that look alike ("bob" and "b\u043eb"
 * with a Cyrillic o, "paypal" and "p\u0430ypal") have the same skeleton. Case is kept: "Bob" and
 * "bob" differ. 0, MIM_EINVAL (bad arguments), MIM_EOVERFLOW or MIM_EIO (ICU failed). */
int mim_name_skeleton(const char *name, size_t len, char *out, size_t cap);

#endif
