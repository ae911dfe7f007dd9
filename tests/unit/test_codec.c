/* mim_codec: names and texts, the handshake payload and presence batches. Everything here is
 * checked after protobuf decoding, so each rejection case is built as bytes that parse fine and
 * must still be refused, in the direction it would arrive from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <string.h>

#include "mim_codec.h"
#include "mim_error.h"

static const uint8_t key_a[32] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
                                  0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
                                  0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0};
static uint8_t key_b[32];
static uint8_t sig_a[64];
static uint8_t sig_b[64];
static const uint8_t addr4[4] = {192, 168, 1, 42};
static const uint8_t addr16[16] = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                                   0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};

static int setup_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(key_b); i++)
        key_b[i] = (uint8_t)(0x30 + i * 3);
    for (size_t i = 0; i < sizeof(sig_a); i++) {
        sig_a[i] = (uint8_t)(i * 7 + 1);
        sig_b[i] = (uint8_t)(0xff - i);
    }
    return 0;
}

/* ---- names and texts --------------------------------------------------------------------- */

typedef struct str_case {
    const char *what;
    const char *s;
    size_t len; /* 0: strlen(s) */
} str_case;

static size_t case_len(const str_case *c)
{
    return c->len != 0 ? c->len : strlen(c->s);
}

static void test_name_valid_accepts(void **state)
{
    static const str_case ok[] = {
        {"ascii", "alice", 0},
        {"latin-1 letter", "Zo\xc3\xab", 0},
        {"inner space", "a b", 0},
        {"one char", "x", 0},
        {"32 ascii", "abcdefghijklmnopqrstuvwxyz012345", 0},
        /* 32 characters, 31 of them two bytes wide: 63 bytes. */
        {"32 chars, multibyte",
         "a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
         "\xc3\xa9",
         0},
        {"CJK", "\xe6\x9d\x8e\xe5\x9b\x9b", 0},
        {"emoji (4 bytes)", "\xf0\x9f\x98\x80 smile", 0},
        {"U+20000, a 4-byte CJK letter", "a\xf0\xa0\x80\x80", 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (mim_name_valid(ok[i].s, case_len(&ok[i])) != 1)
            fail_msg("name case \"%s\" refused", ok[i].what);

    /* 32 four-byte characters: 128 bytes, the byte maximum. */
    char big[MIM_NAME_MAX_BYTES + 1];
    for (size_t i = 0; i < MIM_NAME_MAX_CHARS; i++)
        memcpy(big + 4 * i, "\xf0\x9f\x98\x80", 4);
    big[MIM_NAME_MAX_BYTES] = '\0';
    EXPECT_INT(mim_name_valid(big, MIM_NAME_MAX_BYTES), 1);
    /* The length argument rules, not a NUL: the first 3 characters alone are a valid name. */
    EXPECT_INT(mim_name_valid("bob\x1b", 3), 1);
}

/* Names the rules refuse (PROTOCOL.md 5). */
static const str_case bad_names[] = {
    {"empty", "", 0},
    {"33 ascii", "abcdefghijklmnopqrstuvwxyz0123456", 0},
    {"leading space", " alice", 0},
    {"trailing space", "alice ", 0},
    {"only a space", " ", 0},
    {"ANSI escape", "\x1b[31m", 0},
    {"escape inside", "al\x1b[31mice", 0},
    {"tab", "a\tb", 0},
    {"newline", "a\nb", 0},
    {"NUL inside", "a\0b", 3},
    {"DEL",
     "a\x7f"
     "b",
     0},
    {"C1 U+0085",
     "a\xc2\x85"
     "b",
     0},
    {"C1 U+009F",
     "a\xc2\x9f"
     "b",
     0},
    {"RLO U+202E",
     "a\xe2\x80\xae"
     "b",
     0},
    {"ZWSP U+200B",
     "a\xe2\x80\x8b"
     "b",
     0},
    {"ZWJ U+200D",
     "a\xe2\x80\x8d"
     "b",
     0},
    {"LRI U+2066",
     "a\xe2\x81\xa6"
     "b",
     0},
    {"line separator U+2028",
     "a\xe2\x80\xa8"
     "b",
     0},
    {"BOM U+FEFF",
     "\xef\xbb\xbf"
     "alice",
     0},
    {"overlong /", "\xc0\xaf", 0},
    {"overlong / inside",
     "a\xc0\xaf"
     "b",
     0},
    {"overlong 3-byte", "a\xe0\x80\xaf", 0},
    {"overlong 4-byte", "a\xf0\x80\x80\xaf", 0},
    {"surrogate", "\xed\xa0\x80", 0},
    {"low surrogate", "a\xed\xbf\xbf", 0},
    {"truncated 3-byte", "\xe2\x82", 0},
    {"truncated at end", "alice\xe2\x82", 0},
    {"truncated 2-byte", "alice\xc3", 0},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 0},
    {"lone continuation",
     "a\x80"
     "b",
     0},
    {"0xFF byte",
     "a\xff"
     "b",
     0},
    {"5-byte lead", "a\xf8\x88\x80\x80\x80", 0},
    {"bad continuation", "a\xc3(b", 0},
};

static void test_name_valid_refuses(void **state)
{
    (void)state;

    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        if (mim_name_valid(bad_names[i].s, case_len(&bad_names[i])) != 0)
            fail_msg("name case \"%s\" accepted", bad_names[i].what);

    /* 33 characters of two bytes: 66 bytes, under the byte cap but over the character cap. */
    char s[2 * 33 + 1];
    for (size_t i = 0; i < 33; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[66] = '\0';
    EXPECT_INT(mim_name_valid(s, 66), 0);
    EXPECT_INT(mim_name_valid(s, 64), 1);
    EXPECT_INT(mim_name_valid(NULL, 0), 0);
}

static void test_text_valid(void **state)
{
    char text[MIM_STATUS_TEXT_MAX + 2];
    (void)state;

    memset(text, 'x', sizeof(text));
    EXPECT_INT(mim_text_valid(text, MIM_STATUS_TEXT_MAX, MIM_STATUS_TEXT_MAX), 1);
    EXPECT_INT(mim_text_valid(text, MIM_STATUS_TEXT_MAX + 1, MIM_STATUS_TEXT_MAX), 0);
    /* The cap is in bytes: 64 two-byte characters fill 128 exactly; one more byte is over. */
    for (size_t i = 0; i < 64; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    EXPECT_INT(mim_text_valid(text, 128, MIM_STATUS_TEXT_MAX), 1);
    text[128] = 'x';
    EXPECT_INT(mim_text_valid(text, 129, MIM_STATUS_TEXT_MAX), 0);

    EXPECT_INT(mim_text_valid("", 0, MIM_STATUS_TEXT_MAX), 1);
    EXPECT_INT(mim_text_valid("at lunch, back at 2", 19, MIM_STATUS_TEXT_MAX), 1);
    EXPECT_INT(mim_text_valid(" padded ", 8, MIM_STATUS_TEXT_MAX), 1);

    static const str_case bad[] = {
        {"newline", "line\nbreak", 0},
        {"carriage return", "a\rb", 0},
        {"tab", "a\tb", 0},
        {"escape", "\x1b]0;pwned\x07", 0},
        {"DEL", "\x7f", 0},
        {"C1 U+0085", "\xc2\x85", 0},
        {"RLO", "\xe2\x80\xae", 0},
        {"overlong", "\xc0\xaf", 0},
        {"surrogate", "\xed\xa0\x80", 0},
        {"truncated", "ok\xe2\x82", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mim_text_valid(bad[i].s, case_len(&bad[i]), MIM_STATUS_TEXT_MAX) != 0)
            fail_msg("text case \"%s\" accepted", bad[i].what);
}

/* ---- handshake payload ------------------------------------------------------------------- */

static void test_handshake_roundtrip(void **state)
{
    mim_buf b;
    Mim__HandshakePayload *m = NULL;
    char err[128] = "";
    (void)state;

    mim_buf_init(&b);
    EXPECT_INT(mim_handshake_payload_encode(key_a, sig_a, "Zo\xc3\xab", &b), 0);
    assert_true(b.len > 96);
    if (mim_handshake_payload_decode(b.data, b.len, 1, &m, err, sizeof(err)) != 0)
        fail_msg("peer payload refused: %s", err);
    assert_non_null(m);
    EXPECT_INT(m->version, MIM_PROTOCOL_VERSION);
    EXPECT_INT(m->identity_pk.len, 32);
    assert_memory_equal(m->identity_pk.data, key_a, 32);
    EXPECT_INT(m->static_sig.len, 64);
    assert_memory_equal(m->static_sig.data, sig_a, 64);
    assert_string_equal(m->name, "Zo\xc3\xab");
    EXPECT_INT(m->features, 0); /* none said: left out of the encoding */
    mim_handshake_payload_free(m);

    /* Features (issue 13): two bytes more, read back; an older decoder keeps them as an unknown
     * field, and the payload is still canonical for it (the size it re-encodes to). */
    b.len = 0;
    EXPECT_INT(mim_handshake_payload_encode_features(key_a, sig_a, "bob", MIM_FEATURE_RECEIPTS, &b),
               0);
    m = NULL;
    if (mim_handshake_payload_decode(b.data, b.len, 1, &m, err, sizeof(err)) != 0)
        fail_msg("payload with features refused: %s", err);
    EXPECT_INT(m->features, MIM_FEATURE_RECEIPTS);
    mim_handshake_payload_free(m);

    /* The server's payload: no name, and encode appends after what is already there. */
    b.len = 0;
    EXPECT_INT(mim_buf_append(&b, "xyz", 3), 0);
    EXPECT_INT(mim_handshake_payload_encode(key_b, sig_b, NULL, &b), 0);
    assert_memory_equal(b.data, "xyz", 3);
    m = NULL;
    if (mim_handshake_payload_decode(b.data + 3, b.len - 3, 0, &m, err, sizeof(err)) != 0)
        fail_msg("server payload refused: %s", err);
    assert_memory_equal(m->identity_pk.data, key_b, 32);
    assert_memory_equal(m->static_sig.data, sig_b, 64);
    assert_string_equal(m->name, "");
    mim_handshake_payload_free(m);
    mim_handshake_payload_free(NULL);
    mim_buf_free(&b);
}

/* Packs a payload with arbitrary field contents (the encoder only makes well-formed ones). */
static size_t pack_payload(uint8_t *out, uint32_t version, const uint8_t *pk, size_t pk_len,
                           const uint8_t *sig, size_t sig_len, const char *name)
{
    Mim__HandshakePayload m = MIM__HANDSHAKE_PAYLOAD__INIT;

    m.version = version;
    m.identity_pk.data = (uint8_t *)pk;
    m.identity_pk.len = pk_len;
    m.static_sig.data = (uint8_t *)sig;
    m.static_sig.len = sig_len;
    m.name = (char *)name;
    assert_true(mim__handshake_payload__get_packed_size(&m) <= 512);
    return mim__handshake_payload__pack(&m, out);
}

static void expect_payload_refused(const char *what, const uint8_t *p, size_t len,
                                   int name_required, const char *reason_part)
{
    Mim__HandshakePayload *m = (Mim__HandshakePayload *)&m; /* must be reset to NULL */
    char err[128] = "";
    int rc = mim_handshake_payload_decode(p, len, name_required, &m, err, sizeof(err));

    if (rc != MIM_EDECODE)
        fail_msg("%s: rc %d, want MIM_EDECODE (%d)", what, rc, MIM_EDECODE);
    if (m != NULL)
        fail_msg("%s: *out not NULL after a refusal", what);
    if (err[0] == '\0')
        fail_msg("%s: empty reason", what);
    if (reason_part != NULL && strstr(err, reason_part) == NULL)
        fail_msg("%s: reason \"%s\" does not mention \"%s\"", what, err, reason_part);
}

static void test_handshake_refusals(void **state)
{
    uint8_t buf[512];
    size_t n;
    (void)state;

    /* The same bytes are accepted with the right flag, so each refusal is about one field. */
    n = pack_payload(buf, 2, key_a, 32, sig_a, 64, "alice");
    expect_payload_refused("version 2", buf, n, 1, "version");
    n = pack_payload(buf, 0, key_a, 32, sig_a, 64, "alice");
    expect_payload_refused("version 0 (absent)", buf, n, 1, "version");
    n = pack_payload(buf, 1, key_a, 31, sig_a, 64, "alice");
    expect_payload_refused("31-byte key", buf, n, 1, "31");
    n = pack_payload(buf, 1, key_a, 0, sig_a, 64, "alice");
    expect_payload_refused("no key", buf, n, 1, NULL);
    n = pack_payload(buf, 1, key_a, 32, sig_a, 63, "alice");
    expect_payload_refused("63-byte sig", buf, n, 1, "63");
    n = pack_payload(buf, 1, key_a, 32, sig_a, 0, "");
    expect_payload_refused("no sig, server side", buf, n, 0, NULL);
    n = pack_payload(buf, 1, key_a, 32, sig_a, 64, "");
    expect_payload_refused("empty name, required", buf, n, 1, "name");
    n = pack_payload(buf, 1, key_a, 32, sig_a, 64, " alice");
    expect_payload_refused("bad name, required", buf, n, 1, "name");
    n = pack_payload(buf, 1, key_a, 32, sig_a, 64, "\x1b[2J");
    expect_payload_refused("escape name, required", buf, n, 1, "name");
    n = pack_payload(buf, 1, key_a, 32, sig_a, 64, "alice");
    expect_payload_refused("name from the server", buf, n, 0, "name");

    /* Garbage: a truncated varint, a field with an impossible length, wire type 7. */
    static const uint8_t g1[] = {0x08, 0xff, 0xff};
    static const uint8_t g2[] = {0x12, 0x40, 0x01, 0x02};
    static const uint8_t g3[] = {0x0f, 0x01};
    expect_payload_refused("truncated varint", g1, sizeof(g1), 1, NULL);
    expect_payload_refused("length past the end", g2, sizeof(g2), 1, NULL);
    expect_payload_refused("wire type 7", g3, sizeof(g3), 1, NULL);
    /* Cut a valid payload short by one byte. */
    n = pack_payload(buf, 1, key_a, 32, sig_a, 64, "alice");
    expect_payload_refused("last byte missing", buf, n - 1, 1, NULL);
    /* Empty input parses to all defaults: version 0. */
    expect_payload_refused("no bytes", buf, 0, 1, NULL);

    /* A refusal with no room for the reason must not write anywhere. */
    Mim__HandshakePayload *m = NULL;
    n = pack_payload(buf, 2, key_a, 32, sig_a, 64, "alice");
    EXPECT_INT(mim_handshake_payload_decode(buf, n, 1, &m, NULL, 0), MIM_EDECODE);
    assert_null(m);
    char tiny[4] = {'z', 'z', 'z', 'z'};
    EXPECT_INT(mim_handshake_payload_decode(buf, n, 1, &m, tiny, 1), MIM_EDECODE);
    EXPECT_INT(tiny[0], '\0');
    EXPECT_INT(tiny[1], 'z');
}

/* ---- presence batches -------------------------------------------------------------------- */

/* Decodes b in direction dir, failing the test with the reason if it is refused. */
static Mim__PresenceBatch *decode_ok(const mim_buf *b, enum mim_direction dir, size_t n_msgs)
{
    Mim__PresenceBatch *out = NULL;
    char err[256] = "";
    int rc = mim_presence_batch_decode(b->data, b->len, dir, &out, err, sizeof(err));

    if (rc != 0)
        fail_msg("batch refused (rc %d): %s", rc, err);
    assert_non_null(out);
    EXPECT_INT(out->n_msgs, n_msgs);
    return out;
}

static void expect_batch_refused(const char *what, const uint8_t *p, size_t len,
                                 enum mim_direction dir)
{
    Mim__PresenceBatch *out = (Mim__PresenceBatch *)&out; /* must be reset to NULL */
    char err[256] = "";
    int rc = mim_presence_batch_decode(p, len, dir, &out, err, sizeof(err));

    if (rc != MIM_EDECODE)
        fail_msg("%s: rc %d, want MIM_EDECODE (%d)", what, rc, MIM_EDECODE);
    if (out != NULL)
        fail_msg("%s: *out not NULL after a refusal", what);
    if (err[0] == '\0')
        fail_msg("%s: empty reason", what);
}

/* One message as the only element of a batch, which must be refused from direction dir. */
static void expect_msg_refused(const char *what, const Mim__PresenceMsg *m, enum mim_direction dir)
{
    mim_buf b;
    char err[256] = "";

    mim_buf_init(&b);
    EXPECT_INT(mim_presence_batch_append(&b, m), 0);
    expect_batch_refused(what, b.data, b.len, dir);
    /* The validator alone agrees, on the message as built. */
    if (mim_presence_msg_validate(m, dir, err, sizeof(err)) != MIM_EDECODE)
        fail_msg("%s: mim_presence_msg_validate accepted it", what);
    if (err[0] == '\0')
        fail_msg("%s: validator gave an empty reason", what);
    mim_buf_free(&b);
}

static void peer_info_check(const Mim__PeerInfo *pi, const char *name, const uint8_t *addr,
                            size_t addr_len, uint32_t port, const uint8_t *pk, Mim__Status st,
                            const char *text)
{
    assert_non_null(pi);
    assert_string_equal(pi->name, name);
    EXPECT_INT(pi->addr.len, addr_len);
    assert_memory_equal(pi->addr.data, addr, addr_len);
    EXPECT_INT(pi->port, port);
    EXPECT_INT(pi->identity_pk.len, 32);
    assert_memory_equal(pi->identity_pk.data, pk, 32);
    EXPECT_INT(pi->status, st);
    assert_string_equal(pi->status_text, text);
}

static void test_batch_roundtrip_from_peer(void **state)
{
    Mim__PresenceMsg msg[5];
    Mim__Login login = MIM__LOGIN__INIT;
    Mim__StatusSet ss = MIM__STATUS_SET__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    Mim__Pong pong = MIM__PONG__INIT;
    Mim__Logout logout = MIM__LOGOUT__INIT;
    mim_buf b;
    (void)state;

    for (size_t i = 0; i < 5; i++)
        mim__presence_msg__init(&msg[i]);
    login.name = "alice";
    login.listen_port = 65535;
    login.identity_pk.data = (uint8_t *)key_a;
    login.identity_pk.len = 32;
    login.static_sig.data = sig_a;
    login.static_sig.len = 64;
    login.login_sig.data = sig_b;
    login.login_sig.len = 64;
    msg[0].body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
    msg[0].login = &login;
    ss.status = MIM__STATUS__STATUS_BUSY;
    ss.text = "in a meeting";
    msg[1].body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    msg[1].status_set = &ss;
    ping.nonce = UINT64_C(0x0123456789abcdef);
    msg[2].body_case = MIM__PRESENCE_MSG__BODY_PING;
    msg[2].ping = &ping;
    pong.nonce = UINT64_MAX;
    msg[3].body_case = MIM__PRESENCE_MSG__BODY_PONG;
    msg[3].pong = &pong;
    msg[4].body_case = MIM__PRESENCE_MSG__BODY_LOGOUT;
    msg[4].logout = &logout;

    mim_buf_init(&b);
    for (size_t i = 0; i < 5; i++)
        EXPECT_INT(mim_presence_batch_append(&b, &msg[i]), 0);
    Mim__PresenceBatch *d = decode_ok(&b, MIM_FROM_PEER, 5);

    EXPECT_INT(d->msgs[0]->body_case, MIM__PRESENCE_MSG__BODY_LOGIN);
    assert_string_equal(d->msgs[0]->login->name, "alice");
    EXPECT_INT(d->msgs[0]->login->listen_port, 65535);
    assert_memory_equal(d->msgs[0]->login->identity_pk.data, key_a, 32);
    EXPECT_INT(d->msgs[0]->login->static_sig.len, 64);
    assert_memory_equal(d->msgs[0]->login->static_sig.data, sig_a, 64);
    EXPECT_INT(d->msgs[0]->login->login_sig.len, 64);
    assert_memory_equal(d->msgs[0]->login->login_sig.data, sig_b, 64);
    EXPECT_INT(d->msgs[1]->body_case, MIM__PRESENCE_MSG__BODY_STATUS_SET);
    EXPECT_INT(d->msgs[1]->status_set->status, MIM__STATUS__STATUS_BUSY);
    assert_string_equal(d->msgs[1]->status_set->text, "in a meeting");
    EXPECT_INT(d->msgs[2]->body_case, MIM__PRESENCE_MSG__BODY_PING);
    assert_true(d->msgs[2]->ping->nonce == UINT64_C(0x0123456789abcdef));
    EXPECT_INT(d->msgs[3]->body_case, MIM__PRESENCE_MSG__BODY_PONG);
    assert_true(d->msgs[3]->pong->nonce == UINT64_MAX);
    EXPECT_INT(d->msgs[4]->body_case, MIM__PRESENCE_MSG__BODY_LOGOUT);
    assert_non_null(d->msgs[4]->logout);
    mim_presence_batch_free(d);

    /* Each one alone is a valid batch too (ping and pong in both directions). */
    for (size_t i = 0; i < 5; i++) {
        b.len = 0;
        EXPECT_INT(mim_presence_batch_append(&b, &msg[i]), 0);
        mim_presence_batch_free(decode_ok(&b, MIM_FROM_PEER, 1));
        if (i == 2 || i == 3)
            mim_presence_batch_free(decode_ok(&b, MIM_FROM_SERVER, 1));
    }
    mim_presence_batch_free(NULL);
    mim_buf_free(&b);
}

/* The seven messages test_batch_roundtrip_from_server sends, as they decode. */
static void check_server_batch(const Mim__PresenceBatch *d)
{
    EXPECT_INT(d->msgs[0]->body_case, MIM__PRESENCE_MSG__BODY_TABLE);
    EXPECT_INT(d->msgs[0]->table->n_peers, 2);
    EXPECT_INT(d->msgs[0]->table->last, 1);
    peer_info_check(d->msgs[0]->table->peers[0], "alice", addr4, 4, 4243, key_a,
                    MIM__STATUS__STATUS_AVAILABLE, "");
    peer_info_check(d->msgs[0]->table->peers[1], "Zo\xc3\xab", addr16, 16, 1, key_b,
                    MIM__STATUS__STATUS_AWAY, "brb");
    EXPECT_INT(d->msgs[1]->body_case, MIM__PRESENCE_MSG__BODY_ADD);
    peer_info_check(d->msgs[1]->add->peer, "carol", addr4, 4, 65535, key_b,
                    MIM__STATUS__STATUS_BUSY, "\xe2\x9c\x88 flying");
    EXPECT_INT(d->msgs[2]->body_case, MIM__PRESENCE_MSG__BODY_DEL);
    assert_string_equal(d->msgs[2]->del->name, "bob");
    EXPECT_INT(d->msgs[3]->body_case, MIM__PRESENCE_MSG__BODY_STATUS);
    assert_string_equal(d->msgs[3]->status->name, "alice");
    EXPECT_INT(d->msgs[3]->status->status, MIM__STATUS__STATUS_AWAY);
    assert_string_equal(d->msgs[3]->status->text, "lunch");
    EXPECT_INT(d->msgs[4]->body_case, MIM__PRESENCE_MSG__BODY_PING);
    EXPECT_INT(d->msgs[4]->ping->nonce, 7);
    EXPECT_INT(d->msgs[5]->body_case, MIM__PRESENCE_MSG__BODY_PONG);
    EXPECT_INT(d->msgs[5]->pong->nonce, 8);
    EXPECT_INT(d->msgs[6]->body_case, MIM__PRESENCE_MSG__BODY_ERROR);
    EXPECT_INT(d->msgs[6]->error->code, MIM__ERROR_CODE__ERROR_NAME_TAKEN);
    assert_string_equal(d->msgs[6]->error->message, "name taken");
}

static void test_batch_roundtrip_from_server(void **state)
{
    Mim__PresenceMsg msg[7];
    Mim__PeerInfo pi[3];
    Mim__PeerInfo *table_peers[2] = {&pi[0], &pi[1]};
    Mim__TableChunk table = MIM__TABLE_CHUNK__INIT;
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;
    Mim__PeerDelete del = MIM__PEER_DELETE__INIT;
    Mim__StatusUpdate su = MIM__STATUS_UPDATE__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    Mim__Pong pong = MIM__PONG__INIT;
    Mim__Error error = MIM__ERROR__INIT;
    mim_buf b;
    (void)state;

    for (size_t i = 0; i < 7; i++)
        mim__presence_msg__init(&msg[i]);
    mim_peer_info_init(&pi[0], "alice", addr4, 4, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE, NULL);
    mim_peer_info_init(&pi[1], "Zo\xc3\xab", addr16, 16, 1, key_b, MIM__STATUS__STATUS_AWAY, "brb");
    mim_peer_info_init(&pi[2], "carol", addr4, 4, 65535, key_b, MIM__STATUS__STATUS_BUSY,
                       "\xe2\x9c\x88 flying");
    table.n_peers = 2;
    table.peers = table_peers;
    table.last = 1;
    msg[0].body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    msg[0].table = &table;
    add.peer = &pi[2];
    msg[1].body_case = MIM__PRESENCE_MSG__BODY_ADD;
    msg[1].add = &add;
    del.name = "bob";
    msg[2].body_case = MIM__PRESENCE_MSG__BODY_DEL;
    msg[2].del = &del;
    su.name = "alice";
    su.status = MIM__STATUS__STATUS_AWAY;
    su.text = "lunch";
    msg[3].body_case = MIM__PRESENCE_MSG__BODY_STATUS;
    msg[3].status = &su;
    ping.nonce = 7;
    msg[4].body_case = MIM__PRESENCE_MSG__BODY_PING;
    msg[4].ping = &ping;
    pong.nonce = 8;
    msg[5].body_case = MIM__PRESENCE_MSG__BODY_PONG;
    msg[5].pong = &pong;
    error.code = MIM__ERROR_CODE__ERROR_NAME_TAKEN;
    error.message = "name taken";
    msg[6].body_case = MIM__PRESENCE_MSG__BODY_ERROR;
    msg[6].error = &error;

    mim_buf_init(&b);
    for (size_t i = 0; i < 7; i++)
        EXPECT_INT(mim_presence_batch_append(&b, &msg[i]), 0);
    Mim__PresenceBatch *d = decode_ok(&b, MIM_FROM_SERVER, 7);

    check_server_batch(d);
    mim_presence_batch_free(d);

    /* An empty table chunk (nobody else online) is fine. */
    table.n_peers = 0;
    b.len = 0;
    EXPECT_INT(mim_presence_batch_append(&b, &msg[0]), 0);
    d = decode_ok(&b, MIM_FROM_SERVER, 1);
    EXPECT_INT(d->msgs[0]->table->n_peers, 0);
    mim_presence_batch_free(d);
    mim_buf_free(&b);
}

/* A login that passes, for the refusal tests to spoil one field at a time. */
static Mim__Login good_login(void)
{
    Mim__Login l = MIM__LOGIN__INIT;
    l.name = "alice";
    l.listen_port = 4243;
    l.identity_pk.data = (uint8_t *)key_a;
    l.identity_pk.len = 32;
    l.static_sig.data = sig_a;
    l.static_sig.len = 64;
    l.login_sig.data = sig_b;
    l.login_sig.len = 64;
    return l;
}

static void test_batch_refusals_structure(void **state)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Login login = good_login();
    Mim__TableChunk table = MIM__TABLE_CHUNK__INIT;
    (void)state;

    /* Zero bytes parse as a batch with no messages. */
    expect_batch_refused("empty batch", (const uint8_t *)"", 0, MIM_FROM_PEER);
    expect_batch_refused("empty batch (server)", (const uint8_t *)"", 0, MIM_FROM_SERVER);
    /* One element of length 0: a PresenceMsg with no oneof arm set. */
    static const uint8_t nobody[] = {0x0a, 0x00};
    expect_batch_refused("message with no body", nobody, sizeof(nobody), MIM_FROM_PEER);
    expect_batch_refused("message with no body (server)", nobody, sizeof(nobody), MIM_FROM_SERVER);
    expect_msg_refused("message with no body (built)", &m, MIM_FROM_SERVER);
    /* Garbage and a truncated element. */
    static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0xff};
    expect_batch_refused("garbage", garbage, sizeof(garbage), MIM_FROM_PEER);
    static const uint8_t cut[] = {0x0a, 0x05, 0x3a, 0x02, 0x08};
    expect_batch_refused("element cut short", cut, sizeof(cut), MIM_FROM_SERVER);

    /* The right message from the wrong side. */
    m.body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
    m.login = &login;
    {
        mim_buf b;
        mim_buf_init(&b);
        EXPECT_INT(mim_presence_batch_append(&b, &m), 0);
        mim_presence_batch_free(decode_ok(&b, MIM_FROM_PEER, 1)); /* the control */
        mim_buf_free(&b);
    }
    expect_msg_refused("login from the server", &m, MIM_FROM_SERVER);
    table.last = 1;
    m.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    m.table = &table;
    expect_msg_refused("table chunk from a peer", &m, MIM_FROM_PEER);

    /* One bad message spoils the whole batch, wherever it sits. */
    Mim__Ping ping = MIM__PING__INIT;
    Mim__PresenceMsg pm = MIM__PRESENCE_MSG__INIT;
    pm.body_case = MIM__PRESENCE_MSG__BODY_PING;
    pm.ping = &ping;
    mim_buf b;
    mim_buf_init(&b);
    EXPECT_INT(mim_presence_batch_append(&b, &pm), 0);
    EXPECT_INT(mim_presence_batch_append(&b, &pm), 0);
    EXPECT_INT(mim_presence_batch_append(&b, &m), 0);
    expect_batch_refused("table chunk third in a peer batch", b.data, b.len, MIM_FROM_PEER);
    mim_buf_free(&b);
}

static void test_batch_refusals_login(void **state)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Login login;
    (void)state;

    m.body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
    m.login = &login;

    login = good_login();
    login.listen_port = 0;
    expect_msg_refused("login with port 0", &m, MIM_FROM_PEER);
    login = good_login();
    login.listen_port = 70000;
    expect_msg_refused("login with port 70000", &m, MIM_FROM_PEER);
    login = good_login();
    login.listen_port = 65536;
    expect_msg_refused("login with port 65536", &m, MIM_FROM_PEER);
    login = good_login();
    login.identity_pk.len = 31;
    expect_msg_refused("login with a 31-byte key", &m, MIM_FROM_PEER);
    login = good_login();
    login.static_sig.len = 63;
    expect_msg_refused("login with a 63-byte static_sig", &m, MIM_FROM_PEER);
    login = good_login();
    login.login_sig.len = 63;
    expect_msg_refused("login with a 63-byte login_sig", &m, MIM_FROM_PEER);
    login = good_login();
    login.login_sig.len = 0;
    expect_msg_refused("login without login_sig", &m, MIM_FROM_PEER);
    login = good_login();
    login.name = "";
    expect_msg_refused("login with an empty name", &m, MIM_FROM_PEER);
    login = good_login();
    login.name = "eve\xe2\x80\xae";
    expect_msg_refused("login with a bidi override", &m, MIM_FROM_PEER);
}

/* A message of 129 bytes of 's' in long_text (one over the status text's limit). */
static void fill_long_text(char long_text[MIM_STATUS_TEXT_MAX + 2])
{
    memset(long_text, 's', MIM_STATUS_TEXT_MAX + 2);
    long_text[MIM_STATUS_TEXT_MAX + 1] = '\0'; /* 129 bytes */
}

static void test_batch_refusals_peer_info(void **state)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerInfo pi;
    Mim__PeerInfo *peers[1] = {&pi};
    Mim__PeerAdd add = MIM__PEER_ADD__INIT;
    Mim__TableChunk table = MIM__TABLE_CHUNK__INIT;
    char long_text[MIM_STATUS_TEXT_MAX + 2];
    (void)state;

    fill_long_text(long_text);
    /* Peer info, inside an add and inside a table. */
    m.body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m.add = &add;
    add.peer = &pi;
    mim_peer_info_init(&pi, "alice", addr16, 5, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    expect_msg_refused("peer info with a 5-byte address", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice", addr4, 0, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    expect_msg_refused("peer info without an address", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice", addr4, 4, 0, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    expect_msg_refused("peer info with port 0", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice", addr4, 4, 4243, key_a, 7, "");
    expect_msg_refused("peer info with status 7", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice", addr4, 4, 4243, key_a, MIM__STATUS__STATUS_UNSPECIFIED, "");
    expect_msg_refused("peer info with status 0", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice", addr4, 4, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE,
                       long_text);
    expect_msg_refused("peer info with 129 bytes of status text", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice", addr4, 4, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    pi.identity_pk.len = 31;
    expect_msg_refused("peer info with a 31-byte key", &m, MIM_FROM_SERVER);
    mim_peer_info_init(&pi, "alice ", addr4, 4, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    expect_msg_refused("peer info with a bad name", &m, MIM_FROM_SERVER);
    add.peer = NULL;
    expect_msg_refused("add without peer info", &m, MIM_FROM_SERVER);

    mim_peer_info_init(&pi, "alice", addr16, 5, 4243, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    m.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    m.table = &table;
    table.n_peers = 1;
    table.peers = peers;
    expect_msg_refused("table with a 5-byte address", &m, MIM_FROM_SERVER);
}

static void test_batch_refusals_status(void **state)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__StatusSet ss = MIM__STATUS_SET__INIT;
    Mim__StatusUpdate su = MIM__STATUS_UPDATE__INIT;
    char long_text[MIM_STATUS_TEXT_MAX + 2];
    (void)state;

    fill_long_text(long_text);
    /* Status set (peer) and status update (server). */
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m.status_set = &ss;
    ss.status = 7;
    ss.text = "";
    expect_msg_refused("status set 7", &m, MIM_FROM_PEER);
    ss.status = MIM__STATUS__STATUS_AWAY;
    ss.text = long_text;
    expect_msg_refused("status set with 129 bytes of text", &m, MIM_FROM_PEER);
    long_text[MIM_STATUS_TEXT_MAX] = '\0'; /* 128 bytes: at the limit, accepted */
    {
        mim_buf b;
        mim_buf_init(&b);
        EXPECT_INT(mim_presence_batch_append(&b, &m), 0);
        mim_presence_batch_free(decode_ok(&b, MIM_FROM_PEER, 1));
        mim_buf_free(&b);
    }
    long_text[MIM_STATUS_TEXT_MAX] = 's';
    ss.text = "two\nlines";
    expect_msg_refused("status set with a newline", &m, MIM_FROM_PEER);

    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS;
    m.status = &su;
    su.name = "alice";
    su.status = 7;
    su.text = "";
    expect_msg_refused("status update 7", &m, MIM_FROM_SERVER);
    su.status = MIM__STATUS__STATUS_AWAY;
    su.text = long_text;
    expect_msg_refused("status update with 129 bytes of text", &m, MIM_FROM_SERVER);
    su.text = "";
    su.name = "";
    expect_msg_refused("status update with no name", &m, MIM_FROM_SERVER);
}

static void test_batch_refusals_error_delete(void **state)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Error error = MIM__ERROR__INIT;
    Mim__PeerDelete del = MIM__PEER_DELETE__INIT;
    (void)state;

    /* Error: code 0 is absent on the wire; the text has its own cap. */
    m.body_case = MIM__PRESENCE_MSG__BODY_ERROR;
    m.error = &error;
    error.code = MIM__ERROR_CODE__ERROR_UNSPECIFIED;
    error.message = "what";
    expect_msg_refused("error with code 0", &m, MIM_FROM_SERVER);
    error.code = MIM__ERROR_CODE__ERROR_PROTOCOL;
    error.message = "\x1b[2J";
    expect_msg_refused("error with an escape", &m, MIM_FROM_SERVER);

    /* Delete with an invalid name. */
    m.body_case = MIM__PRESENCE_MSG__BODY_DEL;
    m.del = &del;
    del.name = "";
    expect_msg_refused("delete with an empty name", &m, MIM_FROM_SERVER);
    del.name = "a\xc0\xaf";
    expect_msg_refused("delete with an overlong name", &m, MIM_FROM_SERVER);
}

static void test_batch_append_encoded(void **state)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__PeerDelete del = MIM__PEER_DELETE__INIT;
    mim_buf element, batch;
    (void)state;

    del.name = "bob";
    m.body_case = MIM__PRESENCE_MSG__BODY_DEL;
    m.del = &del;
    mim_buf_init(&element);
    mim_buf_init(&batch);
    /* Encode the broadcast once... */
    EXPECT_INT(mim_presence_batch_append(&element, &m), 0);
    EXPECT_INT(element.data[0], 0x0a); /* field 1, length-delimited */
    EXPECT_INT(element.data[1], element.len - 2);
    /* ...and append its bytes twice, as the server copies them into each recipient's batch. */
    EXPECT_INT(mim_buf_append(&batch, element.data, element.len), 0);
    EXPECT_INT(mim_buf_append(&batch, element.data, element.len), 0);
    EXPECT_INT(batch.len, 2 * element.len);
    Mim__PresenceBatch *d = decode_ok(&batch, MIM_FROM_SERVER, 2);
    for (size_t i = 0; i < 2; i++) {
        EXPECT_INT(d->msgs[i]->body_case, MIM__PRESENCE_MSG__BODY_DEL);
        assert_string_equal(d->msgs[i]->del->name, "bob");
    }
    mim_presence_batch_free(d);

    /* An element over 127 bytes needs a two-byte length varint. */
    Mim__Error error = MIM__ERROR__INIT;
    char text[MIM_ERROR_TEXT_MAX + 1];
    memset(text, 'e', MIM_ERROR_TEXT_MAX);
    text[MIM_ERROR_TEXT_MAX] = '\0';
    error.code = MIM__ERROR_CODE__ERROR_SHUTTING_DOWN;
    error.message = text;
    m.body_case = MIM__PRESENCE_MSG__BODY_ERROR;
    m.error = &error;
    EXPECT_INT(mim_presence_batch_append(&batch, &m), 0);
    d = decode_ok(&batch, MIM_FROM_SERVER, 3);
    EXPECT_INT(d->msgs[2]->error->code, MIM__ERROR_CODE__ERROR_SHUTTING_DOWN);
    assert_string_equal(d->msgs[2]->error->message, text);
    mim_presence_batch_free(d);

    mim_buf_free(&element);
    mim_buf_free(&batch);
}

/* protobuf-c gives strings back without their length: "a\0<ESC>" would validate as "a". Only the
 * canonical encoding is accepted, so the hidden bytes (and explicit defaults) are refused. */
static void test_non_canonical_refused(void **state)
{
    /* Batch { msgs: PresenceMsg { status_set: StatusSet { status: 1, text: "a\0\x1b" } } } */
    static const uint8_t nul_text[] = {0x0a, 0x09, 0x2a, 0x07, 0x08, 0x01,
                                       0x12, 0x03, 'a',  0x00, 0x1b};
    /* The same with an explicit empty text: 12 00 is a default value sent on purpose. */
    static const uint8_t explicit_default[] = {0x0a, 0x06, 0x2a, 0x04, 0x08, 0x01, 0x12, 0x00};
    /* And the canonical form of the latter, which is accepted. */
    static const uint8_t canonical[] = {0x0a, 0x04, 0x2a, 0x02, 0x08, 0x01};
    Mim__PresenceBatch *b = NULL;
    char err[200] = "";
    (void)state;

    EXPECT_INT(
        mim_presence_batch_decode(nul_text, sizeof(nul_text), MIM_FROM_PEER, &b, err, sizeof(err)),
        MIM_EDECODE);
    assert_null(b);
    assert_non_null(strstr(err, "canonical"));
    EXPECT_INT(mim_presence_batch_decode(explicit_default, sizeof(explicit_default), MIM_FROM_PEER,
                                         &b, err, sizeof(err)),
               MIM_EDECODE);
    assert_null(b);
    EXPECT_INT(mim_presence_batch_decode(canonical, sizeof(canonical), MIM_FROM_PEER, &b, err,
                                         sizeof(err)),
               0);
    assert_non_null(b);
    assert_int_equal(b->msgs[0]->body_case, MIM__PRESENCE_MSG__BODY_STATUS_SET);
    mim_presence_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_valid_accepts),
        cmocka_unit_test(test_name_valid_refuses),
        cmocka_unit_test(test_text_valid),
        cmocka_unit_test(test_handshake_roundtrip),
        cmocka_unit_test(test_handshake_refusals),
        cmocka_unit_test(test_batch_roundtrip_from_peer),
        cmocka_unit_test(test_batch_roundtrip_from_server),
        cmocka_unit_test(test_batch_refusals_structure),
        cmocka_unit_test(test_batch_refusals_login),
        cmocka_unit_test(test_batch_refusals_peer_info),
        cmocka_unit_test(test_batch_refusals_status),
        cmocka_unit_test(test_batch_refusals_error_delete),
        cmocka_unit_test(test_batch_append_encoded),
        cmocka_unit_test(test_non_canonical_refused),
    };

    return cmocka_run_group_tests(tests, setup_bytes, NULL);
}
