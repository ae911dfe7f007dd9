#include "mim_addr.h"

#include "mim_error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Longest host part accepted: a full IPv6 address with an embedded IPv4 tail is 45 chars. */
#define HOST_MAX 64

/* A port is 1-5 decimal digits with a value in 1..65535: no sign, no spaces, no hex. */
static int parse_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5)
            return MIM_EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0 || v == 0 || v > 65535)
        return MIM_EINVAL;
    *out = (uint16_t)v;
    return MIM_OK;
}

/* Copies s[0..n) into a NUL-terminated host buffer. */
static int copy_host(char host[HOST_MAX], const char *s, size_t n)
{
    if (n == 0 || n >= HOST_MAX)
        return MIM_EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    return MIM_OK;
}

static int fill_v4(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)out;

    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return MIM_EINVAL;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    return MIM_OK;
}

static int fill_v6(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
        return MIM_EINVAL;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    return MIM_OK;
}

int mim_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out)
{
    char host[HOST_MAX];
    uint16_t port = default_port;
    const char *colon;
    int rc;

    if (s == NULL || s[0] == '\0')
        return MIM_EINVAL;

    if (s[0] == '[') {
        /* "[v6]" or "[v6]:port": the brackets are what allow a port after an IPv6 address. */
        const char *close = strchr(s, ']');
        if (close == NULL)
            return MIM_EINVAL;
        rc = copy_host(host, s + 1, (size_t)(close - (s + 1)));
        if (rc < 0)
            return rc;
        if (close[1] == ':') {
            rc = parse_port(close + 2, &port);
            if (rc < 0)
                return rc;
        } else if (close[1] != '\0') {
            return MIM_EINVAL;
        }
        return fill_v6(host, port, out);
    }

    colon = strchr(s, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
        /* Two or more colons without brackets: a bare IPv6 address, which cannot carry a port
         * ("::1:4242" would be ambiguous). */
        rc = copy_host(host, s, strlen(s));
        if (rc < 0)
            return rc;
        return fill_v6(host, port, out);
    }
    if (colon != NULL) {
        rc = parse_port(colon + 1, &port);
        if (rc < 0)
            return rc;
        rc = copy_host(host, s, (size_t)(colon - s));
    } else {
        rc = copy_host(host, s, strlen(s));
    }
    if (rc < 0)
        return rc;
    return fill_v4(host, port, out);
}

void mim_addr_format(const struct sockaddr *sa, char out[MIM_ADDR_STRLEN])
{
    char host[INET6_ADDRSTRLEN];

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL) {
            snprintf(out, MIM_ADDR_STRLEN, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
            return;
        }
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL) {
            snprintf(out, MIM_ADDR_STRLEN, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
            return;
        }
    }
    snprintf(out, MIM_ADDR_STRLEN, "(unknown address)");
}

size_t mim_addr_raw(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        memcpy(out, &sin->sin_addr, 4);
        return 4;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; report them as the IPv4
         * address they are, so the same peer has the same address whichever socket saw it. */
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            memcpy(out, sin6->sin6_addr.s6_addr + 12, 4);
            return 4;
        }
        memcpy(out, sin6->sin6_addr.s6_addr, 16);
        return 16;
    }
    return 0;
}

uint16_t mim_addr_port(const struct sockaddr *sa)
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

/* The IPv4 bytes of a 4-byte address or of an IPv4-mapped IPv6 one, else NULL. */
static const uint8_t *raw_v4(const uint8_t *addr, size_t len)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (len == 4)
        return addr;
    if (len == 16 && memcmp(addr, mapped, sizeof(mapped)) == 0)
        return addr + 12;
    return NULL;
}

int mim_addr_raw_is_loopback(const uint8_t *addr, size_t len)
{
    static const uint8_t v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t *v4 = addr != NULL ? raw_v4(addr, len) : NULL;

    if (v4 != NULL)
        return v4[0] == 127;
    return addr != NULL && len == 16 && memcmp(addr, v6_loopback, 16) == 0;
}

int mim_addr_peer_ok(const uint8_t *addr, size_t len, int allow_loopback)
{
    static const uint8_t v6_any[16] = {0};
    const uint8_t *v4;

    if (addr == NULL || (len != 4 && len != 16))
        return 0;
    if (mim_addr_raw_is_loopback(addr, len))
        return allow_loopback;
    if ((v4 = raw_v4(addr, len)) != NULL)
        return v4[0] != 0 && v4[0] < 224; /* this network; multicast; reserved and broadcast */
    return memcmp(addr, v6_any, 16) != 0 && addr[0] != 0xff; /* unspecified; multicast */
}
