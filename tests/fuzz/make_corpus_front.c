/* The seeds of the front ends' fuzz targets: JSON lines for json_line (behind the bytes its
 * stub core answers with) and pastes for tui_paste. Part of fuzz_make_corpus. */
#include "make_corpus.h"

#include <stdlib.h>
#include <string.h>

void text_seed(const char *target, const char *name, const char *prefix, size_t plen,
               const char *text)
{
    uint8_t b[1024];
    size_t n = strlen(text);

    if (plen + n > sizeof(b))
        abort();
    memcpy(b, prefix, plen);
    memcpy(b + plen, text, n);
    write_seed(target, name, b, plen + n);
}

void front_end_seeds(void)
{
    /* JSON: [stub answers][read size - 1] then stdin. */
    const char *every =
        "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"hi\",\"tag\":1}\n"
        "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"again\",\"tag\":[1,2]}\n"
        "{\"cmd\":\"who\"}\n{\"cmd\":\"status\",\"state\":\"away\",\"text\":\"out\"}\n"
        "{\"cmd\":\"history\",\"with\":\"bob\",\"limit\":3}\n{\"cmd\":\"verify\",\"with\":\"bob\"}"
        "\n"
        "{\"cmd\":\"trust\",\"with\":\"bob\",\"fingerprint\":\"ab\"}\n"
        "{\"cmd\":\"verified\",\"with\":\"bob\",\"value\":true}\n{\"cmd\":\"close\",\"with\":"
        "\"bob\"}\n"
        "{\"cmd\":\"trust_server\"}\n{\"cmd\":\"quit\"}\n";

    text_seed("json_line", "every_command_ok", "\x08\xff", 2, every);
    text_seed("json_line", "every_command_refused", "\x04\x10", 2, every);
    text_seed("json_line", "send_batch_fails", "\x10\x00", 2,
              "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"a\",\"tag\":\"x\"}\r\n"
              "{\"cmd\":\"send\",\"to\":\"carol\",\"text\":\"b\"}\n{\"cmd\":\"who\"}\n");
    text_seed("json_line", "bad_lines", "\x00\x03", 2,
              "not json\n[1,2]\n{\"cmd\":7}\n{}\n{\"cmd\":\"nope\"}\n"
              "{\"cmd\":\"send\",\"to\":\"b\"}\n{\"cmd\":\"history\",\"with\":\"b\",\"limit\":0}\n"
              "{\"cmd\":\"status\",\"state\":\"sleeping\"}\n{\"cmd\":\"who\",\"cmd\":\"who\"}\n"
              "{\"cmd\":\"verified\",\"with\":\"b\",\"value\":1}\n  \t\r\n"
              "{\"cmd\":\"who\"}");
    /* Issue 13's commands: their answers, their refusals, their bad fields. */
    text_seed("json_line", "everyday_commands", "\x08\xff", 2,
              "{\"cmd\":\"contacts\"}\n{\"cmd\":\"read\",\"with\":\"bob\"}\n"
              "{\"cmd\":\"typing\",\"with\":\"bob\",\"typing\":false}\n"
              "{\"cmd\":\"receipts\",\"value\":false}\n{\"cmd\":\"block\",\"name\":\"m\"}\n"
              "{\"cmd\":\"unblock\",\"name\":\"m\"}\n{\"cmd\":\"logout\"}\n{\"cmd\":\"login\"}\n");
    text_seed("json_line", "everyday_refused", "\x0c\x08", 2,
              "{\"cmd\":\"contacts\"}\n{\"cmd\":\"typing\",\"with\":\"b\",\"typing\":1}\n"
              "{\"cmd\":\"receipts\"}\n{\"cmd\":\"receipts\",\"value\":\"on\"}\n"
              "{\"cmd\":\"block\"}\n{\"cmd\":\"read\",\"with\":7}\n{\"cmd\":\"logout\"}\n");
    /* Issue 14: the directory's answer (hostile names), a send's lookup failing, refusals. */
    text_seed("json_line", "directory", "\x38\x00", 2,
              "{\"cmd\":\"directory\",\"tag\":[1]}\n{\"cmd\":\"directory\"}\n"
              "{\"cmd\":\"send\",\"to\":\"x\",\"text\":\"y\",\"tag\":\"t\"}\n");
    text_seed("json_line", "directory_refused", "\x04\x00", 2,
              "{\"cmd\":\"directory\",\"tag\":1}\n{\"cmd\":\"directory\",\"x\":2}\n");
    text_seed("json_line", "history_odd_bytes", "\x08\x40", 2,
              "{\"cmd\":\"history\",\"with\":\"b\\u0000\\u202e\\u00ad\xc3\"}\n"
              "{\"cmd\":\"verify\",\"with\":\"\\ud800\"}\n");

    /* TUI: [flags | cap << 1] then the peer's text. */
    text_seed("tui_text", "escapes", "\xff", 1,
              "\x1b[2J\x1b]0;title\x07\x9b"
              "31m\x7f\r\n\t");
    text_seed("tui_text", "bidi_and_marks", "\x20", 1,
              "\xe2\x80\xae"
              "evil\xe2\x81\xa6"
              "x\xcc\x81\xcc\x81\xc2\xad\xe2\x80\x8b");
    text_seed("tui_text", "wide_and_cut", "\x07", 1, "\xe6\xbc\xa2\xe5\xad\x97\x01\x02\x03");
    text_seed("tui_text", "invalid_utf8", "\x81", 1,
              "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\xf0\x9f\x98\x80");

    /* TUI paste: [typed / 64 | word-lefts << 6] then the paste. */
    text_seed("tui_paste", "lines_and_escapes", "\x00", 1,
              "/quit\r\nsecond\rthird\x1b[200~\x1b[31m\x07\t\x9b\xc2\x9b\x7f end");
    text_seed("tui_paste", "near_the_limit", "\x7f", 1,
              "\xe6\xbc\xa2\xe5\xad\x97\xf0\x9f\x98\x80\xe2\x80\xae"
              "e\xcc\x81\xed\xa0\x80\xf4\x90\x80\x80");
}
