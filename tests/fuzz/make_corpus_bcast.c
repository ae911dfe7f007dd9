/* Writes the seeds of issue 16's wire pieces: tests/fuzz/corpus/presence_broadcasters/ (a
 * BroadcasterList alone: restricted, open, and some the codec refuses), peer_broadcast_ack/ (a
 * BroadcastAck alone), and batches of them in presence_batch/bcast_* and peer_batch/bcast_*
 * (with a chat marked as an important broadcast, and one marked with an unknown kind).
 *
 *   fuzz_make_corpus_bcast [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * Deterministic (the signatures are fixed bytes: the codec does not check them; the receiver
 * does); not a test: run it by hand after changing these messages and commit the result. */
#include "mim_buf.h"
#include "mim_codec.h"
#include "seed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

static uint8_t sig[64], id1[16], id2[16];

/* A BroadcasterList alone (presence_broadcasters/) and as a batch (presence_batch/bcast_). */
static void list_seed(const char *name, uint64_t issued, int restricted, char **names, size_t n)
{
    Mim__PresenceMsg m;
    Mim__BroadcasterList l;
    uint8_t buf[4096];
    char batch_name[128];
    mim_buf b = {0};

    mim_broadcaster_list_init(&m, &l, issued, restricted, names, n, sig);
    write_seed("presence_broadcasters", name, buf, mim__broadcaster_list__pack(&l, buf));
    if (mim_presence_batch_append(&b, &m) != 0)
        abort();
    snprintf(batch_name, sizeof(batch_name), "bcast_%s", name);
    write_seed("presence_batch", batch_name, b.data, b.len);
    mim_buf_free(&b);
}

static void ack_seed(const char *name, ProtobufCBinaryData *read, size_t nr,
                     ProtobufCBinaryData *conf, size_t nc)
{
    Mim__PeerMsg m;
    Mim__BroadcastAck a;
    uint8_t buf[4096];
    char batch_name[128];
    mim_buf b = {0};

    mim_broadcast_ack_init(&m, &a, read, nr, conf, nc);
    write_seed("peer_broadcast_ack", name, buf, mim__broadcast_ack__pack(&a, buf));
    if (mim_peer_batch_append(&b, &m) != 0)
        abort();
    snprintf(batch_name, sizeof(batch_name), "bcast_%s", name);
    write_seed("peer_batch", batch_name, b.data, b.len);
    mim_buf_free(&b);
}

/* A chat marked as a broadcast of kind `kind` (2: important; 7: unknown, refused). */
static void chat_seed(const char *name, uint32_t kind)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    mim_buf b = {0};

    c.id = (ProtobufCBinaryData){16, id1};
    c.ts_ms = 1764650000000ull;
    c.sender = "teacher";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = "Hand in your work";
    c.broadcast = kind;
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    if (mim_peer_batch_append(&b, &m) != 0)
        abort();
    write_seed("peer_batch", name, b.data, b.len);
    mim_buf_free(&b);
}

/* JSON lines for json_line, behind its two bytes (the stub's mode, the read size). */
static void json_seed(const char *name, const char *head, const char *lines)
{
    uint8_t buf[2048];
    size_t n = strlen(lines);

    memcpy(buf, head, 2);
    memcpy(buf + 2, lines, n);
    write_seed("json_line", name, buf, n + 2);
}

static const char json_lines[] =
    "{\"cmd\":\"broadcast\",\"text\":\"hi all\",\"tag\":1}\n"
    "{\"cmd\":\"broadcast\",\"text\":\"read this\",\"important\":true}\n"
    "{\"cmd\":\"broadcast\",\"text\":\"x\",\"important\":\"yes\"}\n"
    "{\"cmd\":\"broadcast\"}\n"
    "{\"cmd\":\"ack_broadcast\",\"id\":\"bcbcbcbcbcbcbcbcbcbcbcbcbcbcbcbc\"}\n"
    "{\"cmd\":\"ack_broadcast\",\"id\":\"zz\"}\n"
    "{\"cmd\":\"broadcast_status\",\"id\":\"bcbcbcbcbcbcbcbcbcbcbcbcbcbcbcbc\",\"tag\":\"s\"}\n"
    "{\"cmd\":\"broadcast_status\",\"id\":7}\n";

int main(int argc, char **argv)
{
    char *names[] = {"amy", "teacher", "zed"}, *unsorted[] = {"zed", "amy"}, *bad[] = {"a\x01"};
    ProtobufCBinaryData r[2] = {{16, id1}, {16, id2}}, shortid = {15, id1};

    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    memset(sig, 0x5a, sizeof(sig));
    memset(id1, 0xb1, sizeof(id1));
    memset(id2, 0xb2, sizeof(id2));
    list_seed("restricted", 1764650000000ull, 1, names, 3);
    list_seed("open", 1764650000000ull, 0, NULL, 0);
    list_seed("unsorted", 1764650000000ull, 1, unsorted, 2);     /* refused: order */
    list_seed("open_with_names", 1764650000000ull, 0, names, 1); /* refused */
    list_seed("no_time", 0, 1, names, 1);                        /* refused */
    list_seed("bad_name", 1764650000000ull, 1, bad, 1);          /* refused */
    ack_seed("read", r, 2, NULL, 0);
    ack_seed("confirmed", NULL, 0, r, 1);
    ack_seed("both", r, 1, r + 1, 1);
    ack_seed("short_id", &shortid, 1, NULL, 0); /* refused */
    ack_seed("empty", NULL, 0, NULL, 0);        /* refused */
    chat_seed("bcast_chat_important", 2);
    chat_seed("bcast_chat_unknown_kind", 7); /* refused */
    json_seed("broadcast_ok", "\x08\xff", json_lines);
    json_seed("broadcast_refused", "\x21\x10", json_lines);
    return seed_end("broadcast seeds");
}
