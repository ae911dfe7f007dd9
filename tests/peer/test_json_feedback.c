/* End-to-end tests of what `mim --json` tells its user when something does not go (issue 13:
 * connection feedback and the wording of errors). The real mim-presence (peer_env.c) and real
 * mim processes driven through pipes (mim_proc.h). Each scenario is its own ctest entry
 * (peer/json_<name>):
 *
 *   text_errors  an empty text is bad_field; a text or status over its limit is text_too_long
 *                and says by how many bytes (4096 and 128); a send to oneself is bad_field;
 *                history and close agree about a name never dealt with (unknown_peer); a
 *                NUL in a string is bad_json without the JSON library's flag names
 *   unreachable  a peer online at an address where nothing listens: `unreachable {to, reason}`
 *                with the reason and the address, once, not again at the next redial
 *   waiting_key  a reinstalled bob writes to alice, who has not accepted his new key: bob
 *                gets `waiting {to:"alice", reason:"key_not_accepted"}` once (alice's refusal
 *                carries the reason), and his message goes once she trusts the key
 *   closed_reset the other side's close (chat_closed) lasts until either side writes: alice
 *                writes again -> bob gets chat_opened; bob writes after alice's close -> alice's
 *                next message opens nothing new (bob's own write reopened it)
 *   name_taken_clean  a first start under a name the server has with another key: the error
 *                says what to do (--free-name, or another --name), and the identity and store
 *                that start made are gone after it exits 1
 *   server_unreachable  no presence server at --server: "cannot reach the presence server at
 *                127.0.0.1:9: connection refused", once, not a silent "reconnecting" */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

/* The error event answering the command tagged tag, from event index from. */
static json_t *expect_error(mp *p, size_t from, const char *tag, const char *code)
{
    json_t *ev = mp_expect(p, from, "error", "tag", tag);

    assert_string_equal(sfield(ev, "code"), code);
    return ev;
}

static void test_text_errors(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char *big = malloc(4100 + 100), status[131];
    json_t *ev;

    assert_non_null(big);
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"\",\"tag\":\"e1\"}");
    ev = expect_error(a, 0, "e1", "bad_field");
    assert_non_null(strstr(sfield(ev, "message"), "empty"));

    /* A line longer than mp_cmd's: built here. */
    memcpy(big, "{\"cmd\":\"send\",\"to\":\"bob\",\"tag\":\"e2\",\"text\":\"", 44);
    memset(big + 44, 'x', 4100);
    memcpy(big + 44 + 4100, "\"}", 3);
    mp_send_line(a, big);
    ev = expect_error(a, 0, "e2", "text_too_long");
    assert_non_null(strstr(sfield(ev, "message"), "4 bytes over its limit of 4096"));

    memset(status, 's', 130);
    status[130] = '\0';
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"away\",\"text\":\"%s\",\"tag\":\"e3\"}", status);
    ev = expect_error(a, 0, "e3", "text_too_long");
    assert_non_null(strstr(sfield(ev, "message"), "2 bytes over its limit of 128"));

    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"me\",\"tag\":\"e4\"}");
    expect_error(a, 0, "e4", "bad_field");

    /* A NUL in a string: said without the JSON library's flag names. */
    mp_send_line(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"a\\u0000b\"}");
    ev = mp_expect(a, 0, "error", "code", "bad_json");
    assert_null(strstr(sfield(ev, "message"), "JSON_"));
    assert_non_null(strstr(sfield(ev, "message"), "NUL"));

    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"nobody\",\"tag\":\"e5\"}");
    expect_error(a, 0, "e5", "unknown_peer");
    mp_cmd(a, "{\"cmd\":\"close\",\"with\":\"nobody\",\"tag\":\"e6\"}");
    expect_error(a, 0, "e6", "unknown_peer");
    /* No message was stored by any of them. */
    assert_int_equal(mp_count(a, "queued", NULL, NULL), 0);
    assert_int_equal(mp_count(a, "sent", NULL, NULL), 0);
    free(big);
    mp_quit(a);
    mp_quit(b);
}

/* Waits (bounded) until p's log has at least n lines with needle, reading its events
 * meanwhile (each read waits at most 50 ms for output). */
static void wait_log_lines(mp *p, const char *needle, int n, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;

    while (pe_file_count(p->log, needle) < n) {
        if (now_ms() >= end)
            fail_msg("%s: fewer than %d log lines with '%s'", p->name, n, needle);
        (void)mp_pump(p, 50);
    }
}

static void test_unreachable(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *ev;
    size_t a0;

    /* Nothing listens on port 9 of the loopback (the discard port, never served in tests). */
    b->extra[0] = "--advertise-port";
    b->extra[1] = "9";
    b->extra[2] = NULL;
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    a0 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"are you there\",\"tag\":\"s1\"}");
    mp_expect(a, a0, "queued", "tag", "s1");
    ev = mp_expect(a, a0, "unreachable", "to", "bob");
    assert_non_null(strstr(sfield(ev, "reason"), "connection refused to 127.0.0.1:9"));
    assert_non_null(strstr(sfield(ev, "reason"), "retrying in 5 s"));
    /* The next redial fails the same way: not told again. */
    wait_log_lines(a, "dialling bob at 127.0.0.1:9", 2, WAIT_MS);
    wait_log_lines(a, "cannot reach bob", 1, WAIT_MS);
    round_trip(a, "w1");
    assert_int_equal(mp_count(a, "unreachable", NULL, NULL), 1);
    mp_quit(a);
    mp_quit(b);
}

