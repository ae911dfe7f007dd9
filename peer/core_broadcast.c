/* Broadcast to everyone (issue 16), in the peer core: the server's broadcaster list as we keep
 * it, the rule every receiver applies with it (core_broadcast_admit), and the send to every
 * peer online now through the fan-out core (one stored copy per peer, one id). The
 * acknowledgements of important broadcasts are core_broadcast_ack.c's.
 *
 * The list is kept in the store (a setting), so a restart does not open a window in which
 * anyone may broadcast; a list older than the one kept (issued_ms) is refused, so an old,
 * looser list signed by the same server cannot be replayed to us. */
#include "core_priv.h"
#include "mim_error.h"
#include "mim_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTING_KEY "broadcasters"
/* The setting's text: "<issued_ms> <0|1>" then "\n<name>" per name. */
#define SETTING_MAX (32 + MIM_BROADCASTERS_MAX * (MIM_NAME_MAX_BYTES + 1))

struct core_bcast {
    int known;          /* a list was received once (now or in an earlier run) */
    int restricted;     /* only `names` may broadcast */
    uint64_t issued_ms; /* of the list kept */
    char **names;       /* n names, owned, in the list's (ascending byte) order */
    size_t n;
    int unchecked; /* MIM_TEST_BROADCAST_UNCHECKED=1: our own sends skip the rule (tests: the
                      receivers must refuse them) */
};

static void names_free(struct core_bcast *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->names[i]);
    free(b->names);
    b->names = NULL;
    b->n = 0;
}

/* Replaces b's list. 0, or MIM_ENOMEM (b keeps its old list). */
static int set_list(struct core_bcast *b, uint64_t issued_ms, int restricted,
                    const char *const *names, size_t n)
{
    char **copy = n > 0 ? calloc(n, sizeof(char *)) : NULL;

    if (n > 0 && copy == NULL)
        return MIM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((copy[i] = strdup(names[i])) == NULL) {
            while (i > 0)
                free(copy[--i]);
            free(copy);
            return MIM_ENOMEM;
        }
    }
    names_free(b);
    b->names = copy;
    b->n = n;
    b->known = 1;
    b->restricted = restricted;
    b->issued_ms = issued_ms;
    return 0;
}

/* Loads the list kept in the store (none: anyone may broadcast until the server says). */
static int load_list(mim_core *c)
{
    char *text = malloc(SETTING_MAX), *p, *nl;
    const char *names[MIM_BROADCASTERS_MAX];
    unsigned long long issued;
    int restricted, rc;
    size_t n = 0;

    if (text == NULL)
        return MIM_ENOMEM;
    if ((rc = mim_store_setting_get(c->st, SETTING_KEY, text, SETTING_MAX)) < 0 ||
        text[0] == '\0') {
        free(text);
        return rc < 0 ? rc : 0;
    }
    if (sscanf(text, "%llu %d", &issued, &restricted) != 2) {
        mim_log_warn("the stored broadcaster list does not parse: waiting for the server's");
        free(text);
        return 0;
    }
    for (p = strchr(text, '\n'); p != NULL && n < MIM_BROADCASTERS_MAX; p = nl) {
        *p++ = '\0';
        nl = strchr(p, '\n');
        names[n++] = p;
    }
    rc = set_list(c->bc, issued, restricted != 0, names, n);
    free(text);
    return rc;
}

static void save_list(mim_core *c)
{
    struct core_bcast *b = c->bc;
    char *text = malloc(SETTING_MAX);
    size_t len;

    if (text == NULL)
        return;
    len = (size_t)snprintf(text, SETTING_MAX, "%" PRIu64 " %d", b->issued_ms, b->restricted);
    for (size_t i = 0; i < b->n && len < SETTING_MAX; i++)
        len += (size_t)snprintf(text + len, SETTING_MAX - len, "\n%s", b->names[i]);
    if (mim_store_setting_set(c->st, SETTING_KEY, text) != 0)
        mim_log_warn("cannot keep the broadcaster list in the store (kept for this run)");
    free(text);
}

int core_broadcast_start(mim_core *c)
{
    const char *unchecked = getenv("MIM_TEST_BROADCAST_UNCHECKED");

    if ((c->bc = calloc(1, sizeof(*c->bc))) == NULL)
        return MIM_ENOMEM;
    c->bc->unchecked = unchecked != NULL && strcmp(unchecked, "1") == 0;
    if (c->bc->unchecked)
        mim_log_warn("MIM_TEST_BROADCAST_UNCHECKED: our broadcasts skip the broadcaster list "
                     "(for tests: the receivers refuse them)");
    c->chat_cfg.features |= MIM_FEATURE_BROADCAST; /* no session exists yet */
    return load_list(c);
}

void core_broadcast_free(mim_core *c)
{
    if (c->bc == NULL)
        return;
    names_free(c->bc);
    free(c->bc);
    c->bc = NULL;
}

void core_on_broadcasters(void *ud, const Mim__BroadcasterList *l)
{
    mim_core *c = ud;
    struct core_bcast *b = c->bc;

    if (b->known && l->issued_ms < b->issued_ms) {
        mim_log_warn("the server sent a broadcaster list older than the one kept: ignored");
        return;
    }
    if (b->known && l->issued_ms == b->issued_ms)
        return; /* the one we have (every login sends it again) */
    if (set_list(b, l->issued_ms, l->restricted, (const char *const *)l->names, l->n_names) != 0) {
        mim_log_error("out of memory: the broadcaster list is not taken");
        return;
    }
    mim_log_info("broadcast: %s",
                 l->restricted ? "restricted by the server to its list" : "anyone may broadcast");
    save_list(c);
}

/* 1 when name may broadcast by the list kept (no list, or an open one: anyone). */
static int may_broadcast(const struct core_bcast *b, const char *name)
{
    if (!b->restricted)
        return 1;
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->names[i], name) == 0)
            return 1;
    return 0;
}

int core_broadcast_admit(mim_core *c, const char *from, const Mim__ChatMessage *m)
{
    if (m->broadcast == MIM_BROADCAST_NONE || may_broadcast(c->bc, from))
        return 0;
    mim_log_warn("refused a broadcast from %s: the server's broadcaster list does not name it "
                 "(acknowledged, not stored, not shown)",
                 from);
    return MIM_CORE_ENOT_BROADCASTER;
}

int mim_core_may_broadcast(const mim_core *c)
{
    return may_broadcast(c->bc, c->name) || c->bc->unchecked;
}
