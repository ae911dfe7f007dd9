/* A room's membership log (issue 16; docs/PROTOCOL.md, "Rooms"): the signed changes every
 * member keeps, checked as they come, kept in one order every member agrees on, and replayed
 * into the membership at any epoch. Pure: no I/O, no loop (the core stores what it accepts),
 * so a fuzzer drives it directly.
 *
 * The order (the merge rule): changes sorted by (epoch, hash). Two admins who change the room
 * at the same time both write epoch e + 1 on top of the same change; every member sorts the
 * two the same way, and replaying applies each against the membership left by everything
 * before it in that order (a change whose author is no longer an admin there, or whose target
 * is no longer a member, is kept but does nothing). */
#ifndef MIM_PEER_ROOM_LOG_H
#define MIM_PEER_ROOM_LOG_H

#include "mim_codec.h"
#include "mim_error.h"
#include "mim_limits.h"

#include <stddef.h>
#include <stdint.h>

typedef struct room_member {
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t pk[32]; /* the identity key the log records for it (CREATE, ADD) */
    int admin;
} room_member;

/* The membership after some prefix of the log. */
typedef struct room_state {
    char name[MIM_ROOM_NAME_MAX + 1]; /* the display name ("" before CREATE) */
    uint64_t epoch;                   /* the highest epoch applied: the room's epoch */
    size_t n;
    room_member m[MIM_ROOM_MEMBERS_MAX];
} room_state;

typedef struct room_entry {
    uint64_t epoch;
    uint8_t hash[MIM_ROOM_HASH_LEN]; /* BLAKE2b-256 of the signed bytes and the signature */
    Mim__RoomChange *ch;             /* owned, decoded */
    uint8_t *packed;                 /* owned: the change as it came (what is stored) */
    size_t len;
} room_entry;

typedef struct room_log {
    uint8_t id[MIM_ROOM_ID_LEN];
    room_entry *e; /* sorted by (epoch, hash) */
    size_t n, cap;
} room_log;

#define ROOM_LOG_MAX 4096 /* changes one room's log keeps (more are refused) */

void room_log_init(room_log *l, const uint8_t id[MIM_ROOM_ID_LEN]);
void room_log_free(room_log *l);
/* Checks and adds one packed change (len bytes, copied): it decodes; it is this room's; a CREATE
 * is the first and only one and is signed by its first member's key; any other change names
 * as prev a change of the log at epoch - 1 (else: out of order), is signed by the key the log
 * records for its author, and (unless `stored`: a change accepted before, read back from the
 * store) its author is an admin in the membership before its epoch (a LEAVE: a member), its
 * target a member (not yet one for ADD), the room not full. 1 added (*hash_out, may be NULL),
 * 0 already in the log, or a negative code with the reason in why: ROOM_LOG_LATER when only
 * its prev is missing (out of order: it may be taken once the log catches up). */
#define ROOM_LOG_LATER MIM_ESTATE
int room_log_add(room_log *l, const uint8_t *packed, size_t len, int stored,
                 uint8_t hash_out[MIM_ROOM_HASH_LEN], char *why, size_t whylen);
/* The membership after the entries of epoch <= upto (UINT64_MAX: all), applied in order. */
void room_log_state(const room_log *l, uint64_t upto, room_state *out);
/* name's entry in s, or NULL. */
const room_member *room_state_find(const room_state *s, const char *name);
/* The change a new one goes on top of: the last in the order. 0, or -1 for an empty log. */
int room_log_head(const room_log *l, uint64_t *epoch, uint8_t hash[MIM_ROOM_HASH_LEN]);

#endif
