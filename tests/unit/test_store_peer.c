/* mim_store, peer kind: pins, the server pin, exactly-once history and the outbox, on a real
 * SQLite file in a fresh temporary directory. Needs no <sqlite3.h>: the store is the only door. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_store_registry.h"
#include "mim_test.h"

static const uint8_t key_a[32] = {0xa1, 0xa2, 0xa3, [31] = 0xaf};
static const uint8_t key_b[32] = {0xb1, 0xb2, 0xb3, [31] = 0xbf};
static const uint8_t key_c[32] = {0xc1, 0xc2, 0xc3, [31] = 0xcf};

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-peer", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static mim_store *open_peer(const struct store_fixture *f)
{
    return mim_test_store_open(f, MIM_STORE_PEER);
}

/* A message id that tells messages apart by k. */
static void make_id(uint8_t id[16], unsigned k)
{
    memset(id, 0x5a, 16);
    id[0] = (uint8_t)(k >> 8);
    id[1] = (uint8_t)k;
}

/* ---- collecting what the iterations hand out ----------------------------------------------- */

#define COLLECT_MAX 256

struct collected {
    size_t n;
    int stop_at; /* return stop_value on the stop_at-th call (1-based); 0: never */
    int stop_value;
    int64_t seq[COLLECT_MAX];
    uint8_t id[COLLECT_MAX][16];
    char peer[COLLECT_MAX][129];
    int outgoing[COLLECT_MAX];
    int64_t ts_ms[COLLECT_MAX];
    int content_type[COLLECT_MAX];
    int state[COLLECT_MAX];
    char text[COLLECT_MAX][128];
    size_t text_len[COLLECT_MAX];
    int text_nul_terminated[COLLECT_MAX];
    /* for the outbox walk that marks each message SENT as it goes */
    mim_store *st;
};

static struct collected *collected_new(void)
{
    struct collected *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    return c;
}

static int on_message(const mim_message *m, void *arg)
{
    struct collected *c = arg;
    size_t i = c->n;

    assert_true(i < COLLECT_MAX);
    assert_true(m->text_len < sizeof(c->text[i]));
    c->seq[i] = m->seq;
    memcpy(c->id[i], m->id, 16);
    snprintf(c->peer[i], sizeof(c->peer[i]), "%s", m->peer);
    c->outgoing[i] = m->outgoing;
    c->ts_ms[i] = m->ts_ms;
    c->content_type[i] = m->content_type;
    c->state[i] = m->state;
    assert_non_null(m->text);
    memcpy(c->text[i], m->text, m->text_len);
    c->text_len[i] = m->text_len;
    c->text_nul_terminated[i] = m->text[m->text_len] == '\0';
    c->n++;
    if (c->stop_at > 0 && (int)c->n == c->stop_at)
        return c->stop_value;
    return 0;
}

/* Marks every message it is handed SENT, as the peer does when it writes the outbox out. */
static int on_message_mark_sent(const mim_message *m, void *arg)
{
    struct collected *c = arg;

    EXPECT_INT(mim_store_message_set_state(c->st, m->peer, m->id, MIM_MSG_SENT), 1);
    return on_message(m, arg);
}

/* Marks every message it is handed DELIVERED, as acks arriving during the walk would. */
static int on_message_mark_delivered(const mim_message *m, void *arg)
{
    struct collected *c = arg;

    EXPECT_INT(mim_store_message_set_state(c->st, m->peer, m->id, MIM_MSG_DELIVERED), 1);
    return on_message(m, arg);
}

struct names {
    size_t n;
    int stop_at;
    char name[16][129];
    mim_contact contact[16];
};

static int on_contact(const mim_contact *ct, void *arg)
{
    struct names *c = arg;

    assert_true(c->n < 16);
    snprintf(c->name[c->n], sizeof(c->name[0]), "%s", ct->name);
    c->contact[c->n] = *ct;
    c->n++;
    return c->stop_at > 0 && (int)c->n == c->stop_at ? 7 : 0;
}

static int on_peer(const char *peer, void *arg)
{
    struct names *c = arg;

    assert_true(c->n < 16);
    snprintf(c->name[c->n], sizeof(c->name[0]), "%s", peer);
    c->n++;
    return c->stop_at > 0 && (int)c->n == c->stop_at ? 9 : 0;
}

