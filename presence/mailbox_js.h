/* The shared mailbox (issue 18): with --cluster, the sealed letters live in a JetStream stream
 * of the NATS cluster instead of this server's SQLite store, so that a letter deposited through
 * one server is fetched through any other. The same contract as mim_store_mailbox.h's mailbox
 * calls (mailbox.c calls one or the other), on the stream MIM_MAIL:
 *
 *   - one message per letter on subject mim.mail.v1.<hex of the recipient's name>, its body a
 *     MailItem with seq 0 (mim_mail_letter_pack); the stream's sequence is the letter's seq,
 *     the same on every server;
 *   - a deposit is answered only after JetStream acknowledged it (stored, replicated as the
 *     stream says); idempotent through the Nats-Msg-Id (recipient, sender, id) within the
 *     stream's duplicate window (MAILJS_DUP_WINDOW_MS);
 *   - the limits are counted in the stream (per recipient subject: cluster-wide), the count
 *     from the stream's per-subject state, the bytes summed when they could matter; the count
 *     is also the stream's own limit per subject with discard-new (MaxMsgsPerSubject,
 *     DiscardNewPerSubject), so racing deposits through several servers cannot pass it; the
 *     bytes can be passed by such a race, by at most one letter per other server (SCALING.md);
 *   - MailTaken deletes the messages from the stream (cluster-wide), after checking that each
 *     seq is a letter for that recipient;
 *   - expiry is the stream's MaxAge (--mailbox-expiry): JetStream deletes on every node.
 *
 * Its calls wait for NATS (at most MAILJS_TIMEOUT_MS; at once MIM_EIO while disconnected), on
 * the loop thread, as the SQLite commit they replace does: they use a connection of their own
 * without the loop adapter (cnats' own threads read its socket), never the cluster bus's. */
#ifndef MIM_PRESENCE_MAILBOX_JS_H
#define MIM_PRESENCE_MAILBOX_JS_H

#include "mim_store_mailbox.h"

#include <stddef.h>
#include <stdint.h>

#define MAILJS_STREAM        "MIM_MAIL"
#define MAILJS_SUBJECT       "mim.mail.v1."
#define MAILJS_TIMEOUT_MS    2000
#define MAILJS_DUP_WINDOW_MS (60ull * 60 * 1000) /* an hour, or the expiry when shorter */

typedef struct mailbox_js mailbox_js;

/* Connects to urls (--cluster: nats://H:P,...; retried in the background when none answers)
 * and makes sure the stream exists (3 replicas, 1 when the NATS cluster cannot give 3), with
 * MaxAge expiry_ms and max_count letters per recipient (set on an existing stream too);
 * blob_max is --mailbox-blob-max. 0, or MIM_EINVAL / MIM_ENOMEM. */
int mailbox_js_open(mailbox_js **out, const char *urls, uint64_t expiry_ms, uint32_t blob_max,
                    uint32_t max_count);
void mailbox_js_close(mailbox_js *m); /* NULL is fine */

/* mim_store_mail_deposit_all's contract; a name is registered when `registry` (this server's)
 * or the cluster's names bucket has it. Not one transaction: each deposit is acknowledged by
 * JetStream on its own, and out[i] says what became of each; MIM_EIO when NATS cannot be reached
 * (then nothing after the failed one is stored, and out is not to be read). */
int mailbox_js_deposit_all(mailbox_js *m, mim_store *registry, const mim_mail_deposit *d, size_t n,
                           const mim_mail_limits *lim, mim_mail_outcome *out);
/* mim_store_mail_each's contract (MIM_EIO instead of MIM_EDB). A letter that does not decode
 * is logged and skipped. */
int mailbox_js_each(mailbox_js *m, const char *to, uint64_t after_seq, size_t max,
                    int (*visit)(const mim_mail_row *row, void *ctx), void *ctx);
/* mim_store_mail_take's contract (MIM_EIO instead of MIM_EDB). */
int mailbox_js_take(mailbox_js *m, const char *to, const uint64_t *seqs, size_t n);

#endif
