/* chat_session: two peers on a real libuv loop over 127.0.0.1 (the loopback harness,
 * loopback.h), one dialling the other's listener; or a bare mim_channel posing as a peer, to send
 * what a well-behaved session never would and to look at exactly what a session sends.
 *
 * Callbacks only count, record and call the test's hooks; assertions run after the loop, once
 * every handle is closed and uv_loop_close() has returned 0. The harness's guard timer ends a
 * hung test. Nothing sleeps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "chat_session.h"
#include "loopback.h"
#include "mim_channel.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"

#define MAX_MSGS 400

typedef struct net net;
typedef struct peer peer;

typedef struct got_msg {
    uint8_t id[MIM_MSG_ID_LEN];
    uint64_t ts_ms;
    char sender[MIM_NAME_MAX_BYTES + 1];
    char text[64];
} got_msg;

/* One chat_session owner and what happened to it. */
struct peer {
    net *n;
    const char *name;
    mim_identity *id;
    chat_session_config cfg;
    chat_session *cs; /* NULL before it exists and once on_closed ran */
    int refuse;
    int auths, opens, messages, acks, chat_closes, batch_ends, closes;
    int receipts, typing_on, typing_off; /* Receipt ids and Typing messages received */
    char auth_name[MIM_NAME_MAX_BYTES + 1];
    got_msg got[MAX_MSGS];
    int msgs_at_batch_end[MAX_MSGS]; /* messages received when each batch ended */
    int acked_upto;                  /* messages acknowledged so far (at batch ends) */
    int ack_at_batch_end;            /* ack what arrived, at each batch end */
    uint8_t ack_ids[MAX_MSGS][MIM_MSG_ID_LEN];
    int nsent;            /* chat messages sent, ids from msg_id(name, i) */
    int close_after_acks; /* send ChatClose and close once this many acks came back */
    char reason[200];
    char error[256];
    void (*on_open_hook)(peer *p);
};

/* A bare channel posing as a peer named "alice". */
typedef struct fake {
    mim_identity *id;
    mim_channel *ch;
    int opens, closes;
    int pongs;
    uint64_t pong_nonce;
    size_t ack_sizes[8]; /* ids per Ack received, in order */
    int nacks;
    int acks_in_order; /* every acked id was the expected next one */
    size_t next_ack;
    void (*on_open_hook)(struct fake *f);
    char reason[200];
    char error[256];
} fake;

struct net {
    loopback lb; /* the loop, the listener, the guard; lb.on_check a test's per-iteration look */
    peer alice, bob, carol;
    peer *listening; /* whose listener it is */
    fake fk;
    int use_fake; /* the fake dials instead of alice */
};

/* ---- helpers --------------------------------------------------------------------------------- */

/* The first failure seen in a callback, kept for the assertion after the loop. */
#define PNOTE(p, ...) mim_test_note((p)->error, sizeof((p)->error), __VA_ARGS__)

/* A recognisable message id: the sender's initial, then the sequence number. */
static void msg_id(uint8_t id[MIM_MSG_ID_LEN], char who, size_t seq)
{
    memset(id, 0, MIM_MSG_ID_LEN);
    id[0] = (uint8_t)who;
    id[12] = (uint8_t)(seq >> 24);
    id[13] = (uint8_t)(seq >> 16);
    id[14] = (uint8_t)(seq >> 8);
    id[15] = (uint8_t)seq;
}

/* ---- chat_session events --------------------------------------------------------------------- */

static int on_authenticated(void *ud, chat_session *cs, const char *name,
                            const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    peer *p = ud;
    uint8_t id[MIM_MSG_ID_LEN] = {0};

    p->auths++;
    snprintf(p->auth_name, sizeof(p->auth_name), "%s", name);
    if (chat_session_peer_name(cs) == NULL || strcmp(chat_session_peer_name(cs), name) != 0 ||
        memcmp(chat_session_peer_key(cs), identity_pk, MIM_KEY_LEN) != 0)
        PNOTE(p, "%s: peer accessors disagree with on_authenticated", p->name);
    if (chat_session_send_chat(cs, id, 1, "early", 5) != MIM_ESTATE)
        PNOTE(p, "%s: a send before on_open did not fail with MIM_ESTATE", p->name);
    if (p->refuse) {
        *reason = "not a contact";
        return -1;
    }
    return 0;
}

