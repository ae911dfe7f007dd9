/* File transfers in the terminal interface (see tui_files.h). */
#include "tui_files.h"
#include "file_refusal.h"
#include "tui_files_text.h"
#include "tui_path.h"
#include "tui_priv.h"
#include "mim_clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A transfer seen in this run: its number is its index + 1. */
typedef struct known {
    char id[TUI_ID_LEN];
    char *line; /* as its conversation shows it (tui_files_line) */
    mim_core_file_dir dir;
    mim_core_file_state state;
    char with[MIM_NAME_MAX_BYTES + 1];
} known;

struct tui_files {
    known *k;
    size_t n, cap;
    int sending;    /* mim_core_send_file runs */
    int sent_state; /* the best tui_msg_state its events told meanwhile */
    /* offers /send made whose file the core still reads: shown when their first state comes */
    char awaiting[8][TUI_ID_LEN];
    size_t nawaiting;
};

static struct tui_files *files_of(tui *t)
{
    if (t->files == NULL)
        t->files = calloc(1, sizeof(*t->files));
    return t->files;
}

/* The transfer with this id (hex), or NULL. */
static known *find(tui *t, const char *id)
{
    for (size_t i = 0; t->files != NULL && i < t->files->n; i++)
        if (strcmp(t->files->k[i].id, id) == 0)
            return &t->files->k[i];
    return NULL;
}

static int number_of(const tui *t, const known *k)
{
    return (int)(k - t->files->k) + 1;
}

/* f's entry here (made, and so numbered, the first time), its line brought up to date: the
 * entry, or NULL when out of memory. */
static known *remember(tui *t, const mim_core_file_info *f)
{
    struct tui_files *fs = files_of(t);
    char id[TUI_ID_LEN], line[TUI_FILES_LINE_MAX], *copy;
    known *k;

    mim_msg_id_hex(&f->id, id);
    if (fs == NULL)
        return NULL;
    if ((k = find(t, id)) == NULL) {
        if (fs->n == fs->cap) {
            size_t cap = fs->cap ? 2 * fs->cap : 16;
            known *grown = realloc(fs->k, cap * sizeof(*grown));
            if (grown == NULL)
                return NULL;
            fs->k = grown;
            fs->cap = cap;
        }
        k = &fs->k[fs->n++];
        memset(k, 0, sizeof(*k));
        memcpy(k->id, id, sizeof(k->id));
    }
    k->dir = f->dir;
    k->state = f->state;
    snprintf(k->with, sizeof(k->with), "%s", f->with);
    tui_files_line(f, number_of(t, k), line, sizeof(line));
    if ((copy = strdup(line)) != NULL) {
        free(k->line);
        k->line = copy;
    }
    return k;
}

/* f's line in its conversation: rewritten, or added (ours, or theirs) when not shown yet. The
 * entry, or NULL. */
static tui_entry *show(tui *t, const mim_core_file_info *f)
{
    known *k = remember(t, f);
    tui_contact *c = tui_model_contact(&t->m, f->with, 1);
    tui_entry *e;
    int out = f->dir == MIM_CORE_FILE_SEND;

    if (k == NULL || k->line == NULL || c == NULL)
        return NULL;
    c->known = 1;
    t->dirty = 1;
    if ((e = tui_conv_find(&c->conv, k->id)) != NULL) {
        (void)tui_entry_set_text(e, k->line); /* out of memory: the old line stays */
        return e;
    }
    e = tui_conv_add(&c->conv, out ? TUI_ENTRY_OUT : TUI_ENTRY_IN, mim_clock_wall_ms(),
                     out ? t->m.me : f->with, k->line, k->id,
                     out ? TUI_MSG_QUEUED : TUI_MSG_RECEIVED);
    if (e != NULL)
        tui_model_grew(&t->m, &c->conv, 1);
    return e;
}

/* The transfer with this id as the store has it now, shown: 1 when found. */
typedef struct lookup {
    tui *t;
    const char *id; /* hex */
    int number;     /* or this number (id NULL) */
    int found;
    char path[TUI_PATH_MAX];
    mim_core_file_dir dir;
    mim_core_file_state state;
} lookup;

