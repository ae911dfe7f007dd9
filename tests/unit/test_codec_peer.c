/* mim_codec, peer to peer: chat texts, and PeerBatch encoding, decoding and validation. Every
 * message goes through the real path a peer uses: appended to a batch with
 * mim_peer_batch_append, then decoded with mim_peer_batch_decode. Each refusal is built as bytes
 * that protobuf-c parses fine, so what refuses them is mim's validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_codec.h"
#include "mim_error.h"

static uint8_t id_a[MIM_MSG_ID_LEN], id_b[MIM_MSG_ID_LEN];
static uint8_t id_long[MIM_MSG_ID_LEN + 1]; /* room for a 17-byte id */

static int setup_ids(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(id_a); i++) {
        id_a[i] = (uint8_t)(0xa0 + i);
        id_b[i] = (uint8_t)(0x10 * i + 7);
    }
    for (size_t i = 0; i < sizeof(id_long); i++)
        id_long[i] = (uint8_t)(0x40 + i);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* A valid text chat message from "alice" with id_a: tests change one field at a time. */
static void chat_init(Mim__ChatMessage *c, Mim__PeerMsg *m, const char *text)
{
    mim__chat_message__init(c);
    c->id.data = id_a;
    c->id.len = sizeof(id_a);
    c->ts_ms = 1700000000123ULL;
    c->sender = "alice";
    c->type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c->text = (char *)text;
    mim__peer_msg__init(m);
    m->body_case = MIM__PEER_MSG__BODY_CHAT;
    m->chat = c;
}

/* Encodes m alone into a batch and decodes it: must succeed with one message of the same kind.
 * The caller frees the result. */
static Mim__PeerBatch *roundtrip_one(const Mim__PeerMsg *m)
{
    mim_buf buf;
    Mim__PeerBatch *b = NULL;
    char err[128] = "";
    int rc;

    mim_buf_init(&buf);
    EXPECT_INT(mim_peer_batch_append(&buf, m), MIM_OK);
    rc = mim_peer_batch_decode(buf.data, buf.len, &b, err, sizeof(err));
    mim_buf_free(&buf);
    if (rc != MIM_OK)
        fail_msg("round trip refused (rc %d): %s", rc, err);
    assert_non_null(b);
    EXPECT_INT(b->n_msgs, 1);
    EXPECT_INT(b->msgs[0]->body_case, m->body_case);
    return b;
}

static void expect_bytes_refused(const char *what, const uint8_t *p, size_t len,
                                 const char *reason_part)
{
    Mim__PeerBatch *b = (Mim__PeerBatch *)&b; /* must be reset to NULL */
    char err[128] = "";
    int rc = mim_peer_batch_decode(p, len, &b, err, sizeof(err));

    if (rc != MIM_EDECODE)
        fail_msg("%s: rc %d, want MIM_EDECODE (%d)", what, rc, MIM_EDECODE);
    if (b != NULL)
        fail_msg("%s: *out not NULL after a refusal", what);
    if (err[0] == '\0')
        fail_msg("%s: empty reason", what);
    if (reason_part != NULL && strstr(err, reason_part) == NULL)
        fail_msg("%s: reason \"%s\" does not mention \"%s\"", what, err, reason_part);
}

/* m must be refused both by mim_peer_msg_validate and, once encoded, by the batch decoder; the
 * encoded batch also carries a valid close first, so one bad message spoils the whole batch. */
static void expect_msg_refused(const char *what, const Mim__PeerMsg *m, const char *reason_part)
{
    Mim__ChatClose close = MIM__CHAT_CLOSE__INIT;
    Mim__PeerMsg ok = MIM__PEER_MSG__INIT;
    char err[128] = "";
    mim_buf buf;
    int rc;

    rc = mim_peer_msg_validate(m, err, sizeof(err));
    if (rc != MIM_EDECODE)
        fail_msg("%s: validate rc %d, want MIM_EDECODE (%d)", what, rc, MIM_EDECODE);
    if (reason_part != NULL && strstr(err, reason_part) == NULL)
        fail_msg("%s: reason \"%s\" does not mention \"%s\"", what, err, reason_part);

    ok.body_case = MIM__PEER_MSG__BODY_CLOSE;
    ok.close = &close;
    mim_buf_init(&buf);
    EXPECT_INT(mim_peer_batch_append(&buf, &ok), MIM_OK);
    EXPECT_INT(mim_peer_batch_append(&buf, m), MIM_OK);
    expect_bytes_refused(what, buf.data, buf.len, reason_part);
    mim_buf_free(&buf);
}

