/* A file sender of the test's own (see raw_sender.h). Everything but rs_start, rs_stop and the
 * rs_wait_* functions runs on the sender's thread; what the test reads is under rs->lock. */
#include "raw_sender.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint8_t rs_stream_byte(uint64_t i)
{
    return (uint8_t)((i * 131u + (i >> 9)) & 0xff);
}

static void complain(raw_sender *rs, const char *what)
{
    pthread_mutex_lock(&rs->lock);
    if (rs->err[0] == '\0')
        snprintf(rs->err, sizeof(rs->err), "%s", what);
    pthread_mutex_unlock(&rs->lock);
}

/* ---- the offers -------------------------------------------------------------------------- */

/* The offer's hash of bytes: SHA-256 for the chain (scheme 1), else BLAKE2b-256. */
static void scheme_hash(const rs_offer *o, uint8_t out[32], const void *p, size_t n)
{
    if (o->scheme == 1)
        mim_sha256(out, p, n);
    else
        mim_blake2b(out, p, n);
}

/* The chunk hashes of o's stream: one BLAKE2b per chunk (scheme 0), or the links of one SHA-256
 * per stripe (scheme 1: the chaining value at each chunk's end, a stripe's last the final hash
 * of the stripe). */
static void hash_chunks(rs_offer *o)
{
    mim_sha256_state st;

    mim_sha256_init(&st);
    for (uint32_t k = 0; k < o->nchunks; k++) {
        uint64_t off = (uint64_t)k * RS_CHUNK;
        size_t len = o->size - off < RS_CHUNK ? (size_t)(o->size - off) : RS_CHUNK;
        uint8_t *h = o->hashes + (size_t)k * 32;
        int last = k + 1 == o->nchunks || (o->stripe > 0 && (k + 1) % o->stripe == 0);
        if (o->scheme == 0) {
            mim_blake2b(h, o->stream + off, len);
            continue;
        }
        mim_sha256_update(&st, o->stream + off, len);
        if (!last) {
            (void)mim_sha256_chain_value(&st, h);
            continue;
        }
        mim_sha256_final(&st, h); /* the stripe's end: the next starts a SHA-256 of its own */
        mim_sha256_init(&st);
    }
}

/* Hashes o's stream in RS_CHUNK chunks (root) and its manifest as it stands (manifest_hash). */
static int hash_offer(rs_offer *o)
{
    mim_buf man;
    int rc = 0;

    o->nchunks = (uint32_t)mim_file_chunk_count(o->size, RS_CHUNK);
    if ((o->stream = malloc(o->size + 1)) == NULL ||
        (o->hashes = malloc((size_t)o->nchunks * 32 + 1)) == NULL)
        return -1;
    for (uint64_t i = 0; i < o->size; i++)
        o->stream[i] = rs_stream_byte(i);
    hash_chunks(o);
    if (o->lie == RS_FAKE_SHA && o->nchunks > 0) /* SHA-256("abc"), say a published hash */
        mim_sha256(o->hashes + (size_t)(o->nchunks - 1) * 32, "abc", 3);
    scheme_hash(o, o->root, o->hashes, (size_t)o->nchunks * 32);
    if (o->lie == RS_BAD_HASHES)
        o->hashes[0] ^= 1; /* the list sent is not the one the root commits to */
    mim_buf_init(&man);
    for (size_t i = 0; i < o->nentries && rc == 0; i++)
        rc = mim_file_manifest_entry_encode(o->entries[i].path, strlen(o->entries[i].path),
                                            o->entries[i].size, &man);
    scheme_hash(o, o->manifest_hash, man.data != NULL ? man.data : (const uint8_t *)"", man.len);
    mim_buf_free(&man);
    return rc;
}

