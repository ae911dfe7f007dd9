/* The shared mailbox on JetStream (issue 18): see mailbox_js.h for the contract and the layout
 * of the stream. */
#include "mailbox_js.h"
#include "cluster_priv.h" /* the names bucket: cluster_name_keys, CLUSTER_KV_BUCKET */
#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_log.h"

#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAILJS_SUBJECT_MAX (sizeof(MAILJS_SUBJECT) + 2 * MIM_NAME_MAX_BYTES + 1)
#define MAILJS_URLS_MAX    8
#define NS_PER_MS          1000000ll

struct mailbox_js {
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv; /* the cluster's names bucket, opened at the first deposit that needs it */
    uint64_t expiry_ms;
    uint32_t blob_max;  /* --mailbox-blob-max */
    uint32_t max_count; /* --mailbox-max-count: the stream's limit per recipient subject */
    int stream_ok;      /* the stream exists (checked once connected) */
};

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* mim.mail.v1.<hex of name>: a name may hold any UTF-8, a subject token may not. */
static void subject_of(const char *name, char out[MAILJS_SUBJECT_MAX])
{
    size_t n = strlen(name);
    memcpy(out, MAILJS_SUBJECT, sizeof(MAILJS_SUBJECT) - 1);
    hex((const uint8_t *)name, n, out + sizeof(MAILJS_SUBJECT) - 1);
}

/* An existing stream (made by an older server, or one with another --mailbox-max-count) is
 * given this server's count limit per recipient, refusing new letters past it: the last server
 * to start sets it for the cluster (docs/SCALING.md: give every server the same limits). */
static int limit_per_recipient(mailbox_js *m, jsStreamInfo *si)
{
    jsStreamConfig *sc = si->Config;
    jsStreamInfo *updated = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    if (sc->MaxMsgsPerSubject == (int64_t)m->max_count && sc->Discard == js_DiscardNew &&
        sc->DiscardNewPerSubject)
        return 0;
    sc->MaxMsgsPerSubject = m->max_count;
    sc->Discard = js_DiscardNew;
    sc->DiscardNewPerSubject = true;
    if ((s = js_UpdateStream(&updated, m->js, sc, NULL, &jerr)) != NATS_OK) {
        mim_log_warn("mailbox: cannot set the limit of %u letters per recipient on %s: %s (%d)",
                     m->max_count, MAILJS_STREAM, natsStatus_GetText(s), (int)jerr);
        return MIM_EIO;
    }
    jsStreamInfo_Destroy(updated);
    mim_log_info("mailbox: %s holds at most %u letters per recipient", MAILJS_STREAM, m->max_count);
    return 0;
}

/* The stream, created when missing: 3 replicas, or 1 on a NATS without a cluster of 3. */
static int ensure_stream(mailbox_js *m)
{
    static const char *subjects[] = {MAILJS_SUBJECT "*"};
    uint64_t dup = m->expiry_ms < MAILJS_DUP_WINDOW_MS ? m->expiry_ms : MAILJS_DUP_WINDOW_MS;
    jsStreamInfo *si = NULL;
    jsStreamConfig sc;
    jsErrCode jerr = 0;
    natsStatus s;

    if (m->stream_ok)
        return 0;
    if (natsConnection_Status(m->nc) != NATS_CONN_STATUS_CONNECTED)
        return MIM_EIO;
    if (js_GetStreamInfo(&si, m->js, MAILJS_STREAM, NULL, &jerr) == NATS_OK) {
        int rc = limit_per_recipient(m, si);
        jsStreamInfo_Destroy(si);
        m->stream_ok = rc == 0;
        return rc;
    }
    jsStreamConfig_Init(&sc);
    sc.Name = MAILJS_STREAM;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.MaxAge = (int64_t)m->expiry_ms * NS_PER_MS;
    sc.Duplicates = (int64_t)dup * NS_PER_MS;
    sc.MaxMsgSize = MIM_MAIL_SEALED_MAX + 1024;
    sc.AllowDirect = true;
    sc.MaxMsgsPerSubject = m->max_count; /* the count limit, held by JetStream atomically */
    sc.Discard = js_DiscardNew;
    sc.DiscardNewPerSubject = true;
    sc.Replicas = 3;
    if ((s = js_AddStream(&si, m->js, &sc, NULL, &jerr)) != NATS_OK) {
        sc.Replicas = 1; /* a single NATS node, or a cluster short of nodes */
        s = js_AddStream(&si, m->js, &sc, NULL, &jerr);
    }
    if (s != NATS_OK && js_GetStreamInfo(&si, m->js, MAILJS_STREAM, NULL, &jerr) != NATS_OK) {
        mim_log_warn("mailbox: cannot create the JetStream stream %s: %s (%d)", MAILJS_STREAM,
                     natsStatus_GetText(s), (int)jerr);
        return MIM_EIO;
    }
    jsStreamInfo_Destroy(si);
    m->stream_ok = 1;
    mim_log_info("mailbox: shared through the JetStream stream %s", MAILJS_STREAM);
    return 0;
}

