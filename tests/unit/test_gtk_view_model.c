/* mim-gtk's view model and its words (gtk/view_model.c, gtk/view_text.c): what the window shows
 * for what the core reported (docs/GTK.md: the accessible names the window tests read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"
#include "view_model.h"
#include "view_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS (60ll * 60 * 1000)
#define DAY_MS  (24 * HOUR_MS)

static char text[VM_TEXT_MAX];

static const char *contact_text(view_model *m, const char *name, int64_t now)
{
    vm_contact_text(vm_contact_get(m, name, 0), now, text, sizeof(text));
    return text;
}

static int setup_utc(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

/* on_online / on_status / on_offline / the directory: the list's order and its rows. */
static void test_contacts(void **state)
{
    view_model m;
    vm_contact *c;
    const int64_t now = 1764600000000ll;
    (void)state;
    vm_init(&m);
    snprintf(m.me, sizeof(m.me), "alice");
    assert_null(vm_contact_get(&m, "alice", 1)); /* never ourselves */
    vm_contact_get(&m, "dave", 1);
    vm_set_online(&m, "carol", 1);
    vm_set_online(&m, "bob", 1);
    assert_string_equal(m.c[0]->name, "bob"); /* online first, by name */
    assert_string_equal(m.c[1]->name, "carol");
    assert_string_equal(m.c[2]->name, "dave");
    assert_string_equal(contact_text(&m, "bob", now), "bob, available");
    vm_set_status(&m, "bob", VM_AWAY, "at lunch");
    assert_string_equal(contact_text(&m, "bob", now), "bob, away: at lunch");
    vm_set_online(&m, "bob", 0); /* offline: status gone, greyed at the end */
    assert_string_equal(m.c[0]->name, "carol");
    assert_string_equal(m.c[2]->name, "dave");
    assert_string_equal(contact_text(&m, "bob", now), "bob, offline");
    c = vm_contact_get(&m, "dave", 0);
    c->last_seen_ms = now - 5 * 60 * 1000;
    assert_string_equal(contact_text(&m, "dave", now), "dave, offline, last seen 5 min ago");
    c = vm_contact_get(&m, "carol", 0);
    c->unread = 2;
    c->verified = 1;
    c->key_pending = 1;
    assert_string_equal(contact_text(&m, "carol", now),
                        "carol, available, 2 unread, verified, key changed");
    vm_free(&m);
}

/* Our message through on_queued, on_sent, on_delivered, on_read; never backwards. */
static void test_message_states(void **state)
{
    view_model m;
    vm_row *r;
    (void)state;
    vm_init(&m);
    snprintf(m.me, sizeof(m.me), "alice");
    r = vm_add_message(&m, "bob", "aa", 1000, "alice", "hi bob", VM_QUEUED, 1);
    assert_non_null(r);
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "alice: hi bob (queued)");
    assert_int_equal(vm_set_state(&m, "bob", "aa", VM_SENT), 1);
    assert_int_equal(vm_set_state(&m, "bob", "aa", VM_DELIVERED), 1);
    assert_int_equal(vm_set_state(&m, "bob", "aa", VM_SENT), 1); /* late: ignored */
    r = vm_find_row(&vm_contact_get(&m, "bob", 0)->conv, "aa");
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "alice: hi bob (delivered)");
    vm_set_state(&m, "bob", "aa", VM_READ);
    assert_string_equal(vm_state_word(r->state), "read");
    assert_int_equal(vm_set_state(&m, "bob", "zz", VM_SENT), 0); /* not shown */
    /* The mailbox: deposited, then expired (back to queued), then delivered directly. */
    vm_add_message(&m, "bob", "bb", 2000, "alice", "later", VM_QUEUED, 1);
    vm_set_state(&m, "bob", "bb", VM_DEPOSITED);
    r = vm_find_row(&vm_contact_get(&m, "bob", 0)->conv, "bb");
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "alice: later (deposited)");
    vm_set_state(&m, "bob", "bb", VM_QUEUED);
    assert_int_equal(r->state, VM_QUEUED);
    /* The same id again (the history read in after it came): kept once. */
    assert_ptr_equal(vm_add_message(&m, "bob", "bb", 2000, "alice", "later", VM_QUEUED, 1), r);
    assert_int_equal(vm_contact_get(&m, "bob", 0)->conv.n, 2);
    /* A send the core did not store (on_send_failed, on_lookup_failed) leaves. */
    vm_remove_row(&m, "bob", "aa");
    assert_int_equal(vm_contact_get(&m, "bob", 0)->conv.n, 1);
    assert_null(vm_find_row(&vm_contact_get(&m, "bob", 0)->conv, "aa"));
    vm_free(&m);
}

