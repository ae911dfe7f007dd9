/* mim_channel: the Noise XX handshake and the secretstream transport on a real libuv loop over
 * 127.0.0.1, for both roles.
 *
 * Each test builds a `net` on the loopback harness (loopback.h): its listener accepts one
 * connection (as a responder channel, or not at all when a raw socket plays the other side), a
 * dialling side (an initiator
 * channel, or a raw uv_tcp_t that stays silent or sends exact bytes), optionally a proxy in the
 * middle that forwards bytes and flips one byte of a chosen frame, and a guard timer that ends a
 * hung test. Callbacks only count, record and call the test's hooks; assertions run after the
 * loop, once every handle is closed and uv_loop_close() has returned 0. Nothing sleeps. */
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

#include "loopback.h"
#include "mim_channel.h"
#include "mim_crypto.h"
#include "mim_error.h"

#define MAX_EXPECTED 16

typedef struct net net;
typedef struct side side;

/* One channel and what happened to it. */
struct side {
    net *n;
    const char *label; /* "client" / "server", for messages */
    mim_identity *id;
    mim_channel_config cfg;
    mim_channel *ch; /* NULL before it exists and once on_closed ran */
    int refuse;      /* on_authenticated refuses, with refuse_reason */
    const char *refuse_reason;
    int auths, opens, plaintexts, finals, closes;
    char auth_name[MIM_NAME_MAX_BYTES + 1];
    uint8_t auth_pk[MIM_KEY_LEN];
    int hh_at_auth; /* the handshake hash was available inside on_authenticated */
    uint8_t hh[MIM_HASH_LEN];
    int have_hh;
    int drop_proof;    /* on_open drops the handshake proof */
    int proof_dropped; /* ... and found it gone, the name kept */
    int initiator;
    int got_final;
    uint64_t closed_at; /* uv_now() in on_closed */
    char reason[200];
    char error[256]; /* first thing that went wrong inside a callback */
    /* What this side expects to receive: sizes, contents from mim_test_fill(seq = index). */
    size_t expect[MAX_EXPECTED];
    size_t nexpect;
    void (*on_open_hook)(side *s);
    void (*on_plaintext_hook)(side *s, const uint8_t *p, size_t len, int final);
    void (*on_closed_hook)(side *s);
};

/* A byte-forwarding proxy between the client and the server, which may flip one byte of the
 * body of the client's tamper_frame-th frame (1-based). */
typedef struct proxy {
    int on;
    uv_tcp_t listener;
    struct sockaddr_in addr;
    uv_tcp_t down; /* from the client */
    uv_tcp_t up;   /* to the server */
    uv_connect_t up_req;
    int down_open, up_open;
    uint8_t hdr[2];
    size_t hdr_have;
    size_t body_left, body_pos;
    int frame_no;
    int tamper_frame;
    size_t tamper_pos;
    int tampered;
    int hold_eof; /* an EOF is not passed on: the other side waits for it in vain */
} proxy;

struct net {
    loopback lb; /* the loop, the listener, the guard */
    side client, server;
    int raw_client; /* a raw socket dials instead of the client channel */
    uv_tcp_t raw;
    int raw_open;
    uv_connect_t raw_req;
    int raw_eof;
    const uint8_t *raw_send; /* bytes the raw client writes once connected */
    size_t raw_send_len;
    uint64_t accepted_at; /* uv_now() when the server channel was created */
    uint64_t closed_at;   /* uv_now() when the test asked a channel to close */
    proxy px;
    uv_timer_t idle;      /* test_frame_deadline_after_idle: the idle period */
    uint64_t injected_at; /* uv_now() when it wrote a lone header byte */
    int deadline_timers;  /* channel timers still active after the idle period */
};

/* ---- helpers --------------------------------------------------------------------------------- */

/* The first failure seen in a callback, kept for the assertion after the loop. */
#define note(who, ...) mim_test_note((who)->error, sizeof((who)->error), __VA_ARGS__)

static int send_seq(side *s, size_t len, size_t seq, int final)
{
    uint8_t *p = malloc(len);
    int rc;
    assert_non_null(p);
    mim_test_fill(p, len, seq);
    rc = mim_channel_send(s->ch, p, len, final);
    free(p);
    return rc;
}

