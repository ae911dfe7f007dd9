/* The codec of file transfers (issue 15, docs/PROTOCOL.md 14.6-14.9): the FileOffer inside a
 * ChatMessage, and BulkMsg, the one message of a bulk connection's frames. Checks what can be
 * checked without the transfer at hand; the engine (peer/core_transfer*.c) checks the rest
 * (offsets inside the stream, hashes against the offer). */
#include "mim_codec.h"
#include "mim_codec_priv.h"
#include "mim_error.h"

#include <stdio.h>
#include <string.h>

uint64_t mim_file_chunk_count(uint64_t size, uint32_t chunk_size)
{
    return size / chunk_size + (size % chunk_size != 0);
}

int mim_file_offer_check(const Mim__FileOffer *o, char *err, size_t errlen)
{
    size_t name_len = strlen(o->name);

    if (name_len == 0 || !mim_text_valid(o->name, name_len, MIM_FILE_NAME_BYTES) ||
        memchr(o->name, '/', name_len) != NULL)
        return mim_codec_fail(err, errlen,
                              "offer: name empty, over %d bytes, not one line or with '/'",
                              MIM_FILE_NAME_BYTES);
    if (o->size >= MIM_FILE_MAX_SIZE)
        return mim_codec_fail(err, errlen, "offer: size %llu too large",
                              (unsigned long long)o->size);
    if (o->file_count == 0 || o->file_count > MIM_FILE_MAX_FILES ||
        (!o->folder && o->file_count != 1))
        return mim_codec_fail(err, errlen, "offer: %u files", o->file_count);
    if (o->chunk_size < MIM_FILE_CHUNK_MIN || o->chunk_size > MIM_FILE_CHUNK_MAX ||
        o->chunk_size % MIM_FILE_CHUNK_MIN != 0)
        return mim_codec_fail(err, errlen, "offer: chunk size %u", o->chunk_size);
    if (o->hash_scheme != MIM__FILE_HASH_SCHEME__FILE_HASH_BLAKE2B &&
        o->hash_scheme != MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN)
        return mim_codec_fail(err, errlen, "offer: hash scheme %d", (int)o->hash_scheme);
    if (o->hash_scheme == MIM__FILE_HASH_SCHEME__FILE_HASH_BLAKE2B && o->stripe_chunks != 0)
        return mim_codec_fail(err, errlen, "offer: stripes without the chain");
    if (o->root.len != MIM_FILE_HASH_LEN)
        return mim_codec_fail(err, errlen, "offer: root of %zu bytes", o->root.len);
    if (o->manifest_hash.len != (o->folder ? MIM_FILE_HASH_LEN : 0))
        return mim_codec_fail(err, errlen, "offer: manifest hash of %zu bytes",
                              o->manifest_hash.len);
    if (o->media_type[0] != '\0' &&
        !mim_text_valid(o->media_type, strlen(o->media_type), MIM_MEDIA_TYPE_MAX))
        return mim_codec_fail(err, errlen, "offer: media type not a valid text of at most %d bytes",
                              MIM_MEDIA_TYPE_MAX);
    return 0;
}

static int check_id(const ProtobufCBinaryData *id, const char *what, char *err, size_t errlen)
{
    if (id->len != MIM_MSG_ID_LEN)
        return mim_codec_fail(err, errlen, "%s: id of %zu bytes", what, id->len);
    return 0;
}

static int check_request(const Mim__FileRequest *r, char *err, size_t errlen)
{
    uint64_t next = 0;
    int rc;

    if ((rc = check_id(&r->id, "file request", err, errlen)) != 0)
        return rc;
    if (r->reject && (r->n_ranges != 0 || r->meta))
        return mim_codec_fail(err, errlen, "file request: a reject with ranges");
    if (r->n_ranges > MIM_FILE_RANGES_MAX)
        return mim_codec_fail(err, errlen, "file request: %zu ranges", r->n_ranges);
    for (size_t i = 0; i < r->n_ranges; i++) {
        const Mim__FileRange *g = r->ranges[i];
        if (g->count == 0 || g->first < next || (uint64_t)g->first + g->count > UINT32_MAX)
            return mim_codec_fail(err, errlen, "file request: range %zu (%u, %u) out of order", i,
                                  g->first, g->count);
        next = (uint64_t)g->first + g->count;
    }
    return 0;
}

