/* A message id from its hex text (see core.h, mim_msg_id_parse): a front end's typed edge. */
#include "core.h"

#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mim_msg_id_parse(const char *hex, mim_msg_id *out)
{
    mim_msg_id id;

    if (strlen(hex) != 2 * sizeof(id.bytes))
        return -1;
    for (size_t i = 0; i < sizeof(id.bytes); i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        id.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = id;
    return 0;
}
