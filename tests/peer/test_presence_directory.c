/* The presence client's directory (peer/presence_client_directory.c, issue 14) against a
 * hostile server: a fake one (a real Noise responder offering FEATURE_MAILBOX, in this file)
 * answers the client's DirectoryList and Lookup as no real mim-presence would. Each scenario is
 * its own ctest entry (peer/directory_<name>):
 *
 *   endless   pages that never say last: the client keeps MIM_STORE_DIRECTORY_MAX names, then
 *             reports the listing incomplete and asks no more (memory stays bounded)
 *   stuck     a page that does not move on after the last name: the channel ends
 *   unasked   a page nobody asked for: the channel ends
 *   wrong_name a LookupResult whose entry names someone else: the channel ends */
#include "mim_buf.h"
#include "mim_channel.h"
#include "mim_codec.h"
#include "mim_error.h"
#include "peer_env.h"
#include "presence_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define WAIT_MS 20000

enum mode { ENDLESS, STUCK, UNASKED, WRONG_NAME };

typedef struct world {
    pe_loop l;
    char tmp[PE_PATH_MAX];
    uv_tcp_t lis;
    mim_identity *server_id, *id;
    mim_channel *ch; /* the fake server's end */
    int port;
    enum mode mode;
    size_t pages, served; /* pages asked for; names served */
    int closed;           /* the fake server saw its connection end */
    mim_store *store;
    presence_client *pc;
    int online, stopped;
    int listed, complete; /* on_directory came; its complete flag */
    size_t nlisted;
} world;

static enum mode scenario_mode;

/* ---- the fake server ------------------------------------------------------------------------- */

static void fs_send(world *w, const Mim__PresenceMsg *m)
{
    mim_buf b = {0};

    if (mim_presence_batch_append(&b, m) != 0 || mim_channel_send(w->ch, b.data, b.len, 0) != 0)
        mim_channel_abort(w->ch, "fake server: cannot send");
    mim_buf_wipe_free(&b);
}

/* A page of up to 256 names after `after` (ENDLESS), or one that starts at `after` (STUCK). */
static void fs_page(world *w, const char *after)
{
    static char names[MIM_DIRECTORY_PAGE_MAX][16];
    static Mim__DirectoryEntry e[MIM_DIRECTORY_PAGE_MAX], *pe[MIM_DIRECTORY_PAGE_MAX];
    static uint8_t pk[32];
    Mim__PresenceMsg m;
    Mim__DirectoryPage page;
    size_t n = MIM_DIRECTORY_PAGE_MAX;

    w->pages++;
    for (size_t i = 0; i < n; i++) {
        if (w->mode == STUCK && w->pages > 1 && i == 0)
            snprintf(names[i], sizeof(names[i]), "%s", after); /* not after it */
        else
            snprintf(names[i], sizeof(names[i]), "n%08zu", w->served++);
        mim_directory_entry_init(&e[i], names[i], pk, 0, 1000);
        pe[i] = &e[i];
    }
    mim_directory_page_init(&m, &page, pe, n, 0, 0);
    fs_send(w, &m);
}

static void fs_lookup(world *w, const Mim__Lookup *l)
{
    static uint8_t pk[32];
    Mim__PresenceMsg m;
    Mim__LookupResult r;
    Mim__DirectoryEntry e;

    (void)l;
    mim_directory_entry_init(&e, "mallory", pk, 1, 0);
    mim_lookup_result_init(&m, &r, "bob", &e);
    fs_send(w, &m);
}

static void fs_login(world *w)
{
    Mim__PresenceMsg m = MIM__PRESENCE_MSG__INIT;
    Mim__TableChunk tc = MIM__TABLE_CHUNK__INIT;

    tc.last = 1;
    m.body_case = MIM__PRESENCE_MSG__BODY_TABLE;
    m.table = &tc;
    fs_send(w, &m);
    if (w->mode == UNASKED)
        fs_page(w, "");
}

