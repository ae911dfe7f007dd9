/* The terminal interface's command parser: every command, its arguments, and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tui_command.h"

#include <string.h>

static tui_cmd parse(const char *line)
{
    tui_cmd c;
    tui_command_parse(line, &c);
    return c;
}

static void test_text_and_empty(void **state)
{
    tui_cmd c;
    (void)state;
    assert_int_equal(parse("").kind, TUI_CMD_EMPTY);
    assert_int_equal(parse("   ").kind, TUI_CMD_EMPTY);
    c = parse("hello there");
    assert_int_equal(c.kind, TUI_CMD_TEXT);
    assert_string_equal(c.text, "hello there");
    c = parse("//not a command");
    assert_int_equal(c.kind, TUI_CMD_TEXT);
    assert_string_equal(c.text, "/not a command");
}

static void test_msg(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/msg bob");
    assert_int_equal(c.kind, TUI_CMD_MSG);
    assert_string_equal(c.name, "bob");
    assert_null(c.text);
    c = parse("/msg  bob   hi  there ");
    assert_int_equal(c.kind, TUI_CMD_MSG);
    assert_string_equal(c.name, "bob");
    assert_string_equal(c.text, "hi  there ");
    c = parse("/msg \"ann lee\" hello");
    assert_string_equal(c.name, "ann lee");
    assert_string_equal(c.text, "hello");
    assert_int_equal(parse("/msg").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/msg \"ann").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/msg \"\" x").kind, TUI_CMD_BAD);
    c = parse("/msg aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(c.kind, TUI_CMD_BAD); /* 142 bytes: over any name */
}

static void test_status_family(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/status busy in a meeting");
    assert_int_equal(c.kind, TUI_CMD_STATUS);
    assert_string_equal(c.state, "busy");
    assert_string_equal(c.text, "in a meeting");
    c = parse("/status available");
    assert_string_equal(c.state, "available");
    assert_null(c.text);
    assert_int_equal(parse("/status sleeping").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/status").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/status awayy").kind, TUI_CMD_BAD);
    c = parse("/away lunch");
    assert_int_equal(c.kind, TUI_CMD_AWAY);
    assert_string_equal(c.text, "lunch");
    c = parse("/away");
    assert_int_equal(c.kind, TUI_CMD_AWAY);
    assert_null(c.text);
    assert_int_equal(parse("/back").kind, TUI_CMD_BACK);
    assert_int_equal(parse("/back now").kind, TUI_CMD_BAD);
}

static void test_history(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/history");
    assert_int_equal(c.kind, TUI_CMD_HISTORY);
    assert_int_equal(c.count, TUI_HISTORY_DEFAULT);
    c = parse("/history 200");
    assert_int_equal(c.count, 200);
    assert_int_equal(parse("/history 0").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/history 1001").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/history ten").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/history 5x").kind, TUI_CMD_BAD);
}

static void test_verify_trust(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/verify bob");
    assert_int_equal(c.kind, TUI_CMD_VERIFY);
    assert_string_equal(c.name, "bob");
    assert_false(c.confirm);
    c = parse("/verify bob yes");
    assert_true(c.confirm);
    assert_int_equal(parse("/verify bob maybe").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/verify").kind, TUI_CMD_BAD);
    c = parse("/trust \"ann lee\"");
    assert_int_equal(c.kind, TUI_CMD_TRUST);
    assert_string_equal(c.name, "ann lee");
    assert_int_equal(parse("/trust bob extra").kind, TUI_CMD_BAD);
}

static void test_bare_commands(void **state)
{
    (void)state;
    assert_int_equal(parse("/help").kind, TUI_CMD_HELP);
    assert_int_equal(parse("/who").kind, TUI_CMD_WHO);
    assert_int_equal(parse("/close").kind, TUI_CMD_CLOSE);
    assert_int_equal(parse("/logout").kind, TUI_CMD_LOGOUT);
    assert_int_equal(parse("/login").kind, TUI_CMD_LOGIN);
    assert_int_equal(parse("/quit").kind, TUI_CMD_QUIT);
    assert_int_equal(parse("/quit now").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/quitx").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/").kind, TUI_CMD_BAD);
    assert_true(strlen(parse("/nope").error) > 0);
}

static void test_trust_server(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/trust-server");
    assert_int_equal(c.kind, TUI_CMD_TRUST_SERVER);
    assert_string_equal(c.fingerprint, ""); /* the key the warning showed */
    c = parse("/trust-server  abcd-efgh  ");
    assert_int_equal(c.kind, TUI_CMD_TRUST_SERVER);
    assert_string_equal(c.fingerprint, "abcd-efgh");
    assert_int_equal(parse("/trust-server a b").kind, TUI_CMD_BAD);
    c = parse("/trust-server "
              "0123456789012345678901234567890123456789012345678901234567890123456789");
    assert_int_equal(c.kind, TUI_CMD_BAD); /* longer than any fingerprint */
    c = parse("/trust bob");               /* not mistaken for its longer sibling */
    assert_int_equal(c.kind, TUI_CMD_TRUST);
    assert_string_equal(c.name, "bob");
}

