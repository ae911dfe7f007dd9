/* End-to-end tests of files in `mim --json` (issue 15): the real mim-presence and real mim
 * processes (mim_proc.h). Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   files_small     a small file to a pinned contact: accepted by itself, byte-identical,
 *                   file_done on both sides with the same sha256 (sha256sum's), one history
 *                   entry each, the files list
 *   files_folder    a folder of a few files (one in a subfolder) keeps its layout
 *   files_decide    from a newcomer the offer waits: accept_file; another, reject_file (the
 *                   sender hears it); deciding again, an unknown id, a bad id are refused
 *   files_policy    --auto-accept: a pinned contact's offer over it waits, under it not;
 *                   --max-file-size: an offer over it is rejected by itself
 *   files_bad       send_file refusals: no such path, a socket, a missing field, nobody
 *   files_quiet_offer  a sixth newcomer in a minute (kept quiet) offers a file: held, not
 *                   reported (nor accepted) until alice reads its history; then it waits and,
 *                   accepted, arrives */
#include "direct_peer.h"
#include "mim_proc.h"
#include "raw_sender.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#define FILE_WAIT_MS 30000 /* a transfer of a few hundred KB on loopback, under load */

/* out = dir/leaf (cap bytes); fails the test when it does not fit. */
static void join(char *out, size_t cap, const char *dir, const char *leaf)
{
    int n = snprintf(out, cap, "%s/%s", dir, leaf);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Writes size bytes of a pattern drawn from seed to path. */
static void make_file(const char *path, size_t size, uint32_t seed)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        fputc((int)(seed >> 16) & 0xff, fp);
    }
    assert_int_equal(fclose(fp), 0);
}

/* 1 when the files at a and b hold the same bytes. */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb, same = fa != NULL && fb != NULL;

    while (same && (ca = fgetc(fa)) == (cb = fgetc(fb)) && ca != EOF)
        ;
    same = same && ca == EOF && cb == EOF;
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same;
}

/* sha256sum's digest of path (64 hex digits) into out. */
static void sha256_of(const char *path, char out[65])
{
    char cmd[PE_PATH_MAX + 32];
    FILE *p;

    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, 65, p));
    pclose(p);
    assert_int_equal(strlen(out), 64);
}

/* p saves files under f->tmp/NAME-dl (--download-dir), and takes `opt value` too (or none). */
static void downloads_to(const fixture *f, mp *p, char dir[PE_PATH_MAX], const char *opt,
                         const char *value)
{
    char leaf[80];

    snprintf(leaf, sizeof(leaf), "%.60s-dl", p->name);
    join(dir, PE_PATH_MAX, f->tmp, leaf);
    p->extra[0] = "--download-dir";
    p->extra[1] = dir;
    p->extra[2] = opt;
    p->extra[3] = value;
}

/* a offers path to b (send_file, tagged): the offer's id (33 bytes) into id. */
static void offer(mp *a, const char *to, const char *path, const char *tag, char id[33])
{
    size_t from = a->nev;
    json_t *ev;

    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"%s\",\"path\":\"%s\",\"tag\":\"%s\"}", to, path,
           tag);
    ev = mp_expect(a, from, "sent", "tag", tag);
    assert_string_equal(sfield(ev, "to"), to);
    assert_int_equal(strlen(sfield(ev, "id")), 32);
    snprintf(id, 33, "%s", sfield(ev, "id"));
}

/* The `type`s of p's history with `with`, as a comma-separated list into out. */
static const char *history_types(mp *p, const char *with, const char *tag, char *out, size_t cap)
{
    json_t *msgs;
    size_t w = 0;

    mp_cmd(p, "{\"cmd\":\"history\",\"with\":\"%s\",\"tag\":\"%s\"}", with, tag);
    msgs = json_object_get(mp_expect(p, 0, "history", "tag", tag), "messages");
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(msgs) && w + 12 < cap; i++)
        w += (size_t)snprintf(out + w, cap - w, "%s%s", i ? "," : "",
                              sfield(json_array_get(msgs, i), "type"));
    return out;
}

/* alice and bob run, have exchanged a message (each pins the other) and bob was restarted (so
 * alice is a contact from before this run), and bob saves files under his download dir
 * (bob_opt: one more option for bob, or NULL). */
