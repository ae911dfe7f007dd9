/* The command-line conventions mim's programs share (see mim_cli.h). */
#include "mim_cli.h"

#include "mim_fs.h"
#include "mim_log.h"
#include "mim_parse.h"

int mim_cli_number(const char *program, const char *option, const char *arg, long long min,
                   long long max, long long *out)
{
    if (mim_parse_number(arg, min, max, out) == 0)
        return 0;
    fprintf(stderr, "%s: invalid value '%s' for %s\n", program, arg, option);
    return -1;
}

int mim_cli_size(const char *program, const char *option, const char *arg, long long min,
                 long long max, long long *out)
{
    if (mim_parse_size(arg, min, max, out) == 0)
        return 0;
    fprintf(stderr, "%s: invalid size '%s' for %s (e.g. 0, 512, 100M, 2G)\n", program, arg, option);
    return -1;
}

int mim_cli_common(const char *program, int c, const char *arg, void (*usage)(FILE *out))
{
    int level;

    switch (c) {
    case 'l':
        if ((level = mim_log_parse_level(arg)) < 0) {
            fprintf(stderr, "%s: invalid value '%s' for --log-level\n", program, arg);
            return MIM_CLI_USAGE;
        }
        mim_log_set_level(level);
        return MIM_CLI_RUN;
    case 'h':
        usage(stdout);
        return 0;
    case 'V':
        printf("%s %s\n", program, MIM_VERSION);
        return 0;
    default:
        fprintf(stderr, "Try '%s --help'.\n", program);
        return MIM_CLI_USAGE;
    }
}

int mim_cli_no_operands(const char *program, int argc, char **argv, int optind_)
{
    if (optind_ >= argc)
        return MIM_CLI_RUN;
    fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", program, argv[optind_],
            program);
    return MIM_CLI_USAGE;
}

const char *mim_cli_data_dir(const char *program, const char *dir, const char *leaf, char *buf,
                             size_t len)
{
    if (dir != NULL)
        return dir;
    if (!mim_fs_leaf_ok(leaf)) {
        /* A name such as "../../x" would name a directory outside mim's own. */
        fprintf(stderr,
                "%s: '%s' cannot name the default data directory (it has a '/' or is "
                "'.' or '..'); give --data-dir\n",
                program, leaf);
        return NULL;
    }
    if ((dir = mim_fs_default_data_dir(buf, len, leaf)) == NULL)
        fprintf(stderr, "%s: no HOME or XDG_DATA_HOME (or the path is too long); give --data-dir\n",
                program);
    return dir;
}
