/* mim-presence's directory and sealed mailbox (issue 14), black box: the real server on
 * loopback driven by test clients (test_client.h) that log in with MIM_LOGIN_FEATURE_MAILBOX,
 * one scenario per ctest entry (integration/<scenario>). The letters here are opaque bytes: the
 * server never opens them, so these tests need no seal.
 *
 * Every wait is bounded (test_client.h); where nothing must arrive, tc_sync (a Ping/Pong
 * barrier) shows it. */
#include "presence_fixture.h"

#define LETTER_MAX 8192

static uint8_t letter[LETTER_MAX];

/* A client logged in with the mailbox feature. */
static tc_client *mail_online(struct fx *f, mim_identity *id, const char *name, uint16_t port)
{
    tc_client *c = fx_handshaken(f, id, name);

    assert_true(c->server_features & MIM_FEATURE_MAILBOX);
    ASSERT_TC(c, tc_login_ex(c, name, port, TC_LOGIN_MAILBOX));
    return c;
}

/* `name` registered with identity id, then gone offline. */
static void registered(struct fx *f, mim_identity *id, const char *name)
{
    tc_client *c = fx_online(f, id, name, 5000);

    ASSERT_TC(c, tc_logout(c));
    ASSERT_VERDICT(c, tc_expect_closed(c, PROMPT_MS), 0);
}

static void fill_id(uint8_t id[MIM_MSG_ID_LEN], uint8_t seed)
{
    for (size_t i = 0; i < MIM_MSG_ID_LEN; i++)
        id[i] = (uint8_t)(seed + i);
}

/* Sends a Deposit of len bytes (letter[] from byte `seed`) and returns its DepositAck, which
 * must answer it and carry `want`. */
static const Mim__DepositAck *deposit(tc_client *c, const char *to, uint8_t seed, size_t len,
                                      Mim__DepositResult want)
{
    Mim__PresenceMsg m;
    Mim__Deposit d;
    const Mim__PresenceMsg *r;
    uint8_t id[MIM_MSG_ID_LEN];

    fill_id(id, seed);
    for (size_t i = 0; i < len; i++)
        letter[i] = (uint8_t)(seed * 7 + i);
    mim_deposit_init(&m, &d, to, id, letter, len);
    ASSERT_TC(c, tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE));
    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_DEPOSIT_ACK, TC_TIMEOUT_MS, &r));
    assert_string_equal(r->deposit_ack->to, to);
    assert_memory_equal(r->deposit_ack->id.data, id, MIM_MSG_ID_LEN);
    if (r->deposit_ack->result != want)
        fail_msg("deposit to %s: %s, want %s", to, mim_deposit_result_str(r->deposit_ack->result),
                 mim_deposit_result_str(want));
    return r->deposit_ack;
}

/* The next message is the MailItem of the deposit made with `seed` and len bytes by `from`
 * (key pk); returns its seq. */
static uint64_t expect_item(tc_client *c, const char *from, const uint8_t pk[32], uint8_t seed,
                            size_t len)
{
    const Mim__PresenceMsg *r;
    const Mim__MailItem *it;
    uint8_t id[MIM_MSG_ID_LEN];

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_MAIL_ITEM, TC_TIMEOUT_MS, &r));
    it = r->mail_item;
    fill_id(id, seed);
    assert_string_equal(it->from, from);
    assert_memory_equal(it->from_pk.data, pk, 32);
    assert_memory_equal(it->id.data, id, MIM_MSG_ID_LEN);
    assert_int_equal(it->sealed.len, len);
    for (size_t i = 0; i < len; i++)
        if (it->sealed.data[i] != (uint8_t)(seed * 7 + i))
            fail_msg("letter %u differs at byte %zu", seed, i);
    assert_true(it->seq > 0);
    assert_true(it->deposited_ms > 0);
    return it->seq;
}

static void send_taken(tc_client *c, uint64_t *seqs, size_t n)
{
    Mim__PresenceMsg m;
    Mim__MailTaken t;

    mim_mail_taken_init(&m, &t, seqs, n);
    ASSERT_TC(c, tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE));
}

