/* The integration tests' own client of mim-presence (tc_*), not the peer's event-driven
 * peer/presence_client.*: the peer side of the protocol over one blocking TCP socket, with every
 * wait bounded by poll() (never sleep-and-hope).
 *
 * It speaks the real protocol (Noise XX, secretstream, PresenceBatch) through the same shared/
 * code the peer uses, and exposes each step separately so that hostile tests can stop half way,
 * corrupt a message or send arbitrary bytes instead.
 *
 * Return values: TC_OK (0), a negative TC_E* code, or -- from the calls that wait for the
 * server's verdict (tc_login, tc_read_table, tc_expect_closed) -- a positive Mim__ErrorCode
 * when the server sent an Error. After a failure tc_error() says what happened, in words fit
 * for an assertion message. */
#ifndef MIM_TEST_TEST_CLIENT_H
#define MIM_TEST_TEST_CLIENT_H

#include "mim_codec.h"
#include "mim_crypto.h"
#include "presence.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define TC_TIMEOUT_MS 5000 /* bound for anything the server should do promptly */
#define TC_TABLE_MAX  64   /* peers a test client keeps from the table */

enum {
    TC_OK = 0,
    TC_ETIMEOUT = -1,    /* nothing arrived within the bound */
    TC_ECLOSED = -2,     /* the server closed the connection (EOF or reset) */
    TC_ECRYPTO = -3,     /* a handshake or transport check failed on our side */
    TC_EPROTO = -4,      /* the server sent something malformed or out of place */
    TC_EIO = -5,         /* a local socket error */
    TC_EUNEXPECTED = -6, /* a well-formed message, but not the one expected */
    TC_ESTATE = -7,      /* the call does not fit the client's state (a test bug) */
};

/* One entry of the online table as this client received it. */
typedef struct tc_peer {
    char name[MIM_NAME_MAX_BYTES + 1];
    uint8_t addr[16];
    size_t addr_len; /* 4 or 16 */
    uint16_t port;
    uint8_t identity_pk[MIM_KEY_LEN];
    int status; /* Mim__Status */
    char status_text[MIM_STATUS_TEXT_MAX + 1];
} tc_peer;

typedef struct tc_client {
    int fd;           /* -1 when not connected */
    mim_identity *id; /* our identity: owned, or borrowed from the test */
    int owns_id;
    mim_noise hs; /* the handshake, wiped once split */
    int hs_active;
    uint8_t hh[MIM_HASH_LEN]; /* handshake hash, signed by Login */
    mim_stream_tx tx;
    mim_stream_rx rx;
    int tx_ready, rx_ready;
    uint8_t tx_header[MIM_STREAM_HEADER_LEN]; /* our stream header, sent after message 3 */
    uint8_t rx_key[MIM_KEY_LEN];    /* between Split() and the server's stream header only */
    int got_final;                  /* the server's TAG_FINAL frame arrived: only EOF may follow */
    uint8_t server_pk[MIM_KEY_LEN]; /* identity proven in message 2 */
    char server_fingerprint[MIM_FINGERPRINT_LEN];
    uint32_t server_features;    /* its HandshakePayload.features (MIM_FEATURE_*) */
    tc_peer table[TC_TABLE_MAX]; /* from the TableChunk(s) of the last login */
    size_t ntable;
    Mim__PresenceBatch *batch; /* the batch being handed out by tc_recv */
    size_t batch_next;         /* index of the next message in it */
    int error_code;            /* code of the last Error received (Mim__ErrorCode), 0 if none */
    char error_text[MIM_ERROR_TEXT_MAX + 1];
    uint64_t next_nonce; /* for tc_sync */
    unsigned pings_answered;
    size_t discarded; /* raw bytes tc_expect_closed threw away without decrypting */
    int rcvbuf;       /* > 0: SO_RCVBUF set before connecting (a small window for a slow reader) */
    int mss;          /* > 0: TCP_MAXSEG set before connecting: the MSS we announce, which sizes
                       * the server's send buffer for this connection (small: fills sooner) */
    const char *src;  /* non-NULL: the numeric local address to connect from (127.0.0.2, ...) */
    char err[320];    /* what went wrong last */
} tc_client;

/* A new, unconnected client. id == NULL: it makes and owns a fresh identity; else it borrows id
 * (which must outlive it), so several connections can show the same key. NULL on OOM. */
tc_client *tc_new(mim_identity *id);
/* Closes the socket, wipes every key and frees (NULL is fine). A borrowed id is left alone. */
void tc_free(tc_client *c);
const char *tc_error(const tc_client *c);
const char *tc_strerror(int rc);

/* Connects to 127.0.0.1:port within TC_TIMEOUT_MS. */
int tc_connect(tc_client *c, int port);
/* Connects to host:port within TC_TIMEOUT_MS; host is a numeric IPv4 or IPv6 address. */
int tc_connect_addr(tc_client *c, const char *host, int port);
/* Closes our side without a Logout: reset = 0 sends a FIN, 1 a RST (SO_LINGER 0). */
void tc_disconnect(tc_client *c, int reset);
/* shutdown(SHUT_WR): EOF to the server while we can still read. */
int tc_shutdown_write(tc_client *c);

