/* The online table (see online_table.h): two chained hash indexes over the same entries, by name
 * and by identity key, plus a doubly linked list in insertion order. */
#include "mim_online_table.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mim_error.h"

#define ONLINE_INITIAL_BUCKETS 16 /* a power of two; the table doubles from here */

/* FNV-1a over every byte, then a final mix. Names and keys are chosen by clients, so the hash
 * covers all of them (not just a prefix). The mix is needed because FNV's low bits depend only
 * on the low bits of the input bytes, and the bucket index is the low bits. */
static uint64_t online_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    /* The finalizer of MurmurHash3 (fmix64): every input bit reaches every output bit. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static size_t online_name_bucket(size_t nbuckets, const char *name)
{
    return (size_t)online_hash(name, strlen(name)) & (nbuckets - 1);
}

static size_t online_key_bucket(size_t nbuckets, const uint8_t pk[32])
{
    return (size_t)online_hash(pk, 32) & (nbuckets - 1);
}

/* Pushes e on the front of its chains. Chains hold the newest entry first, so find_key returns
 * the newest of entries that share a key (the table allows that; the registry prevents it). */
static void online_link(online_entry **by_name, online_entry **by_key, size_t nbuckets,
                        online_entry *e)
{
    size_t bn = online_name_bucket(nbuckets, e->name);
    size_t bk = online_key_bucket(nbuckets, e->identity_pk);

    e->by_name_next = by_name[bn];
    by_name[bn] = e;
    e->by_key_next = by_key[bk];
    by_key[bk] = e;
}

/* Doubles the bucket count. Failing to grow is not an error: lookups just get slower. */
static void online_grow(online_table *t)
{
    online_entry **by_name, **by_key;
    size_t n;
    online_entry *e;

    if (t->nbuckets > SIZE_MAX / 2 / sizeof(*by_name))
        return;
    n = t->nbuckets * 2;
    by_name = calloc(n, sizeof(*by_name));
    by_key = calloc(n, sizeof(*by_key));
    if (by_name == NULL || by_key == NULL) {
        free(by_name);
        free(by_key);
        return;
    }
    /* Oldest first, so each chain again holds its newest entry first. */
    for (e = t->head; e != NULL; e = e->next)
        online_link(by_name, by_key, n, e);
    free(t->by_name);
    free(t->by_key);
    t->by_name = by_name;
    t->by_key = by_key;
    t->nbuckets = n;
}

/* An entry's empty status text: shared, never freed. */
static const char online_no_text[] = "";

/* A copy of text (n bytes) for an entry, or online_no_text when it is empty; NULL when out of
 * memory. */
static const char *online_text_dup(const char *text, size_t n)
{
    char *p;

    if (n == 0)
        return online_no_text;
    if ((p = malloc(n + 1)) != NULL)
        memcpy(p, text, n + 1);
    return p;
}

static void online_text_free(const char *text)
{
    if (text != online_no_text)
        free((char *)text);
}

/* Frees an entry of the table (its name lives in the same allocation, after the struct), or
 * only the status text of a caller's linked entry. */
static void online_entry_free(online_entry *e)
{
    online_text_free(e->status_text);
    e->status_text = NULL;
    if (!e->linked)
        free(e);
}

int online_table_init(online_table *t)
{
    if (t == NULL)
        return MIM_EINVAL;
    memset(t, 0, sizeof(*t));
    t->by_name = calloc(ONLINE_INITIAL_BUCKETS, sizeof(*t->by_name));
    t->by_key = calloc(ONLINE_INITIAL_BUCKETS, sizeof(*t->by_key));
    if (t->by_name == NULL || t->by_key == NULL) {
        free(t->by_name);
        free(t->by_key);
        memset(t, 0, sizeof(*t));
        return MIM_ENOMEM;
    }
    t->nbuckets = ONLINE_INITIAL_BUCKETS;
    return 0;
}

void online_table_free(online_table *t)
{
    online_entry *e, *next;

    if (t == NULL)
        return;
    for (e = t->head; e != NULL; e = next) {
        next = e->next;
        online_entry_free(e);
    }
    free(t->by_name);
    free(t->by_key);
    memset(t, 0, sizeof(*t));
}

/* Checks e for online_table_add/link: 0 with the lengths of its name and status text. */
static int online_check(const online_table *t, const online_entry *e, size_t *name_len,
                        size_t *text_len)
{
    if (t == NULL || e == NULL || e->name == NULL || t->nbuckets == 0)
        return MIM_EINVAL;
    *name_len = strnlen(e->name, MIM_NAME_MAX_BYTES + 1);
    *text_len = strnlen(e->status_text != NULL ? e->status_text : "", ONLINE_STATUS_TEXT_MAX + 1);
    if (*name_len == 0 || *name_len > MIM_NAME_MAX_BYTES || *text_len > ONLINE_STATUS_TEXT_MAX ||
        e->addr_len > sizeof(e->addr))
        return MIM_EINVAL;
    if (online_table_find_name(t, e->name) != NULL)
        return MIM_EEXIST;
    return 0;
}

