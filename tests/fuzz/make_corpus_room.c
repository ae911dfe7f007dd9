/* Writes the seed corpus of the room log's fuzz target (fuzz_room.c) under
 * tests/fuzz/corpus/room_log/: a real log (create, add, admin, remove), signed by the fixed
 * identities of fuzz_identity.h (alice 1, bob 2, carol 3); the same with a forged change, with
 * a change before its prev, and single changes.
 *
 *   fuzz_make_corpus_room [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * Deterministic (Ed25519 signatures are). Not a test; run it by hand after changing the wire
 * of rooms and commit the result. */
#include "fuzz_identity.h"
#include "seed_file.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t room[16] = {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                           0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};

/* One change, signed by `by` (author name `author`), appended to out as length and bytes;
 * its hash into hash. */
static void change(mim_buf *out, const mim_identity *by, const char *author, Mim__RoomChange *ch,
                   uint8_t hash[32])
{
    mim_buf sb = {0}, all = {0};
    uint8_t sig[64], *packed = NULL, len2[2];
    size_t len = 0;

    ch->room = (ProtobufCBinaryData){16, room};
    ch->author = (char *)author;
    if (mim_room_change_signed_bytes(ch, &sb) != 0 || mim_identity_sign(by, sb.data, sb.len, sig))
        abort();
    ch->signature = (ProtobufCBinaryData){64, sig};
    if (mim_room_change_pack(ch, &packed, &len) != 0)
        abort();
    mim_buf_append(&all, sb.data, sb.len);
    mim_buf_append(&all, sig, 64);
    mim_blake2b(hash, all.data, all.len);
    len2[0] = (uint8_t)(len >> 8);
    len2[1] = (uint8_t)len;
    mim_buf_append(out, len2, 2);
    mim_buf_append(out, packed, len);
    free(packed);
    mim_buf_free(&sb);
    mim_buf_free(&all);
}

static void seed(const char *name, const mim_buf *b)
{
    write_seed("room_log", name, b->data, b->len);
}

/* A change of op about who (key: for ADD) on top of prev at epoch. */
static void member_change(mim_buf *out, const mim_identity *by, const char *author, int op,
                          const char *who, const uint8_t *key, uint64_t epoch, uint8_t prev[32])
{
    Mim__RoomChange ch = MIM__ROOM_CHANGE__INIT;
    Mim__RoomMember m = MIM__ROOM_MEMBER__INIT, *mp = &m;

    m.name = (char *)who;
    if (key != NULL)
        m.identity_pk = (ProtobufCBinaryData){32, (uint8_t *)key};
    ch.epoch = epoch;
    ch.prev = (ProtobufCBinaryData){32, prev};
    ch.op = (Mim__RoomOp)op;
    ch.n_members = 1;
    ch.members = &mp;
    change(out, by, author, &ch, prev);
}

int main(int argc, char **argv)
{
    mim_identity *a = fuzz_fixed_identity(1), *b = fuzz_fixed_identity(2),
                 *c = fuzz_fixed_identity(3);
    Mim__RoomChange cr = MIM__ROOM_CHANGE__INIT;
    Mim__RoomMember ma = MIM__ROOM_MEMBER__INIT, mb = MIM__ROOM_MEMBER__INIT;
    Mim__RoomMember *ms[2] = {&ma, &mb};
    mim_buf log = {0}, forged = {0}, one = {0};
    uint8_t h[32], h1[32];

    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    ma.name = "alice";
    ma.identity_pk = (ProtobufCBinaryData){32, a->sign_pk};
    mb.name = "bob";
    mb.identity_pk = (ProtobufCBinaryData){32, b->sign_pk};
    cr.epoch = 1;
    cr.op = MIM__ROOM_OP__ROOM_CREATE;
    cr.room_name = "lab";
    cr.n_members = 2;
    cr.members = ms;
    change(&log, a, "alice", &cr, h);
    seed("create", &log);
    memcpy(h1, h, 32);
    mim_buf_append(&forged, log.data, log.len);
    member_change(&log, a, "alice", MIM__ROOM_OP__ROOM_ADD, "carol", c->sign_pk, 2, h);
    member_change(&log, a, "alice", MIM__ROOM_OP__ROOM_ADMIN, "bob", NULL, 3, h);
    member_change(&log, b, "bob", MIM__ROOM_OP__ROOM_REMOVE, "carol", NULL, 4, h);
    seed("log", &log);
    /* bob removes alice in alice's name with his own key: refused as forged. */
    member_change(&forged, b, "alice", MIM__ROOM_OP__ROOM_REMOVE, "bob", NULL, 2, h1);
    seed("forged", &forged);
    /* a change whose prev the log does not have (out of order), then bob, no admin, adding. */
    memset(h, 7, sizeof(h));
    member_change(&one, a, "alice", MIM__ROOM_OP__ROOM_ADD, "carol", c->sign_pk, 5, h);
    seed("out_of_order", &one);
    mim_identity_free(a);
    mim_identity_free(b);
    mim_identity_free(c);
    mim_buf_free(&log);
    mim_buf_free(&forged);
    mim_buf_free(&one);
    return seed_end("room log seeds");
}