static void expect_msg_accepted(const char *what, const Mim__PeerMsg *m)
{
    char err[128] = "";
    int rc = mim_peer_msg_validate(m, err, sizeof(err));

    if (rc != MIM_OK)
        fail_msg("%s: refused (rc %d): %s", what, rc, err);
    mim_peer_batch_free(roundtrip_one(m));
}

/* ---- chat text ----------------------------------------------------------------------------- */

typedef struct str_case {
    const char *what;
    const char *s;
    size_t len; /* 0: strlen(s) */
} str_case;

/* A bounded text cut inside a character is cut back to the last whole one; whole text stays. */
static void test_utf8_cut(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"ab", "ab"},
        {"ab\xc3", "ab"},                     /* 1 of 2 bytes */
        {"ab\xe2\x82", "ab"},                 /* 2 of 3 */
        {"ab\xe2\x82\xac", "ab\xe2\x82\xac"}, /* a whole euro sign */
        {"\xf0\x9f\x98", ""},                 /* 3 of 4 */
        {"x\xf0\x9f\x98\x80", "x\xf0\x9f\x98\x80"},
    };
    char buf[16];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        mim_utf8_cut(buf);
        assert_string_equal(buf, cases[i].out);
    }
}

static void test_chat_text_valid(void **state)
{
    static const str_case ok[] = {
        {"ascii", "hello", 0},
        {"one byte", "x", 0},
        {"newline", "line one\nline two", 0},
        {"tab", "a\tb", 0},
        {"only a newline", "\n", 0},
        /* Hebrew "shalom" with U+200F RIGHT-TO-LEFT MARK: right-to-left text needs its marks. */
        {"RTL with U+200F", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f!", 0},
        {"RLO U+202E and PDF U+202C",
         "\xe2\x80\xae"
         "abc"
         "\xe2\x80\xac",
         0},
        {"ZWJ emoji sequence", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 0},
        {"U+00A0 is not C1",
         "a\xc2\xa0"
         "b",
         0},
        {"U+10FFFF", "\xf4\x8f\xbf\xbf", 0},
        {"leading and trailing spaces", "  hi  ", 0},
    };
    static const str_case bad[] = {
        {"empty", "", 0},
        {"ESC", "red: \x1b[31m", 0},
        {"C1 CSI U+009B",
         "a\xc2\x9b"
         "31m",
         0},
        {"C1 U+0080", "\xc2\x80", 0},
        {"C1 U+009F", "\xc2\x9f", 0},
        {"DEL", "a\x7f", 0},
        {"CR", "a\rb", 0},
        {"BEL", "\x07", 0},
        {"NUL inside", "a\0b", 3},
        {"overlong '/'", "\xc0\xaf", 0},
        {"surrogate", "\xed\xa0\x80", 0},
        {"beyond U+10FFFF", "\xf4\x90\x80\x80", 0},
        {"truncated", "abc\xe2\x82", 0},
        {"lone continuation", "\x80", 0},
    };
    char *big = malloc(MIM_CHAT_TEXT_MAX + 2);
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t len = ok[i].len != 0 ? ok[i].len : strlen(ok[i].s);
        if (mim_chat_text_valid(ok[i].s, len) != 1)
            fail_msg("chat text \"%s\" refused", ok[i].what);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = bad[i].len != 0 ? bad[i].len : strlen(bad[i].s);
        if (mim_chat_text_valid(bad[i].s, len) != 0)
            fail_msg("chat text \"%s\" accepted", bad[i].what);
    }
    EXPECT_INT(mim_chat_text_valid(NULL, 0), 0);

    assert_non_null(big);
    memset(big, 'a', MIM_CHAT_TEXT_MAX + 1);
    EXPECT_INT(mim_chat_text_valid(big, MIM_CHAT_TEXT_MAX), 1);
    EXPECT_INT(mim_chat_text_valid(big, MIM_CHAT_TEXT_MAX + 1), 0);
    /* A multi-byte character that would end past the limit. */
    memcpy(big + MIM_CHAT_TEXT_MAX - 1, "\xc3\xa9", 2);
    EXPECT_INT(mim_chat_text_valid(big, MIM_CHAT_TEXT_MAX + 1), 0);
    EXPECT_INT(mim_chat_text_valid(big, MIM_CHAT_TEXT_MAX), 0); /* cut inside it */
    free(big);
}

