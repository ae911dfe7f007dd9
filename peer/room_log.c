/* A room's membership log: checks, the (epoch, hash) order, replay (room_log.h). */
#include "room_log.h"
#include "mim_crypto.h"
#include "mim_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return MIM_EINVAL;
}

void room_log_init(room_log *l, const uint8_t id[MIM_ROOM_ID_LEN])
{
    memset(l, 0, sizeof(*l));
    memcpy(l->id, id, MIM_ROOM_ID_LEN);
}

void room_log_free(room_log *l)
{
    for (size_t i = 0; i < l->n; i++) {
        mim_room_change_free(l->e[i].ch);
        free(l->e[i].packed);
    }
    free(l->e);
    memset(l, 0, sizeof(*l));
}

const room_member *room_state_find(const room_state *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->m[i].name, name) == 0)
            return &s->m[i];
    return NULL;
}

static room_member *state_find_mut(room_state *s, const char *name)
{
    return (room_member *)room_state_find(s, name);
}

/* Applies ch to s when it is valid there (the re-check of the merge rule); else nothing. */
static void apply(room_state *s, const Mim__RoomChange *ch)
{
    const room_member *author = room_state_find(s, ch->author);
    const Mim__RoomMember *t = ch->n_members > 0 ? ch->members[0] : NULL;
    room_member *target = t != NULL ? state_find_mut(s, t->name) : NULL;

    if (ch->op == MIM__ROOM_OP__ROOM_CREATE) {
        if (s->epoch != 0)
            return;
        snprintf(s->name, sizeof(s->name), "%s", ch->room_name);
        for (size_t i = 0; i < ch->n_members && i < MIM_ROOM_MEMBERS_MAX; i++) {
            snprintf(s->m[i].name, sizeof(s->m[i].name), "%s", ch->members[i]->name);
            memcpy(s->m[i].pk, ch->members[i]->identity_pk.data, 32);
            s->m[i].admin = i == 0;
        }
        s->n = ch->n_members;
    } else if (author == NULL || (ch->op != MIM__ROOM_OP__ROOM_LEAVE && !author->admin)) {
        return; /* its author is no admin (any more) here */
    } else if (ch->op == MIM__ROOM_OP__ROOM_ADD) {
        if (target != NULL || s->n >= MIM_ROOM_MEMBERS_MAX)
            return;
        memset(&s->m[s->n], 0, sizeof(s->m[s->n]));
        snprintf(s->m[s->n].name, sizeof(s->m[s->n].name), "%s", t->name);
        memcpy(s->m[s->n].pk, t->identity_pk.data, 32);
        s->n++;
    } else if (target == NULL) {
        return; /* REMOVE, ADMIN, LEAVE of a non-member */
    } else if (ch->op == MIM__ROOM_OP__ROOM_ADMIN) {
        target->admin = 1;
    } else { /* REMOVE, LEAVE */
        *target = s->m[--s->n];
    }
    if (ch->epoch > s->epoch)
        s->epoch = ch->epoch;
}

void room_log_state(const room_log *l, uint64_t upto, room_state *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < l->n && l->e[i].epoch <= upto; i++)
        apply(out, l->e[i].ch);
}

int room_log_head(const room_log *l, uint64_t *epoch, uint8_t hash[MIM_ROOM_HASH_LEN])
{
    if (l->n == 0)
        return -1;
    *epoch = l->e[l->n - 1].epoch;
    memcpy(hash, l->e[l->n - 1].hash, MIM_ROOM_HASH_LEN);
    return 0;
}

/* The hash of a change: BLAKE2b-256 of its signed bytes and its signature. */
static int change_hash(const Mim__RoomChange *ch, mim_buf *signed_bytes,
                       uint8_t hash[MIM_ROOM_HASH_LEN])
{
    mim_buf all;
    int rc;

    mim_buf_init(&all);
    rc = mim_buf_append(&all, signed_bytes->data, signed_bytes->len);
    if (rc == 0)
        rc = mim_buf_append(&all, ch->signature.data, ch->signature.len);
    if (rc == 0)
        mim_blake2b(hash, all.data, all.len);
    mim_buf_free(&all);
    return rc;
}

/* The key the log records for name before epoch (its latest CREATE or ADD), or NULL. */
static const uint8_t *recorded_key(const room_log *l, const char *name, uint64_t before)
{
    const uint8_t *pk = NULL;

    for (size_t i = 0; i < l->n && l->e[i].epoch < before; i++) {
        const Mim__RoomChange *ch = l->e[i].ch;
        if (ch->op != MIM__ROOM_OP__ROOM_CREATE && ch->op != MIM__ROOM_OP__ROOM_ADD)
            continue;
        for (size_t j = 0; j < ch->n_members; j++)
            if (strcmp(ch->members[j]->name, name) == 0)
                pk = ch->members[j]->identity_pk.data;
    }
    return pk;
}

/* The author's standing in the membership before ch's epoch. 0 or a refusal. */
static int check_role(const room_log *l, const Mim__RoomChange *ch, char *why, size_t whylen)
{
    room_state *s = malloc(sizeof(*s));
    const room_member *a;
    const Mim__RoomMember *t = ch->members[0];
    int rc = 0;

    if (s == NULL)
        return MIM_ENOMEM;
    room_log_state(l, ch->epoch - 1, s);
    a = room_state_find(s, ch->author);
    if (a == NULL)
        rc = refuse(why, whylen, "%s is not a member", ch->author);
    else if (ch->op != MIM__ROOM_OP__ROOM_LEAVE && !a->admin)
        rc = refuse(why, whylen, "%s is not an admin", ch->author);
    else if (ch->op == MIM__ROOM_OP__ROOM_ADD && room_state_find(s, t->name) != NULL)
        rc = refuse(why, whylen, "%s is a member already", t->name);
    else if (ch->op == MIM__ROOM_OP__ROOM_ADD && s->n >= MIM_ROOM_MEMBERS_MAX)
        rc = refuse(why, whylen, "the room is full");
    else if (ch->op != MIM__ROOM_OP__ROOM_ADD && room_state_find(s, t->name) == NULL)
        rc = refuse(why, whylen, "%s is not a member", t->name);
    free(s);
    return rc;
}