/* on_message out of view: unread counts, the title, the first unread; in view: read. */
static void test_unread_and_title(void **state)
{
    view_model m;
    vm_contact *bob;
    vm_row *r;
    (void)state;
    vm_init(&m);
    snprintf(m.me, sizeof(m.me), "alice");
    vm_title(&m, text, sizeof(text));
    assert_string_equal(text, "mim \u2014 alice");
    vm_add_message(&m, "bob", "01", 1000, "bob", "old", VM_IN, 1);
    vm_add_message(&m, "bob", "02", 2000, "bob", "one", VM_IN, 0);
    r = vm_add_message(&m, "bob", "03", 3000, "bob", "two", VM_IN, 0);
    vm_add_message(&m, "carol", "04", 3000, "carol", "hey", VM_IN, 0);
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "bob: two"); /* theirs: no state */
    assert_int_equal(vm_unread_total(&m), 3);
    vm_title(&m, text, sizeof(text));
    assert_string_equal(text, "(3) mim \u2014 alice");
    vm_open(&m, "bob");
    bob = vm_current(&m);
    assert_non_null(bob);
    assert_string_equal(bob->name, "bob");
    assert_int_equal(bob->unread, 0);
    assert_int_equal(vm_first_unread(bob), 1); /* the view lands on "one" */
    vm_mark_seen(bob);
    assert_int_equal(vm_first_unread(bob), -1);
    vm_title(&m, text, sizeof(text));
    assert_string_equal(text, "(1) mim \u2014 alice");
    vm_open(&m, NULL);
    assert_null(vm_current(&m));
    vm_free(&m);
}

/* on_chat_closed greys the conversation until someone writes; typing stops with a message. */
static void test_closed_and_typing(void **state)
{
    view_model m;
    vm_contact *c;
    (void)state;
    vm_init(&m);
    c = vm_contact_get(&m, "bob", 1);
    c->conv.closed = 1;
    c->conv.typing = 1;
    vm_add_note(&m, "bob", 1000, "bob's key changed");
    assert_int_equal(c->conv.closed, 1); /* a note is nobody writing */
    vm_row_text(&c->conv.rows[0], text, sizeof(text));
    assert_string_equal(text, "bob's key changed");
    vm_add_message(&m, "bob", "aa", 2000, "bob", "back", VM_IN, 1);
    assert_int_equal(c->conv.closed, 0);
    assert_int_equal(c->conv.typing, 0);
    vm_free(&m);
}

/* The date lines: "Today", "Yesterday", then the day in words. */
static void test_date_lines(void **state)
{
    const int64_t now = 1764676800000ll; /* 2025-12-02 12:00 UTC */
    (void)state;
    assert_int_equal(vm_needs_date_line(0, now), 1);
    assert_int_equal(vm_needs_date_line(now - HOUR_MS, now), 0);
    assert_int_equal(vm_needs_date_line(now - DAY_MS, now), 1);
    vm_date_text(now - HOUR_MS, now, text, sizeof(text));
    assert_string_equal(text, "Today");
    vm_date_text(now - DAY_MS, now, text, sizeof(text));
    assert_string_equal(text, "Yesterday");
    vm_date_text(now - 3 * DAY_MS, now, text, sizeof(text));
    assert_non_null(strstr(text, "2025"));
    assert_non_null(strstr(text, "29"));
}

/* on_file_offer / progress / done / failed: a transfer's row and bar. */
static void test_transfers(void **state)
{
    view_model m;
    vm_transfer *t;
    (void)state;
    vm_init(&m);
    t = vm_transfer_update(&m, "ff", "bob", VM_FILE_RECEIVE, VM_FILE_OFFERED, "cat.png",
                           "/d/cat.png", 2500000, 0, "image/png", "");
    assert_non_null(t);
    vm_transfer_text(t, text, sizeof(text));
    assert_string_equal(text, "cat.png (2.5 MB): accept or reject it");
    assert_true(vm_is_image(t));
    t = vm_transfer_update(&m, "ff", "bob", VM_FILE_RECEIVE, VM_FILE_RUNNING, "cat.png",
                           "/d/cat.png", 2500000, 1000000, "image/png", "");
    assert_int_equal(m.nt, 1); /* the same transfer, updated */
    vm_transfer_text(t, text, sizeof(text));
    assert_string_equal(text, "cat.png: 1.0 MB of 2.5 MB");
    assert_true(vm_transfer_fraction(t) > 0.39 && vm_transfer_fraction(t) < 0.41);
    t = vm_transfer_update(&m, "ff", "bob", VM_FILE_RECEIVE, VM_FILE_FAILED, "cat.png",
                           "/d/cat.png", 2500000, 1000000, "image/png", "the disk is full");
    vm_transfer_text(t, text, sizeof(text));
    assert_string_equal(text, "cat.png: failed: the disk is full");
    t = vm_transfer_update(&m, "gg", "bob", VM_FILE_SEND, VM_FILE_DONE, "a.txt", "/h/a.txt", 12, 12,
                           "", "");
    vm_transfer_text(t, text, sizeof(text));
    assert_string_equal(text, "a.txt (12 B): done");
    assert_false(vm_is_image(t));
    assert_true(vm_transfer_fraction(t) == 1.0);
    assert_ptr_equal(vm_transfer_find(&m, "gg"), t);
    vm_free(&m);
}

