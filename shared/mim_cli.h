/* The command-line conventions mim's programs share: the messages and exit codes of a bad
 * option value, an unknown option or a stray argument, the --log-level, --help and --version
 * options, and the default data directory. Each program keeps its own option table and --help. */
#ifndef MIM_CLI_H
#define MIM_CLI_H

#include <stddef.h>
#include <stdio.h>

#define MIM_CLI_RUN   (-1) /* the command line is good: the program runs */
#define MIM_CLI_USAGE 2    /* the exit code of a usage error */

/* The long options every program takes, last in its table (the terminator included); each
 * program's switch hands their short letters to mim_cli_common. */
/* clang-format off */
#define MIM_CLI_COMMON_OPTIONS                                                                     \
    {"log-level", required_argument, NULL, 'l'},                                                   \
    {"help", no_argument, NULL, 'h'},                                                              \
    {"version", no_argument, NULL, 'V'},                                                           \
    {NULL, 0, NULL, 0}
/* clang-format on */

/* An option's value as a number in [min, max] (mim_parse_number). 0, or -1 after saying
 * "<program>: invalid value '<arg>' for <option>" on stderr. */
int mim_cli_number(const char *program, const char *option, const char *arg, long long min,
                   long long max, long long *out);
/* An option's value as a size in bytes in [min, max] (mim_parse_size: "100M"), as
 * mim_cli_number. */
int mim_cli_size(const char *program, const char *option, const char *arg, long long min,
                 long long max, long long *out);
/* Handles getopt's answer c when it is none of the program's own options: -l LEVEL (sets the log
 * level), -h (usage on stdout), -V ("<program> <version>"), or anything else (an unknown option:
 * "Try '<program> --help'."). Returns MIM_CLI_RUN to go on, or the exit code: 0 after -h and
 * -V, MIM_CLI_USAGE after an error said on stderr. */
int mim_cli_common(const char *program, int c, const char *arg, void (*usage)(FILE *out));
/* MIM_CLI_RUN when no argument is left after the options (optind == argc), else MIM_CLI_USAGE
 * after saying which one is unexpected. */
int mim_cli_no_operands(const char *program, int argc, char **argv, int optind_);
/* The data directory: dir when given, else the default one for `leaf` (mim_fs_default_data_dir)
 * in buf (len bytes). NULL after saying why on stderr: a leaf that is not one directory entry
 * ('/', "." or "..": a name such as "../../x"), or no HOME or XDG_DATA_HOME. */
const char *mim_cli_data_dir(const char *program, const char *dir, const char *leaf, char *buf,
                             size_t len);

#endif
