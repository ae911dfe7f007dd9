/* End-to-end tests of a conversation between `mim --json` peers: the real mim-presence
 * (peer_env.c) and real mim processes driven through pipes (mim_proc.h), one JSON command per
 * line in, one event per line out, and a peer of the test's own (direct_peer.h) where a scenario
 * sends what mim itself does not send yet. Waits are bounded polls on the processes' stdout,
 * never sleeps. Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   two_peers            two peers see each other and talk both ways, with sent and delivered
 *   close_and_status     chat_closed on the other side; status changes reach the other peer
 *   close_in_batch       a message and a close in one frame: message, then chat_closed, and no
 *                        chat_opened after it
 *   history              the last N messages, in order, with from/to/state on both sides
 *   unsupported_content  an image in two pieces and a content type of a later version, then a
 *                        text, in one frame: all acked, the session stays up, the image shown
 *                        once as not supported, history lists what was shown; --trace logs
 *                        each message decrypted and each one sent
 *   hostile_fields       the longest multi-byte file name and media type, and a time of 2^64-1:
 *                        the description is whole, the time is the time of receipt */
#include "direct_peer.h"
#include "mim_codec.h"
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
#include <time.h>

#include <cmocka.h>

/* Two peers see each other and talk both ways, with sent and delivered. */
static void test_two_peers(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello bob", "a1", NULL);
    mp_expect(b, 0, "chat_opened", "with", "alice");
    exchange(b, a, "hello alice, \xc3\xa9t\xc3\xa9", "b1", NULL);
    exchange(a, b, "second", "a2", NULL);
    assert_int_equal(mp_count(b, "chat_opened", NULL, NULL), 1);
    assert_int_equal(mp_count(b, "message", "from", "alice"), 2);
    assert_int_equal(mp_count(a, "message", "from", "bob"), 1);
    mp_quit(a);
    mp_quit(b);
}

/* close: the other side gets chat_closed (and a new message opens the chat again); status: the
 * other side gets the change, and `who` shows it. */
static void test_close_and_status(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *ev;
    size_t a0, b0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "open", "c1", NULL);
    exchange(b, a, "yes", "c2", NULL);
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 1);
    assert_int_equal(mp_count(a, "chat_opened", NULL, NULL), 0); /* alice started it */

    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"close\",\"with\":\"bob\",\"tag\":\"x\"}");
    ev = mp_expect(a, a0, "ok", "tag", "x");
    assert_string_equal(sfield(ev, "cmd"), "close");
    mp_expect(b, b0, "chat_closed", "with", "alice");
    assert_int_equal(mp_count(a, "chat_closed", NULL, NULL), 0);
    /* bob writes again: alice's conversation opens again (a new pop-up). */
    exchange(b, a, "one more thing", "c3", NULL);
    mp_expect(a, a0, "chat_opened", "with", "bob");

    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"away\",\"text\":\"out for lunch\",\"tag\":\"s\"}");
    ev = mp_expect(a, a0, "ok", "tag", "s");
    assert_string_equal(sfield(ev, "cmd"), "status");
    ev = mp_expect(b, b0, "status", "name", "alice");
    assert_string_equal(sfield(ev, "state"), "away");
    assert_string_equal(sfield(ev, "text"), "out for lunch");
    ev = mp_expect(a, a0, "status", "name", "alice"); /* ours, confirmed by the server */
    assert_string_equal(sfield(ev, "state"), "away");
    assert_string_equal(sfield(ev, "text"), "out for lunch");

    b0 = round_trip(b, "w");
    ev = mp_find2(b, b0, "online", "tag", "w", "name", "alice");
    if (ev == NULL) {
        mp_dump(b);
        fail_msg("bob's who does not list alice");
    }
    assert_string_equal(sfield(ev, "status"), "away");
    assert_string_equal(sfield(ev, "text"), "out for lunch");
    a0 = round_trip(a, "w");
    assert_null(mp_find2(a, a0, "online", "tag", "w", "name", "alice")); /* never ourselves */
    mp_quit(a);
    mp_quit(b);
}

/* A message and a close in one frame: the receiver shows the message, then chat_closed, and
 * does not open the chat again for that message. */
static void test_close_in_batch(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    size_t b0;
    long im, ic;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "open", "c1", NULL); /* the session is open: both commands go in one frame */
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 1);

    b0 = b->nev;
    mp_write_once(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"last words\",\"tag\":\"m\"}\n"
                     "{\"cmd\":\"close\",\"with\":\"bob\",\"tag\":\"x\"}\n");
    mp_expect(a, 0, "ok", "tag", "x");
    mp_expect(b, b0, "chat_closed", "with", "alice");
    mp_expect(b, b0, "message", "text", "last words");
    round_trip(b, "w");
    im = mp_index_of(b, b0, "message", "text", "last words");
    ic = mp_index_of(b, b0, "chat_closed", "with", "alice");
    if (!(im >= 0 && ic > im) || mp_count(b, "chat_opened", NULL, NULL) != 1) {
        mp_dump(b);
        fail_msg("bob did not see the message, then chat_closed, and no second chat_opened");
    }
    mp_quit(a);
    mp_quit(b);
}

