/* What the crypto door's files share and nobody else sees: <sodium.h> itself and the
 * domain-separation labels used by more than one of them. Only the crypto files include this
 * header (mim_crypto.c, mim_keyfile.c, mim_fingerprint.c, mim_noise.c, mim_secretstream.c,
 * mim_hash.c, mim_seal.c, mim_seal_v2.c). */
#ifndef MIM_CRYPTO_PRIV_H
#define MIM_CRYPTO_PRIV_H

#include <sodium.h>

#include "mim_crypto.h"

/* Domain-separation labels: a signature made for one purpose can never pass for another. */
#define STATIC_SIG_LABEL "mim-static-v1" /* the identity vouches for its static key */
#define LABEL_LEN(l)     (sizeof(l) - 1)

#endif