static void fs_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    world *w = mim_channel_data(ch);
    Mim__PresenceBatch *b;
    char err[128];

    (void) final;
    if (mim_presence_batch_decode(p, len, MIM_FROM_PEER, &b, err, sizeof(err)) != 0) {
        mim_channel_abort(ch, "fake server: a batch that does not decode");
        return;
    }
    for (size_t i = 0; i < b->n_msgs && w->ch != NULL; i++) {
        const Mim__PresenceMsg *m = b->msgs[i];
        if (m->body_case == MIM__PRESENCE_MSG__BODY_LOGIN)
            fs_login(w);
        else if (m->body_case == MIM__PRESENCE_MSG__BODY_DIRECTORY_LIST)
            fs_page(w, m->directory_list->after);
        else if (m->body_case == MIM__PRESENCE_MSG__BODY_LOOKUP)
            fs_lookup(w, m->lookup);
    }
    mim_presence_batch_free(b);
}

static int fs_authenticated(mim_channel *ch, const uint8_t pk[MIM_KEY_LEN], const char *name,
                            const char **reason)
{
    (void)ch, (void)pk, (void)name, (void)reason;
    return 0;
}

static void fs_closed(mim_channel *ch, const char *reason)
{
    world *w = mim_channel_data(ch);

    (void)reason;
    if (w->ch == ch)
        w->ch = NULL;
    w->closed++;
}

static const mim_channel_events fs_events = {
    .on_authenticated = fs_authenticated,
    .on_plaintext = fs_plaintext,
    .on_closed = fs_closed,
};

static void fs_connection(uv_stream_t *lis, int status)
{
    world *w = lis->data;
    mim_channel_config cfg;

    if (status != 0 || w->ch != NULL || w->closed > 0)
        return; /* one connection: a reconnect after the end is not this test's */
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = lis->loop;
    cfg.identity = w->server_id;
    cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    cfg.my_name = "";
    cfg.remote_name_mode = MIM_HS_NAME_ANY;
    cfg.events = &fs_events;
    cfg.data = w;
    cfg.my_features = MIM_FEATURE_MAILBOX;
    if (mim_channel_accept(&cfg, lis, &w->ch) != 0)
        w->ch = NULL;
}

