/* End-to-end test of hostile file names (issue 15): a raw peer (direct_peer.c, as carol) offers
 * files to the real mim bob under names meant to escape his download directory. Scenario
 * (peer/files_<name>):
 *
 *   hostile_names  an offer named "../../x" cannot be sent at all: the codec every receiver runs
 *                  (mim_peer_msg_validate) refuses a name with '/', so the batch would be
 *                  refused whole; offers named "..", ".bashrc" and "..\..\x" are acked and
 *                  shown under safe names (no '/', not "." or "..", no leading dot), wait for
 *                  a decision (carol is new), and nothing appears outside the download
 *                  directory, also once bob accepts one (its .part is made inside); the
 *                  session goes on (a text after them is acked).
 *   hostile_manifest  a sender of the test's own (raw_sender.h: it logs in, and serves the bulk
 *                  connection bob dials to it) offers folders whose manifests hold
 *                  "a/../../../b", an absolute path, a control character, a duplicate, a file
 *                  that is also a folder, a path 65 folders deep, entries that do not add up to
 *                  the offer's size; each fails with a clear file_failed (the sender is told the
 *                  same), nothing is written outside the download directory or left in it; an
 *                  honest folder named like a symlink planted in the download directory
 *                  arrives beside it, nothing through it; bob chats with carol after all that
 *   hostile_data   the same sender lies in the data: a chunk that never matches (given up
 *                  after 3 tries), a piece past the last chunk, a file longer than offered,
 *                  nothing sent at all, a hash list the offer's root does not commit to;
 *                  each a clear file_failed, no .part left behind. */
#define _XOPEN_SOURCE 700 /* nftw */

#include "direct_peer.h"
#include "files_e2e.h"
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_proc.h"
#include "raw_sender.h"

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define NOFFERS 3

/* A file offer from carol, valid but for what the test puts in its name. */
typedef struct offer_msg {
    Mim__PeerMsg m;
    Mim__ChatMessage c;
    Mim__FileOffer o;
    uint8_t id[MIM_MSG_ID_LEN], root[32];
} offer_msg;

static void offer_init(offer_msg *x, const char *name)
{
    mim__peer_msg__init(&x->m);
    mim__chat_message__init(&x->c);
    mim__file_offer__init(&x->o);
    mim_random_bytes(x->id, sizeof(x->id));
    mim_random_bytes(x->root, sizeof(x->root));
    x->o.name = (char *)name;
    x->o.size = 1000;
    x->o.file_count = 1;
    x->o.chunk_size = 64 * 1024;
    x->o.root.data = x->root;
    x->o.root.len = sizeof(x->root);
    x->c.id.data = x->id;
    x->c.id.len = sizeof(x->id);
    x->c.ts_ms = (uint64_t)time(NULL) * 1000;
    x->c.sender = "carol";
    x->c.type = MIM__CONTENT_TYPE__CONTENT_FILE;
    x->c.text = "";
    x->c.offer = &x->o;
    x->m.body_case = MIM__PEER_MSG__BODY_CHAT;
    x->m.chat = &x->c;
}

/* The names in dir, sorted and joined by '|' (for a before/after comparison). */
static void list_dir(const char *dir, char *out, size_t len)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);

    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t have = strlen(out);
        snprintf(out + have, len - have, "%s|", ents[i]->d_name);
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

/* Removes the entry "name|" from a list_dir string. */
static void drop_entry(char *list, const char *entry)
{
    for (char *p = list; (p = strstr(p, entry)) != NULL;) {
        if (p == list || p[-1] == '|') {
            memmove(p, p + strlen(entry), strlen(p + strlen(entry)) + 1);
            return;
        }
        p++;
    }
}

/* Waits (WAIT_MS at most) until something is in dir, b reports file_failed of id, or the
 * sender's log says it turned b's bulk request away (carol has no such transfer). */
