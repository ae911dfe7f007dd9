/* Writes the seed corpora under tests/fuzz/corpus/<target>/: a few valid encodings of every
 * message a fuzz target reads, plus a couple of malformed ones, so that fuzzing starts deep
 * in the decoders and the ctest replay covers both the accept and the refuse paths.
 *
 *   fuzz_make_corpus [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * The output is deterministic: rerunning it rewrites identical files. Not a test; run it by
 * hand after changing the schemas and commit the result. */
#include "make_corpus.h"
#include "mim_framer.h"

#include "handshake.pb-c.h"
#include "peer.pb-c.h"
#include "presence.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

/* Recognisable, fixed filler for keys and signatures. */
static uint8_t key_a[32], key_b[32], sig_a[64], sig_b[64], sig_c[64];
static uint8_t id_a[17], id_b[16], id_c[16]; /* chat message ids; id_a has room for 17 bytes */
static uint8_t addr4[4] = {192, 168, 1, 20};
static uint8_t addr6[16] = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                            0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 13);
}

static void peer(Mim__PeerInfo *pi, const char *name, uint8_t *addr, size_t alen, uint32_t port,
                 uint8_t *key, Mim__Status st, const char *text)
{
    mim__peer_info__init(pi);
    pi->name = (char *)name;
    pi->addr.data = addr;
    pi->addr.len = alen;
    pi->port = port;
    pi->identity_pk.data = key;
    pi->identity_pk.len = 32;
    pi->status = st;
    pi->status_text = (char *)text;
}

/* ---- framer: [maxA][maxB][n][n+1 chunk sizes][stream], see fuzz_framer.c ---- */

/* Starts a seed with the fuzz_framer preamble (limits and chunk sizes) given as bytes. */
static size_t put_bytes(uint8_t *out, const char *bytes, size_t n)
{
    memcpy(out, bytes, n);
    return n;
}

static size_t put_frame(uint8_t *out, size_t len, uint8_t fillb)
{
    mim_frame_header(out, len);
    memset(out + MIM_FRAME_HEADER_LEN, fillb, len);
    return MIM_FRAME_HEADER_LEN + len;
}

static void framer_seeds(void)
{
    uint8_t b[1024];
    size_t n;

    /* Limits 65535/65535, chunks of 1, 7 and "the rest"; frames of 1, 2, 255, 256, 3 bytes. */
    n = put_bytes(b, "\xff\xff\xff\xff\x02\x01\x07\x00", 8);
    n += put_frame(b + n, 1, 'a');
    n += put_frame(b + n, 2, 'b');
    n += put_frame(b + n, 255, 'c');
    n += put_frame(b + n, 256, 'd');
    n += put_frame(b + n, 3, 'e');
    write_seed("framer", "several_frames", b, n);

    /* A handshake limit of 100 then 1024: a 100-byte frame, then a 300-byte one. */
    n = put_bytes(b, "\x00\x64\x04\x00\x00\x32", 6);
    n += put_frame(b + n, 100, 'h');
    n += put_frame(b + n, 300, 't');
    write_seed("framer", "limit_switch", b, n);

    /* One byte at a time, ending inside a body. */
    n = put_bytes(b, "\x00\x40\x00\x40\x00\x01", 6);
    n += put_frame(b + n, 5, 'x');
    n += put_frame(b + n, 20, 'y') - 10;
    write_seed("framer", "bytewise_partial", b, n);

    /* 17 bytes announced with a limit of 16: refused after the header. */
    n = put_bytes(b, "\x00\x10\x00\x10\x00\x00", 6);
    n += put_frame(b + n, 17, 'z');
    write_seed("framer", "too_big", b, n);

    /* A valid frame followed by a zero length. */
    n = put_bytes(b, "\xff\xff\xff\xff\x00\x03", 6);
    n += put_frame(b + n, 4, 'q');
    n += put_bytes(b + n, "\x00\x00r", 3);
    write_seed("framer", "empty_frame", b, n);
}

/* ---- handshake payload ---- */