/* Puts e (complete, its strings set) in the chains and at the end of the order. */
static void online_insert(online_table *t, online_entry *e)
{
    e->prev = t->tail;
    e->next = NULL;
    online_link(t->by_name, t->by_key, t->nbuckets, e);
    if (t->tail != NULL)
        t->tail->next = e;
    else
        t->head = e;
    t->tail = e;
    t->count++;

    /* Keep the load factor at most 1, so chains stay short on average. */
    if (t->count > t->nbuckets)
        online_grow(t);
}

int online_table_add(online_table *t, const online_entry *e, online_entry **out)
{
    online_entry *copy;
    size_t name_len, text_len;
    int rc;

    if (out != NULL)
        *out = NULL;
    if ((rc = online_check(t, e, &name_len, &text_len)) != 0)
        return rc;
    /* The name never changes: it lives right after the struct, in the same allocation. */
    copy = malloc(sizeof(*copy) + name_len + 1);
    if (copy == NULL)
        return MIM_ENOMEM;
    memcpy(copy, e, sizeof(*copy));
    memcpy((char *)(copy + 1), e->name, name_len + 1);
    copy->name = (const char *)(copy + 1);
    copy->linked = 0;
    if ((copy->status_text =
             online_text_dup(e->status_text != NULL ? e->status_text : "", text_len)) == NULL) {
        free(copy);
        return MIM_ENOMEM;
    }
    online_insert(t, copy);
    if (out != NULL)
        *out = copy;
    return 0;
}

int online_table_link(online_table *t, online_entry *e)
{
    const char *text;
    size_t name_len, text_len;
    int rc;

    if ((rc = online_check(t, e, &name_len, &text_len)) != 0)
        return rc;
    if ((text = online_text_dup(e->status_text != NULL ? e->status_text : "", text_len)) == NULL)
        return MIM_ENOMEM;
    e->status_text = text;
    e->linked = 1;
    online_insert(t, e);
    return 0;
}

online_entry *online_table_find_name(const online_table *t, const char *name)
{
    online_entry *e;

    if (t == NULL || name == NULL || t->nbuckets == 0)
        return NULL;
    for (e = t->by_name[online_name_bucket(t->nbuckets, name)]; e != NULL; e = e->by_name_next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

online_entry *online_table_find_key(const online_table *t, const uint8_t identity_pk[32])
{
    online_entry *e;

    if (t == NULL || identity_pk == NULL || t->nbuckets == 0)
        return NULL;
    for (e = t->by_key[online_key_bucket(t->nbuckets, identity_pk)]; e != NULL; e = e->by_key_next)
        if (memcmp(e->identity_pk, identity_pk, 32) == 0) /* public: no need for constant time */
            return e;
    return NULL;
}

void online_table_remove(online_table *t, online_entry *e)
{
    online_entry **pp;

    if (t == NULL || e == NULL)
        return;
    /* e must be in both chains; running off the end of one means it is not in this table. */
    pp = &t->by_name[online_name_bucket(t->nbuckets, e->name)];
    while (*pp != e) {
        assert(*pp != NULL);
        pp = &(*pp)->by_name_next;
    }
    *pp = e->by_name_next;
    pp = &t->by_key[online_key_bucket(t->nbuckets, e->identity_pk)];
    while (*pp != e) {
        assert(*pp != NULL);
        pp = &(*pp)->by_key_next;
    }
    *pp = e->by_key_next;

    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        t->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        t->tail = e->prev;
    t->count--;
    online_entry_free(e);
}

int online_table_set_status(online_table *t, online_entry *e, int status, const char *text)
{
    const char *copy;
    size_t n;

    (void)t; /* the entry's position does not depend on its status */
    if (e == NULL)
        return MIM_EINVAL;
    if (text == NULL)
        text = "";
    n = strnlen(text, ONLINE_STATUS_TEXT_MAX + 1);
    if (n > ONLINE_STATUS_TEXT_MAX)
        return MIM_EINVAL;
    if (strcmp(e->status_text, text) != 0) {
        if ((copy = online_text_dup(text, n)) == NULL)
            return MIM_ENOMEM;
        online_text_free(e->status_text);
        e->status_text = copy;
    }
    e->status = status;
    return 0;
}

size_t online_table_count(const online_table *t)
{
    return t != NULL ? t->count : 0;
}

online_entry *online_table_first(const online_table *t)
{
    return t != NULL ? t->head : NULL;
}

online_entry *online_table_next(const online_entry *e)
{
    return e != NULL ? e->next : NULL;
}
