/* End-to-end tests of the quota per sender and the rate of new contacts shown (issue 12,
 * finding 6): what one peer may make a `mim --json` store per 24 hours, and how many strangers
 * may open a conversation a minute. The real mim-presence, real mim processes (mim_proc.h), and
 * a peer of the test's own (direct_peer.h) to flood content mim cannot show. Each scenario is its
 * own ctest entry (peer/json_<name>):
 *
 *   quota_flood    chunks of an image past --quota-bytes: those over it are refused (Ack.refused,
 *                  nothing stored), again after a restart (the count comes from the store), and
 *                  the receiver's store stays bounded
 *   quota_refused  a real mim over its peer's --quota-messages: an `error` event with code
 *                  `quota` and the id for each refused message, which stays in the outbox and
 *                  is delivered exactly once when the quota allows it
 *   new_contacts   eight new names (each logged in, so vouched for) write at once: five open a
 *                  conversation, the rest are stored and acked but summarised in one
 *                  `error` event with code `new_contacts`, their history readable */
#include "direct_peer.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#define FLOOD_N     40    /* chunks per flood */
#define CHUNK_BYTES 60000 /* the most one chunk may carry */
#define QUOTA_BYTES 1000000

/* One flood: FLOOD_N pieces of one image, CHUNK_BYTES each, as one run of frames. */
typedef struct flood {
    Mim__PeerMsg m[FLOOD_N];
    Mim__ChatMessage c[FLOOD_N];
    Mim__Chunk k[FLOOD_N];
    uint8_t id[FLOOD_N][MIM_MSG_ID_LEN];
    uint8_t item[MIM_MSG_ID_LEN];
    Mim__PeerMsg *msgs[FLOOD_N];
} flood;

static void flood_init(flood *fl, const char *sender, uint8_t *data)
{
    mim_random_bytes(fl->item, sizeof(fl->item));
    for (size_t i = 0; i < FLOOD_N; i++) {
        mim__peer_msg__init(&fl->m[i]);
        mim__chat_message__init(&fl->c[i]);
        mim__chunk__init(&fl->k[i]);
        mim_random_bytes(fl->id[i], MIM_MSG_ID_LEN);
        fl->k[i].index = (uint32_t)i;
        fl->k[i].count = FLOOD_N;
        fl->k[i].data.data = data;
        fl->k[i].data.len = CHUNK_BYTES;
        fl->k[i].item.data = fl->item;
        fl->k[i].item.len = sizeof(fl->item);
        fl->c[i].id.data = fl->id[i];
        fl->c[i].id.len = MIM_MSG_ID_LEN;
        fl->c[i].ts_ms = (uint64_t)time(NULL) * 1000;
        fl->c[i].sender = (char *)sender;
        fl->c[i].type = MIM__CONTENT_TYPE__CONTENT_FILE;
        fl->c[i].text = "";
        fl->c[i].chunk = &fl->k[i];
        fl->m[i].body_case = MIM__PEER_MSG__BODY_CHAT;
        fl->m[i].chat = &fl->c[i];
        fl->msgs[i] = &fl->m[i];
    }
}

/* The bytes of p's store on disk (the database and its write-ahead log). */
static long long store_bytes(const mp *p)
{
    static const char *const files[] = {"mim.db", "mim.db-wal"};
    long long sum = 0;

    for (size_t i = 0; i < 2; i++) {
        char path[PE_PATH_MAX + 32];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", p->dir, files[i]);
        if (stat(path, &st) == 0)
            sum += (long long)st.st_size;
    }
    return sum;
}

/* Sends one flood from carol's own session: the number acked; *refused the number refused. */
static size_t send_flood(const mim_identity *carol, int port, const uint8_t *alice_pk,
                         uint8_t *data, size_t *refused)
{
    flood *fl = calloc(1, sizeof(*fl));
    size_t acked;

    assert_non_null(fl);
    flood_init(fl, "carol", data);
    acked =
        direct_send_counted(carol, "carol", port, alice_pk, "alice", fl->msgs, FLOOD_N, refused);
    free(fl);
    return acked;
}