/* The chat message that carries o (pointers into o: o must not move afterwards). */
static void offer_msg(raw_sender *rs, rs_offer *o)
{
    mim__peer_msg__init(&o->msg);
    mim__chat_message__init(&o->chat);
    mim__file_offer__init(&o->fo);
    o->fo.name = (char *)o->name;
    o->fo.size = o->size;
    o->fo.file_count = o->folder ? (uint32_t)o->nentries : 1;
    o->fo.folder = o->folder;
    o->fo.media_type = "";
    o->fo.chunk_size = RS_CHUNK;
    o->fo.root = (ProtobufCBinaryData){32, o->root};
    o->fo.hash_scheme = (Mim__FileHashScheme)o->scheme;
    o->fo.stripe_chunks = o->stripe;
    if (o->folder)
        o->fo.manifest_hash = (ProtobufCBinaryData){32, o->manifest_hash};
    o->chat.id = (ProtobufCBinaryData){16, o->id};
    o->chat.ts_ms = (uint64_t)time(NULL) * 1000;
    o->chat.sender = rs->peer.name;
    o->chat.type = MIM__CONTENT_TYPE__CONTENT_FILE;
    o->chat.text = "";
    o->chat.offer = &o->fo;
    o->msg.body_case = MIM__PEER_MSG__BODY_CHAT;
    o->msg.chat = &o->chat;
}

rs_offer *rs_add_offer(raw_sender *rs, const rs_offer *o)
{
    rs_offer *x;

    pthread_mutex_lock(&rs->lock);
    x = rs->noffers < RS_MAX_OFFERS ? &rs->offers[rs->noffers] : NULL;
    pthread_mutex_unlock(&rs->lock);
    if (x == NULL)
        return NULL;
    *x = *o;
    x->stream = x->hashes = NULL;
    x->requests = x->ended = 0;
    mim_random_bytes(x->id, sizeof(x->id));
    for (size_t i = 0; i < sizeof(x->id); i++)
        snprintf(x->id_hex + 2 * i, 3, "%02x", x->id[i]);
    if (hash_offer(x) != 0) {
        free(x->stream);
        free(x->hashes);
        return NULL;
    }
    offer_msg(rs, x);
    pthread_mutex_lock(&rs->lock);
    rs->noffers++; /* the thread sees it from now on */
    pthread_mutex_unlock(&rs->lock);
    return x;
}

static rs_offer *find_offer(raw_sender *rs, const ProtobufCBinaryData *id)
{
    rs_offer *found = NULL;

    pthread_mutex_lock(&rs->lock);
    for (size_t i = 0; i < rs->noffers && found == NULL; i++)
        if (memcmp(rs->offers[i].id, id->data, 16) == 0)
            found = &rs->offers[i];
    pthread_mutex_unlock(&rs->lock);
    return found;
}

/* ---- serving a bulk connection ------------------------------------------------------------- */

static int send_bulk(chat_session *cs, const Mim__BulkMsg *m)
{
    mim_buf b;
    int rc;

    mim_buf_init(&b);
    rc = mim_bulk_msg_pack(m, &b);
    if (rc == 0)
        rc = chat_session_send_bulk(cs, b.data, b.len);
    mim_buf_free(&b);
    return rc;
}

static int send_end(chat_session *cs, const uint8_t id[16], Mim__FileEndCode code, const char *why)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileEnd e = MIM__FILE_END__INIT;

    e.id = (ProtobufCBinaryData){16, (uint8_t *)id};
    e.code = code;
    e.error = (char *)why;
    m.body_case = MIM__BULK_MSG__BODY_END;
    m.end = &e;
    return send_bulk(cs, &m);
}