/* on_error and refused commands: shown in words, "Error: " first. */
static void test_errors(void **state)
{
    view_model m;
    (void)state;
    vm_init(&m);
    vm_set_error(&m, "the presence server refused us");
    assert_string_equal(m.error, "Error: the presence server refused us");
    vm_clear_error(&m);
    assert_string_equal(m.error, "");
    vm_refusal_text(MIM_CORE_EUNKNOWN_PEER, "zed", text, sizeof(text));
    assert_string_equal(text, "nobody named zed is online or known here");
    vm_refusal_text(MIM_CORE_EBLOCKED, "zed", text, sizeof(text));
    assert_string_equal(text, "zed is blocked");
    assert_string_equal(vm_conn_word(VM_CONN_CONNECTED), "connected");
    assert_string_equal(vm_conn_word(VM_CONN_RECONNECTING), "reconnecting");
    vm_free(&m);
}

/* A conversation keeps its last VM_CONV_MAX rows. */
static void test_conversation_cap(void **state)
{
    view_model m;
    vm_contact *c;
    char id[VM_ID_LEN];
    (void)state;
    vm_init(&m);
    for (int i = 0; i < VM_CONV_MAX + 5; i++) {
        snprintf(id, sizeof(id), "%d", i);
        vm_add_message(&m, "bob", id, i + 1, "bob", "x", VM_IN, 1);
    }
    c = vm_contact_get(&m, "bob", 0);
    assert_int_equal(c->conv.n, VM_CONV_MAX);
    assert_string_equal(c->conv.rows[0].id, "5");
    vm_free(&m);
}

/* Issue 16: a room in the list ("#lab, 3 members"), kept current by on_room, greyed once we
 * are out; our row in it counts the delivered copies; a message from a member has its sender. */
static void test_rooms(void **state)
{
    view_model m;
    vm_contact *c;
    vm_row *r;
    (void)state;
    vm_init(&m);
    snprintf(m.me, sizeof(m.me), "alice");
    assert_false(vm_is_room("bob"));
    assert_true(vm_is_room("#lab"));
    c = vm_room_update(&m, "00112233445566778899aabbccddeeff", "lab", 3, 1);
    assert_non_null(c);
    assert_true(c->is_room);
    assert_string_equal(c->name, "#lab");
    assert_string_equal(c->room_id, "00112233445566778899aabbccddeeff");
    assert_string_equal(contact_text(&m, "#lab", 0), "#lab, 3 members");
    assert_ptr_equal(vm_room_update(&m, "00112233445566778899aabbccddeeff", "lab", 4, 1), c);
    assert_int_equal(m.n, 1); /* the same row, updated */
    assert_string_equal(contact_text(&m, "#lab", 0), "#lab, 4 members");
    r = vm_add_message(&m, "#lab", "aa", 1000, "alice", "hi all", VM_QUEUED, 1);
    assert_non_null(r);
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "alice: hi all (queued)");
    assert_true(vm_set_fanout(&m, "#lab", "aa", 1, 3));
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "alice: hi all (delivered to 1 of 3)");
    assert_true(vm_set_fanout(&m, "#lab", "aa", 3, 3));
    assert_true(vm_set_fanout(&m, "#lab", "aa", 2, 3)); /* a late count never goes back */
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "alice: hi all (delivered to 3 of 3)");
    assert_int_equal(r->state, VM_DELIVERED);
    assert_false(vm_set_fanout(&m, "#lab", "zz", 1, 3)); /* no such row */
    r = vm_add_message(&m, "#lab", "bb", 2000, "bob", "hello", VM_IN, 0);
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "bob: hello");
    assert_false(vm_set_fanout(&m, "#lab", "bb", 1, 3)); /* theirs has no count */
    assert_string_equal(contact_text(&m, "#lab", 0), "#lab, 4 members, 1 unread");
    vm_room_update(&m, "00112233445566778899aabbccddeeff", "lab", 1, 0);
    assert_true(c->room_gone);
    assert_string_equal(contact_text(&m, "#lab", 0),
                        "#lab, 1 member, you are no longer in it, 1 unread");
    vm_free(&m);
}