/* ---- channel events -------------------------------------------------------------------------- */

static int on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                            const char *name, const char **reason)
{
    side *s = mim_channel_data(ch);

    s->auths++;
    if (ch != s->ch)
        note(s, "%s: on_authenticated for a channel that is not ours", s->label);
    snprintf(s->auth_name, sizeof(s->auth_name), "%s", name);
    memcpy(s->auth_pk, identity_pk, MIM_KEY_LEN);
    s->hh_at_auth = mim_channel_handshake_hash(ch) != NULL;
    if (mim_channel_remote_identity(ch) == NULL ||
        memcmp(mim_channel_remote_identity(ch), identity_pk, MIM_KEY_LEN) != 0)
        note(s, "%s: remote identity accessor disagrees with the callback", s->label);
    /* Nothing can be sent before the transport is up. */
    if (mim_channel_send(ch, "x", 1, 0) != MIM_ESTATE)
        note(s, "%s: a send inside on_authenticated did not fail with MIM_ESTATE", s->label);
    if (s->refuse) {
        *reason = s->refuse_reason;
        return -1;
    }
    return 0;
}

static void on_open(mim_channel *ch)
{
    side *s = mim_channel_data(ch);
    const uint8_t *hh = mim_channel_handshake_hash(ch);

    s->opens++;
    s->initiator = mim_channel_is_initiator(ch);
    if (!mim_channel_is_open(ch) || !mim_channel_can_send(ch))
        note(s, "%s: on_open but not open", s->label);
    if (hh == NULL)
        note(s, "%s: no handshake hash at on_open", s->label);
    else {
        memcpy(s->hh, hh, MIM_HASH_LEN);
        s->have_hh = 1;
    }
    if (mim_channel_remote_static_sig(ch) == NULL)
        note(s, "%s: no static signature at on_open", s->label);
    if (s->drop_proof) {
        mim_channel_drop_proof(ch);
        mim_channel_drop_proof(ch); /* idempotent */
        if (mim_channel_handshake_hash(ch) != NULL || mim_channel_remote_static_sig(ch) != NULL ||
            mim_channel_remote_identity(ch) != NULL)
            note(s, "%s: the proof is still readable after it was dropped", s->label);
        else if (strcmp(mim_channel_remote_name(ch), s->auth_name) != 0)
            note(s, "%s: dropping the proof lost the name", s->label);
        else
            s->proof_dropped++;
    }
    if (s->on_open_hook != NULL)
        s->on_open_hook(s);
}

static void on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    side *s = mim_channel_data(ch);
    size_t idx = (size_t)s->plaintexts++;

    if (final)
        s->finals++;
    if (idx >= s->nexpect)
        note(s, "%s: unexpected plaintext %zu (%zu bytes, final %d)", s->label, idx, len, final);
    else if (len != s->expect[idx])
        note(s, "%s: plaintext %zu is %zu bytes, want %zu", s->label, idx, len, s->expect[idx]);
    else if (!mim_test_matches(p, len, idx))
        note(s, "%s: plaintext %zu (%zu bytes) has the wrong contents", s->label, idx, len);
    if (s->on_plaintext_hook != NULL)
        s->on_plaintext_hook(s, p, len, final);
}

static void on_closed(mim_channel *ch, const char *reason)
{
    side *s = mim_channel_data(ch);

    if (ch != s->ch)
        note(s, "%s: on_closed for a channel that is not ours", s->label);
    s->closes++;
    s->closed_at = uv_now(&s->n->lb.loop);
    s->got_final = mim_channel_got_final(ch);
    snprintf(s->reason, sizeof(s->reason), "%s", reason != NULL ? reason : "(null)");
    if (mim_channel_send(ch, "x", 1, 0) != MIM_ECLOSED)
        note(s, "%s: a send inside on_closed did not fail with MIM_ECLOSED", s->label);
    mim_channel_close(ch, "again"); /* harmless */
    if (s->on_closed_hook != NULL)
        s->on_closed_hook(s);
    s->ch = NULL;
}

static const mim_channel_events events = {
    .on_authenticated = on_authenticated,
    .on_open = on_open,
    .on_plaintext = on_plaintext,
    .on_closed = on_closed,
};