static int check_manifest(const Mim__FileManifest *m, char *err, size_t errlen)
{
    if (m->n_entries == 0 || m->n_entries > MIM_FILE_MANIFEST_MAX ||
        (uint64_t)m->first + m->n_entries > MIM_FILE_MAX_FILES)
        return mim_codec_fail(err, errlen, "manifest: entries %u + %zu", m->first, m->n_entries);
    for (size_t i = 0; i < m->n_entries; i++) {
        size_t n = strlen(m->entries[i]->path);
        if (n == 0 || n > MIM_FILE_PATH_MAX)
            return mim_codec_fail(err, errlen, "manifest: a path of %zu bytes", n);
        if (m->entries[i]->size >= MIM_FILE_MAX_SIZE)
            return mim_codec_fail(err, errlen, "manifest: a file too large");
    }
    return 0;
}

static int check_end(const Mim__FileEnd *e, char *err, size_t errlen)
{
    size_t n = strlen(e->error);
    int rc;

    if ((rc = check_id(&e->id, "file end", err, errlen)) != 0)
        return rc;
    if ((int)e->code < 0 || e->code > MIM__FILE_END_CODE__FILE_END_FAILED)
        return mim_codec_fail(err, errlen, "file end: code %d", (int)e->code);
    if (n != 0 && !mim_text_valid(e->error, n, MIM_FILE_ERROR_MAX))
        return mim_codec_fail(err, errlen, "file end: error text not one line of %d bytes",
                              MIM_FILE_ERROR_MAX);
    if (e->sha256.len != (e->code == MIM__FILE_END_CODE__FILE_END_DONE ? 32u : 0u))
        return mim_codec_fail(err, errlen, "file end: sha256 of %zu bytes", e->sha256.len);
    return 0;
}

static int check_bulk(const Mim__BulkMsg *m, char *err, size_t errlen)
{
    switch (m->body_case) {
    case MIM__BULK_MSG__BODY_REQUEST:
        return check_request(m->request, err, errlen);
    case MIM__BULK_MSG__BODY_MANIFEST:
        return check_manifest(m->manifest, err, errlen);
    case MIM__BULK_MSG__BODY_HASHES:
        if (m->hashes->hashes.len == 0 || m->hashes->hashes.len > MIM_FILE_PIECE_MAX ||
            m->hashes->hashes.len % MIM_FILE_HASH_LEN != 0)
            return mim_codec_fail(err, errlen, "hashes: %zu bytes", m->hashes->hashes.len);
        return 0;
    case MIM__BULK_MSG__BODY_DATA:
        if (m->data->data.len == 0 || m->data->data.len > MIM_FILE_PIECE_MAX ||
            m->data->offset >= MIM_FILE_MAX_SIZE)
            return mim_codec_fail(err, errlen, "data: %zu bytes at %llu", m->data->data.len,
                                  (unsigned long long)m->data->offset);
        return 0;
    case MIM__BULK_MSG__BODY_END:
        return check_end(m->end, err, errlen);
    default:
        return mim_codec_fail(err, errlen, "bulk message with no known body (%d)",
                              (int)m->body_case);
    }
}

int mim_bulk_msg_decode(const uint8_t *p, size_t len, Mim__BulkMsg **out, char *err, size_t errlen)
{
    Mim__BulkMsg *m = mim__bulk_msg__unpack(NULL, len, p);
    int rc;

    *out = NULL;
    if (m == NULL)
        return mim_codec_fail(err, errlen, "bulk message does not parse");
    rc = mim_codec_canonical(&m->base, p, len, err, errlen);
    if (rc == 0)
        rc = check_bulk(m, err, errlen);
    if (rc != 0) {
        mim__bulk_msg__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}

void mim_bulk_msg_free(Mim__BulkMsg *m)
{
    if (m != NULL)
        mim__bulk_msg__free_unpacked(m, NULL);
}

int mim_bulk_msg_pack(const Mim__BulkMsg *m, mim_buf *out)
{
    size_t n = mim__bulk_msg__get_packed_size(m);

    mim_buf_reset(out);
    if (mim_buf_reserve(out, n) != 0)
        return MIM_ENOMEM;
    out->len = mim__bulk_msg__pack(m, out->data);
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

int mim_file_manifest_entry_encode(const char *path, size_t path_len, uint64_t size, mim_buf *out)
{
    uint8_t len_be[4], size_be[8];

    put_be(len_be, path_len, 4);
    put_be(size_be, size, 8);
    if (mim_buf_append(out, len_be, 4) != 0 || mim_buf_append(out, path, path_len) != 0 ||
        mim_buf_append(out, size_be, 8) != 0)
        return MIM_ENOMEM;
    return 0;
}