/* Issue 16: a broadcast of theirs is marked; an important one says when we acknowledged it. */
static void test_broadcast_rows(void **state)
{
    view_model m;
    vm_row *r;
    (void)state;
    vm_init(&m);
    r = vm_add_message(&m, "bob", "cc", 1000, "bob", "fire drill", VM_IN, 1);
    r->broadcast = 1;
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "bob: fire drill (broadcast)");
    r->broadcast = 2;
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "bob: fire drill (important broadcast)");
    r->acked = 1;
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "bob: fire drill (important broadcast, acknowledged)");
    {
        vm_row stored = {.state = VM_IN};
        vm_keep_marks(&stored, r); /* the history read in after it came keeps the marks */
        assert_int_equal(stored.broadcast, 2);
        assert_true(stored.acked);
    }
    r = vm_add_stored(&m, "carol", "dd", 2000, "carol", "hand in", VM_IN, 1, 2);
    assert_non_null(r); /* after a restart: the store's mark, as live */
    assert_true(r->unread);
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "carol: hand in (important broadcast)");
    {
        vm_row live = {.state = VM_IN};
        vm_keep_marks(r, &live); /* a live row without the mark does not clear the store's */
        assert_int_equal(r->broadcast, 2);
    }
    vm_refusal_text(MIM_CORE_ENOBODY, "", text, sizeof(text));
    assert_string_equal(text, "nobody is online to get it");
    vm_refusal_text(MIM_CORE_ENOT_MEMBER, "#lab", text, sizeof(text));
    assert_string_equal(text, "you are not a member of that room");
    vm_free(&m);
}

/* Issue 16: our own broadcast has a row of its own entry, counting deliveries of the peers
 * online and naming who acknowledged an important one (once each). */
static void test_own_broadcast_row(void **state)
{
    view_model m;
    vm_row *r;
    vm_contact *c;
    (void)state;
    vm_init(&m);
    snprintf(m.me, sizeof(m.me), "ann");
    assert_non_null(vm_broadcast_sent(&m, "ee", 1000, "fire drill", 1, 3));
    c = vm_contact_get(&m, VM_OWN_BROADCASTS, 0);
    assert_non_null(c);
    assert_true(c->conv.loaded); /* no stored history is asked for under this name */
    r = vm_find_row(&c->conv, "ee");
    assert_non_null(r);
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "ann: fire drill (important broadcast, delivered to 0 of 3 online, "
                              "acknowledged by nobody yet)");
    assert_true(vm_set_fanout(&m, VM_OWN_BROADCASTS, "ee", 2, 3));
    assert_true(vm_broadcast_acked(&m, "ee", "bob"));
    assert_true(vm_broadcast_acked(&m, "ee", "bobby"));
    assert_true(vm_broadcast_acked(&m, "ee", "bob")); /* a repeat: named once */
    assert_false(vm_broadcast_acked(&m, "ff", "bob"));
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "ann: fire drill (important broadcast, delivered to 2 of 3 online, "
                              "acknowledged by bob, bobby)");
    r = vm_broadcast_sent(&m, "ab", 2000, "lunch", 0, 2);
    assert_non_null(r);
    assert_true(vm_set_fanout(&m, VM_OWN_BROADCASTS, "ab", 2, 2));
    vm_row_text(r, text, sizeof(text));
    assert_string_equal(text, "ann: lunch (broadcast, delivered to 2 of 2 online)");
    assert_int_equal(r->state, VM_DELIVERED);
    vm_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contacts),
        cmocka_unit_test(test_message_states),
        cmocka_unit_test(test_unread_and_title),
        cmocka_unit_test(test_closed_and_typing),
        cmocka_unit_test(test_date_lines),
        cmocka_unit_test(test_transfers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_conversation_cap),
        cmocka_unit_test(test_rooms),
        cmocka_unit_test(test_broadcast_rows),
        cmocka_unit_test(test_own_broadcast_row),
    };
    return cmocka_run_group_tests(tests, setup_utc, NULL);
}