/* ---- the raw client and the proxy ------------------------------------------------------------ */

static void raw_write_to(uv_tcp_t *t, const void *p, size_t len)
{
    loopback_write((uv_stream_t *)t, p, len, NULL);
}

static void alloc_heap(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

static void raw_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    net *n = st->data;
    free(buf->base);
    if (nread < 0) {
        n->raw_eof = 1;
        loopback_close((uv_handle_t *)&n->raw);
    }
}

static void after_raw_connect(uv_connect_t *req, int status)
{
    net *n = req->data;
    if (status != 0) {
        note(&n->client, "raw connect: %s", uv_strerror(status));
        loopback_close((uv_handle_t *)&n->raw);
        return;
    }
    if (n->raw_send_len > 0)
        raw_write_to(&n->raw, n->raw_send, n->raw_send_len);
    assert_int_equal(uv_read_start((uv_stream_t *)&n->raw, alloc_heap, raw_on_read), 0);
}

static void proxy_close(net *n)
{
    if (n->px.down_open)
        loopback_close((uv_handle_t *)&n->px.down);
    if (n->px.up_open)
        loopback_close((uv_handle_t *)&n->px.up);
}

/* Client -> server bytes: tracks frame boundaries and flips the chosen byte. */
static void proxy_tamper(proxy *px, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (px->body_left == 0) {
            px->hdr[px->hdr_have++] = p[i];
            if (px->hdr_have == 2) {
                px->body_left = (size_t)px->hdr[0] << 8 | px->hdr[1];
                px->body_pos = 0;
                px->hdr_have = 0;
                px->frame_no++;
            }
            continue;
        }
        if (px->frame_no == px->tamper_frame && px->body_pos == px->tamper_pos) {
            p[i] ^= 0x01;
            px->tampered = 1;
        }
        px->body_pos++;
        px->body_left--;
    }
}

static void proxy_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    net *n = st->data;
    proxy *px = &n->px;

    if (nread > 0) {
        if (st == (uv_stream_t *)&px->down) {
            proxy_tamper(px, (uint8_t *)buf->base, (size_t)nread);
            raw_write_to(&px->up, buf->base, (size_t)nread);
        } else {
            raw_write_to(&px->down, buf->base, (size_t)nread);
        }
    } else if (nread < 0 && px->hold_eof) {
        uv_read_stop(st); /* closed by the test once both channels are gone */
    } else if (nread < 0) {
        proxy_close(n); /* either side gone: both go, abruptly */
    }
    free(buf->base);
}

static void proxy_after_connect(uv_connect_t *req, int status)
{
    net *n = req->data;
    if (status != 0) {
        note(&n->client, "proxy connect: %s", uv_strerror(status));
        proxy_close(n);
        return;
    }
    n->px.down.data = n;
    n->px.up.data = n;
    assert_int_equal(uv_read_start((uv_stream_t *)&n->px.down, alloc_heap, proxy_on_read), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&n->px.up, alloc_heap, proxy_on_read), 0);
}

