/* MQTT 3.1.1 for the load client (the mosquitto baseline), spoken by hand: CONNECT (clean
 * session, keepalive 600 s), then SUBSCRIBE to one topic at QoS 0 once CONNACK accepts us.
 * Logged in = SUBACK. A status is a QoS 0 PUBLISH of "s<seq>" on that topic; every subscriber,
 * the publisher included (MQTT 3.1.1 has no "no local"), counts it. */
#include "load_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MQTT_TOPIC "bench"

/* Writes an MQTT remaining-length varint; returns its size (1..4). */
static size_t put_len(uint8_t *out, size_t len)
{
    size_t n = 0;
    do {
        uint8_t b = len % 128;
        len /= 128;
        out[n++] = (uint8_t)(len > 0 ? b | 0x80 : b);
    } while (len > 0 && n < 4);
    return n;
}

static void on_connected(load_tcp *t)
{
    char id[16];
    uint8_t pkt[64], body[48];
    size_t blen = 0, idlen, n;

    load_peer_name(t->peer, id, sizeof(id));
    idlen = strlen(id);
    memcpy(body, "\0\4MQTT\4\2\x02\x58", 10); /* name, level 4, clean session, keepalive 600 */
    blen = 10;
    body[blen++] = 0;
    body[blen++] = (uint8_t)idlen;
    memcpy(body + blen, id, idlen);
    blen += idlen;
    pkt[0] = 0x10;
    n = 1 + put_len(pkt + 1, blen);
    memcpy(pkt + n, body, blen);
    (void)load_tcp_write(t, pkt, n + blen);
}

static void subscribe(load_tcp *t)
{
    static const uint8_t pkt[] = {0x82, 10, 0, 1, 0, 5, 'b', 'e', 'n', 'c', 'h', 0};
    (void)load_tcp_write(t, pkt, sizeof(pkt));
}

static long on_input(load_tcp *t, const uint8_t *in, size_t len)
{
    size_t used = 0;

    while (len - used >= 2 && !t->closing) {
        const uint8_t *p = in + used;
        size_t rem = 0, hdr = 1, mult = 1;
        /* The remaining length: 1 to 4 bytes. */
        for (;;) {
            if (hdr >= len - used)
                return (long)used; /* incomplete */
            rem += (p[hdr] & 0x7fu) * mult;
            mult *= 128;
            if ((p[hdr++] & 0x80) == 0)
                break;
            if (hdr > 4)
                return -1;
        }
        if (len - used < hdr + rem)
            break;
        switch (p[0] >> 4) {
        case 2: /* CONNACK */
            if (rem != 2 || p[hdr + 1] != 0)
                return -1;
            subscribe(t);
            break;
        case 9: /* SUBACK */
            load_logged_in(t->peer);
            break;
        case 3: { /* PUBLISH, QoS 0: topic, then payload */
            size_t tlen;
            char payload[32] = {0};
            unsigned seq;
            if (rem < 2)
                return -1;
            tlen = (size_t)p[hdr] << 8 | p[hdr + 1];
            if (2 + tlen > rem)
                return -1;
            memcpy(payload, p + hdr + 2 + tlen,
                   rem - 2 - tlen < sizeof(payload) - 1 ? rem - 2 - tlen : sizeof(payload) - 1);
            if (sscanf(payload, "s%u", &seq) == 1)
                load_status_seen(t->peer, seq);
            break;
        }
        case 13: /* PINGRESP */
            break;
        default:
            return -1;
        }
        used += hdr + rem;
    }
    return (long)used;
}

static const load_tcp_ops ops = {.on_connected = on_connected, .on_input = on_input};

static int mqtt_start(load_peer *p)
{
    return load_tcp_open(p, &ops);
}

static int mqtt_send_status(load_peer *p, unsigned seq)
{
    uint8_t pkt[64];
    char payload[24];
    size_t plen, n = 0;

    if (p->state == NULL)
        return -1;
    plen = (size_t)snprintf(payload, sizeof(payload), "s%u", seq);
    pkt[n++] = 0x30;
    n += put_len(pkt + n, 2 + strlen(MQTT_TOPIC) + plen);
    pkt[n++] = 0;
    pkt[n++] = (uint8_t)strlen(MQTT_TOPIC);
    memcpy(pkt + n, MQTT_TOPIC, strlen(MQTT_TOPIC));
    n += strlen(MQTT_TOPIC);
    memcpy(pkt + n, payload, plen);
    n += plen;
    return load_tcp_write(p->state, pkt, n);
}

const load_proto load_proto_mqtt = {
    .name = "mqtt",
    .start = mqtt_start,
    .send_status = mqtt_send_status,
    .stop_all = load_tcp_close_all,
};