static void wait_part_or_failure(mp *b, const mp *sender, const char *dir, const char *id)
{
    uint64_t end = now_ms() + WAIT_MS;
    char list[4096];

    for (;;) {
        list_dir(dir, list, sizeof(list));
        drop_entry(list, ".|");
        drop_entry(list, "..|");
        if (list[0] != '\0' || mp_index_of(b, 0, "file_failed", "id", id) >= 0 ||
            pe_file_count(sender->log, "no such transfer") > 0)
            return;
        if (now_ms() > end || mp_pump(b, 100) < 0) {
            mp_dump(b);
            fail_msg("the accepted offer %s made nothing and did not fail", id);
        }
    }
}

/* A safe name: something, no '/', not "." or "..", no leading dot. */
static void assert_safe(const char *name)
{
    assert_non_null(name);
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
        fail_msg("unsafe name shown: \"%s\"", name);
}

static void test_hostile_names(void **state)
{
    fixture *f = *state;
    mp *b = &f->peers[1], *c = &f->peers[2];
    static const char *const names[NOFFERS] = {"..", ".bashrc", "..\\..\\x"};
    offer_msg bad, offers[NOFFERS];
    Mim__PeerMsg *msgs[NOFFERS];
    char dl[PE_PATH_MAX + 16], top_before[4096], top_after[4096], err[PE_PATH_MAX + 16],
        hex[FE_ID_LEN];
    mim_identity *bob_id, *carol_id;
    int port;

    snprintf(dl, sizeof(dl), "%s/dl", f->tmp);
    b->extra[0] = "--download-dir";
    b->extra[1] = dl;
    port = ready_port(start_peer(f, b));
    start_peer(f, c);
    see_each_other(b, c);
    bob_id = load_identity(b);
    carol_id = load_identity(c);

    /* "../../x" never gets past the codec that checks every received batch. */
    offer_init(&bad, "../../x");
    assert_int_not_equal(mim_peer_msg_validate(&bad.m, err, sizeof(err)), 0);

    list_dir(f->tmp, top_before, sizeof(top_before));
    for (size_t i = 0; i < NOFFERS; i++) {
        offer_init(&offers[i], names[i]);
        msgs[i] = &offers[i].m;
    }
    assert_int_equal(
        direct_send_msgs(carol_id, "carol", port, bob_id->sign_pk, "bob", msgs, NOFFERS), NOFFERS);
    for (size_t i = 0; i < NOFFERS; i++) {
        for (size_t k = 0; k < sizeof(offers[i].id); k++)
            snprintf(hex + 2 * k, 3, "%02x", offers[i].id[k]);
        json_t *o = mp_expect(b, 0, "file_offer", "id", hex);
        assert_safe(sfield(o, "name"));
        assert_false(json_is_true(json_object_get(o, "accepted"))); /* carol is new */
    }
    /* Accepted, the "..\..\x" offer is asked of carol over a bulk connection (she has no such
     * transfer and says so); nothing appears outside the download dir. */
    mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\"}", hex);
    wait_part_or_failure(b, c, dl, hex);
    list_dir(f->tmp, top_after, sizeof(top_after));
    drop_entry(top_before, "dl|");
    drop_entry(top_after, "dl|");
    assert_string_equal(top_before, top_after);
    snprintf(err, sizeof(err), "%s/../x", f->tmp);
    assert_false(pe_exists(err));
    /* The session goes on. */
    assert_int_equal(direct_send(carol_id, "carol", port, bob_id->sign_pk, "bob", "still here"), 1);
    mp_expect(b, 0, "message", "text", "still here");
    mim_identity_free(bob_id);
    mim_identity_free(carol_id);
    mp_quit(b);
    mp_quit(c);
}

/* ---- a hostile sender over a real bulk connection (raw_sender.h) ---------------------------- */

/* The regular files below a directory (not following symlinks), for nftw. */
static int tree_files;

static int count_regular(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path, (void)ftw;
    tree_files += type == FTW_F && S_ISREG(st->st_mode);
    return 0;
}

static int regular_files_below(const char *dir)
{
    tree_files = 0;
    assert_int_equal(nftw(dir, count_regular, 16, FTW_PHYS), 0);
    return tree_files;
}