static void start_pinned(fixture *f, char bob_dl[PE_PATH_MAX], const char *bob_opt,
                         const char *bob_value)
{
    mp *a = &f->peers[0], *b = &f->peers[1];

    downloads_to(f, b, bob_dl, bob_opt, bob_value);
    size_t from;

    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    exchange(a, b, "hello", "hi", NULL);
    /* A contact met in this run is new to the accept policy: pinned before this run is known. */
    mp_quit(b);
    from = a->nev;
    mp_restart(b, f->srv.port);
    mp_expect(b, 0, "online", "name", "alice");
    mp_expect(a, from, "online", "name", "bob");
}

/* a sends a new file of size bytes to b (who accepts it: pinned, small): both report its
 * SHA-256 (sha256sum's) and b's copy is the same bytes. */
static void send_and_check(mp *a, mp *b, const char *tmp, const char *dl, const char *name,
                           size_t size)
{
    char src[PE_PATH_MAX], saved[PE_PATH_MAX + 300], id[33], sum[65];
    json_t *ev;

    join(src, sizeof(src), tmp, name);
    make_file(src, size, 7);
    sha256_of(src, sum);
    offer(a, "bob", src, name, id);
    ev = mp_expect_within(b, 0, "file_done", "id", id, FILE_WAIT_MS);
    join(saved, sizeof(saved), dl, name);
    assert_string_equal(sfield(ev, "path"), saved);
    assert_string_equal(sfield(ev, "sha256"), sum);
    assert_true(same_file(src, saved));
    ev = mp_expect_within(a, 0, "file_done", "id", id, FILE_WAIT_MS);
    assert_string_equal(sfield(ev, "sha256"), sum);
}

static void test_files_small(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char dl[PE_PATH_MAX], src[PE_PATH_MAX], saved[PE_PATH_MAX + 16], id[33], sum[65], types[64];
    json_t *ev, *list;

    start_pinned(f, dl, NULL, NULL);
    join(src, sizeof(src), f->tmp, "report.bin");
    make_file(src, 300000, 1);
    sha256_of(src, sum);
    offer(a, "bob", src, "f1", id);
    mp_expect(a, 0, "delivered", "id", id);
    ev = mp_expect(b, 0, "file_offer", "id", id);
    assert_string_equal(sfield(ev, "from"), "alice");
    assert_string_equal(sfield(ev, "name"), "report.bin");
    assert_int_equal(json_integer_value(json_object_get(ev, "size")), 300000);
    assert_true(json_is_true(json_object_get(ev, "accepted"))); /* pinned, under 100M */
    ev = mp_expect_within(b, 0, "file_done", "id", id, FILE_WAIT_MS);
    join(saved, sizeof(saved), dl, "report.bin");
    assert_string_equal(sfield(ev, "path"), saved);
    assert_string_equal(sfield(ev, "sha256"), sum);
    assert_string_equal(sfield(ev, "direction"), "receive");
    assert_string_equal(sfield(ev, "with"), "alice");
    assert_true(same_file(src, saved));
    ev = mp_expect_within(a, 0, "file_done", "id", id, FILE_WAIT_MS);
    assert_string_equal(sfield(ev, "sha256"), sum);
    assert_string_equal(sfield(ev, "direction"), "send");
    assert_string_equal(sfield(ev, "with"), "bob");
    assert_string_equal(history_types(a, "bob", "h1", types, sizeof(types)), "text,file");
    /* bob's history was read after his restart: the same two entries. */
    assert_string_equal(history_types(b, "alice", "h2", types, sizeof(types)), "text,file");
    mp_cmd(b, "{\"cmd\":\"files\",\"tag\":\"l1\"}");
    list = json_object_get(mp_expect(b, 0, "files", "tag", "l1"), "files");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(sfield(json_array_get(list, 0), "state"), "done");
    assert_string_equal(sfield(json_array_get(list, 0), "id"), id);
    assert_string_equal(sfield(json_array_get(list, 0), "with"), "alice");
    /* The chain's edges: an empty file (no chunk, no hash list: SHA-256 of nothing), and one of
     * exactly two chunks (its last link is the final hash of a whole chunk). */
    send_and_check(a, b, f->tmp, dl, "empty.bin", 0);
    send_and_check(a, b, f->tmp, dl, "two chunks.bin", 2u << 20);
}

