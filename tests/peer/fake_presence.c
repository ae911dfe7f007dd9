/* A fake presence server that sends what the test wrote (see fake_presence.h). */
#include "fake_presence.h"
#include "mim_buf.h"
#include "mim_codec.h"

#include <string.h>

static int fp_on_authenticated(mim_channel *ch, const uint8_t identity_pk[MIM_KEY_LEN],
                               const char *name, const char **reason)
{
    (void)ch, (void)identity_pk, (void)name, (void)reason;
    return 0; /* anyone: the test's client */
}

static void fp_on_plaintext(mim_channel *ch, const uint8_t *p, size_t len, int final)
{
    fake_presence *s = mim_channel_data(ch);
    mim_buf b = {0};
    int rc = 0;

    (void)p, (void)len, (void) final;
    if (s->logins > 0 && ch == s->ch)
        return; /* a Ping or a status: nothing to say */
    s->logins++;
    for (size_t i = 0; i < s->nmsgs && rc == 0; i++)
        rc = mim_presence_batch_append(&b, s->msgs[i]);
    if (rc == 0)
        rc = mim_channel_send(ch, b.data, b.len, 0);
    mim_buf_wipe_free(&b);
    if (rc != 0)
        mim_channel_abort(ch, "fake server: cannot send");
}

static void fp_on_closed(mim_channel *ch, const char *reason)
{
    fake_presence *s = mim_channel_data(ch);
    (void)reason;
    if (s->ch == ch)
        s->ch = NULL;
    s->closed++;
}

static const mim_channel_events fp_events = {
    .on_authenticated = fp_on_authenticated,
    .on_plaintext = fp_on_plaintext,
    .on_closed = fp_on_closed,
};

static void fp_on_connection(uv_stream_t *lis, int status)
{
    fake_presence *s = lis->data;
    mim_channel_config cfg;

    if (status != 0)
        return;
    memset(&cfg, 0, sizeof(cfg));
    cfg.loop = lis->loop;
    cfg.identity = s->id;
    cfg.prologue = MIM_NOISE_PROLOGUE_PRESENCE;
    cfg.my_name = "";
    cfg.remote_name_mode = MIM_HS_NAME_ANY;
    cfg.events = &fp_events;
    cfg.data = s;
    if (s->ch != NULL)
        mim_channel_abort(s->ch, "fake server: a newer connection");
    s->logins = 0;
    if (mim_channel_accept(&cfg, lis, &s->ch) != 0)
        s->ch = NULL;
}

int fake_presence_start(fake_presence *s, uv_loop_t *loop, const Mim__PresenceMsg **msgs, size_t n)
{
    struct sockaddr_in a;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(s, 0, sizeof(*s));
    s->msgs = msgs;
    s->nmsgs = n;
    if ((s->id = mim_identity_generate()) == NULL)
        return -1;
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_init(loop, &s->lis) != 0)
        return -1;
    s->lis.data = s;
    if (uv_tcp_bind(&s->lis, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&s->lis, 8, fp_on_connection) != 0 ||
        uv_tcp_getsockname(&s->lis, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

void fake_presence_stop(fake_presence *s)
{
    if (s->ch != NULL)
        mim_channel_abort(s->ch, "fake server: stopped");
    uv_close((uv_handle_t *)&s->lis, NULL);
    mim_identity_free(s->id);
    s->id = NULL;
}