/* bob, his downloads in dl, and a raw carol (rs) in his table: bob's chat port. */
static int start_bob_and_raw_carol(fixture *f, raw_sender *rs, char dl[PE_PATH_MAX + 16])
{
    mp *b = &f->peers[1];
    int port;

    snprintf(dl, PE_PATH_MAX + 16, "%s/dl", f->tmp);
    assert_int_equal(mkdir(dl, 0700), 0);
    b->extra[0] = "--download-dir";
    b->extra[1] = dl;
    port = ready_port(start_peer(f, b));
    assert_int_equal(rs_start(rs, "carol", f->srv.port), 0);
    mp_expect(b, 0, "online", "name", "carol");
    return port;
}

/* carol offers n offers (added to rs) to bob in one frame, all acked; bob, to whom carol is
 * new, is asked about each and accepts it. */
static void offer_and_accept(raw_sender *rs, mp *b, int port, rs_offer *const *offers, size_t n)
{
    Mim__PeerMsg *msgs[RS_MAX_OFFERS];
    mim_identity *bob_id = load_identity(b);

    for (size_t i = 0; i < n; i++)
        msgs[i] = &offers[i]->msg;
    assert_int_equal(direct_send_msgs(rs->peer.id, "carol", port, bob_id->sign_pk, "bob", msgs, n),
                     n);
    mim_identity_free(bob_id);
    for (size_t i = 0; i < n; i++) {
        json_t *o = mp_expect(b, 0, "file_offer", "id", offers[i]->id_hex);
        assert_false(json_is_true(json_object_get(o, "accepted")));
        mp_cmd(b, "{\"cmd\":\"accept_file\",\"id\":\"%s\"}", offers[i]->id_hex);
    }
}

/* bob gives o up with the error why, and tells carol the same over the bulk connection. */
static void expect_refused(raw_sender *rs, mp *b, rs_offer *o, const char *why)
{
    json_t *ev = mp_expect(b, 0, "file_failed", "id", o->id_hex);

    if (strcmp(sfield(ev, "error"), why) != 0)
        fail_msg("%s (%s) failed with \"%s\", not \"%s\"", o->id_hex, o->name, sfield(ev, "error"),
                 why);
    assert_string_equal(sfield(ev, "state"), "failed");
    if (!rs_wait_end(rs, o, WAIT_MS))
        fail_msg("carol was not told that %s failed (%s)", o->name, rs->err);
    assert_int_equal(o->end_code, MIM__FILE_END_CODE__FILE_END_FAILED);
    assert_string_equal(o->end_error, why);
}

/* After all that, bob and carol still chat both ways. */
static void still_chatting(raw_sender *rs, mp *b, int port)
{
    mim_identity *bob_id = load_identity(b);

    assert_int_equal(direct_send(rs->peer.id, "carol", port, bob_id->sign_pk, "bob", "still here"),
                     1);
    mp_expect(b, 0, "message", "text", "still here");
    mp_cmd(b, "{\"cmd\":\"send\",\"to\":\"carol\",\"text\":\"after all that\",\"tag\":\"t\"}");
    if (!rs_wait_text(rs, "after all that", WAIT_MS))
        fail_msg("carol did not get bob's message (%s)", rs->err);
    mim_identity_free(bob_id);
}

/* The received file at dir/rel holds the stream's bytes [from, from + len). */
static void assert_stream_part(const char *dir, const char *rel, uint64_t from, size_t len)
{
    char path[PE_PATH_MAX + 300];
    FILE *fp;
    int ch;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_non_null(fp = fopen(path, "rb"));
    for (size_t i = 0; i < len; i++)
        if ((ch = fgetc(fp)) != rs_stream_byte(from + i))
            fail_msg("%s: byte %zu is %d", path, i, ch);
    assert_int_equal(fgetc(fp), EOF);
    fclose(fp);
}

#define NHOSTILE 7

