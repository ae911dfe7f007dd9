/* The window's words for the view model (view_text.h). */
#include "view_text.h"
#include "core.h"
#include "mim_error.h"
#include "tui_date.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS (24ll * 60 * 60 * 1000)

const char *vm_state_word(enum vm_state s)
{
    switch (s) {
    case VM_QUEUED:
        return "queued";
    case VM_SENT:
        return "sent";
    case VM_DELIVERED:
        return "delivered";
    case VM_READ:
        return "read";
    case VM_DEPOSITED:
        return "deposited";
    default:
        return "";
    }
}

const char *vm_status_word(enum vm_status s)
{
    return s == VM_AWAY ? "away" : s == VM_BUSY ? "busy" : "available";
}

const char *vm_conn_word(enum vm_conn c)
{
    switch (c) {
    case VM_CONN_CONNECTED:
        return "connected";
    case VM_CONN_RECONNECTING:
        return "reconnecting";
    case VM_CONN_OFFLINE:
        return "disconnected";
    default:
        return "connecting";
    }
}

/* Appends sep and arg at out's end, cut at len. */
static void append(char *out, size_t len, const char *sep, const char *arg)
{
    size_t used = strlen(out);

    if (used + 1 < len)
        snprintf(out + used, len - used, "%s%s", sep, arg);
}

/* "#lab, 3 members" (", you left" once we are out of it). */
static void room_text(const vm_contact *c, char *out, size_t len)
{
    snprintf(out, len, "%s, %zu member%s", c->name, c->nmembers, c->nmembers == 1 ? "" : "s");
    if (c->room_gone)
        append(out, len, ", ", "you are no longer in it");
}

void vm_contact_text(const vm_contact *c, int64_t now_ms, char *out, size_t len)
{
    char seen[TUI_DATE_MAX], unread[32];

    snprintf(out, len, "%s", c->name);
    if (c->is_room)
        room_text(c, out, len);
    else if (c->online) {
        append(out, len, ", ", vm_status_word(c->status));
        if (c->status_text[0] != '\0')
            append(out, len, ": ", c->status_text);
    } else {
        append(out, len, ", ", "offline");
        if (c->last_seen_ms > 0) {
            tui_date_last_seen(c->last_seen_ms, now_ms, seen);
            append(out, len, ", ", seen);
        }
    }
    if (c->unread > 0) {
        snprintf(unread, sizeof(unread), "%zu unread", c->unread);
        append(out, len, ", ", unread);
    }
    if (c->verified)
        append(out, len, ", ", "verified");
    if (c->key_pending)
        append(out, len, ", ", "key changed");
}

void vm_row_text(const vm_row *r, char *out, size_t len)
{
    if (r->kind == VM_ROW_NOTE)
        snprintf(out, len, "%s", r->text);
    else if (r->state == VM_IN && r->broadcast)
        snprintf(out, len, "%s: %s (%s%s)", r->from, r->text,
                 r->broadcast == 2 ? "important broadcast" : "broadcast",
                 r->broadcast == 2 && r->acked ? ", acknowledged" : "");
    else if (r->state == VM_IN)
        snprintf(out, len, "%s: %s", r->from, r->text);
    else if (r->broadcast) /* issue 16: our own, in VM_OWN_BROADCASTS */
        snprintf(out, len, "%s: %s (%s, delivered to %u of %u online%s%s)", r->from, r->text,
                 r->broadcast == 2 ? "important broadcast" : "broadcast",
                 (unsigned)r->fan_delivered, (unsigned)r->fan_total,
                 r->broadcast == 2 ? ", acknowledged by " : "",
                 r->broadcast != 2     ? ""
                 : r->acked_by != NULL ? r->acked_by
                                       : "nobody yet");
    else if (r->fan_total > 0 && r->fan_delivered > 0)
        snprintf(out, len, "%s: %s (delivered to %u of %u)", r->from, r->text,
                 (unsigned)r->fan_delivered, (unsigned)r->fan_total);
    else
        snprintf(out, len, "%s: %s (%s)", r->from, r->text, vm_state_word(r->state));
}

int vm_needs_date_line(int64_t prev_ms, int64_t ts_ms)
{
    return prev_ms <= 0 || !tui_date_same_day(prev_ms, ts_ms);
}

void vm_date_text(int64_t ts_ms, int64_t now_ms, char *out, size_t len)
{
    char day[TUI_DATE_MAX];

    if (tui_date_same_day(ts_ms, now_ms))
        snprintf(out, len, "Today");
    else if (tui_date_same_day(ts_ms, now_ms - DAY_MS))
        snprintf(out, len, "Yesterday");
    else {
        tui_date_day_name(ts_ms, day);
        snprintf(out, len, "%s", day);
    }
}

void vm_title(const view_model *m, char *out, size_t len)
{
    size_t unread = vm_unread_total(m);

    if (unread > 0)
        snprintf(out, len, "(%zu) mim \u2014 %s", unread, m->me);
    else
        snprintf(out, len, "mim \u2014 %s", m->me);
}

