/* mim-presence, black box, against hostile clients (presence_fixture.h): garbage, oversized and
 * truncated frames, broken handshakes, bad logins and status, frame caps and deadlines.
 *
 * Usage: test_presence_hostile SCENARIO   (the names are in the table at the bottom) */
#include "presence_fixture.h"

/* ---- 12: hostile input ------------------------------------------------------------------- */

static void hostile_oversized_length(void **state)
{
    struct fx *f = *state;
    uint8_t big[2 + 1025] = {0x04, 0x01}; /* 1025: one over the handshake cap */
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, "\xff\xff", 2));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);

    x = fx_connect(f, NULL);
    (void)tc_send_raw(x, big, sizeof(big)); /* the server may close before taking it all */
    expect_closed(x, 0);
    ASSERT_LOG(f, "frame length over the limit");
    assert_server_healthy(f, obs);
}

static void hostile_garbage(void **state)
{
    struct fx *f = *state;
    static const char http[] = "GET / HTTP/1.1\r\nHost: mim\r\n\r\n";
    uint8_t junk[100];
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, http, sizeof(http) - 1));
    expect_closed(x, 0);

    /* A well-formed frame of 98 random bytes where message 1 (32 bytes) belongs. */
    mim_random_bytes(junk, sizeof(junk));
    junk[0] = 0;
    junk[1] = sizeof(junk) - 2;
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, junk, sizeof(junk)));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "handshake message 1 is 98 bytes");
    assert_server_healthy(f, obs);
}

static void hostile_truncated_frame(void **state)
{
    struct fx *f = *state;
    uint8_t m1[MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG + 2];
    size_t len;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Message 1 minus its last byte, then EOF. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_raw(x, "\x00\x20", 2));
    ASSERT_TC(x, tc_send_raw(x, m1, sizeof(m1) - 1));
    ASSERT_TC(x, tc_shutdown_write(x));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "connection ended inside a frame");

    /* Message 3 minus its last byte, then EOF: no stream header may come back. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, sizeof(m1)));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3 + 2, sizeof(m3) - 2, &len));
    m3[0] = (uint8_t)(len >> 8);
    m3[1] = (uint8_t)len;
    ASSERT_TC(x, tc_send_raw(x, m3, len + 2 - 1));
    ASSERT_TC(x, tc_shutdown_write(x));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    assert_server_healthy(f, obs);
}

static void hostile_dribbled_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t m1[2 + MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG + 2], hdr[2 + MIM_STREAM_HEADER_LEN];
    uint8_t login[1024 + 2];
    size_t len;
    tc_client *obs, *d;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Every byte of the handshake and the login in its own send(): a correct peer on a bad
     * network. This one must succeed. */
    d = fx_connect(f, NULL);
    ASSERT_TC(d, tc_hs_msg1(d, m1 + 2));
    m1[0] = 0;
    m1[1] = MIM_KEY_LEN;
    ASSERT_TC(d, tc_send_dribble(d, m1, sizeof(m1), 1000));
    ASSERT_TC(d, tc_hs_read_msg2(d, TC_TIMEOUT_MS)); /* the server answered message 1 */
    assert_string_equal(d->server_fingerprint, f->sp.fingerprint);

    ASSERT_TC(d, tc_hs_msg3(d, "dribbler", m3 + 2, sizeof(m3) - 2, &len));
    m3[0] = (uint8_t)(len >> 8);
    m3[1] = (uint8_t)len;
    ASSERT_TC(d, tc_send_dribble(d, m3, len + 2, 500));
    hdr[0] = 0;
    hdr[1] = MIM_STREAM_HEADER_LEN;
    memcpy(hdr + 2, d->tx_header, MIM_STREAM_HEADER_LEN);
    ASSERT_TC(d, tc_send_dribble(d, hdr, sizeof(hdr), 500));
    ASSERT_TC(d, tc_hs_read_header(d, TC_TIMEOUT_MS));

    ASSERT_TC(d, tc_build_login(d, "dribbler", 5005, 0, login + 2, sizeof(login) - 2, &len));
    login[0] = (uint8_t)(len >> 8);
    login[1] = (uint8_t)len;
    ASSERT_TC(d, tc_send_dribble(d, login, len + 2, 500));
    ASSERT_TC(d, tc_read_table(d, TC_TIMEOUT_MS));
    assert_int_equal(d->ntable, 2);
    check_peer(tc_table_find(d, "dribbler"), "dribbler", 5005, d->id->sign_pk);
    expect_add(obs, "dribbler", 5005, d->id->sign_pk);
    expect_nothing_more(d);
    assert_server_healthy(f, obs);
}