/* A flood of file pieces (never shown by this version) past alice's --quota-bytes: once carol
 * is over it, the rest is refused and not stored; a second flood, and a third after alice
 * restarts, are refused whole; alice's store stays near the quota. */
static void test_quota_flood(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *c = &f->peers[2];
    mim_identity *alice_id, *carol_id;
    uint8_t *data = calloc(1, CHUNK_BYTES);
    size_t acked, refused = 0;
    long long before;
    int port;

    assert_non_null(data);
    a->extra[0] = "--quota-bytes";
    a->extra[1] = "1000000";
    port = ready_port(start_peer(f, a));
    start_peer(f, c);
    see_each_other(a, c);
    alice_id = load_identity(a);
    carol_id = load_identity(c);
    before = store_bytes(a);

    /* 2.4 MB against a quota of 1 MB: at most one piece beyond it is stored. */
    acked = send_flood(carol_id, port, alice_id->sign_pk, data, &refused);
    assert_int_equal(acked + refused, FLOOD_N);
    assert_true(acked >= QUOTA_BYTES / CHUNK_BYTES && acked <= QUOTA_BYTES / CHUNK_BYTES + 1);
    mp_expect_log(a, "carol is over its quota");

    /* Over it now: nothing more is stored. */
    acked = send_flood(carol_id, port, alice_id->sign_pk, data, &refused);
    assert_int_equal(acked, 0);
    assert_int_equal(refused, FLOOD_N);

    /* Durable: counted from the store after a restart. */
    mp_quit(a);
    mp_restart(a, f->srv.port);
    port = ready_port(mp_expect(a, 0, "ready", "name", "alice"));
    mp_expect(a, 0, "online", "name", "carol");
    acked = send_flood(carol_id, port, alice_id->sign_pk, data, &refused);
    assert_int_equal(acked, 0);
    assert_int_equal(refused, FLOOD_N);
    mp_quit(a);
    /* 7.2 MB was sent; about 1 MB (and the database's own pages) was kept. */
    assert_true(store_bytes(a) - before < 2 * QUOTA_BYTES);

    mim_identity_free(carol_id);
    mim_identity_free(alice_id);
    free(data);
    mp_quit(c);
}

/* The answer to the command with this tag (queued or sent), waiting at most WAIT_MS. */
static json_t *expect_tagged(mp *p, const char *tag)
{
    long k;

    for (int i = 0; i < WAIT_MS / 100 && mp_first_tagged(p, 0, tag) < 0; i++)
        mp_pump(p, 100);
    k = mp_first_tagged(p, 0, tag);
    if (k < 0) {
        mp_dump(p);
        fail_msg("no answer tagged %s", tag);
    }
    return p->ev[k];
}

/* bob takes 3 messages a day from anyone: alice's 4th and 5th are refused (an `error` event with
 * code `quota`, to and id, each once) and stay in her outbox; when bob lifts the quota and alice
 * restarts, they are delivered, each exactly once. */
static void test_quota_refused(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char ids[5][33];
    json_t *ev;

    b->extra[0] = "--quota-messages";
    b->extra[1] = "3";
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    for (int i = 0; i < 5; i++) {
        char tag[8];
        snprintf(tag, sizeof(tag), "s%d", i);
        mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"number %d\",\"tag\":\"%s\"}", i,
               tag);
        ev = expect_tagged(a, tag);
        snprintf(ids[i], sizeof(ids[i]), "%s", sfield(ev, "id"));
    }
    for (int i = 0; i < 3; i++)
        mp_expect(a, 0, "delivered", "id", ids[i]);
    for (int i = 3; i < 5; i++) {
        ev = mp_expect(a, 0, "error", "id", ids[i]);
        assert_string_equal(sfield(ev, "code"), "quota");
        assert_string_equal(sfield(ev, "to"), "bob");
    }
    round_trip(b, "w1");
    assert_int_equal(mp_count(b, "message", "from", "alice"), 3);
    assert_int_equal(mp_count(a, "delivered", "id", ids[3]), 0);
    mp_expect_log(b, "alice is over its quota");

    /* Not lost: bob lifts the quota, alice starts again (a restart tries at once). */
    mp_quit(b);
    b->extra[1] = "0";
    mp_restart(b, f->srv.port);
    mp_quit(a);
    mp_restart(a, f->srv.port);
    for (int i = 3; i < 5; i++) {
        mp_expect(b, 0, "message", "id", ids[i]);
        mp_expect(a, 0, "delivered", "id", ids[i]);
    }
    round_trip(b, "w2");
    for (int i = 0; i < 5; i++)
        assert_int_equal(mp_count(b, "message", "id", ids[i]), i < 3 ? 0 : 1);
    mp_quit(a);
    mp_quit(b);
}