static void on_open(void *ud, chat_session *cs)
{
    peer *p = ud;
    p->opens++;
    if (!chat_session_is_open(cs))
        PNOTE(p, "%s: on_open but not open", p->name);
    if (p->on_open_hook != NULL)
        p->on_open_hook(p);
}

static void on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    peer *p = ud;
    got_msg *g;
    (void)cs;

    if (p->messages >= MAX_MSGS) {
        PNOTE(p, "%s: too many messages", p->name);
        return;
    }
    g = &p->got[p->messages++];
    if (m->id.len != MIM_MSG_ID_LEN)
        PNOTE(p, "%s: message id of %zu bytes", p->name, m->id.len);
    else
        memcpy(g->id, m->id.data, MIM_MSG_ID_LEN);
    g->ts_ms = m->ts_ms;
    snprintf(g->sender, sizeof(g->sender), "%s", m->sender);
    snprintf(g->text, sizeof(g->text), "%s", m->text);
    if (m->type != MIM__CONTENT_TYPE__CONTENT_TEXT)
        PNOTE(p, "%s: content type %d", p->name, (int)m->type);
}

static void on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    peer *p = ud;
    uint8_t want[MIM_MSG_ID_LEN];

    msg_id(want, p->name[0], (size_t)p->acks);
    if (memcmp(id, want, MIM_MSG_ID_LEN) != 0)
        PNOTE(p, "%s: ack %d is not for message %d", p->name, p->acks, p->acks);
    p->acks++;
    if (p->close_after_acks > 0 && p->acks == p->close_after_acks) {
        if (chat_session_send_close(cs) != 0)
            PNOTE(p, "%s: send_close failed", p->name);
        chat_session_close(cs, "all delivered");
        chat_session_close(cs, "twice");
        if (chat_session_send_close(cs) != MIM_ESTATE)
            PNOTE(p, "%s: a send after close did not fail with MIM_ESTATE", p->name);
    }
}

static void on_chat_close(void *ud, chat_session *cs)
{
    peer *p = ud;
    (void)cs;
    p->chat_closes++;
}

static void on_batch_end(void *ud, chat_session *cs)
{
    peer *p = ud;

    if (p->batch_ends < MAX_MSGS)
        p->msgs_at_batch_end[p->batch_ends] = p->messages;
    p->batch_ends++;
    if (p->ack_at_batch_end && p->messages > p->acked_upto) {
        size_t k = (size_t)(p->messages - p->acked_upto);
        for (size_t i = 0; i < k; i++)
            memcpy(p->ack_ids[i], p->got[p->acked_upto + (int)i].id, MIM_MSG_ID_LEN);
        if (chat_session_send_ack(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])p->ack_ids, k) != 0)
            PNOTE(p, "%s: send_ack failed", p->name);
        p->acked_upto = p->messages;
    }
}

static void on_closed(void *ud, chat_session *cs, const char *reason)
{
    peer *p = ud;
    if (cs != p->cs)
        PNOTE(p, "%s: on_closed for a session that is not ours", p->name);
    p->closes++;
    snprintf(p->reason, sizeof(p->reason), "%s", reason);
    p->cs = NULL;
}

static void on_receipt(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    peer *p = ud;
    uint8_t want[MIM_MSG_ID_LEN];

    (void)cs;
    msg_id(want, 'r', (size_t)p->receipts++);
    if (memcmp(id, want, MIM_MSG_ID_LEN) != 0)
        PNOTE(p, "%s: receipt %d is for another id", p->name, p->receipts - 1);
}

static void on_typing(void *ud, chat_session *cs, int typing)
{
    peer *p = ud;

    (void)cs;
    if (typing)
        p->typing_on++;
    else
        p->typing_off++;
}

static const chat_session_events events = {
    .on_receipt = on_receipt,
    .on_typing = on_typing,
    .on_authenticated = on_authenticated,
    .on_open = on_open,
    .on_message = on_message,
    .on_ack = on_ack,
    .on_chat_close = on_chat_close,
    .on_batch_end = on_batch_end,
    .on_closed = on_closed,
};

