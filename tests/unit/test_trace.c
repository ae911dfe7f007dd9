/* --trace's rendering of protobuf messages (shared/mim_trace.c): every field kind, defaults
 * left out, one oneof arm, escaping of what could drive a terminal, and the length cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_trace.h"
#include "peer.pb-c.h"
#include "presence.pb-c.h"

#include <string.h>

static char out[MIM_TRACE_MAX];

static void test_chat_batch(void **state)
{
    Mim__PeerBatch b = MIM__PEER_BATCH__INIT;
    Mim__PeerMsg m = MIM__PEER_MSG__INIT, m2 = MIM__PEER_MSG__INIT;
    Mim__PeerMsg *msgs[2] = {&m, &m2};
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__Ack a = MIM__ACK__INIT;
    uint8_t id[16];
    ProtobufCBinaryData ids[1];
    (void)state;

    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xa0 + i);
    c.id.data = id;
    c.id.len = sizeof(id);
    c.ts_ms = 1763782200123ull;
    c.sender = "bob";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    /* Not what the validator lets through; the trace must be safe even so. */
    c.text = "hi\n\"you\"\t\x1b[2J\xc2\x9b\x7f\xc3\xa9";
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    ids[0].data = id;
    ids[0].len = 4;
    a.ids = ids;
    a.n_ids = 1;
    m2.body_case = MIM__PEER_MSG__BODY_ACK;
    m2.ack = &a;
    b.msgs = msgs;
    b.n_msgs = 2;

    mim_trace_render(&b.base, out, sizeof(out));
    assert_string_equal(out, "PeerBatch{msgs: [PeerMsg{chat: ChatMessage{id: "
                             "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf(16 bytes), ts_ms: 1763782200123, "
                             "sender: \"bob\", type: CONTENT_TEXT, text: "
                             "\"hi\\n\\\"you\\\"\\t\\x1b[2J\\u009b\\x7f\xc3\xa9\"}}, "
                             "PeerMsg{ack: Ack{ids: [a0a1a2a3(4 bytes)]}}]}");
    /* Nothing that could start an escape sequence is left. */
    assert_null(strchr(out, 0x1b));
    assert_null(strstr(out, "\xc2\x9b"));
    assert_null(strchr(out, 0x7f));
}

static void test_defaults_and_long_bytes(void **state)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__Chunk k = MIM__CHUNK__INIT;
    Mim__Ping p = MIM__PING__INIT;
    uint8_t data[100] = {0};
    (void)state;

    /* A Ping with nonce 0: every field at its default, none shown. */
    m.body_case = MIM__PEER_MSG__BODY_PING;
    m.ping = &p;
    mim_trace_render(&m.base, out, sizeof(out));
    assert_string_equal(out, "PeerMsg{ping: Ping{}}");

    k.count = 2;
    k.data.data = data;
    k.data.len = sizeof(data);
    c.type = (Mim__ContentType)42; /* a value this version has no name for */
    c.chunk = &k;
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    mim_trace_render(&m.base, out, sizeof(out));
    assert_string_equal(out, "PeerMsg{chat: ChatMessage{type: 42, chunk: Chunk{count: 2, data: "
                             "00000000000000000000000000000000...(100 bytes)}}}");
}

static void test_cut(void **state)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    char small[24];
    (void)state;

    c.sender = "someone with a long name";
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    mim_trace_render(&m.base, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    assert_string_equal(small + strlen(small) - 3, "...");
    assert_int_equal(strncmp(small, "PeerMsg{chat: Chat", 18), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_batch),
        cmocka_unit_test(test_defaults_and_long_bytes),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
