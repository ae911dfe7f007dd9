/* Fuzz targets for the state machines behind a connection, each driven through the harness of
 * fuzz_remote.h (a real loopback connection whose other end runs an honest handshake and then
 * plays the fuzzer's script of frames):
 *   FUZZ_UNIT_CHANNEL   shared/mim_channel.c: responder or initiator; the owner echoes, closes,
 *                       aborts, lowers its limits or drops the proof from inside on_plaintext,
 *                       as the plaintext's first byte says;
 *   FUZZ_UNIT_CHAT      peer/chat_session.c: responder or initiator (dialling with the right or
 *                       a wrong expected key); acks every batch as the core does;
 *   FUZZ_UNIT_PRESENCE  presence/session.c inside a real presence server (store in a temporary
 *                       directory); op 9 sends a validly signed Login, so the fuzzer reaches
 *                       the logged-in states.
 * Each checks its own invariants (below) on top of the harness's. */
#include "fuzz.h"
#include "fuzz_remote.h"

#include "mim_channel.h"
#include "mim_codec.h"

#include <string.h>

#define REMOTE_NAME "fuzzpeer"
#define UNIT_NAME   "fuzzunit"

static uv_loop_t *loop;
static const mim_identity *unit_id, *remote_id;
static int closed_n;
static uint8_t flags;

static void begin(uint8_t f)
{
    flags = f;
    closed_n = 0;
}

#if defined(FUZZ_UNIT_CHANNEL) || defined(FUZZ_UNIT_CHAT)
static uv_tcp_t listener;

static int closed(void)
{
    return closed_n > 0;
}

static int closed_count(void)
{
    return closed_n;
}

static void listen_loopback(uv_connection_cb cb)
{
    struct sockaddr_in a;

    FUZZ_CHECK(uv_ip4_addr("127.0.0.1", 0, &a) == 0);
    FUZZ_CHECK(uv_tcp_init(loop, &listener) == 0);
    FUZZ_CHECK(uv_tcp_bind(&listener, (const struct sockaddr *)&a, 0) == 0);
    FUZZ_CHECK(uv_listen((uv_stream_t *)&listener, 64, cb) == 0);
}

static void on_connection(uv_stream_t *l, int status); /* the unit's accept */

static void setup(uv_loop_t *l, const mim_identity *u, const mim_identity *r)
{
    loop = l, unit_id = u, remote_id = r;
    listen_loopback(on_connection);
}

/* A peer-to-peer unit: it accepts on our loopback listener and can dial. */
#define PEER_UNIT(begin_fn, check_fn, special_fn)                                                  \
    {                                                                                              \
        .prologue = MIM_NOISE_PROLOGUE_PEER, .remote_name = REMOTE_NAME, .can_dial = 1,            \
        .setup = setup, .listen_port = listen_port, .begin = begin_fn, .dial = dial,               \
        .check_plaintext = check_fn, .special = special_fn, .closed = closed,                      \
        .closed_count = closed_count,                                                              \
    }

static int listen_port(void)
{
    struct sockaddr_in a;
    int alen = sizeof(a);

    FUZZ_CHECK(uv_tcp_getsockname(&listener, (struct sockaddr *)&a, &alen) == 0);
    return ntohs(a.sin_port);
}
#endif

/* ---- the channel ----------------------------------------------------------------------------- */
#ifdef FUZZ_UNIT_CHANNEL

static int ch_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                               const char *name, const char **reason)
{
    (void)ch;
    /* Only the key and name the harness proved can get here. */
    FUZZ_CHECK(memcmp(identity_pk, remote_id->sign_pk, MIM_KEY_LEN) == 0);
    FUZZ_CHECK(strcmp(name, REMOTE_NAME) == 0);
    *reason = "refused by the fuzz script";
    return flags & 0x20 ? -1 : 0;
}

/* The owner's reactions, chosen by the plaintext's first byte, all from inside the callback. */
static void ch_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    if (len == 0)
        return;
    switch (p[0]) {
    case 'E':
        (void)mim_channel_send(ch, p, len, final);
        break;
    case 'F':
        (void)mim_channel_send(ch, p, len, 1);
        break;
    case 'C':
        mim_channel_close(ch, "closed by the owner");
        break;
    case 'A':
        mim_channel_abort(ch, "aborted by the owner");
        break;
    case 'L':
        mim_channel_set_limits(ch, len, len);
        break;
    case 'D':
        mim_channel_drop_proof(ch);
        FUZZ_CHECK(mim_channel_remote_identity(ch) == NULL);
        break;
    }
}

static void ch_on_closed(mim_channel *ch, const char *reason)
{
    (void)ch, (void)reason;
    closed_n++;
}

static const mim_channel_events ch_events = {.on_authenticated = ch_on_authenticated,
                                             .on_plaintext = ch_on_plaintext,
                                             .on_closed = ch_on_closed};