int mailbox_js_open(mailbox_js **out, const char *urls, uint64_t expiry_ms, uint32_t blob_max,
                    uint32_t max_count)
{
    char copy[1024], *save = NULL;
    const char *list[MAILJS_URLS_MAX];
    int n = 0;
    mailbox_js *m;
    natsStatus s;

    *out = NULL;
    if (strlen(urls) >= sizeof(copy))
        return MIM_EINVAL;
    strcpy(copy, urls);
    for (char *u = strtok_r(copy, ",", &save); u != NULL && n < MAILJS_URLS_MAX;
         u = strtok_r(NULL, ",", &save))
        list[n++] = u;
    if (n == 0 || (m = calloc(1, sizeof(*m))) == NULL)
        return n == 0 ? MIM_EINVAL : MIM_ENOMEM;
    m->expiry_ms = expiry_ms;
    m->blob_max = blob_max;
    m->max_count = max_count;
    s = natsOptions_Create(&m->opts);
    if (s == NATS_OK)
        s = natsOptions_SetServers(m->opts, list, n);
    if (s == NATS_OK)
        s = natsOptions_SetName(m->opts, "mim-presence mailbox");
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(m->opts, MAILJS_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(m->opts, -1); /* for ever: NATS comes back */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(m->opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(m->opts, true, NULL, NULL);
    if (s == NATS_OK) {
        s = natsConnection_Connect(&m->nc, m->opts);
        if (s == NATS_NOT_YET_CONNECTED)
            s = NATS_OK; /* retried in the background; the calls say MIM_EIO meanwhile */
    }
    if (s == NATS_OK) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = MAILJS_TIMEOUT_MS;
        s = natsConnection_JetStream(&m->js, m->nc, &jo);
    }
    if (s != NATS_OK) {
        mim_log_error("mailbox: cannot set up the NATS connection: %s", natsStatus_GetText(s));
        mailbox_js_close(m);
        return MIM_ENOMEM;
    }
    (void)ensure_stream(m); /* else at the first call */
    *out = m;
    return 0;
}

void mailbox_js_close(mailbox_js *m)
{
    if (m == NULL)
        return;
    kvStore_Destroy(m->kv);
    jsCtx_Destroy(m->js);
    natsConnection_Destroy(m->nc);
    natsOptions_Destroy(m->opts);
    free(m);
}

/* The stream's message after_seq + 1 or later on subj (NULL subj: exactly seq). 0 and *msg,
 * MIM_ENOENT (none), or MIM_EIO. */
static int get_msg(mailbox_js *m, const char *subj, uint64_t seq, natsMsg **msg)
{
    jsDirectGetMsgOptions o;
    natsStatus s;

    jsDirectGetMsgOptions_Init(&o);
    o.Sequence = seq;
    o.NextBySubject = subj;
    s = js_DirectGetMsg(msg, m->js, MAILJS_STREAM, NULL, &o);
    if (s == NATS_NOT_FOUND)
        return MIM_ENOENT;
    return s == NATS_OK ? 0 : MIM_EIO;
}

/* The stream sequence of a message from a direct get (its Nats-Sequence header), or 0. */
static uint64_t msg_seq(natsMsg *msg)
{
    const char *v = NULL;
    return natsMsgHeader_Get(msg, "Nats-Sequence", &v) == NATS_OK && v != NULL
               ? strtoull(v, NULL, 10)
               : 0;
}

/* 1 when msg was published on subj. */
static int msg_on(natsMsg *msg, const char *subj)
{
    const char *v = NULL;
    return natsMsgHeader_Get(msg, "Nats-Subject", &v) == NATS_OK && v != NULL &&
           strcmp(v, subj) == 0;
}

int mailbox_js_each(mailbox_js *m, const char *to, uint64_t after_seq, size_t max,
                    int (*visit)(const mim_mail_row *row, void *ctx), void *ctx)
{
    char subj[MAILJS_SUBJECT_MAX], err[128];
    size_t visited = 0;
    int rc;

    if (ensure_stream(m) != 0)
        return MIM_EIO;
    subject_of(to, subj);
    while (visited < max) {
        natsMsg *msg = NULL;
        Mim__MailItem *it;
        uint64_t seq;

        if ((rc = get_msg(m, subj, after_seq + 1, &msg)) != 0)
            return rc == MIM_ENOENT ? (int)visited : rc;
        seq = msg_seq(msg);
        if (seq <= after_seq) { /* a reply that does not move on: stop rather than loop */
            natsMsg_Destroy(msg);
            return MIM_EIO;
        }
        after_seq = seq;
        if (mim_mail_letter_decode((const uint8_t *)natsMsg_GetData(msg),
                                   (size_t)natsMsg_GetDataLength(msg), seq, &it, err,
                                   sizeof(err)) != 0) {
            mim_log_warn("mailbox: letter %llu on the bus dropped: %s", (unsigned long long)seq,
                         err);
            natsMsg_Destroy(msg);
            continue;
        }
        mim_mail_row row = {.seq = seq,
                            .from = it->from,
                            .from_pk = it->from_pk.data,
                            .id = it->id.data,
                            .sealed = it->sealed.data,
                            .sealed_len = it->sealed.len,
                            .deposited_ms = (int64_t)it->deposited_ms,
                            .expires_ms = (int64_t)(it->deposited_ms + m->expiry_ms)};
        rc = visit(&row, ctx);
        mim_mail_letter_free(it);
        natsMsg_Destroy(msg);
        visited++;
        if (rc != 0)
            return rc;
    }
    return (int)visited;
}

int mailbox_js_take(mailbox_js *m, const char *to, const uint64_t *seqs, size_t n)
{
    char subj[MAILJS_SUBJECT_MAX];
    int deleted = 0;

    if (ensure_stream(m) != 0)
        return MIM_EIO;
    subject_of(to, subj);
    for (size_t i = 0; i < n; i++) {
        natsMsg *msg = NULL;
        jsErrCode jerr = 0;
        int rc = get_msg(m, NULL, seqs[i], &msg), mine;

        if (rc == MIM_ENOENT)
            continue; /* taken already, or expired */
        if (rc != 0)
            return rc;
        mine = msg_on(msg, subj);
        natsMsg_Destroy(msg);
        if (!mine)
            continue; /* another name's letter is left alone */
        if (js_DeleteMsg(m->js, MAILJS_STREAM, seqs[i], NULL, &jerr) == NATS_OK)
            deleted++;
        else if (natsConnection_Status(m->nc) != NATS_CONN_STATUS_CONNECTED)
            return MIM_EIO;
    }
    return deleted;
}

/* Letters and bytes waiting for subj, the bytes only when need_bytes (they are summed). */
static int usage_of(mailbox_js *m, const char *subj, int need_bytes, uint64_t *count,
                    uint64_t *bytes)
{
    jsStreamInfo *si = NULL;
    jsOptions o;
    jsErrCode jerr = 0;
    uint64_t after = 0;

    *count = *bytes = 0;
    jsOptions_Init(&o);
    o.Stream.Info.SubjectsFilter = subj;
    if (js_GetStreamInfo(&si, m->js, MAILJS_STREAM, &o, &jerr) != NATS_OK)
        return MIM_EIO;
    if (si->State.Subjects != NULL)
        for (int i = 0; i < si->State.Subjects->Count; i++)
            if (strcmp(si->State.Subjects->List[i].Subject, subj) == 0)
                *count = si->State.Subjects->List[i].Msgs;
    jsStreamInfo_Destroy(si);
    for (uint64_t i = 0; need_bytes && i < *count; i++) {
        natsMsg *msg = NULL;
        int rc = get_msg(m, subj, after + 1, &msg);
        if (rc == MIM_ENOENT)
            break;
        if (rc != 0)
            return rc;
        after = msg_seq(msg);
        *bytes += (uint64_t)natsMsg_GetDataLength(msg);
        natsMsg_Destroy(msg);
        if (after == 0)
            return MIM_EIO;
    }
    return 0;
}

/* The Nats-Msg-Id of a deposit: the hash of (to, from, id), so that the same letter deposited
 * again (after a lost DepositAck) is the same message to JetStream. */
static void dedup_id(const mim_mail_deposit *d, char out[MIM_SHA256_HEX_LEN])
{
    mim_blake2b_state st;
    uint8_t h[MIM_BLAKE2B_LEN];

    mim_blake2b_init(&st);
    mim_blake2b_update(&st, d->to, strlen(d->to) + 1);
    mim_blake2b_update(&st, d->from, strlen(d->from) + 1);
    mim_blake2b_update(&st, d->id, MIM_MSG_ID_LEN);
    mim_blake2b_final(&st, h);
    mim_hash_hex(out, h);
}

/* The deposit time of the waiting letter seq (a duplicate's), or fallback. */
static int64_t deposited_at(mailbox_js *m, uint64_t seq, int64_t fallback)
{
    natsMsg *msg = NULL;
    Mim__MailItem *it;
    char err[128];
    int64_t at = fallback;

    if (get_msg(m, NULL, seq, &msg) != 0)
        return fallback;
    if (mim_mail_letter_decode((const uint8_t *)natsMsg_GetData(msg),
                               (size_t)natsMsg_GetDataLength(msg), seq, &it, err,
                               sizeof(err)) == 0) {
        at = (int64_t)it->deposited_ms;
        mim_mail_letter_free(it);
    }
    natsMsg_Destroy(msg);
    return at;
}

/* 0 when name is registered: in our own registry (fast), else in the cluster's names bucket
 * (a name claimed through another server). MIM_ENOENT, or MIM_EIO / MIM_EDB. */
static int registered(mailbox_js *m, mim_store *registry, const char *name)
{
    char name_key[2 + 2 * MIM_NAME_MAX_BYTES + 1], skel_key[2 + 2 * MIM_HASH_LEN + 1];
    mim_dir_name reg;
    kvEntry *e = NULL;
    natsStatus s;
    int rc = mim_store_dir_lookup(registry, name, &reg);

    if (rc != MIM_ENOENT)
        return rc;
    if (m->kv == NULL && (s = js_KeyValue(&m->kv, m->js, CLUSTER_KV_BUCKET)) != NATS_OK) {
        m->kv = NULL;
        return s == NATS_NOT_FOUND ? MIM_ENOENT : MIM_EIO; /* no bucket: nobody is registered */
    }
    cluster_name_keys(name, name_key, skel_key);
    s = kvStore_Get(&e, m->kv, name_key);
    kvEntry_Destroy(e);
    return s == NATS_OK ? 0 : s == NATS_NOT_FOUND ? MIM_ENOENT : MIM_EIO;
}

/* 1 when a refused publish was refused for the stream's limit per recipient (JetStream says so
 * with its generic store error and this text). */
static int over_limit(jsErrCode jerr)
{
    const char *text = nats_GetLastError(NULL);
    return jerr == JSStreamStoreFailedErr && text != NULL &&
           strstr(text, "maximum messages per subject") != NULL;
}

/* One deposit: registered, within the limits, then published and acknowledged. */
static int deposit_one(mailbox_js *m, mim_store *registry, const mim_mail_deposit *d,
                       const mim_mail_limits *lim, mim_mail_outcome *o, mim_buf *body)
{
    char subj[MAILJS_SUBJECT_MAX], msg_id[MIM_SHA256_HEX_LEN];
    uint64_t count, bytes;
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    int rc;

    memset(o, 0, sizeof(*o));
    if ((rc = registered(m, registry, d->to)) != 0) {
        o->result = MIM_ENOENT;
        return rc == MIM_ENOENT ? 0 : rc;
    }
    subject_of(d->to, subj);
    /* The bytes are summed only when the count limit does not bound them already. */
    rc = usage_of(m, subj, (uint64_t)lim->max_count * m->blob_max > lim->max_bytes, &count, &bytes);
    if (rc != 0)
        return rc;
    if (count >= lim->max_count || bytes + d->sealed_len > lim->max_bytes) {
        o->result = MIM_MAIL_FULL;
        return 0;
    }
    if (mim_mail_letter_pack(d->from, d->from_pk, d->id, d->sealed, d->sealed_len,
                             (uint64_t)d->now_ms, body) != 0)
        return MIM_ENOMEM;
    dedup_id(d, msg_id);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = MAILJS_TIMEOUT_MS;
    if (js_Publish(&ack, m->js, subj, body->data, (int)body->len, &po, &jerr) != NATS_OK) {
        if (!over_limit(jerr))
            return MIM_EIO;
        o->result = MIM_MAIL_FULL; /* a racing deposit through another server filled it */
        return 0;
    }
    o->seq = ack->Sequence;
    o->result = ack->Duplicate ? MIM_MAIL_DUPLICATE : MIM_MAIL_STORED;
    o->expires_ms = (ack->Duplicate ? deposited_at(m, ack->Sequence, d->now_ms) : d->now_ms) +
                    (int64_t)m->expiry_ms;
    jsPubAck_Destroy(ack);
    return 0;
}

int mailbox_js_deposit_all(mailbox_js *m, mim_store *registry, const mim_mail_deposit *d, size_t n,
                           const mim_mail_limits *lim, mim_mail_outcome *out)
{
    mim_buf body;
    int rc = 0;

    if (n == 0)
        return MIM_EINVAL;
    if (ensure_stream(m) != 0)
        return MIM_EIO;
    mim_buf_init(&body);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = deposit_one(m, registry, &d[i], lim, &out[i], &body);
    mim_buf_free(&body);
    return rc == MIM_ENOMEM ? rc : rc != 0 ? MIM_EIO : 0;
}
