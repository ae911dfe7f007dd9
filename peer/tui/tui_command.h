/* The input line's commands: "/msg NAME [TEXT]", "/status STATE [TEXT]", ... parsed into a
 * tui_cmd. A line that does not start with '/' is a message to the open conversation; "//"
 * at the start sends a text that begins with '/'. A NAME with a space in it is written in
 * double quotes ("/msg \"ann lee\" hi"). Pure: tui_exec.c carries the commands out. */
#ifndef MIM_TUI_COMMAND_H
#define MIM_TUI_COMMAND_H

#include "mim_limits.h"

#include <stddef.h>

enum tui_cmd_kind {
    TUI_CMD_EMPTY = 0, /* nothing but spaces */
    TUI_CMD_TEXT,      /* text: a message to the open conversation */
    TUI_CMD_HELP,
    TUI_CMD_MSG,          /* name, text (may be NULL): open the conversation, send text */
    TUI_CMD_WHO,          /* list who is online */
    TUI_CMD_STATUS,       /* state, text (may be NULL) */
    TUI_CMD_AWAY,         /* text (may be NULL) */
    TUI_CMD_BACK,         /* available again, no text */
    TUI_CMD_HISTORY,      /* count: the last N messages of the open conversation */
    TUI_CMD_VERIFY,       /* name; confirm: "/verify NAME yes" marks the contact verified */
    TUI_CMD_TRUST,        /* name: accept its changed key */
    TUI_CMD_TRUST_SERVER, /* fingerprint ("": the one shown): accept the server's new key */
    TUI_CMD_CLOSE,        /* close the open conversation */
    TUI_CMD_LOGOUT,
    TUI_CMD_LOGIN,
    TUI_CMD_QUIT,
    TUI_CMD_SEARCH,    /* text: the words; name: --with NAME ("" for everyone) */
    TUI_CMD_OPEN,      /* count: the search result to open (1-based) */
    TUI_CMD_BELL,      /* state: "all", "first", "off", or "" (say which) */
    TUI_CMD_RECEIPTS,  /* state: "on" or "off" (read receipts and typing) */
    TUI_CMD_BLOCK,     /* name */
    TUI_CMD_UNBLOCK,   /* name */
    TUI_CMD_DIRECTORY, /* issue 14: everyone registered at the presence server */
    /* Issue 15, files. SEND: name, and text: the PATH as typed (tui_path_unquote reads it);
     * ACCEPT, REJECT: text: N or an id, or NULL (the one offer waiting); FILES: the list;
     * WHERE: count: where transfer N is saved ("/files open N"). */
    TUI_CMD_SEND,
    TUI_CMD_ACCEPT,
    TUI_CMD_REJECT,
    TUI_CMD_FILES,
    TUI_CMD_WHERE,
    /* Issue 16, broadcast: ALL: text to everyone online (confirm 1: "/all!", important); ACK:
     * text: a broadcast's id, or NULL (the oldest waiting). */
    TUI_CMD_ALL,
    TUI_CMD_ACK,
    TUI_CMD_BAD, /* error says why */
};

#define TUI_HISTORY_DEFAULT 50
#define TUI_HISTORY_MAX     1000
#define TUI_SEARCH_MAX      50 /* results a /search shows, /open 1 to 50 */

typedef struct tui_cmd {
    enum tui_cmd_kind kind;
    char name[MIM_NAME_MAX_BYTES + 1];
    char state[16];       /* "available", "away" or "busy"; TUI_CMD_BELL: its mode */
    const char *text;     /* points into the parsed line (borrowed), or NULL */
    int count;            /* TUI_CMD_HISTORY, TUI_CMD_OPEN */
    int confirm;          /* TUI_CMD_VERIFY */
    char fingerprint[64]; /* TUI_CMD_TRUST_SERVER; "" when not given */
    char error[160];
} tui_cmd;

/* The command names, with their '/', for completion and /help. */
extern const char *const tui_command_names[];
extern const size_t tui_command_count;

/* Parses line (UTF-8, NUL-terminated, no newline at the end) into *out. */
void tui_command_parse(const char *line, tui_cmd *out);

#endif
