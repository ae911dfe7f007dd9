/* /directory (issue 14, docs/TUI.md): everyone registered at the presence server, listed in
 * the console, online first, the others greyed with when they were last seen; and what the
 * screen says when a message to a name that was looked up could not be stored.
 *
 * The registered people who are offline are shown here, on demand, and not in the contact
 * list: a school's server may hold thousands of names, which would drown the few people one
 * talks to (the list stays those one has dealt with, online first). `/msg NAME` writes to any
 * of them; the listing shows at most TUI_DIRECTORY_SHOWN lines and says how many more. */
#include "mim_clock.h"
#include "tui_date.h"
#include "tui_priv.h"

#include <stdio.h>
#include <string.h>

#define TUI_DIRECTORY_SHOWN 500

void tui_directory_run(tui *t)
{
    int rc;

    tui_open(t, NULL); /* the answer goes to the console */
    tui_say(t, TUI_ENTRY_INFO, "asking the presence server for its directory...");
    if ((rc = mim_core_directory(t->core)) != 0)
        tui_say_refusal(t, rc, "");
}

void tui_directory_show(tui *t, const mim_core_directory_entry *e, size_t n, int is_private)
{
    int64_t now = mim_clock_wall_ms();
    size_t online = 0, shown = n < TUI_DIRECTORY_SHOWN ? n : TUI_DIRECTORY_SHOWN;
    char seen[TUI_DATE_MAX];

    for (size_t i = 0; i < n; i++)
        online += e[i].online != 0;
    if (is_private)
        tui_say(t, TUI_ENTRY_INFO,
                "the server keeps its directory private: only names you wrote to are listed "
                "(/msg NAME still reaches anyone registered)");
    tui_say(t, TUI_ENTRY_TEXT, "registered: %zu, online: %zu", n, online);
    for (size_t i = 0; i < shown; i++) {
        if (e[i].online) {
            tui_say(t, TUI_ENTRY_TEXT, "+ %s  online  %s", e[i].name, e[i].fingerprint);
            continue;
        }
        tui_date_last_seen(e[i].last_seen_ms, now, seen);
        tui_say(t, TUI_ENTRY_INFO, "  %s  %s  %s", e[i].name, seen, e[i].fingerprint);
    }
    if (shown < n)
        tui_say(t, TUI_ENTRY_TEXT, "... and %zu more (/msg NAME writes to anyone registered)",
                n - shown);
}

void tui_lookup_failed(tui *t, const char *to, const mim_msg_id *mid, mim_core_lookup_fail why)
{
    tui_contact *c = tui_model_contact(&t->m, to, 0);
    char id[MIM_MSG_ID_HEX_LEN];

    mim_msg_id_hex(mid, id);
    if (c != NULL)
        tui_conv_remove(&c->conv, id); /* shown when typed: taken back, as a refused send */
    if (why == MIM_CORE_LOOKUP_NOT_REGISTERED)
        tui_say(t, TUI_ENTRY_WARN, "nobody is registered as %s: the message was not sent", to);
    else
        tui_say(t, TUI_ENTRY_WARN,
                "the presence server did not answer about %s: the message was not sent", to);
    t->dirty = 1;
}
