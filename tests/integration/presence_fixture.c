/* The fixture of mim-presence's black-box scenarios (see presence_fixture.h). */
#include "presence_fixture.h"

const uint8_t loopback4[4] = {127, 0, 0, 1};
const uint8_t loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    if (sp_init(&f->sp, "presence") != 0)
        fail_msg("sp_init: %s", f->sp.err);
    *state = f;
    return 0;
}

int fx_teardown(void **state)
{
    struct fx *f = *state;
    int status = 0, stop_rc = 0, running = f->sp.pid != 0;
    char st[64], why[sizeof(f->sp.err)] = "";

    for (size_t i = 0; i < f->nclients; i++)
        tc_free(f->clients[i]);
    if (running && (stop_rc = sp_stop(&f->sp, &status)) != 0)
        snprintf(why, sizeof(why), "%s", f->sp.err);
    sp_dump_log(&f->sp, stderr);
    sp_cleanup(&f->sp);
    for (size_t i = 0; i < f->nids; i++)
        mim_identity_free(f->ids[i]);
    free(f);
    if (running) {
        if (stop_rc != 0)
            fail_msg("stopping the server failed: %s", why);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("on SIGTERM the server %s, want exit status 0",
                     sp_status_str(status, st, sizeof(st)));
    }
    return 0;
}

void fx_start(struct fx *f, const char *const *extra)
{
    ASSERT_SP(f, sp_start(&f->sp, extra));
}

/* Stops the server and requires exit status 0. */
void fx_stop_ok(struct fx *f)
{
    int status = 0;
    char st[64];

    ASSERT_SP(f, sp_stop(&f->sp, &status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("on SIGTERM the server %s, want exit status 0",
                 sp_status_str(status, st, sizeof(st)));
}

mim_identity *fx_identity(struct fx *f)
{
    mim_identity *id;

    assert_true(f->nids < FX_MAX_IDS);
    id = mim_identity_generate();
    assert_non_null(id);
    f->ids[f->nids++] = id;
    return id;
}

/* A client (freed by the teardown) using id, or a fresh identity when id is NULL. */
tc_client *fx_client(struct fx *f, mim_identity *id)
{
    tc_client *c;

    assert_true(f->nclients < FX_MAX_CLIENTS);
    c = tc_new(id);
    assert_non_null(c);
    f->clients[f->nclients++] = c;
    return c;
}

/* Frees c now and gives its slot back, for tests that go through many connections. */
void fx_release(struct fx *f, tc_client *c)
{
    for (size_t i = 0; i < f->nclients; i++) {
        if (f->clients[i] == c) {
            f->clients[i] = f->clients[--f->nclients];
            tc_free(c);
            return;
        }
    }
    fail_msg("fx_release: not a fixture client");
}

tc_client *fx_connect(struct fx *f, mim_identity *id)
{
    tc_client *c = fx_client(f, id);
    ASSERT_TC(c, tc_connect(c, f->sp.port));
    return c;
}

/* Connects and completes the handshake, checking the server's key against the ready line. */
tc_client *fx_handshaken(struct fx *f, mim_identity *id, const char *name)
{
    tc_client *c = fx_connect(f, id);
    ASSERT_TC(c, tc_handshake(c, name));
    assert_string_equal(c->server_fingerprint, f->sp.fingerprint);
    return c;
}

/* A logged-in client: the table has arrived. */
tc_client *fx_online(struct fx *f, mim_identity *id, const char *name, uint16_t port)
{
    tc_client *c = fx_handshaken(f, id, name);
    ASSERT_TC(c, tc_login(c, name, port));
    return c;
}

/* p is `name` as the server saw it: connected from addr (addr_len 4 or 16 bytes), just online. */
void check_peer_at(const tc_peer *p, const char *name, uint16_t port, const uint8_t pk[32],
                   const uint8_t *addr, size_t addr_len)
{
    if (p == NULL)
        fail_msg("%s is missing", name);
    assert_string_equal(p->name, name);
    assert_int_equal(p->addr_len, addr_len);
    assert_memory_equal(p->addr, addr, addr_len);
    assert_int_equal(p->port, port);
    assert_memory_equal(p->identity_pk, pk, MIM_KEY_LEN);
    assert_int_equal(p->status, MIM__STATUS__STATUS_AVAILABLE);
    assert_string_equal(p->status_text, "");
}

void check_peer(const tc_peer *p, const char *name, uint16_t port, const uint8_t pk[32])
{
    check_peer_at(p, name, port, pk, loopback4, sizeof(loopback4));
}

void expect_add(tc_client *c, const char *name, uint16_t port, const uint8_t pk[32])
{
    const Mim__PresenceMsg *m;
    tc_peer p;

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_ADD, TC_TIMEOUT_MS, &m));
    tc_peer_from_info(&p, m->add->peer);
    check_peer(&p, name, port, pk);
}

void expect_del(tc_client *c, const char *name)
{
    const Mim__PresenceMsg *m;

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_DEL, TC_TIMEOUT_MS, &m));
    assert_string_equal(m->del->name, name);
}

void expect_status(tc_client *c, const char *name, int status, const char *text)
{
    const Mim__PresenceMsg *m;

    ASSERT_TC(c, tc_expect(c, MIM__PRESENCE_MSG__BODY_STATUS, TC_TIMEOUT_MS, &m));
    assert_string_equal(m->status->name, name);
    assert_int_equal(m->status->status, status);
    assert_string_equal(m->status->text, text);
}

/* Nothing else is pending for c: a Ping gets its Pong as the very next message. */
void expect_nothing_more(tc_client *c)
{
    ASSERT_TC(c, tc_sync(c, TC_TIMEOUT_MS));
}

/* c is closed by the server within PROMPT_MS, after an Error with code `want` (0: none). */
void expect_closed(tc_client *c, int want)
{
    ASSERT_VERDICT(c, tc_expect_closed(c, PROMPT_MS), want);
}

/* After an offender was dealt with: the observer is still online and hears nothing it should
 * not have, and a newcomer can still log in (and the observer hears of that). */
void assert_server_healthy(struct fx *f, tc_client *observer)
{
    char name[32];
    tc_client *n;

    expect_nothing_more(observer);
    snprintf(name, sizeof(name), "newcomer%u", ++f->newcomers);
    n = fx_online(f, NULL, name, 7000);
    assert_non_null(tc_table_find(n, "observer"));
    expect_add(observer, name, 7000, n->id->sign_pk);
    expect_nothing_more(observer);
}

tc_client *observer_online(struct fx *f)
{
    return fx_online(f, NULL, "observer", 6000);
}