static void handshake_seeds(void)
{
    Mim__HandshakePayload m;

    mim__handshake_payload__init(&m);
    m.version = 1;
    m.identity_pk.data = key_a;
    m.identity_pk.len = 32;
    m.static_sig.data = sig_a;
    m.static_sig.len = 64;
    m.name = "alice";
    write_msg("handshake_payload", "peer_alice", &m.base, 0);
    write_msg("handshake_payload", "peer_alice_truncated", &m.base, 1);
    m.name = "Zo\xc3\xab \xe5\xa4\xaa\xe9\x83\x8e"; /* "Zoë 太郎": multi-byte names */
    write_msg("handshake_payload", "peer_utf8_name", &m.base, 0);
    m.name = "alice";
    m.features = 1; /* MIM_FEATURE_RECEIPTS */
    write_msg("handshake_payload", "peer_alice_features", &m.base, 0);
    m.features = 0;
    m.name = "bad\nname";
    write_msg("handshake_payload", "bad_control_char", &m.base, 0);
    m.name = "bob\xc2\xad"; /* U+00AD soft hyphen: invisible (mim_name.c) */
    write_msg("handshake_payload", "bad_invisible_char", &m.base, 0);
    m.name = "Zoe\xcc\x81"; /* e + U+0301: not NFC */
    write_msg("handshake_payload", "bad_not_nfc", &m.base, 0);

    m.name = "";
    write_msg("handshake_payload", "server", &m.base, 0);
    m.identity_pk.len = 31;
    write_msg("handshake_payload", "bad_short_key", &m.base, 0);
}

/* ---- presence messages, one type per target ---- */

static void login_seeds(void)
{
    Mim__Login login;

    mim__login__init(&login);
    login.name = "alice";
    login.listen_port = 4242;
    login.identity_pk.data = key_a;
    login.identity_pk.len = 32;
    login.static_sig.data = sig_a;
    login.static_sig.len = 64;
    login.login_sig.data = sig_b;
    login.login_sig.len = 64;
    write_msg("presence_login", "alice", &login.base, 0);
    write_msg("presence_login", "alice_truncated", &login.base, 5);
    login.name = "\xe5\xa4\xaa\xe9\x83\x8e";
    login.listen_port = 65535;
    write_msg("presence_login", "utf8_name_max_port", &login.base, 0);
    login.login_sig.len = 63;
    write_msg("presence_login", "bad_sig_63", &login.base, 0);
    login.login_sig.len = 64;
    login.listen_port = 70000;
    write_msg("presence_login", "bad_port", &login.base, 0);
}