static void test_files_folder(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    static const char *const names[] = {"a.txt", "b.bin", "sub/c.dat"};
    char dl[PE_PATH_MAX], src[PE_PATH_MAX], path[PE_PATH_MAX + 32], saved[PE_PATH_MAX + 32];
    char id[33];
    json_t *ev;

    start_pinned(f, dl, NULL, NULL);
    join(src, sizeof(src), f->tmp, "photos");
    assert_int_equal(mkdir(src, 0700), 0);
    join(path, sizeof(path), src, "sub");
    assert_int_equal(mkdir(path, 0700), 0);
    for (size_t i = 0; i < 3; i++) {
        join(path, sizeof(path), src, names[i]);
        make_file(path, 1000 + 70000 * i, (uint32_t)i + 7);
    }
    offer(a, "bob", src, "f1", id);
    ev = mp_expect(b, 0, "file_offer", "id", id);
    assert_int_equal(json_integer_value(json_object_get(ev, "files")), 3);
    assert_string_equal(sfield(ev, "name"), "photos");
    mp_expect_within(b, 0, "file_done", "id", id, FILE_WAIT_MS);
    for (size_t i = 0; i < 3; i++) {
        join(path, sizeof(path), src, names[i]);
        join(saved, sizeof(saved), dl, "photos");
        join(saved + strlen(saved), sizeof(saved) - strlen(saved), "", names[i]);
        assert_true(same_file(path, saved));
    }
    mp_expect_within(a, 0, "file_done", "id", id, FILE_WAIT_MS);
}

/* The error answering p's command with this tag: its code. */
static const char *error_code(mp *p, const char *tag)
{
    return sfield(mp_expect(p, 0, "error", "tag", tag), "code");
}

static void test_files_decide(void **state)
{
    fixture *f = *state;
    mp *b = &f->peers[1], *c = &f->peers[2];
    char dl[PE_PATH_MAX], src[PE_PATH_MAX], saved[PE_PATH_MAX + 16], id[33], id2[33];
    json_t *ev;

    downloads_to(f, b, dl, NULL, NULL);
    start_peer(f, b);
    start_peer(f, c);
    see_each_other(b, c);
    join(src, sizeof(src), f->tmp, "notes.txt");
    make_file(src, 5000, 3);
    offer(c, "bob", src, "f1", id); /* carol is new to bob: it waits */
    ev = mp_expect(b, 0, "file_offer", "id", id);
    assert_true(json_is_false(json_object_get(ev, "accepted")));
    mp_cmd(c, "{\"cmd\":\"accept_file\",\"id\":\"%s\",\"tag\":\"own\"}", id);
    assert_string_equal(error_code(c, "own"), "bad_state"); /* hers: bob decides */
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\",\"tag\":\"a1\"}", id);
    assert_string_equal(sfield(mp_expect(b, 0, "ok", "tag", "a1"), "cmd"), "accept_file");
    mp_expect_within(b, 0, "file_done", "id", id, FILE_WAIT_MS);
    mp_expect_within(c, 0, "file_done", "id", id, FILE_WAIT_MS);
    join(saved, sizeof(saved), dl, "notes.txt");
    assert_true(same_file(src, saved));

    offer(c, "bob", src, "f2", id2); /* the same again: rejected */
    mp_expect(b, 0, "file_offer", "id", id2);
    mp_cmd(b, "{\"cmd\":\"reject_file\",\"id\":\"%s\",\"tag\":\"r1\"}", id2);
    mp_expect(b, 0, "ok", "tag", "r1");
    ev = mp_expect(c, 0, "file_failed", "id", id2);
    assert_string_equal(sfield(ev, "state"), "rejected");
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\",\"tag\":\"a2\"}", id2);
    assert_string_equal(error_code(b, "a2"), "bad_state"); /* decided already */
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%032d\",\"tag\":\"a3\"}", 0);
    assert_string_equal(error_code(b, "a3"), "unknown_transfer");
    mp_cmd(b, "{\"cmd\":\"reject_file\",\"id\":\"xyz\",\"tag\":\"a4\"}");
    assert_string_equal(error_code(b, "a4"), "bad_field");
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"tag\":\"a5\"}");
    assert_string_equal(error_code(b, "a5"), "missing_field");
    join(saved, sizeof(saved), dl, "notes (1).txt");
    assert_false(pe_exists(saved));     /* the rejected one was not written */
    for (size_t i = 0; i < b->nev; i++) /* every file event names carol */
        if (strncmp(sfield(b->ev[i], "event"), "file_", 5) == 0 &&
            strcmp(sfield(b->ev[i], "with") ? sfield(b->ev[i], "with") : sfield(b->ev[i], "from"),
                   "carol") != 0) {
            mp_dump(b);
            fail_msg("event %zu names someone else", i);
        }
}

