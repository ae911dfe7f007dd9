/* More end-to-end tests of `mim --json` (review fixes): the real mim-presence and real mim
 * processes driven through pipes by the harness of mim_proc.h, and, where a test needs to play a
 * peer that mim would not dial itself, a chat_session of the test's own. Each scenario is its
 * own ctest entry (peer/json_<name>):
 *
 *   impostor           a dialler claiming a name whose presence-table key is another one, or a
 *                      name neither online nor pinned, is refused and pins nothing; a pinned
 *                      contact that is not in the table (gone offline) is still accepted
 *   close_in_batch     a message and a close in one frame: message, then chat_closed, and no
 *                      chat_opened after it
 *   trust_fingerprint  `trust` with a `fingerprint` that is not the pending key's is refused and
 *                      trusts nothing; with the right one it trusts
 *   tags               a tag over 1 KiB is bad_field; tags echo on a command's own events */
#include "direct_peer.h"
#include "mim_crypto.h"
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cmocka.h>

#define ABSENT_MS 1500 /* the window in which an event that must not come would have come */

static int setup(void **state)
{
    return fixture_setup(state, "json3");
}

/* Promise 2: who dials us must be vouched for by the presence server (its key in the table) or
 * be a contact we pinned. An impostor of a peer we have not met yet is refused and pins nothing
 * (so the real one still gets through); a stranger is refused; a pinned contact that has gone
 * offline (no table entry) is accepted. */
static void test_impostor(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    mim_identity *alice_id, *fake, *bob_id;
    int port;
    size_t a0;

    port = ready_port(start_peer(f, a));
    start_peer(f, b);
    see_each_other(a, b);
    alice_id = load_identity(a);
    fake = mim_identity_generate();
    assert_non_null(fake);

    /* A fake bob: bob is online with another key. */
    assert_int_equal(direct_send(fake, "bob", port, alice_id->sign_pk, "alice", "from a fake bob"),
                     0);
    /* A stranger: carol is neither online nor a contact. */
    assert_int_equal(
        direct_send(fake, "carol", port, alice_id->sign_pk, "alice", "from a stranger"), 0);
    round_trip(a, "w1");
    if (mp_count(a, "message", NULL, NULL) != 0 || mp_count(a, "chat_opened", NULL, NULL) != 0) {
        mp_dump(a);
        fail_msg("alice accepted a session from an impostor");
    }
    /* Nothing was pinned: the real bob gets through, both ways, without key_changed. */
    exchange(b, a, "the real bob", "r1", NULL);
    exchange(a, b, "hello real bob", "r2", NULL);
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 0);
    assert_int_equal(mp_count(b, "key_changed", NULL, NULL), 0);

    /* bob (pinned now) goes offline: he is not in alice's table, but still accepted. */
    a0 = a->nev;
    mp_quit(b);
    mp_expect(a, a0, "offline", "name", "bob");
    bob_id = load_identity(b);
    assert_int_equal(direct_send(bob_id, "bob", port, alice_id->sign_pk, "alice", "off the table"),
                     1);
    mp_expect(a, a0, "message", "text", "off the table");
    mim_identity_free(bob_id);
    mim_identity_free(fake);
    mim_identity_free(alice_id);
    mp_quit(a);
}

/* Writes s to p's stdin in one write(): the commands in it are read, and done, in one turn. */
static void write_once(mp *p, const char *s)
{
    assert_int_equal(write(p->in_fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The index of the first event at index >= from matching, or -1 (what is read so far). */
static long index_of(const mp *p, size_t from, const char *event, const char *key, const char *val)
{
    for (size_t i = from; i < p->nev; i++)
        if (matches(p->ev[i], event, key, val))
            return (long)i;
    return -1;
}

/* A message and a close in one frame: the receiver shows the message, then chat_closed, and
 * does not open the chat again for that message. */
static void test_close_in_batch(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    size_t b0;
    long im, ic;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "open", "c1", NULL); /* the session is open: both commands go in one frame */
    assert_int_equal(mp_count(b, "chat_opened", "with", "alice"), 1);

    b0 = b->nev;
    write_once(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"last words\",\"tag\":\"m\"}\n"
                  "{\"cmd\":\"close\",\"with\":\"bob\",\"tag\":\"x\"}\n");
    mp_expect(a, 0, "ok", "tag", "x");
    mp_expect(b, b0, "chat_closed", "with", "alice");
    mp_expect(b, b0, "message", "text", "last words");
    round_trip(b, "w");
    im = index_of(b, b0, "message", "text", "last words");
    ic = index_of(b, b0, "chat_closed", "with", "alice");
    if (!(im >= 0 && ic > im) || mp_count(b, "chat_opened", NULL, NULL) != 1) {
        mp_dump(b);
        fail_msg("bob did not see the message, then chat_closed, and no second chat_opened");
    }
    mp_quit(a);
    mp_quit(b);
}

/* trust with a fingerprint: refused (bad_field, nothing trusted, the message still held) when
 * it is not the pending key's; the right one trusts, and the held message goes out. */
static void test_trust_fingerprint(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64], id[33];
    json_t *ev;
    size_t a0, a1;

    a0 = stage_key_change(f, a, b, nb, old_fp, new_fp);
    mp_expect(a, a0, "online", "name", "bob");

    a1 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"held\",\"tag\":\"h1\"}");
    ev = mp_expect(a, a1, "queued", "tag", "h1");
    snprintf(id, sizeof(id), "%s", sfield(ev, "id"));
    mp_expect(a, a1, "key_changed", "name", "bob");

    /* The old fingerprint (or any other) is not the pending key's: nothing is trusted. */
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":\"%s\",\"tag\":\"t1\"}", old_fp);
    ev = mp_expect(a, a1, "error", "tag", "t1");
    assert_string_equal(sfield(ev, "code"), "bad_field");
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":7,\"tag\":\"t2\"}");
    ev = mp_expect(a, a1, "error", "tag", "t2");
    assert_string_equal(sfield(ev, "code"), "bad_field");
    if (mp_wait(nb, 0, "message", NULL, NULL, ABSENT_MS) >= 0) {
        mp_dump(nb);
        fail_msg("the new bob got a message after a trust with a wrong fingerprint");
    }
    assert_int_equal(mp_count(a, "ok", "tag", "t1"), 0);

    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":\"%s\",\"tag\":\"t3\"}", new_fp);
    ev = mp_expect(a, a1, "ok", "tag", "t3");
    assert_string_equal(sfield(ev, "cmd"), "trust");
    mp_expect(nb, 0, "message", "id", id);
    mp_expect(a, a1, "delivered", "id", id);
    mp_quit(a);
    mp_quit(nb);
}

