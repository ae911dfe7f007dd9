/* The peer's blocked names and its settings: what the user chose and a restart keeps. Settings
 * are text under a key (the core parses them at its edge); a name is blocked by a row of its
 * own, pinned or not. */
#include "mim_store_peer.h"

#include <string.h>

#include "mim_error.h"
#include "mim_log.h"
#include "mim_store_priv.h"

#define SETTING_KEY_MAX 64

const struct store_stmt_sql store_settings_sql[] = {
    {STMT_BLOCK_ADD, "INSERT INTO blocked(name, since) VALUES(?1, ?2)"
                     " ON CONFLICT(name) DO NOTHING"},
    {STMT_BLOCK_DEL, "DELETE FROM blocked WHERE name = ?1"},
    {STMT_BLOCK_GET, "SELECT 1 FROM blocked WHERE name = ?1"},
    {STMT_SETTING_GET, "SELECT value FROM settings WHERE key = ?1"},
    {STMT_SETTING_SET, "INSERT INTO settings(key, value) VALUES(?1, ?2)"
                       " ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
    {STMT__COUNT, NULL},
};

int mim_store_block_set(mim_store *st, const char *name, int blocked, int64_t now)
{
    enum store_stmt which = blocked ? STMT_BLOCK_ADD : STMT_BLOCK_DEL;
    int brc;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    brc = store_bind_name(st->stmt[which], name);
    if (brc == SQLITE_OK && blocked)
        brc = sqlite3_bind_int64(st->stmt[which], 2, now);
    if (brc != SQLITE_OK) {
        store_reset(st->stmt[which]);
        return store_fail(st, "block: bind");
    }
    rc = store_run(st, which, blocked ? "block: insert" : "block: delete");
    if (rc < 0)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

int mim_store_is_blocked(mim_store *st, const char *name)
{
    int64_t found;
    int rc;

    if (!store_is_peer(st) || !store_name_ok(name))
        return MIM_EINVAL;
    rc = store_name_int(st, STMT_BLOCK_GET, name, &found, "blocked: select");
    return rc < 0 ? rc : found != 0;
}

static int setting_key_ok(const char *key)
{
    size_t n = key != NULL ? strnlen(key, SETTING_KEY_MAX + 1) : 0;
    return n > 0 && n <= SETTING_KEY_MAX;
}

int mim_store_setting_get(mim_store *st, const char *key, char *out, size_t cap)
{
    sqlite3_stmt *sel;
    int rc = 0;

    if (!store_is_peer(st) || !setting_key_ok(key) || out == NULL || cap == 0)
        return MIM_EINVAL;
    out[0] = '\0';
    sel = st->stmt[STMT_SETTING_GET];
    if (sqlite3_bind_text(sel, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(sel);
        return store_fail(st, "setting: bind");
    }
    switch (sqlite3_step(sel)) {
    case SQLITE_ROW: {
        const unsigned char *v = sqlite3_column_text(sel, 0);
        size_t n = (size_t)sqlite3_column_bytes(sel, 0);
        if (v == NULL || n >= cap) {
            rc = MIM_EOVERFLOW;
            break;
        }
        memcpy(out, v, n);
        out[n] = '\0';
        rc = 1;
        break;
    }
    case SQLITE_DONE:
        break;
    default:
        rc = store_fail(st, "setting: select");
        break;
    }
    store_reset(sel);
    return rc;
}

int mim_store_setting_set(mim_store *st, const char *key, const char *value)
{
    sqlite3_stmt *ins;
    int rc;

    if (!store_is_peer(st) || !setting_key_ok(key) || value == NULL)
        return MIM_EINVAL;
    rc = store_tx_check(st);
    if (rc < 0)
        return rc;
    ins = st->stmt[STMT_SETTING_SET];
    if (sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(ins, 2, value, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_reset(ins);
        return store_fail(st, "setting: bind");
    }
    return store_run(st, STMT_SETTING_SET, "setting: insert");
}
