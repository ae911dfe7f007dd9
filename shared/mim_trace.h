/* `--trace`: every message after decryption (and before encryption), written as text on
 * stderr, for teaching and for debugging a client of one's own (docs/PROTOCOL.md). Off unless
 * asked for: it shows what the encryption hides, chat text included.
 *
 *   2026-11-22T03:30:00.123Z mim[77] info: trace bob -> alice: PeerBatch{msgs: [PeerMsg{chat:
 *   ChatMessage{id: 3f0c1a...(16 bytes), ts_ms: 1763782200123, sender: "bob", type:
 *   CONTENT_TEXT, text: "hi\nthere"}}]}
 *
 * The rendering is generic (it walks protobuf-c's descriptors), so every message of proto/ is
 * shown the same way: fields left at their default are omitted, strings are quoted with every
 * control character escaped (nothing from the network reaches the terminal raw), bytes are
 * shown in hex (the first 16, then their count), a long message is cut at MIM_TRACE_MAX bytes.
 * Handshake messages are not traced: they carry keys, not messages. */
#ifndef MIM_TRACE_H
#define MIM_TRACE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#define MIM_TRACE_MAX 4096 /* bytes of one rendered message */

void mim_trace_enable(int on);
int mim_trace_enabled(void);
/* Renders m into out (always NUL-terminated; cut with "..." when too long). */
void mim_trace_render(const ProtobufCMessage *m, char *out, size_t len);
/* When tracing is on: one log line "trace FROM -> TO: <m rendered>". */
void mim_trace(const char *from, const char *to, const ProtobufCMessage *m);

#endif