static void test_hostile_manifest(void **state)
{
    fixture *f = *state;
    mp *b = &f->peers[1];
    raw_sender rs;
    static char dl[PE_PATH_MAX + 16], abs_path[PE_PATH_MAX + 32], deep[64 * 2 + 16],
        outside[PE_PATH_MAX + 16], link[PE_PATH_MAX + 32], top_before[4096], top_after[4096];
    static rs_entry escape[] = {{"a/x", 10}, {"a/../../../b", 10}}, absolute[] = {{NULL, 10}},
                    control[] = {{"a\001b", 10}}, dup[] = {{"same", 10}, {"same", 10}},
                    clash[] = {{"x", 10}, {"x/y", 10}}, too_deep[] = {{deep, 10}},
                    lie[] = {{"one", 10}, {"two", 10}}, honest[] = {{"in/f1", 70000}, {"f2", 5}};
    static const char *const names[NHOSTILE] = {"escape", "absolute", "control", "dup",
                                                "clash",  "too_deep", "sizes"};
    const rs_entry *ents[NHOSTILE] = {escape, absolute, control, dup, clash, too_deep, lie};
    const size_t nents[NHOSTILE] = {2, 1, 1, 2, 2, 1, 2};
    rs_offer *offers[NHOSTILE + 1];
    json_t *done;
    int port;

    snprintf(abs_path, sizeof(abs_path), "%s/abs_escape", f->tmp);
    absolute[0].path = abs_path;
    for (int i = 0; i < 65; i++)
        memcpy(deep + 2 * i, "d/", 2);
    snprintf(deep + 130, sizeof(deep) - 130, "f");
    port = start_bob_and_raw_carol(f, &rs, dl);
    /* A symlink planted where the honest folder would go, and where its .part would. */
    snprintf(outside, sizeof(outside), "%s/outside", f->tmp);
    assert_int_equal(mkdir(outside, 0700), 0);
    snprintf(link, sizeof(link), "%s/evil", dl);
    assert_int_equal(symlink(outside, link), 0);
    snprintf(link, sizeof(link), "%s/evil.part", dl);
    assert_int_equal(symlink(outside, link), 0);
    list_dir(f->tmp, top_before, sizeof(top_before));

    for (size_t i = 0; i < NHOSTILE; i++) {
        rs_offer o = {.name = names[i], .folder = 1, .entries = ents[i], .nentries = nents[i]};
        for (size_t k = 0; k < nents[i]; k++)
            o.size += ents[i][k].size;
        if (i == NHOSTILE - 1)
            o.size += 5; /* the entries do not add up to the offer */
        assert_non_null(offers[i] = rs_add_offer(&rs, &o));
    }
    assert_non_null(offers[NHOSTILE] = rs_add_offer(&rs, &(rs_offer){.name = "evil",
                                                                     .folder = 1,
                                                                     .entries = honest,
                                                                     .nentries = 2,
                                                                     .size = 70005}));
    offer_and_accept(&rs, b, port, offers, NHOSTILE + 1);

    for (size_t i = 0; i < NHOSTILE - 1; i++)
        expect_refused(&rs, b, offers[i], "a path in the folder is not acceptable");
    expect_refused(&rs, b, offers[NHOSTILE - 1], "the folder's manifest does not match the offer");
    done = mp_expect(b, 0, "file_done", "id", offers[NHOSTILE]->id_hex);
    assert_stream_part(sfield(done, "path"), "in/f1", 0, 70000); /* in manifest order */
    assert_stream_part(sfield(done, "path"), "f2", 70000, 5);
    snprintf(link, sizeof(link), "%s/evil", dl);
    assert_string_not_equal(sfield(done, "path"), link);

    /* Nothing outside the download directory, nothing through the symlinks, no .part left. */
    list_dir(f->tmp, top_after, sizeof(top_after));
    assert_string_equal(top_before, top_after);
    snprintf(link, sizeof(link), "%s/b", f->tmp);
    assert_false(pe_exists(link));
    assert_false(pe_exists(abs_path));
    assert_int_equal(regular_files_below(outside), 0);
    assert_int_equal(regular_files_below(dl), 2);
    assert_int_equal(regular_files_below(sfield(done, "path")), 2);
    still_chatting(&rs, b, port);
    rs_stop(&rs);
    mp_quit(b);
}

#define NDATA 13

