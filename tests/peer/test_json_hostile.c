/* End-to-end tests of `mim --json` peers on a hostile network: what a listener on the path
 * sees, what a spoiled frame or a flood of silent connections does. The real mim-presence
 * (peer_env.c) and real mim processes driven through pipes (mim_proc.h), with the test's own
 * pieces where a scenario needs them: tcpdump (pcap_capture.h), a frame-spoiling proxy
 * (tamper_proxy.h), raw sockets. Each scenario is its own ctest entry (peer/json_<name>):
 *
 *   capture            the message texts never appear in a capture of the traffic (tcpdump on
 *                      lo: root; tools/install-deps)
 *   tampered_message   one bit of alice's first transport frame to bob (her message) is flipped
 *                      on the way: bob closes the session; alice's message goes back to her
 *                      outbox and is delivered, once, on the next session
 *   truncated_message  that frame is cut in half and the connection closed: the same
 *   tampered_ack       one bit of bob's ack is flipped: alice closes the session and sends the
 *                      message again; bob drops the copy by id and acks it, so alice gets
 *                      delivered and bob shows the message once
 *   receipt_cut        bob's read receipt frame is cut and the connection closed (what a
 *                      crossed dial's losing session does): it goes again on the next session,
 *                      and alice gets `read` once
 *   listener_caps      a ninth unauthenticated connection from one address is refused at once;
 *                      the others are left to their handshake deadline, and the peer goes on
 *   listener_flood     8 addresses hold every unauthenticated place: a real peer's call still
 *                      gets in at once, taking the place of one flood connection */
#include "mim_proc.h"
#include "pcap_capture.h"
#include "tamper_proxy.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* 2 * nbytes random hex digits. */
static void random_hex(char *out, size_t nbytes)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[64];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    assert_true(nbytes <= sizeof(b));
    assert_true(fd >= 0);
    assert_int_equal(read(fd, b, nbytes), (ssize_t)nbytes);
    close(fd);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

/* The message texts never appear in a capture of the traffic: of the direct session, and of the
 * presence connections. */
static void test_capture(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    char m1[49], m2[49], path[PE_PATH_MAX + 16], filter[256];
    int ports[2];
    capture cap;
    unsigned char *data = NULL;
    size_t size = 0;
    pcap_stats st;

    random_hex(m1, 12);
    random_hex(m2, 12);
    assert_int_equal(strlen(m1), 24);
    ports[0] = ready_port(start_peer(f, a));
    ports[1] = ready_port(start_peer(f, b));
    see_each_other(a, b);

    snprintf(path, sizeof(path), "%.400s/cap.pcap", f->tmp);
    snprintf(filter, sizeof(filter), "tcp and (port %d or port %d or port %d)", ports[0], ports[1],
             f->srv.port);
    cap_start(&cap, path, filter);
    /* No session is open yet: the whole handshake is in the capture. */
    exchange(a, b, m1, "m1", NULL);
    exchange(b, a, m2, "m2", NULL);
    /* Statuses go through the presence server, on the captured port too. */
    mp_cmd(a, "{\"cmd\":\"status\",\"state\":\"busy\",\"text\":\"%s\"}", m1);
    mp_expect(b, 0, "status", "text", m1);
    cap_stop(&cap);
    cap_cleanup(&cap);

    cap_read_file(path, &data, &size, ports, 2, &st);
    fprintf(stderr,
            "capture: %zu packets, %zu bytes of packet data, %zu packets and %zu payload "
            "bytes on the chat ports; tcpdump said: %s\n",
            st.packets, st.caplen, st.chat_packets, st.chat_payload, cap.err);
    assert_true(st.caplen > 24);
    /* The direct session was captured: its handshake and two messages and acks, each over the
     * marker's length. */
    assert_true(st.chat_packets >= 4);
    assert_true(st.chat_payload > 4 * 24);
    if (cap_contains(data, size, m1) || cap_contains(data, size, m2))
        fail_msg("a message text is in the clear in the capture %s", path);
    free(data);
    mp_quit(a);
    mp_quit(b);
}

/* The frame numbers of one direction of a peer session (docs/PROTOCOL.md 4 and 5.1): the
 * dialler sends message 1, message 3, its stream header, then transport frames; the answerer
 * message 2, its header, then transport frames. */
