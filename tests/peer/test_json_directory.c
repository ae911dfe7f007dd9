/* End-to-end tests of the directory in `mim --json` (issue 14): the real mim-presence
 * (peer_env.c) and real mim processes driven through pipes (mim_proc.h). Each scenario is its
 * own ctest entry (peer/json_directory_<name>):
 *
 *   listing      everyone registered, online first, the offline one with its last seen, never
 *                ourselves; the fingerprints are the peers' own
 *   send_offline a send to a registered name never met and offline is looked up, stored and
 *                queued (with its tag); its history has it
 *   unknown      a send to a name nobody registered: unknown_peer (with its tag and id), and
 *                nothing stored
 *   private      --directory off at the server: the listing is refused (private, empty), a send
 *                to an exact name still goes; the name looked up is listed then
 *   key_held     the directory lists a pinned contact with another key: key_changed, its
 *                outbox held (contacts: key_pending) */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* p's answer to `directory` (tag): the event. */
static json_t *directory(mp *p, const char *tag)
{
    size_t from = p->nev;
    json_t *ev;

    mp_cmd(p, "{\"cmd\":\"directory\",\"tag\":\"%s\"}", tag);
    ev = mp_expect(p, from, "directory", "tag", tag);
    assert_true(json_is_array(json_object_get(ev, "entries")));
    assert_true(json_is_boolean(json_object_get(ev, "private")));
    return ev;
}

static json_t *entry_at(json_t *ev, size_t i)
{
    return json_array_get(json_object_get(ev, "entries"), i);
}

/* p registers at the server (starts, is ready and online), then quits: its fingerprint. */
static void register_and_leave(fixture *f, mp *p, char fp[64])
{
    json_t *ready = start_peer(f, p);

    snprintf(fp, 64, "%s", sfield(ready, "fingerprint"));
    mp_expect(p, 0, "presence", "state", "connected");
    mp_quit(p);
}

static void test_directory_listing(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *c = &f->peers[2];
    char bob_fp[64], carol_fp[64];
    json_t *ev;

    snprintf(carol_fp, sizeof(carol_fp), "%s", sfield(start_peer(f, c), "fingerprint"));
    snprintf(bob_fp, sizeof(bob_fp), "%s", sfield(start_peer(f, b), "fingerprint"));
    start_peer(f, a);
    see_each_other(a, b);
    mp_expect(a, 0, "online", "name", "carol");
    mp_quit(c);
    mp_expect(a, 0, "offline", "name", "carol"); /* the server has seen her go */
    ev = directory(a, "d1");
    assert_false(json_is_true(json_object_get(ev, "private")));
    assert_int_equal(json_array_size(json_object_get(ev, "entries")), 2); /* not alice */
    assert_string_equal(sfield(entry_at(ev, 0), "name"), "bob");          /* online first */
    assert_true(json_is_true(json_object_get(entry_at(ev, 0), "online")));
    assert_string_equal(sfield(entry_at(ev, 0), "fingerprint"), bob_fp);
    assert_string_equal(sfield(entry_at(ev, 1), "name"), "carol");
    assert_true(json_is_false(json_object_get(entry_at(ev, 1), "online")));
    assert_string_equal(sfield(entry_at(ev, 1), "fingerprint"), carol_fp);
    assert_true(json_integer_value(json_object_get(entry_at(ev, 1), "last_seen")) > 0);
    mp_quit(a);
    mp_quit(b);
}

/* alice sends to `to` (tag): the queued event, its id in id (33 bytes). */
static void send_queued(mp *a, const char *to, const char *tag, char id[33])
{
    size_t from = a->nev;
    json_t *ev;

    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"%s\",\"text\":\"while you were out\",\"tag\":\"%s\"}", to,
           tag);
    ev = mp_expect(a, from, "queued", "tag", tag);
    assert_string_equal(sfield(ev, "to"), to);
    snprintf(id, 33, "%s", sfield(ev, "id"));
}

