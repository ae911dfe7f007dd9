/* mim_codec_mail: issue 14's presence arms. Each builder's message decodes in its own direction
 * and is refused in the other; every check the codec promises (names, 16-byte ids, 32-byte keys,
 * sealed sizes, page order and size, known results, seqs) refuses a message that breaks it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim_codec.h"
#include "mim_error.h"
#include "mim_framer.h"

static const uint8_t pk[32] = {1, 2, 3, [31] = 9};
static const uint8_t pk33[33] = {1, 2, 3, [32] = 9};
static const uint8_t id[MIM_MSG_ID_LEN] = {0xa0, [15] = 0xaf};
static uint8_t sealed[MIM_MAIL_SEALED_MAX + 1];

/* m encoded as a one-message batch decodes in direction dir: 0 or MIM_EDECODE. */
static int decode(const Mim__PresenceMsg *m, enum mim_direction dir)
{
    mim_buf out = {0};
    Mim__PresenceBatch *b = NULL;
    char err[160];
    int rc;

    assert_int_equal(mim_presence_batch_append(&out, m), 0);
    assert_int_equal(mim_presence_element_len(m), out.len);
    rc = mim_presence_batch_decode(out.data, out.len, dir, &b, err, sizeof(err));
    if (rc == 0)
        assert_int_equal(b->msgs[0]->body_case, m->body_case);
    mim_presence_batch_free(b);
    mim_buf_free(&out);
    return rc;
}

/* Good in dir, refused in the other. */
static void good(const Mim__PresenceMsg *m, enum mim_direction dir)
{
    EXPECT_INT(decode(m, dir), 0);
    EXPECT_INT(decode(m, dir == MIM_FROM_PEER ? MIM_FROM_SERVER : MIM_FROM_PEER), MIM_EDECODE);
    assert_true(mim_presence_is_mail_arm(m->body_case));
}

static void test_lookup(void **state)
{
    Mim__PresenceMsg m;
    Mim__Lookup l;
    Mim__LookupResult r;
    Mim__DirectoryEntry e;

    (void)state;
    mim_lookup_init(&m, &l, "Zoe\xcc\x88"); /* not NFC: the server normalises it */
    good(&m, MIM_FROM_PEER);
    mim_lookup_init(&m, &l, "");
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
    mim_lookup_init(&m, &l, "bob\n");
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);

    mim_directory_entry_init(&e, "bob", pk, 1, 1234);
    mim_lookup_result_init(&m, &r, "bob", &e);
    good(&m, MIM_FROM_SERVER);
    mim_lookup_result_init(&m, &r, "nobody", NULL);
    good(&m, MIM_FROM_SERVER);
    e.identity_pk.len = 31;
    mim_lookup_result_init(&m, &r, "bob", &e);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE);
    mim_directory_entry_init(&e, " bob", pk, 0, 0); /* an invalid name */
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE);
}

static void test_directory_page(void **state)
{
    static Mim__DirectoryEntry e[MIM_DIRECTORY_PAGE_MAX + 1];
    static Mim__DirectoryEntry *ep[MIM_DIRECTORY_PAGE_MAX + 1];
    static char names[MIM_DIRECTORY_PAGE_MAX + 1][8];
    Mim__PresenceMsg m;
    Mim__DirectoryList l;
    Mim__DirectoryPage p;

    (void)state;
    mim_directory_list_init(&m, &l, NULL, 0);
    good(&m, MIM_FROM_PEER);
    mim_directory_list_init(&m, &l, "alice", 300); /* the server caps the limit */
    good(&m, MIM_FROM_PEER);
    mim_directory_list_init(&m, &l, "a\x01", 1);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);

    for (size_t i = 0; i <= MIM_DIRECTORY_PAGE_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "n%04zu", i);
        /* The longest names and keys: a full page must still fit one frame. */
        mim_directory_entry_init(&e[i], names[i], pk, 1, UINT64_MAX);
        ep[i] = &e[i];
    }
    mim_directory_page_init(&m, &p, ep, MIM_DIRECTORY_PAGE_MAX, 0, 0);
    good(&m, MIM_FROM_SERVER);
    assert_true(mim_presence_element_len(&m) < MIM_FRAME_MAX - 17);
    mim_directory_page_init(&m, &p, ep, MIM_DIRECTORY_PAGE_MAX + 1, 0, 0);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE); /* too many */
    mim_directory_page_init(&m, &p, ep + 1, 2, 1, 0);
    good(&m, MIM_FROM_SERVER);
    ep[1] = &e[2];
    ep[2] = &e[1];
    mim_directory_page_init(&m, &p, ep + 1, 2, 1, 0);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE); /* out of order */
    ep[2] = &e[2];
    mim_directory_page_init(&m, &p, ep + 1, 2, 1, 0);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE); /* the same name twice */
    mim_directory_page_init(&m, &p, NULL, 0, 1, 1);
    good(&m, MIM_FROM_SERVER);
    mim_directory_page_init(&m, &p, ep, 1, 1, 1);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE); /* refused, with entries */
}

