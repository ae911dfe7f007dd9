/* Numbers from text, checked whole and against their range (see mim_parse.h). */
#include "mim_parse.h"

#include "mim_error.h"

#include <errno.h>
#include <stdlib.h>

int mim_parse_number(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return MIM_EINVAL;
    *out = v;
    return 0;
}