static void proxy_on_connection(uv_stream_t *listener, int status)
{
    net *n = listener->data;
    proxy *px = &n->px;

    assert_int_equal(status, 0);
    assert_int_equal(uv_tcp_init(&n->lb.loop, &px->down), 0);
    px->down_open = 1;
    assert_int_equal(uv_accept(listener, (uv_stream_t *)&px->down), 0);
    assert_int_equal(uv_tcp_init(&n->lb.loop, &px->up), 0);
    px->up_open = 1;
    px->up_req.data = n;
    assert_int_equal(uv_tcp_connect(&px->up_req, &px->up, (const struct sockaddr *)&n->lb.addr,
                                    proxy_after_connect),
                     0);
    loopback_close((uv_handle_t *)listener);
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void on_connection(uv_stream_t *listener, int status)
{
    net *n = listener->data;
    int rc;

    if (status != 0) {
        note(&n->server, "listen callback status %s", uv_strerror(status));
        return;
    }
    rc = mim_channel_accept(&n->server.cfg, listener, &n->server.ch);
    if (rc != 0)
        note(&n->server, "mim_channel_accept: %s", mim_strerror(rc));
    n->accepted_at = uv_now(&n->lb.loop);
    loopback_close((uv_handle_t *)listener); /* one connection per test */
}

/* Fires only if the test hangs; the harness closes the listener after. */
static void on_guard(loopback *lb)
{
    net *n = lb->data;
    if (n->client.ch != NULL)
        mim_channel_abort(n->client.ch, "test timed out");
    if (n->server.ch != NULL)
        mim_channel_abort(n->server.ch, "test timed out");
    if (n->raw_open)
        loopback_close((uv_handle_t *)&n->raw);
    proxy_close(n);
    if (n->px.on)
        loopback_close((uv_handle_t *)&n->px.listener);
}

static void side_init(net *n, side *s, const char *label, const char *name)
{
    s->n = n;
    s->label = label;
    s->id = mim_identity_generate();
    assert_non_null(s->id);
    s->cfg.loop = &n->lb.loop;
    s->cfg.identity = s->id;
    s->cfg.prologue = MIM_NOISE_PROLOGUE_PEER;
    s->cfg.my_name = name;
    s->cfg.remote_name_mode = MIM_HS_NAME_VALID;
    s->cfg.events = &events;
    s->cfg.data = s;
}

/* alice dials bob, both speaking mim/peer/v1. */
static void net_init(net *n)
{
    memset(n, 0, sizeof(*n));
    assert_int_equal(mim_crypto_init(), 0);
    loopback_init(&n->lb, on_connection, n);
    n->lb.on_guard = on_guard;
    side_init(n, &n->client, "client", "alice");
    side_init(n, &n->server, "server", "bob");
}

static void expect_sizes(side *s, const size_t *sizes, size_t count)
{
    assert_true(count <= MAX_EXPECTED);
    memcpy(s->expect, sizes, count * sizeof(*sizes));
    s->nexpect = count;
}

/* Dials (through the proxy if on), runs the loop until every handle is closed, closes the
 * loop and reports anything that went wrong inside a callback. */
static void net_run(net *n)
{
    const struct sockaddr *to = (const struct sockaddr *)&n->lb.addr;
    int rc;

    if (n->px.on) {
        loopback_listen(&n->lb.loop, &n->px.listener, &n->px.addr, proxy_on_connection, n);
        to = (const struct sockaddr *)&n->px.addr;
    }
    if (n->raw_client) {
        assert_int_equal(uv_tcp_init(&n->lb.loop, &n->raw), 0);
        n->raw_open = 1;
        n->raw.data = n;
        n->raw_req.data = n;
        assert_int_equal(uv_tcp_connect(&n->raw_req, &n->raw, to, after_raw_connect), 0);
    } else {
        rc = mim_channel_dial(&n->client.cfg, to, &n->client.ch);
        assert_int_equal(rc, 0);
        assert_non_null(n->client.ch);
    }

    rc = loopback_run(&n->lb);
    mim_identity_free(n->client.id);
    mim_identity_free(n->server.id);

    if (n->lb.timed_out)
        fail_msg("timed out after %d ms: client auths %d opens %d closes %d \"%s\"; server "
                 "auths %d opens %d closes %d \"%s\"",
                 LOOPBACK_GUARD_MS, n->client.auths, n->client.opens, n->client.closes,
                 n->client.reason, n->server.auths, n->server.opens, n->server.closes,
                 n->server.reason);
    EXPECT_INT(rc, 0);
    if (n->client.error[0] != '\0')
        fail_msg("%s", n->client.error);
    if (n->server.error[0] != '\0')
        fail_msg("%s", n->server.error);
}

/* ---- both ways, large and small, then FINAL -------------------------------------------------- */

static const size_t client_sizes[] = {1, 1000, 65000, 3}; /* the last one is FINAL */
static const size_t server_sizes[] = {7, 65000};

static void client_open_sends(side *s)
{
    for (size_t i = 0; i < 3; i++) {
        int rc = send_seq(s, client_sizes[i], i, 0);
        if (rc != 0)
            note(s, "client send %zu: %s", i, mim_strerror(rc));
    }
}

static void server_open_sends(side *s)
{
    for (size_t i = 0; i < 2; i++) {
        int rc = send_seq(s, server_sizes[i], i, 0);
        if (rc != 0)
            note(s, "server send %zu: %s", i, mim_strerror(rc));
    }
}

/* Once it has everything, the client ends with a FINAL that carries data, then closes. */
static void client_got(side *s, const uint8_t *p, size_t len, int final)
{
    (void)p;
    (void)len;
    (void) final;
    if ((size_t)s->plaintexts != s->nexpect)
        return;
    if (mim_channel_send(s->ch, NULL, 0, 0) != MIM_EINVAL)
        note(s, "an empty non-final send was accepted");
    {
        static uint8_t big[MIM_CHANNEL_MAX_PLAINTEXT + 1];
        if (mim_channel_send(s->ch, big, sizeof(big), 0) != MIM_EINVAL)
            note(s, "an oversized send was accepted");
    }
    if (send_seq(s, client_sizes[3], 3, 1) != 0)
        note(s, "final send failed");
    if (mim_channel_can_send(s->ch))
        note(s, "can still send after FINAL");
    if (send_seq(s, 5, 4, 0) != MIM_ECLOSED)
        note(s, "a send after FINAL did not fail with MIM_ECLOSED");
    mim_channel_close(s->ch, "client done");
}

static void test_open_exchange_final(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.client.on_open_hook = client_open_sends;
    n.client.on_plaintext_hook = client_got;
    n.server.on_open_hook = server_open_sends;
    expect_sizes(&n.client, server_sizes, 2);
    expect_sizes(&n.server, client_sizes, 4);
    {
        uint8_t alice_pk[MIM_KEY_LEN], bob_pk[MIM_KEY_LEN];
        memcpy(alice_pk, n.client.id->sign_pk, MIM_KEY_LEN);
        memcpy(bob_pk, n.server.id->sign_pk, MIM_KEY_LEN);
        net_run(&n);
        assert_memory_equal(n.client.auth_pk, bob_pk, MIM_KEY_LEN);
        assert_memory_equal(n.server.auth_pk, alice_pk, MIM_KEY_LEN);
    }
    EXPECT_INT(n.client.auths, 1);
    EXPECT_INT(n.server.auths, 1);
    assert_string_equal(n.client.auth_name, "bob");
    assert_string_equal(n.server.auth_name, "alice");
    EXPECT_INT(n.client.hh_at_auth, 0); /* before message 3 */
    EXPECT_INT(n.server.hh_at_auth, 1); /* after message 3 */
    EXPECT_INT(n.client.opens, 1);
    EXPECT_INT(n.server.opens, 1);
    EXPECT_INT(n.client.initiator, 1);
    EXPECT_INT(n.server.initiator, 0);
    assert_true(n.client.have_hh && n.server.have_hh);
    assert_memory_equal(n.client.hh, n.server.hh, MIM_HASH_LEN);
    EXPECT_INT(n.client.plaintexts, 2);
    EXPECT_INT(n.server.plaintexts, 4);
    EXPECT_INT(n.server.finals, 1);
    EXPECT_INT(n.client.finals, 0); /* the server's answering FINAL reaches a draining client */
    EXPECT_INT(n.server.got_final, 1);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.client.reason, "client done");
    EXPECT_CONTAINS(n.server.reason, "closed by the remote");
}

