/* Protobuf codec with validation after decoding (see mim_codec.h).
 *
 * protobuf-c tells us only that bytes parse. Everything a handler is allowed to rely on is
 * checked here, once, so that session code can use fields without re-checking them. */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The short name this file uses for mim_codec_fail (mim_codec_priv.h). */
#define fail mim_codec_fail

int mim_codec_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MIM_EDECODE;
}

/* Decodes one UTF-8 sequence at s[*i], advancing *i. Returns the code point, or -1 for an
 * invalid sequence (truncated, overlong, surrogate, beyond U+10FFFF). */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    long cp;
    size_t need;
    long min;

    if (c < 0x80) {
        *i += 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        need = 1;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        need = 2;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07;
        need = 3;
        min = 0x10000;
    } else {
        return -1;
    }
    if (len - *i - 1 < need)
        return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += need + 1;
    return cp;
}

/* Characters that must never reach a terminal or a name list: C0 and C1 controls, DEL, and the
 * invisible formatting characters that let one name look like another (zero-width, bidi
 * overrides and isolates, line/paragraph separators, BOM). */
static int forbidden_char(long cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF;
}

int mim_text_valid(const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    if (s == NULL || len > max)
        return 0;
    while (i < len) {
        long cp = utf8_next(u, len, &i);
        if (cp < 0 || forbidden_char(cp))
            return 0;
    }
    return 1;
}

int mim_chat_text_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    if (s == NULL || len == 0 || len > MIM_CHAT_TEXT_MAX)
        return 0;
    while (i < len) {
        long cp = utf8_next(u, len, &i);
        if (cp < 0)
            return 0;
        /* Only the controls that cannot start a terminal escape sequence: no ESC, no CSI (C1
         * U+009B), no DEL, no CR (it would let a line overwrite itself). Formatting marks stay:
         * right-to-left text needs them. */
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp <= 0x9F))
            return 0;
    }
    return 1;
}

/* ---- handshake payload ------------------------------------------------------------------- */

int mim_handshake_payload_encode(const uint8_t identity_pk[32], const uint8_t static_sig[64],
                                 const char *name, mim_buf *out)
{
    return mim_handshake_payload_encode_features(identity_pk, static_sig, name, 0, out);
}

int mim_handshake_payload_encode_features(const uint8_t identity_pk[32],
                                          const uint8_t static_sig[64], const char *name,
                                          uint32_t features, mim_buf *out)
{
    Mim__HandshakePayload m = MIM__HANDSHAKE_PAYLOAD__INIT;
    size_t n;
    int rc;

    m.version = MIM_PROTOCOL_VERSION;
    m.features = features;
    m.identity_pk.data = (uint8_t *)identity_pk;
    m.identity_pk.len = 32;
    m.static_sig.data = (uint8_t *)static_sig;
    m.static_sig.len = 64;
    m.name = (char *)(name != NULL ? name : "");
    n = mim__handshake_payload__get_packed_size(&m);
    if ((rc = mim_buf_reserve(out, n)) != 0)
        return rc;
    out->len += mim__handshake_payload__pack(&m, out->data + out->len);
    return 0;
}

/* A ProtobufCBuffer that does not store what is packed into it but compares it with the bytes
 * received, so the re-encoding check costs no allocation (a batch is up to 65518 bytes). */
typedef struct same_bytes {
    ProtobufCBuffer base;
    const uint8_t *wire;
    size_t wire_len;
    size_t at;   /* bytes compared so far */
    int differs; /* 1 once a byte or the length differed */
} same_bytes;

static void same_bytes_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    same_bytes *s = (same_bytes *)buffer;

    if (s->differs || len == 0) /* an empty field's data may be NULL: nothing to compare */
        return;
    if (len > s->wire_len - s->at || memcmp(s->wire + s->at, data, len) != 0)
        s->differs = 1;
    else
        s->at += len;
}

/* protobuf-c hands strings back NUL-terminated but without their length, so "bob\0x" would
 * reach C code as "bob": what was sent and what is validated would differ. Re-encoding exposes
 * it: mim accepts only the canonical encoding (docs/PROTOCOL.md 6.1), the bytes protobuf-c
 * writes for what it decoded, compared byte for byte. That refuses an embedded NUL, a default
 * value sent explicitly, a field sent twice, an over-long varint and fields out of field-number
 * order. protobuf-c keeps the unknown fields it skipped and writes them back after the known
 * ones, in the order received: unknown fields are accepted where a standard encoder of a later
 * version puts its new (higher-numbered) fields, after every field known here. */
