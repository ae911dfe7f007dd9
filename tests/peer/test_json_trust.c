/* End-to-end tests of whom a `mim --json` peer trusts: safety numbers, pinned keys, a changed
 * key held until `trust`, the presence server's own key, and diallers the server does not vouch
 * for. The real mim-presence (peer_env.c) and real mim processes driven through pipes
 * (mim_proc.h), and a peer of the test's own (direct_peer.h) to play an impostor. Each scenario
 * is its own ctest entry (peer/json_<name>):
 *
 *   verify                 both sides compute the same 60-digit safety number
 *   key_changed_and_trust  a new key under a pinned name: key_changed, the message is held
 *                          until `trust`, then delivered exactly once
 *   trust_fingerprint      `trust` with a `fingerprint` that is not the pending key's is refused
 *                          and trusts nothing; with the right one it trusts
 *   trust_server           a server with a new key: server_key changed on every connect until
 *                          trust_server (a wrong fingerprint trusts nothing); then it matches
 *   impostor               a dialler claiming a name whose presence-table key is another one, or
 *                          a name neither online nor pinned, is refused and pins nothing; a
 *                          pinned contact that is not in the table (gone offline) is accepted
 *   offline_impostor       a caller claiming an offline pinned contact's name with another key,
 *                          five times: refused and logged, no key_changed, no pending key, the
 *                          contact's outbox not held (issue 12, finding 1)
 *   alarm_rate             a reinstalled contact (vouched for by the pinned server) that keeps
 *                          calling raises key_changed once, not once per call
 *   trust_unseen           the name's key changes again within the alarm's rate limit: `trust`
 *                          without a fingerprint refuses (key_unseen), with the new one it trusts
 *   two_networks           (issue 13) a second server at another address: its own pin (new),
 *                          not a key change; back at the first, its pin still matches
 *   key_change_flow        (issue 13) key_changed as soon as the table shows the new key, before
 *                          anything is sent; `verify` gives the new key's number (new_key: true,
 *                          the number the new bob computes); `verify` of oneself is refused; a
 *                          key_change entry in the history, kept across a restart, once
 */
#include "direct_peer.h"
#include "mim_crypto.h"
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* Both sides compute the same 60-digit safety number. */
static void test_verify(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *sa, *sb;
    const char *na, *nb;
    size_t digits = 0;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"bob\",\"tag\":\"v\"}");
    mp_cmd(b, "{\"cmd\":\"verify\",\"with\":\"alice\",\"tag\":\"v\"}");
    sa = mp_expect(a, 0, "safety_number", "tag", "v");
    sb = mp_expect(b, 0, "safety_number", "tag", "v");
    na = sfield(sa, "number");
    nb = sfield(sb, "number");
    assert_non_null(na);
    assert_non_null(nb);
    assert_string_equal(na, nb);
    for (const char *p = na; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else
            assert_int_equal(*p, ' ');
    }
    assert_int_equal(digits, 60);
    mp_quit(a);
    mp_quit(b);
}

/* A new key under a pinned name: key_changed with both fingerprints, the message held (not
 * delivered) until `trust`, then delivered exactly once. */
static void test_key_changed_and_trust(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64], id[33];
    json_t *ev;
    size_t a0, a1;

    a0 = stage_key_change(f, a, b, nb, old_fp, new_fp);
    assert_string_not_equal(old_fp, new_fp);
    mp_expect(nb, 0, "presence", "state", "connected");
    ev = mp_expect(a, a0, "online", "name", "bob");
    assert_string_equal(sfield(ev, "fingerprint"), new_fp);

    a1 = a->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"for the real bob\",\"tag\":\"h1\"}");
    ev = mp_expect(a, a1, "queued", "tag", "h1");
    snprintf(id, sizeof(id), "%s", sfield(ev, "id"));
    ev = mp_expect(a, a0, "key_changed", "name", "bob"); /* from the table already */
    assert_string_equal(sfield(ev, "old_fingerprint"), old_fp);
    assert_string_equal(sfield(ev, "new_fingerprint"), new_fp);
    /* Held: nothing reaches the new key. */
    if (mp_wait(nb, 0, "message", NULL, NULL, ABSENT_MS) >= 0) {
        mp_dump(nb);
        fail_msg("the new bob got a message before alice trusted its key");
    }
    round_trip(a, "w1");
    assert_int_equal(mp_count(a, "sent", "id", id), 0);
    assert_int_equal(mp_count(a, "delivered", "id", id), 0);
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 1);

    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"tag\":\"t1\"}");
    ev = mp_expect(a, a1, "ok", "tag", "t1");
    assert_string_equal(sfield(ev, "cmd"), "trust");
    ev = mp_expect(nb, 0, "message", "id", id);
    assert_string_equal(sfield(ev, "from"), "alice");
    assert_string_equal(sfield(ev, "text"), "for the real bob");
    mp_expect(a, a1, "delivered", "id", id);
    /* Nothing waits any more: a second trust is refused. */
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"tag\":\"t2\"}");
    ev = mp_expect(a, a1, "error", "tag", "t2");
    assert_string_equal(sfield(ev, "code"), "bad_field");
    /* Exactly once, and the session with the new key works both ways. */
    exchange(nb, a, "hello again", "n1", NULL);
    round_trip(nb, "w2");
    assert_int_equal(mp_count(nb, "message", "id", id), 1);
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 1);
    mp_quit(a);
    mp_quit(nb);
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
    mp_expect(a, a0, "key_changed", "name", "bob");

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