static void test_deposit_and_ack(void **state)
{
    Mim__PresenceMsg m;
    Mim__Deposit d;
    Mim__DepositAck a;
    uint8_t short_id[MIM_MSG_ID_LEN] = {0};

    (void)state;
    mim_deposit_init(&m, &d, "bob", id, sealed, 1);
    good(&m, MIM_FROM_PEER);
    mim_deposit_init(&m, &d, "bob", id, sealed, MIM_MAIL_SEALED_MAX);
    good(&m, MIM_FROM_PEER);
    mim_deposit_init(&m, &d, "bob", id, sealed, MIM_MAIL_SEALED_MAX + 1);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
    mim_deposit_init(&m, &d, "bob", id, sealed, 0);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
    mim_deposit_init(&m, &d, "", id, sealed, 10);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
    mim_deposit_init(&m, &d, "bob", short_id, sealed, 10);
    d.id.len = 15;
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);

    for (int r = MIM__DEPOSIT_RESULT__DEPOSIT_OK; r <= MIM__DEPOSIT_RESULT__DEPOSIT_UNAVAILABLE;
         r++) {
        mim_deposit_ack_init(&m, &a, "bob", id, (Mim__DepositResult)r, 5, 7);
        good(&m, MIM_FROM_SERVER);
        assert_string_not_equal(mim_deposit_result_str((Mim__DepositResult)r), "unknown result");
    }
    mim_deposit_ack_init(&m, &a, "bob", id, (Mim__DepositResult)6, 0, 0);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE); /* an unknown result */
}

static void test_mail_item_and_taken(void **state)
{
    Mim__PresenceMsg m;
    Mim__MailItem it;
    Mim__MailTaken t;
    static uint64_t seqs[MIM_MAIL_TAKEN_MAX_SEQS + 1];

    (void)state;
    mim_mail_item_init(&m, &it, 7, "alice", pk, id, sealed, 100, 1700000000000ull);
    good(&m, MIM_FROM_SERVER);
    mim_mail_item_init(&m, &it, 0, "alice", pk, id, sealed, 100, 1);
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE); /* seq 0 */
    mim_mail_item_init(&m, &it, 7, "alice", pk33, id, sealed, 100, 1);
    it.from_pk.len = sizeof(pk33); /* a key one byte too long (from a buffer that has it) */
    EXPECT_INT(decode(&m, MIM_FROM_SERVER), MIM_EDECODE);

    for (size_t i = 0; i <= MIM_MAIL_TAKEN_MAX_SEQS; i++)
        seqs[i] = i + 1;
    mim_mail_taken_init(&m, &t, seqs, MIM_MAIL_TAKEN_MAX_SEQS);
    good(&m, MIM_FROM_PEER);
    mim_mail_taken_init(&m, &t, seqs, MIM_MAIL_TAKEN_MAX_SEQS + 1);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
    mim_mail_taken_init(&m, &t, seqs, 0);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
    seqs[3] = 0;
    mim_mail_taken_init(&m, &t, seqs, 5);
    EXPECT_INT(decode(&m, MIM_FROM_PEER), MIM_EDECODE);
}

/* Login.features: absent when 0 (an older peer's bytes), carried when set. */
static void test_login_features(void **state)
{
    static const uint8_t sig[64] = {5};
    Mim__PresenceMsg m;
    Mim__Login l;
    mim_buf plain = {0}, with = {0};
    Mim__PresenceBatch *b = NULL;

    (void)state;
    mim_login_init(&m, &l, "alice", 5000, pk, sig, sig, 0);
    assert_int_equal(mim_presence_batch_append(&plain, &m), 0);
    mim_login_init(&m, &l, "alice", 5000, pk, sig, sig, MIM_LOGIN_FEATURE_MAILBOX);
    assert_int_equal(mim_presence_batch_append(&with, &m), 0);
    assert_int_equal(with.len, plain.len + 2); /* tag 30, varint 1 */
    assert_int_equal(mim_presence_batch_decode(with.data, with.len, MIM_FROM_PEER, &b, NULL, 0), 0);
    assert_int_equal(b->msgs[0]->login->features, MIM_LOGIN_FEATURE_MAILBOX);
    mim_presence_batch_free(b);
    mim_buf_free(&plain);
    mim_buf_free(&with);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),          cmocka_unit_test(test_directory_page),
        cmocka_unit_test(test_deposit_and_ack), cmocka_unit_test(test_mail_item_and_taken),
        cmocka_unit_test(test_login_features),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
