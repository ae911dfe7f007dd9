/* Numbers from text: the option values of both programs and the tools (ports, counts,
 * milliseconds, seconds), each checked whole and against its range. */
#ifndef MIM_PARSE_H
#define MIM_PARSE_H

/* Parses s, the whole of it, as a decimal number in [min, max]. 0 and *out, or MIM_EINVAL (empty,
 * not a number, anything after it, outside the range) with *out unchanged. */
int mim_parse_number(const char *s, long long min, long long max, long long *out);

/* A size in bytes (the peer's --auto-accept and --max-file-size): digits, then optionally one
 * of K, M, G, T (binary: 1024, 1024^2, ...; either case), then optionally "B" or "iB": "0",
 * "512", "100M", "64GiB" (whole units only: "1.5G" is refused). 0 and *out in [min, max], or
 * MIM_EINVAL (empty, a sign, another suffix, an overflow, outside the range), *out unchanged. */
int mim_parse_size(const char *s, long long min, long long max, long long *out);

#endif
