/* Parsing of the input line's commands (see tui_command.h). */
#include "tui_command.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tui_command_names[] = {
    "/help",  "/msg",          "/who",   "/status",  "/away",      "/back",  "/history", "/verify",
    "/trust", "/trust-server", "/close", "/logout",  "/login",     "/quit",  "/search",  "/open",
    "/bell",  "/receipts",     "/block", "/unblock", "/directory", "/send",  "/accept",  "/reject",
    "/files", "/all",          "/all!",  "/ack",     "/room",      "/rooms",
};
const size_t tui_command_count = sizeof(tui_command_names) / sizeof(tui_command_names[0]);

static const char *skip_spaces(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

static void bad(tui_cmd *out, const char *why)
{
    out->kind = TUI_CMD_BAD;
    snprintf(out->error, sizeof(out->error), "%s", why);
}

/* Reads a NAME (a word, or "a quoted name") at p into out->name: the rest of the line after
 * it and its spaces, or NULL after bad(). */
static const char *read_name(const char *p, tui_cmd *out, const char *usage)
{
    const char *end;
    size_t n;

    p = skip_spaces(p);
    if (*p == '"') {
        p++;
        if ((end = strchr(p, '"')) == NULL) {
            bad(out, "a quoted name needs its closing \"");
            return NULL;
        }
        n = (size_t)(end - p);
        end++;
    } else {
        end = strchr(p, ' ');
        if (end == NULL)
            end = p + strlen(p);
        n = (size_t)(end - p);
    }
    if (n == 0) {
        bad(out, usage);
        return NULL;
    }
    if (n > MIM_NAME_MAX_BYTES) {
        bad(out, "that name is too long");
        return NULL;
    }
    memcpy(out->name, p, n);
    out->name[n] = '\0';
    return skip_spaces(end);
}

/* The rest of the line as a text, or NULL when there is none. */
static const char *rest(const char *p)
{
    p = skip_spaces(p);
    return *p != '\0' ? p : NULL;
}

static void parse_history(const char *args, tui_cmd *out)
{
    char *end;
    long v;

    out->kind = TUI_CMD_HISTORY;
    out->count = TUI_HISTORY_DEFAULT;
    if ((args = rest(args)) == NULL)
        return;
    errno = 0;
    v = strtol(args, &end, 10);
    if (errno != 0 || end == args || *skip_spaces(end) != '\0' || v < 1 || v > TUI_HISTORY_MAX)
        bad(out, "usage: /history [N], N from 1 to 1000");
    else
        out->count = (int)v;
}

static void parse_status(const char *args, tui_cmd *out)
{
    const char *p = skip_spaces(args), *end = strchr(p, ' ');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

    out->kind = TUI_CMD_STATUS;
    if ((n == 9 && strncmp(p, "available", n) == 0) || (n == 4 && strncmp(p, "away", n) == 0) ||
        (n == 4 && strncmp(p, "busy", n) == 0)) {
        memcpy(out->state, p, n);
        out->state[n] = '\0';
        out->text = rest(p + n);
        return;
    }
    bad(out, "usage: /status available|away|busy [TEXT]");
}

static void parse_verify(const char *args, tui_cmd *out)
{
    const char *after = read_name(args, out, "usage: /verify NAME [yes]");

    if (after == NULL)
        return;
    out->kind = TUI_CMD_VERIFY;
    if (*after == '\0')
        return;
    if (strcmp(after, "yes") == 0)
        out->confirm = 1;
    else
        bad(out, "usage: /verify NAME, then /verify NAME yes once the numbers match");
}

/* "/trust-server [FINGERPRINT]": one word, or none (then the key the warning showed). */
static void parse_trust_server(const char *args, tui_cmd *out)
{
    const char *fp = rest(args);
    size_t n = fp != NULL ? strcspn(fp, " ") : 0;

    if (fp != NULL && rest(fp + n) != NULL) {
        bad(out, "usage: /trust-server [FINGERPRINT]");
    } else if (n >= sizeof(out->fingerprint)) {
        bad(out, "that is not a key fingerprint");
    } else {
        out->kind = TUI_CMD_TRUST_SERVER;
        memcpy(out->fingerprint, fp != NULL ? fp : "", n);
        out->fingerprint[n] = '\0';
    }
}

/* "/search [--with NAME] WORDS": the words are parsed later, into a search query (tui_search.c). */
static void parse_search(const char *args, tui_cmd *out)
{
    static const char usage[] = "usage: /search [--with NAME] WORDS";
    const char *p = skip_spaces(args);

    if (strncmp(p, "--with", 6) == 0 && (p[6] == ' ' || p[6] == '\0')) {
        if ((p = read_name(p + 6, out, usage)) == NULL)
            return;
    }
    out->kind = TUI_CMD_SEARCH;
    if ((out->text = rest(p)) == NULL)
        bad(out, usage);
}

/* "/open N": a result of the last /search. */
static void parse_open(const char *args, tui_cmd *out)
{
    char *end;
    long v;

    args = skip_spaces(args);
    errno = 0;
    v = strtol(args, &end, 10);
    if (errno != 0 || end == args || *skip_spaces(end) != '\0' || v < 1 || v > TUI_SEARCH_MAX) {
        bad(out, "usage: /open N, N a result of /search (1 to 50)");
        return;
    }
    out->kind = TUI_CMD_OPEN;
    out->count = (int)v;
}

/* "/bell [all|first|off]": the word is checked by tui_bell_parse when it is carried out. */
static void parse_bell(const char *args, tui_cmd *out)
{
    const char *word = rest(args);

    if (word != NULL && strcmp(word, "all") != 0 && strcmp(word, "first") != 0 &&
        strcmp(word, "off") != 0) {
        bad(out, "usage: /bell [all|first|off]");
        return;
    }
    out->kind = TUI_CMD_BELL;
    snprintf(out->state, sizeof(out->state), "%s", word != NULL ? word : "");
}

/* A command that takes no argument. */
/* /receipts on|off */
static void parse_receipts(const char *args, tui_cmd *out)
{
    const char *v = rest(args);

    if (v == NULL || (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)) {
        bad(out, "usage: /receipts on|off");
        return;
    }
    out->kind = TUI_CMD_RECEIPTS;
    snprintf(out->state, sizeof(out->state), "%s", v);
}

/* /block NAME, /unblock NAME */
static void parse_block(const char *args, tui_cmd *out, int block)
{
    const char *usage = block ? "usage: /block NAME" : "usage: /unblock NAME";

    if ((args = read_name(args, out, usage)) == NULL)
        return;
    if (*args != '\0')
        bad(out, usage);
    else
        out->kind = block ? TUI_CMD_BLOCK : TUI_CMD_UNBLOCK;
}

/* Issue 16: "/all TEXT", "/all! TEXT" (important), "/ack [ID]". */
static void parse_broadcast(const char *cmd, const char *args, tui_cmd *out)
{
    const char *arg = rest(args);

    if (strcmp(cmd, "/ack") == 0) {
        out->kind = TUI_CMD_ACK;
        out->text = arg;
        if (arg != NULL && strchr(arg, ' ') != NULL)
            bad(out, "usage: /ack [ID] (alone: the oldest important broadcast waiting; or F2)");
        return;
    }
    out->kind = TUI_CMD_ALL;
    out->confirm = cmd[4] == '!';
    if ((out->text = arg) == NULL)
        bad(out, out->confirm ? "usage: /all! TEXT" : "usage: /all TEXT");
}

/* Issue 15: "/send NAME PATH" (PATH: the rest, read by tui_path_unquote), "/accept [N|ID]",
 * "/reject [N|ID]", "/files", "/files open N". */
static void parse_files(const char *cmd, const char *args, tui_cmd *out)
{
    const char *arg = rest(args);
    char *end;
    long v;

    if (strcmp(cmd, "/all") == 0 || strcmp(cmd, "/all!") == 0 || strcmp(cmd, "/ack") == 0) {
        parse_broadcast(cmd, args, out); /* issue 16: the same shape, one word and the rest */
        return;
    }
    if (strncmp(cmd, "/room", 5) == 0) { /* tui_rooms_exec runs these before any parse */
        bad(out, "usage: /room create NAME MEMBERS..., /room add|remove|admin ROOM NAME, "
                 "/room leave ROOM, /rooms");
        return;
    }
    if (strcmp(cmd, "/send") == 0) {
        if ((args = read_name(args, out, "usage: /send NAME PATH")) == NULL)
            return;
        out->kind = TUI_CMD_SEND;
        if ((out->text = rest(args)) == NULL)
            bad(out, "usage: /send NAME PATH (a file or a folder; Tab completes it)");
    } else if (strcmp(cmd, "/accept") == 0 || strcmp(cmd, "/reject") == 0) {
        out->kind = cmd[1] == 'a' ? TUI_CMD_ACCEPT : TUI_CMD_REJECT;
        out->text = arg;
        if (arg != NULL && strchr(arg, ' ') != NULL)
            bad(out, cmd[1] == 'a' ? "usage: /accept [N]" : "usage: /reject [N]");
    } else if (arg == NULL) {
        out->kind = TUI_CMD_FILES;
    } else {
        errno = 0;
        v = strncmp(arg, "open ", 5) == 0 ? strtol(arg + 5, &end, 10) : 0;
        if (errno != 0 || v < 1 || v > 1000000 || *skip_spaces(end) != '\0') {
            bad(out, "usage: /files, or /files open N");
            return;
        }
        out->kind = TUI_CMD_WHERE;
        out->count = (int)v;
    }
}

static void bare(const char *args, tui_cmd *out, enum tui_cmd_kind kind, const char *usage)
{
    if (rest(args) != NULL)
        bad(out, usage);
    else
        out->kind = kind;
}

void tui_command_parse(const char *line, tui_cmd *out)
{
    const char *p = line, *args;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (*skip_spaces(p) == '\0') {
        out->kind = TUI_CMD_EMPTY;
        return;
    }
    if (p[0] != '/' || p[1] == '/') {
        out->kind = TUI_CMD_TEXT;
        out->text = p[0] == '/' ? p + 1 : p; /* "//x" is the text "/x" */
        return;
    }
    args = strchr(p, ' ');
    if (args == NULL)
        args = p + strlen(p);
    n = (size_t)(args - p);
#define IS(word) (n == sizeof(word) - 1 && strncmp(p, word, n) == 0)
    if (IS("/help")) {
        out->kind = TUI_CMD_HELP;
    } else if (IS("/msg")) {
        if ((args = read_name(args, out, "usage: /msg NAME [TEXT]")) != NULL) {
            out->kind = TUI_CMD_MSG;
            out->text = rest(args);
        }
    } else if (IS("/who")) {
        bare(args, out, TUI_CMD_WHO, "usage: /who");
    } else if (IS("/status")) {
        parse_status(args, out);
    } else if (IS("/away")) {
        out->kind = TUI_CMD_AWAY;
        out->text = rest(args);
    } else if (IS("/back")) {
        bare(args, out, TUI_CMD_BACK, "usage: /back");
    } else if (IS("/history")) {
        parse_history(args, out);
    } else if (IS("/verify")) {
        parse_verify(args, out);
    } else if (IS("/trust")) {
        if ((args = read_name(args, out, "usage: /trust NAME")) != NULL) {
            if (*args != '\0')
                bad(out, "usage: /trust NAME");
            else
                out->kind = TUI_CMD_TRUST;
        }
    } else if (IS("/trust-server")) {
        parse_trust_server(args, out);
    } else if (IS("/close")) {
        bare(args, out, TUI_CMD_CLOSE, "usage: /close");
    } else if (IS("/logout")) {
        bare(args, out, TUI_CMD_LOGOUT, "usage: /logout");
    } else if (IS("/login")) {
        bare(args, out, TUI_CMD_LOGIN, "usage: /login");
    } else if (IS("/quit")) {
        bare(args, out, TUI_CMD_QUIT, "usage: /quit");
    } else if (IS("/search")) {
        parse_search(args, out);
    } else if (IS("/open")) {
        parse_open(args, out);
    } else if (IS("/bell")) {
        parse_bell(args, out);
    } else if (IS("/receipts")) {
        parse_receipts(args, out);
    } else if (IS("/block") || IS("/unblock")) {
        parse_block(args, out, IS("/block"));
    } else if (IS("/directory")) {
        bare(args, out, TUI_CMD_DIRECTORY, "usage: /directory");
    } else if (IS("/send") || IS("/accept") || IS("/reject") || IS("/files") || IS("/all") ||
               IS("/all!") || IS("/ack") || IS("/room") || IS("/rooms")) {
        char word[8];
        memcpy(word, p, n);
        word[n] = '\0';
        parse_files(word, args, out); /* and issue 16's /all, /all!, /ack */
    } else {
        bad(out, "no such command; /help lists them (start a text with // to send a '/')");
    }
#undef IS
}