static mim_channel_config ch_config(void)
{
    mim_channel_config cfg = {.loop = loop,
                              .identity = unit_id,
                              .prologue = MIM_NOISE_PROLOGUE_PEER,
                              .my_name = UNIT_NAME,
                              .remote_name_mode = MIM_HS_NAME_VALID,
                              .events = &ch_events};
    return cfg;
}

static void on_connection(uv_stream_t *l, int status)
{
    mim_channel_config cfg = ch_config();
    mim_channel *ch;

    FUZZ_CHECK(status == 0);
    if (mim_channel_accept(&cfg, l, &ch) != 0)
        closed_n++; /* nothing will run for it: as good as closed */
}

static int dial(const struct sockaddr *addr, uint8_t f)
{
    mim_channel_config cfg = ch_config();
    mim_channel *ch;

    (void)f;
    return mim_channel_dial(&cfg, addr, &ch);
}

static const fz_unit unit = PEER_UNIT(begin, NULL, NULL);
#endif

/* ---- the chat session ------------------------------------------------------------------------ */
#ifdef FUZZ_UNIT_CHAT
#include "chat_session.h"
#include "peer.pb-c.h"

static int dial_wrong_key; /* this input's dial expects another key: nothing may authenticate */
static uint8_t acks[64][MIM_MSG_ID_LEN];
static size_t nacks;

static int cs_on_authenticated(void *ud, chat_session *cs, const char *name,
                               const uint8_t identity_pk[MIM_KEY_LEN], const char **reason)
{
    (void)ud, (void)cs;
    FUZZ_CHECK(!dial_wrong_key); /* the initiator checks the key it dialled first */
    FUZZ_CHECK(memcmp(identity_pk, remote_id->sign_pk, MIM_KEY_LEN) == 0);
    FUZZ_CHECK(strcmp(name, REMOTE_NAME) == 0);
    *reason = "refused by the fuzz script";
    return flags & 0x20 ? -1 : 0;
}

static void cs_on_open(void *ud, chat_session *cs)
{
    (void)ud;
    if (flags & 0x10) /* the unit speaks first, too */
        (void)chat_session_send_chat(cs, remote_id->sign_pk, 1, "hello", 5);
}

static void cs_on_message(void *ud, chat_session *cs, const Mim__ChatMessage *m)
{
    (void)ud, (void)cs;
    FUZZ_CHECK(strcmp(m->sender, REMOTE_NAME) == 0); /* only the authenticated name */
    FUZZ_CHECK(m->id.len == MIM_MSG_ID_LEN);
    if (nacks < 64)
        memcpy(acks[nacks++], m->id.data, MIM_MSG_ID_LEN);
}

static void cs_on_ack(void *ud, chat_session *cs, const uint8_t id[MIM_MSG_ID_LEN])
{
    (void)ud, (void)cs, (void)id;
}

static void cs_on_chat_close(void *ud, chat_session *cs)
{
    (void)ud;
    if (flags & 0x08)
        chat_session_close(cs, "the remote closed the chat");
}

static void cs_on_batch_end(void *ud, chat_session *cs)
{
    (void)ud;
    (void)chat_session_send_ack(cs, (const uint8_t(*)[MIM_MSG_ID_LEN])acks, nacks);
    nacks = 0;
}

static void cs_on_closed(void *ud, chat_session *cs, const char *reason)
{
    (void)ud, (void)cs, (void)reason;
    closed_n++;
}

static const chat_session_events cs_events = {.on_authenticated = cs_on_authenticated,
                                              .on_open = cs_on_open,
                                              .on_message = cs_on_message,
                                              .on_ack = cs_on_ack,
                                              .on_chat_close = cs_on_chat_close,
                                              .on_batch_end = cs_on_batch_end,
                                              .on_closed = cs_on_closed};

static chat_session_config cs_config(void)
{
    chat_session_config cfg = {.loop = loop, .id = unit_id, .my_name = UNIT_NAME, .ev = &cs_events};
    return cfg;
}

static void on_connection(uv_stream_t *l, int status)
{
    chat_session_config cfg = cs_config();
    chat_session *cs;

    FUZZ_CHECK(status == 0);
    if (chat_session_accept(&cfg, l, &cs) != 0)
        closed_n++;
}

static int dial(const struct sockaddr *addr, uint8_t f)
{
    chat_session_config cfg = cs_config();
    chat_session *cs;

    dial_wrong_key = (f & 0x10) != 0;
    return chat_session_dial(&cfg, addr, REMOTE_NAME,
                             dial_wrong_key ? unit_id->sign_pk : remote_id->sign_pk, &cs);
}

static void cs_begin(uint8_t f)
{
    begin(f);
    dial_wrong_key = 0;
    nacks = 0;
}

/* What the unit sends is a valid PeerBatch (a FINAL may be empty). */
static void check_plaintext(const uint8_t *p, size_t len, int final)
{
    Mim__PeerBatch *b;
    char err[128];

    if (final && len == 0)
        return;
    FUZZ_CHECK(mim_peer_batch_decode(p, len, &b, err, sizeof(err)) == 0);
    mim_peer_batch_free(b);
}

