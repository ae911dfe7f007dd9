/* mim-presence's signed broadcaster list (issue 16), black box: the real server on loopback
 * started with and without --broadcasters, test clients that log in with and without
 * MIM_LOGIN_FEATURE_BROADCASTERS. The list must follow the table, say who may broadcast (in
 * NFC, sorted, each once), and verify under the key the server proved in its handshake; an
 * older peer must never see it; a bad --broadcasters is a usage error. One scenario per ctest
 * entry (integration/<scenario>). */
#include "presence_fixture.h"

#include "mim_buf.h"
#include "mim_codec.h"
#include "mim_crypto.h"

/* Logs c in as name asking for the list, and returns the list that follows the table, its
 * signature checked under the server's key from the handshake. */
static const Mim__BroadcasterList *list_after_login(struct fx *f, const char *name)
{
    tc_client *c = fx_handshaken(f, NULL, name);
    const Mim__PresenceMsg *r;
    const Mim__BroadcasterList *l;
    mim_buf signed_bytes = {0};

    ASSERT_TC(c, tc_login_ex(c, name, 5001, TC_LOGIN_BROADCASTERS));
    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_BROADCASTERS, TC_TIMEOUT_MS, &r));
    l = r->broadcasters;
    assert_true(l->issued_ms > 0);
    assert_int_equal(mim_broadcaster_list_signed(l->issued_ms, l->restricted,
                                                 (const char *const *)l->names, l->n_names,
                                                 &signed_bytes),
                     0);
    if (mim_sign_verify(c->server_pk, signed_bytes.data, signed_bytes.len, l->sig.data) != 0)
        fail_msg("the broadcaster list's signature does not verify under the server's key");
    /* The same bytes under another domain or another issue time must not verify. */
    signed_bytes.data[0] ^= 1;
    assert_int_not_equal(
        mim_sign_verify(c->server_pk, signed_bytes.data, signed_bytes.len, l->sig.data), 0);
    mim_buf_free(&signed_bytes);
    return l;
}

/* --broadcasters "zed,amy,Zo\u0065\u0301,amy": restricted to amy, zed and Zoé in NFC, in byte
 * order, each once. */
static void broadcasters_signed(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--broadcasters", "zed,amy,Zoe\xcc\x81,amy", NULL};
    const Mim__BroadcasterList *l;

    fx_start(f, opts);
    l = list_after_login(f, "alice");
    assert_true(l->restricted);
    assert_int_equal(l->n_names, 3);
    assert_string_equal(l->names[0], "Zo\xc3\xa9");
    assert_string_equal(l->names[1], "amy");
    assert_string_equal(l->names[2], "zed");
}

/* No --broadcasters: an open list (anyone may broadcast), signed all the same, so that a peer
 * learns when a restriction is lifted. */
static void broadcasters_open(void **state)
{
    struct fx *f = *state;
    const Mim__BroadcasterList *l;

    fx_start(f, NULL);
    l = list_after_login(f, "alice");
    assert_false(l->restricted);
    assert_int_equal(l->n_names, 0);
}

/* A peer whose Login does not ask for the list (an older version) never gets arm 19. */
static void broadcasters_old_peer(void **state)
{
    struct fx *f = *state;
    static const char *const opts[] = {"--broadcasters", "amy", NULL};
    tc_client *c;

    fx_start(f, opts);
    c = fx_handshaken(f, NULL, "old");
    ASSERT_TC(c, tc_login_ex(c, "old", 5001, 0));
    expect_nothing_more(c);
}

/* A bad --broadcasters is a usage error (exit 2) that says which name. */
static void broadcasters_bad_option(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"amy,,zed", "amy,bad\x01name", ","};
    char out[256];
    int status = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {MIM_PRESENCE_BIN, "--broadcasters", bad[i], "--port", "0", NULL};
        ASSERT_SP(f, sp_run(&f->sp, argv, 10000, out, sizeof(out), &status));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
            fail_msg("--broadcasters '%s': status %d, want exit status 2", bad[i], status);
    }
    assert_true(sp_log_contains(&f->sp, "--broadcasters"));
}

/* CMake reads the scenario names from this table (mim_add_scenarios, tests/CMakeLists.txt). */
static const struct CMUnitTest tests[] = {
    PRESENCE_TEST(broadcasters_signed),
    PRESENCE_TEST(broadcasters_open),
    PRESENCE_TEST(broadcasters_old_peer),
    PRESENCE_TEST(broadcasters_bad_option),
};

int main(int argc, char **argv)
{
    return scenario_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "integration");
}