/* Drops the events read so far (a long run would overflow MAX_EVENTS). */
static void clear_events(mp *p)
{
    for (size_t i = 0; i < p->nev; i++)
        json_decref(p->ev[i]);
    p->nev = 0;
}

/* Tags: over 1 KiB of JSON is bad_field (and not repeated); up to it is repeated. With the memory
 * of send tags full (4096 sends waiting for delivered), a send's own queued event still carries
 * its tag. */
static void test_tags(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char big[1100], line[1400];
    char *batch;
    json_t *ev;
    size_t a0, n;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "pinning you", "p1", NULL);
    a0 = a->nev;
    mp_quit(b);
    mp_expect(a, a0, "offline", "name", "bob");

    /* 1023 characters + 2 quotes: over the cap. */
    memset(big, 'x', 1023);
    big[1023] = '\0';
    a0 = a->nev;
    snprintf(line, sizeof(line), "{\"cmd\":\"who\",\"tag\":\"%s\"}", big);
    mp_send_line(a, line);
    ev = mp_expect(a, a0, "error", NULL, NULL);
    assert_string_equal(sfield(ev, "code"), "bad_field");
    assert_null(json_object_get(ev, "tag"));
    /* 1022 characters + 2 quotes: just at the cap. */
    big[1022] = '\0';
    snprintf(line, sizeof(line), "{\"cmd\":\"who\",\"tag\":\"%s\"}", big);
    mp_send_line(a, line);
    mp_expect(a, a0, "who_end", "tag", big);
    assert_int_equal(mp_count(a, "who_end", NULL, NULL), 1);

    /* Fill the memory of tags: 4096 sends to bob (offline: none is delivered). */
    batch = malloc(128 * 100);
    assert_non_null(batch);
    for (int k = 0; k < 4096 / 128; k++) {
        char tag[32];
        n = 0;
        for (int i = 0; i < 128; i++)
            n += (size_t)snprintf(
                batch + n, 128 * 100 - n,
                "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"m\",\"tag\":\"f%d\"}\n", k * 128 + i);
        write_once(a, batch);
        snprintf(tag, sizeof(tag), "f%d", k * 128 + 127);
        mp_expect(a, 0, "queued", "tag", tag);
        clear_events(a);
    }
    free(batch);
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"last\",\"tag\":\"last\"}");
    mp_expect(a, 0, "queued", "tag", "last");
    mp_quit(a);
}

/* A raw TCP connection to 127.0.0.1:port that sends nothing (a handshake never started). */
static int raw_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

/* 1 when the peer closed fd (EOF or reset) within timeout_ms, 0 when it is still open. */
static int closed_within(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char b;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    return recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

/* The listener caps unauthenticated connections per address (8): a ninth from the same address
 * is closed at once, the others are left to their handshake deadline, and the peer goes on. */
static void test_listener_caps(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    int port, fds[9];

    port = ready_port(start_peer(f, a));
    for (int i = 0; i < 8; i++)
        fds[i] = raw_connect(port);
    fds[8] = raw_connect(port);
    if (!closed_within(fds[8], 3000))
        fail_msg("a ninth unauthenticated connection from one address was not refused");
    if (closed_within(fds[0], 200))
        fail_msg("the first connection was closed before its handshake deadline");
    for (int i = 0; i < 9; i++)
        close(fds[i]);
    assert_true(round_trip(a, "after-flood") > 0);
}

static const pe_test tests[] = {
    {"impostor", test_impostor},
    {"close_in_batch", test_close_in_batch},
    {"trust_fingerprint", test_trust_fingerprint},
    {"tags", test_tags},
    {"listener_caps", test_listener_caps},
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup,
                        fixture_teardown);
}