/* Queues `text` to `peer` under id k; returns its seq. */
static int64_t queue(mim_store *st, const char *peer, unsigned k, const char *text)
{
    uint8_t id[16];
    int64_t seq = -1;

    make_id(id, k);
    EXPECT_INT(mim_store_message_queue(st, peer, id, 1000 + k, 1, text, strlen(text), &seq), 0);
    assert_true(seq > 0);
    return seq;
}

static int receive(mim_store *st, const char *peer, unsigned k, const char *text)
{
    uint8_t id[16];

    make_id(id, k);
    return mim_store_message_receive(st, peer, id, 2000 + k, 1, text, strlen(text));
}

static void set_state(mim_store *st, const char *peer, unsigned k, int state, int expect)
{
    uint8_t id[16];

    make_id(id, k);
    EXPECT_INT(mim_store_message_set_state(st, peer, id, state), expect);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_fresh_store_is_private_at_the_latest_version(void **state)
{
    struct store_fixture *f = *state;
    mode_t old = umask(0); /* the mode must not depend on the caller's umask */
    struct stat sb;
    char p[700];
    mim_store *st = open_peer(f);

    assert_int_equal(stat(f->path, &sb), 0);
    EXPECT_INT(sb.st_mode & 0777, 0600);
    EXPECT_INT(mim_store_schema_version(st), MIM_TEST_PEER_SCHEMA_VERSION);

    /* A write makes the -wal and -shm files: as private as the database. */
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 100), MIM_PIN_NEW);
    path_with_suffix(p, sizeof(p), f, "-wal");
    assert_int_equal(stat(p, &sb), 0);
    EXPECT_INT(sb.st_mode & 077, 0);
    path_with_suffix(p, sizeof(p), f, "-shm");
    assert_int_equal(stat(p, &sb), 0);
    EXPECT_INT(sb.st_mode & 077, 0);
    mim_store_close(st);
    umask(old);

    st = open_peer(f); /* reopening an up-to-date file migrates nothing */
    EXPECT_INT(mim_store_schema_version(st), MIM_TEST_PEER_SCHEMA_VERSION);
    mim_store_close(st);
}

static void test_kinds_do_not_mix(void **state)
{
    struct store_fixture *f = *state;
    char other[700];
    mim_store *st = open_peer(f);

    mim_store_close(st);
    st = (mim_store *)&st; /* must be reset to NULL on failure */
    EXPECT_INT(mim_store_open(f->path, MIM_STORE_PRESENCE, &st), MIM_EINVAL);
    assert_null(st);

    /* And a presence registry is not taken for a peer store. */
    path_with_suffix(other, sizeof(other), f, ".presence");
    EXPECT_INT(mim_store_open(other, MIM_STORE_PRESENCE, &st), 0);
    EXPECT_INT(mim_store_name_claim(st, "alice", key_a, 1), MIM_NAME_REGISTERED);
    mim_store_close(st);
    st = (mim_store *)&st;
    EXPECT_INT(mim_store_open(other, MIM_STORE_PEER, &st), MIM_EINVAL);
    assert_null(st);

    /* Each kind's functions refuse the other kind's handle. */
    EXPECT_INT(mim_store_open(other, MIM_STORE_PRESENCE, &st), 0);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_begin(st), MIM_EINVAL);
    EXPECT_INT(mim_store_outbox_requeue(st, NULL), MIM_EINVAL);
    EXPECT_INT(receive(st, "bob", 1, "hi"), MIM_EINVAL);
    mim_store_close(st);
    st = open_peer(f);
    EXPECT_INT(mim_store_name_claim(st, "alice", key_a, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_name_count(st), MIM_EINVAL);
    EXPECT_INT(mim_store_name_free(st, "alice"), MIM_EINVAL);
    mim_store_close(st);

    unlink(other);
    path_with_suffix(other, sizeof(other), f, ".presence-wal");
    unlink(other);
    path_with_suffix(other, sizeof(other), f, ".presence-shm");
    unlink(other);
}

