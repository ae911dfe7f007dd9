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
 * A folder manifest with "a/../../b" needs a raw peer that serves the bulk connection: not here
 * (the manifest paths are checked by file_name_check_path, tests/unit). */
#include "direct_peer.h"
#include "files_e2e.h"
#include "mim_codec.h"
#include "mim_proc.h"

#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(hostile_names),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "files-hostile");
}
