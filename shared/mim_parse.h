/* Numbers from text: the option values of both programs and the tools (ports, counts,
 * milliseconds, seconds), each checked whole and against its range. */
#ifndef MIM_PARSE_H
#define MIM_PARSE_H

/* Parses s, the whole of it, as a decimal number in [min, max]. 0 and *out, or MIM_EINVAL (empty,
 * not a number, anything after it, outside the range) with *out unchanged. */
int mim_parse_number(const char *s, long long min, long long max, long long *out);

#endif