/* The client's last plaintext above is a FINAL of its own; here a plain close sends an empty
 * FINAL, and the server closes the channel itself from on_plaintext. */
static void server_closes_on_final(side *s, const uint8_t *p, size_t len, int final)
{
    (void)p;
    if (final) {
        if (len != 0)
            note(s, "the FINAL of a close carried %zu bytes", len);
        mim_channel_close(s->ch, "server saw the final");
    }
}

static void client_closes_at_open(side *s)
{
    mim_channel_close(s->ch, "bye");
    mim_channel_close(s->ch, "bye twice");
}

static void test_close_sends_empty_final(void **state)
{
    net n;
    static const size_t empty[] = {0};
    (void)state;

    net_init(&n);
    /* Both drop the handshake proof at open, as the presence server does after the Login: it
     * then reads NULL, the name stays, and the channel goes on working. */
    n.client.drop_proof = n.server.drop_proof = 1;
    n.client.on_open_hook = client_closes_at_open;
    n.server.on_plaintext_hook = server_closes_on_final;
    expect_sizes(&n.server, empty, 1);
    net_run(&n);
    EXPECT_INT(n.client.proof_dropped, 1);
    EXPECT_INT(n.server.proof_dropped, 1);
    EXPECT_INT(n.server.finals, 1);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.client.reason, "bye");
    assert_string_equal(n.server.reason, "server saw the final");
}

