/* What the codec's files share and nothing else includes: the failure helper and the
 * canonical-encoding check (mim_codec.c), used by every mim_codec_<area>.c. */
#ifndef MIM_CODEC_PRIV_H
#define MIM_CODEC_PRIV_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the reason into err (errlen bytes; err may be NULL) and returns MIM_EDECODE. */
int mim_codec_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 0 when wire (wire_len bytes) is exactly what protobuf-c writes for m (docs/PROTOCOL.md 6.1),
 * else MIM_EDECODE with the reason. */
int mim_codec_canonical(const ProtobufCMessage *m, const uint8_t *wire, size_t wire_len, char *err,
                        size_t errlen);

#endif
