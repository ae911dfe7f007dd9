/* Writes the seed corpus of fuzz_bulk (issue 15: the bulk connection's messages) into
 * corpus/bulk/, and offers into corpus/peer_chat/ (a ChatMessage with a FileOffer, good and
 * bad). Not a test: build/tests/fuzz/fuzz_make_corpus_file [dir]. */
#include "mim_codec.h"
#include "seed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t id[16], hash[64];

static void bulk_seeds(void)
{
    Mim__BulkMsg m = MIM__BULK_MSG__INIT;
    Mim__FileRequest r = MIM__FILE_REQUEST__INIT;
    Mim__FileRange g1 = MIM__FILE_RANGE__INIT, g2 = MIM__FILE_RANGE__INIT, *gs[2] = {&g1, &g2};
    Mim__FileManifest fm = MIM__FILE_MANIFEST__INIT;
    Mim__FileEntry e1 = MIM__FILE_ENTRY__INIT, *es[1] = {&e1};
    Mim__FileHashes fh = MIM__FILE_HASHES__INIT;
    Mim__FileData fd = MIM__FILE_DATA__INIT;
    Mim__FileEnd fe = MIM__FILE_END__INIT;

    r.id = (ProtobufCBinaryData){16, id};
    r.meta = 1;
    g1.first = 0, g1.count = 3, g2.first = 5, g2.count = 2;
    r.n_ranges = 2, r.ranges = gs;
    m.body_case = MIM__BULK_MSG__BODY_REQUEST, m.request = &r;
    write_msg("bulk", "request", &m.base, 0);
    g2.first = 1;
    write_msg("bulk", "bad_request_overlap", &m.base, 0);
    r.n_ranges = 0, r.meta = 0, r.reject = 1;
    write_msg("bulk", "reject", &m.base, 0);
    e1.path = "photos/2024/cat.png", e1.size = 1234;
    fm.n_entries = 1, fm.entries = es;
    m.body_case = MIM__BULK_MSG__BODY_MANIFEST, m.manifest = &fm;
    write_msg("bulk", "manifest", &m.base, 0);
    fh.first = 0, fh.hashes = (ProtobufCBinaryData){64, hash};
    m.body_case = MIM__BULK_MSG__BODY_HASHES, m.hashes = &fh;
    write_msg("bulk", "hashes", &m.base, 0);
    fh.hashes.len = 40;
    write_msg("bulk", "bad_hashes_len", &m.base, 0);
    fd.offset = 1048576, fd.data = (ProtobufCBinaryData){4, (uint8_t *)"\x89PNG"};
    m.body_case = MIM__BULK_MSG__BODY_DATA, m.data = &fd;
    write_msg("bulk", "data", &m.base, 0);
    fe.id = (ProtobufCBinaryData){16, id};
    fe.code = MIM__FILE_END_CODE__FILE_END_DONE, fe.sha256 = (ProtobufCBinaryData){32, hash};
    m.body_case = MIM__BULK_MSG__BODY_END, m.end = &fe;
    write_msg("bulk", "end_done", &m.base, 0);
    fe.code = MIM__FILE_END_CODE__FILE_END_FAILED, fe.error = "disk on fire";
    write_msg("bulk", "bad_end_failed_with_sha", &m.base, 0);
}

static void offer_seeds(void)
{
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__FileOffer o = MIM__FILE_OFFER__INIT;

    o.name = "cat.png", o.size = 122880, o.file_count = 1, o.media_type = "image/png";
    o.width = 640, o.height = 480, o.chunk_size = 1u << 20;
    o.root = (ProtobufCBinaryData){32, hash};
    c.id = (ProtobufCBinaryData){16, id};
    c.ts_ms = 1700000000000ull, c.sender = "alice", c.type = MIM__CONTENT_TYPE__CONTENT_IMAGE;
    c.offer = &o;
    write_msg("peer_chat", "file_offer", &c.base, 0); /* scheme 0 (the first version's) */
    o.hash_scheme = MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN;
    write_msg("peer_chat", "file_offer_chain", &c.base, 0);
    o.stripe_chunks = 2;
    write_msg("peer_chat", "file_offer_stripes", &c.base, 0);
    o.stripe_chunks = 0;
    o.hash_scheme = (Mim__FileHashScheme)7; /* no such scheme: refused */
    write_msg("peer_chat", "bad_offer_scheme", &c.base, 0);
    o.hash_scheme = MIM__FILE_HASH_SCHEME__FILE_HASH_SHA256_CHAIN;
    o.folder = 1, o.file_count = 200, o.manifest_hash = (ProtobufCBinaryData){32, hash};
    c.type = MIM__CONTENT_TYPE__CONTENT_FILE;
    write_msg("peer_chat", "folder_offer", &c.base, 0);
    o.name = "../../etc/passwd";
    write_msg("peer_chat", "bad_offer_slash", &c.base, 0);
}

int main(int argc, char **argv)
{
    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    memset(id, 0xa5, sizeof(id));
    for (size_t i = 0; i < sizeof(hash); i++)
        hash[i] = (uint8_t)i;
    bulk_seeds();
    offer_seeds();
    return seed_end("bulk and offer seeds");
}