/* Where ch (epoch, hash) goes in the order; *dup when it is there already. */
static size_t find_slot(const room_log *l, uint64_t epoch, const uint8_t *hash, int *dup)
{
    size_t i = 0;
    int cmp = 1;

    while (i < l->n &&
           (l->e[i].epoch < epoch ||
            (l->e[i].epoch == epoch && (cmp = memcmp(l->e[i].hash, hash, MIM_ROOM_HASH_LEN)) < 0)))
        i++;
    *dup = i < l->n && l->e[i].epoch == epoch && cmp == 0;
    return i;
}

/* The chain: a CREATE first and once; else prev names a change at epoch - 1. */
static int check_chain(const room_log *l, const Mim__RoomChange *ch, char *why, size_t whylen)
{
    if (ch->op == MIM__ROOM_OP__ROOM_CREATE)
        return l->n > 0 && l->e[0].epoch == 1 ? refuse(why, whylen, "a second create") : 0;
    for (size_t i = 0; i < l->n && l->e[i].epoch < ch->epoch; i++)
        if (l->e[i].epoch == ch->epoch - 1 &&
            memcmp(l->e[i].hash, ch->prev.data, MIM_ROOM_HASH_LEN) == 0)
            return 0;
    (void)refuse(why, whylen, "out of order: epoch %llu on a change this log does not have",
                 (unsigned long long)ch->epoch);
    return ROOM_LOG_LATER; /* its prev may still be on its way (another pair's session) */
}

/* The decoded ch's checks before it joins l. 0, or a refusal. */
static int check_change(const room_log *l, const Mim__RoomChange *ch, int stored,
                        uint8_t hash[MIM_ROOM_HASH_LEN], int *dup, size_t *slot, char *why,
                        size_t whylen)
{
    const uint8_t *pk;
    mim_buf sb;
    int rc;

    if (memcmp(ch->room.data, l->id, MIM_ROOM_ID_LEN) != 0)
        return refuse(why, whylen, "a change of another room");
    mim_buf_init(&sb);
    if (mim_room_change_signed_bytes(ch, &sb) != 0 || change_hash(ch, &sb, hash) != 0) {
        mim_buf_free(&sb);
        return MIM_ENOMEM;
    }
    *slot = find_slot(l, ch->epoch, hash, dup);
    rc = 0;
    if (!*dup) { /* the signature first: a forgery is called one, whatever else is wrong */
        pk = ch->op == MIM__ROOM_OP__ROOM_CREATE ? ch->members[0]->identity_pk.data
                                                 : recorded_key(l, ch->author, ch->epoch);
        if (pk == NULL)
            rc = refuse(why, whylen, "%s has no key in the log", ch->author);
        else if (mim_sign_verify(pk, sb.data, sb.len, ch->signature.data) != 0)
            rc = refuse(why, whylen, "forged: the signature is not %s's", ch->author);
    }
    if (rc == 0 && !*dup)
        rc = check_chain(l, ch, why, whylen);
    if (rc == 0 && !*dup && !stored && ch->op != MIM__ROOM_OP__ROOM_CREATE)
        rc = check_role(l, ch, why, whylen);
    mim_buf_free(&sb);
    return rc;
}

int room_log_add(room_log *l, const uint8_t *packed, size_t len, int stored,
                 uint8_t hash_out[MIM_ROOM_HASH_LEN], char *why, size_t whylen)
{
    Mim__RoomChange *ch;
    uint8_t hash[MIM_ROOM_HASH_LEN];
    size_t slot = 0;
    int dup = 0, rc;

    if ((rc = mim_room_change_decode(packed, len, &ch, why, whylen)) != 0)
        return rc;
    rc = check_change(l, ch, stored, hash, &dup, &slot, why, whylen);
    if (rc == 0 && !dup && l->n >= ROOM_LOG_MAX)
        rc = refuse(why, whylen, "the log is full");
    if (rc == 0 && !dup && l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 8;
        room_entry *p = realloc(l->e, ncap * sizeof(*p));
        if (p == NULL)
            rc = MIM_ENOMEM;
        else
            l->e = p, l->cap = ncap;
    }
    if (rc != 0 || dup) {
        mim_room_change_free(ch);
        return rc != 0 ? rc : 0;
    }
    memmove(&l->e[slot + 1], &l->e[slot], (l->n - slot) * sizeof(*l->e));
    l->e[slot] = (room_entry){.epoch = ch->epoch, .ch = ch, .packed = malloc(len), .len = len};
    if (l->e[slot].packed == NULL) {
        memmove(&l->e[slot], &l->e[slot + 1], (l->n - slot) * sizeof(*l->e));
        mim_room_change_free(ch);
        return MIM_ENOMEM;
    }
    memcpy(l->e[slot].packed, packed, len);
    memcpy(l->e[slot].hash, hash, MIM_ROOM_HASH_LEN);
    l->n++;
    if (hash_out != NULL)
        memcpy(hash_out, hash, MIM_ROOM_HASH_LEN);
    return 1;
}
