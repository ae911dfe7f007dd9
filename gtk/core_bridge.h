/* The core's side of mim-gtk, shared by core_bridge.c (start, commands, history, notifications)
 * and core_events.c (the core's events into the view model and the window). */
#ifndef MIM_GTK_CORE_BRIDGE_H
#define MIM_GTK_CORE_BRIDGE_H

#include "app.h"

/* The core's events, handled (core_events.c). */
const mim_core_events *bridge_core_events(void);
/* What the view model calls the core's enums. */
enum vm_state bridge_state(mim_core_msg_state s);
enum vm_status bridge_status(mim_core_user_status s);
/* A transfer as the core reports it, into the view model (and its conversation's row). */
vm_transfer *bridge_transfer(mim_gtk *g, const mim_core_file_info *f);
/* Whether peer's conversation is in view (open, the window shown). */
int bridge_in_view(mim_gtk *g, const char *peer);
/* A desktop notification for a message not in view (when notifications are on). */
void bridge_notify(mim_gtk *g, const char *from, const char *text);
/* The contacts of the store and the transfers, read in after the start. */
void bridge_load_contacts(mim_gtk *g);
/* Every transfer of the store, into the view model (after a send, accept or reject). */
void bridge_load_files(mim_gtk *g);
/* peer's stored history read into its conversation (once). */
void bridge_load_history(mim_gtk *g, const char *peer);
/* Everything that shows peer changed: the list, the title, the conversation when open. */
void bridge_changed(mim_gtk *g, const char *peer);

#endif
