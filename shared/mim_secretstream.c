/* The transport after the handshake: one crypto_secretstream_xchacha20poly1305 stream per
 * direction, rekeyed every MIM_STREAM_REKEY_EVERY messages, dead after any failure. */
#include "mim_crypto.h"

#include "mim_crypto_priv.h"
#include "mim_error.h"

#include <string.h>

/* ---- transport: crypto_secretstream_xchacha20poly1305 --------------------------------------- */

/* The header keeps the state as bytes so that it need not include <sodium.h>. It is copied in
 * and out rather than cast, which keeps the access well-defined C; the copy is wiped. */
typedef crypto_secretstream_xchacha20poly1305_state stream_state;

int mim_stream_tx_init(mim_stream_tx *tx, const uint8_t key[MIM_KEY_LEN],
                       uint8_t header[MIM_STREAM_HEADER_LEN])
{
    stream_state st;
    int rc = MIM_OK;

    if (tx == NULL || key == NULL || header == NULL)
        return MIM_EINVAL;
    memset(tx, 0, sizeof *tx);
    if (crypto_secretstream_xchacha20poly1305_init_push(&st, header, key) != 0)
        rc = MIM_ECRYPTO;
    else
        memcpy(tx->state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
    return rc;
}

int mim_stream_tx_seal(mim_stream_tx *tx, const uint8_t *m, size_t mlen, int tag, uint8_t *out)
{
    unsigned char wire_tag;
    stream_state st;
    int rc = MIM_OK;

    if (tx == NULL || out == NULL || (m == NULL && mlen > 0))
        return MIM_EINVAL;
    if (mlen > crypto_secretstream_xchacha20poly1305_MESSAGEBYTES_MAX)
        return MIM_EINVAL;
    if (tag == MIM_STREAM_TAG_MESSAGE) {
        /* A periodic REKEY bounds how much traffic one key protects and erases old keys. */
        if (++tx->count >= MIM_STREAM_REKEY_EVERY) {
            wire_tag = crypto_secretstream_xchacha20poly1305_TAG_REKEY;
            tx->count = 0;
        } else {
            wire_tag = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        }
    } else if (tag == MIM_STREAM_TAG_FINAL) {
        wire_tag = crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    } else {
        return MIM_EINVAL;
    }
    memcpy(&st, tx->state, sizeof st);
    if (crypto_secretstream_xchacha20poly1305_push(&st, out, NULL, m, mlen, NULL, 0, wire_tag) != 0)
        rc = MIM_ECRYPTO;
    else
        memcpy(tx->state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
    return rc;
}

int mim_stream_rx_init(mim_stream_rx *rx, const uint8_t key[MIM_KEY_LEN],
                       const uint8_t header[MIM_STREAM_HEADER_LEN])
{
    stream_state st;
    int rc = MIM_OK;

    if (rx == NULL || key == NULL || header == NULL)
        return MIM_EINVAL;
    memset(rx, 0, sizeof *rx);
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) != 0) {
        rc = MIM_ECRYPTO;
        rx->finished = 1;
    } else {
        memcpy(rx->state, &st, sizeof st);
    }
    sodium_memzero(&st, sizeof st);
    return rc;
}

/* A receive failure ends the stream for good: the peer is faulty or an attacker is on the path,
 * and nothing after a gap may be trusted. */
static int stream_rx_kill(mim_stream_rx *rx)
{
    sodium_memzero(rx->state, sizeof rx->state);
    rx->finished = 1;
    return MIM_ECRYPTO;
}

int mim_stream_rx_open(mim_stream_rx *rx, const uint8_t *c, size_t clen, uint8_t *out, size_t *mlen,
                       int *tag)
{
    unsigned long long plain_len = 0;
    unsigned char wire_tag = 0;
    stream_state st;
    int rc;

    if (rx == NULL || c == NULL || mlen == NULL || tag == NULL)
        return MIM_EINVAL;
    *mlen = 0;
    *tag = MIM_STREAM_TAG_MESSAGE;
    if (rx->finished)
        return MIM_ECRYPTO;
    if (clen < MIM_STREAM_ABYTES)
        return stream_rx_kill(rx); /* truncated */
    if (out == NULL && clen > MIM_STREAM_ABYTES)
        return MIM_EINVAL;
    memcpy(&st, rx->state, sizeof st);
    rc = crypto_secretstream_xchacha20poly1305_pull(&st, out, &plain_len, &wire_tag, c, clen, NULL,
                                                    0);
    if (rc == 0)
        memcpy(rx->state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
    /* mim sends only MESSAGE, REKEY and FINAL; any other authenticated tag (PUSH, or a
     * combination such as REKEY|PUSH) means the peer is not speaking mim. */
    if (rc != 0 || (wire_tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
                    wire_tag != crypto_secretstream_xchacha20poly1305_TAG_REKEY &&
                    wire_tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)) {
        if (out != NULL)
            sodium_memzero(out, clen - MIM_STREAM_ABYTES);
        return stream_rx_kill(rx);
    }
    *mlen = (size_t)plain_len;
    *tag = wire_tag;
    if (wire_tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        sodium_memzero(rx->state, sizeof rx->state);
        rx->finished = 1;
    }
    return MIM_OK;
}

void mim_stream_tx_wipe(mim_stream_tx *tx)
{
    if (tx != NULL)
        sodium_memzero(tx, sizeof *tx);
}

void mim_stream_rx_wipe(mim_stream_rx *rx)
{
    if (rx == NULL)
        return;
    sodium_memzero(rx, sizeof *rx);
    rx->finished = 1;
}
