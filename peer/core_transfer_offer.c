/* File transfers (issue 15): the offer. The sender reads the file or folder once for its chunk
 * hashes (root) and its manifest (manifest_hash), stores the offer as a history entry in the
 * outbox with its transfer row, and sends it as a ChatMessage with a FileOffer when the
 * outbox goes out. The receiver stores the row with the message (the same transaction),
 * decides by its policy, and reports the offer after the commit. */
#include "core_transfer_priv.h"
#include "file_name.h"
#include "mim_clock.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The chunk hashes of src's stream (*hashes, malloc'd, n * 32 bytes), its root, and for a
 * folder the manifest hash. Reads everything once, a chunk at a time. 0 or a MIM_E* code. */
static int hash_source(file_source *src, uint32_t chunk_size, uint8_t **hashes, uint32_t *n,
                       uint8_t root[32], uint8_t manifest_hash[32])
{
    const file_layout *l = file_source_layout(src);
    uint64_t count = mim_file_chunk_count((uint64_t)l->total, chunk_size);
    uint8_t *buf = malloc(chunk_size);
    mim_buf man;
    int rc = 0;

    *hashes = malloc(count * 32 + 1);
    if (buf == NULL || *hashes == NULL || count > UINT32_MAX) {
        free(buf);
        free(*hashes);
        *hashes = NULL;
        return MIM_ENOMEM;
    }
    for (uint64_t k = 0; k < count && rc == 0; k++) {
        int64_t off = (int64_t)(k * chunk_size);
        size_t want = (size_t)(l->total - off < chunk_size ? l->total - off : chunk_size);
        int64_t got = file_source_read(src, off, buf, want);
        if (got != (int64_t)want)
            rc = got < 0 ? (int)got : MIM_ECHANGED;
        else
            mim_blake2b(*hashes + k * 32, buf, want);
    }
    free(buf);
    mim_blake2b(root, *hashes, count * 32);
    mim_buf_init(&man);
    for (uint32_t i = 0; i < l->count && rc == 0; i++)
        rc = mim_file_manifest_entry_encode(l->entries[i].path, strlen(l->entries[i].path),
                                            (uint64_t)l->entries[i].size, &man);
    mim_blake2b(manifest_hash, man.data != NULL ? man.data : (const uint8_t *)"", man.len);
    mim_buf_free(&man);
    if (rc != 0) {
        free(*hashes);
        *hashes = NULL;
    }
    *n = (uint32_t)count;
    return rc;
}

/* The offer's history line: "file report.pdf (1234 bytes)", "image cat.png 640x480 (...)". */
static void offer_text(const mim_transfer *t, char *out, size_t len)
{
    const char *kind = t->folder ? "folder" : t->media_type[0] != '\0' ? "image" : "file";

    if (t->width > 0)
        snprintf(out, len, "[%s %s %ux%u, %lld bytes]", kind, t->name, t->width, t->height,
                 (long long)t->size);
    else
        snprintf(out, len, "[%s %s, %lld bytes%s]", kind, t->name, (long long)t->size,
                 t->folder ? ", a folder" : "");
    mim_utf8_cut(out);
}

/* Checks of a send: the name as mim_core_send checks it. */
static int check_to(mim_core *c, const char **to, char nfc[MIM_NAME_MAX_BYTES + 1])
{
    if ((*to = mim_core_typed_name(*to, nfc)) == NULL)
        return MIM_CORE_EBAD_NAME;
    if (strcmp(*to, c->name) == 0)
        return MIM_CORE_ESELF;
    if (!core_known_peer(c, *to))
        return MIM_CORE_EUNKNOWN_PEER;
    if (core_is_blocked(c, *to))
        return MIM_CORE_EBLOCKED;
    return 0;
}

/* Stores the offer (history + transfer row, one transaction) and its xfer. */
static int store_offer(mim_core *c, mim_transfer *t, int type, const uint8_t *hashes, uint32_t n,
                       xfer **out)
{
    char text[MIM_CHAT_TEXT_MAX];
    int rc;

    offer_text(t, text, sizeof(text));
    t->hashes = hashes;
    t->hashes_len = (size_t)n * 32;
    if (mim_store_begin(c->st) != 0)
        return MIM_CORE_ESTORE;
    rc = mim_store_message_queue(c->st, t->peer, t->id, t->ts_ms, type, text, strlen(text), NULL);
    if (rc == 0)
        rc = mim_store_transfer_add(c->st, t);
    if (rc != 0 || mim_store_commit(c->st) != 0) {
        mim_store_rollback(c->st);
        return MIM_CORE_ESTORE;
    }
    return (*out = xfer_from_row(c, t)) != NULL ? 0 : MIM_CORE_ESTORE;
}