static int fs_start(world *w)
{
    struct sockaddr_in a;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if ((w->server_id = mim_identity_generate()) == NULL)
        return -1;
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_init(&w->l.loop, &w->lis) != 0)
        return -1;
    w->lis.data = w;
    if (uv_tcp_bind(&w->lis, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&w->lis, 8, fs_connection) != 0 ||
        uv_tcp_getsockname(&w->lis, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    w->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

/* ---- the client ------------------------------------------------------------------------------ */

static void on_state(void *ud, enum presence_client_state state, const char *server)
{
    world *w = ud;
    (void)server;
    if (state == PRESENCE_CONNECTED)
        w->online = 1;
}

static void on_directory(void *ud, const mim_directory_entry *e, size_t n, int complete,
                         int refused)
{
    world *w = ud;

    (void)refused;
    assert_true(n == 0 || strcmp(e[n - 1].name, e[0].name) > 0); /* in name order */
    w->listed++;
    w->nlisted = n;
    w->complete = complete;
}

static void on_lookup(void *ud, const char *name, const mim_directory_entry *e)
{
    (void)ud, (void)name, (void)e;
    fail_msg("a lookup result naming someone else was believed");
}

static const presence_client_events client_events = {
    .on_state = on_state,
    .on_lookup = on_lookup,
    .on_directory = on_directory,
};

static int is_online(void *arg)
{
    return ((world *)arg)->online;
}

static int has_listed(void *arg)
{
    return ((world *)arg)->listed > 0;
}

static int has_closed(void *arg)
{
    return ((world *)arg)->closed > 0;
}

static int has_stopped(void *arg)
{
    return ((world *)arg)->stopped;
}

static void on_stopped(void *ud)
{
    ((world *)ud)->stopped = 1;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    char path[PE_PATH_MAX + 16];
    presence_client_config cfg;

    if (w == NULL || pe_loop_init(&w->l) != 0 || pe_tmpdir(w->tmp, "presence-directory") != 0 ||
        fs_start(w) != 0 || (w->id = mim_identity_generate()) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/peer.db", w->tmp);
    if (mim_store_open(path, MIM_STORE_PEER, &w->store) != 0)
        return -1;
    w->mode = scenario_mode;
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = &w->l.loop;
    cfg.id = w->id;
    cfg.name = "alice";
    cfg.listen_port = 5000;
    cfg.store = w->store;
    cfg.backoff_min_ms = 60000; /* no reconnect within a test */
    cfg.backoff_max_ms = 60000;
    uv_ip4_addr("127.0.0.1", w->port, (struct sockaddr_in *)&cfg.server);
    if (presence_client_start(&w->pc, &cfg, &client_events, w) != 0)
        return -1;
    *state = w;
    return pe_loop_wait(&w->l, is_online, w, WAIT_MS) ? 0 : -1;
}

static int teardown(void **state)
{
    world *w = *state;

    presence_client_stop(w->pc, on_stopped);
    assert_true(pe_loop_wait(&w->l, has_stopped, w, WAIT_MS));
    if (w->ch != NULL)
        mim_channel_abort(w->ch, "done");
    uv_close((uv_handle_t *)&w->lis, NULL);
    assert_int_equal(pe_loop_close(&w->l), 0);
    mim_store_close(w->store);
    mim_identity_free(w->id);
    mim_identity_free(w->server_id);
    pe_rmtree(w->tmp);
    free(w);
    return 0;
}

static void test_endless(void **state)
{
    world *w = *state;

    assert_int_equal(presence_client_directory_list(w->pc), 0);
    assert_true(pe_loop_wait(&w->l, has_listed, w, WAIT_MS));
    assert_int_equal(w->nlisted, MIM_STORE_DIRECTORY_MAX);
    assert_int_equal(w->complete, 0);
    /* No page is asked for after the cap: the count stays where the cap put it. */
    size_t pages = w->pages;
    (void)pe_loop_wait(&w->l, NULL, NULL, 300);
    assert_int_equal(w->pages, pages);
    assert_int_equal(pages, (MIM_STORE_DIRECTORY_MAX + MIM_DIRECTORY_PAGE_MAX - 1) /
                                MIM_DIRECTORY_PAGE_MAX);
    assert_int_equal(w->closed, 0); /* nothing wrong on the wire: the channel stays */
}

static void test_stuck(void **state)
{
    world *w = *state;

    assert_int_equal(presence_client_directory_list(w->pc), 0);
    assert_true(pe_loop_wait(&w->l, has_closed, w, WAIT_MS));
    assert_int_equal(w->pages, 2);
    assert_int_equal(w->listed, 0);
}

static void test_unasked(void **state)
{
    world *w = *state;

    assert_true(pe_loop_wait(&w->l, has_closed, w, WAIT_MS));
    assert_int_equal(w->listed, 0);
}

static void test_wrong_name(void **state)
{
    world *w = *state;

    assert_int_equal(presence_client_lookup(w->pc, "bob"), 0);
    assert_true(pe_loop_wait(&w->l, has_closed, w, WAIT_MS));
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(endless),
    PE_SCENARIO(stuck),
    PE_SCENARIO(unasked),
    PE_SCENARIO(wrong_name),
};

int main(int argc, char **argv)
{
    static const char *const names[] = {"endless", "stuck", "unasked", "wrong_name"};

    for (size_t i = 0; argc == 2 && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(argv[1], names[i]) == 0)
            scenario_mode = (enum mode)i;
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