/* The number of messages in p's history with `with`; -1 when the answer is unknown_peer. */
static long history_len(mp *p, const char *with, const char *tag, int expect_unknown)
{
    size_t from = p->nev;
    json_t *ev;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    if (expect_unknown) {
        ev = mp_expect(p, from, "error", "tag", tag);
        assert_string_equal(sfield(ev, "code"), "unknown_peer");
        return -1;
    }
    ev = mp_expect(p, from, "history", "tag", tag);
    return (long)json_array_size(json_object_get(ev, "messages"));
}

static void test_directory_send_offline(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char bob_fp[64], id[33];

    register_and_leave(f, b, bob_fp);
    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    send_queued(a, "bob", "s1", id);
    mp_expect(a, 0, "deposited", "id", id); /* sealed to the directory's key (now pinned) */
    assert_int_equal(history_len(a, "bob", "h1", 0), 1);
    assert_int_equal(mp_count(a, "error", "tag", "s1"), 0);
    mp_quit(a);
}

static void test_directory_unknown(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    json_t *ev;

    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"nobody\",\"text\":\"hello?\",\"tag\":\"u1\"}");
    ev = mp_expect(a, 0, "error", "tag", "u1");
    assert_string_equal(sfield(ev, "code"), "unknown_peer");
    assert_string_equal(sfield(ev, "to"), "nobody");
    assert_int_equal(strlen(sfield(ev, "id")), 32);
    assert_int_equal(mp_count(a, "queued", "tag", "u1"), 0);
    assert_int_equal(history_len(a, "nobody", "h1", 1), -1); /* nothing was stored */
    mp_quit(a);
}

static void test_directory_private(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char bob_fp[64], id[33];
    json_t *ev;

    assert_int_equal(pe_server_stop(&f->srv), 0);
    f->srv.extra[0] = "--directory";
    f->srv.extra[1] = "off";
    f->srv.extra[2] = NULL;
    assert_int_equal(pe_server_start(&f->srv, f->srv.port), 0);
    register_and_leave(f, b, bob_fp);
    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    ev = directory(a, "d1");
    assert_true(json_is_true(json_object_get(ev, "private")));
    assert_int_equal(json_array_size(json_object_get(ev, "entries")), 0);
    send_queued(a, "bob", "s1", id); /* an exact name is still answered */
    ev = directory(a, "d2");
    assert_true(json_is_true(json_object_get(ev, "private")));
    assert_int_equal(json_array_size(json_object_get(ev, "entries")), 1);
    assert_string_equal(sfield(entry_at(ev, 0), "name"), "bob");
    assert_string_equal(sfield(entry_at(ev, 0), "fingerprint"), bob_fp);
    mp_quit(a);
}

static void test_directory_key_held(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64];
    json_t *ev;

    stage_pinned_offline(f, a, b);
    snprintf(old_fp, sizeof(old_fp), "%s",
             sfield(mp_expect(b, 0, "ready", "name", "bob"), "fingerprint"));
    mp_quit(a); /* alice does not see the new bob online: only the directory tells her */
    free_name(&f->srv, "bob");
    mp_init(nb, f, "bob", "bob-new-key");
    register_and_leave(f, nb, new_fp);
    mp_restart(a, f->srv.port);
    mp_expect(a, 0, "presence", "state", "connected");
    directory(a, "d1");
    ev = mp_expect(a, 0, "key_changed", "name", "bob");
    assert_string_equal(sfield(ev, "old_fingerprint"), old_fp);
    assert_string_equal(sfield(ev, "new_fingerprint"), new_fp);
    mp_cmd(a, "{\"cmd\":\"contacts\",\"tag\":\"c1\"}");
    ev = mp_expect(a, 0, "contacts", "tag", "c1");
    ev = json_array_get(json_object_get(ev, "contacts"), 0);
    assert_string_equal(sfield(ev, "name"), "bob");
    assert_true(json_is_true(json_object_get(ev, "key_pending")));
    assert_string_equal(sfield(ev, "pending_fingerprint"), new_fp);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(directory_listing),  PE_SCENARIO(directory_send_offline),
    PE_SCENARIO(directory_unknown),  PE_SCENARIO(directory_private),
    PE_SCENARIO(directory_key_held),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-directory");
}