/* The manifest (a folder's, all in one message: the tests' are short) and the hash list. */
static int send_meta(chat_session *cs, const rs_offer *o)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileManifest man = MIM__FILE_MANIFEST__INIT;
    Mim__FileEntry ents[RS_MAX_OFFERS * 4], *ptrs[RS_MAX_OFFERS * 4];
    Mim__FileHashes h = MIM__FILE_HASHES__INIT;
    int rc = 0;

    if (o->folder && o->nentries > 0 && o->nentries <= sizeof(ents) / sizeof(ents[0])) {
        for (size_t i = 0; i < o->nentries; i++) {
            mim__file_entry__init(&ents[i]);
            ents[i].path = (char *)o->entries[i].path;
            ents[i].size = o->entries[i].size;
            ptrs[i] = &ents[i];
        }
        man.n_entries = o->nentries;
        man.entries = ptrs;
        m.body_case = MIM__BULK_MSG__BODY_MANIFEST;
        m.manifest = &man;
        rc = send_bulk(cs, &m);
    }
    for (uint32_t k = 0; k < o->nchunks && rc == 0; k += MIM_FILE_PIECE_MAX / 32) {
        uint32_t n =
            o->nchunks - k < MIM_FILE_PIECE_MAX / 32 ? o->nchunks - k : MIM_FILE_PIECE_MAX / 32;
        h.first = k;
        h.hashes = (ProtobufCBinaryData){(size_t)n * 32, o->hashes + (size_t)k * 32};
        m.body_case = MIM__BULK_MSG__BODY_HASHES;
        m.hashes = &h;
        rc = send_bulk(cs, &m);
    }
    return rc;
}

static int send_piece(chat_session *cs, uint64_t off, const uint8_t *p, size_t len)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileData d = MIM__FILE_DATA__INIT;

    d.offset = off;
    d.data = (ProtobufCBinaryData){len, (uint8_t *)p};
    m.body_case = MIM__BULK_MSG__BODY_DATA;
    m.data = &d;
    return send_bulk(cs, &m);
}

/* Chunk k of o as the lie has it, in pieces. */
static int send_chunk(chat_session *cs, const rs_offer *o, uint32_t k)
{
    uint64_t off = (uint64_t)k * RS_CHUNK;
    size_t len = o->size - off < RS_CHUNK ? (size_t)(o->size - off) : RS_CHUNK;
    uint8_t *buf = malloc(RS_CHUNK + 1000);
    int rc = 0;

    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < len + 1000; i++)
        buf[i] = rs_stream_byte(off + i);
    if ((o->lie == RS_BAD_CHUNK && k == 0) || (o->lie == RS_BAD_LAST && k == o->nchunks - 1))
        buf[len / 2] ^= 0x40;
    if (o->lie == RS_LONGER && k == o->nchunks - 1)
        len += 1000; /* more than the offer said the file has */
    for (size_t at = 0; at < len && rc == 0; at += MIM_FILE_PIECE_MAX)
        rc = send_piece(cs, off + at, buf + at,
                        len - at < MIM_FILE_PIECE_MAX ? len - at : MIM_FILE_PIECE_MAX);
    free(buf);
    return rc;
}

static void serve_request(raw_sender *rs, chat_session *cs, const Mim__FileRequest *r)
{
    rs_offer *o = find_offer(rs, &r->id);
    static const uint8_t past[100];
    int rc = 0;

    if (o == NULL) {
        (void)send_end(cs, r->id.data, MIM__FILE_END_CODE__FILE_END_REFUSED, "no such transfer");
        return;
    }
    pthread_mutex_lock(&rs->lock);
    o->requests++;
    pthread_mutex_unlock(&rs->lock);
    if (r->reject)
        return;
    if (r->meta)
        rc = send_meta(cs, o);
    if (rc == 0 && o->lie == RS_OUT_OF_RANGE)
        rc = send_piece(cs, (uint64_t)o->nchunks * RS_CHUNK, past, sizeof(past));
    for (size_t i = 0; i < r->n_ranges && rc == 0 && o->lie != RS_NOTHING; i++)
        for (uint32_t k = r->ranges[i]->first;
             k < r->ranges[i]->first + r->ranges[i]->count && k < o->nchunks && rc == 0; k++)
            rc = send_chunk(cs, o, k);
    if (rc == 0)
        rc = send_end(cs, o->id, MIM__FILE_END_CODE__FILE_END_SENT, "");
    if (rc != 0)
        complain(rs, "cannot send on a bulk connection");
}

