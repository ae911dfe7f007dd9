/* End-to-end tests of rooms (issue 16) with real `mim --json` processes and the real
 * mim-presence (mim_proc.h): each scenario its own ctest entry (peer/json_rooms_<name>).
 *
 *   three          alice makes a room of three; each member sends three messages; every other
 *                  member gets each exactly once, in its sender's order; delivered "of 2"
 *   five           the same with five members
 *   offline        a member that is offline during two messages gets both once it starts
 *   removed        a removed member is told and gets nothing more; the others still do
 *   refused        a message from someone not in the room, and a removal signed in an
 *                  admin's name by another key, are refused (never shown, logged); two rooms
 *                  of one name must be named by id
 *   concurrent     two admins change the room at once: every member ends with the same
 *                  membership and epoch
 *   search         search with "room" finds that room's messages only (ours once, `to` the
 *                  room), not a 1:1 message; an unknown room, or "with" and "room" together,
 *                  are refused

 *   overtaken      carol's message reaches bob, just added, before alice's ADD does (bob
 *                  holds alice back by blocking her): refused for now, not lost; it comes
 *                  exactly once after the ADD
 *   late_admin     bob, a second admin, removes carol while alice adds dave (at once: bob
 *                  has not seen the ADD): alice forwards bob's change, so dave ends with the
 *                  same membership as alice and bob
 *   order          the overtaken race, forced: carol's second copy leaves while bob's refusal
 *                  of her first is on its way back and bob has the ADD by then; bob still
 *                  gets 1, 2, 3 in carol's order, each once (core_room_hold.c) */
#include "direct_peer.h"
#include "mim_crypto.h"
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NMAX 5

static const char *const names[NMAX] = {"alice", "bob", "carol", "dave", "erin"};

/* The fixture's three peers and, for five, two more of the test's own (freed by it). */
static mp *peers_up(fixture *f, mp **ps, size_t n, mp *extra)
{
    for (size_t i = 0; i < n; i++) {
        ps[i] = i < 3 ? &f->peers[i] : &extra[i - 3];
        if (i >= 3)
            mp_init(ps[i], f, names[i], names[i]);
        start_peer(f, ps[i]);
    }
    for (size_t i = 1; i < n; i++)
        see_each_other(ps[0], ps[i]);
    return ps[0];
}

/* The room's id from the room event on p after from, that has `epoch` (0: any). */
static const char *room_event(mp *p, size_t from, long epoch)
{
    for (;;) {
        long i = mp_wait(p, from, "room", NULL, NULL, WAIT_MS);
        json_t *ev;
        if (i < 0) {
            mp_dump(p);
            fail_msg("%s: no room event", p->name);
        }
        ev = p->ev[i];
        if (epoch == 0 || json_integer_value(json_object_get(ev, "epoch")) == epoch)
            return sfield(ev, "id");
        from = (size_t)i + 1;
    }
}

/* alice creates room "lab" with ps[1..n): every member gets the room event. The id. */
static const char *make_room(mp **ps, size_t n, char id[33])
{
    char members[256] = "";
    size_t p0[NMAX];

    for (size_t i = 1; i < n; i++)
        snprintf(members + strlen(members), sizeof(members) - strlen(members), "%s\"%s\"",
                 i > 1 ? "," : "", ps[i]->name);
    for (size_t i = 0; i < n; i++)
        p0[i] = ps[i]->nev;
    mp_cmd(ps[0], "{\"cmd\":\"room_create\",\"room\":\"lab\",\"members\":[%s],\"tag\":\"mk\"}",
           members);
    snprintf(id, 33, "%s", room_event(ps[0], p0[0], 1));
    for (size_t i = 1; i < n; i++)
        assert_string_equal(room_event(ps[i], p0[i], 1), id);
    return id;
}

/* Member i's k-th message of the round. */
static void text_of(char *out, size_t cap, size_t i, int k)
{
    snprintf(out, cap, "%s says %d", names[i], k);
}