static void hostile_wrong_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t m1[MIM_KEY_LEN + 1], m3[MIM_NOISE_MAX_MSG];
    size_t len;
    tc_client *obs, *x;
    mim_identity *other;

    fx_start(f, NULL);
    obs = observer_online(f);
    other = fx_identity(f);

    /* Message 1 one byte too long, and one byte too short. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    m1[MIM_KEY_LEN] = 0;
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN + 1));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "handshake message 1 is 33 bytes, not 32");
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN - 1));
    expect_closed(x, 0);

    /* Message 3 with one bit flipped: it must not decrypt, and no stream header comes back. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3, sizeof(m3), &len));
    m3[len / 2] ^= 0x10;
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "handshake message 3 rejected");

    /* Message 3 whose payload claims another identity than the one that signed our Noise
     * static key. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    mim_identity_free(x->id); /* x owned it; `other` is the fixture's */
    x->id = other;
    x->owns_id = 0;
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3, sizeof(m3), &len));
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "static key not signed by the identity key");

    /* A stream header of the wrong size. */
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_hs_msg1(x, m1));
    ASSERT_TC(x, tc_send_frame(x, m1, MIM_KEY_LEN));
    ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
    ASSERT_TC(x, tc_hs_msg3(x, "mallory", m3, sizeof(m3), &len));
    ASSERT_TC(x, tc_send_frame(x, m3, len));
    ASSERT_TC(x, tc_send_frame(x, x->tx_header, MIM_STREAM_HEADER_LEN - 1));
    expect_closed(x, 0);
    ASSERT_LOG(f, "stream header is 23 bytes");
    assert_server_healthy(f, obs);
}

static void hostile_login_before_handshake(void **state)
{
    struct fx *f = *state;
    uint8_t login[1024];
    size_t len;
    tc_client *obs, *sizer, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Learn the exact size of a real login frame... */
    sizer = fx_handshaken(f, NULL, "mallory");
    ASSERT_TC(sizer, tc_build_login(sizer, "mallory", 5666, 0, login, sizeof(login), &len));
    tc_disconnect(sizer, 0);
    /* ...and send that many random bytes as the very first frame. */
    mim_random_bytes(login, len);
    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_frame(x, login, len));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);

    /* A valid encrypted message that is not a Login, right after the handshake. */
    x = fx_handshaken(f, NULL, "mallory");
    ASSERT_TC(x, tc_send_ping(x, 1));
    expect_closed(x, MIM__ERROR_CODE__ERROR_PROTOCOL);
    ASSERT_LOG(f, "expected Login first");
    assert_server_healthy(f, obs);
}

static void hostile_zero_length_frame(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_connect(f, NULL);
    ASSERT_TC(x, tc_send_raw(x, "\x00\x00", 2));
    expect_closed(x, 0);
    assert_int_equal(x->discarded, 0);
    ASSERT_LOG(f, "empty frame");

    /* From a peer that is online: closed, and the others told. */
    x = fx_online(f, NULL, "zero", 5001);
    expect_add(obs, "zero", 5001, x->id->sign_pk);
    ASSERT_TC(x, tc_send_raw(x, "\x00\x00", 2));
    expect_closed(x, 0);
    expect_del(obs, "zero");
    assert_server_healthy(f, obs);
}