static void test_pins_accept_new_then_hold_a_change(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    mim_contact c;

    EXPECT_INT(mim_store_contact_get(st, "bob", &c), MIM_ENOENT);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 100), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 200), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    assert_string_equal(c.name, "bob");
    assert_memory_equal(c.identity_pk, key_b, 32);
    EXPECT_INT(c.first_seen, 100);
    EXPECT_INT(c.verified, 0);
    EXPECT_INT(c.has_pending, 0);
    EXPECT_INT(mim_store_contact_trust(st, "bob"), MIM_ENOENT); /* nothing pending */

    /* Another key under the pinned name: recorded, not pinned. */
    EXPECT_INT(mim_store_contact_set_verified(st, "bob", 1), 0);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_c, 300), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_c, 301), MIM_PIN_CHANGED); /* still held */
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    assert_memory_equal(c.identity_pk, key_b, 32);
    EXPECT_INT(c.has_pending, 1);
    assert_memory_equal(c.pending_pk, key_c, 32);
    EXPECT_INT(c.verified, 1);
    EXPECT_INT(c.first_seen, 100);

    /* A third key replaces the pending one; the pin stays. */
    EXPECT_INT(mim_store_pin_check(st, "bob", key_a, 400), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    assert_memory_equal(c.identity_pk, key_b, 32);
    EXPECT_INT(c.has_pending, 1);
    assert_memory_equal(c.pending_pk, key_a, 32);

    /* The user trusts it: it becomes the pin, the old verification no longer holds. */
    EXPECT_INT(mim_store_contact_trust(st, "bob"), 0);
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    assert_memory_equal(c.identity_pk, key_a, 32);
    EXPECT_INT(c.has_pending, 0);
    EXPECT_INT(c.verified, 0);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_a, 500), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 501), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_contact_trust(st, "bob"), 0);
    EXPECT_INT(mim_store_contact_trust(st, "bob"), MIM_ENOENT);
    EXPECT_INT(mim_store_contact_trust(st, "nobody"), MIM_ENOENT);

    /* Pins are per name: bob's key is no business of carol's. */
    EXPECT_INT(mim_store_pin_check(st, "carol", key_b, 600), MIM_PIN_NEW);
    mim_store_close(st);
}

/* An impostor's key is seen, then the pinned key comes back: a later trust must not pin the
 * impostor's key. */
static void test_pin_match_drops_a_stale_pending_key(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    mim_contact c;

    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 100), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_c, 200), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 300), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    EXPECT_INT(c.has_pending, 0);
    assert_memory_equal(c.identity_pk, key_b, 32);
    EXPECT_INT(mim_store_contact_trust(st, "bob"), MIM_ENOENT);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 400), MIM_PIN_MATCH);
    mim_store_close(st);
}

static void test_verified_flag(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    mim_contact c;

    EXPECT_INT(mim_store_contact_set_verified(st, "bob", 1), MIM_ENOENT);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 100), MIM_PIN_NEW);
    EXPECT_INT(mim_store_contact_set_verified(st, "bob", 5), 0); /* any non-zero is "yes" */
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    EXPECT_INT(c.verified, 1);
    EXPECT_INT(mim_store_contact_set_verified(st, "bob", 1), 0); /* unchanged is still found */
    EXPECT_INT(mim_store_contact_set_verified(st, "bob", 0), 0);
    EXPECT_INT(mim_store_contact_get(st, "bob", &c), 0);
    EXPECT_INT(c.verified, 0);
    mim_store_close(st);
}

static void test_contact_each_in_name_order(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    struct names got;

    EXPECT_INT(mim_store_pin_check(st, "dave", key_a, 1), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 2), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "carol", key_c, 3), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "alice", key_a, 4), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "carol", key_a, 5), MIM_PIN_CHANGED);
    /* The server's pin is not a contact. */
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_c, 6), MIM_PIN_NEW);

    memset(&got, 0, sizeof(got));
    EXPECT_INT(mim_store_contact_each(st, on_contact, &got), 0);
    EXPECT_INT(got.n, 4);
    assert_string_equal(got.name[0], "alice");
    assert_string_equal(got.name[1], "bob");
    assert_string_equal(got.name[2], "carol");
    assert_string_equal(got.name[3], "dave");
    assert_memory_equal(got.contact[1].identity_pk, key_b, 32);
    EXPECT_INT(got.contact[1].first_seen, 2);
    EXPECT_INT(got.contact[2].has_pending, 1);
    assert_memory_equal(got.contact[2].pending_pk, key_a, 32);

    /* Stopping early returns the callback's value, and the walk starts over next time. */
    memset(&got, 0, sizeof(got));
    got.stop_at = 2;
    EXPECT_INT(mim_store_contact_each(st, on_contact, &got), 7);
    EXPECT_INT(got.n, 2);
    memset(&got, 0, sizeof(got));
    EXPECT_INT(mim_store_contact_each(st, on_contact, &got), 0);
    EXPECT_INT(got.n, 4);
    assert_string_equal(got.name[0], "alice");
    mim_store_close(st);
}