static void lookup_one(void *arg, const mim_core_file_info *f)
{
    lookup *lk = arg;
    char id[TUI_ID_LEN];
    known *k;

    mim_msg_id_hex(&f->id, id);
    k = find(lk->t, id);
    if (lk->id != NULL ? strcmp(id, lk->id) != 0 : k == NULL || number_of(lk->t, k) != lk->number)
        return;
    lk->found = 1;
    lk->dir = f->dir;
    lk->state = f->state;
    snprintf(lk->path, sizeof(lk->path), "%s", f->path);
    show(lk->t, f);
}

static int refresh(tui *t, lookup *lk)
{
    lk->t = t;
    return t->core != NULL && mim_core_files(t->core, lookup_one, lk) == 0 && lk->found;
}

/* ---- events ---------------------------------------------------------------------------------- */

void tui_files_offer(tui *t, const mim_core_file_info *f, int accepted)
{
    tui_entry *e = show(t, f);
    known *k;
    char id[TUI_ID_LEN];

    mim_msg_id_hex(&f->id, id);
    if (accepted || e == NULL || (k = find(t, id)) == NULL)
        return;
    /* A decision is wanted: said in the view the user has open too, and rung like a message. */
    if (tui_model_current(&t->m) == NULL || strcmp(t->m.current, f->with) != 0) {
        tui_note(t, TUI_ENTRY_INFO, "%.130s: %s", f->with, k->line);
        tui_attention_message(&t->att, f->with, k->line, 1);
    }
}

void tui_files_changed(tui *t, const mim_core_file_info *f)
{
    int ended = f->state == MIM_CORE_FILE_DONE || f->state == MIM_CORE_FILE_FAILED ||
                f->state == MIM_CORE_FILE_PAUSED || f->state == MIM_CORE_FILE_REJECTED;
    char id[TUI_ID_LEN];
    known *k;

    show(t, f);
    mim_msg_id_hex(&f->id, id);
    /* How it ended (or why it stopped) is said where the user looks, once. */
    if (ended && (k = find(t, id)) != NULL && k->line != NULL &&
        (tui_model_current(&t->m) == NULL || strcmp(t->m.current, f->with) != 0))
        tui_note(t, f->state == MIM_CORE_FILE_DONE ? TUI_ENTRY_INFO : TUI_ENTRY_WARN, "%.130s: %s",
                 f->with, k->line);
}

/* The offer id (hex) of `with` is stored now (its first state): its line shown, in state. */
static void show_offer(tui *t, const char *with, const char *id, int state)
{
    lookup lk = {.id = id};
    tui_contact *c;
    tui_entry *e;

    if (!refresh(t, &lk))
        return;
    c = tui_model_contact(&t->m, with, 0);
    e = c != NULL ? tui_conv_find(&c->conv, id) : NULL;
    if (e != NULL && e->state < (enum tui_msg_state)state)
        e->state = (enum tui_msg_state)state;
}

void tui_files_unshown_state(tui *t, const char *with, const char *id, int state)
{
    struct tui_files *fs = t->files;

    if (fs == NULL)
        return;
    if (fs->sending && state > fs->sent_state)
        fs->sent_state = state;
    for (size_t i = 0; !fs->sending && i < fs->nawaiting; i++)
        if (strcmp(fs->awaiting[i], id) == 0) {
            memmove(fs->awaiting[i], fs->awaiting[i + 1],
                    (fs->nawaiting - i - 1) * sizeof(fs->awaiting[0]));
            fs->nawaiting--;
            show_offer(t, with, id, state);
            return;
        }
}

/* ---- commands -------------------------------------------------------------------------------- */

/* Why mim_core_send_file refused, in words. */
static void say_send_refusal(tui *t, int rc, const char *name, const char *path)
{
    char why[200];

    if (rc == MIM_CORE_ENO_FILE) {
        file_refusal_describe(path, why, sizeof(why));
        tui_say(t, TUI_ENTRY_WARN, "cannot send %s: %s", path, why);
    } else if (rc == MIM_CORE_ETOO_BIG) {
        tui_say(t, TUI_ENTRY_WARN,
                "cannot send %s: over what one transfer carries (its size or number of files)",
                path);
    } else {
        tui_say_refusal(t, rc, name);
    }
}