static void test_files_policy(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char dl[PE_PATH_MAX], big[PE_PATH_MAX], small[PE_PATH_MAX], id[33], id2[33];
    json_t *ev;

    start_pinned(f, dl, "--auto-accept", "1K");
    join(big, sizeof(big), f->tmp, "big.bin");
    make_file(big, 4000, 5);
    join(small, sizeof(small), f->tmp, "small.bin");
    make_file(small, 500, 6);
    offer(a, "bob", big, "f1", id); /* pinned, but over --auto-accept: it waits */
    ev = mp_expect(b, 0, "file_offer", "id", id);
    assert_true(json_is_false(json_object_get(ev, "accepted")));
    offer(a, "bob", small, "f2", id2); /* under it: taken */
    ev = mp_expect(b, 0, "file_offer", "id", id2);
    assert_true(json_is_true(json_object_get(ev, "accepted")));
    mp_expect_within(b, 0, "file_done", "id", id2, FILE_WAIT_MS);
    assert_int_equal(mp_count(b, "file_done", "id", id), 0);

    /* --max-file-size 2K: the big one is rejected by itself, and alice hears it. */
    mp_quit(b);
    downloads_to(f, b, dl, "--max-file-size", "2K");
    mp_restart(b, f->srv.port);
    offer(a, "bob", big, "f3", id);
    ev = mp_expect_within(a, 0, "file_failed", "id", id, FILE_WAIT_MS);
    assert_string_equal(sfield(ev, "state"), "rejected");
}

static void test_files_bad(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char dl[PE_PATH_MAX], path[PE_PATH_MAX];
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    json_t *ev;
    int fd;

    start_pinned(f, dl, NULL, NULL);
    join(path, sizeof(path), f->tmp, "none");
    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"bob\",\"path\":\"%s\",\"tag\":\"b1\"}", path);
    ev = mp_expect(a, 0, "error", "tag", "b1");
    assert_string_equal(sfield(ev, "code"), "bad_path");
    assert_non_null(strstr(sfield(ev, "message"), "no such file or folder"));

    join(sun.sun_path, sizeof(sun.sun_path), f->tmp, "s.sock");
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"bob\",\"path\":\"%s\",\"tag\":\"b2\"}",
           sun.sun_path);
    ev = mp_expect(a, 0, "error", "tag", "b2");
    close(fd);
    assert_string_equal(sfield(ev, "code"), "bad_path");
    assert_non_null(strstr(sfield(ev, "message"), "socket"));

    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"bob\",\"tag\":\"b3\"}");
    assert_string_equal(error_code(a, "b3"), "missing_field");
    join(path, sizeof(path), f->tmp, "x.txt");
    make_file(path, 10, 9);
    mp_cmd(a, "{\"cmd\":\"send_file\",\"to\":\"nobody\",\"path\":\"%s\",\"tag\":\"b4\"}", path);
    assert_string_equal(error_code(a, "b4"), "unknown_peer");
    mp_cmd(a, "{\"cmd\":\"files\",\"tag\":\"l1\"}");
    ev = mp_expect(a, 0, "files", "tag", "l1");
    assert_int_equal(json_array_size(json_object_get(ev, "files")), 0); /* nothing was offered */
    exchange(a, b, "still fine", "s2", NULL);                           /* and it goes on */
}

#define SHOWN_NEWCOMERS 5 /* new contacts shown a minute (core_roster.c) */