/* Checks one history entry. */
static void check_item(const json_t *m, const char *id, const char *from, const char *to,
                       const char *text, const char *state)
{
    assert_true(json_is_object(m));
    assert_string_equal(sfield(m, "id"), id);
    assert_string_equal(sfield(m, "from"), from);
    assert_string_equal(sfield(m, "to"), to);
    assert_string_equal(sfield(m, "text"), text);
    assert_string_equal(sfield(m, "state"), state);
    assert_true(json_is_integer(json_object_get(m, "ts")));
}

/* 3 messages each way; history with limit 4 gives the last 4, oldest first, on both sides. */
static void test_history(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static const char *const texts[6] = {"a one", "b one", "a two", "b two", "a three", "b three"};
    char ids[6][33], tag[8];

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    for (int i = 0; i < 6; i++) {
        snprintf(tag, sizeof(tag), "m%d", i);
        if (i % 2 == 0)
            exchange(a, b, texts[i], tag, ids[i]);
        else
            exchange(b, a, texts[i], tag, ids[i]);
    }
    for (int side = 0; side < 2; side++) {
        mp *p = side == 0 ? a : b;
        const char *with = side == 0 ? "bob" : "alice";
        json_t *h, *msgs;
        int64_t last_ts = 0;

        mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"limit\":4,\"tag\":\"h\"}", with);
        h = mp_expect(p, 0, "history", "tag", "h");
        assert_string_equal(sfield(h, "with"), with);
        msgs = json_object_get(h, "messages");
        assert_true(json_is_array(msgs));
        if (json_array_size(msgs) != 4) {
            mp_dump(p);
            fail_msg("%s: history has %zu messages, not 4", p->name, json_array_size(msgs));
        }
        for (int k = 0; k < 4; k++) {
            int i = 2 + k; /* the last 4 of 6 */
            int outgoing = (i % 2 == 0) == (side == 0);
            const json_t *m = json_array_get(msgs, (size_t)k);
            check_item(m, ids[i], i % 2 == 0 ? "alice" : "bob", i % 2 == 0 ? "bob" : "alice",
                       texts[i], outgoing ? "delivered" : "received");
            /* Each was sent after the previous one was delivered: ts do not go back. */
            assert_true(json_integer_value(json_object_get(m, "ts")) >= last_ts);
            last_ts = json_integer_value(json_object_get(m, "ts"));
        }
    }
    /* The default limit covers all 6. */
    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"bob\",\"tag\":\"all\"}");
    {
        json_t *h = mp_expect(a, 0, "history", "tag", "all");
        json_t *msgs = json_object_get(h, "messages");
        assert_int_equal(json_array_size(msgs), 6);
        check_item(json_array_get(msgs, 0), ids[0], "alice", "bob", texts[0], "delivered");
    }
    mp_quit(a);
    mp_quit(b);
}

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

/* What carol sends in one frame: an image in two pieces, a content type of a later version (42),
 * then a text. */
typedef struct carol_batch {
    Mim__Chunk k0, k1;
    chat_msg img0, img1, later, text;
    Mim__PeerMsg *msgs[4];
} carol_batch;

static void carol_batch_init(carol_batch *cb)
{
    static uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static uint8_t item[MIM_MSG_ID_LEN] = {1, 2, 3};

    mim__chunk__init(&cb->k0);
    cb->k0.index = 0;
    cb->k0.count = 2;
    cb->k0.data.data = png;
    cb->k0.data.len = sizeof(png);
    cb->k0.media_type = "image/png";
    cb->k0.file_name = "cat.png";
    cb->k0.item.data = item;
    cb->k0.item.len = sizeof(item);
    cb->k1 = cb->k0;
    cb->k1.index = 1;
    chat_init(&cb->img0, "carol", MIM__CONTENT_TYPE__CONTENT_IMAGE, "my cat");
    cb->img0.c.chunk = &cb->k0;
    chat_init(&cb->img1, "carol", MIM__CONTENT_TYPE__CONTENT_IMAGE, "");
    cb->img1.c.chunk = &cb->k1;
    chat_init(&cb->later, "carol", 42, "");
    chat_init(&cb->text, "carol", MIM__CONTENT_TYPE__CONTENT_TEXT, "and some text");
    cb->msgs[0] = &cb->img0.m;
    cb->msgs[1] = &cb->img1.m;
    cb->msgs[2] = &cb->later.m;
    cb->msgs[3] = &cb->text.m;
}

