/* A test's own peer: a chat_session that dials a running `mim` directly, as any name with any
 * identity, sends what the test gives it, and counts the acks. For the scenarios where the test
 * plays a peer that mim would not be (an impostor, a stranger) or sends what mim itself does
 * not send yet (images, files, content types of later versions). */
#ifndef MIM_TEST_DIRECT_PEER_H
#define MIM_TEST_DIRECT_PEER_H

#include "mim_crypto.h"
#include "mim_proc.h"
#include "peer.pb-c.h"

#include <stddef.h>

/* The identity in p's data dir (p need not run; its key file must exist). Free it with
 * mim_identity_free. */
mim_identity *load_identity(const mp *p);

/* Dials 127.0.0.1:port (the mim named peer_name, whose key is peer_pk) as `name` with identity
 * `me`, sends the n messages in one frame, and waits (bounded) until every chat message among
 * them is acknowledged or the session ends: the number of acks received (0 when the session was
 * refused). Fails the test when the session does not end in time. */
size_t direct_send_msgs(const mim_identity *me, const char *name, int port,
                        const uint8_t peer_pk[MIM_KEY_LEN], const char *peer_name,
                        Mim__PeerMsg *const *msgs, size_t n);
/* The same, and *refused (may be NULL) gets how many chat messages the mim refused to store
 * (Ack.refused: over its quota); the session ends when each one is acked or refused. */
size_t direct_send_counted(const mim_identity *me, const char *name, int port,
                           const uint8_t peer_pk[MIM_KEY_LEN], const char *peer_name,
                           Mim__PeerMsg *const *msgs, size_t n, size_t *refused);
/* One text message: 1 when it was acknowledged (the session was accepted), else 0. */
int direct_send(const mim_identity *me, const char *name, int port,
                const uint8_t peer_pk[MIM_KEY_LEN], const char *peer_name, const char *text);

#endif
