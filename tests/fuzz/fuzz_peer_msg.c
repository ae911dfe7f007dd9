/* Fuzzes one peer-to-peer message type, chosen at build time with -DFUZZ_MSG_<TYPE>.
 *
 * As fuzz_presence_msg.c: the input is unpacked as that protobuf-c message alone (so mutations
 * land in its fields, not in the oneof wrapper), wrapped in a PeerMsg with the matching oneof
 * case and validated. A message the validator accepts must keep every promise the validator
 * makes, and must survive a round trip through the batch encoder and decoder unchanged.
 * FUZZ_MSG_BATCH instead decodes the input as a whole PeerBatch. */
#include "content.h"
#include "fuzz.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

#if defined(FUZZ_MSG_CHAT)
#define MSG_TYPE   Mim__ChatMessage
#define MSG_UNPACK mim__chat_message__unpack
#define MSG_FREE   mim__chat_message__free_unpacked
#define MSG_CASE   MIM__PEER_MSG__BODY_CHAT
#define MSG_FIELD  chat
#elif defined(FUZZ_MSG_ACK)
#define MSG_TYPE   Mim__Ack
#define MSG_UNPACK mim__ack__unpack
#define MSG_FREE   mim__ack__free_unpacked
#define MSG_CASE   MIM__PEER_MSG__BODY_ACK
#define MSG_FIELD  ack
#elif defined(FUZZ_MSG_CLOSE)
#define MSG_TYPE   Mim__ChatClose
#define MSG_UNPACK mim__chat_close__unpack
#define MSG_FREE   mim__chat_close__free_unpacked
#define MSG_CASE   MIM__PEER_MSG__BODY_CLOSE
#define MSG_FIELD  close
#elif defined(FUZZ_MSG_RECEIPT)
#define MSG_TYPE   Mim__Receipt
#define MSG_UNPACK mim__receipt__unpack
#define MSG_FREE   mim__receipt__free_unpacked
#define MSG_CASE   MIM__PEER_MSG__BODY_RECEIPT
#define MSG_FIELD  receipt
#elif defined(FUZZ_MSG_TYPING)
#define MSG_TYPE   Mim__Typing
#define MSG_UNPACK mim__typing__unpack
#define MSG_FREE   mim__typing__free_unpacked
#define MSG_CASE   MIM__PEER_MSG__BODY_TYPING
#define MSG_FIELD  typing
#elif defined(FUZZ_MSG_BROADCAST_ACK) /* issue 16 */
#define MSG_TYPE   Mim__BroadcastAck
#define MSG_UNPACK mim__broadcast_ack__unpack
#define MSG_FREE   mim__broadcast_ack__free_unpacked
#define MSG_CASE   MIM__PEER_MSG__BODY_BROADCAST_ACK
#define MSG_FIELD  broadcast_ack
#elif !defined(FUZZ_MSG_BATCH)
#error "define one FUZZ_MSG_<TYPE>"
#endif

/* No escape sequence can reach a terminal: no ESC, no C1 CSI, no DEL, no CR. */
static void check_terminal_safe(const char *s)
{
    FUZZ_CHECK(strchr(s, 0x1b) == NULL);
    FUZZ_CHECK(strchr(s, '\r') == NULL);
    FUZZ_CHECK(strchr(s, 0x7f) == NULL);
    FUZZ_CHECK(strstr(s, "\xc2\x9b") == NULL);
}