/* ---- refusals -------------------------------------------------------------------------------- */

/* The initiator refuses the responder after message 2: message 3 is never sent, so the
 * responder never authenticates anyone and sees the connection end. */
static void test_initiator_refuses(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.client.refuse = 1;
    n.client.refuse_reason = "not the pinned key";
    net_run(&n);
    EXPECT_INT(n.client.auths, 1);
    EXPECT_INT(n.client.opens, 0);
    EXPECT_INT(n.client.closes, 1);
    assert_string_equal(n.client.reason, "not the pinned key");
    EXPECT_INT(n.server.auths, 0);
    EXPECT_INT(n.server.opens, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "handshake");
}

static void test_responder_refuses(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.server.refuse = 1; /* no reason given */
    net_run(&n);
    EXPECT_INT(n.client.auths, 1);
    EXPECT_INT(n.server.auths, 1);
    EXPECT_INT(n.client.opens, 0);
    EXPECT_INT(n.server.opens, 0);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "refused");
    EXPECT_CONTAINS(n.client.reason, "handshake");
}

/* ---- handshake failures ---------------------------------------------------------------------- */

static void test_wrong_prologue(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.server.cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    net_run(&n);
    EXPECT_INT(n.client.auths, 0);
    EXPECT_INT(n.server.auths, 0);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.client.reason, "message 2 rejected");
}

/* A client expecting the presence server's empty name refuses a named responder. */
static void test_name_mode_empty_rejects_a_name(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.client.cfg.remote_name_mode = MIM_HS_NAME_EMPTY;
    net_run(&n);
    EXPECT_INT(n.client.auths, 0);
    EXPECT_INT(n.server.auths, 0);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.client.reason, "name");
}

/* The server side with an empty name, as the presence server: accepted by MIM_HS_NAME_EMPTY. */
static void client_closes_on_open(side *s)
{
    mim_channel_close(s->ch, "seen the server");
}

static void test_empty_name_server(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.client.cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    n.client.cfg.remote_name_mode = MIM_HS_NAME_EMPTY;
    n.client.on_open_hook = client_closes_on_open;
    n.server.cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    n.server.cfg.my_name = NULL;
    n.server.cfg.remote_name_mode = MIM_HS_NAME_ANY;
    {
        static const size_t empty[] = {0};
        expect_sizes(&n.server, empty, 1);
    }
    net_run(&n);
    EXPECT_INT(n.client.opens, 1);
    EXPECT_INT(n.server.opens, 1);
    assert_string_equal(n.client.auth_name, "");
    assert_string_equal(n.server.auth_name, "alice");
}

/* A bad name of our own is refused before anything goes on the wire. */
static void test_bad_config(void **state)
{
    net n;
    mim_channel *ch = (mim_channel *)&n; /* must be reset to NULL */
    (void)state;

    net_init(&n);
    n.client.cfg.my_name = " alice";
    EXPECT_INT(mim_channel_dial(&n.client.cfg, (const struct sockaddr *)&n.lb.addr, &ch),
               MIM_EINVAL);
    assert_null(ch);
    n.client.cfg.my_name = "alice";
    n.client.cfg.events = NULL;
    EXPECT_INT(mim_channel_dial(&n.client.cfg, (const struct sockaddr *)&n.lb.addr, &ch),
               MIM_EINVAL);
    n.client.cfg.events = &events;
    n.client.cfg.remote_name_mode = 7;
    EXPECT_INT(mim_channel_dial(&n.client.cfg, (const struct sockaddr *)&n.lb.addr, &ch),
               MIM_EINVAL);
    loopback_close((uv_handle_t *)&n.lb.listener);
    EXPECT_INT(loopback_run(&n.lb), 0);
    mim_identity_free(n.client.id);
    mim_identity_free(n.server.id);
}

/* ---- a tampered frame ------------------------------------------------------------------------ */