enum { DIALLER_FIRST_TRANSPORT = 3, ANSWERER_FIRST_TRANSPORT = 2 };

/* alice writes to bob through a proxy that spoils one frame of the first session; the message
 * must arrive exactly once, and the side that got the spoiled frame must say why it closed. */
static void spoiled_session(void **state, enum tp_dir dir, unsigned frame, enum tp_action action,
                            int victim_is_bob, const char *reason)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    tamper_proxy tp;
    char port[16];
    json_t *on;
    size_t a0, b0;

    assert_int_equal(tamper_proxy_start(&tp, 0, dir, frame, action, 1), 0);
    snprintf(port, sizeof(port), "%d", tp.port);
    b->extra[0] = "--advertise-port";
    b->extra[1] = port;
    start_peer(f, a);
    atomic_store(&tp.target_port, ready_port(start_peer(f, b)));
    see_each_other(a, b);
    /* alice is told to dial the proxy. */
    on = mp_expect(a, 0, "online", "name", "bob");
    assert_int_equal(json_integer_value(json_object_get(on, "port")), tp.port);

    a0 = a->nev;
    b0 = b->nev;
    mp_cmd(a, "{\"cmd\":\"send\",\"to\":\"bob\",\"text\":\"through the middle\",\"tag\":\"t1\"}");
    /* The first session dies; the outbox redials (every MIM_CORE_TICK_MS) through a proxy that
     * lets the second one be. */
    mp_expect(a, a0, "delivered", "tag", "t1");
    round_trip(b, "w");
    round_trip(a, "w");
    mp_expect_log(victim_is_bob ? b : a, reason);
    if (mp_count_from(b, b0, "message", "text", "through the middle") != 1 ||
        mp_count_from(a, a0, "delivered", "tag", "t1") != 1) {
        mp_dump(a);
        mp_dump(b);
        fail_msg("the message was not delivered exactly once");
    }
    assert_int_equal(atomic_load(&tp.spoiled), 1);
    assert_true(atomic_load(&tp.connections) >= 2);
    /* The session that replaced it works both ways. */
    exchange(b, a, "and back", "r1", NULL);
    mp_quit(a);
    mp_quit(b);
    tamper_proxy_stop(&tp);
}

/* One bit of alice's message frame flipped on the way to bob. */
static void test_tampered_message(void **state)
{
    spoiled_session(state, TP_TO_TARGET, DIALLER_FIRST_TRANSPORT, TP_FLIP, 1, "decryption failed");
}

/* alice's message frame cut in half, the connection closed. */
static void test_truncated_message(void **state)
{
    spoiled_session(state, TP_TO_TARGET, DIALLER_FIRST_TRANSPORT, TP_TRUNCATE, 1,
                    "connection ended inside a frame");
}

/* One bit of bob's ack frame flipped on the way to alice. */
static void test_tampered_ack(void **state)
{
    spoiled_session(state, TP_FROM_TARGET, ANSWERER_FIRST_TRANSPORT, TP_FLIP, 0,
                    "decryption failed");
}

/* Bob's read receipt rides a session that ends before alice reads it: his second transport
 * frame (after the ack) is cut in half and the connection closed, as a crossed dial's losing
 * session loses what it carried. Bob keeps the receipt until alice's Pong, so his next session
 * carries it again: alice gets `read`, once. */
static void test_receipt_cut(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    tamper_proxy tp;
    char port[16], id[33];
    size_t a0;

    assert_int_equal(
        tamper_proxy_start(&tp, 0, TP_FROM_TARGET, ANSWERER_FIRST_TRANSPORT + 1, TP_TRUNCATE, 1),
        0);
    snprintf(port, sizeof(port), "%d", tp.port);
    b->extra[0] = "--advertise-port";
    b->extra[1] = port;
    start_peer(f, a);
    atomic_store(&tp.target_port, ready_port(start_peer(f, b)));
    see_each_other(a, b);
    exchange(a, b, "read me", "s1", id); /* alice dials bob through the proxy; his ack passes */
    a0 = a->nev;
    mp_cmd(b, "{\"cmd\":\"read\",\"with\":\"alice\",\"tag\":\"r1\"}");
    mp_expect(b, 0, "ok", "tag", "r1");
    mp_expect_log(a, "connection ended inside a frame"); /* the receipt's frame, cut */
    mp_expect(a, a0, "read", "id", id);
    round_trip(b, "w");
    round_trip(a, "w");
    assert_int_equal(mp_count_from(a, a0, "read", "id", id), 1);
    assert_int_equal(atomic_load(&tp.spoiled), 1);
    mp_quit(a);
    mp_quit(b);
    tamper_proxy_stop(&tp);
}