static void test_search_and_open(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/search lunch tomorrow");
    assert_int_equal(c.kind, TUI_CMD_SEARCH);
    assert_string_equal(c.text, "lunch tomorrow");
    assert_string_equal(c.name, "");
    c = parse("/search --with \"ann lee\"  lunch");
    assert_int_equal(c.kind, TUI_CMD_SEARCH);
    assert_string_equal(c.name, "ann lee");
    assert_string_equal(c.text, "lunch");
    c = parse("/search --without"); /* not the option: a word */
    assert_int_equal(c.kind, TUI_CMD_SEARCH);
    assert_string_equal(c.text, "--without");
    assert_int_equal(parse("/search").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/search --with bob").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/search --with").kind, TUI_CMD_BAD);
    c = parse("/open 3");
    assert_int_equal(c.kind, TUI_CMD_OPEN);
    assert_int_equal(c.count, 3);
    assert_int_equal(parse("/open").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/open 0").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/open 51").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/open 2x").kind, TUI_CMD_BAD);
}

/* /bell [all|first|off]: the mode, or "" to ask which; any other word is refused. */
static void test_bell(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/bell first");
    assert_int_equal(c.kind, TUI_CMD_BELL);
    assert_string_equal(c.state, "first");
    c = parse("/bell");
    assert_int_equal(c.kind, TUI_CMD_BELL);
    assert_string_equal(c.state, "");
    assert_string_equal(parse("/bell off").state, "off");
    assert_int_equal(parse("/bell loud").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/bell all now").kind, TUI_CMD_BAD);
}

/* Issue 15: /send NAME PATH (the path is the rest, as typed), /accept and /reject [N|ID],
 * /files and /files open N. */
static void test_files(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/send bob ~/my\\ file.pdf ");
    assert_int_equal(c.kind, TUI_CMD_SEND);
    assert_string_equal(c.name, "bob");
    assert_string_equal(c.text, "~/my\\ file.pdf "); /* read by tui_path_unquote */
    c = parse("/send \"ann lee\" \"a b\"");
    assert_string_equal(c.name, "ann lee");
    assert_string_equal(c.text, "\"a b\"");
    assert_int_equal(parse("/send bob").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/send").kind, TUI_CMD_BAD);
    c = parse("/accept");
    assert_int_equal(c.kind, TUI_CMD_ACCEPT);
    assert_null(c.text);
    c = parse("/reject 3");
    assert_int_equal(c.kind, TUI_CMD_REJECT);
    assert_string_equal(c.text, "3");
    assert_int_equal(parse("/accept 3 4").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/files").kind, TUI_CMD_FILES);
    c = parse("/files open 12");
    assert_int_equal(c.kind, TUI_CMD_WHERE);
    assert_int_equal(c.count, 12);
    assert_int_equal(parse("/files open").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/files open 0").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/files open 2x").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/files 2").kind, TUI_CMD_BAD);
}

/* Issue 16: /all TEXT, /all! TEXT (important), /ack [ID]. */
static void test_broadcast(void **state)
{
    tui_cmd c;
    (void)state;
    c = parse("/all lab closes at 5");
    assert_int_equal(c.kind, TUI_CMD_ALL);
    assert_int_equal(c.confirm, 0);
    assert_string_equal(c.text, "lab closes at 5");
    c = parse("/all! hand in your work");
    assert_int_equal(c.kind, TUI_CMD_ALL);
    assert_int_equal(c.confirm, 1);
    assert_string_equal(c.text, "hand in your work");
    assert_int_equal(parse("/all").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/all!  ").kind, TUI_CMD_BAD);
    c = parse("/ack");
    assert_int_equal(c.kind, TUI_CMD_ACK);
    assert_null(c.text);
    c = parse("/ack 00112233445566778899aabbccddeeff");
    assert_int_equal(c.kind, TUI_CMD_ACK);
    assert_string_equal(c.text, "00112233445566778899aabbccddeeff");
    assert_int_equal(parse("/ack a b").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/allx hi").kind, TUI_CMD_BAD);
    assert_int_equal(parse("/accept").kind, TUI_CMD_ACCEPT); /* not taken for /ack */
}

static void test_every_listed_command_parses(void **state)
{
    (void)state;
    for (size_t i = 0; i < tui_command_count; i++) {
        tui_cmd c = parse(tui_command_names[i]);
        /* Bare, some want an argument; none is unknown. */
        assert_null(strstr(c.error, "no such command"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_empty),  cmocka_unit_test(test_msg),
        cmocka_unit_test(test_status_family),   cmocka_unit_test(test_history),
        cmocka_unit_test(test_verify_trust),    cmocka_unit_test(test_bare_commands),
        cmocka_unit_test(test_trust_server),    cmocka_unit_test(test_every_listed_command_parses),
        cmocka_unit_test(test_search_and_open), cmocka_unit_test(test_bell),
        cmocka_unit_test(test_files),           cmocka_unit_test(test_broadcast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