/* ---- the mailbox -------------------------------------------------------------------------- */

/* Deposited while bob is offline, fetched at his login after the table, deleted once taken. */
static void deposit_fetch_take(void **state)
{
    struct fx *f = *state;
    mim_identity *a = fx_identity(f), *b = fx_identity(f);
    tc_client *alice, *bob;
    const Mim__DepositAck *ack;
    uint64_t seq[2];

    fx_start(f, NULL);
    registered(f, b, "bob");
    alice = mail_online(f, a, "alice", 5001);
    ack = deposit(alice, "bob", 1, 300, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    /* The default expiry: 30 days, less the moment it took. */
    assert_true(ack->expires_in_ms > 29ull * 86400000 && ack->expires_in_ms <= 30ull * 86400000);
    deposit(alice, "bob", 2, 500, MIM__DEPOSIT_RESULT__DEPOSIT_OK);

    bob = mail_online(f, b, "bob", 5002);
    assert_non_null(tc_table_find(bob, "alice"));
    seq[0] = expect_item(bob, "alice", a->sign_pk, 1, 300);
    seq[1] = expect_item(bob, "alice", a->sign_pk, 2, 500);
    assert_true(seq[1] > seq[0]); /* in deposit order */
    expect_nothing_more(bob);
    send_taken(bob, seq, 2);
    expect_nothing_more(bob);
    fx_release(f, bob);

    bob = mail_online(f, b, "bob", 5002); /* taken: nothing again */
    expect_nothing_more(bob);
}

/* Bob online: a letter for him goes out as soon as it is stored. */
static void live_delivery(void **state)
{
    struct fx *f = *state;
    mim_identity *a = fx_identity(f), *b = fx_identity(f);
    tc_client *alice, *bob;

    fx_start(f, NULL);
    bob = mail_online(f, b, "bob", 5002);
    alice = mail_online(f, a, "alice", 5001);
    deposit(alice, "bob", 3, 1000, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    expect_add(bob, "alice", 5001, a->sign_pk);
    expect_item(bob, "alice", a->sign_pk, 3, 1000);
    expect_nothing_more(bob);
}

/* The same (from, to, id) twice: OK twice, stored and delivered once. */
static void deposit_idempotent(void **state)
{
    struct fx *f = *state;
    mim_identity *a = fx_identity(f), *b = fx_identity(f);
    tc_client *alice, *bob;
    const Mim__DepositAck *ack;

    fx_start(f, NULL);
    registered(f, b, "bob");
    alice = mail_online(f, a, "alice", 5001);
    deposit(alice, "bob", 4, 200, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    ack = deposit(alice, "bob", 4, 200, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    assert_true(ack->expires_in_ms > 0);
    bob = mail_online(f, b, "bob", 5002);
    expect_item(bob, "alice", a->sign_pk, 4, 200);
    expect_nothing_more(bob);
}

static void deposit_refusals(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--mailbox-blob-max",
                                       "400",
                                       "--mailbox-max-count",
                                       "3",
                                       "--mailbox-max-bytes",
                                       "1000",
                                       NULL};
    mim_identity *b = fx_identity(f), *cid = fx_identity(f);
    tc_client *alice;
    const Mim__DepositAck *ack;

    fx_start(f, opts);
    registered(f, b, "bob");
    registered(f, cid, "carol");
    alice = mail_online(f, NULL, "alice", 5001);
    deposit(alice, "nobody", 5, 100, MIM__DEPOSIT_RESULT__DEPOSIT_UNKNOWN_NAME);
    deposit(alice, "alice", 4, 100, MIM__DEPOSIT_RESULT__DEPOSIT_UNKNOWN_NAME); /* herself */
    deposit(alice, "bob", 6, 401, MIM__DEPOSIT_RESULT__DEPOSIT_TOO_BIG);
    deposit(alice, "bob", 7, 400, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    deposit(alice, "bob", 8, 400, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    /* 800 + 201 bytes would pass the 1000 bytes of bob's mailbox. */
    ack = deposit(alice, "bob", 9, 201, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL);
    assert_true(ack->retry_after_ms > 0);
    deposit(alice, "bob", 10, 200, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    /* Three letters: the count is full too, even for one byte. */
    deposit(alice, "bob", 11, 1, MIM__DEPOSIT_RESULT__DEPOSIT_MAILBOX_FULL);
    /* Carol's mailbox is her own. */
    deposit(alice, "carol", 12, 400, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    assert_true(sp_log_contains(&f->sp, "alice online"));
}

/* A sender over --mailbox-rate with its burst spent is told when to retry. */
static void deposit_rate(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--mailbox-rate", "1", "--mailbox-burst", "3", NULL};
    tc_client *alice;
    const Mim__DepositAck *ack;

    fx_start(f, opts);
    registered(f, fx_identity(f), "bob");
    alice = mail_online(f, NULL, "alice", 5001);
    for (uint8_t i = 0; i < 3; i++)
        deposit(alice, "bob", (uint8_t)(20 + i), 50, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    ack = deposit(alice, "bob", 23, 50, MIM__DEPOSIT_RESULT__DEPOSIT_RATE);
    assert_true(ack->retry_after_ms > 0 && ack->retry_after_ms <= 1001);
    assert_int_equal(ack->expires_in_ms, 0);
}

/* A letter acknowledged was committed: a SIGKILL right after the ack loses nothing. */
static void killed_after_ack(void **state)
{
    struct fx *f = *state;
    mim_identity *a = fx_identity(f), *b = fx_identity(f);
    tc_client *alice, *bob;
    int status;

    fx_start(f, NULL);
    registered(f, b, "bob");
    alice = mail_online(f, a, "alice", 5001);
    deposit(alice, "bob", 30, 700, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    ASSERT_SP(f, sp_signal(&f->sp, SIGKILL));
    ASSERT_SP(f, sp_wait(&f->sp, PROMPT_MS, &status));
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    fx_release(f, alice);
    fx_start(f, NULL); /* the same data dir */
    bob = mail_online(f, b, "bob", 5002);
    expect_item(bob, "alice", a->sign_pk, 30, 700);
    expect_nothing_more(bob);
}

/* An unfetched letter is deleted once --mailbox-expiry has passed. */
static void letters_expire(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--mailbox-expiry", "1s", NULL};
    mim_identity *b = fx_identity(f);
    tc_client *alice, *bob;
    const Mim__DepositAck *ack;

    fx_start(f, opts);
    registered(f, b, "bob");
    alice = mail_online(f, NULL, "alice", 5001);
    ack = deposit(alice, "bob", 40, 100, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    assert_true(ack->expires_in_ms > 0 && ack->expires_in_ms <= 1000);
    if (!sp_wait_log(&f->sp, "1 letters expired", 5000))
        fail_msg("the letter did not expire within 5 s");
    bob = mail_online(f, b, "bob", 5002);
    expect_nothing_more(bob);
}

/* MailTaken deletes only the sender's own letters: carol naming bob's seq deletes nothing. */
static void taken_only_own(void **state)
{
    struct fx *f = *state;
    mim_identity *a = fx_identity(f), *b = fx_identity(f);
    tc_client *alice, *bob, *carol;
    uint64_t seq;

    fx_start(f, NULL);
    bob = mail_online(f, b, "bob", 5002);
    alice = mail_online(f, a, "alice", 5001);
    expect_add(bob, "alice", 5001, a->sign_pk);
    deposit(alice, "bob", 50, 64, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    seq = expect_item(bob, "alice", a->sign_pk, 50, 64);
    fx_release(f, bob); /* without taking it */
    carol = mail_online(f, NULL, "carol", 5003);
    send_taken(carol, &seq, 1);
    expect_nothing_more(carol);
    bob = mail_online(f, b, "bob", 5002);
    assert_int_equal(expect_item(bob, "alice", a->sign_pk, 50, 64), seq);
}

/* 150 letters of 8000 bytes (1.2 MB) reach a slow newcomer (a small receive window) whole and in
 * order although the server may queue only 256 KiB for it: it sends them in pieces as its socket
 * drains. */
static void big_mailbox_in_pieces(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--mailbox-burst", "1000", "--max-queued", "262144", NULL};
    mim_identity *a = fx_identity(f), *b = fx_identity(f);
    tc_client *alice, *bob;
    uint64_t last = 0;

    fx_start(f, opts);
    registered(f, b, "bob");
    alice = mail_online(f, a, "alice", 5001);
    for (unsigned i = 0; i < 150; i++)
        deposit(alice, "bob", (uint8_t)i, 8000, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    bob = fx_client(f, b);
    bob->rcvbuf = 4096; /* a slow reader: the server's socket fills at once */
    bob->mss = 536;
    ASSERT_TC(bob, tc_connect(bob, f->sp.port));
    ASSERT_TC(bob, tc_handshake(bob, "bob"));
    ASSERT_TC(bob, tc_login_ex(bob, "bob", 5002, TC_LOGIN_MAILBOX));
    for (unsigned i = 0; i < 150; i++) {
        uint64_t seq = expect_item(bob, "alice", a->sign_pk, (uint8_t)i, 8000);
        assert_true(seq > last);
        last = seq;
    }
    expect_nothing_more(bob);
    ASSERT_LOG(f, "letters for bob wait for the socket to drain");
}

/* ---- old peers and the feature bits ---------------------------------------------------------- */

/* A peer whose Login did not ask for the mailbox never gets a MailItem, and is refused when it
 * sends a new arm; --mailbox off offers no feature. */
static void old_peer_untouched(void **state)
{
    struct fx *f = *state;
    mim_identity *b = fx_identity(f);
    tc_client *alice, *old;
    Mim__PresenceMsg m;
    Mim__Lookup l;

    fx_start(f, NULL);
    old = fx_online(f, b, "bob", 5002); /* no TC_LOGIN_MAILBOX */
    alice = mail_online(f, NULL, "alice", 5001);
    deposit(alice, "bob", 60, 100, MIM__DEPOSIT_RESULT__DEPOSIT_OK);
    expect_add(old, "alice", 5001, alice->id->sign_pk);
    expect_nothing_more(old);
    mim_lookup_init(&m, &l, "alice");
    ASSERT_TC(old, tc_send_msg(old, &m, MIM_STREAM_TAG_MESSAGE));
    expect_closed(old, MIM__ERROR_CODE__ERROR_PROTOCOL);
    ASSERT_LOG(f, "without the mailbox feature");
}

static void mailbox_off(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--mailbox", "off", NULL};
    tc_client *c;
    Mim__PresenceMsg m;
    Mim__Lookup l;

    fx_start(f, opts);
    c = fx_handshaken(f, NULL, "alice");
    assert_int_equal(c->server_features & MIM_FEATURE_MAILBOX, 0);
    ASSERT_TC(c, tc_login_ex(c, "alice", 5001, TC_LOGIN_MAILBOX));
    mim_lookup_init(&m, &l, "alice");
    ASSERT_TC(c, tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE));
    expect_closed(c, MIM__ERROR_CODE__ERROR_PROTOCOL);
}

/* ---- the directory ----------------------------------------------------------------------------
 */

static const Mim__LookupResult *lookup(tc_client *c, const char *name)
{
    Mim__PresenceMsg m;
    Mim__Lookup l;
    const Mim__PresenceMsg *r;

    mim_lookup_init(&m, &l, name);
    ASSERT_TC(c, tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE));
    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_LOOKUP_RESULT, TC_TIMEOUT_MS, &r));
    assert_string_equal(r->lookup_result->name, name);
    return r->lookup_result;
}

static const Mim__DirectoryPage *list(tc_client *c, const char *after, uint32_t limit)
{
    Mim__PresenceMsg m;
    Mim__DirectoryList l;
    const Mim__PresenceMsg *r;

    mim_directory_list_init(&m, &l, after, limit);
    ASSERT_TC(c, tc_send_msg(c, &m, MIM_STREAM_TAG_MESSAGE));
    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_DIRECTORY_PAGE, TC_TIMEOUT_MS, &r));
    return r->directory_page;
}

/* Lookups (in NFC, online or not, unknown) and a listing in pages; last_seen at logout. */
static void directory_lookup_and_list(void **state)
{
    struct fx *f = *state;
    mim_identity *b = fx_identity(f), *z = fx_identity(f);
    const Mim__LookupResult *res;
    const Mim__DirectoryPage *p;
    tc_client *alice;
    uint64_t before = (uint64_t)time(NULL) * 1000 - 1000, seen = 0;

    fx_start(f, NULL);
    registered(f, b, "bob");
    registered(f, z, "Zo\xc3\xab"); /* "Zoë", precomposed: NFC */
    alice = mail_online(f, NULL, "alice", 5001);

    res = lookup(alice, "Zoe\xcc\x88"); /* "Zoë" decomposed: the server puts it in NFC */
    assert_non_null(res->entry);
    assert_string_equal(res->entry->name, "Zo\xc3\xab");
    assert_memory_equal(res->entry->identity_pk.data, z->sign_pk, 32);
    assert_false(res->entry->online);
    assert_null(lookup(alice, "nobody")->entry);
    res = lookup(alice, "alice");
    assert_true(res->entry != NULL && res->entry->online);

    /* bob's logout is written within a second: wait for it, bounded. */
    for (int tries = 0; tries < 40 && seen == 0; tries++) {
        res = lookup(alice, "bob");
        assert_non_null(res->entry);
        seen = res->entry->last_seen_ms;
        if (seen == 0)
            usleep(100 * 1000); /* polling a bounded number of times, not hoping */
    }
    assert_true(seen >= before && seen <= (uint64_t)time(NULL) * 1000 + 1000);

    /* Byte order: "Zoë" (0x5a) < "alice" < "bob". */
    p = list(alice, "", 2);
    assert_int_equal(p->n_entries, 2);
    assert_string_equal(p->entries[0]->name, "Zo\xc3\xab");
    assert_string_equal(p->entries[1]->name, "alice");
    assert_true(p->entries[1]->online);
    assert_false(p->last);
    p = list(alice, "alice", 2);
    assert_int_equal(p->n_entries, 1);
    assert_string_equal(p->entries[0]->name, "bob");
    assert_true(p->last);
    assert_false(p->refused);
}

/* --directory off: no listing, exact lookups still answered. */
static void directory_private(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--directory", "off", NULL};
    const Mim__DirectoryPage *p;
    tc_client *alice;

    fx_start(f, opts);
    registered(f, fx_identity(f), "bob");
    alice = mail_online(f, NULL, "alice", 5001);
    p = list(alice, "", 0);
    assert_true(p->refused);
    assert_int_equal(p->n_entries, 0);
    assert_non_null(lookup(alice, "bob")->entry);
}

/* Lookups past the rate (a scan for names) close the session. */
static void directory_rate(void **state)
{
    struct fx *f = *state;
    tc_client *alice;
    Mim__PresenceMsg m;
    Mim__Lookup l;
    int rc = 0;

    fx_start(f, NULL);
    alice = mail_online(f, NULL, "alice", 5001);
    mim_lookup_init(&m, &l, "guess");
    for (int i = 0; i < 150 && rc == TC_OK; i++)
        rc = tc_send_msg(alice, &m, MIM_STREAM_TAG_MESSAGE);
    expect_closed(alice, MIM__ERROR_CODE__ERROR_PROTOCOL);
    ASSERT_LOG(f, "directory requests faster than");
}

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    PRESENCE_TEST(deposit_fetch_take),    PRESENCE_TEST(live_delivery),
    PRESENCE_TEST(deposit_idempotent),    PRESENCE_TEST(deposit_refusals),
    PRESENCE_TEST(deposit_rate),          PRESENCE_TEST(killed_after_ack),
    PRESENCE_TEST(letters_expire),        PRESENCE_TEST(taken_only_own),
    PRESENCE_TEST(big_mailbox_in_pieces), PRESENCE_TEST(old_peer_untouched),
    PRESENCE_TEST(mailbox_off),           PRESENCE_TEST(directory_lookup_and_list),
    PRESENCE_TEST(directory_private),     PRESENCE_TEST(directory_rate),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "integration");
}
