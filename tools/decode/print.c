/* mim-decode's text (see print.h). */
#include "print.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

void pr_endpoint(char out[PR_ENDPOINT_LEN], int family, const uint8_t *addr, uint16_t port)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, ip, sizeof(ip));
    snprintf(out, PR_ENDPOINT_LEN, family == 4 ? "%s:%u" : "[%s]:%u", ip, (unsigned)port);
}

void pr_hex(char *out, size_t len, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (o + 2 + 4 > len) { /* room for "..." and the NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        out[o++] = digits[p[i] >> 4];
        out[o++] = digits[p[i] & 0x0f];
    }
    out[o] = '\0';
}

void pr_line(FILE *out, unsigned id, double ts, const char *arrow, const char *fmt, ...)
{
    va_list ap;

    fprintf(out, "#%u %.6f %s ", id, ts, arrow);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

void pr_text(FILE *out, unsigned id, const char *text)
{
    fprintf(out, "#%u          %s\n", id, text);
}

void pr_warn(size_t *count, const char *fmt, ...)
{
    va_list ap;

    (*count)++;
    fputs("mim-decode: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
