/* Fuzzes one presence message type, chosen at build time with -DFUZZ_MSG_<TYPE>.
 *
 * The input is unpacked as that protobuf-c message alone (so every mutation lands in its
 * fields rather than in the oneof wrapper), wrapped in a PresenceMsg with the matching oneof
 * case, and validated in both directions. A message the validator accepts must be allowed in
 * that direction, and must survive a round trip through the batch encoder and decoder.
 * FUZZ_MSG_BATCH instead decodes the input as a whole PresenceBatch. */
#include "fuzz.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_error.h"

#include <stdlib.h>
#include <string.h>

#if defined(FUZZ_MSG_LOGIN)
#define MSG_TYPE   Mim__Login
#define MSG_UNPACK mim__login__unpack
#define MSG_FREE   mim__login__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_LOGIN
#define MSG_FIELD  login
#elif defined(FUZZ_MSG_TABLE)
#define MSG_TYPE   Mim__TableChunk
#define MSG_UNPACK mim__table_chunk__unpack
#define MSG_FREE   mim__table_chunk__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_TABLE
#define MSG_FIELD  table
#elif defined(FUZZ_MSG_ADD)
#define MSG_TYPE   Mim__PeerAdd
#define MSG_UNPACK mim__peer_add__unpack
#define MSG_FREE   mim__peer_add__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_ADD
#define MSG_FIELD  add
#elif defined(FUZZ_MSG_DEL)
#define MSG_TYPE   Mim__PeerDelete
#define MSG_UNPACK mim__peer_delete__unpack
#define MSG_FREE   mim__peer_delete__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_DEL
#define MSG_FIELD  del
#elif defined(FUZZ_MSG_STATUS_SET)
#define MSG_TYPE   Mim__StatusSet
#define MSG_UNPACK mim__status_set__unpack
#define MSG_FREE   mim__status_set__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_STATUS_SET
#define MSG_FIELD  status_set
#elif defined(FUZZ_MSG_STATUS)
#define MSG_TYPE   Mim__StatusUpdate
#define MSG_UNPACK mim__status_update__unpack
#define MSG_FREE   mim__status_update__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_STATUS
#define MSG_FIELD  status
#elif defined(FUZZ_MSG_PING)
#define MSG_TYPE   Mim__Ping
#define MSG_UNPACK mim__ping__unpack
#define MSG_FREE   mim__ping__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_PING
#define MSG_FIELD  ping
#elif defined(FUZZ_MSG_PONG)
#define MSG_TYPE   Mim__Pong
#define MSG_UNPACK mim__pong__unpack
#define MSG_FREE   mim__pong__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_PONG
#define MSG_FIELD  pong
#elif defined(FUZZ_MSG_ERROR)
#define MSG_TYPE   Mim__Error
#define MSG_UNPACK mim__error__unpack
#define MSG_FREE   mim__error__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_ERROR
#define MSG_FIELD  error
#elif defined(FUZZ_MSG_LOGOUT)
#define MSG_TYPE   Mim__Logout
#define MSG_UNPACK mim__logout__unpack
#define MSG_FREE   mim__logout__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_LOGOUT
#define MSG_FIELD  logout
#elif defined(FUZZ_MSG_BROADCASTERS) /* issue 16 */
#define MSG_TYPE   Mim__BroadcasterList
#define MSG_UNPACK mim__broadcaster_list__unpack
#define MSG_FREE   mim__broadcaster_list__free_unpacked
#define MSG_CASE   MIM__PRESENCE_MSG__BODY_BROADCASTERS
#define MSG_FIELD  broadcasters
#elif !defined(FUZZ_MSG_BATCH)
#error "define one FUZZ_MSG_<TYPE>"
#endif

static const enum mim_direction directions[] = {MIM_FROM_PEER, MIM_FROM_SERVER};