/* What validation promises about each accepted message. */
static void check_accepted(const Mim__PeerMsg *m)
{
    FUZZ_CHECK(m != NULL);
    switch (m->body_case) {
    case MIM__PEER_MSG__BODY_CHAT: {
        const Mim__ChatMessage *c = m->chat;
        FUZZ_CHECK(c != NULL);
        FUZZ_CHECK(c->id.len == MIM_MSG_ID_LEN);
        FUZZ_CHECK(mim_name_valid(c->sender, strlen(c->sender)));
        if (c->type == MIM__CONTENT_TYPE__CONTENT_TEXT) {
            FUZZ_CHECK(c->chunk == NULL);
            FUZZ_CHECK(mim_chat_text_valid(c->text, strlen(c->text)));
            FUZZ_CHECK(strlen(c->text) >= 1 && strlen(c->text) <= MIM_CHAT_TEXT_MAX);
            check_terminal_safe(c->text);
        } else {
            /* Content this version cannot show: accepted, and described in one safe line. */
            char desc[CONTENT_DESCRIBE_MAX];
            FUZZ_CHECK((int)c->type > 0);
            FUZZ_CHECK(c->text[0] == '\0' || mim_chat_text_valid(c->text, strlen(c->text)));
            if (c->chunk != NULL) {
                FUZZ_CHECK(c->chunk->count >= 1 && c->chunk->index < c->chunk->count);
                FUZZ_CHECK(c->chunk->data.len <= MIM_CHUNK_DATA_MAX);
                FUZZ_CHECK(c->chunk->item.len == 0 || c->chunk->item.len == MIM_MSG_ID_LEN);
            }
            content_describe(c, desc, sizeof(desc));
            FUZZ_CHECK(strlen(desc) < sizeof(desc));
            check_terminal_safe(desc);
        }
        break;
    }
    case MIM__PEER_MSG__BODY_ACK:
        FUZZ_CHECK(m->ack != NULL);
        FUZZ_CHECK(m->ack->n_ids + m->ack->n_refused >= 1 &&
                   m->ack->n_ids + m->ack->n_refused <= MIM_ACK_MAX_IDS);
        for (size_t i = 0; i < m->ack->n_ids; i++)
            FUZZ_CHECK(m->ack->ids[i].len == MIM_MSG_ID_LEN);
        for (size_t i = 0; i < m->ack->n_refused; i++)
            FUZZ_CHECK(m->ack->refused[i].len == MIM_MSG_ID_LEN);
        break;
    case MIM__PEER_MSG__BODY_CLOSE:
        FUZZ_CHECK(m->close != NULL);
        break;
    case MIM__PEER_MSG__BODY_RECEIPT:
        FUZZ_CHECK(m->receipt != NULL);
        FUZZ_CHECK(m->receipt->n_read >= 1 && m->receipt->n_read <= MIM_RECEIPT_MAX_IDS);
        for (size_t i = 0; i < m->receipt->n_read; i++)
            FUZZ_CHECK(m->receipt->read[i].len == MIM_MSG_ID_LEN);
        break;
    case MIM__PEER_MSG__BODY_TYPING:
        FUZZ_CHECK(m->typing != NULL);
        break;
    case MIM__PEER_MSG__BODY_BROADCAST_ACK: { /* issue 16 */
        const Mim__BroadcastAck *a = m->broadcast_ack;
        FUZZ_CHECK(a->n_read + a->n_confirmed >= 1 &&
                   a->n_read + a->n_confirmed <= MIM_ACK_MAX_IDS);
        for (size_t i = 0; i < a->n_read; i++)
            FUZZ_CHECK(a->read[i].len == MIM_MSG_ID_LEN);
        for (size_t i = 0; i < a->n_confirmed; i++)
            FUZZ_CHECK(a->confirmed[i].len == MIM_MSG_ID_LEN);
        break;
    }
    case MIM__PEER_MSG__BODY_PING:
        FUZZ_CHECK(m->ping != NULL);
        break;
    case MIM__PEER_MSG__BODY_PONG:
        FUZZ_CHECK(m->pong != NULL);
        break;
    default:
        fprintf(stderr, "accepted a message with body case %d\n", (int)m->body_case);
        abort();
    }
}

/* a and b (both accepted) carry the same content. */
static void check_same(const Mim__PeerMsg *a, const Mim__PeerMsg *b)
{
    FUZZ_CHECK(a->body_case == b->body_case);
    if (a->body_case == MIM__PEER_MSG__BODY_CHAT) {
        FUZZ_CHECK(memcmp(a->chat->id.data, b->chat->id.data, MIM_MSG_ID_LEN) == 0);
        FUZZ_CHECK(a->chat->ts_ms == b->chat->ts_ms);
        FUZZ_CHECK(strcmp(a->chat->sender, b->chat->sender) == 0);
        FUZZ_CHECK(strcmp(a->chat->text, b->chat->text) == 0);
    } else if (a->body_case == MIM__PEER_MSG__BODY_ACK) {
        FUZZ_CHECK(a->ack->n_ids == b->ack->n_ids);
        for (size_t i = 0; i < a->ack->n_ids; i++)
            FUZZ_CHECK(memcmp(a->ack->ids[i].data, b->ack->ids[i].data, MIM_MSG_ID_LEN) == 0);
    } else if (a->body_case == MIM__PEER_MSG__BODY_RECEIPT) {
        FUZZ_CHECK(a->receipt->n_read == b->receipt->n_read);
        for (size_t i = 0; i < a->receipt->n_read; i++)
            FUZZ_CHECK(memcmp(a->receipt->read[i].data, b->receipt->read[i].data, MIM_MSG_ID_LEN) ==
                       0);
    } else if (a->body_case == MIM__PEER_MSG__BODY_TYPING) {
        FUZZ_CHECK(a->typing->typing == b->typing->typing);
    } else if (a->body_case == MIM__PEER_MSG__BODY_PING) {
        FUZZ_CHECK(a->ping->nonce == b->ping->nonce);
    } else if (a->body_case == MIM__PEER_MSG__BODY_PONG) {
        FUZZ_CHECK(a->pong->nonce == b->pong->nonce);
    }
}

