/* The test NATS cluster (nats_cluster.h). */
#include "nats_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MIM_NATS_SERVER_BIN
#define MIM_NATS_SERVER_BIN "nats-server"
#endif

static int fail(nats_cluster *nc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(nats_cluster *nc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nc->err, sizeof(nc->err), fmt, ap);
    va_end(ap);
    return -1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int accepts(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int log_has(const char *path, const char *needle)
{
    char buf[1 << 16];
    FILE *f = fopen(path, "r");
    int found = 0;

    if (f == NULL)
        return 0;
    while (!found && fgets(buf, sizeof(buf), f) != NULL)
        found = strstr(buf, needle) != NULL;
    fclose(f);
    return found;
}

static int write_conf(nats_cluster *nc, int i)
{
    nats_node *n = &nc->node[i];
    FILE *f = fopen(n->conf, "w");
    int a = (i + 1) % NC_NODES, b = (i + 2) % NC_NODES;

    if (f == NULL)
        return fail(nc, "cannot write %s: %s", n->conf, strerror(errno));
    fprintf(f,
            "server_name: n%d\nlisten: 127.0.0.1:%d\nhttp: 0\n"
            "jetstream { store_dir: \"%s/store%d\", max_memory_store: 64MB, "
            "max_file_store: 256MB }\n"
            "cluster { name: mimtest, listen: 127.0.0.1:%d, routes: "
            "[nats-route://127.0.0.1:%d, nats-route://127.0.0.1:%d] }\n",
            i, n->port, nc->dir, i, n->route_port, nc->node[a].route_port, nc->node[b].route_port);
    fclose(f);
    return 0;
}

static int spawn(nats_cluster *nc, int i)
{
    nats_node *n = &nc->node[i];
    pid_t pid = fork();

    if (pid < 0)
        return fail(nc, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp(MIM_NATS_SERVER_BIN, "nats-server", "-c", n->conf, (char *)NULL);
        _exit(127);
    }
    n->pid = pid;
    return 0;
}

static int wait_accepts(nats_cluster *nc, int i, long long deadline)
{
    while (!accepts(nc->node[i].port)) {
        int st;
        if (waitpid(nc->node[i].pid, &st, WNOHANG) == nc->node[i].pid) {
            nc->node[i].pid = 0;
            return fail(nc, "nats-server n%d exited at start (see %s)", i, nc->node[i].log);
        }
        if (now_ms() > deadline)
            return fail(nc, "nats-server n%d does not accept on %d", i, nc->node[i].port);
        poll(NULL, 0, 20);
    }
    return 0;
}

int nc_start(nats_cluster *nc, const char *tag)
{
    long long deadline = now_ms() + NC_READY_TIMEOUT_MS;
    int leader = 0;

    memset(nc, 0, sizeof(*nc));
    mkdir(MIM_TEST_TMP, 0700);
    snprintf(nc->dir, sizeof(nc->dir), "%s/nats-%s-XXXXXX", MIM_TEST_TMP, tag);
    if (mkdtemp(nc->dir) == NULL)
        return fail(nc, "mkdtemp %s: %s", nc->dir, strerror(errno));
    for (int i = 0; i < NC_NODES; i++) {
        nc->node[i].port = free_port();
        nc->node[i].route_port = free_port();
        snprintf(nc->node[i].conf, sizeof(nc->node[i].conf), "%s/n%d.conf", nc->dir, i);
        snprintf(nc->node[i].log, sizeof(nc->node[i].log), "%s/n%d.log", nc->dir, i);
    }
    for (int i = 0; i < NC_NODES; i++)
        if (write_conf(nc, i) != 0 || spawn(nc, i) != 0)
            return -1;
    for (int i = 0; i < NC_NODES; i++)
        if (wait_accepts(nc, i, deadline) != 0)
            return -1;
    while (!leader) {
        for (int i = 0; i < NC_NODES && !leader; i++)
            leader = log_has(nc->node[i].log, "metadata leader");
        if (!leader && now_ms() > deadline)
            return fail(nc, "no JetStream metadata leader within %d ms", NC_READY_TIMEOUT_MS);
        if (!leader)
            poll(NULL, 0, 50);
    }
    snprintf(nc->urls, sizeof(nc->urls),
             "nats://127.0.0.1:%d,nats://127.0.0.1:%d,nats://127.0.0.1:%d", nc->node[0].port,
             nc->node[1].port, nc->node[2].port);
    return 0;
}

const char *nc_url(const nats_cluster *nc, int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "nats://127.0.0.1:%d", nc->node[i].port);
    return buf;
}

int nc_kill(nats_cluster *nc, int i)
{
    if (nc->node[i].pid <= 0)
        return fail(nc, "n%d is not running", i);
    kill(nc->node[i].pid, SIGKILL);
    waitpid(nc->node[i].pid, NULL, 0);
    nc->node[i].pid = 0;
    return 0;
}

void nc_kill_all(nats_cluster *nc)
{
    for (int i = 0; i < NC_NODES; i++)
        if (nc->node[i].pid > 0)
            (void)nc_kill(nc, i);
}

int nc_restart(nats_cluster *nc, int i)
{
    if (nc->node[i].pid > 0)
        return fail(nc, "n%d is running", i);
    if (spawn(nc, i) != 0)
        return -1;
    return wait_accepts(nc, i, now_ms() + NC_READY_TIMEOUT_MS);
}

void nc_cleanup(nats_cluster *nc)
{
    char cmd[600];

    nc_kill_all(nc);
    if (nc->dir[0] != '\0' && strstr(nc->dir, "/nats-") != NULL && getenv("MIM_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nc->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "nc_cleanup: could not remove %s\n", nc->dir);
    }
}