/* Each member sends `per` messages; each other member gets each once, in its sender's order. */
static void all_talk(mp **ps, size_t n, int per)
{
    size_t p0[NMAX];
    char text[64];

    for (size_t i = 0; i < n; i++)
        p0[i] = ps[i]->nev;
    for (int k = 0; k < per; k++)
        for (size_t i = 0; i < n; i++) {
            text_of(text, sizeof(text), i, k);
            mp_cmd(ps[i], "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"%s\"}", text);
        }
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < n; i++) {
            long last = -1;
            if (i == r)
                continue;
            for (int k = 0; k < per; k++) {
                long at;
                text_of(text, sizeof(text), i, k);
                at = mp_wait(ps[r], p0[r], "message", "text", text, WAIT_MS);
                if (at < 0 || at < last) {
                    mp_dump(ps[r]);
                    fail_msg("%s: '%s' missing or out of order", ps[r]->name, text);
                }
                assert_string_equal(sfield(ps[r]->ev[at], "room"), "lab");
                assert_string_equal(sfield(ps[r]->ev[at], "from"), names[i]);
                last = at;
            }
        }
    for (size_t r = 0; r < n; r++)
        mp_pump(ps[r], 100); /* a duplicate would have come by now */
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < n; i++)
            for (int k = 0; i != r && k < per; k++) {
                text_of(text, sizeof(text), i, k);
                assert_int_equal(mp_count_from(ps[r], p0[r], "message", "text", text), 1);
            }
}

/* The last "delivered" of a room message on p says delivered == of == want. */
static void delivered_all(mp *p, size_t from, long want)
{
    uint64_t until = now_ms() + WAIT_MS;

    while (now_ms() < until) {
        for (size_t i = from; i < p->nev; i++) {
            json_t *ev = p->ev[i];
            if (matches(ev, "delivered", "room", "lab") &&
                json_integer_value(json_object_get(ev, "of")) == want &&
                json_integer_value(json_object_get(ev, "delivered")) == want)
                return;
        }
        mp_pump(p, 100);
    }
    mp_dump(p);
    fail_msg("%s: no 'delivered %ld of %ld'", p->name, want, want);
}

static void run_members(fixture *f, size_t n)
{
    mp *ps[NMAX], extra[2];
    char id[33];
    size_t a0;

    memset(extra, 0, sizeof(extra));
    peers_up(f, ps, n, extra);
    make_room(ps, n, id);
    a0 = ps[0]->nev;
    all_talk(ps, n, 3);
    delivered_all(ps[0], a0, (long)n - 1);
    for (size_t i = 3; i < n; i++) {
        mp_quit(ps[i]);
        mp_cleanup(ps[i]);
    }
}

static void test_rooms_three(void **state)
{
    run_members(*state, 3);
}

static void test_rooms_five(void **state)
{
    run_members(*state, 5);
}

/* carol is away while alice writes twice: both come once carol starts again. */
static void test_rooms_offline(void **state)
{
    fixture *f = *state;
    mp *ps[3], *a, *c;
    char id[33];

    a = peers_up(f, ps, 3, NULL);
    c = ps[2];
    make_room(ps, 3, id);
    mp_quit(c);
    mp_cmd(a, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"while you were out 1\"}");
    mp_cmd(a, "{\"cmd\":\"room_send\",\"room\":\"%s\",\"text\":\"while you were out 2\"}", id);
    mp_expect(ps[1], 0, "message", "text", "while you were out 2");
    mp_restart(c, f->srv.port);
    assert_true(mp_wait(c, 0, "message", "text", "while you were out 1", WAIT_MS) <
                mp_wait(c, 0, "message", "text", "while you were out 2", WAIT_MS));
    mp_pump(c, 300);
    assert_int_equal(mp_count(c, "message", "text", "while you were out 1"), 1);
    assert_int_equal(mp_count(c, "message", "text", "while you were out 2"), 1);
}

/* alice removes carol: carol is told, and gets nothing more; bob still does. */
static void test_rooms_removed(void **state)
{
    fixture *f = *state;
    mp *ps[3], *a, *b, *c;
    char id[33];
    size_t c0;
    json_t *ev;

    a = peers_up(f, ps, 3, NULL);
    b = ps[1];
    c = ps[2];
    make_room(ps, 3, id);
    c0 = c->nev;
    mp_cmd(a, "{\"cmd\":\"room_remove\",\"room\":\"lab\",\"name\":\"carol\",\"tag\":\"rm\"}");
    mp_expect(a, 0, "ok", "tag", "rm");
    room_event(c, c0, 2);
    ev = c->ev[mp_wait(c, c0, "room", NULL, NULL, WAIT_MS)];
    assert_false(json_is_true(json_object_get(ev, "member")));
    mp_cmd(a, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"after carol left\"}");
    mp_expect(b, 0, "message", "text", "after carol left");
    mp_pump(c, ABSENT_MS);
    assert_int_equal(mp_count(c, "message", "text", "after carol left"), 0);
    /* carol may no longer write to it either. */
    mp_cmd(c, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"still here?\",\"tag\":\"x\"}");
    ev = mp_expect(c, c0, "error", "tag", "x");
    assert_string_equal(sfield(ev, "code"), "not_member");
}