/* Another server (another key) on the same port: server_key changed on every connect until
 * trust_server with the new key's fingerprint; a wrong fingerprint trusts nothing. */
static void test_trust_server(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    pe_server s2;
    json_t *ev;
    char old_fp[64], new_fp[64];
    size_t a0;

    start_peer(f, a);
    ev = mp_expect(a, 0, "server_key", "verdict", "new");
    snprintf(old_fp, sizeof(old_fp), "%s", sfield(ev, "fingerprint"));
    /* Nothing to trust yet. */
    mp_cmd(a, "{\"cmd\":\"trust_server\",\"tag\":\"t0\"}");
    mp_expect(a, 0, "error", "tag", "t0");

    /* Another server (another key) takes the same port. */
    assert_int_equal(pe_server_init(&s2, "json-trust-srv2"), 0);
    pe_server_kill(&f->srv);
    a0 = a->nev;
    assert_int_equal(pe_server_start(&s2, f->srv.port), 0);
    ev = mp_expect(a, a0, "server_key", "verdict", "changed");
    snprintf(new_fp, sizeof(new_fp), "%s", sfield(ev, "fingerprint"));
    assert_string_equal(sfield(ev, "old_fingerprint"), old_fp);
    assert_string_equal(new_fp, s2.fingerprint);

    /* A fingerprint that is not the new key's trusts nothing. */
    mp_cmd(a, "{\"cmd\":\"trust_server\",\"fingerprint\":\"%s\",\"tag\":\"t1\"}", old_fp);
    assert_string_equal(sfield(mp_expect(a, a0, "error", "tag", "t1"), "code"), "bad_field");
    mp_quit(a);
    a0 = 0;
    mp_restart(a, f->srv.port);
    mp_expect(a, a0, "server_key", "verdict", "changed");

    mp_cmd(a, "{\"cmd\":\"trust_server\",\"fingerprint\":\"%s\",\"tag\":\"t2\"}", new_fp);
    mp_expect(a, a0, "ok", "tag", "t2");
    mp_quit(a);
    mp_restart(a, f->srv.port);
    ev = mp_expect(a, 0, "server_key", "fingerprint", new_fp);
    assert_string_equal(sfield(ev, "verdict"), "match");
    mp_quit(a);
    pe_server_cleanup(&s2);
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

/* Issue 12, finding 1: nobody vouches for a key that is not the pin of an offline contact (not
 * in the table; we did not dial it), so five calls with it change nothing: no key_changed, no
 * pending key (`trust` finds nothing to trust), the outbox for bob is not held (the real bob
 * gets it when he is back), and each refusal is in alice's log. */
static void test_offline_impostor(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    mim_identity *alice_id, *fake;
    json_t *ev;
    char id[33];
    int port;
    size_t a0;

    a0 = stage_pinned_offline(f, a, b);
    port = ready_port(mp_expect(a, 0, "ready", "name", "alice"));
    alice_id = load_identity(a);
    fake = mim_identity_generate();
    assert_non_null(fake);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            direct_send(fake, "bob", port, alice_id->sign_pk, "alice", "i am bob, trust me"), 0);
    round_trip(a, "w1");
    if (mp_count(a, "key_changed", NULL, NULL) != 0 || mp_count(a, "message", NULL, NULL) != 0) {
        mp_dump(a);
        fail_msg("a caller nobody vouches for changed alice's trust state for bob");
    }
    mp_expect_log(a, "no pinned presence server vouches for it: refused");
    /* No pending key: nothing to trust. */
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"tag\":\"t1\"}");
    ev = mp_expect(a, a0, "error", "tag", "t1");
    assert_string_equal(sfield(ev, "code"), "bad_field");

    /* Not held: a message for bob goes out when the real bob is back. */
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"for the real bob\",\"tag\":\"s1\"}");
    ev = mp_expect(a, a0, "queued", "tag", "s1");
    snprintf(id, sizeof(id), "%s", sfield(ev, "id"));
    mp_restart(b, f->srv.port);
    ev = mp_expect(b, 0, "message", "id", id);
    assert_string_equal(sfield(ev, "text"), "for the real bob");
    mp_expect(a, a0, "delivered", "id", id);
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 0);
    mim_identity_free(fake);
    mim_identity_free(alice_id);
    mp_quit(a);
    mp_quit(b);
}