/* Content this version cannot show (an image in two pieces, a type of a later version) and a
 * text, in one frame from carol's own session: all acked, each shown once, listed in history. */
static void test_unsupported_content(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *c = &f->peers[2];
    carol_batch cb;
    Mim__PeerMsg **msgs = cb.msgs;
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

    carol_batch_init(&cb);

    a0 = a->nev;
    /* Every one acked: stored, and the session went on after the unknown types. */
    assert_int_equal(direct_send_msgs(carol_id, "carol", port, alice_id->sign_pk, "alice", msgs, 4),
                     4);
    mp_expect(a, a0, "message", "text", "and some text");
    round_trip(a, "w");
    if (mp_count_from(a, a0, "message", "from", "carol") != 3) {
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
    assert_int_equal(mp_count_from(a, a0, "message", NULL, NULL), 0);

    mim_identity_free(carol_id);
    mim_identity_free(alice_id);
    mp_quit(a);
    mp_quit(c);
}

/* n copies of the 3-byte "\u20ac" (and a NUL) into out. */
static void euros(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 3 * i, "\xe2\x82\xac", 3);
    out[3 * n] = '\0';
}

/* What a test peer may send that once came out wrong (issue 12, findings 9 and 10): a file whose
 * name and media type are the longest allowed, of 3-byte characters (the description was cut
 * inside one, and the JSON event carried an empty text), and a text claiming the time 2^64-1
 * (shown as ts -1). Both arrive whole: the description names the file, the time is now. */
static void test_hostile_fields(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *c = &f->peers[2];
    static char file_name[MIM_FILE_NAME_MAX + 1], media_type[MIM_MEDIA_TYPE_MAX + 1];
    static uint8_t data[4] = {1, 2, 3, 4}, item[MIM_MSG_ID_LEN] = {9, 9};
    Mim__Chunk k;
    chat_msg file, late;
    Mim__PeerMsg *msgs[2] = {&file.m, &late.m};
    mim_identity *alice_id, *carol_id;
    json_t *ev, *ts;
    long long before = (long long)time(NULL) * 1000;
    size_t a0;
    int port;

    port = ready_port(start_peer(f, a));
    start_peer(f, c);
    see_each_other(a, c);
    alice_id = load_identity(a);
    carol_id = load_identity(c);
    /* 253 bytes: "a" and 84 characters of 3 bytes, so that the old 300-byte buffer ended 2 bytes
     * into a character of the media type. */
    file_name[0] = 'a';
    euros(file_name + 1, (MIM_FILE_NAME_MAX - 2) / 3);
    euros(media_type, MIM_MEDIA_TYPE_MAX / 3);
    mim__chunk__init(&k);
    k.count = 1;
    k.data.data = data;
    k.data.len = sizeof(data);
    k.media_type = media_type;
    k.file_name = file_name;
    k.item.data = item;
    k.item.len = sizeof(item);
    chat_init(&file, "carol", MIM__CONTENT_TYPE__CONTENT_FILE, "");
    file.c.chunk = &k;
    chat_init(&late, "carol", MIM__CONTENT_TYPE__CONTENT_TEXT, "from the end of time");
    late.c.ts_ms = UINT64_MAX;

    a0 = a->nev;
    assert_int_equal(direct_send_msgs(carol_id, "carol", port, alice_id->sign_pk, "alice", msgs, 2),
                     2);
    ev = mp_expect(a, a0, "message", "text", "from the end of time");
    ts = json_object_get(ev, "ts");
    assert_true(json_is_integer(ts));
    if (json_integer_value(ts) < before || json_integer_value(ts) > before + 3600 * 1000) {
        mp_dump(a);
        fail_msg("ts %lld: not the time of receipt", (long long)json_integer_value(ts));
    }
    ev = mp_find2(a, a0, "message", "type", "file", "from", "carol");
    assert_non_null(ev);
    if (sfield(ev, "text") == NULL || strstr(sfield(ev, "text"), file_name) == NULL ||
        strstr(sfield(ev, "text"), media_type) == NULL) {
        mp_dump(a);
        fail_msg("the file's description lost its name or media type");
    }
    mim_identity_free(carol_id);
    mim_identity_free(alice_id);
    mp_quit(a);
    mp_quit(c);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(two_peers), PE_SCENARIO(close_and_status),    PE_SCENARIO(close_in_batch),
    PE_SCENARIO(history),   PE_SCENARIO(unsupported_content), PE_SCENARIO(hostile_fields),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-chat");
}
