/* End-to-end tests of file transfer (issue 15, "Done when") with `mim --json`: the real
 * mim-presence and two real mim processes, alice sending to bob, each of them reached through a
 * tamper proxy of its own (tamper_proxy.h) given as its --advertise-port, so every connection
 * between them -- the chat session and the bulk connection, whichever side dials it -- crosses
 * a proxy the test controls: it throttles the transfer so the test can act at ~40 %, counts
 * the bytes that went from alice to bob, and spoils one frame deep into a connection. Waits are
 * bounded polls on the processes' stdout, never sleeps. Each scenario is its own ctest entry
 * (peer/files_<name>):
 *
 *   file_50mib       a 50 MiB random file arrives byte-identical, file_done on both sides with
 *                    the same size and the SHA-256 of the source
 *   folder_200       a folder of 200 small files in nested folders arrives as one folder with
 *                    the same layout, every file byte-identical
 *   receiver_killed  bob SIGKILLed at ~40 % and restarted: the transfer finishes by itself,
 *                    and the bytes that crossed after the restart are fewer than the whole
 *                    less what was verified before it (it did not start over)
 *   sender_killed    the same with alice killed and restarted
 *   corrupt_piece    one bit of a frame deep into the bulk connection flipped on the way: the
 *                    session's authentication catches it (the frame is encrypted, so the
 *                    proxy cannot reach a piece's plaintext; the connection dies), the
 *                    transfer resumes from what was verified, and the file verifies
 *   offer_off_loop   send_file of a 50 MiB file and a chat message in the same loop turn: the
 *                    message is answered first (the file is read and hashed on a worker, not
 *                    on the loop), and the transfer then completes as usual
 *   blocked_midway   bob blocks alice at ~20 % of a file: the bulk connection closes at once
 *                    (not only the chat session), the transfer is paused with a reason
 *                    (file_paused), and is not dialled again; once bob unblocks
 *                    her, the transfer finishes by itself */
#include "files_e2e.h"
#include "mim_proc.h"
#include "tamper_proxy.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ~12 MiB into a bulk connection of 64 KiB frames: a chat session never gets there. */
#define FLIP_FRAME 200

/* The two proxies: to_a in front of alice (connections bob dials: alice's bytes go
 * TP_FROM_TARGET), to_b in front of bob (connections alice dials: TP_TO_TARGET). */
typedef struct mitm {
    tamper_proxy to_a, to_b;
    char port_a[16], port_b[16];
    char dl[PE_PATH_MAX + 16]; /* bob's download dir */
} mitm;

static mitm the_mitm; /* one per scenario process; its strings outlive the peers' restarts */

/* Bytes that went from alice to bob through both proxies so far. */
static long long alice_to_bob(mitm *m)
{
    return atomic_load(&m->to_a.forwarded[TP_FROM_TARGET]) +
           atomic_load(&m->to_b.forwarded[TP_TO_TARGET]);
}

static void set_rate(mitm *m, long bytes_per_s)
{
    atomic_store(&m->to_a.rate, bytes_per_s);
    atomic_store(&m->to_b.rate, bytes_per_s);
}

/* Starts the proxies (flip: one frame FLIP_FRAME of alice's bytes spoiled, once per proxy) and
 * then alice and bob behind them, bob saving into f->tmp/dl; they meet (a message each way),
 * so each has pinned the other. */
static mitm *start_pair(fixture *f, int flip)
{
    mitm *m = &the_mitm;
    mp *a = &f->peers[0], *b = &f->peers[1];
    enum tp_action act = flip ? TP_FLIP_ANY : TP_FLIP;

    memset(m, 0, sizeof(*m));
    assert_int_equal(tamper_proxy_start(&m->to_a, 0, TP_FROM_TARGET, FLIP_FRAME, act, flip), 0);
    assert_int_equal(tamper_proxy_start(&m->to_b, 0, TP_TO_TARGET, FLIP_FRAME, act, flip), 0);
    snprintf(m->port_a, sizeof(m->port_a), "%d", m->to_a.port);
    snprintf(m->port_b, sizeof(m->port_b), "%d", m->to_b.port);
    snprintf(m->dl, sizeof(m->dl), "%s/dl", f->tmp);
    a->extra[0] = "--advertise-port";
    a->extra[1] = m->port_a;
    b->extra[0] = "--advertise-port";
    b->extra[1] = m->port_b;
    b->extra[2] = "--download-dir";
    b->extra[3] = m->dl;
    atomic_store(&m->to_a.target_port, ready_port(start_peer(f, a)));
    atomic_store(&m->to_b.target_port, ready_port(start_peer(f, b)));
    see_each_other(a, b);
    exchange(a, b, "hello", "m1", NULL);
    exchange(b, a, "hello back", "m2", NULL);
    return m;
}

