/* LAN discovery datagrams (see mim_discovery.h for the layout). */
#include "mim_discovery.h"
#include "mim_error.h"

#include <string.h>

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

void mim_discovery_probe_encode(uint8_t out[MIM_DISCOVERY_LEN],
                                const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN])
{
    memset(out, 0, MIM_DISCOVERY_LEN);
    memcpy(out, "MIM?", 4);
    out[4] = MIM_DISCOVERY_VERSION;
    memcpy(out + 8, nonce, MIM_DISCOVERY_NONCE_LEN);
}

int mim_discovery_probe_decode(const uint8_t *p, size_t len, uint8_t nonce[MIM_DISCOVERY_NONCE_LEN])
{
    if (len != MIM_DISCOVERY_LEN || memcmp(p, "MIM?", 4) != 0 || p[4] != MIM_DISCOVERY_VERSION ||
        !all_zero(p + 5, 3) || !all_zero(p + 24, 32))
        return MIM_EINVAL;
    memcpy(nonce, p + 8, MIM_DISCOVERY_NONCE_LEN);
    return 0;
}

void mim_discovery_answer_encode(uint8_t out[MIM_DISCOVERY_LEN],
                                 const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], uint16_t port,
                                 const uint8_t identity_pk[32])
{
    memset(out, 0, MIM_DISCOVERY_LEN);
    memcpy(out, "MIM!", 4);
    out[4] = MIM_DISCOVERY_VERSION;
    out[6] = (uint8_t)(port >> 8);
    out[7] = (uint8_t)port;
    memcpy(out + 8, nonce, MIM_DISCOVERY_NONCE_LEN);
    memcpy(out + 24, identity_pk, 32);
}

int mim_discovery_answer_decode(const uint8_t *p, size_t len,
                                const uint8_t nonce[MIM_DISCOVERY_NONCE_LEN], uint16_t *port,
                                uint8_t identity_pk[32])
{
    uint16_t got;
    if (len != MIM_DISCOVERY_LEN || memcmp(p, "MIM!", 4) != 0 || p[4] != MIM_DISCOVERY_VERSION ||
        p[5] != 0 || memcmp(p + 8, nonce, MIM_DISCOVERY_NONCE_LEN) != 0)
        return MIM_EINVAL;
    got = (uint16_t)(p[6] << 8 | p[7]);
    if (got == 0)
        return MIM_EINVAL;
    *port = got;
    memcpy(identity_pk, p + 24, 32);
    return 0;
}

int mim_discovery_prefer(const uint8_t *pin, const uint8_t pk[32], int have_fallback)
{
    if (pin == NULL || memcmp(pin, pk, 32) == 0) /* public keys: no secret to time */
        return MIM_DISCOVERY_TAKE;
    return have_fallback ? MIM_DISCOVERY_IGNORE : MIM_DISCOVERY_FALLBACK;
}