static void client_sends_hello(side *s)
{
    if (send_seq(s, 21, 0, 0) != 0)
        note(s, "send failed");
}

/* The client's frames: 1 message 1, 2 message 3, 3 its stream header, 4 its first message. One
 * flipped bit in frame 4 makes the server close at once and deliver nothing. */
static void test_tampered_frame_closes(void **state)
{
    net n;
    (void)state;

    net_init(&n);
    n.px.on = 1;
    n.px.tamper_frame = 4;
    n.px.tamper_pos = 3;
    n.client.on_open_hook = client_sends_hello;
    net_run(&n);
    EXPECT_INT(n.px.tampered, 1);
    EXPECT_INT(n.server.opens, 1);
    EXPECT_INT(n.server.plaintexts, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "decryption failed");
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.client.got_final, 0);
}

/* The same through an honest proxy works: the proxy is not what breaks the tampered case. */
static void client_sends_hello_and_closes(side *s)
{
    client_sends_hello(s);
    mim_channel_close(s->ch, "said hello");
}

static void test_proxy_untampered(void **state)
{
    net n;
    static const size_t sizes[] = {21, 0};
    (void)state;

    net_init(&n);
    n.px.on = 1;
    n.client.on_open_hook = client_sends_hello_and_closes;
    expect_sizes(&n.server, sizes, 2);
    net_run(&n);
    EXPECT_INT(n.px.tampered, 0);
    EXPECT_INT(n.server.plaintexts, 2);
    EXPECT_INT(n.server.finals, 1);
    EXPECT_INT(n.server.got_final, 1);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.client.reason, "said hello");
}

/* A drain the remote never finishes: the server says FINAL and waits for the client's EOF,
 * which the proxy withholds (as it withholds the server's from the client). Both channels give
 * up at their drain deadline, and each reports why it closed in the first place. */
static void server_says_bye(side *s)
{
    s->n->closed_at = uv_now(&s->n->lb.loop);
    mim_channel_close(s->ch, "server bye");
}

static void proxy_down_when_both_closed(side *s)
{
    net *n = s->n;
    if (n->client.closes == 1 && n->server.closes == 1)
        proxy_close(n);
}

static void test_drain_deadline(void **state)
{
    net n;
    static const size_t empty[] = {0};
    uint64_t took;
    (void)state;

    net_init(&n);
    n.px.on = 1;
    n.px.hold_eof = 1;
    n.server.on_open_hook = server_says_bye;
    n.server.cfg.drain_timeout_ms = 150;
    n.client.cfg.drain_timeout_ms = 150;
    n.server.on_closed_hook = proxy_down_when_both_closed;
    n.client.on_closed_hook = proxy_down_when_both_closed;
    expect_sizes(&n.client, empty, 1);
    net_run(&n);
    EXPECT_INT(n.client.finals, 1);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.server.closes, 1);
    assert_string_equal(n.server.reason, "server bye");
    EXPECT_CONTAINS(n.client.reason, "closed by the remote");
    took = n.server.closed_at - n.closed_at;
    if (took < 150 || took > 1000)
        fail_msg("the server closed %llu ms after its FINAL, want 150..1000",
                 (unsigned long long)took);
}

/* ---- deadlines ------------------------------------------------------------------------------- */

/* A client that connects and says nothing is cut at the handshake deadline. */
static void test_handshake_deadline(void **state)
{
    net n;
    uint64_t took;
    (void)state;

    net_init(&n);
    n.raw_client = 1;
    n.server.cfg.handshake_timeout_ms = 200;
    net_run(&n);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_INT(n.server.auths, 0);
    EXPECT_CONTAINS(n.server.reason, "handshake not completed within 200 ms");
    EXPECT_INT(n.raw_eof, 1);
    took = n.server.closed_at - n.accepted_at;
    if (took < 200 || took > 1000)
        fail_msg("closed after %llu ms, want 200..1000", (unsigned long long)took);
}

/* One byte of a frame header, then silence: cut at the frame deadline, long before the
 * handshake deadline. */
