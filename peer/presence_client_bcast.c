/* Issue 16: the server's signed broadcaster list (PresenceMsg arm 19), checked here against our
 * pin of the server's key before the owner hears of it. A list signed by any other key (a
 * server posing as ours: the pin CHANGED) is dropped, loudly: the receivers' rule of who may
 * broadcast is only as good as the key that vouches for it. */
#include "presence_client_priv.h"
#include "mim_buf.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_peer.h"

/* 0 when l's signature verifies under the pinned key of the server we are connected to. */
static int verify_list(presence_client *pc, const Mim__BroadcasterList *l)
{
    mim_contact pin;
    mim_buf msg = {0};
    int rc;

    if ((rc = mim_store_server_pin_get(pc->store, pc->server_str, &pin)) != 0)
        return rc;
    rc = mim_broadcaster_list_signed(l->issued_ms, l->restricted, (const char *const *)l->names,
                                     l->n_names, &msg);
    if (rc == 0)
        rc = mim_sign_verify(pin.identity_pk, msg.data, msg.len, l->sig.data);
    mim_buf_free(&msg);
    return rc;
}

void pc_broadcasters_msg(presence_client *pc, const Mim__BroadcasterList *l)
{
    int rc = verify_list(pc, l);

    if (rc != 0) {
        mim_log_warn("presence: the broadcaster list from %s is not signed by the pinned server "
                     "key (%s): ignored",
                     pc->server_str, mim_strerror(rc));
        return;
    }
    mim_log_debug("presence: broadcaster list of %s: %s, %zu names", pc->server_str,
                  l->restricted ? "restricted" : "open", l->n_names);
    if (!pc->stopping && pc->ev.on_broadcasters != NULL)
        pc->ev.on_broadcasters(pc->ud, l);
}
