/* What the files of mim-gtk share: the application, the core it runs, the view model, and the
 * widgets the core's events update. One per process; every function runs on the one thread
 * (GLib's main loop, libuv inside it: uv_gsource.h).
 *
 *   main.c         options, the data dir, GApplication, start and quit
 *   core_bridge.c  the core started, its events into the view model and the window
 *   win_main.c     the main window: header (status, server state), contacts, errors, title
 *   win_conv.c     the conversation: messages, date lines, entry, typing, closed grey
 *   win_files.c    transfers: send (chooser, drag and drop), progress, accept, images
 *   win_search.c   the search over the stored history, in the sidebar
 *   win_trust.c    the key-change banner, the safety-number dialog, the server-key warning
 *   assistant.c    the first-run assistant
 *   prefs.c        the preferences (a key file) and their dialog
 *   win_rooms.c    rooms and broadcasts: New room, Broadcast, Acknowledge, a room's sends */
#ifndef MIM_GTK_APP_H
#define MIM_GTK_APP_H

#include "core.h"
#include "mim_datadir.h"
#include "options.h"
#include "view_model.h"

#include <adwaita.h>
#include <uv.h>

typedef struct gtk_prefs {
    char name[MIM_NAME_MAX_BYTES * 4 + 1]; /* "" none saved */
    char server[256];                      /* "" LAN discovery */
    char download_dir[4096];               /* "" the core's default */
    int notify;                            /* desktop notifications */
    int auto_away_min;                     /* 0 never */
} gtk_prefs;

typedef struct mim_gtk {
    GtkApplication *gapp;
    peer_options opt;
    gtk_prefs prefs;
    char prefs_path[4200];
    uv_loop_t loop;
    guint uv_source;
    mim_datadir dd; /* its lock is held until the process exits */
    mim_core *core; /* NULL until started, and after it stopped */
    int exit_code;
    view_model vm;
    int notify; /* send GNotifications (prefs, and not MIM_GTK_NO_NOTIFY) */

    /* The main window (win_main.c). */
    GtkWidget *win, *contacts, *server_state, *status_btn, *status_entry;
    GtkWidget *error_bar, *error_label, *server_bar, *server_label;
    GtkWidget *side_stack, *results; /* the sidebar: contacts, or search results (win_search.c) */
    /* The conversation (win_conv.c). */
    GtkWidget *conv_stack, *conv_title, *conv_sub, *messages, *msg_scroll, *entry;
    GtkWidget *key_banner, *key_label, *conv_box;
    GHashTable *progress;    /* message id hex -> GtkProgressBar of the open conversation */
    GHashTable *file_labels; /* message id hex -> its GtkLabel */
    int refreshing;          /* rebuilding the contacts list: its selection is not the user's */

    /* The first-run assistant (assistant.c). */
    GtkWidget *assistant, *a_name, *a_server, *a_fp, *a_note;
    int discovering;
} mim_gtk;

/* main.c */
void app_quit(mim_gtk *g); /* asks the core to stop; the application ends on on_stopped */

/* core_bridge.c */
int bridge_start(mim_gtk *g); /* the data dir and the core; 0, or -1 (said in the window) */
void bridge_open_conversation(mim_gtk *g, const char *name);
void bridge_send_text(mim_gtk *g, const char *text);
void bridge_error(mim_gtk *g, const char *message); /* shown as "Error: ..." */
void bridge_refusal(mim_gtk *g, int rc, const char *who);

/* win_main.c */
void win_build(mim_gtk *g);
void win_refresh_contacts(mim_gtk *g);
void win_refresh_header(mim_gtk *g); /* title, server state, server-key bar, error bar */

/* win_search.c: the search entry (its results page is added to side_stack) */
GtkWidget *search_build(mim_gtk *g);

/* win_conv.c */
GtkWidget *conv_build(mim_gtk *g);
void conv_refresh(mim_gtk *g);     /* the open conversation drawn anew */
void conv_refresh_sub(mim_gtk *g); /* its subtitle: status, typing */

/* win_files.c */
GtkWidget *files_row(mim_gtk *g, const vm_row *r, const vm_transfer *t);
void files_progress(mim_gtk *g, const vm_transfer *t); /* one bar updated in place */
void files_choose(mim_gtk *g);
void files_add_drop_target(mim_gtk *g, GtkWidget *w);
void files_send(mim_gtk *g, const char *path);

/* win_trust.c */
GtkWidget *trust_banner_build(mim_gtk *g);
void trust_banner_refresh(mim_gtk *g);
void trust_verify_dialog(mim_gtk *g, const char *name);
void trust_server(mim_gtk *g);

/* win_rooms.c (issue 16) */
void rooms_load(mim_gtk *g); /* every room of the store into the list */
void rooms_send_text(mim_gtk *g, vm_contact *room, const char *text);
GtkWidget *rooms_header_buttons(mim_gtk *g); /* "New room" and "Broadcast" */
/* r's row with an "Acknowledge" button when it is an important broadcast not acknowledged. */
GtkWidget *rooms_ack_button(mim_gtk *g, const vm_row *r);

/* assistant.c */
void assistant_show(mim_gtk *g);

/* prefs.c */
void prefs_load(mim_gtk *g);
int prefs_save(mim_gtk *g);
void prefs_dialog(mim_gtk *g);

/* Sets a widget's accessible name (what AT-SPI reads: the names of docs/GTK.md). */
void a11y_label(GtkWidget *w, const char *name);
/* A label's text, with an accessible name other than that text: GtkLabel makes its text its
 * name on every change, so the name is set again after it. */
void named_label_set(GtkWidget *label, const char *text, const char *name);

#endif
