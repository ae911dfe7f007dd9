/* Where received files go: the download directory, from the configuration or the XDG user
 * directories (the environment, then xdg-user-dirs' user-dirs.dirs), else ~/Downloads. */
#include "file_sink.h"

#include "file_io.h"
#include "mim_error.h"
#include "mim_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIM_SUBDIR "/mim"
#define LINE_MAX_  1024 /* a longer line of user-dirs.dirs is not ours */

/* Writes the parts one after another into out: 0 or MIM_EOVERFLOW. */
static int join3(char *out, size_t outlen, const char *a, const char *b, const char *c)
{
    int n = snprintf(out, outlen, "%s%s%s", a, b, c);

    return n >= 0 && (size_t)n < outlen ? MIM_OK : MIM_EOVERFLOW;
}

/* The value of XDG_DOWNLOAD_DIR in a user-dirs.dirs line ("$HOME/Downloads" in quotes, as
 * xdg-user-dirs writes it, or an absolute path) made absolute into out; 1 when found. */
static int parse_user_dirs_line(const char *line, const char *home, char *out, size_t outlen)
{
    static const char key[] = "XDG_DOWNLOAD_DIR=";
    char value[LINE_MAX_];
    size_t n;

    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, key, sizeof(key) - 1) != 0)
        return 0;
    line += sizeof(key) - 1;
    n = strcspn(line, "\r\n");
    if (n >= 2 && line[0] == '"' && line[n - 1] == '"') {
        line++;
        n -= 2;
    }
    memcpy(value, line, n);
    value[n] = '\0';
    if (strncmp(value, "$HOME", 5) == 0 && (value[5] == '/' || value[5] == '\0'))
        return home != NULL && join3(out, outlen, home, value + 5, "") == MIM_OK;
    return value[0] == '/' && join3(out, outlen, value, "", "") == MIM_OK;
}

/* XDG_DOWNLOAD_DIR from $XDG_CONFIG_HOME/user-dirs.dirs or ~/.config/user-dirs.dirs. */
static int from_user_dirs(const char *home, char *out, size_t outlen)
{
    const char *config = getenv("XDG_CONFIG_HOME");
    char path[4096], line[LINE_MAX_];
    int found = 0;
    FILE *f;

    if (config != NULL && config[0] == '/')
        f = join3(path, sizeof(path), config, "/user-dirs.dirs", "") == MIM_OK ? fopen(path, "r")
                                                                               : NULL;
    else if (home != NULL)
        f = join3(path, sizeof(path), home, "/.config/user-dirs.dirs", "") == MIM_OK
                ? fopen(path, "r")
                : NULL;
    else
        f = NULL;
    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = parse_user_dirs_line(line, home, out, outlen);
    fclose(f);
    return found;
}

int file_sink_download_dir(const char *configured, char *out, size_t outlen)
{
    const char *home = getenv("HOME"), *env = getenv("XDG_DOWNLOAD_DIR");
    char base[4096];

    if (home != NULL && home[0] != '/')
        home = NULL;
    if (configured != NULL && configured[0] != '\0')
        return join3(out, outlen, configured, "", "");
    if (env != NULL && env[0] == '/')
        return join3(out, outlen, env, MIM_SUBDIR, "");
    if (from_user_dirs(home, base, sizeof(base)))
        return join3(out, outlen, base, MIM_SUBDIR, "");
    if (home == NULL)
        return MIM_ENOENT;
    return join3(out, outlen, home, "/Downloads", MIM_SUBDIR);
}

int file_sink_prepare_dir(const char *dir)
{
    struct stat st;

    if (mim_fs_make_dirs(dir) != MIM_OK)
        return errno == ENOTDIR || errno == EEXIST ? MIM_EINVAL : file_io_code(errno);
    if (stat(dir, &st) != 0)
        return file_io_code(errno);
    return S_ISDIR(st.st_mode) ? MIM_OK : MIM_EINVAL;
}
