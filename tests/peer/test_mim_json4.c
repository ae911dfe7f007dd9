/* End-to-end tests of what makes a session trustworthy on a hostile path: the real mim-presence
 * and real `mim --json` processes, with the test's own pieces in between where a scenario needs
 * them (a frame-spoiling proxy, tamper_proxy.h; a peer of its own, direct_peer.h). Each scenario
 * is its own ctest entry (peer/json_<name>):
 *
 *   tampered_message     one bit of alice's first transport frame to bob (her message) is
 *                        flipped on the way: bob closes the session; alice's message goes back
 *                        to her outbox and is delivered, once, on the next session
 *   truncated_message    that frame is cut in half and the connection closed: the same
 *   tampered_ack         one bit of bob's ack is flipped: alice closes the session and sends the
 *                        message again; bob drops the copy by id and acks it, so alice gets
 *                        delivered and bob shows the message once
 *   chat_keepalive       with --keepalive 1, a live session outlasts several intervals (Pings
 *                        answered); a frozen peer (SIGSTOP) is found gone within two, and the
 *                        message written to it meanwhile is delivered, once, after it thaws
 *   trust_server         a server with a new key: server_key changed on every connect until
 *                        trust_server (a wrong fingerprint trusts nothing); then it matches
 *   unsupported_content  an image in two pieces and a content type of a later version, then a
 *                        text, in one frame: all acked, the session stays up, the image shown
 *                        once as not supported, history lists what was shown; --trace logs
 *                        each message decrypted and each one sent */
#include "direct_peer.h"
#include "mim_codec.h"
#include "mim_proc.h"
#include "tamper_proxy.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static int setup(void **state)
{
    return fixture_setup(state, "json4");
}

/* Events of p at index >= from that match. */
static size_t count_from(const mp *p, size_t from, const char *event, const char *key,
                         const char *val)
{
    size_t n = 0;
    for (size_t i = from; i < p->nev; i++)
        n += matches(p->ev[i], event, key, val);
    return n;
}

/* Waits (bounded) for a line with needle in p's log. */
static void expect_log(const mp *p, const char *needle)
{
    uint64_t deadline = now_ms() + WAIT_MS;

    while (pe_file_count(p->log, needle) == 0) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        if (now_ms() >= deadline)
            fail_msg("no line with '%s' in %s", needle, p->log);
        nanosleep(&tick, NULL); /* a bounded poll of another process's file */
    }
}

/* The frame numbers of one direction of a peer session (docs/PROTOCOL.md 4 and 5.1): the
 * dialler sends message 1, message 3, its stream header, then transport frames; the answerer
 * message 2, its header, then transport frames. */
enum { DIALLER_FIRST_TRANSPORT = 3, ANSWERER_FIRST_TRANSPORT = 2 };

/* alice writes to bob through a proxy that spoils one frame of the first session; the message
 * must arrive exactly once, and the side that got the spoiled frame must say why it closed. */
static void spoiled_session(void **state, enum tp_dir dir, unsigned frame, enum tp_action action,
                            int victim_is_bob, const char *reason)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    tamper_proxy tp;
    char port[16];
    json_t *on;
    size_t a0, b0;

    assert_int_equal(tamper_proxy_start(&tp, 0, dir, frame, action, 1), 0);
    snprintf(port, sizeof(port), "%d", tp.port);
    b->extra[0] = "--advertise-port";
    b->extra[1] = port;
    start_peer(f, a);
    atomic_store(&tp.target_port, ready_port(start_peer(f, b)));
    see_each_other(a, b);
    /* alice is told to dial the proxy. */
    on = mp_expect(a, 0, "online", "name", "bob");
    assert_int_equal(json_integer_value(json_object_get(on, "port")), tp.port);

    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"through the middle\",\"tag\":\"t1\"}");
    /* The first session dies; the outbox redials (every MIM_CORE_TICK_MS) through a proxy that
     * lets the second one be. */
    mp_expect(a, a0, "delivered", "tag", "t1");
    round_trip(b, "w");
    round_trip(a, "w");
    expect_log(victim_is_bob ? b : a, reason);
    if (count_from(b, b0, "message", "text", "through the middle") != 1 ||
        count_from(a, a0, "delivered", "tag", "t1") != 1) {
        mp_dump(a);
        mp_dump(b);
        fail_msg("the message was not delivered exactly once");
    }
    assert_int_equal(atomic_load(&tp.spoiled), 1);
    assert_true(atomic_load(&tp.connections) >= 2);
    /* The session that replaced it works both ways. */
    exchange(b, a, "and back", "r1", NULL);
    mp_quit(a);
    mp_quit(b);
    tamper_proxy_stop(&tp);
}