int mim_core_send_file(mim_core *c, const char *to, const char *path, mim_msg_id *id)
{
    char nfc[MIM_NAME_MAX_BYTES + 1];
    mim_transfer t = {0};
    file_source *src = NULL;
    mim_media_info media = {.type = ""};
    uint8_t *hashes = NULL;
    uint32_t n = 0;
    peer_rec *r;
    xfer *x;
    int rc;

    if (c->batching)
        return MIM_CORE_EBAD_VALUE;
    if ((rc = check_to(c, &to, nfc)) != 0)
        return rc;
    if ((r = core_peer_get(c, to)) == NULL)
        return MIM_CORE_ESTORE;
    if ((rc = file_source_open(path, &src)) != 0)
        return rc == MIM_EOVERFLOW ? MIM_CORE_ETOO_BIG : MIM_CORE_ENO_FILE;
    if (strlen(file_source_name(src)) > MIM_FILE_NAME_BYTES ||
        (uint64_t)file_source_layout(src)->total >= MIM_FILE_MAX_SIZE) {
        file_source_close(src);
        return MIM_CORE_ETOO_BIG;
    }
    if (!file_source_is_folder(src))
        file_source_media(src, &media);
    rc = hash_source(src, MIM_FILE_CHUNK_SIZE, &hashes, &n, t.root, t.manifest_hash);
    snprintf(t.peer, sizeof(t.peer), "%s", to);
    mim_random_bytes(t.id, sizeof(t.id));
    t.outgoing = 1;
    t.state = MIM_CORE_FILE_OFFERED;
    t.ts_ms = mim_clock_wall_ms();
    t.name = file_source_name(src);
    t.path = path;
    t.size = file_source_layout(src)->total;
    t.nfiles = file_source_layout(src)->count;
    t.folder = file_source_is_folder(src);
    t.has_manifest_hash = t.folder;
    t.media_type = media.type;
    t.width = media.width;
    t.height = media.height;
    t.chunk_size = MIM_FILE_CHUNK_SIZE;
    if (rc == 0)
        rc = store_offer(c, &t,
                         media.type[0] != '\0' ? MIM__CONTENT_TYPE__CONTENT_IMAGE
                                               : MIM__CONTENT_TYPE__CONTENT_FILE,
                         hashes, n, &x);
    else
        rc = MIM_CORE_ENO_FILE; /* it changed or failed while read */
    free(hashes);
    file_source_close(src);
    if (rc != 0)
        return rc;
    mim_log_info("offering %s (%lld bytes, %u chunks) to %s", x->name, (long long)x->size,
                 x->nchunks, to);
    if (id != NULL)
        *id = x->id;
    return core_send_stored(c, r, &x->id);
}

int core_transfer_send_offer(mim_core *c, chat_session *cs, const mim_message *m)
{
    xfer *x = xfer_find(c, m->peer, m->id, 1);
    Mim__PeerMsg pm = MIM__PEER_MSG__INIT;
    Mim__ChatMessage cm = MIM__CHAT_MESSAGE__INIT;
    Mim__FileOffer fo = MIM__FILE_OFFER__INIT;

    if (x == NULL) { /* finished or failed meanwhile: still delivered, as history */
        mim_log_debug("an offer to %s without its transfer: sent as text", m->peer);
        return chat_session_send_chat(cs, m->id, (uint64_t)m->ts_ms, m->text, m->text_len);
    }
    fo.name = x->name;
    fo.size = (uint64_t)x->size;
    fo.file_count = x->nfiles;
    fo.folder = x->folder;
    fo.media_type = x->media_type;
    fo.width = x->width;
    fo.height = x->height;
    fo.chunk_size = x->chunk_size;
    fo.root = (ProtobufCBinaryData){32, x->root};
    if (x->folder)
        fo.manifest_hash = (ProtobufCBinaryData){32, x->manifest_hash};
    cm.id = (ProtobufCBinaryData){MIM_MSG_ID_LEN, x->id.bytes};
    cm.ts_ms = (uint64_t)x->ts_ms;
    cm.sender = c->name;
    cm.type = m->content_type;
    cm.text = "";
    cm.offer = &fo;
    pm.body_case = MIM__PEER_MSG__BODY_CHAT;
    pm.chat = &cm;
    return chat_session_send_msg(cs, &pm);
}

