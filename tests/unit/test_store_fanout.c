/* The copies of a message sent to several peers (issue 16, mim_store_fanout.c): one row per
 * recipient under one id, tagged with the room (or broadcast) on both sides, read back with
 * the outbox, counted for "delivered to 2 of 3". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_error.h"
#include "mim_store_peer.h"
#include "mim_test.h"

static int setup(void **state)
{
    return mim_test_store_setup(state, "store-fanout", "peer.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

typedef struct seen {
    int n;
    mim_message last;
} seen;

static int keep(const mim_message *m, void *arg)
{
    seen *s = arg;

    s->n++;
    s->last = *m;
    s->last.text = NULL; /* valid during the call only */
    return 0;
}

static const uint8_t room[16] = {0x52, 0x4f, 0x4f, 0x4d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void test_copies_counted(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    static const char *const to[] = {"bob", "carol", "dave"};
    uint8_t id[16];
    uint32_t delivered = 99, total = 99;
    seen s = {0};

    memset(id, 0x11, sizeof(id));
    EXPECT_INT(mim_store_begin(st), 0);
    for (size_t i = 0; i < 3; i++) {
        EXPECT_INT(mim_store_message_queue(st, to[i], id, 1000, 1, "hi all", 6, NULL), 0);
        EXPECT_INT(mim_store_message_set_fanout(st, to[i], id, 1, MIM_FANOUT_ROOM, room, 4), 1);
    }
    EXPECT_INT(mim_store_commit(st), 0);
    EXPECT_INT(mim_store_fanout_count(st, id, &delivered, &total), 0);
    assert_int_equal(total, 3);
    assert_int_equal(delivered, 0);

    /* The outbox hands each copy out with its tags. */
    EXPECT_INT(mim_store_outbox_each(st, "carol", 10, keep, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last.fanout, MIM_FANOUT_ROOM);
    assert_true(s.last.has_room);
    assert_memory_equal(s.last.room, room, 16);
    assert_int_equal(s.last.room_epoch, 4);

    EXPECT_INT(mim_store_message_set_state(st, "bob", id, MIM_MSG_DELIVERED), 1);
    EXPECT_INT(mim_store_message_set_state(st, "dave", id, MIM_MSG_DELIVERED), 1);
    EXPECT_INT(mim_store_fanout_count(st, id, &delivered, &total), 0);
    assert_int_equal(total, 3);
    assert_int_equal(delivered, 2);
    mim_store_close(st);
}

static void test_received_and_plain(void **state)
{
    mim_store *st = mim_test_store_open(*state, MIM_STORE_PEER);
    uint8_t id[16], plain[16];
    uint32_t delivered = 9, total = 9;
    seen s = {0};

    memset(id, 0x22, sizeof(id));
    memset(plain, 0x33, sizeof(plain));
    EXPECT_INT(mim_store_message_receive(st, "bob", id, 2000, 1, "to everyone", 11), 1);
    EXPECT_INT(mim_store_message_set_fanout(st, "bob", id, 0, MIM_FANOUT_BROADCAST, NULL, 0), 1);
    EXPECT_INT(mim_store_message_get(st, "bob", id, 0, keep, &s), 0);
    assert_int_equal(s.last.fanout, MIM_FANOUT_BROADCAST);
    assert_false(s.last.has_room);
    /* Nothing of ours: no copies to count; a 1:1 message is no fan-out. */
    EXPECT_INT(mim_store_fanout_count(st, id, &delivered, &total), 0);
    assert_int_equal(total, 0);
    EXPECT_INT(mim_store_message_queue(st, "bob", plain, 3000, 1, "just you", 8, NULL), 0);
    memset(&s, 0, sizeof(s));
    EXPECT_INT(mim_store_message_get(st, "bob", plain, 1, keep, &s), 0);
    assert_int_equal(s.last.fanout, MIM_FANOUT_NONE);
    EXPECT_INT(mim_store_fanout_count(st, plain, &delivered, &total), 0);
    assert_int_equal(total, 0);
    /* No such row; bad values refused. */
    EXPECT_INT(mim_store_message_get(st, "carol", plain, 1, keep, &s), MIM_ENOENT);
    EXPECT_INT(mim_store_message_set_fanout(st, "carol", plain, 1, MIM_FANOUT_ROOM, room, 1), 0);
    EXPECT_INT(mim_store_message_set_fanout(st, "bob", plain, 1, 7, NULL, 0), MIM_EINVAL);
    mim_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copies_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_received_and_plain, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