/* What validation promises about issue 14's arms (mim_codec_mail.c). */
static void check_mail_accepted(const Mim__PresenceMsg *m)
{
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE:
        FUZZ_CHECK(m->directory_page->n_entries <= MIM_DIRECTORY_PAGE_MAX);
        FUZZ_CHECK(!m->directory_page->refused || m->directory_page->n_entries == 0);
        for (size_t i = 0; i < m->directory_page->n_entries; i++) {
            const Mim__DirectoryEntry *e = m->directory_page->entries[i];
            FUZZ_CHECK(e->identity_pk.len == 32 && mim_name_valid(e->name, strlen(e->name)));
            FUZZ_CHECK(i == 0 || strcmp(m->directory_page->entries[i - 1]->name, e->name) < 0);
        }
        break;
    case MIM__PRESENCE_MSG__BODY_DEPOSIT:
        FUZZ_CHECK(m->deposit->id.len == MIM_MSG_ID_LEN);
        FUZZ_CHECK(m->deposit->sealed.len >= 1 && m->deposit->sealed.len <= MIM_MAIL_SEALED_MAX);
        FUZZ_CHECK(mim_name_valid(m->deposit->to, strlen(m->deposit->to)));
        break;
    case MIM__PRESENCE_MSG__BODY_MAIL_ITEM:
        FUZZ_CHECK(m->mail_item->seq != 0 && m->mail_item->from_pk.len == 32);
        FUZZ_CHECK(m->mail_item->id.len == MIM_MSG_ID_LEN);
        FUZZ_CHECK(m->mail_item->sealed.len >= 1);
        break;
    case MIM__PRESENCE_MSG__BODY_MAIL_TAKEN:
        FUZZ_CHECK(m->mail_taken->n_seqs >= 1 && m->mail_taken->n_seqs <= MIM_MAIL_TAKEN_MAX_SEQS);
        break;
    default:
        break;
    }
}

/* What validation promises about each accepted message. */
static void check_accepted(const Mim__PresenceMsg *m, enum mim_direction dir)
{
    if (mim_presence_is_mail_arm(m->body_case))
        check_mail_accepted(m);
    FUZZ_CHECK(mim_presence_allowed(m->body_case, dir));
    if (m->body_case == MIM__PRESENCE_MSG__BODY_LOGIN) {
        const Mim__Login *l = m->login;
        FUZZ_CHECK(l != NULL);
        FUZZ_CHECK(l->identity_pk.len == 32);
        FUZZ_CHECK(l->static_sig.len == 64);
        FUZZ_CHECK(l->login_sig.len == 64);
        FUZZ_CHECK(l->listen_port >= 1 && l->listen_port <= 65535);
        FUZZ_CHECK(mim_name_valid(l->name, strlen(l->name)));
    } else if (m->body_case == MIM__PRESENCE_MSG__BODY_TABLE) {
        FUZZ_CHECK(m->table != NULL);
        for (size_t i = 0; i < m->table->n_peers; i++) {
            const Mim__PeerInfo *pi = m->table->peers[i];
            FUZZ_CHECK(pi != NULL);
            FUZZ_CHECK(pi->addr.len == 4 || pi->addr.len == 16);
            FUZZ_CHECK(pi->identity_pk.len == 32);
            FUZZ_CHECK(pi->port >= 1 && pi->port <= 65535);
            FUZZ_CHECK(mim_name_valid(pi->name, strlen(pi->name)));
        }
    } else if (m->body_case == MIM__PRESENCE_MSG__BODY_ADD) {
        FUZZ_CHECK(m->add != NULL && m->add->peer != NULL);
        FUZZ_CHECK(m->add->peer->addr.len == 4 || m->add->peer->addr.len == 16);
        FUZZ_CHECK(m->add->peer->identity_pk.len == 32);
    } else if (m->body_case == MIM__PRESENCE_MSG__BODY_DEL) {
        FUZZ_CHECK(m->del != NULL);
        FUZZ_CHECK(mim_name_valid(m->del->name, strlen(m->del->name)));
    } else if (m->body_case == MIM__PRESENCE_MSG__BODY_BROADCASTERS) { /* issue 16 */
        const Mim__BroadcasterList *l = m->broadcasters;
        FUZZ_CHECK(dir == MIM_FROM_SERVER && l->sig.len == 64 && l->issued_ms != 0);
        FUZZ_CHECK(l->restricted ? l->n_names >= 1 && l->n_names <= MIM_BROADCASTERS_MAX
                                 : l->n_names == 0);
        for (size_t i = 0; i < l->n_names; i++) {
            FUZZ_CHECK(mim_name_valid(l->names[i], strlen(l->names[i])));
            FUZZ_CHECK(i == 0 || strcmp(l->names[i - 1], l->names[i]) < 0);
        }
    }
}