static void test_receive_is_exactly_once(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);
    uint8_t id[16];
    int64_t n = -1, bytes = -1;

    EXPECT_INT(receive(st, "bob", 1, "hello"), 1);
    EXPECT_INT(receive(st, "bob", 1, "hello"), 0);          /* a resend: dropped */
    EXPECT_INT(receive(st, "bob", 1, "different text"), 0); /* the id decides, not the text */
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 1);
    EXPECT_INT(got->text_len[0], 5);
    assert_memory_equal(got->text[0], "hello", 5);
    EXPECT_INT(got->outgoing[0], 0);
    EXPECT_INT(got->state[0], MIM_MSG_RECEIVED);
    EXPECT_INT(got->ts_ms[0], 2001);
    EXPECT_INT(got->content_type[0], 1);
    assert_string_equal(got->peer[0], "bob");
    make_id(id, 1);
    assert_memory_equal(got->id[0], id, 16);

    /* The same id from another peer is another message. */
    EXPECT_INT(receive(st, "carol", 1, "hello"), 1);
    EXPECT_INT(receive(st, "carol", 1, "hello"), 0);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "carol", 100, on_message, got), 0);
    EXPECT_INT(got->n, 1);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 1);

    /* Queueing: a duplicate (peer, id) is the caller's mistake. */
    queue(st, "bob", 7, "one");
    make_id(id, 7);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 1, 1, "two", 3, NULL), MIM_EEXIST);
    EXPECT_INT(mim_store_message_queue(st, "carol", id, 1, 1, "two", 3, NULL), 0);
    /* Our own id and a received one live side by side (the directions are separate). */
    make_id(id, 1);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 1, 1, "mine", 4, NULL), 0);
    EXPECT_INT(receive(st, "bob", 7, "theirs"), 1);

    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 4);
    assert_memory_equal(got->text[1], "one", 3);
    EXPECT_INT(got->outgoing[1], 1);
    EXPECT_INT(got->state[1], MIM_MSG_QUEUED);

    /* The quota's count (issue 12): what bob made us store today, duplicates and our own
     * messages to him left out; carol's apart. */
    EXPECT_INT(mim_store_received_day(st, "bob", &n, &bytes), 0);
    EXPECT_INT(n, 2);
    EXPECT_INT(bytes, 5 + 6);
    EXPECT_INT(mim_store_received_day(st, "carol", &n, &bytes), 0);
    EXPECT_INT(n, 1);
    EXPECT_INT(mim_store_received_day(st, NULL, &n, &bytes), MIM_EINVAL);
    mim_store_close(st);
    free(got);
}

static void test_outbox_in_queue_order(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    struct names peers;
    mim_store *st = open_peer(f);
    int64_t bob_seq[5];
    unsigned k;
    int b = 0;

    /* 5 to bob and 3 to carol, interleaved; ids chosen out of order so only seq can sort. */
    for (k = 0; k < 8; k++) {
        if (k % 3 == 1)
            queue(st, "carol", 100 + k, "to carol");
        else
            bob_seq[b++] = queue(st, "bob", 50 - k, "to bob");
    }
    EXPECT_INT(b, 5);
    EXPECT_INT(receive(st, "bob", 99, "not in the outbox"), 1);

    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 5);
    for (k = 0; k < 5; k++) {
        EXPECT_INT(got->seq[k], bob_seq[k]);
        assert_string_equal(got->peer[k], "bob");
        EXPECT_INT(got->outgoing[k], 1);
        EXPECT_INT(got->state[k], MIM_MSG_QUEUED);
    }
    assert_true(got->seq[0] < got->seq[1]);

    /* The limit takes the oldest. */
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "bob", 2, on_message, got), 0);
    EXPECT_INT(got->n, 2);
    EXPECT_INT(got->seq[0], bob_seq[0]);
    EXPECT_INT(got->seq[1], bob_seq[1]);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "bob", 0, on_message, got), 0);
    EXPECT_INT(got->n, 0);

    /* The second one is delivered: the other four remain, in order. */
    {
        uint8_t id[16];
        const unsigned second = 50 - 2; /* k = 2 was bob's second message */

        make_id(id, second);
        EXPECT_INT(mim_store_message_set_state(st, "bob", id, MIM_MSG_DELIVERED), 1);
    }
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 4);
    EXPECT_INT(got->seq[0], bob_seq[0]);
    EXPECT_INT(got->seq[1], bob_seq[2]);
    EXPECT_INT(got->seq[2], bob_seq[3]);
    EXPECT_INT(got->seq[3], bob_seq[4]);

    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "carol", 100, on_message, got), 0);
    EXPECT_INT(got->n, 3);
    assert_true(got->seq[0] < got->seq[1] && got->seq[1] < got->seq[2]);

    memset(&peers, 0, sizeof(peers));
    EXPECT_INT(mim_store_outbox_peers(st, on_peer, &peers), 0);
    EXPECT_INT(peers.n, 2);
    assert_string_equal(peers.name[0], "bob");
    assert_string_equal(peers.name[1], "carol");

    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "dave", 100, on_message, got), 0);
    EXPECT_INT(got->n, 0);
    mim_store_close(st);
    free(got);
}