static void test_tampered_message(void **state)
{
    spoiled_session(state, TP_TO_TARGET, DIALLER_FIRST_TRANSPORT, TP_FLIP, 1, "decryption failed");
}

static void test_truncated_message(void **state)
{
    spoiled_session(state, TP_TO_TARGET, DIALLER_FIRST_TRANSPORT, TP_TRUNCATE, 1,
                    "connection ended inside a frame");
}

static void test_tampered_ack(void **state)
{
    spoiled_session(state, TP_FROM_TARGET, ANSWERER_FIRST_TRANSPORT, TP_FLIP, 0,
                    "decryption failed");
}

/* ---- keepalive ---------------------------------------------------------------------------------
 */

static void test_chat_keepalive(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    mp *both[2] = {a, b};
    size_t a0, b0;

    a->extra[0] = b->extra[0] = "--keepalive";
    a->extra[1] = b->extra[1] = "1";
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello", "h1", NULL);

    /* Three intervals of silence: Pings and Pongs keep the one session up. */
    mp_pump_all(both, 2, 3500);
    assert_int_equal(pe_file_count(a->log, "no answer to keepalive"), 0);
    assert_int_equal(pe_file_count(b->log, "no answer to keepalive"), 0);
    assert_int_equal(pe_file_count(a->log, "chat session with bob closed"), 0);
    assert_int_equal(pe_file_count(b->log, "chat session with alice closed"), 0);

    /* bob freezes: the TCP connection stays up, nothing answers. */
    assert_int_equal(kill(b->pid, SIGSTOP), 0);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"while frozen\",\"tag\":\"f1\"}");
    mp_expect(a, a0, "sent", "tag", "f1");
    expect_log(a, "no answer to keepalive");
    b0 = b->nev;
    assert_int_equal(kill(b->pid, SIGCONT), 0);
    mp_expect(a, a0, "delivered", "tag", "f1");
    mp_expect(b, b0, "message", "text", "while frozen");
    round_trip(b, "w");
    round_trip(a, "w");
    if (count_from(b, 0, "message", "text", "while frozen") != 1 ||
        count_from(a, a0, "delivered", "tag", "f1") != 1) {
        mp_dump(a);
        mp_dump(b);
        fail_msg("the message was not delivered exactly once");
    }
    mp_quit(a);
    mp_quit(b);
}

/* ---- the server's key -------------------------------------------------------------------------
 */

static void test_trust_server(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    pe_server s2;
    json_t *ev;
    char old_fp[64], new_fp[64];
    size_t a0;

    start_peer(f, a);
    ev = mp_expect(a, 0, "server_key", "verdict", "new");
    snprintf(old_fp, sizeof(old_fp), "%s", sfield(ev, "fingerprint"));
    /* Nothing to trust yet. */
    mp_cmd(a, "{\"cmd\":\"trust_server\",\"tag\":\"t0\"}");
    mp_expect(a, 0, "error", "tag", "t0");

    /* Another server (another key) takes the same port. */
    assert_int_equal(pe_server_init(&s2, "json4-srv2"), 0);
    pe_server_kill(&f->srv);
    a0 = a->nev;
    assert_int_equal(pe_server_start(&s2, f->srv.port), 0);
    ev = mp_expect(a, a0, "server_key", "verdict", "changed");
    snprintf(new_fp, sizeof(new_fp), "%s", sfield(ev, "fingerprint"));
    assert_string_equal(sfield(ev, "old_fingerprint"), old_fp);
    assert_string_equal(new_fp, s2.fingerprint);

    /* A fingerprint that is not the new key's trusts nothing. */
    mp_cmd(a, "{\"cmd\":\"trust_server\",\"fingerprint\":\"%s\",\"tag\":\"t1\"}", old_fp);
    assert_string_equal(sfield(mp_expect(a, a0, "error", "tag", "t1"), "code"), "bad_field");
    mp_quit(a);
    a0 = 0;
    mp_restart(a, f->srv.port);
    mp_expect(a, a0, "server_key", "verdict", "changed");

    mp_cmd(a, "{\"cmd\":\"trust_server\",\"fingerprint\":\"%s\",\"tag\":\"t2\"}", new_fp);
    mp_expect(a, a0, "ok", "tag", "t2");
    mp_quit(a);
    mp_restart(a, f->srv.port);
    ev = mp_expect(a, 0, "server_key", "fingerprint", new_fp);
    assert_string_equal(sfield(ev, "verdict"), "match");
    mp_quit(a);
    pe_server_cleanup(&s2);
}