#define NEWCOMERS 8

static int all_connected(void *arg)
{
    pe_peer *const *ps = arg;
    for (int i = 0; i < NEWCOMERS; i++)
        if (pe_state(ps[i]) != PRESENCE_CONNECTED)
            return 0;
    return 1;
}

static int all_stopped(void *arg)
{
    pe_peer *const *ps = arg;
    for (int i = 0; i < NEWCOMERS; i++)
        if (!ps[i]->stopped)
            return 0;
    return 1;
}

/* Eight names log in (the presence server vouches for each) and each writes to alice once: all
 * stored and acked; five conversations open, the other three are summarised in one line. */
static void test_new_contacts(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    pe_peer *ps[NEWCOMERS];
    mim_identity *alice_id;
    pe_loop l;
    json_t *ev, *hist;
    int port;
    size_t a0;

    port = ready_port(start_peer(f, a));
    alice_id = load_identity(a);
    assert_int_equal(pe_loop_init(&l), 0);
    for (int i = 0; i < NEWCOMERS; i++) {
        char name[8];
        snprintf(name, sizeof(name), "new%d", i);
        assert_non_null(ps[i] = calloc(1, sizeof(*ps[i])));
        assert_int_equal(pe_peer_init(ps[i], name, NULL), 0);
        assert_int_equal(pe_peer_start(ps[i], &l.loop, f->srv.port, 0, 0, 0), 0);
    }
    assert_true(pe_loop_wait(&l, all_connected, ps, WAIT_MS));
    a0 = a->nev;
    for (int i = 0; i < NEWCOMERS; i++)
        mp_expect(a, 0, "online", "name", ps[i]->name);
    for (int i = 0; i < NEWCOMERS; i++) {
        char text[160];
        snprintf(text, sizeof(text), "hello from %s", ps[i]->name);
        assert_int_equal(
            direct_send(ps[i]->id, ps[i]->name, port, alice_id->sign_pk, "alice", text), 1);
    }
    ev = mp_expect(a, a0, "error", "code", "new_contacts");
    assert_non_null(strstr(sfield(ev, "message"), "new5"));
    round_trip(a, "w1");
    if (mp_count_from(a, a0, "chat_opened", NULL, NULL) != 5 ||
        mp_count_from(a, a0, "message", NULL, NULL) != 5) {
        mp_dump(a);
        fail_msg("more than 5 new contacts a minute were shown");
    }
    assert_int_equal(mp_count_from(a, a0, "error", "code", "new_contacts"), 1);
    /* Stored all the same. */
    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"new7\",\"limit\":10}");
    hist = json_object_get(mp_expect(a, a0, "history", "with", "new7"), "messages");
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(sfield(json_array_get(hist, 0), "text"), "hello from new7");

    for (int i = 0; i < NEWCOMERS; i++)
        pe_peer_stop(ps[i]);
    assert_true(pe_loop_wait(&l, all_stopped, ps, WAIT_MS));
    for (int i = 0; i < NEWCOMERS; i++) {
        pe_peer_cleanup(ps[i]);
        free(ps[i]);
    }
    assert_int_equal(pe_loop_close(&l), 0);
    mim_identity_free(alice_id);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(quota_flood),
    PE_SCENARIO(quota_refused),
    PE_SCENARIO(new_contacts),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-quota");
}
