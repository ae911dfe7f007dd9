/* What this version of mim says about content it cannot show (images, files, content types of
 * later versions; docs/PROTOCOL.md 14.5).
 *
 * Such messages are accepted, stored as received (the whole ChatMessage, packed, so a later
 * version can read them from the history) and acknowledged like text; the user is told that
 * something arrived and what it was, in one line built from fields the codec has validated
 * (no control characters). */
#ifndef MIM_PEER_CONTENT_H
#define MIM_PEER_CONTENT_H

#include "peer.pb-c.h"

#include <stddef.h>

#define CONTENT_DESCRIBE_MAX 600 /* bytes of a description, NUL included */

/* "text", "image", "file", or "type-N" for a content type of a later version. Static storage,
 * except for "type-N", which is written into buf (at least 16 bytes). */
const char *content_type_name(int type, char *buf, size_t len);
/* 1 when the user should be told about this message: text, and the first piece (or the only
 * one) of anything else; the later pieces of a chunked item are stored and acked silently. */
int content_is_shown(const Mim__ChatMessage *m);
/* One line for a message this version cannot show, e.g.
 *   [image "cat.png" (image/png, 3 parts): not supported by this version of mim] look!
 * (the caption, if any, follows). Always NUL-terminated, cut at a character boundary. */
void content_describe(const Mim__ChatMessage *m, char *out, size_t len);
/* The same, from the stored body of a received non-text message (the packed ChatMessage).
 * Returns content_is_shown of it (1 when it cannot be read back: it is shown as its type). */
int content_describe_stored(const void *body, size_t body_len, int type, char *out, size_t len);

#endif