/* ---- content this version cannot show ----------------------------------------------------------
 */

typedef struct chat_msg {
    Mim__PeerMsg m;
    Mim__ChatMessage c;
    uint8_t id[MIM_MSG_ID_LEN];
} chat_msg;

static void chat_init(chat_msg *x, const char *sender, int type, const char *text)
{
    mim__peer_msg__init(&x->m);
    mim__chat_message__init(&x->c);
    mim_random_bytes(x->id, sizeof(x->id));
    x->c.id.data = x->id;
    x->c.id.len = sizeof(x->id);
    x->c.ts_ms = (uint64_t)time(NULL) * 1000;
    x->c.sender = (char *)sender;
    x->c.type = (Mim__ContentType)type;
    x->c.text = (char *)text;
    x->m.body_case = MIM__PEER_MSG__BODY_CHAT;
    x->m.chat = &x->c;
}

static void test_unsupported_content(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *c = &f->peers[2];
    static uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static uint8_t item[MIM_MSG_ID_LEN] = {1, 2, 3};
    Mim__Chunk k0 = MIM__CHUNK__INIT, k1 = MIM__CHUNK__INIT;
    chat_msg img0, img1, later, text;
    Mim__PeerMsg *msgs[4] = {&img0.m, &img1.m, &later.m, &text.m};
    mim_identity *alice_id, *carol_id;
    json_t *ev, *hist;
    size_t a0;
    int port;

    a->extra[0] = "--trace";
    port = ready_port(start_peer(f, a));
    start_peer(f, c);
    see_each_other(a, c);
    alice_id = load_identity(a);
    carol_id = load_identity(c);

    k0.index = 0;
    k0.count = 2;
    k0.data.data = png;
    k0.data.len = sizeof(png);
    k0.media_type = "image/png";
    k0.file_name = "cat.png";
    k0.item.data = item;
    k0.item.len = sizeof(item);
    k1 = k0;
    k1.index = 1;
    chat_init(&img0, "carol", MIM__CONTENT_TYPE__CONTENT_IMAGE, "my cat");
    img0.c.chunk = &k0;
    chat_init(&img1, "carol", MIM__CONTENT_TYPE__CONTENT_IMAGE, "");
    img1.c.chunk = &k1;
    chat_init(&later, "carol", 42, "");
    chat_init(&text, "carol", MIM__CONTENT_TYPE__CONTENT_TEXT, "and some text");

    a0 = a->nev;
    /* Every one acked: stored, and the session went on after the unknown types. */
    assert_int_equal(direct_send_msgs(carol_id, "carol", port, alice_id->sign_pk, "alice", msgs, 4),
                     4);
    mp_expect(a, a0, "message", "text", "and some text");
    round_trip(a, "w");
    if (count_from(a, a0, "message", "from", "carol") != 3) {
        mp_dump(a);
        fail_msg("alice should show 3 messages: the image once, type 42, the text");
    }
    ev = mp_find2(a, a0, "message", "type", "image", "from", "carol");
    assert_non_null(ev);
    assert_true(json_is_false(json_object_get(ev, "supported")));
    assert_non_null(strstr(sfield(ev, "text"), "\"cat.png\" (image/png, 2 parts)"));
    assert_non_null(strstr(sfield(ev, "text"), "not supported by this version of mim] my cat"));
    ev = mp_find2(a, a0, "message", "type", "type-42", "from", "carol");
    assert_non_null(ev);
    assert_true(json_is_false(json_object_get(ev, "supported")));
    ev = mp_find2(a, a0, "message", "text", "and some text", "from", "carol");
    assert_string_equal(sfield(ev, "type"), "text");
    assert_null(json_object_get(ev, "supported"));

    /* --trace: each message as it came out of the decryption. */
    assert_int_equal(pe_file_count(a->log, "trace carol -> alice: PeerMsg{chat: ChatMessage{"), 4);
    assert_int_equal(pe_file_count(a->log, "type: CONTENT_IMAGE, text: \"my cat\", chunk: "
                                           "Chunk{count: 2, data: 89504e470d0a1a0a(8 bytes), "
                                           "media_type: \"image/png\", file_name: \"cat.png\""),
                     1);
    assert_int_equal(pe_file_count(a->log, "trace alice -> carol: PeerMsg{ack: Ack{ids: ["), 1);

    /* The history: what was shown, with its type (the image's second piece is not listed). */
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"carol\",\"limit\":10}");
    hist = json_object_get(mp_expect(a, a0, "history", "with", "carol"), "messages");
    assert_int_equal(json_array_size(hist), 3);
    assert_string_equal(sfield(json_array_get(hist, 0), "type"), "image");
    assert_non_null(strstr(sfield(json_array_get(hist, 0), "text"), "cat.png"));
    assert_string_equal(sfield(json_array_get(hist, 1), "type"), "type-42");
    assert_string_equal(sfield(json_array_get(hist, 2), "type"), "text");
    assert_string_equal(sfield(json_array_get(hist, 2), "text"), "and some text");

    /* Sent again (a lost ack): acked again, shown no more. */
    a0 = a->nev;
    assert_int_equal(direct_send_msgs(carol_id, "carol", port, alice_id->sign_pk, "alice", msgs, 4),
                     4);
    round_trip(a, "w2");
    assert_int_equal(count_from(a, a0, "message", NULL, NULL), 0);

    mim_identity_free(carol_id);
    mim_identity_free(alice_id);
    mp_quit(a);
    mp_quit(c);
}

