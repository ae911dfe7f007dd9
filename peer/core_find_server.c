/* Finding a presence server before any core runs (issue 17: mim-gtk's first-run assistant):
 * the LAN discovery probe sent to a typed address or broadcast, its answer given as words (the
 * address, the key's fingerprint) so that no front end needs mim_crypto.h. */
#include "core.h"
#include "mim_addr.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "presence_client.h"

#include <stdlib.h>

typedef struct find_req {
    mim_core_found_cb cb;
    void *ud;
} find_req;

static void on_discovered(void *ud, int status, const struct sockaddr *server, const uint8_t pk[32])
{
    find_req *req = ud;
    char addr[MIM_ADDR_STRLEN], fp[MIM_FINGERPRINT_LEN];

    if (status < 0)
        req->cb(req->ud, status, NULL, NULL);
    else {
        mim_addr_format(server, addr);
        mim_fingerprint(pk, fp);
        req->cb(req->ud, 0, addr, fp);
    }
    free(req);
}

int mim_core_find_server(uv_loop_t *loop, const char *address, uint32_t timeout_ms,
                         mim_core_found_cb cb, void *ud)
{
    struct sockaddr_storage to;
    uint16_t port = MIM_CORE_DEFAULT_PORT;
    int have_to = address != NULL && address[0] != '\0', rc;
    find_req *req;

    if (have_to) {
        if (mim_addr_parse(address, MIM_CORE_DEFAULT_PORT, &to) != 0)
            return MIM_EINVAL;
        port = mim_addr_port((const struct sockaddr *)&to);
    }
    if ((req = malloc(sizeof(*req))) == NULL)
        return MIM_ENOMEM;
    req->cb = cb;
    req->ud = ud;
    rc = presence_discover(loop, have_to ? (const struct sockaddr *)&to : NULL, port, timeout_ms,
                           NULL, on_discovered, req);
    if (rc != 0)
        free(req);
    return rc;
}