static int canonical(const ProtobufCMessage *m, const uint8_t *wire, size_t wire_len, char *err,
                     size_t errlen)
{
    same_bytes s = {.base = {.append = same_bytes_append}, .wire = wire, .wire_len = wire_len};

    protobuf_c_message_pack_to_buffer(m, &s.base);
    if (s.differs || s.at != wire_len)
        return fail(err, errlen,
                    "not in canonical encoding (an embedded NUL, an explicit default value, "
                    "a field sent twice or out of order, or an over-long varint)");
    return 0;
}

int mim_codec_canonical(const ProtobufCMessage *m, const uint8_t *wire, size_t wire_len, char *err,
                        size_t errlen)
{
    return canonical(m, wire, wire_len, err, errlen);
}

int mim_handshake_payload_decode(const uint8_t *p, size_t len, int name_mode,
                                 Mim__HandshakePayload **out, char *err, size_t errlen)
{
    Mim__HandshakePayload *m = mim__handshake_payload__unpack(NULL, len, p);
    int rc = 0;

    *out = NULL;
    if (m == NULL)
        return fail(err, errlen, "handshake payload does not parse");
    rc = canonical(&m->base, p, len, err, errlen);
    if (rc != 0)
        ; /* the reason is in err */
    else if (m->version != MIM_PROTOCOL_VERSION)
        rc = fail(err, errlen, "unsupported protocol version %u", (unsigned)m->version);
    else if (m->identity_pk.len != 32)
        rc = fail(err, errlen, "identity key is %zu bytes, not 32", m->identity_pk.len);
    else if (m->static_sig.len != 64)
        rc = fail(err, errlen, "static key signature is %zu bytes, not 64", m->static_sig.len);
    else if (name_mode == MIM_HS_NAME_VALID && !mim_name_valid(m->name, strlen(m->name)))
        rc = fail(err, errlen, "invalid name");
    else if (name_mode == MIM_HS_NAME_ANY && strlen(m->name) > MIM_NAME_MAX_BYTES)
        rc = fail(err, errlen, "name longer than %d bytes", MIM_NAME_MAX_BYTES);
    else if (name_mode == MIM_HS_NAME_EMPTY && m->name[0] != '\0')
        rc = fail(err, errlen, "unexpected name in server payload");
    if (rc != 0) {
        mim__handshake_payload__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}

void mim_handshake_payload_free(Mim__HandshakePayload *m)
{
    if (m != NULL)
        mim__handshake_payload__free_unpacked(m, NULL);
}

/* ---- presence ---------------------------------------------------------------------------- */

static int status_valid(Mim__Status s)
{
    return s == MIM__STATUS__STATUS_AVAILABLE || s == MIM__STATUS__STATUS_AWAY ||
           s == MIM__STATUS__STATUS_BUSY;
}

static int check_name(const char *name, const char *what, char *err, size_t errlen)
{
    if (!mim_name_valid(name, strlen(name)))
        return fail(err, errlen, "%s: invalid name", what);
    return 0;
}

static int check_text(const char *text, size_t max, const char *what, char *err, size_t errlen)
{
    if (!mim_text_valid(text, strlen(text), max))
        return fail(err, errlen, "%s: text too long, not UTF-8, or with control characters", what);
    return 0;
}

static int check_port(uint32_t port, const char *what, char *err, size_t errlen)
{
    if (port == 0 || port > 65535)
        return fail(err, errlen, "%s: port %u out of range", what, (unsigned)port);
    return 0;
}

static int check_peer_info(const Mim__PeerInfo *pi, char *err, size_t errlen)
{
    int rc;

    if (pi == NULL)
        return fail(err, errlen, "peer info missing");
    if ((rc = check_name(pi->name, "peer info", err, errlen)) != 0)
        return rc;
    if (pi->addr.len != 4 && pi->addr.len != 16)
        return fail(err, errlen, "peer info: address is %zu bytes, not 4 or 16", pi->addr.len);
    if ((rc = check_port(pi->port, "peer info", err, errlen)) != 0)
        return rc;
    if (pi->identity_pk.len != 32)
        return fail(err, errlen, "peer info: identity key is %zu bytes", pi->identity_pk.len);
    if (!status_valid(pi->status))
        return fail(err, errlen, "peer info: unknown status %d", (int)pi->status);
    return check_text(pi->status_text, MIM_STATUS_TEXT_MAX, "peer info", err, errlen);
}

int mim_presence_allowed(Mim__PresenceMsg__BodyCase c, enum mim_direction dir)
{
    switch (c) {
    case MIM__PRESENCE_MSG__BODY_LOGIN:
    case MIM__PRESENCE_MSG__BODY_STATUS_SET:
    case MIM__PRESENCE_MSG__BODY_LOGOUT:
        return dir == MIM_FROM_PEER;
    case MIM__PRESENCE_MSG__BODY_TABLE:
    case MIM__PRESENCE_MSG__BODY_ADD:
    case MIM__PRESENCE_MSG__BODY_DEL:
    case MIM__PRESENCE_MSG__BODY_STATUS:
    case MIM__PRESENCE_MSG__BODY_ERROR:
        return dir == MIM_FROM_SERVER;
    case MIM__PRESENCE_MSG__BODY_PING:
    case MIM__PRESENCE_MSG__BODY_PONG:
        return 1;
    case MIM__PRESENCE_MSG__BODY_BROADCASTERS: /* issue 16 (mim_codec_bcast.c) */
        return dir == MIM_FROM_SERVER;
    default:
        return mim_presence_mail_allowed(c, dir); /* the arms of issue 14, or 0 */
    }
}

int mim_presence_msg_validate(const Mim__PresenceMsg *m, enum mim_direction dir, char *err,
                              size_t errlen)
{
    int rc;

    if (m == NULL || m->body_case == MIM__PRESENCE_MSG__BODY__NOT_SET)
        return fail(err, errlen, "message with no body");
    if (!mim_presence_allowed(m->body_case, dir))
        return fail(err, errlen, "message type %d not allowed from the %s", (int)m->body_case,
                    dir == MIM_FROM_PEER ? "peer" : "server");

    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_LOGIN: {
        const Mim__Login *l = m->login;
        if ((rc = check_name(l->name, "login", err, errlen)) != 0)
            return rc;
        if ((rc = check_port(l->listen_port, "login", err, errlen)) != 0)
            return rc;
        if (l->identity_pk.len != 32 || l->static_sig.len != 64 || l->login_sig.len != 64)
            return fail(err, errlen, "login: key or signature of the wrong size");
        return 0;
    }
    case MIM__PRESENCE_MSG__BODY_TABLE:
        for (size_t i = 0; i < m->table->n_peers; i++)
            if ((rc = check_peer_info(m->table->peers[i], err, errlen)) != 0)
                return rc;
        return 0;
    case MIM__PRESENCE_MSG__BODY_ADD:
        return check_peer_info(m->add->peer, err, errlen);
    case MIM__PRESENCE_MSG__BODY_DEL:
        return check_name(m->del->name, "delete", err, errlen);
    case MIM__PRESENCE_MSG__BODY_STATUS_SET:
        if (!status_valid(m->status_set->status))
            return fail(err, errlen, "status: unknown state %d", (int)m->status_set->status);
        return check_text(m->status_set->text, MIM_STATUS_TEXT_MAX, "status", err, errlen);
    case MIM__PRESENCE_MSG__BODY_STATUS:
        if ((rc = check_name(m->status->name, "status update", err, errlen)) != 0)
            return rc;
        if (!status_valid(m->status->status))
            return fail(err, errlen, "status update: unknown state %d", (int)m->status->status);
        return check_text(m->status->text, MIM_STATUS_TEXT_MAX, "status update", err, errlen);
    case MIM__PRESENCE_MSG__BODY_ERROR:
        if (m->error->code <= MIM__ERROR_CODE__ERROR_UNSPECIFIED ||
            m->error->code > MIM__ERROR_CODE__ERROR_REGISTRY_UNAVAILABLE)
            return fail(err, errlen, "error with unknown code %d", (int)m->error->code);
        return check_text(m->error->message, MIM_ERROR_TEXT_MAX, "error", err, errlen);
    case MIM__PRESENCE_MSG__BODY_PING:
    case MIM__PRESENCE_MSG__BODY_PONG:
    case MIM__PRESENCE_MSG__BODY_LOGOUT:
        return 0;
    case MIM__PRESENCE_MSG__BODY_BROADCASTERS: /* issue 16 (mim_codec_bcast.c) */
        return mim_broadcaster_list_check(m->broadcasters, err, errlen);
    default:
        return mim_presence_mail_validate(m, err, errlen); /* issue 14's arms (mim_codec_mail.c) */
    }
}