#if !defined(FUZZ_MSG_BATCH)
/* A message that validated must encode into a batch that decodes and validates again. */
static void check_round_trip(const Mim__PresenceMsg *m, enum mim_direction dir)
{
    mim_buf out;
    Mim__PresenceBatch *b = NULL;
    char err[128];
    int rc;

    mim_buf_init(&out);
    rc = mim_presence_batch_append(&out, m);
    if (rc == MIM_ENOMEM) {
        mim_buf_free(&out);
        return;
    }
    FUZZ_CHECK(rc == MIM_OK);
    rc = mim_presence_batch_decode(out.data, out.len, dir, &b, err, sizeof(err));
    if (rc != MIM_OK && !fuzz_protobuf_round_trips(&m->base)) {
        mim_buf_free(&out);
        return;
    }
    if (rc != MIM_OK)
        fprintf(stderr, "re-encoded message refused: %s\n", err);
    FUZZ_CHECK(rc == MIM_OK);
    FUZZ_CHECK(b != NULL && b->n_msgs == 1);
    FUZZ_CHECK(b->msgs[0]->body_case == m->body_case);
    mim_presence_batch_free(b);
    mim_buf_free(&out);
}
#endif

#if defined(FUZZ_MSG_BATCH)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t d = 0; d < 2; d++) {
        Mim__PresenceBatch *b = NULL;
        char err[128];
        mim_buf again;
        int rc;

        memset(err, 'X', sizeof(err));
        rc = mim_presence_batch_decode(data, size, directions[d], &b, err, sizeof(err));
        if (rc != MIM_OK) {
            FUZZ_CHECK(rc == MIM_EDECODE || rc == MIM_ENOMEM);
            FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
            continue;
        }
        FUZZ_CHECK(b != NULL);
        FUZZ_CHECK(b->n_msgs >= 1); /* an empty batch is malformed */
        /* Rebuild the batch element by element, as the server does for broadcasts. */
        mim_buf_init(&again);
        for (size_t i = 0; i < b->n_msgs; i++) {
            FUZZ_CHECK(b->msgs[i] != NULL);
            check_accepted(b->msgs[i], directions[d]);
            FUZZ_CHECK(mim_presence_msg_validate(b->msgs[i], directions[d], NULL, 0) == MIM_OK);
            rc = mim_presence_batch_append(&again, b->msgs[i]);
            FUZZ_CHECK(rc == MIM_OK || rc == MIM_ENOMEM);
        }
        if (rc == MIM_OK) {
            Mim__PresenceBatch *b2 = NULL;
            rc = mim_presence_batch_decode(again.data, again.len, directions[d], &b2, err,
                                           sizeof(err));
            if (rc != MIM_OK && fuzz_protobuf_round_trips(&b->base)) {
                fprintf(stderr, "re-encoded batch refused: %s\n", err);
                abort();
            }
            if (rc == MIM_OK) {
                FUZZ_CHECK(b2->n_msgs == b->n_msgs);
                mim_presence_batch_free(b2);
            }
        }
        mim_buf_free(&again);
        mim_presence_batch_free(b);
    }
    return 0;
}

#else

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MSG_TYPE *inner = MSG_UNPACK(NULL, size, data);
    Mim__PresenceMsg msg = MIM__PRESENCE_MSG__INIT;

    if (inner == NULL)
        return 0;
    msg.body_case = MSG_CASE;
    msg.MSG_FIELD = inner;
    for (size_t d = 0; d < 2; d++) {
        char err[128];
        int rc;

        memset(err, 'X', sizeof(err));
        rc = mim_presence_msg_validate(&msg, directions[d], err, sizeof(err));
        if (rc != MIM_OK) {
            FUZZ_CHECK(rc == MIM_EDECODE);
            FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
            continue;
        }
        check_accepted(&msg, directions[d]);
        check_round_trip(&msg, directions[d]);
    }
    MSG_FREE(inner, NULL);
    return 0;
}

#endif