static void hostile_tampered_transport(void **state)
{
    struct fx *f = *state;
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__Ping ping = MIM__PING__INIT;
    const Mim__PresenceMsg *mp = &m, *got;
    uint8_t frame[256];
    size_t len;
    tc_client *obs, *t;

    fx_start(f, NULL);
    obs = observer_online(f);
    m.body_case = MIM__PRESENCE_MSG__BODY_PING;
    m.ping = &ping;
    ping.nonce = 7;

    /* One ciphertext bit flipped. */
    t = fx_online(f, NULL, "tamper", 5001);
    expect_add(obs, "tamper", 5001, t->id->sign_pk);
    ASSERT_TC(t, tc_seal(t, &mp, 1, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    frame[len / 2] ^= 0x01;
    ASSERT_TC(t, tc_send_frame(t, frame, len));
    expect_closed(t, 0);
    expect_del(obs, "tamper");
    ASSERT_LOG(f, "tamper offline: decryption failed");

    /* A replayed frame: the first copy is answered, the second closes the connection. */
    t = fx_online(f, NULL, "replay", 5002);
    expect_add(obs, "replay", 5002, t->id->sign_pk);
    ASSERT_TC(t, tc_seal(t, &mp, 1, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    ASSERT_TC(t, tc_send_frame(t, frame, len));
    ASSERT_TC(t, tc_expect(t, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &got));
    assert_int_equal(got->pong->nonce, 7);
    ASSERT_TC(t, tc_send_frame(t, frame, len));
    expect_closed(t, 0);
    expect_del(obs, "replay");

    /* A transport frame shorter than the secretstream overhead. */
    t = fx_online(f, NULL, "short", 5003);
    expect_add(obs, "short", 5003, t->id->sign_pk);
    ASSERT_TC(t, tc_send_frame(t, frame, MIM_STREAM_ABYTES - 1));
    expect_closed(t, 0);
    expect_del(obs, "short");
    assert_server_healthy(f, obs);
}

static void hostile_bad_login(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_handshaken(f, NULL, "forger");
    ASSERT_VERDICT(x, tc_login_ex(x, "forger", 5001, TC_LOGIN_BAD_SIG),
                   MIM__ERROR_CODE__ERROR_BAD_SIGNATURE);
    expect_closed(x, 0);
    ASSERT_LOG(f, "login signature does not verify");

    /* A Login for another name than the handshake's. */
    x = fx_handshaken(f, NULL, "carol");
    ASSERT_VERDICT(x, tc_login(x, "dave", 5001), MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_closed(x, 0);
    ASSERT_LOG(f, "login name differs from handshake");

    /* A second Login on a session already online. */
    x = fx_online(f, NULL, "twice", 5002);
    expect_add(obs, "twice", 5002, x->id->sign_pk);
    ASSERT_VERDICT(x, tc_login(x, "twice", 5002), MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_closed(x, 0);
    expect_del(obs, "twice");
    assert_server_healthy(f, obs); /* and nobody heard of forger or dave */
}

static void hostile_bad_status(void **state)
{
    struct fx *f = *state;
    tc_client *obs, *x;
    char longtext[MIM_STATUS_TEXT_MAX + 2];

    fx_start(f, NULL);
    obs = observer_online(f);

    x = fx_online(f, NULL, "noisy", 5001);
    expect_add(obs, "noisy", 5001, x->id->sign_pk);
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_AWAY, longtext));
    expect_closed(x, MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_del(obs, "noisy"); /* and no status update */

    x = fx_online(f, NULL, "escape", 5002);
    expect_add(obs, "escape", 5002, x->id->sign_pk);
    ASSERT_TC(x, tc_send_status(x, MIM__STATUS__STATUS_AWAY, "\x1b[2Jgotcha"));
    expect_closed(x, MIM__ERROR_CODE__ERROR_PROTOCOL);
    expect_del(obs, "escape");
    ASSERT_LOG(f, "malformed message");
    assert_server_healthy(f, obs);
}

/* Names the server refuses, sent in message 3: with the transport up it says BAD_NAME. */
static void hostile_bad_name(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        " lead",                             /* space at an end */
        "tab\there",                         /* control character */
        "zero\xe2\x80\x8bwidth",             /* U+200B zero-width space */
        "\xc3\x28",                          /* not UTF-8 */
        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 characters */
        "",                                  /* empty */
    };
    uint8_t m1[MIM_KEY_LEN], m3[MIM_NOISE_MAX_MSG];
    size_t len;
    tc_client *obs, *x;

    fx_start(f, NULL);
    obs = observer_online(f);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        x = fx_connect(f, NULL);
        ASSERT_TC(x, tc_hs_msg1(x, m1));
        ASSERT_TC(x, tc_send_frame(x, m1, sizeof(m1)));
        ASSERT_TC(x, tc_hs_read_msg2(x, TC_TIMEOUT_MS));
        ASSERT_TC(x, tc_hs_msg3(x, bad[i], m3, sizeof(m3), &len));
        ASSERT_TC(x, tc_send_frame(x, m3, len));
        ASSERT_TC(x, tc_send_frame(x, x->tx_header, sizeof(x->tx_header)));
        ASSERT_TC(x, tc_hs_read_header(x, TC_TIMEOUT_MS));
        if (tc_expect_closed(x, PROMPT_MS) != MIM__ERROR_CODE__ERROR_BAD_NAME)
            fail_msg("name #%zu (\"%s\"): want Error BAD_NAME then close, got %d: %s", i, bad[i],
                     x->error_code, tc_error(x));
    }
    assert_server_healthy(f, obs);
}

/* ---- 21: frame caps and deadlines ------------------------------------------------------------ */

static void prelogin_frame_cap(void **state)
{
    struct fx *f = *state;
    enum { NPINGS = 200 };
    Mim__PresenceMsg m[NPINGS];
    Mim__Ping p[NPINGS];
    const Mim__PresenceMsg *mp[NPINGS], *got;
    static uint8_t frame[8192];
    size_t len;
    tc_client *obs, *x, *y;

    fx_start(f, NULL);
    obs = observer_online(f);

    /* Transport up, no Login yet: the 1024-byte cap still holds. The length alone must do it:
     * with no body sent, a server that took the length would wait (and we would time out). */
    x = fx_handshaken(f, NULL, "eager");
    ASSERT_TC(x, tc_send_raw(x, "\x07\xd0", 2)); /* 2000 */
    expect_closed(x, 0);
    ASSERT_LOG(f, "frame length over the limit");

    /* Logged in, the same 2000 bytes are a frame like any other: a batch of pings. */
    y = fx_online(f, NULL, "bigbatch", 5001);
    expect_add(obs, "bigbatch", 5001, y->id->sign_pk);
    for (int i = 0; i < NPINGS; i++) {
        mim__presence_msg__init(&m[i]);
        mim__ping__init(&p[i]);
        p[i].nonce = 0x5eed000000000000ull | (uint64_t)i;
        m[i].body_case = MIM__PRESENCE_MSG__BODY_PING;
        m[i].ping = &p[i];
        mp[i] = &m[i];
    }
    ASSERT_TC(y, tc_seal(y, mp, NPINGS, MIM_STREAM_TAG_MESSAGE, frame, sizeof(frame), &len));
    if (len < 2000)
        fail_msg("the batch of %d pings is %zu bytes, want >= 2000", NPINGS, len);
    ASSERT_TC(y, tc_send_frame(y, frame, len));
    for (int i = 0; i < NPINGS; i++) {
        ASSERT_TC(y, tc_expect(y, MIM__PRESENCE_MSG__BODY_PONG, TC_TIMEOUT_MS, &got));
        assert_int_equal(got->pong->nonce, p[i].nonce);
    }
    expect_nothing_more(y);
    assert_server_healthy(f, obs);
}

/* A frame begun and never finished: cut after 10 s (the server checks about once a second). */
static void frame_completion_deadline(void **state)
{
    struct fx *f = *state;
    uint8_t part[2 + 10] = {0, 100};
    const Mim__PresenceMsg *m;
    tc_client *obs, *x;
    uint64_t t0, took;

    fx_start(f, NULL);
    obs = observer_online(f);
    x = fx_online(f, NULL, "stalled", 5001);
    expect_add(obs, "stalled", 5001, x->id->sign_pk);

    mim_random_bytes(part + 2, sizeof(part) - 2);
    ASSERT_TC(x, tc_send_raw(x, part, sizeof(part))); /* 12 of 102 bytes, then nothing */
    t0 = tc_now_ms();
    ASSERT_TC(obs, tc_expect(obs, MIM__PRESENCE_MSG__BODY_DEL, 15000, &m));
    took = tc_now_ms() - t0;
    assert_string_equal(m->del->name, "stalled");
    if (took < 9000)
        fail_msg("the partial frame was cut after %llu ms, before its 10 s",
                 (unsigned long long)took);
    expect_closed(x, 0);
    ASSERT_LOG(f, "stalled offline: frame not completed within 10000 ms");
    assert_server_healthy(f, obs);
}

/* ---- the table ------------------------------------------------------------------------------ */

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    PRESENCE_TEST(hostile_oversized_length),  PRESENCE_TEST(hostile_garbage),
    PRESENCE_TEST(hostile_truncated_frame),   PRESENCE_TEST(hostile_dribbled_handshake),
    PRESENCE_TEST(hostile_wrong_handshake),   PRESENCE_TEST(hostile_login_before_handshake),
    PRESENCE_TEST(hostile_zero_length_frame), PRESENCE_TEST(hostile_tampered_transport),
    PRESENCE_TEST(hostile_bad_login),         PRESENCE_TEST(hostile_bad_status),
    PRESENCE_TEST(hostile_bad_name),          PRESENCE_TEST(prelogin_frame_cap),
    PRESENCE_TEST(frame_completion_deadline),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "integration");
}