/* ---- round trips --------------------------------------------------------------------------- */

static void test_roundtrip_chat(void **state)
{
    static const char text[] = "Zo\xc3\xab says hi\n\tand \xe5\xa4\xaa\xe9\x83\x8e waves";
    Mim__ChatMessage c;
    Mim__PeerMsg m;
    Mim__PeerBatch *b;
    const Mim__ChatMessage *got;
    (void)state;

    chat_init(&c, &m, text);
    c.ts_ms = UINT64_MAX;
    c.sender = "Zo\xc3\xab";
    b = roundtrip_one(&m);
    got = b->msgs[0]->chat;
    assert_non_null(got);
    EXPECT_INT(got->id.len, MIM_MSG_ID_LEN);
    assert_memory_equal(got->id.data, id_a, MIM_MSG_ID_LEN);
    assert_true(got->ts_ms == UINT64_MAX);
    assert_string_equal(got->sender, "Zo\xc3\xab");
    EXPECT_INT(got->type, MIM__CONTENT_TYPE__CONTENT_TEXT);
    assert_string_equal(got->text, text);
    assert_null(got->chunk);
    mim_peer_batch_free(b);

    /* ts_ms 0 is just a (wrong) clock, not an error; 4096 bytes need a two-byte length. */
    char *big = malloc(MIM_CHAT_TEXT_MAX + 1);
    assert_non_null(big);
    memset(big, 'z', MIM_CHAT_TEXT_MAX);
    big[MIM_CHAT_TEXT_MAX] = '\0';
    chat_init(&c, &m, big);
    c.ts_ms = 0;
    b = roundtrip_one(&m);
    assert_true(b->msgs[0]->chat->ts_ms == 0);
    EXPECT_INT(strlen(b->msgs[0]->chat->text), MIM_CHAT_TEXT_MAX);
    mim_peer_batch_free(b);
    free(big);
}

static void test_roundtrip_ack(void **state)
{
    ProtobufCBinaryData ids[MIM_ACK_MAX_IDS];
    uint8_t *store = malloc(MIM_ACK_MAX_IDS * MIM_MSG_ID_LEN);
    Mim__Ack ack = MIM__ACK__INIT;
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__PeerBatch *b;
    (void)state;

    m.body_case = MIM__PEER_MSG__BODY_ACK;
    m.ack = &ack;

    /* One id. */
    ids[0].data = id_b;
    ids[0].len = MIM_MSG_ID_LEN;
    ack.ids = ids;
    ack.n_ids = 1;
    b = roundtrip_one(&m);
    EXPECT_INT(b->msgs[0]->ack->n_ids, 1);
    EXPECT_INT(b->msgs[0]->ack->ids[0].len, MIM_MSG_ID_LEN);
    assert_memory_equal(b->msgs[0]->ack->ids[0].data, id_b, MIM_MSG_ID_LEN);
    mim_peer_batch_free(b);

    /* The most one Ack may carry, in order. */
    assert_non_null(store);
    for (size_t i = 0; i < MIM_ACK_MAX_IDS; i++) {
        for (size_t k = 0; k < MIM_MSG_ID_LEN; k++)
            store[i * MIM_MSG_ID_LEN + k] = (uint8_t)(i >> (k % 2 ? 8 : 0));
        ids[i].data = store + i * MIM_MSG_ID_LEN;
        ids[i].len = MIM_MSG_ID_LEN;
    }
    ack.n_ids = MIM_ACK_MAX_IDS;
    b = roundtrip_one(&m);
    EXPECT_INT(b->msgs[0]->ack->n_ids, MIM_ACK_MAX_IDS);
    for (size_t i = 0; i < MIM_ACK_MAX_IDS; i++)
        assert_memory_equal(b->msgs[0]->ack->ids[i].data, store + i * MIM_MSG_ID_LEN,
                            MIM_MSG_ID_LEN);
    mim_peer_batch_free(b);
    free(store);
}