/* The peer writes the outbox out and marks each message SENT from inside the walk: every
 * message must come exactly once, in order. */
static void test_outbox_walk_may_mark_messages(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    struct names peers;
    mim_store *st = open_peer(f);
    int64_t seq[20];
    unsigned k;

    for (k = 0; k < 20; k++)
        seq[k] = queue(st, "bob", k, "x");
    got->st = st;
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message_mark_sent, got), 0);
    EXPECT_INT(got->n, 20);
    for (k = 0; k < 20; k++)
        EXPECT_INT(got->seq[k], seq[k]);

    /* Now all SENT: still in the outbox (no ack yet), reported as SENT. */
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 20);
    EXPECT_INT(got->state[0], MIM_MSG_SENT);
    EXPECT_INT(got->state[19], MIM_MSG_SENT);

    /* Delivering from inside the walk shrinks the outbox without skipping anything. */
    memset(got, 0, sizeof(*got));
    got->st = st;
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message_mark_delivered, got), 0);
    EXPECT_INT(got->n, 20);
    for (k = 0; k < 20; k++)
        EXPECT_INT(got->seq[k], seq[k]);
    memset(&peers, 0, sizeof(peers));
    EXPECT_INT(mim_store_outbox_peers(st, on_peer, &peers), 0);
    EXPECT_INT(peers.n, 0);
    mim_store_close(st);
    free(got);
}

static void test_states_move_forward_and_requeue(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);

    queue(st, "bob", 1, "a");
    queue(st, "bob", 2, "b");
    queue(st, "carol", 3, "c");

    set_state(st, "bob", 1, MIM_MSG_SENT, 1);
    set_state(st, "bob", 2, MIM_MSG_SENT, 1);
    set_state(st, "bob", 2, MIM_MSG_SENT, 0); /* already SENT: no change */
    set_state(st, "carol", 3, MIM_MSG_SENT, 1);
    EXPECT_INT(mim_store_outbox_requeue(st, "bob"), 0);
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 2);
    EXPECT_INT(got->state[0], MIM_MSG_QUEUED);
    EXPECT_INT(got->state[1], MIM_MSG_QUEUED);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "carol", 100, on_message, got), 0);
    EXPECT_INT(got->state[0], MIM_MSG_SENT); /* another peer's session is untouched */
    EXPECT_INT(mim_store_outbox_requeue(st, NULL), 0);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "carol", 100, on_message, got), 0);
    EXPECT_INT(got->state[0], MIM_MSG_QUEUED);

    /* DELIVERED is final: neither a late SENT nor a requeue moves it back. */
    set_state(st, "bob", 1, MIM_MSG_DELIVERED, 1);
    set_state(st, "bob", 1, MIM_MSG_DELIVERED, 0); /* a repeated ack is no news */
    set_state(st, "bob", 1, MIM_MSG_SENT, 0);
    EXPECT_INT(mim_store_outbox_requeue(st, NULL), 0);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 2);
    EXPECT_INT(got->state[0], MIM_MSG_DELIVERED);
    EXPECT_INT(got->state[1], MIM_MSG_QUEUED);
    /* An ack for a message requeued meanwhile delivers it straight from QUEUED. */
    set_state(st, "bob", 2, MIM_MSG_DELIVERED, 1);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 0);

    /* Only outgoing messages have a delivery state. */
    EXPECT_INT(receive(st, "dave", 4, "in"), 1);
    set_state(st, "dave", 4, MIM_MSG_DELIVERED, MIM_ENOENT);
    set_state(st, "bob", 99, MIM_MSG_SENT, MIM_ENOENT);
    set_state(st, "carol", 1, MIM_MSG_SENT, MIM_ENOENT); /* bob's id, not carol's */
    set_state(st, "bob", 2, MIM_MSG_QUEUED, MIM_EINVAL);
    set_state(st, "bob", 2, MIM_MSG_RECEIVED, MIM_EINVAL);
    mim_store_close(st);
    free(got);
}

