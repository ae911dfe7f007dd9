/* The one definition of a name's length, which the wire, both programs, the online table, the
 * store and the terminal interface all keep to. Only defines, so that any file can include it
 * without pulling in the codec or protobuf. */
#ifndef MIM_LIMITS_H
#define MIM_LIMITS_H

#define MIM_NAME_MAX_CHARS 32  /* characters (code points) in a name */
#define MIM_NAME_MAX_BYTES 128 /* bytes of UTF-8: 32 characters of at most 4 bytes */

#endif
