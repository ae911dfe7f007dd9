/* The bell, the terminal title and desktop notifications (see tui_attention.h). */
#include "tui_attention.h"
#include "tui_model.h"
#include "tui_screen.h"
#include "mim_log.h"

#include <curses.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* xterm's title stack (XTWINOPS 22/23): saved when the screen is taken, given back after.
 * Terminals without it ignore the sequence (a CSI they do not know). */
#define TITLE_PUSH "\033[22;0t"
#define TITLE_POP  "\033[23;0t"

int tui_bell_parse(const char *word, enum tui_bell_mode *out)
{
    if (strcmp(word, "all") == 0)
        *out = TUI_BELL_ALL;
    else if (strcmp(word, "first") == 0)
        *out = TUI_BELL_FIRST;
    else if (strcmp(word, "off") == 0)
        *out = TUI_BELL_OFF;
    else
        return -1;
    return 0;
}

const char *tui_bell_name(enum tui_bell_mode mode)
{
    return mode == TUI_BELL_FIRST ? "first" : mode == TUI_BELL_OFF ? "off" : "all";
}

/* The executable `name` in one of PATH's directories, into out: 0, or -1. */
static int find_on_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");

    while (path != NULL && *path != '\0') {
        size_t len = strcspn(path, ":");
        int n = snprintf(out, cap, "%.*s/%s", (int)len, len > 0 ? path : ".", name);
        if (len > 0 && n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
            return 0; /* an empty entry (the current directory) is never trusted */
        path += len;
        if (*path == ':')
            path++;
    }
    out[0] = '\0';
    return -1;
}

void tui_attention_init(tui_attention *a, uv_loop_t *loop, enum tui_bell_mode bell, int notify)
{
    const char *bus = getenv("DBUS_SESSION_BUS_ADDRESS");

    memset(a, 0, sizeof(*a));
    a->loop = loop;
    a->bell = bell;
    /* Without a session bus no notification service can be reached: nothing is spawned. */
    if (notify && bus != NULL && bus[0] != '\0' &&
        find_on_path("notify-send", a->notifier, sizeof(a->notifier)) == 0)
        mim_log_info("desktop notifications through %s", a->notifier);
}

int tui_attention_can_notify(const tui_attention *a)
{
    return a->notifier[0] != '\0';
}

/* ---- the bell and notifications -------------------------------------------------------------- */

typedef struct tui_notifier {
    uv_process_t proc; /* first: the handle is the struct */
    tui_attention *a;
} notifier;

static void on_notifier_closed(uv_handle_t *h)
{
    notifier *n = (notifier *)h;
    tui_attention *a = n->a;

    for (int i = 0; i < TUI_NOTIFY_RUNNING_MAX; i++)
        if (a->kids[i] == n)
            a->kids[i] = NULL;
    free(n);
    a->running--;
    if (a->stopping && a->running == 0 && a->idle != NULL)
        a->idle(a->idle_ud);
}

static void on_notifier_exit(uv_process_t *p, int64_t status, int term_signal)
{
    if (status != 0 || term_signal != 0)
        mim_log_debug("notify-send ended with status %lld, signal %d", (long long)status,
                      term_signal);
    uv_close((uv_handle_t *)p, on_notifier_closed);
}