static void test_outbox_and_history_survive_reopen(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    struct names peers;
    mim_store *st = open_peer(f);
    int64_t s1, s2, s3;

    s1 = queue(st, "bob", 1, "first");
    s2 = queue(st, "bob", 2, "second");
    set_state(st, "bob", 1, MIM_MSG_SENT, 1);
    EXPECT_INT(receive(st, "bob", 3, "reply"), 1);
    mim_store_close(st);

    st = open_peer(f);
    EXPECT_INT(mim_store_outbox_requeue(st, NULL), 0); /* what the peer does at start-up */
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 2);
    EXPECT_INT(got->seq[0], s1);
    EXPECT_INT(got->seq[1], s2);
    EXPECT_INT(got->state[0], MIM_MSG_QUEUED);
    assert_memory_equal(got->text[0], "first", 5);
    memset(&peers, 0, sizeof(peers));
    EXPECT_INT(mim_store_outbox_peers(st, on_peer, &peers), 0);
    EXPECT_INT(peers.n, 1);
    assert_string_equal(peers.name[0], "bob");

    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 3);
    assert_memory_equal(got->text[2], "reply", 5);
    EXPECT_INT(receive(st, "bob", 3, "reply"), 0); /* still a duplicate after the restart */

    /* seq keeps growing after a restart: new messages go behind the old ones. */
    s3 = queue(st, "bob", 4, "third");
    assert_true(s3 > s2);
    mim_store_close(st);
    free(got);
}

static void test_history_last_n_oldest_first(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);
    char text[32];
    unsigned k;

    for (k = 0; k < 10; k++) {
        snprintf(text, sizeof(text), "msg %u", k);
        if (k % 2 == 0)
            queue(st, "bob", k, text);
        else
            EXPECT_INT(receive(st, "bob", k, text), 1);
        EXPECT_INT(receive(st, "carol", k, "other conversation"), 1);
    }
    EXPECT_INT(mim_store_history_each(st, "bob", 3, on_message, got), 0);
    EXPECT_INT(got->n, 3);
    assert_string_equal(got->text[0], "msg 7");
    assert_string_equal(got->text[1], "msg 8");
    assert_string_equal(got->text[2], "msg 9");
    EXPECT_INT(got->outgoing[0], 0);
    EXPECT_INT(got->outgoing[1], 1);
    assert_true(got->seq[0] < got->seq[1] && got->seq[1] < got->seq[2]);

    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 1000, on_message, got), 0);
    EXPECT_INT(got->n, 10);
    assert_string_equal(got->text[0], "msg 0");
    assert_string_equal(got->text[9], "msg 9");

    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 0, on_message, got), 0);
    EXPECT_INT(got->n, 0);
    EXPECT_INT(mim_store_history_each(st, "nobody", 10, on_message, got), 0);
    EXPECT_INT(got->n, 0);
    mim_store_close(st);
    free(got);
}

static void test_group_commit(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);
    unsigned k;

    EXPECT_INT(mim_store_commit(st), MIM_ESTATE);
    EXPECT_INT(mim_store_rollback(st), MIM_ESTATE);

    /* Rolled back: none of it was stored, so none may be acknowledged. */
    EXPECT_INT(mim_store_begin(st), 0);
    EXPECT_INT(mim_store_begin(st), MIM_ESTATE); /* not nested */
    for (k = 0; k < 100; k++)
        EXPECT_INT(receive(st, "bob", k, "burst"), 1);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 1), MIM_PIN_NEW);
    EXPECT_INT(mim_store_rollback(st), 0);
    EXPECT_INT(mim_store_history_each(st, "bob", 1000, on_message, got), 0);
    EXPECT_INT(got->n, 0);
    {
        mim_contact c;

        EXPECT_INT(mim_store_contact_get(st, "bob", &c), MIM_ENOENT);
    }

    /* Committed: all of it, with the pin checks made inside the transaction. */
    EXPECT_INT(mim_store_begin(st), 0);
    for (k = 0; k < 100; k++) {
        EXPECT_INT(receive(st, "bob", k, "burst"), 1);
        if (k == 50) {
            EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 1), MIM_PIN_NEW);
            EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 2), MIM_PIN_MATCH);
            EXPECT_INT(mim_store_pin_check(st, "bob", key_c, 3), MIM_PIN_CHANGED);
            EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 4), MIM_PIN_NEW);
        }
    }
    EXPECT_INT(receive(st, "bob", 5, "burst"), 0); /* duplicates are seen inside it too */
    EXPECT_INT(mim_store_commit(st), 0);
    EXPECT_INT(mim_store_commit(st), MIM_ESTATE);
    mim_store_close(st);

    st = open_peer(f); /* durable: visible from a new connection */
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 1000, on_message, got), 0);
    EXPECT_INT(got->n, 100);
    EXPECT_INT(mim_store_pin_check(st, "bob", key_b, 5), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 6), MIM_PIN_MATCH);
    mim_store_close(st);
    free(got);
}