static void rs_on_bulk(void *ud, chat_session *cs, const uint8_t *p, size_t len)
{
    raw_sender *rs = ud;
    Mim__BulkMsg *m;
    char err[200];

    if (mim_bulk_msg_decode(p, len, &m, err, sizeof(err)) != 0) {
        complain(rs, err);
        chat_session_close(cs, "undecodable");
        return;
    }
    if (m->body_case == MIM__BULK_MSG__BODY_REQUEST) {
        serve_request(rs, cs, m->request);
    } else if (m->body_case == MIM__BULK_MSG__BODY_END) {
        rs_offer *o = find_offer(rs, &m->end->id);
        if (o != NULL) {
            pthread_mutex_lock(&rs->lock);
            o->ended = 1;
            o->end_code = (int)m->end->code;
            snprintf(o->end_error, sizeof(o->end_error), "%s", m->end->error);
            pthread_mutex_unlock(&rs->lock);
        }
    }
    mim_bulk_msg_free(m);
}

/* ---- chat sessions -------------------------------------------------------------------------- */

static int rs_on_authenticated(void *ud, chat_session *cs, const char *name,
                               const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    (void)ud, (void)cs, (void)name, (void)identity_pk, (void)reason;
    return 0;
}

static void rs_on_open(void *ud, chat_session *cs)
{
    (void)ud, (void)cs;
}

static void rs_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    raw_sender *rs = ud;
    (void)cs;

    if (rs->nacks < sizeof(rs->acks) / sizeof(rs->acks[0]))
        memcpy(rs->acks[rs->nacks++], m->id.data, 16);
    pthread_mutex_lock(&rs->lock);
    if (rs->ntexts < RS_MAX_TEXTS && m->text != NULL)
        snprintf(rs->texts[rs->ntexts++], sizeof(rs->texts[0]), "%s", m->text);
    pthread_mutex_unlock(&rs->lock);
}

static void rs_on_batch_end(void *ud, chat_session *cs)
{
    raw_sender *rs = ud;

    if (rs->nacks > 0)
        (void)chat_session_send_ack(cs, (const uint8_t(*)[16])rs->acks, rs->nacks);
    rs->nacks = 0;
}

static void rs_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    (void)ud, (void)cs, (void)id;
}

static void rs_on_chat_close(void *ud, chat_session *cs)
{
    (void)ud, (void)cs;
}

static void rs_on_closed(void *ud, chat_session *cs, const char *reason)
{
    raw_sender *rs = ud;
    (void)reason;

    for (size_t i = 0; i < RS_MAX_SESSIONS; i++)
        if (rs->sessions[i] == cs)
            rs->sessions[i] = NULL;
}

static const chat_session_events rs_events = {
    .on_authenticated = rs_on_authenticated,
    .on_open = rs_on_open,
    .on_message = rs_on_message,
    .on_ack = rs_on_ack,
    .on_chat_close = rs_on_chat_close,
    .on_batch_end = rs_on_batch_end,
    .on_closed = rs_on_closed,
    .on_bulk = rs_on_bulk,
};

static void rs_on_connection(uv_stream_t *lis, int status)
{
    raw_sender *rs = lis->data;
    chat_session_config cfg;
    chat_session *cs;
    size_t i = 0;

    if (status < 0)
        return;
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = &rs->loop;
    cfg.id = rs->peer.id;
    cfg.my_name = rs->peer.name;
    cfg.ev = &rs_events;
    cfg.ud = rs;
    cfg.features = MIM_FEATURE_FILES;
    while (i < RS_MAX_SESSIONS && rs->sessions[i] != NULL)
        i++;
    if (chat_session_accept(&cfg, lis, &cs) != 0) {
        complain(rs, "cannot accept a session");
        return;
    }
    if (i < RS_MAX_SESSIONS)
        rs->sessions[i] = cs;
    else
        chat_session_close(cs, "too many sessions");
}

