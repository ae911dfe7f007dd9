/* The server's broadcaster list (issue 16, docs/PROTOCOL.md "Broadcast"): who may broadcast to
 * everyone, as --broadcasters names it, signed once at start with the server's identity key
 * and sent after the table to every peer whose Login asks for it. The server enforces nothing:
 * the receivers check the signature against their pin of the server's key and refuse a
 * broadcast from a name not on the list, so a modified sender gains nothing. */
#include "server.h"

#include "mim_buf.h"
#include "mim_clock.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void presence_broadcasters_free(presence_broadcasters *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->names[i]);
    free(b->names);
    memset(b, 0, sizeof(*b));
}

/* One name of the list (len bytes at p) in NFC, checked, appended. 0 or -1 (err says). */
static int add_name(presence_broadcasters *b, const char *p, size_t len, char *err, size_t errlen)
{
    char typed[MIM_NAME_MAX_BYTES * 4 + 1], nfc[MIM_NAME_MAX_BYTES + 1];

    if (len == 0 || len >= sizeof(typed)) {
        snprintf(err, errlen, "an empty or overlong name");
        return -1;
    }
    memcpy(typed, p, len);
    typed[len] = '\0';
    if (mim_name_nfc(typed, nfc, sizeof(nfc)) != 0 || !mim_name_valid(nfc, strlen(nfc))) {
        snprintf(err, errlen, "%s is not a valid name", typed);
        return -1;
    }
    if (b->n == MIM_BROADCASTERS_MAX) {
        snprintf(err, errlen, "more than %d names", MIM_BROADCASTERS_MAX);
        return -1;
    }
    if ((b->names[b->n] = strdup(nfc)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->n++;
    return 0;
}

int presence_broadcasters_parse(const char *arg, presence_broadcasters *b, char *err, size_t errlen)
{
    const char *p = arg;
    size_t n = 0;

    memset(b, 0, sizeof(*b));
    if (arg == NULL)
        return 0; /* absent: anyone may broadcast */
    b->restricted = 1;
    if ((b->names = calloc(MIM_BROADCASTERS_MAX, sizeof(char *))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        size_t len = strcspn(p, ",");
        if (add_name(b, p, len, err, errlen) != 0) {
            presence_broadcasters_free(b);
            return -1;
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    qsort(b->names, b->n, sizeof(char *), by_bytes);
    for (size_t i = 0; i < b->n; i++) /* strictly ascending: a name given twice counts once */
        if (n == 0 || strcmp(b->names[n - 1], b->names[i]) != 0)
            b->names[n++] = b->names[i];
        else
            free(b->names[i]);
    b->n = n;
    return 0;
}

int presence_broadcasters_sign(presence_broadcasters *b, const mim_identity *id)
{
    mim_buf msg = {0};
    int rc;

    b->issued_ms = (uint64_t)mim_clock_wall_ms();
    if (b->issued_ms == 0)
        b->issued_ms = 1;
    rc = mim_broadcaster_list_signed(b->issued_ms, b->restricted, (const char *const *)b->names,
                                     b->n, &msg);
    if (rc == 0)
        rc = mim_identity_sign(id, msg.data, msg.len, b->sig);
    mim_buf_free(&msg);
    if (rc == 0)
        mim_log_info("broadcast: %s (the list is signed with the server's key)",
                     b->restricted ? "restricted to the names of --broadcasters"
                                   : "anyone may broadcast");
    return rc;
}

void presence_broadcasters_msg(const presence_broadcasters *b, Mim__PresenceMsg *m,
                               Mim__BroadcasterList *body)
{
    mim_broadcaster_list_init(m, body, b->issued_ms, b->restricted, b->names, b->n, b->sig);
}

int broadcasters_start(presence_server *srv)
{
    char err[200];
    int rc;

    if (presence_broadcasters_parse(srv->cfg.broadcasters, &srv->bcast, err, sizeof(err)) != 0) {
        mim_log_error("--broadcasters: %s", err); /* options.c checked it: out of memory */
        return MIM_ENOMEM;
    }
    if ((rc = presence_broadcasters_sign(&srv->bcast, srv->id)) != 0)
        mim_log_error("cannot sign the broadcaster list: %s", mim_strerror(rc));
    return rc;
}

void broadcasters_login(session *s, const Mim__Login *l)
{
    Mim__PresenceMsg m;
    Mim__BroadcasterList body;

    if (!(l->features & MIM_LOGIN_FEATURE_BROADCASTERS))
        return; /* an older peer: it would take the arm for a protocol error */
    presence_broadcasters_msg(&s->srv->bcast, &m, &body);
    (void)out_queue_send(s, &m); /* a failure closes s */
}
