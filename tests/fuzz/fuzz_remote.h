/* The remote end of a mim channel, played by a fuzz harness (fuzz_remote.c) so that a fuzzer can
 * reach the TRANSPORT states of the real state machines (shared/mim_channel.c,
 * peer/chat_session.c, presence/session.c) instead of stopping at the Noise handshake.
 *
 * The unit under test runs on a real libuv loop over a real loopback TCP connection; the other
 * end is a plain non-blocking socket driven by this harness, which runs an honest Noise XX
 * handshake and secretstream with its own identity (the crypto door's mim_noise_* and
 * mim_stream_*: no test seam in production code). The fuzzer's input is a script: which side
 * dials, which handshake message (if any) to corrupt, then operations -- seal a chosen
 * plaintext (MESSAGE or FINAL), send raw bytes, corrupt, replay, split a frame across writes,
 * half-close -- so every frame order, split and corruption after the handshake is reachable.
 *
 * Invariants checked for every target (FUZZ_CHECK aborts): every frame the unit sends after the
 * handshake decrypts under the stream the handshake gave (no frame after its FINAL); the unit
 * closes exactly once, and within a bounded time after the harness hangs up. */
#ifndef MIM_FUZZ_REMOTE_H
#define MIM_FUZZ_REMOTE_H

#include "mim_crypto.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* What a target plugs into the harness. */
typedef struct fz_unit {
    const char *prologue;    /* MIM_NOISE_PROLOGUE_PEER or _PRESENCE */
    const char *remote_name; /* the name the harness claims in its payload ("" for a server) */
    int can_dial;            /* 1: the unit may also be the initiator */
    /* Once, with the shared loop and the identities (the unit's, the harness's). */
    void (*setup)(uv_loop_t *loop, const mim_identity *unit_id, const mim_identity *remote_id);
    /* The port on 127.0.0.1 where the unit accepts connections. */
    int (*listen_port)(void);
    /* Per input: reset the unit's counters; flags are the input's first byte. */
    void (*begin)(uint8_t flags);
    /* The unit dials addr (only when can_dial). 0 or an error (the input is then skipped). */
    int (*dial)(const struct sockaddr *addr, uint8_t flags);
    /* A decrypted plaintext the unit sent: check it is well formed for its protocol. */
    void (*check_plaintext)(const uint8_t *p, size_t len, int final);
    /* An operation only this target knows (op 9): e.g. a valid signed Login. Returns the
     * plaintext to seal in buf (cap bytes), or 0 for none. */
    size_t (*special)(uint8_t arg, const uint8_t hh[MIM_HASH_LEN], uint8_t *buf, size_t cap);
    /* 1 once the unit has closed this input's connection (its on_closed ran). */
    int (*closed)(void);
    /* How many times the unit's on_closed ran for this input (must end at exactly 1). */
    int (*closed_count)(void);
} fz_unit;

/* Runs one input against the unit; the whole fuzz target's LLVMFuzzerTestOneInput. */
int fz_remote_run(const fz_unit *u, const uint8_t *data, size_t size);

#endif