/* ---- the fake peer: a bare channel named "alice" --------------------------------------------- */

static int fake_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                                 const char *name, const char **reason)
{
    (void)ch;
    (void)identity_pk;
    (void)name;
    (void)reason;
    return 0;
}

static void fake_on_open(mim_channel *ch)
{
    fake *f = mim_channel_data(ch);
    f->opens++;
    if (f->on_open_hook != NULL)
        f->on_open_hook(f);
}

static void fake_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    fake *f = mim_channel_data(ch);
    Mim__PeerBatch *b = NULL;
    char err[160];

    (void)ch;
    if (len == 0 && final)
        return;
    if (mim_peer_batch_decode(p, len, &b, err, sizeof(err)) != 0) {
        mim_test_note(f->error, sizeof(f->error), "fake: bad batch from the session: %s", err);
        return;
    }
    for (size_t i = 0; i < b->n_msgs; i++) {
        const Mim__PeerMsg *m = b->msgs[i];
        if (m->body_case == MIM__PEER_MSG__BODY_PONG) {
            f->pongs++;
            f->pong_nonce = m->pong->nonce;
        } else if (m->body_case == MIM__PEER_MSG__BODY_ACK) {
            if (f->nacks < 8)
                f->ack_sizes[f->nacks] = m->ack->n_ids;
            f->nacks++;
            for (size_t j = 0; j < m->ack->n_ids; j++) {
                uint8_t want[MIM_MSG_ID_LEN];
                msg_id(want, 'x', f->next_ack++);
                if (memcmp(m->ack->ids[j].data, want, MIM_MSG_ID_LEN) != 0)
                    f->acks_in_order = 0;
            }
        } else {
            mim_test_note(f->error, sizeof(f->error), "fake: unexpected message %d",
                          (int)m->body_case);
        }
    }
    mim_peer_batch_free(b);
}

static void fake_on_closed(mim_channel *ch, const char *reason)
{
    fake *f = mim_channel_data(ch);
    f->closes++;
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
    f->ch = NULL;
}

static const mim_channel_events fake_events = {
    .on_authenticated = fake_on_authenticated,
    .on_open = fake_on_open,
    .on_plaintext = fake_on_plaintext,
    .on_closed = fake_on_closed,
};

