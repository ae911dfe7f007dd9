/* Broadcast to everyone in the terminal (issue 16; docs/TUI.md "Broadcast"): /all TEXT and
 * /all! TEXT (important), the important broadcasts received that wait for the user's F2 (or
 * /ack), and who has read ours. The copies' "delivered to N of M" count on the line that says
 * the broadcast went (tui_rooms_delivered finds it by the id). */
#include "tui_priv.h"
#include "mim_clock.h"

#include <stdio.h>
#include <string.h>

/* The line just added to conv (it held `before` entries) carries the broadcast's id: its
 * copies' deliveries count on it ("delivered to 23 of 25", tui_rooms_delivered). */
static void mark_line(tui_conv *conv, size_t before, const char *hex, uint32_t copies)
{
    tui_entry *e;

    if (conv->n == 0 || (conv->n == before && before < TUI_CONV_MAX))
        return; /* not added (out of memory) */
    e = &conv->e[conv->n - 1];
    snprintf(e->id, sizeof(e->id), "%s", hex);
    e->fan_total = copies;
}

void tui_broadcast_send(tui *t, const char *text, int important)
{
    mim_msg_id id;
    uint32_t copies = 0;
    int rc = mim_core_broadcast(t->core, text, important, &id, &copies);
    char hex[MIM_MSG_ID_HEX_LEN];
    tui_conv *view;
    size_t before;

    if (rc == MIM_CORE_ENOT_BROADCASTER) {
        tui_say(t, TUI_ENTRY_WARN,
                "the presence server lets only the names on its list "
                "broadcast to everyone: not sent");
        return;
    }
    if (rc == MIM_CORE_ENOBODY) {
        tui_say(t, TUI_ENTRY_WARN, "nobody is online to broadcast to: not sent");
        return;
    }
    if (rc != 0) {
        tui_say_refusal(t, rc, "");
        return;
    }
    mim_msg_id_hex(&id, hex);
    view = tui_model_view(&t->m);
    before = view->n;
    tui_say(t, TUI_ENTRY_INFO, "%sbroadcast %.8s to %u peers online: \"%.200s\"%s",
            important ? "important " : "", hex, (unsigned)copies, text,
            important ? " (they are asked to acknowledge it)" : "");
    mark_line(view, before, hex, copies);
    /* The console keeps it too, whatever view is open later. */
    if (view != &t->m.console && view->n > 0 && strcmp(view->e[view->n - 1].id, hex) == 0) {
        before = t->m.console.n;
        tui_conv_add(&t->m.console, TUI_ENTRY_INFO, mim_clock_wall_ms(), NULL,
                     view->e[view->n - 1].text, NULL, TUI_MSG_NONE);
        mark_line(&t->m.console, before, hex, copies);
    }
}

void tui_broadcast_received(tui *t, const char *from, const mim_msg_id *id)
{
    tui_bcast *b = &t->bcast;
    char line[300];
    tui_contact *c;

    if (b->nwaiting == TUI_BCAST_WAITING) { /* the oldest gives way: /ack ID still takes it */
        memmove(&b->waiting[0], &b->waiting[1], sizeof(b->waiting[0]) * (TUI_BCAST_WAITING - 1));
        b->nwaiting--;
    }
    b->waiting[b->nwaiting].id = *id;
    snprintf(b->waiting[b->nwaiting].from, sizeof(b->waiting[0].from), "%s", from);
    b->nwaiting++;
    snprintf(line, sizeof(line),
             "%.130s sent an IMPORTANT broadcast: press F2 (or type /ack) to acknowledge it", from);
    if ((c = tui_model_contact(&t->m, from, 0)) != NULL)
        tui_say_about(t, c, TUI_ENTRY_WARN, line); /* under it, and in the open view */
    else
        tui_note(t, TUI_ENTRY_WARN, "%s", line);
}

/* Acknowledges id (from: its sender, for the note). */
static void ack_one(tui *t, const mim_msg_id *id, const char *from)
{
    int rc = mim_core_ack_broadcast(t->core, id);

    if (rc == 0)
        tui_say(t, TUI_ENTRY_INFO, "acknowledged %.130s's important broadcast", from);
    else if (rc == MIM_CORE_ENOTHING)
        tui_say(t, TUI_ENTRY_INFO, "that broadcast is acknowledged already");
    else if (rc == MIM_CORE_ENOT_IMPORTANT)
        tui_say(t, TUI_ENTRY_WARN, "no important broadcast has that id");
    else
        tui_say_refusal(t, rc, from);
}

void tui_broadcast_ack(tui *t, const char *which)
{
    tui_bcast *b = &t->bcast;
    mim_msg_id id;

    if (which != NULL && which[0] != '\0') {
        if (mim_msg_id_parse(which, &id) != 0) {
            tui_say(t, TUI_ENTRY_WARN, "/ack ID: the broadcast's id, 32 hex digits");
            return;
        }
        ack_one(t, &id, "the");
        return;
    }
    if (b->nwaiting == 0) {
        tui_hint(t, "no important broadcast waits for your acknowledgement");
        return;
    }
    ack_one(t, &b->waiting[0].id, b->waiting[0].from);
    memmove(&b->waiting[0], &b->waiting[1], sizeof(b->waiting[0]) * (b->nwaiting - 1));
    b->nwaiting--;
}

typedef struct status_count {
    unsigned acked, total;
} status_count;

static void count_one(void *arg, const char *name, int acked)
{
    status_count *s = arg;

    (void)name;
    s->total++;
    s->acked += acked != 0;
}

void tui_broadcast_acked(tui *t, const char *from, const mim_msg_id *id)
{
    status_count s = {0, 0};
    char hex[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(id, hex);
    if (t->core == NULL || mim_core_broadcast_status(t->core, id, count_one, &s) != 0)
        s.total = 0;
    tui_note(t, TUI_ENTRY_INFO, "%.130s has read your important broadcast %.8s (%u of %u)", from,
             hex, s.acked, s.total);
}

void tui_broadcast_exec(tui *t, int ack, const char *text, int important)
{
    if (ack)
        tui_broadcast_ack(t, text);
    else
        tui_broadcast_send(t, text, important);
}