static void test_waiting_key(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64], id[33];
    json_t *ev;
    size_t a0;

    a0 = stage_key_change(f, a, b, nb, old_fp, new_fp);
    mp_expect(a, a0, "key_changed", "name", "bob");
    mp_expect(nb, 0, "online", "name", "alice");
    mp_cmd(nb,
           "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"it is me, reinstalled\",\"tag\":\"n1\"}");
    ev = mp_expect(nb, 0, "queued", "tag", "n1");
    snprintf(id, sizeof(id), "%s", sfield(ev, "id"));
    ev = mp_expect(nb, 0, "waiting", "to", "alice");
    assert_string_equal(sfield(ev, "reason"), "key_not_accepted");
    /* alice stored and showed nothing of it; bob is not told again at his next dial. */
    mp_expect_log(a, "refused (the key differs from the pin): told so");
    wait_log_lines(nb, "keeps our messages waiting", 2, WAIT_MS);
    round_trip(nb, "w1");
    assert_int_equal(mp_count(nb, "waiting", NULL, NULL), 1);
    assert_int_equal(mp_count(nb, "delivered", "id", id), 0);
    assert_int_equal(mp_count(a, "message", "id", id), 0);

    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":\"%s\",\"tag\":\"t1\"}", new_fp);
    mp_expect(a, a0, "ok", "tag", "t1");
    ev = mp_expect(a, a0, "message", "id", id);
    assert_string_equal(sfield(ev, "text"), "it is me, reinstalled");
    mp_expect(nb, 0, "delivered", "id", id);
    assert_int_equal(mp_count(nb, "chat_closed", NULL, NULL), 0);
    mp_quit(a);
    mp_quit(nb);
}

static void test_closed_reset(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    size_t b0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello", "m1", NULL);
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 1);

    /* alice closes; she writes again: bob's conversation opens again. */
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"close\",\"with\":\"bob\",\"tag\":\"c1\"}");
    mp_expect(a, 0, "ok", "tag", "c1");
    mp_expect(b, b0, "chat_closed", "with", "alice");
    exchange(a, b, "me again", "m2", NULL);
    mp_expect(b, b0, "chat_opened", "with", "alice");
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 2);

    /* alice closes; bob writes (that reopens it on his side), then alice: nothing new opens. */
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"close\",\"with\":\"bob\",\"tag\":\"c2\"}");
    mp_expect(a, 0, "ok", "tag", "c2");
    mp_expect(b, b0, "chat_closed", "with", "alice");
    exchange(b, a, "still here", "m3", NULL);
    exchange(a, b, "fine", "m4", NULL);
    round_trip(b, "w1");
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 2);
    mp_quit(a);
    mp_quit(b);
}

static void test_name_taken_clean(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *imp = &f->peers[2];
    char path[PE_PATH_MAX + 32];
    json_t *e;
    int status;

    start_peer(f, a);
    mp_expect(a, 0, "presence", "state", "connected");
    mp_init(imp, f, "alice", "alice-second");
    start_peer(f, imp);
    e = mp_expect(imp, 0, "error", "code", "name_taken");
    assert_non_null(strstr(sfield(e, "message"), "mim-presence --free-name alice"));
    assert_non_null(strstr(sfield(e, "message"), "another --name"));
    status = mp_reap(imp, 10000);
    mp_close_fds(imp);
    assert_true(status >= 0 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    snprintf(path, sizeof(path), "%s/identity.key", imp->dir);
    assert_false(pe_exists(path));
    snprintf(path, sizeof(path), "%s/mim.db", imp->dir);
    assert_false(pe_exists(path));
    /* The owner of the name is untouched, and its own files stay. */
    snprintf(path, sizeof(path), "%s/identity.key", a->dir);
    assert_true(pe_exists(path));
    mp_quit(a);
}

static void test_server_unreachable(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    json_t *e;

    mp_init(a, f, "alice", "alice");
    assert_int_equal(mp_start(a, 9), 0); /* nothing listens on port 9 */
    mp_expect(a, 0, "ready", "name", "alice");
    e = mp_expect(a, 0, "error", "code", "server");
    assert_non_null(strstr(sfield(e, "message"),
                           "cannot reach the presence server at 127.0.0.1:9: connection refused"));
    assert_false(json_is_true(json_object_get(e, "fatal")));
    assert_null(strstr(sfield(e, "message"), "presence server: presence server"));
    round_trip(a, "w1");
    assert_int_equal(mp_count(a, "error", "code", "server"), 1);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(text_errors),  PE_SCENARIO(unreachable),      PE_SCENARIO(waiting_key),
    PE_SCENARIO(closed_reset), PE_SCENARIO(name_taken_clean), PE_SCENARIO(server_unreachable),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-feedback");
}