/* A raw TCP connection to 127.0.0.1:port that sends nothing (a handshake never started). */
/* A TCP connection to 127.0.0.1:port from the loopback address 127.0.0.src (1: the default). */
static int raw_connect_from(int src, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + (uint32_t)src);
    if (src != 1 && bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        fail_msg("bind 127.0.0.%d: %s", src, strerror(errno));
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

static int raw_connect(int port)
{
    return raw_connect_from(1, port);
}

/* 1 when the peer closed fd (EOF or reset) within timeout_ms, 0 when it is still open. */
static int closed_within(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char b;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    return recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

/* The listener caps unauthenticated connections per address (8): a ninth from the same address
 * is closed at once, the others are left to their handshake deadline, and the peer goes on. */
static void test_listener_caps(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0];
    int port, fds[9];

    port = ready_port(start_peer(f, a));
    for (int i = 0; i < 8; i++)
        fds[i] = raw_connect(port);
    fds[8] = raw_connect(port);
    if (!closed_within(fds[8], 3000))
        fail_msg("a ninth unauthenticated connection from one address was not refused");
    if (closed_within(fds[0], 200))
        fail_msg("the first connection was closed before its handshake deadline");
    for (int i = 0; i < 9; i++)
        close(fds[i]);
    assert_true(round_trip(a, "after-flood") > 0);
}

/* Issue 12, finding 3, on the peer: 8 addresses (127.0.0.2..9) hold all 64 of alice's places for
 * unauthenticated sessions with idle connections. bob's call (from 127.0.0.1) still gets in at
 * once: it takes the place of the oldest idle connection of an address holding the most. Before,
 * it was refused until the flood's handshakes timed out (5 s), so the message could only arrive
 * after most of the flood had been closed; now exactly one flood connection is closed by then. */
static void test_listener_flood(void **state)
{
    fixture *f = *state;
    mp *a = &f->peers[0], *b = &f->peers[1];
    int port, fds[64], closed = 0;
    size_t b0;

    port = ready_port(start_peer(f, a));
    start_peer(f, b);
    see_each_other(a, b);
    for (int i = 0; i < 64; i++)
        fds[i] = raw_connect_from(2 + i / 8, port);
    /* Every flood connection is alice's before bob calls: none was refused, and her loop turned. */
    round_trip(a, "flooded");
    round_trip(a, "flooded-2");
    for (int i = 0; i < 64; i++)
        if (closed_within(fds[i], 0))
            fail_msg("flood connection %d (127.0.0.%d) was refused", i, 2 + i / 8);
    b0 = round_trip(b, "before");
    mp_cmd(b, "{\"cmd\":\"send\",\"to\":\"%s\",\"text\":\"through the flood\",\"tag\":\"f1\"}",
           a->name);
    mp_expect(b, b0, "delivered", "tag", "f1");
    for (int i = 0; i < 64; i++)
        closed += closed_within(fds[i], 0);
    if (closed != 1)
        fail_msg("%d flood connections were closed when the message arrived, want 1 (evicted)",
                 closed);
    mp_expect_log(a, "evicted");
    for (int i = 0; i < 64; i++)
        close(fds[i]);
}

/* CMake reads the scenario names from this table (PE_SCENARIO in peer_env.h). */
static const pe_test tests[] = {
    PE_SCENARIO(capture),      PE_SCENARIO(tampered_message), PE_SCENARIO(truncated_message),
    PE_SCENARIO(tampered_ack), PE_SCENARIO(listener_caps),    PE_SCENARIO(listener_flood),
    PE_SCENARIO(receipt_cut),
};

int main(int argc, char **argv)
{
    return mp_run_named(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "json-hostile");
}
