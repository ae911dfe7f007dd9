#include "mim_error.h"

const char *mim_strerror(int err)
{
    switch (err) {
    case MIM_OK:
        return "success";
    case MIM_ENOMEM:
        return "out of memory";
    case MIM_EINVAL:
        return "invalid argument or input";
    case MIM_EFRAME_TOO_BIG:
        return "frame length over the limit";
    case MIM_EFRAME_EMPTY:
        return "empty frame";
    case MIM_ECRYPTO:
        return "cryptographic check failed";
    case MIM_EDECODE:
        return "malformed message";
    case MIM_EIO:
        return "input/output error";
    case MIM_ENOENT:
        return "not found";
    case MIM_EPERM:
        return "unsafe permissions";
    case MIM_EEXIST:
        return "already exists";
    case MIM_ETAKEN:
        return "name taken by another key";
    case MIM_EDB:
        return "database error";
    case MIM_ECLOSED:
        return "connection closed";
    case MIM_EOVERFLOW:
        return "limit reached";
    case MIM_ESTATE:
        return "not allowed in this state";
    case MIM_EBUSY:
        return "in use by another process";
    case MIM_ENOSPC:
        return "no space left on the disk";
    case MIM_ECHANGED:
        return "file changed since it was offered";
    }
    return "unknown error";
}