static void stop_pair(fixture *f, mitm *m)
{
    mp_quit(&f->peers[0]);
    mp_quit(&f->peers[1]);
    tamper_proxy_stop(&m->to_a);
    tamper_proxy_stop(&m->to_b);
}

/* SIGKILLs p and starts it again behind its proxy (its listen port is a new one). */
static void kill_and_restart(fixture *f, mitm *m, mp *p)
{
    tamper_proxy *tp = p == &f->peers[0] ? &m->to_a : &m->to_b;

    mp_kill9(p);
    mp_restart(p, f->srv.port);
    atomic_store(&tp->target_port, ready_port(mp_expect(p, 0, "ready", "name", p->name)));
}

/* alice sends the file or folder at src to bob, who accepts it; both report file_done, and the
 * copy is checked. */
static void send_and_check(fixture *f, const char *src, int folder, const char *tag)
{
    mp *a = &f->peers[0], *b = &f->peers[1];
    char id[FE_ID_LEN];
    size_t a0, b0 = b->nev;
    json_t *done_b;

    a0 = fe_send_file(a, "bob", src, tag, id);
    fe_accept(b, b0, id);
    done_b = fe_expect_done(b, b0, id);
    fe_check_received(fe_expect_done(a, a0, id), done_b, src, folder);
}

static void test_file_50mib(void **state)
{
    fixture *f = *state;
    mitm *m = start_pair(f, 0);
    char src[PE_PATH_MAX + 32];

    snprintf(src, sizeof(src), "%s/random.bin", f->tmp);
    assert_int_equal(fe_write_random(src, 50 * FE_MIB, 15), 0);
    send_and_check(f, src, 0, "f1");
    /* Nothing but the file's bytes and a little framing crossed: no second copy. */
    assert_true(alice_to_bob(m) < 51LL * FE_MIB);
    stop_pair(f, m);
}

static void test_folder_200(void **state)
{
    fixture *f = *state;
    mitm *m = start_pair(f, 0);
    char src[PE_PATH_MAX + 32];

    snprintf(src, sizeof(src), "%s/album", f->tmp);
    assert_int_equal(fe_make_folder(src, 200), 0);
    send_and_check(f, src, 1, "d1");
    stop_pair(f, m);
}

/* The victim (alice or bob) is SIGKILLed once bob has verified ~40 % of a file sent at 4 MiB/s
 * and started again; the transfer must finish without starting over. */
static void killed_midway(fixture *f, int kill_sender)
{
    mp *a = &f->peers[0], *b = &f->peers[1];
    const int64_t size = 24 * FE_MIB;
    mitm *m = start_pair(f, 0);
    char src[PE_PATH_MAX + 32], id[FE_ID_LEN];
    size_t a0;
    int64_t verified;
    long long before;

    snprintf(src, sizeof(src), "%s/killed.bin", f->tmp);
    assert_int_equal(fe_write_random(src, (size_t)size, 40), 0);
    set_rate(m, 4 * FE_MIB);
    a0 = fe_send_file(a, "bob", src, "k1", id);
    fe_accept(b, 0, id);
    verified = fe_wait_progress(b, 0, id, size * 2 / 5, FE_DONE_MS);
    if (verified < 0 || verified >= size) {
        mp_dump(b);
        fail_msg("no progress report between 40 %% and the end");
    }
    before = alice_to_bob(m);
    kill_and_restart(f, m, kill_sender ? a : b);
    set_rate(m, 0);
    fe_check_received(fe_expect_done(a, kill_sender ? 0 : a0, id), fe_expect_done(b, 0, id), src,
                      0);
    /* What crossed after the restart: the rest, plus what was in flight and not yet verified
     * at the kill, plus framing; never the whole again. */
    if (alice_to_bob(m) - before >= size - verified / 2)
        fail_msg("%lld bytes crossed after the restart: the transfer started over (%lld of %lld "
                 "were verified before)",
                 alice_to_bob(m) - before, (long long)verified, (long long)size);
    stop_pair(f, m);
}

static void test_receiver_killed(void **state)
{
    killed_midway(*state, 0);
}

static void test_sender_killed(void **state)
{
    killed_midway(*state, 1);
}

