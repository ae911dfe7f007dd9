/* The online table: who is logged in right now (the server's table, and the peer's copy of
 * it). Pure data, no I/O, so it can be unit-tested.
 *
 * Keyed by name (unique), with a secondary lookup by identity key. Entries are the table's
 * copies (online_table_add), or the caller's own structs linked in place (online_table_link: the
 * presence server keeps each peer's entry inside its session, and no copy of the name); the
 * `session` pointer is the caller's and is never dereferenced here. Iteration order
 * is insertion order (the order peers came online), which is what the newcomer's table shows.
 * All lookups are O(1) on average (hash of the name / key). */
#ifndef MIM_ONLINE_TABLE_H
#define MIM_ONLINE_TABLE_H

#include "mim_limits.h"

#include <stddef.h>
#include <stdint.h>

#define ONLINE_STATUS_TEXT_MAX 128 /* bytes of UTF-8 */

/* The strings are pointers so that an entry costs only what they hold (the server keeps one per
 * logged-in peer). In an entry given to online_table_add they are the caller's (status_text may
 * be NULL: none); in an entry of the table they are the table's, valid while the entry is, and
 * changed only through online_table_set_status. */
typedef struct online_entry {
    const char *name;
    const char *status_text;
    uint8_t identity_pk[32];
    uint8_t addr[16]; /* network byte order */
    uint8_t addr_len; /* 4 or 16 */
    uint8_t linked;   /* private: 1 when the caller owns the struct (online_table_link) */
    uint16_t port;    /* the peer's listen port */
    int status;       /* MIM__STATUS__* value */
    void *session;    /* the caller's, opaque here */
    /* private: links kept by the table */
    struct online_entry *by_name_next, *by_key_next, *prev, *next;
} online_entry;

typedef struct online_table {
    online_entry **by_name; /* buckets */
    online_entry **by_key;  /* buckets */
    size_t nbuckets;        /* power of two */
    size_t count;
    online_entry *head, *tail; /* insertion order */
} online_table;

int online_table_init(online_table *t);
/* Frees every entry (not the sessions they point to; of a linked entry, only its status text). */
void online_table_free(online_table *t);

/* Adds a copy of *e, strings included (links ignored). MIM_EEXIST when the name is online
 * already, MIM_EINVAL for an empty or over-long name or an over-long text, MIM_ENOMEM. On success
 * *out (if non-NULL) is the stored entry, valid until it is removed. */
int online_table_add(online_table *t, const online_entry *e, online_entry **out);
/* Links the caller's own entry into the table, in place: e and its name (borrowed) must stay
 * valid and unchanged until it is removed; the status text is copied (the table's, as in any
 * entry). Errors as online_table_add; on one, e is not linked. */
int online_table_link(online_table *t, online_entry *e);
online_entry *online_table_find_name(const online_table *t, const char *name);
online_entry *online_table_find_key(const online_table *t, const uint8_t identity_pk[32]);
/* Unlinks the entry (which must belong to t) and frees it, or only its status text when the
 * caller owns it (online_table_link). */
void online_table_remove(online_table *t, online_entry *e);
/* Sets the status (text NULL: none); MIM_EINVAL for an over-long text, MIM_ENOMEM (then nothing
 * changed). A pointer to the old text is no longer valid afterwards. */
int online_table_set_status(online_table *t, online_entry *e, int status, const char *text);
size_t online_table_count(const online_table *t);
/* Insertion-order iteration: for (e = online_table_first(t); e; e = online_table_next(e)). */
online_entry *online_table_first(const online_table *t);
online_entry *online_table_next(const online_entry *e);

#endif
