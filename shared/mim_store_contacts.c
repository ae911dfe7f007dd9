/* The peer's contacts and their pins, and the presence server's pin: SSH's "accept-new", a key
 * seen first is pinned, a different one later is held as pending until the user trusts it. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

const struct store_stmt_sql store_contacts_sql[] = {
    /* Pins: the contact and server statements take the same parameters (?1 the name, unused
     * for the server; ?2 a key; ?3 a time) so that store_pin_check() serves both. */
    {STMT_CONTACT_SELECT, "SELECT name, identity_pk, first_seen, verified,"
                          " pending_pk FROM contacts WHERE name = ?1"},
    {STMT_CONTACT_INSERT, "INSERT INTO contacts(name, identity_pk, first_seen)"
                          " VALUES(?1, ?2, ?3)"},
    {STMT_CONTACT_SET_PENDING, "UPDATE contacts SET pending_pk = ?2 WHERE name = ?1"},
    {STMT_CONTACT_TRUST, "UPDATE contacts SET identity_pk = pending_pk, pending_pk = NULL,"
                         " verified = 0 WHERE name = ?1 AND pending_pk IS NOT NULL"},
    {STMT_CONTACT_SET_VERIFIED, "UPDATE contacts SET verified = ?2 WHERE name = ?1"},
    {STMT_CONTACT_EACH, "SELECT name, identity_pk, first_seen, verified,"
                        " pending_pk FROM contacts ORDER BY name"},
    /* The server pins, one per server address (?1); the name column of a contact row is NULL. */
    {STMT_SERVER_SELECT, "SELECT NULL, identity_pk, first_seen, 0, pending_pk"
                         " FROM server_pins WHERE server = ?1"},
    {STMT_SERVER_INSERT, "INSERT INTO server_pins(server, identity_pk, first_seen)"
                         " VALUES(?1, ?2, ?3)"},
    {STMT_SERVER_SET_PENDING, "UPDATE server_pins SET pending_pk = ?2 WHERE server = ?1"},
    {STMT_SERVER_TRUST, "UPDATE server_pins SET identity_pk = pending_pk, pending_pk = NULL"
                        " WHERE server = ?1 AND pending_pk IS NOT NULL"},
    /* The pin of before the upgrade ('any') becomes the first checked address's own. */
    {STMT_SERVER_CLAIM, "UPDATE server_pins SET server = ?1 WHERE server = 'any' AND NOT EXISTS"
                        " (SELECT 1 FROM server_pins WHERE server = ?1)"},
    {STMT_SERVER_LATEST, "SELECT NULL, identity_pk, first_seen, 0, pending_pk"
                         " FROM server_pins ORDER BY first_seen DESC, server LIMIT 1"},
    {STMT__COUNT, NULL},
};

/* ---- rows ------------------------------------------------------------------------------------ */

/* Reads a 32-byte key column into out: 1 when present, 0 when NULL, MIM_EDB when malformed. */
static int store_column_key(mim_store *st, sqlite3_stmt *stmt, int col, uint8_t out[32])
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
        memset(out, 0, 32);
        return 0;
    }
    if (sqlite3_column_bytes(stmt, col) != 32 || sqlite3_column_blob(stmt, col) == NULL) {
        mim_log_error("store %s: a stored key is not 32 bytes", st->path);
        return MIM_EDB;
    }
    memcpy(out, sqlite3_column_blob(stmt, col), 32);
    return 1;
}

/* A contact row (name, identity_pk, first_seen, verified, pending_pk); the server pin's row has
 * a NULL name, left empty. */
static int store_row_contact(mim_store *st, sqlite3_stmt *stmt, mim_contact *c)
{
    int rc;

    memset(c, 0, sizeof(*c));
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        rc = store_column_name(st, stmt, 0, c->name, sizeof(c->name));
        if (rc < 0)
            return rc;
    }
    rc = store_column_key(st, stmt, 1, c->identity_pk);
    if (rc == 0) {
        mim_log_error("store %s: a pin without a key", st->path);
        return MIM_EDB;
    }
    if (rc < 0)
        return rc;
    c->first_seen = sqlite3_column_int64(stmt, 2);
    c->verified = sqlite3_column_int(stmt, 3) != 0;
    rc = store_column_key(st, stmt, 4, c->pending_pk);
    if (rc < 0)
        return rc;
    c->has_pending = rc;
    return 0;
}

/* ---- pins ------------------------------------------------------------------------------------ */

