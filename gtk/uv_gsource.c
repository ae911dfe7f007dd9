/* libuv inside GLib's main loop (uv_gsource.h). */
#include "uv_gsource.h"

typedef struct uv_gsource {
    GSource source;
    uv_loop_t *loop;
    gpointer tag; /* the backend fd's poll record */
} uv_gsource;

/* Before GLib sleeps: how long libuv can wait (its next timer; -1 none). Ready at once when
 * libuv has work that needs no I/O (pending callbacks, closing handles, a due timer). */
static gboolean uvs_prepare(GSource *source, gint *timeout)
{
    uv_gsource *s = (uv_gsource *)source;

    if (!uv_loop_alive(s->loop)) { /* nothing left to run: libuv would say 0 (spin) */
        *timeout = -1;
        return FALSE;
    }
    uv_update_time(s->loop);
    *timeout = uv_backend_timeout(s->loop);
    return *timeout == 0;
}

/* After GLib's poll: the backend fd is readable, or a timer is due now. */
static gboolean uvs_check(GSource *source)
{
    uv_gsource *s = (uv_gsource *)source;

    if (g_source_query_unix_fd(source, s->tag) & G_IO_IN)
        return TRUE;
    if (!uv_loop_alive(s->loop))
        return FALSE;
    uv_update_time(s->loop);
    return uv_backend_timeout(s->loop) == 0;
}

static gboolean uvs_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
    uv_gsource *s = (uv_gsource *)source;

    (void)cb;
    (void)ud;
    uv_run(s->loop, UV_RUN_NOWAIT);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs uvs_funcs = {
    .prepare = uvs_prepare,
    .check = uvs_check,
    .dispatch = uvs_dispatch,
};

guint uv_gsource_attach(uv_loop_t *loop)
{
    GSource *source = g_source_new(&uvs_funcs, sizeof(uv_gsource));
    uv_gsource *s = (uv_gsource *)source;
    guint id;

    s->loop = loop;
    s->tag = g_source_add_unix_fd(source, uv_backend_fd(loop), G_IO_IN);
    g_source_set_name(source, "libuv");
    id = g_source_attach(source, NULL);
    g_source_unref(source);
    return id;
}