void tui_files_send(tui *t, const char *name, const char *typed_path)
{
    struct tui_files *fs = files_of(t);
    char path[TUI_PATH_MAX], id[TUI_ID_LEN];
    const char *why;
    mim_msg_id mid;
    lookup lk = {0};
    tui_contact *c;
    tui_entry *e;
    int rc;

    if (tui_path_unquote(typed_path, getenv("HOME"), path, sizeof(path), &why) != 0) {
        tui_say(t, TUI_ENTRY_WARN, "not sent: %s (usage: /send NAME PATH)", why);
        return;
    }
    if (strcmp(name, t->m.me) == 0 || fs == NULL) {
        tui_say_refusal(t, fs == NULL ? MIM_CORE_ESTORE : MIM_CORE_ESELF, name);
        return;
    }
    fs->sending = 1;
    fs->sent_state = TUI_MSG_QUEUED; /* stored: at least queued */
    rc = mim_core_send_file(t->core, name, path, &mid);
    fs->sending = 0;
    if (rc != 0) {
        say_send_refusal(t, rc, name, path);
        return;
    }
    tui_open(t, name); /* its line, and then its progress, in view */
    mim_msg_id_hex(&mid, id);
    lk.id = id;
    if (!refresh(t, &lk)) { /* the core reads the file first: shown once it is stored */
        if (fs->nawaiting < sizeof(fs->awaiting) / sizeof(fs->awaiting[0]))
            memcpy(fs->awaiting[fs->nawaiting++], id, TUI_ID_LEN);
        tui_say(t, TUI_ENTRY_INFO, "offering %s to %s: reading it first (/files shows it)", path,
                name);
        return;
    }
    c = tui_model_contact(&t->m, name, 0);
    e = c != NULL ? tui_conv_find(&c->conv, id) : NULL;
    if (e != NULL && e->state < (enum tui_msg_state)fs->sent_state)
        e->state = (enum tui_msg_state)fs->sent_state;
    t->m.scroll = 0;
}

/* The one receiving transfer that waits for a decision (in the open conversation first), or
 * NULL after saying why there is none to pick. */
static known *the_waiting_one(tui *t)
{
    known *only = NULL, *here = NULL;
    size_t waiting = 0, in_view = 0;

    for (size_t i = 0; t->files != NULL && i < t->files->n; i++) {
        known *k = &t->files->k[i];
        if (k->dir != MIM_CORE_FILE_RECEIVE || k->state != MIM_CORE_FILE_OFFERED)
            continue;
        waiting++;
        only = k;
        if (t->m.current != NULL && strcmp(t->m.current, k->with) == 0) {
            in_view++;
            here = k;
        }
    }
    if (waiting == 1)
        return only;
    if (in_view == 1)
        return here;
    if (waiting == 0)
        tui_say(t, TUI_ENTRY_WARN, "no file offer waits for a decision");
    else
        tui_say(t, TUI_ENTRY_WARN, "%zu offers wait: /files lists them; /accept N or /reject N",
                waiting);
    return NULL;
}

/* The transfer N (a number of /files) or ID names, or NULL after saying so. */
static known *named(tui *t, const char *which)
{
    mim_msg_id mid;
    char id[TUI_ID_LEN];
    known *k = NULL;
    size_t digits = strspn(which, "0123456789");

    if (digits > 0 && digits < 7 && which[digits] == '\0') {
        long n = strtol(which, NULL, 10);
        if (t->files != NULL && n >= 1 && (size_t)n <= t->files->n)
            k = &t->files->k[n - 1];
    } else if (mim_msg_id_parse(which, &mid) == 0) {
        mim_msg_id_hex(&mid, id);
        k = find(t, id);
    } else {
        tui_say(t, TUI_ENTRY_WARN, "'%s' is no transfer: give its number in /files, or its id",
                which);
        return NULL;
    }
    if (k == NULL)
        tui_say(t, TUI_ENTRY_WARN, "no transfer %s: /files lists them", which);
    return k;
}