/* Bytes of 32 hex digits. */
static void unhex(const char *hex, uint8_t out[16])
{
    for (size_t i = 0; i < 16; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* carol, not a member of alice's room of alice and bob, plays her own peer (direct_peer.h):
 * her message to the room and a removal of bob she signed in alice's name are acked (not sent
 * again) and refused: bob shows nothing of them, stays a member, and logs why. Then two rooms
 * of one name are ambiguous by name. */
static void test_rooms_refused(void **state)
{
    fixture *f = *state;
    mp *ps[3], *a, *b, *c;
    Mim__RoomRef ref = MIM__ROOM_REF__INIT, ref2 = MIM__ROOM_REF__INIT;
    Mim__RoomChange ch = MIM__ROOM_CHANGE__INIT;
    Mim__RoomMember who = MIM__ROOM_MEMBER__INIT, *whop = &who;
    Mim__PeerMsg pm[2] = {MIM__PEER_MSG__INIT, MIM__PEER_MSG__INIT}, *msgs[2] = {&pm[0], &pm[1]};
    Mim__ChatMessage cm[2] = {MIM__CHAT_MESSAGE__INIT, MIM__CHAT_MESSAGE__INIT};
    uint8_t room[16], ids[2][16], prev[32] = {0}, sig[64] = {0};
    mim_identity *bob_id, *carol_id;
    char id[33];
    size_t b0, c0;
    int port;

    a = peers_up(f, ps, 3, NULL);
    b = ps[1];
    c = ps[2];
    make_room(ps, 2, id);
    unhex(id, room);
    see_each_other(b, c); /* bob takes sessions from peers it sees online */
    bob_id = load_identity(b);
    carol_id = load_identity(c);
    port = ready_port(mp_expect(b, 0, "ready", "name", "bob"));
    for (int i = 0; i < 2; i++) {
        mim_random_bytes(ids[i], 16);
        cm[i].id = (ProtobufCBinaryData){16, ids[i]};
        cm[i].ts_ms = 1700000000000;
        cm[i].sender = "carol";
        pm[i].body_case = MIM__PEER_MSG__BODY_CHAT;
        pm[i].chat = &cm[i];
    }
    ref.id = ref2.id = (ProtobufCBinaryData){16, room};
    ref.epoch = 1;
    cm[0].type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    cm[0].text = "i am not in it";
    cm[0].room = &ref;
    who.name = "bob";
    ch.room = ref.id;
    ch.epoch = ref2.epoch = 2;
    ch.prev = (ProtobufCBinaryData){32, prev};
    ch.op = MIM__ROOM_OP__ROOM_REMOVE;
    ch.author = "alice";
    ch.n_members = 1;
    ch.members = &whop;
    mim_random_bytes(sig, sizeof(sig)); /* not alice's signature */
    ch.signature = (ProtobufCBinaryData){64, sig};
    cm[1].type = MIM__CONTENT_TYPE__CONTENT_ROOM_CHANGE;
    cm[1].room = &ref2;
    cm[1].change = &ch;
    b0 = b->nev;
    assert_int_equal(direct_send_msgs(carol_id, "carol", port, bob_id->sign_pk, "bob", msgs, 2), 2);
    mp_expect_log(b, "not a member at epoch 1: refused");
    mp_expect_log(b, "forged");
    mp_cmd(a, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"members only\"}");
    mp_expect(b, b0, "message", "text", "members only");
    assert_int_equal(mp_count_from(b, b0, "message", "text", "i am not in it"), 0);
    assert_int_equal(mp_count_from(b, b0, "room", NULL, NULL), 0); /* bob was not removed */

    /* carol makes a room "lab" with bob too: by name, bob's "lab" is ambiguous now. */
    c0 = c->nev;
    mp_cmd(c, "{\"cmd\":\"room_create\",\"room\":\"lab\",\"members\":[\"bob\"]}");
    room_event(c, c0, 1);
    room_event(b, b0, 1);
    mp_cmd(b, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"which?\",\"tag\":\"amb\"}");
    assert_string_equal(sfield(mp_expect(b, b0, "error", "tag", "amb"), "code"), "ambiguous_room");
    mim_identity_free(bob_id);
    mim_identity_free(carol_id);
}

/* The membership event of p: the last room event's members, sorted, and epoch. */
static void final_view(mp *p, char *out, size_t cap)
{
    long i = -1;
    json_t *m;
    char list[NMAX][64];
    size_t n = 0;

    for (size_t k = 0; k < p->nev; k++)
        if (matches(p->ev[k], "room", NULL, NULL))
            i = (long)k;
    assert_true(i >= 0);
    m = json_object_get(p->ev[i], "members");
    for (size_t k = 0; k < json_array_size(m) && n < NMAX; k++)
        snprintf(list[n++], 64, "%s", json_string_value(json_array_get(m, k)));
    qsort(list, n, sizeof(list[0]), (int (*)(const void *, const void *))strcmp);
    snprintf(out, cap,
             "epoch %lld:", (long long)json_integer_value(json_object_get(p->ev[i], "epoch")));
    for (size_t k = 0; k < n; k++)
        snprintf(out + strlen(out), cap - strlen(out), " %s", list[k]);
}

/* alice makes bob an admin; then, at once, alice removes dave and bob removes carol: both
 * changes go on top of the same one (epoch 3) when neither has seen the other's yet. Whatever
 * the order they arrive in, alice, bob and carol end with the same membership and epoch (the
 * merge rule); dave is told he is out. */
static void test_rooms_concurrent(void **state)
{
    fixture *f = *state;
    mp *ps[4], extra[2], *a, *b, *c, *d;
    char id[33], va[256], vb[256], vc[256], vd[256];
    size_t n0[4];

    memset(extra, 0, sizeof(extra));
    a = peers_up(f, ps, 4, extra);
    b = ps[1];
    c = ps[2];
    d = ps[3];
    make_room(ps, 4, id);
    mp_cmd(a, "{\"cmd\":\"room_admin\",\"room\":\"lab\",\"name\":\"bob\",\"tag\":\"ad\"}");
    for (size_t i = 0; i < 4; i++)
        room_event(ps[i], 0, 2);
    for (size_t i = 0; i < 4; i++)
        n0[i] = ps[i]->nev;
    mp_cmd(a, "{\"cmd\":\"room_remove\",\"room\":\"lab\",\"name\":\"dave\"}");
    mp_cmd(b, "{\"cmd\":\"room_remove\",\"room\":\"lab\",\"name\":\"carol\"}");
    /* Everyone sees epoch 3 (one of the two, or both); then the views settle. */
    for (size_t i = 0; i < 4; i++)
        room_event(ps[i], n0[i], 3);
    mp_pump_all(ps, 4, 1500);
    final_view(a, va, sizeof(va));
    final_view(b, vb, sizeof(vb));
    final_view(c, vc, sizeof(vc));
    assert_string_equal(va, vb);
    assert_string_equal(va, vc);
    final_view(d, vd, sizeof(vd)); /* dave, removed, saw at least his removal */
    assert_null(strstr(vd, "dave"));
    mp_quit(d);
    mp_cleanup(d);
}

/* A search on p with fields (tagged tag) is refused with code. */
static void search_refused(mp *p, const char *fields, const char *tag, const char *code)
{
    mp_cmd(p, "{\"cmd\":\"search\",\"query\":\"lunch\",%s,\"tag\":\"%s\"}", fields, tag);
    assert_string_equal(sfield(mp_expect(p, 0, "error", "tag", tag), "code"), code);
}

static void test_rooms_search(void **state)
{
    fixture *f = *state;
    mp *ps[3], *a, *b;
    json_t *res;
    char id[33];
    size_t a0;

    a = peers_up(f, ps, 3, NULL);
    b = ps[1];
    make_room(ps, 3, id);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"lunch in the lab\"}");
    delivered_all(a, a0, 2);
    mp_cmd(b, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"lunch alone\"}");
    mp_cmd(b, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"lunch at noon\"}");
    mp_expect(a, a0, "message", "text", "lunch alone");
    mp_expect(a, a0, "message", "text", "lunch at noon");
    mp_cmd(a, "{\"cmd\":\"search\",\"query\":\"lunch\",\"room\":\"lab\",\"tag\":\"s\"}");
    res = json_object_get(mp_expect(a, 0, "search", "tag", "s"), "results");
    assert_int_equal(json_array_size(res), 2); /* newest first; ours once, not per copy */
    assert_string_equal(sfield(json_array_get(res, 0), "text"), "lunch at noon");
    assert_string_equal(sfield(json_array_get(res, 0), "from"), "bob");
    assert_string_equal(sfield(json_array_get(res, 1), "text"), "lunch in the lab");
    assert_string_equal(sfield(json_array_get(res, 1), "from"), "alice");
    assert_string_equal(sfield(json_array_get(res, 1), "to"), "lab");
    mp_cmd(a, "{\"cmd\":\"search\",\"query\":\"lunch\",\"room\":\"%s\",\"tag\":\"i\"}", id);
    res = json_object_get(mp_expect(a, 0, "search", "tag", "i"), "results");
    assert_int_equal(json_array_size(res), 2); /* by its id as well */
    search_refused(a, "\"room\":\"nosuch\"", "u", "unknown_room");
    search_refused(a, "\"room\":\"lab\",\"with\":\"bob\"", "w", "bad_field");
}

