/* End-to-end test of an image sent to an older version of mim (issue 15). The older peer is
 * played by the test itself: "oldbob", an identity of its own logged in at the real
 * mim-presence (peer_env's test peer) with a listener on which it answers alice's dial as a
 * chat_session that announces no features (no MIM_FEATURE_FILES, like a version from before
 * issue 15). It acks what it gets, as every version does. Scenario (peer/files_<name>):
 *
 *   old_peer_image  alice (the real mim) sends oldbob a PNG: what arrives is one ChatMessage of
 *                   the image type without the old Chunk, which an older version shows as
 *                   "[image: not supported by this version of mim]" (content_describe, the code
 *                   such a version runs; it ignores the FileOffer field it does not know); it
 *                   is delivered (acked), and the session goes on: a text after it arrives and
 *                   is delivered too */
#include "content.h"
#include "files_e2e.h"
#include "mim_proc.h"

#include "chat_session.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The older peer: its presence identity and client, its listener and what it received. */
typedef struct old_peer {
    pe_peer pe;
    pe_loop l;
    uv_tcp_t listener;
    chat_session *cs;
    int types[8]; /* content types of the chat messages received, in order */
    char text[8][CONTENT_DESCRIBE_MAX];
    int has_chunk[8];
    size_t n;
} old_peer;

static int o_on_authenticated(void *ud, chat_session *cs, const char *name,
                              const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    (void)ud, (void)cs, (void)name, (void)identity_pk, (void)reason;
    return 0;
}

/* What an older version does with a chat message: store it (here: note it), show it -- text as
 * it is, anything else described -- and ack it. */
static void o_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    old_peer *o = ud;
    uint8_t id[MIM_MSG_ID_LEN];

    if (o->n < 8) {
        o->types[o->n] = (int)m->type;
        o->has_chunk[o->n] = m->chunk != NULL;
        if (m->type == MIM__CONTENT_TYPE__CONTENT_TEXT)
            snprintf(o->text[o->n], sizeof(o->text[0]), "%s", m->text);
        else
            content_describe(m, o->text[o->n], sizeof(o->text[0]));
        o->n++;
    }
    if (m->id.len == MIM_MSG_ID_LEN) {
        memcpy(id, m->id.data, sizeof(id));
        assert_int_equal(chat_session_send_ack(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])id, 1), 0);
    }
}

static void o_on_nothing(void *ud, chat_session *cs)
{
    (void)ud, (void)cs;
}

static void o_on_id(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    (void)ud, (void)cs, (void)id;
}

static void o_on_closed(void *ud, chat_session *cs, const char *reason)
{
    old_peer *o = ud;
    (void)reason;
    if (o->cs == cs)
        o->cs = NULL;
}

static const chat_session_events o_events = {
    .on_authenticated = o_on_authenticated,
    .on_open = o_on_nothing,
    .on_message = o_on_message,
    .on_ack = o_on_id,
    .on_refused = o_on_id,
    .on_chat_close = o_on_nothing,
    .on_batch_end = o_on_nothing,
    .on_closed = o_on_closed,
};

static void o_on_connection(uv_stream_t *listener, int status)
{
    old_peer *o = listener->data;
    chat_session_config cfg;

    assert_int_equal(status, 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = &o->l.loop;
    cfg.id = o->pe.id;
    cfg.my_name = o->pe.name;
    cfg.ev = &o_events;
    cfg.ud = o;
    cfg.features = 0; /* a version from before issue 15 (and before receipts) */
    assert_int_equal(chat_session_accept(&cfg, listener, &o->cs), 0);
}

static int o_logged_in(void *arg)
{
    return pe_state(&((old_peer *)arg)->pe) == PRESENCE_CONNECTED;
}

/* Listens on a port of the kernel's choice and logs in as "oldbob" with it. */
static void old_peer_start(old_peer *o, int server_port)
{
    struct sockaddr_in a;
    int len = sizeof(a);

    memset(o, 0, sizeof(*o));
    assert_int_equal(pe_peer_init(&o->pe, "oldbob", NULL), 0);
    assert_int_equal(pe_loop_init(&o->l), 0);
    uv_tcp_init(&o->l.loop, &o->listener);
    o->listener.data = o;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&o->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&o->listener, 8, o_on_connection), 0);
    assert_int_equal(uv_tcp_getsockname(&o->listener, (struct sockaddr *)&a, &len), 0);
    o->pe.listen_port = ntohs(a.sin_port);
    assert_int_equal(pe_peer_start(&o->pe, &o->l.loop, server_port, 0, 0, 0), 0);
    assert_true(pe_loop_wait(&o->l, o_logged_in, o, WAIT_MS));
}

