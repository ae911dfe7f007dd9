/* Getting the user's attention when a message comes that is not in view (docs/TUI.md,
 * "Attention"): the terminal bell (every such message, only the first unread one of a
 * conversation, or never), the terminal's title with the unread total (only on a terminal that
 * takes a title), and a desktop notification through `notify-send` where one can be shown (on
 * PATH, and a D-Bus session to show it in). Nothing here ever blocks: notify-send runs as a
 * child of the loop (uv_spawn, no shell, the text as one argv entry), and is left alone when
 * it is not there.
 *
 * Use (tui.c): tui_attention_init with the options, tui_attention_screen once the terminal is
 * ours, tui_attention_message for each message not in view, tui_attention_title after each
 * draw, tui_attention_screen_stop before the terminal is given back, tui_attention_stop when
 * the program stops (its children are ended and closed). */
#ifndef MIM_TUI_ATTENTION_H
#define MIM_TUI_ATTENTION_H

#include <uv.h>

enum tui_bell_mode {
    TUI_BELL_ALL = 0, /* every message not in view (the default) */
    TUI_BELL_FIRST,   /* only the first unread message of a conversation */
    TUI_BELL_OFF,
};

#define TUI_NOTIFY_RUNNING_MAX 2   /* notify-send children at once; more messages are not shown */
#define TUI_NOTIFY_WORDS       120 /* bytes of the message a notification shows */

/* "all", "first" or "off" into *out: 0, or -1 for another word. */
int tui_bell_parse(const char *word, enum tui_bell_mode *out);
const char *tui_bell_name(enum tui_bell_mode mode);

struct tui_notifier;

typedef struct tui_attention {
    uv_loop_t *loop;
    enum tui_bell_mode bell;
    char notifier[4096]; /* notify-send's path (found on PATH with a D-Bus session); "": none */
    struct tui_notifier *kids[TUI_NOTIFY_RUNNING_MAX]; /* the children not closed yet (owned) */
    int running;                                       /* how many of kids are set */
    int stopping;           /* tui_attention_stop ran: no more children */
    void (*idle)(void *ud); /* tui_attention_stop's callback, once no child is left */
    void *idle_ud;
    int screen_on;        /* tui_attention_screen ran, and the screen is still ours */
    char title_start[32]; /* how the terminal is given a title ("" when it cannot) */
    char title_end[16];
    char title[256]; /* the title last written */
} tui_attention;

/* notify: --notify on; the notifier is looked for now (PATH, DBUS_SESSION_BUS_ADDRESS). */
void tui_attention_init(tui_attention *a, uv_loop_t *loop, enum tui_bell_mode bell, int notify);
/* 1 when notifications will be shown (notify-send was found). */
int tui_attention_can_notify(const tui_attention *a);
/* The terminal is ours (after initscr): finds out whether it takes a title (terminfo tsl/fsl
 * of the xterm kind, or a terminal known to be xterm-like), and saves its title (xterm's title
 * stack) to give it back at tui_attention_screen_stop. */
void tui_attention_screen(tui_attention *a);
/* A message from `from` that is not in view came: the bell (as the mode says; first: the
 * conversation had nothing unread before it), and a notification with its first words. */
void tui_attention_message(tui_attention *a, const char *from, const char *text, int first);
/* Someone began to talk to us (a chat opened) with no message yet: the bell unless it is off. */
void tui_attention_someone(tui_attention *a);
/* The title "(N) mim: ME" (just "mim: ME" with nothing unread), written when it changed. */
void tui_attention_title(tui_attention *a, const char *me, int unread);
/* The terminal is given back: the title it had (where it keeps a stack), else "mim: ME". */
void tui_attention_screen_stop(tui_attention *a, const char *me);
/* No more notifications; running ones are ended (SIGTERM). Returns 1 when idle(ud) will be
 * called once the last child is closed, 0 when none runs (idle is not called then). */
int tui_attention_stop(tui_attention *a, void (*idle)(void *ud), void *ud);

/* The words of the title, pure (for tests): "(N) mim: ME", without controls, in out. */
void tui_attention_title_text(const char *me, int unread, char *out, size_t cap);
/* The body of a notification, pure: the first words of text, with the notification markup's
 * special characters (& < >) as entities and controls as spaces. */
void tui_attention_body(const char *text, char *out, size_t cap);

#endif