/* alice makes a room with carol, then adds bob while bob blocks her (her sessions refused,
 * her letters not taken): carol has the ADD, bob not. carol's message reaches bob first: bob
 * asks for it again later (logged), shows nothing. Once bob unblocks alice, her ADD comes,
 * then carol's message, exactly once. */
static void test_rooms_overtaken(void **state)
{
    fixture *f = *state;
    mp *ps[3], *a, *b, *c;
    char id[33];
    size_t b0, c0;

    a = peers_up(f, ps, 3, NULL);
    b = ps[1];
    c = ps[2];
    see_each_other(b, c);
    mp_cmd(b, "{\"cmd\":\"block\",\"name\":\"alice\",\"tag\":\"bl\"}");
    mp_expect(b, 0, "ok", "tag", "bl");
    c0 = c->nev;
    mp_cmd(a, "{\"cmd\":\"room_create\",\"room\":\"lab\",\"members\":[\"carol\"]}");
    snprintf(id, sizeof(id), "%s", room_event(c, c0, 1));
    mp_cmd(a, "{\"cmd\":\"room_add\",\"room\":\"lab\",\"name\":\"bob\",\"tag\":\"add\"}");
    assert_string_equal(room_event(c, c0, 2), id);
    b0 = b->nev;
    mp_cmd(c, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"hello bob\"}");
    mp_expect_log(b, "for a room we do not know (yet): asked again later");
    mp_expect_log(c, "bob asks again later");
    mp_pump(b, 300);
    assert_int_equal(mp_count_from(b, b0, "message", "text", "hello bob"), 0);
    mp_cmd(b, "{\"cmd\":\"unblock\",\"name\":\"alice\",\"tag\":\"ub\"}");
    assert_string_equal(room_event(b, b0, 2), id);
    mp_expect_within(b, b0, "message", "text", "hello bob", 2 * WAIT_MS);
    mp_pump(b, ABSENT_MS);
    assert_int_equal(mp_count_from(b, b0, "message", "text", "hello bob"), 1);
}