static int newcomers_connected(void *arg)
{
    const pe_peer *ps = arg;
    for (int i = 0; i < SHOWN_NEWCOMERS; i++)
        if (pe_state(&ps[i]) != PRESENCE_CONNECTED)
            return 0;
    return 1;
}

static int newcomers_stopped(void *arg)
{
    const pe_peer *ps = arg;
    for (int i = 0; i < SHOWN_NEWCOMERS; i++)
        if (!ps[i].stopped)
            return 0;
    return 1;
}

/* Five newcomers write to alice (each shown), then a sixth in the same minute, a sender of the
 * test's own (raw_sender.h), offers a small file: stored and acked, but held like a quiet
 * newcomer's messages (no file_offer, however small: never accepted by itself); reading its
 * history shows it (file_offer, waiting); accepted then, it arrives. */
static void test_files_quiet_offer(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    static pe_peer ps[SHOWN_NEWCOMERS];
    static char dl[PE_PATH_MAX];
    pe_loop l;
    raw_sender rs;
    rs_offer *o;
    mim_identity *alice_id;
    json_t *ev;
    int port;
    size_t a0;

    downloads_to(f, a, dl, NULL, NULL);
    port = ready_port(start_peer(f, a));
    alice_id = load_identity(a);
    assert_int_equal(pe_loop_init(&l), 0);
    for (int i = 0; i < SHOWN_NEWCOMERS; i++) {
        char name[8];
        snprintf(name, sizeof(name), "new%d", i);
        assert_int_equal(pe_peer_init(&ps[i], name, NULL), 0);
        assert_int_equal(pe_peer_start(&ps[i], &l.loop, f->srv.port, 0, 0, 0), 0);
    }
    assert_true(pe_loop_wait(&l, newcomers_connected, ps, WAIT_MS));
    for (int i = 0; i < SHOWN_NEWCOMERS; i++) {
        mp_expect(a, 0, "online", "name", ps[i].name);
        assert_int_equal(direct_send(ps[i].id, ps[i].name, port, alice_id->sign_pk, "alice", "hi"),
                         1);
    }
    assert_int_equal(rs_start(&rs, "late", f->srv.port), 0);
    mp_expect(a, 0, "online", "name", "late");
    assert_non_null(o = rs_add_offer(&rs, &(rs_offer){.name = "held.bin", .size = 1000}));
    a0 = a->nev;
    assert_int_equal(direct_send_msgs(rs.peer.id, "late", port, alice_id->sign_pk, "alice",
                                      (Mim__PeerMsg *const[]){&o->msg}, 1),
                     1);
    assert_non_null(
        strstr(sfield(mp_expect(a, a0, "error", "code", "new_contacts"), "message"), "late"));
    round_trip(a, "w1");
    assert_int_equal(mp_count_from(a, a0, "file_offer", NULL, NULL), 0);
    assert_int_equal(mp_count_from(a, a0, "message", NULL, NULL), 0);

    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"late\",\"limit\":10}");
    ev = mp_expect(a, a0, "file_offer", "id", o->id_hex);
    assert_false(json_is_true(json_object_get(ev, "accepted")));
    mp_cmd(a, "{\"cmd\":\"accept_file\",\"id\":\"%s\"}", o->id_hex);
    mp_expect_within(a, a0, "file_done", "id", o->id_hex, FILE_WAIT_MS);
    assert_int_equal(mp_count(a, "file_offer", "id", o->id_hex), 1);

    rs_stop(&rs);
    for (int i = 0; i < SHOWN_NEWCOMERS; i++)
        pe_peer_stop(&ps[i]);
    assert_true(pe_loop_wait(&l, newcomers_stopped, ps, WAIT_MS));
    for (int i = 0; i < SHOWN_NEWCOMERS; i++)
        pe_peer_cleanup(&ps[i]);
    assert_int_equal(pe_loop_close(&l), 0);
    mim_identity_free(alice_id);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(files_small),  PE_SCENARIO(files_folder), PE_SCENARIO(files_decide),
    PE_SCENARIO(files_policy), PE_SCENARIO(files_bad),    PE_SCENARIO(files_quiet_offer),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-files");
}
