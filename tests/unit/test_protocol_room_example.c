/* docs/PROTOCOL.md "Rooms", worked example (issue 16): the bytes of a room's message as a
 * PeerBatch element and the signed bytes of a removal, made by the codec, must be the bytes the
 * document shows; the element decodes, and the change passes the codec's checks. With --print
 * the bytes are printed instead (to write the document). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_test.h"
#include "protocol_doc.h"

static int print_mode;

/* bytes equal the document's block `name` (or are printed). */
static void shown_as(const char *name, const uint8_t *p, size_t n)
{
    char *hex = bytes_hex(p, n), *doc, *shown;

    if (print_mode) {
        printf("%s %s\n", name, hex);
        free(hex);
        return;
    }
    doc = read_doc();
    shown = doc_block_hex(doc, name);
    if (strcmp(shown, hex) != 0)
        fail_msg("docs/PROTOCOL.md, block %s:\n  shows    %s\n  expected %s", name, shown, hex);
    free(shown);
    free(doc);
    free(hex);
}

static void fill(uint8_t *p, size_t n, uint8_t first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

static void test_room_message(void **state)
{
    uint8_t id[16], room[16];
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__RoomRef ref = MIM__ROOM_REF__INIT;
    Mim__PeerBatch *b = NULL;
    mim_buf out = {0};

    (void)state;
    fill(id, sizeof(id), 0xa0);
    fill(room, sizeof(room), 0xb0);
    c.id = (ProtobufCBinaryData){16, id};
    c.ts_ms = 1700000000000;
    c.sender = "alice";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = "hi";
    ref.id = (ProtobufCBinaryData){16, room};
    ref.epoch = 3;
    c.room = &ref;
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    assert_int_equal(mim_peer_batch_append(&out, &m), 0);
    shown_as("room_message_element", out.data, out.len);
    assert_int_equal(mim_peer_batch_decode(out.data, out.len, &b, NULL, 0), 0);
    assert_int_equal(b->msgs[0]->chat->room->epoch, 3);
    mim_peer_batch_free(b);
    mim_buf_free(&out);
}

static void test_removal_signed_bytes(void **state)
{
    uint8_t room[16], prev[32], sig[64] = {0};
    Mim__RoomChange ch = MIM__ROOM_CHANGE__INIT;
    Mim__RoomMember carol = MIM__ROOM_MEMBER__INIT, *cp = &carol;
    mim_buf out = {0};

    (void)state;
    fill(room, sizeof(room), 0xb0);
    fill(prev, sizeof(prev), 0xc0);
    carol.name = "carol";
    ch.room = (ProtobufCBinaryData){16, room};
    ch.epoch = 4;
    ch.prev = (ProtobufCBinaryData){32, prev};
    ch.op = MIM__ROOM_OP__ROOM_REMOVE;
    ch.author = "alice";
    ch.n_members = 1;
    ch.members = &cp;
    ch.signature = (ProtobufCBinaryData){64, sig};
    assert_int_equal(mim_room_change_check(&ch, NULL, 0), 0);
    assert_int_equal(mim_room_change_signed_bytes(&ch, &out), 0);
    shown_as("room_remove_signed", out.data, out.len);
    mim_buf_free(&out);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_room_message),
        cmocka_unit_test(test_removal_signed_bytes),
    };

    print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
