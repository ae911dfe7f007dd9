/* mim-presence: start-up, the admin command and exit codes (the options are in options.c).
 *
 * Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM) or a successful admin command,
 * 1 when it cannot start or an admin command fails, 2 for a usage error, 3
 * (MIM_DATADIR_EXIT_BUSY) when another mim-presence (or mim) holds the data dir. Logs go to stderr;
 * stdout carries one machine-readable line once the server is ready:
 *   ready port=4242 discovery=4242 fingerprint=abcd-efgh-ijkl-mnop-qrst-uvwx */
#include "options.h"
#include "server.h"
#include "cluster.h"
#include "mim_cli.h"
#include "mim_datadir.h"
#include "mim_error.h"
#include "mim_fs.h"
#include "mim_keylog.h"
#include "mim_log.h"

#include <signal.h>
#include <stdio.h>

/* --free-name: releases name in the registry in data_dir. The exit code. It takes no lock: it is
 * meant to run beside the server, which shares the file with it (WAL). */
static int free_name(const char *data_dir, const char *name)
{
    char path[MIM_DATADIR_PATH_MAX + 16];
    mim_datadir dd;
    mim_store *st;
    int rc;

    if (mim_datadir_resolve(&dd, data_dir) != 0 ||
        mim_fs_join(path, sizeof(path), dd.path, "presence.db") != 0 ||
        mim_store_open(path, MIM_STORE_PRESENCE, &st) != 0) {
        fprintf(stderr, "mim-presence: cannot open the registry in %s\n", data_dir);
        return 1;
    }
    rc = mim_store_name_free(st, name);
    mim_store_close(st);
    if (rc == MIM_ENOENT) {
        fprintf(stderr, "mim-presence: '%s' is not registered\n", name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "mim-presence: cannot free '%s': %s\n", name, mim_strerror(rc));
        return 1;
    }
    printf("released '%s': the next key to log in with it registers it\n", name);
    return 0;
}

/* Runs the server until SIGINT or SIGTERM has closed every connection. The exit code. */
static int run_server(const presence_config *cfg)
{
    presence_server srv;
    uv_loop_t loop;
    int rc;

    /* A peer that resets its connection must cost an EPIPE, never the process. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    rc = presence_server_start(&srv, &loop, cfg);
    if (rc != 0) {
        mim_log_error("cannot start; see above");
        presence_server_stop(&srv);
        uv_run(&loop, UV_RUN_DEFAULT);
        presence_server_free(&srv);
        uv_loop_close(&loop);
        return rc == MIM_EBUSY ? MIM_DATADIR_EXIT_BUSY : 1;
    }
    if (srv.discovery_on)
        printf("ready port=%d discovery=%d fingerprint=%s\n", srv.port, srv.discovery_port,
               srv.fingerprint);
    else
        printf("ready port=%d discovery=off fingerprint=%s\n", srv.port, srv.fingerprint);
    fflush(stdout);
    mim_log_info("version %s ready; fingerprint %s", MIM_VERSION, srv.fingerprint);

    uv_run(&loop, UV_RUN_DEFAULT);
    presence_server_free(&srv);
    rc = uv_loop_close(&loop);
    if (rc != 0)
        mim_log_warn("loop closed with handles still open: %s", uv_strerror(rc));
    mim_log_info("stopped");
    return 0;
}

/* The command line (options.c), then the admin command or the server. */
int main(int argc, char **argv)
{
    presence_options o;
    int rc;

    mim_log_set_program("mim-presence");
    if ((rc = presence_options_parse(argc, argv, &o)) != MIM_CLI_RUN)
        return rc;
    if (mim_crypto_init() != 0) {
        fprintf(stderr, "mim-presence: libsodium failed to initialise\n");
        return 1;
    }
    if (o.free_name != NULL && o.cfg.cluster_urls != NULL) /* issue 18: the cluster's registry */
        return cluster_free_name(o.cfg.cluster_urls, o.free_name);
    if (o.free_name != NULL)
        return free_name(o.cfg.data_dir, o.free_name);
    if (mim_keylog_start("mim-presence", o.key_log) != 0)
        return 1;
    return run_server(&o.cfg);
}