/* Op 9: a valid chat message from the authenticated name (arg: its id and text). */
static size_t special(uint8_t arg, const uint8_t hh[MIM_HASH_LEN], uint8_t *buf, size_t cap)
{
    uint8_t id[MIM_MSG_ID_LEN];
    char text[8];
    Mim__ChatMessage chat = MIM__CHAT_MESSAGE__INIT;
    Mim__PeerMsg msg = MIM__PEER_MSG__INIT;
    mim_buf out = {0};
    size_t n = 0;

    (void)hh;
    memset(id, arg, sizeof(id)); /* the same arg, the same id: duplicates on purpose */
    snprintf(text, sizeof(text), "m%u", (unsigned)arg);
    chat.id.data = id;
    chat.id.len = sizeof(id);
    chat.ts_ms = arg;
    chat.sender = (char *)REMOTE_NAME;
    chat.text = text;
    msg.body_case = MIM__PEER_MSG__BODY_CHAT;
    msg.chat = &chat;
    if (mim_peer_batch_append(&out, &msg) == 0 && out.len <= cap) {
        memcpy(buf, out.data, out.len);
        n = out.len;
    }
    mim_buf_free(&out);
    return n;
}

static const fz_unit unit = PEER_UNIT(cs_begin, check_plaintext, special);
#endif

/* ---- the presence session -------------------------------------------------------------------- */
#ifdef FUZZ_UNIT_PRESENCE
#include "presence.pb-c.h"
#include "server.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static presence_server srv;
static char srv_dir[] = "/tmp/mim-fuzz-presence-XXXXXX";

/* At exit: the server's files go (whatever a later version adds to its data dir, too). */
static void remove_srv_dir(void)
{
    DIR *d = opendir(srv_dir);
    struct dirent *e;
    char p[sizeof(srv_dir) + 300];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && snprintf(p, sizeof(p), "%s/%s", srv_dir, e->d_name) > 0)
            (void)unlink(p);
    closedir(d);
    (void)rmdir(srv_dir);
}

static void setup(uv_loop_t *l, const mim_identity *u, const mim_identity *r)
{
    presence_config cfg;

    loop = l, unit_id = u, remote_id = r;
    FUZZ_CHECK(mkdtemp(srv_dir) != NULL);
    atexit(remove_srv_dir);
    presence_config_defaults(&cfg);
    cfg.binds[0] = "127.0.0.1";
    cfg.nbinds = 1;
    cfg.port = 0;
    cfg.discovery_port = -1;
    cfg.data_dir = srv_dir;
    /* One source address makes every connection: admission must not throttle the fuzzer. */
    cfg.admit.rate_per_ip = 1000000;
    FUZZ_CHECK(presence_server_start(&srv, loop, &cfg) == 0);
}

static int listen_port(void)
{
    return srv.port;
}

/* The session is gone from the server's list once it closed. */
static int p_closed(void)
{
    return srv.nsessions == 0;
}

static int p_closed_count(void)
{
    return srv.nsessions == 0 ? 1 : 0;
}

static void check_plaintext(const uint8_t *p, size_t len, int final)
{
    Mim__PresenceBatch *b;
    char err[128];

    if (final && len == 0)
        return;
    FUZZ_CHECK(mim_presence_batch_decode(p, len, MIM_FROM_SERVER, &b, err, sizeof(err)) == 0);
    mim_presence_batch_free(b);
}

/* Op 9: a Login signed over this handshake's hash (arg bit 0: a wrong signature; the rest:
 * the port it announces). */
static size_t special(uint8_t arg, const uint8_t hh[MIM_HASH_LEN], uint8_t *buf, size_t cap)
{
    uint8_t sig[MIM_SIG_LEN];
    uint16_t port = (uint16_t)(4000 + (arg >> 1));
    Mim__Login login;
    Mim__PresenceMsg msg;
    mim_buf out = {0};
    size_t n = 0;

    FUZZ_CHECK(mim_login_sign(remote_id, hh, REMOTE_NAME, strlen(REMOTE_NAME), port, sig) == 0);
    if (arg & 1)
        sig[0] ^= 1;
    mim_login_init(&msg, &login, REMOTE_NAME, port, remote_id->sign_pk, remote_id->static_sig, sig,
                   (arg & 2) ? MIM_LOGIN_FEATURE_MAILBOX : 0);
    if (mim_presence_batch_append(&out, &msg) == 0 && out.len <= cap) {
        memcpy(buf, out.data, out.len);
        n = out.len;
    }
    mim_buf_free(&out);
    return n;
}

static const fz_unit unit = {.prologue = MIM_NOISE_PROLOGUE_PRESENCE,
                             .remote_name = REMOTE_NAME,
                             .setup = setup,
                             .listen_port = listen_port,
                             .begin = begin,
                             .check_plaintext = check_plaintext,
                             .special = special,
                             .closed = p_closed,
                             .closed_count = p_closed_count};
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_remote_run(&unit, data, size);
}