/* bob saves o whole and reports the SHA-256 of its stream (sha256sum's, computed here). */
static void expect_saved(rs_offer *o, mp *b)
{
    json_t *ev = mp_expect(b, 0, "file_done", "id", o->id_hex);
    uint8_t want[32];
    char hex[MIM_SHA256_HEX_LEN], dir[PE_PATH_MAX + 300], *slash;

    mim_sha256(want, o->stream, o->size);
    mim_hash_hex(hex, want);
    assert_string_equal(sfield(ev, "sha256"), hex);
    snprintf(dir, sizeof(dir), "%s", sfield(ev, "path"));
    assert_non_null(slash = strrchr(dir, '/'));
    *slash = '\0';
    assert_stream_part(dir, slash + 1, 0, o->size);
}

/* Every lie, with the hashes of the first version (BLAKE2b per chunk, scheme 0, which bob still
 * checks) and with the SHA-256 chain (scheme 1); and one honest offer of each, saved whole. */
static void test_hostile_data(void **state)
{
    fixture *f = *state;
    mp *b = &f->peers[1];
    raw_sender rs;
    static char dl[PE_PATH_MAX + 16];
    static const rs_offer lies[NDATA] = {
        {.name = "never.bin", .size = 150000, .lie = RS_BAD_CHUNK},
        {.name = "range.bin", .size = 150000, .lie = RS_OUT_OF_RANGE},
        {.name = "longer.bin", .size = 100000, .lie = RS_LONGER},
        {.name = "nothing.bin", .size = 100000, .lie = RS_NOTHING},
        {.name = "hashes.bin", .size = 100000, .lie = RS_BAD_HASHES},
        {.name = "chain never.bin", .size = 150000, .lie = RS_BAD_CHUNK, .scheme = 1},
        {.name = "chain hashes.bin", .size = 150000, .lie = RS_BAD_HASHES, .scheme = 1},
        {.name = "chain last.bin", .size = 150000, .lie = RS_BAD_LAST, .scheme = 1},
        {.name = "chain fake.bin", .size = 3 * RS_CHUNK, .lie = RS_FAKE_SHA, .scheme = 1},
        {.name = "first version.bin", .size = 200000, .scheme = 0},
        {.name = "chain.bin", .size = 2 * RS_CHUNK, .scheme = 1}, /* the last chunk whole */
        {.name = "stripes.bin", .size = 5 * RS_CHUNK + 10, .scheme = 1, .stripe = 2},
        {.name = "stripes last.bin",
         .size = 4 * RS_CHUNK,
         .lie = RS_BAD_LAST,
         .scheme = 1,
         .stripe = 3},
    };
    rs_offer *offers[NDATA];
    int port = start_bob_and_raw_carol(f, &rs, dl);

    for (size_t i = 0; i < NDATA; i++)
        assert_non_null(offers[i] = rs_add_offer(&rs, &lies[i]));
    offer_and_accept(&rs, b, port, offers, NDATA);
    expect_refused(&rs, b, offers[0], "chunk 0 failed verification 3 times");
    assert_true(offers[0]->requests >= 3); /* asked again after each failure */
    mp_expect_log(b, "chunk 0 of never.bin from carol failed verification");
    expect_refused(&rs, b, offers[1], "the sender sent data out of range");
    expect_refused(&rs, b, offers[2], "the sender sent data out of range");
    expect_refused(&rs, b, offers[3], "the sender does not send the chunks asked for");
    expect_refused(&rs, b, offers[4], "the hash list does not match the offer");
    expect_refused(&rs, b, offers[5], "chunk 0 failed verification 3 times");
    expect_refused(&rs, b, offers[6], "the hash list does not match the offer");
    expect_refused(&rs, b, offers[7], "chunk 2 failed verification 3 times");
    expect_refused(&rs, b, offers[8], "chunk 2 failed verification 3 times");
    expect_saved(offers[9], b);
    expect_saved(offers[10], b);
    expect_saved(offers[11], b); /* three stripes, each its own SHA-256; the file's reported */
    expect_refused(&rs, b, offers[12], "chunk 3 failed verification 3 times"); /* 2nd stripe */
    assert_int_equal(regular_files_below(dl), 3); /* the saved three; each .part removed */
    still_chatting(&rs, b, port);
    rs_stop(&rs);
    mp_quit(b);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(hostile_names),
    PE_SCENARIO(hostile_manifest),
    PE_SCENARIO(hostile_data),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "files-hostile");
}
