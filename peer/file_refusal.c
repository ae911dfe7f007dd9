/* Why a path cannot be sent (see file_refusal.h). */
#include "file_refusal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file that is neither a regular file nor a folder is. */
static const char *kind_of(mode_t mode)
{
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISFIFO(mode))
        return "a named pipe (FIFO)";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "no regular file";
}

void file_refusal_describe(const char *path, char *out, size_t cap)
{
    struct stat st;

    if (stat(path, &st) != 0)
        snprintf(out, cap, "%s",
                 errno == ENOENT    ? "no such file or folder"
                 : errno == EACCES  ? "permission denied"
                 : errno == ENOTDIR ? "a part of the path is no folder"
                                    : strerror(errno));
    else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        snprintf(out, cap, "it is %s, not a file or a folder", kind_of(st.st_mode));
    else if (access(path, S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK) != 0)
        snprintf(out, cap, "it cannot be read: permission denied");
    else if (S_ISDIR(st.st_mode))
        snprintf(out, cap, "the folder holds no file that can be sent, or cannot be read whole");
    else
        snprintf(out, cap, "it cannot be read");
}
