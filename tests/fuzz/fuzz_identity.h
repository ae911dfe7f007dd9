/* The fixed identities of the fuzz targets and seed writers that need a real key (fuzz_letter.c,
 * make_corpus_letter.c): the seeds are sealed to one, so the target can open them. */
#ifndef MIM_FUZZ_IDENTITY_H
#define MIM_FUZZ_IDENTITY_H

#include "../unit/fixed_identity.h"

/* The identity whose Ed25519 seed is 32 times seed_byte (X25519 secret: 32 times seed + 0x10). */
static inline mim_identity *fuzz_fixed_identity(uint8_t seed_byte)
{
    return fixed_identity(seed_byte, (uint8_t)(seed_byte + 0x10));
}

#endif