/* ---- the receiver -----------------------------------------------------------------------------
 */

/* The policy: over max_size rejected; from a contact pinned before this run (not a first
 * contact) up to auto_accept accepted; the rest waits. */
static mim_core_file_state decide(mim_core *c, const char *peer, const Mim__FileOffer *o,
                                  const char **why)
{
    peer_rec *r = core_peer_find(c, peer);

    *why = NULL;
    if (o->size > (uint64_t)c->xf->max_size) {
        *why = "larger than the largest file accepted (--max-file-size)";
        return MIM_CORE_FILE_REJECTED;
    }
    if (c->xf->download_dir[0] == '\0') {
        *why = "no download directory";
        return MIM_CORE_FILE_REJECTED;
    }
    if (r != NULL && !r->first_contact && o->size <= (uint64_t)c->xf->auto_accept)
        return MIM_CORE_FILE_ACCEPTED;
    return MIM_CORE_FILE_OFFERED;
}

int core_transfer_offer_received(mim_core *c, const char *peer, const Mim__ChatMessage *m)
{
    const Mim__FileOffer *o = m->offer;
    mim_transfer t = {0};
    const char *why;
    core_xfers *xf = c->xf;
    xfer *x;
    int rc;

    if (o == NULL ||
        (m->type != MIM__CONTENT_TYPE__CONTENT_FILE && m->type != MIM__CONTENT_TYPE__CONTENT_IMAGE))
        return 0;
    snprintf(t.peer, sizeof(t.peer), "%s", peer);
    memcpy(t.id, m->id.data, 16);
    t.state = (int)decide(c, peer, o, &why);
    t.error = why;
    t.ts_ms = (int64_t)m->ts_ms;
    t.name = o->name;
    t.size = (int64_t)o->size;
    t.nfiles = o->file_count;
    t.folder = o->folder;
    t.media_type = o->media_type;
    t.width = o->width;
    t.height = o->height;
    t.chunk_size = o->chunk_size;
    memcpy(t.root, o->root.data, 32);
    if ((t.has_manifest_hash = o->folder))
        memcpy(t.manifest_hash, o->manifest_hash.data, 32);
    if ((rc = mim_store_transfer_add(c->st, &t)) != 0)
        return rc == MIM_EEXIST ? 1 : rc;
    if (xf->npending == xf->cap_pending) {
        void *p = core_grow(xf->pending, &xf->cap_pending, sizeof(*xf->pending));
        if (p == NULL)
            return MIM_ENOMEM;
        xf->pending = p;
    }
    if ((x = xfer_from_row(c, &t)) == NULL)
        return MIM_ENOMEM;
    x->tell_reject = t.state == MIM_CORE_FILE_REJECTED;
    xf->pending[xf->npending++] = x;
    return 1;
}

void core_transfer_offers_commit(mim_core *c, int committed)
{
    core_xfers *xf = c->xf;

    for (size_t i = 0; i < xf->npending; i++) {
        xfer *x = xf->pending[i];
        mim_core_file_info f;
        xfer_info_buf b;
        if (!committed) { /* the row is gone with the rollback: the resend brings it again */
            xfer_discard(c, x);
            continue;
        }
        mim_log_info("%s offers %s (%lld bytes): %s", x->peer, x->name, (long long)x->size,
                     x->state == MIM_CORE_FILE_ACCEPTED   ? "accepted"
                     : x->state == MIM_CORE_FILE_REJECTED ? x->error
                                                          : "waits for a decision");
        xfer_info(c, x, &f, &b);
        if (c->ev.on_file_offer != NULL)
            c->ev.on_file_offer(c->ud, &f, x->state == MIM_CORE_FILE_ACCEPTED);
        if (x->state == MIM_CORE_FILE_REJECTED && c->ev.on_file_failed != NULL)
            c->ev.on_file_failed(c->ud, &f);
        if (x->state != MIM_CORE_FILE_OFFERED)
            xfer_dial(c, x);
    }
    xf->npending = 0;
}