static void test_corrupt_piece(void **state)
{
    fixture *f = *state;
    mitm *m = start_pair(f, 1);
    char src[PE_PATH_MAX + 32];

    snprintf(src, sizeof(src), "%s/corrupt.bin", f->tmp);
    assert_int_equal(fe_write_random(src, 24 * FE_MIB, 77), 0);
    send_and_check(f, src, 0, "c1");
    /* Exactly one frame was spoiled (only the bulk connection reaches FLIP_FRAME), and the
     * transfer went on over a new connection. */
    assert_int_equal(atomic_load(&m->to_a.spoiled) + atomic_load(&m->to_b.spoiled), 1);
    assert_true(atomic_load(&m->to_a.connections) + atomic_load(&m->to_b.connections) >= 3);
    stop_pair(f, m);
}

static void test_offer_off_loop(void **state)
{
    fixture *f = *state;
    mitm *m = start_pair(f, 0);
    mp *a = &f->peers[0], *b = &f->peers[1];
    char src[PE_PATH_MAX + 32], line[PE_PATH_MAX + 256];
    size_t a0 = a->nev, b0 = b->nev;
    long at_file, at_text;
    const char *id;

    snprintf(src, sizeof(src), "%s/random.bin", f->tmp);
    assert_int_equal(fe_write_random(src, 50 * FE_MIB, 16), 0);
    snprintf(line, sizeof(line),
             "{\"cmd\":\"send_file\",\"to\":\"bob\",\"path\":\"%s\",\"tag\":\"f\"}\n"
             "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"meanwhile\",\"tag\":\"t\"}\n",
             src);
    mp_write_once(a, line);
    for (int i = 0; i < 600 && (at_file = mp_first_tagged(a, a0, "f")) < 0; i++)
        (void)mp_pump(a, 100); /* bounded: 60 s */
    assert_true(at_file >= 0);
    at_text = mp_first_tagged(a, a0, "t");
    assert_true(at_text >= 0 && at_text < at_file); /* the loop answered while the file was read */
    id = sfield(a->ev[at_file], "id");
    assert_non_null(id);
    fe_accept(b, b0, id);
    fe_check_received(fe_expect_done(a, a0, id), fe_expect_done(b, b0, id), src, 0);
    stop_pair(f, m);
}

/* Waits (bounded: 60 s) until p's log holds needle. */
static void wait_log(mp *p, const char *needle)
{
    for (int i = 0; i < 600 && pe_file_count(p->log, needle) == 0; i++)
        (void)mp_pump(p, 100);
    if (pe_file_count(p->log, needle) == 0) {
        mp_dump(p);
        fail_msg("%s never logged \"%s\"", p->name, needle);
    }
}

static void test_blocked_midway(void **state)
{
    fixture *f = *state;
    mitm *m = start_pair(f, 0);
    mp *a = &f->peers[0], *b = &f->peers[1];
    const int64_t size = 24 * FE_MIB;
    char src[PE_PATH_MAX + 32], id[FE_ID_LEN];
    size_t a0, b1;
    int64_t verified;
    json_t *paused;

    snprintf(src, sizeof(src), "%s/blocked.bin", f->tmp);
    assert_int_equal(fe_write_random(src, (size_t)size, 41), 0);
    set_rate(m, 4 * FE_MIB);
    a0 = fe_send_file(a, "bob", src, "x1", id);
    fe_accept(b, 0, id);
    verified = fe_wait_progress(b, 0, id, size / 5, FE_DONE_MS);
    if (verified < 0 || verified >= size) {
        mp_dump(b);
        fail_msg("no progress report between 20 %% and the end");
    }
    b1 = b->nev;
    mp_cmd(b, "{\"cmd\":\"block\",\"name\":\"alice\"}");
    mp_expect(b, b1, "ok", "cmd", "block");
    wait_log(b, "bulk connection with alice for blocked.bin closed: blocked");
    paused = mp_expect(b, b1, "file_paused", "id", id); /* said, with why */
    assert_string_equal(sfield(paused, "error"),
                        "paused: alice is blocked; it goes on once unblocked");
    assert_true(mp_index_of(b, b1, "file_done", "id", id) < 0);
    set_rate(m, 0);
    b1 = b->nev;
    mp_cmd(b, "{\"cmd\":\"unblock\",\"name\":\"alice\"}");
    mp_expect(b, b1, "ok", "cmd", "unblock");
    fe_check_received(fe_expect_done(a, a0, id), fe_expect_done(b, 0, id), src, 0);
    stop_pair(f, m);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(file_50mib),     PE_SCENARIO(folder_200),    PE_SCENARIO(receiver_killed),
    PE_SCENARIO(sender_killed),  PE_SCENARIO(corrupt_piece), PE_SCENARIO(offer_off_loop),
    PE_SCENARIO(blocked_midway),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "files-e2e");
}