/* ---- send batches ------------------------------------------------------------------------------
 */

/* The index of the first event at index >= from with this tag (any event), or -1. */
static long first_tagged(const mp *p, size_t from, const char *tag)
{
    for (size_t i = from; i < p->nev; i++) {
        const char *t = sfield(p->ev[i], "tag");
        if (t != NULL && strcmp(t, tag) == 0)
            return (long)i;
    }
    return -1;
}

/* Several send commands in one read share one commit, and every answer still comes in the order
 * of the commands: the sends' (sent or queued), a bad send's error after the sends before it,
 * and the answer of a later command after all of them. */
static void test_send_batch(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    long i1, i2, ie, i3, ie2, i4, iw;
    size_t a0, b0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    a0 = a->nev;
    b0 = b->nev;
    /* One write (under PIPE_BUF, so one read): four good sends, a refused one between them and
     * a malformed one after them. */
    mp_send_line(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"one\",\"tag\":\"s1\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"two\",\"tag\":\"s2\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"nobody\",\"text\":\"x\",\"tag\":\"bad\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"three\",\"tag\":\"s3\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"four\",\"tag\":\"s4\"}\n"
                    "{\"cmd\":\"send\",\"to\":\"bob\",\"tag\":\"bad2\"}\n"
                    "{\"cmd\":\"who\",\"tag\":\"w\"}");
    mp_expect(a, a0, "who_end", "tag", "w");
    i1 = first_tagged(a, a0, "s1");
    i2 = first_tagged(a, a0, "s2");
    ie = first_tagged(a, a0, "bad");
    i3 = first_tagged(a, a0, "s3");
    ie2 = first_tagged(a, a0, "bad2");
    i4 = first_tagged(a, a0, "s4");
    iw = first_tagged(a, a0, "w");
    if (!(i1 >= 0 && i1 < i2 && i2 < ie && ie < i3 && i3 < i4 && i4 < ie2 && ie2 < iw)) {
        mp_dump(a);
        fail_msg("the answers are not in the order of the commands");
    }
    assert_true(matches(a->ev[ie], "error", "code", "unknown_peer"));
    assert_true(matches(a->ev[ie2], "error", "code", "missing_field"));
    for (size_t k = 1; k <= 4; k++) {
        char tag[8];
        snprintf(tag, sizeof(tag), "s%zu", k);
        mp_expect(a, a0, "delivered", "tag", tag);
    }
    /* Shown once each, in the order they were sent. */
    mp_expect(b, b0, "message", "text", "four");
    {
        const char *want[] = {"one", "two", "three", "four"};
        size_t k = 0;
        for (size_t i = b0; i < b->nev; i++)
            if (matches(b->ev[i], "message", NULL, NULL)) {
                assert_true(k < 4);
                assert_string_equal(sfield(b->ev[i], "text"), want[k++]);
            }
        assert_int_equal(k, 4);
    }
    /* The two sends before the refused one shared a commit, and so did the two after it. */
    assert_true(pe_file_count(a->log, "2 messages stored in one commit") >= 2);
    mp_quit(a);
    mp_quit(b);
}

static const pe_test tests[] = {
    {"tampered_message", test_tampered_message},
    {"truncated_message", test_truncated_message},
    {"tampered_ack", test_tampered_ack},
    {"unsupported_content", test_unsupported_content},
    {"chat_keepalive", test_chat_keepalive},
    {"trust_server", test_trust_server},
    {"send_batch", test_send_batch},
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup,
                        fixture_teardown);
}
