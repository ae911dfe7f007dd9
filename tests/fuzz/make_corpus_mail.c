/* Writes the seeds of issue 14's presence arms (the directory and the mailbox) into
 * tests/fuzz/corpus/presence_batch/: every arm valid in its direction, a batch of several, and a
 * few that must be refused (wrong sizes, order, counts). They go through the same decoder as
 * every presence message (mim_presence_batch_decode -> mim_codec_mail.c), so fuzz_presence_batch
 * covers them.
 *
 *   fuzz_make_corpus_mail [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * Deterministic; not a test: run it by hand after changing the arms and commit the result. */
#include "mim_buf.h"
#include "mim_codec.h"
#include "seed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

static uint8_t pk[32], id[MIM_MSG_ID_LEN], sealed[600];

/* Writes msgs[0..n) as one PresenceBatch: presence_batch/mail_<name>. */
static void seed(const char *name, const Mim__PresenceMsg *const *msgs, size_t n)
{
    char file[256];
    mim_buf b = {0};

    for (size_t i = 0; i < n; i++)
        if (mim_presence_batch_append(&b, msgs[i]) != 0)
            abort();
    snprintf(file, sizeof(file), "mail_%s", name);
    write_seed("presence_batch", file, b.data, b.len);
    mim_buf_free(&b);
}

static void one(const char *name, const Mim__PresenceMsg *m)
{
    seed(name, &m, 1);
}

static void directory_seeds(void)
{
    Mim__PresenceMsg m[3];
    Mim__Lookup l;
    Mim__LookupResult r;
    Mim__DirectoryList dl;
    Mim__DirectoryPage p;
    Mim__DirectoryEntry e[3], *ep[3] = {&e[0], &e[1], &e[2]};
    const Mim__PresenceMsg *both[2] = {&m[0], &m[1]};

    mim_lookup_init(&m[0], &l, "Zoe\xcc\x88");
    one("lookup", &m[0]);
    mim_directory_list_init(&m[1], &dl, "alice", 50);
    one("directory_list", &m[1]);
    seed("lookup_and_list", both, 2);
    mim_directory_entry_init(&e[0], "Zo\xc3\xab", pk, 0, 1700000000000ull);
    mim_directory_entry_init(&e[1], "alice", pk, 1, 1700000001000ull);
    mim_directory_entry_init(&e[2], "bob", pk, 0, 0);
    mim_lookup_result_init(&m[2], &r, "Zoe\xcc\x88", &e[0]);
    one("lookup_result", &m[2]);
    mim_lookup_result_init(&m[2], &r, "nobody", NULL);
    one("lookup_result_unknown", &m[2]);
    mim_directory_page_init(&m[2], &p, ep, 3, 1, 0);
    one("directory_page", &m[2]);
    mim_directory_page_init(&m[2], &p, NULL, 0, 1, 1);
    one("directory_page_refused", &m[2]);
    mim_directory_page_init(&m[2], &p, ep + 1, 2, 0, 0);
    ep[1] = &e[2];
    ep[2] = &e[1];
    one("bad_directory_page_order", &m[2]);
}

static void mailbox_seeds(void)
{
    Mim__PresenceMsg m[2];
    Mim__Deposit d;
    Mim__DepositAck a;
    Mim__MailItem it;
    Mim__MailTaken t;
    uint64_t seqs[3] = {1, 2, 40000000000ull};
    const Mim__PresenceMsg *both[2] = {&m[0], &m[1]};

    mim_deposit_init(&m[0], &d, "bob", id, sealed, sizeof(sealed));
    one("deposit", &m[0]);
    mim_mail_taken_init(&m[1], &t, seqs, 3);
    one("mail_taken", &m[1]);
    seed("deposit_and_taken", both, 2); /* a receipt's Deposit and the MailTaken, one frame */
    mim_deposit_ack_init(&m[0], &a, "bob", id, MIM__DEPOSIT_RESULT__DEPOSIT_OK, 2592000000ull, 0);
    one("deposit_ack_ok", &m[0]);
    mim_deposit_ack_init(&m[0], &a, "bob", id, MIM__DEPOSIT_RESULT__DEPOSIT_RATE, 0, 950);
    one("deposit_ack_rate", &m[0]);
    mim_deposit_ack_init(&m[0], &a, "bob", id, (Mim__DepositResult)6, 0, 0);
    one("bad_deposit_ack_result", &m[0]);
    mim_mail_item_init(&m[0], &it, 7, "alice", pk, id, sealed, 64, 1700000000000ull);
    one("mail_item", &m[0]);
    it.id.len = 15;
    one("bad_mail_item_id", &m[0]);
    seqs[1] = 0;
    mim_mail_taken_init(&m[1], &t, seqs, 3);
    one("bad_mail_taken_zero", &m[1]);
}

int main(int argc, char **argv)
{
    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 1024) != 0)
        return 1;
    for (size_t i = 0; i < sizeof(pk); i++)
        pk[i] = (uint8_t)(0x11 + i * 13);
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)i;
    memset(sealed, 0xee, sizeof(sealed));
    directory_seeds();
    mailbox_seeds();
    return seed_end("issue 14 seeds (presence_batch/mail_*)");
}