struct pin_stmts {
    enum store_stmt select, insert, set_pending;
};

static const struct pin_stmts contact_pin_stmts = {STMT_CONTACT_SELECT, STMT_CONTACT_INSERT,
                                                   STMT_CONTACT_SET_PENDING};
static const struct pin_stmts server_pin_stmts = {STMT_SERVER_SELECT, STMT_SERVER_INSERT,
                                                  STMT_SERVER_SET_PENDING};

/* Sets (pk) or clears (pk NULL) the pending key of a pin. */
static int store_pin_set_pending(mim_store *st, enum store_stmt which, const char *name,
                                 const uint8_t *pk)
{
    sqlite3_stmt *upd = st->stmt[which];
    int brc = store_bind_name(upd, name);

    if (brc == SQLITE_OK)
        brc = pk != NULL ? sqlite3_bind_blob(upd, 2, pk, 32, SQLITE_STATIC)
                         : sqlite3_bind_null(upd, 2);
    if (brc != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "pin: bind");
    }
    return store_run(st, which, "pin: set pending");
}

/* Reads one pin: a contact's (select = STMT_CONTACT_SELECT, name set) or the server's
 * (STMT_SERVER_SELECT, name NULL). 0 and *out, MIM_ENOENT, or MIM_EDB. */
static int store_pin_get(mim_store *st, enum store_stmt which, const char *name, mim_contact *out)
{
    sqlite3_stmt *sel = st->stmt[which];
    int rc;

    if (store_bind_name(sel, name) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "pin: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW:
        rc = store_row_contact(st, sel, out);
        break;
    case SQLITE_DONE:
        rc = MIM_ENOENT;
        break;
    default:
        rc = store_fail(st, "pin: select");
        break;
    }
    store_reset(sel);
    return rc;
}