/* mp's process stopped (SIGSTOP) or let go on (SIGCONT). */
static void mp_signal(const mp *p, int sig)
{
    assert_true(p->pid > 0);
    assert_int_equal(kill(p->pid, sig), 0);
}

/* As overtaken, with the race forced by stopping processes: bob (stopped) has carol's first
 * copy in its socket; carol (stopped) has her second room_send in its stdin; bob refuses the
 * first (its refusal waits in carol's socket), then takes alice's ADD; carol, let go on, sends
 * the second before she reads the refusal. Bob must not take the second before the first. */
static void test_rooms_order(void **state)
{
    fixture *f = *state;
    mp *ps[3], *a, *b, *c;
    size_t b0, c0;
    long at[3];
    char id[33], text[32];

    a = peers_up(f, ps, 3, NULL);
    b = ps[1];
    c = ps[2];
    see_each_other(b, c);
    exchange(c, b, "a session", "s", NULL);
    mp_cmd(b, "{\"cmd\":\"block\",\"name\":\"alice\",\"tag\":\"bl\"}");
    mp_expect(b, 0, "ok", "tag", "bl");
    c0 = c->nev;
    mp_cmd(a, "{\"cmd\":\"room_create\",\"room\":\"lab\",\"members\":[\"carol\"]}");
    snprintf(id, sizeof(id), "%s", room_event(c, c0, 1));
    mp_cmd(a, "{\"cmd\":\"room_add\",\"room\":\"lab\",\"name\":\"bob\"}");
    assert_string_equal(room_event(c, c0, 2), id);
    b0 = b->nev;
    c0 = c->nev;
    mp_signal(b, SIGSTOP);
    mp_cmd(c, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"order 1\"}");
    mp_expect(c, c0, "sent", "to", "bob");
    round_trip(c, "w1"); /* the frame is flushed a loop turn later: in bob's socket now */
    mp_signal(c, SIGSTOP);
    mp_cmd(c, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"order 2\"}");
    mp_signal(b, SIGCONT);
    mp_expect_log(b, "for a room we do not know (yet): asked again later");
    mp_cmd(b, "{\"cmd\":\"unblock\",\"name\":\"alice\",\"tag\":\"ub\"}");
    assert_string_equal(room_event(b, b0, 2), id);
    mp_signal(c, SIGCONT);
    mp_cmd(c, "{\"cmd\":\"room_send\",\"room\":\"lab\",\"text\":\"order 3\"}");
    mp_expect_within(b, b0, "message", "text", "order 3", 2 * WAIT_MS);
    mp_pump(b, ABSENT_MS);
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof(text), "order %d", k + 1);
        assert_int_equal(mp_count_from(b, b0, "message", "text", text), 1);
        at[k] = mp_index_of(b, b0, "message", "text", text);
    }
    if (!(at[0] < at[1] && at[1] < at[2])) {
        mp_dump(b);
        fail_msg("bob got carol's messages out of order: %ld %ld %ld", at[0], at[1], at[2]);
    }
}

