/* The acks of one loop turn (issue 16: the fan-out rate). A frame's acks are only noted here
 * (core_delivered_note); a uv_check, which libuv runs once the turn's I/O callbacks are done,
 * moves every id the turn's frames acked to DELIVERED in one group commit, and only then
 * reports each of them once (a repeated ack is no news): a room's 100 members acking in the
 * same turn cost one commit, not 100. A copy's counts ("delivered to 7 of 9") are read once
 * per message per turn, after the commit; the copies of the turn are then counted up to it,
 * each report telling the copies delivered so far, itself included, as one at a time did.
 * A lost commit reports nothing: the ids stay SENT, the resend is acked again, reported then.
 * Last, the peers whose window got room, and those a fan-out of the turn has copies for
 * (core_flush_at_turn_end: a burst of them costs each member one flush, not one per copy),
 * are flushed, in one group of their own. */
#include "core_priv.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

static void on_turn_end(uv_check_t *h)
{
    core_delivered_apply(h->data);
}

static void on_turn_wake(uv_idle_t *h)
{
    (void)h; /* only there to keep the poll from blocking until turn_end has run */
}

void core_delivered_init(mim_core *c)
{
    uv_check_init(c->loop, &c->turn_end);
    c->turn_end.data = c;
    uv_idle_init(c->loop, &c->turn_wake);
    c->turn_wake.data = c;
}

/* The turn's end will come (or, quitting, there is none: now). Armed from outside uv_run (a
 * front end's call) or from a timer, the check alone would wait for the poll: the idle handle
 * makes the poll return at once, so the turn ends without waiting for I/O or the next timer. */
static void arm(mim_core *c)
{
    if (uv_is_closing((uv_handle_t *)&c->turn_end))
        core_delivered_apply(c);
    else if (!uv_is_active((uv_handle_t *)&c->turn_end)) {
        uv_check_start(&c->turn_end, on_turn_end);
        uv_idle_start(&c->turn_wake, on_turn_wake);
    }
}

void core_delivered_note(mim_core *c, peer_rec *r, const uint8_t id[MIM_MSG_ID_LEN])
{
    if (c->nturn_acks == c->cap_turn_acks) {
        void *p = core_grow(c->turn_acks, &c->cap_turn_acks, sizeof(*c->turn_acks));
        if (p == NULL) {
            mim_log_warn("out of memory: an ack from %s is lost", r->name);
            return; /* stays SENT: the resend is acked again */
        }
        c->turn_acks = p;
    }
    c->turn_acks[c->nturn_acks].r = r;
    c->turn_acks[c->nturn_acks].to = r->name; /* peer_recs live as long as the core */
    memcpy(c->turn_acks[c->nturn_acks].id, id, MIM_MSG_ID_LEN);
    c->nturn_acks++;
    arm(c);
}

void core_flush_at_turn_end(mim_core *c, peer_rec *r)
{
    r->want_flush = 1;
    arm(c);
}

/* Every peer with room in its window or something new to send, flushed in one group (the
 * flushes' SENT marks: one commit). */
static void flush_wanting(mim_core *c)
{
    int began = core_group_begin(c);

    for (peer_rec *r = c->peers; r != NULL; r = r->next)
        if (r->want_flush)
            core_flush(c, r); /* clears want_flush */
    (void)core_group_end(c, began);
}

void core_delivered_apply(mim_core *c)
{
    turn_ack *acks = c->turn_acks;
    size_t n = c->nturn_acks, cap = c->cap_turn_acks, moved = 0;
    int began;

    if (uv_is_active((uv_handle_t *)&c->turn_end))
        uv_check_stop(&c->turn_end);
    if (uv_is_active((uv_handle_t *)&c->turn_wake))
        uv_idle_stop(&c->turn_wake);
    if (n == 0) {
        flush_wanting(c);
        return;
    }
    /* Taken out: a report's handler may make the core note acks again (a new turn's list). */
    c->turn_acks = NULL;
    c->nturn_acks = c->cap_turn_acks = 0;
    began = core_group_begin(c);
    for (size_t i = 0; i < n; i++)
        if (mim_store_message_set_state(c->st, acks[i].r->name, acks[i].id, MIM_MSG_DELIVERED) == 1)
            acks[moved++] = acks[i];
    if (core_group_end(c, began) && moved > 0) {
        for (size_t i = 0; i < moved; i++) {
            peer_rec *r = acks[i].r;
            r->waiting_told = 0; /* taken again: a later refusal is news */
            r->want_flush = 1;
            r->probe = 0; /* one was accepted: the quota has room again */
            r->room_retry_ms = 0;
        }
        core_report_delivered_turn(c, acks, moved); /* issue 16: a copy's counts, or on_delivered */
    }
    flush_wanting(c);
    if (c->turn_acks == NULL) { /* kept for the next turn */
        c->turn_acks = acks;
        c->cap_turn_acks = cap;
    } else {
        free(acks);
    }
}