/* A relaxed transaction (state marks) commits like any other, and the connection is back at
 * synchronous=FULL once it ends, whichever way: what comes after it is durable again. */
static void test_relaxed_transaction(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);
    uint8_t id[16];

    EXPECT_INT(mim_store_synchronous(st), 2);
    queue(st, "bob", 1, "a");
    queue(st, "bob", 2, "b");
    make_id(id, 1);

    EXPECT_INT(mim_store_begin_relaxed(st), 0);
    EXPECT_INT(mim_store_synchronous(st), 1);
    EXPECT_INT(mim_store_begin(st), MIM_ESTATE); /* not nested, either way */
    EXPECT_INT(mim_store_begin_relaxed(st), MIM_ESTATE);
    EXPECT_INT(mim_store_message_set_state(st, "bob", id, MIM_MSG_SENT), 1);
    EXPECT_INT(mim_store_rollback(st), 0);
    EXPECT_INT(mim_store_synchronous(st), 2);

    EXPECT_INT(mim_store_begin_relaxed(st), 0);
    EXPECT_INT(mim_store_message_set_state(st, "bob", id, MIM_MSG_DELIVERED), 1);
    EXPECT_INT(mim_store_commit(st), 0);
    EXPECT_INT(mim_store_synchronous(st), 2);
    mim_store_close(st);

    st = open_peer(f); /* committed: visible from a new connection; the rollback kept nothing */
    EXPECT_INT(mim_store_outbox_each(st, "bob", 10, on_message, got), 0);
    EXPECT_INT(got->n, 1);
    assert_string_equal(got->text[0], "b");
    EXPECT_INT(mim_store_synchronous(st), 2);
    mim_store_close(st);
    free(got);
}

/* A statement that fails inside the caller's transaction (a duplicate queued) takes back only
 * its own part: the rest of the group still commits. */
static void test_transaction_survives_its_parts(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);
    uint8_t id[16];

    EXPECT_INT(mim_store_begin(st), 0);
    EXPECT_INT(receive(st, "bob", 1, "a"), 1);
    queue(st, "bob", 2, "b");
    make_id(id, 2);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 1, 1, "b", 1, NULL), MIM_EEXIST);
    EXPECT_INT(receive(st, "bob", 3, "c"), 1);
    EXPECT_INT(mim_store_commit(st), 0);
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 3);
    mim_store_close(st);
    free(got);
}

static void test_callback_early_stop(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    struct names peers;
    mim_store *st = open_peer(f);
    unsigned k;

    for (k = 0; k < 5; k++) {
        queue(st, "bob", k, "out");
        queue(st, "carol", k, "out");
        EXPECT_INT(receive(st, "bob", 100 + k, "in"), 1);
    }

    got->stop_at = 2;
    got->stop_value = 42;
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 42);
    EXPECT_INT(got->n, 2);
    memset(got, 0, sizeof(*got));
    got->stop_at = 3;
    got->stop_value = -99;
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), -99);
    EXPECT_INT(got->n, 3);
    memset(&peers, 0, sizeof(peers));
    peers.stop_at = 1;
    EXPECT_INT(mim_store_outbox_peers(st, on_peer, &peers), 9);
    EXPECT_INT(peers.n, 1);

    /* Every statement was reset: the same walks run again from the start, and writes work. */
    EXPECT_INT(mim_store_begin(st), 0);
    EXPECT_INT(receive(st, "bob", 200, "after"), 1);
    EXPECT_INT(mim_store_commit(st), 0);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_outbox_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 5);
    memset(got, 0, sizeof(*got));
    EXPECT_INT(mim_store_history_each(st, "bob", 100, on_message, got), 0);
    EXPECT_INT(got->n, 11);
    memset(&peers, 0, sizeof(peers));
    EXPECT_INT(mim_store_outbox_peers(st, on_peer, &peers), 0);
    EXPECT_INT(peers.n, 2);
    mim_store_close(st);
    free(got);
}

