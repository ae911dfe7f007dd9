/* A test's own dialling peer (see direct_peer.h). */
#include "direct_peer.h"

#include "chat_session.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

mim_identity *load_identity(const mp *p)
{
    char path[PE_PATH_MAX + 32];
    mim_identity *id = NULL;
    int created = 0;

    snprintf(path, sizeof(path), "%s/identity.key", p->dir);
    assert_int_equal(mim_identity_load_or_create(path, &id, &created), 0);
    assert_int_equal(created, 0);
    return id;
}

typedef struct dialer {
    Mim__PeerMsg *const *msgs;
    size_t n, chats, acked, refused;
    int closed;
} dialer;

static int d_on_authenticated(void *ud, chat_session *cs, const char *name,
                              const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    (void)ud, (void)cs, (void)name, (void)identity_pk, (void)reason;
    return 0;
}

static void d_on_open(void *ud, chat_session *cs)
{
    dialer *d = ud;

    for (size_t i = 0; i < d->n; i++)
        assert_int_equal(chat_session_send_msg(cs, d->msgs[i]), 0);
    if (d->chats == 0)
        chat_session_close(cs, "done");
}

static void d_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    (void)ud, (void)cs, (void)m;
}

static void d_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    dialer *d = ud;
    (void)id;
    if (++d->acked + d->refused == d->chats)
        chat_session_close(cs, "done");
}

static void d_on_refused(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    dialer *d = ud;
    (void)id;
    if (d->acked + ++d->refused == d->chats)
        chat_session_close(cs, "done");
}

static void d_on_chat_close(void *ud, chat_session *cs)
{
    (void)ud, (void)cs;
}

static void d_on_batch_end(void *ud, chat_session *cs)
{
    (void)ud, (void)cs;
}

static void d_on_closed(void *ud, chat_session *cs, const char *reason)
{
    dialer *d = ud;
    (void)cs, (void)reason;
    d->closed = 1;
}

static const chat_session_events d_events = {
    .on_authenticated = d_on_authenticated,
    .on_open = d_on_open,
    .on_message = d_on_message,
    .on_ack = d_on_ack,
    .on_refused = d_on_refused,
    .on_chat_close = d_on_chat_close,
    .on_batch_end = d_on_batch_end,
    .on_closed = d_on_closed,
};

static int d_closed(void *arg)
{
    return ((dialer *)arg)->closed;
}

size_t direct_send_counted(const mim_identity *me, const char *name, int port,
                           const uint8_t peer_pk[MIM_KEY_LEN], const char *peer_name,
                           Mim__PeerMsg *const *msgs, size_t n, size_t *refused)
{
    pe_loop l;
    chat_session_config cfg;
    chat_session *cs;
    struct sockaddr_in a;
    dialer d = {msgs, n, 0, 0, 0, 0};

    for (size_t i = 0; i < n; i++)
        d.chats += msgs[i]->body_case == MIM__PEER_MSG__BODY_CHAT;
    assert_int_equal(pe_loop_init(&l), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = &l.loop;
    cfg.id = me;
    cfg.my_name = name;
    cfg.ev = &d_events;
    cfg.ud = &d;
    uv_ip4_addr("127.0.0.1", port, &a);
    assert_int_equal(chat_session_dial(&cfg, (struct sockaddr *)&a, peer_name, peer_pk, &cs), 0);
    if (!pe_loop_wait(&l, d_closed, &d, WAIT_MS)) {
        chat_session_close(cs, "timeout");
        pe_loop_wait(&l, d_closed, &d, WAIT_MS);
        fail_msg("the direct session with %s did not end", peer_name);
    }
    assert_int_equal(pe_loop_close(&l), 0);
    if (refused != NULL)
        *refused = d.refused;
    return d.acked;
}

size_t direct_send_msgs(const mim_identity *me, const char *name, int port,
                        const uint8_t peer_pk[MIM_KEY_LEN], const char *peer_name,
                        Mim__PeerMsg *const *msgs, size_t n)
{
    return direct_send_counted(me, name, port, peer_pk, peer_name, msgs, n, NULL);
}

int direct_send(const mim_identity *me, const char *name, int port,
                const uint8_t peer_pk[MIM_KEY_LEN], const char *peer_name, const char *text)
{
    Mim__PeerMsg m = MIM__PEER_MSG__INIT;
    Mim__ChatMessage c = MIM__CHAT_MESSAGE__INIT;
    Mim__PeerMsg *one[1] = {&m};
    uint8_t id[MIM_MSG_ID_LEN];

    mim_random_bytes(id, sizeof(id));
    c.id.data = id;
    c.id.len = sizeof(id);
    c.ts_ms = (uint64_t)time(NULL) * 1000;
    c.sender = (char *)name;
    c.type = MIM__CONTENT_TYPE__CONTENT_TEXT;
    c.text = (char *)text;
    m.body_case = MIM__PEER_MSG__BODY_CHAT;
    m.chat = &c;
    return direct_send_msgs(me, name, port, peer_pk, peer_name, one, 1) == 1;
}
