/* Numbers from text, checked whole and against their range (see mim_parse.h). */
#include "mim_parse.h"

#include "mim_error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

/* The multiplier a size's suffix names ("", "K", "MiB", "gb" ...), or 0 for no size suffix. */
static long long size_unit(const char *suffix)
{
    static const char letters[] = "KMGT";
    const char *at;
    long long unit = 1;

    if (strcmp(suffix, "") == 0 || strcmp(suffix, "B") == 0 || strcmp(suffix, "b") == 0)
        return 1;
    if ((at = strchr(letters, toupper((unsigned char)*suffix))) == NULL)
        return 0;
    for (const char *l = letters; l <= at; l++)
        unit *= 1024;
    suffix++;
    if ((*suffix == 'i' || *suffix == 'I') && (suffix[1] == 'B' || suffix[1] == 'b'))
        suffix++; /* "iB" */
    if (*suffix == 'B' || *suffix == 'b')
        suffix++;
    return *suffix == '\0' ? unit : 0;
}

int mim_parse_size(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v, unit;

    if (!isdigit((unsigned char)*s))
        return MIM_EINVAL; /* no sign, no space, no empty */
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || (unit = size_unit(end)) == 0 || v > LLONG_MAX / unit)
        return MIM_EINVAL;
    v *= unit;
    if (v < min || v > max)
        return MIM_EINVAL;
    *out = v;
    return 0;
}