static void test_roundtrip_close_ping_pong(void **state)
{
    Mim__ChatClose close = MIM__CHAT_CLOSE__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    Mim__Pong pong = MIM__PONG__INIT;
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__PeerBatch *b;
    (void)state;

    m.body_case = MIM__PEER_MSG__BODY_CLOSE;
    m.close = &close;
    b = roundtrip_one(&m);
    assert_non_null(b->msgs[0]->close);
    mim_peer_batch_free(b);

    ping.nonce = 0x0123456789abcdefULL;
    m.body_case = MIM__PEER_MSG__BODY_PING;
    m.ping = &ping;
    b = roundtrip_one(&m);
    assert_true(b->msgs[0]->ping->nonce == 0x0123456789abcdefULL);
    mim_peer_batch_free(b);

    pong.nonce = 7;
    m.body_case = MIM__PEER_MSG__BODY_PONG;
    m.pong = &pong;
    b = roundtrip_one(&m);
    assert_true(b->msgs[0]->pong->nonce == 7);
    mim_peer_batch_free(b);

    /* Zero nonces encode to empty messages and still carry their oneof arm. */
    ping.nonce = 0;
    m.body_case = MIM__PEER_MSG__BODY_PING;
    m.ping = &ping;
    mim_peer_batch_free(roundtrip_one(&m));
}

