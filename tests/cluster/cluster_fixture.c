/* The cluster tests' fixture (cluster_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster_fixture.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

long long cf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cf_setup(void **state)
{
    cluster_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(mim_crypto_init(), 0);
    if (nc_start(&f->nats, "cluster") != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "nats cluster: %s", f->nats.err);
        nc_cleanup(&f->nats);
        free(f);
        fail_msg("%s", msg);
    }
    for (int i = 0; i < CF_SERVERS; i++)
        if (sp_init(&f->sp[i], "cluster") != 0)
            fail_msg("sp_init: %s", f->sp[i].err);
    *state = f;
    return 0;
}

int cf_teardown(void **state)
{
    cluster_fixture *f = *state;
    int bad = 0;

    for (size_t i = 0; i < f->ncl; i++)
        tc_free(f->cl[i].c);
    for (int i = 0; i < CF_SERVERS; i++) {
        int status = 0, running = f->sp[i].pid != 0;
        if (running &&
            (sp_stop(&f->sp[i], &status) != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
            bad = 1;
        if (f->sp[i].pid != 0 || running || f->sp[i].log_path[0] != '\0')
            sp_dump_log(&f->sp[i], stderr);
        sp_cleanup(&f->sp[i]);
    }
    nc_cleanup(&f->nats);
    free(f);
    if (bad)
        fail_msg("a presence server did not exit cleanly on SIGTERM");
    return 0;
}

void cf_start_server(cluster_fixture *f, int i, const char *const *extra)
{
    static const char *const ids[CF_SERVERS] = {"s0", "s1", "s2"};
    const char *args[SP_MAX_ARGS] = {"--cluster", f->nats.urls, "--server-id", ids[i]};
    size_t n = 4;

    for (; extra != NULL && *extra != NULL && n + 1 < SP_MAX_ARGS; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    if (sp_start(&f->sp[i], args) != 0)
        fail_msg("server %d: %s", i, f->sp[i].err);
    if (i + 1 > f->nservers)
        f->nservers = i + 1;
}

void cf_wait_joined(cluster_fixture *f)
{
    for (int i = 0; i < f->nservers; i++)
        for (int j = 0; j < f->nservers; j++) {
            char needle[64];
            if (i == j || f->sp[i].pid == 0 || f->sp[j].pid == 0)
                continue;
            snprintf(needle, sizeof(needle), "server s%d joined", j);
            if (!sp_wait_log(&f->sp[i], needle, 10000))
                fail_msg("server s%d never heard s%d", i, j);
        }
}

static void view_set(cf_client *cl, const char *name, int online)
{
    for (size_t i = 0; i < cl->nnames; i++)
        if (strcmp(cl->names[i], name) == 0) {
            if (!online)
                memmove(cl->names[i], cl->names[--cl->nnames], sizeof(cl->names[0]));
            return;
        }
    if (online && cl->nnames < CF_NAMES)
        snprintf(cl->names[cl->nnames++], sizeof(cl->names[0]), "%s", name);
}

static int view_has(const cf_client *cl, const char *name)
{
    for (size_t i = 0; i < cl->nnames; i++)
        if (strcmp(cl->names[i], name) == 0)
            return 1;
    return 0;
}

void cf_start_cluster(cluster_fixture *f, int n, const char *const *extra)
{
    for (int i = 0; i < n; i++)
        cf_start_server(f, i, extra);
    cf_wait_joined(f);
}

int cf_login_ex(cluster_fixture *f, int server, mim_identity *id, const char *name, int flags,
                cf_client **out)
{
    cf_client *cl;
    int rc;

    assert_true(f->ncl < CF_CLIENTS);
    cl = &f->cl[f->ncl++];
    memset(cl, 0, sizeof(*cl));
    cl->server = server;
    assert_non_null(cl->c = tc_new(id));
    if ((rc = tc_connect(cl->c, f->sp[server].port)) != TC_OK ||
        (rc = tc_handshake(cl->c, name)) != TC_OK)
        fail_msg("handshake as \"%s\": %s: %s", name, tc_strerror(rc), tc_error(cl->c));
    if ((flags & TC_LOGIN_MAILBOX) && !(cl->c->server_features & MIM_FEATURE_MAILBOX))
        fail_msg("s%d does not offer the mailbox", server);
    rc = tc_login_ex(cl->c, name, 5000, flags);
    if (rc < 0)
        fail_msg("login as \"%s\" on s%d: %s: %s", name, server, tc_strerror(rc), tc_error(cl->c));
    for (size_t i = 0; rc == 0 && i < cl->c->ntable; i++)
        view_set(cl, cl->c->table[i].name, 1);
    *out = cl;
    return rc;
}

int cf_login(cluster_fixture *f, int server, mim_identity *id, const char *name, cf_client **out)
{
    return cf_login_ex(f, server, id, name, 0, out);
}

cf_client *cf_online(cluster_fixture *f, int server, mim_identity *id, const char *name)
{
    return cf_online_ex(f, server, id, name, 0);
}

cf_client *cf_online_ex(cluster_fixture *f, int server, mim_identity *id, const char *name,
                        int flags)
{
    cf_client *cl;
    int rc = cf_login_ex(f, server, id, name, flags, &cl);

    if (rc != 0)
        fail_msg("login as \"%s\" on s%d: error %d: %s", name, server, rc, cl->c->error_text);
    return cl;
}

/* One message into cl's view; 1 when it was a StatusUpdate of name with text. */
static int view_apply(cf_client *cl, const Mim__PresenceMsg *m, const char *name, const char *text)
{
    switch (m->body_case) {
    case MIM__PRESENCE_MSG__BODY_ADD:
        view_set(cl, m->add->peer->name, 1);
        return 0;
    case MIM__PRESENCE_MSG__BODY_DEL:
        view_set(cl, m->del->name, 0);
        return 0;
    case MIM__PRESENCE_MSG__BODY_STATUS:
        return name != NULL && strcmp(m->status->name, name) == 0 && text != NULL &&
               strcmp(m->status->text, text) == 0;
    default:
        return 0;
    }
}

/* Reads until done(cl) or ms pass. */
static int read_until(cf_client *cl, const char *name, int want, const char *text, int ms)
{
    long long deadline = cf_now_ms() + ms;

    for (;;) {
        const Mim__PresenceMsg *m;
        long long left = deadline - cf_now_ms();
        int rc;
        if (text == NULL && view_has(cl, name) == want)
            return 0;
        if (left <= 0)
            return -1;
        if ((rc = tc_recv(cl->c, (int)left, &m)) != TC_OK)
            return -1;
        if (m->body_case == MIM__PRESENCE_MSG__BODY_PING)
            (void)tc_send_pong(cl->c, m->ping->nonce);
        if (view_apply(cl, m, name, text))
            return 0;
    }
}

int cf_wait_name(cf_client *cl, const char *name, int want, int ms)
{
    return read_until(cl, name, want, NULL, ms);
}

int cf_wait_status(cf_client *cl, const char *name, const char *text, int ms)
{
    return read_until(cl, name, 1, text, ms);
}