/* The presence client stopped and the session's on_closed ran (its handles are closed). */
static int o_stopped(void *arg)
{
    old_peer *o = arg;
    return o->pe.stopped && o->cs == NULL;
}

static void old_peer_stop(old_peer *o)
{
    if (o->cs != NULL)
        chat_session_close(o->cs, "bye");
    uv_close((uv_handle_t *)&o->listener, NULL);
    pe_peer_stop(&o->pe);
    assert_true(pe_loop_wait(&o->l, o_stopped, o, WAIT_MS));
    assert_int_equal(pe_loop_close(&o->l), 0);
    pe_peer_cleanup(&o->pe);
}

/* Drives the older peer's loop and alice's events in turn until alice reports `event` with
 * key = val (bounded): the older peer must run for alice's session to go on. */
static void both_until(old_peer *o, mp *a, size_t from, const char *event, const char *key,
                       const char *val)
{
    uint64_t end = now_ms() + WAIT_MS;

    while (mp_index_of(a, from, event, key, val) < 0) {
        if (now_ms() > end) {
            mp_dump(a);
            fail_msg("alice: no %s with %s=%s", event, key, val);
        }
        pe_loop_wait(&o->l, NULL, NULL, 20);
        mp_pump(a, 20);
    }
}

/* A PNG of 640x480 as far as its first bytes tell (signature and IHDR), then noise. */
static void write_png(const char *path)
{
    static const uint8_t head[] = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0,    0,
                                   13,   'I',  'H', 'D', 'R',  0,    0,    2,    0x80, 0,    0,
                                   0x01, 0xe0, 8,   2,   0,    0,    0,    0x12, 0x34, 0x56, 0x78};
    FILE *f;

    assert_int_equal(fe_write_random(path, 120 * 1024, 9), 0);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fwrite(head, 1, sizeof(head), f), sizeof(head));
    assert_int_equal(fclose(f), 0);
}

static void test_old_peer_image(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    old_peer o;
    char png[PE_PATH_MAX + 32], id[FE_ID_LEN];
    size_t a0;

    snprintf(png, sizeof(png), "%s/cat.png", f->tmp);
    write_png(png);
    start_peer(f, a);
    old_peer_start(&o, f->srv.port);
    mp_expect(a, 0, "online", "name", "oldbob");

    a0 = fe_send_file(a, "oldbob", png, "img1", id);
    both_until(&o, a, a0, "delivered", "id", id);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.types[0], MIM__CONTENT_TYPE__CONTENT_IMAGE);
    assert_int_equal(o.has_chunk[0], 0); /* the old Chunk is never sent (PROTOCOL.md 14) */
    if (strstr(o.text[0], "[image") != o.text[0] ||
        strstr(o.text[0], "not supported by this version of mim]") == NULL)
        fail_msg("an older version would show \"%s\"", o.text[0]);

    /* The session is not broken: a text after the image arrives and is delivered. */
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"oldbob\",\"text\":\"did you get it?\",\"tag\":\"t1\"}");
    both_until(&o, a, a0, "delivered", "tag", "t1");
    assert_int_equal(o.n, 2);
    assert_int_equal(o.types[1], MIM__CONTENT_TYPE__CONTENT_TEXT);
    assert_string_equal(o.text[1], "did you get it?");
    /* alice keeps the offer (nobody accepted it) and says nothing failed. */
    assert_int_equal(mp_count_from(a, 0, "file_failed", "id", id), 0);
    old_peer_stop(&o);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(old_peer_image),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "files-old");
}
