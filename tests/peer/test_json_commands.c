/* End-to-end tests of the command side of `mim --json`: malformed, unknown and incomplete
 * commands get error events and the peer keeps answering; tags are echoed, within their cap.
 * The real mim-presence (peer_env.c) and real mim processes driven through pipes (mim_proc.h).
 * Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   bad_commands  bad JSON, unknown commands, missing and mistyped fields, an over-long line:
 *                 an error event each, and the next command is answered
 *   tags          a tag over 1 KiB is bad_field; tags echo on a command's own events, even
 *                 with the memory of send tags full
 *   name_forms    a name given in NFD finds the contact whose name is in NFC: send, history */
#include "mim_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Bad commands get error events, and the peer keeps answering. */
static void test_bad_commands(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    json_t *e;
    char *huge;

    start_peer(f, a);
    mp_send_line(a, "this is not json");
    e = mp_expect(a, 0, "error", "code", "bad_json");
    mp_send_line(a, "[1,2,3]");
    mp_cmd(a, "{\"cmd\":\"frobnicate\",\"tag\":\"t1\"}");
    e = mp_expect(a, 0, "error", "tag", "t1");
    assert_string_equal(sfield(e, "code"), "unknown_command");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"tag\":\"t2\"}");
    e = mp_expect(a, 0, "error", "tag", "t2");
    assert_string_equal(sfield(e, "code"), "missing_field");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"nobody\",\"text\":\"hi\",\"tag\":\"t3\"}");
    e = mp_expect(a, 0, "error", "tag", "t3");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":17,\"text\":\"hi\",\"tag\":\"t4\"}");
    e = mp_expect(a, 0, "error", "tag", "t4");
    assert_string_equal(sfield(e, "code"), "bad_field");
    mp_cmd(a, "{\"tag\":\"t5\"}");
    e = mp_expect(a, 0, "error", "tag", "t5");
    assert_string_equal(sfield(e, "code"), "missing_field");
    mp_cmd(a, "{\"cmd\":\"verify\",\"with\":\"nobody\",\"tag\":\"t6\"}");
    e = mp_expect(a, 0, "error", "tag", "t6");
    assert_string_equal(sfield(e, "code"), "unknown_peer");
    /* A line over the cap is refused and skipped; the next one is read normally. */
    huge = malloc(70001);
    assert_non_null(huge);
    memset(huge, 'x', 70000);
    huge[70000] = '\0';
    mp_send_line(a, huge);
    free(huge);
    mp_cmd(a, "{\"cmd\":\"who\",\"tag\":\"w1\"}");
    mp_expect(a, 0, "who_end", "tag", "w1");
    assert_true(mp_count(a, "error", "code", "bad_json") >= 3);
    mp_quit(a);
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

    stage_pinned_offline(f, a, b);

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
        mp_write_once(a, batch);
        snprintf(tag, sizeof(tag), "f%d", k * 128 + 127);
        mp_expect(a, 0, "queued", "tag", tag);
        mp_clear_events(a);
    }
    free(batch);
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"last\",\"tag\":\"last\"}");
    mp_expect(a, 0, "queued", "tag", "last");
    mp_quit(a);
}

/* A name typed in another Unicode form is the same name: bob runs as "Zoé" in NFC (U+00E9);
 * alice sends to "Zoe\u0301" (e + a combining acute: NFD) and asks its history under that form.
 * The core puts the name in NFC: the message goes to Zoé, and the history finds it. */
static void test_name_forms(void **state)
{
    static const char nfc[] = "Zo\xc3\xa9"; /* Zoé in NFC, as bob's --name */
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    json_t *ev, *msgs, *m;
    size_t a0, b0;
    const char *id;

    mp_init(b, f, nfc, "zoe");
    start_peer(f, a);
    start_peer(f, b);
    see_each_other(a, b);
    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"Zoe\\u0301\",\"text\":\"salut\",\"tag\":\"n1\"}");
    ev = mp_expect(a, a0, "sent", "tag", "n1");
    assert_string_equal(sfield(ev, "to"), nfc);
    id = sfield(ev, "id");
    assert_non_null(id);
    mp_expect(a, a0, "delivered", "id", id);
    ev = mp_expect(b, b0, "message", "id", id);
    assert_string_equal(sfield(ev, "from"), "alice");
    assert_string_equal(sfield(ev, "text"), "salut");

    mp_cmd(a, "{\"cmd\":\"history\",\"with\":\"Zoe\\u0301\",\"tag\":\"n2\"}");
    ev = mp_expect(a, a0, "history", "tag", "n2");
    msgs = json_object_get(ev, "messages");
    assert_true(json_is_array(msgs));
    assert_int_equal(json_array_size(msgs), 1);
    m = json_array_get(msgs, 0);
    assert_string_equal(sfield(m, "id"), id);
    assert_string_equal(sfield(m, "to"), nfc);
    assert_string_equal(sfield(m, "text"), "salut");
    mp_quit(b);
    mp_quit(a);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(bad_commands),
    PE_SCENARIO(tags),
    PE_SCENARIO(name_forms),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-commands");
}
