/* End-to-end tests of the everyday features of `mim --json` (issue 13). The real mim-presence
 * (peer_env.c) and real mim processes driven through pipes (mim_proc.h). Each scenario is its
 * own ctest entry (peer/json_<name>):
 *
 *   unread  received messages are unread until `read`; the marks survive a restart */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The unread flags of p's history with `with`, oldest first, as '0' and '1' in out. */
static const char *history_unread(mp *p, const char *with, const char *tag, char *out, size_t cap)
{
    json_t *ev, *msgs;
    size_t i, n;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    ev = mp_expect(p, 0, "history", "tag", tag);
    msgs = json_object_get(ev, "messages");
    assert_true(json_is_array(msgs));
    n = json_array_size(msgs);
    assert_true(n < cap);
    for (i = 0; i < n; i++) {
        json_t *u = json_object_get(json_array_get(msgs, i), "unread");
        assert_true(json_is_boolean(u));
        out[i] = json_is_true(u) ? '1' : '0';
    }
    out[n] = '\0';
    return out;
}

/* bob gets two messages: unread in its history until `read`; alice's own are never unread. A
 * third comes; after a restart bob still has exactly that one unread. */
static void test_unread(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char flags[16];
    json_t *e;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "one", "s1", NULL);
    exchange(a, b, "two", "s2", NULL);
    assert_string_equal(history_unread(b, "alice", "h1", flags, sizeof(flags)), "11");
    assert_string_equal(history_unread(a, "bob", "h2", flags, sizeof(flags)), "00");

    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"alice\",\"tag\":\"r1\"}");
    e = mp_expect(b, 0, "ok", "tag", "r1");
    assert_string_equal(sfield(e, "cmd"), "read");
    assert_string_equal(history_unread(b, "alice", "h3", flags, sizeof(flags)), "00");
    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"nobody\",\"tag\":\"r2\"}");
    e = mp_expect(b, 0, "error", "tag", "r2");
    assert_string_equal(sfield(e, "code"), "unknown_peer");

    exchange(a, b, "three", "s3", NULL);
    mp_quit(b);
    mp_restart(b, f->srv.port);
    assert_string_equal(history_unread(b, "alice", "h4", flags, sizeof(flags)), "001");
    mp_quit(b);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(unread),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-everyday");
}