/* The body of a pin check, inside store_op_begin(). */
static int store_pin_check_locked(mim_store *st, const struct pin_stmts *q, const char *name,
                                  const uint8_t pk[32], int64_t now)
{
    sqlite3_stmt *ins = st->stmt[q->insert];
    mim_contact pin;
    int rc;

    rc = store_pin_get(st, q->select, name, &pin);
    if (rc == MIM_ENOENT) {
        if (store_bind_name(ins, name) != SQLITE_OK ||
            sqlite3_bind_blob(ins, 2, pk, 32, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(ins, 3, now) != SQLITE_OK) {
            store_reset(ins);
            return store_fail(st, "pin: bind");
        }
        rc = store_run(st, q->insert, "pin: insert");
        return rc < 0 ? rc : MIM_PIN_NEW;
    }
    if (rc < 0)
        return rc;

    /* Public keys are no secret: a plain memcmp leaks nothing worth hiding. */
    if (memcmp(pin.identity_pk, pk, 32) == 0) {
        /* The pinned key is back: forget a key seen in between. Left pending, a later "trust"
         * (given to get the held outbox moving, say) would pin that other key, perhaps an
         * impostor's, in place of the one that just proved itself. */
        if (pin.has_pending) {
            rc = store_pin_set_pending(st, q->set_pending, name, NULL);
            if (rc < 0)
                return rc;
        }
        return MIM_PIN_MATCH;
    }
    if (!pin.has_pending || memcmp(pin.pending_pk, pk, 32) != 0) {
        rc = store_pin_set_pending(st, q->set_pending, name, pk);
        if (rc < 0)
            return rc;
    }
    return MIM_PIN_CHANGED;
}

static int store_pin_check(mim_store *st, const struct pin_stmts *q, const char *name,
                           const uint8_t pk[32], int64_t now)
{
    int rc = store_op_begin(st, "pin: begin");

    if (rc < 0)
        return rc;
    rc = store_pin_check_locked(st, q, name, pk, now);
    return store_op_end(st, rc, "pin: end");
}

/* Runs a one-statement update keyed by an optional name; MIM_ENOENT when no row matched. */
static int store_update_one(mim_store *st, enum store_stmt which, const char *name,
                            const char *what)
{
    int rc = store_tx_check(st);

    if (rc < 0)
        return rc;
    if (store_bind_name(st->stmt[which], name) != SQLITE_OK) {
        store_reset(st->stmt[which]);
        return store_fail(st, what);
    }
    rc = store_run(st, which, what);
    if (rc < 0)
        return rc;
    /* sqlite3_changes() counts the rows this statement matched, changed in value or not. */
    return sqlite3_changes(st->db) > 0 ? 0 : MIM_ENOENT;
}

int mim_store_pin_check(mim_store *st, const char *name, const uint8_t pk[32], int64_t now)
{
    if (!store_is_peer(st) || !store_name_ok(name) || pk == NULL)
        return MIM_EINVAL;
    return store_pin_check(st, &contact_pin_stmts, name, pk, now);
}

int mim_store_contact_get(mim_store *st, const char *name, mim_contact *out)
{
    if (!store_is_peer(st) || !store_name_ok(name) || out == NULL)
        return MIM_EINVAL;
    return store_pin_get(st, STMT_CONTACT_SELECT, name, out);
}

int mim_store_contact_trust(mim_store *st, const char *name)
{
    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    return store_update_one(st, STMT_CONTACT_TRUST, name, "contact: trust");
}

int mim_store_contact_set_verified(mim_store *st, const char *name, int verified)
{
    sqlite3_stmt *upd;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    upd = st->stmt[STMT_CONTACT_SET_VERIFIED];
    if (sqlite3_bind_int(upd, 2, verified != 0) != SQLITE_OK) {
        store_reset(upd);
        return store_fail(st, "contact: bind");
    }
    return store_update_one(st, STMT_CONTACT_SET_VERIFIED, name, "contact: set verified");
}

/* The row visitor: converts the row, then hands it to the caller's callback. */
struct contact_visit {
    int (*cb)(const mim_contact *c, void *arg);
    void *arg;
};

static int visit_contact(mim_store *st, sqlite3_stmt *row, void *ctx)
{
    const struct contact_visit *v = ctx;
    mim_contact c;
    int rc = store_row_contact(st, row, &c);
    return rc != 0 ? rc : v->cb(&c, v->arg);
}

int mim_store_contact_each(mim_store *st, int (*cb)(const mim_contact *c, void *arg), void *arg)
{
    struct contact_visit v = {cb, arg};
    int rc;

    if (!store_is_peer(st) || cb == NULL)
        return MIM_EINVAL;
    rc = store_stmt_idle(st, STMT_CONTACT_EACH);
    if (rc < 0)
        return rc;
    return store_walk(st, st->stmt[STMT_CONTACT_EACH], "contact: each", visit_contact, &v);
}

/* The row key of a server's pin: its address, or 'any' (the pin of before the upgrade). */
static const char *server_key(const char *server)
{
    return server != NULL ? server : "any";
}

static int server_ok(const char *server)
{
    return server == NULL || (server[0] != '\0' && strlen(server) <= 64);
}

/* 'any' becomes server's pin when server has none yet (STMT_SERVER_CLAIM). */
static int server_claim(mim_store *st, const char *server)
{
    int rc;

    if (server == NULL)
        return 0;
    rc = store_update_one(st, STMT_SERVER_CLAIM, server, "server pin: claim");
    return rc == MIM_ENOENT ? 0 : rc; /* nothing to claim: as it should be, mostly */
}

int mim_store_server_pin_check(mim_store *st, const char *server, const uint8_t pk[32], int64_t now)
{
    int rc;

    if (!store_is_peer(st) || pk == NULL || !server_ok(server))
        return MIM_EINVAL;
    if ((rc = server_claim(st, server)) < 0)
        return rc;
    return store_pin_check(st, &server_pin_stmts, server_key(server), pk, now);
}

int mim_store_server_pin_trust(mim_store *st, const char *server)
{
    int rc;

    if (!store_is_peer(st) || !server_ok(server))
        return MIM_EINVAL;
    if ((rc = server_claim(st, server)) < 0)
        return rc;
    return store_update_one(st, STMT_SERVER_TRUST, server_key(server), "server pin: trust");
}

int mim_store_server_pin_get(mim_store *st, const char *server, mim_contact *out)
{
    int rc;

    if (!store_is_peer(st) || out == NULL || !server_ok(server))
        return MIM_EINVAL;
    rc = store_pin_get(st, STMT_SERVER_SELECT, server_key(server), out);
    if (rc == MIM_ENOENT && server != NULL) /* not claimed yet: the pin of before */
        rc = store_pin_get(st, STMT_SERVER_SELECT, "any", out);
    return rc;
}

int mim_store_server_pin_latest(mim_store *st, mim_contact *out)
{
    if (!store_is_peer(st) || out == NULL)
        return MIM_EINVAL;
    return store_pin_get(st, STMT_SERVER_LATEST, NULL, out);
}