int mim_presence_batch_decode(const uint8_t *p, size_t len, enum mim_direction dir,
                              Mim__PresenceBatch **out, char *err, size_t errlen)
{
    Mim__PresenceBatch *b = mim__presence_batch__unpack(NULL, len, p);
    int rc = 0;

    *out = NULL;
    if (b == NULL)
        return fail(err, errlen, "presence batch does not parse");
    rc = canonical(&b->base, p, len, err, errlen);
    if (rc == 0 && b->n_msgs == 0)
        rc = fail(err, errlen, "empty presence batch");
    for (size_t i = 0; rc == 0 && i < b->n_msgs; i++)
        rc = mim_presence_msg_validate(b->msgs[i], dir, err, errlen);
    if (rc != 0) {
        mim__presence_batch__free_unpacked(b, NULL);
        return rc;
    }
    *out = b;
    return 0;
}

void mim_presence_batch_free(Mim__PresenceBatch *b)
{
    if (b != NULL)
        mim__presence_batch__free_unpacked(b, NULL);
}

/* A batch element is field 1, wire type 2 (length-delimited): tag byte 0x0a, varint length,
 * then the message. Writing elements by hand is what lets a broadcast be encoded once. */
static size_t put_varint(uint8_t *out, size_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Appends any message as one batch element. Both batch types (PresenceBatch, PeerBatch) keep
 * their messages in field 1, so one writer serves both. */
static int batch_append_element(mim_buf *out, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    int rc;

    /* The tag byte, then at most 10 bytes of varint length. */
    if ((rc = mim_buf_reserve(out, n + 11)) != 0)
        return rc;
    out->data[out->len++] = 0x0a;
    out->len += put_varint(out->data + out->len, n);
    out->len += protobuf_c_message_pack(m, out->data + out->len);
    return 0;
}

int mim_presence_batch_append(mim_buf *out, const Mim__PresenceMsg *m)
{
    return batch_append_element(out, &m->base);
}

static size_t varint_len(size_t v);

size_t mim_presence_element_len(const Mim__PresenceMsg *m)
{
    size_t n = mim__presence_msg__get_packed_size(m);
    return 1 + varint_len(n) + n; /* as batch_append_element writes it */
}

void mim_peer_info_init(Mim__PeerInfo *info, const char *name, const uint8_t *addr, size_t addr_len,
                        uint16_t port, const uint8_t identity_pk[32], int status,
                        const char *status_text)
{
    mim__peer_info__init(info);
    info->name = (char *)name;
    info->addr.data = (uint8_t *)addr;
    info->addr.len = addr_len;
    info->port = port;
    info->identity_pk.data = (uint8_t *)identity_pk;
    info->identity_pk.len = 32;
    info->status = (Mim__Status)status;
    info->status_text = (char *)(status_text != NULL ? status_text : "");
}

void mim_presence_pong_init(Mim__PresenceMsg *m, Mim__Pong *pong, uint64_t nonce)
{
    mim__presence_msg__init(m);
    mim__pong__init(pong);
    pong->nonce = nonce;
    m->body_case = MIM__PRESENCE_MSG__BODY_PONG;
    m->pong = pong;
}

void mim_login_init(Mim__PresenceMsg *m, Mim__Login *login, const char *name, uint16_t port,
                    const uint8_t identity_pk[32], const uint8_t static_sig[64],
                    const uint8_t login_sig[64], uint32_t features)
{
    mim__presence_msg__init(m);
    mim__login__init(login);
    login->name = (char *)name; /* protobuf-c's field is not const; it is only read */
    login->listen_port = port;
    login->identity_pk.data = (uint8_t *)identity_pk;
    login->identity_pk.len = 32;
    login->static_sig.data = (uint8_t *)static_sig;
    login->static_sig.len = 64;
    login->login_sig.data = (uint8_t *)login_sig;
    login->login_sig.len = 64;
    login->features = features;
    m->body_case = MIM__PRESENCE_MSG__BODY_LOGIN;
    m->login = login;
}

/* Protobuf keys (field number << 3 | wire type) of a table chunk's wrapping. */
#define KEY_BATCH_MSGS  0x0a /* PresenceBatch.msgs = 1, length-delimited */
#define KEY_MSG_TABLE   0x12 /* PresenceMsg.table = 2, length-delimited */
#define KEY_CHUNK_PEERS 0x0a /* TableChunk.peers = 1, length-delimited */
#define KEY_CHUNK_LAST  0x10 /* TableChunk.last = 2, varint */
/* Room kept for that wrapping: two keys, two lengths of at most 3 bytes, and `last`. */
#define TABLE_CHUNK_WRAPPING 32

static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The TableChunk's own bytes: its PeerInfo elements and, proto3, `last` only when true. */
static size_t table_chunk_bytes(const mim_table_chunk *c)
{
    return c->body + (c->last ? 2 : 0);
}

/* The PresenceMsg's bytes: the oneof key, the chunk's length and the chunk. */
static size_t table_msg_bytes(const mim_table_chunk *c)
{
    size_t chunk = table_chunk_bytes(c);
    return 1 + varint_len(chunk) + chunk;
}

void mim_table_chunk_init(mim_table_chunk *c, size_t max_len)
{
    memset(c, 0, sizeof(*c));
    c->body_max = max_len > TABLE_CHUNK_WRAPPING ? max_len - TABLE_CHUNK_WRAPPING : 0;
}

int mim_table_chunk_count(mim_table_chunk *c, const Mim__PeerInfo *info)
{
    size_t len, cost;

    if (c->peers >= MIM_TABLE_CHUNK_MAX_PEERS)
        return 0;
    len = mim__peer_info__get_packed_size(info);
    cost = 1 + varint_len(len) + len;
    if (c->body + cost > c->body_max)
        return 0;
    c->body += cost;
    c->peers++;
    return 1;
}

size_t mim_table_chunk_len(mim_table_chunk *c, int last)
{
    size_t msg;

    c->last = last != 0;
    msg = table_msg_bytes(c);
    c->len = 1 + varint_len(msg) + msg;
    return c->len;
}

void mim_table_chunk_start(mim_table_chunk *c, uint8_t *dst)
{
    uint8_t *p = dst;

    c->end = dst + c->len;
    *p++ = KEY_BATCH_MSGS;
    p += put_varint(p, table_msg_bytes(c));
    *p++ = KEY_MSG_TABLE;
    p += put_varint(p, table_chunk_bytes(c));
    c->p = p;
}

void mim_table_chunk_put(mim_table_chunk *c, const Mim__PeerInfo *info)
{
    size_t len = mim__peer_info__get_packed_size(info);

    /* The sizing pass reserved exactly this much; checked even so (release builds too), before
     * a byte is written past the room. */
    if (c->p == NULL || (size_t)(c->end - c->p) < 1 + varint_len(len) + len + (c->last ? 2 : 0)) {
        c->p = NULL;
        return;
    }
    *c->p++ = KEY_CHUNK_PEERS;
    c->p += put_varint(c->p, len);
    c->p += mim__peer_info__pack(info, c->p);
}

int mim_table_chunk_end(mim_table_chunk *c)
{
    if (c->p == NULL)
        return MIM_EOVERFLOW;
    if (c->last && c->end - c->p >= 2) {
        *c->p++ = KEY_CHUNK_LAST;
        *c->p++ = 1;
    }
    return c->p == c->end ? 0 : MIM_EOVERFLOW;
}

/* ---- peer to peer ------------------------------------------------------------------------ */

static int check_msg_id(const ProtobufCBinaryData *id, const char *what, char *err, size_t errlen)
{
    if (id->len != MIM_MSG_ID_LEN)
        return fail(err, errlen, "%s: message id is %zu bytes, not %d", what, id->len,
                    MIM_MSG_ID_LEN);
    return 0;
}

/* A piece of an image or file (docs/PROTOCOL.md 14.5): checked even though this version does
 * not show such content, because it is stored as received and a later version will read it. */
static int check_chunk(const Mim__Chunk *k, char *err, size_t errlen)
{
    if (k->count == 0 || k->index >= k->count)
        return fail(err, errlen, "chat: chunk %u of %u", k->index, k->count);
    if (k->data.len > MIM_CHUNK_DATA_MAX)
        return fail(err, errlen, "chat: chunk of %zu bytes, more than %d", k->data.len,
                    MIM_CHUNK_DATA_MAX);
    if (k->item.len != 0 && k->item.len != MIM_MSG_ID_LEN)
        return fail(err, errlen, "chat: chunk item id is %zu bytes, not %d", k->item.len,
                    MIM_MSG_ID_LEN);
    if (k->media_type[0] != '\0' &&
        !mim_text_valid(k->media_type, strlen(k->media_type), MIM_MEDIA_TYPE_MAX))
        return fail(err, errlen, "chat: chunk media type not a valid text of at most %d bytes",
                    MIM_MEDIA_TYPE_MAX);
    if (k->file_name[0] != '\0' &&
        !mim_text_valid(k->file_name, strlen(k->file_name), MIM_FILE_NAME_MAX))
        return fail(err, errlen, "chat: chunk file name not a valid text of at most %d bytes",
                    MIM_FILE_NAME_MAX);
    return 0;
}

static int check_chat(const Mim__ChatMessage *c, char *err, size_t errlen)
{
    int rc;

    if ((rc = check_msg_id(&c->id, "chat", err, errlen)) != 0)
        return rc;
    if ((rc = check_name(c->sender, "chat sender", err, errlen)) != 0)
        return rc;
    if ((rc = mim_chat_broadcast_check(c, err, errlen)) != 0) /* issue 16 */
        return rc;
    if ((int)c->type < 0)
        return fail(err, errlen, "chat: content type %d", (int)c->type);
    if ((rc = mim_room_chat_check(c, err, errlen)) != 0) /* issue 16 */
        return rc;
    switch (c->type) {
    case MIM__CONTENT_TYPE__CONTENT_UNSPECIFIED:
        return fail(err, errlen, "chat: no content type");
    case MIM__CONTENT_TYPE__CONTENT_TEXT:
        if (c->chunk != NULL || c->offer != NULL)
            return fail(err, errlen, "chat: text message with a chunk or an offer");
        if (!mim_chat_text_valid(c->text, strlen(c->text)))
            return fail(err, errlen,
                        "chat: text empty, longer than %d bytes, not UTF-8, or with control "
                        "characters",
                        MIM_CHAT_TEXT_MAX);
        return 0;
    default:
        /* Images, files and content types of later versions: accepted, stored and acked, shown
         * as not supported (forward compatibility: no protocol break when they arrive). What
         * may be shown of them, the caption, is held to the rules of chat text. */
        if (c->text[0] != '\0' && !mim_chat_text_valid(c->text, strlen(c->text)))
            return fail(err, errlen,
                        "chat: caption longer than %d bytes, not UTF-8, or with "
                        "control characters",
                        MIM_CHAT_TEXT_MAX);
        if (c->offer != NULL && (rc = mim_file_offer_check(c->offer, err, errlen)) != 0)
            return rc;
        return c->chunk != NULL ? check_chunk(c->chunk, err, errlen) : 0;
    }
}

static int check_ack(const Mim__Ack *a, char *err, size_t errlen)
{
    int rc;

    /* n_refused <= MIM_ACK_MAX_IDS first: the sum cannot wrap. */
    if (a->n_ids > MIM_ACK_MAX_IDS || a->n_refused > MIM_ACK_MAX_IDS ||
        a->n_ids + a->n_refused == 0 || a->n_ids + a->n_refused > MIM_ACK_MAX_IDS)
        return fail(err, errlen, "ack with %zu ids and %zu refused, not 1..%d in all", a->n_ids,
                    a->n_refused, MIM_ACK_MAX_IDS);
    for (size_t i = 0; i < a->n_ids; i++)
        if ((rc = check_msg_id(&a->ids[i], "ack", err, errlen)) != 0)
            return rc;
    for (size_t i = 0; i < a->n_refused; i++)
        if ((rc = check_msg_id(&a->refused[i], "ack", err, errlen)) != 0)
            return rc;
    return 0;
}

static int check_receipt(const Mim__Receipt *r, char *err, size_t errlen)
{
    int rc;

    if (r->n_read == 0 || r->n_read > MIM_RECEIPT_MAX_IDS)
        return fail(err, errlen, "receipt with %zu ids, not 1..%d", r->n_read, MIM_RECEIPT_MAX_IDS);
    for (size_t i = 0; i < r->n_read; i++)
        if ((rc = check_msg_id(&r->read[i], "receipt", err, errlen)) != 0)
            return rc;
    return 0;
}

int mim_peer_msg_validate(const Mim__PeerMsg *m, char *err, size_t errlen)
{
    if (m == NULL || m->body_case == MIM__PEER_MSG__BODY__NOT_SET)
        return fail(err, errlen, "message with no body");
    switch (m->body_case) {
    case MIM__PEER_MSG__BODY_CHAT:
        return check_chat(m->chat, err, errlen);
    case MIM__PEER_MSG__BODY_ACK:
        return check_ack(m->ack, err, errlen);
    case MIM__PEER_MSG__BODY_RECEIPT:
        return check_receipt(m->receipt, err, errlen);
    case MIM__PEER_MSG__BODY_BROADCAST_ACK: /* issue 16 (mim_codec_bcast.c) */
        return mim_broadcast_ack_check(m->broadcast_ack, err, errlen);
    case MIM__PEER_MSG__BODY_TYPING:
    case MIM__PEER_MSG__BODY_CLOSE:
    case MIM__PEER_MSG__BODY_PING:
    case MIM__PEER_MSG__BODY_PONG:
        return 0;
    default:
        return fail(err, errlen, "unknown message %d", (int)m->body_case);
    }
}

int mim_peer_batch_decode(const uint8_t *p, size_t len, Mim__PeerBatch **out, char *err,
                          size_t errlen)
{
    Mim__PeerBatch *b = mim__peer_batch__unpack(NULL, len, p);
    int rc = 0;

    *out = NULL;
    if (b == NULL)
        return fail(err, errlen, "peer batch does not parse");
    rc = canonical(&b->base, p, len, err, errlen);
    if (rc == 0 && b->n_msgs == 0)
        rc = fail(err, errlen, "empty peer batch");
    for (size_t i = 0; rc == 0 && i < b->n_msgs; i++)
        rc = mim_peer_msg_validate(b->msgs[i], err, errlen);
    if (rc != 0) {
        mim__peer_batch__free_unpacked(b, NULL);
        return rc;
    }
    *out = b;
    return 0;
}

void mim_peer_batch_free(Mim__PeerBatch *b)
{
    if (b != NULL)
        mim__peer_batch__free_unpacked(b, NULL);
}

int mim_peer_batch_append(mim_buf *out, const Mim__PeerMsg *m)
{
    return batch_append_element(out, &m->base);
}

int mim_chat_message_pack(const Mim__ChatMessage *m, uint8_t **out, size_t *out_len)
{
    size_t n = mim__chat_message__get_packed_size(m);
    uint8_t *p = malloc(n > 0 ? n : 1);

    *out = NULL;
    *out_len = 0;
    if (p == NULL)
        return MIM_ENOMEM;
    mim__chat_message__pack(m, p);
    *out = p;
    *out_len = n;
    return 0;
}

Mim__ChatMessage *mim_chat_message_unpack(const uint8_t *p, size_t len)
{
    return mim__chat_message__unpack(NULL, len, p);
}

void mim_chat_message_free(Mim__ChatMessage *m)
{
    if (m != NULL)
        mim__chat_message__free_unpacked(m, NULL);
}

void mim_utf8_cut(char *s)
{
    size_t n = strlen(s);
    size_t i = n;

    /* Walk back over continuation bytes to the lead byte of the last character. */
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0) {
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < need)
            s[i - 1] = '\0';
    }
}

long mim_utf8_next(const char *s, size_t len, size_t *i)
{
    return utf8_next((const unsigned char *)s, len, i);
}

int mim_text_forbidden_char(long cp)
{
    return forbidden_char(cp);
}