#if defined(FUZZ_MSG_BATCH)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Mim__PeerBatch *b = NULL, *b2 = NULL;
    char err[128];
    mim_buf again;
    int rc = MIM_OK;

    memset(err, 'X', sizeof(err));
    rc = mim_peer_batch_decode(data, size, &b, err, sizeof(err));
    if (rc != MIM_OK) {
        FUZZ_CHECK(rc == MIM_EDECODE || rc == MIM_ENOMEM);
        FUZZ_CHECK(b == NULL);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    FUZZ_CHECK(b != NULL);
    FUZZ_CHECK(b->n_msgs >= 1); /* an empty batch is malformed */
    /* Rebuild the batch element by element, as a sender does. */
    mim_buf_init(&again);
    for (size_t i = 0; rc == MIM_OK && i < b->n_msgs; i++) {
        check_accepted(b->msgs[i]);
        FUZZ_CHECK(mim_peer_msg_validate(b->msgs[i], NULL, 0) == MIM_OK);
        rc = mim_peer_batch_append(&again, b->msgs[i]);
        FUZZ_CHECK(rc == MIM_OK || rc == MIM_ENOMEM);
    }
    if (rc == MIM_OK) {
        rc = mim_peer_batch_decode(again.data, again.len, &b2, err, sizeof(err));
        if (rc != MIM_OK && fuzz_protobuf_round_trips(&b->base)) {
            fprintf(stderr, "re-encoded batch refused: %s\n", err);
            abort();
        }
        if (rc == MIM_OK) {
            FUZZ_CHECK(b2->n_msgs == b->n_msgs);
            for (size_t i = 0; i < b->n_msgs; i++)
                check_same(b->msgs[i], b2->msgs[i]);
            mim_peer_batch_free(b2);
        }
    }
    mim_buf_free(&again);
    mim_peer_batch_free(b);
    return 0;
}

#else

/* A message that validated must encode into a batch that decodes to the same message. */
static void check_round_trip(const Mim__PeerMsg *m)
{
    mim_buf out;
    Mim__PeerBatch *b = NULL;
    char err[128];
    int rc;

    mim_buf_init(&out);
    rc = mim_peer_batch_append(&out, m);
    if (rc == MIM_ENOMEM) {
        mim_buf_free(&out);
        return;
    }
    FUZZ_CHECK(rc == MIM_OK);
    rc = mim_peer_batch_decode(out.data, out.len, &b, err, sizeof(err));
    if (rc != MIM_OK && !fuzz_protobuf_round_trips(&m->base)) {
        mim_buf_free(&out);
        return;
    }
    if (rc != MIM_OK)
        fprintf(stderr, "re-encoded message refused: %s\n", err);
    FUZZ_CHECK(rc == MIM_OK);
    FUZZ_CHECK(b != NULL && b->n_msgs == 1);
    check_same(m, b->msgs[0]);
    mim_peer_batch_free(b);
    mim_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MSG_TYPE *inner = MSG_UNPACK(NULL, size, data);
    Mim__PeerMsg msg = MIM__PEER_MSG__INIT;
    char err[128];
    int rc;

    if (inner == NULL)
        return 0;
    msg.body_case = MSG_CASE;
    msg.MSG_FIELD = inner;
    memset(err, 'X', sizeof(err));
    rc = mim_peer_msg_validate(&msg, err, sizeof(err));
    if (rc != MIM_OK) {
        FUZZ_CHECK(rc == MIM_EDECODE);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    } else {
        check_accepted(&msg);
        check_round_trip(&msg);
    }
    MSG_FREE(inner, NULL);
    return 0;
}

#endif