/* bytes as "512 B", "1.2 kB", "3.4 MB", "1.0 GB" (SI, as file managers show sizes). */
static void size_text(int64_t bytes, char *out, size_t len)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB"};
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1000) {
        snprintf(out, len, "%lld B", (long long)bytes);
        return;
    }
    v /= 1000;
    while (v >= 1000 && u + 1 < sizeof(units) / sizeof(*units)) {
        v /= 1000;
        u++;
    }
    snprintf(out, len, "%.1f %s", v, units[u]);
}

void vm_transfer_text(const vm_transfer *t, char *out, size_t len)
{
    char done[32], total[32];

    size_text(t->bytes, done, sizeof(done));
    size_text(t->size, total, sizeof(total));
    switch (t->state) {
    case VM_FILE_OFFERED:
        if (t->dir == VM_FILE_RECEIVE)
            snprintf(out, len, "%s (%s): accept or reject it", t->name, total);
        else
            snprintf(out, len, "%s (%s): offered, waiting for an answer", t->name, total);
        break;
    case VM_FILE_ACCEPTED:
        snprintf(out, len, "%s (%s): accepted, waiting for a connection", t->name, total);
        break;
    case VM_FILE_RUNNING:
        snprintf(out, len, "%s: %s of %s", t->name, done, total);
        break;
    case VM_FILE_PAUSED:
        snprintf(out, len, "%s: paused at %s of %s: %s", t->name, done, total, t->error);
        break;
    case VM_FILE_DONE:
        snprintf(out, len, "%s (%s): done", t->name, total);
        break;
    case VM_FILE_REJECTED:
        snprintf(out, len, "%s (%s): rejected", t->name, total);
        break;
    default:
        snprintf(out, len, "%s: failed: %s", t->name, t->error);
        break;
    }
}

double vm_transfer_fraction(const vm_transfer *t)
{
    if (t->state == VM_FILE_DONE)
        return 1.0;
    if (t->size <= 0 || t->bytes <= 0)
        return 0.0;
    return t->bytes >= t->size ? 1.0 : (double)t->bytes / (double)t->size;
}

/* The refusals of rooms and broadcasts (issue 16), or NULL. */
static const char *fanout_refusal(int rc)
{
    switch (rc) {
    case MIM_CORE_ENO_ROOM:
        return "no room of yours has that name";
    case MIM_CORE_EROOM_AMBIGUOUS:
        return "several rooms have that name";
    case MIM_CORE_ENOT_ADMIN:
        return "only an admin of the room can do that";
    case MIM_CORE_ENOT_MEMBER:
        return "you are not a member of that room";
    case MIM_CORE_EROOM_FULL:
        return "the room is full";
    case MIM_CORE_EROOM_MEMBER:
        return "already a member of that room";
    case MIM_CORE_ENOT_BROADCASTER:
        return "the server's list of broadcasters does not name you";
    case MIM_CORE_ENOBODY:
        return "nobody is online to get it";
    case MIM_CORE_ENOT_IMPORTANT:
        return "no important broadcast by that id";
    default:
        return NULL;
    }
}

void vm_refusal_text(int rc, const char *who, char *out, size_t len)
{
    const char *fanout = fanout_refusal(rc);

    if (fanout != NULL) {
        snprintf(out, len, "%s", fanout);
        return;
    }
    switch (rc) {
    case MIM_CORE_EUNKNOWN_PEER:
        snprintf(out, len, "nobody named %s is online or known here", who);
        break;
    case MIM_CORE_ETEXT:
        snprintf(out, len, "that text cannot be sent (control characters, or not UTF-8)");
        break;
    case MIM_CORE_EEMPTY:
        snprintf(out, len, "nothing to send: the text is empty");
        break;
    case MIM_CORE_ETOO_LONG:
        snprintf(out, len, "that text is too long (at most %d bytes)", MIM_CORE_TEXT_MAX);
        break;
    case MIM_CORE_ESELF:
        snprintf(out, len, "that is you");
        break;
    case MIM_CORE_EBAD_NAME:
        snprintf(out, len, "'%s' is not a valid name", who);
        break;
    case MIM_CORE_ENOTHING:
        snprintf(out, len, "nothing to do");
        break;
    case MIM_CORE_EFINGERPRINT:
    case MIM_CORE_EUNSEEN:
        snprintf(out, len, "the key of %s changed again: nothing trusted; check anew", who);
        break;
    case MIM_CORE_ESTORE:
        snprintf(out, len, "the local store failed; not done (see the log)");
        break;
    case MIM_CORE_EBLOCKED:
        snprintf(out, len, "%s is blocked", who);
        break;
    case MIM_CORE_EBUSY:
        snprintf(out, len, "too many messages wait for their name's lookup: try later");
        break;
    case MIM_CORE_ENO_FILE:
        snprintf(out, len, "%s cannot be read (no such file, or not a file or folder)", who);
        break;
    case MIM_CORE_ENO_TRANSFER:
        snprintf(out, len, "that transfer no longer waits for an answer");
        break;
    case MIM_CORE_ETOO_BIG:
        snprintf(out, len, "%s is too big to send", who);
        break;
    default:
        snprintf(out, len, "%s", rc < 0 && rc > -100 ? mim_strerror(rc) : "a value out of range");
        break;
    }
}

int vm_is_image(const vm_transfer *t)
{
    return strncmp(t->media_type, "image/", 6) == 0;
}