void tui_files_decide(tui *t, const char *which, int accept)
{
    known *k = which != NULL ? named(t, which) : the_waiting_one(t);
    char id[TUI_ID_LEN];
    lookup lk = {.id = id};
    mim_msg_id mid;
    int rc;

    if (k == NULL || mim_msg_id_parse(k->id, &mid) != 0)
        return;
    memcpy(id, k->id, sizeof(id)); /* k moves when the list grows */
    rc = accept ? mim_core_accept_file(t->core, &mid) : mim_core_reject_file(t->core, &mid);
    (void)refresh(t, &lk); /* its line says what it is now */
    if ((k = find(t, id)) == NULL)
        return;
    if (rc == MIM_CORE_ENO_TRANSFER)
        tui_say(t, TUI_ENTRY_WARN, "transfer %d does not wait for a decision: %s", number_of(t, k),
                k->dir == MIM_CORE_FILE_SEND ? "you offered it" : "it was decided already");
    else if (rc != 0)
        tui_say_refusal(t, rc, k->with);
    else
        tui_say(t, TUI_ENTRY_INFO, "%s %d: %s", accept ? "accepted" : "rejected", number_of(t, k),
                k->line != NULL ? k->line : "");
}

static void list_one(void *arg, const mim_core_file_info *f)
{
    tui *t = arg;
    known *k = remember(t, f);

    if (k != NULL && k->line != NULL)
        tui_say(t, TUI_ENTRY_TEXT, "%3d. %-8s %s %s: %s", number_of(t, k), tui_files_state_word(f),
                f->dir == MIM_CORE_FILE_SEND ? "to" : "from", f->with, k->line);
}

void tui_files_list(tui *t)
{
    if (mim_core_files(t->core, list_one, t) != 0) {
        tui_say_refusal(t, MIM_CORE_ESTORE, "");
        return;
    }
    if (t->files == NULL || t->files->n == 0)
        tui_say(t, TUI_ENTRY_INFO, "no file transfers yet: /send NAME PATH offers one");
    else
        tui_say(t, TUI_ENTRY_INFO,
                "/accept N, /reject N decide an offer; /files open N says "
                "where N is saved");
}

void tui_files_where(tui *t, int n)
{
    lookup lk = {.number = n};

    if (!refresh(t, &lk)) {
        tui_say(t, TUI_ENTRY_WARN, "no transfer %d: /files lists them", n);
        return;
    }
    if (lk.dir == MIM_CORE_FILE_SEND)
        tui_say(t, TUI_ENTRY_INFO, "%d is sent from %s", n, lk.path);
    else if (lk.state == MIM_CORE_FILE_DONE)
        tui_say(t, TUI_ENTRY_INFO,
                "%d is saved at %s (mim opens nothing itself: xdg-open it, or "
                "use your file manager)",
                n, lk.path);
    else
        tui_say(t, TUI_ENTRY_INFO,
                "%d goes to %s once every piece is verified (a .part file "
                "until then)",
                n, lk.path);
}

/* ---- hooks ----------------------------------------------------------------------------------- */

static void load_one(void *arg, const mim_core_file_info *f)
{
    (void)remember(arg, f);
}

void tui_files_load(tui *t)
{
    size_t waiting = 0;

    if (mim_core_files(t->core, load_one, t) != 0)
        return;
    for (size_t i = 0; t->files != NULL && i < t->files->n; i++)
        waiting += t->files->k[i].dir == MIM_CORE_FILE_RECEIVE &&
                   t->files->k[i].state == MIM_CORE_FILE_OFFERED;
    if (waiting > 0)
        tui_say(t, TUI_ENTRY_INFO,
                "%zu file offer%s wait%s for a decision: /files lists them, /accept N or "
                "/reject N",
                waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
}

const char *tui_files_line_of(tui *t, const char *id)
{
    known *k = find(t, id);
    return k != NULL ? k->line : NULL;
}

int tui_files_complete(tui *t)
{
    long start = tui_path_word_start(&t->line);
    char hint[sizeof(t->m.hint)];
    size_t n;

    if (start < 0)
        return 0;
    t->cycle.active = 0;
    n = tui_path_complete(&t->line, (size_t)start, getenv("HOME"), hint, sizeof(hint));
    if (n == 0)
        tui_hint(t, "no file or folder starts so");
    else if (n > 1)
        tui_hint(t, "%s", hint);
    t->dirty = 1;
    return 1;
}

void tui_files_free(tui *t)
{
    for (size_t i = 0; t->files != NULL && i < t->files->n; i++)
        free(t->files->k[i].line);
    if (t->files != NULL)
        free(t->files->k);
    free(t->files);
    t->files = NULL;
}