static void wait_refusals(const mp *a, int n);

/* The new bob has something for alice, so he calls her again and again (every redial tick):
 * the pinned server vouches for his key, so the first call raises key_changed; the calls after
 * it are refused as well, but within the rate limit they raise nothing more. */
static void test_alarm_rate(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64];
    json_t *ev;
    size_t a0;

    a0 = stage_key_change(f, a, b, nb, old_fp, new_fp);
    mp_expect(a, a0, "online", "name", "bob");
    mp_expect(nb, 0, "online", "name", "alice");
    mp_cmd(nb, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"it is me, new key\"}");
    ev = mp_expect(a, a0, "key_changed", "name", "bob");
    assert_string_equal(sfield(ev, "new_fingerprint"), new_fp);
    /* A second call, refused as well (alice's log says so each time): no second alarm. */
    wait_refusals(a, 2);
    round_trip(a, "w1");
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 1);
    assert_int_equal(mp_count(a, "message", NULL, NULL), 0);
    mp_quit(a);
    mp_quit(nb);
}

/* Waits (bounded) until alice's log has n refusals of a key other than the pin. */
static void wait_refusals(const mp *a, int n)
{
    for (uint64_t end = now_ms() + WAIT_MS; pe_file_count(a->log, "presented another key (") < n;) {
        struct timespec tick = {0, 50 * 1000 * 1000};
        if (now_ms() >= end)
            fail_msg("alice did not refuse %d sessions with a changed key", n);
        nanosleep(&tick, NULL); /* a bounded poll of another process's file */
    }
}

/* bob's key changes (key_changed, the new key A), then changes again (a third bob, key B, who
 * calls alice) within a minute: no second alarm, so alice's user has seen A only; `trust`
 * without a fingerprint must not pin B blind (key_unseen, nothing trusted); with B's fingerprint
 * it trusts B. */
static void test_trust_unseen(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], fp_a[64], fp_b[64];
    json_t *ev;
    size_t a0, a1;

    a0 = stage_key_change(f, a, b, nb, old_fp, fp_a);
    mp_expect(a, a0, "online", "name", "bob");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"held\"}");
    ev = mp_expect(a, a0, "key_changed", "name", "bob");
    assert_string_equal(sfield(ev, "new_fingerprint"), fp_a);

    /* A third bob: another key again, and he calls alice. */
    a1 = a->nev;
    mp_quit(nb);
    mp_expect(a, a1, "offline", "name", "bob");
    free_name(&f->srv, "bob");
    mp_cleanup(b);
    mp_init(b, f, "bob", "bob-third-key");
    snprintf(fp_b, sizeof(fp_b), "%s", sfield(start_peer(f, b), "fingerprint"));
    assert_string_not_equal(fp_a, fp_b);
    mp_expect(b, 0, "online", "name", "alice");
    mp_cmd(b, "{\"cmd\":\"send\",\"to\":\"alice\",\"text\":\"me again\"}");
    wait_refusals(a, 2);
    round_trip(a, "w1");
    assert_int_equal(mp_count(a, "key_changed", NULL, NULL), 1);

    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"tag\":\"t1\"}");
    ev = mp_expect(a, a1, "error", "tag", "t1");
    assert_string_equal(sfield(ev, "code"), "key_unseen");
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":\"%s\",\"tag\":\"t2\"}", fp_a);
    assert_string_equal(sfield(mp_expect(a, a1, "error", "tag", "t2"), "code"), "bad_field");
    mp_cmd(a, "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":\"%s\",\"tag\":\"t3\"}", fp_b);
    mp_expect(a, a1, "ok", "tag", "t3");
    mp_expect(b, 0, "message", "text", "held");
    mp_quit(a);
    mp_quit(b);
}