/* A callback that calls back into the walk it is part of gets MIM_ESTATE, not a broken walk. */
static int on_message_reenter(const mim_message *m, void *arg)
{
    mim_store *st = arg;
    struct collected *inner = collected_new();

    EXPECT_INT(mim_store_history_each(st, m->peer, 10, on_message, inner), MIM_ESTATE);
    EXPECT_INT(inner->n, 0);
    free(inner);
    return 0;
}

static void test_reentering_a_walk_is_refused(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);

    EXPECT_INT(receive(st, "bob", 1, "a"), 1);
    EXPECT_INT(receive(st, "bob", 2, "b"), 1);
    EXPECT_INT(mim_store_history_each(st, "bob", 10, on_message_reenter, st), 0);
    mim_store_close(st);
}

static void test_text_round_trips_exactly(void **state)
{
    struct store_fixture *f = *state;
    struct collected *got = collected_new();
    mim_store *st = open_peer(f);
    /* A newline, 2-, 3- and 4-byte UTF-8, and a NUL in the middle. */
    static const char text[] = "line one\nl\xc3\xadnea \xe2\x82\xac \xf0\x9f\x98\x80\n\0after nul";
    const size_t len = sizeof(text) - 1;
    uint8_t id[16];

    make_id(id, 1);
    EXPECT_INT(mim_store_message_receive(st, "bob", id, 1, 1, text, len), 1);
    make_id(id, 2);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 2, 1, text, len, NULL), 0);
    make_id(id, 3);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 3, 1, NULL, 0, NULL), 0); /* empty */
    mim_store_close(st);

    st = open_peer(f);
    EXPECT_INT(mim_store_history_each(st, "bob", 10, on_message, got), 0);
    EXPECT_INT(got->n, 3);
    EXPECT_INT(got->text_len[0], len);
    assert_memory_equal(got->text[0], text, len);
    EXPECT_INT(got->text_nul_terminated[0], 1);
    EXPECT_INT(got->text_len[1], len);
    assert_memory_equal(got->text[1], text, len);
    EXPECT_INT(got->text_len[2], 0);
    EXPECT_INT(got->text_nul_terminated[2], 1);
    mim_store_close(st);
    free(got);
}

static void test_bad_arguments(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    char long_name[130];
    uint8_t id[16];
    mim_contact c;

    memset(long_name, 'x', 129);
    long_name[129] = '\0';
    make_id(id, 1);
    EXPECT_INT(mim_store_pin_check(st, long_name, key_a, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_pin_check(st, "", key_a, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_pin_check(st, NULL, key_a, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_pin_check(st, "bob", NULL, 1), MIM_EINVAL);
    EXPECT_INT(mim_store_contact_get(st, "bob", NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_message_receive(st, long_name, id, 1, 1, "a", 1), MIM_EINVAL);
    EXPECT_INT(mim_store_message_receive(st, "bob", NULL, 1, 1, "a", 1), MIM_EINVAL);
    EXPECT_INT(mim_store_message_queue(st, "bob", id, 1, 1, NULL, 3, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_outbox_each(st, "bob", 10, NULL, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_outbox_each(st, NULL, 10, on_message, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_outbox_peers(st, NULL, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_contact_each(st, NULL, NULL), MIM_EINVAL);
    EXPECT_INT(mim_store_begin(NULL), MIM_EINVAL);

    /* The longest name fits, and comes back whole. */
    long_name[128] = '\0';
    EXPECT_INT(mim_store_pin_check(st, long_name, key_a, 1), MIM_PIN_NEW);
    EXPECT_INT(mim_store_contact_get(st, long_name, &c), 0);
    assert_string_equal(c.name, long_name);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_store_is_private_at_the_latest_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kinds_do_not_mix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pins_accept_new_then_hold_a_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_match_drops_a_stale_pending_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contact_each_in_name_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_is_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_in_queue_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_walk_may_mark_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_move_forward_and_requeue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_and_history_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_last_n_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relaxed_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_survives_its_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_early_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentering_a_walk_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_round_trips_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