/* Sends one batch made of msgs. */
static void fake_send(fake *f, Mim__PeerMsg **msgs, size_t n)
{
    mim_buf b = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(mim_peer_batch_append(&b, msgs[i]), 0);
    if (mim_channel_send(f->ch, b.data, b.len, 0) != 0)
        mim_test_note(f->error, sizeof(f->error), "fake: send failed");
    mim_buf_free(&b);
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void on_connection(uv_stream_t *listener, int status)
{
    net *n = listener->data;
    peer *p = n->listening;
    int rc;

    if (status != 0) {
        PNOTE(p, "listen callback status %s", uv_strerror(status));
        return;
    }
    rc = chat_session_accept(&p->cfg, listener, &p->cs);
    if (rc != 0)
        PNOTE(p, "chat_session_accept: %s", mim_strerror(rc));
    loopback_close((uv_handle_t *)listener); /* one connection per test */
}

/* Fires only if the test hangs; the harness closes the listener after. */
static void on_guard(loopback *lb)
{
    net *n = lb->data;
    if (n->alice.cs != NULL)
        chat_session_close(n->alice.cs, "test timed out");
    if (n->bob.cs != NULL)
        chat_session_close(n->bob.cs, "test timed out");
    if (n->carol.cs != NULL)
        chat_session_close(n->carol.cs, "test timed out");
    if (n->fk.ch != NULL)
        mim_channel_abort(n->fk.ch, "test timed out");
}

static void peer_init(net *n, peer *p, const char *name)
{
    p->n = n;
    p->name = name;
    p->id = mim_identity_generate();
    assert_non_null(p->id);
    p->cfg.loop = &n->lb.loop;
    p->cfg.id = p->id;
    p->cfg.my_name = name;
    p->cfg.ev = &events;
    p->cfg.ud = p;
}

static void net_init(net *n, peer *listening)
{
    assert_int_equal(mim_crypto_init(), 0);
    loopback_init(&n->lb, on_connection, n);
    n->lb.on_guard = on_guard;
    peer_init(n, &n->alice, "alice");
    peer_init(n, &n->bob, "bob");
    peer_init(n, &n->carol, "carol");
    n->listening = listening;
    n->fk.acks_in_order = 1;
}

static net *net_new(int listening_is_carol)
{
    net *n = calloc(1, sizeof(*n));
    assert_non_null(n);
    net_init(n, listening_is_carol ? &n->carol : &n->bob);
    return n;
}

/* alice (or the fake) dials the listener expecting `name` with `pk`; runs the loop until every
 * handle is closed. */
static void net_run(net *n, const char *name, const uint8_t *pk)
{
    int rc;

    if (n->use_fake) {
        mim_channel_config c;
        memset(&c, 0, sizeof(c));
        n->fk.id = mim_identity_generate();
        assert_non_null(n->fk.id);
        c.loop = &n->lb.loop;
        c.identity = n->fk.id;
        c.prologue = MIM_NOISE_PROLOGUE_PEER;
        c.my_name = "alice";
        c.remote_name_mode = MIM_HS_NAME_VALID;
        c.events = &fake_events;
        c.data = &n->fk;
        assert_int_equal(mim_channel_dial(&c, (const struct sockaddr *)&n->lb.addr, &n->fk.ch), 0);
    } else {
        rc = chat_session_dial(&n->alice.cfg, (const struct sockaddr *)&n->lb.addr, name, pk,
                               &n->alice.cs);
        assert_int_equal(rc, 0);
    }
    rc = loopback_run(&n->lb);

    if (n->lb.timed_out)
        fail_msg("timed out: alice auths %d opens %d closes %d \"%s\"; bob auths %d opens %d "
                 "messages %d closes %d \"%s\"; fake opens %d closes %d",
                 n->alice.auths, n->alice.opens, n->alice.closes, n->alice.reason, n->bob.auths,
                 n->bob.opens, n->bob.messages, n->bob.closes, n->bob.reason, n->fk.opens,
                 n->fk.closes);
    EXPECT_INT(rc, 0);
    if (n->alice.error[0] != '\0')
        fail_msg("%s", n->alice.error);
    if (n->bob.error[0] != '\0')
        fail_msg("%s", n->bob.error);
    if (n->carol.error[0] != '\0')
        fail_msg("%s", n->carol.error);
    if (n->fk.error[0] != '\0')
        fail_msg("%s", n->fk.error);
}

static void net_free(net *n)
{
    mim_identity_free(n->alice.id);
    mim_identity_free(n->bob.id);
    mim_identity_free(n->carol.id);
    mim_identity_free(n->fk.id);
    free(n);
}

/* ---- chat, acks, close ----------------------------------------------------------------------- */

static void send_n(peer *p, int count)
{
    for (int i = 0; i < count; i++) {
        uint8_t id[MIM_MSG_ID_LEN];
        char text[32];
        int len = snprintf(text, sizeof(text), "hello %d", i);
        msg_id(id, p->name[0], (size_t)i);
        if (chat_session_send_chat(p->cs, id, 1000 + (uint64_t)i, text, (size_t)len) != 0) {
            PNOTE(p, "%s: send_chat %d failed", p->name, i);
            return;
        }
        p->nsent++;
    }
}

static void alice_sends_3(peer *p)
{
    uint8_t id[MIM_MSG_ID_LEN] = {0};
    if (chat_session_send_chat(p->cs, id, 1, "bad \x1b[2J", 9) != MIM_EINVAL)
        PNOTE(p, "a text with an escape sequence was accepted");
    if (chat_session_send_chat(p->cs, id, 1, "", 0) != MIM_EINVAL)
        PNOTE(p, "an empty text was accepted");
    send_n(p, 3);
}

static void check_received(peer *p, const char *sender, int count)
{
    EXPECT_INT(p->messages, count);
    for (int i = 0; i < count; i++) {
        uint8_t want[MIM_MSG_ID_LEN];
        char text[32];
        msg_id(want, sender[0], (size_t)i);
        snprintf(text, sizeof(text), "hello %d", i);
        if (memcmp(p->got[i].id, want, MIM_MSG_ID_LEN) != 0)
            fail_msg("message %d has the id of another message", i);
        EXPECT_INT(p->got[i].ts_ms, 1000 + i);
        assert_string_equal(p->got[i].sender, sender);
        assert_string_equal(p->got[i].text, text);
    }
}

static void test_chat_ack_close(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->alice.on_open_hook = alice_sends_3;
    n->alice.close_after_acks = 3;
    n->bob.ack_at_batch_end = 1;
    net_run(n, "bob", n->bob.id->sign_pk);

    EXPECT_INT(n->alice.auths, 1);
    EXPECT_INT(n->bob.auths, 1);
    assert_string_equal(n->alice.auth_name, "bob");
    assert_string_equal(n->bob.auth_name, "alice");
    EXPECT_INT(n->alice.opens, 1);
    EXPECT_INT(n->bob.opens, 1);
    check_received(&n->bob, "alice", 3);
    /* One turn's three messages travel in one frame: one batch end, after all three; the
     * ChatClose came in a frame of its own, with a batch end of its own. */
    EXPECT_INT(n->bob.batch_ends, 2);
    EXPECT_INT(n->bob.msgs_at_batch_end[0], 3);
    EXPECT_INT(n->bob.msgs_at_batch_end[1], 3);
    EXPECT_INT(n->alice.acks, 3);
    EXPECT_INT(n->bob.chat_closes, 1);
    EXPECT_INT(n->alice.closes, 1);
    EXPECT_INT(n->bob.closes, 1);
    assert_string_equal(n->alice.reason, "all delivered");
    EXPECT_CONTAINS(n->bob.reason, "closed by the remote");
    net_free(n);
}

/* 300 messages queued in one turn arrive complete and in order; each batch's acks come back in
 * order too. */
static void alice_sends_300(peer *p)
{
    send_n(p, 300);
}

static void test_300_in_order(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->alice.on_open_hook = alice_sends_300;
    n->alice.close_after_acks = 300;
    n->bob.ack_at_batch_end = 1;
    net_run(n, "bob", n->bob.id->sign_pk);

    EXPECT_INT(n->alice.nsent, 300);
    check_received(&n->bob, "alice", 300);
    assert_true(n->bob.batch_ends >= 1);
    EXPECT_INT(n->bob.msgs_at_batch_end[n->bob.batch_ends - 1], 300);
    EXPECT_INT(n->alice.acks, 300);
    EXPECT_INT(n->alice.closes, 1);
    EXPECT_INT(n->bob.closes, 1);
    net_free(n);
}

/* ---- whom the initiator reached
 * ------------------------------------------------------------------ */

/* alice dials "bob" with bob's key, but carol answers: refused after message 2, before
 * message 3, so carol never learns who called and never authenticates anyone. */
static void test_wrong_peer_refused_before_msg3(void **state)
{
    net *n = net_new(1);
    (void)state;

    net_run(n, "bob", n->bob.id->sign_pk);
    EXPECT_INT(n->alice.auths, 0);
    EXPECT_INT(n->alice.opens, 0);
    EXPECT_INT(n->alice.closes, 1);
    EXPECT_CONTAINS(n->alice.reason, "dialled 'bob' but reached 'carol'");
    EXPECT_INT(n->carol.auths, 0);
    EXPECT_INT(n->carol.opens, 0);
    EXPECT_INT(n->carol.closes, 1);
    net_free(n);
}

/* bob answers, but with a key other than the one alice dialled. */
static void test_other_key_refused(void **state)
{
    net *n = net_new(0);
    uint8_t other[MIM_KEY_LEN];
    (void)state;

    memcpy(other, n->carol.id->sign_pk, MIM_KEY_LEN);
    net_run(n, "bob", other);
    EXPECT_INT(n->alice.auths, 0);
    EXPECT_INT(n->alice.opens, 0);
    EXPECT_INT(n->alice.closes, 1);
    EXPECT_CONTAINS(n->alice.reason, "key other than the one dialled");
    EXPECT_INT(n->bob.auths, 0);
    EXPECT_INT(n->bob.closes, 1);
    net_free(n);
}

/* bob's owner refuses alice (say, a key that differs from its pin). */
static void test_responder_owner_refuses(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->bob.refuse = 1;
    net_run(n, "bob", n->bob.id->sign_pk);
    EXPECT_INT(n->alice.auths, 1);
    EXPECT_INT(n->bob.auths, 1);
    EXPECT_INT(n->alice.opens, 0);
    EXPECT_INT(n->bob.opens, 0);
    EXPECT_INT(n->alice.closes, 1);
    EXPECT_INT(n->bob.closes, 1);
    assert_string_equal(n->bob.reason, "not a contact");
    net_free(n);
}

/* ---- protocol violations and exact wire contents, through the fake --------------------------- */

/* A valid message followed by one whose sender is not the authenticated "alice": the batch is
 * refused whole and the session closes. */
static void fake_spoofs_sender(fake *f)
{
    Mim__PeerMsg m1 = MIM__PEER_MSG__INIT, m2 = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c1 = MIM__CHAT_MESSAGE__INIT, c2 = MIM__CHAT_MESSAGE__INIT;
    Mim__PeerMsg *msgs[2] = {&m1, &m2};
    uint8_t id1[MIM_MSG_ID_LEN], id2[MIM_MSG_ID_LEN];

    msg_id(id1, 'a', 0);
    msg_id(id2, 'a', 1);
    c1.id.data = id1;
    c1.id.len = MIM_MSG_ID_LEN;
    c1.sender = "alice";
    c1.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c1.text = "hi";
    c2 = c1;
    c2.id.data = id2;
    c2.sender = "carol";
    m1.body_case = m2.body_case = MIM__PEER_MSG__BODY_CHAT;
    m1.chat = &c1;
    m2.chat = &c2;
    fake_send(f, msgs, 2);
}

static void test_sender_must_be_the_peer(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->use_fake = 1;
    n->fk.on_open_hook = fake_spoofs_sender;
    net_run(n, NULL, NULL);
    EXPECT_INT(n->fk.opens, 1);
    EXPECT_INT(n->bob.auths, 1);
    EXPECT_INT(n->bob.messages, 0);
    EXPECT_INT(n->bob.batch_ends, 0);
    EXPECT_INT(n->bob.closes, 1);
    EXPECT_CONTAINS(n->bob.reason, "protocol violation");
    EXPECT_INT(n->fk.closes, 1);
    net_free(n);
}

/* A malformed message (a 3-byte id) is a protocol violation too. */
static void fake_sends_short_id(fake *f)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__PeerMsg *msgs[1] = {&m};
    uint8_t id[3] = {1, 2, 3};

    c.id.data = id;
    c.id.len = sizeof(id);
    c.sender = "alice";
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = "hi";
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    fake_send(f, msgs, 1);
}