static void test_batch_in_order(void **state)
{
    Mim__ChatMessage c;
    Mim__PeerMsg chat, ack_msg = MIM__PEER_MSG__INIT, close_msg = MIM__PEER_MSG__INIT;
    Mim__Ack ack = MIM__ACK__INIT;
    Mim__ChatClose close = MIM__CHAT_CLOSE__INIT;
    ProtobufCBinaryData ids[2] = {{MIM_MSG_ID_LEN, id_a}, {MIM_MSG_ID_LEN, id_b}};
    Mim__PeerBatch *b = NULL;
    char err[128] = "";
    mim_buf buf;
    (void)state;

    chat_init(&c, &chat, "first");
    ack.n_ids = 2;
    ack.ids = ids;
    ack_msg.body_case = MIM__PEER_MSG__BODY_ACK;
    ack_msg.ack = &ack;
    close_msg.body_case = MIM__PEER_MSG__BODY_CLOSE;
    close_msg.close = &close;

    mim_buf_init(&buf);
    EXPECT_INT(mim_peer_batch_append(&buf, &chat), MIM_OK);
    EXPECT_INT(mim_peer_batch_append(&buf, &ack_msg), MIM_OK);
    EXPECT_INT(mim_peer_batch_append(&buf, &close_msg), MIM_OK);
    if (mim_peer_batch_decode(buf.data, buf.len, &b, err, sizeof(err)) != MIM_OK)
        fail_msg("batch refused: %s", err);
    EXPECT_INT(b->n_msgs, 3);
    EXPECT_INT(b->msgs[0]->body_case, MIM__PEER_MSG__BODY_CHAT);
    assert_string_equal(b->msgs[0]->chat->text, "first");
    EXPECT_INT(b->msgs[1]->body_case, MIM__PEER_MSG__BODY_ACK);
    EXPECT_INT(b->msgs[1]->ack->n_ids, 2);
    assert_memory_equal(b->msgs[1]->ack->ids[1].data, id_b, MIM_MSG_ID_LEN);
    EXPECT_INT(b->msgs[2]->body_case, MIM__PEER_MSG__BODY_CLOSE);
    mim_peer_batch_free(b);

    /* Elements appended by hand are exactly what protobuf-c packs for the whole batch. */
    Mim__PeerMsg *msgs[3] = {&chat, &ack_msg, &close_msg};
    Mim__PeerBatch whole = MIM__PEER_BATCH__INIT;
    whole.n_msgs = 3;
    whole.msgs = msgs;
    size_t n = mim__peer_batch__get_packed_size(&whole);
    uint8_t *packed = malloc(n);
    assert_non_null(packed);
    EXPECT_INT(mim__peer_batch__pack(&whole, packed), n);
    EXPECT_INT(buf.len, n);
    assert_memory_equal(buf.data, packed, n);
    free(packed);
    mim_buf_free(&buf);
    mim_peer_batch_free(NULL); /* a no-op */
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_refusals_chat_id(void **state)
{
    Mim__ChatMessage c;
    Mim__PeerMsg m;
    (void)state;

    chat_init(&c, &m, "hi");
    c.id.data = id_long;
    c.id.len = MIM_MSG_ID_LEN - 1;
    expect_msg_refused("15-byte id", &m, "15");
    c.id.len = MIM_MSG_ID_LEN + 1;
    expect_msg_refused("17-byte id", &m, "17");
    c.id.len = 0;
    expect_msg_refused("no id", &m, "id");
    c.id.len = MIM_MSG_ID_LEN;
    expect_msg_accepted("16-byte id", &m);
}

static void test_refusals_chat_text(void **state)
{
    Mim__ChatMessage c;
    Mim__PeerMsg m;
    char *big = malloc(MIM_CHAT_TEXT_MAX + 2);
    (void)state;

    chat_init(&c, &m, "");
    expect_msg_refused("empty text", &m, "text");
    assert_non_null(big);
    memset(big, 'a', MIM_CHAT_TEXT_MAX + 1);
    big[MIM_CHAT_TEXT_MAX + 1] = '\0';
    c.text = big;
    expect_msg_refused("4097-byte text", &m, "text");
    big[MIM_CHAT_TEXT_MAX] = '\0';
    expect_msg_accepted("4096-byte text", &m);
    free(big);

    c.text = "look: \x1b[2J";
    expect_msg_refused("text with ESC", &m, "control");
    c.text = "look: \xc2\x9b"
             "2J";
    expect_msg_refused("text with C1 U+009B", &m, "control");
    c.text = "rub\x7fout";
    expect_msg_refused("text with DEL", &m, "control");
    c.text = "not \xff UTF-8";
    expect_msg_refused("text not UTF-8", &m, "UTF-8");

    c.text = "two\nlines\twith a tab";
    expect_msg_accepted("newline and tab", &m);
    c.text = "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f 123";
    expect_msg_accepted("RTL text with U+200F", &m);
}

/* Images, files and content types of later versions are accepted (stored and acked, shown as
 * not supported): a new content type is never a protocol break. What they carry is still held
 * to its limits. */
static void test_chat_type(void **state)
{
    Mim__ChatMessage c;
    Mim__PeerMsg m;
    Mim__Chunk chunk = MIM__CHUNK__INIT;
    static uint8_t data[4] = {0x89, 'P', 'N', 'G'};
    static uint8_t item[MIM_MSG_ID_LEN];
    uint8_t *big;
    (void)state;

    chunk.index = 0;
    chunk.count = 1;
    chunk.data.data = data;
    chunk.data.len = sizeof(data);
    chunk.media_type = "image/png";
    chunk.file_name = "a.png";

    chat_init(&c, &m, "");
    c.type = MIM__CONTENT_TYPE__CONTENT_IMAGE;
    c.chunk = &chunk;
    expect_msg_accepted("image", &m);
    c.type = MIM__CONTENT_TYPE__CONTENT_FILE;
    c.text = "the report, with a caption";
    expect_msg_accepted("file with a caption", &m);
    c.chunk = NULL;
    expect_msg_accepted("file without chunk", &m);
    c.type = (Mim__ContentType)99;
    expect_msg_accepted("type 99 (a later version's)", &m);
    c.text = "";
    expect_msg_accepted("type 99 without caption", &m);

    c.type = MIM__CONTENT_TYPE__CONTENT_IMAGE;
    c.chunk = &chunk;
    c.text = "caption \x1b[2J";
    expect_msg_refused("caption with ESC", &m, "caption");
    c.text = "";
    chunk.index = 1;
    expect_msg_refused("chunk index = count", &m, "chunk 1 of 1");
    chunk.index = 0;
    chunk.count = 0;
    expect_msg_refused("chunk count 0", &m, "chunk 0 of 0");
    chunk.count = 3;
    chunk.item.data = item;
    chunk.item.len = 15;
    expect_msg_refused("15-byte item id", &m, "item id is 15");
    chunk.item.len = MIM_MSG_ID_LEN;
    expect_msg_accepted("chunk with item id", &m);
    big = calloc(1, MIM_CHUNK_DATA_MAX + 1);
    assert_non_null(big);
    chunk.data.data = big;
    chunk.data.len = MIM_CHUNK_DATA_MAX;
    expect_msg_accepted("chunk of 60000 bytes", &m);
    chunk.data.len = MIM_CHUNK_DATA_MAX + 1;
    expect_msg_refused("chunk of 60001 bytes", &m, "60001");
    chunk.data.data = data;
    chunk.data.len = sizeof(data);
    free(big);
    chunk.file_name = "evil\x1b]0;title\x07.png";
    expect_msg_refused("file name with ESC", &m, "file name");
    chunk.file_name = "two\nlines.png";
    expect_msg_refused("file name with a newline", &m, "file name");
    chunk.file_name = "a.png";
    chunk.media_type = "image/png\r";
    expect_msg_refused("media type with CR", &m, "media type");
    chunk.media_type = "image/png";

    c.text = "hi";
    c.chunk = NULL;
    c.type = MIM__CONTENT_TYPE__CONTENT_UNSPECIFIED;
    expect_msg_refused("type 0", &m, "no content type");
    c.type = (Mim__ContentType)-1;
    expect_msg_refused("type -1", &m, "content type -1");

    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.chunk = &chunk;
    expect_msg_refused("text with a chunk", &m, "chunk");
}

static void test_refusals_chat_sender(void **state)
{
    static const char *const bad[] = {
        "",
        " alice",
        "alice ",
        "al\x1b"
        "ice",
        "ali\xe2\x80\xae"
        "ce",                                /* RLO: allowed in texts, never in names */
        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 characters */
        "\xc3\x28",
    };
    Mim__ChatMessage c;
    Mim__PeerMsg m;
    char what[64];
    (void)state;

    chat_init(&c, &m, "hi");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(what, sizeof(what), "sender #%zu", i);
        c.sender = (char *)bad[i];
        expect_msg_refused(what, &m, "sender");
    }
}

