/* Broadcast to everyone (issue 16): the send, to every peer online now, through the fan-out
 * core (core_fanout.c): one stored copy per peer under one id, tagged as a broadcast (or an
 * important one), each going out, or waiting in the outbox and the mailbox, like any message.
 * Who may broadcast is core_broadcast.c's rule; the receivers apply it again. */
#include "core_priv.h"
#include "mim_log.h"

#include <stdlib.h>
#include <string.h>

/* The names of every peer online now but us and the blocked (the copies' recipients). */
typedef struct online_names {
    const char **names;
    size_t n, cap;
} online_names;

static int collect_online(mim_core *c, online_names *o)
{
    const online_table *t = presence_client_table(c->pc);

    o->cap = online_table_count(t);
    if (o->cap == 0)
        return 0;
    if ((o->names = calloc(o->cap, sizeof(char *))) == NULL)
        return MIM_CORE_ESTORE;
    for (const online_entry *e = online_table_first(t); e != NULL && o->n < o->cap;
         e = online_table_next(e))
        if (strcmp(e->name, c->name) != 0 && !core_is_blocked(c, e->name))
            o->names[o->n++] = e->name;
    return 0;
}

int mim_core_broadcast(mim_core *c, const char *text, int important, mim_msg_id *id,
                       uint32_t *copies)
{
    core_fanout_tag tag = {.kind = important ? MIM_FANOUT_IMPORTANT : MIM_FANOUT_BROADCAST};
    online_names o = {0};
    size_t len = strlen(text);
    int rc;

    if ((rc = core_text_check(text, len)) != 0)
        return rc;
    if (!mim_core_may_broadcast(c))
        return MIM_CORE_ENOT_BROADCASTER;
    if (c->pc == NULL || (rc = collect_online(c, &o)) != 0 || o.n == 0) {
        free(o.names);
        return rc != 0 ? rc : MIM_CORE_ENOBODY;
    }
    /* The table's names stay valid: core_fanout_send runs no loop turn. */
    rc = core_fanout_send(c, o.names, o.n, text, len, &tag, id);
    if (rc == 0 && copies != NULL)
        *copies = (uint32_t)o.n;
    mim_log_info("broadcast%s to %zu peers online: %s", important ? " (important)" : "", o.n,
                 rc == 0 ? "stored" : "not stored");
    free(o.names);
    return rc == MIM_CORE_ENOTHING ? MIM_CORE_ENOBODY : rc;
}