/* ---- the thread --------------------------------------------------------------------------- */

static void rs_on_stop(uv_async_t *a)
{
    raw_sender *rs = a->data;

    for (size_t i = 0; i < RS_MAX_SESSIONS; i++)
        if (rs->sessions[i] != NULL)
            chat_session_close(rs->sessions[i], "the test ends");
    pe_peer_stop(&rs->peer);
    uv_close((uv_handle_t *)&rs->lis, NULL);
    uv_close((uv_handle_t *)&rs->stop, NULL);
}

static void *rs_run(void *arg)
{
    raw_sender *rs = arg;

    uv_run(&rs->loop, UV_RUN_DEFAULT);
    return NULL;
}

int rs_start(raw_sender *rs, const char *name, int server_port)
{
    struct sockaddr_in a;
    struct sockaddr_storage bound;
    int len = sizeof(bound);

    memset(rs, 0, sizeof(*rs));
    pthread_mutex_init(&rs->lock, NULL);
    if (uv_loop_init(&rs->loop) != 0 || pe_peer_init(&rs->peer, name, NULL) != 0)
        return -1;
    uv_tcp_init(&rs->loop, &rs->lis);
    rs->lis.data = rs;
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_bind(&rs->lis, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&rs->lis, 16, rs_on_connection) != 0 ||
        uv_tcp_getsockname(&rs->lis, (struct sockaddr *)&bound, &len) != 0)
        return -1;
    rs->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    rs->peer.listen_port = (uint16_t)rs->port; /* what the presence table tells the receiver */
    uv_async_init(&rs->loop, &rs->stop, rs_on_stop);
    rs->stop.data = rs;
    if (pe_peer_start(&rs->peer, &rs->loop, server_port, 0, 0, 0) != 0)
        return -1;
    return pthread_create(&rs->thread, NULL, rs_run, rs) == 0 ? 0 : -1;
}

void rs_stop(raw_sender *rs)
{
    uv_async_send(&rs->stop);
    pthread_join(rs->thread, NULL);
    uv_run(&rs->loop, UV_RUN_DEFAULT); /* (nothing left: the thread ran it out) */
    if (uv_loop_close(&rs->loop) != 0)
        fprintf(stderr, "raw sender: handles left open\n");
    pe_peer_cleanup(&rs->peer);
    for (size_t i = 0; i < rs->noffers; i++) {
        free(rs->offers[i].stream);
        free(rs->offers[i].hashes);
    }
    pthread_mutex_destroy(&rs->lock);
}

/* Polls pred under the lock every 20 ms until it holds or timeout_ms passed. */
static int rs_wait(raw_sender *rs, int (*pred)(raw_sender *rs, void *arg), void *arg,
                   int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    int ok;

    for (;;) {
        pthread_mutex_lock(&rs->lock);
        ok = pred(rs, arg);
        pthread_mutex_unlock(&rs->lock);
        if (ok || now_ms() > end)
            return ok;
        usleep(20 * 1000);
    }
}

static int has_ended(raw_sender *rs, void *arg)
{
    (void)rs;
    return ((rs_offer *)arg)->ended;
}

int rs_wait_end(raw_sender *rs, rs_offer *o, int timeout_ms)
{
    return rs_wait(rs, has_ended, o, timeout_ms);
}

static int has_text(raw_sender *rs, void *arg)
{
    for (size_t i = 0; i < rs->ntexts; i++)
        if (strcmp(rs->texts[i], arg) == 0)
            return 1;
    return 0;
}

int rs_wait_text(raw_sender *rs, const char *text, int timeout_ms)
{
    return rs_wait(rs, has_text, (void *)text, timeout_ms);
}