static void test_refusals_ack(void **state)
{
    ProtobufCBinaryData *ids = calloc(MIM_ACK_MAX_IDS + 1, sizeof(*ids));
    Mim__Ack ack = MIM__ACK__INIT;
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    (void)state;

    assert_non_null(ids);
    for (size_t i = 0; i <= MIM_ACK_MAX_IDS; i++) {
        ids[i].data = id_a;
        ids[i].len = MIM_MSG_ID_LEN;
    }
    m.body_case = MIM__PEER_MSG__BODY_ACK;
    m.ack = &ack;
    ack.ids = ids;

    ack.n_ids = 0;
    expect_msg_refused("ack with 0 ids", &m, "0 ids");
    ack.n_ids = MIM_ACK_MAX_IDS + 1;
    expect_msg_refused("ack with 1025 ids", &m, "1025 ids");
    ack.n_ids = 3;
    ids[1].data = id_long;
    ids[1].len = MIM_MSG_ID_LEN - 1;
    expect_msg_refused("ack with a 15-byte id", &m, "15");
    ids[1].len = MIM_MSG_ID_LEN + 1;
    expect_msg_refused("ack with a 17-byte id", &m, "17");
    ids[1].len = 0;
    expect_msg_refused("ack with an empty id", &m, "0 bytes");
    ids[1].len = MIM_MSG_ID_LEN;
    expect_msg_accepted("ack with 3 ids", &m);

    /* Refusals (Ack.refused): alone or beside ids, 1..1024 in all, each 16 bytes. */
    ack.n_ids = 0;
    ack.refused = ids;
    ack.n_refused = 2;
    expect_msg_accepted("ack with 2 refused", &m);
    ack.n_ids = MIM_ACK_MAX_IDS - 2;
    expect_msg_accepted("ack with 1022 ids and 2 refused", &m);
    ack.n_ids = MIM_ACK_MAX_IDS - 1;
    expect_msg_refused("ack with 1023 ids and 2 refused", &m, "2 refused");
    ack.n_ids = 0;
    ids[1].len = MIM_MSG_ID_LEN - 1;
    expect_msg_refused("ack with a 15-byte refused id", &m, "15");
    free(ids);
}

