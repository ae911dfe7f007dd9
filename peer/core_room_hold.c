/* Each sender's order in a room (issue 16), on the receiving side of one session: once a
 * room's copy from this session's peer is refused for later (it overtook a membership change
 * still on its way), every later copy of that room from the peer on this session is refused
 * too, so that none of them is taken before the one refused. The hold ends when the peer
 * sends again one of the copies it refused: the sender, told of the refusal, stops, waits and
 * sends its outbox again from the oldest copy not acked, and everything it sent before that
 * (the copies in flight, refused here) came before it on the session (TCP keeps the order).
 * A new session starts without holds: the sender begins it with its oldest copy not acked. */
#include "core_priv.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* Bounds: a hold remembers at most HOLD_IDS_MAX of the ids it refused (more are refused, not
 * remembered: the sender's retry begins with the first one, which is); a session holds at most
 * HOLDS_MAX rooms (beyond, a room is not held: its order is not kept, logged). */
#define HOLD_IDS_MAX 1024
#define HOLDS_MAX    64

struct core_room_hold {
    struct core_room_hold *next;
    uint8_t room[16];
    size_t n, cap;
    uint8_t (*ids)[MIM_MSG_ID_LEN]; /* refused while held, in arrival order; owned */
};

static core_room_hold **hold_find(sess *s, const uint8_t room[16])
{
    core_room_hold **h = &s->holds;

    while (*h != NULL && memcmp((*h)->room, room, sizeof((*h)->room)) != 0)
        h = &(*h)->next;
    return h;
}

static void hold_remember(core_room_hold *h, const uint8_t id[MIM_MSG_ID_LEN])
{
    if (h->n == h->cap) {
        void *p;
        if (h->cap >= HOLD_IDS_MAX || (p = core_grow(h->ids, &h->cap, MIM_MSG_ID_LEN)) == NULL)
            return; /* not remembered: refused all the same */
        h->ids = p;
    }
    memcpy(h->ids[h->n++], id, MIM_MSG_ID_LEN);
}

static int hold_has(const core_room_hold *h, const uint8_t id[MIM_MSG_ID_LEN])
{
    for (size_t i = 0; i < h->n; i++)
        if (memcmp(h->ids[i], id, MIM_MSG_ID_LEN) == 0)
            return 1;
    return 0;
}

int core_room_hold_check(sess *s, const Mim__ChatMessage *m)
{
    core_room_hold **at, *h;

    if (s == NULL || m->room == NULL || m->room->id.len != sizeof(h->room) ||
        m->id.len != MIM_MSG_ID_LEN || (h = *(at = hold_find(s, m->room->id.data))) == NULL)
        return 0;
    if (hold_has(h, m->id.data)) { /* the sender's retry: in order again */
        *at = h->next;
        free(h->ids);
        free(h);
        return 0;
    }
    hold_remember(h, m->id.data);
    return 1;
}

void core_room_hold_start(sess *s, const char *peer, const Mim__ChatMessage *m)
{
    core_room_hold *h;
    size_t n = 0;

    if (s == NULL || m->room == NULL || m->room->id.len != sizeof(h->room) ||
        m->id.len != MIM_MSG_ID_LEN)
        return;
    if ((h = *hold_find(s, m->room->id.data)) == NULL) {
        for (h = s->holds; h != NULL; h = h->next)
            n++;
        if (n >= HOLDS_MAX || (h = calloc(1, sizeof(*h))) == NULL) {
            mim_log_warn("%s: too many rooms held back at once: a room's order is not kept", peer);
            return;
        }
        memcpy(h->room, m->room->id.data, sizeof(h->room));
        h->next = s->holds;
        s->holds = h;
    }
    hold_remember(h, m->id.data);
}

void core_room_hold_free(sess *s)
{
    while (s->holds != NULL) {
        core_room_hold *h = s->holds;
        s->holds = h->next;
        free(h->ids);
        free(h);
    }
}