static void test_malformed_message_closes(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->use_fake = 1;
    n->fk.on_open_hook = fake_sends_short_id;
    net_run(n, NULL, NULL);
    EXPECT_INT(n->bob.messages, 0);
    EXPECT_INT(n->bob.closes, 1);
    EXPECT_CONTAINS(n->bob.reason, "protocol violation");
    net_free(n);
}

/* bob acks 2500 ids at once: they leave as Acks of at most MIM_ACK_MAX_IDS, in order; and a
 * Ping is answered with its nonce. */
#define MANY_ACKS 2500

static void bob_acks_many(peer *p)
{
    static uint8_t ids[MANY_ACKS][MIM_MSG_ID_LEN];
    for (size_t i = 0; i < MANY_ACKS; i++)
        msg_id(ids[i], 'x', i);
    if (chat_session_send_ack(p->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])ids, MANY_ACKS) != 0)
        PNOTE(p, "bob: send_ack failed");
    if (chat_session_send_ack(p->cs, NULL, 0) != 0)
        PNOTE(p, "bob: an empty ack failed");
}

static void fake_pings(fake *f)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    Mim__PeerMsg *msgs[1] = {&m};

    ping.nonce = 77;
    m.body_case = MIM__PEER_MSG__BODY_PING;
    m.ping = &ping;
    fake_send(f, msgs, 1);
}

