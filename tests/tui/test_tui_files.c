/* End-to-end tests of files in the terminal interface (docs/TUI.md, "Files"): the real `mim` in
 * a tmux pane (tmux_pane.h) against the real mim-presence, with a `mim --json` partner
 * (mim_proc.h). Each scenario is its own ctest entry (tui/<scenario>):
 *
 *   files_send_accept  bob offers alice a file: her line says how to decide, /accept, then the
 *                      same line says where it is saved (the bytes are the same); /files lists
 *                      it, /files open 1 says where; alice sends one back with /send and Tab
 *                      completing the path: her line waits for bob, then says it is verified */
#include "mim_proc.h"
#include "tmux_pane.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define COLS 150
#define ROWS 30

static int setup(void **state)
{
    return fixture_setup(state, "tui-files");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tp_kill_server(f->tmp); /* SIGHUP: every mim in it quits */
    return fixture_teardown(state);
}

/* Writes size bytes of a pattern to path. */
static void make_file(const char *path, size_t size)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    for (size_t i = 0; i < size; i++)
        fputc((int)((i * 131) >> 3) & 0xff, fp);
    assert_int_equal(fclose(fp), 0);
}

/* out = dir/leaf; fails the test when it does not fit. */
static void join(char *out, size_t cap, const char *dir, const char *leaf)
{
    int n = snprintf(out, cap, "%s/%s", dir, leaf);
    assert_true(n > 0 && (size_t)n < cap);
}

static void test_files_send_accept(void **state)
{
    fixture *f = *state;
    mp *bob = &f->peers[1];
    tmux_pane a;
    char dl[PE_PATH_MAX], src[PE_PATH_MAX], args[PE_PATH_MAX + 64], typed[PE_PATH_MAX + 32];
    char id[33], want[PE_PATH_MAX + 64], cmp[3 * PE_PATH_MAX];
    size_t from;

    join(dl, sizeof(dl), f->tmp, "alice-dl");
    join(src, sizeof(src), f->tmp, "report.bin");
    make_file(src, 200000);
    snprintf(args, sizeof(args), "--download-dir '%s' --auto-accept 0", dl);
    tp_init(&a, f->tmp, "alice");
    tp_start_with(&a, f->srv.port, COLS, ROWS, "", args);
    bob->extra[0] = "--auto-accept";
    bob->extra[1] = "0";
    start_peer(f, bob);
    mp_expect(bob, 0, "online", "name", "alice");
    tp_expect(&a, "+ bob");

    /* bob's offer waits for alice: her line says so, with the commands. */
    mp_cmd(bob, "{\"cmd\":\"send_file\",\"to\":\"alice\",\"path\":\"%s\",\"tag\":\"o1\"}", src);
    snprintf(id, sizeof(id), "%s", sfield(mp_expect(bob, 0, "sent", "tag", "o1"), "id"));
    tp_expect(&a, "[file report.bin, 195 KB] bob offers it: /accept 1 or /reject 1");
    tp_type(&a, "/accept", 1);
    tp_expect(&a, "accepted 1");
    snprintf(want, sizeof(want), "[file report.bin, 195 KB] saved: %s/report.bin", dl);
    tp_expect(&a, want);
    mp_expect_within(bob, 0, "file_done", "id", id, 30000);
    tp_type(&a, "/msg bob", 1); /* in the conversation: the offer's line, rewritten */
    tp_expect(&a, "\nbob>");
    tp_expect(&a, want);
    assert_int_equal(tp_row_of(&a, "bob offers it"), -1);
    snprintf(cmp, sizeof(cmp), "cmp -s '%s' '%s/report.bin'", src, dl);
    assert_int_equal(system(cmp), 0);
    tp_type(&a, "/files", 1);
    tp_expect(&a, "1. done     from bob: [file report.bin, 195 KB] saved:");
    tp_type(&a, "/files open 1", 1);
    snprintf(want, sizeof(want), "1 is saved at %s/report.bin (mim opens nothing", dl);
    tp_expect(&a, want);

    /* alice sends it back: Tab completes the path; the line waits for bob, then is verified. */
    join(typed, sizeof(typed), f->tmp, "rep");
    tp_type(&a, "/send bob ", 0);
    tp_type(&a, typed, 0);
    tp_key(&a, "Tab");
    snprintf(want, sizeof(want), "/send bob %s", src); /* and a space, not seen */
    tp_expect(&a, want);
    from = bob->nev;
    tp_key(&a, "Enter");
    tp_expect(&a, "[file report.bin, 195 KB] offered; waits for bob to accept");
    snprintf(id, sizeof(id), "%s",
             sfield(mp_expect(bob, from, "file_offer", "from", "alice"), "id"));
    mp_cmd(bob, "{\"cmd\":\"accept_file\",\"id\":\"%s\",\"tag\":\"a1\"}", id);
    mp_expect_within(bob, from, "file_done", "id", id, 30000);
    tp_expect(&a, "[file report.bin, 195 KB] sent, verified by bob");
    assert_int_equal(tp_row_of(&a, "waits for bob to accept"), -1);
    assert_int_equal(tp_row_of(&a, "(offline)"), -1); /* nobody else in the list */
    tp_type(&a, "/quit", 1);
    assert_int_equal(tp_wait_exit(&a), 0);
    mp_quit(bob);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(files_send_accept),
};

int main(int argc, char **argv)
{
    return pe_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), setup, teardown);
}