static void test_frame_deadline(void **state)
{
    net n;
    static const uint8_t one = 0x00;
    uint64_t took;
    (void)state;

    net_init(&n);
    n.raw_client = 1;
    n.raw_send = &one;
    n.raw_send_len = 1;
    n.server.cfg.frame_timeout_ms = 150;
    net_run(&n);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "frame not completed within 150 ms");
    took = n.server.closed_at - n.accepted_at;
    if (took < 150 || took > 1000)
        fail_msg("closed after %llu ms, want 150..1000", (unsigned long long)took);
}

/* An open channel with nothing pending keeps no timer (idle peers must not wake the loop), yet
 * a frame started after a long idle period is still cut at the frame deadline. */
static void count_deadline_timer(uv_handle_t *h, void *arg)
{
    net *n = arg;
    if (h->type == UV_TIMER && uv_is_active(h) && h != (uv_handle_t *)&n->lb.guard &&
        h != (uv_handle_t *)&n->idle)
        n->deadline_timers++;
}

static void after_idle(uv_timer_t *t)
{
    static const uint8_t lone = 0x00; /* the first byte of a frame header */
    net *n = t->data;

    uv_walk(&n->lb.loop, count_deadline_timer, n);
    loopback_close((uv_handle_t *)t);
    if (!n->px.up_open) {
        note(&n->server, "the proxy is gone before the idle period ended");
        return;
    }
    n->injected_at = uv_now(&n->lb.loop);
    raw_write_to(&n->px.up, &lone, 1); /* straight to the server, as if from the client */
}

static void server_idles(side *s)
{
    net *n = s->n;
    /* Many ticks (a quarter of the 200 ms frame deadline each), so every timer had its chance
     * to go. */
    assert_int_equal(uv_timer_init(&n->lb.loop, &n->idle), 0);
    n->idle.data = n;
    assert_int_equal(uv_timer_start(&n->idle, after_idle, 600, 0), 0);
}

static void test_frame_deadline_after_idle(void **state)
{
    net n;
    uint64_t took;
    (void)state;

    net_init(&n);
    n.px.on = 1;
    n.server.cfg.frame_timeout_ms = 200;
    n.client.cfg.frame_timeout_ms = 200;
    n.server.on_open_hook = server_idles;
    net_run(&n);
    EXPECT_INT(n.server.opens, 1);
    EXPECT_INT(n.client.opens, 1);
    EXPECT_INT(n.deadline_timers, 0);
    EXPECT_INT(n.server.closes, 1);
    EXPECT_CONTAINS(n.server.reason, "frame not completed within 200 ms");
    EXPECT_INT(n.client.closes, 1);
    took = n.server.closed_at - n.injected_at;
    if (n.injected_at == 0 || took < 200 || took > 1000)
        fail_msg("closed %llu ms after the lone byte, want 200..1000", (unsigned long long)took);
}

/* ---- a dial nobody answers ------------------------------------------------------------------- */

static void test_connect_refused(void **state)
{
    net n;
    struct sockaddr_in addr;
    (void)state;

    net_init(&n);
    loopback_close((uv_handle_t *)&n.lb.listener);
    loopback_unused_addr(&n.lb.loop, &addr);
    assert_int_equal(mim_channel_dial(&n.client.cfg, (const struct sockaddr *)&addr, &n.client.ch),
                     0);
    EXPECT_INT(loopback_run(&n.lb), 0);
    mim_identity_free(n.client.id);
    mim_identity_free(n.server.id);
    EXPECT_INT(n.client.closes, 1);
    EXPECT_INT(n.client.auths, 0);
    EXPECT_CONTAINS(n.client.reason, "connect");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_exchange_final),
        cmocka_unit_test(test_close_sends_empty_final),
        cmocka_unit_test(test_initiator_refuses),
        cmocka_unit_test(test_responder_refuses),
        cmocka_unit_test(test_wrong_prologue),
        cmocka_unit_test(test_name_mode_empty_rejects_a_name),
        cmocka_unit_test(test_empty_name_server),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_tampered_frame_closes),
        cmocka_unit_test(test_proxy_untampered),
        cmocka_unit_test(test_drain_deadline),
        cmocka_unit_test(test_handshake_deadline),
        cmocka_unit_test(test_frame_deadline),
        cmocka_unit_test(test_frame_deadline_after_idle),
        cmocka_unit_test(test_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
