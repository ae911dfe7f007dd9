/* The presence server's pins in the peer store (shared/mim_store_contacts.c): accept-new, a
 * change held until trusted, apart from every user name, and one pin per server address (issue
 * 13). Each test on a SQLite file in a fresh temporary directory; no <sqlite3.h>. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_test.h"

static const uint8_t key_a[32] = {0xa1, 0xa2, 0xa3, [31] = 0xaf};
static const uint8_t key_b[32] = {0xb1, 0xb2, 0xb3, [31] = 0xbf};
static const uint8_t key_c[32] = {0xc1, 0xc2, 0xc3, [31] = 0xcf};

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-server-pins", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static mim_store *open_peer(const struct store_fixture *f)
{
    return mim_test_store_open(f, MIM_STORE_PEER);
}

static void test_server_pin(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    mim_contact c;

    EXPECT_INT(mim_store_server_pin_trust(st, NULL), MIM_ENOENT); /* nothing pinned */
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 100), MIM_PIN_NEW);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 200), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_trust(st, NULL), MIM_ENOENT); /* nothing pending */
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 300), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 301), MIM_PIN_CHANGED); /* held */
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 302), MIM_PIN_MATCH); /* old one back */
    EXPECT_INT(mim_store_server_pin_trust(st, NULL), MIM_ENOENT); /* ...so no pending */
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 303), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_c, 304), MIM_PIN_CHANGED); /* replaces it */
    EXPECT_INT(mim_store_server_pin_trust(st, NULL), 0);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_c, 400), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 401), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 402), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_server_pin_trust(st, NULL), 0);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 403), MIM_PIN_MATCH);

    /* No user name reaches the server's pin, nor the other way round. */
    EXPECT_INT(mim_store_pin_check(st, "server", key_a, 500), MIM_PIN_NEW);
    EXPECT_INT(mim_store_pin_check(st, "*server*", key_a, 500), MIM_PIN_NEW);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 501), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_contact_get(st, "server", &c), 0);
    assert_memory_equal(c.identity_pk, key_a, 32);
    mim_store_close(st);

    st = open_peer(f); /* the pin is durable */
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_b, 600), MIM_PIN_MATCH);
    mim_store_close(st);
}

/* Issue 13: one server pin per address; the pin of before the upgrade ('any', server NULL)
 * becomes the first checked address's own, and a second network's server is a new pin, not a
 * change. */
static void test_server_pin_per_address(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_peer(f);
    mim_contact c;

    EXPECT_INT(mim_store_server_pin_latest(st, &c), MIM_ENOENT);
    EXPECT_INT(mim_store_server_pin_check(st, NULL, key_a, 100), MIM_PIN_NEW); /* as migrated */
    /* Not claimed yet: its address reads the old pin. */
    EXPECT_INT(mim_store_server_pin_get(st, "10.0.0.1:4242", &c), 0);
    assert_memory_equal(c.identity_pk, key_a, 32);
    EXPECT_INT(mim_store_server_pin_check(st, "10.0.0.1:4242", key_a, 200), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_get(st, NULL, &c), MIM_ENOENT); /* claimed */
    /* Another network's server: its own pin, no alarm; each keeps its key. */
    EXPECT_INT(mim_store_server_pin_check(st, "192.168.7.2:4242", key_b, 300), MIM_PIN_NEW);
    EXPECT_INT(mim_store_server_pin_check(st, "10.0.0.1:4242", key_a, 301), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_check(st, "192.168.7.2:4242", key_b, 302), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_latest(st, &c), 0);
    assert_memory_equal(c.identity_pk, key_b, 32);
    /* A change at one address is that address's alone. */
    EXPECT_INT(mim_store_server_pin_check(st, "10.0.0.1:4242", key_c, 400), MIM_PIN_CHANGED);
    EXPECT_INT(mim_store_server_pin_trust(st, "192.168.7.2:4242"), MIM_ENOENT);
    EXPECT_INT(mim_store_server_pin_trust(st, "10.0.0.1:4242"), 0);
    EXPECT_INT(mim_store_server_pin_check(st, "10.0.0.1:4242", key_c, 401), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_check(st, "192.168.7.2:4242", key_b, 402), MIM_PIN_MATCH);
    EXPECT_INT(mim_store_server_pin_check(st, "", key_b, 403), MIM_EINVAL);
    mim_store_close(st);

    st = open_peer(f); /* durable */
    EXPECT_INT(mim_store_server_pin_check(st, "10.0.0.1:4242", key_c, 500), MIM_PIN_MATCH);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_pin_per_address, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