/* Read receipts (issue 13): 1..1024 ids of 16 bytes; typing on or off. */
static void test_receipt_typing(void **state)
{
    ProtobufCBinaryData *ids = calloc(MIM_RECEIPT_MAX_IDS + 1, sizeof(*ids));
    Mim__Receipt r = MIM__RECEIPT__INIT;
    Mim__Typing t = MIM__TYPING__INIT;
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__PeerBatch *b;
    (void)state;

    assert_non_null(ids);
    for (size_t i = 0; i <= MIM_RECEIPT_MAX_IDS; i++) {
        ids[i].data = id_a;
        ids[i].len = MIM_MSG_ID_LEN;
    }
    m.body_case = MIM__PEER_MSG__BODY_RECEIPT;
    m.receipt = &r;
    r.read = ids;
    r.n_read = 0;
    expect_msg_refused("receipt with 0 ids", &m, "0 ids");
    r.n_read = MIM_RECEIPT_MAX_IDS + 1;
    expect_msg_refused("receipt with 1025 ids", &m, "1025 ids");
    r.n_read = MIM_RECEIPT_MAX_IDS;
    expect_msg_accepted("receipt with 1024 ids", &m);
    r.n_read = 2;
    ids[1].data = id_b;
    b = roundtrip_one(&m);
    EXPECT_INT(b->msgs[0]->receipt->n_read, 2);
    assert_memory_equal(b->msgs[0]->receipt->read[1].data, id_b, MIM_MSG_ID_LEN);
    mim_peer_batch_free(b);
    ids[1].data = id_long;
    ids[1].len = MIM_MSG_ID_LEN - 1;
    expect_msg_refused("receipt with a 15-byte id", &m, "15");

    m.body_case = MIM__PEER_MSG__BODY_TYPING;
    m.typing = &t;
    t.typing = 1;
    b = roundtrip_one(&m);
    assert_true(b->msgs[0]->typing->typing);
    mim_peer_batch_free(b);
    t.typing = 0; /* an empty Typing: stopped */
    b = roundtrip_one(&m);
    assert_false(b->msgs[0]->typing->typing);
    mim_peer_batch_free(b);
    free(ids);
}

static void test_refusals_structure(void **state)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    char err[128];
    (void)state;

    /* No bytes at all parse to a batch with no messages. */
    expect_bytes_refused("empty batch", (const uint8_t *)"", 0, "empty");
    /* One element of length 0: a PeerMsg with no oneof arm. */
    expect_bytes_refused("message without body", (const uint8_t *)"\x0a\x00", 2, "no body");
    expect_msg_refused("message without body", &m, "no body");
    EXPECT_INT(mim_peer_msg_validate(NULL, err, sizeof(err)), MIM_EDECODE);
    /* A oneof arm this version does not know (field 9, an empty message) is an unknown field to
     * protobuf-c: no body either. */
    expect_bytes_refused("unknown arm", (const uint8_t *)"\x0a\x02\x4a\x00", 4, "no body");
    /* Garbage: truncated element, wire type 7, length past the end. */
    expect_bytes_refused("truncated", (const uint8_t *)"\x0a\x05\x1a\x00", 4, NULL);
    expect_bytes_refused("wire type 7", (const uint8_t *)"\x0f\x01", 2, NULL);
    expect_bytes_refused("length past the end", (const uint8_t *)"\x0a\x7f\x1a", 3, NULL);

    /* A refusal with no room for the reason writes nowhere. */
    Mim__PeerBatch *b = NULL;
    EXPECT_INT(mim_peer_batch_decode((const uint8_t *)"", 0, &b, NULL, 0), MIM_EDECODE);
    assert_null(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_text_valid),
        cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_roundtrip_chat),
        cmocka_unit_test(test_roundtrip_ack),
        cmocka_unit_test(test_roundtrip_close_ping_pong),
        cmocka_unit_test(test_batch_in_order),
        cmocka_unit_test(test_refusals_chat_id),
        cmocka_unit_test(test_refusals_chat_text),
        cmocka_unit_test(test_chat_type),
        cmocka_unit_test(test_refusals_chat_sender),
        cmocka_unit_test(test_refusals_ack),
        cmocka_unit_test(test_refusals_structure),
        cmocka_unit_test(test_receipt_typing),
    };

    return cmocka_run_group_tests(tests, setup_ids, NULL);
}