/* The fake closes once it has every ack and the pong. */
static void fake_check_done(loopback *lb)
{
    net *n = lb->data;
    if (n->fk.ch != NULL && n->fk.pongs == 1 && n->fk.next_ack == MANY_ACKS) {
        mim_channel_close(n->fk.ch, "fake done");
        lb->on_check = NULL;
    }
}

static void test_ack_chunks_and_pong(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->use_fake = 1;
    n->fk.on_open_hook = fake_pings;
    n->bob.on_open_hook = bob_acks_many;
    n->lb.on_check = fake_check_done;
    net_run(n, NULL, NULL);
    EXPECT_INT(n->fk.pongs, 1);
    EXPECT_INT(n->fk.pong_nonce, 77);
    EXPECT_INT(n->fk.nacks, 3);
    EXPECT_INT(n->fk.ack_sizes[0], MIM_ACK_MAX_IDS);
    EXPECT_INT(n->fk.ack_sizes[1], MIM_ACK_MAX_IDS);
    EXPECT_INT(n->fk.ack_sizes[2], MANY_ACKS - 2 * MIM_ACK_MAX_IDS);
    EXPECT_INT(n->fk.acks_in_order, 1);
    EXPECT_INT(n->fk.closes, 1);
    EXPECT_INT(n->bob.closes, 1);
    assert_string_equal(n->fk.reason, "fake done");
    net_free(n);
}