/* The table, and the adds and deletes that keep it. */
static void table_seeds(void)
{
    Mim__TableChunk table;
    Mim__PeerInfo pa, pb, pbad;
    Mim__PeerInfo *peers[2] = {&pa, &pb};
    Mim__PeerAdd add;
    Mim__PeerDelete del;

    peer(&pa, "alice", addr4, 4, 4242, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    peer(&pb, "bob", addr6, 16, 5000, key_b, MIM__STATUS__STATUS_AWAY, "at lunch");
    mim__table_chunk__init(&table);
    table.n_peers = 2;
    table.peers = peers;
    table.last = 1;
    write_msg("presence_table", "two_peers_last", &table.base, 0);
    table.n_peers = 1;
    table.last = 0;
    write_msg("presence_table", "one_peer_more_to_come", &table.base, 0);
    peer(&pbad, "carol", addr4, 3, 1, key_b, MIM__STATUS__STATUS_BUSY, "");
    peers[0] = &pbad;
    write_msg("presence_table", "bad_addr_len", &table.base, 0);
    peers[0] = &pa;

    mim__peer_add__init(&add);
    add.peer = &pb;
    write_msg("presence_add", "bob_v6", &add.base, 0);
    add.peer = &pa;
    write_msg("presence_add", "alice_v4", &add.base, 0);
    pbad.addr.len = 4;
    pbad.port = 0;
    add.peer = &pbad;
    write_msg("presence_add", "bad_port_zero", &add.base, 0);

    mim__peer_delete__init(&del);
    del.name = "bob";
    write_msg("presence_del", "bob", &del.base, 0);
    del.name = "";
    write_msg("presence_del", "bad_empty_name", &del.base, 0);
}

static void status_seeds(void)
{
    Mim__StatusSet sset;
    Mim__StatusUpdate supd;
    Mim__Ping ping;
    Mim__Pong pong;
    Mim__Error error;
    Mim__Logout logout;

    mim__status_set__init(&sset);
    sset.status = MIM__STATUS__STATUS_AWAY;
    sset.text = "at lunch";
    write_msg("presence_status_set", "away", &sset.base, 0);
    sset.status = MIM__STATUS__STATUS_BUSY;
    sset.text = "";
    write_msg("presence_status_set", "busy_no_text", &sset.base, 0);
    sset.status = (Mim__Status)9;
    write_msg("presence_status_set", "bad_unknown_status", &sset.base, 0);

    mim__status_update__init(&supd);
    supd.name = "alice";
    supd.status = MIM__STATUS__STATUS_BUSY;
    supd.text = "in a meeting";
    write_msg("presence_status", "alice_busy", &supd.base, 0);
    supd.status = MIM__STATUS__STATUS_UNSPECIFIED;
    write_msg("presence_status", "bad_unspecified", &supd.base, 0);

    mim__ping__init(&ping);
    ping.nonce = 0x0123456789abcdefULL;
    write_msg("presence_ping", "nonce", &ping.base, 0);
    ping.nonce = 0;
    write_msg("presence_ping", "zero", &ping.base, 0);
    write_seed("presence_ping", "bad_truncated_varint", (const uint8_t *)"\x08\xff\xff", 3);

    mim__pong__init(&pong);
    pong.nonce = 0x0123456789abcdefULL;
    write_msg("presence_pong", "nonce", &pong.base, 0);
    write_seed("presence_pong", "bad_wrong_wire_type", (const uint8_t *)"\x0a\x01\x00", 3);
    /* Field number 0 in an over-long tag: protobuf-c accepts it but refuses its re-encoding. */
    write_seed("presence_pong", "regress_field_zero",
               (const uint8_t *)"\x08\x05\x81\x00\xff\xff\xff\xff\xff\xff\xff\xff", 12);

    mim__error__init(&error);
    error.code = MIM__ERROR_CODE__ERROR_NAME_TAKEN;
    error.message = "the name alice is registered to another key";
    write_msg("presence_error", "name_taken", &error.base, 0);
    error.code = MIM__ERROR_CODE__ERROR_SHUTTING_DOWN;
    error.message = "";
    write_msg("presence_error", "shutting_down", &error.base, 0);
    error.code = (Mim__ErrorCode)99;
    write_msg("presence_error", "bad_unknown_code", &error.base, 0);

    mim__logout__init(&logout);
    write_msg("presence_logout", "empty", &logout.base, 0);
    write_seed("presence_logout", "unknown_field", (const uint8_t *)"\x08\x01", 2);
}

static void presence_seeds(void)
{
    login_seeds();
    table_seeds();
    status_seeds();
}

/* ---- presence batches ---- */

static void batch_seeds(void)
{
    Mim__PresenceBatch batch;
    Mim__PresenceMsg m[4];
    Mim__PresenceMsg *mp[4] = {&m[0], &m[1], &m[2], &m[3]};
    Mim__Login login;
    Mim__TableChunk table;
    Mim__PeerInfo pa, pb;
    Mim__PeerInfo *peers[2] = {&pa, &pb};
    Mim__PeerAdd add;
    Mim__StatusUpdate supd;
    Mim__Ping ping;
    Mim__Pong pong;

    for (size_t i = 0; i < 4; i++)
        mim__presence_msg__init(&m[i]);
    mim__presence_batch__init(&batch);
    batch.msgs = mp;

    /* peer -> server: the login. */
    mim__login__init(&login);
    login.name = "alice";
    login.listen_port = 4242;
    login.identity_pk.data = key_a;
    login.identity_pk.len = 32;
    login.static_sig.data = sig_a;
    login.static_sig.len = 64;
    login.login_sig.data = sig_c;
    login.login_sig.len = 64;
    m[0].body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
    m[0].login = &login;
    batch.n_msgs = 1;
    write_msg("presence_batch", "peer_login", &batch.base, 0);

    /* server -> peer: the table, an add and a status update in one batch. */
    peer(&pa, "alice", addr4, 4, 4242, key_a, MIM__STATUS__STATUS_AVAILABLE, "");
    peer(&pb, "bob", addr6, 16, 5000, key_b, MIM__STATUS__STATUS_AWAY, "back soon");
    mim__table_chunk__init(&table);
    table.n_peers = 2;
    table.peers = peers;
    table.last = 1;
    mim__peer_add__init(&add);
    add.peer = &pb;
    mim__status_update__init(&supd);
    supd.name = "bob";
    supd.status = MIM__STATUS__STATUS_BUSY;
    supd.text = "";
    m[0].body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    m[0].table = &table;
    m[1].body_case = MIM__PRESENCE_MSG__BODY_ADD;
    m[1].add = &add;
    m[2].body_case = MIM__PRESENCE_MSG__BODY_STATUS;
    m[2].status = &supd;
    batch.n_msgs = 3;
    write_msg("presence_batch", "server_table_add_status", &batch.base, 0);
    write_msg("presence_batch", "server_truncated", &batch.base, 7);

    /* Either direction: ping and pong. */
    mim__ping__init(&ping);
    ping.nonce = 42;
    mim__pong__init(&pong);
    pong.nonce = 41;
    m[0].body_case = MIM__PRESENCE_MSG__BODY_PING;
    m[0].ping = &ping;
    m[1].body_case = MIM__PRESENCE_MSG__BODY_PONG;
    m[1].pong = &pong;
    batch.n_msgs = 2;
    write_msg("presence_batch", "ping_pong", &batch.base, 0);

    /* Malformed: an empty batch, and a message with no oneof arm set. */
    write_seed("presence_batch", "bad_empty", (const uint8_t *)"", 0);
    write_seed("presence_batch", "bad_no_body", (const uint8_t *)"\x0a\x00", 2);
    /* A ping carrying field number 0 in an over-long tag (see presence_pong). */
    write_seed("presence_batch", "regress_field_zero",
               (const uint8_t *)"\x0a\x0e\x3a\x0c\x08\x05\x81\x00\xff\xff\xff\xff\xff\xff\xff\xff",
               16);
}

/* ---- peer to peer: chat, ack, close, one type per target, then batches ---- */

static void chat_text(Mim__ChatMessage *c, const char *sender, const char *text)
{
    mim__chat_message__init(c);
    c->id.data = id_a;
    c->id.len = 16;
    c->ts_ms = 1700000000123ULL;
    c->sender = (char *)sender;
    c->type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c->text = (char *)text;
}

/* Acks: ids, refusals (Ack.refused, the receiver's quota), and broken ones. */
static void ack_seeds(void)
{
    Mim__Ack ack;
    ProtobufCBinaryData ids[3] = {{16, id_a}, {16, id_b}, {16, id_c}};

    mim__ack__init(&ack);
    ack.ids = ids;
    ack.n_ids = 1;
    write_msg("peer_ack", "one_id", &ack.base, 0);
    ack.n_ids = 3;
    write_msg("peer_ack", "three_ids", &ack.base, 0);
    write_msg("peer_ack", "three_ids_truncated", &ack.base, 4);
    ack.n_ids = 0;
    write_msg("peer_ack", "bad_no_ids", &ack.base, 0);
    ack.n_ids = 2;
    ids[1].len = 15;
    write_msg("peer_ack", "bad_id_15", &ack.base, 0);
    ids[1].len = 16;
    /* Refusals (Ack.refused, the receiver's quota): alone, and beside acks. */
    ack.n_ids = 0;
    ack.refused = ids;
    ack.n_refused = 1;
    write_msg("peer_ack", "refused_one", &ack.base, 0);
    ack.n_ids = 1;
    ack.refused = ids + 1;
    ack.n_refused = 2;
    write_msg("peer_ack", "ids_and_refused", &ack.base, 0);
    ids[2].len = 15;
    write_msg("peer_ack", "bad_refused_15", &ack.base, 0);
    ids[2].len = 16;
    ack.refused = NULL;
    ack.n_refused = 0;
}

static void peer_seeds(void)
{
    static uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    Mim__ChatMessage chat;
    Mim__Chunk chunk;
    Mim__ChatClose close;

    chat_text(&chat, "alice", "hello bob");
    write_msg("peer_chat", "hello", &chat.base, 0);
    write_msg("peer_chat", "hello_truncated", &chat.base, 3);
    chat_text(&chat, "Zo\xc3\xab", "two lines\n\tand a tab, \xe5\xa4\xaa\xe9\x83\x8e");
    write_msg("peer_chat", "multiline_utf8", &chat.base, 0);
    /* Hebrew with U+200F RIGHT-TO-LEFT MARK: formatting marks are allowed in chat text. */
    chat_text(&chat, "bob", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f 42");
    write_msg("peer_chat", "rtl_mark", &chat.base, 0);
    chat_text(&chat, "alice", "\x1b[2J gotcha");
    write_msg("peer_chat", "bad_escape", &chat.base, 0);
    chat_text(&chat, "alice",
              "\xc2\x9b"
              "2J");
    write_msg("peer_chat", "bad_c1_csi", &chat.base, 0);
    chat_text(&chat, "alice", "");
    write_msg("peer_chat", "bad_empty_text", &chat.base, 0);
    chat_text(&chat,
              "ali\xe2\x80\xae"
              "ce",
              "hi");
    write_msg("peer_chat", "bad_sender_rlo", &chat.base, 0);
    chat_text(&chat, "alice", "hi");
    chat.id.len = 15;
    write_msg("peer_chat", "bad_id_15", &chat.base, 0);
    chat.id.len = 17;
    write_msg("peer_chat", "bad_id_17", &chat.base, 0);
    chat.id.len = 16;
    chat.type = (Mim__ContentType)99;
    write_msg("peer_chat", "type_99", &chat.base, 0);
    /* Chunked content: accepted, stored and acked, shown as not supported. */
    mim__chunk__init(&chunk);
    chunk.index = 0;
    chunk.count = 1;
    chunk.data.data = png;
    chunk.data.len = sizeof(png);
    chunk.media_type = "image/png";
    chunk.file_name = "cat.png";
    chat_text(&chat, "alice", "");
    chat.type = MIM__CONTENT_TYPE__CONTENT_IMAGE;
    chat.chunk = &chunk;
    write_msg("peer_chat", "image_chunk", &chat.base, 0);
    chunk.index = 2;
    chunk.count = 2;
    write_msg("peer_chat", "bad_chunk_index", &chat.base, 0);

    ack_seeds();

    mim__chat_close__init(&close);
    write_msg("peer_close", "empty", &close.base, 0);
    write_seed("peer_close", "unknown_field", (const uint8_t *)"\x08\x01", 2);
    /* Issue 13: the reason of a refusal, and one this version cannot name (read, not refused). */
    close.reason = MIM__CLOSE_REASON__CLOSE_KEY_NOT_ACCEPTED;
    write_msg("peer_close", "key_not_accepted", &close.base, 0);
    close.reason = (Mim__CloseReason)99;
    write_msg("peer_close", "reason_99", &close.base, 0);
    write_seed("peer_close", "unknown_field_2", (const uint8_t *)"\x10\x01", 2);
    write_seed("peer_close", "bad_truncated_length", (const uint8_t *)"\x0a\x05", 2);
}

static void peer_batch_seeds(void)
{
    Mim__PeerBatch batch;
    Mim__PeerMsg m[3];
    Mim__PeerMsg *mp[3] = {&m[0], &m[1], &m[2]};
    Mim__ChatMessage chat, chat2;
    Mim__Ack ack;
    ProtobufCBinaryData ids[2] = {{16, id_b}, {16, id_c}};
    Mim__ChatClose close;
    Mim__Ping ping;
    Mim__Pong pong;

    for (size_t i = 0; i < 3; i++)
        mim__peer_msg__init(&m[i]);
    mim__peer_batch__init(&batch);
    batch.msgs = mp;

    /* A chat, the ack for two earlier messages, and a close. */
    chat_text(&chat, "alice", "see you tomorrow");
    mim__ack__init(&ack);
    ack.ids = ids;
    ack.n_ids = 2;
    mim__chat_close__init(&close);
    m[0].body_case = MIM__PEER_MSG__BODY_CHAT;
    m[0].chat = &chat;
    m[1].body_case = MIM__PEER_MSG__BODY_ACK;
    m[1].ack = &ack;
    m[2].body_case = MIM__PEER_MSG__BODY_CLOSE;
    m[2].close = &close;
    batch.n_msgs = 3;
    write_msg("peer_batch", "chat_ack_close", &batch.base, 0);
    write_msg("peer_batch", "chat_ack_close_truncated", &batch.base, 5);

    /* Two chats in a row (an outbox flush). */
    chat_text(&chat2, "alice", "and one more\n");
    chat2.id.data = id_b;
    chat2.ts_ms = 1700000000456ULL;
    m[1].body_case = MIM__PEER_MSG__BODY_CHAT;
    m[1].chat = &chat2;
    batch.n_msgs = 2;
    write_msg("peer_batch", "two_chats", &batch.base, 0);

    /* Keepalive. */
    mim__ping__init(&ping);
    ping.nonce = 42;
    mim__pong__init(&pong);
    pong.nonce = 41;
    m[0].body_case = MIM__PEER_MSG__BODY_PING;
    m[0].ping = &ping;
    m[1].body_case = MIM__PEER_MSG__BODY_PONG;
    m[1].pong = &pong;
    batch.n_msgs = 2;
    write_msg("peer_batch", "ping_pong", &batch.base, 0);

    /* A good close followed by a chat with an escape sequence: the whole batch is refused. */
    chat_text(&chat, "alice", "\x1b]0;pwned\x07");
    m[0].body_case = MIM__PEER_MSG__BODY_CLOSE;
    m[0].close = &close;
    m[1].body_case = MIM__PEER_MSG__BODY_CHAT;
    m[1].chat = &chat;
    write_msg("peer_batch", "bad_escape_after_close", &batch.base, 0);

    /* Malformed: an empty batch, and a message with no oneof arm set. */
    write_seed("peer_batch", "bad_empty", (const uint8_t *)"", 0);
    write_seed("peer_batch", "bad_no_body", (const uint8_t *)"\x0a\x00", 2);
    /* A ping carrying field number 0 in an over-long tag (see presence_pong). */
    write_seed("peer_batch", "regress_field_zero",
               (const uint8_t *)"\x0a\x0e\x22\x0c\x08\x05\x81\x00\xff\xff\xff\xff\xff\xff\xff\xff",
               16);
}

/* ---- the state machines: scripts for fuzz_session.c (format: fuzz_remote.h / fuzz_remote.c) ----
 * [flags][corrupt][corrupt_pos] then operations [op][n][n bytes]. flags 0x80: the unit dials;
 * 0x40: hang up with a reset; 0x20: the unit refuses; 0x10: chat: the unit speaks first, or
 * dials a wrong key; 0x08: chat: the unit closes on the remote's Close. corrupt & 3: which of
 * our handshake frames gets a flipped bit. Ops: 0 message, 1 final, 2 raw, 3 corrupt, 4 replay,
 * 5 split, 6 pump, 7 shutdown, 8 big, 9 the target's special (a valid chat / signed Login). */

typedef struct script {
    uint8_t b[1024];
    size_t n;
} script;

static void sc_start(script *sc, uint8_t flags, uint8_t corrupt, uint8_t pos)
{
    sc->b[0] = flags, sc->b[1] = corrupt, sc->b[2] = pos;
    sc->n = 3;
}

static void sc_op(script *sc, uint8_t op, const void *p, size_t len)
{
    if (sc->n + 2 + len > sizeof(sc->b) || len > 255)
        abort();
    sc->b[sc->n++] = op;
    sc->b[sc->n++] = (uint8_t)len;
    if (len > 0)
        memcpy(sc->b + sc->n, p, len);
    sc->n += len;
}

static void sc_str(script *sc, uint8_t op, const char *text)
{
    sc_op(sc, op, text, strlen(text));
}

/* A protobuf message as the plaintext of an op-0 frame. */
static void sc_msg(script *sc, const ProtobufCMessage *m)
{
    uint8_t buf[255];
    size_t n = protobuf_c_message_get_packed_size(m);

    if (n > sizeof(buf))
        abort();
    protobuf_c_message_pack(m, buf);
    sc_op(sc, 0, buf, n);
}

static void sc_write(const char *target, const char *name, const script *sc)
{
    write_seed(target, name, sc->b, sc->n);
}

static void channel_seeds(void)
{
    const char *t = "session_channel";
    script sc;

    for (int side = 0; side < 2; side++) {
        uint8_t dial = side ? 0x80 : 0;
        const char *sfx = side ? "_dial" : "";
        char name[64];

        sc_start(&sc, dial, 0, 0);
        sc_str(&sc, 0, "Ehello");
        sc_str(&sc, 0, "just data");
        sc_str(&sc, 1, "Ebye");
        snprintf(name, sizeof(name), "echo_final%s", sfx);
        sc_write(t, name, &sc);
        for (uint8_t which = 1; which <= 3; which++) {
            sc_start(&sc, dial, which, (uint8_t)(which * 11));
            sc_str(&sc, 0, "Eafter a corrupt handshake");
            snprintf(name, sizeof(name), "corrupt_hs%u%s", which, sfx);
            sc_write(t, name, &sc);
        }
        sc_start(&sc, (uint8_t)(dial | 0x20), 0, 0);
        sc_str(&sc, 0, "Erefused");
        snprintf(name, sizeof(name), "refused%s", sfx);
        sc_write(t, name, &sc);
    }
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 0, "C");
    sc_str(&sc, 0, "Eafter close");
    sc_write(t, "owner_close", &sc);
    sc_start(&sc, 0x40, 0, 0);
    sc_str(&sc, 0, "A");
    sc_write(t, "owner_abort_reset", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 0, "Fgoodbye");
    sc_str(&sc, 0, "Elate");
    sc_write(t, "owner_final", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 0, "L0123456789abcdef0123456789abcdef");
    sc_op(&sc, 8, "\x01", 1);
    sc_write(t, "owner_limits_then_big", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 0, "D");
    sc_str(&sc, 0, "Estill open");
    sc_write(t, "drop_proof", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 3, "Ecorrupted\x05");
    sc_write(t, "corrupt_transport", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 0, "Eonce");
    sc_op(&sc, 4, NULL, 0);
    sc_write(t, "replay", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 5, NULL, 0);
    sc_str(&sc, 0, "Esplit after one byte");
    sc_op(&sc, 6, NULL, 0);
    sc_write(t, "split_pump", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 2, NULL, 0);
    sc_write(t, "raw_zero_length", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 2, "not sealed at all");
    sc_write(t, "raw_unsealed", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_str(&sc, 0, "Ehalf");
    sc_op(&sc, 7, NULL, 0);
    sc_write(t, "half_close", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 1, NULL, 0);
    sc_write(t, "empty_final", &sc);
}

/* Read receipts and typing (issue 13): alone, in a batch, and in a session. */
static void receipt_typing_seeds(void)
{
    ProtobufCBinaryData ids[3] = {{16, id_a}, {16, id_b}, {16, id_c}};
    Mim__Receipt r;
    Mim__Typing ty;
    Mim__PeerBatch batch;
    Mim__PeerMsg m[2];
    Mim__PeerMsg *mp[2] = {&m[0], &m[1]};
    script sc;

    mim__receipt__init(&r);
    r.read = ids;
    r.n_read = 1;
    write_msg("peer_receipt", "one_id", &r.base, 0);
    r.n_read = 3; /* the cap (MIM_RECEIPT_MAX_IDS) is in test_codec_peer: seeds stay small */
    write_msg("peer_receipt", "three_ids", &r.base, 0);
    write_msg("peer_receipt", "three_ids_truncated", &r.base, 4);
    r.n_read = 0;
    write_msg("peer_receipt", "bad_none", &r.base, 0);
    r.n_read = 2;
    ids[1].len = 15;
    write_msg("peer_receipt", "bad_id_15", &r.base, 0);
    ids[1].len = 16;
    mim__typing__init(&ty);
    write_msg("peer_typing", "stopped", &ty.base, 0);
    ty.typing = 1;
    write_msg("peer_typing", "typing", &ty.base, 0);
    write_seed("peer_typing", "bad_typing_2", (const uint8_t *)"\x08\x02", 2);
    write_seed("peer_typing", "unknown_field", (const uint8_t *)"\x10\x01", 2);

    mim__peer_batch__init(&batch);
    batch.msgs = mp;
    batch.n_msgs = 2;
    mim__peer_msg__init(&m[0]);
    mim__peer_msg__init(&m[1]);
    m[0].body_case = MIM__PEER_MSG__BODY_RECEIPT;
    m[0].receipt = &r;
    m[1].body_case = MIM__PEER_MSG__BODY_TYPING;
    m[1].typing = &ty;
    write_msg("peer_batch", "receipt_typing", &batch.base, 0);
    sc_start(&sc, 0, 0, 0);
    sc_msg(&sc, &batch.base);
    sc_write("session_chat", "receipt_typing", &sc);
}

static void chat_session_seeds(void)
{
    const char *t = "session_chat";
    Mim__PeerBatch batch;
    Mim__PeerMsg m[2];
    Mim__PeerMsg *mp[2] = {&m[0], &m[1]};
    Mim__ChatMessage chat;
    Mim__Ack ack;
    Mim__ChatClose close;
    Mim__Ping ping;
    ProtobufCBinaryData ids[1] = {{16, id_b}};
    script sc;

    mim__peer_batch__init(&batch);
    batch.msgs = mp;
    batch.n_msgs = 1;
    mim__peer_msg__init(&m[0]);
    mim__peer_msg__init(&m[1]);
    chat_text(&chat, "fuzzpeer", "hello from the harness");
    m[0].body_case = MIM__PEER_MSG__BODY_CHAT;
    m[0].chat = &chat;

    sc_start(&sc, 0, 0, 0);
    sc_msg(&sc, &batch.base);
    sc_op(&sc, 4, NULL, 0); /* the same frame again: a replay the stream refuses */
    sc_write(t, "chat_replayed_frame", &sc);
    sc_start(&sc, 0x80, 0, 0);
    sc_msg(&sc, &batch.base);
    sc_op(&sc, 1, NULL, 0);
    sc_write(t, "dial_chat_final", &sc);
    sc_start(&sc, 0x90, 0, 0);
    sc_msg(&sc, &batch.base);
    sc_write(t, "dial_wrong_key", &sc);
    sc_start(&sc, 0x10, 0, 0);
    sc_op(&sc, 9, "\x01", 1);
    sc_op(&sc, 9, "\x01", 1); /* a duplicate id: the owner's to drop, the session's to pass */
    sc_op(&sc, 9, "\x02", 1);
    sc_write(t, "unit_first_duplicates", &sc);

    chat_text(&chat, "mallory", "not the authenticated name");
    sc_start(&sc, 0, 0, 0);
    sc_msg(&sc, &batch.base);
    sc_write(t, "wrong_sender", &sc);

    mim__ack__init(&ack);
    ack.n_ids = 1;
    ack.ids = ids;
    mim__chat_close__init(&close);
    mim__ping__init(&ping);
    ping.nonce = 7;
    m[0].body_case = MIM__PEER_MSG__BODY_ACK;
    m[0].ack = &ack;
    m[1].body_case = MIM__PEER_MSG__BODY_PING;
    m[1].ping = &ping;
    batch.n_msgs = 2;
    sc_start(&sc, 0x08, 0, 0);
    sc_msg(&sc, &batch.base);
    m[0].body_case = MIM__PEER_MSG__BODY_CLOSE;
    m[0].close = &close;
    batch.n_msgs = 1;
    sc_msg(&sc, &batch.base);
    sc_op(&sc, 9, "\x03", 1);
    sc_write(t, "ack_ping_close", &sc);
    sc_start(&sc, 0, 2, 40);
    sc_op(&sc, 9, "\x04", 1);
    sc_write(t, "corrupt_msg3", &sc);
    sc_start(&sc, 0x40, 0, 0);
    sc_op(&sc, 5, "", 0);
    sc_op(&sc, 9, "\x05", 1);
    sc_op(&sc, 3, "\x00", 1);
    sc_write(t, "split_then_corrupt_reset", &sc);
}

static void presence_session_seeds(void)
{
    const char *t = "session_presence";
    Mim__PresenceBatch batch;
    Mim__PresenceMsg m;
    Mim__PresenceMsg *mp[1] = {&m};
    Mim__StatusSet set;
    Mim__Ping ping;
    Mim__Logout logout;
    script sc;

    mim__presence_batch__init(&batch);
    batch.msgs = mp;
    batch.n_msgs = 1;
    mim__presence_msg__init(&m);
    mim__status_set__init(&set);
    set.status = MIM__STATUS__STATUS_AWAY;
    set.text = "lunch";
    mim__ping__init(&ping);
    ping.nonce = 99;
    mim__logout__init(&logout);

    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 9, "\x00", 1);
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m.status_set = &set;
    sc_msg(&sc, &batch.base);
    m.body_case = MIM__PRESENCE_MSG__BODY_PING;
    m.ping = &ping;
    sc_msg(&sc, &batch.base);
    m.body_case = MIM__PRESENCE_MSG__BODY_LOGOUT;
    m.logout = &logout;
    sc_msg(&sc, &batch.base);
    sc_write(t, "login_status_ping_logout", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 9, "\x01", 1);
    sc_write(t, "login_bad_signature", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 9, "\x00", 1);
    sc_op(&sc, 9, "\x10", 1);
    sc_write(t, "login_twice", &sc);
    sc_start(&sc, 0, 0, 0);
    m.body_case = MIM__PRESENCE_MSG__BODY_STATUS_SET;
    m.status_set = &set;
    sc_msg(&sc, &batch.base);
    sc_write(t, "status_before_login", &sc);
    sc_start(&sc, 0x40, 0, 0);
    sc_op(&sc, 9, "\x00", 1);
    sc_op(&sc, 1, NULL, 0);
    sc_write(t, "login_final_reset", &sc);
    sc_start(&sc, 0, 1, 5);
    sc_op(&sc, 9, "\x00", 1);
    sc_write(t, "corrupt_msg1", &sc);
    sc_start(&sc, 0, 0, 0);
    sc_op(&sc, 9, "\x00", 1);
    sc_op(&sc, 8, "\x00", 1);
    sc_write(t, "login_then_big", &sc);
}

/* ---- the front ends: JSON lines (fuzz_json_line.c) and the TUI sanitiser (fuzz_tui_text.c) ----
 */

/* ---- the search query builder (fuzz_search_query.c): what a user types ---------------------- */

static void search_seeds(void)
{
    static const char *const seeds[][2] = {
        {"words", "hello wor"},
        {"accents", "H\xc3\xa9llo W\xc3\x96RLD"},
        {"fts5_syntax", "NEAR(a b, 2) body:x ^start a* OR NOT (c"},
        {"quotes", "\"quoted\" \"\" a\"\"b \""},
        {"no_token", "!! ** -- \xe2\x80\x94"},
        {"too_many", "a b c d e f g h i"},
        {"control", "two\nlines\x1b[1m"},
    };

    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        text_seed("search_query", seeds[i][0], "", 0, seeds[i][1]);
    /* The JSON command, answered with results (stub mode 8) and refused in each way. */
    text_seed("json_line", "search", "\x08\xff", 2,
              "{\"cmd\":\"search\",\"query\":\"caf\u00e9 tom\",\"with\":\"bob\",\"limit\":5}\n"
              "{\"cmd\":\"search\",\"query\":\"NEAR(a \\\"b\\\"\"}\n"
              "{\"cmd\":\"search\",\"query\":\"!!\"}\n{\"cmd\":\"search\",\"query\":5}\n"
              "{\"cmd\":\"search\",\"query\":\"x\",\"limit\":201}\n"
              "{\"cmd\":\"search\",\"query\":\"x\",\"with\":7}\n");
}

int main(int argc, char **argv)
{
    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 1024) != 0)
        return 1;
    fill(key_a, sizeof(key_a), 0x11);
    fill(key_b, sizeof(key_b), 0x22);
    fill(sig_a, sizeof(sig_a), 0x33);
    fill(sig_b, sizeof(sig_b), 0x44);
    fill(sig_c, sizeof(sig_c), 0x55);
    fill(id_a, sizeof(id_a), 0x66);
    fill(id_b, sizeof(id_b), 0x77);
    fill(id_c, sizeof(id_c), 0x88);

    framer_seeds();
    handshake_seeds();
    presence_seeds();
    batch_seeds();
    peer_seeds();
    peer_batch_seeds();
    channel_seeds();
    chat_session_seeds();
    receipt_typing_seeds();
    presence_session_seeds();
    front_end_seeds();
    search_seeds();
    return seed_end("seed corpora");
}
