/* IRC for the load client (the ngircd baseline), spoken by hand: NICK and USER, then JOIN of
 * one channel once the server welcomes us (001). Logged in = the end of the NAMES list (366).
 * Knows = the names in the NAMES list plus the JOIN lines of others, ourselves excluded. PINGs
 * are answered. Any ERROR line or a numeric of 400 and up fails the run. Status (issue 16's
 * baseline: a channel's fan-out): change k is the channel message "status k" (PRIVMSG), seen by
 * a peer when it arrives; the sender, which IRC does not echo, has it when it sends. */
#include "load_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IRC_CHANNEL "#bench"

static void irc_send(load_tcp *t, const char *line)
{
    (void)load_tcp_write(t, line, strlen(line));
}

static void on_connected(load_tcp *t)
{
    char name[16], line[128];

    load_peer_name(t->peer, name, sizeof(name));
    snprintf(line, sizeof(line), "NICK %s\r\nUSER %s 0 * :bench\r\n", name, name);
    irc_send(t, line);
}

/* Counts the names in a 353 reply's trailing part, ourselves excluded. */
static long count_names(const char *names, const char *me)
{
    long n = 0;
    char buf[16];

    while (*names != '\0') {
        size_t len = strcspn(names, " ");
        const char *nick = names;
        size_t nlen = len;
        if (nlen > 0 && (nick[0] == '@' || nick[0] == '+')) {
            nick++;
            nlen--;
        }
        if (nlen > 0) {
            snprintf(buf, sizeof(buf), "%.*s", (int)(nlen < 15 ? nlen : 15), nick);
            if (nlen != strlen(me) || strcmp(buf, me) != 0)
                n++;
        }
        names += len;
        while (*names == ' ')
            names++;
    }
    return n;
}

/* One line, without its CR LF. 0, or -1 to fail. */
static int on_line(load_tcp *t, char *line)
{
    char me[16], prefix[64] = "", cmd[16] = "";
    char *rest = line;

    load_peer_name(t->peer, me, sizeof(me));
    if (strncmp(line, "PING ", 5) == 0) {
        char pong[1100];
        snprintf(pong, sizeof(pong), "PONG %s\r\n", line + 5);
        irc_send(t, pong);
        return 0;
    }
    if (strncmp(line, "ERROR", 5) == 0)
        return -1;
    if (line[0] == ':') {
        size_t len = strcspn(line + 1, " ");
        snprintf(prefix, sizeof(prefix), "%.*s", (int)(len < 63 ? len : 63), line + 1);
        rest = line + 1 + len;
        while (*rest == ' ')
            rest++;
    }
    sscanf(rest, "%15s", cmd);
    if (strcmp(cmd, "001") == 0) {
        irc_send(t, "JOIN " IRC_CHANNEL "\r\n");
    } else if (strcmp(cmd, "353") == 0) {
        char *names = strstr(rest, " :");
        if (names != NULL)
            load_knows(t->peer, count_names(names + 2, me));
    } else if (strcmp(cmd, "PRIVMSG") == 0) {
        const char *said = strstr(rest, " :status ");
        if (said != NULL)
            load_status_seen(t->peer, (unsigned)strtoul(said + 9, NULL, 10));
    } else if (strcmp(cmd, "366") == 0) {
        load_logged_in(t->peer);
    } else if (strcmp(cmd, "JOIN") == 0) {
        size_t nlen = strcspn(prefix, "!");
        if (nlen != strlen(me) || strncmp(prefix, me, nlen) != 0)
            load_knows(t->peer, 1);
    } else if (cmd[0] >= '4' && cmd[0] <= '5' && strlen(cmd) == 3) {
        fprintf(stderr, "irc: %s\n", line);
        return -1;
    }
    return 0;
}

static long on_input(load_tcp *t, const uint8_t *in, size_t len)
{
    size_t used = 0;
    char line[1024];

    while (used < len && !t->closing) {
        const uint8_t *nl = memchr(in + used, '\n', len - used);
        size_t llen;
        if (nl == NULL)
            break;
        llen = (size_t)(nl - (in + used));
        if (llen > 0 && in[used + llen - 1] == '\r')
            llen--;
        if (llen >= sizeof(line))
            return -1;
        memcpy(line, in + used, llen);
        line[llen] = '\0';
        used = (size_t)(nl - in) + 1;
        if (on_line(t, line) != 0)
            return -1;
    }
    return (long)used;
}

static const load_tcp_ops ops = {.on_connected = on_connected, .on_input = on_input};

static int irc_start(load_peer *p)
{
    return load_tcp_open(p, &ops);
}

static int irc_send_status(load_peer *p, unsigned seq)
{
    load_tcp *t = p->state;
    char line[64];

    if (t == NULL)
        return -1;
    snprintf(line, sizeof(line), "PRIVMSG " IRC_CHANNEL " :status %u\r\n", seq);
    irc_send(t, line);
    load_status_seen(p, seq); /* IRC does not echo it to its sender */
    return 0;
}

const load_proto load_proto_irc = {
    .name = "irc",
    .start = irc_start,
    .send_status = irc_send_status,
    .stop_all = load_tcp_close_all,
};
