/* The libuv loop of the core inside GLib's main loop, one thread for both: a GSource that
 * polls libuv's backend fd (epoll, readable when any of libuv's handles has I/O) and wakes for
 * libuv's next timer (uv_backend_timeout), then runs one non-blocking libuv turn. No busy
 * polling: GLib sleeps in poll() until one of them is due. Why one thread: docs/GTK.md. */
#ifndef MIM_GTK_UV_GSOURCE_H
#define MIM_GTK_UV_GSOURCE_H

#include <glib.h>
#include <uv.h>

/* Attaches the source for loop to the default main context; the returned id removes it
 * (g_source_remove). The loop must outlive the source. */
guint uv_gsource_attach(uv_loop_t *loop);

#endif
