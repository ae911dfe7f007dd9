/* Unit tests for the outbox's mailbox side (issue 14): shared/mim_store_mail.c on a real peer
 * store -- which messages are due for the mailbox, DEPOSITED as history tells it, the
 * expiry that turns a message back to queued for good, and what a delivery or a refusal
 * changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"

#include "mim_error.h"
#include "mim_store_peer.h"

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-mail", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static void queue(mim_store *st, const char *peer, uint8_t k)
{
    uint8_t id[16];

    memset(id, k, sizeof(id));
    EXPECT_INT(mim_store_message_queue(st, peer, id, 1000 + k, 1, "hello", 5, NULL), 0);
}

typedef struct seen {
    uint8_t k[16];
    size_t n;
} seen;

static int collect(const mim_message *m, void *arg)
{
    seen *s = arg;

    assert_true(s->n < 16);
    s->k[s->n++] = m->id[0];
    return 0;
}

static size_t due(mim_store *st, const char *peer, seen *s)
{
    s->n = 0;
    EXPECT_INT(mim_store_mail_due_each(st, peer, 10, collect, s), 0);
    return s->n;
}

static int history_deposited(const mim_message *m, void *arg)
{
    seen *s = arg;

    if (m->deposited)
        s->k[s->n++] = m->id[0];
    return 0;
}

/* Due: QUEUED, never deposited, not barred; in seq order; one peer only. */
static void test_due_and_deposited(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    uint8_t id1[16], id2[16];
    seen s = {0};

    memset(id1, 1, 16);
    memset(id2, 2, 16);
    queue(st, "bob", 1);
    queue(st, "bob", 2);
    queue(st, "bob", 3);
    queue(st, "carol", 9);
    EXPECT_INT(due(st, "bob", &s), 3);
    EXPECT_INT(s.k[0], 1);
    EXPECT_INT(s.k[2], 3);
    EXPECT_INT(mim_store_mail_deposited(st, "bob", id1, 5000, 9000), 1);
    EXPECT_INT(mim_store_message_set_state(st, "bob", id2, MIM_MSG_SENT), 1);
    EXPECT_INT(due(st, "bob", &s), 1); /* 1 deposited, 2 on a session */
    EXPECT_INT(s.k[0], 3);
    s.n = 0;
    EXPECT_INT(mim_store_history_each(st, "bob", 10, history_deposited, &s), 0);
    EXPECT_INT(s.n, 1);
    EXPECT_INT(s.k[0], 1);
    /* Delivered: out of the outbox, so no longer marked (and no longer expiring). */
    EXPECT_INT(mim_store_message_set_state(st, "bob", id1, MIM_MSG_DELIVERED), 1);
    EXPECT_INT(mim_store_mail_deposited(st, "bob", id1, 5000, 9000), 0);
    mim_store_close(st);
}

/* An expired copy: back to queued, never due again; a refusal for good likewise. */
static void test_expiry_and_refusal(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    char peer[MIM_NAME_MAX_BYTES + 1];
    uint8_t id1[16], id2[16], got[16];
    seen s = {0};

    memset(id1, 1, 16);
    memset(id2, 2, 16);
    queue(st, "bob", 1);
    queue(st, "bob", 2);
    EXPECT_INT(mim_store_mail_deposited(st, "bob", id1, 5000, 9000), 1);
    EXPECT_INT(mim_store_mail_expire_next(st, 8999, peer, got), 0); /* not yet */
    EXPECT_INT(mim_store_mail_expire_next(st, 9000, peer, got), 1);
    assert_string_equal(peer, "bob");
    assert_memory_equal(got, id1, 16);
    EXPECT_INT(mim_store_mail_expire_next(st, 9000, peer, got), 0); /* once */
    s.n = 0;
    EXPECT_INT(mim_store_history_each(st, "bob", 10, history_deposited, &s), 0);
    EXPECT_INT(s.n, 0);
    EXPECT_INT(mim_store_mail_no_redeposit(st, "bob", id2), 1);
    EXPECT_INT(due(st, "bob", &s), 0);
    {
        int64_t n = 0;
        EXPECT_INT(mim_store_outbox_count(st, "bob", &n), 0);
        EXPECT_INT(n, 2); /* both still in the outbox, for a direct session */
    }
    EXPECT_INT(mim_store_mail_no_redeposit(st, "nobody", id2), 0);
    EXPECT_INT(mim_store_mail_due_each(st, "", 10, collect, &s), MIM_EINVAL);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_due_and_deposited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_refusal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
