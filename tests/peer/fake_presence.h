/* A fake presence server for the presence client's tests: a real Noise responder (mim_channel,
 * its own fresh identity) on 127.0.0.1 that, once the client's Login arrives, sends one batch
 * the test wrote as it likes -- what the real mim-presence never sends (a table entry with an
 * address no peer can have), to show what the client does with it. One connection at a time. */
#ifndef MIM_TEST_FAKE_PRESENCE_H
#define MIM_TEST_FAKE_PRESENCE_H

#include "mim_channel.h"
#include "mim_crypto.h"
#include "presence.pb-c.h"

#include <stddef.h>
#include <uv.h>

typedef struct fake_presence {
    uv_tcp_t lis;
    mim_identity *id;
    int port;                      /* where it listens, on 127.0.0.1 */
    mim_channel *ch;               /* the current connection, or NULL */
    const Mim__PresenceMsg **msgs; /* the batch sent after the Login (the test's, borrowed) */
    size_t nmsgs;
    int logins; /* batches received that were answered */
    int closed; /* connections ended */
} fake_presence;

/* Listens on 127.0.0.1 (a port the kernel chose) with a new identity; after each connection's
 * first batch (the Login) it sends msgs[0..n) as one batch. 0 or -1. */
int fake_presence_start(fake_presence *s, uv_loop_t *loop, const Mim__PresenceMsg **msgs, size_t n);
/* Closes the listener (a connection still open is aborted) and frees the identity; run the loop
 * a little afterwards for the close callbacks. */
void fake_presence_stop(fake_presence *s);

#endif
