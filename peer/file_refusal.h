/* Why a path cannot be sent (issue 15), in words for both front ends: the core refuses it with
 * MIM_CORE_ENO_FILE, and the user is told what is wrong with it -- "no such file or folder",
 * "it is a socket, not a file or a folder", "permission denied" -- not only that it is. */
#ifndef MIM_PEER_FILE_REFUSAL_H
#define MIM_PEER_FILE_REFUSAL_H

#include <stddef.h>

/* One line (no trailing period) about what is wrong with path as something to send, into out
 * (cap bytes). Looks at the file system now (the path followed, as the sender does). */
void file_refusal_describe(const char *path, char *out, size_t cap);

#endif
