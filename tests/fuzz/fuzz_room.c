/* Fuzzes a room's membership log (issue 16, peer/room_log.c): the input is a run of packed
 * RoomChanges, each as a 2-byte big-endian length and its bytes, fed in order to one room's log
 * (room id 16 x 0x42) as the core feeds what comes in; each is first decoded alone
 * (mim_room_change_decode). After each, the membership replayed must keep the log's promises.
 * The seeds (fuzz_make_corpus_room) are real logs signed by fixed identities, so the paths after
 * the signature check run on every replay. */
#include "fuzz.h"

#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "room_log.h"

#include <stdlib.h>
#include <string.h>

static void check_state(const room_log *l)
{
    room_state *s = malloc(sizeof(*s));
    size_t admins = 0;

    FUZZ_CHECK(s != NULL);
    room_log_state(l, UINT64_MAX, s);
    FUZZ_CHECK(s->n <= MIM_ROOM_MEMBERS_MAX);
    for (size_t i = 0; i < s->n; i++) {
        FUZZ_CHECK(mim_name_valid(s->m[i].name, strlen(s->m[i].name)));
        FUZZ_CHECK(room_state_find(s, s->m[i].name) == &s->m[i]); /* no name twice */
        admins += s->m[i].admin != 0;
    }
    FUZZ_CHECK(l->n == 0 || s->epoch <= l->e[l->n - 1].epoch);
    for (size_t i = 1; i < l->n; i++) /* the (epoch, hash) order */
        FUZZ_CHECK(l->e[i - 1].epoch < l->e[i].epoch ||
                   (l->e[i - 1].epoch == l->e[i].epoch &&
                    memcmp(l->e[i - 1].hash, l->e[i].hash, MIM_ROOM_HASH_LEN) < 0));
    (void)admins;
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t id[MIM_ROOM_ID_LEN] = {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                                0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};
    room_log l;
    char why[200];

    if (mim_crypto_init() != 0)
        return 0;
    room_log_init(&l, id);
    while (size >= 2) {
        size_t n = ((size_t)data[0] << 8) | data[1];
        Mim__RoomChange *ch = NULL;
        int rc;
        if (n > size - 2)
            n = size - 2;
        if (mim_room_change_decode(data + 2, n, &ch, why, sizeof(why)) == 0) {
            FUZZ_CHECK(ch->room.len == MIM_ROOM_ID_LEN && ch->signature.len == 64);
            mim_room_change_free(ch);
        }
        why[0] = '\0';
        rc = room_log_add(&l, data + 2, n, 0, NULL, why, sizeof(why));
        FUZZ_CHECK(rc >= -20 && rc <= 1);
        FUZZ_CHECK(rc >= 0 || rc == MIM_ENOMEM || why[0] != '\0');
        check_state(&l);
        data += 2 + n;
        size -= 2 + n;
    }
    room_log_free(&l);
    return 0;
}