/* alice makes bob an admin of alice, bob, carol; at once alice adds dave and bob removes
 * carol, both on epoch 2: bob does not send to dave (not a member for him), dave gets bob's
 * removal forwarded by alice. All three agree in the end. */
static void test_rooms_late_admin(void **state)
{
    fixture *f = *state;
    mp *ps[4], extra[2], *a, *b, *d;
    char id[33], va[256], vb[256], vd[256];
    size_t d0;

    memset(extra, 0, sizeof(extra));
    a = peers_up(f, ps, 4, extra);
    b = ps[1];
    d = ps[3];
    make_room(ps, 3, id);
    mp_cmd(a, "{\"cmd\":\"room_admin\",\"room\":\"lab\",\"name\":\"bob\"}");
    room_event(b, 0, 2);
    room_event(ps[2], 0, 2);
    d0 = d->nev;
    mp_cmd(a, "{\"cmd\":\"room_add\",\"room\":\"lab\",\"name\":\"dave\"}");
    mp_cmd(b, "{\"cmd\":\"room_remove\",\"room\":\"lab\",\"name\":\"carol\"}");
    assert_string_equal(room_event(d, d0, 0), id);
    for (uint64_t until = now_ms() + 2 * WAIT_MS; now_ms() < until;) {
        mp_pump_all(ps, 4, 300);
        final_view(a, va, sizeof(va));
        final_view(b, vb, sizeof(vb));
        final_view(d, vd, sizeof(vd));
        if (strcmp(va, vb) == 0 && strcmp(va, vd) == 0)
            break;
    }
    assert_string_equal(va, vb);
    assert_string_equal(va, vd);
    assert_null(strstr(va, "carol"));
    assert_non_null(strstr(va, "dave"));
    mp_quit(d);
    mp_cleanup(d);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(rooms_three),   PE_SCENARIO(rooms_five),      PE_SCENARIO(rooms_offline),
    PE_SCENARIO(rooms_removed), PE_SCENARIO(rooms_refused),   PE_SCENARIO(rooms_concurrent),
    PE_SCENARIO(rooms_search),  PE_SCENARIO(rooms_overtaken), PE_SCENARIO(rooms_late_admin),
    PE_SCENARIO(rooms_order),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-rooms");
}
