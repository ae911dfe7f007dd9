/* Error values shared by every mim module.
 *
 * Functions return 0 (MIM_OK) on success or one of these negative codes; mim_strerror() turns a
 * code into a short English phrase for logs. Positive return values are reserved for functions
 * that document them (for example the framer's MIM_FRAMER_FRAME). */
#ifndef MIM_ERROR_H
#define MIM_ERROR_H

enum {
    MIM_OK = 0,
    MIM_ENOMEM = -1,         /* allocation failed */
    MIM_EINVAL = -2,         /* bad argument or malformed input */
    MIM_EFRAME_TOO_BIG = -3, /* a length prefix over the current maximum */
    MIM_EFRAME_EMPTY = -4,   /* a zero length prefix: no mim frame is empty */
    MIM_ECRYPTO = -5,        /* authentication failed, bad key, low-order point */
    MIM_EDECODE = -6,        /* protobuf did not parse or failed validation */
    MIM_EIO = -7,            /* a file or socket operation failed (see errno / log) */
    MIM_ENOENT = -8,         /* no such file, name or row */
    MIM_EPERM = -9,          /* unsafe permissions (key file readable by others) */
    MIM_EEXIST = -10,        /* already exists */
    MIM_ETAKEN = -11,        /* name registered to another identity key */
    MIM_EDB = -12,           /* the SQLite store failed */
    MIM_ECLOSED = -13,       /* the connection is closing or closed */
    MIM_EOVERFLOW = -14,     /* a cap was reached (queued output, table size, buffer) */
    MIM_ESTATE = -15,        /* not allowed in the current state */
    MIM_EBUSY = -16,         /* held by another process (a data dir another mim uses) */
    /* files (issue 15): */
    MIM_ENOSPC = -17,   /* the disk or the quota is full: pause and retry, nothing is lost */
    MIM_ECHANGED = -18, /* a file changed (size, time or identity) since it was listed */
};

/* A static, never-NULL description of `err`. */
const char *mim_strerror(int err);

#endif