void tui_attention_body(const char *text, char *out, size_t cap)
{
    char words[TUI_NOTIFY_WORDS + 4];
    size_t o = 0;

    tui_first_words(text, words, TUI_NOTIFY_WORDS);
    for (const char *p = words; *p != '\0'; p++) {
        const char *put = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
        char one[2] = {(unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, '\0'};
        size_t len;

        if (put == NULL)
            put = one;
        len = strlen(put);
        if (o + len + 1 > cap)
            break;
        memcpy(out + o, put, len);
        o += len;
    }
    out[o] = '\0';
}

/* notify-send -a mim -- "mim: FROM" BODY, as a child of the loop: no shell, nothing waited
 * for. At most TUI_NOTIFY_RUNNING_MAX at once: a burst of messages shows the first ones. */
static void notify(tui_attention *a, const char *from, const char *text)
{
    char summary[200], body[6 * TUI_NOTIFY_WORDS + 16];
    char *args[] = {a->notifier, "--app-name=mim", "--", summary, body, NULL};
    uv_process_options_t opt;
    notifier *n;
    int rc;

    if (a->notifier[0] == '\0' || a->stopping || a->running >= TUI_NOTIFY_RUNNING_MAX)
        return;
    snprintf(summary, sizeof(summary), "mim: %.130s", from);
    tui_attention_body(text, body, sizeof(body));
    if ((n = calloc(1, sizeof(*n))) == NULL)
        return;
    n->a = a;
    for (int i = 0; i < TUI_NOTIFY_RUNNING_MAX; i++)
        if (a->kids[i] == NULL) {
            a->kids[i] = n;
            break;
        }
    memset(&opt, 0, sizeof(opt));
    opt.file = a->notifier;
    opt.args = args;
    opt.exit_cb = on_notifier_exit;
    opt.stdio_count = 0; /* no stdin, stdout or stderr: /dev/null (the screen is ours) */
    a->running++;
    if ((rc = uv_spawn(a->loop, &n->proc, &opt)) != 0) {
        mim_log_warn("cannot run %s: %s; no more notifications", a->notifier, uv_strerror(rc));
        a->notifier[0] = '\0';
        uv_close((uv_handle_t *)&n->proc, on_notifier_closed); /* a failed spawn is closed too */
    }
}

void tui_attention_message(tui_attention *a, const char *from, const char *text, int first)
{
    if (a->screen_on && (a->bell == TUI_BELL_ALL || (a->bell == TUI_BELL_FIRST && first)))
        tui_screen_bell();
    notify(a, from, text);
}

void tui_attention_someone(tui_attention *a)
{
    if (a->screen_on && a->bell != TUI_BELL_OFF)
        tui_screen_bell();
}

int tui_attention_stop(tui_attention *a, void (*idle)(void *ud), void *ud)
{
    a->stopping = 1;
    if (a->running == 0)
        return 0;
    a->idle = idle;
    a->idle_ud = ud;
    for (int i = 0; i < TUI_NOTIFY_RUNNING_MAX; i++)
        if (a->kids[i] != NULL && !uv_is_closing((uv_handle_t *)&a->kids[i]->proc))
            uv_process_kill(&a->kids[i]->proc, SIGTERM); /* its exit callback closes it */
    return 1;
}

/* ---- the title ------------------------------------------------------------------------------- */

/* Writes s to the terminal, after what ncurses has sent (refresh flushed it). */
static void term_write(const char *s)
{
    size_t len = strlen(s), done = 0;
    int tries = 0;

    fflush(stdout);
    while (done < len && tries++ < 16) { /* bounded: a terminal that takes nothing is left */
        ssize_t w = write(STDOUT_FILENO, s + done, len - done);
        if (w > 0)
            done += (size_t)w;
        else if (w < 0 && errno != EINTR && errno != EAGAIN)
            return;
    }
}

/* 1 when TERM names a terminal known to take xterm's title sequence (OSC 2). */
static int known_titled(const char *term)
{
    static const char *const kinds[] = {"xterm",   "rxvt",  "screen",  "tmux", "alacritty",
                                        "foot",    "kitty", "wezterm", "vte",  "gnome",
                                        "konsole", "putty", "st"};

    for (size_t i = 0; term != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(term, kinds[i], n) == 0 && (term[n] == '\0' || term[n] == '-'))
            return 1;
    }
    return 0;
}

void tui_attention_screen(tui_attention *a)
{
    char *tsl = tigetstr("tsl"), *fsl = tigetstr("fsl");

    a->screen_on = 1;
    a->title[0] = '\0';
    /* Only a title of the xterm kind (an OSC): on a terminal with a real status line, tsl moves
     * the cursor there, which is not what the title is for. */
    if (tsl != NULL && tsl != (char *)-1 && strncmp(tsl, "\033]", 2) == 0 &&
        strlen(tsl) < sizeof(a->title_start)) {
        snprintf(a->title_start, sizeof(a->title_start), "%s", tsl);
        snprintf(a->title_end, sizeof(a->title_end), "%s",
                 fsl != NULL && fsl != (char *)-1 && strlen(fsl) < sizeof(a->title_end) ? fsl
                                                                                        : "\007");
    } else if (known_titled(getenv("TERM"))) {
        snprintf(a->title_start, sizeof(a->title_start), "\033]2;");
        snprintf(a->title_end, sizeof(a->title_end), "\033\\");
    } else {
        a->title_start[0] = '\0';
        mim_log_info("this terminal takes no title: the unread count is not shown there");
        return;
    }
    term_write(TITLE_PUSH);
}

void tui_attention_title_text(const char *me, int unread, char *out, size_t cap)
{
    char head[32] = "";
    size_t o;

    if (unread > 0)
        snprintf(head, sizeof(head), "(%d) ", unread);
    o = (size_t)snprintf(out, cap, "%smim: ", head);
    /* A name has no controls (the name rule); the title is a terminal sequence, so make sure:
     * C0, DEL and C1 (0xc2 0x80..0x9f in UTF-8) are left out. */
    for (const unsigned char *p = (const unsigned char *)me; *p != '\0' && o + 1 < cap; p++) {
        if (*p < 0x20 || *p == 0x7f)
            continue;
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p++;
            continue;
        }
        out[o++] = (char)*p;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static void write_title(tui_attention *a, const char *title)
{
    char seq[sizeof(a->title) + 64];

    snprintf(seq, sizeof(seq), "%s%s%s", a->title_start, title, a->title_end);
    term_write(seq);
    snprintf(a->title, sizeof(a->title), "%s", title);
}

void tui_attention_title(tui_attention *a, const char *me, int unread)
{
    char title[sizeof(a->title)];

    if (!a->screen_on || a->title_start[0] == '\0')
        return;
    tui_attention_title_text(me, unread, title, sizeof(title));
    if (strcmp(title, a->title) != 0)
        write_title(a, title);
}

void tui_attention_screen_stop(tui_attention *a, const char *me)
{
    char title[sizeof(a->title)];

    if (!a->screen_on)
        return;
    a->screen_on = 0;
    if (a->title_start[0] == '\0')
        return;
    /* No count left behind where the stack is not kept; the saved title where it is. */
    tui_attention_title_text(me, 0, title, sizeof(title));
    write_title(a, title);
    term_write(TITLE_POP);
}