static void test_two_networks(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    pe_server s2;
    json_t *ev;

    start_peer(f, a);
    mp_expect(a, 0, "server_key", "verdict", "new");
    mp_quit(a);
    assert_int_equal(pe_server_init(&s2, "json-trust-net2"), 0);
    assert_int_equal(pe_server_start(&s2, 0), 0); /* another address: another port */
    mp_restart(a, s2.port);
    ev = mp_expect(a, 0, "server_key", "verdict", "new");
    assert_string_equal(sfield(ev, "fingerprint"), s2.fingerprint);
    mp_expect(a, 0, "presence", "state", "connected");
    assert_int_equal(mp_count(a, "server_key", "verdict", "changed"), 0);
    mp_quit(a);
    mp_restart(a, f->srv.port);
    ev = mp_expect(a, 0, "server_key", "verdict", "match");
    assert_string_equal(sfield(ev, "fingerprint"), f->srv.fingerprint);
    mp_quit(a);
    pe_server_cleanup(&s2);
}

/* The history of a with b as received: the first entry of type "type" (NULL: none), and the
 * number of entries of that type in *n. */
static json_t *history_entry(mp *a, const char *with, const char *type, size_t *n, const char *tag)
{
    json_t *ev, *msgs, *m, *found = NULL;
    size_t i, a0 = a->nev;

    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    ev = mp_expect(a, a0, "history", "tag", tag);
    msgs = json_object_get(ev, "messages");
    assert_true(json_is_array(msgs));
    *n = 0;
    json_array_foreach(msgs, i, m)
    {
        if (strcmp(sfield(m, "type"), type) != 0)
            continue;
        if (found == NULL)
            found = m;
        ++*n;
    }
    return found;
}

/* Issue 13's trust flow: key_changed from the table, verify of the new key, of oneself, and the
 * lasting history line. */
static void test_key_change_flow(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1], *nb = &f->peers[2];
    char old_fp[64], new_fp[64], old_number[80];
    json_t *ev, *entry;
    size_t a0, n;

    /* alice's number with the old bob, for comparison. */
    a0 = stage_key_change(f, a, b, nb, old_fp, new_fp);
    /* Nothing sent, nobody dialled: the table alone raises the alarm. */
    ev = mp_expect(a, a0, "key_changed", "name", "bob");
    assert_string_equal(sfield(ev, "old_fingerprint"), old_fp);
    assert_string_equal(sfield(ev, "new_fingerprint"), new_fp);
    assert_int_equal(mp_count_from(a, a0, "queued", NULL, NULL), 0);

    mp_cmd(nb, "{\"cmd\":\"verify\",\"with\":\"alice\",\"tag\":\"v0\"}");
    ev = mp_expect(nb, 0, "safety_number", "tag", "v0");
    snprintf(old_number, sizeof(old_number), "%s", sfield(ev, "number"));
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"bob\",\"tag\":\"v1\"}");
    ev = mp_expect(a, a0, "safety_number", "tag", "v1");
    assert_true(json_is_true(json_object_get(ev, "new_key")));
    assert_string_equal(sfield(ev, "number"), old_number); /* what the new bob sees */

    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"alice\",\"tag\":\"v2\"}");
    ev = mp_expect(a, a0, "error", "tag", "v2");
    assert_string_equal(sfield(ev, "code"), "bad_field");
    assert_non_null(strstr(sfield(ev, "message"), "your own name"));

    entry = history_entry(a, "bob", "key_change", &n, "h1");
    assert_non_null(entry);
    assert_int_equal(n, 1);
    assert_non_null(strstr(sfield(entry, "text"), new_fp));
    assert_string_equal(sfield(entry, "from"), "bob");

    mp_quit(a);
    mp_restart(a, f->srv.port);
    see_each_other(a, nb);
    round_trip(a, "w1");
    entry = history_entry(a, "bob", "key_change", &n, "h2");
    assert_non_null(entry);
    assert_int_equal(n, 1); /* the same pending key again: no second line */
    mp_quit(a);
    mp_quit(nb);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(verify),
    PE_SCENARIO(key_changed_and_trust),
    PE_SCENARIO(trust_fingerprint),
    PE_SCENARIO(trust_server),
    PE_SCENARIO(impostor),
    PE_SCENARIO(offline_impostor),
    PE_SCENARIO(alarm_rate),
    PE_SCENARIO(trust_unseen),
    PE_SCENARIO(key_change_flow),
    PE_SCENARIO(two_networks),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-trust");
}