/* ---- the handshake, step by step ---- */
/* Starts Noise as initiator and writes message 1 (32 bytes) into out. Sends nothing. */
int tc_hs_msg1(tc_client *c, uint8_t out[MIM_KEY_LEN]);
/* Reads message 2, checks the server's payload and static-key signature, records its key. */
int tc_hs_read_msg2(tc_client *c, int timeout_ms);
/* Writes message 3 carrying `name` into out (cap bytes) and splits: the send stream is keyed and
 * its header is in c->tx_header. Sends nothing. */
int tc_hs_msg3(tc_client *c, const char *name, uint8_t *out, size_t cap, size_t *out_len);
/* Reads the server's stream header and keys the receive stream. */
int tc_hs_read_header(tc_client *c, int timeout_ms);
/* The whole handshake: msg1, msg2, msg3, our header, the server's header. */
int tc_handshake(tc_client *c, const char *name);

/* ---- sending ---- */
/* Sends bytes exactly as given. */
int tc_send_raw(tc_client *c, const void *p, size_t len);
/* Sends a frame: 2-byte big-endian length, then body (len 0..65535, unchecked on purpose). */
int tc_send_frame(tc_client *c, const void *body, size_t len);
/* Sends one byte per send() with gap_us between them, so the server is likely to see many
 * short reads (correctness never depends on the gap). */
int tc_send_dribble(tc_client *c, const void *p, size_t len, unsigned gap_us);
/* Builds a PresenceBatch of n messages and seals it with tag into out (a frame body). */
int tc_seal(tc_client *c, const Mim__PresenceMsg *const *msgs, size_t n, int tag, uint8_t *out,
            size_t cap, size_t *out_len);
/* Seals one message and sends it as a frame. */
int tc_send_msg(tc_client *c, const Mim__PresenceMsg *m, int tag);

enum {
    TC_LOGIN_BAD_SIG = 1,      /* flip a bit of login_sig */
    TC_LOGIN_FINAL = 2,        /* seal the Login with TAG_FINAL: log in and say goodbye at once */
    TC_LOGIN_MAILBOX = 4,      /* Login.features: MIM_LOGIN_FEATURE_MAILBOX (issue 14's arms) */
    TC_LOGIN_BROADCASTERS = 8, /* issue 16: MIM_LOGIN_FEATURE_BROADCASTERS (arm 19) */
};
/* The sealed Login frame body (not sent). flags: TC_LOGIN_*. */
int tc_build_login(tc_client *c, const char *name, uint16_t port, int flags, uint8_t *out,
                   size_t cap, size_t *out_len);
/* Sends Login and reads the table (tc_read_table). */
int tc_login_ex(tc_client *c, const char *name, uint16_t port, int flags);
int tc_login(tc_client *c, const char *name, uint16_t port);
/* Reads TableChunks into c->table until the last one: 0, or the Error code the server sent
 * instead, or TC_E*. Pings met on the way are answered. */
int tc_read_table(tc_client *c, int timeout_ms);

int tc_send_ping(tc_client *c, uint64_t nonce);
/* Answers a Ping (counted in c->pings_answered). */
int tc_send_pong(tc_client *c, uint64_t nonce);
int tc_send_status(tc_client *c, int status, const char *text);
/* Logout in a frame sealed with TAG_FINAL: a clean goodbye. */
int tc_logout(tc_client *c);

/* ---- receiving ---- */
/* The next message from the server, waiting at most timeout_ms. *out stays valid until the
 * next tc_recv/tc_expect/tc_free on c. An Error is returned like any message (and recorded in
 * c->error_code). TC_ECLOSED at EOF. */
int tc_recv(tc_client *c, int timeout_ms, const Mim__PresenceMsg **out);
/* The next message that is not a Ping (each Ping is answered with a Pong) must be of type
 * `body_case`; otherwise TC_EUNEXPECTED with a description of what came instead. out may be
 * NULL. */
int tc_expect(tc_client *c, Mim__PresenceMsg__BodyCase body_case, int timeout_ms,
              const Mim__PresenceMsg **out);
/* A barrier: sends Ping(fresh nonce) and requires the very next non-Ping message to be the Pong
 * with that nonce. Since the server answers in order, anything it meant to send us before it
 * read the Ping has arrived by then (and would have made this fail). */
int tc_sync(tc_client *c, int timeout_ms);
/* Reads until the server closes the connection, skipping (not answering) whatever arrives:
 * the Error code if an Error came first, 0 if it closed without one, TC_ETIMEOUT if it is
 * still open after timeout_ms. Works at any stage, encrypted or not. Once the server's end is
 * seen, our socket is closed too, as a real client would (the server lingers until then). */
int tc_expect_closed(tc_client *c, int timeout_ms);

/* Copies a PeerInfo into a tc_peer. */
void tc_peer_from_info(tc_peer *p, const Mim__PeerInfo *pi);
/* The table entry called name, or NULL; tc_table_count counts them (a name must appear once). */
const tc_peer *tc_table_find(const tc_client *c, const char *name);
size_t tc_table_count(const tc_client *c, const char *name);

/* "add(alice)", "error(NAME_TAKEN: ...)": for assertion messages. */
void tc_describe(const Mim__PresenceMsg *m, char *out, size_t len);
const char *tc_body_name(Mim__PresenceMsg__BodyCase body_case);
uint64_t tc_now_ms(void);

#endif
