/* mim-decode's key log: the MIM_SESSION lines of one or more key-log files (docs/KEYLOG.md),
 * looked up by the initiator's ephemeral key that handshake message 1 shows. */
#ifndef MIM_DECODE_KEYS_H
#define MIM_DECODE_KEYS_H

#include "mim_keylog.h"

#include <stddef.h>

#define KEYS_MAX 1000000 /* lines kept; a bigger file is refused rather than read forever */

typedef struct keys {
    mim_keylog_entry *e; /* sorted by e.e once loaded */
    size_t n, cap;
} keys;

/* Adds the lines of the key log at path. 0, or -1 with the reason in err (a file that cannot be
 * read, a malformed MIM_SESSION line: its number, too many lines). */
int keys_load(keys *k, const char *path, char *err, size_t errlen);
/* Sorts what was loaded (call once after the last keys_load). */
void keys_ready(keys *k);
/* The line for the initiator ephemeral key e, or NULL. */
const mim_keylog_entry *keys_find(const keys *k, const uint8_t e[MIM_KEY_LEN]);
/* Wipes and frees. */
void keys_free(keys *k);

#endif