/* Receipts and typing (issue 13) go only to a peer whose handshake said it understands them:
 * bob does, alice (as an older version) does not. alice may send them to bob; bob's sends to
 * alice are refused (MIM_ESTATE) and nothing goes out: an older peer would close the session. */
static void bob_cannot_tell_alice(peer *p)
{
    uint8_t ids[1][MIM_MSG_ID_LEN];

    msg_id(ids[0], 'r', 0);
    if (chat_session_peer_features(p->cs) != 0)
        PNOTE(p, "bob: alice said no features, got %u", chat_session_peer_features(p->cs));
    if (chat_session_send_receipt(p->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])ids, 1) != MIM_ESTATE ||
        chat_session_send_typing(p->cs, 1) != MIM_ESTATE)
        PNOTE(p, "bob: a receipt or typing to an older peer was not refused");
}

static void alice_tells_bob(peer *p)
{
    uint8_t ids[MIM_RECEIPT_MAX_IDS + 2][MIM_MSG_ID_LEN];

    if (chat_session_peer_features(p->cs) != MIM_FEATURE_RECEIPTS)
        PNOTE(p, "alice: bob said features %u", chat_session_peer_features(p->cs));
    for (size_t i = 0; i < MIM_RECEIPT_MAX_IDS + 2; i++)
        msg_id(ids[i], 'r', i);
    /* Over the cap of one Receipt: cut in two messages, in order. */
    if (chat_session_send_receipt(p->cs, (const uint8_t(*)[MIM_MSG_ID_LEN])ids,
                                  MIM_RECEIPT_MAX_IDS + 2) != 0 ||
        chat_session_send_typing(p->cs, 1) != 0 || chat_session_send_typing(p->cs, 0) != 0)
        PNOTE(p, "alice: sending receipts or typing failed");
    chat_session_close(p->cs, "told");
}

static void test_receipts_only_to_peers_that_know_them(void **state)
{
    net *n = net_new(0);
    (void)state;

    n->bob.cfg.features = MIM_FEATURE_RECEIPTS;
    n->bob.on_open_hook = bob_cannot_tell_alice;
    n->alice.on_open_hook = alice_tells_bob;
    net_run(n, "bob", n->bob.id->sign_pk);
    EXPECT_INT(n->bob.receipts, MIM_RECEIPT_MAX_IDS + 2);
    EXPECT_INT(n->bob.typing_on, 1);
    EXPECT_INT(n->bob.typing_off, 1);
    EXPECT_INT(n->alice.receipts + n->alice.typing_on, 0);
    net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_ack_close),
        cmocka_unit_test(test_300_in_order),
        cmocka_unit_test(test_wrong_peer_refused_before_msg3),
        cmocka_unit_test(test_other_key_refused),
        cmocka_unit_test(test_responder_owner_refuses),
        cmocka_unit_test(test_sender_must_be_the_peer),
        cmocka_unit_test(test_malformed_message_closes),
        cmocka_unit_test(test_ack_chunks_and_pong),
        cmocka_unit_test(test_receipts_only_to_peers_that_know_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
